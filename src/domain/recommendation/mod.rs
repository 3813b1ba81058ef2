//! Recommendations (issue #16), the pure part: what the daily analysis
//! proposes for one symbol from the strategy layer's own rules (the MA
//! crossover with its filters, ATR sizing, stop and target levels), the
//! states a recommendation moves through, and the safety rails an Execute
//! must pass ([`rails`]). Nothing here trades: a recommendation is only ever
//! executed by its user's explicit approval, on the server, after the rails.

pub mod rails;
pub mod scorecard;

use crate::domain::run::state_enum;
use crate::domain::strategy::crossover::MaCrossover;
use crate::domain::strategy::indicators::atr;
use crate::domain::strategy::risk::{AtrSizing, Exits, Levels};
use crate::domain::strategy::{Action, Bar};
use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

state_enum!(
    /// Where a recommendation stands. A stored name that is not a state is
    /// an error, never a default.
    State, "recommendation state", {
        // Waiting for the user, until it expires.
        Pending => "pending",
        // The user approved it (or, for an exit, their automatic-exit rule
        // did) and its order was placed.
        Executed => "executed",
        // The user declined it.
        Ignored => "ignored",
        // Nobody decided before its expiry.
        Expired => "expired",
    }
);

impl State {
    /// Whether a user may still decide on it.
    pub fn is_open(self) -> bool {
        self == State::Pending
    }
}

state_enum!(
    /// Buy to open, or sell to close a position.
    Side, "order side", {
        Buy => "buy",
        Sell => "sell",
    }
);

state_enum!(
    /// What produced a recommendation: the crossover's entry or exit, or a
    /// position reaching the stop-loss or take-profit level set at entry.
    Signal, "recommendation signal", {
        Entry => "entry",
        Exit => "exit",
        StopLoss => "stop_loss",
        TakeProfit => "take_profit",
    }
);

impl Signal {
    /// How a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            Signal::Entry => "MA crossover entry",
            Signal::Exit => "MA crossover exit",
            Signal::StopLoss => "Stop-loss reached",
            Signal::TakeProfit => "Take-profit reached",
        }
    }
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
    pub signal: Signal,
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
    let (kind, side, quantity, levels) = match signal.action {
        Action::Enter if held.is_zero() => {
            let atr = atr(bars, rules.sizing.atr_window)[t]?;
            let quantity = rules
                .sizing
                .quantity(equity, atr)?
                .round_dp_with_strategy(0, RoundingStrategy::ToZero);
            (
                Signal::Entry,
                Side::Buy,
                quantity,
                rules.exits.levels(price, Some(atr)),
            )
        }
        Action::Exit if held > Decimal::ZERO => (Signal::Exit, Side::Sell, held, Levels::default()),
        _ => return None,
    };
    if quantity < Decimal::ONE && side == Side::Buy {
        return None;
    }
    Some(Candidate {
        symbol: symbol.to_owned(),
        signal: kind,
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

/// Which of the rules' entry filters are on, as stored and shown
/// ("volume+trend", "volume", "trend" or "none"): the scorecard groups by it.
pub fn filters_label(rules: &Rules) -> &'static str {
    match (rules.crossover.volume_window, rules.crossover.trend_window) {
        (Some(_), Some(_)) => "volume+trend",
        (Some(_), None) => "volume",
        (None, Some(_)) => "trend",
        (None, None) => "none",
    }
}

/// Whether a position entered with `levels` has reached one of them at
/// `price`: the stop first (it protects), then the target.
pub fn exit_reached(levels: &Levels, price: Decimal) -> Option<Signal> {
    if levels.stop.is_some_and(|stop| price <= stop) {
        return Some(Signal::StopLoss);
    }
    if levels.target.is_some_and(|target| price >= target) {
        return Some(Signal::TakeProfit);
    }
    None
}

/// The return from `reference` to `later`, in percent to two places; for a
/// sell, the return of having sold (a fall is a gain).
pub fn forward_return(side: Side, reference: Decimal, later: Decimal) -> Option<Decimal> {
    if reference <= Decimal::ZERO {
        return None;
    }
    let r = (later - reference) / reference * Decimal::ONE_HUNDRED;
    Some(
        match side {
            Side::Buy => r,
            Side::Sell => -r,
        }
        .round_dp(2),
    )
}

#[cfg(test)]
mod tests;
