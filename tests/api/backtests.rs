//! The Backtest page's server function and downloads: a user's own plan over
//! the demo exchange's bars, beside the other DCA mode, a lump sum and SPY
//! bought on the same days; who may ask, the tier's limits, bad input, and
//! the bar cache (a second run asks the broker for nothing but its clock).

use crate::helpers::{TestApp, browser_like_client, outcome, spawn_app_configured, weekly};
use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use claims::{assert_matches, assert_ok};
use dripfeed::api::backtest::{
    BacktestQuery, BacktestReport, MonteCarloChunk, MonteCarloSlice, PathResults, RollingStarts,
    RunBacktest,
};
use dripfeed::domain::backtest::monte_carlo::summarize;
use dripfeed::domain::backtest::rolling::Rolling;
use dripfeed::domain::calendar;
use dripfeed::domain::tier::TierId;
use dripfeed::error::AppError;
use leptos::server_fn::ServerFn;

/// Friday 2026-11-20, after the close in New York.
const NOW: &str = "2026-11-20T21:30:00Z";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test step")
        .with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    s.parse().expect("test step")
}

async fn backtest(
    app: &TestApp,
    client: &reqwest::Client,
    query: BacktestQuery,
) -> Result<BacktestReport, AppError> {
    outcome(
        app.call_json_server_fn_as(client, RunBacktest::PATH, &RunBacktest { query })
            .await,
    )
    .await
    .map(|body| serde_json::from_str(&body).expect("JSON"))
}

async fn app_on(tier: TierId) -> TestApp {
    let app = spawn_app_configured(true, move |s| s.default_tier = tier).await;
    app.demo_exchange.set_clock(at(NOW), 0);
    app
}

/// Mondays from `from` to `to`, each moved to the next trading day when the
/// market is closed (the plan's own schedule rule).
fn weekly_runs(from: NaiveDate, to: NaiveDate) -> usize {
    from.iter_days()
        .take_while(|day| *day <= to)
        .filter(|day| day.weekday() == Weekday::Mon)
        .filter(|day| calendar::next_trading_day_from(*day).date <= to)
        .count()
}

/// The form fields an error names, in order.
fn fields_of(e: AppError) -> Vec<String> {
    match e {
        AppError::Invalid(fields) => fields.into_iter().map(|f| f.field).collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

fn two_years() -> BacktestQuery {
    BacktestQuery {
        from: "2024-01-01".into(),
        to: "2025-12-31".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_plan_is_compared_with_spy_bought_on_the_same_days_and_a_second_run_is_served_from_the_cache()
 {
    let app = app_on(TierId::Pro).await;
    let (client, connection) = app.user_with_demo("saver@example.com").await;
    let plan = assert_ok!(
        app.create_plan(&client, weekly(connection, &[("VTI", "100")]))
            .await
    );
    let query = BacktestQuery {
        plan: Some(plan),
        ..two_years()
    };
    let r = assert_ok!(backtest(&app, &client, query.clone()).await);

    assert_eq!(
        r.approaches,
        [
            "Pure DCA",
            "Smart DCA (20-day average)",
            "Lump sum on day one",
            "SPY bought on the same days"
        ]
    );
    assert_eq!(r.plan_index, 0);
    assert!(r.headline.starts_with("Pure DCA ended "), "{}", r.headline);
    assert!(
        r.headline.ends_with(" SPY bought on the same days"),
        "{}",
        r.headline
    );
    assert!(r.simulated, "the demo exchange's bars are simulated");
    let runs = weekly_runs(d("2024-01-01"), d("2025-12-31"));
    assert_eq!(r.buys.len(), runs);
    assert!(
        r.buys
            .iter()
            .all(|b| b.symbol == "VTI" && b.dollars == "$100.00")
    );
    // Every approach is paid the same money in total.
    let contributed = r
        .metrics
        .iter()
        .find(|m| m.key == "contributed")
        .expect("a contributed row");
    let total = 100.0 * runs as f64;
    assert!(
        contributed.values.iter().all(|v| *v == Some(total)),
        "{contributed:?}"
    );
    // CAGR is defined only for the lump sum.
    let cagr = r
        .metrics
        .iter()
        .find(|m| m.key == "cagr_pct")
        .expect("cagr");
    assert_eq!(cagr.shown[0], "not defined");
    assert!(cagr.values[2].is_some());
    // The chart has every approach on one axis, ending on the last day.
    assert_eq!(r.chart.values.len(), 4);
    assert_eq!(r.chart.dates.last().copied(), Some(d("2025-12-31")));
    assert_eq!(r.chart.contributed.last().copied().flatten(), Some(total));

    let seen = app.demo_exchange.requests_seen();
    let again = assert_ok!(backtest(&app, &client, query).await);
    assert_eq!(again, r, "the same question gets the same answer");
    assert_eq!(
        app.demo_exchange.requests_seen(),
        seen,
        "the broker is asked nothing again: the bars come from the database, and the demo exchange's clock is read in-process"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM daily_bar_spans").await,
        2,
        "VTI and SPY"
    );
}

#[tokio::test]
async fn nobody_backtests_someone_elses_plan() {
    let app = app_on(TierId::Pro).await;
    let (owner, connection) = app.user_with_demo("owner@example.com").await;
    let plan = assert_ok!(
        app.create_plan(&owner, weekly(connection, &[("VTI", "100")]))
            .await
    );
    let (other, _) = app.user_with_demo("other@example.com").await;
    let query = BacktestQuery {
        plan: Some(plan),
        ..two_years()
    };
    assert_matches!(
        backtest(&app, &other, query.clone()).await,
        Err(AppError::NotFound)
    );
    let anonymous = browser_like_client(&app.address);
    assert_matches!(
        backtest(&app, &anonymous, query.clone()).await,
        Err(AppError::Unauthenticated)
    );
    let csv = anonymous
        .get(app.url(&format!(
            "/backtest/export/buys.csv?{}",
            query.to_query_string()
        )))
        .send()
        .await
        .expect("request");
    assert_eq!(csv.status(), 401);
}

#[tokio::test]
async fn the_tier_limits_how_many_years_a_backtest_covers() {
    let app = app_on(TierId::Free).await;
    let (client, _) = app.user_with_demo("free@example.com").await;
    let ten_years = BacktestQuery {
        legs: "VTI:100".into(),
        from: "2015-11-02".into(),
        to: "2025-10-31".into(),
        ..Default::default()
    };
    let e = backtest(&app, &client, ten_years)
        .await
        .expect_err("over the limit");
    assert_matches!(&e, AppError::Locked(m) if m.contains("5 years"), "{e:?}");

    // Without dates: the last five years up to the newest complete day.
    let r = assert_ok!(
        backtest(
            &app,
            &client,
            BacktestQuery {
                legs: "VTI:100".into(),
                ..Default::default()
            }
        )
        .await
    );
    assert_eq!(r.to, d("2026-11-20"));
    assert_eq!(r.from, d("2021-11-20"));
    assert_eq!(r.max_years, 5);
}

#[tokio::test]
async fn bad_input_is_named_field_by_field_and_nothing_is_fetched() {
    let app = app_on(TierId::Pro).await;
    let (client, _) = app.user_with_demo("typo@example.com").await;
    let seen = app.demo_exchange.requests_seen();
    let e = backtest(
        &app,
        &client,
        BacktestQuery {
            legs: "VTI100, $$:5".into(),
            every: "fortnightly".into(),
            from: "2024-13-01".into(),
            fill: "whenever".into(),
            ..Default::default()
        },
    )
    .await
    .expect_err("refused");
    let named = fields_of(e);
    assert!(named.contains(&"legs".to_owned()), "{named:?}");
    assert!(named.contains(&"every".to_owned()), "{named:?}");
    assert_eq!(app.demo_exchange.requests_seen(), seen);

    let e = backtest(
        &app,
        &client,
        BacktestQuery {
            legs: "VTI:100".into(),
            from: "2024-13-01".into(),
            fill: "whenever".into(),
            ..Default::default()
        },
    )
    .await
    .expect_err("refused");
    assert_eq!(fields_of(e), ["from", "fill"]);

    let after_the_newest = BacktestQuery {
        legs: "VTI:100".into(),
        to: "2026-11-23".into(),
        ..Default::default()
    };
    let e = backtest(&app, &client, after_the_newest)
        .await
        .expect_err("refused");
    assert_matches!(&e, AppError::Invalid(f) if f[0].field == "to" && f[0].message.contains("2026-11-20"));
}

#[tokio::test]
async fn the_downloads_carry_the_same_figures_as_the_page() {
    let app = app_on(TierId::Pro).await;
    let (client, _) = app.user_with_demo("exports@example.com").await;
    let query = BacktestQuery {
        legs: "VTI:60,BND:40".into(),
        mode: "smart".into(),
        ..two_years()
    };
    let r = assert_ok!(backtest(&app, &client, query.clone()).await);
    assert_eq!(r.plan_index, 1, "a smart plan is the smart DCA column");
    let get = |path: String| {
        let client = client.clone();
        async move { client.get(path).send().await.expect("request") }
    };
    let q = query.to_query_string();

    let buys = get(app.url(&format!("/backtest/export/buys.csv?{q}"))).await;
    assert_eq!(buys.status(), 200);
    assert_eq!(buys.headers()["content-type"], "text/csv; charset=utf-8");
    let text = buys.text().await.expect("body");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("date,symbol,dollars,quantity,price"));
    assert_eq!(lines.count(), r.buys.len());

    let skipped = get(app.url(&format!("/backtest/export/skipped.csv?{q}")))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(skipped.lines().count(), r.skipped.len() + 1);

    let json: BacktestReport = get(app.url(&format!("/backtest/report.json?{q}")))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(json, r);

    let html = get(app.url(&format!("/backtest/report.html?{q}")))
        .await
        .text()
        .await
        .expect("body");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains(&r.headline.replace('&', "&amp;")),
        "the headline"
    );
    assert!(html.contains("Not investment advice."));

    let unknown = get(app.url(&format!("/backtest/export/secrets.csv?{q}"))).await;
    assert_eq!(unknown.status(), 404);
}

async fn slice(
    app: &TestApp,
    client: &reqwest::Client,
    query: &BacktestQuery,
    seed: u64,
    first: u32,
    count: u32,
) -> Result<PathResults, AppError> {
    let args = MonteCarloSlice {
        query: query.clone(),
        slice: MonteCarloChunk {
            seed,
            first,
            count,
            block_days: 20,
        },
    };
    outcome(
        app.call_json_server_fn_as(client, MonteCarloSlice::PATH, &args)
            .await,
    )
    .await
    .map(|body| serde_json::from_str(&body).expect("JSON"))
}

#[tokio::test]
async fn a_monte_carlo_in_slices_is_the_same_run_whatever_the_slices() {
    let app = app_on(TierId::Pro).await;
    let (client, _) = app.user_with_demo("paths@example.com").await;
    let query = BacktestQuery {
        legs: "VTI:100".into(),
        ..two_years()
    };
    let whole = assert_ok!(slice(&app, &client, &query, 7, 0, 120).await);
    let mut parts = assert_ok!(slice(&app, &client, &query, 7, 0, 50).await);
    parts.extend(assert_ok!(slice(&app, &client, &query, 7, 50, 70).await));
    assert_eq!(parts, whole);
    // Every path pays in the plan's contributions; the outcomes vary.
    let paid = whole[0].1;
    assert!(whole.iter().all(|(_, c)| *c == paid));
    assert!(whole.iter().any(|(f, _)| *f != whole[0].0));
    let m = summarize(&whole, 20, 7).expect("a summary");
    assert!(m.final_value.windows(2).all(|w| w[0] <= w[1]), "{m:?}");
    // Another seed, other paths.
    let other = assert_ok!(slice(&app, &client, &query, 8, 0, 120).await);
    assert_ne!(other, whole);
}

#[tokio::test]
async fn the_tier_caps_monte_carlo_paths_on_every_slice() {
    let query = BacktestQuery {
        legs: "VTI:100".into(),
        ..two_years()
    };
    let free = app_on(TierId::Free).await;
    let (client, _) = free.user_with_demo("nopaths@example.com").await;
    let e = slice(&free, &client, &query, 1, 0, 10)
        .await
        .expect_err("locked");
    assert_matches!(&e, AppError::Locked(m) if m.contains("Basic"), "{e:?}");

    let basic = app_on(TierId::Basic).await;
    let (client, _) = basic.user_with_demo("fewpaths@example.com").await;
    let e = slice(&basic, &client, &query, 1, 400, 200)
        .await
        .expect_err("beyond 500 paths");
    assert_matches!(&e, AppError::Locked(m) if m.contains("500"), "{e:?}");
    let e = slice(&basic, &client, &query, 1, 0, 251)
        .await
        .expect_err("too big a slice");
    assert_eq!(fields_of(e), ["paths"]);
    assert_ok!(slice(&basic, &client, &query, 1, 450, 50).await);
}

#[tokio::test]
async fn rolling_starts_compare_every_month_of_the_range() {
    let app = app_on(TierId::Pro).await;
    let (client, _) = app.user_with_demo("rolling@example.com").await;
    let query = BacktestQuery {
        legs: "VTI:100".into(),
        ..two_years()
    };
    let ask = |query: BacktestQuery, step: u32| {
        let (app, client) = (&app, &client);
        async move {
            outcome(
                app.call_json_server_fn_as(
                    client,
                    RollingStarts::PATH,
                    &RollingStarts { query, step },
                )
                .await,
            )
            .await
            .map(|body| serde_json::from_str::<Rolling>(&body).expect("JSON"))
        }
    };
    let r = assert_ok!(ask(query.clone(), 21).await);
    // Trading days from the start up to a year before the end, every 21st.
    let days = calendar::trading_days(d("2024-01-01"), d("2024-12-31")).count();
    assert_eq!(r.starts.len(), days.div_ceil(21));
    assert_eq!(r.leads.len(), r.starts.len());
    assert_eq!(
        r.wins.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(),
        [
            "Pure DCA",
            "Lump sum on day one",
            "SPY bought on the same days"
        ]
    );
    let shares: f64 = r.wins.iter().map(|w| w.1).sum();
    assert!(shares >= 100.0 - 1e-9, "every start has a winner: {shares}");

    let short = BacktestQuery {
        from: "2025-06-02".into(),
        ..query
    };
    let e = ask(short, 21).await.expect_err("under a year");
    assert_eq!(fields_of(e), ["from"]);
}
