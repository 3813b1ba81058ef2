//! tower-sessions' `SessionStore` on our `Store`: the session id is hashed
//! before it touches the database, and the signed-in user, user agent and IP
//! are lifted out of the session data into columns so sessions can be listed
//! and revoked per user.

use crate::server::db::Store;
use crate::server::db::sessions::SessionWrite;
use sha2::{Digest, Sha256};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

/// Session data keys.
pub const USER_ID: &str = "uid";
pub const AUTHENTICATED_AT: &str = "auth_at";
pub const USER_AGENT: &str = "ua";
pub const IP: &str = "ip";
/// When the session's idle expiry was last extended (Unix seconds).
pub const SEEN_AT: &str = "seen";

/// How often a signed-in session's idle expiry is extended: a session is
/// written at most this often by requests that change nothing else, so page
/// views do not each take the database's writer.
pub const TOUCH_EVERY_SECS: i64 = 60;

/// Marks a non-empty session for saving (which extends its idle expiry)
/// when it was last extended [`TOUCH_EVERY_SECS`] or more ago; visitors
/// without a session get none.
pub async fn keep_alive(
    session: tower_sessions::Session,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if !session.is_empty().await {
        let now = chrono::Utc::now().timestamp();
        let seen: Option<i64> = session.get(SEEN_AT).await.ok().flatten();
        if seen.is_none_or(|at| now - at >= TOUCH_EVERY_SECS || at > now) {
            let _ = session.insert(SEEN_AT, now).await;
        }
    }
    next.run(req).await
}

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    store: Store,
}

impl DbSessionStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// SHA-256 of the session id: what the database keys sessions by.
pub fn token_hash(id: &Id) -> String {
    hex::encode(Sha256::digest(id.0.to_le_bytes()))
}

fn backend(e: anyhow::Error) -> Error {
    tracing::error!(error.cause_chain = ?e, "session store");
    Error::Backend("session storage failed".into())
}

fn to_chrono(t: time::OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

fn to_time(t: chrono::DateTime<chrono::Utc>) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.timestamp_micros()) * 1000)
        .map_err(|e| Error::Decode(e.to_string()))
}

async fn write(store: &Store, record: &Record, insert_only: bool) -> Result<bool> {
    let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
    let hash = token_hash(&record.id);
    let text = |key: &str| {
        record
            .data
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let (ua, ip) = (text(USER_AGENT), text(IP));
    let write = SessionWrite {
        token_hash: &hash,
        user_id: record.data.get(USER_ID).and_then(|v| v.as_i64()),
        data: &data,
        expires_at: to_chrono(record.expiry_date),
        user_agent: ua.as_deref(),
        ip: ip.as_deref(),
    };
    if insert_only {
        store.insert_session(&write).await.map_err(backend)
    } else {
        store.update_session(&write).await.map_err(backend)
    }
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A collision of 128-bit random ids is all but impossible; retry anyway.
        while !write(&self.store, record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    /// Saves an existing session only (tower-sessions creates new ones,
    /// including after a cycled id, through `create`): a request that loaded
    /// the session before it was ended cannot bring it back.
    async fn save(&self, record: &Record) -> Result<()> {
        write(&self.store, record, false).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let found = self
            .store
            .session_data(&token_hash(id))
            .await
            .map_err(backend)?;
        let Some((data, expires_at)) = found else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(|e| Error::Decode(e.to_string()))?,
            expiry_date: to_time(expires_at)?,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.store
            .delete_session(&token_hash(id))
            .await
            .map_err(backend)
    }
}
