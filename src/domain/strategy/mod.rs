//! The strategy layer: indicators and rules, pure and shared by the live
//! engine, the recommendations and the backtester, so that a backtest runs the
//! very code that trades. There is no second copy of any rule anywhere.
//!
//! Semantics: every signal is computed on a bar's close, from that bar and the
//! bars before it (never a later one). What happens next (filling at the next
//! bar's open or at this close) is the caller's: the backtester's `Fill`.

pub mod crossover;
pub mod dca;
pub mod indicators;
pub mod risk;

use chrono::NaiveDate;
use indicators::sma_last;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One day of one symbol: prices in dollars, volume in shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    pub date: NaiveDate,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
}

/// What a rule says on one bar's close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Open a long position.
    Enter,
    /// Close the long position.
    Exit,
}

/// A rule's signal: what to do, why in plain words, and the indicator values
/// behind it (name, value), for people to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// The bar whose close produced it (an index into the bars given).
    pub bar: usize,
    pub date: NaiveDate,
    pub action: Action,
    pub reason: String,
    pub values: Vec<(String, Decimal)>,
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
    smart_dca_on(closes.last().copied(), sma_last(closes, n), n)
}

/// [`smart_dca`] on the last close and its `n`-day average, for a caller that
/// keeps the average itself (the backtester's running sum); either unknown
/// means too little history, and the gate buys.
pub fn smart_dca_on(last: Option<Decimal>, average: Option<Decimal>, n: usize) -> Gate {
    let (Some(last), Some(average)) = (last, average) else {
        return Gate::Buy {
            note: Some(format!(
                "fewer than {n} closes of history, so the average could not be checked"
            )),
        };
    };
    if last <= average {
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
