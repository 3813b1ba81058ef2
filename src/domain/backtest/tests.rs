use super::metrics::{drawdown, of_run};
use super::*;
use crate::domain::strategy::crossover::MaCrossover;
use crate::domain::strategy::risk::Level;
use proptest::prelude::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn day(i: usize) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 5).unwrap() + chrono::Days::new(i as u64)
}

/// Bars from (open, close) pairs; high and low are the larger and smaller.
fn bars(oc: &[(i64, i64)]) -> Vec<Bar> {
    oc.iter()
        .enumerate()
        .map(|(i, &(o, c))| Bar {
            date: day(i),
            open: Decimal::from(o),
            high: Decimal::from(o.max(c)),
            low: Decimal::from(o.min(c)),
            close: Decimal::from(c),
            volume: Decimal::from(1000),
        })
        .collect()
}

/// A step up then down: with 2- and 3-day averages the cross up is on bar 4's
/// close (20) and the cross down on bar 6's (5).
const STEP: [(i64, i64); 8] = [
    (10, 10),
    (10, 10),
    (10, 10),
    (10, 9),
    (9, 20),
    (19, 21),
    (21, 5),
    (6, 5),
];

fn crossover() -> MaCrossover {
    MaCrossover {
        fast: 2,
        slow: 3,
        ..MaCrossover::default()
    }
}

fn backtest(oc: &[(i64, i64)], config: Config) -> Run {
    let bars = bars(oc);
    run(&bars, &crossover().signals(&bars), &config)
}

fn cash(c: i64) -> Config {
    Config {
        cash: Decimal::from(c),
        ..Config::default()
    }
}

#[test]
fn next_open_fills_buy_and_sell_at_the_following_bars_open() {
    let r = backtest(&STEP, cash(100));
    // Bought floor(100 / 19) = 5 at bar 5's open, sold at bar 7's open (6).
    assert_eq!(
        r.trades,
        [Trade {
            entry_date: day(5),
            exit_date: day(7),
            entry_price: d("19"),
            exit_price: d("6"),
            quantity: d("5"),
            pnl: d("-65"),
            exit_reason: ExitReason::Signal,
            bars_held: 3,
        }]
    );
    let values: Vec<Decimal> = r.equity.iter().map(|p| p.value).collect();
    // 5 shares + $5 cash from bar 5 on: 110, 30; then $35 cash.
    assert_eq!(
        values,
        [100, 100, 100, 100, 100, 110, 30, 35].map(Decimal::from)
    );
    assert_eq!(r.bars_in_market, 2);
}

#[test]
fn close_fills_trade_at_the_signal_bars_close() {
    let r = backtest(
        &STEP,
        Config {
            fill: Fill::Close,
            ..cash(100)
        },
    );
    assert_eq!(r.trades.len(), 1);
    let t = &r.trades[0];
    assert_eq!(
        (t.entry_date, t.entry_price, t.quantity),
        (day(4), d("20"), d("5"))
    );
    assert_eq!(
        (t.exit_date, t.exit_price, t.pnl),
        (day(6), d("5"), d("-75"))
    );
    assert_eq!(r.equity.last().unwrap().value, d("25"));
}

#[test]
fn fractional_sizing_spends_all_cash_to_nine_decimals() {
    let r = backtest(
        &STEP,
        Config {
            sizing: Sizing::Fractional,
            ..cash(100)
        },
    );
    let t = &r.trades[0];
    // 5.263157894 × 19 = 99.999999986, booked as $100.00; sold at 6 for
    // 31.578947364, booked as $31.58.
    assert_eq!(t.quantity, d("5.263157894"));
    assert_eq!(t.pnl, d("-68.42"));
    assert_eq!(r.equity.last().unwrap().cash, d("31.58"));
}

#[test]
fn commission_and_slippage_are_paid_on_both_fills() {
    let r = backtest(
        &STEP,
        Config {
            commission: d("0.01"),
            slippage_bps: d("100"),
            ..cash(100)
        },
    );
    let t = &r.trades[0];
    // Buy at 19 × 1.01 = 19.19 (+1 % commission a share: 19.3819): 5 shares,
    // paying 95.95 + 0.9595 = 96.9095, booked $96.91. Sell at 6 × 0.99 = 5.94:
    // 29.70 − 0.297 = 29.403, booked $29.40.
    assert_eq!(
        (t.entry_price, t.exit_price, t.quantity),
        (d("19.19"), d("5.94"), d("5"))
    );
    assert_eq!(t.pnl, d("-67.51"));
    assert_eq!(r.equity.last().unwrap().value, d("32.49"));
}

#[test]
fn a_position_open_at_the_end_is_closed_at_the_last_close_and_counted() {
    let r = backtest(&STEP[..6], cash(100));
    assert_eq!(r.trades.len(), 1);
    let t = &r.trades[0];
    assert_eq!(t.exit_reason, ExitReason::EndOfData);
    assert_eq!(
        (t.exit_date, t.exit_price, t.pnl),
        (day(5), d("21"), d("10"))
    );
    let last = r.equity.last().unwrap();
    assert_eq!(
        (last.shares, last.cash, last.value),
        (Decimal::ZERO, d("110"), d("110"))
    );
}

#[test]
fn a_stop_loss_closes_the_position_at_its_level() {
    let r = backtest(
        &STEP,
        Config {
            exits: Exits {
                stop_loss: Some(Level::Percent(d("10"))),
                take_profit: None,
            },
            ..cash(100)
        },
    );
    // Entered at 19: stop 17.10. Bar 6 opens at 21 and falls to 5.
    assert_eq!(r.trades.len(), 1);
    let t = &r.trades[0];
    assert_eq!(t.exit_reason, ExitReason::StopLoss);
    assert_eq!(
        (t.exit_date, t.exit_price, t.pnl),
        (day(6), d("17.1"), d("-9.5"))
    );
    assert_eq!(r.equity.last().unwrap().value, d("90.5"));
}

#[test]
fn a_take_profit_closes_the_position_when_reached() {
    let r = backtest(
        &STEP,
        Config {
            exits: Exits {
                stop_loss: None,
                take_profit: Some(Level::Percent(d("10"))),
            },
            ..cash(100)
        },
    );
    // Entered at 19: target 20.90, reached on bar 5 (high 21).
    let t = &r.trades[0];
    assert_eq!(t.exit_reason, ExitReason::TakeProfit);
    assert_eq!((t.exit_date, t.exit_price), (day(5), d("20.9")));
}

fn points(values: &[i64]) -> Vec<EquityPoint> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| EquityPoint {
            date: day(i),
            cash: Decimal::from(*v),
            shares: Decimal::ZERO,
            value: Decimal::from(*v),
        })
        .collect()
}

fn trade(pnl: i64) -> Trade {
    Trade {
        entry_date: day(0),
        exit_date: day(1),
        entry_price: d("1"),
        exit_price: d("1"),
        quantity: d("1"),
        pnl: Decimal::from(pnl),
        exit_reason: ExitReason::Signal,
        bars_held: 2,
    }
}

#[test]
fn metrics_match_a_hand_computation() {
    let equity = points(&[100, 110, 99, 121]);
    let run = Run {
        trades: vec![trade(10), trade(-5), trade(20)],
        values: equity.iter().map(|p| p.value.try_into().unwrap()).collect(),
        dates: equity.iter().map(|p| p.date).collect(),
        final_value: equity.last().unwrap().value,
        equity,
        bars_in_market: 2,
    };
    let m = of_run(&run, d("100"), 0.0);
    assert_eq!((m.final_value, m.gain), (d("121"), d("21")));
    assert!((m.total_return_pct - 21.0).abs() < 1e-9);
    // 110 → 99 is −10 %; 121 on day 3 regains the peak: two days.
    assert!((m.max_drawdown_pct + 10.0).abs() < 1e-9);
    assert_eq!((m.max_drawdown_days, m.recovered_on), (2, Some(day(3))));
    // Daily returns 0.1, −0.1, 2/9: mean 0.074074, sample sd 0.162668.
    assert!((m.sharpe.unwrap() - 7.228_765_761).abs() < 1e-6);
    assert!((m.sortino.unwrap() - 20.367_003_089).abs() < 1e-6);
    assert!((m.volatility_pct.unwrap() - 258.227_576_919).abs() < 1e-6);
    assert_eq!(m.trades, 3);
    assert!((m.win_rate_pct.unwrap() - 200.0 / 3.0).abs() < 1e-9);
    assert!((m.profit_factor.unwrap() - 6.0).abs() < 1e-12);
    assert_eq!(
        (m.average_win, m.average_loss),
        (Some(d("15")), Some(d("-5")))
    );
    assert_eq!(
        (m.best_trade, m.worst_trade),
        (Some(d("20")), Some(d("-5")))
    );
    assert!((m.exposure_pct - 50.0).abs() < 1e-12);
    // Calmar is CAGR over the drawdown's depth.
    let (calmar, cagr) = (m.calmar.unwrap(), m.cagr_pct.unwrap());
    assert!((calmar / (cagr / 10.0) - 1.0).abs() < 1e-12);
}

#[test]
fn a_drawdown_that_never_recovers_lasts_until_the_last_bar() {
    let pts: Vec<(NaiveDate, f64)> = [100.0, 80.0, 90.0, 60.0, 70.0]
        .iter()
        .enumerate()
        .map(|(i, v)| (day(i), *v))
        .collect();
    let (depth, days, recovered) = drawdown(&pts);
    assert!((depth + 40.0).abs() < 1e-9);
    assert_eq!((days, recovered), (4, None));
    assert_eq!(drawdown(&pts[..1]), (0.0, 0, None));
}

#[test]
fn without_trades_or_variation_undefined_figures_say_so() {
    let equity = points(&[100, 100, 100]);
    let run = Run {
        trades: vec![],
        values: equity.iter().map(|p| p.value.try_into().unwrap()).collect(),
        dates: equity.iter().map(|p| p.date).collect(),
        final_value: equity.last().unwrap().value,
        equity,
        bars_in_market: 0,
    };
    let m = of_run(&run, d("100"), 0.0);
    assert_eq!(
        (
            m.sharpe,
            m.sortino,
            m.calmar,
            m.win_rate_pct,
            m.profit_factor
        ),
        (None, None, None, None, None)
    );
    assert_eq!(m.max_drawdown_pct, 0.0);
}

fn random_bars() -> impl Strategy<Value = Vec<Bar>> {
    proptest::collection::vec(
        (1i64..100_000, 1i64..100_000, 0i64..5_000, 0i64..5_000),
        0..120,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (o, c, up, down))| {
                let (open, close) = (Decimal::new(o, 2), Decimal::new(c, 2));
                Bar {
                    date: day(i),
                    open,
                    high: open.max(close) + Decimal::new(up, 2),
                    low: (open.min(close) - Decimal::new(down, 2)).max(Decimal::new(1, 2)),
                    close,
                    volume: Decimal::from(1000),
                }
            })
            .collect()
    })
}

fn any_config() -> impl Strategy<Value = Config> {
    (
        prop_oneof![Just(Fill::NextOpen), Just(Fill::Close)],
        prop_oneof![Just(Sizing::WholeShares), Just(Sizing::Fractional)],
        0i64..50,
        0i64..200,
        proptest::option::of(1i64..30),
        proptest::option::of(1i64..30),
    )
        .prop_map(
            |(fill, sizing, commission_bps, slippage_bps, stop, target)| Config {
                cash: Decimal::from(10_000),
                fill,
                sizing,
                commission: Decimal::new(commission_bps, 4),
                slippage_bps: Decimal::from(slippage_bps),
                exits: Exits {
                    stop_loss: stop.map(|p| Level::Percent(Decimal::from(p))),
                    take_profit: target.map(|p| Level::Atr(Decimal::from(p))),
                },
                atr_window: 14,
            },
        )
}

proptest! {
    #![proptest_config(crate::domain::testing::seeded())]

    /// At every bar: value = cash + shares × close, neither cash nor shares
    /// is negative, and the trades' P&L adds up to the change in value; no
    /// trade starts before the slow average has two values to compare.
    #[test]
    fn the_books_balance_at_every_bar(bars in random_bars(), config in any_config(), fast in 1usize..10, extra in 1usize..20) {
        let strategy = MaCrossover { fast, slow: fast + extra, ..MaCrossover::default() };
        let r = run(&bars, &strategy.signals(&bars), &config);
        prop_assert_eq!(r.equity.len(), bars.len());
        for (p, b) in r.equity.iter().zip(&bars) {
            prop_assert!(p.cash >= Decimal::ZERO, "{:?}", p);
            prop_assert!(p.shares >= Decimal::ZERO, "{:?}", p);
            prop_assert_eq!(p.value, p.cash + p.shares * b.close);
        }
        // The statistics' f64 values follow the exact ones.
        for (p, v) in r.equity.iter().zip(&r.values) {
            let exact: f64 = p.value.try_into().unwrap();
            prop_assert!((exact - v).abs() <= 1e-9 * exact.abs().max(1.0), "{} vs {}", exact, v);
        }
        let pnl: Decimal = r.trades.iter().map(|t| t.pnl).sum();
        let end = r.equity.last().map_or(config.cash, |p| p.value);
        prop_assert_eq!(pnl, end - config.cash);
        // Flat at the end: the last position was closed and counted.
        prop_assert!(r.equity.last().is_none_or(|p| p.shares.is_zero()));
        let first_entry = bars.iter().position(|b| r.trades.first().is_some_and(|t| t.entry_date == b.date));
        if let Some(i) = first_entry {
            prop_assert!(i >= strategy.slow, "entered on bar {} with a {}-bar slow average", i, strategy.slow);
        }
    }
}
