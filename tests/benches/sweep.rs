//! Benchmark (b), in process: the 400-pair crossover sweep of
//! `tests/benches/sweep_vs_backtesting_py.py`, timed around the sweep alone,
//! as that script times backtesting.py's `optimize` (data already loaded).
//! Prints one JSON object: the best pair, its final value, and the median
//! and fastest of `--runs` sweeps in milliseconds.
//!
//! ```text
//! cargo bench --features ssr --bench sweep -- --csv target/bench-GOOG.csv
//! ```

use dripfeed::domain::backtest::{Config, Sizing};
use dripfeed::server::backtest::csv::parse;
use dripfeed::server::backtest::sweep::sweep;
use rust_decimal::Decimal;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let (mut csv, mut runs) = (None, 21usize);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--csv" => csv = it.next(),
            "--runs" => runs = it.next().unwrap_or_default().parse()?,
            "--bench" => {}
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let csv = csv.ok_or_else(|| anyhow::anyhow!("--csv FILE is required"))?;
    let bars = parse(&std::fs::read_to_string(&csv)?)?;
    let config = Config {
        cash: Decimal::from(10_000),
        sizing: Sizing::WholeShares,
        ..Config::default()
    };
    let (fast, slow): (Vec<usize>, Vec<usize>) = ((5..=24).collect(), (25..=44).collect());
    let mut times = Vec::with_capacity(runs);
    let mut best = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let rows = sweep(&bars, &fast, &slow, &config, 0.0, "final_value", None)?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        best = rows.into_iter().next();
    }
    times.sort_by(f64::total_cmp);
    let best = best.ok_or_else(|| anyhow::anyhow!("no pair"))?;
    println!(
        "{}",
        serde_json::json!({
            "pairs": fast.len() * slow.len(),
            "best": {"fast": best.fast, "slow": best.slow,
                     "final_value": best.metrics.final_value.to_string()},
            "median_ms": times[times.len() / 2],
            "fastest_ms": times[0],
        })
    );
    Ok(())
}
