//! Strategy rules, pure and shared by live runs and backtests. So far: the
//! smart-DCA gate.

use rust_decimal::Decimal;

/// The simple moving average of the last `n` values (oldest first).
pub fn sma(values: &[Decimal], n: usize) -> Option<Decimal> {
    if n == 0 || values.len() < n {
        return None;
    }
    let window = &values[values.len() - n..];
    Some(window.iter().sum::<Decimal>() / Decimal::from(n as u64))
}

/// What smart DCA decides for one symbol on one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Buy; the note says why when the rule could not be applied.
    Buy {
        note: Option<String>,
    },
    Skip {
        reason: String,
    },
}

/// Buy when the last close is at or below its `n`-day simple moving average
/// (both over completed sessions: `closes` must not include a session in
/// progress). With too little history the run buys, and says so.
pub fn smart_dca(closes: &[Decimal], n: usize) -> Gate {
    let (Some(last), Some(average)) = (closes.last(), sma(closes, n)) else {
        return Gate::Buy {
            note: Some(format!(
                "fewer than {n} closes of history, so the average could not be checked"
            )),
        };
    };
    if *last <= average {
        Gate::Buy { note: None }
    } else {
        Gate::Skip {
            reason: format!(
                "last close {} is above its {n}-day average {}",
                last.round_dp(2),
                average.round_dp(2)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: &[i64]) -> Vec<Decimal> {
        v.iter().map(|x| Decimal::from(*x)).collect()
    }

    #[test]
    fn the_average_covers_only_the_last_n_values() {
        assert_eq!(sma(&d(&[100, 1, 2, 3]), 3), Some(Decimal::from(2)));
        assert_eq!(sma(&d(&[1, 2]), 3), None);
        assert_eq!(sma(&d(&[1, 2]), 0), None);
    }

    #[test]
    fn smart_dca_buys_at_or_below_the_average_and_skips_above() {
        assert_eq!(smart_dca(&d(&[10, 10, 10]), 3), Gate::Buy { note: None });
        assert_eq!(smart_dca(&d(&[12, 11, 10]), 3), Gate::Buy { note: None });
        assert!(matches!(smart_dca(&d(&[8, 9, 13]), 3), Gate::Skip { .. }));
        assert!(matches!(
            smart_dca(&d(&[10]), 20),
            Gate::Buy { note: Some(_) }
        ));
    }
}
