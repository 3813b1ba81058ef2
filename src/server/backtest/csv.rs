//! Daily bars from a CSV file: a header naming `Date,Open,High,Low,Close,Volume`
//! (any order, any case; an extra `Adj Close` column is accepted; an unnamed
//! first column, as pandas writes its index, is taken as the date), then one
//! row per trading day, oldest first. Anything wrong is refused with its line
//! number and the reason, and nothing is taken from a file that has a fault.
//!
//! With `Adj Close`, prices are adjusted by `Adj Close / Close` on each row (so
//! splits and dividends do not show as crashes) and volume by its inverse.

use crate::domain::strategy::Bar;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::fmt;

/// The most rows a file may have (a century of trading days, five times over).
pub const MAX_ROWS: usize = 126_000;
/// The largest file accepted, in bytes.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    /// 1-based; 0 for the file as a whole.
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

impl std::error::Error for CsvError {}

fn at(line: u64, reason: impl Into<String>) -> CsvError {
    CsvError {
        line,
        reason: reason.into(),
    }
}

const COLUMNS: [&str; 6] = ["date", "open", "high", "low", "close", "volume"];

/// Parses a whole file.
pub fn parse(text: &str) -> Result<Vec<Bar>, CsvError> {
    if text.len() > MAX_BYTES {
        return Err(at(
            0,
            format!("the file is larger than {} MB", MAX_BYTES / (1024 * 1024)),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| at(1, format!("the header does not read: {e}")))?
        .clone();
    let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let mut index = [0usize; 6];
    for (slot, name) in index.iter_mut().zip(COLUMNS) {
        // An unnamed first column, as pandas writes its index, is the date.
        let unnamed_first = || (name == "date" && headers.get(0) == Some("")).then_some(0);
        *slot = find(name).or_else(unnamed_first).ok_or_else(|| {
            at(
                1,
                format!(
                    "the header has no {name:?} column (it needs Date,Open,High,Low,Close,Volume)"
                ),
            )
        })?;
    }
    let adjusted = find("adj close");
    let mut bars: Vec<Bar> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            at(line, format!("the row does not read: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if bars.len() == MAX_ROWS {
            return Err(at(line, format!("more than {MAX_ROWS} rows")));
        }
        let field = |i: usize, name: &str| {
            record
                .get(i)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| at(line, format!("{name} is missing")))
        };
        let number = |i: usize, name: &str| -> Result<Decimal, CsvError> {
            let raw = field(i, name)?;
            raw.parse::<Decimal>()
                .or_else(|_| Decimal::from_scientific(raw))
                .map_err(|_| at(line, format!("{name} {raw:?} is not a number")))
        };
        let raw_date = field(index[0], "Date")?;
        // "2004-08-19", or with a time of day (ignored).
        let date = NaiveDate::parse_from_str(raw_date.get(..10).unwrap_or(raw_date), "%Y-%m-%d")
            .map_err(|_| at(line, format!("Date {raw_date:?} is not a YYYY-MM-DD date")))?;
        let mut bar = Bar {
            date,
            open: number(index[1], "Open")?,
            high: number(index[2], "High")?,
            low: number(index[3], "Low")?,
            close: number(index[4], "Close")?,
            volume: number(index[5], "Volume")?,
        };
        for (name, v) in [
            ("Open", bar.open),
            ("High", bar.high),
            ("Low", bar.low),
            ("Close", bar.close),
        ] {
            if v <= Decimal::ZERO {
                return Err(at(line, format!("{name} {v} is not a positive price")));
            }
        }
        if bar.volume < Decimal::ZERO {
            return Err(at(line, format!("Volume {} is negative", bar.volume)));
        }
        if bar.high < bar.low {
            return Err(at(
                line,
                format!("High {} is below Low {}", bar.high, bar.low),
            ));
        }
        if let Some(previous) = bars.last() {
            if date == previous.date {
                return Err(at(line, format!("{date} appears twice")));
            }
            if date < previous.date {
                return Err(at(
                    line,
                    format!(
                        "{date} comes after {}: rows must be oldest first",
                        previous.date
                    ),
                ));
            }
        }
        if let Some(i) = adjusted {
            let adj = number(i, "Adj Close")?;
            if adj <= Decimal::ZERO {
                return Err(at(line, format!("Adj Close {adj} is not a positive price")));
            }
            bar = adjust(&bar, adj).ok_or_else(|| {
                at(
                    line,
                    format!(
                        "Adj Close {adj} against Close {} scales the prices beyond what can be held",
                        bar.close
                    ),
                )
            })?;
        }
        bars.push(bar);
    }
    if bars.is_empty() {
        return Err(at(0, "the file has no rows after its header"));
    }
    Ok(bars)
}

/// `bar` scaled by `adj / close`, with `adj` as its close; none when a
/// figure overflows or a price rounds to nothing.
fn adjust(bar: &Bar, adj: Decimal) -> Option<Bar> {
    let factor = adj.checked_div(bar.close)?;
    let scale = |p: Decimal| p.checked_mul(factor).filter(|p| *p > Decimal::ZERO);
    Some(Bar {
        open: scale(bar.open)?,
        high: scale(bar.high)?,
        low: scale(bar.low)?,
        close: adj,
        volume: bar.volume.checked_div(factor)?,
        ..*bar
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Date,Open,High,Low,Close,Volume\n";

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn a_well_formed_file_reads_in_any_column_order() {
        let bars = parse("close,Date,volume,Open,LOW,High\n10.5,2024-01-02,100,10,9.5,11\n11,2024-01-03 00:00:00,200,10.5,10,11.5\n").unwrap();
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].date, NaiveDate::from_ymd_opt(2024, 1, 2).unwrap());
        assert_eq!(bars[0].close, "10.5".parse().unwrap());
        assert_eq!(bars[1].volume, Decimal::from(200));
        // pandas' to_csv leaves the index (the date) unnamed.
        let bars =
            parse(",Open,High,Low,Close,Volume\n2004-08-19,100,104.06,95.96,100.34,22351900\n")
                .unwrap();
        assert_eq!(bars[0].date, NaiveDate::from_ymd_opt(2004, 8, 19).unwrap());
    }

    /// Found by the fuzz suite: a tiny Close and a huge Adj Close (or a
    /// huge price and an Adj Close above Close) overflowed the adjustment
    /// and panicked; it is a refusal of that line.
    #[test]
    fn an_adjustment_beyond_a_decimal_is_refused_not_a_panic() {
        let huge = "79228162514264337593543950335";
        let tiny = "0.0000000000000000000000000001";
        for row in [
            format!("2024-01-02,1,1,1,{tiny},{huge},100"),
            format!("2024-01-02,{huge},{huge},1,10,20,100"),
            format!("2024-01-02,{tiny},1,{tiny},10,1,100"),
        ] {
            let text = format!("Date,Open,High,Low,Close,Adj Close,Volume\n{row}\n");
            let e = err(&text);
            assert!(e.starts_with("line 2: Adj Close"), "{e}");
        }
    }

    #[test]
    fn adj_close_adjusts_the_prices_of_its_row() {
        let bars =
            parse("Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,20,22,18,20,10,100\n")
                .unwrap();
        let b = bars[0];
        assert_eq!(
            (b.open, b.high, b.low, b.close),
            (10.into(), 11.into(), 9.into(), 10.into())
        );
        assert_eq!(b.volume, Decimal::from(200));
    }

    #[test]
    fn every_fault_names_its_line_and_reason() {
        let ok = "2024-01-02,10,11,9,10,100\n";
        for (text, want) in [
            (
                "Date,Open,High,Low,Volume\n2024-01-02,1,1,1,1\n".to_owned(),
                "line 1: the header has no \"close\" column",
            ),
            (
                format!("{HEADER}{ok}2024-01-03,10,eleven,9,10,100\n"),
                "line 3: High \"eleven\" is not a number",
            ),
            (
                format!("{HEADER}{ok}2024-01-02,10,11,9,10,100\n"),
                "line 3: 2024-01-02 appears twice",
            ),
            (
                format!("{HEADER}{ok}2024-01-01,10,11,9,10,100\n"),
                "line 3: 2024-01-01 comes after 2024-01-02",
            ),
            (
                format!("{HEADER}2024-01-02,0,11,9,10,100\n"),
                "line 2: Open 0 is not a positive price",
            ),
            (
                format!("{HEADER}2024-01-02,10,9,11,10,100\n"),
                "line 2: High 9 is below Low 11",
            ),
            (
                format!("{HEADER}2024-01-02,10,11,9,10,-1\n"),
                "line 2: Volume -1 is negative",
            ),
            (
                format!("{HEADER}01/02/2024,10,11,9,10,100\n"),
                "line 2: Date \"01/02/2024\" is not a YYYY-MM-DD date",
            ),
            (
                format!("{HEADER}2024-01-02,10,11,9\n"),
                "line 2: the row does not read",
            ),
            (
                format!("{HEADER}2024-01-02,10,11,9,,100\n"),
                "line 2: Close is missing",
            ),
            (HEADER.to_owned(), "the file has no rows after its header"),
        ] {
            let got = err(&text);
            assert!(got.starts_with(want), "{text:?}: {got}");
        }
    }

    #[test]
    fn an_oversized_file_is_refused_whole() {
        let big = format!("{HEADER}{}", "x".repeat(MAX_BYTES));
        assert!(err(&big).contains("larger than"));
    }
}
