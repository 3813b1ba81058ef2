//! Recommendations end to end on the real app and database: GO turns a
//! prepared bar series into the strategy layer's own candidate; Execute
//! re-checks ownership, state, expiry, the kill switches, the live gates,
//! drift and every rail, refusing with numbers and changing nothing; one
//! order per recommendation, however many instances or clicks; ANALYZE's
//! automatic exit fires exactly once.

use crate::helpers::{TestApp, outcome, spawn_app_configured};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use claims::{assert_matches, assert_ok};
use dripfeed::api::recommendations::{
    ExecuteOutcome, ExecuteRecommendation, IgnoreRecommendation, LIVE_CONFIRMATION,
    RecommendationScorecard, RecommendationSettingsInput, RecommendationsInbox,
    RecommendationsPage, SaveRecommendationRails, SaveRecommendationSettings, ScorecardDto,
    SetKillSwitch,
};
use dripfeed::domain::calendar;
use dripfeed::domain::recommendation::{self, Rules, Side, Signal, State};
use dripfeed::domain::strategy::Bar;
use dripfeed::error::AppError;
use dripfeed::server::broker::exchange::market;
use dripfeed::server::db::bars::BarSpan;
use dripfeed::server::recommendations::jobs::{self, DailyReport};
use leptos::server_fn::ServerFn;
use rust_decimal::Decimal;

/// Monday 2026-11-23, 09:00 New York: after GO's 08:45, before the open.
const MORNING: &str = "2026-11-23T14:00:00Z";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test step")
        .with_timezone(&Utc)
}

fn d(s: &str) -> Decimal {
    s.parse().expect("test step")
}

pub(crate) struct Inbox {
    pub(crate) app: TestApp,
    pub(crate) client: reqwest::Client,
    pub(crate) connection: i64,
    pub(crate) user_id: i64,
}

pub(crate) async fn app_with(
    configure: impl FnOnce(&mut dripfeed::server::config::Settings),
) -> TestApp {
    // The demo exchange's clock is the app's (as in a demo), stopped.
    let app = spawn_app_configured(true, |s| {
        s.exchange_clock = Some(at(MORNING));
        s.exchange_speed = 0;
        configure(s);
    })
    .await;
    app.demo_exchange.set_clock(at(MORNING), 0);
    app
}

/// A user with the demo account connected and recommendations on for `watch`.
pub(crate) async fn user(app: TestApp, email: &str, watch: &str) -> Inbox {
    let (client, connection) = app.user_with_demo(email).await;
    let user_id = app
        .count(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await;
    let inbox = Inbox {
        app,
        client,
        connection,
        user_id,
    };
    assert_ok!(
        inbox
            .save(RecommendationSettingsInput {
                enabled: true,
                watchlist: watch.into(),
                connection_id: Some(connection),
                ..Default::default()
            })
            .await
    );
    inbox
}

/// `days` daily bars through `through` that end in a moving-average cross
/// up on the last close, at `last` dollars, on twice the usual volume, well
/// above the 200-day trend: flat at half the price, a slide from 64 % to
/// 55 %, then the jump.
fn crossing_up(through: NaiveDate, last: Decimal, days: usize) -> Vec<Bar> {
    let mut dates: Vec<NaiveDate> = Vec::new();
    let mut day = calendar::previous_trading_day_from(through).date;
    while dates.len() < days {
        dates.push(day);
        day = calendar::previous_trading_day_from(day - Duration::days(1)).date;
    }
    dates.reverse();
    let n = dates.len();
    dates
        .into_iter()
        .enumerate()
        .map(|(i, date)| {
            let share = if i == n - 1 {
                Decimal::ONE
            } else if i >= n - 20 {
                d("0.64") - d("0.005") * Decimal::from(i - (n - 20))
            } else {
                d("0.5")
            };
            let close = (last * share).round_dp(2);
            Bar {
                date,
                open: close,
                high: (close * d("1.01")).round_dp(2),
                low: (close * d("0.99")).round_dp(2),
                close,
                volume: if i == n - 1 {
                    d("2000000")
                } else {
                    d("1000000")
                },
            }
        })
        .collect()
}

impl Inbox {
    /// Saves both forms of the settings, as the page does.
    async fn save(&self, input: RecommendationSettingsInput) -> Result<String, AppError> {
        let connection = input
            .connection_id
            .map(|c| c.to_string())
            .unwrap_or_default();
        let mut form = vec![
            ("watchlist", input.watchlist.as_str()),
            ("connection_id", connection.as_str()),
        ];
        if input.enabled {
            form.push(("enabled", "on"));
        }
        if input.auto_exits {
            form.push(("auto_exits", "on"));
        }
        outcome(
            self.app
                .call_server_fn_as(&self.client, SaveRecommendationSettings::PATH, &form)
                .await,
        )
        .await?;
        let rails = [
            ("max_position_pct", input.max_position_pct.as_str()),
            ("max_open_positions", input.max_open_positions.as_str()),
            ("min_equity", input.min_equity.as_str()),
            ("max_drift_pct", input.max_drift_pct.as_str()),
        ];
        outcome(
            self.app
                .call_server_fn_as(&self.client, SaveRecommendationRails::PATH, &rails)
                .await,
        )
        .await
    }

    /// The bars GO reads for `symbol` (through the last close before
    /// `now`), cached as its broker's answer for that day.
    async fn prepare(&self, symbol: &str, bars: &[Bar], now: DateTime<Utc>) {
        let row = self
            .app
            .store
            .connection_of(self.user_id, self.connection)
            .await
            .expect("test step")
            .expect("the connection");
        let (_, host) =
            dripfeed::server::connections::broker_for(&self.app.state, &row).expect("a broker");
        let today = now
            .with_timezone(&chrono_tz::America::New_York)
            .date_naive();
        let last = bars.last().expect("bars").date;
        self.app
            .store
            .replace_bars(
                &host,
                symbol,
                BarSpan {
                    first_day: last - Duration::days(600),
                    last_day: last,
                    as_of: today,
                },
                bars,
            )
            .await
            .expect("test step");
    }

    async fn page(&self) -> RecommendationsPage {
        let body = outcome(
            self.app
                .call_server_fn_as(&self.client, RecommendationsInbox::PATH, &[])
                .await,
        )
        .await
        .expect("the page");
        serde_json::from_str(&body).expect("JSON")
    }

    async fn execute_as(
        &self,
        client: &reqwest::Client,
        id: i64,
        confirmation: Option<&str>,
    ) -> Result<ExecuteOutcome, AppError> {
        let id = id.to_string();
        let mut form = vec![("id", id.as_str())];
        if let Some(c) = confirmation {
            form.push(("confirmation", c));
        }
        outcome(
            self.app
                .call_server_fn_as(client, ExecuteRecommendation::PATH, &form)
                .await,
        )
        .await
        .map(|b| serde_json::from_str(&b).expect("JSON"))
    }

    async fn execute(&self, id: i64) -> Result<ExecuteOutcome, AppError> {
        self.execute_as(&self.client, id, None).await
    }

    async fn daily(&self, owner: &str, now: DateTime<Utc>) -> DailyReport {
        jobs::daily(&self.app.state, owner, now)
            .await
            .expect("the daily jobs")
    }

    /// Orders the demo exchange holds for this user's account.
    async fn orders_at_broker(&self) -> usize {
        let row = self
            .app
            .store
            .connection_of(self.user_id, self.connection)
            .await
            .expect("test step")
            .expect("the connection");
        let (broker, _) =
            dripfeed::server::connections::broker_for(&self.app.state, &row).expect("a broker");
        use dripfeed::server::broker::{Broker, OrderFilter};
        broker
            .orders(OrderFilter::All, 500)
            .await
            .expect("orders")
            .len()
    }

    async fn audit_count(&self, action: &str) -> i64 {
        self.app
            .count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
            ))
            .await
    }

    /// A prepared SPY entry signal at `last` dollars, run through GO at
    /// MORNING; the one recommendation's id.
    pub(crate) async fn spy_entry(&self, last: Decimal) -> i64 {
        let now = at(MORNING);
        let bars = crossing_up(
            NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
            last,
            300,
        );
        self.prepare("SPY", &bars, now).await;
        let report = self.daily("instance-a", now).await;
        assert_eq!((report.go_runs, report.created), (1, 1), "{report:?}");
        let page = self.page().await;
        assert_eq!(page.recommendations.len(), 1);
        page.recommendations[0].id
    }
}

/// SPY's price on the demo exchange before Monday's open: Friday's close.
pub(crate) fn spy_now() -> Decimal {
    market::price_at("SPY", at(MORNING)).expect("SPY trades on the demo exchange")
}

#[tokio::test]
async fn go_turns_a_prepared_series_into_the_strategy_layers_own_recommendation() {
    let inbox = user(app_with(|_| {}).await, "go@example.com", "SPY, QQQ").await;
    let now = at(MORNING);
    let friday = NaiveDate::from_ymd_opt(2026, 11, 20).expect("date");
    let bars = crossing_up(friday, spy_now(), 300);
    inbox.prepare("SPY", &bars, now).await;
    // QQQ's series has no cross on its last bar.
    let mut flat: Vec<Bar> = bars[1..299].to_vec();
    flat.push(Bar {
        date: friday,
        ..bars[298]
    });
    inbox.prepare("QQQ", &flat, now).await;

    // Before 08:45 nothing runs; then GO runs once, however often asked.
    let early = inbox.daily("instance-a", at("2026-11-23T13:30:00Z")).await;
    assert_eq!(early.go_runs, 0);
    let (a, b) = tokio::join!(
        inbox.daily("instance-a", now),
        inbox.daily("instance-b", now)
    );
    assert_eq!(a.go_runs + b.go_runs, 1, "{a:?} {b:?}");
    assert_eq!(inbox.daily("instance-a", now).await.go_runs, 0);

    let equity = d("100000");
    let expected =
        recommendation::candidate("SPY", &bars, &Rules::default(), equity, Decimal::ZERO)
            .expect("the prepared series signals");
    let page = inbox.page().await;
    assert_eq!(page.recommendations.len(), 1, "only SPY signalled");
    let r = &page.recommendations[0];
    assert_eq!(
        (r.symbol.as_str(), r.signal, r.side),
        ("SPY", Signal::Entry, Side::Buy)
    );
    assert_eq!(r.state, State::Pending);
    assert_eq!(r.quantity, expected.quantity);
    assert!(r.quantity >= Decimal::ONE);
    assert_eq!(r.reference_price, spy_now());
    assert_eq!(r.notional, expected.notional);
    assert_eq!(
        r.stop_loss,
        expected.levels.stop.map(|v| v.round_dp(2).normalize())
    );
    assert_eq!(
        r.take_profit,
        expected.levels.target.map(|v| v.round_dp(2).normalize())
    );
    assert!(r.stop_loss.expect("a stop") < r.reference_price);
    assert!(r.take_profit.expect("a target") > r.reference_price);
    assert_eq!(r.reason, expected.reason);
    assert_eq!(r.values, expected.values);
    assert_eq!(r.filters, "volume+trend");
    // It expires at Monday's close.
    assert_eq!(r.expires_at.utc, "2026-11-23T21:00:00Z");
    // The user was told once, with a link that opens (never executes) it.
    assert_eq!(
        inbox
            .app
            .count("SELECT COUNT(*) FROM notifications WHERE kind = 'recommendation'")
            .await,
        1
    );
    assert_eq!(inbox.orders_at_broker().await, 0, "nothing is traded by GO");
}

#[tokio::test]
async fn execute_places_one_order_with_a_deterministic_id_and_audits_the_decision() {
    let inbox = user(app_with(|_| {}).await, "exec@example.com", "SPY").await;
    let id = inbox.spy_entry(spy_now()).await;

    let done = assert_ok!(inbox.execute(id).await);
    assert_eq!(done.order_status, "submitted", "{done:?}");
    // A second click (or another tab) changes nothing and orders nothing.
    assert_matches!(inbox.execute(id).await, Err(AppError::Conflict(_)));
    assert_eq!(inbox.orders_at_broker().await, 1);
    let ids = inbox
        .app
        .text_column("SELECT client_order_id FROM recommendations")
        .await;
    assert_eq!(ids, vec![format!("df-rec-{id}")]);
    assert_eq!(inbox.audit_count("recommendation.executed").await, 1);
    let detail = inbox
        .app
        .text_column("SELECT detail FROM audit_log WHERE action = 'recommendation.executed'")
        .await;
    let detail: serde_json::Value = serde_json::from_str(&detail[0]).expect("JSON");
    assert_eq!(detail["symbol"], "SPY");
    assert_eq!(detail["rails"]["max_position_pct"], "15");
    assert!(detail["snapshot"].is_array());

    // At the open it fills, and the settle pass records it.
    inbox
        .app
        .demo_exchange
        .set_clock(at("2026-11-23T14:35:00Z"), 0);
    inbox.daily("instance-a", at("2026-11-23T14:35:00Z")).await;
    let r = &inbox.page().await.recommendations[0];
    assert_eq!(
        (r.state, r.order_status.as_deref()),
        (State::Executed, Some("filled"))
    );
}

#[tokio::test]
async fn drift_beyond_the_limit_refuses_with_the_numbers_and_changes_nothing() {
    let inbox = user(app_with(|_| {}).await, "drift@example.com", "SPY").await;
    // The signal's close was 3 % above the price now.
    let reference = (spy_now() * d("1.03")).round_dp(2);
    let id = inbox.spy_entry(reference).await;
    let Err(AppError::Conflict(why)) = inbox.execute(id).await else {
        panic!("a drifted price was executed");
    };
    assert!(why.starts_with("The price moved 2.9"), "{why}");
    assert!(
        why.contains("more than the 2% allowed; nothing was ordered."),
        "{why}"
    );
    assert_eq!(inbox.page().await.recommendations[0].state, State::Pending);
    assert_eq!(inbox.orders_at_broker().await, 0);
    assert_eq!(inbox.audit_count("recommendation.executed").await, 0);
}

#[tokio::test]
async fn every_rail_refuses_with_its_numbers_and_changes_nothing() {
    let inbox = user(app_with(|_| {}).await, "rails@example.com", "SPY").await;
    let id = inbox.spy_entry(spy_now()).await;
    let tighten = |f: &dyn Fn(&mut RecommendationSettingsInput)| {
        let mut input = RecommendationSettingsInput {
            enabled: true,
            watchlist: "SPY".into(),
            connection_id: Some(inbox.connection),
            ..Default::default()
        };
        f(&mut input);
        input
    };
    let cases: Vec<(RecommendationSettingsInput, &str)> = vec![
        (
            tighten(&|i| i.min_equity = "200000".into()),
            "The account's equity is $100,000.00, below the $200,000.00 a buy needs",
        ),
        (
            tighten(&|i| i.max_position_pct = "1".into()),
            "above the 1% limit; nothing was ordered.",
        ),
    ];
    for (input, message) in cases {
        assert_ok!(inbox.save(input).await);
        let Err(AppError::Conflict(why)) = inbox.execute(id).await else {
            panic!("a rail let it through: {message}");
        };
        assert!(why.contains(message), "{why}");
    }
    // A user cannot loosen the instance's rails.
    assert_matches!(
        inbox
            .save(tighten(&|i| i.max_position_pct = "50".into()))
            .await,
        Err(AppError::Invalid(_))
    );
    assert_eq!(inbox.page().await.recommendations[0].state, State::Pending);
    assert_eq!(inbox.orders_at_broker().await, 0);
    assert_eq!(inbox.audit_count("recommendation.executed").await, 0);
}

#[tokio::test]
async fn too_many_open_positions_is_refused_with_the_count() {
    let inbox = user(app_with(|_| {}).await, "positions@example.com", "SPY").await;
    let id = inbox.spy_entry(spy_now()).await;
    // One position held already (bought through the exchange directly).
    let row = inbox
        .app
        .store
        .connection_of(inbox.user_id, inbox.connection)
        .await
        .expect("test step")
        .expect("connection");
    let (broker, _) =
        dripfeed::server::connections::broker_for(&inbox.app.state, &row).expect("broker");
    use dripfeed::server::broker::{
        Amount, Broker, OrderKind, OrderRequest, Side as BSide, TimeInForce,
    };
    inbox
        .app
        .demo_exchange
        .set_clock(at("2026-11-20T15:00:00Z"), 0);
    broker
        .submit_order(&OrderRequest {
            symbol: "VTI".into(),
            side: BSide::Buy,
            amount: Amount::Notional(d("100")),
            kind: OrderKind::Market,
            time_in_force: TimeInForce::Day,
            client_order_id: "held-before".into(),
        })
        .await
        .expect("a fill");
    inbox.app.demo_exchange.set_clock(at(MORNING), 0);
    let mut input = RecommendationSettingsInput {
        enabled: true,
        watchlist: "SPY".into(),
        connection_id: Some(inbox.connection),
        ..Default::default()
    };
    input.max_open_positions = "1".into();
    assert_ok!(inbox.save(input).await);
    let Err(AppError::Conflict(why)) = inbox.execute(id).await else {
        panic!("the position limit let it through");
    };
    assert_eq!(
        why,
        "This would be open position 2, above the limit of 1; nothing was ordered."
    );
    assert_eq!(inbox.orders_at_broker().await, 1, "only the earlier order");
}

#[tokio::test]
async fn an_expired_recommendation_cannot_be_executed_or_ignored() {
    let inbox = user(app_with(|_| {}).await, "expiry@example.com", "SPY").await;
    let id = inbox.spy_entry(spy_now()).await;
    let after_close = at("2026-11-23T21:00:00Z");
    inbox.app.demo_exchange.set_clock(after_close, 0);
    let Err(AppError::Conflict(why)) = inbox.execute(id).await else {
        panic!("an expired recommendation was executed");
    };
    assert!(why.starts_with("This recommendation expired"), "{why}");
    assert_eq!(inbox.page().await.recommendations[0].state, State::Expired);
    let report = inbox.daily("instance-a", after_close).await;
    assert_eq!(report.expired, 1);
    assert_eq!(
        inbox
            .app
            .text_column("SELECT state FROM recommendations")
            .await,
        vec!["expired"]
    );
    assert_eq!(inbox.orders_at_broker().await, 0);
}

#[tokio::test]
async fn ignore_keeps_the_reason_and_the_scorecard_counts_it() {
    let inbox = user(app_with(|_| {}).await, "ignore@example.com", "SPY").await;
    let id = inbox.spy_entry(spy_now()).await;
    let idt = id.to_string();
    assert_ok!(
        outcome(
            inbox
                .app
                .call_server_fn_as(
                    &inbox.client,
                    IgnoreRecommendation::PATH,
                    &[("id", idt.as_str()), ("reason", "Earnings next week")],
                )
                .await
        )
        .await
    );
    let r = &inbox.page().await.recommendations[0];
    assert_eq!(r.state, State::Ignored);
    assert_eq!(r.ignore_reason.as_deref(), Some("Earnings next week"));
    assert_matches!(inbox.execute(id).await, Err(AppError::Conflict(_)));
    assert_eq!(inbox.audit_count("recommendation.ignored").await, 1);
    let body = outcome(
        inbox
            .app
            .call_server_fn_as(&inbox.client, RecommendationScorecard::PATH, &[])
            .await,
    )
    .await
    .expect("scorecard");
    let card: ScorecardDto = serde_json::from_str(&body).expect("JSON");
    assert_eq!(card.rows.len(), 1);
    assert_eq!(
        (card.rows[0].decision, card.rows[0].count),
        (State::Ignored, 1)
    );
    assert_eq!(card.waiting, 1);
    assert_eq!(card.months.len(), 1);
    assert_eq!(
        (card.months[0].month.as_str(), card.months[0].count),
        ("2026-11", 1)
    );
}

#[tokio::test]
async fn another_user_can_neither_see_nor_decide_someone_elses_recommendation() {
    let inbox = user(app_with(|_| {}).await, "owner@example.com", "SPY").await;
    let id = inbox.spy_entry(spy_now()).await;
    let (other, _) = inbox.app.user_with_demo("other@example.com").await;
    assert_matches!(
        inbox.execute_as(&other, id, None).await,
        Err(AppError::NotFound)
    );
    let idt = id.to_string();
    assert_matches!(
        outcome(
            inbox
                .app
                .call_server_fn_as(&other, IgnoreRecommendation::PATH, &[("id", idt.as_str())])
                .await
        )
        .await,
        Err(AppError::NotFound)
    );
    let body = outcome(
        inbox
            .app
            .call_server_fn_as(&other, RecommendationsInbox::PATH, &[])
            .await,
    )
    .await
    .expect("page");
    let page: RecommendationsPage = serde_json::from_str(&body).expect("JSON");
    assert!(page.recommendations.is_empty());
    assert_eq!(inbox.page().await.recommendations[0].state, State::Pending);
}

#[tokio::test]
async fn a_live_account_needs_the_typed_phrase_and_the_paper_period() {
    let inbox = user(app_with(|_| {}).await, "live@example.com", "SPY").await;
    let id = inbox.spy_entry(spy_now()).await;
    inbox
        .app
        .execute_sql("UPDATE broker_connections SET environment = 'live'")
        .await;
    let Err(AppError::Invalid(errors)) = inbox.execute(id).await else {
        panic!("live without the phrase");
    };
    assert_eq!(errors[0].field, "confirmation");
    assert!(errors[0].message.contains(LIVE_CONFIRMATION));
    assert_matches!(
        inbox
            .execute_as(&inbox.client, id, Some("i understand"))
            .await,
        Err(AppError::Invalid(_)),
        "only the exact phrase confirms"
    );
    let Err(AppError::Conflict(why)) = inbox
        .execute_as(&inbox.client, id, Some(LIVE_CONFIRMATION))
        .await
    else {
        panic!("live before the paper period");
    };
    assert_eq!(
        why,
        "Live execution opens after 30 days of paper trading on Dripfeed; you have 0, so 30 to go. Nothing was ordered."
    );
    let gate = inbox
        .page()
        .await
        .live_gate
        .expect("the page explains the gate");
    assert_eq!((gate.required_days, gate.days_left), (30, 30));
    assert_eq!(inbox.page().await.recommendations[0].state, State::Pending);
}

#[tokio::test]
async fn the_kill_switch_blocks_executions_and_pauses_plans_until_reset() {
    let inbox = user(app_with(|_| {}).await, "kill@example.com", "SPY").await;
    let id = inbox.spy_entry(spy_now()).await;
    let plan = assert_ok!(
        inbox
            .app
            .create_plan(
                &inbox.client,
                crate::helpers::weekly(inbox.connection, &[("VTI", "25")])
            )
            .await
    );
    let stop = assert_ok!(
        outcome(
            inbox
                .app
                .call_server_fn_as(&inbox.client, SetKillSwitch::PATH, &[("stop", "true")])
                .await
        )
        .await
    );
    assert!(stop.contains("1 plan(s) paused"), "{stop}");
    let Err(AppError::Conflict(why)) = inbox.execute(id).await else {
        panic!("executed with the kill switch on");
    };
    assert!(why.starts_with("You stopped all trading."), "{why}");
    assert_eq!(
        inbox
            .app
            .text_column(&format!("SELECT status FROM plans WHERE id = {plan}"))
            .await,
        vec!["paused"]
    );
    assert_eq!(inbox.audit_count("trading.stopped").await, 1);
    // Reset: executions work again; the plan stays paused until resumed.
    assert_ok!(
        outcome(
            inbox
                .app
                .call_server_fn_as(&inbox.client, SetKillSwitch::PATH, &[("stop", "false")])
                .await
        )
        .await
    );
    assert_ok!(inbox.execute(id).await);
    assert_eq!(inbox.audit_count("trading.resumed").await, 1);
}

/// A user holding SPY from an executed recommendation (filled at Monday's
/// open), with automatic exits on; the entry's id.
async fn holding_spy_with_auto_exits(email: &str) -> (Inbox, i64) {
    let inbox = user(app_with(|_| {}).await, email, "SPY").await;
    let id = inbox.spy_entry(spy_now()).await;
    assert_ok!(inbox.execute(id).await);
    let open = at("2026-11-23T14:35:00Z");
    inbox.app.demo_exchange.set_clock(open, 0);
    inbox.daily("instance-a", open).await;
    assert_ok!(
        inbox
            .save(RecommendationSettingsInput {
                enabled: true,
                watchlist: "SPY".into(),
                auto_exits: true,
                connection_id: Some(inbox.connection),
                ..Default::default()
            })
            .await
    );
    (inbox, id)
}

#[tokio::test]
async fn an_automatic_exit_fires_exactly_once_when_analyze_runs_on_two_instances() {
    let (inbox, id) = holding_spy_with_auto_exits("exit@example.com").await;
    // The price fell to the stop: the stop now sits above Monday's close.
    inbox
        .app
        .execute_sql(&format!(
            "UPDATE recommendations SET stop_loss = '{}' WHERE id = {id}",
            spy_now() * d("10")
        ))
        .await;
    let evening = at("2026-11-23T21:45:00Z");
    inbox.app.demo_exchange.set_clock(evening, 0);
    let (a, b) = tokio::join!(
        inbox.daily("instance-a", evening),
        inbox.daily("instance-b", evening)
    );
    assert_eq!(a.analyze_runs + b.analyze_runs, 1, "{a:?} {b:?}");
    assert_eq!(a.exits_placed + b.exits_placed, 1);
    assert_eq!(inbox.daily("instance-c", evening).await.analyze_runs, 0);
    let page = inbox.page().await;
    let exit = page
        .recommendations
        .iter()
        .find(|r| r.signal == Signal::StopLoss)
        .expect("an exit recommendation");
    assert_eq!(
        (exit.side, exit.state, exit.automatic),
        (Side::Sell, State::Executed, true)
    );
    assert_eq!(inbox.orders_at_broker().await, 2, "the entry and one exit");
    assert_eq!(inbox.audit_count("recommendation.auto_exit").await, 1);
}

#[tokio::test]
async fn with_the_kill_switch_on_an_exit_is_proposed_but_not_placed() {
    let (inbox, id) = holding_spy_with_auto_exits("killexit@example.com").await;
    inbox
        .app
        .execute_sql(&format!(
            "UPDATE recommendations SET take_profit = '1' WHERE id = {id}"
        ))
        .await;
    assert_ok!(
        outcome(
            inbox
                .app
                .call_server_fn_as(&inbox.client, SetKillSwitch::PATH, &[("stop", "true")])
                .await
        )
        .await
    );
    let evening = at("2026-11-23T21:45:00Z");
    inbox.app.demo_exchange.set_clock(evening, 0);
    let report = inbox.daily("instance-a", evening).await;
    assert_eq!((report.analyze_runs, report.exits_placed), (1, 0));
    let page = inbox.page().await;
    let exit = page
        .recommendations
        .iter()
        .find(|r| r.signal == Signal::TakeProfit)
        .expect("the exit is still proposed");
    assert_eq!(exit.state, State::Pending);
    assert_eq!(inbox.orders_at_broker().await, 1, "only the entry");
}

mod analyst {
    //! The optional AI analyst against the local fake Messages API over
    //! real HTTP: its answer is attached (labelled, validated, cached for
    //! everyone), and every failure falls back to the rule-based reason.

    use super::*;
    use dripfeed::server::analyst::fake::{self, FakeState, Mode};

    async fn inbox_with_analyst(mode: Mode, email: &str) -> (Inbox, FakeState) {
        let fake_state = FakeState::default();
        fake_state.set_mode(mode);
        let (url, _server) = fake::serve(fake_state.clone()).await.expect("the fake");
        let app = app_with(move |s| {
            s.anthropic_api_key = Some("sk-ant-test-key".to_owned().into());
            s.anthropic_url = url.parse().expect("URL");
            s.ai_timeout_secs = 1;
        })
        .await;
        (user(app, email, "SPY").await, fake_state)
    }

    async fn failures(inbox: &Inbox) -> i64 {
        inbox
            .app
            .count("SELECT COALESCE(SUM(failures), 0) FROM ai_calls")
            .await
    }

    #[tokio::test]
    async fn a_valid_answer_is_attached_cached_and_carries_market_facts_only() {
        let (inbox, fake_state) = inbox_with_analyst(Mode::Answer, "ai@example.com").await;
        let id = inbox.spy_entry(spy_now()).await;
        let page = inbox.page().await;
        let r = page
            .recommendations
            .iter()
            .find(|r| r.id == id)
            .expect("it");
        let ai = r.ai.as_ref().expect("an analysis");
        assert!(ai.rationale.contains("SPY"), "{}", ai.rationale);
        assert!(ai.confidence <= 100);
        assert!(ai.model.starts_with("claude-sonnet-4-5"), "{}", ai.model);
        // The rule-based reason stays beside it.
        assert!(!r.reason.is_empty());
        let request = fake_state.last_request().expect("a request");
        let text = request.to_string();
        assert!(text.contains("SPY"));
        assert!(
            !text.contains("ai@example.com") && !text.contains("100000"),
            "{text}"
        );
        assert_eq!(request["tool_choice"]["type"], "tool");
        // A second user's GO on the same bar asks nothing more.
        let before = fake_state.calls();
        let (client, connection) = inbox.app.user_with_demo("ai2@example.com").await;
        let connection = connection.to_string();
        assert_ok!(
            outcome(
                inbox
                    .app
                    .call_server_fn_as(
                        &client,
                        SaveRecommendationSettings::PATH,
                        &[
                            ("watchlist", "SPY"),
                            ("enabled", "on"),
                            ("connection_id", connection.as_str())
                        ],
                    )
                    .await
            )
            .await
        );
        let report = inbox.daily("instance-a", at(MORNING)).await;
        assert_eq!((report.go_runs, report.created), (1, 1), "{report:?}");
        assert_eq!(
            fake_state.calls(),
            before,
            "the cached answer serves everyone"
        );
        let ai_rows = inbox
            .app
            .count("SELECT COUNT(*) FROM recommendations WHERE ai_analysis IS NOT NULL")
            .await;
        assert_eq!(ai_rows, 2);
        assert_eq!(failures(&inbox).await, 0);
    }

    async fn falls_back(mode: Mode, email: &str) {
        let (inbox, fake_state) = inbox_with_analyst(mode, email).await;
        let id = inbox.spy_entry(spy_now()).await;
        let r = inbox
            .page()
            .await
            .recommendations
            .into_iter()
            .find(|r| r.id == id)
            .expect("it");
        assert!(r.ai.is_none(), "no analysis on failure");
        assert!(!r.reason.is_empty(), "the rule-based reason stands");
        assert_eq!(r.state, State::Pending);
        assert_eq!(fake_state.calls(), 1, "one attempt, no retry loop");
        assert_eq!(failures(&inbox).await, 1, "the failure is counted");
        assert_eq!(
            inbox.app.count("SELECT COUNT(*) FROM ai_analyses").await,
            0,
            "a failure is never cached"
        );
    }

    #[tokio::test]
    async fn a_timeout_falls_back_to_the_rule_based_reason() {
        falls_back(
            Mode::Slow(std::time::Duration::from_secs(3)),
            "slow@example.com",
        )
        .await;
    }

    #[tokio::test]
    async fn an_overloaded_answer_falls_back_to_the_rule_based_reason() {
        falls_back(Mode::Overloaded, "overloaded@example.com").await;
    }

    #[tokio::test]
    async fn a_rate_limited_answer_falls_back_to_the_rule_based_reason() {
        falls_back(Mode::RateLimited, "limited@example.com").await;
    }

    #[tokio::test]
    async fn an_answer_outside_the_schema_falls_back_to_the_rule_based_reason() {
        falls_back(Mode::Garbage, "garbage@example.com").await;
    }

    #[tokio::test]
    async fn a_refusal_falls_back_to_the_rule_based_reason() {
        falls_back(Mode::Refusal, "refusal@example.com").await;
    }

    #[tokio::test]
    async fn a_spent_budget_skips_the_analyst() {
        let fake_state = FakeState::default();
        let (url, _server) = fake::serve(fake_state.clone()).await.expect("the fake");
        let app = app_with(move |s| {
            s.anthropic_api_key = Some("sk-ant-test-key".to_owned().into());
            s.anthropic_url = url.parse().expect("URL");
            s.ai_daily_budget = 0;
        })
        .await;
        let inbox = user(app, "budget@example.com", "SPY").await;
        let id = inbox.spy_entry(spy_now()).await;
        let r = inbox
            .page()
            .await
            .recommendations
            .into_iter()
            .find(|r| r.id == id)
            .expect("it");
        assert!(r.ai.is_none());
        assert_eq!(fake_state.calls(), 0);
    }
}
