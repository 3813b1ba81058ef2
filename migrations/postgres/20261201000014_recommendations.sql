-- Recommendations (issue #16): a daily analysis proposes, the user decides.
-- Nothing here is ever traded without the user's approval of that one
-- recommendation, except exits the user switched on (auto_exits).

-- A user's choices: whether the daily analysis runs for them, on which
-- symbols and account, automatic exits, and their own (only tighter) rails.
CREATE TABLE recommendation_settings (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    -- Symbols, comma-separated, upper case.
    watchlist TEXT NOT NULL,
    auto_exits BOOLEAN NOT NULL DEFAULT FALSE,
    -- The account recommendations are sized against and executed on.
    connection_id BIGINT REFERENCES broker_connections (id) ON DELETE SET NULL,
    max_position_pct TEXT,
    max_open_positions BIGINT,
    min_equity TEXT,
    max_drift_pct TEXT,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE recommendations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES broker_connections (id) ON DELETE CASCADE,
    -- The trading day it is for (GO on that morning, ANALYZE after its close).
    trading_date DATE NOT NULL,
    symbol TEXT NOT NULL,
    signal TEXT NOT NULL CHECK (signal IN ('entry', 'exit', 'stop_loss', 'take_profit')),
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    -- Which filters were on (e.g. 'volume+trend', or 'none').
    filters TEXT NOT NULL,
    quantity TEXT NOT NULL,
    notional TEXT NOT NULL,
    reference_price TEXT NOT NULL,
    -- The close the signal came from.
    bar_date DATE NOT NULL,
    stop_loss TEXT,
    take_profit TEXT,
    reason TEXT NOT NULL,
    -- JSON: the indicator values behind it.
    snapshot TEXT NOT NULL,
    -- JSON: the AI analyst's rationale, risks and confidence, when configured.
    ai_analysis TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'executed', 'ignored', 'expired')),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    decided_at TIMESTAMPTZ,
    ignore_reason TEXT,
    -- An exit points at the entry it closes.
    entry_id BIGINT REFERENCES recommendations (id) ON DELETE SET NULL,
    -- The order, once executed: its deterministic id, the broker's, and state.
    client_order_id TEXT,
    broker_order_id TEXT,
    order_status TEXT CHECK (order_status IN ('intent', 'submitted', 'unknown', 'filled',
        'canceled', 'expired', 'rejected', 'not_placed', 'failed')),
    order_error TEXT,
    -- When the order was last looked up at the broker.
    order_checked_at TIMESTAMPTZ,
    filled_qty TEXT,
    filled_avg_price TEXT,
    -- Whether an exit was placed by the user's automatic-exit rule.
    automatic BOOLEAN NOT NULL DEFAULT FALSE,
    -- Forward returns from the reference price after 1, 5 and 20 trading days.
    forward_1d TEXT,
    forward_5d TEXT,
    forward_20d TEXT,
    CONSTRAINT uq_recommendation UNIQUE (user_id, connection_id, trading_date, symbol, signal),
    CONSTRAINT uq_recommendation_client_order_id UNIQUE (client_order_id)
);
CREATE INDEX ix_recommendations_user ON recommendations (user_id, id);
CREATE INDEX ix_recommendations_pending ON recommendations (state, expires_at);

-- The daily jobs: one row per kind, user and trading day, written by
-- whichever instance claims it first (the primary key makes it exactly once);
-- a claim whose lease ran out (its instance died) may be taken over.
CREATE TABLE daily_jobs (
    kind TEXT NOT NULL CHECK (kind IN ('go', 'analyze')),
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    trading_date DATE NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    claimed_by TEXT NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    detail TEXT,
    PRIMARY KEY (kind, user_id, trading_date)
);
CREATE INDEX ix_daily_jobs_finished ON daily_jobs (kind, finished_at);

-- The user's kill switch: while set, no plan buys, no recommendation executes
-- and no automatic exit is placed. The instance-wide one is the
-- 'kill_switch' row of instance_facts.
ALTER TABLE users ADD COLUMN trading_stopped_at TIMESTAMPTZ;

-- The AI analyst's answers: market facts only, so one per symbol, signal and
-- day serves every user.
CREATE TABLE ai_analyses (
    symbol TEXT NOT NULL,
    signal TEXT NOT NULL,
    bar_date DATE NOT NULL,
    model TEXT NOT NULL,
    analysis TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (symbol, signal, bar_date)
);

-- Calls made to the AI analyst per day, against the daily budget.
CREATE TABLE ai_calls (
    day DATE PRIMARY KEY,
    calls INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0
);
