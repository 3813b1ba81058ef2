use super::*;
use crate::domain::strategy::Bar;

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

const MON: &str = "2026-01-05";
const TUE: &str = "2026-01-06";
const WED: &str = "2026-01-07";
const THU: &str = "2026-01-08";
const FRI: &str = "2026-01-09";

/// Bars with open = close, Monday to Thursday.
fn series(prices: [&str; 4]) -> Vec<Bar> {
    [MON, TUE, WED, THU]
        .iter()
        .zip(prices)
        .map(|(d, p)| Bar {
            date: date(d),
            open: dec(p),
            high: dec(p),
            low: dec(p),
            close: dec(p),
            volume: Decimal::from(1000),
        })
        .collect()
}

/// SPY split 2-for-1 on Wednesday: its split-adjusted bars are 50, 55, 55,
/// 60 while Monday's and Tuesday's fills were at the raw 100 and 110. VTI
/// is the benchmark at 200, 220, 220, 230.
fn bars() -> Bars {
    HashMap::from([
        ("SPY".to_owned(), series(["50", "55", "55", "60"])),
        ("VTI".to_owned(), series(["200", "220", "220", "230"])),
    ])
}

/// Books through Thursday's close, and Friday at `live` when given.
fn books<'a>(
    buys: &'a [Buy],
    bars: &'a Bars,
    live: Option<&'a HashMap<String, Decimal>>,
) -> Books<'a> {
    Books {
        buys,
        dividends: &[],
        bars,
        through: date(THU),
        today: live.map(|l| (date(FRI), l)),
    }
}

fn buy(day: &str, dollars: &str, quantity: &str, price: &str) -> Buy {
    Buy {
        date: date(day),
        symbol: "SPY".into(),
        dollars: dec(dollars),
        quantity: dec(quantity),
        price: dec(price),
    }
}

/// $100 for 1 share on Monday, $110 for 1 share on Tuesday, the split on
/// Wednesday, a $0.50 dividend per (new) share on Thursday.
fn story() -> (Vec<Buy>, Vec<Event>) {
    (
        vec![buy(MON, "100", "1", "100"), buy(TUE, "110", "1", "110")],
        vec![
            Event::Split {
                date: date(WED),
                symbol: "SPY".into(),
                ratio: Decimal::TWO,
            },
            Event::Dividend {
                date: date(THU),
                symbol: "SPY".into(),
                per_share: dec("0.50"),
            },
        ],
    )
}

#[test]
fn a_split_restates_earlier_buys_in_todays_shares_and_keeps_the_cost_basis() {
    let (buys, events) = story();
    let adjusted = split_adjusted(&buys, &events);
    assert_eq!(
        adjusted,
        vec![buy(MON, "100", "2", "50"), buy(TUE, "110", "2", "55")]
    );
    let h = holdings(&adjusted, &HashMap::from([("SPY".to_owned(), dec("61"))]));
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].shares, dec("4"));
    // Cost basis unchanged by the split: $210 for 4 shares is $52.50 each.
    assert_eq!(h[0].cost, dec("210"));
    assert_eq!(h[0].average_cost, Some(dec("52.5")));
    assert_eq!(h[0].value, Some(dec("244")));
    // A buy after the split is already in today's shares.
    let later = split_adjusted(&[buy(THU, "60", "1", "60")], &events);
    assert_eq!(later, vec![buy(THU, "60", "1", "60")]);
}

#[test]
fn a_dividend_pays_on_the_shares_held_before_its_date_in_that_dates_shares() {
    let (buys, mut events) = story();
    let adjusted = split_adjusted(&buys, &events);
    // 4 shares before Thursday × $0.50.
    assert_eq!(
        dividends(&adjusted, &events),
        vec![(date(THU), "SPY".into(), dec("2.00"))]
    );
    // Paid on Tuesday, before the split: 1 share then (2 today) × $0.50;
    // Tuesday's own buy does not count.
    events.push(Event::Dividend {
        date: date(TUE),
        symbol: "SPY".into(),
        per_share: dec("0.50"),
    });
    assert_eq!(
        dividends(&adjusted, &events)[1],
        (date(TUE), "SPY".into(), dec("0.50"))
    );
}

#[test]
fn the_plans_value_returns_and_gain_match_the_hand_computed_books() {
    let (buys, events) = story();
    let adjusted = split_adjusted(&buys, &events);
    let paid = dividends(&adjusted, &events);
    let live = HashMap::from([("SPY".to_owned(), dec("61"))]);
    let bars = bars();
    let books = Books {
        buys: &adjusted,
        dividends: &paid,
        bars: &bars,
        through: date(THU),
        today: Some((date(FRI), &live)),
    };
    let o = actual("SPY plan", &books, 0.0).unwrap();
    let values: Vec<(NaiveDate, Decimal, Decimal)> = o
        .days
        .iter()
        .map(|d| (d.date, d.contributed, d.value))
        .collect();
    // Mon 2 × 50; Tue 4 × 55; Wed 4 × 55; Thu 4 × 60 + $2 dividend; Fri
    // (today) 4 × 61 (last trade) + $2.
    assert_eq!(
        values,
        vec![
            (date(MON), dec("100"), dec("100")),
            (date(TUE), dec("210"), dec("220")),
            (date(WED), dec("210"), dec("220")),
            (date(THU), dec("210"), dec("242")),
            (date(FRI), dec("210"), dec("246")),
        ]
    );
    let m = &o.metrics;
    assert_eq!(
        (m.contributed, m.final_value, m.gain),
        (dec("210"), dec("246"), dec("36"))
    );
    // TWR: Mon 100/100, Tue 220/(100 + 110), Wed 1, Thu 242/220, Fri 246/242:
    // 1.047619… × 1.1 × 1.016529… − 1 = 17.1429 %.
    let twr = m.twr_pct.unwrap();
    assert!(
        (twr - (220.0 / 210.0 * 1.1 * 246.0 / 242.0 - 1.0) * 100.0).abs() < 1e-9,
        "{twr}"
    );
    assert!((twr - 17.142_857).abs() < 1e-5, "{twr}");
    // XIRR: −100 on Monday, −110 on Tuesday, +246 on Friday balance at r.
    let r = m.xirr_pct.unwrap() / 100.0;
    let npv = -100.0 - 110.0 / (1.0 + r).powf(1.0 / 365.0) + 246.0 / (1.0 + r).powf(4.0 / 365.0);
    assert!(npv.abs() < 1e-6, "{npv} at {r}");
    assert_eq!(m.buys, 2);
}

#[test]
fn the_shadow_benchmark_buys_the_same_dollars_on_the_same_days() {
    let (buys, events) = story();
    let adjusted = split_adjusted(&buys, &events);
    let bars = bars();
    let plan = actual("SPY plan", &books(&adjusted, &bars, None), 0.0).unwrap();
    let days: Vec<NaiveDate> = plan.days.iter().map(|d| d.date).collect();
    let flows = flows(&plan);
    assert_eq!(
        flows,
        vec![(date(MON), dec("100")), (date(TUE), dec("110"))]
    );
    let vti = shadow(&flows, &days, &bars, Some("VTI"), None, 0.0).unwrap();
    // $100 at 200 is 0.5 share, $110 at 220 is 0.5 share: 1 share × 230.
    let shares: Vec<Decimal> = vti.buys.iter().map(|b| b.quantity).collect();
    assert_eq!(shares, [dec("0.5"), dec("0.5")]);
    assert_eq!(vti.metrics.final_value, dec("230"));
    assert_eq!(vti.name, "VTI bought on the same days");
    // Without the dividend the plan ended at 4 × 60 = 240: $10 ahead.
    assert_eq!(
        super::super::plan::headline(&plan, &vti),
        "SPY plan ended $10.00 ahead of VTI bought on the same days"
    );
    let cash = shadow(&flows, &days, &bars, None, None, 0.0).unwrap();
    assert_eq!(cash.metrics.final_value, dec("210"));
    assert_eq!(cash.metrics.twr_pct, Some(0.0));
    assert_eq!(cash.name, "Cash at 0 %");
}

#[test]
fn a_purchase_made_today_before_its_bar_exists_is_shadowed_at_the_last_trade() {
    let bars = bars();
    let today = buy(FRI, "61", "1", "61");
    let live = HashMap::from([("SPY".to_owned(), dec("61"))]);
    let bought = [today];
    let plan = actual("p", &books(&bought, &bars, Some(&live)), 0.0).unwrap();
    assert_eq!(plan.days.len(), 1);
    assert_eq!(plan.metrics.final_value, dec("61"));
    let days: Vec<NaiveDate> = plan.days.iter().map(|d| d.date).collect();
    let vti = shadow(
        &flows(&plan),
        &days,
        &bars,
        Some("VTI"),
        Some((date(FRI), dec("244"))),
        0.0,
    )
    .unwrap();
    assert_eq!(vti.buys.len(), 1, "{:?}", vti.skipped);
    assert_eq!(vti.buys[0].price, dec("244"));
    assert_eq!(vti.metrics.final_value, dec("61"));
}

#[test]
fn missing_bars_and_an_empty_plan_are_errors_not_zeroes() {
    let bars = bars();
    assert_eq!(
        actual("p", &books(&[], &bars, None), 0.0).unwrap_err(),
        PlanError::NothingBought
    );
    let mut other = buy(MON, "10", "1", "10");
    other.symbol = "QQQ".into();
    assert_eq!(
        actual("p", &books(&[other], &bars, None), 0.0).unwrap_err(),
        PlanError::NoBars("QQQ".into())
    );
    assert_eq!(
        shadow(&[], &[], &bars, Some("XYZ"), None, 0.0).unwrap_err(),
        PlanError::NoBars("XYZ".into())
    );
}
