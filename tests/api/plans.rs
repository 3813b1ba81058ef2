//! DCA plans through their server functions: validation against the broker
//! and the tier, the schedule preview, ownership, and status changes.

use crate::helpers::{browser_like_client, outcome, spawn_app, spawn_app_configured, weekly};
use claims::{assert_err, assert_matches, assert_ok};
use dripfeed::api::broker::DisconnectBroker;
use dripfeed::api::plans::{
    AssetDto, ListPlans, PausePlan, PreviewPlan, ResumePlan, SchedulePreview, SearchAssets,
    StopPlan,
};
use dripfeed::domain::schedule::{Cadence, TimeOfDay};
use dripfeed::domain::tier::TierId;
use dripfeed::error::AppError;
use leptos::server_fn::ServerFn;
use rust_decimal::Decimal;

#[tokio::test]
async fn a_plan_on_the_demo_account_is_saved_with_its_next_run() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("planner@example.com").await;

    let id = assert_ok!(
        app.create_plan(
            &client,
            weekly(connection, &[("vti", "25"), ("QQQ", "$10.50")])
        )
        .await
    );

    let list = app.list_plans(&client).await;
    assert_eq!(list.len(), 1);
    let p = &list[0];
    assert_eq!(p.id, id);
    assert_eq!(p.status, "active");
    assert_eq!(p.connection_label.as_deref(), Some("Demo paper account"));
    assert_eq!(
        p.legs
            .iter()
            .map(|l| (l.symbol.as_str(), l.amount))
            .collect::<Vec<_>>(),
        [("VTI", Decimal::from(25)), ("QQQ", Decimal::new(1050, 2))]
    );
    assert_eq!(p.schedule, "Every Monday at 10:00 (America/New_York)");
    let next = p.next_run.as_ref().expect("a next run");
    assert!(
        next.at.local.starts_with("Mon") || next.note.is_some(),
        "{next:?}"
    );
    let log = app.activity(&client).await.expect("activity");
    assert!(log.iter().any(|e| e.action == "plan.created"));
}

#[tokio::test]
async fn the_preview_shows_five_runs_and_the_monthly_spend() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("preview@example.com").await;
    let body = outcome(
        app.call_json_server_fn_as(
            &client,
            PreviewPlan::PATH,
            &PreviewPlan {
                input: weekly(connection, &[("VTI", "30")]),
                editing: None,
            },
        )
        .await,
    )
    .await
    .expect("preview");
    let preview: SchedulePreview = serde_json::from_str(&body).expect("JSON");
    assert_eq!(preview.runs.len(), 5);
    assert_eq!(preview.per_run, Decimal::from(30));
    // About 52 Mondays (holidays move, never vanish): $30 × 52 / 12 = $130.
    assert!(
        preview.monthly_spend >= Decimal::from(125) && preview.monthly_spend <= Decimal::from(135),
        "{}",
        preview.monthly_spend
    );
    assert!(preview.runs.windows(2).all(|w| w[0].at.utc < w[1].at.utc));
}

#[tokio::test]
async fn every_bad_input_is_reported_against_its_field_and_nothing_is_saved() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("mistakes@example.com").await;

    let e = assert_err!(
        app.create_plan(
            &client,
            weekly(connection, &[("VTI", "0.50"), ("VTI", "5")])
        )
        .await
    );
    assert!(
        e.for_field("amounts").unwrap_or_default().contains("$1.00"),
        "{e:?}"
    );
    assert!(
        e.for_field("symbols").unwrap_or_default().contains("twice"),
        "{e:?}"
    );

    let mut early = weekly(connection, &[("VTI", "10")]);
    early.time = TimeOfDay::Local(chrono::NaiveTime::from_hms_opt(8, 0, 0).expect("time"));
    let e = assert_err!(app.create_plan(&client, early).await);
    assert!(
        e.for_field("time").unwrap_or_default().contains("09:30"),
        "{e:?}"
    );

    let e = assert_err!(
        app.create_plan(&client, weekly(connection, &[("ZZZZ", "10")]))
            .await
    );
    assert!(
        e.for_field("symbols")
            .unwrap_or_default()
            .contains("not offered"),
        "{e:?}"
    );
    let e = assert_err!(
        app.create_plan(&client, weekly(connection, &[("BRK.A", "10")]))
            .await
    );
    assert!(
        e.for_field("symbols")
            .unwrap_or_default()
            .contains("fractional"),
        "{e:?}"
    );
    let e = assert_err!(
        app.create_plan(&client, weekly(connection, &[("TWTR", "10")]))
            .await
    );
    assert!(
        e.for_field("symbols")
            .unwrap_or_default()
            .contains("cannot be traded"),
        "{e:?}"
    );

    let mut past = weekly(connection, &[("VTI", "10")]);
    past.start_date = "2020-01-01".into();
    let e = assert_err!(app.create_plan(&client, past).await);
    assert!(e.for_field("start_date").is_some(), "{e:?}");

    assert!(app.list_plans(&client).await.is_empty());
}

#[tokio::test]
async fn plans_and_connections_are_private_to_their_owner() {
    let app = spawn_app().await;
    let (owner, connection) = app.user_with_demo("owner@example.com").await;
    let id = assert_ok!(
        app.create_plan(&owner, weekly(connection, &[("VTI", "10")]))
            .await
    );

    let (stranger, _) = app.user_with_demo("stranger@example.com").await;
    assert!(app.list_plans(&stranger).await.is_empty());
    let e = assert_err!(
        app.create_plan(&stranger, weekly(connection, &[("VTI", "10")]))
            .await
    );
    assert!(e.for_field("connection_id").is_some(), "{e:?}");
    for path in [PausePlan::PATH, StopPlan::PATH] {
        assert_matches!(
            app.status_change(&stranger, path, id).await,
            Err(AppError::NotFound)
        );
    }
    assert_eq!(app.list_plans(&owner).await[0].status, "active");
    let anonymous = browser_like_client(&app.address);
    assert_matches!(
        outcome(
            app.call_server_fn_as(&anonymous, ListPlans::PATH, &[])
                .await
        )
        .await,
        Err(AppError::Unauthenticated)
    );
}

#[tokio::test]
async fn pause_resume_and_stop_move_a_plan_through_its_life() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("life@example.com").await;
    let id = assert_ok!(
        app.create_plan(&client, weekly(connection, &[("VTI", "10")]))
            .await
    );

    assert_ok!(app.status_change(&client, PausePlan::PATH, id).await);
    let p = &app.list_plans(&client).await[0];
    assert_eq!(p.status, "paused");
    assert!(p.next_run.is_none(), "a paused plan has no next run");
    assert_matches!(
        app.status_change(&client, PausePlan::PATH, id).await,
        Err(AppError::Conflict(_))
    );
    assert_ok!(app.status_change(&client, ResumePlan::PATH, id).await);
    assert_ok!(app.status_change(&client, StopPlan::PATH, id).await);
    assert_eq!(app.list_plans(&client).await[0].status, "ended");
    assert_matches!(
        app.status_change(&client, ResumePlan::PATH, id).await,
        Err(AppError::Conflict(_))
    );

    let log = app.activity(&client).await.expect("activity");
    for action in ["plan.paused", "plan.resumed", "plan.ended"] {
        assert!(log.iter().any(|e| e.action == action), "{action}");
    }
}

#[tokio::test]
async fn disconnecting_the_broker_pauses_its_plans() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("unplug@example.com").await;
    let id = assert_ok!(
        app.create_plan(&client, weekly(connection, &[("VTI", "10")]))
            .await
    );
    assert_ok!(
        outcome(
            app.call_server_fn_as(
                &client,
                DisconnectBroker::PATH,
                &[("id", &connection.to_string())]
            )
            .await
        )
        .await
    );
    let p = &app.list_plans(&client).await[0];
    assert_eq!(
        (p.status.as_str(), p.connection_label.as_deref()),
        ("paused", None)
    );
    assert_matches!(
        app.status_change(&client, ResumePlan::PATH, id).await,
        Err(AppError::Conflict(_))
    );
}

#[tokio::test]
async fn the_free_tier_limits_are_enforced_on_the_server() {
    let app = spawn_app_configured(true, |s| s.default_tier = TierId::Free).await;
    let (client, connection) = app.user_with_demo("free@example.com").await;

    let mut daily = weekly(connection, &[("VTI", "10")]);
    daily.cadence = Cadence::Daily;
    let e = assert_err!(app.create_plan(&client, daily).await);
    assert!(
        e.for_field("schedule").unwrap_or_default().contains("Free"),
        "{e:?}"
    );

    let four = weekly(
        connection,
        &[("VTI", "1"), ("VOO", "1"), ("QQQ", "1"), ("SPY", "1")],
    );
    let e = assert_err!(app.create_plan(&client, four).await);
    assert!(e.for_field("symbols").is_some(), "{e:?}");

    assert_ok!(
        app.create_plan(&client, weekly(connection, &[("VTI", "10")]))
            .await
    );
    let e = assert_err!(
        app.create_plan(&client, weekly(connection, &[("VOO", "10")]))
            .await
    );
    assert!(
        e.general().unwrap_or_default().contains("1 active plan"),
        "{e:?}"
    );
}

#[tokio::test]
async fn symbol_search_finds_by_ticker_and_name_and_flags_whole_share_assets() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("search@example.com").await;
    let search = |q: &'static str| {
        let app = &app;
        let client = &client;
        async move {
            let body = outcome(
                app.call_server_fn_as(
                    client,
                    SearchAssets::PATH,
                    &[("connection_id", &connection.to_string()), ("query", q)],
                )
                .await,
            )
            .await
            .expect("search");
            serde_json::from_str::<Vec<AssetDto>>(&body).expect("JSON")
        }
    };
    let vti = search("vti").await;
    assert_eq!(vti[0].symbol, "VTI");
    let sp = search("s&p 500").await;
    assert!(sp.iter().any(|a| a.symbol == "VOO"), "{sp:?}");
    let brk = search("BRK").await;
    assert!(
        brk.iter().any(|a| a.symbol == "BRK.A" && !a.fractionable),
        "{brk:?}"
    );
    assert!(search("TWTR").await.is_empty(), "not tradable, not offered");

    let (stranger, _) = app.user_with_demo("nosy@example.com").await;
    let e = outcome(
        app.call_server_fn_as(
            &stranger,
            SearchAssets::PATH,
            &[("connection_id", &connection.to_string()), ("query", "VTI")],
        )
        .await,
    )
    .await;
    assert_matches!(e, Err(AppError::NotFound));
}

#[tokio::test]
async fn a_plan_holds_at_most_fifty_symbols_whatever_the_tier() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("many@example.com").await;
    let tickers: Vec<String> = (0..51).map(|i| format!("SYM{i}")).collect();
    let legs: Vec<(&str, &str)> = tickers.iter().map(|t| (t.as_str(), "5")).collect();
    match app.create_plan(&client, weekly(connection, &legs)).await {
        Err(AppError::Invalid(errors)) => assert!(
            errors
                .iter()
                .any(|e| e.field == "symbols" && e.message.contains("at most 50 symbols")),
            "{errors:?}"
        ),
        other => panic!("expected a field error, got {other:?}"),
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM plans").await, 0);
}
