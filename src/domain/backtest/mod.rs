//! The backtester: runs the strategy layer's signals over past bars with the
//! same rules a live account would meet. Pure: bars in, trades and equity out.
//!
//! Semantics (README, "Backtests"):
//! - signals come from a bar's close; by default their orders fill at the
//!   NEXT bar's open ([`Fill::NextOpen`]; a signal on the last bar does not
//!   fill), or at the same bar's close ([`Fill::Close`]);
//! - long only: an entry while holding and an exit while flat do nothing;
//! - an entry spends all available cash, in whole shares
//!   (floor(cash / cost per share)) or fractional shares (to 9 decimals, as
//!   Alpaca trades them), a share costing price × (1 + slippage) ×
//!   (1 + commission);
//! - slippage (basis points) moves buys up and sells down; commission is a
//!   fraction of each fill's value, paid in cash; both default to 0; what a
//!   fill takes from or adds to cash is booked to the cent (half away from
//!   zero), as a broker books it, so cash is always whole cents;
//! - stop-loss and take-profit levels are checked on every bar after the
//!   entry fill (a next-open entry's own bar included, as it opened there);
//! - a position still open after the last bar is closed at the last close and
//!   counted as a trade.
//!
//! Cash, shares and fills are exact decimals.

pub mod actual;
pub mod chart;
pub mod compare;
pub mod job;
pub mod metrics;
pub mod monte_carlo;
pub mod plan;
pub mod returns;
pub mod rolling;
pub mod sweep;

use crate::domain::money::cents;
use crate::domain::strategy::indicators::atr;
use crate::domain::strategy::risk::{ExitHit, Exits, Levels};
use crate::domain::strategy::{Action, Bar, Signal};
use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Where a signal's order fills.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fill {
    #[default]
    NextOpen,
    Close,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sizing {
    #[default]
    WholeShares,
    Fractional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub cash: Decimal,
    pub fill: Fill,
    pub sizing: Sizing,
    /// A fraction of each fill's value (0.001 is 0.1 %).
    pub commission: Decimal,
    /// Basis points against the trader on each fill.
    pub slippage_bps: Decimal,
    pub exits: Exits,
    /// The ATR window for ATR-based exit levels.
    pub atr_window: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            cash: Decimal::from(10_000),
            fill: Fill::default(),
            sizing: Sizing::default(),
            commission: Decimal::ZERO,
            slippage_bps: Decimal::ZERO,
            exits: Exits::default(),
            atr_window: 14,
        }
    }
}

/// Why a trade closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitReason {
    Signal,
    StopLoss,
    TakeProfit,
    /// Still open after the last bar: closed at the last close.
    EndOfData,
}

/// One round trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    pub entry_date: NaiveDate,
    pub exit_date: NaiveDate,
    /// Fill prices, slippage included.
    pub entry_price: Decimal,
    pub exit_price: Decimal,
    pub quantity: Decimal,
    /// Proceeds less cost, commissions on both fills included.
    pub pnl: Decimal,
    pub exit_reason: ExitReason,
    /// Bars held, counting the entry bar and the exit bar.
    pub bars_held: usize,
}

/// The account's value after a bar's close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquityPoint {
    pub date: NaiveDate,
    pub cash: Decimal,
    pub shares: Decimal,
    pub value: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub trades: Vec<Trade>,
    /// One point per bar (empty when the caller asked only for statistics,
    /// as a sweep does).
    pub equity: Vec<EquityPoint>,
    /// Each bar's date.
    pub dates: Vec<NaiveDate>,
    /// The value after the last bar (the starting cash with no bars).
    pub final_value: Decimal,
    /// Bars that ended holding shares.
    pub bars_in_market: usize,
    /// Each bar's value as f64, for the statistics (the exact value is in
    /// `equity`).
    pub values: Vec<f64>,
}

struct Position {
    entry_bar: usize,
    entry_date: NaiveDate,
    entry_price: Decimal,
    quantity: Decimal,
    /// Cost plus commission.
    paid: Decimal,
    levels: Levels,
}

struct Account<'a> {
    config: &'a Config,
    cash: Decimal,
    position: Option<Position>,
    trades: Vec<Trade>,
}

const BPS: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

impl Account<'_> {
    fn buy(&mut self, bar: usize, date: NaiveDate, raw: Decimal, atr: Option<Decimal>) {
        if self.position.is_some() {
            return;
        }
        let c = self.config;
        let price = raw * (Decimal::ONE + c.slippage_bps / BPS);
        let per_share = price * (Decimal::ONE + c.commission);
        if per_share <= Decimal::ZERO {
            return;
        }
        let size = |cash: Decimal| match c.sizing {
            Sizing::WholeShares => (cash / per_share).floor(),
            Sizing::Fractional => {
                (cash / per_share).round_dp_with_strategy(9, RoundingStrategy::ToZero)
            }
        };
        // What a fill of `q` takes from cash, to the cent as a broker books it.
        let paid_for = |q: Decimal| cents(q * price * (Decimal::ONE + c.commission));
        let mut quantity = size(self.cash);
        if paid_for(quantity) > self.cash {
            // Rounding the cost to the cent took it past the cash: a cent less.
            quantity = size(self.cash - Decimal::new(1, 2));
        }
        if quantity <= Decimal::ZERO {
            return;
        }
        let paid = paid_for(quantity);
        self.cash -= paid;
        self.position = Some(Position {
            entry_bar: bar,
            entry_date: date,
            entry_price: price,
            quantity,
            paid,
            levels: c.exits.levels(price, atr),
        });
    }

    fn sell(&mut self, bar: usize, date: NaiveDate, raw: Decimal, reason: ExitReason) {
        let Some(p) = self.position.take() else {
            return;
        };
        let c = self.config;
        let price = raw * (Decimal::ONE - c.slippage_bps / BPS);
        let received = cents(p.quantity * price * (Decimal::ONE - c.commission));
        self.cash += received;
        self.trades.push(Trade {
            entry_date: p.entry_date,
            exit_date: date,
            entry_price: p.entry_price,
            exit_price: price,
            quantity: p.quantity,
            pnl: received - p.paid,
            exit_reason: reason,
            bars_held: bar - p.entry_bar + 1,
        });
    }

    fn shares(&self) -> Decimal {
        self.position.as_ref().map_or(Decimal::ZERO, |p| p.quantity)
    }
}

/// Runs `signals` (from the strategy layer, over these `bars`) as trades.
pub fn run(bars: &[Bar], signals: &[Signal], config: &Config) -> Run {
    let closes: Vec<f64> = bars.iter().map(|b| metrics::f(b.close)).collect();
    run_with(bars, &closes, signals, config, true)
}

/// [`run`], with the bars' closes as f64 already at hand (a sweep converts
/// them once for all its pairs), keeping the equity points or not.
pub fn run_with(
    bars: &[Bar],
    closes_f64: &[f64],
    signals: &[Signal],
    config: &Config,
    keep_equity: bool,
) -> Run {
    let needs_atr = [config.exits.stop_loss, config.exits.take_profit]
        .iter()
        .flatten()
        .any(|l| matches!(l, crate::domain::strategy::risk::Level::Atr(_)));
    let atr = if needs_atr {
        atr(bars, config.atr_window)
    } else {
        vec![None; bars.len()]
    };
    let mut by_bar: Vec<Option<Action>> = vec![None; bars.len()];
    for s in signals.iter().filter(|s| s.bar < bars.len()) {
        by_bar[s.bar] = Some(s.action);
    }
    let mut account = Account {
        config,
        cash: config.cash,
        position: None,
        trades: Vec::new(),
    };
    let mut equity = Vec::with_capacity(if keep_equity { bars.len() } else { 0 });
    let mut final_value = config.cash;
    let mut values = Vec::with_capacity(bars.len());
    // The f64 cash and shares, converted only when they change: cash and
    // shares move only when a position opens or a trade closes.
    let (mut holding, mut cash_f, mut shares_f) = (false, metrics::f(config.cash), 0.0);
    let mut trades_seen = 0;
    let mut bars_in_market = 0;
    let mut pending: Option<Action> = None;
    for (t, bar) in bars.iter().enumerate() {
        // Yesterday's signal fills at today's open.
        match pending.take() {
            Some(Action::Enter) => account.buy(t, bar.date, bar.open, atr[t.saturating_sub(1)]),
            Some(Action::Exit) => account.sell(t, bar.date, bar.open, ExitReason::Signal),
            None => {}
        }
        // Exits by rule, on the bars the position has been open for.
        let hit = account
            .position
            .as_ref()
            .filter(|p| p.entry_bar < t || config.fill == Fill::NextOpen)
            .and_then(|p| p.levels.hit(bar.open, bar.high, bar.low));
        match hit {
            Some(ExitHit::StopLoss(price)) => {
                account.sell(t, bar.date, price, ExitReason::StopLoss)
            }
            Some(ExitHit::TakeProfit(price)) => {
                account.sell(t, bar.date, price, ExitReason::TakeProfit)
            }
            None => {}
        }
        // Today's signal, at today's close.
        if let Some(action) = by_bar[t] {
            match config.fill {
                Fill::NextOpen => pending = Some(action),
                Fill::Close => match action {
                    Action::Enter => account.buy(t, bar.date, bar.close, atr[t]),
                    Action::Exit => account.sell(t, bar.date, bar.close, ExitReason::Signal),
                },
            }
        }
        if account.position.is_some() {
            bars_in_market += 1;
        }
        if t + 1 == bars.len() {
            account.sell(t, bar.date, bar.close, ExitReason::EndOfData);
        }
        if account.position.is_some() != holding || trades_seen != account.trades.len() {
            holding = account.position.is_some();
            cash_f = metrics::f(account.cash);
            shares_f = metrics::f(account.shares());
            trades_seen = account.trades.len();
        }
        values.push(if shares_f == 0.0 {
            cash_f
        } else {
            cash_f + shares_f * closes_f64.get(t).copied().unwrap_or(f64::NAN)
        });
        // The exact value: every bar for the equity curve, else the last only.
        if !keep_equity && t + 1 < bars.len() {
            continue;
        }
        let shares = account.shares();
        final_value = if shares.is_zero() {
            account.cash
        } else {
            account.cash + shares * bar.close
        };
        if keep_equity {
            equity.push(EquityPoint {
                date: bar.date,
                cash: account.cash,
                shares,
                value: final_value,
            });
        }
    }
    Run {
        trades: account.trades,
        equity,
        dates: bars.iter().map(|b| b.date).collect(),
        final_value,
        bars_in_market,
        values,
    }
}

#[cfg(test)]
mod tests;
