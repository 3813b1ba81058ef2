//! A strategy backtest run in the background (the API's backtest jobs).

use crate::domain::run::state_enum;
use serde::{Deserialize, Serialize};

state_enum!(
    /// Where a background backtest is.
    JobStatus, "backtest job status", {
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
);
