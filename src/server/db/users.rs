//! Users: creation and lookup.

use super::rows::UserRow;
use super::{Store, StoreError, with_pool};
use chrono::{DateTime, Utc};

/// What sign-up (or the admin CLI) writes. The password is already hashed.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub email_normalized: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub terms_version: &'a str,
    pub terms_accepted_at: DateTime<Utc>,
}

const USER_COLUMNS: &str = "id, email, email_normalized, password_hash, role, time_zone, \
     terms_version, terms_accepted_at, disabled_at, created_at, totp_secret_sealed, \
     totp_enabled_at, totp_last_step, notification_email, notify_on_fill, notify_on_skip, \
     notify_security, applied_tier, tier_override, pending_notification_email";

/// A user's notification settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSettings {
    pub time_zone: String,
    pub notification_email: Option<String>,
    pub notify_on_fill: bool,
    pub notify_on_skip: bool,
    pub notify_security: bool,
}

impl Store {
    /// Inserts a user; `StoreError::Conflict("uq_users_email")` if the email is taken.
    pub async fn insert_user(&self, new: &NewUser<'_>) -> Result<i64, StoreError> {
        let now = super::now();
        let sql = "INSERT INTO users (email, email_normalized, password_hash, role, \
                   terms_version, terms_accepted_at, created_at, updated_at, entitlement_review_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7) RETURNING id";
        let id: i64 = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(new.email)
            .bind(new.email_normalized)
            .bind(new.password_hash)
            .bind(new.role)
            .bind(new.terms_version)
            .bind(new.terms_accepted_at)
            .bind(now)
            .fetch_one(pool)
            .await)?;
        Ok(id)
    }

    pub async fn user_by_email(&self, email_normalized: &str) -> anyhow::Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email_normalized = $1");
        Ok(with_pool!(self, pool => sqlx::query_as::<_, UserRow>(&sql)
            .bind(email_normalized)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn user_by_id(&self, id: i64) -> anyhow::Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(with_pool!(self, pool => sqlx::query_as::<_, UserRow>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Every user, oldest first (admin view).
    pub async fn list_users(&self) -> anyhow::Result<Vec<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
        Ok(with_pool!(self, pool => sqlx::query_as::<_, UserRow>(&sql).fetch_all(pool).await)?)
    }

    /// Disables (`true`) or re-enables a user; a disabled user's sessions end.
    pub async fn set_user_disabled(&self, user_id: i64, disabled: bool) -> anyhow::Result<bool> {
        let now = super::now();
        let at = disabled.then_some(now);
        let n = with_pool!(self, pool => sqlx::query(
            "UPDATE users SET disabled_at = $1, updated_at = $2 WHERE id = $3")
            .bind(at)
            .bind(now)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if disabled {
            self.revoke_other_sessions(user_id, None).await?;
        }
        Ok(n == 1)
    }

    /// Sets a new password hash and ends every session of the user except
    /// `keep` (by row id), in one transaction. Returns how many ended.
    pub async fn change_password_ending_sessions(
        &self,
        user_id: i64,
        hash: &str,
        keep: Option<i64>,
    ) -> anyhow::Result<u64> {
        let ended = with_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(super::now())
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
                .bind(user_id)
                .bind(keep.unwrap_or(-1))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(n)
        }.await)?;
        Ok(ended)
    }

    /// Keeps `email` waiting for confirmation under the hash of its link's
    /// token until `expires_at` (replacing any earlier pending address).
    pub async fn set_pending_notification_email(
        &self,
        user_id: i64,
        email: &str,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE users SET pending_notification_email = $1, pending_email_token_hash = $2, \
             pending_email_expires_at = $3, updated_at = $4 WHERE id = $5")
            .bind(email)
            .bind(token_hash)
            .bind(expires_at)
            .bind(super::now())
            .bind(user_id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Drops a pending notification address, if any.
    pub async fn clear_pending_notification_email(&self, user_id: i64) -> anyhow::Result<()> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE users SET pending_notification_email = NULL, pending_email_token_hash = NULL, \
             pending_email_expires_at = NULL WHERE id = $1")
            .bind(user_id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Makes the pending address whose link token hashes to `token_hash`
    /// the user's notification address, once, before it expires. Returns
    /// the user and the address confirmed.
    pub async fn confirm_notification_email(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<(i64, String)>> {
        Ok(with_pool!(self, pool => sqlx::query_as(
            "UPDATE users SET notification_email = pending_notification_email, \
             pending_notification_email = NULL, pending_email_token_hash = NULL, \
             pending_email_expires_at = NULL, updated_at = $2 \
             WHERE pending_email_token_hash = $1 AND pending_email_expires_at > $2 \
             RETURNING id, notification_email")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn update_user_settings(&self, user_id: i64, s: &UserSettings) -> anyhow::Result<()> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE users SET time_zone = $1, notification_email = $2, notify_on_fill = $3, \
             notify_on_skip = $4, notify_security = $5, updated_at = $6 WHERE id = $7")
            .bind(&s.time_zone)
            .bind(s.notification_email.as_deref())
            .bind(s.notify_on_fill)
            .bind(s.notify_on_skip)
            .bind(s.notify_security)
            .bind(super::now())
            .bind(user_id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Stores a not-yet-confirmed TOTP secret (sealed), replacing any pending one.
    /// Refused (`false`) while 2FA is enabled.
    pub async fn set_pending_totp(&self, user_id: i64, sealed: &str) -> anyhow::Result<bool> {
        let n = with_pool!(self, pool => sqlx::query(
            "UPDATE users SET totp_secret_sealed = $1, totp_last_step = NULL, updated_at = $2 \
             WHERE id = $3 AND totp_enabled_at IS NULL")
            .bind(sealed)
            .bind(super::now())
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Turns 2FA on at `step` and replaces the recovery codes, in one transaction.
    pub async fn enable_totp(
        &self,
        user_id: i64,
        step: i64,
        code_hashes: &[String],
    ) -> anyhow::Result<bool> {
        let now = super::now();
        let enabled = with_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE users SET totp_enabled_at = $1, totp_last_step = $2, updated_at = $1 \
                 WHERE id = $3 AND totp_enabled_at IS NULL AND totp_secret_sealed IS NOT NULL")
                .bind(now)
                .bind(step)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n != 1 {
                return Ok::<bool, sqlx::Error>(false);
            }
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            for hash in code_hashes {
                sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                    .bind(user_id)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(true)
        }.await)?;
        Ok(enabled)
    }

    /// Turns 2FA off and forgets the secret and recovery codes.
    pub async fn disable_totp(&self, user_id: i64) -> anyhow::Result<()> {
        with_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE users SET totp_secret_sealed = NULL, totp_enabled_at = NULL, \
                 totp_last_step = NULL, updated_at = $1 WHERE id = $2")
                .bind(super::now())
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }.await)?;
        Ok(())
    }

    /// Records `step` as used if it is later than the last one used; `false`
    /// means the code was already used (a replay).
    pub async fn claim_totp_step(&self, user_id: i64, step: i64) -> anyhow::Result<bool> {
        let n = with_pool!(self, pool => sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 \
             AND (totp_last_step IS NULL OR totp_last_step < $1)")
            .bind(step)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Uses up a recovery code; `false` if it is unknown or already used.
    pub async fn use_recovery_code(&self, user_id: i64, code_hash: &str) -> anyhow::Result<bool> {
        let n = with_pool!(self, pool => sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 \
             AND used_at IS NULL")
            .bind(super::now())
            .bind(user_id)
            .bind(code_hash)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn unused_recovery_codes(&self, user_id: i64) -> anyhow::Result<i64> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .fetch_one(pool)
            .await)?)
    }

    /// Every sealed TOTP secret, for re-encryption under a new key.
    pub async fn sealed_totp_secrets(&self) -> anyhow::Result<Vec<(i64, String)>> {
        Ok(with_pool!(self, pool => sqlx::query_as(
            "SELECT id, totp_secret_sealed FROM users WHERE totp_secret_sealed IS NOT NULL")
            .fetch_all(pool)
            .await)?)
    }

    /// Replaces a sealed TOTP secret if it is still `old` (a concurrent change wins).
    pub async fn reseal_totp_secret(
        &self,
        user_id: i64,
        old: &str,
        new: &str,
    ) -> anyhow::Result<bool> {
        let n = with_pool!(self, pool => sqlx::query(
            "UPDATE users SET totp_secret_sealed = $1 WHERE id = $2 AND totp_secret_sealed = $3")
            .bind(new)
            .bind(user_id)
            .bind(old)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}
