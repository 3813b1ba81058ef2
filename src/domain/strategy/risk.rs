//! Position sizing by ATR, and stop-loss / take-profit exits.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Risk `risk_pct` percent of equity per trade over a stop `atr_multiple` ×
/// ATR below the entry: quantity = equity × risk_pct / 100 / (k × ATR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtrSizing {
    pub risk_pct: Decimal,
    pub atr_multiple: Decimal,
    pub atr_window: usize,
}

impl Default for AtrSizing {
    fn default() -> Self {
        Self {
            risk_pct: Decimal::ONE,
            atr_multiple: Decimal::TWO,
            atr_window: 14,
        }
    }
}

impl AtrSizing {
    /// The quantity to buy (fractional; the caller rounds to whole shares if
    /// it must), or `None` when the ATR gives no stop distance.
    pub fn quantity(&self, equity: Decimal, atr: Decimal) -> Option<Decimal> {
        let distance = self.atr_multiple * atr;
        if distance <= Decimal::ZERO || equity <= Decimal::ZERO {
            return None;
        }
        Some(equity * self.risk_pct / Decimal::ONE_HUNDRED / distance)
    }

    /// The stop this sizing assumes: k × ATR below the entry.
    pub fn stop(&self, entry: Decimal, atr: Decimal) -> Decimal {
        entry - self.atr_multiple * atr
    }
}

/// How far from the entry an exit sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    /// A percentage of the entry price.
    Percent(Decimal),
    /// A multiple of the ATR at entry.
    Atr(Decimal),
}

impl Level {
    fn distance(self, entry: Decimal, atr: Option<Decimal>) -> Option<Decimal> {
        match self {
            Level::Percent(p) => Some(entry * p / Decimal::ONE_HUNDRED),
            Level::Atr(k) => atr.map(|a| k * a),
        }
    }
}

/// The exits a long position carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exits {
    pub stop_loss: Option<Level>,
    pub take_profit: Option<Level>,
}

/// A position's stop and target prices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Levels {
    pub stop: Option<Decimal>,
    pub target: Option<Decimal>,
}

/// Why a position closed by rule, at what price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitHit {
    StopLoss(Decimal),
    TakeProfit(Decimal),
}

impl Exits {
    /// The prices for a position entered at `entry` (ATR-based levels need
    /// the ATR at entry; without it they are not set).
    pub fn levels(&self, entry: Decimal, atr: Option<Decimal>) -> Levels {
        Levels {
            stop: self
                .stop_loss
                .and_then(|l| l.distance(entry, atr))
                .map(|d| (entry - d).max(Decimal::ZERO)),
            target: self
                .take_profit
                .and_then(|l| l.distance(entry, atr))
                .map(|d| entry + d),
        }
    }
}

impl Levels {
    /// Whether a bar reaches the stop or the target. A bar that opens past a
    /// level fills at its open (a gap is not a fill at the level); a bar that
    /// spans both is taken as stopped out, the cautious reading of a daily bar.
    pub fn hit(&self, open: Decimal, high: Decimal, low: Decimal) -> Option<ExitHit> {
        if let Some(stop) = self.stop.filter(|s| low <= *s) {
            return Some(ExitHit::StopLoss(open.min(stop)));
        }
        self.target
            .filter(|t| high >= *t)
            .map(|t| ExitHit::TakeProfit(open.max(t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn atr_sizing_risks_the_chosen_share_of_equity_over_the_stop_distance() {
        let sizing = AtrSizing::default();
        // 1 % of $10,000 is $100 at risk; 2 × ATR 2.50 = $5 a share: 20 shares.
        assert_eq!(sizing.quantity(d("10000"), d("2.5")), Some(d("20")));
        assert_eq!(sizing.stop(d("100"), d("2.5")), d("95"));
        assert_eq!(sizing.quantity(d("10000"), Decimal::ZERO), None);
        assert_eq!(sizing.quantity(Decimal::ZERO, d("1")), None);
    }

    #[test]
    fn stops_and_targets_fill_at_the_level_or_at_a_gap_open() {
        let exits = Exits {
            stop_loss: Some(Level::Percent(d("5"))),
            take_profit: Some(Level::Atr(d("3"))),
        };
        let levels = exits.levels(d("100"), Some(d("2")));
        assert_eq!(
            levels,
            Levels {
                stop: Some(d("95")),
                target: Some(d("106"))
            }
        );
        assert_eq!(levels.hit(d("100"), d("104"), d("96")), None);
        assert_eq!(
            levels.hit(d("99"), d("100"), d("94")),
            Some(ExitHit::StopLoss(d("95")))
        );
        // Opened below the stop: out at the open.
        assert_eq!(
            levels.hit(d("90"), d("92"), d("89")),
            Some(ExitHit::StopLoss(d("90")))
        );
        assert_eq!(
            levels.hit(d("101"), d("107"), d("100")),
            Some(ExitHit::TakeProfit(d("106")))
        );
        assert_eq!(
            levels.hit(d("110"), d("111"), d("108")),
            Some(ExitHit::TakeProfit(d("110")))
        );
        // Both in one bar: stopped out.
        assert_eq!(
            levels.hit(d("100"), d("107"), d("94")),
            Some(ExitHit::StopLoss(d("95")))
        );
        // An ATR level without an ATR is not set.
        assert_eq!(exits.levels(d("100"), None).target, None);
    }
}
