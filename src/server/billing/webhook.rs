//! `POST /webhooks/stripe`: a plain axum route over the raw body (the
//! signature covers the exact bytes).
//!
//! Verify → read the ids the event names → fetch that subscription from
//! Stripe → store it together with the event id and the audit entry in one
//! transaction (a redelivery is a no-op) → review the user's entitlement.
//! The event's own copy of the subscription is never trusted for state: it
//! may be older than one already applied.
//!
//! Answers: 200 when applied, duplicated or not ours to handle; 400 when the
//! signature or body is bad (Stripe shows these as failing deliveries); 503
//! when Stripe could not be asked (Stripe retries with backoff, and nothing
//! was recorded, so the retry is applied in full).

use super::signature::{self, TOLERANCE};
use crate::server::db::billing::{Applied, EventRecord, FetchedSubscription};
use crate::server::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

pub const PATH: &str = "/webhooks/stripe";

/// The event types Dripfeed acts on.
pub const HANDLED: [&str; 8] = [
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.trial_will_end",
    "invoice.paid",
    "invoice.payment_failed",
    // Stripe sends this when a past-due invoice is finally paid through
    // another path; it moves the subscription like invoice.paid.
    "invoice.payment_succeeded",
];

#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    pub(super) id: String,
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) created: i64,
    pub(super) data: Data,
}

#[derive(Debug, Deserialize)]
pub(super) struct Data {
    pub(super) object: Value,
}

/// An id field that may be a plain id or an expanded object.
fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        _ => None,
    }
}

/// The subscription and customer an event is about, if any.
pub(super) fn subject(kind: &str, object: &Value) -> Option<(String, String)> {
    let customer = id_of(&object["customer"])?;
    let subscription = if kind.starts_with("customer.subscription.") {
        id_of(&object["id"])
    } else if kind.starts_with("invoice.") {
        // Since API version basil the link is under `parent`; before, top level.
        id_of(&object["parent"]["subscription_details"]["subscription"])
            .or_else(|| id_of(&object["subscription"]))
    } else if kind == "checkout.session.completed" {
        if object["mode"].as_str() != Some("subscription") {
            return None;
        }
        id_of(&object["subscription"])
    } else {
        None
    }?;
    Some((subscription, customer))
}

/// The largest delivery accepted (Stripe's events are a few kilobytes).
pub const MAX_BODY: usize = 256 * 1024;

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let answer = handle(&state, &headers, &body).await;
    // The type only when it is one Dripfeed handles: an unsigned body must
    // not mint new label values.
    let kind = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned))
        .filter(|k| HANDLED.contains(&k.as_str()))
        .unwrap_or_else(|| "other".to_owned());
    crate::server::metrics::webhook_event(&kind, answer.1);
    state.ops.webhook(Utc::now(), answer.1);
    answer
}

pub async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> (StatusCode, &'static str) {
    let Some(client) = state.billing.as_deref() else {
        return (StatusCode::NOT_FOUND, "billing is off on this instance");
    };
    let Some(header) = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return (StatusCode::BAD_REQUEST, "missing Stripe-Signature header");
    };
    let secrets: Vec<SecretString> = state
        .settings
        .webhook_secrets()
        .into_iter()
        .map(SecretString::from)
        .collect();
    if let Err(e) = signature::verify(header, body, &secrets, Utc::now(), TOLERANCE) {
        tracing::warn!(reason = %e, "stripe webhook refused");
        return (StatusCode::BAD_REQUEST, "signature verification failed");
    }
    let event: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "stripe webhook: not an event");
            return (StatusCode::BAD_REQUEST, "not a Stripe event");
        }
    };
    if !HANDLED.contains(&event.kind.as_str()) {
        return (StatusCode::OK, "ignored");
    }
    let Some((subscription_id, customer)) = subject(&event.kind, &event.data.object) else {
        tracing::info!(event = %event.id, kind = %event.kind, "stripe event without a subscription: ignored");
        return (StatusCode::OK, "ignored");
    };
    let user_id = match state.store.user_of_stripe_customer(&customer).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            // Another application's customer on the same Stripe account.
            tracing::info!(event = %event.id, "stripe event for a customer Dripfeed did not create: ignored");
            return (StatusCode::OK, "ignored");
        }
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, "stripe webhook: store unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again");
        }
    };
    if event.kind == "checkout.session.completed"
        && let Some(reference) = event.data.object["client_reference_id"].as_str()
        && reference != user_id.to_string()
    {
        tracing::error!(event = %event.id, "checkout session's client_reference_id does not match its customer's user: ignored");
        return (StatusCode::OK, "ignored");
    }
    let remote = match client.subscription(&subscription_id).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            tracing::warn!(event = %event.id, "stripe does not know the event's subscription: ignored");
            return (StatusCode::OK, "ignored");
        }
        Err(e) => {
            tracing::warn!(event = %event.id, error = %e, "stripe webhook: could not fetch the subscription; Stripe will retry");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again");
        }
    };
    if remote.customer_id != customer {
        tracing::error!(event = %event.id, "subscription belongs to another customer: ignored");
        return (StatusCode::OK, "ignored");
    }
    let tier = remote.price_id.as_deref().and_then(|price| {
        state
            .settings
            .tier_prices()
            .into_iter()
            .find(|(_, p)| p == price)
            .map(|(t, _)| t.as_str().to_owned())
    });
    if tier.is_none() {
        tracing::warn!(event = %event.id, "subscription's price is not one this instance sells: it grants nothing");
    }
    let fetched = FetchedSubscription { tier, ..remote };
    let created = DateTime::<Utc>::from_timestamp(event.created, 0).unwrap_or(fetched.fetched_at);
    let record = EventRecord {
        id: &event.id,
        kind: &event.kind,
        created,
    };
    match state
        .store
        .apply_stripe_event(&record, user_id, Some(&fetched))
        .await
    {
        Ok(Applied::Duplicate) => return (StatusCode::OK, "duplicate"),
        Ok(Applied::New) => {}
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, "stripe webhook: could not store the event");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again");
        }
    }
    // Stored: from here a failure is retried by the engine's review sweep
    // (the user is marked for review in the same transaction), not by Stripe.
    if let Err(e) = after_applied(state, user_id, &event.kind, &fetched).await {
        tracing::warn!(user_id, error = %e, "stripe webhook: review deferred to the sweep");
    }
    (StatusCode::OK, "applied")
}

async fn after_applied(
    state: &AppState,
    user_id: i64,
    kind: &str,
    sub: &FetchedSubscription,
) -> Result<(), crate::error::AppError> {
    super::review(state, user_id).await?;
    // Notices follow Stripe's current state, not the event: a failure that
    // arrives after its recovery says nothing.
    let zone = super::zone_of(state, user_id).await?;
    let grace_until = match super::entitlement_of(state, user_id).await?.source {
        crate::domain::entitlement::Source::Grace { until } => Some(until),
        _ => None,
    };
    let notice = match kind {
        "invoice.payment_failed" if sub.status == "past_due" => Some((
            "Payment failed",
            match grace_until {
                Some(until) => format!(
                    "Stripe could not collect your subscription payment. Update your payment method under Billing → Manage billing before {} to keep your plan; after that your account moves to Free.",
                    crate::domain::when::local(until, zone, chrono::Utc::now())
                ),
                None => "Stripe could not collect your subscription payment. Update your payment method under Billing → Manage billing to get your plan back.".to_owned(),
            },
        )),
        "customer.subscription.trial_will_end" if sub.status == "trialing" => Some((
            "Your trial ends soon",
            match sub.trial_end {
                Some(end) => format!(
                    "Your subscription's trial ends on {}; the first payment is collected then. Cancel before then under Billing → Manage billing if you do not want to continue.",
                    crate::domain::when::date(end, zone)
                ),
                None => "Your subscription's trial ends soon.".to_owned(),
            },
        )),
        _ => None,
    };
    if let Some((title, body)) = notice {
        state
            .store
            .insert_notification(user_id, "billing", title, &body, None)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_subject_is_found_in_each_handled_event_shape() {
        let sub = json!({ "id": "sub_1", "customer": "cus_1" });
        assert_eq!(
            subject("customer.subscription.updated", &sub),
            Some(("sub_1".into(), "cus_1".into()))
        );
        let invoice = json!({ "customer": "cus_1", "parent": { "subscription_details": { "subscription": "sub_1" } } });
        assert_eq!(
            subject("invoice.paid", &invoice),
            Some(("sub_1".into(), "cus_1".into()))
        );
        let old_invoice = json!({ "customer": "cus_1", "subscription": "sub_1", "parent": null });
        assert_eq!(
            subject("invoice.payment_failed", &old_invoice),
            Some(("sub_1".into(), "cus_1".into()))
        );
        let session = json!({ "mode": "subscription", "customer": { "id": "cus_1" }, "subscription": "sub_1" });
        assert_eq!(
            subject("checkout.session.completed", &session),
            Some(("sub_1".into(), "cus_1".into()))
        );
        let payment = json!({ "mode": "payment", "customer": "cus_1", "subscription": null });
        assert_eq!(subject("checkout.session.completed", &payment), None);
    }
}
