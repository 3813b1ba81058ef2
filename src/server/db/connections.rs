//! Brokerage connections. Credentials are stored sealed (see
//! `server/crypto.rs`); every query that reads or changes a connection is
//! scoped by its owner, so one user can never reach another's.

use super::rows::ConnectionRow;
use super::{Store, StoreError, with_pool};

/// A connection about to be saved.
#[derive(Debug)]
pub struct NewConnection<'a> {
    pub user_id: i64,
    pub label: &'a str,
    pub environment: &'a str,
    pub auth_kind: &'a str,
    pub key_hint: Option<&'a str>,
    pub credentials_sealed: &'a str,
}

pub(super) const COLUMNS: &str = "id, user_id, label, environment, auth_kind, key_hint, \
                       credentials_sealed, status, created_at, updated_at";

impl Store {
    /// Saves a connection; `StoreError::Conflict("uq_broker_connection_label")`
    /// if the user already has one with that label.
    pub async fn insert_connection(&self, new: &NewConnection<'_>) -> Result<i64, StoreError> {
        let now = super::now();
        let sql = "INSERT INTO broker_connections (user_id, label, environment, auth_kind, \
                   key_hint, credentials_sealed, status, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7) RETURNING id";
        let id: i64 = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(new.user_id)
            .bind(new.label)
            .bind(new.environment)
            .bind(new.auth_kind)
            .bind(new.key_hint)
            .bind(new.credentials_sealed)
            .bind(now)
            .fetch_one(pool)
            .await)?;
        Ok(id)
    }

    /// The user's connections, oldest first.
    pub async fn connections_of(&self, user_id: i64) -> anyhow::Result<Vec<ConnectionRow>> {
        let sql =
            format!("SELECT {COLUMNS} FROM broker_connections WHERE user_id = $1 ORDER BY id");
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, ConnectionRow>(&sql)
            .bind(user_id)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// One of the user's connections; `None` if it does not exist or is not theirs.
    pub async fn connection_of(
        &self,
        user_id: i64,
        id: i64,
    ) -> anyhow::Result<Option<ConnectionRow>> {
        let sql =
            format!("SELECT {COLUMNS} FROM broker_connections WHERE user_id = $1 AND id = $2");
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, ConnectionRow>(&sql)
            .bind(user_id)
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Deletes one of the user's connections (and so its credentials).
    /// Deletes the user's connection unless one of its plans' runs is in
    /// flight (claimed, or waiting on the broker): those need the connection
    /// to reach their outcome. `Ok(false)` if nothing was deleted.
    pub async fn delete_connection(&self, user_id: i64, id: i64) -> anyhow::Result<bool> {
        let sql = "DELETE FROM broker_connections WHERE user_id = $1 AND id = $2 \
                   AND NOT EXISTS (SELECT 1 FROM plan_slots s JOIN plans p ON p.id = s.plan_id \
                   WHERE p.connection_id = $2 AND s.status IN ('running', 'submitted'))";
        let n = with_pool!(self, pool => sqlx::query(sql)
            .bind(user_id)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// How many runs of plans on this connection are in flight.
    pub async fn runs_in_flight_on(&self, connection_id: i64) -> anyhow::Result<i64> {
        let sql = "SELECT COUNT(*) FROM plan_slots s JOIN plans p ON p.id = s.plan_id \
                   WHERE p.connection_id = $1 AND s.status IN ('running', 'submitted')";
        Ok(
            with_pool!(self, pool => sqlx::query_scalar(sql).bind(connection_id).fetch_one(pool).await)?,
        )
    }

    /// Marks a connection `active` or `reconnect_needed`.
    pub async fn set_connection_status(&self, id: i64, status: &str) -> anyhow::Result<()> {
        let sql = "UPDATE broker_connections SET status = $1, updated_at = $2 \
                   WHERE id = $3 AND status <> $1";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(status)
            .bind(super::now())
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Every sealed credential, for re-sealing under a new application key.
    pub async fn sealed_connection_credentials(&self) -> anyhow::Result<Vec<(i64, i64, String)>> {
        let sql = "SELECT id, user_id, credentials_sealed FROM broker_connections ORDER BY id";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await)?)
    }

    /// Replaces a sealed credential if it is still the one that was read.
    pub async fn reseal_connection_credentials(
        &self,
        id: i64,
        old: &str,
        new: &str,
    ) -> anyhow::Result<bool> {
        let sql = "UPDATE broker_connections SET credentials_sealed = $1 \
                   WHERE id = $2 AND credentials_sealed = $3";
        let n = with_pool!(self, pool => sqlx::query(sql)
            .bind(new)
            .bind(id)
            .bind(old)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}
