//! Indicators over a series, oldest first. Each returns one value per input
//! position, `None` until its window has filled.
//!
//! Arithmetic is `rust_decimal`: sums and differences are exact; a division
//! keeps 28 significant digits (so an average of prices is exact to far below
//! a cent, and a repeating fraction such as 1/3 is cut there).

use super::Bar;
use rust_decimal::Decimal;

fn count(n: usize) -> Decimal {
    Decimal::from(n as u64)
}

/// The simple moving average over the last `n` values.
pub fn sma(values: &[Decimal], n: usize) -> Vec<Option<Decimal>> {
    let mut out = vec![None; values.len()];
    if n == 0 {
        return out;
    }
    let mut sum = Decimal::ZERO;
    for (i, v) in values.iter().enumerate() {
        sum += v;
        if i >= n {
            sum -= values[i - n];
        }
        if i + 1 >= n {
            out[i] = Some(sum / count(n));
        }
    }
    out
}

/// The simple moving average of the last `n` values only (the smart-DCA gate
/// asks for no more).
pub fn sma_last(values: &[Decimal], n: usize) -> Option<Decimal> {
    if n == 0 || values.len() < n {
        return None;
    }
    Some(values[values.len() - n..].iter().sum::<Decimal>() / count(n))
}

/// The exponential moving average with smoothing 2 / (n + 1), started from
/// the simple average of the first `n` values.
pub fn ema(values: &[Decimal], n: usize) -> Vec<Option<Decimal>> {
    let mut out = vec![None; values.len()];
    if n == 0 || values.len() < n {
        return out;
    }
    let alpha = Decimal::TWO / count(n + 1);
    let mut last = values[..n].iter().sum::<Decimal>() / count(n);
    out[n - 1] = Some(last);
    for i in n..values.len() {
        last += alpha * (values[i] - last);
        out[i] = Some(last);
    }
    out
}

/// The true range of each bar: the largest of high − low, |high − previous
/// close| and |low − previous close| (high − low for the first bar).
pub fn true_range(bars: &[Bar]) -> Vec<Decimal> {
    bars.iter()
        .enumerate()
        .map(|(i, b)| {
            let span = b.high - b.low;
            match i.checked_sub(1).map(|p| bars[p].close) {
                None => span,
                Some(prev) => span.max((b.high - prev).abs()).max((b.low - prev).abs()),
            }
        })
        .collect()
}

/// Wilder's average true range: the mean of the first `n` true ranges, then
/// ATR[t] = (ATR[t−1] × (n − 1) + TR[t]) / n.
pub fn atr(bars: &[Bar], n: usize) -> Vec<Option<Decimal>> {
    wilder(&true_range(bars), n, 0)
}

/// Wilder's smoothing of `values` from position `from`: the mean of the first
/// `n` values at position from + n − 1, then (prev × (n − 1) + v) / n.
fn wilder(values: &[Decimal], n: usize, from: usize) -> Vec<Option<Decimal>> {
    let mut out = vec![None; values.len()];
    if n == 0 || values.len() < from + n {
        return out;
    }
    let mut last = values[from..from + n].iter().sum::<Decimal>() / count(n);
    out[from + n - 1] = Some(last);
    for i in from + n..values.len() {
        last = (last * count(n - 1) + values[i]) / count(n);
        out[i] = Some(last);
    }
    out
}

/// Wilder's relative strength index over `n` close-to-close changes:
/// 100 − 100 / (1 + average gain / average loss), both Wilder-smoothed. With
/// no losses in the window it is 100; with neither gains nor losses, 50.
pub fn rsi(closes: &[Decimal], n: usize) -> Vec<Option<Decimal>> {
    let mut out = vec![None; closes.len()];
    if closes.len() < 2 {
        return out;
    }
    // change[i] is closes[i] − closes[i − 1]; change[0] is unused.
    let mut gains = vec![Decimal::ZERO; closes.len()];
    let mut losses = vec![Decimal::ZERO; closes.len()];
    for i in 1..closes.len() {
        let change = closes[i] - closes[i - 1];
        if change > Decimal::ZERO {
            gains[i] = change;
        } else {
            losses[i] = -change;
        }
    }
    let (gain, loss) = (wilder(&gains, n, 1), wilder(&losses, n, 1));
    for i in 0..closes.len() {
        out[i] = match (gain[i], loss[i]) {
            (Some(g), Some(l)) if l.is_zero() && g.is_zero() => Some(Decimal::from(50)),
            (Some(_), Some(l)) if l.is_zero() => Some(Decimal::ONE_HUNDRED),
            (Some(g), Some(l)) => {
                Some(Decimal::ONE_HUNDRED - Decimal::ONE_HUNDRED / (Decimal::ONE + g / l))
            }
            _ => None,
        };
    }
    out
}

/// The average volume over the last `n` bars.
pub fn average_volume(bars: &[Bar], n: usize) -> Vec<Option<Decimal>> {
    let volumes: Vec<Decimal> = bars.iter().map(|b| b.volume).collect();
    sma(&volumes, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn d(v: &[i64]) -> Vec<Decimal> {
        v.iter().map(|x| Decimal::from(*x)).collect()
    }

    fn bar(i: u32, open: i64, high: i64, low: i64, close: i64) -> Bar {
        Bar {
            date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(u64::from(i)),
            open: Decimal::from(open),
            high: Decimal::from(high),
            low: Decimal::from(low),
            close: Decimal::from(close),
            volume: Decimal::from(1000),
        }
    }

    fn some(v: &[&str]) -> Vec<Option<Decimal>> {
        v.iter()
            .map(|s| (!s.is_empty()).then(|| s.parse().unwrap()))
            .collect()
    }

    #[test]
    fn the_simple_average_covers_only_its_window() {
        assert_eq!(sma(&d(&[1, 2, 3, 4, 5]), 3), some(&["", "", "2", "3", "4"]));
        assert_eq!(sma_last(&d(&[100, 1, 2, 3]), 3), Some(Decimal::from(2)));
        assert_eq!(sma_last(&d(&[1, 2]), 3), None);
        assert_eq!(sma(&d(&[1, 2]), 0), vec![None, None]);
    }

    #[test]
    fn the_exponential_average_starts_from_the_simple_one() {
        // alpha = 2 / 4 = 0.5: 2, then 2 + 0.5 × (6 − 2) = 4, then 4 + 0.5 × (0 − 4) = 2.
        assert_eq!(ema(&d(&[1, 2, 3, 6, 0]), 3), some(&["", "", "2", "4", "2"]));
    }

    #[test]
    fn wilders_atr_matches_a_hand_computation() {
        let bars = [
            bar(0, 10, 12, 9, 11),  // TR 3
            bar(1, 11, 13, 10, 12), // TR max(3, 2, 1) = 3
            bar(2, 12, 12, 6, 7),   // TR max(6, 0, 6) = 6
            bar(3, 7, 9, 8, 8),     // TR max(1, 2, 1) = 2
        ];
        assert_eq!(true_range(&bars), d(&[3, 3, 6, 2]));
        // First ATR(3) = (3 + 3 + 6) / 3 = 4; then (4 × 2 + 2) / 3 = 10/3.
        let got = atr(&bars, 3);
        assert_eq!(got[..3], [None, None, Some(Decimal::from(4))]);
        assert_eq!(
            got[3].unwrap().round_dp(10),
            "3.3333333333".parse().unwrap()
        );
    }

    #[test]
    fn wilders_rsi_matches_a_hand_computation() {
        // Changes: +2, −1, +1, −2. RSI(2) at index 2: gains (2 + 0) / 2 = 1,
        // losses (0 + 1) / 2 = 0.5, RS 2, RSI 100 − 100/3.
        let got = rsi(&d(&[10, 12, 11, 12, 10]), 2);
        assert_eq!(got[..2], [None, None]);
        assert_eq!(got[2].unwrap().round_dp(6), "66.666667".parse().unwrap());
        // Index 3: gain (1 × 1 + 1) / 2 = 1, loss (0.5 × 1 + 0) / 2 = 0.25: RS 4, RSI 80.
        assert_eq!(got[3], Some(Decimal::from(80)));
        // Index 4: gain 0.5, loss (0.25 + 2) / 2 = 1.125: RSI 100 − 100 / (1 + 4/9) = 30.769…
        assert_eq!(got[4].unwrap().round_dp(3), "30.769".parse().unwrap());
        assert_eq!(rsi(&d(&[5, 6, 7, 8]), 2)[3], Some(Decimal::ONE_HUNDRED));
        assert_eq!(rsi(&d(&[5, 5, 5, 5]), 2)[3], Some(Decimal::from(50)));
    }

    /// Prices from a cent to a million dollars, with cents.
    fn price() -> impl Strategy<Value = Decimal> {
        (1i64..100_000_000).prop_map(|c| Decimal::new(c, 2))
    }

    fn bars() -> impl Strategy<Value = Vec<Bar>> {
        proptest::collection::vec(
            (price(), price(), price(), price(), 0i64..10_000_000),
            0..80,
        )
        .prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (a, b, c, e, v))| {
                    let high = a.max(b).max(c).max(e);
                    let low = a.min(b).min(c).min(e);
                    Bar {
                        date: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()
                            + chrono::Days::new(i as u64),
                        open: a.clamp(low, high),
                        high,
                        low,
                        close: e.clamp(low, high),
                        volume: Decimal::from(v),
                    }
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(crate::domain::testing::seeded())]

        #[test]
        fn the_average_of_a_constant_series_is_that_constant(c in price(), len in 1usize..60, n in 1usize..50) {
            let values = vec![c; len];
            for (i, got) in sma(&values, n).into_iter().enumerate() {
                prop_assert_eq!(got, (i + 1 >= n).then_some(c));
            }
            for got in ema(&values, n).into_iter().flatten() {
                prop_assert_eq!(got, c);
            }
        }

        #[test]
        fn rsi_stays_within_0_and_100_and_no_indicator_panics_on_any_series(bars in bars(), n in 0usize..30) {
            let closes: Vec<Decimal> = bars.iter().map(|b| b.close).collect();
            for r in rsi(&closes, n).into_iter().flatten() {
                prop_assert!((Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&r), "{}", r);
            }
            for a in atr(&bars, n).into_iter().flatten() {
                prop_assert!(a >= Decimal::ZERO);
            }
            for v in average_volume(&bars, n).into_iter().flatten() {
                prop_assert!(v >= Decimal::ZERO);
            }
            // An average lies within the values it averages.
            if let (Some(lo), Some(hi)) = (closes.iter().min(), closes.iter().max()) {
                for m in sma(&closes, n).into_iter().chain(ema(&closes, n)).flatten() {
                    prop_assert!(m >= *lo && m <= *hi, "{} outside {}..{}", m, lo, hi);
                }
            }
        }
    }
}
