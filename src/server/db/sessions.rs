//! Server-side sessions. The cookie carries a random session id; the database
//! keeps only its SHA-256, so a copy of the database cannot be used to take
//! over a session. Rows carry the signed-in user, so a user's sessions can be
//! listed and revoked; a deleted row ends that session at its next request.

use super::rows::SessionRow;
use super::{Store, with_pool};
use chrono::{DateTime, Utc};

/// One session as the session layer saves it.
#[derive(Debug)]
pub struct SessionWrite<'a> {
    pub token_hash: &'a str,
    pub user_id: Option<i64>,
    pub data: &'a str,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
}

const SESSION_COLUMNS: &str = "id, user_id, created_at, last_seen_at, expires_at, user_agent, ip";

impl Store {
    /// Inserts a new session; `false` if the token hash already exists.
    pub async fn insert_session(&self, s: &SessionWrite<'_>) -> anyhow::Result<bool> {
        let now = super::now();
        let sql = "INSERT INTO sessions (token_hash, user_id, data, created_at, last_seen_at, \
                   expires_at, user_agent, ip) VALUES ($1, $2, $3, $4, $4, $5, $6, $7) \
                   ON CONFLICT (token_hash) DO NOTHING";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(s.token_hash)
            .bind(s.user_id)
            .bind(s.data)
            .bind(now)
            .bind(s.expires_at)
            .bind(s.user_agent)
            .bind(s.ip)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Updates a live session, stamping it as seen now. Never creates one: a
    /// session that was deleted (logged out, revoked, ended by a password
    /// change) or has expired stays gone, even when a request that loaded it
    /// earlier saves afterwards. `false` if there was nothing to update.
    pub async fn update_session(&self, s: &SessionWrite<'_>) -> anyhow::Result<bool> {
        let now = super::now();
        let sql = "UPDATE sessions SET user_id = $2, data = $3, last_seen_at = $4, \
                   expires_at = $5, user_agent = $6, ip = $7 \
                   WHERE token_hash = $1 AND expires_at > $4";
        let n = with_pool!(self, pool => sqlx::query(sql)
            .bind(s.token_hash)
            .bind(s.user_id)
            .bind(s.data)
            .bind(now)
            .bind(s.expires_at)
            .bind(s.user_agent)
            .bind(s.ip)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// The session's data, unless it is missing or expired.
    pub async fn session_data(
        &self,
        token_hash: &str,
    ) -> anyhow::Result<Option<(String, DateTime<Utc>)>> {
        let sql = "SELECT data, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2";
        Ok(with_pool!(self, pool => sqlx::query_as(sql)
            .bind(token_hash)
            .bind(super::now())
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn delete_session(&self, token_hash: &str) -> anyhow::Result<()> {
        with_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The id of the session row with this token hash.
    pub async fn session_id_by_hash(&self, token_hash: &str) -> anyhow::Result<Option<i64>> {
        Ok(
            with_pool!(self, pool => sqlx::query_scalar("SELECT id FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// A user's unexpired sessions, most recently used first.
    pub async fn sessions_of(&self, user_id: i64) -> anyhow::Result<Vec<SessionRow>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND expires_at > $2 \
             ORDER BY last_seen_at DESC, id DESC"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, SessionRow>(&sql)
            .bind(user_id)
            .bind(super::now())
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Deletes session `id` if it belongs to `user_id`; `false` if it does not
    /// exist or is someone else's (the caller cannot tell which).
    pub async fn revoke_session(&self, user_id: i64, id: i64) -> anyhow::Result<bool> {
        let n = with_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Ends every session of `user_id` except `keep` (by row id). Returns how many ended.
    pub async fn revoke_other_sessions(
        &self,
        user_id: i64,
        keep: Option<i64>,
    ) -> anyhow::Result<u64> {
        let n = with_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(-1))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n)
    }

    /// Signed-in sessions not yet expired (for `/metrics`).
    pub async fn active_session_count(&self) -> anyhow::Result<i64> {
        let sql = "SELECT COUNT(*) FROM sessions WHERE expires_at > $1 AND user_id IS NOT NULL";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(super::now())
            .fetch_one(pool)
            .await)?)
    }

    /// Removes expired sessions. Returns how many.
    pub async fn purge_expired_sessions(&self) -> anyhow::Result<u64> {
        let n = with_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(super::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n)
    }
}
