//! Billing state: each user's Stripe customer, their subscriptions as last
//! fetched from Stripe, the webhook events already applied, and the tier last
//! applied to their plans.

use super::audit::{NewAuditEntry, audited};
use super::rows::SubscriptionRow;
use super::{Store, with_pool};
use chrono::{DateTime, Utc};
use serde_json::json;

/// A subscription as just fetched from Stripe.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedSubscription {
    pub id: String,
    pub customer_id: String,
    pub status: String,
    pub price_id: Option<String>,
    pub tier: Option<String>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub trial_end: Option<DateTime<Utc>>,
    /// When the request that returned this state was sent.
    pub fetched_at: DateTime<Utc>,
}

/// A verified webhook event.
#[derive(Debug, Clone)]
pub struct EventRecord<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub created: DateTime<Utc>,
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// First delivery; the subscription (if any) was stored.
    New,
    /// Seen before: nothing was done.
    Duplicate,
}

/// What entitlements need to know about a user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BillingUserRow {
    pub created_at: DateTime<Utc>,
    pub applied_tier: Option<String>,
    pub tier_override: Option<String>,
}

/// A user's open plan, as tier limits see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TierPlanRow {
    pub id: i64,
    pub status: String,
    pub paused_by_tier: bool,
    pub cadence: String,
    pub legs: i64,
    pub environment: Option<String>,
}

const SUBSCRIPTION_COLUMNS: &str = "id, user_id, customer_id, status, price_id, tier, \
     current_period_end, cancel_at_period_end, cancel_at, canceled_at, trial_end, past_due_since, \
     fetched_at";

impl Store {
    pub async fn stripe_customer_of(&self, user_id: i64) -> anyhow::Result<Option<String>> {
        let sql = "SELECT customer_id FROM stripe_customers WHERE user_id = $1";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(user_id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Records the user's Stripe customer; if another request recorded one
    /// first, that one is kept and returned (one customer per user).
    pub async fn insert_stripe_customer(
        &self,
        user_id: i64,
        customer_id: &str,
    ) -> anyhow::Result<String> {
        let sql = "INSERT INTO stripe_customers (user_id, customer_id, created_at) \
                   VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING";
        let inserted = with_pool!(self, pool => sqlx::query(sql)
            .bind(user_id)
            .bind(customer_id)
            .bind(super::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if inserted == 1 {
            return Ok(customer_id.to_owned());
        }
        self.stripe_customer_of(user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("stripe customer of user {user_id} vanished"))
    }

    pub async fn user_of_stripe_customer(&self, customer_id: &str) -> anyhow::Result<Option<i64>> {
        let sql = "SELECT user_id FROM stripe_customers WHERE customer_id = $1";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(customer_id)
            .fetch_optional(pool)
            .await)?)
    }

    /// The user's subscriptions, most recently fetched first.
    pub async fn subscriptions_of(&self, user_id: i64) -> anyhow::Result<Vec<SubscriptionRow>> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE user_id = $1 \
             ORDER BY fetched_at DESC"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, SubscriptionRow>(&sql)
            .bind(user_id)
            .fetch_all(pool)
            .await)?,
        )
    }

    pub async fn billing_user(&self, user_id: i64) -> anyhow::Result<Option<BillingUserRow>> {
        let sql = "SELECT created_at, applied_tier, tier_override FROM users WHERE id = $1";
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, BillingUserRow>(sql)
            .bind(user_id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Applies a verified webhook event exactly once: the event id and the
    /// subscription state fetched for it are written in one transaction with
    /// the audit entry, so a redelivery (or a crash halfway) can neither skip
    /// nor repeat the effect. A state fetched earlier than the stored one is
    /// not written (deliveries racing each other). The user's entitlement is
    /// marked for review in the same transaction.
    pub async fn apply_stripe_event(
        &self,
        event: &EventRecord<'_>,
        user_id: i64,
        sub: Option<&FetchedSubscription>,
    ) -> anyhow::Result<Applied> {
        let now = super::now();
        let applied = audited!(self, |tx| {
            let fresh = sqlx::query(
                "INSERT INTO stripe_events (id, type, created, received_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(event.id)
            .bind(event.kind)
            .bind(event.created)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !fresh {
                return Ok(Applied::Duplicate);
            }
            let mut entries = Vec::new();
            if let Some(sub) = sub {
                let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1");
                let old: Option<SubscriptionRow> = sqlx::query_as(&sql)
                    .bind(&sub.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let newer = old.as_ref().is_none_or(|o| o.fetched_at <= sub.fetched_at);
                if newer {
                    let past_due_since = match &old {
                        _ if sub.status != "past_due" => None,
                        Some(o) if o.status == "past_due" => o.past_due_since.or(Some(now)),
                        _ => Some(now),
                    };
                    sqlx::query(
                        "INSERT INTO subscriptions (id, user_id, customer_id, status, price_id, tier, \
                         current_period_end, cancel_at_period_end, cancel_at, canceled_at, trial_end, \
                         past_due_since, fetched_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                         ON CONFLICT (id) DO UPDATE SET status = $4, price_id = $5, tier = $6, \
                         current_period_end = $7, cancel_at_period_end = $8, cancel_at = $9, \
                         canceled_at = $10, trial_end = $11, past_due_since = $12, fetched_at = $13, \
                         updated_at = $14",
                    )
                    .bind(&sub.id)
                    .bind(user_id)
                    .bind(&sub.customer_id)
                    .bind(&sub.status)
                    .bind(sub.price_id.as_deref())
                    .bind(sub.tier.as_deref())
                    .bind(sub.current_period_end)
                    .bind(sub.cancel_at_period_end)
                    .bind(sub.cancel_at)
                    .bind(sub.canceled_at)
                    .bind(sub.trial_end)
                    .bind(past_due_since)
                    .bind(sub.fetched_at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    let changed = old.as_ref().is_none_or(|o| {
                        o.status != sub.status
                            || o.tier != sub.tier
                            || o.cancel_at_period_end != sub.cancel_at_period_end
                            || o.current_period_end != sub.current_period_end
                            || o.cancel_at != sub.cancel_at
                    });
                    if changed {
                        entries.push(NewAuditEntry {
                            actor_user_id: None,
                            subject_user_id: Some(user_id),
                            action: "billing.subscription_changed".into(),
                            detail: json!({
                                "event": event.id,
                                "event_type": event.kind,
                                "subscription": sub.id,
                                "from_status": old.as_ref().map(|o| o.status.clone()),
                                "status": sub.status,
                                "tier": sub.tier,
                                "cancel_at_period_end": sub.cancel_at_period_end,
                                "current_period_end": sub.current_period_end,
                            }),
                            ip: None,
                        });
                    }
                }
            }
            sqlx::query("UPDATE users SET entitlement_review_at = $1 WHERE id = $2")
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            (Applied::New, entries)
        });
        Ok(applied)
    }

    /// Asks the engine to review the user's entitlement on its next pass
    /// (after a plan starts or changes: a downgrade applied meanwhile is then
    /// applied to it too).
    pub async fn mark_entitlement_review(&self, user_id: i64) -> anyhow::Result<()> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE users SET entitlement_review_at = $1 WHERE id = $2 \
             AND (entitlement_review_at IS NULL OR entitlement_review_at > $1)")
            .bind(super::now())
            .bind(user_id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Records `digest` as the billing settings in effect; if it differs from
    /// the one recorded before (or none was), every user is marked for an
    /// entitlement review, in the same transaction. Returns whether it changed.
    pub async fn note_billing_settings(&self, digest: &str) -> anyhow::Result<bool> {
        let now = super::now();
        let changed = with_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let old: Option<String> =
                sqlx::query_scalar("SELECT value FROM instance_facts WHERE key = 'billing_settings'")
                    .fetch_optional(&mut *tx)
                    .await?;
            if old.as_deref() == Some(digest) {
                return Ok::<bool, sqlx::Error>(false);
            }
            sqlx::query(
                "INSERT INTO instance_facts (key, value) VALUES ('billing_settings', $1) \
                 ON CONFLICT (key) DO UPDATE SET value = $1",
            )
            .bind(digest)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE users SET entitlement_review_at = $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }
        .await)?;
        Ok(changed)
    }

    /// Users whose entitlement must be looked at again by now.
    pub async fn entitlements_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> anyhow::Result<Vec<i64>> {
        let sql = "SELECT id FROM users WHERE entitlement_review_at <= $1 \
                   ORDER BY entitlement_review_at LIMIT $2";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// Sets (or, with `None`, clears) an admin's tier override and audits it
    /// in the same transaction; the entitlement is reviewed at once. `false`
    /// if there is no such user.
    pub async fn set_tier_override(
        &self,
        user_id: i64,
        tier: Option<&str>,
        audit: NewAuditEntry,
    ) -> anyhow::Result<bool> {
        let now = super::now();
        let found = audited!(self, |tx| {
            let n = sqlx::query(
                "UPDATE users SET tier_override = $1, entitlement_review_at = $2, updated_at = $2 \
                 WHERE id = $3",
            )
            .bind(tier)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                return Ok(false);
            }
            (true, vec![audit])
        });
        Ok(found)
    }
}

/// Reads the user's open plans inside an entitlement transaction.
macro_rules! tier_plans_in {
    ($tx:ident, $user_id:expr) => {
        sqlx::query_as::<_, $crate::server::db::billing::TierPlanRow>(
            "SELECT p.id, p.status, p.paused_by_tier, p.cadence, \
             (SELECT COUNT(*) FROM plan_legs l WHERE l.plan_id = p.id) AS legs, c.environment \
             FROM plans p LEFT JOIN broker_connections c ON c.id = p.connection_id \
             WHERE p.user_id = $1 AND p.status <> 'ended' ORDER BY p.id",
        )
        .bind($user_id)
        .fetch_all(&mut *$tx)
        .await?
    };
}

/// How a tier change moves plans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanMoves {
    pub pause: Vec<i64>,
    pub resume: Vec<i64>,
}

/// The outcome of reviewing one user's entitlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub from: Option<String>,
    pub to: String,
    pub moves: PlanMoves,
}

impl Store {
    /// Reviews one user's entitlement inside one serialised transaction:
    /// reads the facts, asks `decide` for the tier and `moves` for the plans
    /// to pause or resume, applies both, records the applied tier and the
    /// next review time, and audits a change. `None` if the user is gone.
    pub async fn review_entitlement<D, M>(
        &self,
        user_id: i64,
        engine_now: DateTime<Utc>,
        decide: D,
        moves: M,
    ) -> anyhow::Result<Option<Review>>
    where
        D: Fn(
            &BillingUserRow,
            &[SubscriptionRow],
        ) -> (String, Option<DateTime<Utc>>, serde_json::Value),
        M: Fn(&str, &[TierPlanRow]) -> PlanMoves,
    {
        let now = super::now();
        let review = audited!(self, |tx| {
            let user: Option<BillingUserRow> = sqlx::query_as(
                "SELECT created_at, applied_tier, tier_override FROM users WHERE id = $1",
            )
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(user) = user else {
                return Ok(None);
            };
            let sql =
                format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE user_id = $1");
            let subs: Vec<SubscriptionRow> = sqlx::query_as(&sql)
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
            let (tier, review_at, why) = decide(&user, &subs);
            let plans = tier_plans_in!(tx, user_id);
            let m = moves(&tier, &plans);
            for id in &m.pause {
                sqlx::query(
                    "UPDATE plans SET status = 'paused', paused_by_tier = TRUE, updated_at = $1 \
                     WHERE id = $2 AND status = 'active'",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            for id in &m.resume {
                sqlx::query(
                    "UPDATE plans SET status = 'active', paused_by_tier = FALSE, active_since = $1, \
                     next_slot_at = NULL, updated_at = $2 \
                     WHERE id = $3 AND status = 'paused' AND paused_by_tier = TRUE",
                )
                .bind(engine_now)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE users SET applied_tier = $1, entitlement_review_at = $2 WHERE id = $3",
            )
            .bind(&tier)
            .bind(review_at)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            let mut entries = Vec::new();
            let changed = user.applied_tier.as_deref() != Some(tier.as_str());
            if changed || !m.pause.is_empty() || !m.resume.is_empty() {
                entries.push(NewAuditEntry {
                    actor_user_id: None,
                    subject_user_id: Some(user_id),
                    action: "billing.entitlement_changed".into(),
                    detail: json!({
                        "from": user.applied_tier,
                        "to": tier,
                        "why": why,
                        "paused_plans": m.pause,
                        "resumed_plans": m.resume,
                    }),
                    ip: None,
                });
            }
            (
                Some(Review {
                    from: user.applied_tier,
                    to: tier,
                    moves: m,
                }),
                entries,
            )
        });
        Ok(review)
    }
}
