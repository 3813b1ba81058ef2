//! The wizard's one draft: a signal per field, shared by every step, built
//! from a saved plan (or the defaults) and turned into a [`PlanInput`] for the
//! server to check.

use crate::api::plans::{LegInput, PlanInput};
use crate::domain::plan::Mode;
use crate::domain::schedule::{Cadence, MonthDay, TimeOfDay};
use chrono::{NaiveTime, Weekday};
use leptos::prelude::*;

/// One symbol of the draft, with its amount and weight as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LegRow {
    pub symbol: String,
    pub amount: String,
    pub weight: String,
}

fn weekday(s: &str) -> Weekday {
    s.parse().unwrap_or(Weekday::Mon)
}

/// The wizard's fields as text, from a saved plan or the defaults.
pub(super) struct Fields {
    cadence: &'static str,
    weekday: String,
    month_day: String,
    cron: String,
    time_kind: &'static str,
    time: String,
    minutes: String,
    mode: &'static str,
    sma_days: String,
    carry: bool,
}

impl Fields {
    fn of(input: Option<&PlanInput>) -> Self {
        let mut f = Fields {
            cadence: "weekly",
            weekday: "Mon".into(),
            month_day: "1".into(),
            cron: "35 9 * * 1-5".into(),
            time_kind: "local",
            time: "10:00".into(),
            minutes: "5".into(),
            mode: "pure",
            sma_days: "20".into(),
            carry: true,
        };
        let Some(input) = input else {
            return f;
        };
        match &input.cadence {
            Cadence::Daily => f.cadence = "daily",
            Cadence::Weekly { weekday } => {
                f.cadence = "weekly";
                f.weekday = weekday.to_string();
            }
            Cadence::Biweekly { weekday } => {
                f.cadence = "biweekly";
                f.weekday = weekday.to_string();
            }
            Cadence::Monthly { day } => {
                f.cadence = "monthly";
                f.month_day = match day {
                    MonthDay::FirstTradingDay => "first".into(),
                    MonthDay::LastTradingDay => "last".into(),
                    MonthDay::Day(d) => d.to_string(),
                };
            }
            Cadence::Custom { cron } => {
                f.cadence = "custom";
                f.cron = cron.clone();
            }
        }
        match input.time {
            TimeOfDay::Local(t) => f.time = t.format("%H:%M").to_string(),
            TimeOfDay::AfterOpen(m) => {
                f.time_kind = "after_open";
                f.minutes = m.to_string();
            }
        }
        if let Mode::Smart {
            sma_days,
            carry_skipped,
        } = input.mode
        {
            f.mode = "smart";
            f.sma_days = sma_days.to_string();
            f.carry = carry_skipped;
        }
        f
    }
}

/// Every field of the plan being made, as signals: each step reads and
/// writes the same draft.
#[derive(Clone, Copy)]
pub(super) struct Draft {
    pub connection: RwSignal<Option<i64>>,
    pub legs: RwSignal<Vec<LegRow>>,
    /// A total per run split by weight, instead of an amount per symbol.
    pub split: RwSignal<bool>,
    pub total: RwSignal<String>,
    pub cadence: RwSignal<String>,
    pub weekday_sel: RwSignal<String>,
    pub month_day: RwSignal<String>,
    pub cron: RwSignal<String>,
    pub time_kind: RwSignal<String>,
    pub time: RwSignal<String>,
    pub minutes: RwSignal<String>,
    pub time_zone: RwSignal<String>,
    pub start_date: RwSignal<String>,
    pub end_date: RwSignal<String>,
    pub max_total: RwSignal<String>,
    pub catch_up: RwSignal<String>,
    pub mode: RwSignal<String>,
    pub sma_days: RwSignal<String>,
    pub carry: RwSignal<bool>,
    pub name: RwSignal<String>,
}

impl Draft {
    /// A draft of `saved` (a plan being edited), or of a new plan.
    pub fn new(saved: Option<&PlanInput>) -> Self {
        let f = Fields::of(saved);
        let text = |get: fn(&PlanInput) -> Option<String>| {
            RwSignal::new(saved.and_then(get).unwrap_or_default())
        };
        Draft {
            connection: RwSignal::new(saved.map(|s| s.connection_id)),
            legs: RwSignal::new(
                saved
                    .map(|s| {
                        s.legs
                            .iter()
                            .map(|l| LegRow {
                                symbol: l.symbol.clone(),
                                amount: l.amount.clone(),
                                weight: String::new(),
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            ),
            split: RwSignal::new(false),
            total: RwSignal::new("100".to_owned()),
            cadence: RwSignal::new(f.cadence.to_owned()),
            weekday_sel: RwSignal::new(f.weekday),
            month_day: RwSignal::new(f.month_day),
            cron: RwSignal::new(f.cron),
            time_kind: RwSignal::new(f.time_kind.to_owned()),
            time: RwSignal::new(f.time),
            minutes: RwSignal::new(f.minutes),
            time_zone: text(|s| Some(s.time_zone.clone())),
            start_date: text(|s| Some(s.start_date.clone())),
            end_date: text(|s| s.end_date.clone()),
            max_total: text(|s| s.max_total.clone()),
            catch_up: text(|s| s.catch_up_minutes.clone()),
            mode: RwSignal::new(f.mode.to_owned()),
            sma_days: RwSignal::new(f.sma_days),
            carry: RwSignal::new(f.carry),
            name: text(|s| Some(s.name.clone())),
        }
    }

    /// Adds `symbol` (once) with a starting amount and weight.
    pub fn add_symbol(&self, symbol: String) {
        self.legs.update(|l| {
            if !l.iter().any(|x| x.symbol == symbol) {
                l.push(LegRow {
                    symbol,
                    amount: "25".into(),
                    weight: "1".into(),
                });
            }
        });
    }

    /// The plan as entered, for the server to check; what cannot even be
    /// sent (no account, a time that is not HH:MM) is said here.
    pub fn build(&self) -> Result<PlanInput, String> {
        let d = *self;
        let connection_id = d.connection.get().ok_or("Choose an account first.")?;
        let cadence = match d.cadence.get().as_str() {
            "daily" => Cadence::Daily,
            "biweekly" => Cadence::Biweekly {
                weekday: weekday(&d.weekday_sel.get()),
            },
            "monthly" => Cadence::Monthly {
                day: match d.month_day.get().as_str() {
                    "first" => MonthDay::FirstTradingDay,
                    "last" => MonthDay::LastTradingDay,
                    day => MonthDay::Day(day.parse().unwrap_or(1)),
                },
            },
            "custom" => Cadence::Custom { cron: d.cron.get() },
            _ => Cadence::Weekly {
                weekday: weekday(&d.weekday_sel.get()),
            },
        };
        let time = if d.time_kind.get() == "after_open" {
            TimeOfDay::AfterOpen(
                d.minutes
                    .get()
                    .trim()
                    .parse()
                    .map_err(|_| "Minutes after the open must be a whole number.")?,
            )
        } else {
            TimeOfDay::Local(
                NaiveTime::parse_from_str(d.time.get().trim(), "%H:%M")
                    .map_err(|_| "Enter the time as HH:MM, e.g. 10:00.")?,
            )
        };
        let mode = if d.mode.get() == "smart" {
            Mode::Smart {
                sma_days: d
                    .sma_days
                    .get()
                    .trim()
                    .parse()
                    .map_err(|_| "The moving average needs a whole number of days.")?,
                carry_skipped: d.carry.get(),
            }
        } else {
            Mode::Pure
        };
        let opt = |s: String| (!s.trim().is_empty()).then_some(s);
        let split = d.split.get();
        Ok(PlanInput {
            name: d.name.get(),
            connection_id,
            legs: d
                .legs
                .get()
                .into_iter()
                .map(|l| LegInput {
                    symbol: l.symbol,
                    amount: l.amount,
                    weight: split.then_some(l.weight),
                })
                .collect(),
            cadence,
            time,
            time_zone: d.time_zone.get(),
            start_date: d.start_date.get(),
            end_date: opt(d.end_date.get()),
            max_total: opt(d.max_total.get()),
            mode,
            per_run_total: split.then(|| d.total.get()),
            catch_up_minutes: opt(d.catch_up.get()),
        })
    }
}
