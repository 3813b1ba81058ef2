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
//!
//! `objects.rs` builds Stripe's objects and error bodies, `api.rs` serves the
//! API calls, `pages.rs` the hosted Checkout and Portal pages, and
//! `controls.rs` moves subscriptions and delivers their events.

mod api;
mod controls;
mod objects;
mod pages;

use api::{create_customer, create_portal, create_session, retrieve_subscription};
use controls::control;
use objects::{stripe_error, subscription_object};
use pages::{checkout_page, checkout_pay, portal_cancel, portal_page};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

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
}
