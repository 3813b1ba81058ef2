//! Background strategy backtests (the API's backtest jobs), each its
//! owner's: every read and write names the user.

use super::{Store, with_pool};
use crate::domain::backtest::job::JobStatus;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRecord {
    pub id: i64,
    pub user_id: i64,
    pub query: String,
    pub status: String,
    pub pairs_done: i64,
    pub pairs_total: i64,
    pub report: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub touched_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job as read, its status parsed.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub status: JobStatus,
    pub record: JobRecord,
}

impl TryFrom<JobRecord> for JobRow {
    type Error = anyhow::Error;
    fn try_from(record: JobRecord) -> anyhow::Result<Self> {
        Ok(Self {
            status: JobStatus::try_from(record.status.as_str())?,
            record,
        })
    }
}

/// A user keeps this many finished jobs; older ones are deleted.
pub const KEPT_JOBS: i64 = 20;

const COLUMNS: &str = "id, user_id, query, status, pairs_done, pairs_total, report, error, \
                       created_at, touched_at, finished_at";

impl Store {
    /// Starts a job for `user_id`, unless they already have `max_running`
    /// running (touched since `alive_since`): then `None`.
    pub async fn start_backtest_job(
        &self,
        user_id: i64,
        query: &str,
        pairs_total: i64,
        max_running: i64,
        alive_since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<i64>> {
        // One statement: two requests at once cannot both pass the count.
        let sql = "INSERT INTO backtest_jobs (user_id, query, status, pairs_total, created_at, touched_at) \
                   SELECT $1, $2, 'running', $3, $4, $4 WHERE \
                   (SELECT COUNT(*) FROM backtest_jobs WHERE user_id = $1 AND status = 'running' \
                    AND touched_at >= $5) < $6 RETURNING id";
        let id: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(user_id).bind(query).bind(pairs_total).bind(at).bind(alive_since).bind(max_running)
            .fetch_optional(pool).await)?;
        if id.is_some() {
            let prune = "DELETE FROM backtest_jobs WHERE user_id = $1 AND status <> 'running' \
                         AND id NOT IN (SELECT id FROM backtest_jobs WHERE user_id = $1 \
                         AND status <> 'running' ORDER BY id DESC LIMIT $2)";
            with_pool!(self, pool => sqlx::query(prune)
                .bind(user_id).bind(KEPT_JOBS).execute(pool).await.map(|_| ()))?;
        }
        Ok(id)
    }

    /// Records how far job `id` has come (and that its process is alive).
    pub async fn touch_backtest_job(
        &self,
        id: i64,
        pairs_done: i64,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let sql = "UPDATE backtest_jobs SET pairs_done = $1, touched_at = $2 \
                   WHERE id = $3 AND status = 'running'";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(pairs_done).bind(at).bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Finishes running job `id`: done with `report` (every pair
    /// evaluated), or failed with `error`. False if it had finished already.
    pub async fn finish_backtest_job(
        &self,
        id: i64,
        outcome: Result<&str, &str>,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let (status, report, error) = match outcome {
            Ok(report) => (JobStatus::Done, Some(report), None),
            Err(error) => (JobStatus::Failed, None, Some(error)),
        };
        let sql = "UPDATE backtest_jobs SET status = $1, report = $2, error = $3, \
                   pairs_done = CASE WHEN $1 = 'done' THEN pairs_total ELSE pairs_done END, \
                   touched_at = $4, finished_at = $4 WHERE id = $5 AND status = 'running'";
        Ok(with_pool!(self, pool => sqlx::query(sql)
            .bind(status.as_str()).bind(report).bind(error).bind(at).bind(id)
            .execute(pool).await.map(|r| r.rows_affected() == 1))?)
    }

    /// Fails the user's running jobs not touched since `before`.
    pub async fn fail_silent_backtest_jobs(
        &self,
        user_id: i64,
        before: DateTime<Utc>,
        error: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let sql = "UPDATE backtest_jobs SET status = 'failed', error = $1, finished_at = $2 \
                   WHERE user_id = $3 AND status = 'running' AND touched_at < $4";
        Ok(with_pool!(self, pool => sqlx::query(sql)
            .bind(error).bind(at).bind(user_id).bind(before)
            .execute(pool).await.map(|r| r.rows_affected()))?)
    }

    /// The user's job `id`, if it is theirs.
    pub async fn backtest_job(&self, user_id: i64, id: i64) -> anyhow::Result<Option<JobRow>> {
        let sql = format!("SELECT {COLUMNS} FROM backtest_jobs WHERE id = $1 AND user_id = $2");
        let row = with_pool!(self, pool => sqlx::query_as::<_, JobRecord>(&sql)
            .bind(id).bind(user_id).fetch_optional(pool).await)?;
        row.map(JobRow::try_from).transpose()
    }

    /// The user's jobs, newest first, without their reports.
    pub async fn backtest_jobs_of(&self, user_id: i64) -> anyhow::Result<Vec<JobRow>> {
        let sql = "SELECT id, user_id, query, status, pairs_done, pairs_total, \
                   CAST(NULL AS TEXT) AS report, error, created_at, touched_at, finished_at \
                   FROM backtest_jobs WHERE user_id = $1 ORDER BY id DESC";
        let rows = with_pool!(self, pool => sqlx::query_as::<_, JobRecord>(sql)
            .bind(user_id).fetch_all(pool).await)?;
        rows.into_iter().map(JobRow::try_from).collect()
    }
}
