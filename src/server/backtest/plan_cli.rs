//! `dripfeed backtest --strategy dca|smart-dca`: a savings plan over a CSV
//! file's bars, alone or (`--compare`) against smart or pure DCA, a lump sum
//! and a benchmark bought on the same days.

use super::cli::{Args, FillArg, StrategyName, named, number, read_bars, rows};
use crate::domain::backtest::monte_carlo::MonteCarlo;
use crate::domain::backtest::plan::{self, Bars, Outcome, PlanInput};
use crate::domain::backtest::rolling::{self, Rolling};
use crate::domain::backtest::{Fill, compare};
use crate::domain::plan::Mode;
use crate::domain::schedule::{Cadence, MonthDay, Schedule, TimeOfDay};
use crate::domain::strategy::Bar;
use anyhow::Context;
use chrono::{NaiveTime, Weekday};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// `daily`, `weekly:mon`, `biweekly:fri`, `monthly:15`, `monthly:first`, `monthly:last`.
pub fn cadence(every: &str) -> anyhow::Result<Cadence> {
    let weekday = |d: &str| -> anyhow::Result<Weekday> {
        let day: Weekday = d
            .parse()
            .map_err(|_| anyhow::anyhow!("{d:?} is not a weekday (mon … fri)"))?;
        if matches!(day, Weekday::Sat | Weekday::Sun) {
            anyhow::bail!("the market is closed on {day}: pick mon … fri");
        }
        Ok(day)
    };
    Ok(match every.trim().to_ascii_lowercase().split_once(':') {
        None if every.trim().eq_ignore_ascii_case("daily") => Cadence::Daily,
        Some(("weekly", d)) => Cadence::Weekly {
            weekday: weekday(d)?,
        },
        Some(("biweekly", d)) => Cadence::Biweekly {
            weekday: weekday(d)?,
        },
        Some(("monthly", "first")) => Cadence::Monthly {
            day: MonthDay::FirstTradingDay,
        },
        Some(("monthly", "last")) => Cadence::Monthly {
            day: MonthDay::LastTradingDay,
        },
        Some(("monthly", n)) => match n.parse::<u8>() {
            Ok(day @ 1..=28) => Cadence::Monthly {
                day: MonthDay::Day(day),
            },
            _ => anyhow::bail!("monthly runs fall on day 1 to 28, first or last, not {n:?}"),
        },
        _ => anyhow::bail!(
            "{every:?} is not a schedule: use daily, weekly:mon, biweekly:mon, monthly:1, monthly:first or monthly:last"
        ),
    })
}

fn symbol_of(args: &Args) -> String {
    args.symbol.clone().unwrap_or_else(|| {
        args.csv
            .file_stem()
            .map(|s| s.to_string_lossy().to_ascii_uppercase())
            .unwrap_or_else(|| "PLAN".to_owned())
    })
}

pub fn run(args: &Args, bars: Vec<Bar>) -> anyhow::Result<()> {
    if args.amount <= Decimal::ZERO {
        anyhow::bail!("--amount must be more than 0");
    }
    let first = bars.first().map(|b| b.date).context("no bars")?;
    let last = bars.last().map(|b| b.date).context("no bars")?;
    let (from, to) = (args.from.unwrap_or(first), args.to.unwrap_or(last));
    if to < from {
        anyhow::bail!("--to {to} is before --from {from}");
    }
    let schedule = Schedule::new(
        cadence(&args.every)?,
        TimeOfDay::Local(NaiveTime::from_hms_opt(10, 0, 0).context("10:00")?),
        "America/New_York",
        from,
        Some(to),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let symbol = symbol_of(args);
    let legs = [(symbol.clone(), args.amount)];
    let mut all: Bars = Bars::from([(symbol.clone(), bars)]);
    if let Some(path) = &args.benchmark_csv {
        if args.benchmark == symbol {
            anyhow::bail!("--benchmark {} is the plan's own symbol", args.benchmark);
        }
        all.insert(args.benchmark.clone(), read_bars(path)?);
    }
    let input = PlanInput::new(
        &legs,
        &schedule,
        from,
        to,
        match args.fill {
            FillArg::NextOpen => Fill::NextOpen,
            FillArg::Close => Fill::Close,
        },
    );
    let smart = Mode::smart(args.sma_days, args.carry_skipped).map_err(anyhow::Error::msg)?;
    let mode = match args.strategy {
        StrategyName::SmartDca => smart,
        _ => Mode::Pure,
    };
    let rf = args.risk_free_pct;
    if let Some(step) = args.rolling_step {
        let dates: Vec<chrono::NaiveDate> = all[&symbol].iter().map(|b| b.date).collect();
        let starts = rolling::every(&dates, from, to, step);
        let benchmark = args.benchmark_csv.as_ref().map(|_| args.benchmark.as_str());
        let r = rolling::rolling(&input, &all, &mode, benchmark, &starts)?;
        print_rolling(&r, args.json);
        return Ok(());
    }
    if let Some(paths) = args.monte_carlo {
        let mc = super::monte_carlo::run(&input, &all, &mode, paths, args.block_days, args.seed)?;
        print_monte_carlo(&mc, args.json);
        return Ok(());
    }
    if !args.compare {
        let chosen = plan::dca(&input, &all, &mode, rf)?;
        if args.json {
            println!("{}", outcome_json(&chosen, true));
        } else {
            print!("{}", rows(&chosen.metrics.named()));
        }
        return Ok(());
    }
    let benchmark = args.benchmark_csv.as_ref().map(|_| args.benchmark.as_str());
    let c = compare::compare(&input, &all, &mode, &smart, benchmark, rf)?;
    let (headline, outcomes) = (c.headline, c.approaches);
    if args.json {
        println!(
            "{}",
            json!({
                "headline": headline,
                "approaches": outcomes.iter().map(|o| outcome_json(o, false)).collect::<Vec<_>>(),
            })
        );
    } else {
        println!("{headline}");
        for o in &outcomes {
            println!("\n{}", o.name);
            print!("{}", rows(&o.metrics.named()));
        }
    }
    Ok(())
}

/// An approach as JSON: its metrics and equity, and with `detail` its buys
/// and skipped buys.
fn outcome_json(o: &Outcome, detail: bool) -> Value {
    let mut v = json!({
        "name": o.name,
        "metrics": named(&o.metrics.named()),
        "equity": o.days.iter().map(|d| json!({
            "date": d.date.to_string(),
            "value": number(d.value),
            "contributed": number(d.contributed),
        })).collect::<Vec<_>>(),
        "skipped": o.skipped.iter().map(|s| json!({
            "date": s.date.to_string(),
            "symbol": s.symbol,
            "dollars": number(s.dollars),
            "reason": s.reason,
        })).collect::<Vec<_>>(),
    });
    if detail {
        v["buys"] = o
            .buys
            .iter()
            .map(|b| {
                json!({
                    "date": b.date.to_string(),
                    "symbol": b.symbol,
                    "dollars": number(b.dollars),
                    "quantity": number(b.quantity),
                    "price": number(b.price),
                })
            })
            .collect();
    }
    v
}

fn print_rolling(r: &Rolling, as_json: bool) {
    if as_json {
        println!(
            "{}",
            json!({
                "starts": r.starts.len(),
                "wins_pct": r.wins.iter().map(|(n, w)| json!({"name": n, "pct": w})).collect::<Vec<_>>(),
                "lead": r.lead_quartiles.map(|q| json!({
                    "min": number(q[0]), "p25": number(q[1]), "median": number(q[2]),
                    "p75": number(q[3]), "max": number(q[4]),
                })),
                "leads": r.leads.iter().map(|(d, l)| json!({"start": d.to_string(), "lead": number(*l)})).collect::<Vec<_>>(),
            })
        );
        return;
    }
    println!("{} start dates", r.starts.len());
    for (name, pct) in &r.wins {
        println!("  {name}: ahead from {pct:.1} % of them");
    }
    if let (Some(q), Some((last, _))) = (r.lead_quartiles, r.wins.last()) {
        let [min, p25, median, p75, max] = q.map(crate::domain::money::dollars);
        println!(
            "the plan's lead over {last}: min {min}, 25 % {p25}, median {median}, 75 % {p75}, max {max}"
        );
    }
}

fn print_monte_carlo(mc: &MonteCarlo, as_json: bool) {
    let [p5, p25, median, p75, p95] = mc.final_value;
    if as_json {
        println!(
            "{}",
            json!({
                "paths": mc.paths,
                "block_days": mc.block_days,
                "seed": mc.seed,
                "contributed": number(mc.contributed),
                "final_value": {
                    "p5": number(p5), "p25": number(p25), "median": number(median),
                    "p75": number(p75), "p95": number(p95),
                },
                "below_contributed_pct": mc.below_contributed_pct,
            })
        );
        return;
    }
    let money = crate::domain::money::dollars;
    println!(
        "{} paths (blocks of {} days, seed {}); contributed {}",
        mc.paths,
        mc.block_days,
        mc.seed,
        money(mc.contributed)
    );
    println!(
        "final value: 5 % {}, 25 % {}, median {}, 75 % {}, 95 % {}",
        money(p5),
        money(p25),
        money(median),
        money(p75),
        money(p95)
    );
    println!(
        "ended below the amount contributed: {:.1} % of paths",
        mc.below_contributed_pct
    );
}
