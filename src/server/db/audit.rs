//! The audit log: an append-only, hash-chained record of security- and
//! money-relevant events. Each entry's hash covers its own fields and the
//! previous entry's hash, so changing, removing or reordering any entry breaks
//! the chain from that point on; `dripfeed admin verify-audit` finds where.
//!
//! Appends are serialised (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a
//! transaction-scoped advisory lock) so the chain never forks, even with
//! several instances writing at once.

use super::rows::AuditRow;
use super::{Store, with_pool};
use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Arbitrary constant naming the audit chain's advisory lock in PostgreSQL.
pub(crate) const AUDIT_LOCK_KEY: i64 = 0x4452_4950_4155_4454; // "DRIPAUDT"

/// An event to record. `detail` must never hold a secret.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub actor_user_id: Option<i64>,
    pub subject_user_id: Option<i64>,
    pub action: String,
    pub detail: serde_json::Value,
    pub ip: Option<String>,
}

/// What one entry's hash covers: every column, and the previous entry's hash.
#[derive(Debug, Clone, Copy)]
pub struct Hashed<'a> {
    pub prev_hash: &'a str,
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub subject_user_id: Option<i64>,
    pub action: &'a str,
    pub detail: &'a str,
    pub ip: Option<&'a str>,
}

/// The hash of one entry: SHA-256 over length-prefixed fields, so no two
/// different entries can serialise to the same bytes.
pub fn entry_hash(entry: &Hashed<'_>) -> String {
    let Hashed {
        prev_hash,
        id,
        occurred_at,
        actor_user_id,
        subject_user_id,
        action,
        detail,
        ip,
    } = *entry;
    let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let fields = [
        prev_hash.to_owned(),
        id.to_string(),
        occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        opt(actor_user_id),
        opt(subject_user_id),
        action.to_owned(),
        detail.to_owned(),
        ip.unwrap_or_default().to_owned(),
    ];
    let mut hasher = Sha256::new();
    for field in &fields {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub entries: u64,
    /// The first entry that does not check out, and why.
    pub first_broken: Option<(i64, String)>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

macro_rules! append_in {
    ($tx:ident, $entry:ident) => {{
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
                .fetch_optional(&mut *$tx)
                .await?;
        let (id, prev_hash) = match last {
            Some((id, hash)) => (id + 1, hash),
            None => (1, $crate::server::db::audit::GENESIS_HASH.to_owned()),
        };
        let occurred_at = $crate::server::db::now();
        let detail = $entry.detail.to_string();
        let hash = $crate::server::db::audit::entry_hash(&$crate::server::db::audit::Hashed {
            prev_hash: &prev_hash,
            id,
            occurred_at,
            actor_user_id: $entry.actor_user_id,
            subject_user_id: $entry.subject_user_id,
            action: &$entry.action,
            detail: &detail,
            ip: $entry.ip.as_deref(),
        });
        sqlx::query(
            "INSERT INTO audit_log (id, occurred_at, actor_user_id, subject_user_id, action, \
             detail, ip, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(occurred_at)
        .bind($entry.actor_user_id)
        .bind($entry.subject_user_id)
        .bind(&$entry.action)
        .bind(&detail)
        .bind($entry.ip.as_deref())
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *$tx)
        .await?;
        id
    }};
}

/// Runs `$body` (statements on the transaction `$tx`) and appends the audit
/// entries it returns in the same transaction, so an effect and its record
/// commit together or not at all. `$body` evaluates to `(value, Vec<entry>)`;
/// an early `return` from it rolls everything back.
macro_rules! audited {
    ($store:expr, |$tx:ident| $body:block) => {{
        use $crate::server::db::audit::AUDIT_LOCK_KEY;
        match $store {
            $crate::server::db::Store::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let (out, entries): (_, Vec<$crate::server::db::audit::NewAuditEntry>) = $body;
                for entry in &entries {
                    $crate::server::db::audit::append_in!($tx, entry);
                }
                $tx.commit().await?;
                out
            }
            $crate::server::db::Store::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(AUDIT_LOCK_KEY)
                    .execute(&mut *$tx)
                    .await?;
                let (out, entries): (_, Vec<$crate::server::db::audit::NewAuditEntry>) = $body;
                for entry in &entries {
                    $crate::server::db::audit::append_in!($tx, entry);
                }
                $tx.commit().await?;
                out
            }
        }
    }};
}
pub(crate) use {append_in, audited};

const AUDIT_COLUMNS: &str =
    "id, occurred_at, actor_user_id, subject_user_id, action, detail, ip, prev_hash, hash";

impl Store {
    /// Appends an entry to the chain and returns its id.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> anyhow::Result<i64> {
        let id = match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let id = append_in!(tx, entry);
                tx.commit().await?;
                id
            }
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(AUDIT_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                let id = append_in!(tx, entry);
                tx.commit().await?;
                id
            }
        };
        Ok(id)
    }

    /// Entries that concern `user_id` (as actor or subject), newest first.
    pub async fn audit_of_user(&self, user_id: i64, limit: i64) -> anyhow::Result<Vec<AuditRow>> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log \
             WHERE subject_user_id = $1 OR actor_user_id = $1 ORDER BY id DESC LIMIT $2"
        );
        Ok(with_pool!(self, pool => sqlx::query_as::<_, AuditRow>(&sql)
            .bind(user_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// Entries for the admin view, newest first: optionally only those that
    /// concern `user_id`, and only actions starting with `action_prefix`.
    pub async fn audit_entries(
        &self,
        user_id: Option<i64>,
        action_prefix: Option<&str>,
        limit: i64,
    ) -> anyhow::Result<Vec<AuditRow>> {
        let pattern = action_prefix.map(|p| {
            let escaped = p
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("{escaped}%")
        });
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log \
             WHERE ($1 IS NULL OR subject_user_id = $1 OR actor_user_id = $1) \
             AND ($2 IS NULL OR action LIKE $2 ESCAPE '\\') ORDER BY id DESC LIMIT $3"
        );
        Ok(with_pool!(self, pool => sqlx::query_as::<_, AuditRow>(&sql)
            .bind(user_id)
            .bind(pattern.as_deref())
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// Recomputes every hash in order and checks each link.
    pub async fn verify_audit_chain(&self) -> anyhow::Result<ChainReport> {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY id");
        let rows: Vec<AuditRow> =
            with_pool!(self, pool => sqlx::query_as::<_, AuditRow>(&sql).fetch_all(pool).await)?;
        Ok(check_chain(&rows))
    }
}

/// Checks a chain given in id order.
pub fn check_chain(rows: &[AuditRow]) -> ChainReport {
    let mut prev = GENESIS_HASH.to_owned();
    for (expected_id, row) in (1_i64..).zip(rows) {
        let broken = |why: &str| ChainReport {
            entries: rows.len() as u64,
            first_broken: Some((row.id, why.to_owned())),
        };
        if row.id != expected_id {
            return broken("an entry is missing before this one");
        }
        if row.prev_hash != prev {
            return broken("does not link to the previous entry");
        }
        let recomputed = entry_hash(&Hashed {
            prev_hash: &row.prev_hash,
            id: row.id,
            occurred_at: row.occurred_at,
            actor_user_id: row.actor_user_id,
            subject_user_id: row.subject_user_id,
            action: &row.action,
            detail: &row.detail,
            ip: row.ip.as_deref(),
        });
        if recomputed != row.hash {
            return broken("its contents were changed after it was written");
        }
        prev = row.hash.clone();
    }
    ChainReport {
        entries: rows.len() as u64,
        first_broken: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|id| {
                let at = super::super::now();
                let hash = entry_hash(&Hashed {
                    prev_hash: &prev,
                    id,
                    occurred_at: at,
                    actor_user_id: Some(1),
                    subject_user_id: Some(1),
                    action: "login.succeeded",
                    detail: "{}",
                    ip: None,
                });
                let row = AuditRow {
                    id,
                    occurred_at: at,
                    actor_user_id: Some(1),
                    subject_user_id: Some(1),
                    action: "login.succeeded".into(),
                    detail: "{}".into(),
                    ip: None,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                row
            })
            .collect()
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert!(check_chain(&chain(5)).is_intact());
        assert!(check_chain(&[]).is_intact());
    }

    #[test]
    fn an_edited_entry_is_found() {
        let mut rows = chain(5);
        rows[2].action = "login.failed".into();
        assert_eq!(check_chain(&rows).first_broken.map(|b| b.0), Some(3));
    }

    #[test]
    fn a_deleted_entry_is_found() {
        let mut rows = chain(5);
        rows.remove(1);
        assert_eq!(check_chain(&rows).first_broken.map(|b| b.0), Some(3));
    }

    #[test]
    fn a_rehashed_edit_still_breaks_the_next_link() {
        let mut rows = chain(4);
        rows[1].detail = "{\"forged\":true}".into();
        rows[1].hash = entry_hash(&Hashed {
            prev_hash: &rows[1].prev_hash,
            id: 2,
            occurred_at: rows[1].occurred_at,
            actor_user_id: Some(1),
            subject_user_id: Some(1),
            action: "login.succeeded",
            detail: &rows[1].detail,
            ip: None,
        });
        assert_eq!(check_chain(&rows).first_broken.map(|b| b.0), Some(3));
    }
}
