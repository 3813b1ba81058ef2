//! The secret scan: a user signs up, turns on two-factor authentication,
//! signs in again with a code, connects paper keys and scripts the API with
//! a token, while every span and event at TRACE level is captured; then no
//! password, API secret, session id, API token, TOTP secret or recovery
//! code may appear in the captured log, nor in plaintext anywhere in the
//! database (every column of every table, read as text).

use crate::helpers::{PASSWORD, TestApp, browser_like_client, outcome, session_cookie, spawn_app};
use dripfeed::api::auth::{LogOut, SignUp, VerifyLoginCode};
use dripfeed::api::security::{BeginTwoFactor, ConfirmTwoFactor};
use dripfeed::dto::security::TwoFactorEnrollment;
use leptos::server_fn::ServerFn;
use std::sync::{Arc, Mutex};
use totp_rs::{Algorithm, Secret, TOTP};

/// Everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// Every row of every table, each as one line of text.
async fn database_text(app: &TestApp) -> Vec<String> {
    use dripfeed::server::db::Backend;
    let mut lines = Vec::new();
    match app.store.backend() {
        Backend::Sqlite => {
            let tables = app
                .text_column("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                .await;
            for table in tables {
                let columns = app
                    .text_column(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .await;
                let row = columns
                    .iter()
                    .map(|c| {
                        format!(
                            "COALESCE(CASE typeof(\"{c}\") WHEN 'blob' THEN hex(\"{c}\") \
                             ELSE CAST(\"{c}\" AS TEXT) END, '')"
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                lines.extend(
                    app.text_column(&format!("SELECT '{table}: ' || {row} FROM \"{table}\""))
                        .await,
                );
            }
        }
        Backend::Postgres => {
            let tables = app
                .text_column(
                    "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
                     WHERE table_schema = current_schema()",
                )
                .await;
            for table in tables {
                lines.extend(
                    app.text_column(&format!(
                        "SELECT '{table}: ' || CAST(row_to_json(t) AS TEXT) FROM \"{table}\" t"
                    ))
                    .await,
                );
            }
        }
    }
    lines
}

#[tokio::test]
async fn no_secret_reaches_the_logs_or_the_database_in_plaintext() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    // The test's runtime has one thread, which the server's tasks share:
    // everything they log on it is captured.
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = spawn_app().await;
    let (key, api_secret) = ("PKSCAN0001", "scan-api-secret-7f3a9c");
    app.alpaca.open_account(key, api_secret).expect("account");
    let email = "scan@example.com";
    let client = browser_like_client(&app.address);
    let signed_up = app
        .call_server_fn_as(
            &client,
            SignUp::PATH,
            &[
                ("email", email),
                ("password", PASSWORD),
                ("accept_terms", "on"),
            ],
        )
        .await;
    let first_session = session_cookie(&signed_up).expect("a session");
    outcome(signed_up).await.expect("signed up");

    let enrolment: TwoFactorEnrollment = serde_json::from_str(
        &outcome(
            app.call_server_fn_as(&client, BeginTwoFactor::PATH, &[])
                .await,
        )
        .await
        .expect("begin"),
    )
    .expect("JSON");
    let totp = TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        Secret::Encoded(enrolment.secret.clone())
            .to_bytes()
            .expect("base32"),
        None,
        String::new(),
    )
    .expect("TOTP");
    let now = u64::try_from(chrono::Utc::now().timestamp()).expect("after 1970");
    let recovery: Vec<String> = serde_json::from_str(
        &outcome(
            app.call_server_fn_as(
                &client,
                ConfirmTwoFactor::PATH,
                &[("code", &totp.generate(now))],
            )
            .await,
        )
        .await
        .expect("confirm"),
    )
    .expect("JSON");

    // Out and in again, with a code.
    outcome(app.call_server_fn_as(&client, LogOut::PATH, &[]).await)
        .await
        .expect("out");
    let again = browser_like_client(&app.address);
    let step = app
        .call_server_fn_as(
            &again,
            dripfeed::api::auth::LogIn::PATH,
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    let pending_session = session_cookie(&step);
    outcome(step).await.expect("password accepted");
    let verified = app
        .call_server_fn_as(
            &again,
            VerifyLoginCode::PATH,
            &[("code", &totp.generate(now + 30))],
        )
        .await;
    let second_session = session_cookie(&verified);
    outcome(verified).await.expect("code accepted");

    outcome(
        app.call_server_fn_as(
            &again,
            dripfeed::api::broker::ConnectPaperKeys::PATH,
            &[("key_id", key), ("secret", api_secret)],
        )
        .await,
    )
    .await
    .expect("paper keys");
    let token = app
        .api_token(&again, "trade", "")
        .await
        .expect("token")
        .token;
    let (status, _, body) = app.api_get("/api/v1/accounts", &token).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");

    let mut secrets: Vec<(&str, String)> = vec![
        ("the password", PASSWORD.to_owned()),
        ("the paper API secret", api_secret.to_owned()),
        ("the first session id", first_session),
        ("the API token", token.clone()),
        // What follows the token's shown prefix is secret too.
        ("the API token's secret part", token[12..].to_owned()),
        ("the TOTP secret", enrolment.secret.clone()),
    ];
    secrets.extend(pending_session.map(|s| ("the pending session id", s)));
    secrets.extend(second_session.map(|s| ("the second session id", s)));
    secrets.extend(recovery.iter().map(|c| ("a recovery code", c.clone())));

    let log = captured.text();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the capture saw the server's logs ({} bytes)",
        log.len()
    );
    assert!(
        log.contains("dripfeed::server"),
        "the capture saw the server's own spans and events"
    );
    let rows = database_text(&app).await;
    assert!(
        rows.iter().any(|r| r.contains(email)),
        "the scan reads the users"
    );
    println!(
        "secret scan: {} bytes of TRACE log and {} database rows, {} secrets",
        log.len(),
        rows.len(),
        secrets.len()
    );
    for (what, secret) in &secrets {
        assert!(secret.len() >= 8, "{what} is long enough to look for");
        assert!(!log.contains(secret.as_str()), "{what} is in the log");
        // Blobs are read as hex (SQLite) or \\x hex (PostgreSQL).
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        if let Some(row) = rows
            .iter()
            .find(|r| r.contains(secret.as_str()) || r.to_lowercase().contains(&hex))
        {
            panic!("{what} is stored in plaintext: {row}");
        }
    }
}
