//! The trade-updates stream: the embedded exchange speaks Alpaca's recorded
//! protocol (`tests/fixtures/alpaca/stream/`), and an open dashboard
//! follows it through `/events`: it hears a fill, and after the stream
//! drops it is told to re-read, which shows what filled meanwhile.

use crate::helpers::{TestApp, outcome, spawn_alpaca_fake, weekly};
use chrono::{DateTime, Duration, Utc};
use claims::assert_ok;
use dripfeed::api::broker::{DashboardDto, PortfolioDashboards};
use dripfeed::server::broker::exchange::KeyPolicy;
use dripfeed::server::engine::{Engine, plan_schedule};
use futures_util::{SinkExt, StreamExt};
use leptos::server_fn::ServerFn;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn recorded(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/alpaca/stream/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("recorded message")).expect("JSON")
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> Socket {
    let ws = url.replacen("http://", "ws://", 1) + "/stream";
    tokio_tungstenite::connect_async(ws)
        .await
        .expect("connect")
        .0
}

/// The next message: its JSON, and whether it came as a binary frame.
async fn next(socket: &mut Socket) -> Option<(Value, bool)> {
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time")?
            .ok()?;
        match m {
            Message::Binary(b) => return Some((serde_json::from_slice(&b).expect("JSON"), true)),
            Message::Text(t) => {
                return Some((serde_json::from_str(t.as_str()).expect("JSON"), false));
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

async fn say(socket: &mut Socket, v: &Value) {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

fn authenticate(key: &str, secret: &str) -> Value {
    let mut m = recorded("authenticate.api-key.json");
    m["data"]["key_id"] = key.into();
    m["data"]["secret_key"] = secret.into();
    m
}

#[tokio::test]
async fn the_exchange_speaks_the_recorded_stream_protocol() {
    let (exchange, url) = spawn_alpaca_fake(KeyPolicy::Known).await;
    // Tuesday 1 December 2026, 10:00 New York: the session is open.
    exchange.set_clock("2026-12-01T15:00:00Z".parse().unwrap(), 0);
    assert_ok!(exchange.open_account("PKSTREAM", "right-secret"));

    // Listening first is refused; so are wrong credentials, which close it.
    let mut s = connect(&url).await;
    say(&mut s, &recorded("listen.json")).await;
    let (m, binary) = next(&mut s).await.expect("an answer");
    assert_eq!(m, recorded("authorization.unauthorized-listen.json"));
    assert!(binary, "the paper stream sends binary frames");
    say(&mut s, &authenticate("PKSTREAM", "wrong")).await;
    assert_eq!(
        next(&mut s).await.unwrap().0,
        recorded("authorization.unauthorized.json")
    );
    assert!(next(&mut s).await.is_none(), "closed after a refusal");

    let mut s = connect(&url).await;
    say(&mut s, &authenticate("PKSTREAM", "right-secret")).await;
    assert_eq!(
        next(&mut s).await.unwrap().0,
        recorded("authorization.authorized.json")
    );
    say(&mut s, &recorded("listen.json")).await;
    assert_eq!(next(&mut s).await.unwrap().0, recorded("listening.json"));

    // An order placed over HTTP is reported as new, then filled, with the
    // recorded fill message's fields.
    let http = reqwest::Client::new();
    let placed: Value = http
        .post(format!("{url}/v2/orders"))
        .header("APCA-API-KEY-ID", "PKSTREAM")
        .header("APCA-API-SECRET-KEY", "right-secret")
        .json(
            &json!({"symbol": "SPY", "notional": "250", "side": "buy", "type": "market",
            "time_in_force": "day", "client_order_id": "stream-test-1"}),
        )
        .send()
        .await
        .expect("order")
        .json()
        .await
        .expect("JSON");
    let (new, _) = next(&mut s).await.expect("new");
    assert_eq!(
        (new["stream"].as_str(), new["data"]["event"].as_str()),
        (Some("trade_updates"), Some("new"))
    );
    let (fill, _) = next(&mut s).await.expect("fill");
    assert_eq!(fill["data"]["event"], "fill");
    assert_eq!(fill["data"]["order"]["id"], placed["id"]);
    assert_eq!(fill["data"]["order"]["client_order_id"], "stream-test-1");
    assert_eq!(fill["data"]["order"]["status"], "filled");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    let want = recorded("trade_updates.fill.json");
    assert_eq!(keys(&fill["data"]), keys(&want["data"]));
    let order_keys = keys(&want["data"]["order"]);
    let ours = keys(&fill["data"]["order"]);
    let missing: Vec<&String> = order_keys.iter().filter(|k| !ours.contains(k)).collect();
    assert!(missing.is_empty(), "order fields missing: {missing:?}");
    // Another account's orders are not sent here.
    assert_ok!(exchange.open_account("PKOTHER", "other"));
    http.post(format!("{url}/v2/orders"))
        .header("APCA-API-KEY-ID", "PKOTHER")
        .header("APCA-API-SECRET-KEY", "other")
        .json(&json!({"symbol": "QQQ", "notional": "10", "side": "buy", "type": "market", "time_in_force": "day"}))
        .send()
        .await
        .expect("order");
    exchange.drop_streams();
    assert!(next(&mut s).await.is_none(), "nothing but the drop");
}

/// The next `update` event of a server-sent event stream.
async fn next_update(body: &mut reqwest::Response, buffer: &mut String) -> Value {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if let Some(data) = block
                .lines()
                .find_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
                && block.contains("event: update")
            {
                return serde_json::from_str(data).expect("JSON");
            }
            continue;
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(15), body.chunk())
            .await
            .expect("an event in time")
            .expect("the stream")
            .expect("not ended");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn until(
    body: &mut reqwest::Response,
    buffer: &mut String,
    kind: &str,
    event: Option<&str>,
) -> Value {
    loop {
        let e = next_update(body, buffer).await;
        if e["kind"] == kind && event.is_none_or(|ev| e["event"] == ev) {
            return e;
        }
    }
}

async fn dashboard(app: &TestApp, client: &reqwest::Client) -> DashboardDto {
    let body = outcome(
        app.call_server_fn_as(client, PortfolioDashboards::PATH, &[])
            .await,
    )
    .await
    .expect("dashboards");
    let mut list: Vec<DashboardDto> = serde_json::from_str(&body).expect("JSON");
    list.remove(0)
}

#[tokio::test]
async fn an_open_dashboard_hears_a_fill_and_re_reads_what_filled_while_the_stream_was_down() {
    let app = crate::helpers::spawn_app().await;
    let (client, connection) = app.user_with_demo("live@example.com").await;
    let plan_id = assert_ok!(
        app.create_plan(&client, weekly(connection, &[("SPY", "100")]))
            .await
    );
    let plan = app.store.plan_by_id(plan_id).await.unwrap().unwrap();
    let first = app.list_plans(&client).await[0]
        .next_run
        .clone()
        .expect("a run");
    let first: DateTime<Utc> = first.at.utc.parse().expect("RFC 3339");
    let runs: Vec<DateTime<Utc>> = plan_schedule(&plan)
        .unwrap()
        .next_runs(first - Duration::seconds(1), 2)
        .iter()
        .map(|s| s.at)
        .collect();
    app.demo_exchange
        .set_clock(runs[0] - Duration::minutes(1), 0);

    // Anonymous callers get nothing.
    let anonymous = reqwest::get(app.url("/events")).await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let mut events = client.get(app.url("/events")).send().await.expect("events");
    assert_eq!(events.status(), 200);
    let mut buffer = String::new();
    let up = until(&mut events, &mut buffer, "resync", None).await;
    assert_eq!(up["connection_id"], connection);
    assert!(app.state.live.is_running(connection));

    let engine = Engine::new(app.state.clone(), "test-engine");
    app.demo_exchange.set_clock(runs[0], 0);
    engine.tick(runs[0]).await.expect("a pass");
    let fill = until(&mut events, &mut buffer, "order", Some("fill")).await;
    assert_eq!(
        (fill["symbol"].as_str(), fill["status"].as_str()),
        (Some("SPY"), Some("filled"))
    );

    // The stream drops; the next run fills while it is down.
    let before = dashboard(&app, &client).await.orders.len();
    app.demo_exchange.drop_streams();
    app.demo_exchange.set_clock(runs[1], 0);
    engine.tick(runs[1]).await.expect("a pass");
    until(&mut events, &mut buffer, "down", None).await;
    // Reconnected, the page is told to re-read, and the dashboard has the fill.
    until(&mut events, &mut buffer, "resync", None).await;
    let after = dashboard(&app, &client).await;
    assert_eq!(after.orders.len(), before + 1);
    assert_eq!(after.orders[0].status, "filled");

    // The last page closing stops the subscription.
    drop(events);
    for _ in 0..100 {
        if !app.state.live.is_running(connection) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        !app.state.live.is_running(connection),
        "the stream is closed when nobody watches"
    );
}
