//! A real plan's books, kept with the backtester's own ledger and metrics, so
//! "how my plan did" and "how it would have done" are the same arithmetic:
//!
//! - the plan's purchases (what Dripfeed's orders really filled: dollars,
//!   shares, price, trading day) are its contributions, each spent the day it
//!   was paid in;
//! - splits restate every earlier purchase in today's shares (quantity ×
//!   ratio, price ÷ ratio, dollars unchanged), which is what split-adjusted
//!   bars price: a 4-for-1 split is neither a 75 % loss nor a change in the
//!   cost basis;
//! - a dividend pays cash per share held before its date (in that date's
//!   shares) and stays in the plan's value as cash: a return, not a
//!   contribution;
//! - the value is the shares at each trading day's close, and today at the
//!   last trade;
//! - the shadow benchmark puts the same dollars on the same days into one
//!   symbol at that day's open (today's at the last trade), or keeps them as
//!   cash at 0 %.
//!
//! TWR, XIRR, drawdown and the rest come from `plan`'s metrics unchanged.

use super::Fill;
use super::plan::{Bars, Buy, Ledger, Outcome, PlanError, timeline};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap};

/// Something that happened to a holding besides a purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Cash paid per share of `symbol` held before `date`.
    Dividend {
        date: NaiveDate,
        symbol: String,
        per_share: Decimal,
    },
    /// From `date`, each share of `symbol` held before it is `ratio` shares
    /// (2 for a 2-for-1 split, 0.1 for a 1-for-10 reverse split).
    Split {
        date: NaiveDate,
        symbol: String,
        ratio: Decimal,
    },
}

/// The product of the ratios of `symbol`'s splits dated after `date`.
fn later_splits(events: &[Event], symbol: &str, date: NaiveDate) -> Decimal {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Split {
                date: d,
                symbol: s,
                ratio,
            } if s == symbol && *d > date => Some(*ratio),
            _ => None,
        })
        .product()
}

/// `buys` restated in today's shares: each earlier split multiplies the
/// quantity and divides the price; the dollars paid never change.
pub fn split_adjusted(buys: &[Buy], events: &[Event]) -> Vec<Buy> {
    buys.iter()
        .map(|b| {
            let ratio = later_splits(events, &b.symbol, b.date);
            if ratio == Decimal::ONE || ratio.is_zero() {
                return b.clone();
            }
            Buy {
                quantity: (b.quantity * ratio).normalize(),
                price: (b.price / ratio).round_dp(6).normalize(),
                ..b.clone()
            }
        })
        .collect()
}

/// The cash each dividend paid on `buys` (already split-adjusted): its
/// amount per share times the shares bought before its date, counted in
/// that date's shares; to the cent.
pub fn dividends(buys: &[Buy], events: &[Event]) -> Vec<(NaiveDate, String, Decimal)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Dividend {
                date,
                symbol,
                per_share,
            } => {
                let held_today: Decimal = buys
                    .iter()
                    .filter(|b| b.symbol == *symbol && b.date < *date)
                    .map(|b| b.quantity)
                    .sum();
                let ratio = later_splits(events, symbol, *date);
                if held_today.is_zero() || ratio.is_zero() {
                    return None;
                }
                let cash = (held_today / ratio * per_share).round_dp(2);
                Some((*date, symbol.clone(), cash))
            }
            Event::Split { .. } => None,
        })
        .filter(|(_, _, cash)| !cash.is_zero())
        .collect()
}

/// What a real plan holds of one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub symbol: String,
    /// In today's shares.
    pub shares: Decimal,
    /// Dollars paid for them.
    pub cost: Decimal,
    /// Cost per share (today's shares); `None` with no shares.
    pub average_cost: Option<Decimal>,
    pub price: Option<Decimal>,
    pub value: Option<Decimal>,
}

/// Per symbol, in the order first bought: shares, cost, average cost and
/// the value at `prices`.
pub fn holdings(buys: &[Buy], prices: &HashMap<String, Decimal>) -> Vec<Holding> {
    let mut out: Vec<Holding> = Vec::new();
    for b in buys {
        let i = match out.iter().position(|h| h.symbol == b.symbol) {
            Some(i) => i,
            None => {
                out.push(Holding {
                    symbol: b.symbol.clone(),
                    shares: Decimal::ZERO,
                    cost: Decimal::ZERO,
                    average_cost: None,
                    price: prices.get(&b.symbol).copied(),
                    value: None,
                });
                out.len() - 1
            }
        };
        out[i].shares += b.quantity;
        out[i].cost += b.dollars;
    }
    for h in &mut out {
        h.average_cost = (!h.shares.is_zero()).then(|| (h.cost / h.shares).round_dp(4));
        h.value = h.price.map(|p| (p * h.shares).round_dp(2));
    }
    out
}

/// The days a real plan is valued on: every trading day with a bar for any
/// of its symbols from its first purchase through `through`, each purchase
/// day, and `today` when given.
fn axis(
    bars: &Bars,
    symbols: &[&str],
    buys: &[Buy],
    through: NaiveDate,
    today: Option<NaiveDate>,
) -> Vec<NaiveDate> {
    let first = buys.iter().map(|b| b.date).min().unwrap_or(through);
    let mut days: BTreeSet<NaiveDate> = timeline(bars, symbols, first, through)
        .into_iter()
        .collect();
    days.extend(buys.iter().map(|b| b.date));
    days.extend(today);
    days.into_iter().collect()
}

/// What a real plan's story is made of.
#[derive(Debug, Clone, Copy)]
pub struct Books<'a> {
    /// Its purchases, split-adjusted ([`split_adjusted`]).
    pub buys: &'a [Buy],
    /// The dividends they earned ([`dividends`]).
    pub dividends: &'a [(NaiveDate, String, Decimal)],
    pub bars: &'a Bars,
    /// The last day to value at its close.
    pub through: NaiveDate,
    /// Today and its last trades, when the story runs to now.
    pub today: Option<(NaiveDate, &'a HashMap<String, Decimal>)>,
}

/// The plan's own story: valued at each day's close through `through`, and
/// today at its last trades.
pub fn actual(name: &str, books: &Books<'_>, risk_free_pct: f64) -> Result<Outcome, PlanError> {
    let Books {
        buys,
        dividends,
        bars,
        through,
        today,
    } = *books;
    let (today, live) = match today {
        Some((d, live)) => (Some(d), Some(live)),
        None => (None, None),
    };
    let mut symbols: Vec<&str> = Vec::new();
    for b in buys {
        if !symbols.contains(&b.symbol.as_str()) {
            symbols.push(&b.symbol);
        }
    }
    if symbols.is_empty() {
        return Err(PlanError::NothingBought);
    }
    // The ledger borrows symbols for as long as the bars.
    let mut keyed: Vec<&str> = Vec::with_capacity(symbols.len());
    for s in &symbols {
        match bars.get_key_value(*s) {
            Some((k, b)) if !b.is_empty() => keyed.push(k),
            _ => return Err(PlanError::NoBars((*s).to_owned())),
        }
    }
    let days = axis(bars, &keyed, buys, through, today);
    let mut ledger = Ledger::new(bars, &keyed, Fill::NextOpen);
    let mut sorted: Vec<&Buy> = buys.iter().collect();
    sorted.sort_by_key(|b| b.date);
    let mut due = sorted.into_iter().peekable();
    let mut paid: Vec<&(NaiveDate, String, Decimal)> = dividends.iter().collect();
    paid.sort_by_key(|d| d.0);
    let mut paid = paid.into_iter().peekable();
    let none = HashMap::new();
    for date in days {
        while let Some(b) = due.next_if(|b| b.date <= date) {
            ledger.record(b);
        }
        while let Some((_, _, cash)) = paid.next_if(|d| d.0 <= date) {
            ledger.income(*cash);
        }
        let prices = match live {
            Some(live) if Some(date) == today => live,
            _ => &none,
        };
        ledger.close_day_at(date, prices);
    }
    Ok(ledger.finish(name.to_owned(), risk_free_pct))
}

/// The shadow of a plan: its dated contributions put into `benchmark` on the
/// same days (at that day's open; on `today` at `live`, the benchmark's last
/// trade), or kept as cash at 0 % (`None`), valued on the plan's own days.
pub fn shadow(
    flows: &[(NaiveDate, Decimal)],
    days: &[NaiveDate],
    bars: &Bars,
    benchmark: Option<&str>,
    today: Option<(NaiveDate, Decimal)>,
    risk_free_pct: f64,
) -> Result<Outcome, PlanError> {
    let (today, live) = match today {
        Some((d, p)) => (Some(d), Some(p)),
        None => (None, None),
    };
    let symbol = match benchmark {
        Some(s) => match bars.get_key_value(s) {
            Some((k, b)) if !b.is_empty() => Some(k.as_str()),
            _ => return Err(PlanError::NoBars(s.to_owned())),
        },
        None => None,
    };
    let mut ledger = Ledger::new(bars, symbol.as_slice(), Fill::NextOpen);
    let mut due = flows.iter().peekable();
    let none = HashMap::new();
    let live_prices: HashMap<String, Decimal> = match (symbol, live) {
        (Some(s), Some(p)) => HashMap::from([(s.to_owned(), p)]),
        _ => HashMap::new(),
    };
    for &date in days {
        while let Some((day, dollars)) = due.next_if(|(d, _)| *d <= date) {
            ledger.contribute(*day, *dollars);
            let Some(s) = symbol else { continue };
            match (ledger.has_bar(s, *day), live) {
                (true, _) => ledger.buy(*day, s, *dollars),
                (false, Some(price)) if Some(*day) == today => {
                    ledger.buy_priced(*day, s, *dollars, price)
                }
                // Recorded as skipped, with its reason.
                (false, _) => ledger.buy(*day, s, *dollars),
            }
        }
        let prices = if Some(date) == today {
            &live_prices
        } else {
            &none
        };
        ledger.close_day_at(date, prices);
    }
    let name = match symbol {
        Some(s) => format!("{s} bought on the same days"),
        None => "Cash at 0 %".to_owned(),
    };
    Ok(ledger.finish(name, risk_free_pct))
}

/// The dated contributions of `outcome` (what was paid in, per day).
pub fn flows(outcome: &Outcome) -> Vec<(NaiveDate, Decimal)> {
    let mut paid = Decimal::ZERO;
    outcome
        .days
        .iter()
        .filter_map(|d| {
            let f = d.contributed - paid;
            paid = d.contributed;
            (!f.is_zero()).then_some((d.date, f))
        })
        .collect()
}

#[cfg(test)]
#[path = "actual_tests.rs"]
mod tests;
