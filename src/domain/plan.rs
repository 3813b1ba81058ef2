//! A DCA plan's rules: which symbols, how many dollars each run, pure or
//! smart, and the tier limits. Parsing never panics; a value of these types is
//! valid by construction.

use crate::domain::tier::Tier;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A ticker as the broker lists it: 1–10 of A–Z, 0–9, `.` and `-`,
/// starting with a letter; stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(String);

impl Symbol {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err("Enter a ticker symbol such as VTI.".into());
        }
        let valid = s.len() <= 10
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.' || c == '-');
        if valid {
            Ok(Self(s))
        } else {
            Err(format!("{} is not a ticker symbol.", raw.trim()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Symbol {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Symbol> for String {
    fn from(s: Symbol) -> Self {
        s.0
    }
}

impl std::fmt::Display for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The smallest notional order Alpaca accepts.
pub fn min_amount() -> Decimal {
    Decimal::ONE
}

/// Dollars per run for one symbol: at least $1, whole cents, at most `cap`.
pub fn parse_amount(raw: &str, cap: Decimal) -> Result<Decimal, String> {
    let cleaned = raw.trim().trim_start_matches('$').replace(',', "");
    let amount: Decimal = cleaned
        .parse()
        .map_err(|_| format!("{} is not a dollar amount.", raw.trim()))?;
    if amount.normalize().scale() > 2 {
        return Err("Use whole cents (at most two decimal places).".into());
    }
    if amount < min_amount() {
        return Err("The smallest order Alpaca accepts is $1.00.".into());
    }
    if amount > cap {
        return Err(format!(
            "At most ${cap} per symbol per run on this instance."
        ));
    }
    Ok(amount.normalize())
}

/// A weight as typed ("60", "33.3", "25%"): a positive number.
pub fn parse_weight(raw: &str) -> Result<Decimal, String> {
    let cleaned = raw.trim().trim_end_matches('%').trim();
    match cleaned.parse::<Decimal>() {
        Ok(w) if w > Decimal::ZERO && w <= Decimal::from(1_000_000) => Ok(w.normalize()),
        Ok(_) => Err("A weight must be a positive number.".into()),
        Err(_) => Err(format!(
            "{} is not a weight (use a number such as 60).",
            raw.trim()
        )),
    }
}

/// Splits `total` dollars per run by `weights` into whole cents that add up
/// to exactly `total`: each share rounded down, the cents left over handed
/// out one at a time to the largest remainders (earlier legs win ties).
pub fn split_total(total: Decimal, weights: &[Decimal]) -> Vec<Decimal> {
    let sum: Decimal = weights.iter().copied().sum();
    if weights.is_empty() || sum <= Decimal::ZERO {
        return vec![Decimal::ZERO; weights.len()];
    }
    let cents = (total * Decimal::ONE_HUNDRED).trunc();
    let exact: Vec<Decimal> = weights.iter().map(|w| cents * *w / sum).collect();
    let mut shares: Vec<Decimal> = exact.iter().map(|e| e.trunc()).collect();
    let mut left = cents - shares.iter().copied().sum::<Decimal>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| {
        (exact[*b] - shares[*b])
            .cmp(&(exact[*a] - shares[*a]))
            .then(a.cmp(b))
    });
    for i in order.into_iter().cycle() {
        if left <= Decimal::ZERO {
            break;
        }
        shares[i] += Decimal::ONE;
        left -= Decimal::ONE;
    }
    shares
        .into_iter()
        .map(|c| (c / Decimal::ONE_HUNDRED).normalize())
        .collect()
}

/// Pure DCA buys every run; smart DCA buys only when the last close is at or
/// below its simple moving average.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Mode {
    Pure,
    Smart {
        /// Days in the moving average (5 to 200).
        sma_days: u16,
        /// Add a skipped run's amount to the next run that buys.
        carry_skipped: bool,
    },
}

impl Mode {
    pub const DEFAULT_SMA_DAYS: u16 = 20;
    /// Smart DCA carries at most this many runs' worth of a leg's amount:
    /// however long a symbol stays above its average, one run never buys
    /// more than `1 + MAX_CARRIED_RUNS` times the leg's amount.
    pub const MAX_CARRIED_RUNS: u32 = 4;

    /// The most a leg buying `amount` per run may carry into a later run
    /// under this mode (nothing unless smart DCA carries skipped runs).
    pub fn carry_ceiling(&self, amount: Decimal) -> Decimal {
        match self {
            Mode::Smart {
                carry_skipped: true,
                ..
            } => amount * Decimal::from(Self::MAX_CARRIED_RUNS),
            _ => Decimal::ZERO,
        }
    }

    /// What a leg carries after this run skipped it, having carried
    /// `carried` into the run: its amount is added, up to the ceiling.
    pub fn carry_after_skip(&self, amount: Decimal, carried: Decimal) -> Decimal {
        (amount + carried.max(Decimal::ZERO)).min(self.carry_ceiling(amount))
    }

    /// The most one run may spend on a leg buying `amount` per run: the
    /// amount plus the most the plan's rules let it carry. Nothing above this
    /// is ever sent, whatever is stored.
    pub fn per_run_ceiling(&self, amount: Decimal) -> Decimal {
        amount + self.carry_ceiling(amount)
    }

    pub fn smart(sma_days: u16, carry_skipped: bool) -> Result<Self, String> {
        if !(5..=200).contains(&sma_days) {
            return Err("The moving average can cover 5 to 200 days.".into());
        }
        Ok(Mode::Smart {
            sma_days,
            carry_skipped,
        })
    }
}

/// The most symbols one plan may hold, whatever the tier allows.
pub const MAX_SYMBOLS_PER_PLAN: usize = 50;

/// One symbol of a plan and what it buys per run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub symbol: Symbol,
    pub amount: Decimal,
}

/// Checks the plan's size against the user's tier: symbols per plan and the
/// number of plans (`existing` not counting this one).
pub fn check_tier(tier: &Tier, legs: usize, existing_plans: usize) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    if let Some(max) = tier.max_symbols_per_plan
        && legs > max as usize
    {
        errors.push((
            "symbols",
            format!(
                "The {} plan allows {max} symbol(s) per plan; this plan has {legs}.",
                tier.name
            ),
        ));
    }
    if let Some(max) = tier.max_plans
        && existing_plans >= max as usize
    {
        errors.push((
            "form",
            format!(
                "The {} plan allows {max} active plan(s). Stop one, or upgrade.",
                tier.name
            ),
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tier::{Tier, TierId};
    use claims::{assert_err, assert_ok};

    #[test]
    fn smart_dca_carries_skipped_runs_up_to_a_ceiling() {
        let ten = Decimal::from(10);
        let carrying = assert_ok!(Mode::smart(20, true));
        let mut carried = Decimal::ZERO;
        for _ in 0..10 {
            carried = carrying.carry_after_skip(ten, carried);
        }
        assert_eq!(carried, Decimal::from(40), "four runs' worth at most");
        assert_eq!(carrying.per_run_ceiling(ten), Decimal::from(50));
        assert_eq!(
            carrying.carry_after_skip(ten, Decimal::from(15)),
            Decimal::from(25)
        );
        for other in [Mode::Pure, assert_ok!(Mode::smart(20, false))] {
            assert_eq!(
                other.carry_after_skip(ten, Decimal::from(30)),
                Decimal::ZERO
            );
            assert_eq!(other.per_run_ceiling(ten), ten);
        }
    }

    #[test]
    fn symbols_are_upper_cased_and_checked() {
        assert_eq!(assert_ok!(Symbol::parse(" vti ")).as_str(), "VTI");
        assert_eq!(assert_ok!(Symbol::parse("brk.a")).as_str(), "BRK.A");
        for bad in ["", "1ABC", "TOOLONGSYMBOL", "VT I", "VTI;DROP"] {
            assert_err!(Symbol::parse(bad), "{bad}");
        }
    }

    #[test]
    fn amounts_are_whole_cents_between_one_dollar_and_the_cap() {
        let cap = Decimal::from(10_000);
        assert_eq!(
            assert_ok!(parse_amount("$1,250.50", cap)),
            Decimal::new(125050, 2)
        );
        assert_eq!(assert_ok!(parse_amount("1", cap)), Decimal::ONE);
        assert!(assert_err!(parse_amount("0.99", cap)).contains("$1.00"));
        assert!(assert_err!(parse_amount("10.001", cap)).contains("cents"));
        assert!(assert_err!(parse_amount("10000.01", cap)).contains("At most"));
        assert!(assert_err!(parse_amount("ten", cap)).contains("not a dollar"));
    }

    #[test]
    fn a_total_split_by_weight_adds_up_to_the_cent() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(
            split_total(d("100"), &[d("60"), d("40")]),
            vec![d("60"), d("40")]
        );
        // Thirds: a cent left over goes to the first leg.
        let thirds = split_total(d("100"), &[d("1"), d("1"), d("1")]);
        assert_eq!(thirds, vec![d("33.34"), d("33.33"), d("33.33")]);
        // Largest remainder wins the spare cent.
        let split = split_total(d("10"), &[d("1"), d("2")]);
        assert_eq!(split, vec![d("3.33"), d("6.67")]);
        for (total, weights) in [
            ("99.99", vec!["33.3", "33.3", "33.4"]),
            ("1234.56", vec!["7", "11", "13", "17", "19"]),
            ("5", vec!["0.5", "99.5"]),
        ] {
            let weights: Vec<Decimal> = weights.into_iter().map(d).collect();
            let split = split_total(d(total), &weights);
            assert_eq!(split.iter().copied().sum::<Decimal>(), d(total), "{total}");
            assert!(split.iter().all(|s| s.scale() <= 2));
        }
    }

    #[test]
    fn weights_are_positive_numbers() {
        assert_eq!(assert_ok!(parse_weight("60%")), Decimal::from(60));
        assert_eq!(assert_ok!(parse_weight(" 33.5 ")), Decimal::new(335, 1));
        assert!(assert_err!(parse_weight("0")).contains("positive"));
        assert!(assert_err!(parse_weight("-5")).contains("positive"));
        assert!(assert_err!(parse_weight("lots")).contains("not a weight"));
    }

    #[test]
    fn smart_mode_needs_a_sensible_average() {
        assert_ok!(Mode::smart(20, true));
        assert_err!(Mode::smart(2, false));
        assert_err!(Mode::smart(500, false));
    }

    #[test]
    fn tier_limits_name_the_tier() {
        let free = Tier::defaults()
            .into_iter()
            .find(|t| t.id == TierId::Free)
            .unwrap();
        assert!(check_tier(&free, 3, 0).is_empty());
        let errors = check_tier(&free, 4, 1);
        assert_eq!(errors.len(), 2);
        assert!(errors[0].1.contains("Free"));
    }
}
