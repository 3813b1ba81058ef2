//! Fuzzing server-function argument decoding (issue #19): every registered
//! server function (listed from the registry, so a new one is included)
//! called by a signed-in user with generated bodies: forms with the
//! argument names the app uses and values of every shape, nested keys,
//! JSON, and raw bytes. Every answer is a readable error or a success, never
//! an internal error or a crash, and a function that refused every body
//! wrote nothing (but the audit trail of refused sign-ins).

use crate::access_sweep::{registered, row_counts};
use crate::helpers::outcome;
use dripfeed::error::AppError;
use leptos::server_fn::ServerFn;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use std::collections::BTreeMap;

/// Argument names the server functions take (and a few they do not).
const NAMES: &[&str] = &[
    "id",
    "plan_id",
    "connection_id",
    "recommendation_id",
    "user_id",
    "token_id",
    "symbol",
    "symbols",
    "amount",
    "amounts",
    "name",
    "email",
    "password",
    "new_password",
    "code",
    "page",
    "cursor",
    "limit",
    "confirm",
    "confirmation",
    "tier",
    "draft",
    "input",
    "request",
    "spec",
    "days",
    "zone",
    "time_zone",
    "start",
    "end",
    "from",
    "to",
    "weekday",
    "cadence",
    "mode",
    "legs",
    "fast",
    "slow",
    "csv",
    "text",
    "disabled",
    "enabled",
    "accept_terms",
    "kind",
    "q",
    "label",
    "scopes",
    "paths",
    "seed",
    "slice",
    "strategy",
    "benchmark",
    "interval",
    "x",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        any::<i64>().prop_map(|n| n.to_string()),
        (0i64..20).prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_owned()),
        Just("-0.000000000000000000000000000001".to_owned()),
        Just("1e999".to_owned()),
        prop::sample::select(vec![
            "true",
            "on",
            "null",
            "VTI",
            "vti ",
            "$25.00",
            "2026-02-30",
            "America/New_York",
            "Mars/Olympus",
            "0 10 * * 1-5",
            "* * * * *",
            "{}",
            "[]",
            "{\"kind\":\"daily\"}",
            "premium",
            "live",
            "paper",
            "DELETE",
            "\u{0}",
            "\u{202e}evil",
            "../../etc/passwd",
            "<script>alert(1)</script>",
            "'; DROP TABLE users; --",
        ])
        .prop_map(str::to_owned),
        ".{0,40}",
        "[a-z]{5000}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(NAMES.to_vec()).prop_map(str::to_owned),
        2 => (prop::sample::select(NAMES.to_vec()), prop::sample::select(NAMES.to_vec()))
            .prop_map(|(a, b)| format!("{a}[{b}]")),
        1 => (prop::sample::select(NAMES.to_vec()), 0u32..3).prop_map(|(a, i)| format!("{a}[{i}]")),
        1 => "[ -~]{0,12}",
    ]
}

/// One request body and its content type.
fn body() -> impl Strategy<Value = (String, Vec<u8>)> {
    let form = proptest::collection::vec((key(), value()), 0..8).prop_map(|pairs| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            s.append_pair(k, v);
        }
        (
            "application/x-www-form-urlencoded".to_owned(),
            s.finish().into_bytes(),
        )
    });
    let json = proptest::collection::btree_map(key(), value(), 0..6).prop_map(|m| {
        let object: serde_json::Map<String, serde_json::Value> = m
            .into_iter()
            .map(|(k, v)| {
                let v = serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v));
                (k, v)
            })
            .collect();
        (
            "application/json".to_owned(),
            serde_json::to_vec(&object).expect("json"),
        )
    });
    let raw = proptest::collection::vec(any::<u8>(), 0..200)
        .prop_map(|b| ("application/x-www-form-urlencoded".to_owned(), b));
    prop_oneof![5 => form, 2 => json, 1 => raw]
}

/// Rows per table but the audit log: a refused sign-in is recorded there on
/// purpose (failed attempts are what an admin looks for).
async fn data_rows(app: &crate::helpers::TestApp) -> std::collections::BTreeMap<String, i64> {
    let mut counts = row_counts(app).await;
    counts.remove("audit_log");
    counts
}

#[tokio::test]
async fn generated_arguments_to_every_server_function_get_a_clear_answer() {
    let seed: u64 = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261203);
    let per_function: usize = std::env::var("DRIPFEED_FUZZ_CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    println!(
        "server-function fuzz seeded with {seed} (PROPTEST_RNG_SEED replays another), {per_function} calls each (DRIPFEED_FUZZ_CALLS)"
    );
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    });
    let strategy = body();

    let app = crate::helpers::spawn_app().await;
    let (user, connection) = app.user_with_demo("fuzz@example.com").await;
    app.create_plan(&user, crate::helpers::weekly(connection, &[("VTI", "25")]))
        .await
        .expect("plan");
    // Signing out would only make the rest of the run anonymous.
    let skip = [dripfeed::api::auth::LogOut::PATH];
    let mut calls = 0;
    let mut refused_all = 0;
    let mut by_kind: BTreeMap<&'static str, usize> = BTreeMap::new();
    for path in registered().into_iter().filter(|p| !skip.contains(p)) {
        let before = data_rows(&app).await;
        let mut any_ok = false;
        for _ in 0..per_function {
            let (content_type, bytes) = strategy.new_tree(&mut runner).expect("a body").current();
            let response = user
                .post(app.url(path))
                .header("accept", "application/json")
                .header("content-type", &content_type)
                .body(bytes.clone())
                .send()
                .await
                .expect("the server answers");
            let status = response.status();
            // An answer that is not an AppError panics in `outcome`.
            let answer = outcome(response).await;
            calls += 1;
            let kind = match &answer {
                Ok(_) => {
                    any_ok = true;
                    "ok"
                }
                Err(AppError::Internal { .. }) => panic!(
                    "{path} failed inside on {content_type} {:?} ({status})",
                    String::from_utf8_lossy(&bytes)
                ),
                Err(AppError::Transport(why)) => {
                    assert!(!why.is_empty(), "{path}: an empty decoding error");
                    "arguments refused"
                }
                Err(AppError::Invalid(fields)) => {
                    assert!(
                        fields.iter().all(|f| !f.message.is_empty()),
                        "{path}: {fields:?}"
                    );
                    "invalid"
                }
                Err(AppError::Unauthenticated) => panic!("{path} signed the user out"),
                Err(_) => "refused",
            };
            *by_kind.entry(kind).or_default() += 1;
        }
        if !any_ok {
            refused_all += 1;
            assert_eq!(
                data_rows(&app).await,
                before,
                "{path} refused every body but wrote something"
            );
        }
    }
    assert!(app.whoami(&user).await.is_some(), "still signed in");
    println!(
        "{calls} calls to {} server functions; {refused_all} refused every body; answers: {by_kind:?}",
        registered().len() - skip.len()
    );
    assert!(refused_all >= 30, "most functions refuse random arguments");
}
