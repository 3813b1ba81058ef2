//! Which tier a user is entitled to, and why: a pure function of the billing
//! facts Dripfeed holds (its settings, an admin's override, the user's Stripe
//! subscriptions as last fetched, their sign-up date) and the time.
//!
//! Every limit check asks this one function (through `server::billing`), so
//! plans, and later recommendations, backtests, the AI analyst and API access,
//! all see the same answer.

use crate::domain::tier::{Cadence, Tier, TierId};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Stripe's subscription statuses, as far as entitlements care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionStatus {
    Active,
    Trialing,
    PastDue,
    /// canceled, unpaid, incomplete, incomplete_expired, paused, or a status
    /// Stripe adds later: none of them grants anything.
    Lapsed,
}

impl SubscriptionStatus {
    /// Whether a subscription in Stripe status `s` is still running (it
    /// grants, or may again after a retried payment): active, trialing, past_due.
    pub fn is_current(s: &str) -> bool {
        Self::parse(s) != Self::Lapsed
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "active" => Self::Active,
            "trialing" => Self::Trialing,
            "past_due" => Self::PastDue,
            _ => Self::Lapsed,
        }
    }
}

/// One subscription, as entitlements see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionFacts {
    pub status: SubscriptionStatus,
    /// The tier its price sells; `None` for a price this instance does not sell.
    pub tier: Option<TierId>,
    pub past_due_since: Option<DateTime<Utc>>,
}

/// Everything the decision depends on.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub billing_enabled: bool,
    /// Everyone's tier while billing is off.
    pub default_tier: TierId,
    pub override_tier: Option<TierId>,
    pub subscriptions: &'a [SubscriptionFacts],
    pub signed_up_at: DateTime<Utc>,
    /// Days of Pro a new user gets without paying (0: none).
    pub trial_days: u32,
    /// Days a past-due subscription keeps its tier.
    pub grace_days: u32,
}

/// Why the user has their tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Billing is off on this instance: everyone has the default tier.
    SelfHosted,
    /// An administrator set the tier.
    Override,
    /// A paid (or Stripe-trialing) subscription.
    Subscription,
    /// A payment failed; the tier is kept until `until`.
    Grace { until: DateTime<Utc> },
    /// The free trial new users get, until `until`.
    Trial { until: DateTime<Utc> },
    /// Nothing grants more.
    Free,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub tier: TierId,
    pub source: Source,
    /// When the answer changes by itself (a grace period or trial ends).
    pub review_at: Option<DateTime<Utc>>,
}

/// The tier trials grant.
pub const TRIAL_TIER: TierId = TierId::Pro;

pub fn decide(f: &Facts<'_>, now: DateTime<Utc>) -> Entitlement {
    if let Some(tier) = f.override_tier {
        return Entitlement {
            tier,
            source: Source::Override,
            review_at: None,
        };
    }
    if !f.billing_enabled {
        return Entitlement {
            tier: f.default_tier,
            source: Source::SelfHosted,
            review_at: None,
        };
    }
    let mut best = Entitlement {
        tier: TierId::Free,
        source: Source::Free,
        review_at: None,
    };
    let mut consider = |tier: TierId, source: Source, review_at: Option<DateTime<Utc>>| {
        if tier > best.tier {
            best = Entitlement {
                tier,
                source,
                review_at,
            };
        }
    };
    for s in f.subscriptions {
        let Some(tier) = s.tier else { continue };
        match s.status {
            SubscriptionStatus::Active | SubscriptionStatus::Trialing => {
                consider(tier, Source::Subscription, None)
            }
            SubscriptionStatus::PastDue => {
                let until = s.past_due_since.unwrap_or(now) + Duration::days(f.grace_days.into());
                if now < until {
                    consider(tier, Source::Grace { until }, Some(until));
                }
            }
            SubscriptionStatus::Lapsed => {}
        }
    }
    if f.trial_days > 0 {
        let until = f.signed_up_at + Duration::days(f.trial_days.into());
        if now < until {
            consider(TRIAL_TIER, Source::Trial { until }, Some(until));
        }
    }
    best
}

/// Something a tier may or may not allow. Every gated use case asks with one
/// of these, and gets the refusal the user sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    LiveTrading,
    Cadence(Cadence),
    Recommendations,
    Backtests,
    AiAnalyst,
    ApiAccess,
}

impl Feature {
    fn allowed(self, t: &Tier) -> bool {
        match self {
            Feature::LiveTrading => t.live_trading,
            Feature::Cadence(c) => t.cadences.contains(&c),
            Feature::Recommendations => t.recommendations,
            Feature::Backtests => t.backtests,
            Feature::AiAnalyst => t.ai_analyst,
            Feature::ApiAccess => t.api_access,
        }
    }

    fn label(self) -> String {
        match self {
            Feature::LiveTrading => "Live trading".into(),
            Feature::Cadence(Cadence::Custom) => "Custom schedules".into(),
            Feature::Cadence(Cadence::Biweekly) => "Schedules every two weeks".into(),
            Feature::Cadence(c) => {
                let label = c.label();
                let mut chars = label.chars();
                let first: String = chars
                    .next()
                    .map(|f| f.to_uppercase().collect())
                    .unwrap_or_default();
                format!("{first}{} schedules", chars.as_str())
            }
            Feature::Recommendations => "Strategy recommendations".into(),
            Feature::Backtests => "Backtests".into(),
            Feature::AiAnalyst => "The AI analyst".into(),
            Feature::ApiAccess => "API access".into(),
        }
    }
}

/// `Ok` if `tier` allows `feature`; otherwise the message to show, naming the
/// cheapest tier that does.
pub fn check(feature: Feature, tier: &Tier, table: &[Tier]) -> Result<(), String> {
    if feature.allowed(tier) {
        return Ok(());
    }
    let needs = table
        .iter()
        .filter(|t| feature.allowed(t))
        .min_by_key(|t| t.monthly_price)
        .map(|t| {
            format!(
                " It is included from {} ({}); upgrade on the Pricing page.",
                t.name,
                t.price_label()
            )
        })
        .unwrap_or_default();
    let verb = if matches!(feature, Feature::Cadence(_)) {
        "are"
    } else {
        "is"
    };
    Err(format!(
        "{} {verb} not included in your {} plan.{needs}",
        feature.label(),
        tier.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tier::TierTable;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0)
            .single()
            .expect("valid date")
    }

    fn facts(subs: &[SubscriptionFacts]) -> Facts<'_> {
        Facts {
            billing_enabled: true,
            default_tier: TierId::Premium,
            override_tier: None,
            subscriptions: subs,
            signed_up_at: at(1),
            trial_days: 0,
            grace_days: 7,
        }
    }

    fn sub(status: &str, tier: TierId) -> SubscriptionFacts {
        SubscriptionFacts {
            status: SubscriptionStatus::parse(status),
            tier: Some(tier),
            past_due_since: None,
        }
    }

    #[test]
    fn without_billing_everyone_has_the_default_tier() {
        let subs = [sub("canceled", TierId::Basic)];
        let f = Facts {
            billing_enabled: false,
            ..facts(&subs)
        };
        let e = decide(&f, at(2));
        assert_eq!((e.tier, e.source), (TierId::Premium, Source::SelfHosted));
    }

    #[test]
    fn active_and_trialing_grant_the_tier_and_lapsed_statuses_fall_back_to_free() {
        for (status, want) in [
            ("active", TierId::Pro),
            ("trialing", TierId::Pro),
            ("canceled", TierId::Free),
            ("unpaid", TierId::Free),
            ("incomplete", TierId::Free),
            ("incomplete_expired", TierId::Free),
            ("paused", TierId::Free),
            ("some_future_status", TierId::Free),
        ] {
            let subs = [sub(status, TierId::Pro)];
            assert_eq!(decide(&facts(&subs), at(2)).tier, want, "{status}");
        }
    }

    #[test]
    fn past_due_keeps_the_tier_for_the_grace_period_only() {
        let subs = [SubscriptionFacts {
            past_due_since: Some(at(2)),
            ..sub("past_due", TierId::Basic)
        }];
        let e = decide(&facts(&subs), at(8));
        assert_eq!(e.tier, TierId::Basic);
        assert_eq!(e.source, Source::Grace { until: at(9) });
        assert_eq!(e.review_at, Some(at(9)));
        assert_eq!(decide(&facts(&subs), at(9)).tier, TierId::Free);
    }

    #[test]
    fn a_price_this_instance_does_not_sell_grants_nothing() {
        let subs = [SubscriptionFacts {
            tier: None,
            ..sub("active", TierId::Pro)
        }];
        assert_eq!(decide(&facts(&subs), at(2)).tier, TierId::Free);
    }

    #[test]
    fn new_users_get_the_trial_until_it_ends_and_the_better_of_trial_and_subscription() {
        let f = Facts {
            trial_days: 30,
            ..facts(&[])
        };
        let e = decide(&f, at(20));
        assert_eq!(e.tier, TRIAL_TIER);
        assert!(matches!(e.source, Source::Trial { .. }));
        assert_eq!(decide(&f, at(1) + Duration::days(30)).tier, TierId::Free);
        let subs = [sub("active", TierId::Premium)];
        let f = Facts {
            trial_days: 30,
            ..facts(&subs)
        };
        assert_eq!(decide(&f, at(20)).tier, TierId::Premium);
    }

    #[test]
    fn an_override_wins_over_everything() {
        let subs = [sub("active", TierId::Premium)];
        let f = Facts {
            override_tier: Some(TierId::Basic),
            ..facts(&subs)
        };
        assert_eq!(decide(&f, at(2)).source, Source::Override);
        assert_eq!(decide(&f, at(2)).tier, TierId::Basic);
    }

    #[test]
    fn a_refusal_names_the_feature_the_tier_and_the_cheapest_tier_with_it() {
        let table = TierTable::default();
        let free = table.get(TierId::Free);
        let msg = check(Feature::LiveTrading, free, table.tiers()).expect_err("refused");
        assert_eq!(
            msg,
            "Live trading is not included in your Free plan. It is included from Basic ($9/mo); upgrade on the Pricing page."
        );
        let msg =
            check(Feature::Cadence(Cadence::Daily), free, table.tiers()).expect_err("refused");
        assert!(msg.starts_with("Daily schedules are not included"), "{msg}");
        assert!(msg.contains("Pro ($19/mo)"), "{msg}");
        assert!(
            check(
                Feature::LiveTrading,
                table.get(TierId::Basic),
                table.tiers()
            )
            .is_ok()
        );
    }
}
