//! Faithfulness to Alpaca. (1) Every recorded Alpaca response in
//! `tests/fixtures/alpaca/{trading,marketdata}` deserializes into the models
//! we use. (2) Every endpoint the embedded exchange serves answers with JSON
//! that validates against Alpaca's official OpenAPI schemas (3.0 `nullable`
//! translated to JSON Schema), including its error bodies.

use crate::helpers::spawn_alpaca_fake;
use apca::api::v2::{account, account_activities, asset, calendar, clock, order, position};
use apca::data::v2::bars;
use dripfeed::server::broker::alpaca::endpoints::{
    AccountBody, LatestBarsBody, LatestQuoteBody, LatestQuotesBody, LatestTradeBody,
    LatestTradesBody, MultiBarsBody, SnapshotBody,
};
use dripfeed::server::broker::exchange::KeyPolicy;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;

fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/alpaca")
        .join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(fixture_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn parses<T: DeserializeOwned>(rel: &str) {
    if let Err(e) = serde_json::from_str::<T>(&read(rel)) {
        panic!(
            "{rel} does not parse as {}: {e}",
            std::any::type_name::<T>()
        );
    }
}

#[test]
fn every_recorded_response_deserializes_into_our_models() {
    let mut covered = Vec::new();
    let mut check = |rel: &str, f: fn(&str)| {
        f(rel);
        covered.push(rel.to_owned());
    };
    check("trading/account.json", |r| {
        parses::<account::Account>(r);
        parses::<AccountBody>(r);
    });
    check(
        "trading/activity.dividend.json",
        parses::<account_activities::Activity>,
    );
    check(
        "trading/activity.fill.json",
        parses::<account_activities::Activity>,
    );
    check("trading/asset.json", parses::<asset::Asset>);
    check(
        "trading/calendar.alpaca-py.json",
        parses::<Vec<calendar::OpenClose>>,
    );
    check(
        "trading/calendar.derived.json",
        parses::<Vec<calendar::OpenClose>>,
    );
    check("trading/clock.json", parses::<clock::Clock>);
    check("trading/clock.nanos.json", parses::<clock::Clock>);
    check("trading/order-request.fractional-qty.json", parses::<Value>);
    check("trading/order-request.notional.json", parses::<Value>);
    check(
        "trading/order.crypto-limit-pending_new.json",
        parses::<order::Order>,
    );
    check(
        "trading/order.equity-limit-accepted.json",
        parses::<order::Order>,
    );
    check(
        "trading/order.notional-market-accepted.json",
        parses::<order::Order>,
    );
    check("trading/position.json", parses::<position::Position>);
    check(
        "trading/positions.derived.json",
        parses::<Vec<position::Position>>,
    );
    check("marketdata/bars.single.json", parses::<bars::Bars>);
    check("marketdata/bars.multi.json", parses::<MultiBarsBody>);
    check(
        "marketdata/bars.latest.multi.json",
        parses::<LatestBarsBody>,
    );
    check(
        "marketdata/trades.latest.single.json",
        parses::<LatestTradeBody>,
    );
    check(
        "marketdata/trades.latest.multi.json",
        parses::<LatestTradesBody>,
    );
    check(
        "marketdata/quotes.latest.single.json",
        parses::<LatestQuoteBody>,
    );
    check(
        "marketdata/quotes.latest.multi.json",
        parses::<LatestQuotesBody>,
    );
    check("marketdata/snapshot.single.json", parses::<SnapshotBody>);
    check(
        "marketdata/snapshots.multi.json",
        parses::<HashMap<String, SnapshotBody>>,
    );

    // No recorded file goes unchecked.
    for dir in ["trading", "marketdata"] {
        for entry in std::fs::read_dir(fixture_path(dir)).expect("fixture folder") {
            let name = format!(
                "{dir}/{}",
                entry.expect("entry").file_name().to_string_lossy()
            );
            assert!(covered.contains(&name), "{name} is not checked");
        }
    }
}

/// OpenAPI 3.0 marks nullable fields with `nullable: true`; JSON Schema
/// spells that as a type list including "null".
fn translate_nullable(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                match map.get("type").cloned() {
                    Some(Value::String(t)) => {
                        map.insert("type".into(), json!([t, "null"]));
                        if let Some(Value::Array(e)) = map.get_mut("enum") {
                            e.push(Value::Null);
                        }
                    }
                    _ => {
                        let inner = Value::Object(map.clone());
                        map.clear();
                        map.insert("anyOf".into(), json!([inner, { "type": "null" }]));
                    }
                }
            }
            for (_, child) in map.iter_mut() {
                translate_nullable(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(translate_nullable),
        _ => {}
    }
}

struct Spec {
    doc: Value,
}

impl Spec {
    fn load(file: &str) -> Self {
        let mut doc: Value =
            serde_json::from_str(&read(&format!("openapi/{file}"))).expect("OpenAPI JSON");
        translate_nullable(&mut doc);
        Self { doc }
    }

    /// Where `body` breaks the response schema of `method path` for `status`.
    fn errors(&self, method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
        let media = &self.doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"];
        // Error statuses the spec only describes use its `Error` schema.
        let error_schema = json!({ "$ref": "#/components/schemas/Error" });
        let schema = match media.get("schema") {
            Some(s) => s,
            None if status >= 400 => &error_schema,
            None => panic!("the spec has no JSON schema for {method} {path} {status}"),
        };
        let root = json!({ "allOf": [schema], "components": self.doc["components"] });
        let validator = jsonschema::validator_for(&root).expect("a valid schema");
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect()
    }

    /// Asserts `body` matches the response schema of `method path` for `status`.
    fn check(&self, method: &str, path: &str, status: u16, body: &Value) {
        let errors = self.errors(method, path, status, body);
        assert!(
            errors.is_empty(),
            "{method} {path} {status} does not match Alpaca's schema:\n{}\n{body:#}",
            errors.join("\n")
        );
    }
}

#[test]
fn the_schema_check_rejects_what_alpaca_would_not_send() {
    let trading = Spec::load("trading-api.json");
    let mut order: Value =
        serde_json::from_str(&read("trading/order.notional-market-accepted.json")).expect("JSON");
    assert!(trading.errors("post", "/v2/orders", 200, &order).is_empty());
    // Alpaca sends quantities as strings, never as numbers.
    order["filled_qty"] = json!(0);
    assert!(!trading.errors("post", "/v2/orders", 200, &order).is_empty());
    order["filled_qty"] = json!("0");
    order["status"] = json!("almost_filled");
    assert!(!trading.errors("post", "/v2/orders", 200, &order).is_empty());
    assert!(
        !trading
            .errors("post", "/v2/orders", 422, &json!({ "message": "no code" }))
            .is_empty()
    );
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(
                method.parse().expect("method"),
                format!("{}{path}", self.base),
            )
            .header("APCA-API-KEY-ID", "PKCONTRACT")
            .header("APCA-API-SECRET-KEY", "contract-secret");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
        };
        (status, value)
    }
}

#[tokio::test]
async fn every_endpoint_the_exchange_serves_matches_alpacas_openapi_schemas() {
    let trading = Spec::load("trading-api.json");
    let data = Spec::load("market-data-api.json");
    let (exchange, base) = spawn_alpaca_fake(KeyPolicy::OpenOnFirstUse).await;
    let c = Client {
        http: reqwest::Client::new(),
        base,
    };
    // Two moments: a session in progress, and a weekend.
    for now in ["2026-11-20T15:30:00Z", "2026-11-21T15:30:00Z"] {
        let now = chrono::DateTime::parse_from_rfc3339(now)
            .expect("test step")
            .with_timezone(&chrono::Utc);
        exchange.set_clock(now, 0);
        let tag = now.timestamp();

        let (s, b) = c.call("GET", "/v2/account", None).await;
        trading.check("get", "/v2/account", s, &b);

        let order = json!({ "symbol": "SPY", "notional": "150.5", "side": "buy", "type": "market",
            "time_in_force": "day", "client_order_id": format!("contract-{tag}") });
        let (s, placed) = c.call("POST", "/v2/orders", Some(order.clone())).await;
        assert_eq!(s, 200, "{placed}");
        trading.check("post", "/v2/orders", s, &placed);
        let limit = json!({ "symbol": "AAPL", "qty": "1", "side": "buy", "type": "limit",
            "limit_price": "1.00", "time_in_force": "gtc" });
        let (s, b) = c.call("POST", "/v2/orders", Some(limit)).await;
        trading.check("post", "/v2/orders", s, &b);
        let id = b["id"].as_str().expect("id").to_owned();

        let (s, b) = c.call("POST", "/v2/orders", Some(order)).await;
        assert_eq!(s, 422, "a reused client_order_id");
        trading.check("post", "/v2/orders", s, &b);
        let too_much = json!({ "symbol": "SPY", "notional": "99999999", "side": "buy",
            "type": "market", "time_in_force": "day" });
        let (s, b) = c.call("POST", "/v2/orders", Some(too_much)).await;
        assert_eq!(s, 403);
        trading.check("post", "/v2/orders", s, &b);

        for q in ["", "?status=all", "?status=closed&limit=5"] {
            let (s, b) = c.call("GET", &format!("/v2/orders{q}"), None).await;
            trading.check("get", "/v2/orders", s, &b);
        }
        let (s, b) = c.call("GET", &format!("/v2/orders/{id}"), None).await;
        trading.check("get", "/v2/orders/{order_id}", s, &b);
        let (s, b) = c
            .call(
                "GET",
                &format!("/v2/orders:by_client_order_id?client_order_id=contract-{tag}"),
                None,
            )
            .await;
        trading.check("get", "/v2/orders:by_client_order_id", s, &b);
        let (s, _) = c.call("DELETE", &format!("/v2/orders/{id}"), None).await;
        assert_eq!(s, 204);

        let (s, b) = c.call("GET", "/v2/positions", None).await;
        assert!(!b.as_array().expect("array").is_empty());
        trading.check("get", "/v2/positions", s, &b);
        let (s, b) = c.call("GET", "/v2/positions/SPY", None).await;
        trading.check("get", "/v2/positions/{symbol_or_asset_id}", s, &b);
        let (s, b) = c.call("GET", "/v2/clock", None).await;
        trading.check("get", "/v2/clock", s, &b);
        let (s, b) = c
            .call("GET", "/v2/calendar?start=2026-11-01&end=2026-12-31", None)
            .await;
        trading.check("get", "/v2/calendar", s, &b);
        let (s, b) = c.call("GET", "/v2/assets?status=active", None).await;
        trading.check("get", "/v2/assets", s, &b);
        let (s, b) = c.call("GET", "/v2/assets/BRK.A", None).await;
        assert_eq!(b["fractionable"], json!(false));
        trading.check("get", "/v2/assets/{symbol_or_asset_id}", s, &b);

        let day = "timeframe=1Day&start=2026-10-01T00:00:00Z";
        let (s, b) = c
            .call(
                "GET",
                &format!("/v2/stocks/bars?symbols=SPY,QQQ&{day}&limit=20"),
                None,
            )
            .await;
        assert!(
            b["next_page_token"].is_string(),
            "20 of ~70 bars: more pages"
        );
        data.check("get", "/v2/stocks/bars", s, &b);
        let (s, b) = c
            .call("GET", &format!("/v2/stocks/SPY/bars?{day}"), None)
            .await;
        data.check("get", "/v2/stocks/{symbol}/bars", s, &b);
        let (s, b) = c
            .call(
                "GET",
                "/v2/stocks/SPY/bars?timeframe=1Min&start=2026-11-20T14:30:00Z&limit=30",
                None,
            )
            .await;
        data.check("get", "/v2/stocks/{symbol}/bars", s, &b);
        let (s, b) = c
            .call("GET", "/v2/stocks/trades/latest?symbols=SPY,VTI", None)
            .await;
        data.check("get", "/v2/stocks/trades/latest", s, &b);
        let (s, b) = c.call("GET", "/v2/stocks/SPY/trades/latest", None).await;
        data.check("get", "/v2/stocks/{symbol}/trades/latest", s, &b);
        let (s, b) = c
            .call("GET", "/v2/stocks/quotes/latest?symbols=SPY,VTI", None)
            .await;
        data.check("get", "/v2/stocks/quotes/latest", s, &b);
        let (s, b) = c.call("GET", "/v2/stocks/SPY/quotes/latest", None).await;
        data.check("get", "/v2/stocks/{symbol}/quotes/latest", s, &b);
        let (s, b) = c
            .call("GET", "/v2/stocks/snapshots?symbols=SPY,VTI", None)
            .await;
        data.check("get", "/v2/stocks/snapshots", s, &b);
        let (s, b) = c.call("GET", "/v2/stocks/SPY/snapshot", None).await;
        data.check("get", "/v2/stocks/{symbol}/snapshot", s, &b);
    }

    // Errors: every body is `{"code": …, "message": …}`.
    let stranger = reqwest::Client::new()
        .get(format!("{}/v2/account", c.base))
        .send()
        .await
        .expect("request");
    assert_eq!(stranger.status(), 401);
    let body: Value = stranger.json().await.expect("JSON");
    assert!(
        body["code"].is_number() && body["message"].is_string(),
        "{body}"
    );
    let (s, b) = c
        .call("GET", &format!("/v2/orders/{}", uuid::Uuid::new_v4()), None)
        .await;
    assert_eq!((s, b["code"].as_u64()), (404, Some(40410000)));
}
