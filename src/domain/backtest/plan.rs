//! A savings plan over past bars, and what else the same money could have
//! done: pure DCA, smart DCA, the same total as a lump sum on day one, and a
//! benchmark bought with the same dated contributions.
//!
//! Semantics (README, "Plan backtests"):
//! - the contributions fall on the plan's own schedule (the live schedule
//!   code, on the exchange calendar: a run due on a holiday is made on the
//!   next trading day), each the sum of the legs' amounts;
//! - a run's buys fill at that trading day's open ([`Fill::NextOpen`], the
//!   order placed during the session) or its close ([`Fill::Close`]), as
//!   notional orders: the dollars are spent, the quantity is dollars / price
//!   to 9 decimals (rounded down);
//! - smart DCA decides each leg with the engine's own function
//!   ([`decide_leg`]) on the closes of the sessions before the run; skipped
//!   money stays in cash (idle cash) and, if the plan carries, is spent later;
//! - values are cash plus shares at each day's close (a symbol without a bar
//!   that day keeps its last close).

use super::Fill;
use super::metrics::{Risk, drawdown, f, risk};
use super::returns::{self, Day};
use crate::domain::calendar::new_york_instant;
use crate::domain::plan::Mode;
use crate::domain::schedule::Schedule;
use crate::domain::strategy::Bar;
use crate::domain::strategy::dca::{LegDecision, decide_leg_with};
use chrono::{NaiveDate, NaiveTime};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Each symbol's daily bars, oldest first.
pub type Bars = HashMap<String, Vec<Bar>>;

/// The plan to test.
#[derive(Debug)]
pub struct PlanInput<'a> {
    /// Symbol and dollars per run.
    pub legs: &'a [(String, Decimal)],
    pub schedule: &'a Schedule,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub fill: Fill,
    /// The runs, worked out from the schedule once and shared by every
    /// approach (and every Monte Carlo path) run on this input; private, so
    /// an input built from another (`..other`) cannot inherit its runs.
    runs: OnceLock<Runs>,
}

/// Runs worked out for one range of one schedule.
#[derive(Debug)]
struct Runs {
    from: NaiveDate,
    to: NaiveDate,
    runs: Vec<(NaiveDate, Decimal)>,
}

/// A copy starts without the cached runs (its range may be changed).
impl Clone for PlanInput<'_> {
    fn clone(&self) -> Self {
        Self::new(self.legs, self.schedule, self.from, self.to, self.fill)
    }
}

impl<'a> PlanInput<'a> {
    pub fn new(
        legs: &'a [(String, Decimal)],
        schedule: &'a Schedule,
        from: NaiveDate,
        to: NaiveDate,
        fill: Fill,
    ) -> Self {
        Self {
            legs,
            schedule,
            from,
            to,
            fill,
            runs: OnceLock::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buy {
    pub date: NaiveDate,
    pub symbol: String,
    pub dollars: Decimal,
    pub quantity: Decimal,
    pub price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub date: NaiveDate,
    pub symbol: String,
    pub dollars: Decimal,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayValue {
    pub date: NaiveDate,
    /// Paid in so far.
    pub contributed: Decimal,
    pub cash: Decimal,
    pub value: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanMetrics {
    pub contributed: Decimal,
    pub final_value: Decimal,
    /// Final value less everything paid in.
    pub gain: Decimal,
    /// Cash never invested at the end (smart DCA's skipped money, rounding).
    pub idle_cash: Decimal,
    pub twr_pct: Option<f64>,
    pub xirr_pct: Option<f64>,
    /// Only for a single contribution (a lump sum): with contributions the
    /// figure would flatter or punish the plan for its own cash flows.
    pub cagr_pct: Option<f64>,
    /// On the time-weighted index, so contributions cannot hide a loss.
    pub max_drawdown_pct: f64,
    pub max_drawdown_days: i64,
    pub volatility_pct: Option<f64>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    pub buys: usize,
    pub skipped: usize,
}

impl PlanMetrics {
    /// Every figure by name, for tables and JSON (`None`: not defined).
    pub fn named(&self) -> Vec<(&'static str, Option<f64>)> {
        let money = |d: Decimal| Some(f(d.round_dp(2)));
        vec![
            ("contributed", money(self.contributed)),
            ("final_value", money(self.final_value)),
            ("gain", money(self.gain)),
            ("idle_cash", money(self.idle_cash)),
            ("twr_pct", self.twr_pct),
            ("xirr_pct", self.xirr_pct),
            ("cagr_pct", self.cagr_pct),
            ("max_drawdown_pct", Some(self.max_drawdown_pct)),
            ("max_drawdown_days", Some(self.max_drawdown_days as f64)),
            ("volatility_pct", self.volatility_pct),
            ("sharpe", self.sharpe),
            ("sortino", self.sortino),
            ("buys", Some(self.buys as f64)),
            ("skipped", Some(self.skipped as f64)),
        ]
    }
}

/// One approach's whole story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub name: String,
    pub buys: Vec<Buy>,
    pub skipped: Vec<Skipped>,
    pub days: Vec<DayValue>,
    pub metrics: PlanMetrics,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no bars for {0}")]
    NoBars(String),
    #[error("the plan has no run between {0} and {1}")]
    NoRuns(NaiveDate, NaiveDate),
    #[error("the plan buys nothing per run")]
    Empty,
    #[error("nothing has been bought yet")]
    NothingBought,
}

/// The plan's contribution dates and amounts between `from` and `to`.
pub fn contributions(input: &PlanInput<'_>) -> Vec<(NaiveDate, Decimal)> {
    let per_run: Decimal = input.legs.iter().map(|(_, a)| *a).sum();
    let after = new_york_instant(input.from, NaiveTime::MIN) - chrono::Duration::seconds(1);
    input
        .schedule
        .slots_after(after)
        .map(|s| s.trading_date)
        .skip_while(|d| *d < input.from)
        .take_while(|d| *d <= input.to)
        .map(|d| (d, per_run))
        .collect()
}

/// Shares a notional buy of `dollars` at `price` gets: the quotient rounded
/// down to 9 decimals (as Alpaca books fractional shares), computed exactly
/// in integers when the figures fit, as most do.
fn quantity_of(dollars: Decimal, price: Decimal) -> Decimal {
    let exact = || -> Option<Decimal> {
        if dollars.is_sign_negative() || !price.is_sign_positive() || price.is_zero() {
            return None;
        }
        let shift = 9 + price.scale() as i32 - dollars.scale() as i32;
        let numerator = dollars
            .mantissa()
            .checked_mul(10_i128.checked_pow(u32::try_from(shift).ok()?)?)?;
        Decimal::try_from_i128_with_scale(numerator / price.mantissa(), 9).ok()
    };
    exact().unwrap_or_else(|| (dollars / price).round_dp_with_strategy(9, RoundingStrategy::ToZero))
}

/// A day's holdings value, summed exactly: shares × close in integers at one
/// scale (falling back to decimals for a figure that does not fit).
#[derive(Default)]
struct Holdings {
    /// Σ shares × close at scale [`Holdings::SCALE`].
    units: i128,
    spill: Decimal,
}

impl Holdings {
    /// Shares carry at most 9 decimals and prices at most 6 here.
    const SCALE: u32 = 15;

    fn add(&mut self, shares: Decimal, close: Decimal) {
        let product = || -> Option<i128> {
            let scale = shares.scale() + close.scale();
            let up = Self::SCALE.checked_sub(scale)?;
            shares
                .mantissa()
                .checked_mul(close.mantissa())?
                .checked_mul(10_i128.checked_pow(up)?)
        };
        match product().and_then(|p| self.units.checked_add(p)) {
            Some(sum) => self.units = sum,
            None => self.spill += shares * close,
        }
    }

    fn total(&self) -> Decimal {
        let unit = 10_i128.pow(Self::SCALE);
        // Whole dollars and the fraction apart, so any sum converts exactly.
        Decimal::from_i128_with_scale(self.units / unit, 0)
            + Decimal::from_i128_with_scale(self.units % unit, Self::SCALE)
            + self.spill
    }
}

/// One symbol's bars as the ledger walks them, oldest first.
struct Track<'a> {
    symbol: &'a str,
    bars: &'a [Bar],
    closes: Vec<Decimal>,
    /// The first bar not yet passed: every bar before it is dated before the
    /// day the ledger is at.
    cursor: usize,
    /// The close of the latest bar passed or reached.
    last_close: Option<Decimal>,
    shares: Decimal,
    /// A running sum of `sum_n` closes ending before `sum_at`, so smart
    /// DCA's average costs one step per bar, not `n` (0: none yet).
    sum: Decimal,
    sum_n: usize,
    sum_at: usize,
}

impl Track<'_> {
    /// Moves to `date`: passes every bar dated before it; the bar at the
    /// cursor, if any, is dated `date` or later.
    fn seek(&mut self, date: NaiveDate) {
        while let Some(b) = self.bars.get(self.cursor).filter(|b| b.date < date) {
            self.last_close = Some(b.close);
            self.cursor += 1;
        }
    }

    fn at(&self, date: NaiveDate) -> Option<&Bar> {
        self.bars.get(self.cursor).filter(|b| b.date == date)
    }

    /// The last close before `date` and the average of the `n` closes
    /// before it (`None` with fewer): the same sum, in exact decimals, as
    /// `sma_last` over those closes, kept running.
    fn last_and_average(
        &mut self,
        date: NaiveDate,
        n: usize,
    ) -> (Option<Decimal>, Option<Decimal>) {
        self.seek(date);
        let c = self.cursor;
        let last = c.checked_sub(1).map(|i| self.closes[i]);
        if n == 0 || c < n {
            return (last, None);
        }
        if self.sum_n == n && self.sum_at >= n && self.sum_at <= c && c - self.sum_at < n {
            for i in self.sum_at..c {
                self.sum += self.closes[i] - self.closes[i - n];
            }
        } else {
            self.sum = self.closes[c - n..c].iter().sum();
        }
        (self.sum_n, self.sum_at) = (n, c);
        (last, Some(self.sum / Decimal::from(n as u64)))
    }
}

/// The books of one approach as it buys and is valued day by day, in date
/// order: each symbol's bars are walked once (a cursor, not a search).
pub(super) struct Ledger<'a> {
    tracks: Vec<Track<'a>>,
    fill: Fill,
    cash: Decimal,
    contributed: Decimal,
    buys: Vec<Buy>,
    skipped: Vec<Skipped>,
    days: Vec<DayValue>,
    flows: Vec<(NaiveDate, Decimal)>,
}

impl<'a> Ledger<'a> {
    /// A ledger for `symbols` (each must have bars in `bars`).
    pub(super) fn new(bars: &'a Bars, symbols: &[&'a str], fill: Fill) -> Self {
        let tracks = symbols
            .iter()
            .filter_map(|s| {
                let b = bars.get(*s)?;
                Some(Track {
                    symbol: s,
                    bars: b,
                    closes: b.iter().map(|b| b.close).collect(),
                    cursor: 0,
                    last_close: None,
                    shares: Decimal::ZERO,
                    sum: Decimal::ZERO,
                    sum_n: 0,
                    sum_at: 0,
                })
            })
            .collect();
        Self {
            tracks,
            fill,
            cash: Decimal::ZERO,
            contributed: Decimal::ZERO,
            buys: Vec::new(),
            skipped: Vec::new(),
            days: Vec::new(),
            flows: Vec::new(),
        }
    }

    pub(super) fn contribute(&mut self, date: NaiveDate, dollars: Decimal) {
        self.cash += dollars;
        self.contributed += dollars;
        self.flows.push((date, dollars));
    }

    /// Spends `dollars` on `symbol` at `date`'s fill price.
    pub(super) fn buy(&mut self, date: NaiveDate, symbol: &str, dollars: Decimal) {
        match self.tracks.iter().position(|t| t.symbol == symbol) {
            Some(i) => self.buy_at(date, i, dollars),
            None => self.skipped.push(Skipped {
                date,
                symbol: symbol.to_owned(),
                dollars,
                reason: format!("no price for {symbol} on {date}"),
            }),
        }
    }

    /// Spends `dollars` on the `i`-th track's symbol at `date`'s fill price.
    fn buy_at(&mut self, date: NaiveDate, i: usize, dollars: Decimal) {
        let fill = self.fill;
        let cash = self.cash;
        let symbol = self.tracks[i].symbol;
        let bought = self.tracks.get_mut(i).and_then(|t| {
            t.seek(date);
            let bar = t.at(date)?;
            let price = match fill {
                Fill::NextOpen => bar.open,
                Fill::Close => bar.close,
            };
            let dollars = dollars.min(cash);
            let quantity = quantity_of(dollars, price);
            if !quantity.is_zero() {
                t.shares += quantity;
            }
            Some((dollars, quantity, price))
        });
        match bought {
            None => self.skipped.push(Skipped {
                date,
                symbol: symbol.to_owned(),
                dollars,
                reason: format!("no price for {symbol} on {date}"),
            }),
            Some((_, quantity, _)) if quantity.is_zero() => {}
            Some((dollars, quantity, price)) => {
                self.cash -= dollars;
                self.buys.push(Buy {
                    date,
                    symbol: symbol.to_owned(),
                    dollars,
                    quantity,
                    price,
                });
            }
        }
    }

    /// The `i`-th track's last close before `date` and its `n`-day average.
    fn last_and_average(
        &mut self,
        i: usize,
        date: NaiveDate,
        n: usize,
    ) -> (Option<Decimal>, Option<Decimal>) {
        self.tracks[i].last_and_average(date, n)
    }

    /// Values the books at `date`'s close.
    pub(super) fn close_day(&mut self, date: NaiveDate) {
        self.close_day_at(date, &HashMap::new());
    }

    /// Values the books at `date`, each symbol at its price in `live` if it
    /// has one there (today's last trade), else at its last close.
    pub(super) fn close_day_at(&mut self, date: NaiveDate, live: &HashMap<String, Decimal>) {
        let mut holdings = Holdings::default();
        for t in &mut self.tracks {
            t.seek(date);
            if let Some(b) = t.at(date) {
                t.last_close = Some(b.close);
            }
            let price = live.get(t.symbol).copied().or(t.last_close);
            if let (false, Some(price)) = (t.shares.is_zero(), price) {
                holdings.add(t.shares, price);
            }
        }
        let value = self.cash + holdings.total();
        self.days.push(DayValue {
            date,
            contributed: self.contributed,
            cash: self.cash,
            value,
        });
    }

    /// Books a buy that really happened: `quantity` of the `i`-th track's
    /// symbol for `dollars` at `price`, paid from a contribution of the same
    /// dollars that day.
    pub(super) fn record(&mut self, buy: &Buy) -> bool {
        let Some(t) = self.tracks.iter_mut().find(|t| t.symbol == buy.symbol) else {
            return false;
        };
        t.shares += buy.quantity;
        self.contribute(buy.date, buy.dollars);
        self.cash -= buy.dollars;
        self.buys.push(buy.clone());
        true
    }

    /// Cash the holdings paid (a dividend): a return, not a contribution.
    pub(super) fn income(&mut self, dollars: Decimal) {
        self.cash += dollars;
    }

    /// Spends `dollars` on `symbol` at `price` (a day without a bar: today,
    /// at its last trade).
    pub(super) fn buy_priced(
        &mut self,
        date: NaiveDate,
        symbol: &str,
        dollars: Decimal,
        price: Decimal,
    ) {
        let Some(t) = self.tracks.iter_mut().find(|t| t.symbol == symbol) else {
            return;
        };
        let dollars = dollars.min(self.cash);
        let quantity = quantity_of(dollars, price);
        if quantity.is_zero() {
            return;
        }
        t.shares += quantity;
        self.cash -= dollars;
        self.buys.push(Buy {
            date,
            symbol: symbol.to_owned(),
            dollars,
            quantity,
            price,
        });
    }

    /// Whether `symbol` has a bar dated `date`.
    pub(super) fn has_bar(&mut self, symbol: &str, date: NaiveDate) -> bool {
        self.tracks
            .iter_mut()
            .find(|t| t.symbol == symbol)
            .is_some_and(|t| {
                t.seek(date);
                t.at(date).is_some()
            })
    }

    pub(super) fn finish(self, name: String, risk_free_pct: f64) -> Outcome {
        let metrics = plan_metrics(
            &self.days,
            &self.flows,
            self.buys.len(),
            self.skipped.len(),
            risk_free_pct,
        );
        Outcome {
            name,
            buys: self.buys,
            skipped: self.skipped,
            days: self.days,
            metrics,
        }
    }
}

/// An account's story from its days (date, paid in so far, value) and its
/// dated contributions, with the same metrics as every approach here.
pub fn outcome_of(
    name: String,
    days: Vec<DayValue>,
    flows: &[(NaiveDate, Decimal)],
    risk_free_pct: f64,
) -> Outcome {
    let metrics = plan_metrics(&days, flows, 0, 0, risk_free_pct);
    Outcome {
        name,
        buys: Vec::new(),
        skipped: Vec::new(),
        days,
        metrics,
    }
}

fn plan_metrics(
    days: &[DayValue],
    flows: &[(NaiveDate, Decimal)],
    buys: usize,
    skipped: usize,
    risk_free_pct: f64,
) -> PlanMetrics {
    let last = days.last();
    let contributed = last.map_or(Decimal::ZERO, |d| d.contributed);
    let final_value = last.map_or(Decimal::ZERO, |d| d.value);
    let by_date: HashMap<NaiveDate, Decimal> =
        flows.iter().fold(HashMap::new(), |mut m, (d, a)| {
            *m.entry(*d).or_default() += a;
            m
        });
    let series: Vec<Day> = days
        .iter()
        .map(|d| Day {
            date: d.date,
            value: f(d.value),
            contribution: by_date.get(&d.date).copied().map_or(0.0, f),
        })
        .collect();
    let (daily, index) = returns::time_weighted(&series);
    let (max_drawdown_pct, max_drawdown_days, _) = drawdown(&index);
    let rets: Vec<f64> = daily.iter().map(|(_, r)| *r).collect();
    let Risk {
        volatility_pct,
        sharpe,
        sortino,
    } = risk(&rets, risk_free_pct);
    let mut cash_flows: Vec<(NaiveDate, f64)> = flows.iter().map(|(d, a)| (*d, -f(*a))).collect();
    if let Some(l) = last {
        cash_flows.push((l.date, f(l.value)));
    }
    let single = by_date.len() == 1;
    let cagr_pct = match (single, flows.first(), last) {
        (true, Some((start, paid)), Some(l))
            if (l.date - *start).num_days() > 0 && !paid.is_zero() =>
        {
            let years = 365.25 / (l.date - *start).num_days() as f64;
            Some(((f(l.value) / f(*paid)).powf(years) - 1.0) * 100.0)
        }
        _ => None,
    };
    PlanMetrics {
        contributed,
        final_value,
        gain: final_value - contributed,
        idle_cash: last.map_or(Decimal::ZERO, |d| d.cash),
        twr_pct: index.last().map(|(_, l)| (l - 1.0) * 100.0),
        xirr_pct: returns::xirr_pct(&cash_flows),
        cagr_pct,
        max_drawdown_pct,
        max_drawdown_days,
        volatility_pct,
        sharpe,
        sortino,
        buys,
        skipped,
    }
}

/// The trading days with a bar for any of `symbols`, from `from` to `to`.
pub(super) fn timeline(
    bars: &Bars,
    symbols: &[&str],
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<NaiveDate> {
    let mut dates: Vec<NaiveDate> = Vec::new();
    for s in symbols {
        if let Some(b) = bars.get(*s) {
            // Bars are oldest first: the range is one slice of each.
            let (lo, hi) = (
                b.partition_point(|b| b.date < from),
                b.partition_point(|b| b.date <= to),
            );
            let slice = &b[lo..hi];
            // Symbols mostly trade on the same days: merge only when not.
            if dates.len() == slice.len() && dates.iter().zip(slice).all(|(d, b)| *d == b.date) {
                continue;
            }
            dates.extend(slice.iter().map(|b| b.date));
            dates.sort_unstable();
            dates.dedup();
        }
    }
    dates
}

fn check<'i>(
    input: &'i PlanInput<'_>,
    bars: &Bars,
    extra: Option<&str>,
) -> Result<Cow<'i, [(NaiveDate, Decimal)]>, PlanError> {
    if input.legs.is_empty() || input.legs.iter().all(|(_, a)| a.is_zero()) {
        return Err(PlanError::Empty);
    }
    for s in input.legs.iter().map(|(s, _)| s.as_str()).chain(extra) {
        if bars.get(s).is_none_or(|b| b.is_empty()) {
            return Err(PlanError::NoBars(s.to_owned()));
        }
    }
    let cached = input.runs.get_or_init(|| Runs {
        from: input.from,
        to: input.to,
        runs: contributions(input),
    });
    // The fields are public: a range changed since the runs were cached is
    // worked out afresh.
    let runs = if (cached.from, cached.to) == (input.from, input.to) {
        Cow::Borrowed(cached.runs.as_slice())
    } else {
        Cow::Owned(contributions(input))
    };
    if runs.is_empty() {
        return Err(PlanError::NoRuns(input.from, input.to));
    }
    Ok(runs)
}

/// The plan as it is: every run contributes and buys each leg (smart DCA
/// deciding each leg as the engine would).
pub fn dca(
    input: &PlanInput<'_>,
    bars: &Bars,
    mode: &Mode,
    risk_free_pct: f64,
) -> Result<Outcome, PlanError> {
    let runs = check(input, bars, None)?;
    let symbols: Vec<&str> = input.legs.iter().map(|(s, _)| s.as_str()).collect();
    let mut ledger = Ledger::new(bars, &symbols, input.fill);
    // What each leg carries into its next run (smart DCA's skipped money).
    let mut carried = vec![Decimal::ZERO; input.legs.len()];
    let mut due = runs.iter().peekable();
    for date in timeline(bars, &symbols, runs[0].0, input.to) {
        while let Some((run, dollars)) = due.next_if(|(d, _)| *d <= date) {
            ledger.contribute(*run, *dollars);
            for (i, (symbol, amount)) in input.legs.iter().enumerate() {
                let decision = decide_leg_with(mode, *amount, carried[i], |n| {
                    ledger.last_and_average(i, *run, n)
                });
                match decision {
                    LegDecision::Buy { spend } => {
                        carried[i] = Decimal::ZERO;
                        ledger.buy_at(*run, i, spend);
                    }
                    LegDecision::Skip { reason, carry } => {
                        carried[i] = carry;
                        ledger.skipped.push(Skipped {
                            date: *run,
                            symbol: symbol.clone(),
                            dollars: *amount,
                            reason,
                        });
                    }
                }
            }
        }
        ledger.close_day(date);
    }
    let name = match mode {
        Mode::Pure => "Pure DCA".to_owned(),
        Mode::Smart { sma_days, .. } => format!("Smart DCA ({sma_days}-day average)"),
    };
    Ok(ledger.finish(name, risk_free_pct))
}

/// The plan's whole contributions paid in on its first run day and split
/// across the legs in the plan's proportions.
pub fn lump_sum(
    input: &PlanInput<'_>,
    bars: &Bars,
    risk_free_pct: f64,
) -> Result<Outcome, PlanError> {
    let runs = check(input, bars, None)?;
    let total: Decimal = runs.iter().map(|(_, a)| *a).sum();
    let per_run: Decimal = input.legs.iter().map(|(_, a)| *a).sum();
    let start = runs[0].0;
    let symbols: Vec<&str> = input.legs.iter().map(|(s, _)| s.as_str()).collect();
    let mut ledger = Ledger::new(bars, &symbols, input.fill);
    ledger.contribute(start, total);
    for (symbol, amount) in input.legs {
        let share = (total * amount / per_run).round_dp_with_strategy(2, RoundingStrategy::ToZero);
        ledger.buy(start, symbol, share);
    }
    for date in timeline(bars, &symbols, start, input.to) {
        ledger.close_day(date);
    }
    Ok(ledger.finish("Lump sum on day one".to_owned(), risk_free_pct))
}

/// `benchmark` bought with the plan's contributions, on the same days.
pub fn benchmark(
    input: &PlanInput<'_>,
    bars: &Bars,
    benchmark: &str,
    risk_free_pct: f64,
) -> Result<Outcome, PlanError> {
    let runs = check(input, bars, Some(benchmark))?;
    let mut ledger = Ledger::new(bars, &[benchmark], input.fill);
    let mut due = runs.iter().peekable();
    for date in timeline(bars, &[benchmark], runs[0].0, input.to) {
        while let Some((run, dollars)) = due.next_if(|(d, _)| *d <= date) {
            ledger.contribute(*run, *dollars);
            ledger.buy(*run, benchmark, *dollars);
        }
        ledger.close_day(date);
    }
    Ok(ledger.finish(
        format!("{benchmark} bought on the same days"),
        risk_free_pct,
    ))
}

/// "$X ahead of / behind <other>", comparing final values.
pub fn headline(plan: &Outcome, other: &Outcome) -> String {
    let diff = plan.metrics.final_value - other.metrics.final_value;
    let amount = crate::domain::money::dollars(diff.abs());
    if diff.is_zero() {
        format!("{} ended level with {}", plan.name, other.name)
    } else if diff > Decimal::ZERO {
        format!("{} ended {amount} ahead of {}", plan.name, other.name)
    } else {
        format!("{} ended {amount} behind {}", plan.name, other.name)
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
