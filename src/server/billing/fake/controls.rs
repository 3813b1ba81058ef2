//! Test controls: a subscription's life (complete a checkout, renew, fail a
//! payment, recover, cancel, end a trial) and the signed delivery of its
//! events, also over HTTP at `POST /_control/{action}`.

use super::objects::{EVENT, fixture, invoice_object, session_object, subscription_object};
use super::{Delivered, Delivery, MONTH, StripeFake, Sub};
use crate::server::billing::signature;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

impl StripeFake {
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
        e["api_version"] = json!(crate::server::billing::client::API_VERSION);
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

#[derive(Deserialize)]
pub(super) struct ControlBody {
    /// A subscription id, or for `complete_checkout` a session id (default:
    /// the latest session).
    #[serde(default)]
    target: Option<String>,
    #[serde(default, flatten)]
    delivery: Delivery,
}

/// `POST /_control/{action}` with `{"target": id, "duplicate": …}`: the test
/// controls over HTTP (end-to-end tests drive the fake this way).
pub(super) async fn control(
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
