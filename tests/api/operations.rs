//! Operating Dripfeed: the admin system health page (admins only, a live
//! engine and its runs), and alerts that fire once per condition, e-mail
//! the admins, and clear when the condition does.

use crate::helpers::{TestApp, outcome, spawn_app, spawn_app_configured, weekly};
use chrono::{DateTime, TimeZone, Utc};
use dripfeed::api::admin::{AdminSetUserDisabled, AdminSystemHealth, SystemHealth};
use dripfeed::error::AppError;
use dripfeed::server::ops::alerts::{self, Evaluated};
use dripfeed::server::ops::stats::{self, Sample};
use leptos::server_fn::ServerFn;

/// Tuesday 1 December 2026, 11:00 New York: a trading day, after GO's time.
fn tuesday_11am() -> DateTime<Utc> {
    chrono_tz::America::New_York
        .with_ymd_and_hms(2026, 12, 1, 11, 0, 0)
        .single()
        .expect("time")
        .with_timezone(&Utc)
}

impl TestApp {
    async fn health(&self, client: &reqwest::Client) -> Result<SystemHealth, AppError> {
        outcome(
            self.call_server_fn_as(client, AdminSystemHealth::PATH, &[])
                .await,
        )
        .await
        .map(|b| serde_json::from_str(&b).expect("JSON"))
    }

    /// A signed-in admin (with the demo account), and their client.
    async fn admin(&self, email: &str) -> (reqwest::Client, i64) {
        let (client, connection) = self.user_with_demo(email).await;
        self.execute_sql(&format!(
            "UPDATE users SET role = 'admin' WHERE email = '{email}'"
        ))
        .await;
        (client, connection)
    }

    /// Alert e-mails in the outbox (subjects).
    fn alert_mail(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.data_dir.join("outbox")) else {
            return Vec::new();
        };
        let mut subjects: Vec<String> = dir
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|text| {
                text.lines()
                    .find(|l| l.starts_with("Subject: "))
                    .map(|l| l.trim_start_matches("Subject: ").to_owned())
            })
            .filter(|s| s.contains("[Dripfeed"))
            .collect();
        subjects.sort();
        subjects
    }

    async fn evaluate(&self, now: DateTime<Utc>) -> Evaluated {
        alerts::evaluate(&self.state, now).await.expect("alerts")
    }
}

#[tokio::test]
async fn the_health_page_is_for_admins_only() {
    let app = spawn_app().await;
    let anonymous = crate::helpers::browser_like_client(&app.address);
    assert!(matches!(
        app.health(&anonymous).await,
        Err(AppError::Unauthenticated)
    ));
    let (user, _) = app.user_with_demo("user@example.com").await;
    assert!(matches!(app.health(&user).await, Err(AppError::Forbidden)));
    // Nor can a user disable anyone.
    let refused = outcome(
        app.call_server_fn_as(
            &user,
            AdminSetUserDisabled::PATH,
            &[("user_id", "1"), ("disabled", "true")],
        )
        .await,
    )
    .await;
    assert!(matches!(refused, Err(AppError::Forbidden)), "{refused:?}");
}

#[tokio::test]
async fn an_admin_sees_a_live_engine_and_a_run_in_flight() {
    let app = spawn_app_configured(true, |s| {
        s.engine = true;
        s.engine_interval_secs = 1;
        s.instance_id = Some("health-engine".into());
    })
    .await;
    let (admin, connection) = app.admin("admin@example.com").await;
    let (ann, ann_connection) = app.user_with_demo("ann@example.com").await;
    app.create_plan(&ann, weekly(ann_connection, &[("VTI", "25")]))
        .await
        .expect("plan");
    let _ = connection;

    // The engine's passes show as a live instance.
    let mut health = app.health(&admin).await.expect("health");
    for _ in 0..100 {
        if health.engines.iter().any(|e| e.name == "health-engine") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        health = app.health(&admin).await.expect("health");
    }
    let engine = health
        .engines
        .iter()
        .find(|e| e.name == "health-engine")
        .expect("the live engine");
    assert!(!engine.stale);
    assert!(engine.passes >= 1);
    assert!(health.database.ready);
    assert_eq!(
        health.database.migrations_applied,
        health.database.migrations_expected
    );
    assert!(health.database.size_bytes.unwrap_or(0) > 0);
    assert_eq!(health.runs.in_flight, 0);
    assert_eq!(health.mail.mode, "outbox");

    // A run under way (claimed by an engine) is in flight.
    // (Claimed by another engine whose lease still holds, so this one
    // leaves it alone; days ahead, so no slot of the plan's own clashes.)
    let at = Utc::now() + chrono::Duration::days(10);
    app.execute_sql_at(
        &format!(
            "INSERT INTO plan_slots (plan_id, scheduled_at, trading_date, status, claimed_by, lease_until, created_at, updated_at) \
             SELECT id, $1, '2026-12-11', 'running', 'other-engine', $1, $1, $1 FROM plans WHERE connection_id = {ann_connection}"
        ),
        at,
    )
    .await;
    let health = app.health(&admin).await.expect("health");
    assert_eq!(health.runs.in_flight, 1, "{:?}", health.runs);

    // The admin disables Ann: she is signed out and cannot sign in.
    let ann_id = app
        .count("SELECT id FROM users WHERE email = 'ann@example.com'")
        .await;
    outcome(
        app.call_server_fn_as(
            &admin,
            AdminSetUserDisabled::PATH,
            &[("user_id", &ann_id.to_string()), ("disabled", "true")],
        )
        .await,
    )
    .await
    .expect("disabled");
    assert!(app.whoami(&ann).await.is_none());
}

#[tokio::test]
async fn an_unresolved_run_raises_one_alert_e_mails_the_admins_and_clears() {
    let app = spawn_app().await;
    let (admin, _) = app.admin("admin@example.com").await;
    let (ann, connection) = app.user_with_demo("ann@example.com").await;
    app.create_plan(&ann, weekly(connection, &[("VTI", "25")]))
        .await
        .expect("plan");
    let now = tuesday_11am();
    assert_eq!(
        app.evaluate(now).await,
        Evaluated::default(),
        "nothing holds"
    );

    let long_ago = now - chrono::Duration::hours(2);
    app.execute_sql_at(
        "INSERT INTO plan_slots (plan_id, scheduled_at, trading_date, status, claimed_by, lease_until, created_at, updated_at) \
         SELECT id, $1, '2026-12-01', 'submitted', 'gone-engine', $1, $1, $1 FROM plans",
        long_ago,
    )
    .await;
    let first = app.evaluate(now).await;
    assert_eq!(first.raised, vec!["runs_unresolved"]);
    let again = app.evaluate(now + chrono::Duration::minutes(1)).await;
    assert!(again.raised.is_empty(), "raised once: {again:?}");
    assert_eq!(again.holding, vec!["runs_unresolved"]);
    assert_eq!(
        app.alert_mail(),
        vec!["[Dripfeed alert] Runs are unresolved past their time"]
    );
    let health = app.health(&admin).await.expect("health");
    let open: Vec<_> = health
        .alerts
        .iter()
        .filter(|a| a.cleared_at.is_none())
        .collect();
    assert_eq!(open.len(), 1);
    assert!(open[0].detail.contains("1 run(s)"), "{}", open[0].detail);
    assert!(open[0].emailed);

    app.execute_sql_at(
        "UPDATE plan_slots SET status = 'filled', finished_at = $1",
        now,
    )
    .await;
    let cleared = app.evaluate(now + chrono::Duration::minutes(2)).await;
    assert_eq!(cleared.cleared, vec!["runs_unresolved"]);
    assert_eq!(app.alert_mail().len(), 2);
    assert!(
        app.alert_mail()
            .iter()
            .any(|s| s.starts_with("[Dripfeed] Cleared: Runs are unresolved"))
    );
    let health = app.health(&admin).await.expect("health");
    assert!(health.alerts.iter().all(|a| a.cleared_at.is_some()));
    // Cleared once; nothing more to say.
    assert_eq!(
        app.evaluate(now + chrono::Duration::minutes(3)).await,
        Evaluated::default()
    );
    assert_eq!(app.alert_mail().len(), 2);
}

#[tokio::test]
async fn go_not_run_on_a_trading_day_alerts_until_it_runs() {
    let app = spawn_app().await;
    let (_admin, _) = app.admin("admin@example.com").await;
    let (_ann, _) = app.user_with_demo("ann@example.com").await;
    let now = tuesday_11am();
    // Nobody has recommendations on: GO owes nothing.
    assert!(app.evaluate(now).await.raised.is_empty());
    app.execute_sql_at(
        "INSERT INTO recommendation_settings (user_id, enabled, watchlist, auto_exits, updated_at) \
         SELECT id, TRUE, 'VTI', FALSE, $1 FROM users WHERE email = 'ann@example.com'",
        now,
    )
    .await;
    // Before GO's time and its grace, nothing either.
    let early = chrono_tz::America::New_York
        .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .expect("time")
        .with_timezone(&Utc);
    assert!(app.evaluate(early).await.raised.is_empty());
    assert_eq!(app.evaluate(now).await.raised, vec!["go_missed"]);
    // GO ran: the alert clears.
    app.execute_sql_at(
        "INSERT INTO daily_jobs (kind, user_id, trading_date, status, claimed_by, lease_until, started_at, finished_at) \
         SELECT 'go', id, '2026-12-01', 'done', 'e', $1, $1, $1 FROM users WHERE email = 'ann@example.com'",
        now,
    )
    .await;
    assert_eq!(
        app.evaluate(now + chrono::Duration::minutes(1))
            .await
            .cleared,
        vec!["go_missed"]
    );
}

#[tokio::test]
async fn broker_errors_above_the_threshold_alert_and_clear_when_the_rate_falls() {
    let app = spawn_app().await;
    let _ = app.admin("admin@example.com").await;
    let now = tuesday_11am();
    let wall = Utc::now();
    for _ in 0..10 {
        app.state.ops.broker(wall, "paper", "ok".into());
    }
    for _ in 0..12 {
        app.state.ops.broker(wall, "paper", "503".into());
    }
    let raised = app.evaluate(now).await;
    assert_eq!(raised.raised, vec!["broker_errors"]);
    let detail = app
        .text_column("SELECT detail FROM admin_alerts WHERE kind = 'broker_errors'")
        .await;
    assert!(
        detail[0].contains("paper: 12 of 22 requests failed (503 ×12)"),
        "{detail:?}"
    );
    for _ in 0..100 {
        app.state.ops.broker(wall, "paper", "ok".into());
    }
    assert_eq!(app.evaluate(now).await.cleared, vec!["broker_errors"]);
    // The condition returning later is a new alert.
    for _ in 0..100 {
        app.state.ops.broker(wall, "live", "timeout".into());
    }
    assert_eq!(app.evaluate(now).await.raised, vec!["broker_errors"]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM admin_alerts WHERE kind = 'broker_errors'")
            .await,
        2
    );
}

#[tokio::test]
async fn every_instances_broker_outcomes_add_up_on_the_health_page_and_in_the_alerts() {
    let app = spawn_app().await;
    let (admin, _) = app.admin("admin@example.com").await;
    let wall = Utc::now();
    for _ in 0..10 {
        app.state.ops.broker(wall, "paper", "ok".into());
    }
    for _ in 0..2 {
        app.state.ops.broker(wall, "paper", "503".into());
    }
    // Another instance behind the same proxy saw a burst of 503s.
    let theirs = Sample {
        minute: stats::minute(wall),
        source: stats::BROKER.into(),
        subject: "paper".into(),
        outcome: "503".into(),
        n: 12,
    };
    app.store
        .save_ops_samples("web-2", &[theirs], 0)
        .await
        .expect("their samples");
    let health = app.health(&admin).await.expect("health");
    let paper = health
        .brokers
        .iter()
        .find(|b| b.environment == "paper")
        .expect("paper");
    assert_eq!((paper.requests, paper.errors), (24, 14), "{paper:?}");
    assert_eq!(paper.by_code, vec![("503".to_owned(), 14)]);
    // Written again, this process's counts replace its own, not add to them.
    let health = app.health(&admin).await.expect("health");
    assert_eq!(health.brokers[0].requests, 24, "{:?}", health.brokers);
    assert_eq!(
        app.evaluate(tuesday_11am()).await.raised,
        vec!["broker_errors"]
    );
    let detail = app
        .text_column("SELECT detail FROM admin_alerts WHERE kind = 'broker_errors'")
        .await;
    assert!(
        detail[0].contains("paper: 14 of 24 requests failed (503 ×14)"),
        "{detail:?}"
    );
}

#[tokio::test]
async fn a_database_with_a_failed_migration_is_not_ready_and_alerts() {
    let app = spawn_app().await;
    let (admin, _) = app.admin("admin@example.com").await;
    let now = tuesday_11am();
    app.execute_sql("UPDATE _sqlx_migrations SET success = FALSE WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .await;
    assert_eq!(app.evaluate(now).await.raised, vec!["database_not_ready"]);
    assert!(!app.health(&admin).await.expect("health").database.ready);
    app.execute_sql("UPDATE _sqlx_migrations SET success = TRUE")
        .await;
    assert_eq!(app.evaluate(now).await.cleared, vec!["database_not_ready"]);
}

#[tokio::test]
async fn e_mail_failures_and_webhook_failures_alert() {
    let app = spawn_app().await;
    let _ = app.admin("admin@example.com").await;
    let now = tuesday_11am();
    let wall = Utc::now();
    for _ in 0..alerts::MAIL_FAILURES {
        app.state.ops.mail(wall, false);
    }
    for _ in 0..alerts::WEBHOOK_FAILURES {
        app.state.ops.webhook(wall, "signature verification failed");
    }
    let mut raised = app.evaluate(now).await.raised;
    raised.sort_unstable();
    assert_eq!(raised, vec!["outbox_backlog", "webhook_failures"]);
}

#[tokio::test]
async fn admins_verify_the_audit_chain_and_export_the_log_as_csv() {
    let app = spawn_app().await;
    let (admin, _) = app.admin("admin@example.com").await;
    let (user, _) = app.user_with_demo("user@example.com").await;
    let check = |client: reqwest::Client| {
        let app = &app;
        async move {
            outcome(
                app.call_server_fn_as(&client, dripfeed::api::admin::AdminVerifyAudit::PATH, &[])
                    .await,
            )
            .await
            .map(|b| {
                serde_json::from_str::<dripfeed::api::admin::AuditChainCheck>(&b).expect("JSON")
            })
        }
    };
    assert!(matches!(
        check(user.clone()).await,
        Err(AppError::Forbidden)
    ));
    let intact = check(admin.clone()).await.expect("check");
    assert!(intact.intact, "{}", intact.message);
    assert!(intact.entries > 0);

    let r = user
        .get(app.url("/admin/audit.csv"))
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), 403);
    let r = admin
        .get(app.url("/admin/audit.csv?email=user%40example.com"))
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let csv = r.text().await.expect("body");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("id,occurred_at_utc,actor,subject,action,detail,ip")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|l| l.contains("user@example.com")), "{csv}");

    app.execute_sql("UPDATE audit_log SET detail = '{\"forged\":true}' WHERE id = 1")
        .await;
    let broken = check(admin).await.expect("check");
    assert!(!broken.intact);
    assert!(broken.message.contains("entry 1"), "{}", broken.message);
}

#[tokio::test]
async fn admins_search_users_and_see_their_last_sign_in_and_connections() {
    let app = spawn_app().await;
    let (admin, _) = app.admin("admin@example.com").await;
    let _ = app.user_with_demo("ann@example.com").await;
    app.sign_up(
        &crate::helpers::browser_like_client(&app.address),
        "bob@example.com",
    )
    .await
    .expect("bob");
    let list = |q: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let body = outcome(
                app.call_server_fn_as(
                    &admin,
                    dripfeed::api::admin::AdminListUsers::PATH,
                    &[("query", q)],
                )
                .await,
            )
            .await
            .expect("users");
            serde_json::from_str::<Vec<dripfeed::api::admin::UserSummary>>(&body).expect("JSON")
        }
    };
    let ann = list("ANN@").await;
    assert_eq!(ann.len(), 1, "{ann:?}");
    assert_eq!(ann[0].email, "ann@example.com");
    assert_eq!(ann[0].connections, 1);
    assert!(ann[0].last_login.is_some(), "signing up signed her in");
    let bob = list("bob").await;
    assert_eq!(bob[0].connections, 0);
    assert_eq!(list("").await.len(), 3);
    assert!(list("nobody").await.is_empty());
}
