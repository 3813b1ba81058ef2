//! What the operators' health page and the alerts read and write: engine
//! instances' heartbeats, alerts, and counts across every user.

use super::{Store, with_pool};
use chrono::{DateTime, NaiveDate, Utc};

/// What one instance saw in one minute: `n` outcomes of one kind from one
/// source (`broker` with its environment as `subject`; `webhook` with
/// Stripe's answer as `outcome`; `mail` with `sent` or `failed`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Sample {
    pub minute: i64,
    pub source: String,
    pub subject: String,
    pub outcome: String,
    pub n: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EngineInstanceRow {
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub last_pass_at: DateTime<Utc>,
    pub passes: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub detail: String,
    pub raised_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
    pub emailed_at: Option<DateTime<Utc>>,
}

/// Runs across every plan, as the health page counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Pending and due now.
    pub due: i64,
    /// Claimed or sent, not yet resolved.
    pub in_flight: i64,
    /// Not resolved and scheduled before the dead-man line.
    pub unresolved: i64,
}

const ALERT_COLUMNS: &str =
    "id, kind, title, detail, raised_at, last_seen_at, cleared_at, emailed_at";

impl Store {
    /// Records that engine `name` (started at `started`) finished a pass.
    pub async fn engine_heartbeat(
        &self,
        name: &str,
        started: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let sql = "INSERT INTO engine_instances (name, started_at, last_pass_at, passes) \
                   VALUES ($1, $2, $3, 1) ON CONFLICT (name) DO UPDATE SET \
                   started_at = excluded.started_at, last_pass_at = excluded.last_pass_at, \
                   passes = engine_instances.passes + 1";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(name).bind(started).bind(at)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes `instance`'s `samples` (each replacing the same minute's
    /// before it) and deletes everyone's samples before minute `drop_before`.
    pub async fn save_ops_samples(
        &self,
        instance: &str,
        samples: &[Sample],
        drop_before: i64,
    ) -> anyhow::Result<()> {
        let sql = "INSERT INTO ops_samples (instance, minute, source, subject, outcome, n) \
                   VALUES ($1, $2, $3, $4, $5, $6) \
                   ON CONFLICT (instance, minute, source, subject, outcome) DO UPDATE SET n = excluded.n";
        with_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            for s in samples {
                sqlx::query(sql)
                    .bind(instance).bind(s.minute).bind(&s.source).bind(&s.subject)
                    .bind(&s.outcome).bind(s.n)
                    .execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM ops_samples WHERE minute < $1")
                .bind(drop_before).execute(&mut *tx).await?;
            tx.commit().await
        }.await)?;
        Ok(())
    }

    /// Every instance's samples from minute `from` on, added up per minute.
    pub async fn ops_samples_since(&self, from: i64) -> anyhow::Result<Vec<Sample>> {
        let sql = "SELECT minute, source, subject, outcome, CAST(SUM(n) AS BIGINT) AS n \
                   FROM ops_samples WHERE minute >= $1 \
                   GROUP BY minute, source, subject, outcome ORDER BY minute";
        Ok(with_pool!(self, pool => sqlx::query_as::<_, Sample>(sql)
            .bind(from).fetch_all(pool).await)?)
    }

    /// Engine instances seen since `since`, the latest pass first.
    pub async fn engine_instances(
        &self,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<EngineInstanceRow>> {
        let sql = "SELECT name, started_at, last_pass_at, passes FROM engine_instances \
                   WHERE last_pass_at >= $1 ORDER BY last_pass_at DESC";
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, EngineInstanceRow>(sql)
            .bind(since).fetch_all(pool).await)?,
        )
    }

    pub async fn run_counts(
        &self,
        now: DateTime<Utc>,
        unresolved_before: DateTime<Utc>,
    ) -> anyhow::Result<RunCounts> {
        let sql = "SELECT \
            COALESCE(SUM(CASE WHEN status = 'pending' AND scheduled_at <= $1 THEN 1 ELSE 0 END), 0), \
            COALESCE(SUM(CASE WHEN status IN ('running', 'submitted') THEN 1 ELSE 0 END), 0), \
            COALESCE(SUM(CASE WHEN finished_at IS NULL AND scheduled_at < $2 THEN 1 ELSE 0 END), 0) \
            FROM plan_slots WHERE finished_at IS NULL";
        let (due, in_flight, unresolved): (i64, i64, i64) = with_pool!(self, pool => sqlx::query_as(sql)
                .bind(now).bind(unresolved_before).fetch_one(pool).await)?;
        Ok(RunCounts {
            due,
            in_flight,
            unresolved,
        })
    }

    /// When the daily job `kind` (`go` or `analyze`) last finished for
    /// anyone, and whether any ran for `day`.
    pub async fn last_daily_job(
        &self,
        kind: &str,
        day: NaiveDate,
    ) -> anyhow::Result<(Option<DateTime<Utc>>, bool)> {
        let last = "SELECT MAX(finished_at) FROM daily_jobs WHERE kind = $1 AND status = 'done'";
        let at: Option<DateTime<Utc>> = with_pool!(self, pool => sqlx::query_scalar(last)
            .bind(kind).fetch_one(pool).await)?;
        let today = "SELECT COUNT(*) FROM daily_jobs WHERE kind = $1 AND trading_date = $2 \
                     AND status = 'done'";
        let n: i64 = with_pool!(self, pool => sqlx::query_scalar(today)
            .bind(kind).bind(day).fetch_one(pool).await)?;
        Ok((at, n > 0))
    }

    /// Users whose daily analysis is on (GO owes them a run each trading day).
    pub async fn users_with_recommendations(&self) -> anyhow::Result<i64> {
        let sql = "SELECT COUNT(*) FROM recommendation_settings s JOIN users u ON u.id = s.user_id \
                   WHERE s.enabled = $1 AND u.disabled_at IS NULL";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(true).fetch_one(pool).await)?)
    }

    /// The latest Stripe event received: when Stripe created it and when it
    /// arrived.
    pub async fn last_stripe_event(
        &self,
    ) -> anyhow::Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
        let sql =
            "SELECT created, received_at FROM stripe_events ORDER BY received_at DESC LIMIT 1";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).fetch_optional(pool).await)?)
    }

    /// AI analyst calls and failures on `day`.
    pub async fn ai_calls_on(&self, day: NaiveDate) -> anyhow::Result<(i64, i64)> {
        let sql =
            "SELECT CAST(calls AS BIGINT), CAST(failures AS BIGINT) FROM ai_calls WHERE day = $1";
        let row: Option<(i64, i64)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(day).fetch_optional(pool).await)?;
        Ok(row.unwrap_or((0, 0)))
    }

    /// The database's size on disk, in bytes.
    pub async fn database_size(&self) -> anyhow::Result<i64> {
        Ok(match self {
            Store::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                )
                .fetch_one(pool)
                .await?
            }
            Store::Postgres(pool) => {
                sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(pool)
                    .await?
            }
        })
    }

    /// The open alert of `kind`, if any.
    pub async fn open_alert(&self, kind: &str) -> anyhow::Result<Option<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM admin_alerts WHERE kind = $1 AND cleared_at IS NULL"
        );
        Ok(with_pool!(self, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(kind).fetch_optional(pool).await)?)
    }

    /// Raises an alert of `kind` unless one is open; its id when this call
    /// raised it (one instance wins when several evaluate at once).
    pub async fn raise_alert(
        &self,
        kind: &str,
        title: &str,
        detail: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<i64>> {
        let sql = "INSERT INTO admin_alerts (kind, title, detail, raised_at, last_seen_at) \
                   VALUES ($1, $2, $3, $4, $4) ON CONFLICT (kind) WHERE cleared_at IS NULL DO NOTHING \
                   RETURNING id";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(kind).bind(title).bind(detail).bind(at)
            .fetch_optional(pool).await)?)
    }

    /// The open alert of `kind` still holds: its latest detail and time.
    pub async fn touch_alert(
        &self,
        kind: &str,
        detail: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let sql = "UPDATE admin_alerts SET detail = $1, last_seen_at = $2 \
                   WHERE kind = $3 AND cleared_at IS NULL";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(detail).bind(at).bind(kind).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Clears the open alert of `kind`; its title when this call cleared it.
    pub async fn clear_alert(
        &self,
        kind: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<String>> {
        let sql = "UPDATE admin_alerts SET cleared_at = $1 WHERE kind = $2 AND cleared_at IS NULL \
                   RETURNING title";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(at).bind(kind).fetch_optional(pool).await)?)
    }

    pub async fn mark_alert_emailed(&self, id: i64, at: DateTime<Utc>) -> anyhow::Result<()> {
        let sql = "UPDATE admin_alerts SET emailed_at = $1 WHERE id = $2";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(at).bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Open alerts, then the latest cleared ones, newest first.
    pub async fn recent_alerts(&self, limit: i64) -> anyhow::Result<Vec<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM admin_alerts \
             ORDER BY CASE WHEN cleared_at IS NULL THEN 0 ELSE 1 END, raised_at DESC, id DESC LIMIT $1"
        );
        Ok(with_pool!(self, pool => sqlx::query_as::<_, AlertRow>(&sql)
            .bind(limit).fetch_all(pool).await)?)
    }

    /// Per user: the last time they signed in (a log-in, or the sign-up that
    /// signed them in), and how many brokerage connections they have.
    pub async fn user_activity(
        &self,
    ) -> anyhow::Result<std::collections::HashMap<i64, (Option<DateTime<Utc>>, i64)>> {
        let logins = "SELECT subject_user_id, MAX(occurred_at) FROM audit_log \
                      WHERE action IN ('login.succeeded', 'account.signed_up') \
                      AND subject_user_id IS NOT NULL GROUP BY subject_user_id";
        let rows: Vec<(i64, Option<DateTime<Utc>>)> =
            with_pool!(self, pool => sqlx::query_as(logins).fetch_all(pool).await)?;
        let connections = "SELECT user_id, COUNT(*) FROM broker_connections GROUP BY user_id";
        let counts: Vec<(i64, i64)> =
            with_pool!(self, pool => sqlx::query_as(connections).fetch_all(pool).await)?;
        let mut out: std::collections::HashMap<i64, (Option<DateTime<Utc>>, i64)> =
            std::collections::HashMap::new();
        for (id, at) in rows {
            out.entry(id).or_default().0 = at;
        }
        for (id, n) in counts {
            out.entry(id).or_default().1 = n;
        }
        Ok(out)
    }

    /// Every enabled administrator's address (and notification address).
    pub async fn admin_addresses(&self) -> anyhow::Result<Vec<String>> {
        let sql = "SELECT COALESCE(notification_email, email) FROM users \
                   WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql).fetch_all(pool).await)?)
    }
}
