//! The Monte Carlo's paths across cores (rayon): each path is seeded on its
//! own stream, so the result does not depend on which thread ran it.

use crate::domain::backtest::monte_carlo::{History, MonteCarlo, run_path, summarize};
use crate::domain::backtest::plan::{Bars, PlanInput};
use crate::domain::plan::Mode;
use rayon::prelude::*;

/// The most paths one Monte Carlo runs.
pub const MAX_PATHS: usize = 100_000;

pub fn run(
    input: &PlanInput<'_>,
    bars: &Bars,
    mode: &Mode,
    paths: usize,
    block_days: usize,
    seed: u64,
) -> anyhow::Result<MonteCarlo> {
    if paths == 0 || paths > MAX_PATHS {
        anyhow::bail!("--monte-carlo takes 1 to {MAX_PATHS} paths");
    }
    if block_days == 0 {
        anyhow::bail!("--block-days must be at least 1");
    }
    let symbols: Vec<String> = input.legs.iter().map(|(s, _)| s.clone()).collect();
    let history = History::new(bars, &symbols, input.from, input.to)?;
    let results = (0..paths as u64)
        .into_par_iter()
        .map(|i| run_path(input, &history, mode, seed, i, block_days))
        .collect::<Result<Vec<_>, _>>()?;
    summarize(&results, block_days, seed).ok_or_else(|| anyhow::anyhow!("no path ran"))
}
