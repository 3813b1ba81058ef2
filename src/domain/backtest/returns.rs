//! Returns of an account that receives contributions, where a plain "gain /
//! start" misleads.
//!
//! - Time-weighted return (TWR) chains each day's return with the day's
//!   contribution taken out: r_t = V_t / (V_{t−1} + F_t) − 1 (contributions
//!   arrive at the start of a day, as a plan's buys fill at the open), TWR =
//!   Π(1 + r_t) − 1. It measures the investments, not the timing of the cash.
//! - Money-weighted return (XIRR) is the yearly rate r at which the
//!   contributions, as outflows on their dates, and the final value, as an
//!   inflow on the last date, have a net present value of zero: Σ CF_i /
//!   (1 + r)^(days_i / 365) = 0. It measures what the saver's own dollars
//!   earned, timing included.

use chrono::NaiveDate;

/// One day of an account: its value at the close, and what was paid in that
/// day (before the value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    pub value: f64,
    pub contribution: f64,
}

/// A dated series.
pub type Dated = Vec<(NaiveDate, f64)>;

/// The daily time-weighted returns (a day with nothing invested yet is left
/// out) and the index they chain to (starting at 1).
pub fn time_weighted(days: &[Day]) -> (Dated, Dated) {
    let mut returns = Vec::with_capacity(days.len());
    let mut index = Vec::with_capacity(days.len());
    let mut level = 1.0;
    let mut previous = 0.0;
    for d in days {
        let base = previous + d.contribution;
        if base > 0.0 {
            let r = d.value / base - 1.0;
            level *= 1.0 + r;
            returns.push((d.date, r));
            index.push((d.date, level));
        }
        previous = d.value;
    }
    (returns, index)
}

/// Total time-weighted return, in percent.
pub fn twr_pct(days: &[Day]) -> Option<f64> {
    let (_, index) = time_weighted(days);
    index.last().map(|(_, level)| (level - 1.0) * 100.0)
}

fn npv(flows: &[(f64, f64)], rate: f64) -> f64 {
    npv_and_slope(flows, rate).0
}

/// The net present value of `flows` (years, amount) at `rate` and its
/// derivative in the rate, in one pass: (1 + rate)^−t is exp(−t · ln(1 + rate))
/// with the logarithm taken once, not once per flow as `powf` would.
fn npv_and_slope(flows: &[(f64, f64)], rate: f64) -> (f64, f64) {
    let log = rate.ln_1p();
    let (mut value, mut slope) = (0.0, 0.0);
    for (years, cf) in flows {
        let discounted = cf * (-years * log).exp();
        value += discounted;
        slope -= years * discounted;
    }
    (value, slope / (1.0 + rate))
}

/// The money-weighted yearly return, in percent, of `flows` (date, amount:
/// negative for money paid in, positive for money out or the final value).
/// Newton's method from 10 %, falling back to bisection over (−100 %,
/// +10,000 %] when Newton strays; `None` when no rate balances the flows
/// (all of one sign) or none is found to 1e-9.
pub fn xirr_pct(flows: &[(NaiveDate, f64)]) -> Option<f64> {
    let first = flows.iter().map(|(d, _)| *d).min()?;
    let has_in = flows.iter().any(|(_, a)| *a < 0.0);
    let has_out = flows.iter().any(|(_, a)| *a > 0.0);
    if !(has_in && has_out) {
        return None;
    }
    let years: Vec<(f64, f64)> = flows
        .iter()
        .map(|(d, a)| ((*d - first).num_days() as f64 / 365.0, *a))
        .collect();
    let tolerance = 1e-9;
    let scale: f64 = years.iter().map(|(_, a)| a.abs()).sum::<f64>().max(1.0);
    let mut rate = 0.1;
    for _ in 0..100 {
        let (value, slope) = npv_and_slope(&years, rate);
        if (value / scale).abs() < tolerance {
            return Some(rate * 100.0);
        }
        if slope == 0.0 || !slope.is_finite() {
            break;
        }
        let next = rate - value / slope;
        if !next.is_finite() || next <= -1.0 {
            break;
        }
        rate = next;
    }
    // Bisection over a bracket with a sign change.
    let (mut lo, mut hi) = (-1.0 + 1e-12, 100.0);
    let (mut f_lo, f_hi) = (npv(&years, lo), npv(&years, hi));
    if !(f_lo.is_finite() && f_hi.is_finite()) || f_lo.signum() == f_hi.signum() {
        return None;
    }
    for _ in 0..300 {
        let mid = (lo + hi) / 2.0;
        let f_mid = npv(&years, mid);
        if (f_mid / scale).abs() < tolerance || (hi - lo) < 1e-12 {
            return Some(mid * 100.0);
        }
        if f_mid.signum() == f_lo.signum() {
            (lo, f_lo) = (mid, f_mid);
        } else {
            hi = mid;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn xirr_matches_the_spreadsheet_example() {
        // The example of the spreadsheet XIRR function's documentation:
        // −10,000 on 1 Jan 2008, then 2,750, 4,250, 3,250 and 2,750: 37.3362535 %.
        let flows = [
            (date("2008-01-01"), -10_000.0),
            (date("2008-03-01"), 2_750.0),
            (date("2008-10-30"), 4_250.0),
            (date("2009-02-15"), 3_250.0),
            (date("2009-04-01"), 2_750.0),
        ];
        let got = xirr_pct(&flows).unwrap();
        assert!((got - 37.336_253_5).abs() < 1e-5, "{got}");
    }

    #[test]
    fn xirr_of_a_year_at_ten_percent_is_ten_percent_and_undefined_flows_say_so() {
        let flows = [(date("2025-01-01"), -100.0), (date("2026-01-01"), 110.0)];
        assert!((xirr_pct(&flows).unwrap() - 10.0).abs() < 1e-6);
        // A total loss: −100 % is the limit, never reached; bisection brackets it.
        let lost = [
            (date("2025-01-01"), -100.0),
            (date("2026-01-01"), 0.000_001),
        ];
        assert!(xirr_pct(&lost).unwrap() < -99.0);
        assert_eq!(xirr_pct(&[(date("2025-01-01"), -100.0)]), None);
        assert_eq!(xirr_pct(&[]), None);
    }

    #[test]
    fn twr_takes_contributions_out_of_each_days_return() {
        // Day 1: 100 paid in, worth 110 (+10 %). Day 2: 100 more in, worth 231:
        // 231 / (110 + 100) − 1 = +10 %. Day 3: nothing in, worth 207.9: −10 %.
        let days = [
            Day {
                date: date("2026-01-05"),
                value: 110.0,
                contribution: 100.0,
            },
            Day {
                date: date("2026-01-06"),
                value: 231.0,
                contribution: 100.0,
            },
            Day {
                date: date("2026-01-07"),
                value: 207.9,
                contribution: 0.0,
            },
        ];
        let twr = twr_pct(&days).unwrap();
        // 1.1 × 1.1 × 0.9 − 1 = 8.9 %, while the dollar gain (207.9 − 200) is 3.95 %.
        assert!((twr - 8.9).abs() < 1e-9, "{twr}");
        // Nothing invested yet: no return that day.
        let idle = [Day {
            date: date("2026-01-02"),
            value: 0.0,
            contribution: 0.0,
        }];
        assert_eq!(twr_pct(&idle), None);
    }
}
