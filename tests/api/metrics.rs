//! `GET /metrics`: Prometheus text on its own listener, only when
//! configured, with the listed series after some traffic.

use crate::helpers::{spawn_app, spawn_app_configured, weekly};
use chrono::{DateTime, Utc};
use dripfeed::server::engine::Engine;

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_with_the_listed_series() {
    let app = spawn_app_configured(true, |s| {
        s.metrics_listen = Some("127.0.0.1:0".parse().expect("addr"))
    })
    .await;
    let metrics = app.metrics_address.clone().expect("a metrics listener");
    assert_ne!(metrics, app.address, "never the public listener");
    assert_eq!(
        app.get("/metrics").await.status(),
        404,
        "not on the public listener"
    );

    // Traffic: pages, a server function, a plan run by the engine.
    let (client, connection) = app.user_with_demo("ann@example.com").await;
    app.create_plan(&client, weekly(connection, &[("VTI", "25")]))
        .await
        .expect("plan");
    client
        .get(app.url("/plans/987654"))
        .send()
        .await
        .expect("page");
    let next = app.list_plans(&client).await[0]
        .next_run
        .clone()
        .expect("next run");
    let slot: DateTime<Utc> = DateTime::parse_from_rfc3339(&next.at.utc)
        .expect("time")
        .with_timezone(&Utc);
    let engine = Engine::new(app.state.clone(), "metrics-engine");
    app.demo_exchange.set_clock(slot, 0);
    engine.tick(slot).await.expect("engine pass");

    let r = reqwest::get(format!("{metrics}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/plain")
    );
    let text = r.text().await.expect("text");
    for series in [
        "dripfeed_http_requests_total",
        "dripfeed_http_request_duration_seconds_bucket",
        "dripfeed_engine_runs_total",
        "dripfeed_order_submit_seconds",
        "dripfeed_active_sessions",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    // By matched route, not by raw path: no plan id in any label.
    assert!(
        text.contains("route=\"/plans/:id\"") || text.contains("route=\"/plans/{id}\""),
        "{text}"
    );
    assert!(!text.contains("987654"), "raw paths never become labels");
    assert!(
        text.lines()
            .any(|l| l.starts_with("dripfeed_engine_runs_total") && l.contains("outcome=")),
        "{text}"
    );
}

#[tokio::test]
async fn no_metrics_listener_unless_configured() {
    let app = spawn_app().await;
    assert!(app.metrics_address.is_none());
    assert_eq!(app.get("/metrics").await.status(), 404);
}
