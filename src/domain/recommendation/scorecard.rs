//! The scorecard: how recommendations did after 1, 5 and 20 trading days,
//! by signal and filters, executed against ignored, and what the user's
//! decisions earned against taking every recommendation.

use super::{Signal, State};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One recommendation's outcome as the scorecard reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub signal: Signal,
    pub filters: String,
    pub state: State,
    pub notional: Decimal,
    /// Forward returns in percent after 1, 5 and 20 trading days, when known.
    pub forward: [Option<Decimal>; 3],
    /// The bar the signal came from.
    pub date: chrono::NaiveDate,
}

/// The horizons, in trading days.
pub const HORIZONS: [u32; 3] = [1, 5, 20];

/// One horizon's numbers over a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Horizon {
    /// Recommendations whose return at this horizon is known.
    pub known: u32,
    /// Of those, how many went the recommended way.
    pub hits: u32,
    /// Their average return, in percent.
    pub average: Option<Decimal>,
}

impl Horizon {
    /// Hits as a percentage of those known.
    pub fn hit_rate(&self) -> Option<Decimal> {
        (self.known > 0).then(|| {
            (Decimal::from(self.hits) * Decimal::ONE_HUNDRED / Decimal::from(self.known))
                .round_dp(1)
        })
    }
}

/// A row of the scorecard: one signal, filter combination and decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub signal: Signal,
    pub filters: String,
    /// Executed, ignored or expired; pending ones are not scored yet.
    pub decision: State,
    pub count: u32,
    pub horizons: [Horizon; 3],
}

/// Dollars after 20 trading days: what the executed recommendations made,
/// against what taking every decided or expired one would have made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versus {
    pub yours: Decimal,
    pub all: Decimal,
    /// Recommendations whose 20-day return is known.
    pub known: u32,
}

fn horizon(values: impl Iterator<Item = Decimal>) -> Horizon {
    let (mut known, mut hits, mut sum) = (0u32, 0u32, Decimal::ZERO);
    for v in values {
        known += 1;
        hits += u32::from(v > Decimal::ZERO);
        sum += v;
    }
    Horizon {
        known,
        hits,
        average: (known > 0).then(|| (sum / Decimal::from(known)).round_dp(2)),
    }
}

/// The scorecard's rows, grouped and in a stable order (signal, filters,
/// decision); pending recommendations are left out.
pub fn rows(outcomes: &[Outcome]) -> Vec<Row> {
    let mut groups: BTreeMap<(&str, &str, &str), Vec<&Outcome>> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.state != State::Pending) {
        groups
            .entry((o.signal.as_str(), o.filters.as_str(), o.state.as_str()))
            .or_default()
            .push(o);
    }
    groups
        .into_values()
        .map(|group| {
            let first = group[0];
            let at = |i: usize| horizon(group.iter().filter_map(|o| o.forward[i]));
            Row {
                signal: first.signal,
                filters: first.filters.clone(),
                decision: first.state,
                count: u32::try_from(group.len()).unwrap_or(u32::MAX),
                horizons: [at(0), at(1), at(2)],
            }
        })
        .collect()
}

/// One month of the scorecard: how that month's recommendations did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Month {
    /// "2026-11".
    pub month: String,
    pub count: u32,
    pub executed: u32,
    pub horizons: [Horizon; 3],
}

/// The scorecard over time: one row per month of signals, oldest first;
/// pending recommendations are left out.
pub fn by_month(outcomes: &[Outcome]) -> Vec<Month> {
    let mut groups: BTreeMap<String, Vec<&Outcome>> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.state != State::Pending) {
        groups
            .entry(o.date.format("%Y-%m").to_string())
            .or_default()
            .push(o);
    }
    groups
        .into_iter()
        .map(|(month, group)| {
            let at = |i: usize| horizon(group.iter().filter_map(|o| o.forward[i]));
            Month {
                month,
                count: u32::try_from(group.len()).unwrap_or(u32::MAX),
                executed: u32::try_from(
                    group.iter().filter(|o| o.state == State::Executed).count(),
                )
                .unwrap_or(u32::MAX),
                horizons: [at(0), at(1), at(2)],
            }
        })
        .collect()
}

/// The user's decisions against taking every recommendation, at 20 days.
pub fn versus(outcomes: &[Outcome]) -> Versus {
    let mut v = Versus::default();
    for o in outcomes.iter().filter(|o| o.state != State::Pending) {
        let Some(r) = o.forward[2] else { continue };
        let dollars = (o.notional * r / Decimal::ONE_HUNDRED).round_dp(2);
        v.known += 1;
        v.all += dollars;
        if o.state == State::Executed {
            v.yours += dollars;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("a decimal")
    }

    fn outcome(state: State, notional: &str, fwd20: Option<&str>) -> Outcome {
        Outcome {
            signal: Signal::Entry,
            filters: "volume+trend".into(),
            state,
            notional: d(notional),
            forward: [Some(d("1")), Some(d("-2")), fwd20.map(d)],
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("a date"),
        }
    }

    #[test]
    fn the_scorecard_over_time_has_a_row_per_month_of_signals() {
        let mut october = outcome(State::Ignored, "100", Some("4"));
        october.date = chrono::NaiveDate::from_ymd_opt(2026, 10, 30).expect("a date");
        let list = [
            october,
            outcome(State::Executed, "100", Some("-2")),
            outcome(State::Executed, "100", Some("6")),
            outcome(State::Pending, "100", None),
        ];
        let months = by_month(&list);
        assert_eq!(months.len(), 2);
        assert_eq!(
            (
                months[0].month.as_str(),
                months[0].count,
                months[0].executed
            ),
            ("2026-10", 1, 0)
        );
        assert_eq!(
            (
                months[1].month.as_str(),
                months[1].count,
                months[1].executed
            ),
            ("2026-11", 2, 2)
        );
        assert_eq!(months[1].horizons[2].average, Some(d("2")));
        assert_eq!(months[1].horizons[2].hits, 1);
    }

    #[test]
    fn rows_group_by_signal_filters_and_decision_and_skip_pending() {
        let list = [
            outcome(State::Executed, "1000", Some("5")),
            outcome(State::Executed, "1000", Some("-1")),
            outcome(State::Ignored, "500", Some("10")),
            outcome(State::Pending, "500", None),
        ];
        let rows = rows(&list);
        assert_eq!(rows.len(), 2);
        let executed = &rows[0];
        assert_eq!((executed.decision, executed.count), (State::Executed, 2));
        assert_eq!(executed.horizons[2].hits, 1);
        assert_eq!(executed.horizons[2].hit_rate(), Some(d("50.0")));
        assert_eq!(executed.horizons[2].average, Some(d("2")));
        assert_eq!(executed.horizons[1].hit_rate(), Some(d("0.0")));
        assert_eq!(rows[1].decision, State::Ignored);
    }

    #[test]
    fn your_decisions_are_compared_with_taking_every_one_in_dollars() {
        let list = [
            outcome(State::Executed, "1000", Some("5")),
            outcome(State::Ignored, "500", Some("10")),
            outcome(State::Expired, "200", None),
        ];
        let v = versus(&list);
        assert_eq!((v.yours, v.all, v.known), (d("50"), d("100"), 2));
    }
}
