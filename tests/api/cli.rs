//! The `dripfeed admin …` command line, run as a real process against the test
//! database.

use crate::helpers::{TestApp, spawn_app};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn dripfeed(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dripfeed"))
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("DRIPFEED_DATA_DIR", &app.data_dir)
        .env("DRIPFEED_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dripfeed");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("dripfeed finished")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn create_user_refuses_a_weak_password_like_the_web_does() {
    let app = spawn_app().await;

    let output = dripfeed(
        &app,
        &[
            "admin",
            "create-user",
            "--email",
            "root@example.com",
            "--admin",
        ],
        "password1234\n",
    );

    assert!(!output.status.success());
    assert!(text(&output).contains("too common"), "{}", text(&output));
    assert!(
        app.store
            .user_by_email("root@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn create_user_makes_an_admin_who_can_disable_users_and_it_is_audited() {
    let app = spawn_app().await;

    let created = dripfeed(
        &app,
        &[
            "admin",
            "create-user",
            "--email",
            "root@example.com",
            "--admin",
        ],
        "violet tractor harbour 42\n",
    );
    assert!(created.status.success(), "{}", text(&created));
    let row = app
        .store
        .user_by_email("root@example.com")
        .await
        .unwrap()
        .expect("created");
    assert_eq!(row.role, "admin");
    assert!(
        !text(&created).contains("violet tractor"),
        "the password was echoed"
    );

    let disabled = dripfeed(
        &app,
        &["admin", "disable-user", "--email", "root@example.com"],
        "",
    );
    assert!(disabled.status.success(), "{}", text(&disabled));
    assert!(
        app.store
            .user_by_email("root@example.com")
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_some()
    );

    let verified = dripfeed(&app, &["admin", "verify-audit"], "");
    assert!(verified.status.success());
    assert!(
        text(&verified).contains("intact: 2 entries"),
        "{}",
        text(&verified)
    );
}

#[tokio::test]
async fn verify_audit_fails_loudly_when_a_row_was_changed() {
    let app = spawn_app().await;
    let created = dripfeed(
        &app,
        &["admin", "create-user", "--email", "ann@example.com"],
        "violet tractor harbour 42\n",
    );
    assert!(created.status.success());
    app.execute_sql("UPDATE audit_log SET detail = '{\"role\":\"admin\"}' WHERE id = 1")
        .await;

    let verified = dripfeed(&app, &["admin", "verify-audit"], "");

    assert!(!verified.status.success());
    assert!(
        text(&verified).contains("TAMPERED: entry 1"),
        "{}",
        text(&verified)
    );
}

#[tokio::test]
async fn version_and_help_answer_without_a_database() {
    let app = spawn_app().await;
    let version = dripfeed(&app, &["--version"], "");
    assert!(text(&version).contains(env!("CARGO_PKG_VERSION")));
    let help = dripfeed(&app, &["admin", "--help"], "");
    assert!(text(&help).contains("rotate-key"));
}

#[tokio::test]
async fn rotate_key_writes_a_new_key_and_reseals_every_secret() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let _: dripfeed::api::security::TwoFactorEnrollment = crate::helpers::outcome(
        app.call_server_fn(
            <dripfeed::api::security::BeginTwoFactor as leptos::server_fn::ServerFn>::PATH,
            &[],
        )
        .await,
    )
    .await
    .map(|body| serde_json::from_str(&body).expect("JSON"))
    .unwrap();
    let sealed = || async {
        app.store
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap()
            .totp_secret_sealed
            .unwrap()
    };
    let before = sealed().await;
    crate::helpers::outcome(
        app.call_server_fn(
            <dripfeed::api::broker::ConnectDemoAccount as leptos::server_fn::ServerFn>::PATH,
            &[],
        )
        .await,
    )
    .await
    .unwrap();

    let output = dripfeed(&app, &["admin", "rotate-key"], "");

    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("re-encrypted 2 stored secret"),
        "{}",
        text(&output)
    );
    let after = sealed().await;
    assert_ne!(
        dripfeed::server::crypto::KeyRing::key_id_of(&before),
        dripfeed::server::crypto::KeyRing::key_id_of(&after)
    );
    let ring = dripfeed::server::crypto::Secrets::load(None, &app.data_dir).unwrap();
    assert_eq!(
        ring.ring().key_ids().len(),
        2,
        "the old key stays to open old values"
    );
    // The running server opens the re-sealed brokerage credentials.
    let boards: Vec<dripfeed::api::broker::DashboardDto> = crate::helpers::outcome(
        app.call_server_fn(
            <dripfeed::api::broker::PortfolioDashboards as leptos::server_fn::ServerFn>::PATH,
            &[],
        )
        .await,
    )
    .await
    .map(|body| serde_json::from_str(&body).expect("JSON"))
    .unwrap();
    assert_eq!(boards[0].state, dripfeed::api::broker::DashboardState::Ok);
}

#[tokio::test]
async fn expired_sessions_are_purged() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let expire = "UPDATE sessions SET expires_at = $1";
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    match &app.store {
        dripfeed::server::db::Store::Sqlite(pool) => sqlx::query(expire)
            .bind(past)
            .execute(pool)
            .await
            .map(|_| ()),
        dripfeed::server::db::Store::Postgres(pool) => sqlx::query(expire)
            .bind(past)
            .execute(pool)
            .await
            .map(|_| ()),
    }
    .unwrap();

    assert_eq!(app.store.purge_expired_sessions().await.unwrap(), 1);
    assert!(app.whoami(&app.client).await.is_none());
}

#[tokio::test]
async fn engine_tick_runs_one_pass_at_the_given_instant() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("tick@example.com").await;
    let plan_id = app
        .create_plan(
            &client,
            crate::helpers::weekly(connection, &[("VTI", "20")]),
        )
        .await
        .unwrap();
    let next = app.list_plans(&client).await[0].next_run.clone().unwrap();

    let output = dripfeed(&app, &["engine", "tick", "--at", &next.at.utc], "");

    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("1 slot(s) written"),
        "{}",
        text(&output)
    );
    let slots = app.store.plan_slots(plan_id).await.unwrap();
    assert_eq!(slots.len(), 1);
    assert_eq!(slots[0].status, "filled", "{:?}", slots[0].reason);
    let bad = dripfeed(&app, &["engine", "tick", "--at", "next tuesday"], "");
    assert!(!bad.status.success());
}

#[tokio::test]
async fn backup_copies_the_live_database_and_the_copy_restores() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("backup@example.com").await;
    let plan = app
        .create_plan(
            &client,
            crate::helpers::weekly(connection, &[("VTI", "25")]),
        )
        .await
        .expect("a plan");
    let dir = tempfile::tempdir().expect("a folder");
    let file = dir.path().join("dripfeed-backup.db");
    let file_arg = file.to_str().expect("UTF-8");
    let output = dripfeed(&app, &["backup", "--to", file_arg], "");
    if app.database_url.starts_with("postgres") {
        // PostgreSQL is pg_dump's: the command says how, and writes nothing.
        assert!(!output.status.success());
        assert!(
            text(&output).contains("pg_dump --format=custom"),
            "{}",
            text(&output)
        );
        assert!(!file.exists());
        return;
    }
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("keep a copy of that key"),
        "{}",
        text(&output)
    );

    // A second backup never overwrites the first.
    let before = std::fs::metadata(&file).expect("the backup").len();
    let again = dripfeed(&app, &["backup", "--to", file_arg], "");
    assert!(!again.status.success());
    assert!(text(&again).contains("exists already"), "{}", text(&again));
    assert_eq!(std::fs::metadata(&file).unwrap().len(), before);

    // Restore: the copy is a whole database, current with the migrations,
    // holding the user, the connection and the plan.
    let restored = format!("sqlite://{}", file.display());
    let migrate = Command::new(env!("CARGO_BIN_EXE_dripfeed"))
        .arg("migrate")
        .env("DATABASE_URL", &restored)
        .env("DRIPFEED_DATA_DIR", dir.path())
        .env("DRIPFEED_LOG", "error")
        .output()
        .expect("migrate");
    assert!(migrate.status.success(), "{}", text(&migrate));
    let store = dripfeed::server::db::Store::connect(&restored.clone().into(), 1)
        .await
        .expect("the backup opens");
    let user = store
        .user_by_email("backup@example.com")
        .await
        .unwrap()
        .expect("the user is in the backup");
    assert!(store.plan_of(user.id, plan).await.unwrap().is_some());
    assert_eq!(store.connections_of(user.id).await.unwrap().len(), 1);
}
