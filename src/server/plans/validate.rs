//! A plan as entered, checked field by field with no I/O: a pure function of
//! the input and the [`Rules`] it is held to. Every problem is reported against
//! its field, all at once. (The broker's symbols, the connection and the tier's
//! plan and symbol counts are checked afterwards, in `mod.rs`.)

use crate::domain::entitlement::{self, Feature};
use crate::domain::plan::{self, Leg, Mode, Symbol};
use crate::domain::schedule::{Schedule, ScheduleError};
use crate::domain::tier::Tier;
use crate::dto::plans::PlanInput;
use crate::error::{AppError, FieldError};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use std::collections::HashSet;

/// A plan input that passed every check that needs no I/O.
#[derive(Debug)]
pub struct Validated {
    pub name: String,
    pub legs: Vec<Leg>,
    pub schedule: Schedule,
    pub max_total: Option<Decimal>,
    pub mode: Mode,
    pub catch_up_minutes: Option<i64>,
}

/// What a plan is held to besides its own fields.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The most one symbol may buy in one run (this instance's setting).
    pub max_amount_per_run: Decimal,
    /// The user's tier, and the tier table (for the cadences each allows).
    pub tier: &'a Tier,
    pub tiers: &'a [Tier],
    /// The user's own time zone, for a plan that names none.
    pub user_zone: &'a str,
    pub now: DateTime<Utc>,
    /// An edited plan's start date, which may stay in the past.
    pub kept_start: Option<NaiveDate>,
}

/// The longest catch-up window that means anything: a whole session.
const MAX_CATCH_UP_MINUTES: i64 = 390;

fn field(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

fn parse_date(raw: &str, name: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    match raw.trim().parse::<NaiveDate>() {
        Ok(d) => Some(d),
        Err(_) => {
            field(
                errors,
                name,
                format!("{} is not a date (use YYYY-MM-DD).", raw.trim()),
            );
            None
        }
    }
}

/// Checks a plan as entered against `rules`.
pub fn validate(input: &PlanInput, rules: &Rules<'_>) -> Result<Validated, AppError> {
    let Rules {
        max_amount_per_run: cap,
        tier,
        tiers,
        user_zone,
        now,
        kept_start,
    } = *rules;
    let mut errors = Vec::new();
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 60 {
        field(
            &mut errors,
            "name",
            "Give the plan a name of 1 to 60 characters.",
        );
    }

    let legs = validate_legs(input, cap, &mut errors);

    let zone_name = if input.time_zone.trim().is_empty() {
        user_zone.to_owned()
    } else {
        input.time_zone.trim().to_owned()
    };
    let zone: Option<Tz> = zone_name.parse().ok();
    let today = now
        .with_timezone(&zone.unwrap_or(chrono_tz::UTC))
        .date_naive();
    let start = if input.start_date.trim().is_empty() {
        Some(today)
    } else {
        parse_date(&input.start_date, "start_date", &mut errors)
    };
    if start.is_some_and(|s| s < today && Some(s) != kept_start) {
        field(&mut errors, "start_date", "The start date is in the past.");
    }
    let end = input
        .end_date
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| parse_date(s, "end_date", &mut errors));

    let per_run: Decimal = legs.iter().map(|l| l.amount).sum();
    let max_total = match input.max_total.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match raw
            .trim_start_matches('$')
            .replace(',', "")
            .parse::<Decimal>()
        {
            Ok(t) if t >= per_run && t > Decimal::ZERO => Some(t.round_dp(2)),
            Ok(_) => {
                field(
                    &mut errors,
                    "max_total",
                    "The total must be at least one run's amount.",
                );
                None
            }
            Err(_) => {
                field(
                    &mut errors,
                    "max_total",
                    format!("{raw} is not a dollar amount."),
                );
                None
            }
        },
    };

    let mode = match input.mode {
        Mode::Pure => Some(Mode::Pure),
        Mode::Smart {
            sma_days,
            carry_skipped,
        } => match Mode::smart(sma_days, carry_skipped) {
            Ok(m) => Some(m),
            Err(e) => {
                field(&mut errors, "mode", e);
                None
            }
        },
    };

    let kind = input.cadence.kind();
    if let Err(message) = entitlement::check(Feature::Cadence(kind), tier, tiers) {
        field(&mut errors, "schedule", message);
    }
    let schedule = start.and_then(|start| {
        match Schedule::new(input.cadence.clone(), input.time, &zone_name, start, end) {
            Ok(s) => Some(s),
            Err(e) => {
                let name = match e {
                    ScheduleError::UnknownZone(_) => "time_zone",
                    ScheduleError::TimeOutsideSession(_) | ScheduleError::AfterOpenTooLate => {
                        "time"
                    }
                    ScheduleError::EndBeforeStart => "end_date",
                    _ => "schedule",
                };
                field(&mut errors, name, e.to_string());
                None
            }
        }
    });

    let catch_up_minutes = match input.catch_up_minutes.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(m) if (1..=MAX_CATCH_UP_MINUTES).contains(&m) => Some(m),
            _ => {
                field(
                    &mut errors,
                    "catch_up_minutes",
                    format!(
                        "Catch up within 1 to {MAX_CATCH_UP_MINUTES} minutes, or leave it empty to catch up any time the same session."
                    ),
                );
                None
            }
        },
    };

    match (errors.is_empty(), schedule, mode) {
        (true, Some(schedule), Some(mode)) => Ok(Validated {
            name,
            legs,
            schedule,
            max_total,
            mode,
            catch_up_minutes,
        }),
        _ => Err(AppError::Invalid(errors)),
    }
}

/// The symbols and what each buys per run: an amount per symbol, or a total
/// per run split by weight.
fn validate_legs(input: &PlanInput, cap: Decimal, errors: &mut Vec<FieldError>) -> Vec<Leg> {
    if input.legs.is_empty() {
        field(errors, "symbols", "Add at least one symbol.");
    }
    if input.legs.len() > plan::MAX_SYMBOLS_PER_PLAN {
        field(
            errors,
            "symbols",
            format!(
                "A plan can hold at most {} symbols; this one has {}.",
                plan::MAX_SYMBOLS_PER_PLAN,
                input.legs.len()
            ),
        );
        return Vec::new();
    }
    let mut symbols = Vec::new();
    let mut seen = HashSet::new();
    for leg in &input.legs {
        match Symbol::parse(&leg.symbol) {
            Ok(symbol) if !seen.insert(symbol.clone()) => {
                field(errors, "symbols", format!("{symbol} is listed twice."));
            }
            Ok(symbol) => symbols.push((symbol, leg)),
            Err(e) => field(errors, "symbols", e),
        }
    }
    let total = input
        .per_run_total
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(raw_total) = total else {
        let mut legs = Vec::new();
        for (symbol, leg) in symbols {
            match plan::parse_amount(&leg.amount, cap) {
                Ok(amount) => legs.push(Leg { symbol, amount }),
                Err(e) => field(errors, "amounts", format!("{symbol}: {e}")),
            }
        }
        return legs;
    };
    // A total split by weight: the total is checked like an amount with a
    // cap of one symbol's cap per symbol, then each share on its own.
    let count = Decimal::from(symbols.len().max(1));
    let total = match plan::parse_amount(raw_total, cap * count) {
        Ok(t) => Some(t),
        Err(e) => {
            field(errors, "amounts", format!("Total per run: {e}"));
            None
        }
    };
    let mut weights = Vec::new();
    for (symbol, leg) in &symbols {
        match plan::parse_weight(leg.weight.as_deref().unwrap_or_default()) {
            Ok(w) => weights.push(w),
            Err(e) => field(errors, "amounts", format!("{symbol}: {e}")),
        }
    }
    let Some(total) = total.filter(|_| weights.len() == symbols.len()) else {
        return Vec::new();
    };
    let mut legs = Vec::new();
    for ((symbol, _), amount) in symbols.into_iter().zip(plan::split_total(total, &weights)) {
        if amount < Decimal::ONE {
            field(
                errors,
                "amounts",
                format!(
                    "{symbol}: its share is ${amount:.2}, below Alpaca's $1.00 minimum order; raise the total or its weight."
                ),
            );
        } else if amount > cap {
            field(
                errors,
                "amounts",
                format!(
                    "{symbol}: its share is ${amount:.2}, above the ${cap} per symbol per run this instance allows."
                ),
            );
        } else {
            legs.push(Leg { symbol, amount });
        }
    }
    legs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::{Cadence, TimeOfDay};
    use crate::domain::tier::TierId;
    use crate::dto::plans::LegInput;
    use chrono::{NaiveTime, TimeZone, Weekday};

    /// A fixed instant: Tuesday 1 December 2026, 15:00 UTC (10:00 in New York).
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0)
            .single()
            .expect("a valid instant")
    }

    fn leg(symbol: &str, amount: &str) -> LegInput {
        LegInput {
            symbol: symbol.into(),
            amount: amount.into(),
            weight: None,
        }
    }

    fn weighted(symbol: &str, weight: &str) -> LegInput {
        LegInput {
            symbol: symbol.into(),
            amount: String::new(),
            weight: Some(weight.into()),
        }
    }

    fn input() -> PlanInput {
        PlanInput {
            name: "Core".into(),
            connection_id: 1,
            legs: vec![leg("VTI", "25"), leg("QQQ", "10")],
            cadence: Cadence::Weekly {
                weekday: Weekday::Mon,
            },
            time: TimeOfDay::Local(NaiveTime::from_hms_opt(10, 0, 0).expect("a time")),
            time_zone: "America/New_York".into(),
            start_date: String::new(),
            end_date: None,
            max_total: None,
            mode: Mode::Pure,
            per_run_total: None,
            catch_up_minutes: None,
        }
    }

    /// Checks `input` as a Premium user in Chicago on an instance allowing
    /// $1,000 per symbol per run.
    fn check(
        input: &PlanInput,
        tier: TierId,
        kept_start: Option<NaiveDate>,
    ) -> Result<Validated, AppError> {
        let tiers = Tier::defaults();
        let tier = tiers
            .iter()
            .find(|t| t.id == tier)
            .expect("a built-in tier");
        validate(
            input,
            &Rules {
                max_amount_per_run: Decimal::from(1000),
                tier,
                tiers: &tiers,
                user_zone: "America/Chicago",
                now: now(),
                kept_start,
            },
        )
    }

    /// The (field, message) pairs of a refusal.
    fn problems(result: Result<Validated, AppError>) -> Vec<(String, String)> {
        match result {
            Err(AppError::Invalid(errors)) => {
                errors.into_iter().map(|e| (e.field, e.message)).collect()
            }
            Err(other) => panic!("refused for another reason: {other:?}"),
            Ok(v) => panic!("accepted: {v:?}"),
        }
    }

    #[test]
    fn a_plan_within_every_rule_is_accepted_as_entered() {
        let v = check(&input(), TierId::Premium, None).expect("valid");
        assert_eq!(v.name, "Core");
        let legs: Vec<(String, Decimal)> = v
            .legs
            .iter()
            .map(|l| (l.symbol.to_string(), l.amount))
            .collect();
        assert_eq!(
            legs,
            vec![
                ("VTI".to_owned(), Decimal::from(25)),
                ("QQQ".to_owned(), Decimal::from(10))
            ]
        );
        assert_eq!(v.schedule.zone(), chrono_tz::America::New_York);
        assert_eq!(
            v.schedule.start(),
            NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date")
        );
        assert_eq!((v.max_total, v.catch_up_minutes), (None, None));
    }

    #[test]
    fn every_rule_reports_its_own_field_and_says_what_is_wrong() {
        type Edit = fn(&mut PlanInput);
        let cases: Vec<(&str, Edit, &str, &str)> = vec![
            (
                "empty name",
                |i| i.name = "  ".into(),
                "name",
                "Give the plan a name of 1 to 60 characters.",
            ),
            (
                "long name",
                |i| i.name = "x".repeat(61),
                "name",
                "Give the plan a name of 1 to 60 characters.",
            ),
            (
                "no symbols",
                |i| i.legs.clear(),
                "symbols",
                "Add at least one symbol.",
            ),
            (
                "too many symbols",
                |i| i.legs = (0..51).map(|n| leg(&format!("S{n}"), "5")).collect(),
                "symbols",
                "A plan can hold at most 50 symbols; this one has 51.",
            ),
            (
                "duplicate symbol",
                |i| i.legs.push(leg("vti", "5")),
                "symbols",
                "VTI is listed twice.",
            ),
            (
                "amount above the cap",
                |i| i.legs[0].amount = "1000.01".into(),
                "amounts",
                "VTI: ",
            ),
            (
                "amount not a number",
                |i| i.legs[1].amount = "ten".into(),
                "amounts",
                "QQQ: ",
            ),
            (
                "start not a date",
                |i| i.start_date = "1/12/2026".into(),
                "start_date",
                "1/12/2026 is not a date (use YYYY-MM-DD).",
            ),
            (
                "start in the past",
                |i| i.start_date = "2026-11-30".into(),
                "start_date",
                "The start date is in the past.",
            ),
            (
                "end not a date",
                |i| i.end_date = Some("soon".into()),
                "end_date",
                "soon is not a date (use YYYY-MM-DD).",
            ),
            (
                "end before start",
                |i| {
                    i.start_date = "2026-12-10".into();
                    i.end_date = Some("2026-12-09".into());
                },
                "end_date",
                "",
            ),
            (
                "total below one run",
                |i| i.max_total = Some("34.99".into()),
                "max_total",
                "The total must be at least one run's amount.",
            ),
            (
                "total not a number",
                |i| i.max_total = Some("lots".into()),
                "max_total",
                "lots is not a dollar amount.",
            ),
            (
                "smart DCA average too short",
                |i| {
                    i.mode = Mode::Smart {
                        sma_days: 4,
                        carry_skipped: false,
                    }
                },
                "mode",
                "The moving average can cover 5 to 200 days.",
            ),
            (
                "unknown time zone",
                |i| i.time_zone = "Mars/Olympus".into(),
                "time_zone",
                "",
            ),
            (
                "time outside the session",
                |i| i.time = TimeOfDay::Local(NaiveTime::from_hms_opt(18, 0, 0).expect("a time")),
                "time",
                "",
            ),
            (
                "too long after the open",
                |i| i.time = TimeOfDay::AfterOpen(376),
                "time",
                "",
            ),
            (
                "catch-up window too long",
                |i| i.catch_up_minutes = Some("391".into()),
                "catch_up_minutes",
                "Catch up within 1 to 390 minutes, or leave it empty to catch up any time the same session.",
            ),
            (
                "catch-up window not a number",
                |i| i.catch_up_minutes = Some("an hour".into()),
                "catch_up_minutes",
                "Catch up within 1 to 390 minutes",
            ),
            (
                "weighted total not a number",
                |i| {
                    i.per_run_total = Some("fifty".into());
                    i.legs = vec![weighted("VTI", "60"), weighted("QQQ", "40")];
                },
                "amounts",
                "Total per run: ",
            ),
            (
                "weight not a number",
                |i| {
                    i.per_run_total = Some("50".into());
                    i.legs = vec![weighted("VTI", "most"), weighted("QQQ", "40")];
                },
                "amounts",
                "VTI: ",
            ),
            (
                "weighted share below $1",
                |i| {
                    i.per_run_total = Some("10".into());
                    i.legs = vec![weighted("VTI", "95"), weighted("QQQ", "5")];
                },
                "amounts",
                "QQQ: its share is $0.50, below Alpaca's $1.00 minimum order; raise the total or its weight.",
            ),
            (
                "weighted share above the cap",
                |i| {
                    i.per_run_total = Some("1500".into());
                    i.legs = vec![weighted("VTI", "90"), weighted("QQQ", "10")];
                },
                "amounts",
                "VTI: its share is $1350.00, above the $1000 per symbol per run this instance allows.",
            ),
        ];
        for (name, edit, field, message) in cases {
            let mut i = input();
            edit(&mut i);
            let found = problems(check(&i, TierId::Premium, None));
            assert!(
                found
                    .iter()
                    .any(|(f, m)| f == field && m.starts_with(message)),
                "{name}: wanted {field}: {message:?}, got {found:?}"
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut i = input();
        i.name = String::new();
        i.legs[0].amount = "0".into();
        i.start_date = "yesterday".into();
        i.catch_up_minutes = Some("0".into());
        let fields: Vec<String> = problems(check(&i, TierId::Premium, None))
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        for want in ["name", "amounts", "start_date", "catch_up_minutes"] {
            assert!(
                fields.iter().any(|f| f == want),
                "{want} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn a_cadence_outside_the_tier_is_refused_and_the_tier_is_named() {
        let mut i = input();
        i.cadence = Cadence::Daily;
        let found = problems(check(&i, TierId::Free, None));
        assert!(
            found
                .iter()
                .any(|(f, m)| f == "schedule" && m.contains("Free")),
            "{found:?}"
        );
        assert!(check(&i, TierId::Pro, None).is_ok());
    }

    #[test]
    fn a_plan_without_a_zone_runs_in_the_users_zone() {
        let mut i = input();
        i.time_zone = "  ".into();
        let v = check(&i, TierId::Premium, None).expect("valid");
        assert_eq!(v.schedule.zone(), chrono_tz::America::Chicago);
    }

    #[test]
    fn an_edited_plan_keeps_its_past_start_date_but_no_other_past_date() {
        let mut i = input();
        i.start_date = "2026-11-02".into();
        let kept = NaiveDate::from_ymd_opt(2026, 11, 2);
        let v = check(&i, TierId::Premium, kept).expect("its own start date stays");
        assert_eq!(Some(v.schedule.start()), kept);
        i.start_date = "2026-11-03".into();
        let found = problems(check(&i, TierId::Premium, kept));
        assert!(found.iter().any(|(f, _)| f == "start_date"), "{found:?}");
    }

    #[test]
    fn amounts_and_totals_are_read_as_people_type_them() {
        let mut i = input();
        i.legs = vec![leg("VTI", "$1,000")];
        i.max_total = Some("$5,000.004".into());
        i.catch_up_minutes = Some(" 30 ".into());
        let v = check(&i, TierId::Premium, None).expect("valid");
        assert_eq!(v.legs[0].amount, Decimal::from(1000));
        assert_eq!(v.max_total, Some(Decimal::from(5000)));
        assert_eq!(v.catch_up_minutes, Some(30));
    }

    #[test]
    fn a_total_split_by_weight_gives_whole_cents_that_add_up() {
        let mut i = input();
        i.per_run_total = Some("100".into());
        i.legs = vec![
            weighted("VTI", "1"),
            weighted("QQQ", "1"),
            weighted("VXUS", "1"),
        ];
        let v = check(&i, TierId::Premium, None).expect("valid");
        let amounts: Vec<Decimal> = v.legs.iter().map(|l| l.amount).collect();
        assert_eq!(amounts.iter().copied().sum::<Decimal>(), Decimal::from(100));
        assert!(amounts.iter().all(|a| a.scale() <= 2), "{amounts:?}");
    }
}
