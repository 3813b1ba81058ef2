//! In-app notifications, scoped by their owner.

use super::rows::NotificationRow;
use super::{Store, with_pool};

impl Store {
    pub async fn insert_notification(
        &self,
        user_id: i64,
        kind: &str,
        title: &str,
        body: &str,
        plan_id: Option<i64>,
    ) -> anyhow::Result<()> {
        let sql = "INSERT INTO notifications (user_id, kind, title, body, plan_id, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6)";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(user_id).bind(kind).bind(title).bind(body).bind(plan_id).bind(super::now())
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Whether the user was ever sent a notification of this kind.
    pub async fn has_notification(&self, user_id: i64, kind: &str) -> anyhow::Result<bool> {
        let sql = "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = $2";
        let n: i64 = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(user_id)
            .bind(kind)
            .fetch_one(pool)
            .await)?;
        Ok(n > 0)
    }

    /// The user's latest notifications, newest first.
    pub async fn notifications_of(
        &self,
        user_id: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<NotificationRow>> {
        let sql = "SELECT id, kind, title, body, plan_id, created_at, read_at FROM notifications \
                   WHERE user_id = $1 ORDER BY id DESC LIMIT $2";
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, NotificationRow>(sql)
            .bind(user_id).bind(limit).fetch_all(pool).await)?,
        )
    }

    /// How many of the user's notifications are unread.
    pub async fn unread_notifications(&self, user_id: i64) -> anyhow::Result<u64> {
        let sql = "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL";
        let n: i64 = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(user_id).fetch_one(pool).await)?;
        Ok(u64::try_from(n)?)
    }

    /// Marks all the user's notifications read; how many were unread.
    pub async fn mark_notifications_read(&self, user_id: i64) -> anyhow::Result<u64> {
        let sql = "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL";
        Ok(with_pool!(self, pool => sqlx::query(sql)
            .bind(super::now()).bind(user_id)
            .execute(pool).await.map(|r| r.rows_affected()))?)
    }
}
