-- Dollar-cost-averaging plans. A plan's schedule is stored as the JSON of the
-- domain types (domain/schedule.rs), so what the engine reads back is exactly
-- what was validated. Amounts are canonical decimal text, never floats.
CREATE TABLE plans (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- NULL once the connection is removed: the plan is paused until the user
    -- picks another.
    connection_id INTEGER REFERENCES broker_connections (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'ended')),
    cadence TEXT NOT NULL,
    time_of_day TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT,
    -- Stop once this many dollars have been invested (NULL: no limit).
    max_total TEXT,
    mode TEXT NOT NULL,
    -- When the plan last became active (created or resumed), in the engine's
    -- time: runs before it are not owed.
    active_since TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX ix_plans_user ON plans (user_id);

-- The symbols of a plan and the dollars each buys per run.
CREATE TABLE plan_legs (
    id INTEGER PRIMARY KEY,
    plan_id INTEGER NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    amount TEXT NOT NULL,
    CONSTRAINT uq_plan_leg_symbol UNIQUE (plan_id, symbol)
);
