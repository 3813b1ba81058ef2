use super::*;
use crate::domain::calendar::trading_days;
use crate::domain::schedule::{Cadence, TimeOfDay};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Ten trading days at $10 before 5 January 2026, then Monday to Friday at
/// 10, 20, 10, 20, 10 (open = close).
fn history(symbol: &str, plan_prices: &[i64], flat: i64) -> Vec<Bar> {
    let before: Vec<NaiveDate> = trading_days(date("2025-12-01"), date("2026-01-02"))
        .map(|d| d.date)
        .collect();
    let before = &before[before.len() - 10..];
    let during: Vec<NaiveDate> = trading_days(date("2026-01-05"), date("2026-01-09"))
        .map(|d| d.date)
        .collect();
    let bar = |date: NaiveDate, p: i64| Bar {
        date,
        open: Decimal::from(p),
        high: Decimal::from(p),
        low: Decimal::from(p),
        close: Decimal::from(p),
        volume: Decimal::from(1000),
    };
    let _ = symbol;
    before
        .iter()
        .map(|d| bar(*d, flat))
        .chain(during.iter().zip(plan_prices).map(|(d, p)| bar(*d, *p)))
        .collect()
}

fn bars() -> Bars {
    HashMap::from([
        ("AAA".to_owned(), history("AAA", &[10, 20, 10, 20, 10], 10)),
        ("BBB".to_owned(), history("BBB", &[50, 50, 50, 50, 50], 50)),
    ])
}

fn daily() -> Schedule {
    Schedule::new(
        Cadence::Daily,
        TimeOfDay::Local(NaiveTime::from_hms_opt(10, 0, 0).unwrap()),
        "America/New_York",
        date("2026-01-05"),
        None,
    )
    .unwrap()
}

fn input<'a>(legs: &'a [(String, Decimal)], schedule: &'a Schedule) -> PlanInput<'a> {
    PlanInput::new(
        legs,
        schedule,
        date("2026-01-05"),
        date("2026-01-09"),
        Fill::NextOpen,
    )
}

fn legs() -> Vec<(String, Decimal)> {
    vec![("AAA".to_owned(), Decimal::ONE_HUNDRED)]
}

#[test]
fn pure_dca_buys_every_run_and_its_returns_match_a_hand_computation() {
    let (legs, schedule, bars) = (legs(), daily(), bars());
    let o = dca(&input(&legs, &schedule), &bars, &Mode::Pure, 0.0).unwrap();
    let bought: Vec<Decimal> = o.buys.iter().map(|b| b.quantity).collect();
    assert_eq!(bought, [10, 5, 10, 5, 10].map(Decimal::from));
    let m = &o.metrics;
    assert_eq!(
        (m.contributed, m.final_value, m.gain),
        (Decimal::from(500), Decimal::from(400), Decimal::from(-100))
    );
    // Daily TWR: 0, +50 %, −37.5 %, +71.43 %, −42.86 %: −8.163 % in all.
    assert!(
        (m.twr_pct.unwrap() - (1.5 * 0.625 * (600.0 / 350.0) * (400.0 / 700.0) - 1.0) * 100.0)
            .abs()
            < 1e-9
    );
    assert_eq!(m.cagr_pct, None, "no CAGR for a plan with contributions");
    // A 20 % loss in four days annualises past −99.9999999999 %: no rate is
    // found, and XIRR says so rather than printing a number.
    assert_eq!(m.xirr_pct, None);
    assert_eq!(o.days.len(), 5);
    assert_eq!(o.days[1].contributed, Decimal::from(200));
}

#[test]
fn smart_dca_skips_above_the_average_with_the_reason_and_keeps_the_money_as_cash() {
    let (legs, schedule, bars) = (legs(), daily(), bars());
    let mode = Mode::smart(5, false).unwrap();
    let o = dca(&input(&legs, &schedule), &bars, &mode, 0.0).unwrap();
    // Day 3's previous close (20) is above its 5-day average (12); day 5's
    // (20) above 14. Both skipped; the others buy at the day's open.
    let skipped: Vec<NaiveDate> = o.skipped.iter().map(|s| s.date).collect();
    assert_eq!(skipped, [date("2026-01-07"), date("2026-01-09")]);
    assert!(
        o.skipped[0].reason.contains("above its 5-day average 12"),
        "{}",
        o.skipped[0].reason
    );
    let m = &o.metrics;
    assert_eq!((m.buys, m.skipped, m.idle_cash), (3, 2, Decimal::from(200)));
    // 10 + 5 + 5 shares at 10, plus $200 cash.
    assert_eq!(m.final_value, Decimal::from(400));
    // Carrying spends a skipped run's money on the next run that buys.
    let carrying = Mode::smart(5, true).unwrap();
    let o = dca(&input(&legs, &schedule), &bars, &carrying, 0.0).unwrap();
    let spent: Vec<Decimal> = o.buys.iter().map(|b| b.dollars).collect();
    assert_eq!(spent, [100, 100, 200].map(Decimal::from));
    assert_eq!(o.metrics.idle_cash, Decimal::from(100));
}

#[test]
fn a_lump_sum_invests_the_whole_total_on_the_first_run_day() {
    let (legs, schedule, bars) = (legs(), daily(), bars());
    let o = lump_sum(&input(&legs, &schedule), &bars, 0.0).unwrap();
    assert_eq!(o.buys.len(), 1);
    assert_eq!(
        (o.buys[0].date, o.buys[0].quantity),
        (date("2026-01-05"), Decimal::from(50))
    );
    assert_eq!(o.metrics.final_value, Decimal::from(500));
    assert_eq!(o.metrics.cagr_pct, Some(0.0));
}

#[test]
fn the_benchmark_is_bought_with_the_same_dated_contributions() {
    let (legs, schedule, bars) = (legs(), daily(), bars());
    let plan = dca(&input(&legs, &schedule), &bars, &Mode::Pure, 0.0).unwrap();
    let spy = benchmark(&input(&legs, &schedule), &bars, "BBB", 0.0).unwrap();
    let dates = |o: &Outcome| {
        o.buys
            .iter()
            .map(|b| (b.date, b.dollars))
            .collect::<Vec<_>>()
    };
    assert_eq!(dates(&plan), dates(&spy));
    assert_eq!(spy.metrics.final_value, Decimal::from(500));
    assert_eq!(
        headline(&plan, &spy),
        "Pure DCA ended $100.00 behind BBB bought on the same days"
    );
}

#[test]
fn a_run_due_on_a_holiday_contributes_on_the_next_trading_day() {
    // Weekly on Thursdays from 18 December 2025: Christmas (25th) and New
    // Year's Day (1 January) are closed, so those runs fall on the Fridays.
    let schedule = Schedule::new(
        Cadence::Weekly {
            weekday: chrono::Weekday::Thu,
        },
        TimeOfDay::Local(NaiveTime::from_hms_opt(10, 0, 0).unwrap()),
        "America/New_York",
        date("2025-12-18"),
        None,
    )
    .unwrap();
    let legs = legs();
    let runs = contributions(&{
        let base = input(&legs, &schedule);
        PlanInput::new(
            base.legs,
            base.schedule,
            date("2025-12-18"),
            date("2026-01-09"),
            base.fill,
        )
    });
    let days: Vec<NaiveDate> = runs.iter().map(|(d, _)| *d).collect();
    assert_eq!(
        days,
        [
            date("2025-12-18"),
            date("2025-12-26"),
            date("2026-01-02"),
            date("2026-01-08")
        ]
    );
}

#[test]
fn missing_bars_or_runs_are_errors_that_say_which() {
    let (legs, schedule, bars) = (legs(), daily(), bars());
    let nothing = vec![("ZZZ".to_owned(), Decimal::TEN)];
    assert_eq!(
        dca(&input(&nothing, &schedule), &bars, &Mode::Pure, 0.0).unwrap_err(),
        PlanError::NoBars("ZZZ".into())
    );
    let early = {
        let base = input(&legs, &schedule);
        PlanInput::new(
            base.legs,
            base.schedule,
            date("2026-01-01"),
            date("2026-01-02"),
            base.fill,
        )
    };
    assert!(matches!(
        dca(&early, &bars, &Mode::Pure, 0.0),
        Err(PlanError::NoRuns(..))
    ));
    assert!(
        matches!(benchmark(&input(&legs, &schedule), &bars, "SPY", 0.0), Err(PlanError::NoBars(s)) if s == "SPY")
    );
}

proptest::proptest! {
    #![proptest_config(crate::domain::testing::seeded())]

    /// The integer fast path gives the shares the decimal quotient, rounded
    /// down to 9 places, gives.
    #[test]
    fn quantities_in_integers_equal_the_decimal_quotient(
        cents in 1i64..10_000_000,
        price in 1i64..100_000_000,
        price_scale in 0u32..6,
    ) {
        let dollars = Decimal::new(cents, 2);
        let price = Decimal::new(price, price_scale);
        let slow = (dollars / price).round_dp_with_strategy(9, RoundingStrategy::ToZero);
        proptest::prop_assert_eq!(quantity_of(dollars, price), slow);
    }

    /// Holdings summed in integers equal the decimal sum of shares × close.
    #[test]
    fn holdings_in_integers_equal_the_decimal_sum(
        lots in proptest::collection::vec((1i64..1_000_000_000_000, 1i64..10_000_000, 0u32..7), 0..12),
    ) {
        let mut h = Holdings::default();
        let mut exact = Decimal::ZERO;
        for (shares, close, scale) in lots {
            let (shares, close) = (Decimal::new(shares, 9), Decimal::new(close, scale));
            h.add(shares, close);
            exact += shares * close;
        }
        proptest::prop_assert_eq!(h.total(), exact);
    }
}

#[test]
fn a_leg_average_kept_running_equals_the_average_of_its_closes() {
    let bars = bars();
    let symbols = ["AAA"];
    let closes: Vec<Decimal> = bars["AAA"].iter().map(|b| b.close).collect();
    // Day after day with one window (the running sum), and switching windows
    // every day (summed afresh).
    for windows in [vec![3], vec![1, 2, 3]] {
        let mut ledger = Ledger::new(&bars, &symbols, Fill::NextOpen);
        for (c, bar) in bars["AAA"].iter().enumerate() {
            for &n in &windows {
                let (last, average) = ledger.last_and_average(0, bar.date, n);
                assert_eq!(last, c.checked_sub(1).map(|i| closes[i]));
                assert_eq!(
                    average,
                    crate::domain::strategy::indicators::sma_last(&closes[..c], n)
                );
            }
        }
    }
}
