use super::*;
use crate::domain::strategy::indicators::atr;

fn bar(i: usize, close: i64) -> Bar {
    let c = Decimal::from(close);
    Bar {
        date: NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date") + chrono::Days::new(i as u64),
        open: c,
        high: c,
        low: c,
        close: c,
        volume: Decimal::from(1_000),
    }
}

/// 29 falling closes (the fast average under the slow one), then `last`.
fn series(last: i64) -> Vec<Bar> {
    (0..29)
        .map(|i| bar(i, 120 - i as i64))
        .chain([bar(29, last)])
        .collect()
}

fn bare() -> Rules {
    Rules {
        crossover: MaCrossover::default(),
        ..Rules::default()
    }
}

#[test]
fn states_read_back_exactly_and_an_unknown_one_is_an_error() {
    for s in State::ALL {
        assert_eq!(State::try_from(s.as_str()), Ok(*s));
    }
    assert!(State::try_from("approved").is_err());
    for s in Signal::ALL {
        assert_eq!(Signal::try_from(s.as_str()), Ok(*s));
    }
    assert!(Side::try_from("short").is_err());
    assert!(State::Pending.is_open() && !State::Expired.is_open());
}

#[test]
fn a_cross_up_on_the_last_close_proposes_a_buy_sized_by_atr_with_stop_and_target() {
    let bars = series(200);
    let equity = Decimal::from(50_000);
    let c = candidate("VTI", &bars, &bare(), equity, Decimal::ZERO).expect("a candidate");
    let a = atr(&bars, 14)[29].expect("an ATR");
    // 1 % of equity over a 2 × ATR stop, in whole shares.
    let shares = (equity / Decimal::ONE_HUNDRED / (Decimal::TWO * a)).floor();
    assert_eq!(c.side, Side::Buy);
    assert_eq!(c.quantity, shares);
    assert_eq!(c.reference_price, Decimal::from(200));
    assert_eq!(c.notional, shares * Decimal::from(200));
    assert_eq!(c.levels.stop, Some(Decimal::from(200) - Decimal::TWO * a));
    assert_eq!(
        c.levels.target,
        Some(Decimal::from(200) + Decimal::from(3) * a)
    );
    assert!(c.reason.contains("crossed above"), "{}", c.reason);
    assert!(c.values.iter().any(|(k, _)| k == "sma_20"));
    assert_eq!(c.date, bars[29].date);
}

#[test]
fn nothing_is_proposed_without_a_signal_on_the_last_close_or_for_a_position_already_held() {
    // Still falling on the last bar: no cross.
    assert_eq!(
        candidate(
            "VTI",
            &series(90),
            &bare(),
            Decimal::from(50_000),
            Decimal::ZERO
        ),
        None
    );
    // A buy signal while holding proposes nothing more.
    assert_eq!(
        candidate(
            "VTI",
            &series(200),
            &bare(),
            Decimal::from(50_000),
            Decimal::ONE
        ),
        None
    );
    // Too little equity for one share.
    assert_eq!(
        candidate(
            "VTI",
            &series(200),
            &bare(),
            Decimal::from(10),
            Decimal::ZERO
        ),
        None
    );
    // The default trend filter needs 200 bars of history: not met here.
    assert_eq!(
        candidate(
            "VTI",
            &series(200),
            &Rules::default(),
            Decimal::from(50_000),
            Decimal::ZERO
        ),
        None
    );
}

#[test]
fn a_cross_down_proposes_selling_what_is_held() {
    // 29 rising closes, then a drop: the fast average crosses under.
    let bars: Vec<Bar> = (0..29)
        .map(|i| bar(i, 80 + i as i64))
        .chain([bar(29, 20)])
        .collect();
    let held = Decimal::from(7);
    let c = candidate("VTI", &bars, &bare(), Decimal::from(50_000), held).expect("an exit");
    assert_eq!((c.side, c.quantity), (Side::Sell, held));
    assert!(c.reason.contains("crossed below"), "{}", c.reason);
    // Flat: nothing to sell.
    assert_eq!(
        candidate("VTI", &bars, &bare(), Decimal::from(50_000), Decimal::ZERO),
        None
    );
}

#[test]
fn a_position_reaches_its_stop_before_its_target() {
    let levels = Levels {
        stop: Some(Decimal::from(90)),
        target: Some(Decimal::from(120)),
    };
    assert_eq!(exit_reached(&levels, Decimal::from(100)), None);
    assert_eq!(
        exit_reached(&levels, Decimal::from(90)),
        Some(Signal::StopLoss)
    );
    assert_eq!(
        exit_reached(&levels, Decimal::from(121)),
        Some(Signal::TakeProfit)
    );
    assert_eq!(exit_reached(&Levels::default(), Decimal::ONE), None);
}

#[test]
fn a_forward_return_is_the_recommended_sides_gain() {
    let d = |s: &str| s.parse::<Decimal>().expect("a decimal");
    assert_eq!(
        forward_return(Side::Buy, d("100"), d("103.456")),
        Some(d("3.46"))
    );
    assert_eq!(forward_return(Side::Sell, d("100"), d("95")), Some(d("5")));
    assert_eq!(forward_return(Side::Buy, Decimal::ZERO, d("1")), None);
    assert_eq!(filters_label(&Rules::default()), "volume+trend");
    assert_eq!(filters_label(&bare()), "none");
}
