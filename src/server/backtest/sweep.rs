//! `dripfeed backtest --fast A..B --slow C..D`: every pair of a crossover
//! sweep, evaluated in parallel across cores (rayon), ranked by a metric.

use super::cli::{Args, named, table};
use crate::domain::backtest::Config;
use crate::domain::backtest::metrics::Metrics;
use crate::domain::backtest::sweep::{Prepared, pairs};
use crate::domain::strategy::Bar;
use rayon::prelude::*;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most pairs one sweep evaluates.
pub const MAX_PAIRS: usize = 10_000;

/// One evaluated pair.
pub struct Row {
    pub fast: usize,
    pub slow: usize,
    pub metrics: Metrics,
}

/// Every valid pair of `fast` × `slow` over `bars`, best first by `rank_by`
/// (a metric's name; undefined values rank last).
pub fn sweep(
    bars: &[Bar],
    fast: &[usize],
    slow: &[usize],
    config: &Config,
    risk_free_pct: f64,
    rank_by: &str,
    progress: Option<&AtomicUsize>,
) -> anyhow::Result<Vec<Row>> {
    let all = pairs(fast, slow);
    if all.is_empty() {
        anyhow::bail!("no pair has its fast average shorter than its slow one");
    }
    if all.len() > MAX_PAIRS {
        anyhow::bail!(
            "{} pairs is more than the {MAX_PAIRS} a sweep evaluates",
            all.len()
        );
    }
    let probe = Metrics::named_keys();
    if !probe.contains(&rank_by) {
        anyhow::bail!(
            "--rank-by {rank_by:?} is not a metric: use one of {}",
            probe.join(", ")
        );
    }
    let prepared = Prepared::new(bars, fast.iter().chain(slow).copied());
    let mut rows: Vec<Row> = all
        .par_iter()
        .filter_map(|&(f, s)| {
            let row = prepared
                .evaluate(f, s, config, risk_free_pct)
                .map(|metrics| Row {
                    fast: f,
                    slow: s,
                    metrics,
                });
            if let Some(p) = progress {
                p.fetch_add(1, Ordering::Relaxed);
            }
            row
        })
        .collect();
    let key = |r: &Row| {
        let v = r.metrics.value_of(rank_by).filter(|v| v.is_finite());
        // Drawdowns are negative: the shallowest (highest) ranks first too.
        v.unwrap_or(f64::NEG_INFINITY)
    };
    rows.sort_by(|a, b| {
        key(b)
            .total_cmp(&key(a))
            .then((a.fast, a.slow).cmp(&(b.fast, b.slow)))
    });
    Ok(rows)
}

pub fn run(args: &Args, bars: &[Bar], config: &Config) -> anyhow::Result<()> {
    let rows = sweep(
        bars,
        &args.fast.0,
        &args.slow.0,
        config,
        args.risk_free_pct,
        &args.rank_by,
        None,
    )?;
    let best = &rows[0];
    if args.json {
        let pair =
            |r: &Row| json!({"fast": r.fast, "slow": r.slow, "metrics": named(&r.metrics.named())});
        println!(
            "{}",
            json!({
                "rank_by": args.rank_by,
                "best": pair(best),
                "pairs": rows.iter().map(pair).collect::<Vec<_>>(),
            })
        );
        return Ok(());
    }
    println!(
        "best of {} pairs by {}: fast {}, slow {}",
        rows.len(),
        args.rank_by,
        best.fast,
        best.slow
    );
    print!("{}", table(&best.metrics));
    println!(
        "\n{:>5} {:>5} {:>14} {:>10} {:>8} {:>10} {:>7}",
        "fast", "slow", "final_value", "return_%", "sharpe", "max_dd_%", "trades"
    );
    for r in &rows {
        let m = &r.metrics;
        let opt = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |x| format!("{x:.2}"));
        println!(
            "{:>5} {:>5} {:>14.2} {:>10.2} {:>8} {:>10.2} {:>7}",
            r.fast,
            r.slow,
            m.final_value,
            m.total_return_pct,
            opt(m.sharpe),
            m.max_drawdown_pct,
            m.trades
        );
    }
    Ok(())
}
