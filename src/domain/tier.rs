//! Subscription tiers and what each one allows.
//!
//! The four tier ids are fixed; their prices and limits come from configuration
//! (with the defaults below). Limits are enforced on the server; the browser only
//! displays them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which tier a subscriber is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TierId {
    Free,
    Basic,
    Pro,
    Premium,
}

impl TierId {
    pub const ALL: [TierId; 4] = [TierId::Free, TierId::Basic, TierId::Pro, TierId::Premium];

    pub fn as_str(self) -> &'static str {
        match self {
            TierId::Free => "free",
            TierId::Basic => "basic",
            TierId::Pro => "pro",
            TierId::Premium => "premium",
        }
    }
}

impl fmt::Display for TierId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TierId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TierId::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown tier {s:?}; expected one of free, basic, pro, premium"))
    }
}

/// How often a plan may run. `Custom` is a cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Daily,
    Weekly,
    Biweekly,
    Monthly,
    Custom,
}

impl Cadence {
    pub fn label(self) -> &'static str {
        match self {
            Cadence::Daily => "daily",
            Cadence::Weekly => "weekly",
            Cadence::Biweekly => "every two weeks",
            Cadence::Monthly => "monthly",
            Cadence::Custom => "custom schedules",
        }
    }
}

/// One tier's price and entitlements. `None` limits mean unlimited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tier {
    pub id: TierId,
    pub name: String,
    /// US dollars per month; zero for the free tier.
    pub monthly_price: Decimal,
    pub live_trading: bool,
    pub max_plans: Option<u32>,
    pub max_symbols_per_plan: Option<u32>,
    pub cadences: Vec<Cadence>,
    pub recommendations: bool,
    /// Strategy backtests (the MA crossover on the Backtest page). Every tier
    /// can compare its own plans, within [`Tier::backtesting`].
    pub backtests: bool,
    pub ai_analyst: bool,
    pub api_access: bool,
    /// How much backtesting the tier allows; left out of a configured tier
    /// table, the built-in limits for its id apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtest_limits: Option<BacktestLimits>,
}

/// How far a tier's backtests may go. Enforced on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BacktestLimits {
    /// Years of history one backtest may cover.
    pub years: u32,
    /// Monte Carlo paths per run; 0 for none.
    pub monte_carlo_paths: u32,
    /// Fast/slow pairs per parameter sweep; 0 for none.
    pub sweep_pairs: u32,
}

impl BacktestLimits {
    /// The built-in limits: every tier compares its plans over five years or
    /// more; robustness runs and sweeps grow with the tier.
    pub fn default_for(id: TierId) -> Self {
        let (years, monte_carlo_paths, sweep_pairs) = match id {
            TierId::Free => (5, 0, 0),
            TierId::Basic => (10, 500, 0),
            TierId::Pro => (25, 5_000, 400),
            TierId::Premium => (25, 20_000, 2_500),
        };
        BacktestLimits {
            years,
            monte_carlo_paths,
            sweep_pairs,
        }
    }
}

impl Tier {
    /// The built-in tier table, used unless configuration replaces it.
    pub fn defaults() -> Vec<Tier> {
        use Cadence::*;
        let all = vec![Daily, Weekly, Biweekly, Monthly, Custom];
        vec![
            Tier {
                id: TierId::Free,
                name: "Free".into(),
                monthly_price: Decimal::ZERO,
                live_trading: false,
                max_plans: Some(1),
                max_symbols_per_plan: Some(3),
                cadences: vec![Weekly],
                recommendations: false,
                backtests: false,
                ai_analyst: false,
                api_access: false,
                backtest_limits: None,
            },
            Tier {
                id: TierId::Basic,
                name: "Basic".into(),
                monthly_price: Decimal::from(9),
                live_trading: true,
                max_plans: Some(3),
                max_symbols_per_plan: Some(3),
                cadences: vec![Weekly],
                recommendations: false,
                backtests: false,
                ai_analyst: false,
                api_access: false,
                backtest_limits: None,
            },
            Tier {
                id: TierId::Pro,
                name: "Pro".into(),
                monthly_price: Decimal::from(19),
                live_trading: true,
                max_plans: Some(10),
                max_symbols_per_plan: Some(10),
                cadences: all.clone(),
                recommendations: true,
                backtests: true,
                ai_analyst: false,
                api_access: true,
                backtest_limits: None,
            },
            Tier {
                id: TierId::Premium,
                name: "Premium".into(),
                monthly_price: Decimal::from(29),
                live_trading: true,
                max_plans: None,
                max_symbols_per_plan: None,
                cadences: all,
                recommendations: true,
                backtests: true,
                ai_analyst: true,
                api_access: true,
                backtest_limits: None,
            },
        ]
    }

    /// The tier's backtest limits.
    pub fn backtesting(&self) -> BacktestLimits {
        self.backtest_limits
            .unwrap_or_else(|| BacktestLimits::default_for(self.id))
    }

    /// "$9/mo", "$19.50/mo", or "Free".
    pub fn price_label(&self) -> String {
        let p = self.monthly_price;
        if p.is_zero() {
            "Free".to_owned()
        } else if p.fract().is_zero() {
            format!("${}/mo", p.normalize())
        } else {
            format!("${p:.2}/mo")
        }
    }

    /// Human-readable entitlements, in the order the pricing page lists them.
    pub fn features(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.push(if self.live_trading {
            "Paper and live trading".to_owned()
        } else {
            "Paper trading only".to_owned()
        });
        out.push(match self.max_plans {
            None => "Unlimited plans".to_owned(),
            Some(1) => "1 plan".to_owned(),
            Some(n) => format!("{n} plans"),
        });
        out.push(match self.max_symbols_per_plan {
            None => "Unlimited symbols per plan".to_owned(),
            Some(1) => "1 symbol per plan".to_owned(),
            Some(n) => format!("{n} symbols per plan"),
        });
        let cadences: Vec<&str> = self.cadences.iter().map(|c| c.label()).collect();
        out.push(format!("Schedules: {}", cadences.join(", ")));
        for (on, shipped, label) in [
            (
                self.recommendations,
                SHIPPED.recommendations,
                "Strategy recommendations",
            ),
            (self.ai_analyst, SHIPPED.ai_analyst, "AI analyst rationale"),
            (self.api_access, SHIPPED.api_access, "API access"),
        ] {
            if on && shipped {
                out.push(label.to_owned());
            }
        }
        let b = self.backtesting();
        out.push(format!("Plan backtests over up to {} years", b.years));
        if SHIPPED.backtests {
            if self.backtests {
                out.push("Strategy backtests".to_owned());
            }
            if b.monte_carlo_paths > 0 {
                out.push(format!(
                    "Monte Carlo with up to {} paths",
                    crate::domain::money::grouped(u64::from(b.monte_carlo_paths))
                ));
            }
            if b.sweep_pairs > 0 {
                out.push(format!(
                    "Parameter sweeps of up to {} pairs",
                    crate::domain::money::grouped(u64::from(b.sweep_pairs))
                ));
            }
        }
        out
    }
}

/// Which of the add-on entitlements this build provides. A tier table may
/// grant one before it ships, but nothing offers or lists it until it has:
/// every claim the app makes must be true of the build that serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shipped {
    pub recommendations: bool,
    pub backtests: bool,
    pub ai_analyst: bool,
    pub api_access: bool,
}

/// What this build provides (flip each when the feature lands).
pub const SHIPPED: Shipped = Shipped {
    recommendations: true,
    backtests: true,
    ai_analyst: true,
    api_access: true,
};

/// Why a configured tier table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TierTableError {
    #[error("tier {0} is defined more than once")]
    Duplicate(TierId),
    #[error("tier {0} is missing; define all of free, basic, pro and premium")]
    Missing(TierId),
    #[error("tier {0}: the monthly price cannot be negative")]
    NegativePrice(TierId),
    #[error("tier {0}: a limit of 0 would allow nothing; leave it out for unlimited")]
    ZeroLimit(TierId),
    #[error("tier {0}: backtest_limits.years must be at least 1")]
    NoBacktestYears(TierId),
    #[error("tier {0}: allow at least one schedule cadence")]
    NoCadence(TierId),
    #[error("tier {0}: the name cannot be empty")]
    EmptyName(TierId),
}

/// A checked tier table: each tier exactly once, in `TierId` order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Tier>", into = "Vec<Tier>")]
pub struct TierTable(Vec<Tier>);

impl TryFrom<Vec<Tier>> for TierTable {
    type Error = TierTableError;

    fn try_from(tiers: Vec<Tier>) -> Result<Self, Self::Error> {
        TierTable::new(tiers)
    }
}

impl From<TierTable> for Vec<Tier> {
    fn from(table: TierTable) -> Self {
        table.0
    }
}

impl TierTable {
    pub fn new(mut tiers: Vec<Tier>) -> Result<Self, TierTableError> {
        tiers.sort_by_key(|t| t.id);
        for pair in tiers.windows(2) {
            if pair[0].id == pair[1].id {
                return Err(TierTableError::Duplicate(pair[0].id));
            }
        }
        for id in TierId::ALL {
            if !tiers.iter().any(|t| t.id == id) {
                return Err(TierTableError::Missing(id));
            }
        }
        for t in &tiers {
            if t.name.trim().is_empty() {
                return Err(TierTableError::EmptyName(t.id));
            }
            if t.monthly_price.is_sign_negative() && !t.monthly_price.is_zero() {
                return Err(TierTableError::NegativePrice(t.id));
            }
            if t.max_plans == Some(0) || t.max_symbols_per_plan == Some(0) {
                return Err(TierTableError::ZeroLimit(t.id));
            }
            if t.backtesting().years == 0 {
                return Err(TierTableError::NoBacktestYears(t.id));
            }
            if t.cadences.is_empty() {
                return Err(TierTableError::NoCadence(t.id));
            }
        }
        Ok(Self(tiers))
    }

    pub fn tiers(&self) -> &[Tier] {
        &self.0
    }

    pub fn get(&self, id: TierId) -> &Tier {
        // `new` guarantees every id is present exactly once.
        self.0
            .iter()
            .find(|t| t.id == id)
            .unwrap_or_else(|| unreachable!("tier table holds every tier"))
    }
}

impl Default for TierTable {
    fn default() -> Self {
        Self(Tier::defaults())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claims::{assert_err, assert_ok};

    #[test]
    fn the_default_table_is_valid_and_matches_the_published_prices() {
        let table = assert_ok!(TierTable::new(Tier::defaults()));
        let prices: Vec<String> = table.tiers().iter().map(Tier::price_label).collect();
        assert_eq!(prices, ["Free", "$9/mo", "$19/mo", "$29/mo"]);
        assert!(!table.get(TierId::Free).live_trading);
        assert_eq!(table.get(TierId::Premium).max_plans, None);
    }

    #[test]
    fn a_table_missing_a_tier_is_refused_by_name() {
        let mut tiers = Tier::defaults();
        tiers.retain(|t| t.id != TierId::Pro);
        assert_eq!(
            TierTable::new(tiers),
            Err(TierTableError::Missing(TierId::Pro))
        );
    }

    #[test]
    fn a_duplicated_tier_is_refused() {
        let mut tiers = Tier::defaults();
        tiers.push(tiers[0].clone());
        assert_eq!(
            TierTable::new(tiers),
            Err(TierTableError::Duplicate(TierId::Free))
        );
    }

    #[test]
    fn negative_prices_zero_limits_and_empty_cadences_are_refused() {
        let mut t = Tier::defaults();
        t[1].monthly_price = Decimal::new(-1, 0);
        assert_err!(TierTable::new(t));
        let mut t = Tier::defaults();
        t[2].max_plans = Some(0);
        assert_err!(TierTable::new(t));
        let mut t = Tier::defaults();
        t[3].cadences.clear();
        assert_err!(TierTable::new(t));
    }

    #[test]
    fn a_tier_lists_an_add_on_only_when_it_grants_it_and_this_build_provides_it() {
        let premium = Tier::defaults().remove(3);
        let free = Tier::defaults().remove(0);
        let listed = premium.features();
        for (granted, shipped, label) in [
            (
                premium.recommendations,
                SHIPPED.recommendations,
                "Strategy recommendations",
            ),
            (premium.backtests, SHIPPED.backtests, "Strategy backtests"),
            (
                premium.ai_analyst,
                SHIPPED.ai_analyst,
                "AI analyst rationale",
            ),
            (premium.api_access, SHIPPED.api_access, "API access"),
        ] {
            assert!(granted, "Premium grants {label}");
            assert_eq!(
                listed.iter().any(|f| f == label),
                shipped,
                "{label}: {listed:?}"
            );
            assert!(
                !free.features().iter().any(|f| f == label),
                "Free never lists {label}"
            );
        }
    }

    #[test]
    fn every_tier_backtests_its_plans_and_the_years_grow_with_the_tier() {
        let tiers = Tier::defaults();
        let years: Vec<u32> = tiers.iter().map(|t| t.backtesting().years).collect();
        assert_eq!(years, [5, 10, 25, 25]);
        assert!(
            tiers[0]
                .features()
                .contains(&"Plan backtests over up to 5 years".to_owned())
        );
        // A configured table may set its own limits; zero years is refused.
        let mut t = Tier::defaults();
        t[1].backtest_limits = Some(BacktestLimits {
            years: 0,
            monte_carlo_paths: 0,
            sweep_pairs: 0,
        });
        assert_eq!(
            TierTable::new(t),
            Err(TierTableError::NoBacktestYears(TierId::Basic))
        );
    }

    #[test]
    fn fractional_prices_are_shown_exactly() {
        let mut t = Tier::defaults().remove(1);
        t.monthly_price = "19.50".parse().expect("decimal");
        assert_eq!(t.price_label(), "$19.50/mo");
    }

    #[test]
    fn tier_ids_parse_case_insensitively_and_reject_unknowns() {
        assert_eq!("Premium".parse::<TierId>(), Ok(TierId::Premium));
        assert_err!("gold".parse::<TierId>());
    }
}
