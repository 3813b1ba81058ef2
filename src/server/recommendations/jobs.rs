//! The daily jobs, run from the engine's worker every pass:
//! - expire what nobody decided in time;
//! - settle orders whose outcome is not known yet ([`super::settle`]);
//! - GO ([`super::go`]) for every user with recommendations on, once per
//!   trading day, from its time (08:45 New York by default) until the close;
//! - ANALYZE ([`super::analyze`]) once per trading day, from its time (16:30)
//!   until the next open.
//!
//! Each job is claimed per user and day in the database, so any number of
//! instances run it exactly once; a claim whose instance died is taken over
//! when its lease runs out. A day missed entirely (Dripfeed was down until
//! the close, or until the next open) is not caught up: its moment passed.

use crate::domain::calendar::{self, TradingDay};
use crate::server::db::recommendations::JobKind;
use crate::server::state::AppState;
use chrono::{DateTime, Duration, NaiveTime, Utc};

/// How long a claim on a daily job holds before another instance may take
/// it over.
pub const JOB_LEASE: Duration = Duration::minutes(10);

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DailyReport {
    pub expired: u64,
    pub settled: usize,
    pub go_runs: usize,
    pub analyze_runs: usize,
    pub created: usize,
    pub exits_placed: usize,
}

/// The trading day whose GO is due at `now`: a trading day from `at` (New
/// York) until its close.
pub fn go_day(now: DateTime<Utc>, at: NaiveTime) -> Option<TradingDay> {
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let day = calendar::trading_day(today)?;
    (now >= calendar::new_york_instant(today, at) && now < day.close_at()).then_some(day)
}

/// The trading day whose ANALYZE is due at `now`: the latest trading day
/// whose `at` (New York) has passed, until the next session opens.
pub fn analyze_day(now: DateTime<Utc>, at: NaiveTime) -> Option<TradingDay> {
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let day = match calendar::trading_day(today) {
        Some(d) if now >= calendar::new_york_instant(today, at) => d,
        _ => calendar::previous_trading_day_from(today - Duration::days(1)),
    };
    let next_open = calendar::next_trading_day_from(day.date + Duration::days(1)).open_at();
    (now >= calendar::new_york_instant(day.date, at) && now < next_open).then_some(day)
}

/// One pass at `now`, as `owner` (this instance's name in claims).
pub async fn daily(
    state: &AppState,
    owner: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<DailyReport> {
    let mut report = DailyReport {
        expired: state.store.expire_recommendations(now).await?,
        settled: super::settle::settle(state, now).await?,
        ..Default::default()
    };
    if let Some(day) = go_day(now, state.settings.go_time()) {
        for row in state
            .store
            .due_recommendation_settings(JobKind::Go, day.date, now)
            .await?
        {
            if claim(state, JobKind::Go, row.user_id, day, owner, now).await? {
                report.go_runs += 1;
                let outcome = super::go::go_for(state, &row, day, now).await;
                report.created +=
                    finish(state, JobKind::Go, row.user_id, day, outcome, now).await?;
            }
        }
    }
    if let Some(day) = analyze_day(now, state.settings.analyze_time()) {
        for row in state
            .store
            .due_recommendation_settings(JobKind::Analyze, day.date, now)
            .await?
        {
            if claim(state, JobKind::Analyze, row.user_id, day, owner, now).await? {
                report.analyze_runs += 1;
                let outcome = super::analyze::analyze_for(state, &row, day, now).await;
                report.exits_placed +=
                    finish(state, JobKind::Analyze, row.user_id, day, outcome, now).await?;
            }
        }
    }
    Ok(report)
}

async fn claim(
    state: &AppState,
    kind: JobKind,
    user_id: i64,
    day: TradingDay,
    owner: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    state
        .store
        .claim_daily_job(kind, user_id, day.date, owner, now, now + JOB_LEASE)
        .await
}

/// Records a job's end; a failed job is logged (it is not retried that day:
/// its next run is the next trading day's).
async fn finish(
    state: &AppState,
    kind: JobKind,
    user_id: i64,
    day: TradingDay,
    outcome: anyhow::Result<(usize, String)>,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let (ok, count, detail) = match outcome {
        Ok((n, detail)) => (true, n, detail),
        Err(e) => {
            tracing::error!(user_id, job = kind.as_str(), error.cause_chain = ?e, "a daily job failed");
            (false, 0, "failed; see the server log".to_owned())
        }
    };
    state
        .store
        .finish_daily_job(kind, user_id, day.date, ok, &detail, now)
        .await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("an instant")
            .with_timezone(&Utc)
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("a time")
    }

    fn date(s: &str) -> chrono::NaiveDate {
        s.parse().expect("a date")
    }

    #[test]
    fn go_is_due_from_its_time_until_that_days_close_on_trading_days_only() {
        let go = hm(8, 45);
        // Monday 2026-11-23 (EST, UTC-5).
        assert_eq!(go_day(at("2026-11-23T13:44:00Z"), go), None);
        assert_eq!(
            go_day(at("2026-11-23T13:45:00Z"), go).map(|d| d.date),
            Some(date("2026-11-23"))
        );
        // Caught up after downtime while the session is open, not after it.
        assert!(go_day(at("2026-11-23T20:59:00Z"), go).is_some());
        assert_eq!(go_day(at("2026-11-23T21:00:00Z"), go), None);
        // Thanksgiving, and a Saturday.
        assert_eq!(go_day(at("2026-11-26T15:00:00Z"), go), None);
        assert_eq!(go_day(at("2026-11-28T15:00:00Z"), go), None);
    }

    #[test]
    fn analyze_is_due_from_its_time_until_the_next_open() {
        let analyze = hm(16, 30);
        assert_eq!(analyze_day(at("2026-11-23T21:29:00Z"), analyze), None);
        assert_eq!(
            analyze_day(at("2026-11-23T21:30:00Z"), analyze).map(|d| d.date),
            Some(date("2026-11-23"))
        );
        // Overnight, Monday's is still due; at Tuesday's open it is too late.
        assert_eq!(
            analyze_day(at("2026-11-24T14:29:00Z"), analyze).map(|d| d.date),
            Some(date("2026-11-23"))
        );
        assert_eq!(analyze_day(at("2026-11-24T14:30:00Z"), analyze), None);
        // Wednesday's runs until Friday's open (Thanksgiving between).
        assert_eq!(
            analyze_day(at("2026-11-26T18:00:00Z"), analyze).map(|d| d.date),
            Some(date("2026-11-25"))
        );
        assert_eq!(
            analyze_day(at("2026-11-28T18:00:00Z"), analyze).map(|d| d.date),
            Some(date("2026-11-27"))
        );
    }
}
