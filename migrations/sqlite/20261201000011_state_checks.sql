-- Every state column names only a known state (the domain enums in
-- src/domain/run.rs and Stripe's subscription statuses). plan_slots,
-- plans and broker_connections had their CHECKs from the start. SQLite
-- cannot add a CHECK to an existing table, so triggers refuse the same
-- values on insert and on update.
CREATE TRIGGER ck_slot_orders_status_insert BEFORE INSERT ON slot_orders
WHEN NEW.status NOT IN ('intent', 'submitted', 'unknown', 'filled', 'canceled', 'expired',
    'rejected', 'not_placed', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: slot_orders.status');
END;
CREATE TRIGGER ck_slot_orders_status_update BEFORE UPDATE OF status ON slot_orders
WHEN NEW.status NOT IN ('intent', 'submitted', 'unknown', 'filled', 'canceled', 'expired',
    'rejected', 'not_placed', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: slot_orders.status');
END;
CREATE TRIGGER ck_subscriptions_status_insert BEFORE INSERT ON subscriptions
WHEN NEW.status NOT IN ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due',
    'canceled', 'unpaid', 'paused')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: subscriptions.status');
END;
CREATE TRIGGER ck_subscriptions_status_update BEFORE UPDATE OF status ON subscriptions
WHEN NEW.status NOT IN ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due',
    'canceled', 'unpaid', 'paused')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: subscriptions.status');
END;
