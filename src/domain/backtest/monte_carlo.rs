//! Robustness: a block-bootstrap Monte Carlo of a plan with its contributions.
//!
//! Each path rebuilds the plan's symbols' history from blocks of consecutive
//! days drawn at random (with replacement) from the real history: the same
//! blocks for every symbol, so their moves stay correlated, and whole blocks,
//! so streaks and volatility clusters survive. A synthetic day takes the real
//! day's open and close relative to the previous close; prices are kept to 4
//! decimals. The plan then runs on each path exactly as on the real bars (same
//! schedule, same rules, same contributions), and the spread of final values
//! says how much of the real result was the luck of one history.
//!
//! Paths are seeded: path i uses ChaCha8 with the given seed on stream i, so a
//! result is the same whatever order (or thread) the paths run in.

use super::plan::{self, Bars, PlanError, PlanInput};
use crate::domain::plan::Mode;
use crate::domain::strategy::Bar;
use chrono::NaiveDate;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// The real history, aligned: the dates every plan symbol traded, and each
/// symbol's (open / previous close, close / previous close) per date after
/// the first.
pub struct History {
    dates: Vec<NaiveDate>,
    first: HashMap<String, Decimal>,
    moves: HashMap<String, Vec<(Decimal, Decimal)>>,
}

impl History {
    /// The history of `symbols` between `from` and `to` (dates where any of
    /// them lacks a bar are left out).
    pub fn new(
        bars: &Bars,
        symbols: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Self, PlanError> {
        let mut common: Option<BTreeSet<NaiveDate>> = None;
        for s in symbols {
            let b = bars.get(s).ok_or_else(|| PlanError::NoBars(s.clone()))?;
            let dates: BTreeSet<NaiveDate> = b
                .iter()
                .map(|b| b.date)
                .filter(|d| (from..=to).contains(d))
                .collect();
            common = Some(match common {
                None => dates,
                Some(c) => c.intersection(&dates).copied().collect(),
            });
        }
        let dates: Vec<NaiveDate> = common.unwrap_or_default().into_iter().collect();
        if dates.len() < 2 {
            return Err(PlanError::NoRuns(from, to));
        }
        let mut first = HashMap::new();
        let mut moves = HashMap::new();
        for s in symbols {
            let by_date: HashMap<NaiveDate, &Bar> = bars[s].iter().map(|b| (b.date, b)).collect();
            let row: Vec<&Bar> = dates.iter().map(|d| by_date[d]).collect();
            first.insert(s.clone(), row[0].close);
            moves.insert(
                s.clone(),
                row.windows(2)
                    .map(|w| (w[1].open / w[0].close, w[1].close / w[0].close))
                    .collect(),
            );
        }
        Ok(Self {
            dates,
            first,
            moves,
        })
    }

    fn days(&self) -> usize {
        self.dates.len() - 1
    }

    /// The day indices of one path: blocks of `block` consecutive days from
    /// random starts, until the history's length is filled.
    fn draw(&self, rng: &mut ChaCha8Rng, block: usize) -> Vec<usize> {
        let n = self.days();
        let block = block.clamp(1, n);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let start = (rng.next_u64() % (n - block + 1) as u64) as usize;
            out.extend((start..start + block).take(n - out.len()));
        }
        out
    }

    /// One synthetic history on the real dates.
    pub fn path(&self, seed: u64, index: u64, block: usize) -> Bars {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        let picks = self.draw(&mut rng, block);
        self.moves
            .iter()
            .map(|(symbol, moves)| {
                let mut close = self.first[symbol];
                let mut bars = Vec::with_capacity(self.dates.len());
                bars.push(Bar {
                    date: self.dates[0],
                    open: close,
                    high: close,
                    low: close,
                    close,
                    volume: Decimal::ZERO,
                });
                for (day, &pick) in picks.iter().enumerate() {
                    let (o, c) = moves[pick];
                    let open = (close * o).round_dp(4);
                    close = (close * c).round_dp(4);
                    bars.push(Bar {
                        date: self.dates[day + 1],
                        open,
                        high: open.max(close),
                        low: open.min(close),
                        close,
                        volume: Decimal::ZERO,
                    });
                }
                (symbol.clone(), bars)
            })
            .collect()
    }
}

/// What the paths did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonteCarlo {
    pub paths: usize,
    pub block_days: usize,
    pub seed: u64,
    pub contributed: Decimal,
    /// 5th, 25th, 50th, 75th and 95th percentiles of the final value.
    pub final_value: [Decimal; 5],
    /// Paths that ended below what was paid in, in percent.
    pub below_contributed_pct: f64,
}

/// The final value and contributions of the plan on path `index`.
pub fn run_path(
    input: &PlanInput<'_>,
    history: &History,
    mode: &Mode,
    seed: u64,
    index: u64,
    block: usize,
) -> Result<(Decimal, Decimal), PlanError> {
    let bars = history.path(seed, index, block);
    let o = plan::dca(input, &bars, mode, 0.0)?;
    Ok((o.metrics.final_value, o.metrics.contributed))
}

/// Summarises the paths' (final value, contributed) pairs.
pub fn summarize(
    results: &[(Decimal, Decimal)],
    block_days: usize,
    seed: u64,
) -> Option<MonteCarlo> {
    let contributed = results.first()?.1;
    let mut finals: Vec<Decimal> = results.iter().map(|(f, _)| *f).collect();
    finals.sort();
    let at = |q: f64| finals[(((finals.len() - 1) as f64) * q).round() as usize];
    let below = results.iter().filter(|(f, c)| f < c).count();
    Some(MonteCarlo {
        paths: results.len(),
        block_days,
        seed,
        contributed,
        final_value: [0.05, 0.25, 0.5, 0.75, 0.95].map(at),
        below_contributed_pct: below as f64 / results.len() as f64 * 100.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::backtest::Fill;
    use crate::domain::calendar::trading_days;
    use crate::domain::schedule::{Cadence, Schedule, TimeOfDay};
    use chrono::NaiveTime;

    fn setup() -> (Bars, Vec<NaiveDate>) {
        let days: Vec<NaiveDate> = trading_days(
            NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
        )
        .map(|d| d.date)
        .collect();
        let bars: Vec<Bar> = days
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let p = Decimal::from(100 + (i as i64 % 7) * 3 - (i as i64 % 5) * 2);
                Bar {
                    date: *d,
                    open: p,
                    high: p,
                    low: p,
                    close: p,
                    volume: Decimal::from(1000),
                }
            })
            .collect();
        (HashMap::from([("AAA".to_owned(), bars)]), days)
    }

    #[test]
    fn a_path_is_the_same_for_the_same_seed_and_stream_and_keeps_the_real_dates() {
        let (bars, days) = setup();
        let symbols = vec!["AAA".to_owned()];
        let h = History::new(&bars, &symbols, days[0], days[days.len() - 1]).unwrap();
        let a = h.path(7, 3, 5);
        assert_eq!(a, h.path(7, 3, 5));
        assert_ne!(a, h.path(7, 4, 5));
        let dates: Vec<NaiveDate> = a["AAA"].iter().map(|b| b.date).collect();
        assert_eq!(dates, days);
        // Every synthetic day is one of the real days' moves.
        let real: Vec<Decimal> = bars["AAA"]
            .windows(2)
            .map(|w| w[1].close / w[0].close)
            .collect();
        for w in a["AAA"].windows(2) {
            let ratio = w[1].close / w[0].close;
            assert!(
                real.iter().any(|r| (*r - ratio).abs() < Decimal::new(1, 3)),
                "{ratio}"
            );
        }
    }

    #[test]
    fn the_summary_orders_the_finals_and_counts_the_losing_paths() {
        let (bars, days) = setup();
        let symbols = vec!["AAA".to_owned()];
        let h = History::new(&bars, &symbols, days[0], days[days.len() - 1]).unwrap();
        let legs = vec![("AAA".to_owned(), Decimal::from(100))];
        let schedule = Schedule::new(
            Cadence::Weekly {
                weekday: chrono::Weekday::Mon,
            },
            TimeOfDay::Local(NaiveTime::from_hms_opt(10, 0, 0).unwrap()),
            "America/New_York",
            days[0],
            None,
        )
        .unwrap();
        let input = PlanInput::new(
            &legs,
            &schedule,
            days[0],
            days[days.len() - 1],
            Fill::NextOpen,
        );
        let results: Vec<(Decimal, Decimal)> = (0..50)
            .map(|i| run_path(&input, &h, &Mode::Pure, 11, i, 5).unwrap())
            .collect();
        let mc = summarize(&results, 5, 11).unwrap();
        assert_eq!(mc.paths, 50);
        assert_eq!(mc.contributed, results[0].1);
        assert!(
            mc.final_value.windows(2).all(|w| w[0] <= w[1]),
            "{:?}",
            mc.final_value
        );
        let below = results.iter().filter(|(f, c)| f < c).count() as f64 * 2.0;
        assert_eq!(mc.below_contributed_pct, below);
        assert_eq!(summarize(&[], 5, 11), None);
    }
}
