//! Every instant a user sees reads in their own time zone (a plan's runs in
//! the plan's zone), with UTC kept for machines and tooltips.

use crate::helpers::{outcome, spawn_app, weekly};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use dripfeed::api::auth::MyActivity;
use dripfeed::api::broker::{
    BrokerageOverview, BrokerageSummary, DashboardDto, PortfolioDashboards,
};
use dripfeed::api::security::{SaveSettings, SecurityOverview, SecurityStatus};
use dripfeed::dto::stamp::Stamp;
use leptos::server_fn::ServerFn;

/// `stamp` reads as its own instant does in `zone`: that hour and minute,
/// one of the zone's abbreviations, and no "UTC" outside the tooltip.
fn reads_in(stamp: &Stamp, zone: Tz, abbreviations: &[&str]) {
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(&stamp.utc)
        .unwrap_or_else(|e| panic!("{stamp:?}: {e}"))
        .with_timezone(&Utc);
    let here = at.with_timezone(&zone).format("%-H:%M").to_string();
    assert!(
        stamp.local.contains(&format!(", {here} ")),
        "{stamp:?} in {zone}"
    );
    assert!(
        abbreviations
            .iter()
            .any(|a| stamp.local.ends_with(&format!(" {a}"))),
        "{stamp:?} should end with one of {abbreviations:?}"
    );
    assert!(!stamp.local.contains("UTC"), "{stamp:?}");
    assert!(stamp.utc_label().ends_with(" UTC"), "{stamp:?}");
}

async fn json<T: serde::de::DeserializeOwned>(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> T {
    let body = outcome(app.call_server_fn_as(client, path, form).await)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e:?}"));
    serde_json::from_str(&body).expect("JSON")
}

#[tokio::test]
async fn every_instant_reads_in_the_users_zone_and_runs_in_their_plans_zone() {
    let app = spawn_app().await;
    let (client, connection) = app.user_with_demo("tokyo@example.com").await;
    // Tokyo keeps no summer time, so its abbreviation is the same on any date.
    let tokyo = chrono_tz::Asia::Tokyo;
    let _: () = json(
        &app,
        &client,
        SaveSettings::PATH,
        &[("time_zone", "Asia/Tokyo"), ("notification_email", "")],
    )
    .await;

    let activity: Vec<dripfeed::api::auth::ActivityEntry> =
        json(&app, &client, MyActivity::PATH, &[]).await;
    assert!(!activity.is_empty());
    for entry in &activity {
        reads_in(&entry.occurred_at, tokyo, &["JST"]);
        // Just now: the user signed up moments ago.
        assert!(entry.occurred_at.relative.is_some(), "{entry:?}");
    }

    let security: SecurityStatus = json(&app, &client, SecurityOverview::PATH, &[]).await;
    for s in &security.sessions {
        reads_in(&s.created_at, tokyo, &["JST"]);
        reads_in(&s.last_seen_at, tokyo, &["JST"]);
    }

    let overview: BrokerageSummary = json(&app, &client, BrokerageOverview::PATH, &[]).await;
    reads_in(&overview.connections[0].created_at, tokyo, &["JST"]);

    let boards: Vec<DashboardDto> = json(&app, &client, PortfolioDashboards::PATH, &[]).await;
    let board = &boards[0];
    reads_in(&board.fetched_at, tokyo, &["JST"]);
    let market = board
        .market
        .as_ref()
        .expect("the demo exchange has a clock");
    reads_in(&market.next_open, tokyo, &["JST"]);
    reads_in(&market.next_close, tokyo, &["JST"]);

    // A plan's runs read in the plan's own zone: that is where its schedule is.
    let mut input = weekly(connection, &[("VTI", "25")]);
    input.time_zone = "America/Chicago".into();
    app.create_plan(&client, input).await.expect("plan created");
    let plans = app.list_plans(&client).await;
    let next = plans[0].next_run.as_ref().expect("a next run");
    reads_in(&next.at, chrono_tz::America::Chicago, &["CST", "CDT"]);
    assert!(next.at.local.contains(", 10:00 "), "{next:?}");

    // The page shows the zone's time, and UTC only in the tooltip.
    let page = client
        .get(app.url("/dashboard"))
        .send()
        .await
        .expect("dashboard")
        .text()
        .await
        .expect("HTML");
    assert!(page.contains(" UTC\">"), "a UTC tooltip: {page}");
    assert!(page.contains(" JST</time>"), "{page}");
    assert!(!page.contains(" UTC<"), "UTC outside a tooltip: {page}");
}
