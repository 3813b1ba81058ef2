//! How the exchange's books survive a restart: a snapshot of every account
//! (`books.json`) and, beside it, a journal of what changed since
//! (`books.journal`, one JSON line per changed account, key or token, each
//! the thing's whole new state). A change costs one appended line the size
//! of what it touched, not a rewrite of everyone's books; when the journal
//! outgrows the snapshot, the next write folds it into a new snapshot.
//!
//! The journal's first line names the snapshot generation it follows, so a
//! crash between writing a new snapshot and starting its journal replays
//! nothing stale. A last line cut short by a crash was never acknowledged
//! (the caller is answered only after the append is synced) and is dropped.

use super::ledger::{Account, Ledger};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// One change, as the journal records it: the new state of one thing.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Change<'a> {
    Account(&'a Account),
    /// An API key id and what it now opens (`None`: removed).
    Key {
        key_id: &'a str,
        opens: Option<&'a (String, Uuid)>,
    },
    /// A hashed OAuth token and what it now opens (`None`: removed).
    Token {
        hash: &'a str,
        opens: Option<Uuid>,
    },
}

impl Change<'_> {
    /// The journal line for this change.
    pub(super) fn line(&self) -> anyhow::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec(self).context("serialising a change to the books")?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// A [`Change`] read back.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Entry {
    Account(Box<Account>),
    Key {
        key_id: String,
        opens: Option<(String, Uuid)>,
    },
    Token {
        hash: String,
        opens: Option<Uuid>,
    },
}

impl Entry {
    fn apply(self, ledger: &mut Ledger) {
        match self {
            Entry::Account(account) => {
                ledger.accounts.insert(account.id, *account);
            }
            Entry::Key { key_id, opens } => match opens {
                Some(v) => {
                    ledger.keys.insert(key_id, v);
                }
                None => {
                    ledger.keys.remove(&key_id);
                }
            },
            Entry::Token { hash, opens } => match opens {
                Some(id) => {
                    ledger.tokens.insert(hash, id);
                }
                None => {
                    ledger.tokens.remove(&hash);
                }
            },
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    generation: u64,
}

#[derive(Serialize)]
struct SnapshotRef<'a> {
    generation: u64,
    ledger: &'a Ledger,
}

#[derive(Deserialize)]
struct Snapshot {
    generation: u64,
    ledger: Ledger,
}

/// Where the books are kept, and how much of each file there is.
pub(super) struct Store {
    snapshot: PathBuf,
    journal: PathBuf,
    pub generation: u64,
    pub snapshot_len: u64,
    pub journal_len: u64,
}

/// The books as they were last acknowledged, and where to keep them.
pub(super) fn load(snapshot: PathBuf) -> anyhow::Result<(Ledger, Store)> {
    let journal = snapshot.with_extension("journal");
    let (mut ledger, generation, snapshot_len) = if snapshot.exists() {
        let bytes = std::fs::read(&snapshot).with_context(|| {
            format!("reading the paper exchange's books {}", snapshot.display())
        })?;
        let invalid = || {
            format!(
                "the paper exchange's books {} are not valid",
                snapshot.display()
            )
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).with_context(invalid)?;
        // Books saved before the journal are a bare ledger: generation 0.
        let (ledger, generation) = if value.get("generation").is_some() {
            let s: Snapshot = serde_json::from_value(value).with_context(invalid)?;
            (s.ledger, s.generation)
        } else {
            (serde_json::from_value(value).with_context(invalid)?, 0)
        };
        (ledger, generation, bytes.len() as u64)
    } else {
        (Ledger::default(), 0, 0)
    };
    let mut store = Store {
        snapshot,
        journal,
        generation,
        snapshot_len,
        journal_len: 0,
    };
    match replay(&store.journal, generation, &mut ledger)? {
        Some(len) => store.journal_len = len,
        None => store.start_journal()?,
    }
    Ok((ledger, store))
}

/// Applies the journal that follows snapshot `generation`; its length, or
/// `None` when there is no such journal (absent, or one left from an older
/// snapshot).
fn replay(path: &Path, generation: u64, ledger: &mut Ledger) -> anyhow::Result<Option<u64>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut good = bytes.len();
    let mut at = 0;
    for (n, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        if n == 0 {
            let follows = line.ends_with(b"\n")
                && serde_json::from_slice::<Header>(line).is_ok_and(|h| h.generation == generation);
            if !follows {
                return Ok(None);
            }
        } else if !line.ends_with(b"\n") {
            // Cut short by a crash before it was synced: never acknowledged.
            tracing::warn!(
                journal = %path.display(),
                bytes = line.len(),
                "dropping an unfinished last change to the paper exchange's books"
            );
            good = at;
            break;
        } else {
            let entry: Entry = serde_json::from_slice(line).with_context(|| {
                format!(
                    "the paper exchange's journal {} is damaged at line {}",
                    path.display(),
                    n + 1
                )
            })?;
            entry.apply(ledger);
        }
        at += line.len();
    }
    if bytes.is_empty() {
        return Ok(None);
    }
    if good < bytes.len() {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.set_len(good as u64)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("truncating {}", path.display()))?;
    }
    Ok(Some(good as u64))
}

impl Store {
    /// Appends changes and returns once they are on disk.
    pub(super) fn append(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.journal)
            .with_context(|| format!("opening {}", self.journal.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_data())
            .with_context(|| format!("writing {}", self.journal.display()))?;
        self.journal_len += bytes.len() as u64;
        Ok(())
    }

    /// Whether the journal has grown enough to fold into a new snapshot.
    pub(super) fn wants_snapshot(&self, more: usize) -> bool {
        const FLOOR: u64 = 4 << 20;
        self.journal_len + more as u64 > self.snapshot_len.max(FLOOR)
    }

    /// Writes every account as a new snapshot and starts its empty journal.
    pub(super) fn snapshot(&mut self, ledger: &Ledger) -> anyhow::Result<()> {
        let generation = self.generation + 1;
        let bytes = serde_json::to_vec(&SnapshotRef { generation, ledger })
            .context("serialising the exchange's books")?;
        replace(&self.snapshot, &bytes)?;
        self.generation = generation;
        self.snapshot_len = bytes.len() as u64;
        self.start_journal()
    }

    fn start_journal(&mut self) -> anyhow::Result<()> {
        let mut header = serde_json::to_vec(&Header {
            generation: self.generation,
        })?;
        header.push(b'\n');
        replace(&self.journal, &header)?;
        self.journal_len = header.len() as u64;
        Ok(())
    }
}

/// Writes a file atomically: a temporary file renamed over the old one.
fn replace(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut file =
            std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}
