//! Dollar-cost averaging, one leg of one run: pure DCA always buys its amount;
//! smart DCA buys only at or below the moving average (the gate in
//! [`super::smart_dca`]) and may carry a skipped run's amount to the next run
//! that buys. The live engine's pre-flight and the backtester both decide here.

use super::indicators::sma_last;
use super::{Gate, smart_dca_on};
use crate::domain::plan::Mode;
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegDecision {
    /// Buy this many dollars (the amount plus what was carried).
    Buy { spend: Decimal },
    /// Buy nothing; the leg now carries `carry`.
    Skip { reason: String, carry: Decimal },
}

/// What one leg buying `amount` per run does on a run, having carried
/// `carried` into it (more than the plan's rules allow is never used, whatever
/// is stored). `closes` are completed sessions' closes, oldest first; only
/// smart DCA reads them.
pub fn decide_leg(
    mode: &Mode,
    amount: Decimal,
    carried: Decimal,
    closes: &[Decimal],
) -> LegDecision {
    decide_leg_with(mode, amount, carried, |n| {
        (closes.last().copied(), sma_last(closes, n))
    })
}

/// [`decide_leg`] for a caller that keeps its own average: `history(n)` gives
/// the last completed close and its `n`-day average, and is asked only in
/// smart mode.
pub fn decide_leg_with(
    mode: &Mode,
    amount: Decimal,
    carried: Decimal,
    history: impl FnOnce(usize) -> (Option<Decimal>, Option<Decimal>),
) -> LegDecision {
    let carried = carried.clamp(Decimal::ZERO, mode.carry_ceiling(amount));
    if let Mode::Smart { sma_days, .. } = mode
        && let n = usize::from(*sma_days)
        && let (last, average) = history(n)
        && let Gate::Skip { reason } = smart_dca_on(last, average, n)
    {
        return LegDecision::Skip {
            reason,
            carry: mode.carry_after_skip(amount, carried),
        };
    }
    LegDecision::Buy {
        spend: amount + carried,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: &[i64]) -> Vec<Decimal> {
        v.iter().map(|x| Decimal::from(*x)).collect()
    }

    #[test]
    fn pure_dca_always_buys_its_amount() {
        assert_eq!(
            decide_leg(&Mode::Pure, Decimal::TEN, Decimal::from(99), &[]),
            LegDecision::Buy {
                spend: Decimal::TEN
            }
        );
    }

    #[test]
    fn smart_dca_skips_above_the_average_and_spends_the_carry_when_it_buys() {
        let mode = Mode::smart(5, true).unwrap();
        let above = d(&[10, 10, 10, 10, 20]);
        let LegDecision::Skip { reason, carry } =
            decide_leg(&mode, Decimal::TEN, Decimal::TEN, &above)
        else {
            panic!("above its average");
        };
        assert!(reason.contains("above its 5-day average"), "{reason}");
        assert_eq!(carry, Decimal::from(20));
        let below = d(&[10, 10, 10, 10, 5]);
        assert_eq!(
            decide_leg(&mode, Decimal::TEN, Decimal::from(20), &below),
            LegDecision::Buy {
                spend: Decimal::from(30)
            }
        );
        // Never more than the ceiling (4 runs' worth), whatever is stored.
        assert_eq!(
            decide_leg(&mode, Decimal::TEN, Decimal::from(1000), &below),
            LegDecision::Buy {
                spend: Decimal::from(50)
            }
        );
        let no_carry = Mode::smart(5, false).unwrap();
        assert!(matches!(
            decide_leg(&no_carry, Decimal::TEN, Decimal::ZERO, &above),
            LegDecision::Skip { carry, .. } if carry.is_zero()
        ));
    }
}
