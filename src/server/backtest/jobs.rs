//! Strategy backtests in the background, for the API: checked and their
//! bars fetched before the answer (a bad question is refused at once), then
//! computed on a task that writes the sweep's progress every second and the
//! report at the end. A job whose process stopped is found by its silence
//! and failed, so it never reads "running" for ever.

use super::strategy;
use crate::domain::backtest::job::JobStatus;
use crate::dto::backtest::{BacktestJob, StrategyQuery};
use crate::dto::stamp::Stamp;
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::db::backtest_jobs::JobRow;
use crate::server::state::AppState;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Jobs one user may have running at once.
pub const MAX_RUNNING: i64 = 2;
/// A running job's progress is written this often.
const TOUCH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// A running job not touched for this long lost its process.
pub const SILENT_AFTER: Duration = Duration::seconds(60);
const INTERRUPTED: &str =
    "The server running this backtest stopped before it finished; run it again.";

fn view(row: JobRow, zone: chrono_tz::Tz, now: DateTime<Utc>) -> anyhow::Result<BacktestJob> {
    let r = row.record;
    let stamp = |t| Stamp::new(t, zone, now);
    Ok(BacktestJob {
        id: r.id,
        status: row.status,
        pairs_done: u32::try_from(r.pairs_done)?,
        pairs_total: u32::try_from(r.pairs_total)?,
        query: serde_json::from_str(&r.query)?,
        created_at: stamp(r.created_at),
        finished_at: r.finished_at.map(stamp),
        error: r.error,
        report: r.report.as_deref().map(serde_json::from_str).transpose()?,
    })
}

/// Checks `q`, fetches its bars and starts computing it; answers with the
/// job as it starts.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn start(
    state: &AppState,
    user: &CurrentUser,
    q: &StrategyQuery,
) -> Result<BacktestJob, AppError> {
    let ready = strategy::prepare(state, user, q).await?;
    let now = Utc::now();
    let total = ready.pairs.max(1);
    let id = state
        .store
        .start_backtest_job(
            user.id,
            &serde_json::to_string(q).map_err(anyhow::Error::from)?,
            i64::try_from(total).map_err(anyhow::Error::from)?,
            MAX_RUNNING,
            now - SILENT_AFTER,
            now,
        )
        .await?
        .ok_or_else(|| {
            AppError::Conflict(format!(
                "You have {MAX_RUNNING} backtests running; wait for one to finish."
            ))
        })?;
    let counter = Arc::new(AtomicUsize::new(0));
    let task_state = state.clone();
    tokio::spawn(async move {
        let compute = ready.compute(Some(counter.clone()));
        tokio::pin!(compute);
        let mut tick = tokio::time::interval(TOUCH_EVERY);
        tick.tick().await;
        let outcome = loop {
            tokio::select! {
                outcome = &mut compute => break outcome,
                _ = tick.tick() => {
                    let done = counter.load(Ordering::Relaxed) as i64;
                    if let Err(e) = task_state.store.touch_backtest_job(id, done, Utc::now()).await {
                        tracing::warn!(job = id, error.cause_chain = ?e, "could not record a backtest's progress");
                    }
                }
            }
        };
        let saved = match outcome {
            Ok(report) => match serde_json::to_string(&report) {
                Ok(json) => {
                    task_state
                        .store
                        .finish_backtest_job(id, Ok(&json), Utc::now())
                        .await
                }
                Err(e) => Err(e.into()),
            },
            Err(e) => {
                task_state
                    .store
                    .finish_backtest_job(id, Err(&e.to_string()), Utc::now())
                    .await
            }
        };
        if let Err(e) = saved {
            tracing::error!(job = id, error.cause_chain = ?e, "could not record a backtest's end");
        }
    });
    get(state, user, id).await
}

/// The user's job `id`.
pub async fn get(state: &AppState, user: &CurrentUser, id: i64) -> Result<BacktestJob, AppError> {
    let now = Utc::now();
    let read = || async {
        state
            .store
            .backtest_job(user.id, id)
            .await?
            .ok_or(AppError::NotFound)
    };
    let mut row = read().await?;
    if silent(&row, now) {
        fail_silent(state, user, now).await?;
        row = read().await?;
    }
    Ok(view(row, user.zone()?, now)?)
}

/// The user's jobs, newest first, without their reports.
pub async fn list(state: &AppState, user: &CurrentUser) -> Result<Vec<BacktestJob>, AppError> {
    let now = Utc::now();
    let mut rows = state.store.backtest_jobs_of(user.id).await?;
    if rows.iter().any(|r| silent(r, now)) {
        fail_silent(state, user, now).await?;
        rows = state.store.backtest_jobs_of(user.id).await?;
    }
    let zone = user.zone()?;
    Ok(rows
        .into_iter()
        .map(|r| view(r, zone, now))
        .collect::<anyhow::Result<_>>()?)
}

/// Whether `row` is running on a process that went silent.
fn silent(row: &JobRow, now: DateTime<Utc>) -> bool {
    row.status == JobStatus::Running && row.record.touched_at < now - SILENT_AFTER
}

/// Fails the user's running jobs whose process went silent (written only
/// when a read found one, so following a job reads and never writes).
async fn fail_silent(
    state: &AppState,
    user: &CurrentUser,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    state
        .store
        .fail_silent_backtest_jobs(user.id, now - SILENT_AFTER, INTERRUPTED, now)
        .await?;
    Ok(())
}
