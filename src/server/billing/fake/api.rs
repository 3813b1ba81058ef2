//! The Stripe API calls Dripfeed makes: create a customer, a Checkout
//! Session and a Billing Portal session, retrieve a subscription.

use super::objects::{
    CUSTOMER, PORTAL_SESSION, fixture, form_value, missing, no_such, session_object, stripe_error,
};
use super::{Session, StripeFake};
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

pub(super) async fn create_customer(
    State(fake): State<StripeFake>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = fake.refuse(&headers, "POST /v1/customers".into()) {
        return r;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(key) = &key
        && let Some(earlier) = fake.lock().idempotent.get(key).cloned()
    {
        return Json(earlier).into_response();
    }
    let id = fake.id("cus");
    let mut o = fixture(CUSTOMER);
    o["id"] = json!(id);
    o["email"] = json!(form_value(&form, "email"));
    o["created"] = json!(Utc::now().timestamp());
    o["livemode"] = json!(false);
    let metadata: serde_json::Map<String, Value> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|k| k.strip_suffix(']'))
                .map(|k| (k.to_owned(), json!(v)))
        })
        .collect();
    o["metadata"] = Value::Object(metadata);
    let mut inner = fake.lock();
    inner.customers.insert(id, o.clone());
    if let Some(key) = key {
        inner.idempotent.insert(key, o.clone());
    }
    Json(o).into_response()
}

pub(super) async fn create_session(
    State(fake): State<StripeFake>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = fake.refuse(&headers, "POST /v1/checkout/sessions".into()) {
        return r;
    }
    let Some(mode) = form_value(&form, "mode") else {
        return missing("mode");
    };
    if mode != "subscription" {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            "This fake only sells subscriptions (mode=subscription).",
            Some("mode"),
        );
    }
    let Some(success_url) = form_value(&form, "success_url") else {
        return missing("success_url");
    };
    let Some(price) = form_value(&form, "line_items[0][price]") else {
        return missing("line_items[0][price]");
    };
    if !fake.config.prices.iter().any(|p| p == price) {
        return no_such("price", price, "line_items[0][price]");
    }
    let customer = form_value(&form, "customer").map(str::to_owned);
    let Some(customer) = customer else {
        return missing("customer");
    };
    if !fake.lock().customers.contains_key(&customer) {
        return no_such("customer", &customer, "customer");
    }
    let trial_days = form_value(&form, "subscription_data[trial_period_days]")
        .and_then(|d| d.parse().ok())
        .or(fake.config.trial_days);
    let session = Session {
        id: fake.id("cs_test"),
        customer,
        price: price.to_owned(),
        client_reference_id: form_value(&form, "client_reference_id").map(str::to_owned),
        success_url: success_url.to_owned(),
        cancel_url: form_value(&form, "cancel_url")
            .unwrap_or(success_url)
            .to_owned(),
        trial_days,
        subscription: None,
        created: Utc::now().timestamp(),
    };
    let o = session_object(&fake.base, &session, "open");
    fake.lock().sessions.insert(session.id.clone(), session);
    Json(o).into_response()
}

pub(super) async fn retrieve_subscription(
    State(fake): State<StripeFake>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = fake.refuse(&headers, format!("GET /v1/subscriptions/{id}")) {
        return r;
    }
    match fake.subscription_json(&id) {
        Some(o) => Json(o).into_response(),
        None => no_such("subscription", &id, "id"),
    }
}

pub(super) async fn create_portal(
    State(fake): State<StripeFake>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = fake.refuse(&headers, "POST /v1/billing_portal/sessions".into()) {
        return r;
    }
    let Some(customer) = form_value(&form, "customer") else {
        return missing("customer");
    };
    if !fake.lock().customers.contains_key(customer) {
        return no_such("customer", customer, "customer");
    }
    let return_url = form_value(&form, "return_url")
        .unwrap_or_default()
        .to_owned();
    let id = fake.id("bps");
    let mut o = fixture(PORTAL_SESSION);
    o["id"] = json!(id);
    o["customer"] = json!(customer);
    o["created"] = json!(Utc::now().timestamp());
    o["livemode"] = json!(false);
    o["flow"] = Value::Null;
    o["return_url"] = json!(return_url);
    o["url"] = json!(format!("{}portal/{id}", fake.base));
    fake.lock()
        .portal_sessions
        .insert(id, (customer.to_owned(), return_url));
    Json(o).into_response()
}
