//! An instant as pages show it, formatted once on the server in the reader's
//! zone (see `domain::when`).

use crate::domain::when;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Stamp {
    /// RFC 3339, UTC: for machines, exports and the tooltip.
    pub utc: String,
    /// In the reader's zone: "Mon 7 Dec, 8:30 CST".
    pub local: String,
    /// Relative to when the server answered, when within a week: "in 2 h".
    pub relative: Option<String>,
}

impl Stamp {
    pub fn new(at: DateTime<Utc>, zone: Tz, now: DateTime<Utc>) -> Self {
        Self {
            utc: when::rfc3339(at),
            local: when::local(at, zone, now),
            relative: when::relative(at, now),
        }
    }

    /// The instant again, for sorting and arithmetic.
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.utc)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// "2026-12-07 14:30:00 UTC", for a tooltip.
    pub fn utc_label(&self) -> String {
        self.instant().map_or_else(|| self.utc.clone(), when::utc)
    }
}
