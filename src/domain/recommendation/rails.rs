//! The safety rails an Execute must pass, checked on the server at the
//! moment the user approves (prices and the account as they are then, not
//! as they were when the recommendation was made). Every refusal names the
//! rail and its numbers. The admin sets the rails within sane bounds; a user
//! may only tighten them.

use crate::domain::money::dollars;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

use super::Side;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rails {
    /// The position after a buy, as a percentage of equity, at most.
    pub max_position_pct: Decimal,
    /// Open positions after a buy, at most.
    pub max_open_positions: u32,
    /// Equity a buy needs, at least.
    pub min_equity: Decimal,
    /// How far the price may have moved from the recommendation's reference,
    /// in percent, either way.
    pub max_drift_pct: Decimal,
}

impl Default for Rails {
    fn default() -> Self {
        Self {
            max_position_pct: Decimal::from(15),
            max_open_positions: 10,
            min_equity: Decimal::from(1_000),
            max_drift_pct: Decimal::TWO,
        }
    }
}

/// A user's own rails: each one set only tightens the instance's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tighter {
    pub max_position_pct: Option<Decimal>,
    pub max_open_positions: Option<u32>,
    pub min_equity: Option<Decimal>,
    pub max_drift_pct: Option<Decimal>,
}

impl Rails {
    /// Whether an admin's rails are within sane bounds.
    pub fn check_bounds(&self) -> Result<(), String> {
        let pct = |v: Decimal| v > Decimal::ZERO && v <= Decimal::ONE_HUNDRED;
        if !pct(self.max_position_pct) {
            return Err("max_position_pct must be more than 0 and at most 100".into());
        }
        if !(1..=100).contains(&self.max_open_positions) {
            return Err("max_open_positions must be 1 to 100".into());
        }
        if self.min_equity.is_sign_negative() {
            return Err("min_equity cannot be negative".into());
        }
        if !(self.max_drift_pct > Decimal::ZERO && self.max_drift_pct <= Decimal::from(20)) {
            return Err("max_drift_pct must be more than 0 and at most 20".into());
        }
        Ok(())
    }

    /// These rails with a user's own applied: never looser than these.
    pub fn tightened(&self, user: &Tighter) -> Rails {
        Rails {
            max_position_pct: user
                .max_position_pct
                .map_or(self.max_position_pct, |v| v.min(self.max_position_pct)),
            max_open_positions: user
                .max_open_positions
                .map_or(self.max_open_positions, |v| v.min(self.max_open_positions)),
            min_equity: user
                .min_equity
                .map_or(self.min_equity, |v| v.max(self.min_equity)),
            max_drift_pct: user
                .max_drift_pct
                .map_or(self.max_drift_pct, |v| v.min(self.max_drift_pct)),
        }
    }
}

/// An order about to be placed, and the account as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proposed {
    pub side: Side,
    /// The recommendation's reference price and the price now.
    pub reference_price: Decimal,
    pub current_price: Decimal,
    /// The order's value at the current price.
    pub notional: Decimal,
    pub equity: Decimal,
    /// What the account already holds of this symbol, at the current price.
    pub position_value: Decimal,
    /// Positions open now (this symbol's included, if held).
    pub open_positions: u32,
}

/// Which rail refused, with its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    Drift {
        reference: Decimal,
        current: Decimal,
        drift_pct: Decimal,
        limit_pct: Decimal,
    },
    EquityTooLow {
        equity: Decimal,
        minimum: Decimal,
    },
    PositionTooLarge {
        after: Decimal,
        equity: Decimal,
        pct: Decimal,
        limit_pct: Decimal,
    },
    TooManyPositions {
        after: u32,
        limit: u32,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Drift {
                reference,
                current,
                drift_pct,
                limit_pct,
            } => write!(
                f,
                "The price moved {drift_pct}% from {} to {}, more than the {limit_pct}% allowed; nothing was ordered.",
                dollars(*reference),
                dollars(*current)
            ),
            Refusal::EquityTooLow { equity, minimum } => write!(
                f,
                "The account's equity is {}, below the {} a buy needs; nothing was ordered.",
                dollars(*equity),
                dollars(*minimum)
            ),
            Refusal::PositionTooLarge {
                after,
                equity,
                pct,
                limit_pct,
            } => write!(
                f,
                "The position would be {} of {} equity ({pct}%), above the {limit_pct}% limit; nothing was ordered.",
                dollars(*after),
                dollars(*equity)
            ),
            Refusal::TooManyPositions { after, limit } => write!(
                f,
                "This would be open position {after}, above the limit of {limit}; nothing was ordered."
            ),
        }
    }
}

fn pct(part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() {
        return Decimal::ZERO;
    }
    (part / whole * Decimal::ONE_HUNDRED).round_dp(2)
}

/// Every rail, in the order a person would want to hear about them: the price
/// first (it changes by the second), then the account. A sell (closing a
/// position) only has to pass the drift rail: reducing risk is never blocked
/// by a risk limit.
pub fn check(rails: &Rails, p: &Proposed) -> Result<(), Refusal> {
    let drift_pct = pct(
        (p.current_price - p.reference_price).abs(),
        p.reference_price,
    );
    if drift_pct > rails.max_drift_pct {
        return Err(Refusal::Drift {
            reference: p.reference_price,
            current: p.current_price,
            drift_pct,
            limit_pct: rails.max_drift_pct,
        });
    }
    if p.side == Side::Sell {
        return Ok(());
    }
    if p.equity < rails.min_equity {
        return Err(Refusal::EquityTooLow {
            equity: p.equity,
            minimum: rails.min_equity,
        });
    }
    let after = p.position_value + p.notional;
    let after_pct = pct(after, p.equity);
    if after_pct > rails.max_position_pct {
        return Err(Refusal::PositionTooLarge {
            after,
            equity: p.equity,
            pct: after_pct,
            limit_pct: rails.max_position_pct,
        });
    }
    let positions = p.open_positions + u32::from(p.position_value.is_zero());
    if positions > rails.max_open_positions {
        return Err(Refusal::TooManyPositions {
            after: positions,
            limit: rails.max_open_positions,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("a decimal")
    }

    fn buy() -> Proposed {
        Proposed {
            side: Side::Buy,
            reference_price: d("100"),
            current_price: d("101"),
            notional: d("1000"),
            equity: d("20000"),
            position_value: Decimal::ZERO,
            open_positions: 3,
        }
    }

    #[test]
    fn a_buy_within_every_rail_passes() {
        assert_eq!(check(&Rails::default(), &buy()), Ok(()));
    }

    #[test]
    fn each_rail_refuses_with_its_numbers() {
        let rails = Rails::default();
        let drift = Proposed {
            current_price: d("102.50"),
            ..buy()
        };
        let e = check(&rails, &drift).expect_err("drifted");
        assert_eq!(
            e.to_string(),
            "The price moved 2.50% from $100.00 to $102.50, more than the 2% allowed; nothing was ordered."
        );
        let poor = Proposed {
            equity: d("999.99"),
            notional: d("10"),
            ..buy()
        };
        assert_eq!(
            check(&rails, &poor),
            Err(Refusal::EquityTooLow {
                equity: d("999.99"),
                minimum: d("1000")
            })
        );
        let large = Proposed {
            position_value: d("2500"),
            ..buy()
        };
        let e = check(&rails, &large).expect_err("too large");
        assert!(
            e.to_string()
                .contains("$3,500.00 of $20,000.00 equity (17.50%)"),
            "{e}"
        );
        let many = Proposed {
            open_positions: 10,
            ..buy()
        };
        assert_eq!(
            check(&rails, &many),
            Err(Refusal::TooManyPositions {
                after: 11,
                limit: 10
            })
        );
        // Adding to a position already held is not a new position.
        let adding = Proposed {
            open_positions: 10,
            position_value: d("500"),
            ..buy()
        };
        assert_eq!(check(&rails, &adding), Ok(()));
    }

    #[test]
    fn closing_a_position_only_has_to_pass_the_drift_rail() {
        let sell = Proposed {
            side: Side::Sell,
            equity: d("10"),
            open_positions: 50,
            position_value: d("1000000"),
            ..buy()
        };
        assert_eq!(check(&Rails::default(), &sell), Ok(()));
        let drifted = Proposed {
            current_price: d("90"),
            ..sell
        };
        assert!(matches!(
            check(&Rails::default(), &drifted),
            Err(Refusal::Drift { .. })
        ));
    }

    #[test]
    fn a_user_can_only_tighten_the_rails() {
        let base = Rails::default();
        let looser = Tighter {
            max_position_pct: Some(d("50")),
            max_open_positions: Some(40),
            min_equity: Some(d("10")),
            max_drift_pct: Some(d("9")),
        };
        assert_eq!(base.tightened(&looser), base);
        let tighter = Tighter {
            max_position_pct: Some(d("5")),
            max_open_positions: Some(3),
            min_equity: Some(d("5000")),
            max_drift_pct: Some(d("0.5")),
        };
        let t = base.tightened(&tighter);
        assert_eq!(
            (
                t.max_position_pct,
                t.max_open_positions,
                t.min_equity,
                t.max_drift_pct
            ),
            (d("5"), 3, d("5000"), d("0.5"))
        );
    }

    #[test]
    fn rails_outside_sane_bounds_are_refused() {
        assert!(Rails::default().check_bounds().is_ok());
        for bad in [
            Rails {
                max_position_pct: d("0"),
                ..Rails::default()
            },
            Rails {
                max_open_positions: 0,
                ..Rails::default()
            },
            Rails {
                min_equity: d("-1"),
                ..Rails::default()
            },
            Rails {
                max_drift_pct: d("25"),
                ..Rails::default()
            },
        ] {
            assert!(bad.check_bounds().is_err(), "{bad:?}");
        }
    }
}
