//! The exchange's clock and calendar, shaped exactly like Alpaca's
//! `GET /v2/clock` and `GET /v2/calendar` responses: times in New York with
//! their UTC offset (`2025-06-24T16:00:00-04:00`), session hours as `HH:MM`,
//! extended hours as `HHMM`.

use crate::domain::calendar::{self, TradingDay};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use chrono_tz::America::New_York;
use serde::Serialize;

/// `GET /v2/clock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clock {
    pub timestamp: String,
    pub is_open: bool,
    pub next_open: String,
    pub next_close: String,
}

/// One item of `GET /v2/calendar`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarDay {
    pub date: String,
    pub open: String,
    pub close: String,
    pub session_open: String,
    pub session_close: String,
    pub settlement_date: String,
}

fn new_york(at: DateTime<Utc>) -> String {
    at.with_timezone(&New_York)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The clock at `now`: whether the regular session is open, and the next open
/// and close strictly after `now` (during a session, the next close is today's).
pub fn clock(now: DateTime<Utc>) -> Clock {
    let today = now.with_timezone(&New_York).date_naive();
    let mut day = calendar::next_trading_day_from(today);
    let is_open = day.is_open_at(now);
    if day.close_at() <= now {
        day = calendar::next_trading_day_from(day.date + Duration::days(1));
    }
    let next_close = day.close_at();
    let next_open = if day.open_at() > now {
        day.open_at()
    } else {
        calendar::next_trading_day_from(day.date + Duration::days(1)).open_at()
    };
    Clock {
        timestamp: new_york(now),
        is_open,
        next_open: new_york(next_open),
        next_close: new_york(next_close),
    }
}

impl From<&TradingDay> for CalendarDay {
    fn from(day: &TradingDay) -> Self {
        CalendarDay {
            date: day.date.to_string(),
            open: day.open.format("%H:%M").to_string(),
            close: day.close.format("%H:%M").to_string(),
            session_open: "0400".to_owned(),
            // Extended hours end four hours after the regular close.
            session_close: (day.close + Duration::hours(4)).format("%H%M").to_string(),
            settlement_date: day.settlement_date().to_string(),
        }
    }
}

/// `GET /v2/calendar?start=…&end=…` (both included).
pub fn calendar_days(start: NaiveDate, end: NaiveDate) -> Vec<CalendarDay> {
    calendar::trading_days(start, end)
        .map(|d| CalendarDay::from(&d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn during_a_session_the_clock_matches_alpacas_example() {
        // The reference example: Tuesday 2025-06-24 14:15:22 in New York.
        let c = clock(at("2025-06-24T14:15:22-04:00"));
        assert_eq!(
            c,
            Clock {
                timestamp: "2025-06-24T14:15:22-04:00".into(),
                is_open: true,
                next_open: "2025-06-25T09:30:00-04:00".into(),
                next_close: "2025-06-24T16:00:00-04:00".into(),
            }
        );
    }

    #[test]
    fn over_a_holiday_weekend_the_clock_points_past_the_holiday() {
        // Thursday before Good Friday 2025, after the close.
        let c = clock(at("2025-04-17T17:00:00-04:00"));
        assert!(!c.is_open);
        assert_eq!(c.next_open, "2025-04-21T09:30:00-04:00");
        assert_eq!(c.next_close, "2025-04-21T16:00:00-04:00");
    }

    #[test]
    fn before_the_open_the_next_open_is_today() {
        let c = clock(at("2025-01-02T08:00:00-05:00"));
        assert!(!c.is_open);
        assert_eq!(c.next_open, "2025-01-02T09:30:00-05:00");
        assert_eq!(c.next_close, "2025-01-02T16:00:00-05:00");
    }

    #[test]
    fn on_an_early_close_day_the_clock_closes_at_one() {
        let c = clock(at("2025-11-28T12:59:59-05:00"));
        assert!(c.is_open);
        assert_eq!(c.next_close, "2025-11-28T13:00:00-05:00");
        assert!(!clock(at("2025-11-28T13:00:00-05:00")).is_open);
    }

    #[test]
    fn calendar_days_have_alpacas_fields_and_format() {
        let days = calendar_days("2025-01-01".parse().unwrap(), "2025-01-03".parse().unwrap());
        let json = serde_json::to_value(&days).unwrap();
        // The reference item (calendar.derived.json) for 2025-01-02.
        assert_eq!(
            json[0],
            serde_json::json!({
                "date": "2025-01-02", "open": "09:30", "close": "16:00",
                "session_open": "0400", "session_close": "2000", "settlement_date": "2025-01-03"
            })
        );
        assert_eq!(days.len(), 2);
        let early = calendar_days("2025-11-28".parse().unwrap(), "2025-11-28".parse().unwrap());
        assert_eq!(
            (early[0].close.as_str(), early[0].session_close.as_str()),
            ("13:00", "1700")
        );
    }
}
