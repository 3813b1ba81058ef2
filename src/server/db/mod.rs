//! Storage. `Store` is what the rest of the server talks to. It has two
//! implementations, chosen by the database URL's scheme: SQLite (the embedded
//! default: one file, WAL, foreign keys, busy timeout) and PostgreSQL
//! (production, shared by several instances, work divided with row locks).
//!
//! `Store` is an enum over the two pools rather than a trait with two impls: the
//! queries are runtime-checked `sqlx::query*` with `$n` placeholders that both
//! engines accept, so each operation is written once and `with_pool!` runs it on
//! whichever pool is in use. Only what truly differs (migrations, how a
//! transaction takes its write lock) is written per backend. The integration
//! suite runs against both to check the SQL.
//!
//! After adding a migration file, `touch src/server/db/mod.rs` so `migrate!`
//! embeds it.

pub mod api_tokens;
pub mod audit;
pub mod backtest_jobs;
pub mod bars;
pub mod billing;
pub mod connections;
pub mod engine;
pub mod ledger;
pub mod notifications;
pub mod ops;
pub mod plans;
pub mod recommendations;
pub mod rows;
pub mod sessions;
pub mod users;

pub use engine::{NewSlot, OrderUpdate};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend it is.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::server::db::Store::Sqlite($pool) => $body,
            $crate::server::db::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Bytes of SQLite WAL kept after a checkpoint (64 MiB).
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "DATABASE_URL must start with sqlite: (the embedded database) or postgres:// (production); got a {scheme:?} URL"
)]
pub struct UnsupportedDatabase {
    scheme: String,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, UnsupportedDatabase> {
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(UnsupportedDatabase { scheme }),
        }
    }
}

/// Errors a caller branches on; everything else is `Other` with context.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; carries the constraint's name.
    #[error("unique constraint {0} violated")]
    Conflict(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Conflict(db.constraint().unwrap_or("unique").to_owned());
        }
        StoreError::Other(e.into())
    }
}

/// How the database's applied migrations compare to the ones this binary carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationStatus {
    /// Migrations this binary knows, applied successfully.
    pub applied: usize,
    /// Migrations this binary knows.
    pub expected: usize,
    /// Migrations recorded as started but not finished.
    pub failed: usize,
}

impl MigrationStatus {
    pub fn is_current(&self) -> bool {
        self.applied == self.expected && self.failed == 0
    }

    fn compare(migrator: &Migrator, applied: &[(i64, bool)]) -> Self {
        let recorded: BTreeMap<i64, bool> = applied.iter().copied().collect();
        let known = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version);
        let (mut ok, mut expected) = (0, 0);
        for version in known {
            expected += 1;
            if recorded.get(&version) == Some(&true) {
                ok += 1;
            }
        }
        MigrationStatus {
            applied: ok,
            expected,
            failed: recorded.values().filter(|done| !**done).count(),
        }
    }
}

/// The database, whichever engine it is. Cloning is cheap (the pools are shared).
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Store {
    /// Connects to the database `url` names, with at most `max_connections`.
    /// On SQLite, moves what it can of the WAL into the database without
    /// waiting for or blocking anyone (PASSIVE); with `journal_size_limit`
    /// the WAL file then shrinks when it next starts over. The housekeeping
    /// task calls this now and then, so a busy period does not leave a large
    /// WAL behind. Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> anyhow::Result<()> {
        if let Store::Sqlite(pool) = self {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(pool)
                .await
                .context("checkpointing the SQLite WAL")?;
        }
        Ok(())
    }

    /// A SQLite file (and its folder) is created if missing.
    pub async fn connect(url: &SecretString, max_connections: u32) -> anyhow::Result<Self> {
        let raw = url.expose_secret();
        let shown = redact(raw);
        match Backend::from_url(raw)? {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(raw)
                    .context("parsing the SQLite URL")?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
                    // The WAL is truncated to this size after each checkpoint
                    // instead of staying as large as its largest burst.
                    .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string());
                if let Some(dir) = options.get_filename().parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating the data folder {}", dir.display()))?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await
                    .with_context(|| format!("opening the SQLite database {shown}"))?;
                Ok(Store::Sqlite(pool))
            }
            Backend::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(raw)
                    .await
                    .with_context(|| format!("connecting to PostgreSQL at {shown}"))?;
                Ok(Store::Postgres(pool))
            }
        }
    }

    /// Writes a consistent copy of a SQLite database to `to` while it is in
    /// use (`VACUUM INTO`: one read transaction, so writers carry on and the
    /// copy is as of one instant); never over an existing file. PostgreSQL
    /// is backed up with `pg_dump` (README, "Backup and restore").
    pub async fn backup_to(&self, to: &std::path::Path) -> anyhow::Result<()> {
        let Store::Sqlite(pool) = self else {
            anyhow::bail!(
                "backing up PostgreSQL is pg_dump's job: pg_dump --format=custom --no-owner --file=dripfeed.dump \"$DATABASE_URL\" (README, \"Backup and restore\")"
            );
        };
        anyhow::ensure!(
            !to.exists(),
            "{} exists already; a backup never overwrites a file",
            to.display()
        );
        let path = to.to_str().ok_or_else(|| {
            anyhow::anyhow!("the backup path is not valid UTF-8: {}", to.display())
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(pool)
            .await
            .with_context(|| format!("writing the backup {}", to.display()))?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies this binary's migrations; safe to run from several instances at
    /// once (PostgreSQL takes an advisory lock, SQLite serialises writers).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Store::Sqlite(pool) => SQLITE_MIGRATOR.run(pool).await,
            Store::Postgres(pool) => POSTGRES_MIGRATOR.run(pool).await,
        }
        .context("applying database migrations")
    }

    /// One round trip to the database.
    pub async fn ping(&self) -> anyhow::Result<()> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn migration_status(&self) -> anyhow::Result<MigrationStatus> {
        const SELECT: &str = "SELECT version, success FROM _sqlx_migrations";
        let (has_table, migrator): (bool, &Migrator) = match self {
            Store::Sqlite(pool) => (
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master \
                     WHERE type = 'table' AND name = '_sqlx_migrations')",
                )
                .fetch_one(pool)
                .await?,
                &SQLITE_MIGRATOR,
            ),
            Store::Postgres(pool) => (
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?,
                &POSTGRES_MIGRATOR,
            ),
        };
        let applied: Vec<(i64, bool)> = if has_table {
            with_pool!(self, pool => sqlx::query_as(SELECT).fetch_all(pool).await)?
        } else {
            Vec::new()
        };
        Ok(MigrationStatus::compare(migrator, &applied))
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}

/// A database URL fit for logs: any password is replaced by `***`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot carry a password at all.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparseable database URL>".to_owned(),
    }
}

/// Now, at the microsecond precision both engines store, so a value written and
/// read back compares (and hashes) equal.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_selects_the_backend() {
        assert_eq!(
            Backend::from_url("sqlite://data/x.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("sqlite::memory:").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(Backend::from_url("mysql://u@h/db").is_err());
        assert!(Backend::from_url("data/x.db").is_err());
    }

    #[test]
    fn redaction_hides_the_password_and_keeps_the_rest() {
        assert_eq!(
            redact("postgres://app:s3cret@db.internal:5432/dripfeed"),
            "postgres://app:***@db.internal:5432/dripfeed"
        );
        assert_eq!(
            redact("postgres://app@db/dripfeed"),
            "postgres://app@db/dripfeed"
        );
    }
}
