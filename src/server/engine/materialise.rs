//! Materialising due runs: every active plan whose next run has come gets a
//! row per due slot (unique per plan and instant, so any number of passes or
//! instances write it once) and the instant of its next run. What each plan
//! owes is worked out in memory ([`due`], a pure function); the rows are
//! written many per statement, so a minute with ten thousand plans due costs
//! a few dozen statements, not twenty thousand.

use super::{Engine, TickReport, TooLate, plan_schedule, too_late};
use crate::domain::run::RunStatus;
use crate::domain::schedule::Schedule;
use crate::server::db::NewSlot;
use crate::server::db::rows::PlanRow;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::{HashMap, HashSet};

/// What one plan owes at a pass.
#[derive(Debug, PartialEq)]
pub(super) struct Due {
    /// Runs to write: pending, or missed with why.
    pub slots: Vec<NewSlot>,
    /// When the plan runs next (unless it has ended).
    pub next: Option<DateTime<Utc>>,
    /// Past its end date (in the plan's zone): the plan is over; runs
    /// already written still complete.
    pub ended: bool,
}

/// The runs `plan` owes at `now`. `last`: its latest written run (instant
/// and trading date), needed only while its next run is not yet known.
///
/// Runs before the plan was created or (re)activated are not owed, and a
/// plan buys at most once a trading day, even when an edit moved its time to
/// later on a day it has already run. The next run's instant, once worked
/// out, already obeys both rules (an edit clears it); otherwise the latest
/// run decides. A run whose catch-up window or session has passed is written
/// as missed, with the reason its owner reads.
pub(super) fn due(
    plan: &PlanRow,
    schedule: &Schedule,
    last: Option<(DateTime<Utc>, NaiveDate)>,
    now: DateTime<Utc>,
) -> Due {
    let (since, ran_on) = match plan.next_slot_at {
        Some(next) => (next - Duration::microseconds(1), None),
        None => (
            last.map_or(plan.active_since, |(at, _)| at),
            last.map(|(_, day)| day),
        ),
    };
    let since = since.max(plan.active_since);
    let mut upcoming = schedule
        .slots_after(since)
        .filter(move |s| ran_on.is_none_or(|day| s.trading_date > day))
        .peekable();
    let mut slots = Vec::new();
    while let Some(slot) = upcoming.next_if(|s| s.at <= now) {
        let reason = too_late(plan, slot.at, slot.trading_date, now).map(|late| {
            let when = crate::domain::when::local(slot.at, schedule.zone(), now);
            match late {
                TooLate::SessionClosed => format!(
                    "Dripfeed was not running at {when}, and that trading session closed before it could catch up."
                ),
                TooLate::Window(m) => format!(
                    "Dripfeed was not running at {when}, and this plan catches up only within {m} minutes."
                ),
            }
        });
        slots.push(NewSlot {
            plan_id: plan.id,
            at: slot.at,
            trading_date: slot.trading_date,
            status: if reason.is_some() {
                RunStatus::Missed
            } else {
                RunStatus::Pending
            },
            reason,
        });
    }
    let today = now.with_timezone(&schedule.zone()).date_naive();
    let ended = schedule.end().is_some_and(|end| today > end);
    let next = if ended {
        None
    } else {
        upcoming.next().map(|s| s.at)
    };
    Due { slots, next, ended }
}

impl Engine {
    /// Writes the due runs of every active plan whose next run has come
    /// (plans keep the instant of their next run, so a pass reads only
    /// those), tells owners of runs written as missed, and records each
    /// plan's next run unless the plan changed meanwhile (then the next pass
    /// reads it again).
    pub(super) async fn materialise(
        &self,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> anyhow::Result<()> {
        let store = &self.state.store;
        let plans = store.due_plans(now).await?;
        let unknown: Vec<i64> = plans
            .iter()
            .filter(|p| p.next_slot_at.is_none())
            .map(|p| p.id)
            .collect();
        let last = store.last_slots(&unknown).await?;
        let mut slots = Vec::new();
        let mut next = Vec::new();
        let mut ended = Vec::new();
        for plan in &plans {
            let schedule = match plan_schedule(plan) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(plan_id = plan.id, error = %e, "plan has an unusable schedule");
                    continue;
                }
            };
            let owed = due(plan, &schedule, last.get(&plan.id).copied(), now);
            slots.extend(owed.slots);
            if owed.ended {
                ended.push(plan.id);
            } else {
                next.push((plan.id, owed.next, plan.updated_at));
            }
        }
        // In (plan, instant) order, so instances writing the same rows at
        // once wait for each other instead of deadlocking.
        slots.sort_by_key(|s| (s.plan_id, s.at));
        let created: HashSet<(i64, i64)> = store
            .insert_slots(&slots)
            .await?
            .into_iter()
            .map(|(plan, at)| (plan, at.timestamp_micros()))
            .collect();
        let by_id: HashMap<i64, &PlanRow> = plans.iter().map(|p| (p.id, p)).collect();
        for slot in slots
            .iter()
            .filter(|s| created.contains(&(s.plan_id, s.at.timestamp_micros())))
        {
            report.materialised += 1;
            if slot.status != RunStatus::Missed {
                continue;
            }
            report.missed += 1;
            tracing::warn!(plan_id = slot.plan_id, at = %slot.at, "slot missed");
            if let Some(plan) = by_id.get(&slot.plan_id) {
                crate::server::notifications::run_outcome(
                    &self.state,
                    plan,
                    None,
                    slot.at,
                    slot.status.as_str(),
                    slot.reason.as_deref(),
                )
                .await?;
            }
        }
        for id in ended {
            store.end_plan(id).await?;
        }
        store.set_next_slots(&next).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::Mode;
    use crate::domain::schedule::{Cadence, TimeOfDay};
    use chrono::{NaiveTime, TimeZone};

    fn ny(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        chrono_tz::America::New_York
            .with_ymd_and_hms(2026, 11, d, h, mi, 0)
            .single()
            .expect("a New York instant")
            .with_timezone(&Utc)
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).expect("a date")
    }

    /// A plan buying every trading day at 10:00 New York time since 2 November 2026.
    fn daily(next: Option<DateTime<Utc>>, end: Option<NaiveDate>) -> (PlanRow, Schedule) {
        let created = ny(2, 8, 0);
        let plan = PlanRow {
            id: 7,
            user_id: 1,
            connection_id: Some(3),
            name: "Daily".into(),
            status: "active".into(),
            cadence: serde_json::to_string(&Cadence::Daily).expect("JSON"),
            time_of_day: serde_json::to_string(&TimeOfDay::Local(
                NaiveTime::from_hms_opt(10, 0, 0).expect("a time"),
            ))
            .expect("JSON"),
            time_zone: "America/New_York".into(),
            start_date: day(2),
            end_date: end,
            max_total: None,
            mode: serde_json::to_string(&Mode::Pure).expect("JSON"),
            active_since: created,
            created_at: created,
            updated_at: created,
            ended_at: None,
            next_slot_at: next,
            catch_up_minutes: None,
            paused_by_tier: false,
        };
        let schedule = plan_schedule(&plan).expect("a schedule");
        (plan, schedule)
    }

    fn pending(at: DateTime<Utc>, trading_date: NaiveDate) -> NewSlot {
        NewSlot {
            plan_id: 7,
            at,
            trading_date,
            status: RunStatus::Pending,
            reason: None,
        }
    }

    #[test]
    fn a_run_that_has_come_is_owed_once_and_the_next_one_is_learned() {
        let (plan, schedule) = daily(Some(ny(23, 10, 0)), None);
        let owed = due(&plan, &schedule, None, ny(23, 10, 0));
        assert_eq!(
            owed,
            Due {
                slots: vec![pending(ny(23, 10, 0), day(23))],
                next: Some(ny(24, 10, 0)),
                ended: false,
            }
        );
        // Once the next run is recorded, the same minute owes nothing more.
        let (plan, schedule) = daily(owed.next, None);
        let again = due(&plan, &schedule, None, ny(23, 10, 1));
        assert!(again.slots.is_empty());
        assert_eq!(again.next, Some(ny(24, 10, 0)));
    }

    #[test]
    fn a_plan_that_ran_today_is_not_owed_again_when_its_time_moved_later() {
        // Edited (its next run forgotten) after buying at 09:30 today.
        let (plan, schedule) = daily(None, None);
        let owed = due(
            &plan,
            &schedule,
            Some((ny(23, 9, 30), day(23))),
            ny(23, 10, 5),
        );
        assert!(owed.slots.is_empty(), "{:?}", owed.slots);
        assert_eq!(owed.next, Some(ny(24, 10, 0)));
    }

    #[test]
    fn a_run_whose_session_has_closed_is_written_missed_with_why() {
        let (plan, schedule) = daily(Some(ny(23, 10, 0)), None);
        let owed = due(&plan, &schedule, None, ny(24, 10, 0));
        assert_eq!(owed.slots.len(), 2, "{:?}", owed.slots);
        let missed = &owed.slots[0];
        assert_eq!(
            (missed.at, missed.status),
            (ny(23, 10, 0), RunStatus::Missed)
        );
        let why = missed.reason.as_deref().expect("a reason");
        assert!(why.contains("trading session closed"), "{why}");
        assert_eq!(owed.slots[1], pending(ny(24, 10, 0), day(24)));
        assert_eq!(owed.next, Some(ny(25, 10, 0)));
    }

    #[test]
    fn past_its_end_date_a_plan_ends_and_owes_nothing_more() {
        let (plan, schedule) = daily(Some(ny(23, 10, 0)), Some(day(20)));
        let owed = due(&plan, &schedule, None, ny(23, 10, 0));
        assert_eq!(
            owed,
            Due {
                slots: Vec::new(),
                next: None,
                ended: true,
            }
        );
    }
}
