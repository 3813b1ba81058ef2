-- Billing (Stripe). Stripe is the source of truth for subscriptions; these rows
-- are the latest state fetched from it, and what Dripfeed last applied.

-- The Stripe customer of each user, created before their first Checkout and
-- reused for every later one.
CREATE TABLE stripe_customers (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_stripe_customer UNIQUE (customer_id)
);

-- Each subscription as last fetched from Stripe.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    price_id TEXT,
    -- The tier the price sells (NULL: a price this instance does not sell).
    tier TEXT,
    current_period_end TIMESTAMPTZ,
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
    cancel_at TIMESTAMPTZ,
    canceled_at TIMESTAMPTZ,
    trial_end TIMESTAMPTZ,
    -- When Dripfeed first saw it past_due (the grace period counts from here).
    past_due_since TIMESTAMPTZ,
    -- When the state in this row was requested from Stripe: a fetch that
    -- started earlier never overwrites one that started later.
    fetched_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_subscriptions_user ON subscriptions (user_id);

-- Webhook events already applied (deduplication), written in the same
-- transaction as their effect.
CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);

-- The tier Dripfeed last applied to the user (plans paused or resumed to
-- match), an admin's override, and when the entitlement must be looked at
-- again (a grace period or trial ending, or a change not yet applied).
ALTER TABLE users ADD COLUMN applied_tier TEXT;
ALTER TABLE users ADD COLUMN tier_override TEXT;
ALTER TABLE users ADD COLUMN entitlement_review_at TIMESTAMPTZ;
CREATE INDEX ix_users_entitlement_review ON users (entitlement_review_at);

-- Small facts about the instance, e.g. a digest of the billing settings the
-- engine last applied: when they change (billing turned on, another default
-- tier, a new tier table), every user's entitlement is reviewed again.
CREATE TABLE instance_facts (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Plans paused because the tier no longer allows them; they resume when it does.
ALTER TABLE plans ADD COLUMN paused_by_tier BOOLEAN NOT NULL DEFAULT FALSE;
