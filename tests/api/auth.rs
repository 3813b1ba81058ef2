//! Signing up, in and out: the account, the Terms, sessions and their cookies.

use crate::helpers::{PASSWORD, TestApp, browser_like_client, outcome, session_cookie, spawn_app};
use dripfeed::api::auth::{FirstSteps, GettingStarted, LogIn, LogOut, SignUp, Whoami};
use dripfeed::error::AppError;
use leptos::server_fn::ServerFn;

#[tokio::test]
async fn signing_up_creates_the_account_records_the_terms_and_signs_in() {
    let app = spawn_app().await;

    app.sign_up(&app.client, "Ann@Example.com")
        .await
        .expect("sign-up");

    let me = app.whoami(&app.client).await.expect("signed in");
    assert_eq!(me.email, "Ann@Example.com");
    let row = app
        .store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(row.terms_version, dripfeed::domain::legal::TERMS_VERSION);
    assert!(row.password_hash.starts_with("$argon2id$"));
    assert!(!row.password_hash.contains(PASSWORD));
    let actions: Vec<String> = app
        .activity(&app.client)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["account.signed_up"]);
}

#[tokio::test]
async fn bad_sign_up_input_gets_a_message_per_field_and_writes_nothing() {
    let app = spawn_app().await;

    let error = outcome(
        app.call_server_fn(
            SignUp::PATH,
            &[("email", "not-an-email"), ("password", "short")],
        )
        .await,
    )
    .await
    .expect_err("refused");

    assert!(error.for_field("email").unwrap().contains("valid email"));
    assert!(error.for_field("password").unwrap().contains("at least 12"));
    assert!(error.for_field("accept_terms").unwrap().contains("Terms"));
    assert!(
        app.store
            .user_by_email("not-an-email")
            .await
            .unwrap()
            .is_none()
    );
    assert!(app.store.verify_audit_chain().await.unwrap().entries == 0);
    assert!(app.whoami(&app.client).await.is_none());
}

#[tokio::test]
async fn a_common_password_is_refused() {
    let app = spawn_app().await;

    let error = outcome(
        app.call_server_fn(
            SignUp::PATH,
            &[
                ("email", "bob@example.com"),
                ("password", "Password1234"),
                ("accept_terms", "on"),
            ],
        )
        .await,
    )
    .await
    .expect_err("refused");

    assert!(error.for_field("password").unwrap().contains("too common"));
}

#[tokio::test]
async fn an_email_can_hold_only_one_account_whatever_its_case() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com")
        .await
        .expect("first");

    let other = browser_like_client(&app.address);
    let error = app
        .sign_up(&other, "  ANN@example.COM ")
        .await
        .expect_err("duplicate");

    assert!(error.for_field("email").unwrap().contains("already exists"));
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com")
        .await
        .expect("sign-up");
    let stranger = browser_like_client(&app.address);

    let wrong_password = app
        .log_in(&stranger, "ann@example.com", "not the password at all")
        .await
        .expect_err("refused");
    let unknown_email = app
        .log_in(&stranger, "nobody@example.com", PASSWORD)
        .await
        .expect_err("refused");

    assert_eq!(wrong_password, unknown_email);
    assert_eq!(
        wrong_password.general().as_deref(),
        Some(dripfeed::server::auth::BAD_CREDENTIALS)
    );
    assert!(app.whoami(&stranger).await.is_none());
}

#[tokio::test]
async fn logging_in_rotates_the_session_id_and_stores_only_its_hash() {
    let app = spawn_app().await;
    let first = app
        .call_server_fn(
            SignUp::PATH,
            &[
                ("email", "ann@example.com"),
                ("password", PASSWORD),
                ("accept_terms", "on"),
            ],
        )
        .await;
    let first_id = session_cookie(&first).expect("a session cookie");

    let second = app
        .call_server_fn(
            LogIn::PATH,
            &[("email", "ann@example.com"), ("password", PASSWORD)],
        )
        .await;
    let second_id = session_cookie(&second).expect("a new session cookie");

    assert_ne!(first_id, second_id);
    let cookie_header = second
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_lowercase())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(cookie_header.contains("httponly"));
    assert!(cookie_header.contains("samesite=lax"));
    let user = app
        .store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    for session in app.store.sessions_of(user.id).await.unwrap() {
        assert_ne!(session.user_agent.as_deref(), None);
    }
    let dump = dump_sessions(&app).await;
    assert!(
        !dump.contains(&second_id),
        "the session id is stored in plaintext"
    );
    assert!(!dump.contains(PASSWORD));
}

async fn dump_sessions(app: &TestApp) -> String {
    use dripfeed::server::db::Store;
    let sql = "SELECT token_hash || ' ' || data FROM sessions";
    let rows: Vec<String> = match &app.store {
        Store::Sqlite(pool) => sqlx::query_scalar(sql)
            .fetch_all(pool)
            .await
            .expect("sessions"),
        Store::Postgres(pool) => sqlx::query_scalar(sql)
            .fetch_all(pool)
            .await
            .expect("sessions"),
    };
    rows.join("\n")
}

#[tokio::test]
async fn logging_out_ends_the_session_even_for_a_copied_cookie() {
    let app = spawn_app().await;
    let response = app
        .call_server_fn(
            SignUp::PATH,
            &[
                ("email", "ann@example.com"),
                ("password", PASSWORD),
                ("accept_terms", "on"),
            ],
        )
        .await;
    let stolen = session_cookie(&response).unwrap();

    outcome(app.call_server_fn(LogOut::PATH, &[]).await)
        .await
        .expect("log out");

    assert!(app.whoami(&app.client).await.is_none());
    let thief = reqwest::Client::new();
    let answer = thief
        .post(app.url(Whoami::PATH))
        .header("origin", &app.address)
        .header("cookie", format!("dripfeed_session={stolen}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "null");
}

#[tokio::test]
async fn a_revoked_session_is_rejected_on_its_next_request() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let user = app
        .store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    let sessions = app.store.sessions_of(user.id).await.unwrap();
    assert_eq!(sessions.len(), 1);

    assert!(
        app.store
            .revoke_session(user.id, sessions[0].id)
            .await
            .unwrap()
    );

    assert_eq!(
        app.activity(&app.client).await.unwrap_err(),
        AppError::Unauthenticated
    );
    assert!(app.whoami(&app.client).await.is_none());
}

/// Starts a dashboard read whose broker call stalls for three seconds, and
/// returns once the server is inside it (the session already loaded).
async fn slow_request_in_flight(
    app: &TestApp,
    client: &reqwest::Client,
) -> tokio::task::JoinHandle<reqwest::StatusCode> {
    use dripfeed::api::broker::PortfolioDashboards;
    use dripfeed::server::broker::exchange::Fault;
    app.demo_exchange
        .faults()
        .queue
        .push_back(Fault::Stall(std::time::Duration::from_secs(3)));
    let request = client
        .post(app.url(PortfolioDashboards::PATH))
        .header("accept", "application/json")
        .send();
    let slow = tokio::spawn(async move { request.await.expect("request").status() });
    while !app.demo_exchange.faults().queue.is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    slow
}

async fn session_rows(app: &TestApp, email: &str) -> usize {
    let user = app
        .store
        .user_by_email(email)
        .await
        .expect("query")
        .expect("the user");
    app.store
        .sessions_of(user.id)
        .await
        .expect("sessions")
        .len()
}

#[tokio::test]
async fn a_request_in_flight_across_a_log_out_does_not_bring_the_session_back() {
    let app = spawn_app().await;
    let (client, _) = app.user_with_demo("ann@example.com").await;
    let slow = slow_request_in_flight(&app, &client).await;
    outcome(app.call_server_fn_as(&client, LogOut::PATH, &[]).await)
        .await
        .expect("log out");
    slow.await.expect("the slow request ends");

    assert!(app.whoami(&client).await.is_none(), "still logged out");
    assert_eq!(session_rows(&app, "ann@example.com").await, 0);
}

#[tokio::test]
async fn a_request_in_flight_across_a_revoke_does_not_bring_the_session_back() {
    let app = spawn_app().await;
    let (laptop, _) = app.user_with_demo("ann@example.com").await;
    let phone = browser_like_client(&app.address);
    app.log_in(&phone, "ann@example.com", PASSWORD)
        .await
        .expect("log in");
    let user = app
        .store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    let slow = slow_request_in_flight(&app, &laptop).await;
    // From the phone (the newest session), every other session is ended, as
    // a password change does.
    let phone_session = app
        .store
        .sessions_of(user.id)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .max()
        .unwrap();
    app.store
        .revoke_other_sessions(user.id, Some(phone_session))
        .await
        .unwrap();
    slow.await.expect("the slow request ends");

    assert!(app.whoami(&laptop).await.is_none(), "the laptop stays out");
    assert!(app.whoami(&phone).await.is_some());
    assert_eq!(session_rows(&app, "ann@example.com").await, 1);
}

#[tokio::test]
async fn a_signed_in_session_is_written_at_most_once_a_minute() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    assert!(app.whoami(&app.client).await.is_some());
    // Mark the row so a write shows: a write stamps last_seen_at.
    let unwritten = "SELECT COUNT(*) FROM sessions WHERE last_seen_at = created_at";
    app.execute_sql("UPDATE sessions SET last_seen_at = created_at")
        .await;
    for _ in 0..5 {
        assert!(app.whoami(&app.client).await.is_some());
    }
    assert_eq!(
        app.count(unwritten).await,
        1,
        "requests within a minute write nothing"
    );

    // A minute after the last extension, the next request extends it.
    let data = app.text_column("SELECT data FROM sessions").await.remove(0);
    let mut data: serde_json::Value = serde_json::from_str(&data).unwrap();
    let seen = data["seen"]
        .as_i64()
        .expect("the last extension is recorded");
    data["seen"] = serde_json::json!(seen - 61);
    app.execute_sql(&format!("UPDATE sessions SET data = '{data}'"))
        .await;
    assert!(app.whoami(&app.client).await.is_some());
    assert_eq!(app.count(unwritten).await, 0, "extended");
}

#[tokio::test]
async fn a_user_cannot_revoke_someone_elses_session() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let bob_client = browser_like_client(&app.address);
    app.sign_up(&bob_client, "bob@example.com").await.unwrap();
    let ann = app
        .store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    let bob = app
        .store
        .user_by_email("bob@example.com")
        .await
        .unwrap()
        .unwrap();
    let ann_session = app.store.sessions_of(ann.id).await.unwrap()[0].id;

    assert!(!app.store.revoke_session(bob.id, ann_session).await.unwrap());

    assert!(app.whoami(&app.client).await.is_some());
}

#[tokio::test]
async fn each_user_sees_only_their_own_activity() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let bob_client = browser_like_client(&app.address);
    app.sign_up(&bob_client, "bob@example.com").await.unwrap();
    app.log_in(&bob_client, "bob@example.com", "wrong password, twelve+")
        .await
        .unwrap_err();

    let ann = app.activity(&app.client).await.unwrap();
    let bob = app.activity(&bob_client).await.unwrap();

    assert_eq!(ann.len(), 1);
    let bob_actions: Vec<&str> = bob.iter().map(|e| e.action.as_str()).collect();
    // A failed attempt on Bob's account is Bob's to see, not Ann's.
    assert_eq!(bob_actions, ["login.failed", "account.signed_up"]);
    assert!(bob.iter().all(|b| b.id != ann[0].id));
    let anonymous = browser_like_client(&app.address);
    assert_eq!(
        app.activity(&anonymous).await.unwrap_err(),
        AppError::Unauthenticated
    );
}

#[tokio::test]
async fn state_changing_requests_from_other_sites_are_refused() {
    let app = spawn_app().await;
    let form = [
        ("email", "ann@example.com"),
        ("password", PASSWORD),
        ("accept_terms", "on"),
    ];

    let cross_site = reqwest::Client::new()
        .post(app.url(SignUp::PATH))
        .header("origin", "http://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    let no_origin = reqwest::Client::new()
        .post(app.url(SignUp::PATH))
        .form(&form)
        .send()
        .await
        .unwrap();
    let same_site_referer = reqwest::Client::new()
        .post(app.url(Whoami::PATH))
        .header("referer", app.url("/login"))
        .send()
        .await
        .unwrap();

    assert_eq!(cross_site.status(), 403);
    assert_eq!(no_origin.status(), 403);
    assert_eq!(same_site_referer.status(), 200);
    assert!(
        app.store
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_nonce_script_policy() {
    let app = spawn_app().await;

    let response = app.get("/").await;

    let headers = response.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce");
    let body = response.text().await.unwrap();
    assert!(
        body.contains(&format!("nonce=\"{nonce}\"")),
        "inline scripts lack the nonce"
    );
    let again = app.get("/").await;
    assert!(
        !again.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(nonce),
        "nonce reused"
    );
    let health = app.get("/healthz").await;
    assert!(
        health.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors")
    );
}

#[tokio::test]
async fn the_audit_chain_verifies_and_detects_a_tampered_row() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    app.log_in(&app.client, "ann@example.com", "definitely wrong pw")
        .await
        .unwrap_err();
    app.log_in(&app.client, "ann@example.com", PASSWORD)
        .await
        .unwrap();
    let report = app.store.verify_audit_chain().await.unwrap();
    assert!(report.is_intact());
    assert_eq!(report.entries, 3);

    app.execute_sql("UPDATE audit_log SET action = 'login.succeeded' WHERE id = 2")
        .await;

    let report = app.store.verify_audit_chain().await.unwrap();
    assert_eq!(report.first_broken.map(|(id, _)| id), Some(2));
}

#[tokio::test]
async fn a_new_users_first_steps_are_ticked_off_as_they_are_done() {
    let app = spawn_app().await;
    let none = FirstSteps {
        connected: false,
        planned: false,
        bought: false,
    };

    let client = browser_like_client(&app.address);
    app.sign_up(&client, "steps@example.com")
        .await
        .expect("sign-up");
    assert_eq!(app.first_steps(&client).await, none);

    let (client, connection) = app.user_with_demo("planner@example.com").await;
    assert_eq!(
        app.first_steps(&client).await,
        FirstSteps {
            connected: true,
            ..none
        }
    );
    app.create_plan(&client, crate::helpers::weekly(connection, &[("VTI", "5")]))
        .await
        .expect("a plan");
    let steps = app.first_steps(&client).await;
    assert_eq!(
        steps,
        FirstSteps {
            connected: true,
            planned: true,
            bought: false
        }
    );
    assert!(!steps.done());

    // One user's steps are never another's.
    let other = browser_like_client(&app.address);
    app.sign_up(&other, "other@example.com")
        .await
        .expect("sign-up");
    assert_eq!(app.first_steps(&other).await, none);

    // Signed out, there are no steps to show.
    let anonymous = browser_like_client(&app.address);
    let response = app
        .call_server_fn_as(&anonymous, GettingStarted::PATH, &[])
        .await;
    assert_eq!(response.status(), 401);
}
