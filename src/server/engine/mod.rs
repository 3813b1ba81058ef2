//! The scheduling engine: exactly one order per (plan, slot, symbol).
//!
//! One pass ([`Engine::tick`]) at an instant `now`:
//! 1. **Materialise** every due slot of every active plan (unique per plan and
//!    instant, so any number of passes or instances write it once). A slot
//!    whose session has closed before anyone could run it is `missed`.
//! 2. **Claim** due work with a lease: pending slots, and running or
//!    submitted ones whose lease ran out (their engine died mid-run, or an
//!    order is due a status check).
//! 3. **Run** each claimed slot ([`run`]): pre-flight checks, then per
//!    symbol an intent row with a deterministic client order id is written
//!    BEFORE the order is sent. A lost answer is resolved by looking the
//!    client order id up, never by sending blindly; a resend reuses the same
//!    id, so the broker itself refuses a duplicate.
//! 4. Orders are followed to a terminal state; the slot ends with the
//!    combined outcome and a reason a person can read.
//!
//! Time is a parameter: the worker passes its clock, tests and
//! `dripfeed engine tick --at` pass any instant.
//!
//! Files: `materialise.rs` (what each plan owes, written in bulk), `run.rs`
//! (batches and account groups), `preflight.rs` (a run's own
//! checks), `orders.rs` (sending and following orders), `decide.rs` (what each
//! broker answer means, as pure functions), `reconcile.rs` (against the broker).

mod decide;
mod materialise;
mod orders;
mod preflight;
mod reconcile;
pub use reconcile::STUCK_AFTER;
mod run;

use crate::domain::calendar;
use crate::domain::schedule::Schedule;
use crate::server::db::rows::PlanRow;
use crate::server::state::AppState;
use chrono::{DateTime, Duration, DurationRound, Utc};

pub use decide::broker_state;
pub use reconcile::{Findings, reconcile};
pub use run::client_order_id;

/// How long a claim on a running slot lasts before another engine may take
/// it over (its engine is presumed dead).
pub const RUN_LEASE: Duration = Duration::minutes(2);
/// How often a submitted order's status is checked.
pub const FOLLOW_EVERY: Duration = Duration::seconds(15);
/// How long the SQLite engine lease lasts without renewal.
pub const ENGINE_LEASE: Duration = Duration::seconds(30);
/// How often in-flight work is reconciled with the brokers.
const RECONCILE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);
/// Slots claimed at a time, per concurrent task.
const BATCH_PER_TASK: usize = 8;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub materialised: usize,
    pub missed: usize,
    pub claimed: usize,
    pub finished: usize,
}

#[derive(Clone)]
pub struct Engine {
    state: AppState,
    owner: String,
    /// Findings already reported, so each is raised once per process.
    reported: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

/// The stored schedule of a plan.
pub fn plan_schedule(plan: &PlanRow) -> anyhow::Result<Schedule> {
    let cadence = serde_json::from_str(&plan.cadence)?;
    let time = serde_json::from_str(&plan.time_of_day)?;
    Ok(Schedule::new(
        cadence,
        time,
        &plan.time_zone,
        plan.start_date,
        plan.end_date,
    )?)
}

/// The engine's clock: the embedded exchange's when it has been moved or
/// sped up for a demo (so plans fire in its time), otherwise the wall clock.
pub fn engine_now(state: &AppState) -> DateTime<Utc> {
    if state.settings.exchange_clock.is_some() || state.settings.exchange_speed != 1 {
        state.exchange.now()
    } else {
        Utc::now()
    }
}

/// Why a run can no longer be caught up at `now` under its plan's missed-run
/// policy: its trading session has closed, or the plan's catch-up window (in
/// minutes after the run's time) has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooLate {
    SessionClosed,
    Window(i64),
}

/// The missed-run policy for the run at `at` on `trading_date`; `None` while
/// it may still be caught up.
pub fn too_late(
    plan: &PlanRow,
    at: DateTime<Utc>,
    trading_date: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Option<TooLate> {
    if calendar::trading_day(trading_date).is_none_or(|d| d.close_at() <= now) {
        return Some(TooLate::SessionClosed);
    }
    plan.catch_up_minutes
        .filter(|m| now > at + Duration::minutes(*m))
        .map(TooLate::Window)
}

/// This process's name in slot claims: the configured instance id, or the
/// host name and process id.
pub fn instance_name(settings: &crate::server::config::Settings) -> String {
    if let Some(id) = &settings.instance_id {
        return id.clone();
    }
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "dripfeed".into());
    format!("{host}-{}", std::process::id())
}

/// Runs a pass every `every` until `stop` turns true, and beside it a
/// reconciliation at start-up and every [`RECONCILE_INTERVAL`] (so a slow
/// broker listing never delays due runs). A stop waits for the pass under
/// way: its submissions finish and are recorded, and no new pass starts
/// (draining). A pass cut short all the same (a crash, a drain past its
/// time) is safe: leases expire and reconciliation resolves what was sent.
pub async fn worker(
    engine: Engine,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // Held (not `_`) so it lives as long as this loop.
    let _reconciler = AbortOnDrop(tokio::spawn(reconciler(engine.clone())));
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = crate::server::db::now();
    let mut alerts_checked: Option<tokio::time::Instant> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.changed() => break,
        }
        match engine.hold_lease().await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("another engine holds this SQLite database; this one waits");
                continue;
            }
            Err(e) => {
                tracing::error!(error.cause_chain = ?e, "could not renew the engine lease");
                continue;
            }
        }
        // Tier changes first (a lapsed grace period pauses plans before they buy).
        if let Err(e) = crate::server::billing::review_due(&engine.state).await {
            tracing::error!(error.cause_chain = ?e, "entitlement reviews failed");
        }
        let now = engine_now(&engine.state);
        match engine.tick(now).await {
            Ok(r) if r.claimed > 0 || r.materialised > 0 => {
                tracing::info!(
                    materialised = r.materialised,
                    missed = r.missed,
                    claimed = r.claimed,
                    finished = r.finished,
                    "engine pass"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error.cause_chain = ?e, "engine pass failed"),
        }
        // The recommendation jobs (GO, ANALYZE) and their orders.
        match crate::server::recommendations::jobs::daily(&engine.state, &engine.owner, now).await {
            Ok(r) if r.go_runs + r.analyze_runs + r.settled > 0 => tracing::info!(
                go = r.go_runs,
                analyze = r.analyze_runs,
                created = r.created,
                exits_placed = r.exits_placed,
                settled = r.settled,
                "recommendation jobs"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error.cause_chain = ?e, "recommendation jobs failed"),
        }
        if let Err(e) = engine
            .state
            .store
            .engine_heartbeat(&engine.owner, started, crate::server::db::now())
            .await
        {
            tracing::warn!(error.cause_chain = ?e, "could not record the engine's pass");
        }
        // Alerts once a minute.
        if alerts_checked.is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(60)) {
            alerts_checked = Some(tokio::time::Instant::now());
            if let Err(e) = crate::server::ops::alerts::evaluate(&engine.state, now).await {
                tracing::error!(error.cause_chain = ?e, "alerts could not be evaluated");
            }
        }
    }
    tracing::info!("engine drained: the pass under way finished; no new pass starts");
}

/// Reconciles now and then every [`RECONCILE_INTERVAL`].
async fn reconciler(engine: Engine) {
    let mut interval = tokio::time::interval(RECONCILE_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(e) = reconcile(&engine, engine_now(&engine.state)).await {
            tracing::error!(error.cause_chain = ?e, "reconciliation failed");
        }
    }
}

/// Runs `work` as tasks on the runtime (so both cores help), at most `limit`
/// at a time; returns their outputs in the order they finish. A task that
/// panicked is logged and left out.
pub(crate) async fn bounded<T, F>(limit: usize, work: impl IntoIterator<Item = F>) -> Vec<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    let mut out = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut keep = |done: Result<T, tokio::task::JoinError>| match done {
        Ok(t) => out.push(t),
        Err(e) => tracing::error!(error = %e, "an engine task failed"),
    };
    for future in work {
        if tasks.len() >= limit.max(1)
            && let Some(done) = tasks.join_next().await
        {
            keep(done);
        }
        tasks.spawn(future);
    }
    while let Some(done) = tasks.join_next().await {
        keep(done);
    }
    out
}

/// Stops a background task when its owner is dropped (or aborted).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Engine {
    /// An engine instance; `owner` names it in claims (host and process).
    pub fn new(state: AppState, owner: impl Into<String>) -> Self {
        Self {
            state,
            owner: owner.into(),
            reported: Default::default(),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// `true` the first time `key` is reported by this engine.
    fn first_report(&self, key: &str) -> bool {
        self.reported
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned())
    }

    /// On SQLite, takes or renews the one-engine-per-database lease; `false`
    /// if another engine holds it. Always `true` on PostgreSQL.
    pub async fn hold_lease(&self) -> anyhow::Result<bool> {
        match self.state.store {
            crate::server::db::Store::Sqlite(_) => {
                self.state
                    .store
                    .hold_engine_lease(&self.owner, ENGINE_LEASE)
                    .await
            }
            crate::server::db::Store::Postgres(_) => Ok(true),
        }
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Takes back, at start-up, work this instance's name still holds (it
    /// was this process before a crash or restart), and on SQLite, where only
    /// the lease holder runs an engine, every claim a dead engine left.
    pub async fn take_back_claims(&self) -> anyhow::Result<u64> {
        let everyone = matches!(self.state.store, crate::server::db::Store::Sqlite(_));
        let n = self
            .state
            .store
            .release_claims(&self.owner, everyone)
            .await?;
        if n > 0 {
            tracing::warn!(slots = n, "took back unfinished runs from before a restart");
        }
        Ok(n)
    }

    /// One full pass at `now`.
    pub async fn tick(&self, now: DateTime<Utc>) -> anyhow::Result<TickReport> {
        let now = now.duration_trunc(Duration::microseconds(1))?;
        let mut report = TickReport::default();
        self.materialise(now, &mut report).await?;
        let concurrency = self.state.settings.engine_concurrency.max(1);
        let batch = i64::try_from(concurrency * BATCH_PER_TASK).unwrap_or(i64::MAX);
        loop {
            let claimed = self
                .state
                .store
                .claim_slots(&self.owner, now, now + RUN_LEASE, batch)
                .await?;
            if claimed.is_empty() {
                break;
            }
            report.claimed += claimed.len();
            report.finished += run::run_batch(self, claimed, now, concurrency).await?;
        }
        Ok(report)
    }
}
