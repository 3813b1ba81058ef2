//! The Strategy backtest page's server function and downloads: the MA
//! crossover over the demo exchange's bars gives exactly what the strategy
//! layer gives on the same bars; sweeps rank every pair; strategy backtests
//! and sweep sizes follow the tier; bad input is named field by field.

use crate::helpers::{TestApp, outcome, spawn_app_configured};
use chrono::{DateTime, NaiveDate, Utc};
use claims::{assert_matches, assert_ok};
use dripfeed::api::backtest::{RunStrategy, StrategyQuery, StrategyReport};
use dripfeed::domain::backtest::{self, Config};
use dripfeed::domain::strategy::Bar;
use dripfeed::domain::strategy::crossover::MaCrossover;
use dripfeed::domain::tier::TierId;
use dripfeed::error::AppError;
use dripfeed::server::broker::exchange::market;
use leptos::server_fn::ServerFn;

/// Friday 2026-11-20, after the close in New York.
const NOW: &str = "2026-11-20T21:30:00Z";

async fn app_on(tier: TierId) -> TestApp {
    let app = spawn_app_configured(true, move |s| s.default_tier = tier).await;
    let now = DateTime::parse_from_rfc3339(NOW)
        .expect("test step")
        .with_timezone(&Utc);
    app.demo_exchange.set_clock(now, 0);
    app
}

async fn strategy(
    app: &TestApp,
    client: &reqwest::Client,
    query: StrategyQuery,
) -> Result<StrategyReport, AppError> {
    outcome(
        app.call_json_server_fn_as(client, RunStrategy::PATH, &RunStrategy { query })
            .await,
    )
    .await
    .map(|body| serde_json::from_str(&body).expect("JSON"))
}

fn spy(fast: &str, slow: &str) -> StrategyQuery {
    StrategyQuery {
        symbol: "SPY".into(),
        fast: fast.into(),
        slow: slow.into(),
        from: "2024-01-01".into(),
        to: "2025-12-31".into(),
        ..Default::default()
    }
}

fn d(s: &str) -> NaiveDate {
    s.parse().expect("test step")
}

#[tokio::test]
async fn the_page_runs_the_strategy_layers_own_crossover_on_the_brokers_bars() {
    let app = app_on(TierId::Pro).await;
    let (client, _) = app.user_with_demo("crossover@example.com").await;
    let r = assert_ok!(strategy(&app, &client, spy("5", "20")).await);

    // The same bars and the same code, run here directly.
    let bars: Vec<Bar> = market::daily_bars("SPY", d("2024-01-01"), d("2025-12-31"))
        .into_iter()
        .map(Bar::from)
        .collect();
    let rule = MaCrossover {
        fast: 5,
        slow: 20,
        volume_window: None,
        trend_window: None,
    };
    let direct = backtest::run(&bars, &rule.signals(&bars), &Config::default());

    assert_eq!(r.title, "MA 5/20 crossover on SPY");
    assert_eq!(r.trades.len(), direct.trades.len());
    assert!(!r.trades.is_empty());
    assert_eq!(
        r.trades.iter().map(|t| t.entry_date).collect::<Vec<_>>(),
        direct
            .trades
            .iter()
            .map(|t| t.entry_date)
            .collect::<Vec<_>>()
    );
    let final_value = r
        .metrics
        .iter()
        .find(|m| m.key == "final_value")
        .expect("final value");
    assert_eq!(
        final_value.shown,
        dripfeed::domain::money::dollars(direct.final_value)
    );
    // No trade before the slow average has 20 bars.
    assert!(r.trades[0].entry_date > bars[19].date);
    assert_eq!(r.dates.len(), bars.len());
    assert!(r.sweep.is_none());
    assert!(r.simulated);
}

#[tokio::test]
async fn a_sweep_ranks_every_pair_and_shows_the_best_in_full() {
    let app = app_on(TierId::Pro).await;
    let (client, _) = app.user_with_demo("sweep@example.com").await;
    let r = assert_ok!(strategy(&app, &client, spy("5..7", "20..22")).await);
    let s = r.sweep.expect("a sweep");
    assert_eq!(s.cells.len(), 9);
    assert_eq!(s.rank_by, "final_value");
    let values: Vec<f64> = s.cells.iter().map(|c| c.value.expect("defined")).collect();
    assert!(
        values.windows(2).all(|w| w[0] >= w[1]),
        "best first: {values:?}"
    );
    assert_eq!(s.cells[0].shade, 4);
    let best = &s.cells[0];
    assert_eq!(
        r.title,
        format!(
            "MA {}/{} crossover on SPY, the sweep's best pair",
            best.fast, best.slow
        )
    );
}

#[tokio::test]
async fn strategy_backtests_and_sweep_sizes_follow_the_tier() {
    let basic = app_on(TierId::Basic).await;
    let (client, _) = basic.user_with_demo("basic-strategy@example.com").await;
    let e = strategy(&basic, &client, spy("5", "20"))
        .await
        .expect_err("not on Basic");
    assert_matches!(&e, AppError::Locked(m) if m.contains("Pro"), "{e:?}");

    let pro = app_on(TierId::Pro).await;
    let (client, _) = pro.user_with_demo("pro-strategy@example.com").await;
    // 26 × 30 = 780 pairs, over Pro's 400.
    let e = strategy(&pro, &client, spy("5..30", "31..60"))
        .await
        .expect_err("too many pairs");
    assert_matches!(&e, AppError::Locked(m) if m.contains("780") && m.contains("400"), "{e:?}");
}

#[tokio::test]
async fn bad_strategy_input_is_named_field_by_field() {
    let app = app_on(TierId::Pro).await;
    let (client, _) = app.user_with_demo("typo-strategy@example.com").await;
    let e = strategy(
        &app,
        &client,
        StrategyQuery {
            fast: "x".into(),
            cash: "-5".into(),
            stop_loss_pct: "150".into(),
            rank_by: "luck".into(),
            ..spy("", "")
        },
    )
    .await
    .expect_err("refused");
    let AppError::Invalid(fields) = e else {
        panic!("expected field errors, got {e:?}");
    };
    let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        named,
        ["fast", "cash", "stop_loss_pct", "rank_by"],
        "{fields:?}"
    );

    let e = strategy(&app, &client, spy("30", "20"))
        .await
        .expect_err("fast not shorter");
    assert_matches!(&e, AppError::Invalid(f) if f[0].field == "slow");
}

#[tokio::test]
async fn the_trades_download_lists_every_trade() {
    let app = app_on(TierId::Pro).await;
    let (client, _) = app.user_with_demo("trades-csv@example.com").await;
    let query = spy("5", "20");
    let r = assert_ok!(strategy(&app, &client, query.clone()).await);
    let csv = client
        .get(app.url(&format!(
            "/backtest/strategy/export/trades.csv?{}",
            query.to_query_string()
        )))
        .send()
        .await
        .expect("request");
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.expect("body");
    assert_eq!(text.lines().count(), r.trades.len() + 1);
    assert!(text.starts_with("entry_date,exit_date,entry_price"));
}
