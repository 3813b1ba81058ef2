-- The engine's record of every run. A slot is written (unique per plan and
-- instant) before anything is sent; an order row (the intent) is written
-- before its submission, with a deterministic client order id, so a crash at
-- any moment leaves enough to find out what the broker did.
CREATE TABLE plan_slots (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id BIGINT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    scheduled_at TIMESTAMPTZ NOT NULL,
    trading_date DATE NOT NULL,
    -- pending → running → submitted → filled | partially_filled | rejected |
    -- canceled | expired | failed; or skipped / missed without an order.
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'submitted', 'filled',
        'partially_filled', 'rejected', 'canceled', 'expired', 'failed', 'skipped', 'missed')),
    reason TEXT,
    -- The engine instance working on it, and until when its claim holds.
    claimed_by TEXT,
    lease_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    CONSTRAINT uq_plan_slot UNIQUE (plan_id, scheduled_at)
);
CREATE INDEX ix_plan_slots_due ON plan_slots (status, scheduled_at);

CREATE TABLE slot_orders (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slot_id BIGINT NOT NULL REFERENCES plan_slots (id) ON DELETE CASCADE,
    symbol TEXT NOT NULL,
    notional TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    broker_order_id TEXT,
    -- intent (written, maybe sent) → submitted → a broker terminal state, or
    -- not_placed (the broker confirms it has no such order).
    status TEXT NOT NULL,
    filled_qty TEXT NOT NULL DEFAULT '0',
    filled_avg_price TEXT,
    reason TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_slot_order_symbol UNIQUE (slot_id, symbol),
    CONSTRAINT uq_slot_order_client_id UNIQUE (client_order_id)
);

-- Smart DCA: dollars carried over from skipped runs, per plan symbol.
ALTER TABLE plan_legs ADD COLUMN carry TEXT NOT NULL DEFAULT '0';

-- On SQLite one engine runs per database: it holds this lease and renews it
-- every pass (PostgreSQL shares the work through row locks instead).
CREATE TABLE engine_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
