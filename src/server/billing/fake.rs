//! A small, faithful Stripe for tests, end-to-end runs and offline demos
//! (`dripfeed stripe-fake`). It serves the calls Dripfeed makes (create
//! customer, create Checkout Session, retrieve subscription, create Billing
//! Portal session) with objects built from Stripe's own OpenAPI fixtures
//! (`tests/fixtures/stripe/openapi/`, changing only what a flow sets), answers
//! mistakes with Stripe's error bodies and status codes, and plays the hosted
//! Checkout and Portal pages. Test controls move a subscription through its
//! life (complete a checkout, renew, fail a payment, recover, cancel at period
//! end, cancel now, end a trial) and POST the resulting events to the app,
//! signed like Stripe signs them; a delivery can be duplicated, reordered,
//! stale, or signed with two secrets.
//!
//! It is never used unless configured: the app talks to whatever
//! `DRIPFEED_STRIPE_API_URL` names.

use super::signature;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

const SUBSCRIPTION: &str = include_str!("../../../tests/fixtures/stripe/openapi/subscription.json");
const CHECKOUT_SESSION: &str =
    include_str!("../../../tests/fixtures/stripe/openapi/checkout.session.json");
const PORTAL_SESSION: &str =
    include_str!("../../../tests/fixtures/stripe/openapi/billing_portal.session.json");
const CUSTOMER: &str = include_str!("../../../tests/fixtures/stripe/openapi/customer.json");
const INVOICE: &str = include_str!("../../../tests/fixtures/stripe/openapi/invoice.json");
const EVENT: &str =
    include_str!("../../../tests/fixtures/stripe/events/customer.subscription.created.json");

const MONTH: i64 = 30 * 24 * 3600;

/// How the fake is set up.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The secret key callers must present.
    pub api_key: String,
    /// Where events are POSTed (the app's `/webhooks/stripe`); `None`: kept only.
    pub webhook_url: Option<url::Url>,
    /// The endpoint's signing secret (events are signed with it by default).
    pub webhook_secret: String,
    /// The prices that exist; others are refused like Stripe refuses them.
    pub prices: Vec<String>,
    /// Days of trial Checkout grants when the session asks for one.
    pub trial_days: Option<u32>,
}

/// How the events of one control are delivered.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Delivery {
    /// Send every event twice.
    pub duplicate: bool,
    /// Send the events in reverse order.
    pub reverse: bool,
    /// Sign as if sent ten minutes ago (outside the 300 s tolerance).
    pub stale: bool,
    /// Sign with these secrets (one `v1` each) instead of the endpoint's.
    pub secrets: Option<Vec<String>>,
    /// Keep the events instead of sending them (`deliver_held` sends them).
    pub hold: bool,
}

/// One POST of an event to the app, and the status it got.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivered {
    pub event_id: String,
    pub event_type: String,
    pub status: u16,
}

#[derive(Debug, Clone)]
struct Session {
    id: String,
    customer: String,
    price: String,
    client_reference_id: Option<String>,
    success_url: String,
    cancel_url: String,
    trial_days: Option<u32>,
    subscription: Option<String>,
    created: i64,
}

#[derive(Debug, Clone)]
struct Sub {
    id: String,
    customer: String,
    price: String,
    status: &'static str,
    created: i64,
    period_start: i64,
    period_end: i64,
    cancel_at_period_end: bool,
    cancel_at: Option<i64>,
    canceled_at: Option<i64>,
    ended_at: Option<i64>,
    trial_start: Option<i64>,
    trial_end: Option<i64>,
    latest_invoice: String,
}

#[derive(Default)]
struct Inner {
    customers: HashMap<String, Value>,
    sessions: HashMap<String, Session>,
    subscriptions: HashMap<String, Sub>,
    portal_sessions: HashMap<String, (String, String)>,
    held: Vec<Value>,
    /// Every API call, as "METHOD /path".
    calls: Vec<String>,
    /// Make the next N API calls fail with a 500 (faults).
    fail_next: u32,
    webhook_url: Option<url::Url>,
    /// Answers already given per `Idempotency-Key` (Stripe keeps them 24 h).
    idempotent: HashMap<String, Value>,
}

/// A running fake.
#[derive(Clone)]
pub struct StripeFake {
    config: Arc<FakeConfig>,
    /// Ids are numbered from here (not under `inner`'s lock: events are made
    /// while it is held).
    next: Arc<AtomicU64>,
    inner: Arc<Mutex<Inner>>,
    base: url::Url,
    http: reqwest::Client,
}

impl StripeFake {
    /// Binds `addr` (port 0: any free port) and serves until the process ends.
    pub async fn start(config: FakeConfig, addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base = url::Url::parse(&format!("http://{}", listener.local_addr()?))?;
        let inner = Inner {
            webhook_url: config.webhook_url.clone(),
            ..Inner::default()
        };
        let fake = StripeFake {
            config: Arc::new(config),
            next: Arc::default(),
            inner: Arc::new(Mutex::new(inner)),
            base,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()?,
        };
        let app = fake.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "stripe fake stopped");
            }
        });
        Ok(fake)
    }

    /// The API base URL (point `DRIPFEED_STRIPE_API_URL` here).
    pub fn url(&self) -> &url::Url {
        &self.base
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn id(&self, prefix: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{prefix}_fake{n:010}")
    }

    /// Where events go from now on (e.g. once the app's address is known).
    pub fn set_webhook_url(&self, url: url::Url) {
        self.lock().webhook_url = Some(url);
    }

    /// The API calls served so far, as "METHOD /path".
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Makes the next `n` API calls answer 500 (Stripe's `api_error`).
    pub fn fail_next(&self, n: u32) {
        self.lock().fail_next = n;
    }

    /// The most recent Checkout Session created for `customer`.
    pub fn last_session_of(&self, customer: &str) -> Option<String> {
        let inner = self.lock();
        inner
            .sessions
            .values()
            .filter(|s| s.customer == customer)
            .max_by_key(|s| (s.created, s.id.clone()))
            .map(|s| s.id.clone())
    }

    /// The most recent Checkout Session of all.
    pub fn last_session(&self) -> Option<String> {
        let inner = self.lock();
        inner
            .sessions
            .values()
            .max_by_key(|s| (s.created, s.id.clone()))
            .map(|s| s.id.clone())
    }

    /// The subscription a completed session created.
    pub fn subscription_of_session(&self, session: &str) -> Option<String> {
        self.lock().sessions.get(session)?.subscription.clone()
    }

    /// The subscription as Stripe would return it.
    pub fn subscription_json(&self, id: &str) -> Option<Value> {
        self.lock().subscriptions.get(id).map(subscription_object)
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/v1/customers", post(create_customer))
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/subscriptions/{id}", get(retrieve_subscription))
            .route("/v1/billing_portal/sessions", post(create_portal))
            .route("/checkout/{id}", get(checkout_page))
            .route("/checkout/{id}/pay", post(checkout_pay))
            .route("/portal/{id}", get(portal_page))
            .route("/portal/{id}/cancel", post(portal_cancel))
            .route("/_control/{action}", post(control))
            .route("/healthz", get(|| async { "ok" }))
            .fallback(|| async {
                stripe_error(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    None,
                    "Unrecognized request URL. Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
                    None,
                )
            })
            .with_state(self.clone())
    }

    /// Records the call and checks its key; `Some` is the refusal to send.
    fn refuse(&self, headers: &HeaderMap, call: String) -> Option<Response> {
        let mut inner = self.lock();
        inner.calls.push(call);
        if inner.fail_next > 0 {
            inner.fail_next -= 1;
            return Some(stripe_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "api_error",
                None,
                "An unknown error occurred",
                None,
            ));
        }
        drop(inner);
        let given = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if given.is_empty() {
            return Some(stripe_error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                None,
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                None,
            ));
        }
        if given != self.config.api_key {
            let tail: String = given
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Some(stripe_error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                None,
                &format!("Invalid API Key provided: sk_test_********{tail}"),
                None,
            ));
        }
        None
    }

    // ---- controls: a subscription's life ----

    /// Pays a Checkout Session: creates the subscription (trialing if the
    /// session asked for a trial) and sends checkout.session.completed,
    /// customer.subscription.created and (unless trialing) invoice.paid.
    pub async fn complete_checkout(
        &self,
        session: &str,
        delivery: &Delivery,
    ) -> anyhow::Result<(String, Vec<Delivered>)> {
        let now = Utc::now().timestamp();
        let sub_id = self.id("sub");
        let invoice_id = self.id("in");
        let events = {
            let mut inner = self.lock();
            let s = inner
                .sessions
                .get_mut(session)
                .ok_or_else(|| anyhow::anyhow!("no such checkout session {session}"))?;
            if s.subscription.is_some() {
                anyhow::bail!("checkout session {session} is already complete");
            }
            s.subscription = Some(sub_id.clone());
            let s = s.clone();
            let trial_end = s.trial_days.map(|d| now + i64::from(d) * 24 * 3600);
            let sub = Sub {
                id: sub_id.clone(),
                customer: s.customer.clone(),
                price: s.price.clone(),
                status: if trial_end.is_some() {
                    "trialing"
                } else {
                    "active"
                },
                created: now,
                period_start: now,
                period_end: trial_end.unwrap_or(now + MONTH),
                cancel_at_period_end: false,
                cancel_at: None,
                canceled_at: None,
                ended_at: None,
                trial_start: trial_end.map(|_| now),
                trial_end,
                latest_invoice: invoice_id.clone(),
            };
            inner.subscriptions.insert(sub_id.clone(), sub.clone());
            let mut events = vec![
                self.event(
                    "checkout.session.completed",
                    session_object(&self.base, &s, "complete"),
                    None,
                ),
                self.event(
                    "customer.subscription.created",
                    subscription_object(&sub),
                    None,
                ),
            ];
            if trial_end.is_none() {
                events.push(self.event(
                    "invoice.paid",
                    invoice_object(&sub, &invoice_id, true),
                    None,
                ));
            }
            events
        };
        let delivered = self.deliver(events, delivery).await?;
        Ok((sub_id, delivered))
    }

    fn change(
        &self,
        sub: &str,
        f: impl FnOnce(&mut Sub, i64, &StripeFake) -> Vec<Value>,
    ) -> anyhow::Result<Vec<Value>> {
        let now = Utc::now().timestamp();
        let mut inner = self.lock();
        let s = inner
            .subscriptions
            .get_mut(sub)
            .ok_or_else(|| anyhow::anyhow!("no such subscription {sub}"))?;
        Ok(f(s, now, self))
    }

    fn updated(&self, s: &Sub, previous: Value) -> Value {
        self.event(
            "customer.subscription.updated",
            subscription_object(s),
            Some(previous),
        )
    }

    /// A new period is paid: invoice.paid, then the subscription moves on.
    pub async fn renew(&self, sub: &str, delivery: &Delivery) -> anyhow::Result<Vec<Delivered>> {
        let invoice = self.id("in");
        let events = self.change(sub, |s, _, fake| {
            let previous = json!({ "items": { "data": [{ "current_period_end": s.period_end }] } });
            s.period_start = s.period_end;
            s.period_end += MONTH;
            s.latest_invoice = invoice.clone();
            let was = s.status;
            s.status = "active";
            let mut previous = previous;
            if was != "active" {
                previous["status"] = json!(was);
            }
            vec![
                fake.event("invoice.paid", invoice_object(s, &invoice, true), None),
                fake.updated(s, previous),
            ]
        })?;
        self.deliver(events, delivery).await
    }

    /// The renewal payment fails: invoice.payment_failed, and the subscription
    /// becomes past_due.
    pub async fn fail_payment(
        &self,
        sub: &str,
        delivery: &Delivery,
    ) -> anyhow::Result<Vec<Delivered>> {
        let invoice = self.id("in");
        let events = self.change(sub, |s, _, fake| {
            let was = s.status;
            s.status = "past_due";
            s.latest_invoice = invoice.clone();
            vec![
                fake.event(
                    "invoice.payment_failed",
                    invoice_object(s, &invoice, false),
                    None,
                ),
                fake.updated(s, json!({ "status": was })),
            ]
        })?;
        self.deliver(events, delivery).await
    }

    /// Retrying the payment succeeds (the same as a renewal).
    pub async fn recover(&self, sub: &str, delivery: &Delivery) -> anyhow::Result<Vec<Delivered>> {
        self.renew(sub, delivery).await
    }

    /// The customer cancels in the Portal: the subscription ends with the period.
    pub async fn cancel_at_period_end(
        &self,
        sub: &str,
        delivery: &Delivery,
    ) -> anyhow::Result<Vec<Delivered>> {
        let events = self.change(sub, |s, now, fake| {
            s.cancel_at_period_end = true;
            s.cancel_at = Some(s.period_end);
            s.canceled_at = Some(now);
            vec![fake.updated(
                s,
                json!({ "cancel_at_period_end": false, "cancel_at": null, "canceled_at": null }),
            )]
        })?;
        self.deliver(events, delivery).await
    }

    /// The subscription ends now (immediate cancellation, or the end of a
    /// period it was set to cancel at): customer.subscription.deleted.
    pub async fn cancel_now(
        &self,
        sub: &str,
        delivery: &Delivery,
    ) -> anyhow::Result<Vec<Delivered>> {
        let events = self.change(sub, |s, now, fake| {
            s.status = "canceled";
            s.ended_at = Some(now);
            s.canceled_at = s.canceled_at.or(Some(now));
            s.cancel_at = s.cancel_at.or(Some(now));
            vec![fake.event(
                "customer.subscription.deleted",
                subscription_object(s),
                None,
            )]
        })?;
        self.deliver(events, delivery).await
    }

    /// Three days before a trial ends Stripe sends trial_will_end; this sends
    /// it, and with `end` also ends the trial (the first invoice is paid).
    pub async fn trial_will_end(
        &self,
        sub: &str,
        delivery: &Delivery,
    ) -> anyhow::Result<Vec<Delivered>> {
        let events = self.change(sub, |s, _, fake| {
            vec![fake.event(
                "customer.subscription.trial_will_end",
                subscription_object(s),
                None,
            )]
        })?;
        self.deliver(events, delivery).await
    }

    /// The trial ends and the first payment succeeds.
    pub async fn end_trial(
        &self,
        sub: &str,
        delivery: &Delivery,
    ) -> anyhow::Result<Vec<Delivered>> {
        let invoice = self.id("in");
        let events = self.change(sub, |s, now, fake| {
            s.status = "active";
            s.trial_end = Some(now);
            s.period_start = now;
            s.period_end = now + MONTH;
            s.latest_invoice = invoice.clone();
            vec![
                fake.event("invoice.paid", invoice_object(s, &invoice, true), None),
                fake.updated(s, json!({ "status": "trialing" })),
            ]
        })?;
        self.deliver(events, delivery).await
    }

    /// Sends the events held back by `Delivery { hold: true }`, in the order
    /// given by `delivery`.
    pub async fn deliver_held(&self, delivery: &Delivery) -> anyhow::Result<Vec<Delivered>> {
        let events = std::mem::take(&mut self.lock().held);
        let delivery = Delivery {
            hold: false,
            ..delivery.clone()
        };
        self.deliver(events, &delivery).await
    }

    fn event(&self, kind: &str, object: Value, previous: Option<Value>) -> Value {
        let mut e: Value = fixture(EVENT);
        e["id"] = json!(self.id("evt"));
        e["type"] = json!(kind);
        e["created"] = json!(Utc::now().timestamp());
        e["api_version"] = json!(super::client::API_VERSION);
        e["data"] = match previous {
            Some(p) => json!({ "object": object, "previous_attributes": p }),
            None => json!({ "object": object }),
        };
        e
    }

    async fn deliver(
        &self,
        mut events: Vec<Value>,
        d: &Delivery,
    ) -> anyhow::Result<Vec<Delivered>> {
        if d.hold {
            self.lock().held.extend(events);
            return Ok(Vec::new());
        }
        if d.reverse {
            events.reverse();
        }
        if d.duplicate {
            events = events.into_iter().flat_map(|e| [e.clone(), e]).collect();
        }
        let Some(url) = self.lock().webhook_url.clone() else {
            return Ok(Vec::new());
        };
        let secrets = d
            .secrets
            .clone()
            .unwrap_or_else(|| vec![self.config.webhook_secret.clone()]);
        let mut out = Vec::new();
        for e in events {
            let payload = serde_json::to_string(&e)?;
            let mut at = Utc::now().timestamp();
            if d.stale {
                at -= 600;
            }
            let header = signature::sign_with(&secrets, at, &payload);
            let status = self
                .http
                .post(url.clone())
                .header("content-type", "application/json; charset=utf-8")
                .header("stripe-signature", header)
                .header(
                    "user-agent",
                    "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                )
                .body(payload)
                .send()
                .await?
                .status()
                .as_u16();
            out.push(Delivered {
                event_id: e["id"].as_str().unwrap_or_default().to_owned(),
                event_type: e["type"].as_str().unwrap_or_default().to_owned(),
                status,
            });
            // Like Stripe, keep what was not acknowledged for a retry
            // (`deliver_held`); a duplicate copy is not kept twice.
            if !(200..300).contains(&status) {
                let mut inner = self.lock();
                if !inner.held.iter().any(|h| h["id"] == e["id"]) {
                    inner.held.push(e);
                }
            }
        }
        Ok(out)
    }
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| unreachable!("bundled Stripe fixture: {e}"))
}

/// Stripe's error body: `{"error": {type, code, message, param, doc_url}}`.
fn stripe_error(
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

fn missing(param: &str) -> Response {
    stripe_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("parameter_missing"),
        &format!("Missing required param: {param}."),
        Some(param),
    )
}

fn no_such(kind: &str, id: &str, param: &str) -> Response {
    stripe_error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
        Some(param),
    )
}

fn session_object(base: &url::Url, s: &Session, status: &str) -> Value {
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

fn subscription_object(s: &Sub) -> Value {
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

fn invoice_object(s: &Sub, id: &str, paid: bool) -> Value {
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

fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

async fn create_customer(
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

async fn create_session(
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

async fn retrieve_subscription(
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

async fn create_portal(
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

fn page(title: &str, body: String) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><p><em>Stripe test fake: no real payment is made.</em></p><h1>{title}</h1>{body}</body></html>"
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn checkout_page(State(fake): State<StripeFake>, Path(id): Path<String>) -> Response {
    let Some(s) = fake.lock().sessions.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            page("Checkout session not found", String::new()),
        )
            .into_response();
    };
    page(
        "Subscribe",
        format!(
            "<p>Price <code>{price}</code>, billed monthly.</p>\
             <form method=\"post\" action=\"/checkout/{id}/pay\"><button type=\"submit\">Pay and subscribe</button></form>\
             <p><a href=\"{cancel}\">Cancel and go back</a></p>",
            price = escape(&s.price),
            id = escape(&s.id),
            cancel = escape(&s.cancel_url)
        ),
    )
    .into_response()
}

async fn checkout_pay(State(fake): State<StripeFake>, Path(id): Path<String>) -> Response {
    let success = match fake.lock().sessions.get(&id) {
        Some(s) => s.success_url.replace("{CHECKOUT_SESSION_ID}", &id),
        None => {
            return (
                StatusCode::NOT_FOUND,
                page("Checkout session not found", String::new()),
            )
                .into_response();
        }
    };
    // Stripe redirects at once and sends the events independently.
    let background = fake.clone();
    tokio::spawn(async move {
        if let Err(e) = background
            .complete_checkout(&id, &Delivery::default())
            .await
        {
            tracing::warn!(error = %e, "stripe fake: completing checkout failed");
        }
    });
    Redirect::to(&success).into_response()
}

async fn portal_page(State(fake): State<StripeFake>, Path(id): Path<String>) -> Response {
    let Some((customer, return_url)) = fake.lock().portal_sessions.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            page("Portal session not found", String::new()),
        )
            .into_response();
    };
    let subs: Vec<Sub> = fake
        .lock()
        .subscriptions
        .values()
        .filter(|s| s.customer == customer)
        .cloned()
        .collect();
    let mut body = String::from("<ul>");
    for s in &subs {
        let cancel = if s.status != "canceled" && !s.cancel_at_period_end {
            format!(
                "<form method=\"post\" action=\"/portal/{id}/cancel\"><input type=\"hidden\" name=\"subscription\" value=\"{sub}\">\
                 <button type=\"submit\">Cancel subscription</button></form>",
                id = escape(&id),
                sub = escape(&s.id)
            )
        } else {
            String::new()
        };
        body.push_str(&format!(
            "<li><code>{}</code>: {}{}{}</li>",
            escape(&s.price),
            s.status,
            if s.cancel_at_period_end {
                " (cancels at period end)"
            } else {
                ""
            },
            cancel
        ));
    }
    body.push_str(&format!(
        "</ul><p><a href=\"{}\">Return to Dripfeed</a></p>",
        escape(&return_url)
    ));
    page("Billing portal", body).into_response()
}

#[derive(Deserialize)]
struct CancelForm {
    subscription: String,
}

async fn portal_cancel(
    State(fake): State<StripeFake>,
    Path(id): Path<String>,
    Form(form): Form<CancelForm>,
) -> Response {
    let owner = fake.lock().portal_sessions.get(&id).map(|(c, _)| c.clone());
    let sub_owner = fake
        .lock()
        .subscriptions
        .get(&form.subscription)
        .map(|s| s.customer.clone());
    if owner.is_none() || owner != sub_owner {
        return (StatusCode::NOT_FOUND, page("Not found", String::new())).into_response();
    }
    if let Err(e) = fake
        .cancel_at_period_end(&form.subscription, &Delivery::default())
        .await
    {
        tracing::warn!(error = %e, "stripe fake: cancelling failed");
    }
    Redirect::to(&format!("/portal/{id}")).into_response()
}

#[derive(Deserialize)]
struct ControlBody {
    /// A subscription id, or for `complete_checkout` a session id (default:
    /// the latest session).
    #[serde(default)]
    target: Option<String>,
    #[serde(default, flatten)]
    delivery: Delivery,
}

/// `POST /_control/{action}` with `{"target": id, "duplicate": …}`: the test
/// controls over HTTP (end-to-end tests drive the fake this way).
async fn control(
    State(fake): State<StripeFake>,
    Path(action): Path<String>,
    Json(body): Json<ControlBody>,
) -> Response {
    let target = body.target.clone().unwrap_or_default();
    let d = &body.delivery;
    let result = match action.as_str() {
        "complete_checkout" => {
            let session = body.target.clone().or_else(|| fake.last_session());
            match session {
                Some(s) => fake.complete_checkout(&s, d).await.map(|(_, r)| r),
                None => Err(anyhow::anyhow!("no checkout session yet")),
            }
        }
        "renew" => fake.renew(&target, d).await,
        "fail_payment" => fake.fail_payment(&target, d).await,
        "recover" => fake.recover(&target, d).await,
        "cancel_at_period_end" => fake.cancel_at_period_end(&target, d).await,
        "cancel_now" => fake.cancel_now(&target, d).await,
        "trial_will_end" => fake.trial_will_end(&target, d).await,
        "end_trial" => fake.end_trial(&target, d).await,
        "deliver_held" => fake.deliver_held(d).await,
        other => Err(anyhow::anyhow!("unknown control {other}")),
    };
    match result {
        Ok(delivered) => Json(delivered).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}
