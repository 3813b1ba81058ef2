//! Billing end to end over real HTTP: the app talks to the Stripe fake
//! (`dripfeed::server::billing::fake`), which serves Stripe's fixture objects
//! and posts signed events back to `/webhooks/stripe`. Checked: the whole
//! subscription lifecycle, hostile and unlucky deliveries (forged, stale,
//! replayed, duplicated, reordered, Stripe down), downgrades pausing and
//! upgrades resuming plans, gated use cases, the admin override, and
//! self-hosted mode.

use crate::helpers::weekly;
use crate::helpers::{PASSWORD, outcome};
use crate::helpers::{TestApp, browser_like_client, spawn_app, spawn_app_configured};
use claims::{assert_err, assert_matches, assert_ok};
use dripfeed::api::billing::{
    AdminSetTier, BillingStatus, GetBilling, MyBilling, OpenBillingPortal, StartCheckout,
};
use dripfeed::api::plans::{PausePlan, ResumePlan};
use dripfeed::domain::schedule::Cadence;
use dripfeed::domain::tier::TierId;
use dripfeed::error::AppError;
use dripfeed::server::billing::fake::{Delivered, Delivery, FakeConfig, StripeFake};
use dripfeed::server::billing::signature;
use leptos::server_fn::ServerFn;
use secrecy::SecretString;

const KEY: &str = "sk_test_subscriptions";
const SECRET: &str = "whsec_current";
const OLD_SECRET: &str = "whsec_previous";

struct Billed {
    app: TestApp,
    fake: StripeFake,
}

async fn billed_app(trial_days: u32) -> Billed {
    let fake = StripeFake::start(
        FakeConfig {
            api_key: KEY.into(),
            webhook_url: None,
            webhook_secret: SECRET.into(),
            prices: vec![
                "price_basic".into(),
                "price_pro".into(),
                "price_premium".into(),
            ],
            trial_days: None,
        },
        "127.0.0.1:0".parse().expect("address"),
    )
    .await
    .expect("the Stripe fake");
    let stripe_url = fake.url().clone();
    let app = spawn_app_configured(true, move |s| {
        s.stripe_secret_key = Some(SecretString::from(KEY));
        s.stripe_api_url = stripe_url;
        s.stripe_webhook_secrets = Some(SecretString::from(format!("{SECRET},{OLD_SECRET}")));
        s.stripe_price_basic = Some("price_basic".into());
        s.stripe_price_pro = Some("price_pro".into());
        s.stripe_price_premium = Some("price_premium".into());
        s.trial_days = trial_days;
        s.past_due_grace_days = 7;
        // A real OAuth app for live accounts (its consent page is never reached).
        s.alpaca_oauth_client_id = Some("dripfeed-test".into());
        s.alpaca_oauth_client_secret = Some(SecretString::from("oauth-secret"));
    })
    .await;
    fake.set_webhook_url(app.url("/webhooks/stripe").parse().expect("URL"));
    Billed { app, fake }
}

async fn billing(app: &TestApp, client: &reqwest::Client) -> BillingStatus {
    let body = outcome(app.call_server_fn_as(client, GetBilling::PATH, &[]).await)
        .await
        .expect("billing status");
    serde_json::from_str(&body).expect("JSON")
}

async fn checkout(app: &TestApp, client: &reqwest::Client, tier: &str) -> Result<String, AppError> {
    outcome(
        app.call_server_fn_as(client, StartCheckout::PATH, &[("tier", tier)])
            .await,
    )
    .await
    .map(|body| serde_json::from_str(&body).expect("JSON"))
}

fn all_ok(delivered: &[Delivered]) {
    assert!(!delivered.is_empty(), "nothing was delivered");
    for d in delivered {
        assert_eq!(d.status, 200, "{d:?}");
    }
}

/// Subscribes through Checkout and the fake's payment; returns the subscription id.
async fn subscribe(
    b: &Billed,
    client: &reqwest::Client,
    tier: &str,
    delivery: &Delivery,
) -> String {
    let url = assert_ok!(checkout(&b.app, client, tier).await);
    assert!(url.starts_with(b.fake.url().as_str()), "{url}");
    let session = url.rsplit('/').next().expect("session id").to_owned();
    let (sub, delivered) = b
        .fake
        .complete_checkout(&session, delivery)
        .await
        .expect("checkout completes");
    if !delivery.hold && !delivery.stale {
        all_ok(&delivered);
    }
    sub
}

/// Posts `payload` to the webhook as Stripe would, signed now with
/// `secret` (or unsigned); returns the status and body.
async fn post_event(app: &TestApp, payload: &str, secret: Option<&str>) -> (u16, String) {
    let mut request = app.client.post(app.url("/webhooks/stripe"));
    if let Some(secret) = secret {
        let header =
            signature::sign_with(&[secret.into()], chrono::Utc::now().timestamp(), payload);
        request = request.header("stripe-signature", header);
    }
    let r = request
        .body(payload.to_owned())
        .send()
        .await
        .expect("posted");
    (r.status().as_u16(), r.text().await.expect("body"))
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    app.count(&format!(
        "SELECT id FROM users WHERE email_normalized = '{email}'"
    ))
    .await
}

async fn review_all(app: &TestApp) {
    assert_ok!(dripfeed::server::billing::review_due(&app.state).await);
}

#[tokio::test]
async fn the_whole_lifecycle_gives_the_right_tier_at_each_step() {
    let b = billed_app(0).await;
    let client = browser_like_client(&b.app.address);
    assert_ok!(b.app.sign_up(&client, "payer@example.com").await);
    let me = user_id(&b.app, "payer@example.com").await;

    let s = billing(&b.app, &client).await;
    assert!(s.billing_enabled);
    assert_eq!(s.tier, TierId::Free);
    assert!(!s.can_manage);
    // Visitors see prices without an error (the pricing page asks this).
    let visitor = browser_like_client(&b.app.address);
    let mine = outcome(
        b.app
            .call_server_fn_as(&visitor, MyBilling::PATH, &[])
            .await,
    )
    .await
    .expect("answered");
    assert_eq!(mine, "null");
    // The pricing page offers Subscribe buttons once billing is on.
    let page = client
        .get(b.app.url("/pricing"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(page.contains("subscribe-premium") && !page.contains("without billing"));
    assert!(!page.contains("trial-offer"), "no trial configured here");

    // Checkout alone grants nothing.
    let url = assert_ok!(checkout(&b.app, &client, "pro").await);
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Free);
    let session = url.rsplit('/').next().expect("id").to_owned();
    let (sub, delivered) = b
        .fake
        .complete_checkout(&session, &Delivery::default())
        .await
        .expect("paid");
    all_ok(&delivered);
    let s = billing(&b.app, &client).await;
    assert_eq!(s.tier, TierId::Pro);
    assert_eq!(s.subscription_status.as_deref(), Some("active"));
    assert!(s.renews_on.is_some() && s.cancels_on.is_none());
    assert!(s.applied && s.can_manage);

    all_ok(
        &b.fake
            .renew(&sub, &Delivery::default())
            .await
            .expect("renewed"),
    );
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Pro);

    // Payment fails: Pro is kept through the grace period, with a warning.
    all_ok(
        &b.fake
            .fail_payment(&sub, &Delivery::default())
            .await
            .expect("failed"),
    );
    let s = billing(&b.app, &client).await;
    assert_eq!(s.tier, TierId::Pro);
    assert_eq!(s.subscription_status.as_deref(), Some("past_due"));
    let warning = s.warning.expect("a grace warning");
    assert!(warning.contains("payment failed"), "{warning}");
    assert_eq!(
        b.app
            .count(&format!(
                "SELECT COUNT(*) FROM notifications WHERE user_id = {me} AND title = 'Payment failed'"
            ))
            .await,
        1
    );

    // The grace period runs out (its start moved 8 days back): Free.
    b.app
        .execute_sql_at(
            &format!("UPDATE subscriptions SET past_due_since = $1 WHERE id = '{sub}'"),
            chrono::Utc::now() - chrono::Duration::days(8),
        )
        .await;
    b.app
        .execute_sql_at(
            &format!("UPDATE users SET entitlement_review_at = $1 WHERE id = {me}"),
            chrono::Utc::now(),
        )
        .await;
    review_all(&b.app).await;
    let s = billing(&b.app, &client).await;
    assert_eq!(s.tier, TierId::Free);
    assert!(s.applied);

    // The retried payment succeeds: Pro again.
    all_ok(
        &b.fake
            .recover(&sub, &Delivery::default())
            .await
            .expect("recovered"),
    );
    let s = billing(&b.app, &client).await;
    assert_eq!(s.tier, TierId::Pro);
    assert!(s.warning.is_none());

    // Cancelled in the Portal: Pro until the period ends, then nothing.
    all_ok(
        &b.fake
            .cancel_at_period_end(&sub, &Delivery::default())
            .await
            .expect("cancelled"),
    );
    let s = billing(&b.app, &client).await;
    assert_eq!(s.tier, TierId::Pro);
    assert!(s.cancels_on.is_some() && s.renews_on.is_none());
    all_ok(
        &b.fake
            .cancel_now(&sub, &Delivery::default())
            .await
            .expect("ended"),
    );
    let s = billing(&b.app, &client).await;
    assert_eq!(s.tier, TierId::Free);
    assert!(s.ended);

    // Every change is in the audit log.
    let changes = b
        .app
        .text_column(&format!(
            "SELECT action FROM audit_log WHERE subject_user_id = {me} AND action LIKE 'billing.%' ORDER BY id"
        ))
        .await;
    assert!(
        changes.contains(&"billing.checkout_started".to_owned()),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .filter(|a| *a == "billing.subscription_changed")
            .count()
            >= 5,
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .filter(|a| *a == "billing.entitlement_changed")
            .count()
            >= 4,
        "{changes:?}"
    );
    let chain = b.app.store.verify_audit_chain().await.expect("chain");
    assert!(chain.is_intact(), "{chain:?}");
}

#[tokio::test]
async fn forged_stale_replayed_duplicated_and_reordered_events_never_give_a_wrong_tier() {
    let b = billed_app(0).await;
    let client = browser_like_client(&b.app.address);
    assert_ok!(b.app.sign_up(&client, "target@example.com").await);

    // Duplicated and reversed from the start: subscription.created and
    // invoice.paid before checkout.session.completed, each twice.
    let sub = subscribe(
        &b,
        &client,
        "premium",
        &Delivery {
            duplicate: true,
            reverse: true,
            ..Delivery::default()
        },
    )
    .await;
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Premium);
    let events = b.app.count("SELECT COUNT(*) FROM stripe_events").await;
    assert_eq!(events, 3, "each event id is applied once");

    // Forged: a cancellation signed with a secret we never configured.
    let cancelled = b
        .fake
        .cancel_now(
            &sub,
            &Delivery {
                secrets: Some(vec!["whsec_attacker".into()]),
                hold: false,
                ..Delivery::default()
            },
        )
        .await
        .expect("posted");
    assert!(cancelled.iter().all(|d| d.status == 400), "{cancelled:?}");
    // (Stripe itself now says canceled; the forged delivery changed nothing
    // here, and Stripe's retry below is what applies it.)
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Premium);

    // Stale: signed ten minutes ago.
    let stale = b
        .fake
        .deliver_held(&Delivery {
            stale: true,
            ..Delivery::default()
        })
        .await
        .expect("posted");
    assert!(stale.iter().all(|d| d.status == 400), "{stale:?}");
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Premium);

    // Stripe retries, signed during a secret roll (old and unknown secrets):
    // accepted, and the tier follows Stripe.
    let retried = b
        .fake
        .deliver_held(&Delivery {
            secrets: Some(vec!["whsec_unknown".into(), OLD_SECRET.into()]),
            ..Delivery::default()
        })
        .await
        .expect("posted");
    all_ok(&retried);
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Free);

    // Replayed: a genuine delivery posted again is a no-op.
    let before = b.app.count("SELECT COUNT(*) FROM audit_log").await;
    let payload = serde_json::json!({
        "id": retried[0].event_id,
        "object": "event",
        "type": "customer.subscription.deleted",
        "created": chrono::Utc::now().timestamp(),
        "data": { "object": b.fake.subscription_json(&sub).expect("sub") }
    })
    .to_string();
    assert_eq!(
        post_event(&b.app, &payload, Some(SECRET)).await,
        (200, "duplicate".to_owned())
    );
    assert_eq!(b.app.count("SELECT COUNT(*) FROM audit_log").await, before);
}

#[tokio::test]
async fn events_delivered_out_of_order_end_at_stripes_latest_state() {
    let b = billed_app(0).await;
    let client = browser_like_client(&b.app.address);
    assert_ok!(b.app.sign_up(&client, "order@example.com").await);
    let sub = subscribe(&b, &client, "basic", &Delivery::default()).await;

    // Payment fails, then is recovered; the app hears of it last-first.
    let hold = Delivery {
        hold: true,
        ..Delivery::default()
    };
    assert_ok!(b.fake.fail_payment(&sub, &hold).await);
    assert_ok!(b.fake.recover(&sub, &hold).await);
    let delivered = b
        .fake
        .deliver_held(&Delivery {
            reverse: true,
            ..Delivery::default()
        })
        .await
        .expect("posted");
    assert_eq!(delivered.len(), 4);
    assert_eq!(delivered[3].event_type, "invoice.payment_failed");
    all_ok(&delivered);
    let s = billing(&b.app, &client).await;
    assert_eq!(s.tier, TierId::Basic);
    assert_eq!(s.subscription_status.as_deref(), Some("active"));
    assert!(s.warning.is_none(), "a stale failure must not warn: {s:?}");
}

#[tokio::test]
async fn when_stripe_cannot_be_asked_nothing_is_recorded_and_the_retry_applies_it() {
    let b = billed_app(0).await;
    let client = browser_like_client(&b.app.address);
    assert_ok!(b.app.sign_up(&client, "outage@example.com").await);

    b.fake.fail_next(1);
    let e = assert_err!(checkout(&b.app, &client, "pro").await);
    assert_matches!(e, AppError::Unavailable(ref m) if m.contains("Nothing was charged"));

    let url = assert_ok!(checkout(&b.app, &client, "pro").await);
    let session = url.rsplit('/').next().expect("id").to_owned();
    // Stripe is down while the events arrive: 503, so Stripe keeps them.
    b.fake.fail_next(3);
    let (_, delivered) = b
        .fake
        .complete_checkout(&session, &Delivery::default())
        .await
        .expect("posted");
    assert!(delivered.iter().all(|d| d.status == 503), "{delivered:?}");
    assert_eq!(b.app.count("SELECT COUNT(*) FROM stripe_events").await, 0);
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Free);

    all_ok(
        &b.fake
            .deliver_held(&Delivery::default())
            .await
            .expect("retried"),
    );
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Pro);
}

#[tokio::test]
async fn checkout_reuses_the_customer_refuses_a_second_subscription_and_opens_the_portal() {
    let b = billed_app(0).await;
    let client = browser_like_client(&b.app.address);
    assert_ok!(b.app.sign_up(&client, "repeat@example.com").await);

    let e = assert_err!(
        outcome(
            b.app
                .call_server_fn_as(&client, OpenBillingPortal::PATH, &[])
                .await
        )
        .await
    );
    assert_matches!(e, AppError::Conflict(ref m) if m.contains("no subscription"));

    assert_ok!(checkout(&b.app, &client, "basic").await);
    subscribe(&b, &client, "pro", &Delivery::default()).await;
    let customers = b
        .fake
        .calls()
        .iter()
        .filter(|c| *c == "POST /v1/customers")
        .count();
    assert_eq!(customers, 1, "one Stripe customer per user");

    let e = assert_err!(checkout(&b.app, &client, "premium").await);
    assert_matches!(e, AppError::Conflict(ref m) if m.contains("already subscribe to Pro"));
    let e = assert_err!(checkout(&b.app, &client, "free").await);
    assert_matches!(e, AppError::Invalid(_));

    let portal: String = serde_json::from_str(
        &outcome(
            b.app
                .call_server_fn_as(&client, OpenBillingPortal::PATH, &[])
                .await,
        )
        .await
        .expect("portal"),
    )
    .expect("JSON");
    assert!(
        portal.starts_with(&format!("{}portal/", b.fake.url())),
        "{portal}"
    );
    // The Portal page lists the subscription and its cancel button.
    let page = reqwest::get(&portal)
        .await
        .expect("portal page")
        .text()
        .await
        .expect("body");
    assert!(
        page.contains("price_pro") && page.contains("Cancel subscription"),
        "{page}"
    );

    // Someone else cannot reach this user's billing.
    let stranger = browser_like_client(&b.app.address);
    let e = assert_err!(
        outcome(
            b.app
                .call_server_fn_as(&stranger, OpenBillingPortal::PATH, &[])
                .await
        )
        .await
    );
    assert_matches!(e, AppError::Unauthenticated);
}

#[tokio::test]
async fn a_downgrade_pauses_what_the_tier_disallows_and_an_upgrade_resumes_it() {
    let b = billed_app(0).await;
    let (client, connection) = b.app.user_with_demo("grower@example.com").await;
    let sub = subscribe(&b, &client, "pro", &Delivery::default()).await;

    let fits = assert_ok!(
        b.app
            .create_plan(&client, weekly(connection, &[("VTI", "10")]))
            .await
    );
    let mut daily = weekly(connection, &[("VOO", "10")]);
    daily.name = "Daily".into();
    daily.cadence = Cadence::Daily;
    let daily = assert_ok!(b.app.create_plan(&client, daily).await);
    let mut wide = weekly(
        connection,
        &[("VTI", "5"), ("VOO", "5"), ("QQQ", "5"), ("SPY", "5")],
    );
    wide.name = "Wide".into();
    let wide = assert_ok!(b.app.create_plan(&client, wide).await);
    let mut mine = weekly(connection, &[("SPY", "5")]);
    mine.name = "Mine".into();
    let mine = assert_ok!(b.app.create_plan(&client, mine).await);
    assert_ok!(
        outcome(
            b.app
                .call_server_fn_as(&client, PausePlan::PATH, &[("id", &mine.to_string())])
                .await
        )
        .await
    );

    all_ok(
        &b.fake
            .cancel_now(&sub, &Delivery::default())
            .await
            .expect("ended"),
    );
    let list = b.app.list_plans(&client).await;
    let status = |id: i64| {
        let p = list.iter().find(|p| p.id == id).expect("plan");
        (p.status.clone(), p.paused_by_tier)
    };
    assert_eq!(status(fits), ("active".into(), false));
    assert_eq!(status(daily), ("paused".into(), true));
    assert_eq!(status(wide), ("paused".into(), true));
    assert_eq!(status(mine), ("paused".into(), false));
    let note = b
        .app
        .text_column(
            "SELECT body FROM notifications WHERE kind = 'billing' ORDER BY id DESC LIMIT 1",
        )
        .await;
    assert!(note[0].contains("2 DCA plans were paused"), "{note:?}");
    assert!(note[0].contains("nothing is deleted"), "{note:?}");

    // Resuming by hand is refused while the tier does not allow it.
    let e = assert_err!(
        outcome(
            b.app
                .call_server_fn_as(&client, ResumePlan::PATH, &[("id", &daily.to_string())])
                .await
        )
        .await
    );
    assert_matches!(e, AppError::Locked(ref m) if m.contains("Daily schedules are not included in your Free plan"));

    // Upgrading resumes what the tier paused, not what the user paused.
    subscribe(&b, &client, "premium", &Delivery::default()).await;
    let list = b.app.list_plans(&client).await;
    let status = |id: i64| {
        list.iter()
            .find(|p| p.id == id)
            .expect("plan")
            .status
            .clone()
    };
    assert_eq!(status(daily), "active");
    assert_eq!(status(wide), "active");
    assert_eq!(status(mine), "paused");
    assert!(list.iter().all(|p| !p.paused_by_tier));
}

#[tokio::test]
async fn gated_use_cases_refuse_with_the_tier_that_would_allow_them() {
    let b = billed_app(0).await;
    let (client, connection) = b.app.user_with_demo("free@example.com").await;

    let mut daily = weekly(connection, &[("VTI", "10")]);
    daily.cadence = Cadence::Daily;
    let e = assert_err!(b.app.create_plan(&client, daily).await);
    let message = e.for_field("schedule").expect("a schedule message");
    assert_eq!(
        message,
        "Daily schedules are not included in your Free plan. It is included from Pro ($19/mo); upgrade on the Pricing page."
    );

    assert_ok!(
        b.app
            .create_plan(&client, weekly(connection, &[("VTI", "10")]))
            .await
    );
    let e = assert_err!(
        b.app
            .create_plan(&client, weekly(connection, &[("VOO", "10")]))
            .await
    );
    assert!(e.to_string().contains("Free plan allows 1"), "{e}");

    // The plans page says what the tier includes and where to compare.
    let page = client
        .get(b.app.url("/plans"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(page.contains("tier-limits"), "{page}");
    assert!(page.contains("Schedules: weekly"), "{page}");

    // Live trading needs a paid tier: the OAuth flow does not even start.
    let response = client
        .get(b.app.url("/oauth/alpaca/start"))
        .send()
        .await
        .expect("response");
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(location, "/brokerage?oauth_error=tier");
}

#[tokio::test]
async fn new_users_get_the_trial_and_lose_it_when_it_ends() {
    let b = billed_app(30).await;
    let (client, connection) = b.app.user_with_demo("trial@example.com").await;
    let me = user_id(&b.app, "trial@example.com").await;
    let s = billing(&b.app, &client).await;
    assert_eq!(s.tier, TierId::Pro);
    assert!(s.source.contains("Free trial until"), "{}", s.source);

    let mut daily = weekly(connection, &[("VTI", "10")]);
    daily.cadence = Cadence::Daily;
    let daily = assert_ok!(b.app.create_plan(&client, daily).await);

    // Three days before the end, the user is told once.
    let warnings = format!(
        "SELECT COUNT(*) FROM notifications WHERE user_id = {me} AND kind = 'trial_ending'"
    );
    review_all(&b.app).await;
    assert_eq!(b.app.count(&warnings).await, 0, "not yet");
    b.app
        .execute_sql_at(
            &format!(
                "UPDATE users SET created_at = $1, entitlement_review_at = $1 WHERE id = {me}"
            ),
            chrono::Utc::now() - chrono::Duration::days(28),
        )
        .await;
    review_all(&b.app).await;
    assert_eq!(b.app.count(&warnings).await, 1);
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Pro);
    b.app
        .execute_sql_at(
            &format!("UPDATE users SET entitlement_review_at = $1 WHERE id = {me}"),
            chrono::Utc::now(),
        )
        .await;
    review_all(&b.app).await;
    assert_eq!(b.app.count(&warnings).await, 1, "told once");

    b.app
        .execute_sql_at(
            &format!(
                "UPDATE users SET created_at = $1, entitlement_review_at = $1 WHERE id = {me}"
            ),
            chrono::Utc::now() - chrono::Duration::days(31),
        )
        .await;
    review_all(&b.app).await;
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Free);
    let list = b.app.list_plans(&client).await;
    assert_eq!(list[0].id, daily);
    assert!(list[0].paused_by_tier);
}

#[tokio::test]
async fn an_admin_override_wins_and_is_audited_and_users_cannot_set_it() {
    let b = billed_app(0).await;
    let cli = dripfeed::server::auth::ClientInfo::default();
    assert_ok!(
        dripfeed::server::admin::create_user(
            &b.app.store,
            &cli,
            None,
            "boss@example.com",
            PASSWORD.into(),
            true,
        )
        .await
    );
    let admin = browser_like_client(&b.app.address);
    assert_ok!(b.app.log_in(&admin, "boss@example.com", PASSWORD).await);
    let client = browser_like_client(&b.app.address);
    assert_ok!(b.app.sign_up(&client, "friend@example.com").await);
    let friend = user_id(&b.app, "friend@example.com").await.to_string();

    let e = assert_err!(
        outcome(
            b.app
                .call_server_fn_as(
                    &client,
                    AdminSetTier::PATH,
                    &[("user_id", &friend), ("tier", "premium")]
                )
                .await
        )
        .await
    );
    assert_matches!(e, AppError::Forbidden);
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Free);

    assert_ok!(
        outcome(
            b.app
                .call_server_fn_as(
                    &admin,
                    AdminSetTier::PATH,
                    &[("user_id", &friend), ("tier", "premium")]
                )
                .await
        )
        .await
    );
    let s = billing(&b.app, &client).await;
    assert_eq!(s.tier, TierId::Premium);
    assert!(s.source.contains("administrator"));
    assert_eq!(
        b.app
            .count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'billing.tier_override' AND subject_user_id = {friend}"
            ))
            .await,
        1
    );

    assert_ok!(
        outcome(
            b.app
                .call_server_fn_as(
                    &admin,
                    AdminSetTier::PATH,
                    &[("user_id", &friend), ("tier", "")]
                )
                .await
        )
        .await
    );
    assert_eq!(billing(&b.app, &client).await.tier, TierId::Free);
}

#[tokio::test]
async fn events_for_customers_dripfeed_did_not_create_and_old_api_payloads_are_ignored_safely() {
    let b = billed_app(0).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stripe");
    for name in [
        "events/checkout.session.completed.json",
        "events/customer.subscription.updated.past_due.json",
        "events/invoice.payment_failed.json",
    ] {
        let text = std::fs::read_to_string(format!("{dir}/{name}")).expect("fixture");
        let payload =
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&text).expect("JSON"))
                .expect("compact");
        assert_eq!(
            post_event(&b.app, &payload, Some(SECRET)).await,
            (200, "ignored".to_owned()),
            "{name}"
        );
    }
    // A captured payload from an older API version, wrapped in an envelope.
    let data: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/captured/invoice.payment_failed.data.json"))
            .expect("fixture"),
    )
    .expect("JSON");
    let payload = serde_json::json!({
        "id": "evt_captured", "object": "event", "type": "invoice.payment_failed",
        "created": chrono::Utc::now().timestamp(), "data": data
    })
    .to_string();
    assert_eq!(post_event(&b.app, &payload, Some(SECRET)).await.0, 200);
    // Unsigned and garbage bodies are refused.
    assert_eq!(post_event(&b.app, "{}", None).await.0, 400);
    assert_eq!(post_event(&b.app, "not json", Some(SECRET)).await.0, 400);
    assert_eq!(b.app.count("SELECT COUNT(*) FROM stripe_events").await, 0);
}

#[tokio::test]
async fn hostile_webhook_deliveries_are_refused_cheaply_and_others_still_served() {
    let b = billed_app(0).await;
    // A body far larger than any Stripe event: refused by size, unread.
    let huge = "x".repeat(300 * 1024);
    assert_eq!(post_event(&b.app, &huge, Some(SECRET)).await.0, 413);
    // A header with a thousand signatures: refused before any hashing.
    let now = chrono::Utc::now().timestamp();
    let many = format!("t={now}{}", format!(",v1={}", "ab".repeat(32)).repeat(1000));
    let r = b
        .app
        .client
        .post(b.app.url("/webhooks/stripe"))
        .header("stripe-signature", many)
        .body("{}")
        .send()
        .await
        .expect("posted");
    assert_eq!(r.status().as_u16(), 400);
    // A stale timestamp: refused before hashing (same answer as a forgery).
    let stale = signature::sign_with(&[SECRET.into()], now - 3600, "{}");
    let r = b
        .app
        .client
        .post(b.app.url("/webhooks/stripe"))
        .header("stripe-signature", stale)
        .body("{}")
        .send()
        .await
        .expect("posted");
    assert_eq!(r.status().as_u16(), 400);
    // The app still answers everyone else.
    assert_eq!(b.app.get("/healthz").await.status(), 200);
    assert_eq!(b.app.count("SELECT COUNT(*) FROM stripe_events").await, 0);
}

#[tokio::test]
async fn without_stripe_everyone_has_the_default_tier_and_billing_says_it_is_off() {
    let app = spawn_app().await;
    let client = browser_like_client(&app.address);
    assert_ok!(app.sign_up(&client, "selfhost@example.com").await);
    let s = billing(&app, &client).await;
    assert!(!s.billing_enabled);
    assert_eq!(s.tier, TierId::Premium);
    assert!(s.source.contains("Billing is off"), "{}", s.source);
    let e = assert_err!(checkout(&app, &client, "pro").await);
    assert_matches!(e, AppError::Conflict(ref m) if m.contains("Billing is off"));
    let r = app
        .client
        .post(app.url("/webhooks/stripe"))
        .header("stripe-signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .expect("posted");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_retried_customer_creation_returns_the_same_stripe_customer() {
    let b = billed_app(0).await;
    let client =
        dripfeed::server::billing::client::StripeClient::from_settings(&b.app.state.settings)
            .expect("client")
            .expect("billing is on");
    let first = assert_ok!(client.create_customer("same@example.com", 7).await);
    let again = assert_ok!(client.create_customer("same@example.com", 7).await);
    let other = assert_ok!(client.create_customer("same@example.com", 8).await);
    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[tokio::test]
async fn stripe_errors_from_the_fake_parse_as_stripe_errors() {
    use dripfeed::server::billing::client::{StripeClient, StripeError};
    let b = billed_app(0).await;
    let client = StripeClient::from_settings(&b.app.state.settings)
        .expect("client")
        .expect("billing is on");
    // Unknown subscription: Stripe's 404 resource_missing.
    assert_eq!(assert_ok!(client.subscription("sub_nope").await), None);
    // Unknown price: 404 with Stripe's message, passed on as a refusal.
    let customer = assert_ok!(client.create_customer("err@example.com", 9).await);
    let e = assert_err!(
        client
            .create_checkout(&dripfeed::server::billing::client::CheckoutRequest {
                customer: &customer,
                user_id: 9,
                price: "price_gold",
                success_url: "http://127.0.0.1/ok",
                cancel_url: "http://127.0.0.1/no",
            })
            .await
    );
    assert_matches!(e, StripeError::Refused { status: 404, ref message } if message == "No such price: 'price_gold'");
    // A wrong key: 401 and the message Stripe gives, which never echoes the key.
    let mut settings = (*b.app.state.settings).clone();
    settings.stripe_secret_key = Some(SecretString::from("sk_test_wrong_key_1234"));
    let wrong = StripeClient::from_settings(&settings)
        .expect("client")
        .expect("billing is on");
    let e = assert_err!(wrong.create_customer("err@example.com", 9).await);
    assert_matches!(e, StripeError::Refused { status: 401, ref message } if message.contains("Invalid API Key") && !message.contains("wrong_key"));
}

#[tokio::test]
async fn changed_billing_settings_mark_every_user_for_a_review_once() {
    let b = billed_app(0).await;
    let client = browser_like_client(&b.app.address);
    assert_ok!(b.app.sign_up(&client, "early@example.com").await);
    b.app
        .execute_sql("UPDATE users SET entitlement_review_at = NULL")
        .await;
    let due = "SELECT COUNT(*) FROM users WHERE entitlement_review_at IS NOT NULL";

    // The first engine start records the settings and reviews everyone.
    assert_ok!(dripfeed::server::billing::note_settings(&b.app.state).await);
    assert_eq!(b.app.count(due).await, 1);
    review_all(&b.app).await;
    assert_eq!(b.app.count(due).await, 0, "Free needs no later review");

    // Unchanged settings: nothing to do.
    assert_ok!(dripfeed::server::billing::note_settings(&b.app.state).await);
    assert_eq!(b.app.count(due).await, 0);

    // Another trial length changes what users are entitled to.
    let mut settings = (*b.app.state.settings).clone();
    settings.trial_days = 14;
    let digest = dripfeed::server::billing::settings_digest(&settings);
    assert!(assert_ok!(b.app.store.note_billing_settings(&digest).await));
    assert_eq!(b.app.count(due).await, 1);
}
