//! The Alpaca client (apca endpoints over our transport) against the embedded
//! exchange served on its own port: both auth modes, orders, error mapping,
//! 429 handling, timeouts, retries, and the never-retry rule for orders.

use crate::helpers::spawn_alpaca_fake;
use chrono::{DateTime, NaiveDate, Utc};
use claims::{assert_matches, assert_none, assert_ok, assert_some};
use dripfeed::server::broker::alpaca::AlpacaBroker;
use dripfeed::server::broker::alpaca::transport::{Credentials, Transport, TransportConfig};
use dripfeed::server::broker::exchange::{Exchange, Fault, KeyPolicy};
use dripfeed::server::broker::{
    Amount, Broker, BrokerError, OrderFilter, OrderKind, OrderRequest, OrderStatus, Side,
    TimeInForce,
};
use rust_decimal::Decimal;
use secrecy::SecretString;
use std::time::Duration;

/// Friday 2026-11-20, 10:30 in New York: the session is open.
const SESSION: &str = "2026-11-20T15:30:00Z";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test step")
        .with_timezone(&Utc)
}

struct Fixture {
    exchange: Exchange,
    url: String,
}

async fn fixture() -> Fixture {
    let (exchange, url) = spawn_alpaca_fake(KeyPolicy::Known).await;
    exchange.set_clock(at(SESSION), 0);
    Fixture { exchange, url }
}

impl Fixture {
    /// A unique key pair per broker, so the process-wide rate gates of
    /// different tests never meet.
    fn key_broker(&self, timeout: Duration) -> AlpacaBroker {
        let key = format!("PK{}", uuid::Uuid::new_v4().simple()).to_uppercase();
        self.exchange
            .open_account(&key, "s3cret")
            .expect("test step");
        self.broker(
            Credentials::ApiKey {
                key_id: key,
                secret: SecretString::from("s3cret".to_owned()),
            },
            timeout,
        )
    }

    fn broker(&self, credentials: Credentials, timeout: Duration) -> AlpacaBroker {
        let url: url::Url = self.url.parse().expect("test step");
        let mut config = TransportConfig::new(url.clone(), url);
        config.timeout = timeout;
        config.max_rate_wait = Duration::from_secs(5);
        AlpacaBroker::new(Transport::new(reqwest::Client::new(), config, credentials))
    }
}

fn notional(symbol: &str, dollars: &str, client_order_id: &str) -> OrderRequest {
    OrderRequest {
        symbol: symbol.into(),
        side: Side::Buy,
        amount: Amount::Notional(dollars.parse().expect("test step")),
        kind: OrderKind::Market,
        time_in_force: TimeInForce::Day,
        client_order_id: client_order_id.into(),
    }
}

#[tokio::test]
async fn a_new_api_key_account_is_funded_and_empty() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_secs(5));
    let account = assert_ok!(broker.account().await);
    assert_eq!(account.cash, Decimal::from(100_000));
    assert_eq!(account.equity, Decimal::from(100_000));
    assert_eq!(account.status, "ACTIVE");
    assert!(assert_ok!(broker.positions().await).is_empty());
}

#[tokio::test]
async fn a_notional_buy_fills_and_shows_up_everywhere() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_secs(5));
    let placed = assert_ok!(
        broker
            .submit_order(&notional("SPY", "250.25", "slot-1"))
            .await
    );
    assert_eq!(placed.status, OrderStatus::Filled);
    assert_eq!(
        placed.amount,
        Amount::Notional("250.25".parse().expect("test step"))
    );
    let price = assert_some!(placed.filled_avg_price);
    assert_eq!(
        placed.filled_qty,
        (Decimal::new(25025, 2) / price).trunc_with_scale(9)
    );

    let by_id = assert_ok!(broker.order(&placed.id).await);
    assert_eq!(by_id, placed);
    let by_client = assert_some!(assert_ok!(broker.order_by_client_id("slot-1").await));
    assert_eq!(by_client.id, placed.id);
    assert_none!(assert_ok!(broker.order_by_client_id("never-placed").await));

    let positions = assert_ok!(broker.positions().await);
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0].symbol, "SPY");
    assert_eq!(positions[0].qty, placed.filled_qty);
    let account = assert_ok!(broker.account().await);
    assert_eq!(
        account.cash,
        Decimal::from(100_000) - Decimal::new(25025, 2)
    );

    let closed = assert_ok!(broker.orders(OrderFilter::Closed, 10).await);
    assert_eq!(
        closed.iter().map(|o| &o.id).collect::<Vec<_>>(),
        [&placed.id]
    );
    assert!(assert_ok!(broker.orders(OrderFilter::Open, 10).await).is_empty());
}

#[tokio::test]
async fn reusing_a_client_order_id_is_refused_with_alpacas_code() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_secs(5));
    assert_ok!(broker.submit_order(&notional("VTI", "10", "same")).await);
    let e = broker
        .submit_order(&notional("VTI", "10", "same"))
        .await
        .expect_err("an error");
    assert_matches!(
        e,
        BrokerError::Api {
            status: 422,
            code: Some(40010001),
            ..
        }
    );
    assert_eq!(
        assert_ok!(broker.orders(OrderFilter::All, 50).await).len(),
        1
    );
}

#[tokio::test]
async fn an_order_placed_while_closed_waits_and_can_be_canceled() {
    let f = fixture().await;
    f.exchange.set_clock(at("2026-11-21T15:00:00Z"), 0); // Saturday
    let broker = f.key_broker(Duration::from_secs(5));
    let placed = assert_ok!(
        broker
            .submit_order(&notional("QQQ", "100", "weekend"))
            .await
    );
    assert_eq!(placed.status, OrderStatus::Accepted);
    let clock = assert_ok!(broker.clock().await);
    assert!(!clock.is_open);
    assert_eq!(clock.next_open, at("2026-11-23T14:30:00Z"));
    assert_ok!(broker.cancel_order(&placed.id).await);
    assert_eq!(
        assert_ok!(broker.order(&placed.id).await).status,
        OrderStatus::Canceled
    );
    let again = broker.cancel_order(&placed.id).await.expect_err("an error");
    assert_matches!(again, BrokerError::Api { status: 422, .. });
    let missing = broker
        .cancel_order(&uuid::Uuid::new_v4().to_string())
        .await
        .expect_err("an error");
    assert_matches!(
        missing,
        BrokerError::Api {
            status: 404,
            code: Some(40410000),
            ..
        }
    );
}

#[tokio::test]
async fn buying_beyond_the_cash_is_a_403_with_alpacas_code() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_secs(5));
    let e = broker
        .submit_order(&notional("SPY", "100000.01", "too-much"))
        .await
        .expect_err("an error");
    assert_matches!(
        e,
        BrokerError::Api {
            status: 403,
            code: Some(40310000),
            ..
        }
    );
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized() {
    let f = fixture().await;
    f.exchange
        .open_account("PKKNOWN", "right")
        .expect("test step");
    let broker = f.broker(
        Credentials::ApiKey {
            key_id: "PKKNOWN".into(),
            secret: SecretString::from("wrong".to_owned()),
        },
        Duration::from_secs(5),
    );
    assert_matches!(
        broker.account().await,
        Err(BrokerError::Unauthorized { .. })
    );
}

#[tokio::test]
async fn an_oauth_bearer_token_reaches_its_own_account() {
    let f = fixture().await;
    let now = f.exchange.now();
    f.exchange
        .with_ledger(|l| l.open_with_token("tok-123", Decimal::from(5_000), now))
        .expect("test step");
    let broker = f.broker(
        Credentials::OAuth {
            access_token: SecretString::from("tok-123".to_owned()),
        },
        Duration::from_secs(5),
    );
    assert_eq!(
        assert_ok!(broker.account().await).cash,
        Decimal::from(5_000)
    );
    let stranger = f.broker(
        Credentials::OAuth {
            access_token: SecretString::from("tok-456".to_owned()),
        },
        Duration::from_secs(5),
    );
    assert_matches!(
        stranger.account().await,
        Err(BrokerError::Unauthorized { .. })
    );
}

#[tokio::test]
async fn a_429_is_waited_out_for_reads() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_secs(5));
    f.exchange
        .faults()
        .queue
        .push_back(Fault::RateLimited { reset_in_secs: 1 });
    let account = assert_ok!(broker.account().await);
    assert_eq!(account.cash, Decimal::from(100_000));
    assert!(f.exchange.faults().queue.is_empty());
}

#[tokio::test]
async fn a_429_on_an_order_is_reported_not_retried() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_secs(5));
    f.exchange
        .faults()
        .queue
        .push_back(Fault::RateLimited { reset_in_secs: 1 });
    let e = broker
        .submit_order(&notional("SPY", "10", "limited"))
        .await
        .expect_err("an error");
    assert_matches!(e, BrokerError::RateLimited { .. });
    assert_none!(assert_ok!(broker.order_by_client_id("limited").await));
}

#[tokio::test]
async fn server_errors_on_reads_are_retried() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_secs(5));
    {
        let mut faults = f.exchange.faults();
        faults.queue.push_back(Fault::Status(503));
        faults.queue.push_back(Fault::Status(500));
    }
    assert_ok!(broker.positions().await);
}

#[tokio::test]
async fn server_errors_on_orders_are_not_retried() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_secs(5));
    f.exchange.faults().queue.push_back(Fault::Status(500));
    let e = broker
        .submit_order(&notional("SPY", "10", "five-hundred"))
        .await
        .expect_err("an error");
    assert_matches!(e, BrokerError::Api { status: 500, .. });
    assert_none!(assert_ok!(broker.order_by_client_id("five-hundred").await));
}

#[tokio::test]
async fn a_read_that_times_out_is_retried_and_succeeds() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_millis(500));
    f.exchange
        .faults()
        .queue
        .push_back(Fault::Stall(Duration::from_secs(3)));
    assert_ok!(broker.clock().await);
}

#[tokio::test]
async fn an_order_whose_answer_is_lost_is_uncertain_and_found_by_client_id() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_secs(5));
    f.exchange.faults().queue.push_back(Fault::DropAfterCommit);
    let e = broker
        .submit_order(&notional("SPY", "20", "lost-answer"))
        .await
        .expect_err("an error");
    assert_matches!(e, BrokerError::Uncertain(_));
    let found = assert_some!(assert_ok!(broker.order_by_client_id("lost-answer").await));
    assert_eq!(found.status, OrderStatus::Filled);
    // Exactly one order exists: nothing was resent.
    assert_eq!(
        assert_ok!(broker.orders(OrderFilter::All, 50).await).len(),
        1
    );
}

#[tokio::test]
async fn a_partial_fill_is_reported_with_its_cumulative_quantity() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_secs(5));
    f.exchange.faults().partial_fill = Some(Decimal::new(25, 2));
    let req = OrderRequest {
        amount: Amount::Qty(Decimal::from(8)),
        ..notional("SPY", "1", "partial")
    };
    let placed = assert_ok!(broker.submit_order(&req).await);
    assert_eq!(placed.status, OrderStatus::PartiallyFilled);
    assert_eq!(placed.filled_qty, Decimal::from(2));
}

#[tokio::test]
async fn calendar_bars_and_latest_trades_come_back_as_exact_decimals() {
    let f = fixture().await;
    let broker = f.key_broker(Duration::from_secs(5));
    let d = |s: &str| s.parse::<NaiveDate>().expect("test step");
    let days = assert_ok!(broker.calendar(d("2026-11-23"), d("2026-11-27")).await);
    // Thanksgiving (26th) is closed; the 27th closes early at 13:00.
    assert_eq!(
        days.iter().map(|x| x.date).collect::<Vec<_>>(),
        [
            d("2026-11-23"),
            d("2026-11-24"),
            d("2026-11-25"),
            d("2026-11-27")
        ]
    );
    assert_eq!(days[3].close_at, at("2026-11-27T18:00:00Z"));

    let bars = assert_ok!(
        broker
            .daily_bars("VOO", d("2026-11-02"), d("2026-11-20"))
            .await
    );
    assert_eq!(bars.len(), 15);
    assert!(bars.iter().all(|b| b.low <= b.open && b.open <= b.high));

    let trades = assert_ok!(
        broker
            .latest_trades(&["SPY".to_owned(), "NOPE".to_owned()])
            .await
    );
    assert_eq!(trades.len(), 1);
    let spy = &trades["SPY"];
    let account_view = assert_ok!(broker.submit_order(&notional("SPY", "5", "px")).await);
    assert_eq!(account_view.filled_avg_price, Some(spy.price));
    assert_some!(assert_ok!(broker.asset("SPY").await));
    assert_none!(assert_ok!(broker.asset("NOPE").await));
}

/// Alpaca's recorded bars (`tests/fixtures/alpaca/marketdata/bars.single.json`),
/// served by a stand-in that keeps every query string it is sent: the first
/// page as recorded (with its `next_page_token`), the second without one.
async fn recorded_bars_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::extract::{RawQuery, State};
    use std::sync::{Arc, Mutex};
    let recorded: serde_json::Value = serde_json::from_str(include_str!(
        "../fixtures/alpaca/marketdata/bars.single.json"
    ))
    .expect("the recorded bars parse");
    let seen = Arc::new(Mutex::new(Vec::new()));
    type Seen = Arc<Mutex<Vec<String>>>;
    let app = axum::Router::new()
        .route(
            "/v2/stocks/{symbol}/bars",
            axum::routing::get(
                |State((seen, recorded)): State<(Seen, serde_json::Value)>,
                 RawQuery(q): RawQuery| async move {
                    let q = q.unwrap_or_default();
                    let mut body = recorded;
                    if q.contains("page_token=") {
                        body["next_page_token"] = serde_json::Value::Null;
                        body["bars"][0]["t"] = "2022-01-04T05:00:00Z".into();
                        body["bars"][0]["c"] = 179.5.into();
                    }
                    seen.lock().expect("test step").push(q);
                    axum::Json(body)
                },
            ),
        )
        .with_state((seen.clone(), recorded));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("test step");
    let url = format!("http://{}", listener.local_addr().expect("test step"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

// Failed before the adapter asked for `adjustment=all`: Alpaca's default is
// raw prices, where a split looks like a crash to a backtest.
#[tokio::test]
async fn daily_bars_are_asked_for_split_and_dividend_adjusted_across_every_page() {
    let (url, seen) = recorded_bars_server().await;
    let url: url::Url = url.parse().expect("test step");
    let mut config = TransportConfig::new(url.clone(), url);
    config.timeout = Duration::from_secs(5);
    let broker = AlpacaBroker::new(Transport::new(
        reqwest::Client::new(),
        config,
        Credentials::ApiKey {
            key_id: "PKRECORDED".into(),
            secret: SecretString::from("s3cret".to_owned()),
        },
    ));
    let d = |s: &str| s.parse::<NaiveDate>().expect("test step");
    let bars = assert_ok!(
        broker
            .daily_bars("AAPL", d("2022-01-03"), d("2022-01-04"))
            .await
    );
    assert_eq!(
        bars.iter().map(|b| b.close).collect::<Vec<_>>(),
        [Decimal::new(17821, 2), Decimal::new(1795, 1)]
    );
    assert_eq!(bars[0].volume, 1118);
    let seen = seen.lock().expect("test step").clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for q in &seen {
        for want in ["adjustment=all", "timeframe=1Day", "feed=iex"] {
            assert!(q.contains(want), "{want} missing from {q}");
        }
    }
    assert!(seen[1].contains("page_token="), "{}", seen[1]);
}

#[tokio::test]
async fn the_embedded_exchange_refuses_an_adjustment_alpaca_does_not_know() {
    let f = fixture().await;
    f.exchange
        .open_account("PKADJUSTMENT", "s3cret")
        .expect("test step");
    let client = reqwest::Client::new();
    let get = |adjustment: &'static str| {
        client
            .get(format!("{}/v2/stocks/SPY/bars", f.url))
            .query(&[
                ("timeframe", "1Day"),
                ("start", "2026-11-02"),
                ("adjustment", adjustment),
            ])
            .header("APCA-API-KEY-ID", "PKADJUSTMENT")
            .header("APCA-API-SECRET-KEY", "s3cret")
            .send()
    };
    let ok = assert_ok!(get("split,dividend").await);
    assert_eq!(ok.status(), 200);
    let bad = assert_ok!(get("reverse").await);
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = assert_ok!(bad.json().await);
    assert_eq!(body["code"], 40010001);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("adjustment"),
        "{body}"
    );
}
