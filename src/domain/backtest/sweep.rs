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

/// What every pair of a sweep reads, by window: each window's rolling sum of
/// closes as exact integers (the closes' mantissas at one scale), so a pair's
/// "is the fast average above the slow one" is `fast_sum × slow_n` against
/// `slow_sum × fast_n`, exact and cheap. Closes that do not fit (more than
/// 12 decimals, or sums past 128 bits) fall back to the decimal averages.
pub struct Prepared<'a> {
    pub bars: &'a [Bar],
    /// Per window, the rolling sums from bar `window - 1` on (earlier bars
    /// have no average).
    sums: Option<HashMap<usize, Vec<i64>>>,
    averages: HashMap<usize, Vec<Option<Decimal>>>,
    closes_f64: Vec<f64>,
}

/// The closes' mantissas at their largest scale, if they all fit.
fn scaled_closes(bars: &[Bar]) -> Option<Vec<i128>> {
    let scale = bars.iter().map(|b| b.close.scale()).max().unwrap_or(0);
    if scale > 12 {
        return None;
    }
    bars.iter()
        .map(|b| {
            b.close
                .mantissa()
                .checked_mul(10_i128.checked_pow(scale - b.close.scale())?)
        })
        .collect()
}

/// The sum of each run of `n` values, ending at index `n - 1`, `n`, … (none
/// when there are fewer than `n` values); `None` if a sum leaves the range
/// where `sum × window` is exact in 64 bits.
fn rolling_sums(values: &[i128], n: usize) -> Option<Vec<i64>> {
    if n == 0 || values.len() < n {
        return Some(Vec::new());
    }
    let limit = i128::from(i64::MAX) / 1024;
    let fit = |s: i128| (s.abs() <= limit).then(|| i64::try_from(s).ok()).flatten();
    let mut sum: i128 = values[..n]
        .iter()
        .try_fold(0_i128, |a, v| a.checked_add(*v))?;
    let mut out = Vec::with_capacity(values.len() - n + 1);
    out.push(fit(sum)?);
    for t in n..values.len() {
        sum = sum.checked_add(values[t])?.checked_sub(values[t - n])?;
        out.push(fit(sum)?);
    }
    Some(out)
}

impl<'a> Prepared<'a> {
    /// Prepares each window once.
    pub fn new(bars: &'a [Bar], windows: impl IntoIterator<Item = usize>) -> Self {
        let windows: Vec<usize> = windows.into_iter().collect();
        // Windows above 1,000 bars are refused by `check`; 1,024 keeps
        // `sum × window` inside 64 bits.
        let sums = scaled_closes(bars)
            .filter(|_| windows.iter().all(|&n| n <= 1024))
            .and_then(|closes| {
                windows
                    .iter()
                    .map(|&n| Some((n, rolling_sums(&closes, n)?)))
                    .collect::<Option<HashMap<_, _>>>()
            });
        let averages = if sums.is_some() {
            HashMap::new()
        } else {
            let closes: Vec<Decimal> = bars.iter().map(|b| b.close).collect();
            windows.iter().map(|&n| (n, sma(&closes, n))).collect()
        };
        let closes_f64 = bars.iter().map(|b| super::metrics::f(b.close)).collect();
        Self {
            bars,
            sums,
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
        let signals = match &self.sums {
            Some(sums) => {
                let (f, s) = (sums.get(&fast)?, sums.get(&slow)?);
                let (fast_n, slow_n) = (i64::try_from(fast).ok()?, i64::try_from(slow).ok()?);
                // Bar t's fast sum is f[t - fast + 1], its slow sum s[t - slow + 1];
                // before bar slow - 1 the slow average is not defined.
                let offset = slow - fast;
                let defined = f
                    .get(offset..)?
                    .iter()
                    .zip(s)
                    .map(|(f, s)| Some((f * slow_n).cmp(&(s * fast_n))));
                let relations = std::iter::repeat_n(None, slow - 1).chain(defined);
                MaCrossover::quiet_signals(self.bars, relations)
            }
            None => {
                let lines = Lines {
                    fast: self.averages.get(&fast)?,
                    slow: self.averages.get(&slow)?,
                    volume: None,
                    trend: None,
                };
                strategy.signals_from(self.bars, lines)
            }
        };
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
