//! Fuzzing the domain's parsers (issue #19): tickers, dollar amounts,
//! weights, time zones, cron strings and schedule JSON, from arbitrary text
//! and from text built to be nearly valid. None may panic; what they accept
//! holds the type's promise, and what they refuse says why in words.

use super::plan::{Symbol, parse_amount, parse_weight};
use super::schedule::{Cadence, MAX_CRON_LEN, Schedule, TimeOfDay};
use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::HashSet;

/// Text a person or a script might send: anything at all, or mostly the
/// characters the parser cares about.
fn text(alphabet: &'static str, max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<char>(), 0..max).prop_map(|c| c.into_iter().collect()),
        proptest::string::string_regex(&format!("{alphabet}{{0,{max}}}")).unwrap(),
    ]
}

/// One cron field: the forms croner knows, out-of-range numbers, names and
/// garbage.
fn cron_field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        (0u32..100).prop_map(|n| n.to_string()),
        (0u32..70, 0u32..70).prop_map(|(a, b)| format!("{a}-{b}")),
        (1u32..40).prop_map(|n| format!("*/{n}")),
        (0u32..70, 1u32..40).prop_map(|(a, n)| format!("{a}/{n}")),
        proptest::collection::vec(0u32..70, 1..4).prop_map(|v| v
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")),
        prop::sample::select(vec![
            "MON", "fri", "SUN", "JAN", "dec", "L", "W", "15W", "5L", "MON#2", "?", "LW", "-1", "",
            "**", "1-", "/5", ",", "0x1",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,6}",
    ]
}

fn cron_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(cron_field(), 5).prop_map(|f| f.join(" ")),
        1 => proptest::collection::vec(cron_field(), 0..8).prop_map(|f| f.join(" ")),
        1 => text("[0-9*/,\\- A-Za-z#?]", 120),
    ]
}

fn zone_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "America/New_York",
            "Europe/London",
            "Asia/Kolkata",
            "Pacific/Chatham",
            "Australia/Lord_Howe",
            "UTC",
        ])
        .prop_map(str::to_owned),
        text("[A-Za-z/_+\\-0-9]", 40),
    ]
}

proptest! {
    #![proptest_config(crate::domain::testing::fuzz())]

    /// An accepted ticker is the input trimmed and upper-cased, 1–10 of
    /// A–Z, 0–9, `.` and `-`, starting with a letter; a refused one is
    /// explained. Serde goes through the same check.
    #[test]
    fn symbols(raw in text("[ a-zA-Z0-9.\\-$]", 14)) {
        match Symbol::parse(&raw) {
            Ok(s) => {
                let s = s.as_str();
                prop_assert_eq!(s, raw.trim().to_ascii_uppercase());
                prop_assert!((1..=10).contains(&s.len()));
                prop_assert!(s.starts_with(|c: char| c.is_ascii_uppercase()));
                prop_assert!(s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.' || c == '-'));
            }
            Err(why) => prop_assert!(!why.is_empty()),
        }
        let json = serde_json::to_string(&raw).unwrap();
        prop_assert_eq!(serde_json::from_str::<Symbol>(&json).is_ok(), Symbol::parse(&raw).is_ok());
    }

    /// An accepted amount is whole cents from $1 to the cap; anything else
    /// (or a number too long for a decimal) is refused in words.
    #[test]
    fn amounts(raw in text("[ $0-9,.\\-eE+]", 40), cap in 1u32..1_000_000) {
        let cap = Decimal::from(cap);
        match parse_amount(&raw, cap) {
            Ok(a) => {
                prop_assert!(a >= Decimal::ONE && a <= cap, "{} outside 1..={}", a, cap);
                prop_assert!(a.scale() <= 2, "{} is not whole cents", a);
            }
            Err(why) => prop_assert!(!why.is_empty()),
        }
    }

    /// An accepted weight is positive and at most a million.
    #[test]
    fn weights(raw in text("[ 0-9.%\\-eE]", 40)) {
        match parse_weight(&raw) {
            Ok(w) => prop_assert!(w > Decimal::ZERO && w <= Decimal::from(1_000_000)),
            Err(why) => prop_assert!(!why.is_empty()),
        }
    }

    /// A custom schedule that is accepted fires at most once a day, in
    /// order, at the cron's own time; a refused one says why. Unknown time
    /// zones are refused by name.
    #[test]
    fn cron_schedules(cron in cron_text(), zone in zone_text()) {
        let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let cadence = Cadence::Custom { cron: cron.clone() };
        let time = TimeOfDay::Local(NaiveTime::from_hms_opt(10, 0, 0).unwrap());
        match Schedule::new(cadence, time, &zone, start, None) {
            Ok(schedule) => {
                prop_assert!(cron.len() <= MAX_CRON_LEN);
                let after = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
                let runs = schedule.next_runs(after, 30);
                let mut dates = HashSet::new();
                for pair in runs.windows(2) {
                    prop_assert!(pair[0].at < pair[1].at, "{:?}", pair);
                }
                for run in &runs {
                    prop_assert!(run.at > after);
                    prop_assert!(dates.insert(run.trading_date), "two runs on {}", run.trading_date);
                    prop_assert!(run.trading_date.year() < 2200);
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// Schedule parts arriving as JSON (the API's and the wizard's body):
    /// malformed JSON and wrong shapes are decode errors, never panics, and
    /// what decodes builds a schedule or is refused.
    #[test]
    fn schedule_json(body in prop_oneof![
        text("[{}\\[\\]\":,a-z_0-9 ]", 80),
        (prop::sample::select(vec!["daily", "weekly", "biweekly", "monthly", "custom", "hourly", ""]),
         prop::sample::select(vec![
             "", r#","weekday":"Mon""#, r#","weekday":"Sat""#, r#","weekday":7"#,
             r#","day":{"kind":"day","day":31}"#, r#","day":{"kind":"day","day":0}"#,
             r#","day":{"kind":"last_trading_day"}"#, r#","cron":"0 10 * * 1-5""#,
             r#","cron":5"#, r#","day":{"kind":"day","day":300}"#,
         ]))
            .prop_map(|(k, rest)| format!(r#"{{"kind":"{k}"{rest}}}"#)),
    ], minutes in any::<u16>()) {
        if let Ok(cadence) = serde_json::from_str::<Cadence>(&body) {
            let custom = matches!(cadence, Cadence::Custom { .. });
            let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
            let built = Schedule::new(cadence, TimeOfDay::AfterOpen(minutes), "America/New_York", start, None);
            if minutes > 375 && !custom {
                prop_assert!(built.is_err());
            }
        }
        let _ = serde_json::from_str::<TimeOfDay>(&body);
    }
}
