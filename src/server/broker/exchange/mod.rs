//! The embedded paper exchange: an Alpaca-compatible fake that is both the
//! demo broker (no configuration needed) and the test double for the Alpaca
//! client. It speaks Trading API v2 and Market Data v2 over real HTTP
//! ([`http`]: trading and market data behind one gate), keeps its books in
//! [`ledger`] (with its matching rules), prices the universe in `symbols.rs`
//! from the simulated [`market`], and has the NYSE [`clock`].
//!
//! [`Exchange`] is the shared handle: the books (kept under the data folder by
//! [`books`], each change on disk before it is answered, so a restart loses
//! nothing acknowledged), a clock that can be
//! moved and sped up, and fault injection for tests. One process owns one
//! exchange; it is a demo and a fake, not something several instances share.

mod books;
pub mod clock;
pub mod http;
pub mod ledger;
pub mod market;
pub mod oauth;
mod symbols;
pub mod wire;

use chrono::{DateTime, Duration, Utc};
use ledger::Ledger;
use rust_decimal::Decimal;
use std::collections::{HashMap, VecDeque};
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

/// The books in memory, and what of them is not yet on disk.
struct Books {
    ledger: Ledger,
    /// Bumped by every call that changed them.
    version: u64,
    /// Journal lines for changes not yet written.
    pending: Vec<u8>,
    /// The next write must be a whole snapshot (a change the journal does
    /// not express, or a write that failed).
    whole: bool,
    /// SHA-256 of each account's journal line as last written, so a call
    /// that only looked is told from one that changed something.
    digests: HashMap<Uuid, [u8; 32]>,
}

/// What a change may have touched; each is compared and journalled.
#[derive(Default)]
struct Touched {
    accounts: Vec<Uuid>,
    keys: Vec<String>,
    /// Hashed tokens.
    tokens: Vec<String>,
    /// Anything at all (a whole snapshot follows).
    everything: bool,
}

impl Books {
    /// Queues journal lines for what `touched` changed; whether anything did.
    fn journal(&mut self, touched: &Touched) -> bool {
        use books::Change;
        use sha2::{Digest, Sha256};
        if touched.everything {
            self.whole = true;
            self.digests.clear();
            return true;
        }
        let mut changed = false;
        let mut lines: Vec<anyhow::Result<Vec<u8>>> = Vec::new();
        for id in &touched.accounts {
            let Some(account) = self.ledger.accounts.get(id) else {
                continue;
            };
            match Change::Account(account).line() {
                Ok(line) => {
                    let digest: [u8; 32] = Sha256::digest(&line).into();
                    if self.digests.get(id) != Some(&digest) {
                        self.digests.insert(*id, digest);
                        lines.push(Ok(line));
                    }
                }
                Err(e) => lines.push(Err(e)),
            }
        }
        for key_id in &touched.keys {
            let opens = self.ledger.keys.get(key_id);
            lines.push(Change::Key { key_id, opens }.line());
        }
        for hash in &touched.tokens {
            let opens = self.ledger.tokens.get(hash).copied();
            lines.push(Change::Token { hash, opens }.line());
        }
        for line in lines {
            changed = true;
            match line {
                Ok(line) => self.pending.extend_from_slice(&line),
                // Not expressible as a line: the snapshot will say (or fail).
                Err(_) => self.whole = true,
            }
        }
        changed
    }
}

/// What is on disk: the books as of `version`.
struct Saved {
    version: u64,
    /// `None`: the books live only in memory.
    store: Option<books::Store>,
}

struct Inner {
    ledger: Mutex<Books>,
    /// Held while the books are written: callers waiting here find their
    /// change already written by the one before them (group commit).
    saved: Mutex<Saved>,
    clock: Mutex<SimClock>,
    faults: Mutex<Faults>,
    /// Whether the books live in a file.
    durable: bool,
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
        let (ledger, store) = match file {
            Some(path) => {
                let (ledger, store) = books::load(path)?;
                (ledger, Some(store))
            }
            None => (Ledger::default(), None),
        };
        let durable = store.is_some();
        Ok(Self {
            inner: Arc::new(Inner {
                ledger: Mutex::new(Books {
                    ledger,
                    version: 0,
                    pending: Vec::new(),
                    whole: false,
                    digests: HashMap::new(),
                }),
                saved: Mutex::new(Saved { version: 0, store }),
                clock: Mutex::new(SimClock::real()),
                faults: Mutex::new(Faults::default()),
                durable,
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
        self.change(|l, touched| {
            let id = l.open_with_key(key_id, secret, ledger::default_funding(), now);
            touched.accounts.push(id);
            touched.keys.push(key_id.to_owned());
            id
        })
    }

    /// Opens a funded account reachable with this OAuth access token.
    pub fn open_token_account(&self, token: &str) -> anyhow::Result<Uuid> {
        let now = self.now();
        self.change(|l, touched| {
            let id = l.open_with_token(token, ledger::default_funding(), now);
            touched.accounts.push(id);
            touched.tokens.push(ledger::digest(token));
            id
        })
    }

    /// The account this key pair opens; under [`KeyPolicy::OpenOnFirstUse`]
    /// a key id never seen opens a new funded one.
    pub fn account_for_key(&self, key_id: &str, secret: &str) -> anyhow::Result<Option<Uuid>> {
        if let Some(id) = self.read(|l| l.by_key(key_id, secret)) {
            return Ok(Some(id));
        }
        if self.policy() != KeyPolicy::OpenOnFirstUse {
            return Ok(None);
        }
        let now = self.now();
        self.change(|l, touched| {
            if l.knows_key(key_id) {
                // Known, so the secret was wrong (or a racing caller opened it).
                return l.by_key(key_id, secret);
            }
            let id = l.open_with_key(key_id, secret, ledger::default_funding(), now);
            touched.accounts.push(id);
            touched.keys.push(key_id.to_owned());
            Some(id)
        })
    }

    /// Looks at the books without changing them (nothing is written).
    pub fn read<T>(&self, f: impl FnOnce(&Ledger) -> T) -> T {
        f(&lock(&self.inner.ledger).ledger)
    }

    /// Runs `f` on one account (`None` if there is no such account) and,
    /// when the books live in a file and `f` changed it, returns only once
    /// that change is on disk (so an acknowledged order is never lost to a
    /// crash). A call that only looked writes nothing.
    pub fn with_account<T>(
        &self,
        id: Uuid,
        f: impl FnOnce(&mut ledger::Account) -> T,
    ) -> anyhow::Result<Option<T>> {
        self.change(|l, touched| {
            touched.accounts.push(id);
            l.account_mut(id).map(f)
        })
    }

    /// Runs `f` on all the books, which are then written whole: for tests and
    /// tools; the API's calls use [`Exchange::with_account`] and
    /// [`Exchange::read`].
    pub fn with_ledger<T>(&self, f: impl FnOnce(&mut Ledger) -> T) -> anyhow::Result<T> {
        self.change(|l, touched| {
            touched.everything = true;
            f(l)
        })
    }

    /// Runs `f`, which says what it touched, and makes what changed durable.
    /// The books' lock is held just for `f` and the comparison: the change is
    /// written outside it, at most one writer at a time, and a writer takes
    /// everything queued, so callers that waited for it find their change
    /// already on disk.
    fn change<T>(&self, f: impl FnOnce(&mut Ledger, &mut Touched) -> T) -> anyhow::Result<T> {
        let durable = self.inner.durable;
        let (out, version, events) = {
            let mut books = lock(&self.inner.ledger);
            let mut touched = Touched::default();
            let out = f(&mut books.ledger, &mut touched);
            let ids: Vec<Uuid> = if touched.everything {
                books.ledger.accounts.keys().copied().collect()
            } else {
                touched.accounts.clone()
            };
            let mut events = Vec::new();
            for id in ids {
                if let Some(a) = books.ledger.accounts.get_mut(&id) {
                    events.extend(a.events.drain(..).map(|e| (id, e)));
                }
            }
            let version = (durable && books.journal(&touched)).then(|| {
                books.version += 1;
                books.version
            });
            (out, version, events)
        };
        if let Some(version) = version {
            self.persist_through(version)?;
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
    fn persist_through(&self, version: u64) -> anyhow::Result<()> {
        enum Work {
            Append(Vec<u8>),
            Snapshot(Box<Ledger>),
        }
        let mut saved = lock(&self.inner.saved);
        let saved = &mut *saved;
        let Some(store) = saved.store.as_mut() else {
            return Ok(());
        };
        if saved.version >= version {
            return Ok(());
        }
        let (latest, work) = {
            let mut books = lock(&self.inner.ledger);
            let work = if books.whole || store.wants_snapshot(books.pending.len()) {
                books.whole = false;
                books.pending.clear();
                Work::Snapshot(Box::new(books.ledger.clone()))
            } else {
                Work::Append(std::mem::take(&mut books.pending))
            };
            (books.version, work)
        };
        let written = match &work {
            Work::Append(bytes) => store.append(bytes),
            Work::Snapshot(ledger) => store.snapshot(ledger),
        };
        if let Err(e) = written {
            // What was taken is not on disk: the next write rewrites it all.
            lock(&self.inner.ledger).whole = true;
            return Err(e);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &std::path::Path) -> (PathBuf, PathBuf) {
        (dir.join("books.json"), dir.join("books.journal"))
    }

    fn len(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    fn cash(exchange: &Exchange, id: Uuid) -> Decimal {
        exchange.read(|l| l.account(id).unwrap().cash)
    }

    #[test]
    fn acknowledged_changes_are_on_disk_and_looks_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (path, journal) = files(dir.path());
        let exchange = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        let id = exchange.open_account("PKDISK", "secret").unwrap();
        // Returned: so already durable, as a crash right now would find it.
        let reopened = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        assert_eq!(reopened.read(|l| l.by_key("PKDISK", "secret")), Some(id));

        exchange.with_account(id, |a| a.cash.to_string()).unwrap();
        let written = (len(&path), len(&journal));
        for _ in 0..20 {
            let seen = exchange.with_account(id, |a| a.orders.len()).unwrap();
            assert_eq!(seen, Some(0));
        }
        assert_eq!(
            (len(&path), len(&journal)),
            written,
            "looks leave the files alone"
        );
        assert_eq!(exchange.with_account(Uuid::new_v4(), |_| ()).unwrap(), None);
    }

    #[test]
    fn a_change_to_one_account_appends_that_account_not_everyones_books() {
        let dir = tempfile::tempdir().unwrap();
        let (path, journal) = files(dir.path());
        let exchange = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        let ids: Vec<Uuid> = (0..200)
            .map(|i| exchange.open_account(&format!("PK{i}"), "s").unwrap())
            .collect();
        // Fold everything into the snapshot, then change one account.
        exchange.with_ledger(|_| ()).unwrap();
        let (snapshot, before) = (len(&path), len(&journal));
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        exchange
            .with_account(ids[7], |a| a.cash = Decimal::new(12_345, 2))
            .unwrap()
            .unwrap();
        let grew = len(&journal) - before;
        assert!(grew > 0, "the change is journalled");
        assert!(
            grew * 50 < snapshot,
            "one account's line ({grew} bytes) is a sliver of the books ({snapshot} bytes)"
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified,
            "the snapshot is not rewritten"
        );
        let reopened = Exchange::open(Some(path), KeyPolicy::Known).unwrap();
        assert_eq!(cash(&reopened, ids[7]), Decimal::new(12_345, 2));
        assert_eq!(reopened.read(|l| l.accounts.len()), 200);
    }

    #[test]
    fn a_change_cut_short_by_a_crash_is_dropped_and_later_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (path, journal) = files(dir.path());
        let exchange = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        let id = exchange.open_account("PKTORN", "secret").unwrap();
        exchange
            .with_account(id, |a| a.cash = Decimal::from(7))
            .unwrap();
        drop(exchange);
        // A crash mid-append: half a line, never acknowledged.
        let mut bytes = std::fs::read(&journal).unwrap();
        bytes.extend_from_slice(br#"{"account":{"id":"#);
        std::fs::write(&journal, &bytes).unwrap();

        let reopened = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        assert_eq!(cash(&reopened, id), Decimal::from(7));
        reopened
            .with_account(id, |a| a.cash = Decimal::from(8))
            .unwrap();
        drop(reopened);
        let again = Exchange::open(Some(path), KeyPolicy::Known).unwrap();
        assert_eq!(
            cash(&again, id),
            Decimal::from(8),
            "appends after the cut read back"
        );
    }

    #[test]
    fn a_damaged_change_in_the_middle_is_an_error_not_a_silent_loss() {
        let dir = tempfile::tempdir().unwrap();
        let (path, journal) = files(dir.path());
        let exchange = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        exchange.open_account("PKBAD", "secret").unwrap();
        drop(exchange);
        let mut bytes = std::fs::read(&journal).unwrap();
        let at = bytes.iter().position(|b| *b == b'\n').unwrap() + 3;
        bytes[at] = b'#';
        std::fs::write(&journal, &bytes).unwrap();
        let err = Exchange::open(Some(path), KeyPolicy::Known).err().unwrap();
        assert!(format!("{err:#}").contains("damaged at line 2"), "{err:#}");
    }

    #[test]
    fn a_journal_older_than_the_snapshot_is_not_replayed_over_it() {
        let dir = tempfile::tempdir().unwrap();
        let (path, journal) = files(dir.path());
        let exchange = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        let id = exchange.open_account("PKOLD", "secret").unwrap();
        exchange
            .with_account(id, |a| a.cash = Decimal::ONE)
            .unwrap();
        let old = std::fs::read(&journal).unwrap();
        exchange
            .with_ledger(|l| l.account_mut(id).unwrap().cash = Decimal::TWO)
            .unwrap();
        drop(exchange);
        // A crash after the new snapshot, before its journal replaced the old.
        std::fs::write(&journal, old).unwrap();
        let reopened = Exchange::open(Some(path), KeyPolicy::Known).unwrap();
        assert_eq!(cash(&reopened, id), Decimal::TWO);
    }

    #[test]
    fn a_change_back_after_a_whole_rewrite_is_still_written() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = files(dir.path());
        let exchange = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        let id = exchange.open_account("PKBACK", "secret").unwrap();
        exchange
            .with_account(id, |a| a.cash = Decimal::ONE)
            .unwrap();
        exchange
            .with_ledger(|l| l.account_mut(id).unwrap().cash = Decimal::TWO)
            .unwrap();
        exchange
            .with_account(id, |a| a.cash = Decimal::ONE)
            .unwrap();
        let reopened = Exchange::open(Some(path), KeyPolicy::Known).unwrap();
        assert_eq!(cash(&reopened, id), Decimal::ONE);
    }

    #[test]
    fn books_saved_before_the_journal_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = files(dir.path());
        let mut ledger = Ledger::default();
        let id = ledger.open_with_key("PKBARE", "secret", Decimal::from(100), Utc::now());
        std::fs::write(&path, serde_json::to_vec(&ledger).unwrap()).unwrap();
        let exchange = Exchange::open(Some(path.clone()), KeyPolicy::Known).unwrap();
        assert_eq!(exchange.read(|l| l.by_key("PKBARE", "secret")), Some(id));
        exchange
            .with_account(id, |a| a.cash = Decimal::from(99))
            .unwrap();
        let reopened = Exchange::open(Some(path), KeyPolicy::Known).unwrap();
        assert_eq!(cash(&reopened, id), Decimal::from(99));
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
                        let id = exchange
                            .open_account(&format!("PK{t}X{i}"), "secret")
                            .unwrap();
                        exchange
                            .with_account(id, |a| a.cash = Decimal::from(i))
                            .unwrap();
                    }
                });
            }
        });
        let reopened = Exchange::open(Some(path), KeyPolicy::Known).unwrap();
        assert_eq!(reopened.read(|l| l.accounts.len()), 100);
        for t in 0..4 {
            for i in 0..25 {
                let id = reopened
                    .read(|l| l.by_key(&format!("PK{t}X{i}"), "secret"))
                    .unwrap();
                assert_eq!(cash(&reopened, id), Decimal::from(i));
            }
        }
    }
}
