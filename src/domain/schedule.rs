//! When a plan buys: its run times ("slots") as a pure function of the plan's
//! schedule, the NYSE calendar and time zones. The engine persists these
//! instants; the wizard shows the next few.
//!
//! Rules, in order:
//! 1. Each cadence names *nominal dates* in the user's time zone (every day,
//!    a weekday, every other week, a day of the month, a cron expression), or
//!    market dates for "first/last trading day" and "N minutes after the
//!    open". The time of day is the user's wall-clock time on that date; a
//!    time that does not exist (a daylight-saving gap) reads an hour later,
//!    a time that exists twice takes the first.
//! 2. The instant falls on a New York date. If that date does not trade
//!    (weekend, holiday), the slot moves to the next trading day at the same
//!    wall-clock time.
//! 3. The slot is kept inside the regular session: before the open it moves
//!    to the open; at or after the close (an early-close day, or the weeks when
//!    US and local daylight-saving time differ) it moves to 15 minutes before
//!    the close.
//! 4. A plan buys at most once per trading day: a slot that lands on a
//!    trading day that already has one is dropped. Slots are therefore
//!    strictly increasing, on trading days, inside the session.

use crate::domain::calendar::{self, TradingDay};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// How long before the close a slot that would land after it is moved to.
pub const BEFORE_CLOSE: Duration = Duration::minutes(15);

/// Which day of the month a monthly plan buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind", content = "day")]
pub enum MonthDay {
    /// 1 to 28 (29–31 are not offered: not every month has them).
    Day(u8),
    FirstTradingDay,
    LastTradingDay,
}

/// How often a plan buys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Cadence {
    /// Every trading day.
    Daily,
    Weekly {
        /// `Mon` to `Fri` (or the day's full name).
        #[cfg_attr(feature = "ssr", schema(value_type = String, example = "Mon"))]
        weekday: Weekday,
    },
    /// Every other week on `weekday`, counting from the start date's week.
    Biweekly {
        /// `Mon` to `Fri` (or the day's full name).
        #[cfg_attr(feature = "ssr", schema(value_type = String, example = "Mon"))]
        weekday: Weekday,
    },
    Monthly {
        day: MonthDay,
    },
    /// A five-field cron expression (minute hour day-of-month month
    /// day-of-week) in the user's time zone, firing at most once a day. Its
    /// own minute and hour are the time of day.
    Custom {
        cron: String,
    },
}

impl Cadence {
    /// The tier entitlement this cadence needs.
    pub fn kind(&self) -> crate::domain::tier::Cadence {
        use crate::domain::tier::Cadence as K;
        match self {
            Cadence::Daily => K::Daily,
            Cadence::Weekly { .. } => K::Weekly,
            Cadence::Biweekly { .. } => K::Biweekly,
            Cadence::Monthly { .. } => K::Monthly,
            Cadence::Custom { .. } => K::Custom,
        }
    }
}

/// When in the day a plan buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum TimeOfDay {
    /// Wall-clock time in the user's zone.
    Local(NaiveTime),
    /// This many minutes after the market opens (on market dates).
    AfterOpen(u16),
}

/// A validated schedule. Build it with [`Schedule::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    cadence: Cadence,
    time: TimeOfDay,
    zone: Tz,
    start: NaiveDate,
    end: Option<NaiveDate>,
    cron: Option<croner::Cron>,
}

/// What is wrong with a schedule, in words for the form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0} is not a time zone we know (use a name like America/New_York).")]
    UnknownZone(String),
    #[error("Monthly plans can buy on day 1 to 28, or on the first or last trading day.")]
    MonthDayOutOfRange,
    #[error("{0}")]
    TimeOutsideSession(String),
    #[error("Start at the open or up to 375 minutes after it (the session is 6½ hours).")]
    AfterOpenTooLate,
    #[error("The end date is before the start date.")]
    EndBeforeStart,
    #[error("That cron expression is not valid: {0}")]
    BadCron(String),
    #[error("That cron expression never fires.")]
    CronNeverFires,
    #[error("That cron expression fires more than once a day; plans buy at most daily.")]
    CronTooFrequent,
}

/// Why a slot is not at the plan's nominal time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjustment {
    /// The nominal day does not trade; moved to the next one that does.
    NextTradingDay,
    /// Before the open; moved to the open.
    ToOpen,
    /// At or after the close; moved to shortly before it.
    BeforeClose,
}

/// One run of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub at: DateTime<Utc>,
    /// The New York trading date the run belongs to.
    pub trading_date: NaiveDate,
    pub adjustments: [Option<Adjustment>; 2],
}

/// The user's wall-clock `time` on `date`, resolved through DST: a gap moves
/// forward by its length, a repeated hour takes its first occurrence.
pub fn local_instant(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    match zone.from_local_datetime(&naive).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => {
            // Inside a gap: the wall-clock reading an hour later, past it.
            let later = naive + Duration::hours(1);
            zone.from_local_datetime(&later)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
        }
    }
}

fn ny_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::America::New_York).date_naive()
}

fn week_monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// Where in New York's session a wall-clock time in `zone` falls, on a
/// standard-time and a summer-time date: both must be inside the session.
fn check_local_time(zone: Tz, time: NaiveTime) -> Result<(), ScheduleError> {
    let probes = [(2026, 1, 14), (2026, 7, 15)]; // ordinary Wednesdays
    let mut windows = Vec::new();
    let mut outside = false;
    for (y, m, d) in probes {
        let date = NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN);
        // The user date whose `time` lands on this New York date.
        let landed = (-1..=1).find_map(|k| {
            let at = local_instant(zone, date + Duration::days(k), time);
            (ny_date(at) == date).then_some(at)
        });
        let day = calendar::trading_day(date);
        match (landed, day) {
            (Some(at), Some(day)) if day.open_at() <= at && at < day.close_at() => {}
            _ => outside = true,
        }
        if let Some(day) = day {
            let open = day.open_at().with_timezone(&zone).time();
            let close = day.close_at().with_timezone(&zone).time();
            windows.push((open, close));
        }
    }
    if !outside {
        return Ok(());
    }
    let fmt = |t: NaiveTime| t.format("%H:%M").to_string();
    let message = match common_window(&windows) {
        Some((from, to)) => format!(
            "The market is closed at {} in {zone} for at least part of the year. Choose a time from {} to before {} (09:30–16:00 in New York).",
            fmt(time),
            fmt(from),
            fmt(to)
        ),
        None => format!(
            "The market is closed at {} in {zone}. Choose a time inside New York's 09:30–16:00 session, or \u{201c}minutes after the open\u{201d}.",
            fmt(time)
        ),
    };
    Err(ScheduleError::TimeOutsideSession(message))
}

/// The longest stretch of wall-clock time inside every `(open, close)`
/// window (each may wrap past midnight), as `(from, to)`.
fn common_window(windows: &[(NaiveTime, NaiveTime)]) -> Option<(NaiveTime, NaiveTime)> {
    use chrono::Timelike;
    const DAY: usize = 24 * 60;
    let minute = |t: NaiveTime| (t.hour() * 60 + t.minute()) as usize;
    let mut inside = [true; DAY];
    for (open, close) in windows {
        let (o, c) = (minute(*open), minute(*close));
        for (m, flag) in inside.iter_mut().enumerate() {
            let within = if o <= c {
                o <= m && m < c
            } else {
                m >= o || m < c
            };
            *flag &= within;
        }
    }
    // Longest run of `true`, wrapping around midnight.
    let (mut best, mut best_start) = (0, 0);
    for start in (0..DAY).filter(|&m| inside[m] && !inside[(m + DAY - 1) % DAY]) {
        let len = (0..DAY).take_while(|k| inside[(start + k) % DAY]).count();
        if len > best {
            (best, best_start) = (len, start);
        }
    }
    let at = |m: usize| NaiveTime::from_hms_opt((m / 60) as u32, (m % 60) as u32, 0);
    (best > 0).then(|| at(best_start).zip(at((best_start + best) % DAY)))?
}

/// The longest cron expression looked at (a five-field expression that
/// fires at most daily is far shorter).
pub const MAX_CRON_LEN: usize = 100;

/// A five-field cron expression, checked to fire, and at most daily.
fn parse_cron(expr: &str, zone: Tz) -> Result<croner::Cron, ScheduleError> {
    if expr.len() > MAX_CRON_LEN {
        return Err(ScheduleError::BadCron(format!(
            "at most {MAX_CRON_LEN} characters"
        )));
    }
    let fields = expr.split_whitespace().count();
    if fields != 5 {
        return Err(ScheduleError::BadCron(format!(
            "expected 5 fields (minute hour day month weekday), found {fields}"
        )));
    }
    let cron = croner::Cron::from_str(expr).map_err(|e| ScheduleError::BadCron(e.to_string()))?;
    // Four years from a leap day covers every date pattern.
    let from = zone.from_utc_datetime(
        &NaiveDate::from_ymd_opt(2028, 1, 1)
            .unwrap_or(NaiveDate::MIN)
            .and_time(NaiveTime::MIN),
    );
    let horizon = from + Duration::days(4 * 366 + 1);
    let mut fires = cron.iter_after(from).take_while(|t| *t < horizon).take(400);
    let Some(mut previous) = fires.next() else {
        return Err(ScheduleError::CronNeverFires);
    };
    for next in fires {
        if next.date_naive() == previous.date_naive() {
            return Err(ScheduleError::CronTooFrequent);
        }
        previous = next;
    }
    Ok(cron)
}

impl Schedule {
    /// Checks and builds a schedule. `zone` is an IANA name.
    pub fn new(
        cadence: Cadence,
        time: TimeOfDay,
        zone: &str,
        start: NaiveDate,
        end: Option<NaiveDate>,
    ) -> Result<Self, ScheduleError> {
        let zone: Tz = zone
            .parse()
            .map_err(|_| ScheduleError::UnknownZone(zone.to_owned()))?;
        if let Cadence::Monthly {
            day: MonthDay::Day(d),
        } = cadence
            && !(1..=28).contains(&d)
        {
            return Err(ScheduleError::MonthDayOutOfRange);
        }
        if end.is_some_and(|e| e < start) {
            return Err(ScheduleError::EndBeforeStart);
        }
        let cron = match &cadence {
            Cadence::Custom { cron } => Some(parse_cron(cron, zone)?),
            _ => None,
        };
        let time = match (&cron, time) {
            // The cron's own hour and minute are the time of day.
            (Some(c), _) => {
                let probe = zone.from_utc_datetime(
                    &NaiveDate::from_ymd_opt(2028, 1, 1)
                        .unwrap_or(NaiveDate::MIN)
                        .and_time(NaiveTime::MIN),
                );
                let first = c
                    .find_next_occurrence(&probe, false)
                    .map_err(|_| ScheduleError::CronNeverFires)?;
                TimeOfDay::Local(first.time())
            }
            (None, t) => t,
        };
        match time {
            TimeOfDay::Local(t) => check_local_time(zone, t)?,
            TimeOfDay::AfterOpen(m) if m > 375 => return Err(ScheduleError::AfterOpenTooLate),
            TimeOfDay::AfterOpen(_) => {}
        }
        Ok(Self {
            cadence,
            time,
            zone,
            start,
            end,
            cron,
        })
    }

    pub fn cadence(&self) -> &Cadence {
        &self.cadence
    }
    pub fn time(&self) -> TimeOfDay {
        self.time
    }
    pub fn zone(&self) -> Tz {
        self.zone
    }
    pub fn start(&self) -> NaiveDate {
        self.start
    }
    pub fn end(&self) -> Option<NaiveDate> {
        self.end
    }

    /// The schedule in words: "Every Monday at 10:00 (America/New_York)".
    pub fn describe(&self) -> String {
        let day_name = |w: Weekday| match w {
            Weekday::Mon => "Monday",
            Weekday::Tue => "Tuesday",
            Weekday::Wed => "Wednesday",
            Weekday::Thu => "Thursday",
            Weekday::Fri => "Friday",
            Weekday::Sat => "Saturday",
            Weekday::Sun => "Sunday",
        };
        let how = match &self.cadence {
            Cadence::Daily => "Every trading day".to_owned(),
            Cadence::Weekly { weekday } => format!("Every {}", day_name(*weekday)),
            Cadence::Biweekly { weekday } => format!("Every other {}", day_name(*weekday)),
            Cadence::Monthly { day } => match day {
                MonthDay::Day(d) => format!("Monthly on day {d}"),
                MonthDay::FirstTradingDay => "On the first trading day of each month".to_owned(),
                MonthDay::LastTradingDay => "On the last trading day of each month".to_owned(),
            },
            Cadence::Custom { cron } => format!("On the cron schedule \u{201c}{cron}\u{201d}"),
        };
        let when = match self.time {
            TimeOfDay::Local(t) => format!("at {} ({})", t.format("%H:%M"), self.zone.name()),
            TimeOfDay::AfterOpen(0) => "at the open".to_owned(),
            TimeOfDay::AfterOpen(m) => format!("{m} minutes after the open"),
        };
        format!("{how} {when}")
    }

    /// Whether `date` (in the user's zone, or the market's for market-date
    /// cadences) is a nominal run date.
    fn is_nominal(&self, date: NaiveDate) -> bool {
        match &self.cadence {
            Cadence::Daily => true,
            Cadence::Weekly { weekday } => date.weekday() == *weekday,
            Cadence::Biweekly { weekday } => {
                date.weekday() == *weekday
                    && (week_monday(date) - week_monday(self.start)).num_weeks() % 2 == 0
            }
            Cadence::Monthly { day } => match day {
                MonthDay::Day(d) => date.day() == u32::from(*d),
                MonthDay::FirstTradingDay => calendar::trading_day(date).is_some_and(|_| {
                    calendar::next_trading_day_from(date.with_day(1).unwrap_or(date)).date == date
                }),
                MonthDay::LastTradingDay => calendar::trading_day(date).is_some_and(|_| {
                    calendar::next_trading_day_from(date + Duration::days(1))
                        .date
                        .month()
                        != date.month()
                }),
            },
            Cadence::Custom { .. } => self.cron.as_ref().is_some_and(|c| {
                let midnight =
                    local_instant(self.zone, date, NaiveTime::MIN).with_timezone(&self.zone);
                c.find_next_occurrence(&midnight, true)
                    .is_ok_and(|t| t.date_naive() == date)
            }),
        }
    }

    /// Nominal dates are market (New York) dates rather than the user's.
    fn market_dated(&self) -> bool {
        matches!(self.time, TimeOfDay::AfterOpen(_))
            || matches!(
                self.cadence,
                Cadence::Monthly {
                    day: MonthDay::FirstTradingDay | MonthDay::LastTradingDay
                }
            )
    }

    /// The slot for one nominal date, before de-duplication.
    fn place(&self, nominal: NaiveDate) -> Slot {
        let mut adjustments = [None, None];
        match self.time {
            TimeOfDay::AfterOpen(minutes) => {
                let day = calendar::next_trading_day_from(nominal);
                if day.date != nominal {
                    adjustments[0] = Some(Adjustment::NextTradingDay);
                }
                let at = day.open_at() + Duration::minutes(i64::from(minutes));
                clamp(day, at, adjustments)
            }
            TimeOfDay::Local(time) => {
                let mut at = if self.market_dated() {
                    // The user date whose wall-clock time lands on this market date.
                    (-1..=1)
                        .map(|k| local_instant(self.zone, nominal + Duration::days(k), time))
                        .find(|at| ny_date(*at) == nominal)
                        .unwrap_or_else(|| local_instant(self.zone, nominal, time))
                } else {
                    local_instant(self.zone, nominal, time)
                };
                let landed = ny_date(at);
                let day = calendar::next_trading_day_from(landed);
                if day.date != landed {
                    adjustments[0] = Some(Adjustment::NextTradingDay);
                    let user_date = at.with_timezone(&self.zone).date_naive();
                    at = local_instant(self.zone, user_date + (day.date - landed), time);
                }
                clamp(day, at, adjustments)
            }
        }
    }

    /// Slots strictly after `after`, in order (possibly endless: take what you
    /// need). Nominal dates before the start or after the end produce none.
    pub fn slots_after(&self, after: DateTime<Utc>) -> impl Iterator<Item = Slot> + '_ {
        let zone_date = after.with_timezone(&self.zone).date_naive();
        // Back off a little: an earlier nominal date can land later (moved).
        let first = self
            .start
            .max(zone_date.min(ny_date(after)) - Duration::days(10));
        let mut last_trading: Option<NaiveDate> = None;
        let end = self.end;
        first
            .iter_days()
            .take_while(move |d| end.is_none_or(|e| *d <= e))
            // Beyond the simulation's reach is beyond any plan's reach.
            .take_while(|d| d.year() < 2200)
            .filter(move |d| self.is_nominal(*d))
            .map(move |d| self.place(d))
            .filter(move |s| {
                let fresh = last_trading.is_none_or(|t| s.trading_date > t);
                if fresh {
                    last_trading = Some(s.trading_date);
                }
                fresh
            })
            .filter(move |s| s.at > after)
    }

    /// The next `n` runs after `after`.
    pub fn next_runs(&self, after: DateTime<Utc>, n: usize) -> Vec<Slot> {
        self.slots_after(after).take(n).collect()
    }

    /// Expected spend per month at `per_run` dollars: the runs in the next
    /// twelve months from `from`, times the amount, over twelve.
    pub fn monthly_spend(&self, from: DateTime<Utc>, per_run: Decimal) -> Decimal {
        let horizon = from + Duration::days(365);
        let runs = self
            .slots_after(from)
            .take_while(|s| s.at <= horizon)
            .count();
        (per_run * Decimal::from(runs as u64) / Decimal::from(12)).round_dp(2)
    }
}

/// Keeps `at` inside `day`'s session.
fn clamp(day: TradingDay, at: DateTime<Utc>, mut adjustments: [Option<Adjustment>; 2]) -> Slot {
    let (open, close) = (day.open_at(), day.close_at());
    let at = if at < open {
        adjustments[1] = Some(Adjustment::ToOpen);
        open
    } else if at >= close {
        adjustments[1] = Some(Adjustment::BeforeClose);
        (close - BEFORE_CLOSE).max(open)
    } else {
        at
    };
    Slot {
        at,
        trading_date: day.date,
        adjustments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{RngCore, SeedableRng};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn sched(cadence: Cadence, time: TimeOfDay, zone: &str, start: &str) -> Schedule {
        Schedule::new(cadence, time, zone, d(start), None).unwrap()
    }
    fn ny(h: u32, m: u32) -> TimeOfDay {
        TimeOfDay::Local(t(h, m))
    }
    fn times(s: &Schedule, after: &str, n: usize) -> Vec<DateTime<Utc>> {
        s.next_runs(at(after), n)
            .into_iter()
            .map(|s| s.at)
            .collect()
    }

    #[test]
    fn a_wall_clock_time_in_a_dst_gap_moves_forward_and_a_repeated_one_takes_the_first() {
        let zone: Tz = "America/New_York".parse().unwrap();
        // 02:30 does not exist on 2026-03-08; it reads as 03:30 EDT.
        assert_eq!(
            local_instant(zone, d("2026-03-08"), t(2, 30)),
            at("2026-03-08T07:30:00Z")
        );
        // 01:30 happens twice on 2026-11-01; the first is EDT.
        assert_eq!(
            local_instant(zone, d("2026-11-01"), t(1, 30)),
            at("2026-11-01T05:30:00Z")
        );
    }

    #[test]
    fn schedules_describe_themselves_in_words() {
        let s = sched(
            Cadence::Weekly {
                weekday: Weekday::Mon,
            },
            ny(15, 0),
            "Europe/London",
            "2026-01-01",
        );
        assert_eq!(s.describe(), "Every Monday at 15:00 (Europe/London)");
        let s = sched(
            Cadence::Monthly {
                day: MonthDay::LastTradingDay,
            },
            TimeOfDay::AfterOpen(5),
            "America/New_York",
            "2026-01-01",
        );
        assert_eq!(
            s.describe(),
            "On the last trading day of each month 5 minutes after the open"
        );
    }

    #[test]
    fn a_weekly_monday_on_a_holiday_moves_to_tuesday() {
        let s = sched(
            Cadence::Weekly {
                weekday: Weekday::Mon,
            },
            ny(10, 0),
            "America/New_York",
            "2026-01-01",
        );
        // MLK day 2026-01-19 is a holiday.
        let runs = s.next_runs(at("2026-01-13T00:00:00Z"), 2);
        assert_eq!(runs[0].at, at("2026-01-20T15:00:00Z"));
        assert_eq!(runs[0].adjustments[0], Some(Adjustment::NextTradingDay));
        assert_eq!(runs[1].at, at("2026-01-26T15:00:00Z"));
    }

    #[test]
    fn the_wall_clock_time_holds_across_us_daylight_saving_changes() {
        let s = sched(Cadence::Daily, ny(10, 0), "America/New_York", "2026-03-01");
        // DST starts 2026-03-08: 10:00 EST is 15:00Z, 10:00 EDT is 14:00Z.
        assert_eq!(
            times(&s, "2026-03-05T00:00:00Z", 4),
            [
                at("2026-03-05T15:00:00Z"),
                at("2026-03-06T15:00:00Z"),
                at("2026-03-09T14:00:00Z"),
                at("2026-03-10T14:00:00Z"),
            ]
        );
    }

    #[test]
    fn a_slot_after_an_early_close_moves_before_it() {
        let s = sched(Cadence::Daily, ny(14, 0), "America/New_York", "2026-11-01");
        // 2026-11-27, the day after Thanksgiving, closes at 13:00.
        let runs = s.next_runs(at("2026-11-25T00:00:00Z"), 2);
        assert_eq!(runs[0].at, at("2026-11-25T19:00:00Z"));
        assert_eq!(runs[1].trading_date, d("2026-11-27"));
        assert_eq!(runs[1].at, at("2026-11-27T17:45:00Z"));
        assert_eq!(runs[1].adjustments[1], Some(Adjustment::BeforeClose));
    }

    #[test]
    fn london_buyers_keep_their_time_through_the_weeks_dst_differs() {
        let s = sched(Cadence::Daily, ny(14, 45), "Europe/London", "2026-03-01");
        // US moved to EDT on 8 March, the UK to BST on 29 March: for three
        // weeks 14:45 London is 10:45 New York instead of 09:45.
        let runs = s.next_runs(at("2026-03-06T00:00:00Z"), 3);
        assert_eq!(runs[0].at, at("2026-03-06T14:45:00Z"));
        assert_eq!(runs[1].at, at("2026-03-09T14:45:00Z"));
        assert_eq!(
            runs[1]
                .at
                .with_timezone(&chrono_tz::America::New_York)
                .time(),
            t(10, 45)
        );
        let after = s.next_runs(at("2026-03-30T00:00:00Z"), 1);
        assert_eq!(after[0].at, at("2026-03-30T13:45:00Z"));
    }

    #[test]
    fn tokyo_and_sydney_evenings_map_onto_new_york_mornings() {
        // 23:35 Tokyo is 09:35 New York the same date in winter.
        let tokyo = sched(
            Cadence::Weekly {
                weekday: Weekday::Wed,
            },
            ny(23, 35),
            "Asia/Tokyo",
            "2026-01-01",
        );
        let run = tokyo.next_runs(at("2026-01-10T00:00:00Z"), 1)[0];
        assert_eq!(run.at, at("2026-01-14T14:35:00Z"));
        assert_eq!(run.trading_date, d("2026-01-14"));
        // 02:00 Sydney on a Tuesday is Monday in New York.
        let sydney = sched(
            Cadence::Weekly {
                weekday: Weekday::Tue,
            },
            ny(2, 0),
            "Australia/Sydney",
            "2026-01-01",
        );
        let run = sydney.next_runs(at("2026-01-10T00:00:00Z"), 1)[0];
        assert_eq!(run.trading_date, d("2026-01-12"));
        assert_eq!(run.at, at("2026-01-12T15:00:00Z"));
    }

    #[test]
    fn first_and_last_trading_days_respect_holidays() {
        let first = sched(
            Cadence::Monthly {
                day: MonthDay::FirstTradingDay,
            },
            ny(10, 0),
            "America/New_York",
            "2025-12-01",
        );
        // 1 January is a holiday: the first trading day of 2026 is the 2nd.
        let run = first.next_runs(at("2025-12-15T00:00:00Z"), 1)[0];
        assert_eq!(run.trading_date, d("2026-01-02"));
        assert_eq!(run.adjustments, [None, None]);
        let last = sched(
            Cadence::Monthly {
                day: MonthDay::LastTradingDay,
            },
            ny(15, 0),
            "America/New_York",
            "2024-01-01",
        );
        // Good Friday 2024 is 29 March: March's last trading day is the 28th.
        let run = last.next_runs(at("2024-03-01T00:00:00Z"), 1)[0];
        assert_eq!(run.trading_date, d("2024-03-28"));
        // In Tokyo the same market date is the next calendar day.
        let tokyo = sched(
            Cadence::Monthly {
                day: MonthDay::LastTradingDay,
            },
            ny(23, 45),
            "Asia/Tokyo",
            "2024-01-01",
        );
        assert_eq!(
            tokyo.next_runs(at("2024-03-01T00:00:00Z"), 1)[0].trading_date,
            d("2024-03-28")
        );
    }

    #[test]
    fn a_monthly_day_on_a_weekend_moves_forward_and_february_28_exists_in_leap_years() {
        let s = sched(
            Cadence::Monthly {
                day: MonthDay::Day(28),
            },
            ny(11, 0),
            "America/New_York",
            "2024-01-01",
        );
        let runs = s.next_runs(at("2024-01-01T00:00:00Z"), 3);
        assert_eq!(
            runs.iter().map(|r| r.trading_date).collect::<Vec<_>>(),
            [d("2024-01-29"), d("2024-02-28"), d("2024-03-28")]
        );
        assert!(matches!(
            Schedule::new(
                Cadence::Monthly {
                    day: MonthDay::Day(29)
                },
                ny(11, 0),
                "America/New_York",
                d("2024-01-01"),
                None
            ),
            Err(ScheduleError::MonthDayOutOfRange)
        ));
    }

    #[test]
    fn every_two_weeks_counts_from_the_start_week() {
        let s = sched(
            Cadence::Biweekly {
                weekday: Weekday::Thu,
            },
            ny(10, 0),
            "America/New_York",
            "2026-11-02",
        );
        let dates: Vec<NaiveDate> = s
            .next_runs(at("2026-11-01T00:00:00Z"), 3)
            .iter()
            .map(|r| r.trading_date)
            .collect();
        // Thanksgiving (26th) moves to the 27th.
        assert_eq!(dates, [d("2026-11-05"), d("2026-11-19"), d("2026-12-03")]);
    }

    #[test]
    fn minutes_after_the_open_follow_the_market_date() {
        let s = sched(
            Cadence::Daily,
            TimeOfDay::AfterOpen(5),
            "Asia/Tokyo",
            "2026-11-01",
        );
        let runs = s.next_runs(at("2026-11-25T00:00:00Z"), 2);
        assert_eq!(runs[0].at, at("2026-11-25T14:35:00Z"));
        assert_eq!(runs[1].at, at("2026-11-27T14:35:00Z"));
    }

    #[test]
    fn times_outside_the_session_are_refused_with_the_window_that_works() {
        let e = Schedule::new(
            Cadence::Daily,
            ny(8, 0),
            "America/New_York",
            d("2026-01-01"),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("09:30"), "{e}");
        // 00:30 Sydney is in session in July but not in January.
        let e = Schedule::new(
            Cadence::Daily,
            ny(0, 30),
            "Australia/Sydney",
            d("2026-01-01"),
            None,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("part of the year") && msg.contains("01:30"),
            "{msg}"
        );
        assert!(matches!(
            Schedule::new(
                Cadence::Daily,
                ny(10, 0),
                "Mars/Olympus",
                d("2026-01-01"),
                None
            ),
            Err(ScheduleError::UnknownZone(_))
        ));
    }

    #[test]
    fn a_cron_plan_in_a_zone_with_dst_gets_one_run_per_trading_day_across_the_change() {
        // croner 3 could fire a fixed time twice just after a spring-forward
        // change; the cron only says which dates run here, and each date
        // gives one slot, so no trading day ever gets two.
        use chrono::TimeZone;
        // Sydney's 02:30 is in the hour its changes skip (4 October) and
        // repeat (5 April) while New York is in session; Berlin's and
        // London's are in the weeks the two zones' changes differ.
        for (zone, cron) in [
            ("Australia/Sydney", "30 2 * * *"),
            ("Australia/Sydney", "0 3 * * 1-5"),
            ("Europe/Berlin", "30 16 * * *"),
            ("Europe/London", "0 15 * * 1-5"),
        ] {
            let schedule = Schedule::new(
                Cadence::Custom { cron: cron.into() },
                ny(0, 0),
                zone,
                d("2026-03-01"),
                Some(d("2026-11-30")),
            )
            .expect("a valid schedule");
            let from = Utc
                .with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
                .single()
                .expect("instant");
            let slots: Vec<Slot> = schedule.slots_after(from).collect();
            assert!(slots.len() > 100, "{zone} {cron}: {}", slots.len());
            let mut days: Vec<NaiveDate> = slots.iter().map(|s| s.trading_date).collect();
            let n = days.len();
            days.dedup();
            assert_eq!(days.len(), n, "{zone} {cron}: a trading day ran twice");
        }
    }

    #[test]
    fn cron_expressions_are_checked_and_followed() {
        let cron = |c: &str| Cadence::Custom { cron: c.into() };
        let zone = "America/New_York";
        let new = |c: &str| Schedule::new(cron(c), ny(0, 0), zone, d("2026-01-01"), None);
        assert!(matches!(
            new("0 10 30 2 *"),
            Err(ScheduleError::CronNeverFires)
        ));
        assert!(matches!(
            new("*/30 10 * * *"),
            Err(ScheduleError::CronTooFrequent)
        ));
        assert!(matches!(new("0 10 * *"), Err(ScheduleError::BadCron(_))));
        let long = format!("0 10 * * {}", "1,".repeat(60) + "1");
        assert!(matches!(new(&long), Err(ScheduleError::BadCron(m)) if m.contains("at most 100")));
        assert!(matches!(
            new("0 3 * * 1"),
            Err(ScheduleError::TimeOutsideSession(_))
        ));
        // Weekdays at 09:35; a daily cron firing on weekends adds nothing.
        let s = new("35 9 * * *").unwrap();
        assert_eq!(s.time(), ny(9, 35));
        let runs = s.next_runs(at("2026-01-16T00:00:00Z"), 3);
        assert_eq!(
            runs.iter().map(|r| r.trading_date).collect::<Vec<_>>(),
            [d("2026-01-16"), d("2026-01-20"), d("2026-01-21")]
        );
        // POSIX rule: with both a day of month and a weekday, either matches.
        let early_or_monday = new("0 11 1-7 * 1").unwrap();
        assert_eq!(
            early_or_monday.next_runs(at("2026-02-01T00:00:00Z"), 1)[0].trading_date,
            d("2026-02-02")
        );
    }

    #[test]
    fn the_end_date_stops_the_plan_and_spend_is_per_month() {
        let s = Schedule::new(
            Cadence::Weekly {
                weekday: Weekday::Fri,
            },
            ny(10, 0),
            "America/New_York",
            d("2026-01-01"),
            Some(d("2026-01-31")),
        )
        .unwrap();
        assert_eq!(s.next_runs(at("2026-01-01T00:00:00Z"), 10).len(), 5);
        let weekly = sched(
            Cadence::Weekly {
                weekday: Weekday::Fri,
            },
            ny(10, 0),
            "America/New_York",
            "2026-01-01",
        );
        let spend = weekly.monthly_spend(at("2026-01-01T00:00:00Z"), Decimal::from(12));
        // 52 Fridays a year (Good Friday moves to Monday), $12 each, over 12 months.
        assert_eq!(spend, Decimal::from(52));
    }

    /// Property: for random schedules over 2000–2035 in several zones, slots
    /// are strictly increasing, one per trading day at most, inside the
    /// session, and never before the start.
    #[test]
    fn random_schedules_always_yield_ordered_in_session_trading_day_slots() {
        let zones = [
            "America/New_York",
            "America/Los_Angeles",
            "Europe/London",
            "Europe/Berlin",
            "Asia/Tokyo",
            "Australia/Sydney",
            "America/Sao_Paulo",
        ];
        let weekdays = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(20261121);
        let mut checked = 0;
        while checked < 400 {
            let r = |rng: &mut ChaCha8Rng, n: u32| rng.next_u32() % n;
            let zone = zones[r(&mut rng, zones.len() as u32) as usize];
            let cadence = match r(&mut rng, 6) {
                0 => Cadence::Daily,
                1 => Cadence::Weekly {
                    weekday: weekdays[r(&mut rng, 5) as usize],
                },
                2 => Cadence::Biweekly {
                    weekday: weekdays[r(&mut rng, 5) as usize],
                },
                3 => Cadence::Monthly {
                    day: MonthDay::Day(1 + r(&mut rng, 28) as u8),
                },
                4 => Cadence::Monthly {
                    day: MonthDay::LastTradingDay,
                },
                _ => Cadence::Monthly {
                    day: MonthDay::FirstTradingDay,
                },
            };
            let time = if r(&mut rng, 5) == 0 {
                TimeOfDay::AfterOpen(r(&mut rng, 376) as u16)
            } else {
                TimeOfDay::Local(t(r(&mut rng, 24), r(&mut rng, 60)))
            };
            let start = d("2000-01-01") + Duration::days(i64::from(r(&mut rng, 35 * 365)));
            let Ok(s) = Schedule::new(cadence.clone(), time, zone, start, None) else {
                continue; // a time outside the session in this zone
            };
            checked += 1;
            let after = calendar::new_york_instant(start, NaiveTime::MIN) - Duration::days(3);
            let slots: Vec<Slot> = s.slots_after(after).take(60).collect();
            assert!(!slots.is_empty(), "{cadence:?} {zone} {start}");
            for w in slots.windows(2) {
                assert!(w[0].at < w[1].at, "{cadence:?} {time:?} {zone}: {w:?}");
                assert!(w[0].trading_date < w[1].trading_date);
            }
            for slot in &slots {
                let day = calendar::trading_day(slot.trading_date)
                    .unwrap_or_else(|| panic!("{slot:?} is not on a trading day"));
                assert!(
                    day.open_at() <= slot.at && slot.at < day.close_at(),
                    "{slot:?}"
                );
                assert_eq!(ny_date(slot.at), slot.trading_date);
                assert!(slot.at.with_timezone(&s.zone()).date_naive() >= start - Duration::days(1));
            }
        }
    }
}
