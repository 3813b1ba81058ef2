-- Every state column names only a known state (the domain enums in
-- src/domain/run.rs and Stripe's subscription statuses). plan_slots,
-- plans and broker_connections had their CHECKs from the start.
ALTER TABLE slot_orders ADD CONSTRAINT ck_slot_orders_status CHECK (status IN (
    'intent', 'submitted', 'unknown', 'filled', 'canceled', 'expired', 'rejected',
    'not_placed', 'failed'));
ALTER TABLE subscriptions ADD CONSTRAINT ck_subscriptions_status CHECK (status IN (
    'incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled',
    'unpaid', 'paused'));
