//! The moving-average crossover: enter when the fast simple average crosses
//! above the slow one (optionally only on above-average volume and above a
//! long trend average), exit when it crosses back below.
//!
//! A cross up happens on bar t when fast[t−1] < slow[t−1] and fast[t] >
//! slow[t]; a cross down when fast[t−1] > slow[t−1] and fast[t] < slow[t].
//! Touching (equal averages) is not a cross. No signal comes before both
//! averages exist on two consecutive bars, and an entry needs every enabled
//! filter's window filled too.

use super::indicators::{average_volume, sma};
use super::{Action, Bar, Signal};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaCrossover {
    pub fast: usize,
    pub slow: usize,
    /// Enter only when the bar's volume is above its average over this many
    /// bars (the bar included).
    pub volume_window: Option<usize>,
    /// Enter only when the close is above its simple average over this many
    /// bars (200 is the usual trend filter).
    pub trend_window: Option<usize>,
}

impl Default for MaCrossover {
    fn default() -> Self {
        Self {
            fast: 5,
            slow: 20,
            volume_window: None,
            trend_window: None,
        }
    }
}

/// The indicator lines a crossover reads, one value per bar. A sweep builds
/// each window's line once and shares it between the pairs that use it.
#[derive(Debug, Clone, Copy)]
pub struct Lines<'a> {
    pub fast: &'a [Option<Decimal>],
    pub slow: &'a [Option<Decimal>],
    pub volume: Option<&'a [Option<Decimal>]>,
    pub trend: Option<&'a [Option<Decimal>]>,
}

/// The crossover rule, on the fast average's relation to the slow one on the
/// bar before and on this bar: a cross up (enter) when it was below and is
/// now above, a cross down (exit) mirrored; touching is not crossing.
pub fn cross(before: Ordering, now: Ordering) -> Option<Action> {
    match (before, now) {
        (Ordering::Less, Ordering::Greater) => Some(Action::Enter),
        (Ordering::Greater, Ordering::Less) => Some(Action::Exit),
        _ => None,
    }
}

/// Every bar where [`cross`] fires, given each bar's relation (`None` while
/// an average is not yet defined).
pub fn crosses(relations: impl IntoIterator<Item = Option<Ordering>>) -> Vec<(usize, Action)> {
    let mut previous = None;
    let mut out = Vec::new();
    for (t, now) in relations.into_iter().enumerate() {
        if let (Some(before), Some(now)) = (previous, now)
            && let Some(action) = cross(before, now)
        {
            out.push((t, action));
        }
        previous = now;
    }
    out
}

impl MaCrossover {
    /// Why these windows cannot work, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.fast == 0 || self.slow == 0 {
            return Err("the averages need at least one bar each".into());
        }
        if self.fast >= self.slow {
            return Err(format!(
                "the fast average ({}) must be shorter than the slow one ({})",
                self.fast, self.slow
            ));
        }
        if self.volume_window == Some(0) || self.trend_window == Some(0) {
            return Err("a filter's window needs at least one bar".into());
        }
        Ok(())
    }

    /// Every signal over `bars`, oldest first.
    pub fn signals(&self, bars: &[Bar]) -> Vec<Signal> {
        self.with_lines(bars, |lines| self.signals_from(bars, lines))
    }

    /// The signal on the last bar's close, if there is one (what a daily
    /// analysis asks of today's bar).
    pub fn last_signal(&self, bars: &[Bar]) -> Option<Signal> {
        let t = bars.len().checked_sub(1)?;
        self.with_lines(bars, |lines| self.signal_at(bars, lines, t))
    }

    /// Computes this rule's lines over `bars` and hands them to `f`.
    fn with_lines<R>(&self, bars: &[Bar], f: impl FnOnce(Lines<'_>) -> R) -> R {
        let closes: Vec<Decimal> = bars.iter().map(|b| b.close).collect();
        let fast = sma(&closes, self.fast);
        let slow = sma(&closes, self.slow);
        let volume = self.volume_window.map(|n| average_volume(bars, n));
        let trend = self.trend_window.map(|n| sma(&closes, n));
        f(Lines {
            fast: &fast,
            slow: &slow,
            volume: volume.as_deref(),
            trend: trend.as_deref(),
        })
    }

    /// Every signal over `bars`, reading lines already computed for them.
    pub fn signals_from(&self, bars: &[Bar], lines: Lines<'_>) -> Vec<Signal> {
        // One comparison per bar finds the crosses; `signal_at` explains each
        // (and applies the entry filters).
        let n = bars.len().min(lines.fast.len()).min(lines.slow.len());
        let relations = (0..n).map(|t| Some(lines.fast[t]?.cmp(&lines.slow[t]?)));
        crosses(relations)
            .into_iter()
            .filter_map(|(t, _)| self.signal_at(bars, lines, t))
            .collect()
    }

    /// The signals of the bare crossover (no filters) from each bar's
    /// relation of the fast average to the slow one, without the words and
    /// values that explain them: what a sweep needs of every pair, found by
    /// [`crosses`], the same rule [`MaCrossover::signals_from`] applies.
    pub fn quiet_signals(
        bars: &[Bar],
        relations: impl IntoIterator<Item = Option<Ordering>>,
    ) -> Vec<Signal> {
        crosses(relations)
            .into_iter()
            .filter_map(|(t, action)| {
                Some(Signal {
                    bar: t,
                    date: bars.get(t)?.date,
                    action,
                    reason: String::new(),
                    values: Vec::new(),
                })
            })
            .collect()
    }

    /// The signal on bar `t`'s close, if there is one.
    pub fn signal_at(&self, bars: &[Bar], lines: Lines<'_>, t: usize) -> Option<Signal> {
        let prev = t.checked_sub(1)?;
        let (f0, s0) = (lines.fast[prev]?, lines.slow[prev]?);
        let (f1, s1) = (lines.fast[t]?, lines.slow[t]?);
        let down = match cross(f0.cmp(&s0), f1.cmp(&s1))? {
            Action::Exit => true,
            Action::Enter => false,
        };
        let bar = &bars[t];
        let (fast, slow) = (self.fast, self.slow);
        let mut values = vec![
            ("close".to_owned(), bar.close),
            (format!("sma_{fast}"), f1),
            (format!("sma_{slow}"), s1),
        ];
        if down {
            return Some(Signal {
                bar: t,
                date: bar.date,
                action: Action::Exit,
                reason: format!(
                    "the {fast}-day average ({f1:.2}) crossed below the {slow}-day average ({s1:.2})"
                ),
                values,
            });
        }
        let mut reason = format!(
            "the {fast}-day average ({f1:.2}) crossed above the {slow}-day average ({s1:.2})"
        );
        if let (Some(n), Some(line)) = (self.volume_window, lines.volume) {
            let average = line[t]?;
            if bar.volume <= average {
                return None;
            }
            reason.push_str(&format!(
                ", on volume {} above its {n}-day average {average:.0}",
                bar.volume.normalize()
            ));
            values.push(("volume".to_owned(), bar.volume));
            values.push((format!("avg_volume_{n}"), average));
        }
        if let (Some(n), Some(line)) = (self.trend_window, lines.trend) {
            let average = line[t]?;
            if bar.close <= average {
                return None;
            }
            reason.push_str(&format!(
                ", with the close above its {n}-day average {average:.2}"
            ));
            values.push((format!("sma_{n}"), average));
        }
        Some(Signal {
            bar: t,
            date: bar.date,
            action: Action::Enter,
            reason,
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    pub(crate) fn closes(values: &[i64]) -> Vec<Bar> {
        values
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = Decimal::from(*c);
                Bar {
                    date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
                        + chrono::Days::new(i as u64),
                    open: c,
                    high: c,
                    low: c,
                    close: c,
                    volume: Decimal::from(1000 + i as i64),
                }
            })
            .collect()
    }

    fn pair(fast: usize, slow: usize) -> MaCrossover {
        MaCrossover {
            fast,
            slow,
            ..MaCrossover::default()
        }
    }

    #[test]
    fn a_step_up_and_back_down_crosses_once_each_way() {
        // 2-day vs 3-day averages: bar 3 has fast 9.5 < slow 9.67, bar 4 fast
        // 14.5 > slow 13: a cross up. Bar 6 has them equal (20 = 20), and a
        // touch is not a cross, so bar 7 (fast 12.5 < slow 15) is not a cross
        // down: from equal, neither side was left.
        let bars = closes(&[10, 10, 10, 9, 20, 20, 20, 5, 5, 5]);
        let got: Vec<(usize, Action)> = pair(2, 3)
            .signals(&bars)
            .iter()
            .map(|s| (s.bar, s.action))
            .collect();
        assert_eq!(got, [(4, Action::Enter)]);
        let bars = closes(&[10, 10, 10, 9, 20, 21, 5, 5]);
        let got: Vec<(usize, Action)> = pair(2, 3)
            .signals(&bars)
            .iter()
            .map(|s| (s.bar, s.action))
            .collect();
        // Bar 5: fast 20.5 > slow 16.67. Bar 6: fast 13 < slow 15.33: cross down.
        assert_eq!(got, [(4, Action::Enter), (6, Action::Exit)]);
    }

    #[test]
    fn a_signal_says_why_and_shows_its_values() {
        let bars = closes(&[10, 10, 10, 9, 20]);
        let s = &pair(2, 3).signals(&bars)[0];
        assert_eq!(
            s.reason,
            "the 2-day average (14.50) crossed above the 3-day average (13.00)"
        );
        assert_eq!(
            s.values,
            [
                ("close".to_owned(), Decimal::from(20)),
                ("sma_2".to_owned(), "14.5".parse().unwrap()),
                ("sma_3".to_owned(), Decimal::from(13)),
            ]
        );
    }

    #[test]
    fn filters_hold_back_an_entry_but_never_an_exit() {
        let mut bars = closes(&[10, 10, 10, 9, 20, 21, 5, 5]);
        // Bar 4's volume is below its 3-day average: no entry.
        bars[4].volume = Decimal::from(10);
        let volume = MaCrossover {
            volume_window: Some(3),
            ..pair(2, 3)
        };
        let got: Vec<Action> = volume.signals(&bars).iter().map(|s| s.action).collect();
        assert_eq!(got, [Action::Exit]);
        // Above-average volume lets it through, and says so.
        bars[4].volume = Decimal::from(5000);
        let s = &volume.signals(&bars)[0];
        assert!(
            s.reason.contains("on volume 5000 above its 3-day average"),
            "{}",
            s.reason
        );
        // A trend window longer than the history holds back every entry.
        let trend = MaCrossover {
            trend_window: Some(200),
            ..pair(2, 3)
        };
        assert!(
            trend
                .signals(&bars)
                .iter()
                .all(|s| s.action == Action::Exit)
        );
        let trend = MaCrossover {
            trend_window: Some(4),
            ..pair(2, 3)
        };
        // Bar 4: close 20 above its 4-day average 12.25.
        assert!(
            trend.signals(&bars)[0]
                .reason
                .contains("close above its 4-day average 12.25")
        );
    }

    #[test]
    fn windows_that_cannot_work_are_refused() {
        assert!(pair(5, 20).check().is_ok());
        assert!(pair(20, 20).check().is_err());
        assert!(pair(0, 20).check().is_err());
        assert!(
            MaCrossover {
                trend_window: Some(0),
                ..pair(5, 20)
            }
            .check()
            .is_err()
        );
    }
}
