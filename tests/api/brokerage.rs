//! Connecting brokerage accounts (demo, paper API keys, OAuth), the
//! dashboard, and who may see or remove what.

use crate::helpers::outcome;
use crate::helpers::{TestApp, browser_like_client, spawn_app};
use chrono::{DateTime, Utc};
use claims::{assert_err, assert_matches, assert_ok};
use dripfeed::api::broker::{
    BrokerageOverview, BrokerageSummary, ConnectDemoAccount, ConnectPaperKeys, DashboardDto,
    DashboardState, DisconnectBroker, PortfolioDashboards,
};
use dripfeed::error::AppError;
use dripfeed::server::broker::exchange::Fault;
use leptos::server_fn::ServerFn;
use rust_decimal::Decimal;

const SESSION: &str = "2026-11-20T15:30:00Z";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test step")
        .with_timezone(&Utc)
}

async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = browser_like_client(&app.address);
    assert_ok!(app.sign_up(&client, email).await);
    client
}

async fn overview(app: &TestApp, client: &reqwest::Client) -> BrokerageSummary {
    let body = outcome(
        app.call_server_fn_as(client, BrokerageOverview::PATH, &[])
            .await,
    )
    .await
    .expect("overview");
    serde_json::from_str(&body).expect("JSON")
}

async fn dashboards(app: &TestApp, client: &reqwest::Client) -> Vec<DashboardDto> {
    let body = outcome(
        app.call_server_fn_as(client, PortfolioDashboards::PATH, &[])
            .await,
    )
    .await
    .expect("dashboards");
    serde_json::from_str(&body).expect("JSON")
}

async fn connect_keys(
    app: &TestApp,
    client: &reqwest::Client,
    key: &str,
    secret: &str,
) -> Result<String, AppError> {
    outcome(
        app.call_server_fn_as(
            client,
            ConnectPaperKeys::PATH,
            &[("key_id", key), ("secret", secret)],
        )
        .await,
    )
    .await
}

async fn connection_count(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM broker_connections").await
}

#[tokio::test]
async fn a_new_user_connects_the_demo_account_and_sees_a_funded_dashboard() {
    let app = spawn_app().await;
    app.demo_exchange.set_clock(at(SESSION), 0);
    let client = signed_in(&app, "demo@example.com").await;
    assert!(dashboards(&app, &client).await.is_empty());

    assert_ok!(
        outcome(
            app.call_server_fn_as(&client, ConnectDemoAccount::PATH, &[])
                .await
        )
        .await
    );

    let o = overview(&app, &client).await;
    assert!(o.demo_connected);
    assert_eq!(o.connections.len(), 1);
    assert_eq!(o.connections[0].environment, "demo");
    let boards = dashboards(&app, &client).await;
    assert_eq!(boards.len(), 1);
    assert_eq!(boards[0].state, DashboardState::Ok);
    let account = boards[0].account.clone().expect("account");
    assert_eq!(account.equity, Decimal::from(100_000));
    assert_eq!(account.buying_power, Decimal::from(100_000));
    assert!(boards[0].positions.is_empty());
    assert!(boards[0].market.as_ref().expect("clock").is_open);

    let again = outcome(
        app.call_server_fn_as(&client, ConnectDemoAccount::PATH, &[])
            .await,
    )
    .await;
    assert_matches!(again, Err(AppError::Conflict(_)));
    let log = app.activity(&client).await.expect("activity");
    assert!(log.iter().any(|e| e.action == "broker.connected"));
}

#[tokio::test]
async fn valid_paper_keys_are_checked_then_sealed_and_only_the_last_four_shown() {
    let app = spawn_app().await;
    app.alpaca
        .open_account("PKVALID9876", "top-secret-value")
        .expect("test step");
    let client = signed_in(&app, "keys@example.com").await;

    assert_ok!(connect_keys(&app, &client, "PKVALID9876", "top-secret-value").await);

    let o = overview(&app, &client).await;
    assert_eq!(o.connections.len(), 1);
    let c = &o.connections[0];
    assert_eq!(c.environment, "paper");
    assert_eq!(c.key_hint.as_deref(), Some("9876"));
    assert!(!c.label.contains("PKVALID"));
    let stored = app
        .text_column("SELECT credentials_sealed FROM broker_connections")
        .await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].starts_with("v1:"));
    assert!(!stored[0].contains("top-secret-value") && !stored[0].contains("PKVALID"));
    let boards = dashboards(&app, &client).await;
    assert_eq!(boards[0].state, DashboardState::Ok);
}

#[tokio::test]
async fn a_bad_key_gets_a_clear_error_and_saves_nothing() {
    let app = spawn_app().await;
    let client = signed_in(&app, "bad@example.com").await;
    let e = assert_err!(connect_keys(&app, &client, "PKNOTREAL", "nope").await);
    let message = e.for_field("key_id").expect("a key_id message");
    assert!(message.contains("did not accept"), "{message}");
    assert_eq!(connection_count(&app).await, 0);
    let log = app.activity(&client).await.expect("activity");
    assert!(log.iter().any(|e| e.action == "broker.validation_failed"));
    let details = app.text_column("SELECT detail FROM audit_log").await;
    assert!(details.iter().all(|d| !d.contains("nope")), "{details:?}");

    let e = assert_err!(connect_keys(&app, &client, "", "").await);
    assert!(e.for_field("key_id").is_some() && e.for_field("secret").is_some());
    let e = assert_err!(connect_keys(&app, &client, "PK BAD", "x").await);
    assert!(e.for_field("key_id").is_some());
}

#[tokio::test]
async fn an_unreachable_broker_saves_nothing_and_says_so() {
    let app = spawn_app().await;
    let client = signed_in(&app, "down@example.com").await;
    for _ in 0..3 {
        app.alpaca
            .faults()
            .queue
            .push_back(Fault::Stall(std::time::Duration::from_secs(4)));
    }
    let e = assert_err!(connect_keys(&app, &client, "PKANY", "secret").await);
    assert!(
        e.general().unwrap_or_default().contains("Could not reach"),
        "{e:?}"
    );
    assert_eq!(connection_count(&app).await, 0);
}

#[tokio::test]
async fn revoked_credentials_mark_the_connection_reconnect_needed() {
    let app = spawn_app().await;
    app.alpaca
        .open_account("PKREVOKE1", "s1")
        .expect("test step");
    let client = signed_in(&app, "revoke@example.com").await;
    assert_ok!(connect_keys(&app, &client, "PKREVOKE1", "s1").await);
    app.alpaca
        .with_ledger(|l| l.keys.clear())
        .expect("test step");

    let boards = dashboards(&app, &client).await;
    assert_eq!(boards[0].state, DashboardState::ReconnectNeeded);
    assert_eq!(
        overview(&app, &client).await.connections[0].status,
        "reconnect_needed"
    );
}

#[tokio::test]
async fn a_failing_broker_shows_as_unreachable_not_as_an_empty_account() {
    let app = spawn_app().await;
    app.alpaca
        .open_account("PKFLAKY1", "s1")
        .expect("test step");
    let client = signed_in(&app, "flaky@example.com").await;
    assert_ok!(connect_keys(&app, &client, "PKFLAKY1", "s1").await);
    app.alpaca.faults().error_rate = Some((503, 1.0));
    let boards = dashboards(&app, &client).await;
    assert_matches!(&boards[0].state, DashboardState::BrokerUnreachable(_));
    assert!(boards[0].account.is_none());
    app.alpaca.faults().error_rate = None;
    assert_eq!(dashboards(&app, &client).await[0].state, DashboardState::Ok);
}

#[tokio::test]
async fn nobody_can_see_or_disconnect_someone_elses_connection() {
    let app = spawn_app().await;
    let owner = signed_in(&app, "owner@example.com").await;
    assert_ok!(
        outcome(
            app.call_server_fn_as(&owner, ConnectDemoAccount::PATH, &[])
                .await
        )
        .await
    );
    let id = overview(&app, &owner).await.connections[0].id.to_string();

    let intruder = signed_in(&app, "intruder@example.com").await;
    assert!(overview(&app, &intruder).await.connections.is_empty());
    assert!(dashboards(&app, &intruder).await.is_empty());
    let e = outcome(
        app.call_server_fn_as(&intruder, DisconnectBroker::PATH, &[("id", &id)])
            .await,
    )
    .await;
    assert_matches!(e, Err(AppError::NotFound));
    assert_eq!(connection_count(&app).await, 1);

    let anonymous = browser_like_client(&app.address);
    let e = outcome(
        app.call_server_fn_as(&anonymous, PortfolioDashboards::PATH, &[])
            .await,
    )
    .await;
    assert_matches!(e, Err(AppError::Unauthenticated));

    assert_ok!(
        outcome(
            app.call_server_fn_as(&owner, DisconnectBroker::PATH, &[("id", &id)])
                .await
        )
        .await
    );
    assert_eq!(connection_count(&app).await, 0);
    let log = app.activity(&owner).await.expect("activity");
    assert!(log.iter().any(|e| e.action == "broker.disconnected"));
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn the_oauth_flow_connects_an_account_against_the_simulated_consent_page() {
    let app = spawn_app().await;
    let client = signed_in(&app, "oauth@example.com").await;

    let start = client
        .get(app.url("/oauth/alpaca/start"))
        .send()
        .await
        .expect("test step");
    assert!(start.status().is_redirection());
    let authorize = location(&start);
    assert!(
        authorize.contains("/paper-exchange/oauth/authorize"),
        "{authorize}"
    );
    let state = query_param(&authorize, "state").expect("state");
    let scope = query_param(&authorize, "scope").expect("scope");
    assert_eq!(scope, "account:write trading data");
    let page = client.get(&authorize).send().await.expect("test step");
    assert!(
        page.text()
            .await
            .expect("test step")
            .contains("Authorize access")
    );

    let redirect_uri = query_param(&authorize, "redirect_uri").expect("redirect_uri");
    let allowed = client
        .post(app.url("/paper-exchange/oauth/authorize"))
        .form(&[
            ("client_id", "dripfeed-demo"),
            ("redirect_uri", redirect_uri.as_str()),
            ("state", state.as_str()),
            ("scope", scope.as_str()),
            ("decision", "allow"),
        ])
        .send()
        .await
        .expect("test step");
    let callback = location(&allowed);
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some(state.as_str())
    );

    let done = client.get(&callback).send().await.expect("test step");
    assert_eq!(location(&done), "/dashboard");
    let o = overview(&app, &client).await;
    assert_eq!(o.connections.len(), 1);
    assert_eq!(o.connections[0].auth_kind, "oauth");
    assert_eq!(dashboards(&app, &client).await[0].state, DashboardState::Ok);

    // The state was single use: replaying the callback connects nothing.
    let replay = client.get(&callback).send().await.expect("test step");
    assert!(location(&replay).contains("oauth_error=state"));
    assert_eq!(overview(&app, &client).await.connections.len(), 1);
}

#[tokio::test]
async fn an_oauth_callback_with_a_forged_state_is_refused() {
    let app = spawn_app().await;
    let client = signed_in(&app, "forged@example.com").await;
    let start = client
        .get(app.url("/oauth/alpaca/start"))
        .send()
        .await
        .expect("test step");
    assert!(start.status().is_redirection());
    let r = client
        .get(app.url("/oauth/alpaca/callback?code=abc&state=not-the-one"))
        .send()
        .await
        .expect("test step");
    assert!(location(&r).contains("oauth_error=state"));
    assert_eq!(connection_count(&app).await, 0);

    let anonymous = browser_like_client(&app.address);
    let r = anonymous
        .get(app.url("/oauth/alpaca/start"))
        .send()
        .await
        .expect("test step");
    assert_eq!(location(&r), "/login");
}

#[tokio::test]
async fn with_a_real_oauth_app_configured_the_flow_goes_to_alpaca_and_the_simulation_is_off() {
    let app = crate::helpers::spawn_app_configured(true, |s| {
        s.alpaca_oauth_client_id = Some("my-client".into());
        s.alpaca_oauth_client_secret = Some(secrecy::SecretString::from("shh".to_owned()));
    })
    .await;
    let client = signed_in(&app, "real@example.com").await;
    let start = client
        .get(app.url("/oauth/alpaca/start"))
        .send()
        .await
        .expect("test step");
    let authorize = location(&start);
    assert!(
        authorize.starts_with("https://app.alpaca.markets/oauth/authorize?"),
        "{authorize}"
    );
    assert_eq!(
        query_param(&authorize, "client_id").as_deref(),
        Some("my-client")
    );
    assert_eq!(
        query_param(&authorize, "redirect_uri"),
        Some(app.url("/oauth/alpaca/callback"))
    );
    let simulated = client
        .get(app.url("/paper-exchange/oauth/authorize?response_type=code"))
        .send()
        .await
        .expect("test step");
    assert!(
        simulated.status().is_client_error(),
        "{}",
        simulated.status()
    );
    assert!(
        !simulated
            .text()
            .await
            .expect("test step")
            .contains("Authorize access")
    );
    let o = overview(&app, &client).await;
    assert!(!o.oauth_simulated);
    assert_eq!(o.oauth_environment, "live");
}

#[tokio::test]
async fn the_demo_clock_moves_only_for_requests_carrying_the_control_token() {
    let app = crate::helpers::spawn_app_configured(true, |s| {
        s.exchange_control = true;
        s.exchange_control_token = Some(secrecy::SecretString::from("clock-t0ken".to_owned()));
    })
    .await;
    let before = app.demo_exchange.now();
    let move_to = serde_json::json!({ "at": "2031-01-06T15:00:00Z", "speed": 0 });
    let url = app.url("/paper-exchange/_control/clock");
    for token in [None, Some("wrong")] {
        let mut request = app.client.post(&url).json(&move_to);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let r = request.send().await.expect("sent");
        assert_eq!(r.status().as_u16(), 401, "{token:?}");
    }
    assert!(app.demo_exchange.now() - before < chrono::Duration::minutes(1));
    let r = app
        .client
        .post(&url)
        .bearer_auth("clock-t0ken")
        .json(&move_to)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        app.demo_exchange.now().to_rfc3339(),
        "2031-01-06T15:00:00+00:00"
    );
}

#[tokio::test]
async fn the_demo_exchange_is_slowed_only_for_requests_carrying_the_control_token() {
    let app = crate::helpers::spawn_app_configured(true, |s| {
        s.exchange_control = true;
        s.exchange_control_token = Some(secrecy::SecretString::from("clock-t0ken".to_owned()));
    })
    .await;
    let url = app.url("/paper-exchange/_control/latency");
    let slow = serde_json::json!({ "ms": 1500 });
    let r = app
        .client
        .post(&url)
        .json(&slow)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 401);
    assert!(app.demo_exchange.faults().latency.is_zero());
    let too_slow = serde_json::json!({ "ms": 90_000 });
    let r = app
        .client
        .post(&url)
        .bearer_auth("clock-t0ken")
        .json(&too_slow)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.expect("body").contains("30000"));
    assert!(app.demo_exchange.faults().latency.is_zero());
    let r = app
        .client
        .post(&url)
        .bearer_auth("clock-t0ken")
        .json(&slow)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        app.demo_exchange.faults().latency,
        std::time::Duration::from_millis(1500)
    );
}

#[tokio::test]
async fn the_simulated_consent_needs_a_signed_in_user_and_sends_codes_only_to_this_app() {
    let app = spawn_app().await;
    let client = signed_in(&app, "consent@example.com").await;
    let start = client
        .get(app.url("/oauth/alpaca/start"))
        .send()
        .await
        .expect("test step");
    let authorize = location(&start);
    let redirect_uri = query_param(&authorize, "redirect_uri").expect("redirect_uri");

    // A visitor without a Dripfeed session is sent to log in, and cannot
    // post a decision either.
    let visitor = crate::helpers::browser_like_client(&app.address);
    let page = visitor.get(&authorize).send().await.expect("test step");
    assert!(page.status().is_redirection());
    assert_eq!(location(&page), "/login");
    let decision = |c: &reqwest::Client, uri: &str, state: &str| {
        c.post(app.url("/paper-exchange/oauth/authorize"))
            .form(&[
                ("client_id", "dripfeed-demo"),
                ("redirect_uri", uri),
                ("state", state),
                ("scope", "trading"),
                ("decision", "allow"),
            ])
            .send()
    };
    let r = decision(&visitor, &redirect_uri, "s")
        .await
        .expect("test step");
    assert_eq!(location(&r), "/login");

    // Signed in: another site's redirect URI is refused (no open redirect),
    // and so is attacker-sized text.
    let r = decision(&client, "https://evil.example/steal", "s")
        .await
        .expect("test step");
    assert_eq!(r.status().as_u16(), 400);
    let huge = "s".repeat(10_000);
    let r = decision(&client, &redirect_uri, &huge)
        .await
        .expect("test step");
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(app.demo_exchange.grants().pending(), 0);
}

#[tokio::test]
async fn concurrent_dashboard_views_of_one_account_share_one_broker_read() {
    let app = spawn_app().await;
    let client = signed_in(&app, "busy@example.com").await;
    assert_ok!(
        outcome(
            app.call_server_fn_as(&client, ConnectDemoAccount::PATH, &[])
                .await
        )
        .await
    );
    // Slow enough that the eight views overlap.
    app.demo_exchange.faults().latency = std::time::Duration::from_millis(300);
    let before = app.demo_exchange.requests_seen();
    let views = futures_util::future::join_all((0..8).map(|_| dashboards(&app, &client))).await;
    app.demo_exchange.faults().latency = std::time::Duration::ZERO;
    for view in &views {
        assert_eq!(view[0].state, DashboardState::Ok);
        assert_eq!(view[0].fetched_at, views[0][0].fetched_at, "the same read");
    }
    // One read: account, positions, orders and clock.
    assert_eq!(app.demo_exchange.requests_seen() - before, 4);
}
