//! The embedded paper exchange: an Alpaca-compatible fake that is both the
//! demo broker (no configuration needed) and the test double for the Alpaca
//! client. It speaks Trading API v2 and Market Data v2 over real HTTP
//! ([`http`]: trading and market data behind one gate), keeps its books in
//! [`ledger`] (with its matching rules), prices the universe in `symbols.rs`
//! from the simulated [`market`], and has the NYSE [`clock`].
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
mod symbols;
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

/// The books, and a count of the calls that may have changed them.
struct Books {
    ledger: Ledger,
    version: u64,
}

/// What is on disk: the books as of `version`, and their digest.
#[derive(Default)]
struct Saved {
    version: u64,
    digest: Option<Vec<u8>>,
}

struct Inner {
    ledger: Mutex<Books>,
    /// Held while the books are written: callers waiting here find their
    /// change already written by the one before them (group commit).
    saved: Mutex<Saved>,
    clock: Mutex<SimClock>,
    faults: Mutex<Faults>,
    file: Option<PathBuf>,
    policy: KeyPolicy,
    rate: Mutex<http::RateWindows>,
    oauth: Mutex<oauth::Grants>,
    /// Trading and market-data requests received (for tests and demos).
    requests: std::sync::atomic::AtomicU64,
    /// Trade updates, per account, for the stream (`wire::trade_update`'s data).
    updates: tokio::sync::broadcast::Sender<(Uuid, serde_json::Value)>,
    /// Bumped to drop every open stream (fault injection).
    stream_epoch: tokio::sync::watch::Sender<u64>,
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
                ledger: Mutex::new(Books { ledger, version: 0 }),
                saved: Mutex::new(Saved::default()),
                clock: Mutex::new(SimClock::real()),
                faults: Mutex::new(Faults::default()),
                file,
                policy,
                rate: Mutex::new(http::RateWindows::default()),
                oauth: Mutex::new(oauth::Grants::default()),
                requests: std::sync::atomic::AtomicU64::new(0),
                updates: tokio::sync::broadcast::channel(1024).0,
                stream_epoch: tokio::sync::watch::channel(0).0,
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

    /// How many Trading and Market Data requests have arrived.
    pub fn requests_seen(&self) -> u64 {
        self.inner
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_request(&self) {
        self.inner
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.inner.faults)
    }

    /// Opens a funded account for an API key pair and returns its id.
    pub fn open_account(&self, key_id: &str, secret: &str) -> anyhow::Result<Uuid> {
        let now = self.now();
        self.with_ledger(|l| l.open_with_key(key_id, secret, ledger::default_funding(), now))
    }

    /// Runs `f` on the books and, when they live in a file, returns only
    /// once they are written as of that call (so an acknowledged order is
    /// never lost to a crash). The books' lock is held just for `f`: they are
    /// copied, serialised and written outside it, at most one writer at a
    /// time, and a writer saves the newest books, so callers that waited for
    /// it find their change already on disk. Unchanged books are not
    /// rewritten.
    pub fn with_ledger<T>(&self, f: impl FnOnce(&mut Ledger) -> T) -> anyhow::Result<T> {
        let (out, version, events) = {
            let mut books = lock(&self.inner.ledger);
            let out = f(&mut books.ledger);
            books.version += 1;
            let mut events = Vec::new();
            for (id, a) in books.ledger.accounts.iter_mut() {
                events.extend(a.events.drain(..).map(|e| (*id, e)));
            }
            (out, books.version, events)
        };
        if let Some(path) = &self.inner.file {
            self.persist_through(path, version)?;
        }
        // Told once the change is on disk; nobody listening is fine.
        for (id, e) in events {
            let _ = self.inner.updates.send((id, wire::trade_update(&e)));
        }
        Ok(out)
    }

    /// Trade updates as they happen: (account, the message's `data`).
    pub fn trade_updates(&self) -> tokio::sync::broadcast::Receiver<(Uuid, serde_json::Value)> {
        self.inner.updates.subscribe()
    }

    /// Drops every open trade-updates stream (as a network failure would);
    /// clients may reconnect at once.
    pub fn drop_streams(&self) {
        self.inner.stream_epoch.send_modify(|e| *e += 1);
    }

    fn stream_epoch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.stream_epoch.subscribe()
    }

    /// Makes sure the books as of `version` (or later) are on disk.
    fn persist_through(&self, path: &std::path::Path, version: u64) -> anyhow::Result<()> {
        use sha2::{Digest, Sha256};
        let mut saved = lock(&self.inner.saved);
        if saved.version >= version {
            return Ok(());
        }
        let (latest, ledger) = {
            let books = lock(&self.inner.ledger);
            (books.version, books.ledger.clone())
        };
        let bytes = serde_json::to_vec(&ledger).context("serialising the exchange's books")?;
        let digest = Sha256::digest(&bytes).to_vec();
        if saved.digest.as_ref() != Some(&digest) {
            save(path, &bytes)?;
            saved.digest = Some(digest);
        }
        saved.version = latest;
        Ok(())
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
    {
        use std::io::Write;
        let mut file =
            std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledged_changes_are_on_disk_and_reads_do_not_rewrite_the_books() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("books.json");
        let exchange = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        exchange.open_account("PKDISK", "secret").unwrap();
        // Returned: so already durable, as a crash right now would find it.
        let reopened = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        assert_eq!(reopened.with_ledger(|l| l.accounts.len()).unwrap(), 1);

        let written = std::fs::metadata(&path).unwrap().modified().unwrap();
        for _ in 0..20 {
            exchange.with_ledger(|l| l.accounts.len()).unwrap();
        }
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            written,
            "reads leave the file alone"
        );
    }

    #[test]
    fn concurrent_writers_share_writes_and_lose_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("books.json");
        let exchange = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let exchange = exchange.clone();
                s.spawn(move || {
                    for i in 0..25 {
                        exchange
                            .open_account(&format!("PK{t}X{i}"), "secret")
                            .unwrap();
                    }
                });
            }
        });
        let reopened = Exchange::open(Some(path), KeyPolicy::Known).unwrap();
        assert_eq!(reopened.with_ledger(|l| l.accounts.len()).unwrap(), 100);
    }
}
