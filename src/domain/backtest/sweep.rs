//! A crossover parameter sweep: every (fast, slow) pair over the same bars,
//! each simple average computed once and shared by the pairs that use it. The
//! caller decides how to spread the pairs over cores (the server uses rayon).

use super::metrics::{Metrics, of_run};
use super::{Config, run_with};
use crate::domain::strategy::Bar;
use crate::domain::strategy::crossover::{Lines, MaCrossover};
use crate::domain::strategy::indicators::sma;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// The averages every pair of a sweep reads, by window.
pub struct Prepared<'a> {
    pub bars: &'a [Bar],
    averages: HashMap<usize, Vec<Option<Decimal>>>,
    closes_f64: Vec<f64>,
}

impl<'a> Prepared<'a> {
    /// Computes each window's average once.
    pub fn new(bars: &'a [Bar], windows: impl IntoIterator<Item = usize>) -> Self {
        let closes: Vec<Decimal> = bars.iter().map(|b| b.close).collect();
        let averages = windows.into_iter().map(|n| (n, sma(&closes, n))).collect();
        let closes_f64 = bars.iter().map(|b| super::metrics::f(b.close)).collect();
        Self {
            bars,
            averages,
            closes_f64,
        }
    }

    /// One pair's run and metrics (`None` for a pair whose windows were not
    /// prepared or cannot work).
    pub fn evaluate(
        &self,
        fast: usize,
        slow: usize,
        config: &Config,
        risk_free_pct: f64,
    ) -> Option<Metrics> {
        let strategy = MaCrossover {
            fast,
            slow,
            ..MaCrossover::default()
        };
        strategy.check().ok()?;
        let lines = Lines {
            fast: self.averages.get(&fast)?,
            slow: self.averages.get(&slow)?,
            volume: None,
            trend: None,
        };
        let signals = strategy.signals_from(self.bars, lines);
        let result = run_with(self.bars, &self.closes_f64, &signals, config, false);
        Some(of_run(&result, config.cash, risk_free_pct))
    }
}

/// The pairs of a sweep: every fast in `fast` with every slow in `slow`
/// where fast < slow.
pub fn pairs(fast: &[usize], slow: &[usize]) -> Vec<(usize, usize)> {
    fast.iter()
        .flat_map(|f| slow.iter().map(move |s| (*f, *s)))
        .filter(|(f, s)| f < s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::backtest::metrics::of_run;
    use crate::domain::backtest::run;

    #[test]
    fn a_swept_pair_gives_exactly_what_a_single_run_gives() {
        let bars: Vec<Bar> = (0..300u32)
            .map(|i| {
                // A wave with a drift: crosses both ways many times.
                let p = Decimal::from(100 + (i % 37) as i64 - (i % 23) as i64 + (i / 10) as i64);
                Bar {
                    date: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()
                        + chrono::Days::new(u64::from(i)),
                    open: p,
                    high: p + Decimal::ONE,
                    low: p - Decimal::ONE,
                    close: p,
                    volume: Decimal::from(1000),
                }
            })
            .collect();
        let config = Config::default();
        let all = pairs(&[3, 5, 8], &[5, 13, 21]);
        assert_eq!(all.len(), 7, "{all:?}");
        let prepared = Prepared::new(&bars, [3, 5, 8, 13, 21]);
        for (f, s) in all {
            let single = MaCrossover {
                fast: f,
                slow: s,
                ..MaCrossover::default()
            };
            let alone = of_run(
                &run(&bars, &single.signals(&bars), &config),
                config.cash,
                0.0,
            );
            assert_eq!(
                prepared.evaluate(f, s, &config, 0.0),
                Some(alone),
                "{f}/{s}"
            );
        }
        assert_eq!(prepared.evaluate(5, 99, &config, 0.0), None);
    }
}
