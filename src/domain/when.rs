//! How an instant reads to a person: in their time zone with its abbreviation
//! ("Mon 7 Dec, 8:30 CST"), relative to now where that helps ("in 2 h"), and in
//! UTC only where a machine or a tooltip wants it. Every page, notice and e-mail
//! formats instants through these functions.

use chrono::{DateTime, Datelike, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;

/// `at` in `zone`: weekday, day, month, 24-hour time and the zone's
/// abbreviation. The year is added when it is not the year of `now` there.
pub fn local(at: DateTime<Utc>, zone: Tz, now: DateTime<Utc>) -> String {
    let here = at.with_timezone(&zone);
    if here.year() == now.with_timezone(&zone).year() {
        here.format("%a %-d %b, %-H:%M %Z").to_string()
    } else {
        local_dated(at, zone)
    }
}

/// Like [`local`], always with the year: for exports and records kept for
/// later, "Mon 7 Dec 2026, 8:30 CST".
pub fn local_dated(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%a %-d %b %Y, %-H:%M %Z")
        .to_string()
}

/// The calendar day of `at` in `zone`, with its year: "Mon 7 Dec 2026".
pub fn date(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%a %-d %b %Y").to_string()
}

/// How far `at` is from `now`, when that is within a week: "just now",
/// "in 5 min", "2 h ago", "in 3 days". Further away, the date says more.
/// Whole units, rounded towards zero.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
    let delta = at - now;
    let future = delta > Duration::zero();
    let span = delta.abs();
    let amount = if span < Duration::seconds(60) {
        return Some("just now".to_owned());
    } else if span < Duration::hours(1) {
        format!("{} min", span.num_minutes())
    } else if span < Duration::days(1) {
        format!("{} h", span.num_hours())
    } else if span < Duration::days(7) {
        match span.num_days() {
            1 => "1 day".to_owned(),
            n => format!("{n} days"),
        }
    } else {
        return None;
    };
    Some(if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    })
}

/// `at` in UTC to the second, for tooltips: "2026-12-07 14:30:00 UTC".
pub fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `at` as RFC 3339 in UTC to the second: what the wire and exports carry.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    const CHICAGO: Tz = chrono_tz::America::Chicago;

    #[test]
    fn an_instant_reads_in_the_zone_with_its_abbreviation() {
        let now = at(2026, 12, 1, 12, 0);
        assert_eq!(
            local(at(2026, 12, 7, 14, 30), CHICAGO, now),
            "Mon 7 Dec, 8:30 CST"
        );
        // Summer time has its own abbreviation.
        assert_eq!(
            local(at(2026, 7, 6, 13, 30), CHICAGO, now),
            "Mon 6 Jul, 8:30 CDT"
        );
        assert_eq!(
            local(at(2026, 12, 7, 14, 30), chrono_tz::Asia::Tokyo, now),
            "Mon 7 Dec, 23:30 JST"
        );
        assert_eq!(
            local(at(2026, 12, 7, 14, 30), chrono_tz::UTC, now),
            "Mon 7 Dec, 14:30 UTC"
        );
    }

    #[test]
    fn the_year_shows_when_it_is_not_this_year_there() {
        let now = at(2026, 12, 1, 12, 0);
        assert_eq!(
            local(at(2027, 1, 4, 15, 0), CHICAGO, now),
            "Mon 4 Jan 2027, 9:00 CST"
        );
        // 1 Jan 2027 03:00 UTC is still New Year's Eve 2026 in Chicago.
        assert_eq!(
            local(at(2027, 1, 1, 3, 0), CHICAGO, now),
            "Thu 31 Dec, 21:00 CST"
        );
        assert_eq!(date(at(2027, 1, 1, 3, 0), CHICAGO), "Thu 31 Dec 2026");
        assert_eq!(
            local_dated(at(2026, 12, 7, 14, 30), CHICAGO),
            "Mon 7 Dec 2026, 8:30 CST"
        );
    }

    #[test]
    fn nearby_instants_read_relative_to_now() {
        let now = at(2026, 12, 1, 12, 0);
        let rel = |d: Duration| relative(now + d, now);
        assert_eq!(rel(Duration::seconds(20)).as_deref(), Some("just now"));
        assert_eq!(rel(Duration::seconds(-59)).as_deref(), Some("just now"));
        assert_eq!(rel(Duration::minutes(5)).as_deref(), Some("in 5 min"));
        assert_eq!(rel(Duration::minutes(-59)).as_deref(), Some("59 min ago"));
        assert_eq!(rel(Duration::minutes(150)).as_deref(), Some("in 2 h"));
        assert_eq!(rel(Duration::hours(-23)).as_deref(), Some("23 h ago"));
        assert_eq!(rel(Duration::hours(30)).as_deref(), Some("in 1 day"));
        assert_eq!(rel(Duration::days(-6)).as_deref(), Some("6 days ago"));
        assert_eq!(rel(Duration::days(7)), None);
        assert_eq!(rel(Duration::days(-400)), None);
    }

    #[test]
    fn utc_is_for_machines_and_tooltips() {
        let t = at(2026, 12, 7, 14, 30);
        assert_eq!(utc(t), "2026-12-07 14:30:00 UTC");
        assert_eq!(rfc3339(t), "2026-12-07T14:30:00Z");
    }
}
