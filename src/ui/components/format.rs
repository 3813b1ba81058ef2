//! Small display helpers shared by pages.

use crate::dto::stamp::Stamp;
use leptos::prelude::*;
use rust_decimal::Decimal;

/// An instant as the server formatted it for this reader: the time in their
/// zone, how far away it is when that helps, and UTC in the tooltip.
#[component]
pub fn When(at: Stamp) -> impl IntoView {
    let title = at.utc_label();
    let relative = at
        .relative
        .map(|r| view! { " " <span class="hint">"(" {r} ")"</span> });
    view! {
        <time datetime=at.utc title=title>{at.local}</time>
        {relative}
    }
}

/// Dollars with thousands separators and cents: `$12,345.60`, `-$3.10`.
pub fn money(d: Decimal) -> String {
    crate::domain::money::dollars(d)
}

/// Money with an explicit sign for gains: `+$5.00`, `-$5.00`.
pub fn signed_money(d: Decimal) -> String {
    if d.round_dp(2) > Decimal::ZERO {
        format!("+{}", money(d))
    } else {
        money(d)
    }
}

/// A percentage with a sign: `+1.25%`.
pub fn signed_pct(p: Decimal) -> String {
    let p = p.round_dp(2);
    if p > Decimal::ZERO {
        format!("+{p:.2}%")
    } else {
        format!("{p:.2}%")
    }
}

/// A quantity without trailing zeros.
pub fn qty(d: Decimal) -> String {
    d.normalize().to_string()
}

/// A percentage (of 100) to two places, or a dash when there is none.
pub fn pct_or_dash(p: Option<f64>) -> String {
    match p.filter(|p| p.is_finite()) {
        // Adding zero turns a rounded -0.00 into 0.00.
        Some(p) => format!("{:.2}%", (p * 100.0).round() / 100.0 + 0.0),
        None => "—".into(),
    }
}

/// An amount, or a dash when it is not known.
pub fn money_or_dash(d: Option<Decimal>) -> String {
    d.map(money).unwrap_or_else(|| "—".into())
}

/// A gain in dollars, with its percentage of what was put in when there is one.
pub fn gain_text(gain: Decimal, gain_pct: Option<Decimal>) -> String {
    match gain_pct {
        Some(p) => format!("{} ({})", signed_money(gain), signed_pct(p)),
        None => signed_money(gain),
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn money_reads_like_a_bank_statement() {
        assert_eq!(super::money(d("1234567.891")), "$1,234,567.89");
        assert_eq!(super::money(d("-3.1")), "-$3.10");
        assert_eq!(super::money(d("0")), "$0.00");
        assert_eq!(super::money(d("-0.001")), "$0.00");
        assert_eq!(super::money(d("999.995")), "$1,000.00");
        assert_eq!(super::signed_money(d("5")), "+$5.00");
        assert_eq!(super::signed_pct(d("-1.234")), "-1.23%");
        assert_eq!(super::qty(d("0.250000000")), "0.25");
    }
}
