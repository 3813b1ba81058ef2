//! The embedded paper exchange: an Alpaca-compatible fake that is both the
//! demo broker (no configuration needed) and the test double for the Alpaca
//! client. It speaks Trading API v2 and Market Data v2 over real HTTP
//! ([`http`]), keeps its books in [`ledger`], prices from the simulated
//! [`market`], and has the NYSE [`clock`].
//!
//! [`Exchange`] is the shared handle: the books (saved as JSON under the data
//! folder after every change, so a restart loses nothing), a clock that can be
//! moved and sped up, and fault injection for tests. One process owns one
//! exchange; it is a demo and a fake, not something several instances share.

pub mod clock;
pub mod http;
pub mod ledger;
pub mod market;
pub mod oauth;
pub mod wire;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use ledger::Ledger;
use rust_decimal::Decimal;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use uuid::Uuid;

/// Where the embedded exchange is mounted inside the app.
pub const MOUNT: &str = "/paper-exchange";

/// How the exchange treats an unknown API key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    /// Refuse it (embedded in the app: accounts are opened by the app).
    Known,
    /// Open a funded account for it (standalone: any Alpaca client works).
    OpenOnFirstUse,
}

/// The exchange's notion of now: wall-clock time shifted and optionally
/// sped up, so demos and tests can be at any moment of the trading week.
#[derive(Debug, Clone, Copy)]
struct SimClock {
    /// Simulated time at `anchor`.
    base: DateTime<Utc>,
    anchor: DateTime<Utc>,
    /// Simulated seconds per real second (0 freezes time).
    speed: i32,
}

impl SimClock {
    fn real() -> Self {
        let now = Utc::now();
        Self {
            base: now,
            anchor: now,
            speed: 1,
        }
    }
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Utc::now() - self.anchor;
        self.base + elapsed * self.speed
    }
}

/// One injected failure, consumed by the next Trading or Market Data request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Let this request through untouched (to aim a later fault at the Nth
    /// request).
    Pass,
    /// Answer with this status and Alpaca's error body for it.
    Status(u16),
    /// Answer with exactly this Alpaca error (status, numeric code, message),
    /// e.g. `403 / 40310000 / insufficient buying power`.
    Refuse {
        status: u16,
        code: u32,
        message: &'static str,
    },
    /// Answer 429 with `X-RateLimit-Reset` this many seconds ahead.
    RateLimited { reset_in_secs: i64 },
    /// Hold the request this long before handling it (a client with a shorter
    /// timeout gives up).
    Stall(std::time::Duration),
    /// Handle the request (an order IS placed), then break the connection
    /// instead of answering.
    DropAfterCommit,
}

#[derive(Debug, Default)]
pub struct Faults {
    /// Failures for the next requests, in order.
    pub queue: VecDeque<Fault>,
    /// Added to every request.
    pub latency: std::time::Duration,
    /// Fail this share (0..=1) of requests with this status.
    pub error_rate: Option<(u16, f64)>,
    /// Fill only this share of each new order (the rest expires at the close).
    pub partial_fill: Option<Decimal>,
}

struct Inner {
    ledger: Mutex<Ledger>,
    clock: Mutex<SimClock>,
    faults: Mutex<Faults>,
    file: Option<PathBuf>,
    policy: KeyPolicy,
    rate: Mutex<http::RateWindows>,
    oauth: Mutex<oauth::Grants>,
}

/// The shared handle to one exchange.
#[derive(Clone)]
pub struct Exchange {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Exchange {
    /// An exchange whose books live in `file` (created on first change), or
    /// only in memory when `file` is `None`.
    pub fn open(file: Option<PathBuf>, policy: KeyPolicy) -> anyhow::Result<Self> {
        let ledger = match &file {
            Some(path) if path.exists() => {
                let bytes = std::fs::read(path).with_context(|| {
                    format!("reading the paper exchange's books {}", path.display())
                })?;
                serde_json::from_slice(&bytes).with_context(|| {
                    format!(
                        "the paper exchange's books {} are not valid",
                        path.display()
                    )
                })?
            }
            _ => Ledger::default(),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                ledger: Mutex::new(ledger),
                clock: Mutex::new(SimClock::real()),
                faults: Mutex::new(Faults::default()),
                file,
                policy,
                rate: Mutex::new(http::RateWindows::default()),
                oauth: Mutex::new(oauth::Grants::default()),
            }),
        })
    }

    pub fn policy(&self) -> KeyPolicy {
        self.inner.policy
    }

    /// The exchange's current time.
    pub fn now(&self) -> DateTime<Utc> {
        lock(&self.inner.clock).now()
    }

    /// Moves the exchange's clock to `at`; from there it runs at `speed`
    /// simulated seconds per second (0 stops it).
    pub fn set_clock(&self, at: DateTime<Utc>, speed: i32) {
        *lock(&self.inner.clock) = SimClock {
            base: at,
            anchor: Utc::now(),
            speed,
        };
    }

    /// Shifts the clock by `by` and keeps its speed.
    pub fn advance(&self, by: Duration) {
        let mut clock = lock(&self.inner.clock);
        let now = clock.now();
        *clock = SimClock {
            base: now + by,
            anchor: Utc::now(),
            speed: clock.speed,
        };
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.inner.faults)
    }

    /// Opens a funded account for an API key pair and returns its id.
    pub fn open_account(&self, key_id: &str, secret: &str) -> anyhow::Result<Uuid> {
        let now = self.now();
        self.with_ledger(|l| l.open_with_key(key_id, secret, ledger::default_funding(), now))
    }

    /// Runs `f` on the books and saves them if it changed anything.
    pub fn with_ledger<T>(&self, f: impl FnOnce(&mut Ledger) -> T) -> anyhow::Result<T> {
        let mut ledger = lock(&self.inner.ledger);
        let before = self
            .inner
            .file
            .as_ref()
            .map(|_| serde_json::to_vec(&*ledger));
        let out = f(&mut ledger);
        if let (Some(path), Some(before)) = (&self.inner.file, before) {
            let after = serde_json::to_vec(&*ledger).context("serialising the exchange's books")?;
            if before.ok().as_deref() != Some(after.as_slice()) {
                save(path, &after)?;
            }
        }
        Ok(out)
    }

    fn rate(&self) -> MutexGuard<'_, http::RateWindows> {
        lock(&self.inner.rate)
    }

    pub fn grants(&self) -> MutexGuard<'_, oauth::Grants> {
        lock(&self.inner.oauth)
    }
}

/// Writes the books atomically: a temporary file renamed over the old one.
fn save(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}
