//! Storage. `Store` is what the rest of the server talks to; `SqliteStore` (the
//! embedded default) and `PgStore` (production, shared by several instances)
//! implement it. The database URL's scheme picks one.
//!
//! Queries are runtime-checked `sqlx::query*` with `$n` placeholders, which both
//! backends accept; the integration suite runs against both to check the SQL.
//! After adding a migration file, `touch src/server/db/mod.rs` so `migrate!`
//! embeds it.

mod postgres;
mod sqlite;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sqlx::migrate::Migrator;
use std::collections::BTreeMap;
use std::sync::Arc;

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

/// The persistence interface. Later issues add the users, plans, slots and
/// orders operations here; each backend implements all of them.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies this binary's migrations; safe to run from several instances at
    /// once (PostgreSQL takes an advisory lock, SQLite serialises writers).
    async fn migrate(&self) -> anyhow::Result<()>;

    /// One round trip to the database.
    async fn ping(&self) -> anyhow::Result<()>;

    async fn migration_status(&self) -> anyhow::Result<MigrationStatus>;

    /// Closes the pool, waiting for connections in use to be returned.
    async fn close(&self);
}

/// Connects to the database `url` names, with at most `max_connections`.
pub async fn connect(url: &SecretString, max_connections: u32) -> anyhow::Result<Arc<dyn Store>> {
    let raw = url.expose_secret();
    let backend = Backend::from_url(raw)?;
    let shown = redact(raw);
    let store: Arc<dyn Store> = match backend {
        Backend::Sqlite => Arc::new(
            SqliteStore::connect(raw, max_connections)
                .await
                .with_context(|| format!("opening the SQLite database {shown}"))?,
        ),
        Backend::Postgres => Arc::new(
            PgStore::connect(raw, max_connections)
                .await
                .with_context(|| format!("connecting to PostgreSQL at {shown}"))?,
        ),
    };
    Ok(store)
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
