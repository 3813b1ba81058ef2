//! The plan comparison: the plan as configured beside the other DCA mode, the
//! same total as a lump sum on day one, and a benchmark bought with the same
//! dated contributions, with the headline that says where the plan ended
//! against the benchmark (against the lump sum when there is none). The CLI's
//! `--compare` and the Backtest page both call [`compare`].

use super::plan::{self, Bars, Outcome, PlanError, PlanInput};
use crate::domain::plan::Mode;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Pure DCA, smart DCA, lump sum, then the benchmark when there is one.
    pub approaches: Vec<Outcome>,
    /// Which of `approaches` is the plan as configured.
    pub plan: usize,
    pub headline: String,
}

impl Comparison {
    pub fn plan(&self) -> &Outcome {
        &self.approaches[self.plan]
    }
}

/// Runs every approach over the same bars. `mode` is the plan's own; `smart`
/// is the smart DCA to compare a pure plan with (a smart plan is compared
/// with pure DCA).
pub fn compare(
    input: &PlanInput<'_>,
    bars: &Bars,
    mode: &Mode,
    smart: &Mode,
    benchmark: Option<&str>,
    risk_free_pct: f64,
) -> Result<Comparison, PlanError> {
    let is_smart = *mode != Mode::Pure;
    let pure = plan::dca(input, bars, &Mode::Pure, risk_free_pct)?;
    let smart = plan::dca(
        input,
        bars,
        if is_smart { mode } else { smart },
        risk_free_pct,
    )?;
    let mut approaches = vec![pure, smart, plan::lump_sum(input, bars, risk_free_pct)?];
    if let Some(symbol) = benchmark {
        approaches.push(plan::benchmark(input, bars, symbol, risk_free_pct)?);
    }
    let plan = usize::from(is_smart);
    let headline = plan::headline(&approaches[plan], &approaches[approaches.len() - 1]);
    Ok(Comparison {
        approaches,
        plan,
        headline,
    })
}
