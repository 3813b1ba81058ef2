//! The access sweep: every server function and every `/api/v1` operation,
//! listed from the code (the server-function registry and the OpenAPI
//! document, so a new one cannot be left out), called anonymously, as a
//! signed-in user for the admin functions, and with someone else's ids. No
//! call may succeed, show anything of anyone, or write anything.

use crate::helpers::{TestApp, browser_like_client, outcome};
use crate::public_api::{code, plan_body};
use crate::recommendations::{app_with, spy_now, user};
use dripfeed::api::auth::{LogIn, LogOut, SignUp, VerifyLoginCode, Whoami};
use dripfeed::api::catalog::{GetApiReference, GetPricing, WhatsNew};
use dripfeed::error::AppError;
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The server functions anyone may call: signing up and in (and out), who
/// is signed in, and the public catalogue.
const PUBLIC: &[&str] = &[
    SignUp::PATH,
    LogIn::PATH,
    VerifyLoginCode::PATH,
    LogOut::PATH,
    Whoami::PATH,
    GetPricing::PATH,
    WhatsNew::PATH,
    GetApiReference::PATH,
];

/// Server functions that answer a visitor too, about the caller only: with
/// nothing.
const ABOUT_THE_CALLER: &[&str] = &[dripfeed::api::billing::MyBilling::PATH];

/// Rows per table, but for the per-minute outcome counts each process
/// writes on its own.
pub(crate) async fn row_counts(app: &TestApp) -> BTreeMap<String, i64> {
    let list = match app.store.backend() {
        dripfeed::server::db::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'"
        }
        dripfeed::server::db::Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'"
        }
    };
    let mut counts = BTreeMap::new();
    for table in app.text_column(list).await {
        if table == "ops_samples" {
            continue;
        }
        let n = app.count(&format!("SELECT COUNT(*) FROM {table}")).await;
        counts.insert(table, n);
    }
    counts
}

/// Calls the server function at `path` with no arguments: an empty form,
/// then an empty JSON object (for functions that take JSON). The first
/// answer that got past decoding its arguments, or the last refusal.
async fn call_bare(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
) -> Result<String, AppError> {
    let form = outcome(app.call_server_fn_as(client, path, &[]).await).await;
    if !matches!(form, Err(AppError::Transport(_))) {
        return form;
    }
    let response = client
        .post(app.url(path))
        .header("accept", "application/json")
        .json(&json!({}))
        .send()
        .await
        .expect("request failed");
    outcome(response).await
}

pub(crate) fn registered() -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    paths.sort_unstable();
    paths.dedup();
    paths
}

#[tokio::test]
async fn every_server_function_refuses_anonymous_callers_and_writes_nothing() {
    let app = crate::helpers::spawn_app().await;
    // Someone's data, so that a leak would have something to show.
    let (owner, connection) = app.user_with_demo("owner@example.com").await;
    app.create_plan(&owner, crate::helpers::weekly(connection, &[("VTI", "25")]))
        .await
        .expect("plan");
    let paths = registered();
    for p in PUBLIC {
        assert!(
            paths.contains(p),
            "{p} is listed as public but not registered"
        );
    }
    let before = row_counts(&app).await;
    let anonymous = browser_like_client(&app.address);
    let mut checked = 0;
    for path in paths.iter().filter(|p| !PUBLIC.contains(p)) {
        match call_bare(&app, &anonymous, path).await {
            Err(AppError::Unauthenticated) => checked += 1,
            Ok(nothing) if ABOUT_THE_CALLER.contains(path) && nothing == "null" => checked += 1,
            // Refused before the body ran: its arguments are missing.
            Err(AppError::Transport(_)) => {}
            other => panic!("{path} answered an anonymous caller with {other:?}"),
        }
    }
    assert_eq!(row_counts(&app).await, before, "nothing was written");
    println!(
        "{} server functions: {} public, {checked} refused as unauthenticated, the rest for missing arguments",
        paths.len(),
        PUBLIC.len()
    );
    assert!(
        paths.len() >= 60,
        "the registry lists every server function"
    );
    assert!(
        checked >= 20,
        "most take no arguments or defaults: {checked}"
    );
}

#[tokio::test]
async fn every_admin_function_refuses_a_signed_in_user_and_writes_nothing() {
    let app = crate::helpers::spawn_app().await;
    let (user, _) = app.user_with_demo("user@example.com").await;
    let admin_paths: Vec<&str> = registered()
        .into_iter()
        .filter(|p| p.contains("/admin_"))
        .collect();
    assert!(admin_paths.len() >= 6, "{admin_paths:?}");
    let before = row_counts(&app).await;
    let mut forbidden = 0;
    for path in &admin_paths {
        match call_bare(&app, &user, path).await {
            Err(AppError::Forbidden) => forbidden += 1,
            Err(AppError::Transport(_)) => {}
            other => panic!("{path} answered a non-admin with {other:?}"),
        }
    }
    // With their arguments, the ones that change something refuse too.
    for (path, form) in [
        (
            dripfeed::api::admin::AdminSetUserDisabled::PATH,
            vec![("user_id", "1"), ("disabled", "true")],
        ),
        (
            dripfeed::api::billing::AdminSetTier::PATH,
            vec![("user_id", "1"), ("tier", "premium")],
        ),
    ] {
        let refused = outcome(app.call_server_fn_as(&user, path, &form).await).await;
        assert!(
            matches!(refused, Err(AppError::Forbidden)),
            "{path}: {refused:?}"
        );
        forbidden += 1;
    }
    let csv = user
        .get(app.url("/admin/audit.csv"))
        .send()
        .await
        .expect("request");
    assert_eq!(csv.status(), StatusCode::FORBIDDEN);
    assert_eq!(row_counts(&app).await, before, "nothing was written");
    assert!(forbidden >= 4, "{forbidden}");
}

/// The owner's ids, by the `{id}` each documented path takes.
fn concrete(path: &str, ids: &BTreeMap<&str, i64>) -> String {
    let kind = ids
        .keys()
        .find(|k| path.starts_with(**k))
        .copied()
        .unwrap_or_else(|| panic!("{path}: whose id does it take? (add it to the sweep)"));
    path.replace("{id}", &ids[kind].to_string())
}

#[tokio::test]
async fn every_api_operation_refuses_anonymous_callers_and_someone_elses_ids() {
    let inbox = user(app_with(|_| {}).await, "owner@example.com", "SPY").await;
    let recommendation = inbox.spy_entry(spy_now()).await;
    let app = &inbox.app;
    let plan = app
        .create_plan(
            &inbox.client,
            crate::helpers::weekly(inbox.connection, &[("VTI", "25")]),
        )
        .await
        .expect("plan");
    let owner_token = app
        .api_token(&inbox.client, "trade", "")
        .await
        .expect("token")
        .token;
    let (status, _, job) = app
        .api_post(
            "/api/v1/backtests/jobs",
            &owner_token,
            json!({"symbol": "SPY", "fast": "5", "slow": "20", "from": "2024-01-01", "to": "2025-12-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let ids = BTreeMap::from([
        ("/api/v1/accounts/{id}", inbox.connection),
        ("/api/v1/plans/{id}", plan),
        ("/api/v1/recommendations/{id}", recommendation),
        (
            "/api/v1/backtests/jobs/{id}",
            job["id"].as_i64().expect("job id"),
        ),
    ]);

    let (intruder, their_connection) = app.user_with_demo("intruder@example.com").await;
    let theirs = app
        .api_token(&intruder, "trade", "")
        .await
        .expect("token")
        .token;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    // Let the owner's job finish, so that counting rows sees a still table.
    let job_path = format!(
        "/api/v1/backtests/jobs/{}",
        ids["/api/v1/backtests/jobs/{id}"]
    );
    let job = app.finished_job(&job_path, &owner_token).await;
    assert_eq!(job["status"], "done", "{job}");
    let before = row_counts(app).await;
    let owners_plan = app
        .api_get(&format!("/api/v1/plans/{plan}"), &owner_token)
        .await
        .2;

    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("item") {
            operations += 1;
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let body = match (method.as_str(), path.as_str()) {
                ("post" | "put", p) if p.starts_with("/api/v1/plans") => {
                    Some(plan_body(their_connection, "Taken over"))
                }
                ("post", p) if p.starts_with("/api/v1/backtests") => {
                    Some(json!({"symbol": "SPY", "fast": "5", "slow": "20"}))
                }
                ("post", _) => Some(json!({})),
                _ => None,
            };
            // Anonymous: refused before anything else.
            let r = reqwest::Client::new()
                .request(m.clone(), app.url(&path.replace("{id}", "1")))
                .send()
                .await
                .expect("request");
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "anonymous {method} {path}"
            );
            let refusal: Value = r.json().await.expect("JSON");
            assert_eq!(code(&refusal), "unauthenticated", "{method} {path}");
            if !path.contains("{id}") {
                continue;
            }
            // Someone else's id: not found, as if it did not exist.
            let (status, _, answer) = app.api(m, &concrete(path, &ids), &theirs, body, None).await;
            assert_eq!(
                (status, code(&answer)),
                (StatusCode::NOT_FOUND, "not_found"),
                "{method} {path} with the owner's id: {answer}"
            );
        }
    }
    assert!(operations >= 20, "{operations}");
    // Nothing was written but the audit of the refused requests, and the
    // owner's plan is as it was.
    let after = row_counts(app).await;
    let grew: Vec<_> = after
        .iter()
        .filter(|(t, n)| before.get(*t) != Some(n) && t.as_str() != "audit_log")
        .collect();
    assert!(grew.is_empty(), "{grew:?}");
    assert_eq!(
        app.api_get(&format!("/api/v1/plans/{plan}"), &owner_token)
            .await
            .2,
        owners_plan
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM plans WHERE user_id = {}",
            inbox.user_id
        ))
        .await,
        1
    );
}
