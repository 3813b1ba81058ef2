//! Billing with Stripe: subscribing (Checkout), managing (Billing Portal),
//! webhooks, and the one entitlement check every gated use case calls.
//!
//! Stripe is the source of truth. A webhook only says *that* something
//! changed: the handler fetches the subscription from Stripe and stores that
//! state, so duplicated, reordered or stale deliveries cannot leave a wrong
//! tier behind. The tier a user is entitled to is decided by
//! `domain::entitlement::decide`; applying it (pausing plans the tier no
//! longer allows, resuming them when it does) happens in `review`, in one
//! audited transaction, after every change and whenever a grace period or
//! trial runs out (`review_due`, called by the engine worker).

pub mod client;
pub mod fake;
#[cfg(test)]
mod fuzz;
pub mod signature;
pub mod webhook;

use crate::domain::entitlement::{
    self, Entitlement, Facts, Feature, Source, SubscriptionFacts, SubscriptionStatus,
};
use crate::domain::tier::{Tier, TierId};
use crate::dto::billing::{BillingStatus, TierChoice};
use crate::error::AppError;
use crate::server::auth::{ClientInfo, CurrentUser, audit};
use crate::server::config::Settings;
use crate::server::db::billing::{BillingUserRow, PlanMoves, Review, TierPlanRow};
use crate::server::db::rows::SubscriptionRow;
use crate::server::state::AppState;
use chrono::{DateTime, Utc};
use client::StripeError;
use serde_json::json;

/// Decides the entitlement from stored facts.
pub fn decide_for(
    s: &Settings,
    user: &BillingUserRow,
    subs: &[SubscriptionRow],
    now: DateTime<Utc>,
) -> Entitlement {
    let facts: Vec<SubscriptionFacts> = subs
        .iter()
        .map(|r| SubscriptionFacts {
            status: SubscriptionStatus::parse(&r.status),
            tier: r.tier.as_deref().and_then(|t| t.parse().ok()),
            past_due_since: r.past_due_since,
        })
        .collect();
    entitlement::decide(
        &Facts {
            billing_enabled: s.billing_enabled(),
            default_tier: s.default_tier,
            override_tier: user.tier_override.as_deref().and_then(|t| t.parse().ok()),
            subscriptions: &facts,
            signed_up_at: user.created_at,
            trial_days: s.trial_days,
            grace_days: s.past_due_grace_days,
        },
        now,
    )
}

/// The user's entitlement now.
#[tracing::instrument(skip_all, fields(user_id = user_id))]
pub async fn entitlement_of(state: &AppState, user_id: i64) -> Result<Entitlement, AppError> {
    let Some(user) = state.store.billing_user(user_id).await? else {
        return Err(AppError::Unauthenticated);
    };
    let subs = if state.settings.billing_enabled() {
        state.store.subscriptions_of(user_id).await?
    } else {
        Vec::new()
    };
    Ok(decide_for(&state.settings, &user, &subs, Utc::now()))
}

/// The limits of the user's tier: what plans (and later features) check.
#[tracing::instrument(skip_all, fields(user_id = user_id))]
pub async fn tier_of(state: &AppState, user_id: i64) -> Result<Tier, AppError> {
    let e = entitlement_of(state, user_id).await?;
    Ok(state.settings.tiers.get(e.tier).clone())
}

/// The one entitlement check: `Ok(tier)` if the user's tier includes
/// `feature`, else `AppError::Locked` naming the tier that does.
#[tracing::instrument(skip_all, fields(user_id = user_id))]
pub async fn require(state: &AppState, user_id: i64, feature: Feature) -> Result<Tier, AppError> {
    let tier = tier_of(state, user_id).await?;
    entitlement::check(feature, &tier, state.settings.tiers.tiers()).map_err(AppError::Locked)?;
    Ok(tier)
}

/// Which of a user's open plans a tier keeps running: in creation order,
/// those the tier allows (symbols, cadence, live trading) up to its plan
/// limit. Active plans outside that are paused (marked as paused by the
/// tier); plans the tier paused earlier and now fit are resumed. Plans the
/// user paused stay paused.
pub fn plan_moves(tier: &Tier, plans: &[TierPlanRow]) -> PlanMoves {
    let allowed = |p: &TierPlanRow| {
        let cadence_ok = serde_json::from_str::<crate::domain::schedule::Cadence>(&p.cadence)
            .map(|c| tier.cadences.contains(&c.kind()))
            .unwrap_or(false);
        cadence_ok
            && tier
                .max_symbols_per_plan
                .is_none_or(|max| p.legs <= i64::from(max))
            && (tier.live_trading || p.environment.as_deref() != Some("live"))
    };
    let room = |running: u32| tier.max_plans.is_none_or(|max| running < max);
    let mut moves = PlanMoves::default();
    let mut running = 0_u32;
    // Running plans keep their place first (oldest first), so a review never
    // swaps a plan the user runs for one the tier paused.
    for p in plans.iter().filter(|p| p.status == "active") {
        if allowed(p) && room(running) {
            running += 1;
        } else {
            moves.pause.push(p.id);
        }
    }
    // Then plans the tier paused earlier, while there is room. One whose
    // brokerage connection was removed stays paused.
    for p in plans
        .iter()
        .filter(|p| p.status == "paused" && p.paused_by_tier && p.environment.is_some())
    {
        if allowed(p) && room(running) {
            running += 1;
            moves.resume.push(p.id);
        }
    }
    moves
}

fn why(e: &Entitlement) -> serde_json::Value {
    serde_json::to_value(&e.source).unwrap_or_default()
}

/// Applies the user's current entitlement to their plans, audits a change,
/// and tells the user what moved.
#[tracing::instrument(skip_all, fields(user_id = user_id))]
pub async fn review(state: &AppState, user_id: i64) -> Result<Option<Review>, AppError> {
    let settings = state.settings.clone();
    let tiers = settings.tiers.clone();
    let now = Utc::now();
    let review = state
        .store
        .review_entitlement(
            user_id,
            crate::server::engine::engine_now(state),
            |user, subs| {
                let e = decide_for(&settings, user, subs, now);
                // A trial is looked at again when its warning is due, then at its end.
                let review_at = match e.source {
                    Source::Trial { until } if now < until - TRIAL_WARNING => {
                        Some(until - TRIAL_WARNING)
                    }
                    _ => e.review_at,
                };
                (e.tier.as_str().to_owned(), review_at, why(&e))
            },
            |tier, plans| {
                let id: TierId = tier.parse().unwrap_or(TierId::Free);
                plan_moves(tiers.get(id), plans)
            },
        )
        .await?;
    if let Some(r) = &review {
        notify_review(state, user_id, r).await?;
        warn_trial_ending(state, user_id, now).await?;
    }
    Ok(review)
}

/// The time zone of user `user_id`, for what billing tells them.
async fn zone_of(state: &AppState, user_id: i64) -> Result<chrono_tz::Tz, AppError> {
    let Some(row) = state.store.user_by_id(user_id).await? else {
        return Err(AppError::NotFound);
    };
    Ok(CurrentUser::from(&row).zone()?)
}

/// How long before a trial ends its user is told.
const TRIAL_WARNING: chrono::Duration = chrono::Duration::days(3);

/// Tells the user, once, that their free trial ends soon and what happens then.
async fn warn_trial_ending(
    state: &AppState,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if !state.settings.billing_enabled() || state.settings.trial_days == 0 {
        return Ok(());
    }
    let e = entitlement_of(state, user_id).await?;
    let Source::Trial { until } = e.source else {
        return Ok(());
    };
    if until - now > TRIAL_WARNING
        || state
            .store
            .has_notification(user_id, "trial_ending")
            .await?
    {
        return Ok(());
    }
    let tier = &state.settings.tiers.get(e.tier).name;
    let zone = zone_of(state, user_id).await?;
    let body = format!(
        "Your free {tier} trial ends on {}. Afterwards your account moves to Free and plans beyond it are paused (nothing is deleted). Subscribe on the Pricing page to keep them running.",
        crate::domain::when::local(until, zone, now)
    );
    state
        .store
        .insert_notification(user_id, "trial_ending", "Your trial ends soon", &body, None)
        .await?;
    Ok(())
}

async fn notify_review(state: &AppState, user_id: i64, r: &Review) -> Result<(), AppError> {
    let tier_name = |id: &str| {
        id.parse::<TierId>()
            .map(|t| state.settings.tiers.get(t).name.clone())
            .unwrap_or_else(|_| id.to_owned())
    };
    let changed = r.from.as_deref().is_some_and(|from| from != r.to);
    if !changed && r.moves.pause.is_empty() && r.moves.resume.is_empty() {
        return Ok(());
    }
    let mut body = String::new();
    if changed {
        body.push_str(&format!(
            "Your plan is now {} (was {}).",
            tier_name(&r.to),
            tier_name(r.from.as_deref().unwrap_or_default())
        ));
    }
    if !r.moves.pause.is_empty() {
        body.push_str(&format!(
            " {} DCA plan{} paused because {} does not include {}: nothing is deleted, and {} when you upgrade.",
            r.moves.pause.len(),
            if r.moves.pause.len() == 1 { " was" } else { "s were" },
            tier_name(&r.to),
            if r.moves.pause.len() == 1 { "it" } else { "them" },
            if r.moves.pause.len() == 1 { "it resumes" } else { "they resume" },
        ));
    }
    if !r.moves.resume.is_empty() {
        body.push_str(&format!(
            " {} DCA plan{} paused by your earlier plan resumed.",
            r.moves.resume.len(),
            if r.moves.resume.len() == 1 { "" } else { "s" },
        ));
    }
    state
        .store
        .insert_notification(
            user_id,
            "billing",
            "Subscription changed",
            body.trim(),
            None,
        )
        .await?;
    Ok(())
}

/// A digest of every setting entitlements depend on.
pub fn settings_digest(s: &Settings) -> String {
    use sha2::{Digest, Sha256};
    let facts = json!({
        "billing": s.billing_enabled(),
        "default_tier": s.default_tier,
        "trial_days": s.trial_days,
        "grace_days": s.past_due_grace_days,
        "tiers": s.tiers,
        "prices": s.tier_prices().iter().map(|(t, p)| (t.as_str(), p.clone())).collect::<Vec<_>>(),
    });
    hex::encode(Sha256::digest(facts.to_string().as_bytes()))
}

/// Called when an engine starts: if the billing settings changed since the
/// last start (or this is the first), every user is reviewed on the next pass.
pub async fn note_settings(state: &AppState) -> anyhow::Result<()> {
    if state
        .store
        .note_billing_settings(&settings_digest(&state.settings))
        .await?
    {
        tracing::info!(
            "billing settings changed: every user's tier is re-applied on the next pass"
        );
    }
    Ok(())
}

/// Reviews every user whose grace period or trial has run out, or whose
/// change is not yet applied (e.g. after a crash between a webhook and its
/// review). Called by the engine worker.
pub async fn review_due(state: &AppState) -> anyhow::Result<usize> {
    let due = state.store.entitlements_due(Utc::now(), 200).await?;
    for user_id in &due {
        if let Err(e) = review(state, *user_id).await {
            tracing::warn!(user_id, error = %e, "entitlement review failed");
        }
    }
    Ok(due.len())
}

/// What a user's billing looks like, for the Billing page.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn status(state: &AppState, user: &CurrentUser) -> Result<BillingStatus, AppError> {
    let settings = &state.settings;
    let Some(row) = state.store.billing_user(user.id).await? else {
        return Err(AppError::Unauthenticated);
    };
    let subs = if settings.billing_enabled() {
        state.store.subscriptions_of(user.id).await?
    } else {
        Vec::new()
    };
    let e = decide_for(settings, &row, &subs, Utc::now());
    let tier = settings.tiers.get(e.tier);
    // The subscription that matters most: one that grants something, else the latest.
    let granting: Vec<&SubscriptionRow> = subs
        .iter()
        .filter(|s| SubscriptionStatus::is_current(&s.status))
        .collect();
    let sub = granting.first().copied().or(subs.first());
    let zone = user.zone()?;
    let day = |d: DateTime<Utc>| crate::domain::when::date(d, zone);
    let (source, mut warning) = match &e.source {
        Source::SelfHosted => (
            "Billing is off on this instance: everyone has this plan.".to_owned(),
            None,
        ),
        Source::Override => ("Set by an administrator.".to_owned(), None),
        Source::Subscription => ("Your subscription.".to_owned(), None),
        Source::Grace { until } => (
            "Your subscription.".to_owned(),
            Some(format!(
                "Your last payment failed. Update your payment method in Manage billing before {} to keep {}; after that your account moves to Free and plans beyond it are paused.",
                day(*until),
                tier.name
            )),
        ),
        Source::Trial { until } => (format!("Free trial until {}.", day(*until)), None),
        Source::Free => ("No paid subscription.".to_owned(), None),
    };
    if granting.len() > 1 && warning.is_none() {
        warning = Some(format!(
            "You have {} subscriptions at once (for example from two checkouts). Cancel the one you do not want in Manage billing.",
            granting.len()
        ));
    }
    let customer = if settings.billing_enabled() {
        state.store.stripe_customer_of(user.id).await?
    } else {
        None
    };
    Ok(BillingStatus {
        billing_enabled: settings.billing_enabled(),
        tier: e.tier,
        tier_name: tier.name.clone(),
        limits: tier.features(),
        source,
        warning,
        subscription_status: sub.map(|s| s.status.clone()),
        subscribed_tier: sub.and_then(|s| s.tier.as_deref()?.parse().ok()),
        subscribed_tier_name: sub
            .and_then(|s| s.tier.as_deref()?.parse::<TierId>().ok())
            .map(|t| settings.tiers.get(t).name.clone()),
        renews_on: sub
            .filter(|s| {
                !s.cancel_at_period_end && matches!(s.status.as_str(), "active" | "trialing")
            })
            .and_then(|s| s.current_period_end)
            .map(day),
        cancels_on: sub
            .filter(|s| s.status != "canceled")
            .and_then(|s| {
                s.cancel_at
                    .or(s.cancel_at_period_end.then_some(s.current_period_end?))
            })
            .map(day),
        ended: sub.is_some_and(|s| s.status == "canceled"),
        can_manage: customer.is_some(),
        applied: row.applied_tier.as_deref() == Some(e.tier.as_str()),
        choices: choices(settings, e.tier),
    })
}

fn choices(settings: &Settings, current: TierId) -> Vec<TierChoice> {
    let prices = settings.tier_prices();
    TierId::ALL
        .into_iter()
        .map(|id| TierChoice {
            tier: id,
            purchasable: prices.iter().any(|(t, _)| *t == id),
            current: id == current,
        })
        .collect()
}

fn stripe(state: &AppState) -> Result<&client::StripeClient, AppError> {
    state.billing.as_deref().ok_or_else(|| {
        AppError::Conflict(
            "Billing is off on this instance; every account has the same plan.".into(),
        )
    })
}

fn stripe_failed(e: StripeError) -> AppError {
    match e {
        StripeError::Unavailable(why) => {
            tracing::warn!(error = %why, "stripe unavailable");
            AppError::Unavailable(
                "The payment provider could not be reached. Nothing was charged; please try again in a minute."
                    .into(),
            )
        }
        StripeError::Refused { status, message } => {
            tracing::error!(status, message = %message, "stripe refused a request");
            AppError::Unavailable(
                "The payment provider refused the request. Nothing was charged; please try again later or contact the administrator."
                    .into(),
            )
        }
    }
}

async fn customer_for(state: &AppState, user: &CurrentUser) -> Result<String, AppError> {
    if let Some(c) = state.store.stripe_customer_of(user.id).await? {
        return Ok(c);
    }
    let created = stripe(state)?
        .create_customer(&user.email, user.id)
        .await
        .map_err(stripe_failed)?;
    Ok(state
        .store
        .insert_stripe_customer(user.id, &created)
        .await?)
}

/// Starts a Checkout Session for `tier` and returns its URL. Grants nothing:
/// the tier changes when Stripe's webhook says the subscription exists.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn start_checkout(
    state: &AppState,
    user: &CurrentUser,
    client_info: &ClientInfo,
    tier: TierId,
) -> Result<String, AppError> {
    let client = stripe(state)?;
    let Some((_, price)) = state
        .settings
        .tier_prices()
        .into_iter()
        .find(|(t, _)| *t == tier)
    else {
        return Err(AppError::invalid(
            "tier",
            "Choose Basic, Pro or Premium; Free needs no subscription.",
        ));
    };
    let subs = state.store.subscriptions_of(user.id).await?;
    if let Some(s) = subs
        .iter()
        .find(|s| SubscriptionStatus::is_current(&s.status))
    {
        let name = s
            .tier
            .as_deref()
            .and_then(|t| t.parse::<TierId>().ok())
            .map(|t| state.settings.tiers.get(t).name.clone())
            .unwrap_or_else(|| "a plan".into());
        return Err(AppError::Conflict(format!(
            "You already subscribe to {name}. Change or cancel it under Billing → Manage billing."
        )));
    }
    let customer = customer_for(state, user).await?;
    let base = state.public_url.as_str().trim_end_matches('/');
    let url = client
        .create_checkout(&client::CheckoutRequest {
            customer: &customer,
            user_id: user.id,
            price: &price,
            success_url: &format!("{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}"),
            cancel_url: &format!("{base}/pricing?checkout=cancelled"),
        })
        .await
        .map_err(stripe_failed)?;
    audit(
        &state.store,
        client_info,
        Some(user.id),
        Some(user.id),
        "billing.checkout_started",
        json!({ "tier": tier, "customer": customer }),
    )
    .await?;
    Ok(url)
}

/// Opens a Billing Portal session for the user's Stripe customer.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn portal(state: &AppState, user: &CurrentUser) -> Result<String, AppError> {
    let client = stripe(state)?;
    let Some(customer) = state.store.stripe_customer_of(user.id).await? else {
        return Err(AppError::Conflict(
            "You have no subscription to manage yet; choose a plan on the Pricing page.".into(),
        ));
    };
    let base = state.public_url.as_str().trim_end_matches('/');
    client
        .create_portal(&customer, &format!("{base}/billing"))
        .await
        .map_err(stripe_failed)
}

/// An administrator sets (or clears) a user's tier; applied at once.
#[tracing::instrument(skip_all, fields(user_id = admin.id, subject_id = user_id))]
pub async fn set_override(
    state: &AppState,
    admin: &CurrentUser,
    client_info: &ClientInfo,
    user_id: i64,
    tier: Option<TierId>,
) -> Result<(), AppError> {
    if !admin.is_admin {
        return Err(AppError::Forbidden);
    }
    let entry = crate::server::db::audit::NewAuditEntry {
        actor_user_id: Some(admin.id),
        subject_user_id: Some(user_id),
        action: "billing.tier_override".into(),
        detail: json!({ "tier": tier }),
        ip: client_info.ip.clone(),
    };
    if !state
        .store
        .set_tier_override(user_id, tier.map(TierId::as_str), entry)
        .await?
    {
        return Err(AppError::NotFound);
    }
    review(state, user_id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tier::TierTable;

    const DAILY: &str = r#"{"kind":"daily"}"#;
    const WEEKLY: &str = r#"{"kind":"weekly","weekday":"Mon"}"#;

    fn plan(
        id: i64,
        status: &str,
        by_tier: bool,
        cadence: &str,
        legs: i64,
        env: &str,
    ) -> TierPlanRow {
        TierPlanRow {
            id,
            status: status.into(),
            paused_by_tier: by_tier,
            cadence: cadence.into(),
            legs,
            environment: Some(env.into()),
        }
    }

    #[test]
    fn a_downgrade_keeps_the_oldest_plans_that_fit_and_pauses_the_rest() {
        let table = TierTable::default();
        let plans = [
            plan(1, "active", false, DAILY, 1, "paper"),
            plan(2, "active", false, WEEKLY, 5, "paper"),
            plan(3, "active", false, WEEKLY, 2, "live"),
            plan(4, "active", false, WEEKLY, 2, "paper"),
            plan(5, "active", false, WEEKLY, 1, "paper"),
            plan(6, "paused", false, WEEKLY, 1, "paper"),
        ];
        let m = plan_moves(table.get(TierId::Free), &plans);
        assert_eq!(m.pause, [1, 2, 3, 5]);
        assert!(m.resume.is_empty());
    }

    #[test]
    fn an_upgrade_resumes_what_the_tier_paused_but_not_what_the_user_paused() {
        let table = TierTable::default();
        let plans = [
            plan(1, "paused", true, DAILY, 1, "paper"),
            plan(2, "paused", false, WEEKLY, 1, "paper"),
            plan(3, "paused", true, WEEKLY, 2, "live"),
            plan(4, "active", false, WEEKLY, 1, "paper"),
        ];
        let m = plan_moves(table.get(TierId::Premium), &plans);
        assert_eq!(m.resume, [1, 3]);
        assert!(m.pause.is_empty());
    }

    #[test]
    fn a_review_never_swaps_a_running_plan_for_an_older_paused_one() {
        let table = TierTable::default();
        // On Basic (3 plans): three running plans keep running; the older
        // plans the tier paused wait for room.
        let plans = [
            plan(1, "paused", true, WEEKLY, 1, "paper"),
            plan(2, "paused", true, WEEKLY, 1, "paper"),
            plan(5, "active", false, WEEKLY, 1, "paper"),
            plan(6, "active", false, WEEKLY, 1, "paper"),
        ];
        let m = plan_moves(table.get(TierId::Basic), &plans);
        assert!(m.pause.is_empty());
        assert_eq!(m.resume, [1]);
    }

    #[test]
    fn a_plan_whose_connection_was_removed_is_not_resumed() {
        let table = TierTable::default();
        let mut orphan = plan(1, "paused", true, WEEKLY, 1, "paper");
        orphan.environment = None;
        let m = plan_moves(table.get(TierId::Premium), &[orphan]);
        assert!(m.resume.is_empty());
    }
}
