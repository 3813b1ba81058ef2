//! The few Stripe calls Dripfeed makes, through async-stripe 1.0: create a
//! customer, create a Checkout Session, open a Billing Portal session, and
//! retrieve a subscription. The base URL is configurable so tests (and
//! offline demos) point it at the Stripe fake.

use crate::server::config::Settings;
use crate::server::db::billing::FetchedSubscription;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::time::Duration;

/// The API version async-stripe 1.0.0-rc.10 speaks (sent as `Stripe-Version`).
/// Webhook endpoints should be created with the same version.
pub const API_VERSION: &str = "2026-09-30.endive";

/// Why a Stripe call failed, as far as callers care.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Network trouble, a timeout, 429 or a 5xx: worth retrying later.
    #[error("Stripe could not be reached: {0}")]
    Unavailable(String),
    /// Stripe refused the request (bad key, unknown price, …): a configuration
    /// or programming error, not worth retrying.
    #[error("Stripe refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
}

impl From<stripe::StripeError> for StripeError {
    fn from(e: stripe::StripeError) -> Self {
        match e {
            stripe::StripeError::Stripe(api, status) => {
                let message = api.message.clone().unwrap_or_else(|| "no message".into());
                // 409: the same idempotency key is still being processed.
                if status == 409 || status == 429 || status >= 500 {
                    StripeError::Unavailable(format!("HTTP {status}: {message}"))
                } else {
                    StripeError::Refused { status, message }
                }
            }
            stripe::StripeError::Timeout => StripeError::Unavailable("timed out".into()),
            stripe::StripeError::ClientError(m) => StripeError::Unavailable(m),
            stripe::StripeError::JSONDeserialize(m) => StripeError::Refused {
                status: 200,
                message: format!("unreadable answer: {m}"),
            },
            stripe::StripeError::ConfigError(m) => StripeError::Refused {
                status: 0,
                message: format!("client configuration: {m}"),
            },
        }
    }
}

/// What a Checkout Session is created with.
#[derive(Debug)]
pub struct CheckoutRequest<'a> {
    pub customer: &'a str,
    pub user_id: i64,
    pub price: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
}

pub struct StripeClient {
    client: stripe::Client,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StripeClient { .. }")
    }
}

fn at(ts: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(ts, 0)
}

impl StripeClient {
    /// The client for the configured Stripe account; `None` when billing is off.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<Self>> {
        let Some(key) = &settings.stripe_secret_key else {
            return Ok(None);
        };
        let client = stripe::ClientBuilder::new(key.expose_secret())
            .url(settings.stripe_api_url.as_str())
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| anyhow::anyhow!("building the Stripe client: {}", StripeError::from(e)))?;
        Ok(Some(Self { client }))
    }

    /// Creates the user's Stripe customer. The idempotency key makes a retry
    /// after a lost answer return the same customer instead of a second one.
    pub async fn create_customer(&self, email: &str, user_id: i64) -> Result<String, StripeError> {
        use sha2::{Digest, Sha256};
        use stripe::{IdempotencyKey, RequestStrategy, StripeRequest};
        use stripe_core::customer::CreateCustomer;
        let digest = hex::encode(Sha256::digest(email.as_bytes()));
        let key = IdempotencyKey::new(format!("dripfeed-customer-{user_id}-{}", &digest[..16]))
            .map_err(|e| StripeError::Refused {
                status: 0,
                message: format!("idempotency key: {e}"),
            })?;
        let customer = CreateCustomer::new()
            .email(email)
            .metadata(HashMap::from([(
                "dripfeed_user_id".to_owned(),
                user_id.to_string(),
            )]))
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await?;
        Ok(customer.id.as_str().to_owned())
    }

    /// Creates a subscription-mode Checkout Session; returns where to send the user.
    pub async fn create_checkout(&self, r: &CheckoutRequest<'_>) -> Result<String, StripeError> {
        use stripe_checkout::CheckoutSessionMode;
        use stripe_checkout::checkout_session::{
            CreateCheckoutSession, CreateCheckoutSessionLineItems,
        };
        let session = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(r.customer)
            .client_reference_id(r.user_id.to_string())
            .success_url(r.success_url)
            .cancel_url(r.cancel_url)
            .line_items(vec![CreateCheckoutSessionLineItems {
                price: Some(r.price.to_owned()),
                quantity: Some(1),
                ..Default::default()
            }])
            .send(&self.client)
            .await?;
        session.url.ok_or_else(|| StripeError::Refused {
            status: 200,
            message: "the Checkout Session has no URL".into(),
        })
    }

    /// Opens a Billing Portal session; returns where to send the user.
    pub async fn create_portal(
        &self,
        customer: &str,
        return_url: &str,
    ) -> Result<String, StripeError> {
        use stripe_billing::billing_portal_session::CreateBillingPortalSession;
        let session = CreateBillingPortalSession::new()
            .customer(customer)
            .return_url(return_url)
            .send(&self.client)
            .await?;
        Ok(session.url)
    }

    /// The subscription as Stripe has it now; `None` if Stripe does not know it.
    /// `tier` is left for the caller to fill from the price.
    pub async fn subscription(&self, id: &str) -> Result<Option<FetchedSubscription>, StripeError> {
        use stripe_billing::subscription::RetrieveSubscription;
        let fetched_at = Utc::now();
        let sub = match RetrieveSubscription::new(id).send(&self.client).await {
            Ok(sub) => sub,
            Err(stripe::StripeError::Stripe(_, 404)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let item = sub.items.data.first();
        Ok(Some(FetchedSubscription {
            id: sub.id.as_str().to_owned(),
            customer_id: sub.customer.id().as_str().to_owned(),
            status: sub.status.as_str().to_owned(),
            price_id: item.map(|i| i.price.id.as_str().to_owned()),
            tier: None,
            current_period_end: item.and_then(|i| at(i.current_period_end)),
            cancel_at_period_end: sub.cancel_at_period_end,
            cancel_at: sub.cancel_at.and_then(at),
            canceled_at: sub.canceled_at.and_then(at),
            trial_end: sub.trial_end.and_then(at),
            fetched_at,
        }))
    }
}
