//! The ledger and a plan's real performance, against the embedded exchange
//! on a real database: activities synced incrementally and idempotently
//! (pages, duplicates, late arrivals, types Dripfeed does not read), and a
//! plan's contributions, value, dividends and shadow benchmark worked out
//! from what its orders really filled.

use crate::helpers::{TestApp, outcome, weekly};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use claims::assert_ok;
use dripfeed::api::performance::{GetPlanPerformance, PlanPerformance};
use dripfeed::error::AppError;
use dripfeed::server::broker::exchange::{ledger as books, market};
use dripfeed::server::broker::{ActivityKind, Broker};
use dripfeed::server::connections::broker_for;
use dripfeed::server::engine::{Engine, plan_schedule};
use dripfeed::server::portfolio::ledger::{self, PAGE_SIZE};
use dripfeed::server::portfolio::performance::events_of;
use leptos::server_fn::ServerFn;
use rust_decimal::Decimal;
use serde_json::json;

struct Saver {
    app: TestApp,
    client: reqwest::Client,
    connection: i64,
    plan_id: i64,
    engine: Engine,
}

async fn saver(email: &str, legs: &[(&str, &str)]) -> Saver {
    let app = crate::helpers::spawn_app().await;
    let (client, connection) = app.user_with_demo(email).await;
    let plan_id = assert_ok!(app.create_plan(&client, weekly(connection, legs)).await);
    let engine = Engine::new(app.state.clone(), "test-engine");
    Saver {
        app,
        client,
        connection,
        plan_id,
        engine,
    }
}

impl Saver {
    /// The plan's first `n` runs, from its own saved schedule.
    async fn runs(&self, n: usize) -> Vec<DateTime<Utc>> {
        let plan = self
            .app
            .store
            .plan_by_id(self.plan_id)
            .await
            .expect("plan")
            .expect("the plan exists");
        let schedule = plan_schedule(&plan).expect("schedule");
        let first = self.app.list_plans(&self.client).await[0]
            .next_run
            .clone()
            .expect("a next run");
        let first = DateTime::parse_from_rfc3339(&first.at.utc)
            .expect("RFC 3339")
            .with_timezone(&Utc);
        schedule
            .next_runs(first - Duration::seconds(1), n)
            .iter()
            .map(|s| s.at)
            .collect()
    }

    /// One engine pass at `at`, the demo exchange's clock there too.
    async fn tick(&self, at: DateTime<Utc>) {
        self.app.demo_exchange.set_clock(at, 0);
        self.engine.tick(at).await.expect("engine pass");
    }

    async fn performance(&self, benchmark: &str) -> Result<PlanPerformance, AppError> {
        outcome(
            self.app
                .call_server_fn_as(
                    &self.client,
                    GetPlanPerformance::PATH,
                    &[("id", &self.plan_id.to_string()), ("benchmark", benchmark)],
                )
                .await,
        )
        .await
        .map(|body| serde_json::from_str(&body).expect("JSON"))
    }

    /// (trading day, shares, price) of each filled order, oldest first.
    async fn fills(&self) -> Vec<(NaiveDate, Decimal, Decimal)> {
        self.app
            .store
            .plan_purchases(self.plan_id)
            .await
            .expect("purchases")
            .into_iter()
            .map(|(d, _, q, p)| {
                (
                    d,
                    q.parse().expect("qty"),
                    p.expect("a price").parse().expect("price"),
                )
            })
            .collect()
    }

    async fn broker(&self) -> impl Broker {
        let user_id = self
            .app
            .store
            .plan_by_id(self.plan_id)
            .await
            .expect("plan")
            .expect("the plan exists")
            .user_id;
        let row = self
            .app
            .store
            .connection_of(user_id, self.connection)
            .await
            .expect("connection")
            .expect("the connection exists");
        broker_for(&self.app.state, &row).expect("a broker").0
    }

    /// Adds `activity` to the demo account's books, as the broker posting it.
    fn post(&self, activity: serde_json::Value) {
        self.app
            .demo_exchange
            .with_ledger(|l| {
                for a in l.accounts.values_mut() {
                    a.record_activity(activity.clone());
                }
            })
            .expect("the exchange's books");
    }
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp(2)
}

#[tokio::test]
async fn a_plans_contributions_value_and_benchmark_are_its_real_fills_valued_now() {
    let s = saver("perf@example.com", &[("SPY", "100")]).await;
    let runs = s.runs(2).await;
    for at in &runs {
        s.tick(*at).await;
    }
    // Valued the next day at noon New York time.
    let now = runs[1] + Duration::days(1) + Duration::hours(2);
    s.app.demo_exchange.set_clock(now, 0);
    let p = s.performance("VTI").await.expect("performance");
    let fills = s.fills().await;
    assert_eq!(fills.len(), 2, "two runs, two fills");
    let paid: Decimal = fills.iter().map(|(_, q, p)| cents(q * p)).sum();
    let shares: Decimal = fills.iter().map(|(_, q, _)| *q).sum();
    let price = market::price_at("SPY", now).expect("a price");
    let plan = p.plan.clone().expect("figures");
    assert_eq!(plan.contributed, paid);
    assert_eq!(plan.value, cents(shares * price));
    assert_eq!(plan.gain, plan.value - plan.contributed);
    // The same dollars into VTI at each purchase day's open, valued now.
    let vti_shares: Decimal = fills
        .iter()
        .map(|(d, q, p)| {
            let open = market::daily_bar("VTI", *d).expect("a VTI bar").open;
            (cents(q * p) / open).round_dp_with_strategy(9, rust_decimal::RoundingStrategy::ToZero)
        })
        .sum();
    let vti_now = market::price_at("VTI", now).expect("a VTI price");
    let shadow = p.shadow.clone().expect("shadow");
    assert_eq!(shadow.contributed, paid);
    assert_eq!(shadow.value, cents(vti_shares * vti_now));
    assert_eq!(p.ahead_by, plan.value - shadow.value);
    let word = if p.ahead_by >= Decimal::ZERO {
        "ahead of"
    } else {
        "behind"
    };
    assert!(
        p.headline.contains(word) && p.headline.contains("VTI bought on the same days"),
        "{}",
        p.headline
    );
    // Holdings and purchases agree with the figures.
    assert_eq!(p.holdings.len(), 1);
    assert_eq!(p.holdings[0].shares, shares);
    assert_eq!(p.holdings[0].cost, paid);
    assert_eq!(p.purchases.len(), 2);
    // The chart ends at the value shown.
    let last = p.chart.values[0]
        .last()
        .copied()
        .flatten()
        .expect("a last point");
    assert!((last - plan.value.to_string().parse::<f64>().unwrap()).abs() < 0.005);

    // Cash at 0 %: worth what was put in.
    let cash = s.performance("cash").await.expect("cash");
    let shadow = cash.shadow.expect("shadow");
    assert_eq!((shadow.value, shadow.gain), (paid, Decimal::ZERO));
    assert_eq!(cash.benchmark, None);
    // A benchmark that is not a symbol is refused with the field named.
    match s.performance("S&P 500!").await {
        Err(AppError::Invalid(errors)) => {
            assert!(errors.iter().any(|e| e.field == "benchmark"), "{errors:?}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Someone else's plan does not exist for them.
    let (other, _) = s.app.user_with_demo("other@example.com").await;
    let stranger = outcome(
        s.app
            .call_server_fn_as(
                &other,
                GetPlanPerformance::PATH,
                &[("id", &s.plan_id.to_string()), ("benchmark", "")],
            )
            .await,
    )
    .await;
    assert_eq!(stranger.unwrap_err(), AppError::NotFound);
}

#[tokio::test]
async fn a_plan_with_nothing_bought_says_so() {
    let s = saver("empty@example.com", &[("SPY", "100")]).await;
    let p = s.performance("").await.expect("performance");
    assert!(p.nothing_yet);
    assert!(p.plan.is_none() && p.purchases.is_empty());
    assert_eq!(p.benchmark.as_deref(), Some("SPY"));
}

#[tokio::test]
async fn a_dividend_paid_between_runs_is_credited_on_the_shares_held_before_it() {
    let s = saver("dividend@example.com", &[("SPY", "100")]).await;
    // Run weekly until the first run after a quarterly ex-date.
    let runs = s.runs(16).await;
    let start = runs[0]
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let ex = books::ex_dates(start, start + Duration::days(120))[0];
    let mut ticked = Vec::new();
    for at in runs {
        s.tick(at).await;
        ticked.push(at);
        if at.with_timezone(&chrono_tz::America::New_York).date_naive() > ex {
            break;
        }
    }
    let held: Decimal = s
        .fills()
        .await
        .iter()
        .filter(|(d, _, _)| *d < ex)
        .map(|(_, q, _)| *q)
        .sum();
    let now = *ticked.last().unwrap() + Duration::hours(1);
    s.app.demo_exchange.set_clock(now, 0);
    let p = s.performance("SPY").await.expect("performance");
    let per_share: Decimal = books::DIVIDENDS
        .iter()
        .find(|(sym, _)| *sym == "SPY")
        .map(|(_, d)| d.parse().unwrap())
        .unwrap();
    assert_eq!(p.dividends.len(), 1, "{:?}", p.dividends);
    assert_eq!(p.dividends[0].date, ex);
    assert_eq!(p.dividends[0].amount, cents(held * per_share));
    // The dividend is in the value as cash, not in what was put in.
    let shares: Decimal = s.fills().await.iter().map(|(_, q, _)| *q).sum();
    let price = market::price_at("SPY", now).unwrap();
    let plan = p.plan.expect("figures");
    assert_eq!(plan.value, cents(shares * price + cents(held * per_share)));
}

#[tokio::test]
async fn the_ledger_sync_is_incremental_idempotent_and_keeps_what_it_cannot_read() {
    let s = saver("ledger@example.com", &[("SPY", "100")]).await;
    let runs = s.runs(1).await;
    s.tick(runs[0]).await;
    let broker = s.broker().await;
    let now = runs[0] + Duration::minutes(5);
    let first = assert_ok!(ledger::sync(&s.app.state, s.connection, &broker, now).await);
    // The funding deposit and the plan's fill.
    assert_eq!((first.seen, first.added), (2, 2));
    let again = assert_ok!(ledger::sync(&s.app.state, s.connection, &broker, now).await);
    assert_eq!(again.added, 0, "an activity is stored once");
    let stored = s.app.store.ledger_of(s.connection).await.unwrap();
    let kinds: Vec<ActivityKind> = stored.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(kinds, [ActivityKind::Deposit, ActivityKind::Fill]);

    // A late activity dated before the latest one seen, a type Dripfeed
    // does not read, and enough activities for several pages.
    let day = runs[0]
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let late_day = day - Duration::days(2);
    s.post(json!({
        "activity_type": "FEE", "id": format!("{}000000000::late", late_day.format("%Y%m%d")),
        "date": late_day.to_string(), "net_amount": "-1.50", "status": "executed",
        "created_at": format!("{late_day}T12:00:00Z"),
    }));
    s.post(json!({
        "activity_type": "OPEXP", "id": format!("{}235959000::odd", day.format("%Y%m%d")),
        "date": day.to_string(), "status": "executed", "symbol": "SPY",
        "created_at": format!("{day}T23:59:59Z"), "qty": "1",
    }));
    let many = PAGE_SIZE as usize * 2 + 10;
    for i in 0..many {
        s.post(json!({
            "activity_type": "CSD", "id": format!("{}230000{:03}::bulk-{i}", day.format("%Y%m%d"), i % 1000),
            "date": day.to_string(), "net_amount": "1.00", "status": "executed",
            "created_at": format!("{day}T23:00:00Z"),
        }));
    }
    let third = assert_ok!(ledger::sync(&s.app.state, s.connection, &broker, now).await);
    assert_eq!(third.added, many as u64 + 2);
    assert!(third.pages >= 3, "{third:?}");
    let stored = s.app.store.ledger_of(s.connection).await.unwrap();
    assert_eq!(stored.len(), 2 + 2 + many);
    assert!(
        stored
            .iter()
            .any(|e| e.kind == ActivityKind::Other("OPEXP".into()))
    );
    let fee = stored
        .iter()
        .find(|e| e.kind == ActivityKind::Fee)
        .expect("the late fee");
    assert_eq!(
        (fee.date, fee.net_amount),
        (late_day, Some("-1.50".parse().unwrap()))
    );
    let fourth = assert_ok!(ledger::sync(&s.app.state, s.connection, &broker, now).await);
    assert_eq!(fourth.added, 0);
}

#[tokio::test]
async fn a_split_in_the_ledger_restates_the_plans_shares_without_changing_the_cost() {
    let s = saver("split@example.com", &[("SPY", "100")]).await;
    let runs = s.runs(1).await;
    s.tick(runs[0]).await;
    let broker = s.broker().await;
    let day = runs[0]
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let held: Decimal = s.fills().await.iter().map(|(_, q, _)| *q).sum();
    // A 3-for-1 split the next day: the account receives twice its shares.
    let next = day + Duration::days(1);
    s.post(json!({
        "activity_type": "SPLIT", "id": format!("{}090000000::split", next.format("%Y%m%d")),
        "date": next.to_string(), "symbol": "SPY", "qty": (held * Decimal::TWO).to_string(),
        "status": "executed", "created_at": format!("{next}T09:00:00Z"),
    }));
    let now = runs[0] + Duration::minutes(5);
    assert_ok!(ledger::sync(&s.app.state, s.connection, &broker, now).await);
    let entries = s.app.store.ledger_of(s.connection).await.unwrap();
    let events = events_of(&entries, &["SPY".to_owned()]);
    assert_eq!(
        events,
        [dripfeed::domain::backtest::actual::Event::Split {
            date: next,
            symbol: "SPY".into(),
            ratio: Decimal::from(3),
        }]
    );
}

#[tokio::test]
async fn an_accounts_chart_and_returns_come_from_its_history_with_deposits_as_contributions() {
    use dripfeed::api::broker::{DashboardDto, PortfolioDashboards};
    use dripfeed::api::performance::{AccountPerformance, GetAccountPerformance};
    let s = saver("account@example.com", &[("SPY", "100")]).await;
    let runs = s.runs(2).await;
    for at in &runs {
        s.tick(*at).await;
    }
    let now = runs[1] + Duration::days(1) + Duration::hours(2);
    s.app.demo_exchange.set_clock(now, 0);
    let ask_against = |client: &reqwest::Client, connection: i64, period: &str, benchmark: &str| {
        let (client, app) = (client.clone(), &s.app);
        let (period, benchmark) = (period.to_owned(), benchmark.to_owned());
        async move {
            outcome(
                app.call_server_fn_as(
                    &client,
                    GetAccountPerformance::PATH,
                    &[
                        ("connection_id", &connection.to_string()),
                        ("period", &period),
                        ("benchmark", &benchmark),
                    ],
                )
                .await,
            )
            .await
            .map(|body| serde_json::from_str::<AccountPerformance>(&body).expect("JSON"))
        }
    };
    let ask = |client: &reqwest::Client, connection: i64, period: &str| {
        ask_against(client, connection, period, "")
    };
    let month = ask(&s.client, s.connection, "1M").await.expect("a month");
    assert!(month.unavailable.is_none(), "{:?}", month.unavailable);
    assert!(month.daily && !month.times.is_empty());
    assert_eq!(month.times.len(), month.equity.len());
    let dashboards = outcome(
        s.app
            .call_server_fn_as(&s.client, PortfolioDashboards::PATH, &[])
            .await,
    )
    .await
    .expect("dashboards");
    let dashboards: Vec<DashboardDto> = serde_json::from_str(&dashboards).unwrap();
    let equity = dashboards[0].account.clone().expect("an account").equity;
    let figures = month.figures.clone().expect("figures");
    // The demo account was funded once with $100,000: that is what was put in.
    assert_eq!(figures.contributed, Decimal::from(100_000));
    assert_eq!(figures.value, equity);
    assert_eq!(figures.gain, equity - Decimal::from(100_000));
    assert_eq!(month.deposits.last().copied(), Some(100_000.0));
    let last = *month.equity.last().unwrap();
    assert!((last - equity.to_string().parse::<f64>().unwrap()).abs() < 0.005);
    let shadow = month.shadow.clone().expect("a shadow");
    assert_eq!(shadow.contributed, Decimal::from(100_000));
    assert!(
        month.headline.contains("SPY bought on the same days"),
        "{}",
        month.headline
    );

    // Against cash, the deposits are worth what they were.
    let cash = ask_against(&s.client, s.connection, "1M", "cash")
        .await
        .expect("cash");
    let shadow = cash.shadow.expect("a shadow");
    assert_eq!(
        (shadow.value, shadow.gain),
        (Decimal::from(100_000), Decimal::ZERO)
    );
    assert!(cash.headline.contains("Cash at 0 %"), "{}", cash.headline);
    // Views moments apart share one read of the account: a reload asks the
    // broker nothing (its rate allowance is the user's).
    let seen = s.app.demo_exchange.requests_seen();
    let again = ask_against(&s.client, s.connection, "1M", "cash")
        .await
        .expect("cash again");
    assert_eq!(again.equity, cash.equity);
    assert_eq!(
        s.app.demo_exchange.requests_seen(),
        seen,
        "a second view within seconds asks the broker nothing"
    );

    // Today, in 15-minute windows from the open: no deposits line.
    let today = ask(&s.client, s.connection, "1D").await.expect("a day");
    assert!(!today.daily && today.deposits.is_empty() && !today.times.is_empty());
    let open = runs[1] + Duration::days(1) - Duration::minutes(30);
    assert!(
        today
            .times
            .iter()
            .all(|t| *t >= open.timestamp() - 86_400 * 4 && *t <= now.timestamp())
    );

    match ask(&s.client, s.connection, "2Y").await {
        Err(AppError::Invalid(e)) => assert!(e.iter().any(|f| f.field == "period")),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (other, _) = s.app.user_with_demo("nosy@example.com").await;
    assert_eq!(
        ask(&other, s.connection, "1M").await.unwrap_err(),
        AppError::NotFound
    );
}
