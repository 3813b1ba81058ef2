//! Personal API tokens (kept as hashes) and the idempotency keys of API
//! requests, both scoped by their owner.

use super::{Store, with_pool};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub struct NewApiToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub prefix: &'a str,
    pub token_hash: &'a str,
    pub scope: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a POST's idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// First use: answer the request, then [`Store::finish_idempotency`].
    Fresh,
    /// Answered before with the same request: this status and body again.
    Replay { status: u16, body: String },
    /// Used before for a different request.
    Mismatch,
    /// The first request with this key is still being answered.
    InFlight,
}

/// A stored key: the request's hash, the answer's status and body once
/// answered, and when it was claimed.
type KeyRow = (String, Option<i32>, Option<String>, DateTime<Utc>);

/// An idempotency key claimed but unanswered this long was abandoned (the
/// request timeout is 30 s).
pub const ABANDONED_AFTER: chrono::Duration = chrono::Duration::minutes(5);

const TOKEN_COLUMNS: &str =
    "id, user_id, name, prefix, scope, created_at, expires_at, last_used_at, revoked_at";

impl Store {
    pub async fn insert_api_token(&self, t: &NewApiToken<'_>) -> anyhow::Result<i64> {
        let sql = "INSERT INTO api_tokens (user_id, name, prefix, token_hash, scope, created_at, expires_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(t.user_id).bind(t.name).bind(t.prefix).bind(t.token_hash).bind(t.scope)
            .bind(t.created_at).bind(t.expires_at)
            .fetch_one(pool).await)?)
    }

    /// The user's tokens, newest first, revoked ones included.
    pub async fn api_tokens_of(&self, user_id: i64) -> anyhow::Result<Vec<ApiTokenRow>> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC");
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, ApiTokenRow>(&sql)
            .bind(user_id).fetch_all(pool).await)?,
        )
    }

    pub async fn api_token_by_hash(&self, token_hash: &str) -> anyhow::Result<Option<ApiTokenRow>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1");
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, ApiTokenRow>(&sql)
            .bind(token_hash).fetch_optional(pool).await)?,
        )
    }

    /// Revokes the user's token `id`; false if they have no such token.
    /// Revoking twice keeps the first time.
    pub async fn revoke_api_token(
        &self,
        user_id: i64,
        id: i64,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let sql = "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) \
                   WHERE id = $2 AND user_id = $3";
        Ok(with_pool!(self, pool => sqlx::query(sql)
            .bind(at).bind(id).bind(user_id)
            .execute(pool).await.map(|r| r.rows_affected() == 1))?)
    }

    /// Records a use of token `id` at `at`, at most once a minute (so a busy
    /// script does not write the row on every call).
    pub async fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> anyhow::Result<()> {
        let sql = "UPDATE api_tokens SET last_used_at = $1 \
                   WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(at).bind(id).bind(at - chrono::Duration::minutes(1))
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Claims `key` for a request hashing to `request_hash`, or says what
    /// the key was used for before.
    pub async fn claim_idempotency(
        &self,
        user_id: i64,
        key: &str,
        request_hash: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<KeyClaim> {
        let insert = "INSERT INTO api_idempotency (user_id, idempotency_key, request_hash, created_at) \
                      VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, idempotency_key) DO NOTHING";
        let inserted = with_pool!(self, pool => sqlx::query(insert)
            .bind(user_id).bind(key).bind(request_hash).bind(at)
            .execute(pool).await.map(|r| r.rows_affected() == 1))?;
        if inserted {
            return Ok(KeyClaim::Fresh);
        }
        let select = "SELECT request_hash, status, body, created_at FROM api_idempotency \
                      WHERE user_id = $1 AND idempotency_key = $2";
        let row: Option<KeyRow> = with_pool!(self, pool => sqlx::query_as(select)
                .bind(user_id).bind(key).fetch_optional(pool).await)?;
        Ok(match row {
            // Released between the insert and the read: the caller may retry.
            None => KeyClaim::InFlight,
            Some((hash, _, _, _)) if hash != request_hash => KeyClaim::Mismatch,
            Some((_, Some(status), Some(body), _)) => KeyClaim::Replay {
                status: u16::try_from(status)?,
                body,
            },
            // Unanswered for longer than any request takes: its process
            // died mid-request. This request takes the key over (one does,
            // if several try at once).
            Some((_, None, _, started)) if started < at - ABANDONED_AFTER => {
                let take = "UPDATE api_idempotency SET created_at = $1 \
                            WHERE user_id = $2 AND idempotency_key = $3 \
                            AND status IS NULL AND created_at = $4";
                let taken = with_pool!(self, pool => sqlx::query(take)
                    .bind(at).bind(user_id).bind(key).bind(started)
                    .execute(pool).await.map(|r| r.rows_affected() == 1))?;
                if taken {
                    KeyClaim::Fresh
                } else {
                    KeyClaim::InFlight
                }
            }
            Some(_) => KeyClaim::InFlight,
        })
    }

    /// Stores the answer to the request that claimed `key`.
    pub async fn finish_idempotency(
        &self,
        user_id: i64,
        key: &str,
        status: u16,
        body: &str,
    ) -> anyhow::Result<()> {
        let sql = "UPDATE api_idempotency SET status = $1, body = $2 \
                   WHERE user_id = $3 AND idempotency_key = $4";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(i32::from(status)).bind(body).bind(user_id).bind(key)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Gives `key` up unanswered (the request failed on our side), so a
    /// retry with it is carried out.
    pub async fn release_idempotency(&self, user_id: i64, key: &str) -> anyhow::Result<()> {
        let sql = "DELETE FROM api_idempotency WHERE user_id = $1 AND idempotency_key = $2 \
                   AND status IS NULL";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(user_id).bind(key).execute(pool).await.map(|_| ()))?;
        Ok(())
    }
}
