use crate::helpers::{spawn_app, spawn_app_with};
use serde_json::Value;

#[tokio::test]
async fn healthz_answers_ok_with_the_version() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn readyz_is_ready_when_the_database_is_reachable_and_migrated() {
    let app = spawn_app().await;

    let response = app.get("/readyz").await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["migrations"], "current");
    assert_eq!(
        body["migrations"]["applied"],
        body["migrations"]["expected"]
    );
}

#[tokio::test]
async fn readyz_is_unavailable_while_migrations_are_pending() {
    let app = spawn_app_with(false).await;

    let response = app.get("/readyz").await;

    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"]["migrations"], "pending");
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_database_is_gone_and_says_nothing_internal() {
    let app = spawn_app().await;
    app.store.close().await;

    let response = app.get("/readyz").await;

    assert_eq!(response.status(), 503);
    let text = response.text().await.expect("body");
    let body: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(body["checks"]["database"], "unreachable");
    assert!(
        !text.to_lowercase().contains("pool"),
        "internal error text leaked: {text}"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_one_the_caller_sent() {
    let app = spawn_app().await;

    let generated = app.get("/healthz").await;
    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("request");

    let id = generated
        .headers()
        .get("x-request-id")
        .expect("a request id");
    assert!(!id.is_empty());
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
}
