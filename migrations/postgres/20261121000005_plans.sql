-- Dollar-cost-averaging plans. A plan's schedule is stored as the JSON of the
-- domain types (domain/schedule.rs), so what the engine reads back is exactly
-- what was validated. Amounts are canonical decimal text, never floats.
CREATE TABLE plans (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- NULL once the connection is removed: the plan is paused until the user
    -- picks another.
    connection_id BIGINT REFERENCES broker_connections (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'ended')),
    cadence TEXT NOT NULL,
    time_of_day TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE,
    -- Stop once this many dollars have been invested (NULL: no limit).
    max_total TEXT,
    mode TEXT NOT NULL,
    -- When the plan last became active (created or resumed), in the engine's
    -- time: runs before it are not owed.
    active_since TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ
);
CREATE INDEX ix_plans_user ON plans (user_id);

-- The symbols of a plan and the dollars each buys per run.
CREATE TABLE plan_legs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id BIGINT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    symbol TEXT NOT NULL,
    amount TEXT NOT NULL,
    CONSTRAINT uq_plan_leg_symbol UNIQUE (plan_id, symbol)
);
