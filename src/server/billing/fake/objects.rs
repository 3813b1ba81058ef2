//! Stripe's objects (from its own OpenAPI fixtures, changing only what a flow
//! sets) and its error bodies.

use super::{Session, Sub};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub(super) const SUBSCRIPTION: &str =
    include_str!("../../../../tests/fixtures/stripe/openapi/subscription.json");
pub(super) const CHECKOUT_SESSION: &str =
    include_str!("../../../../tests/fixtures/stripe/openapi/checkout.session.json");
pub(super) const PORTAL_SESSION: &str =
    include_str!("../../../../tests/fixtures/stripe/openapi/billing_portal.session.json");
pub(super) const CUSTOMER: &str =
    include_str!("../../../../tests/fixtures/stripe/openapi/customer.json");
pub(super) const INVOICE: &str =
    include_str!("../../../../tests/fixtures/stripe/openapi/invoice.json");
pub(super) const EVENT: &str =
    include_str!("../../../../tests/fixtures/stripe/events/customer.subscription.created.json");

pub(super) fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| unreachable!("bundled Stripe fixture: {e}"))
}

/// Stripe's error body: `{"error": {type, code, message, param, doc_url}}`.
pub(super) fn stripe_error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> Response {
    let mut error = json!({ "type": kind, "message": message });
    if let Some(code) = code {
        error["code"] = json!(code);
        error["doc_url"] = json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            code.replace('_', "-")
        ));
    }
    if let Some(param) = param {
        error["param"] = json!(param);
    }
    (status, Json(json!({ "error": error }))).into_response()
}

pub(super) fn missing(param: &str) -> Response {
    stripe_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("parameter_missing"),
        &format!("Missing required param: {param}."),
        Some(param),
    )
}

pub(super) fn no_such(kind: &str, id: &str, param: &str) -> Response {
    stripe_error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
        Some(param),
    )
}

pub(super) fn session_object(base: &url::Url, s: &Session, status: &str) -> Value {
    let mut o = fixture(CHECKOUT_SESSION);
    o["id"] = json!(s.id);
    o["mode"] = json!("subscription");
    o["status"] = json!(status);
    o["customer"] = json!(s.customer);
    o["client_reference_id"] = json!(s.client_reference_id);
    o["success_url"] = json!(s.success_url);
    o["cancel_url"] = json!(s.cancel_url);
    o["created"] = json!(s.created);
    o["expires_at"] = json!(s.created + 24 * 3600);
    o["livemode"] = json!(false);
    o["payment_intent"] = Value::Null;
    if status == "complete" {
        o["payment_status"] = json!(if s.trial_days.is_some() {
            "no_payment_required"
        } else {
            "paid"
        });
        o["subscription"] = json!(s.subscription);
        o["url"] = Value::Null;
    } else {
        o["payment_status"] = json!("unpaid");
        o["subscription"] = Value::Null;
        o["url"] = json!(format!("{}checkout/{}", base, s.id));
    }
    o
}

pub(super) fn subscription_object(s: &Sub) -> Value {
    let mut o = fixture(SUBSCRIPTION);
    o["id"] = json!(s.id);
    o["customer"] = json!(s.customer);
    o["status"] = json!(s.status);
    o["created"] = json!(s.created);
    o["start_date"] = json!(s.created);
    o["billing_cycle_anchor"] = json!(s.created);
    o["cancel_at_period_end"] = json!(s.cancel_at_period_end);
    o["cancel_at"] = json!(s.cancel_at);
    o["canceled_at"] = json!(s.canceled_at);
    o["ended_at"] = json!(s.ended_at);
    o["trial_start"] = json!(s.trial_start);
    o["trial_end"] = json!(s.trial_end);
    o["latest_invoice"] = json!(s.latest_invoice);
    o["livemode"] = json!(false);
    o["items"]["url"] = json!(format!("/v1/subscription_items?subscription={}", s.id));
    if let Some(item) = o["items"]["data"].get_mut(0) {
        item["subscription"] = json!(s.id);
        item["current_period_start"] = json!(s.period_start);
        item["current_period_end"] = json!(s.period_end);
        item["price"]["id"] = json!(s.price);
        item["quantity"] = json!(1);
    }
    o
}

pub(super) fn invoice_object(s: &Sub, id: &str, paid: bool) -> Value {
    let mut o = fixture(INVOICE);
    o["id"] = json!(id);
    o["customer"] = json!(s.customer);
    o["billing_reason"] = json!("subscription_cycle");
    o["parent"] = json!({
        "type": "subscription_details",
        "subscription_details": { "subscription": s.id, "metadata": {} },
        "quote_details": null
    });
    o["status"] = json!(if paid { "paid" } else { "open" });
    o["attempted"] = json!(true);
    o["attempt_count"] = json!(1);
    o["period_start"] = json!(s.period_start);
    o["period_end"] = json!(s.period_end);
    o
}

pub(super) fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}
