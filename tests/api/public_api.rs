//! The public REST API (`/api/v1`): personal API tokens (scopes, expiry,
//! revocation, rate limit, hashed at rest, audited), consistent errors,
//! cursor pagination, idempotent POSTs, and the OpenAPI document covering
//! every route.

use crate::helpers::{TestApp, outcome, spawn_app, spawn_app_configured, weekly};
use dripfeed::api::tokens::{CreateApiToken, CreatedApiToken, RevokeApiToken};
use dripfeed::domain::tier::TierId;
use dripfeed::error::AppError;
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::{Value, json};

impl TestApp {
    /// A personal API token for `client`'s user, made in Settings.
    pub(crate) async fn api_token(
        &self,
        client: &reqwest::Client,
        scope: &str,
        expires_in_days: &str,
    ) -> Result<CreatedApiToken, AppError> {
        outcome(
            self.call_server_fn_as(
                client,
                CreateApiToken::PATH,
                &[
                    ("name", "my script"),
                    ("scope", scope),
                    ("expires_in_days", expires_in_days),
                ],
            )
            .await,
        )
        .await
        .map(|b| serde_json::from_str(&b).expect("JSON"))
    }

    /// `GET path` with `token`.
    pub(crate) async fn api_get(
        &self,
        path: &str,
        token: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.api(reqwest::Method::GET, path, token, None, None)
            .await
    }

    /// Calls the API like a script does: no cookies, a bearer token.
    pub(crate) async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.expect("request");
        let (status, headers) = (r.status(), r.headers().clone());
        let text = r.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, headers, value)
    }
}

pub(crate) fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

pub(crate) fn plan_body(connection_id: i64, name: &str) -> Value {
    let mut input = serde_json::to_value(weekly(connection_id, &[("VTI", "25")])).expect("JSON");
    input["name"] = json!(name);
    input
}

#[tokio::test]
async fn a_read_token_reads_but_cannot_trade_and_a_trade_token_can() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("ann@example.com").await;
    let id = app
        .create_plan(&client, weekly(connection, &[("VTI", "25")]))
        .await
        .expect("plan");
    let read = app
        .api_token(&client, "read", "")
        .await
        .expect("token")
        .token;
    let trade = app
        .api_token(&client, "trade", "30")
        .await
        .expect("token")
        .token;
    assert!(read.starts_with("dft_"));

    let (status, _, body) = app.api_get("/api/v1/plans", &read).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"][0]["id"], json!(id));
    assert_eq!(
        body["data"][0]["legs"][0]["amount"],
        json!("25"),
        "decimals are strings"
    );

    let pause = format!("/api/v1/plans/{id}/pause");
    let (status, _, body) = app
        .api(reqwest::Method::POST, &pause, &read, None, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "insufficient_scope");
    let (_, _, plan) = app.api_get(&format!("/api/v1/plans/{id}"), &read).await;
    assert_eq!(
        plan["plan"]["status"], "active",
        "the read token changed nothing"
    );
    let (status, _, body) = app
        .api(
            reqwest::Method::POST,
            "/api/v1/plans",
            &read,
            Some(plan_body(connection, "No")),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );

    let (status, _, body) = app
        .api(reqwest::Method::POST, &pause, &trade, None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["plan"]["status"], "paused");
    // The same rule as the page: a paused plan cannot be paused again.
    let (status, _, body) = app
        .api(reqwest::Method::POST, &pause, &trade, None, None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "{body}"
    );
}

#[tokio::test]
async fn missing_unknown_revoked_and_expired_tokens_are_refused() {
    let app = spawn_app().await;
    let (client, _) = app.user_with_demo("ann@example.com").await;
    let created = app.api_token(&client, "read", "7").await.expect("token");
    let token = created.token.clone();
    let get = |t: String| {
        let app = &app;
        async move { app.api_get("/api/v1/plans", &t).await }
    };
    assert_eq!(get(token.clone()).await.0, StatusCode::OK);

    let r = reqwest::Client::new()
        .get(app.url("/api/v1/plans"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("www-authenticate").is_some());
    // A signed-in browser session is not an API credential.
    let r = client
        .get(app.url("/api/v1/plans"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let (status, _, body) = get(format!("{token}x")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );

    // Expired: its expiry moved into the past.
    app.execute_sql_at(
        &format!(
            "UPDATE api_tokens SET expires_at = $1 WHERE id = {}",
            created.view.id
        ),
        chrono::Utc::now() - chrono::Duration::minutes(1),
    )
    .await;
    let (status, _, body) = get(token.clone()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("expired"),
        "{body}"
    );

    let other = app.api_token(&client, "trade", "").await.expect("token");
    assert_eq!(get(other.token.clone()).await.0, StatusCode::OK);
    outcome(
        app.call_server_fn_as(
            &client,
            RevokeApiToken::PATH,
            &[("id", &other.view.id.to_string())],
        )
        .await,
    )
    .await
    .expect("revoked");
    let (status, _, body) = get(other.token.clone()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("revoked"),
        "{body}"
    );
}

#[tokio::test]
async fn tokens_are_kept_hashed_shown_once_and_every_use_is_audited() {
    let app = spawn_app().await;
    let (client, _) = app.user_with_demo("ann@example.com").await;
    let created = app.api_token(&client, "read", "").await.expect("token");
    let stored = app
        .text_column("SELECT name || prefix || token_hash || scope FROM api_tokens")
        .await
        .join("");
    assert!(
        !stored.contains(&created.token),
        "the token itself is not stored"
    );
    assert!(created.token.starts_with(&created.view.prefix));
    assert!(created.view.last_used_at.is_none());

    let (status, _, _) = app.api_get("/api/v1/plans/12345", &created.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let listed = outcome(
        app.call_server_fn_as(&client, dripfeed::api::tokens::ListApiTokens::PATH, &[])
            .await,
    )
    .await
    .expect("list");
    assert!(
        !listed.contains(&created.token),
        "the list never shows the token"
    );
    let views: Vec<dripfeed::dto::tokens::ApiTokenView> =
        serde_json::from_str(&listed).expect("JSON");
    assert!(views[0].last_used_at.is_some(), "last use recorded");

    let audited = app
        .text_column("SELECT detail FROM audit_log WHERE action = 'api.request'")
        .await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    let detail: Value = serde_json::from_str(&audited[0]).expect("JSON");
    assert_eq!(
        detail["route"], "/api/v1/plans/{id}",
        "the route, not the raw path"
    );
    assert_eq!(detail["status"], 404);
    assert_eq!(detail["token_id"], json!(created.view.id));
}

#[tokio::test]
async fn another_users_plans_are_not_found_through_the_api() {
    let app = spawn_app().await;
    let (ann, connection) = app.user_with_demo("ann@example.com").await;
    let id = app
        .create_plan(&ann, weekly(connection, &[("VTI", "25")]))
        .await
        .expect("plan");
    let (bob, bob_connection) = app.user_with_demo("bob@example.com").await;
    let token = app.api_token(&bob, "trade", "").await.expect("token").token;
    for (method, path) in [
        (reqwest::Method::GET, format!("/api/v1/plans/{id}")),
        (reqwest::Method::GET, format!("/api/v1/plans/{id}/runs")),
        (reqwest::Method::POST, format!("/api/v1/plans/{id}/stop")),
        (
            reqwest::Method::GET,
            format!("/api/v1/accounts/{connection}/ledger"),
        ),
    ] {
        let (status, _, body) = app.api(method, &path, &token, None, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    // Nor can Bob create a plan on Ann's account.
    let (status, _, body) = app
        .api(
            reqwest::Method::POST,
            "/api/v1/plans",
            &token,
            Some(plan_body(connection, "Mine")),
            None,
        )
        .await;
    assert!(status.is_client_error(), "{status} {body}");
    let (_, _, list) = app.api_get("/api/v1/plans", &token).await;
    assert_eq!(list["data"], json!([]));
    let _ = bob_connection;
    assert_eq!(app.list_plans(&ann).await[0].status, "active");
}

#[tokio::test]
async fn a_repeated_post_with_its_idempotency_key_gets_the_first_answer_and_acts_once() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("ann@example.com").await;
    let token = app
        .api_token(&client, "trade", "")
        .await
        .expect("token")
        .token;
    let body = plan_body(connection, "Weekly VTI");
    let post = |b: Value, key: &'static str| {
        let (app, token) = (&app, token.clone());
        async move {
            app.api(
                reqwest::Method::POST,
                "/api/v1/plans",
                &token,
                Some(b),
                Some(key),
            )
            .await
        }
    };
    let (status, headers, first) = post(body.clone(), "k-1").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(headers.get("idempotent-replayed").is_none());
    let (status, headers, again) = post(body.clone(), "k-1").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, first, "the first answer, again");
    assert_eq!(
        headers.get("idempotent-replayed").map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM plans").await,
        1,
        "created once"
    );

    let (status, _, refused) = post(plan_body(connection, "Something else"), "k-1").await;
    assert_eq!(
        (status, code(&refused)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
    let (status, _, _) = post(body.clone(), "k-2").await;
    assert_eq!(status, StatusCode::CREATED, "a new key is a new request");
    assert_eq!(app.count("SELECT COUNT(*) FROM plans").await, 2);

    // A refusal is an answer too: replayed, not re-judged.
    let mut bad = body.clone();
    bad["legs"][0]["amount"] = json!("-5");
    let (status, _, first_refusal) = post(bad.clone(), "k-3").await;
    assert_eq!(
        (status, code(&first_refusal)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    assert!(
        !first_refusal["error"]["fields"]
            .as_array()
            .expect("fields")
            .is_empty()
    );
    assert_eq!(post(bad, "k-3").await.2, first_refusal);

    let (status, _, body) = app
        .api(
            reqwest::Method::POST,
            "/api/v1/plans",
            &token,
            Some(json!({"name": 3})),
            Some(" "),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_requests_get_the_one_error_shape() {
    let app = spawn_app().await;
    let (client, _) = app.user_with_demo("ann@example.com").await;
    let token = app
        .api_token(&client, "trade", "")
        .await
        .expect("token")
        .token;
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/plans"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(code(&body), "bad_request");
    let (status, _, body) = app.api_get("/api/v1/plans/not-a-number", &token).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    let (status, _, body) = app.api_get("/api/v1/no-such-thing", &token).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _, body) = app.api_get("/api/v1/plans?limit=0", &token).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    let (status, _, body) = app.api_get("/api/v1/plans?cursor=%%%", &token).await;
    assert!(status.is_client_error(), "{status} {body}");
}

#[tokio::test]
async fn cursor_pages_walk_every_plan_once_newest_first() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("ann@example.com").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let mut input = weekly(connection, &[("VTI", "10")]);
        input.name = format!("Plan {n}");
        ids.push(app.create_plan(&client, input).await.expect("plan"));
    }
    let token = app
        .api_token(&client, "read", "")
        .await
        .expect("token")
        .token;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/api/v1/plans?limit=2".to_owned(),
            Some(c) => format!("/api/v1/plans?limit=2&cursor={c}"),
        };
        let (status, _, body) = app.api_get(&path, &token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        for p in body["data"].as_array().expect("data") {
            seen.push(p["id"].as_i64().expect("id"));
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "each plan once, newest first");
    assert_eq!(pages, 3);
    let (status, _, body) = app.api_get("/api/v1/plans?cursor=bm9wZQ", &token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a cursor past everything is an empty page: {body}"
    );
}

#[tokio::test]
async fn each_token_has_its_own_requests_per_minute() {
    let app = spawn_app_configured(true, |s| s.api_requests_per_minute = 3).await;
    let (client, _) = app.user_with_demo("ann@example.com").await;
    let a = app
        .api_token(&client, "read", "")
        .await
        .expect("token")
        .token;
    let b = app
        .api_token(&client, "read", "")
        .await
        .expect("token")
        .token;
    for _ in 0..3 {
        assert_eq!(app.api_get("/api/v1/plans", &a).await.0, StatusCode::OK);
    }
    let (status, headers, body) = app.api_get("/api/v1/plans", &a).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(headers.get("retry-after").is_some());
    assert_eq!(app.api_get("/api/v1/plans", &b).await.0, StatusCode::OK);
}

#[tokio::test]
async fn tokens_need_a_tier_with_the_api() {
    let app = spawn_app_configured(true, |s| s.default_tier = TierId::Basic).await;
    let (client, _) = app.user_with_demo("ann@example.com").await;
    match app.api_token(&client, "read", "").await {
        Err(AppError::Locked(message)) => assert!(message.contains("API access"), "{message}"),
        other => panic!("expected the tier's refusal, got {other:?}"),
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM api_tokens").await, 0);
}

#[tokio::test]
async fn token_settings_refuse_bad_input_field_by_field() {
    let app = spawn_app().await;
    let (client, _) = app.user_with_demo("ann@example.com").await;
    let r = outcome(
        app.call_server_fn_as(
            &client,
            CreateApiToken::PATH,
            &[("name", " "), ("scope", "admin"), ("expires_in_days", "0")],
        )
        .await,
    )
    .await;
    let Err(e) = r else { panic!("accepted") };
    for field in ["name", "scope", "expires_in_days"] {
        assert!(e.for_field(field).is_some(), "{field}: {e:?}");
    }
}

#[tokio::test]
async fn every_route_is_in_the_openapi_document_and_answers() {
    let app = spawn_app().await;
    let r = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.expect("JSON");
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    let expected = [
        "/api/v1/accounts",
        "/api/v1/accounts/{id}/ledger",
        "/api/v1/purchases",
        "/api/v1/plans",
        "/api/v1/plans/{id}",
        "/api/v1/plans/{id}/pause",
        "/api/v1/plans/{id}/resume",
        "/api/v1/plans/{id}/stop",
        "/api/v1/plans/{id}/runs",
        "/api/v1/plans/{id}/performance",
        "/api/v1/recommendations",
        "/api/v1/recommendations/{id}/execute",
        "/api/v1/recommendations/{id}/ignore",
        "/api/v1/backtests",
        "/api/v1/backtests/strategy",
        "/api/v1/backtests/jobs",
        "/api/v1/backtests/jobs/{id}",
    ];
    let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    documented.sort_unstable();
    let mut wanted = expected.to_vec();
    wanted.sort_unstable();
    assert_eq!(documented, wanted);
    let decimal = &doc["components"]["schemas"]["LegDto"]["properties"]["amount"];
    assert_eq!(
        decimal["type"], "string",
        "decimals are documented as strings: {decimal}"
    );

    // Every documented operation is served (by its handler, not the 404 for
    // unknown routes), and documents the error body.
    let (client, _) = app.user_with_demo("ann@example.com").await;
    let token = app
        .api_token(&client, "trade", "")
        .await
        .expect("token")
        .token;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("item") {
            assert!(
                op["responses"]["401"].is_object(),
                "{method} {path} documents 401"
            );
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let concrete = path.replace("{id}", "999999");
            let (status, _, body) = app.api(m, &concrete, &token, None, None).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            let message = body["error"]["message"].as_str().unwrap_or("");
            assert!(
                !message.contains("No such API route"),
                "{method} {path}: {body}"
            );
            assert!(
                !status.is_server_error(),
                "{method} {path}: {status} {body}"
            );
        }
    }
}

#[tokio::test]
async fn a_key_being_answered_is_in_progress_until_it_is_abandoned() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("ann@example.com").await;
    let token = app
        .api_token(&client, "trade", "")
        .await
        .expect("token")
        .token;
    let body = plan_body(connection, "Weekly VTI");
    let (status, _, first) = app
        .api(
            reqwest::Method::POST,
            "/api/v1/plans",
            &token,
            Some(body.clone()),
            Some("k-live"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    // Keys claimed for this same request by another process that has not
    // answered: one a minute ago (still working), one ten minutes ago (it
    // died mid-request).
    let hash = app
        .text_column("SELECT request_hash FROM api_idempotency WHERE idempotency_key = 'k-live'")
        .await
        .remove(0);
    for (key, age_minutes) in [("k-busy", 1), ("k-dead", 10)] {
        app.execute_sql_at(
            &format!(
                "INSERT INTO api_idempotency (user_id, idempotency_key, request_hash, created_at) \
                 SELECT id, '{key}', '{hash}', $1 FROM users WHERE email = 'ann@example.com'"
            ),
            chrono::Utc::now() - chrono::Duration::minutes(age_minutes),
        )
        .await;
    }
    let (status, _, busy) = app
        .api(
            reqwest::Method::POST,
            "/api/v1/plans",
            &token,
            Some(body.clone()),
            Some("k-busy"),
        )
        .await;
    assert_eq!(
        (status, code(&busy)),
        (StatusCode::CONFLICT, "idempotency_in_progress")
    );
    let (status, _, taken) = app
        .api(
            reqwest::Method::POST,
            "/api/v1/plans",
            &token,
            Some(body.clone()),
            Some("k-dead"),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "an abandoned key is taken over: {taken}"
    );
    let (status, headers, again) = app
        .api(
            reqwest::Method::POST,
            "/api/v1/plans",
            &token,
            Some(body),
            Some("k-dead"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, taken);
    assert!(headers.get("idempotent-replayed").is_some());
    assert_eq!(app.count("SELECT COUNT(*) FROM plans").await, 2);
}

/// Friday 2026-11-20, after the close in New York: the demo exchange has
/// bars up to here.
fn after_the_close() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-20T21:30:00Z")
        .expect("test step")
        .with_timezone(&chrono::Utc)
}

/// A sweep of 6 fast × 3 slow windows over SPY.
fn sweep_query() -> Value {
    json!({"symbol": "SPY", "fast": "5..10", "slow": "20..30:5",
           "from": "2024-01-01", "to": "2025-12-31"})
}

impl TestApp {
    /// `POST path` with `token` and a JSON `body`, without an idempotency key.
    pub(crate) async fn api_post(
        &self,
        path: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.api(reqwest::Method::POST, path, token, Some(body), None)
            .await
    }

    /// Follows a background backtest until it is no longer running.
    pub(crate) async fn finished_job(&self, location: &str, token: &str) -> Value {
        for _ in 0..600 {
            let (status, _, job) = self.api_get(location, token).await;
            assert_eq!(status, StatusCode::OK, "{job}");
            let (done, total) = (job["pairs_done"].as_u64(), job["pairs_total"].as_u64());
            assert!(done <= total, "progress never passes the total: {job}");
            if job["status"] != "running" {
                return job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the backtest {location} never finished");
    }
}

#[tokio::test]
async fn a_background_sweep_shows_its_progress_then_the_same_report_as_a_direct_run() {
    let app = spawn_app_configured(true, |s| s.default_tier = TierId::Pro).await;
    app.demo_exchange.set_clock(after_the_close(), 0);
    let (client, _) = app.user_with_demo("ann@example.com").await;
    let token = app
        .api_token(&client, "read", "")
        .await
        .expect("token")
        .token;

    let (status, headers, job) = app
        .api_post("/api/v1/backtests/jobs", &token, sweep_query())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["pairs_total"], 18, "6 fast × 3 slow windows: {job}");
    let location = headers["location"].to_str().expect("Location").to_owned();
    assert_eq!(location, format!("/api/v1/backtests/jobs/{}", job["id"]));

    let done = app.finished_job(&location, &token).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["pairs_done"], 18);
    assert!(done["finished_at"]["utc"].is_string(), "{done}");
    let cells = done["report"]["sweep"]["cells"]
        .as_array()
        .expect("the sweep's cells");
    assert_eq!(cells.len(), 18);
    // The same code as the synchronous run: the same report.
    let (status, _, direct) = app
        .api_post("/api/v1/backtests/strategy", &token, sweep_query())
        .await;
    assert_eq!(status, StatusCode::OK, "{direct}");
    assert_eq!(done["report"], direct);

    let (_, _, list) = app.api_get("/api/v1/backtests/jobs", &token).await;
    assert_eq!(list["data"][0]["id"], job["id"], "{list}");
    assert!(
        list["data"][0].get("report").is_none(),
        "lists leave reports out: {list}"
    );

    // A bad question is refused at once, and starts nothing.
    let mut bad = sweep_query();
    bad["fast"] = json!("x");
    let (status, _, body) = app.api_post("/api/v1/backtests/jobs", &token, bad).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "{body}"
    );
    assert_eq!(body["error"]["fields"][0]["field"], "fast", "{body}");
    let (_, _, list) = app.api_get("/api/v1/backtests/jobs", &token).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");

    // Someone else's job is not found.
    let (other, _) = app.user_with_demo("bob@example.com").await;
    let theirs = app
        .api_token(&other, "read", "")
        .await
        .expect("token")
        .token;
    let (status, _, body) = app.api_get(&location, &theirs).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "not_found"),
        "{body}"
    );
    let (_, _, list) = app.api_get("/api/v1/backtests/jobs", &theirs).await;
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn running_jobs_are_capped_and_one_whose_server_stopped_reads_failed() {
    let app = spawn_app_configured(true, |s| s.default_tier = TierId::Pro).await;
    app.demo_exchange.set_clock(after_the_close(), 0);
    let (client, _) = app.user_with_demo("ann@example.com").await;
    let token = app
        .api_token(&client, "read", "")
        .await
        .expect("token")
        .token;
    let user = app
        .store
        .user_by_email("ann@example.com")
        .await
        .expect("read")
        .expect("ann");
    // Two jobs under way on another instance, touched just now.
    let now = chrono::Utc::now();
    for _ in 0..2 {
        app.store
            .start_backtest_job(user.id, &sweep_query().to_string(), 18, 2, now, now)
            .await
            .expect("insert")
            .expect("started");
    }
    let (status, _, body) = app
        .api_post("/api/v1/backtests/jobs", &token, sweep_query())
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2 backtests running")),
        "{body}"
    );

    // That instance stops: its jobs fall silent, then read failed, and the
    // user can start again.
    let (_, _, list) = app.api_get("/api/v1/backtests/jobs", &token).await;
    let first = list["data"][1]["id"].as_i64().expect("id");
    let silent = now - chrono::Duration::minutes(2);
    for id in [first, first + 1] {
        app.store
            .touch_backtest_job(id, 3, silent)
            .await
            .expect("touch");
    }
    let (_, _, job) = app
        .api_get(&format!("/api/v1/backtests/jobs/{first}"), &token)
        .await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["pairs_done"], 3);
    assert!(
        job["error"]
            .as_str()
            .is_some_and(|m| m.contains("stopped before it finished")),
        "{job}"
    );
    let (status, headers, body) = app
        .api_post("/api/v1/backtests/jobs", &token, sweep_query())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let done = app
        .finished_job(headers["location"].to_str().expect("Location"), &token)
        .await;
    assert_eq!(done["status"], "done", "{done}");
}
