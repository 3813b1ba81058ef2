//! Fuzzing the CSV import (issue #19): arbitrary text, and valid files with
//! a cell, a line or a byte damaged. Nothing panics; a refused file names the
//! line and the reason; an accepted one is bars a backtest can trust: dates
//! strictly rising, prices positive, high at or above low, volume not
//! negative.

use super::csv::{CsvError, parse};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// A number as a spreadsheet might write it, or not a number at all.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (1u32..100_000, 0u32..100).prop_map(|(a, b)| format!("{a}.{b:02}")),
        2 => prop::sample::select(vec![
            "0", "-1", "", "NaN", "1e5", "1E-30", "7.9e28", "79228162514264337593543950335",
            "0.0000000000000000000000000001", "1,000", "\"12\"", " 3 ", "inf", "1e400",
        ]).prop_map(str::to_owned),
        1 => "[ -~]{0,12}",
    ]
}

fn date() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (2000i32..2030, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
        1 => prop::sample::select(vec![
            "2024-02-30", "2024-13-01", "24-01-02", "2024/01/02", "", "2024-01-02T00:00:00Z",
            "2024-01-0", "\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}",
        ]).prop_map(str::to_owned),
    ]
}

fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("Date,Open,High,Low,Close,Volume".to_owned()),
        2 => Just("Date,Open,High,Low,Close,Adj Close,Volume".to_owned()),
        1 => Just(",Open,High,Low,Close,Volume".to_owned()),
        1 => Just("close,DATE,volume,open,low,high".to_owned()),
        1 => Just("Date,Open,High,Low,Close".to_owned()),
        1 => "[ -~]{0,40}",
    ]
}

fn file() -> impl Strategy<Value = String> {
    (
        header(),
        proptest::collection::vec((date(), proptest::collection::vec(cell(), 5..8)), 0..12),
    )
        .prop_map(|(header, rows)| {
            let mut text = header;
            text.push('\n');
            for (d, cells) in rows {
                text.push_str(&d);
                for c in cells {
                    text.push(',');
                    text.push_str(&c);
                }
                text.push('\n');
            }
            text
        })
}

proptest! {
    #![proptest_config(crate::domain::testing::fuzz())]

    #[test]
    fn any_file_gives_trustworthy_bars_or_a_located_reason(
        text in prop_oneof![
            1 => proptest::collection::vec(any::<char>(), 0..300).prop_map(|c| c.into_iter().collect::<String>()),
            6 => file(),
        ],
        damage in proptest::option::of((any::<prop::sample::Index>(), any::<char>())),
    ) {
        let mut text = text;
        if let Some((at, c)) = damage
            && !text.is_empty()
        {
            let mut chars: Vec<char> = text.chars().collect();
            let i = at.index(chars.len());
            chars[i] = c;
            text = chars.into_iter().collect();
        }
        let lines = text.lines().count() as u64 + 1;
        match parse(&text) {
            Ok(bars) => {
                prop_assert!(!bars.is_empty());
                for b in &bars {
                    for p in [b.open, b.high, b.low, b.close] {
                        prop_assert!(p > Decimal::ZERO, "{:?}", b);
                    }
                    prop_assert!(b.high >= b.low, "{:?}", b);
                    prop_assert!(b.volume >= Decimal::ZERO, "{:?}", b);
                }
                for pair in bars.windows(2) {
                    prop_assert!(pair[0].date < pair[1].date);
                }
            }
            Err(CsvError { line, reason }) => {
                prop_assert!(!reason.is_empty());
                prop_assert!(line <= lines, "line {} of {}", line, lines);
            }
        }
    }
}
