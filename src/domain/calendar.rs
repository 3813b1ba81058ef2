//! The NYSE regular-session calendar: which days trade, when they open and
//! close (America/New_York, daylight saving included), and why a weekday does
//! not trade.
//!
//! Full holidays, by the exchange's rules: New Year's Day, Martin Luther King
//! Jr. Day (third Monday of January), Washington's Birthday (third Monday of
//! February), Good Friday, Memorial Day (last Monday of May), Juneteenth (June
//! 19, from 2022), Independence Day, Labor Day (first Monday of September),
//! Thanksgiving (fourth Thursday of November) and Christmas. A holiday on a
//! Saturday is observed the Friday before, on a Sunday the Monday after,
//! except that New Year's Day on a Saturday is not observed at all (the
//! exchange stays open on December 31).
//!
//! Early closes at 13:00: the day after Thanksgiving, Christmas Eve and July 3,
//! when those are regular weekdays and not themselves observed holidays.
//!
//! Also closed: the exchange's unscheduled closures since 2000 (September 11
//! 2001, state funerals, Hurricane Sandy), so backtests see the real history.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;

/// One trading day: its date and regular-session hours in New York time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradingDay {
    pub date: NaiveDate,
    pub open: NaiveTime,
    pub close: NaiveTime,
}

/// What kind of day a date is for the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    Trading(TradingDay),
    Weekend,
    /// Closed all day; the name says why.
    Closed(&'static str),
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

/// 09:30 New York.
pub fn regular_open() -> NaiveTime {
    hm(9, 30)
}
/// 16:00 New York.
pub fn regular_close() -> NaiveTime {
    hm(16, 0)
}
/// 13:00 New York on early-close days.
pub fn early_close() -> NaiveTime {
    hm(13, 0)
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).unwrap_or(NaiveDate::MIN)
}

fn last_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, 5)
        .unwrap_or_else(|| nth_weekday(year, month, weekday, 4))
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm.
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    ymd(year, month as u32, day as u32)
}

/// A fixed-date holiday moved off the weekend.
fn observed(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Sat => date - Duration::days(1),
        Weekday::Sun => date + Duration::days(1),
        _ => date,
    }
}

/// Unscheduled full-day closures since 2000.
const SPECIAL_CLOSURES: &[((i32, u32, u32), &str)] = &[
    ((2001, 9, 11), "September 11 attacks"),
    ((2001, 9, 12), "September 11 attacks"),
    ((2001, 9, 13), "September 11 attacks"),
    ((2001, 9, 14), "September 11 attacks"),
    (
        (2004, 6, 11),
        "National Day of Mourning for President Reagan",
    ),
    ((2007, 1, 2), "National Day of Mourning for President Ford"),
    ((2012, 10, 29), "Hurricane Sandy"),
    ((2012, 10, 30), "Hurricane Sandy"),
    (
        (2018, 12, 5),
        "National Day of Mourning for President George H. W. Bush",
    ),
    (
        (2025, 1, 9),
        "National Day of Mourning for President Carter",
    ),
];

/// The holiday (or closure) that closes the exchange on `date`, if any.
/// Weekends are not holidays.
pub fn holiday(date: NaiveDate) -> Option<&'static str> {
    let y = date.year();
    // New Year's Day on a Saturday is not observed; on a Sunday, the Monday.
    let new_year = ymd(y, 1, 1);
    if (new_year.weekday() != Weekday::Sat && observed(new_year) == date)
        || date == ymd(y, 1, 2) && new_year.weekday() == Weekday::Sun
    {
        return Some("New Year's Day");
    }
    let rules: [(NaiveDate, &str); 9] = [
        (
            nth_weekday(y, 1, Weekday::Mon, 3),
            "Martin Luther King Jr. Day",
        ),
        (nth_weekday(y, 2, Weekday::Mon, 3), "Washington's Birthday"),
        (easter(y) - Duration::days(2), "Good Friday"),
        (last_weekday(y, 5, Weekday::Mon), "Memorial Day"),
        (observed(ymd(y, 7, 4)), "Independence Day"),
        (nth_weekday(y, 9, Weekday::Mon, 1), "Labor Day"),
        (nth_weekday(y, 11, Weekday::Thu, 4), "Thanksgiving Day"),
        (observed(ymd(y, 12, 25)), "Christmas Day"),
        (
            if y >= 2022 {
                observed(ymd(y, 6, 19))
            } else {
                NaiveDate::MIN
            },
            "Juneteenth National Independence Day",
        ),
    ];
    if let Some((_, name)) = rules.iter().find(|(d, _)| *d == date) {
        return Some(name);
    }
    SPECIAL_CLOSURES
        .iter()
        .find(|((yy, m, d), _)| ymd(*yy, *m, *d) == date)
        .map(|(_, name)| *name)
}

/// Whether `date` (a trading day) closes early at 13:00.
fn closes_early(date: NaiveDate) -> bool {
    let y = date.year();
    let day_after_thanksgiving = nth_weekday(y, 11, Weekday::Thu, 4) + Duration::days(1);
    date == day_after_thanksgiving || date == ymd(y, 12, 24) || date == ymd(y, 7, 3)
}

/// What `date` is for the exchange.
pub fn day(date: NaiveDate) -> Day {
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return Day::Weekend;
    }
    if let Some(name) = holiday(date) {
        return Day::Closed(name);
    }
    let close = if closes_early(date) {
        early_close()
    } else {
        regular_close()
    };
    Day::Trading(TradingDay {
        date,
        open: regular_open(),
        close,
    })
}

/// The trading day on `date`, if it is one.
pub fn trading_day(date: NaiveDate) -> Option<TradingDay> {
    match day(date) {
        Day::Trading(t) => Some(t),
        _ => None,
    }
}

/// The first trading day on or after `date`.
pub fn next_trading_day_from(date: NaiveDate) -> TradingDay {
    let mut d = date;
    loop {
        if let Some(t) = trading_day(d) {
            return t;
        }
        d += Duration::days(1);
    }
}

/// The last trading day on or before `date`.
pub fn previous_trading_day_from(date: NaiveDate) -> TradingDay {
    let mut d = date;
    loop {
        if let Some(t) = trading_day(d) {
            return t;
        }
        d -= Duration::days(1);
    }
}

/// Trading days from `start` to `end`, both included.
pub fn trading_days(start: NaiveDate, end: NaiveDate) -> impl Iterator<Item = TradingDay> {
    start
        .iter_days()
        .take_while(move |d| *d <= end)
        .filter_map(trading_day)
}

/// The instant a New York wall-clock time happens. Session times (09:30–16:00)
/// never fall in a daylight-saving gap or overlap (those are at 02:00), so the
/// mapping is unique; the earliest is taken defensively.
pub fn new_york_instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    New_York
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&date.and_time(time)))
}

impl TradingDay {
    pub fn is_early_close(&self) -> bool {
        self.close < regular_close()
    }

    pub fn open_at(&self) -> DateTime<Utc> {
        new_york_instant(self.date, self.open)
    }

    pub fn close_at(&self) -> DateTime<Utc> {
        new_york_instant(self.date, self.close)
    }

    /// Whether the regular session is open at `at`.
    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        self.open_at() <= at && at < self.close_at()
    }

    /// Settlement date of a trade on this day: T+1 from 28 May 2024, T+2 before.
    pub fn settlement_date(&self) -> NaiveDate {
        let days = if self.date >= ymd(2024, 5, 28) { 1 } else { 2 };
        let mut d = self.date;
        for _ in 0..days {
            d = next_trading_day_from(d + Duration::days(1)).date;
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn closed(s: &str) -> Option<&'static str> {
        match day(d(s)) {
            Day::Closed(name) => Some(name),
            _ => None,
        }
    }

    fn closes_at(s: &str) -> NaiveTime {
        trading_day(d(s))
            .unwrap_or_else(|| panic!("{s} should trade"))
            .close
    }

    #[test]
    fn the_2024_calendar_matches_the_exchange() {
        let holidays: Vec<NaiveDate> = d("2024-01-01")
            .iter_days()
            .take_while(|x| x.year() == 2024)
            .filter(|x| matches!(day(*x), Day::Closed(_)))
            .collect();
        let expected: Vec<NaiveDate> = [
            "2024-01-01",
            "2024-01-15",
            "2024-02-19",
            "2024-03-29",
            "2024-05-27",
            "2024-06-19",
            "2024-07-04",
            "2024-09-02",
            "2024-11-28",
            "2024-12-25",
        ]
        .iter()
        .map(|s| d(s))
        .collect();
        assert_eq!(holidays, expected);
        for early in ["2024-07-03", "2024-11-29", "2024-12-24"] {
            assert_eq!(closes_at(early), early_close(), "{early}");
        }
        assert_eq!(trading_days(d("2024-01-01"), d("2024-12-31")).count(), 252);
    }

    #[test]
    fn new_years_day_on_a_saturday_is_not_observed() {
        // 2022-01-01 was a Saturday: the exchange traded on Friday 2021-12-31.
        assert_eq!(closes_at("2021-12-31"), regular_close());
        assert_eq!(closed("2022-01-01"), None);
        // 2023-01-01 was a Sunday: observed Monday 2023-01-02.
        assert_eq!(closed("2023-01-02"), Some("New Year's Day"));
        assert_eq!(closed("2034-01-02"), Some("New Year's Day"));
    }

    #[test]
    fn weekend_holidays_move_to_the_nearest_weekday() {
        assert_eq!(closed("2021-07-05"), Some("Independence Day")); // July 4 on Sunday
        assert_eq!(closed("2026-07-03"), Some("Independence Day")); // July 4 on Saturday
        assert_eq!(closed("2021-12-24"), Some("Christmas Day")); // Christmas on Saturday
        assert_eq!(closed("2022-12-26"), Some("Christmas Day")); // Christmas on Sunday
        assert_eq!(
            closed("2022-06-20"),
            Some("Juneteenth National Independence Day")
        );
        assert_eq!(
            closed("2027-06-18"),
            Some("Juneteenth National Independence Day")
        );
    }

    #[test]
    fn juneteenth_is_a_holiday_only_from_2022() {
        assert_eq!(closes_at("2021-06-18"), regular_close());
        assert_eq!(
            closed("2023-06-19"),
            Some("Juneteenth National Independence Day")
        );
    }

    #[test]
    fn good_friday_follows_easter() {
        for (year, good_friday) in [
            (2000, "2000-04-21"),
            (2008, "2008-03-21"),
            (2011, "2011-04-22"),
            (2019, "2019-04-19"),
            (2024, "2024-03-29"),
            (2025, "2025-04-18"),
            (2035, "2035-03-23"),
        ] {
            assert_eq!(easter(year) - Duration::days(2), d(good_friday));
            assert_eq!(closed(good_friday), Some("Good Friday"));
        }
    }

    #[test]
    fn early_closes_skip_days_that_are_holidays_or_weekends() {
        assert_eq!(closes_at("2019-07-03"), early_close());
        assert_eq!(closed("2015-07-03"), Some("Independence Day")); // July 4 on Saturday
        assert_eq!(closes_at("2018-12-24"), early_close());
        assert_eq!(closes_at("2025-11-28"), early_close());
        assert_eq!(closes_at("2025-12-26"), regular_close());
    }

    #[test]
    fn unscheduled_closures_are_in_the_history() {
        assert!(closed("2001-09-11").is_some());
        assert!(closed("2012-10-29").is_some());
        assert!(closed("2025-01-09").is_some());
    }

    #[test]
    fn every_year_from_2000_to_2035_has_a_plausible_number_of_trading_days_and_holidays() {
        for year in 2000..=2035 {
            let start = ymd(year, 1, 1);
            let end = ymd(year, 12, 31);
            let trading = trading_days(start, end).count();
            let holidays = start
                .iter_days()
                .take_while(|x| *x <= end)
                .filter(|x| {
                    holiday(*x).is_some() && !matches!(x.weekday(), Weekday::Sat | Weekday::Sun)
                })
                .filter(|x| {
                    !SPECIAL_CLOSURES
                        .iter()
                        .any(|((y, m, dd), _)| ymd(*y, *m, *dd) == *x)
                })
                .count();
            let expected = if year >= 2022 { 10 } else { 9 }
                - usize::from(ymd(year, 1, 1).weekday() == Weekday::Sat);
            assert_eq!(holidays, expected, "holidays in {year}");
            assert!(
                (246..=254).contains(&trading),
                "{year}: {trading} trading days"
            );
            let early = trading_days(start, end)
                .filter(TradingDay::is_early_close)
                .count();
            assert!((1..=3).contains(&early), "{year}: {early} early closes");
        }
    }

    #[test]
    fn the_open_moves_in_utc_with_daylight_saving_but_never_in_new_york() {
        // DST began on 2024-03-10 and ended on 2024-11-03.
        let before = trading_day(d("2024-03-08")).unwrap();
        let after = trading_day(d("2024-03-11")).unwrap();
        assert_eq!(before.open_at().to_rfc3339(), "2024-03-08T14:30:00+00:00");
        assert_eq!(after.open_at().to_rfc3339(), "2024-03-11T13:30:00+00:00");
        let fall_before = trading_day(d("2024-11-01")).unwrap();
        let fall_after = trading_day(d("2024-11-04")).unwrap();
        assert_eq!(
            fall_before.close_at().to_rfc3339(),
            "2024-11-01T20:00:00+00:00"
        );
        assert_eq!(
            fall_after.close_at().to_rfc3339(),
            "2024-11-04T21:00:00+00:00"
        );
        // The pre-2007 rules: DST began on the first Sunday of April.
        assert_eq!(
            trading_day(d("2005-04-01")).unwrap().open_at().to_rfc3339(),
            "2005-04-01T14:30:00+00:00"
        );
        assert_eq!(
            trading_day(d("2005-04-04")).unwrap().open_at().to_rfc3339(),
            "2005-04-04T13:30:00+00:00"
        );
        // Early close in UTC.
        assert_eq!(
            trading_day(d("2024-11-29"))
                .unwrap()
                .close_at()
                .to_rfc3339(),
            "2024-11-29T18:00:00+00:00"
        );
    }

    #[test]
    fn next_and_previous_trading_days_skip_weekends_and_holidays() {
        assert_eq!(next_trading_day_from(d("2024-12-25")).date, d("2024-12-26"));
        assert_eq!(next_trading_day_from(d("2024-03-29")).date, d("2024-04-01"));
        assert_eq!(
            previous_trading_day_from(d("2024-09-02")).date,
            d("2024-08-30")
        );
    }

    #[test]
    fn settlement_moved_from_t_plus_2_to_t_plus_1_in_may_2024() {
        assert_eq!(
            trading_day(d("2024-05-24")).unwrap().settlement_date(),
            d("2024-05-29")
        );
        assert_eq!(
            trading_day(d("2024-05-28")).unwrap().settlement_date(),
            d("2024-05-29")
        );
        assert_eq!(
            trading_day(d("2025-01-02")).unwrap().settlement_date(),
            d("2025-01-03")
        );
    }

    #[test]
    fn the_open_session_is_half_open() {
        let t = trading_day(d("2024-06-03")).unwrap();
        assert!(t.is_open_at(t.open_at()));
        assert!(!t.is_open_at(t.close_at()));
        assert!(!t.is_open_at(t.open_at() - Duration::seconds(1)));
    }
}
