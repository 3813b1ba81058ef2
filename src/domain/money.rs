//! Money as people read it. Amounts are exact decimals everywhere; this is
//! only how they are shown (pages, notices, e-mail, engine reasons alike).

use rust_decimal::{Decimal, RoundingStrategy};

/// `d` to the cent, halves away from zero (as people round, not banker's).
pub fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Dollars with thousands separators and cents: `$12,345.60`, `-$3.10`.
pub fn dollars(d: Decimal) -> String {
    let rounded = cents(d);
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    let text = format!("{:.2}", rounded.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    format!("{sign}${}.{cents}", group_digits(whole))
}

/// A count with thousands separators: `20,000`.
pub fn grouped(n: u64) -> String {
    group_digits(&n.to_string())
}

fn group_digits(whole: &str) -> String {
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("a decimal")
    }

    #[test]
    fn dollars_are_grouped_and_rounded_to_the_cent_halves_up() {
        assert_eq!(dollars(d("1234567.891")), "$1,234,567.89");
        assert_eq!(dollars(d("60.005")), "$60.01");
        assert_eq!(dollars(d("0.125")), "$0.13");
        assert_eq!(dollars(d("-2.345")), "-$2.35");
        assert_eq!(dollars(d("-0.004")), "$0.00");
        assert_eq!(dollars(d("100")), "$100.00");
    }
}
