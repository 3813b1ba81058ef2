//! `dripfeed backtest`: a strategy over a CSV file's bars, its metrics as a
//! table, or (`--json`) one JSON object with `metrics`, `trades` and `equity`.

use crate::domain::backtest::metrics::{Metrics, of_run};
use crate::domain::backtest::{self, Config, ExitReason, Fill, Run, Sizing};
use crate::domain::strategy::crossover::MaCrossover;
use crate::domain::strategy::risk::{Exits, Level};
use anyhow::Context;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyName {
    /// The moving-average crossover (long only).
    MaCrossover,
    /// A savings plan: --amount every run, on the --every schedule.
    Dca,
    /// A savings plan that buys only at or below the --sma-days average.
    SmartDca,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FillArg {
    /// At the next bar's open (the default).
    NextOpen,
    /// At the signal bar's close.
    Close,
}

/// Moving-average windows: one (`20`) or an inclusive range (`5..20`,
/// `20..60:5`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows(pub Vec<usize>);

impl Windows {
    pub fn single(&self) -> Option<usize> {
        match self.0.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

impl std::str::FromStr for Windows {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let number = |t: &str| {
            t.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| format!("{t:?} is not a window of 1 to 1000 bars"))
        };
        let Some((from, rest)) = s.split_once("..") else {
            return Ok(Self(vec![number(s)?]));
        };
        let (to, step) = match rest.split_once(':') {
            Some((to, step)) => (number(to)?, number(step)?),
            None => (number(rest)?, 1),
        };
        let from = number(from)?;
        if to < from {
            return Err(format!("the range {s:?} runs backwards"));
        }
        Ok(Self((from..=to).step_by(step).collect()))
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Daily bars: a CSV file with the header Date,Open,High,Low,Close,Volume.
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    #[arg(long, value_enum, default_value = "ma-crossover")]
    pub strategy: StrategyName,
    /// The fast simple moving average, in bars; a range (5..20, or 5..20:5
    /// in steps of 5, both ends included) sweeps every value.
    #[arg(long, default_value = "5")]
    pub fast: Windows,
    /// The slow simple moving average, in bars; a range sweeps, as --fast.
    #[arg(long, default_value = "20")]
    pub slow: Windows,
    /// Sweeps: the metric that ranks the pairs (highest first; for
    /// max_drawdown_pct the shallowest).
    #[arg(long, default_value = "final_value")]
    pub rank_by: String,
    /// Enter only on volume above its average over this many bars.
    #[arg(long, value_name = "BARS")]
    pub volume_filter: Option<usize>,
    /// Enter only with the close above its average over this many bars (e.g. 200).
    #[arg(long, value_name = "BARS")]
    pub trend_filter: Option<usize>,
    /// Starting cash, in dollars.
    #[arg(long, default_value = "10000")]
    pub cash: Decimal,
    #[arg(long, value_enum, default_value = "next-open")]
    pub fill: FillArg,
    /// Buy whole shares only (the default): floor(cash / price).
    #[arg(long, conflicts_with = "fractional")]
    pub whole_shares: bool,
    /// Buy fractional shares (to 9 decimals).
    #[arg(long)]
    pub fractional: bool,
    /// Commission as a fraction of each fill's value (0.001 = 0.1 %).
    #[arg(long, default_value = "0")]
    pub commission: Decimal,
    /// Slippage against each fill, in basis points.
    #[arg(long, default_value = "0")]
    pub slippage_bps: Decimal,
    /// Close a position this many percent below its entry.
    #[arg(long, value_name = "PERCENT")]
    pub stop_loss_pct: Option<Decimal>,
    /// Close a position this many percent above its entry.
    #[arg(long, value_name = "PERCENT")]
    pub take_profit_pct: Option<Decimal>,
    /// The yearly risk-free rate for Sharpe and Sortino, in percent.
    #[arg(long, default_value_t = 0.0)]
    pub risk_free_pct: f64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Plans: dollars per run.
    #[arg(long, default_value = "100")]
    pub amount: Decimal,
    /// Plans: daily, weekly:mon … weekly:fri, biweekly:mon …, monthly:1 …
    /// monthly:28, monthly:first or monthly:last (runs at 10:00 New York time).
    #[arg(long, default_value = "monthly:1")]
    pub every: String,
    /// Smart DCA: days in the moving average.
    #[arg(long, default_value_t = 20)]
    pub sma_days: u16,
    /// Smart DCA: spend a skipped run's amount on the next run that buys.
    #[arg(long)]
    pub carry_skipped: bool,
    /// Plans: the first day runs may fall on (default: the first bar's).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<chrono::NaiveDate>,
    /// Plans: the last day (default: the last bar's).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<chrono::NaiveDate>,
    /// Plans: the symbol the CSV holds (default: the file name).
    #[arg(long)]
    pub symbol: Option<String>,
    /// Plans: compare pure DCA, smart DCA, a lump sum and (with
    /// --benchmark-csv) a benchmark bought on the same days.
    #[arg(long)]
    pub compare: bool,
    /// Plans: the benchmark's daily bars (e.g. SPY), for --compare.
    #[arg(long, value_name = "FILE")]
    pub benchmark_csv: Option<PathBuf>,
    /// Plans: the benchmark's name.
    #[arg(long, default_value = "SPY")]
    pub benchmark: String,
    /// Plans: run the comparison again from every N-th trading day between
    /// --from and --to (all to --to), and report how often each approach
    /// ended ahead.
    #[arg(long, value_name = "N")]
    pub rolling_step: Option<usize>,
    /// Plans: a block-bootstrap Monte Carlo of this many paths (the plan on
    /// histories rebuilt from blocks of the real one).
    #[arg(long, value_name = "PATHS")]
    pub monte_carlo: Option<usize>,
    /// Monte Carlo: trading days per block.
    #[arg(long, default_value_t = 20)]
    pub block_days: usize,
    /// Monte Carlo: the seed (the same seed gives the same paths).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl Args {
    fn config(&self) -> anyhow::Result<Config> {
        if self.cash <= Decimal::ZERO {
            anyhow::bail!("--cash must be more than 0");
        }
        if self.commission < Decimal::ZERO || self.commission >= Decimal::ONE {
            anyhow::bail!("--commission is a fraction from 0 up to (not including) 1");
        }
        if self.slippage_bps < Decimal::ZERO || self.slippage_bps >= Decimal::from(10_000) {
            anyhow::bail!("--slippage-bps must be from 0 up to 10000");
        }
        let pct = |p: Option<Decimal>, name: &str| match p {
            Some(p) if p <= Decimal::ZERO => Err(anyhow::anyhow!("--{name} must be more than 0")),
            p => Ok(p.map(Level::Percent)),
        };
        Ok(Config {
            cash: self.cash,
            fill: match self.fill {
                FillArg::NextOpen => Fill::NextOpen,
                FillArg::Close => Fill::Close,
            },
            sizing: if self.fractional {
                Sizing::Fractional
            } else {
                Sizing::WholeShares
            },
            commission: self.commission,
            slippage_bps: self.slippage_bps,
            exits: Exits {
                stop_loss: pct(self.stop_loss_pct, "stop-loss-pct")?,
                take_profit: pct(self.take_profit_pct, "take-profit-pct")?,
            },
            ..Config::default()
        })
    }
}

/// Reads a CSV file of bars.
pub(super) fn read_bars(
    path: &std::path::Path,
) -> anyhow::Result<Vec<crate::domain::strategy::Bar>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    super::csv::parse(&text).with_context(|| path.display().to_string())
}

/// Runs the backtest the arguments describe and prints it.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let bars = read_bars(&args.csv)?;
    if args.strategy != StrategyName::MaCrossover {
        return super::plan_cli::run(args, bars);
    }
    let config = args.config()?;
    let (Some(fast), Some(slow)) = (args.fast.single(), args.slow.single()) else {
        return super::sweep::run(args, &bars, &config);
    };
    let strategy = MaCrossover {
        fast,
        slow,
        volume_window: args.volume_filter,
        trend_window: args.trend_filter,
    };
    strategy.check().map_err(anyhow::Error::msg)?;
    let result = backtest::run(&bars, &strategy.signals(&bars), &config);
    let metrics = of_run(&result, config.cash, args.risk_free_pct);
    if args.json {
        println!("{}", to_json(&result, &metrics));
    } else {
        print!("{}", table(&metrics));
    }
    Ok(())
}

pub(super) fn number(d: Decimal) -> Value {
    d.to_f64().map_or(Value::Null, Value::from)
}

fn reason(r: ExitReason) -> &'static str {
    match r {
        ExitReason::Signal => "signal",
        ExitReason::StopLoss => "stop_loss",
        ExitReason::TakeProfit => "take_profit",
        ExitReason::EndOfData => "end_of_data",
    }
}

/// `{"metrics": {...}, "trades": [...], "equity": [...]}`.
pub fn to_json(run: &Run, metrics: &Metrics) -> Value {
    let named: serde_json::Map<String, Value> = metrics
        .named()
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_owned(),
                v.filter(|x| x.is_finite()).map_or(Value::Null, Value::from),
            )
        })
        .collect();
    json!({
        "metrics": named,
        "trades": run.trades.iter().map(|t| json!({
            "entry_date": t.entry_date.to_string(),
            "exit_date": t.exit_date.to_string(),
            "entry_price": number(t.entry_price),
            "exit_price": number(t.exit_price),
            "quantity": number(t.quantity),
            "pnl": number(t.pnl),
            "exit_reason": reason(t.exit_reason),
        })).collect::<Vec<_>>(),
        "equity": run.equity.iter().map(|p| json!({
            "date": p.date.to_string(),
            "value": number(p.value),
        })).collect::<Vec<_>>(),
    })
}

/// Named figures as a JSON object (`null` where not defined).
pub(super) fn named(rows: &[(&'static str, Option<f64>)]) -> Value {
    Value::Object(
        rows.iter()
            .map(|(k, v)| {
                let v = v.filter(|x| x.is_finite()).map_or(Value::Null, Value::from);
                ((*k).to_owned(), v)
            })
            .collect(),
    )
}

/// The metrics as an aligned two-column table; "n/a" where not defined.
pub fn table(metrics: &Metrics) -> String {
    rows(&metrics.named())
}

/// Named figures as an aligned two-column table.
pub(super) fn rows(rows: &[(&'static str, Option<f64>)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| {
            let shown = v
                .filter(|x| x.is_finite())
                .map_or_else(|| "n/a".to_owned(), |x| format!("{x:.2}"));
            format!("{k:<width$}  {shown:>14}\n")
        })
        .collect()
}
