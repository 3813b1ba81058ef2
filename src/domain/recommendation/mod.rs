//! Recommendations (issue #16), the pure part: what the daily analysis
//! proposes for one symbol from the strategy layer's own rules (the MA
//! crossover with its filters, ATR sizing, stop and target levels), the
//! states a recommendation moves through, and the safety rails an Execute
//! must pass ([`rails`]). Nothing here trades: a recommendation is only ever
//! executed by its user's explicit approval, on the server, after the rails.

pub mod rails;

use crate::domain::strategy::crossover::MaCrossover;
use crate::domain::strategy::indicators::atr;
use crate::domain::strategy::risk::{AtrSizing, Exits, Levels};
use crate::domain::strategy::{Action, Bar};
use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Where a recommendation stands. Read from storage with [`State::parse`]:
/// a stored name that is not a state is an error, never a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for the user, until it expires.
    Pending,
    /// The user approved it and its order was placed.
    Executed,
    /// The user declined it.
    Ignored,
    /// Nobody decided before its expiry.
    Expired,
}

impl State {
    pub const ALL: [State; 4] = [
        State::Pending,
        State::Executed,
        State::Ignored,
        State::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Executed => "executed",
            State::Ignored => "ignored",
            State::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a recommendation state"))
    }

    /// Whether a user may still decide on it.
    pub fn is_open(self) -> bool {
        self == State::Pending
    }
}

/// Buy to open, or sell to close a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

/// The rules the daily analysis applies (the user's or the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    pub crossover: MaCrossover,
    pub sizing: AtrSizing,
    pub exits: Exits,
}

impl Default for Rules {
    /// MA 5/20 with the volume (20-day) and trend (200-day) filters, 1 % of
    /// equity risked over a 2 × ATR(14) stop, a target at 3 × ATR.
    fn default() -> Self {
        Self {
            crossover: MaCrossover {
                fast: 5,
                slow: 20,
                volume_window: Some(20),
                trend_window: Some(200),
            },
            sizing: AtrSizing::default(),
            exits: Exits {
                stop_loss: Some(crate::domain::strategy::risk::Level::Atr(Decimal::TWO)),
                take_profit: Some(crate::domain::strategy::risk::Level::Atr(Decimal::from(3))),
            },
        }
    }
}

/// What the analysis proposes for one symbol on one day's close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub symbol: String,
    pub side: Side,
    /// The close the signal came from; Execute measures drift against it.
    pub reference_price: Decimal,
    /// The bar the signal is on.
    pub date: NaiveDate,
    /// Whole shares (ATR sizing against equity, rounded down); for a sell,
    /// the shares held.
    pub quantity: Decimal,
    /// quantity × reference price, to the cent.
    pub notional: Decimal,
    pub levels: Levels,
    /// In plain words, from the strategy layer.
    pub reason: String,
    /// The indicator values behind it.
    pub values: Vec<(String, Decimal)>,
}

/// The candidate for `symbol` on its last bar, if the rules signal there:
/// an entry when not `held` (sized by ATR against `equity`, with stop and
/// target), an exit of the `held` shares on a cross down. `None` when there
/// is no signal on the last bar, the signal does not apply (an entry while
/// holding, an exit while flat), or sizing gives less than one share.
pub fn candidate(
    symbol: &str,
    bars: &[Bar],
    rules: &Rules,
    equity: Decimal,
    held: Decimal,
) -> Option<Candidate> {
    let signal = rules.crossover.last_signal(bars)?;
    let t = bars.len() - 1;
    let bar = &bars[t];
    let price = bar.close;
    let (side, quantity, levels) = match signal.action {
        Action::Enter if held.is_zero() => {
            let atr = atr(bars, rules.sizing.atr_window)[t]?;
            let quantity = rules
                .sizing
                .quantity(equity, atr)?
                .round_dp_with_strategy(0, RoundingStrategy::ToZero);
            (Side::Buy, quantity, rules.exits.levels(price, Some(atr)))
        }
        Action::Exit if held > Decimal::ZERO => (Side::Sell, held, Levels::default()),
        _ => return None,
    };
    if quantity < Decimal::ONE && side == Side::Buy {
        return None;
    }
    Some(Candidate {
        symbol: symbol.to_owned(),
        side,
        reference_price: price,
        date: bar.date,
        quantity,
        notional: crate::domain::money::cents(quantity * price),
        levels,
        reason: signal.reason,
        values: signal.values,
    })
}

#[cfg(test)]
mod tests;
