//! What the Backtest page draws, on one date axis: each approach's value, the
//! money paid in, and each approach's drawdown on its time-weighted index (so
//! a contribution cannot hide a loss, as in the metrics).

use super::metrics::f;
use super::plan::Outcome;
use super::returns::{Day, time_weighted};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Chart {
    pub dates: Vec<NaiveDate>,
    /// Paid in so far by the plan (the first approach).
    pub contributed: Vec<Option<f64>>,
    /// Per approach, its value at each date's close (`None` before it starts).
    pub values: Vec<Vec<Option<f64>>>,
    /// Per approach, percent below its time-weighted peak (0 or less).
    pub drawdowns: Vec<Vec<Option<f64>>>,
}

/// The indexes of `dates` (sorted) that end a month: the rows of the table
/// behind a chart.
pub fn month_ends(dates: &[NaiveDate]) -> Vec<usize> {
    (0..dates.len())
        .filter(|&i| {
            dates
                .get(i + 1)
                .is_none_or(|n| n.month() != dates[i].month())
        })
        .collect()
}

/// The percent below the running peak at each point of `index`.
pub fn underwater(index: &[(NaiveDate, f64)]) -> Vec<(NaiveDate, f64)> {
    let mut peak = f64::MIN;
    index
        .iter()
        .map(|&(d, v)| {
            peak = peak.max(v);
            let dd = if peak > 0.0 {
                (v / peak - 1.0) * 100.0
            } else {
                0.0
            };
            (d, dd)
        })
        .collect()
}

/// Each approach's time-weighted index, from its days.
fn index_of(o: &Outcome) -> Vec<(NaiveDate, f64)> {
    let mut paid = Decimal::ZERO;
    let days: Vec<Day> = o
        .days
        .iter()
        .map(|d| {
            let contribution = d.contributed - paid;
            paid = d.contributed;
            Day {
                date: d.date,
                value: f(d.value),
                contribution: f(contribution),
            }
        })
        .collect();
    time_weighted(&days).1
}

/// Carries `series` (dated, sorted) onto `dates`: the last known value, or
/// `None` before the first.
fn on_axis(dates: &[NaiveDate], series: &[(NaiveDate, f64)]) -> Vec<Option<f64>> {
    let mut it = series.iter().peekable();
    let mut last = None;
    dates
        .iter()
        .map(|d| {
            while let Some(&&(date, v)) = it.peek() {
                if date > *d {
                    break;
                }
                last = Some(v);
                it.next();
            }
            last
        })
        .collect()
}

/// The chart of `approaches`, with at most `max_points` dates (every k-th
/// date and always the last, so a 20-year daily run stays light to send and
/// draw; the metrics are computed on every day regardless).
pub fn chart(approaches: &[Outcome], max_points: usize) -> Chart {
    let all: BTreeSet<NaiveDate> = approaches
        .iter()
        .flat_map(|o| o.days.iter().map(|d| d.date))
        .collect();
    let all: Vec<NaiveDate> = all.into_iter().collect();
    let step = all.len().div_ceil(max_points.max(1)).max(1);
    let dates: Vec<NaiveDate> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i + 1 == all.len())
        .map(|(_, d)| *d)
        .collect();
    let dated =
        |o: &Outcome, pick: fn(&super::plan::DayValue) -> Decimal| -> Vec<(NaiveDate, f64)> {
            o.days.iter().map(|d| (d.date, f(pick(d)))).collect()
        };
    Chart {
        contributed: approaches
            .first()
            .map(|o| on_axis(&dates, &dated(o, |d| d.contributed)))
            .unwrap_or_default(),
        values: approaches
            .iter()
            .map(|o| on_axis(&dates, &dated(o, |d| d.value)))
            .collect(),
        drawdowns: approaches
            .iter()
            .map(|o| on_axis(&dates, &underwater(&index_of(o))))
            .collect(),
        dates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, day).expect("a date")
    }

    #[test]
    fn underwater_is_the_fall_from_the_running_peak() {
        let points = [(d(2), 1.0), (d(3), 1.2), (d(4), 0.9), (d(5), 1.3)];
        let got: Vec<f64> = underwater(&points).into_iter().map(|p| p.1).collect();
        assert_eq!(got[0], 0.0);
        assert_eq!(got[1], 0.0);
        assert!((got[2] - -25.0).abs() < 1e-9, "{got:?}");
        assert_eq!(got[3], 0.0);
    }

    #[test]
    fn month_ends_are_each_months_last_date_and_the_last_date() {
        let dates = [
            d(2),
            d(31),
            NaiveDate::from_ymd_opt(2024, 2, 1).expect("a date"),
        ];
        assert_eq!(month_ends(&dates), [1, 2]);
    }

    #[test]
    fn a_series_is_carried_onto_the_axis_and_is_empty_before_it_starts() {
        let axis = [d(2), d(3), d(4), d(5)];
        let got = on_axis(&axis, &[(d(3), 10.0), (d(5), 12.0)]);
        assert_eq!(got, [None, Some(10.0), Some(10.0), Some(12.0)]);
    }
}
