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
     terms_version, terms_accepted_at, disabled_at, created_at";

impl Store {
    /// Inserts a user; `StoreError::Conflict("uq_users_email")` if the email is taken.
    pub async fn insert_user(&self, new: &NewUser<'_>) -> Result<i64, StoreError> {
        let now = super::now();
        let sql = "INSERT INTO users (email, email_normalized, password_hash, role, \
                   terms_version, terms_accepted_at, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id";
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
}
