//! Rolling start dates: the plan comparison run again from every start date in
//! a range (every `step` trading days), all to the same end, so one lucky or
//! unlucky start does not decide the verdict. Reports how often each approach
//! ended ahead and how the plan's lead over the last approach (the benchmark,
//! when there is one) is spread.

use super::plan::{self, Bars, Outcome, PlanError, PlanInput};
use crate::domain::money::cents;
use crate::domain::plan::Mode;
use crate::domain::schedule::Schedule;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rolling {
    pub starts: Vec<NaiveDate>,
    /// Each approach's name and the share of start dates (percent) on which
    /// it ended with the highest value; ties count for each tied approach.
    pub wins: Vec<(String, f64)>,
    /// The plan's final value less the last approach's, per start date (to
    /// the cent, as the winners are judged).
    pub leads: Vec<(NaiveDate, Decimal)>,
    /// min, 25th percentile, median, 75th percentile and max of the leads.
    pub lead_quartiles: Option<[Decimal; 5]>,
}

/// The comparison for one start: the plan (under `mode`), the lump sum, and
/// the benchmark if there is one.
fn approaches(
    input: &PlanInput<'_>,
    bars: &Bars,
    mode: &Mode,
    benchmark: Option<&str>,
) -> Result<Vec<Outcome>, PlanError> {
    let mut out = vec![
        plan::dca(input, bars, mode, 0.0)?,
        plan::lump_sum(input, bars, 0.0)?,
    ];
    if let Some(b) = benchmark {
        out.push(plan::benchmark(input, bars, b, 0.0)?);
    }
    Ok(out)
}

/// The value at position `q` (0 to 1) of sorted `xs`, by nearest rank.
fn quantile(xs: &[Decimal], q: f64) -> Decimal {
    let i = ((xs.len() - 1) as f64 * q).round() as usize;
    xs[i.min(xs.len() - 1)]
}

/// Runs the comparison from each of `starts` (trading days, oldest first) to
/// `input.to`. Starts too late for any run are left out.
pub fn rolling(
    input: &PlanInput<'_>,
    bars: &Bars,
    mode: &Mode,
    benchmark: Option<&str>,
    starts: &[NaiveDate],
) -> Result<Rolling, PlanError> {
    let base = input.schedule;
    let mut names: Vec<String> = Vec::new();
    let mut wins: Vec<usize> = Vec::new();
    let mut leads = Vec::new();
    let mut used = Vec::new();
    for &start in starts {
        let Ok(schedule) = Schedule::new(
            base.cadence().clone(),
            base.time(),
            base.zone().name(),
            start,
            base.end(),
        ) else {
            continue;
        };
        let at = PlanInput::new(input.legs, &schedule, start, input.to, input.fill);
        let outcomes = match approaches(&at, bars, mode, benchmark) {
            Ok(o) => o,
            Err(PlanError::NoRuns(..)) => continue,
            Err(e) => return Err(e),
        };
        if names.is_empty() {
            names = outcomes.iter().map(|o| o.name.clone()).collect();
            wins = vec![0; names.len()];
        }
        // Judged to the cent: a notional buy's 9-decimal quantity is not a lead.
        let finals: Vec<Decimal> = outcomes
            .iter()
            .map(|o| cents(o.metrics.final_value))
            .collect();
        let best = finals.iter().max().copied().unwrap_or_default();
        for (i, f) in finals.iter().enumerate() {
            if *f == best {
                wins[i] += 1;
            }
        }
        leads.push((start, finals[0] - finals[finals.len() - 1]));
        used.push(start);
    }
    let n = used.len().max(1) as f64;
    let mut sorted: Vec<Decimal> = leads.iter().map(|(_, l)| *l).collect();
    sorted.sort();
    let lead_quartiles =
        (!sorted.is_empty()).then(|| [0.0, 0.25, 0.5, 0.75, 1.0].map(|q| quantile(&sorted, q)));
    Ok(Rolling {
        starts: used,
        wins: names
            .into_iter()
            .zip(wins)
            .map(|(name, w)| (name, w as f64 / n * 100.0))
            .collect(),
        leads,
        lead_quartiles,
    })
}

/// Every `step`-th date of `dates` from `from` up to `to`.
pub fn every(dates: &[NaiveDate], from: NaiveDate, to: NaiveDate, step: usize) -> Vec<NaiveDate> {
    dates
        .iter()
        .copied()
        .filter(|d| (from..=to).contains(d))
        .step_by(step.max(1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::backtest::Fill;
    use crate::domain::calendar::trading_days;
    use crate::domain::schedule::{Cadence, TimeOfDay};
    use crate::domain::strategy::Bar;
    use chrono::NaiveTime;
    use std::collections::HashMap;

    fn bars(prices: &[(NaiveDate, i64)]) -> Vec<Bar> {
        prices
            .iter()
            .map(|&(date, p)| Bar {
                date,
                open: Decimal::from(p),
                high: Decimal::from(p),
                low: Decimal::from(p),
                close: Decimal::from(p),
                volume: Decimal::from(1000),
            })
            .collect()
    }

    #[test]
    fn each_start_date_is_judged_and_the_leads_are_spread_into_quartiles() {
        let days: Vec<NaiveDate> = trading_days(
            NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 16).unwrap(),
        )
        .map(|d| d.date)
        .collect();
        // AAA rises 10 a day; BBB stays at 100.
        let aaa: Vec<(NaiveDate, i64)> = days
            .iter()
            .enumerate()
            .map(|(i, d)| (*d, 100 + 10 * i as i64))
            .collect();
        let bbb: Vec<(NaiveDate, i64)> = days.iter().map(|d| (*d, 100)).collect();
        let all: Bars = HashMap::from([
            ("AAA".to_owned(), bars(&aaa)),
            ("BBB".to_owned(), bars(&bbb)),
        ]);
        let legs = vec![("AAA".to_owned(), Decimal::from(100))];
        let schedule = Schedule::new(
            Cadence::Daily,
            TimeOfDay::Local(NaiveTime::from_hms_opt(10, 0, 0).unwrap()),
            "America/New_York",
            days[0],
            None,
        )
        .unwrap();
        let input = PlanInput::new(&legs, &schedule, days[0], days[9], Fill::NextOpen);
        let starts = every(&days, days[0], days[9], 3);
        assert_eq!(starts, [days[0], days[3], days[6], days[9]]);
        let r = rolling(&input, &all, &Mode::Pure, Some("BBB"), &starts).unwrap();
        // On a rising market the lump sum wins every start but the last (one
        // run: all three approaches buy the same once and tie).
        let names: Vec<&str> = r.wins.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Pure DCA",
                "Lump sum on day one",
                "BBB bought on the same days"
            ]
        );
        assert_eq!(r.wins[1].1, 100.0);
        assert_eq!(r.wins[0].1, 25.0);
        // Pure DCA always ends ahead of a flat benchmark, except the last start (level).
        assert!(
            r.leads[..3].iter().all(|(_, l)| *l > Decimal::ZERO),
            "{:?}",
            r.leads
        );
        assert_eq!(r.leads[3].1, Decimal::ZERO);
        let q = r.lead_quartiles.unwrap();
        assert_eq!(q[0], Decimal::ZERO);
        assert!(q[0] <= q[1] && q[1] <= q[2] && q[2] <= q[3] && q[3] <= q[4]);
    }
}
