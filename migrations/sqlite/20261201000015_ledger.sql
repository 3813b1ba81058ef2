-- The ledger (issue #17): each connection's account activities as the broker
-- reports them (fills, deposits and withdrawals, dividends, fees, splits,
-- and types Dripfeed does not read, kept as they came), synced
-- incrementally and idempotently: an activity is stored once per connection
-- however often a sync sees it.
CREATE TABLE ledger_activities (
    id INTEGER PRIMARY KEY,
    connection_id INTEGER NOT NULL REFERENCES broker_connections (id) ON DELETE CASCADE,
    -- The broker's id ("<time>::<uuid>" at Alpaca).
    activity_id TEXT NOT NULL,
    -- Alpaca's activity type as sent (FILL, CSD, DIV, SPLIT, ...).
    activity_type TEXT NOT NULL,
    -- The trading day it belongs to (a fill's New York date, otherwise `date`).
    occurred_on TEXT NOT NULL,
    occurred_at TEXT,
    symbol TEXT,
    side TEXT CHECK (side IS NULL OR side IN ('buy', 'sell')),
    qty TEXT,
    price TEXT,
    net_amount TEXT,
    per_share_amount TEXT,
    order_id TEXT,
    -- The JSON object as the broker sent it.
    raw TEXT NOT NULL,
    synced_at TEXT NOT NULL,
    CONSTRAINT uq_ledger_activity UNIQUE (connection_id, activity_id)
);
CREATE INDEX ix_ledger_activities_day ON ledger_activities (connection_id, occurred_on);

-- How far each connection's ledger is synced: the latest activity day seen
-- (the next sync re-reads a few days before it, for late arrivals).
CREATE TABLE ledger_syncs (
    connection_id INTEGER PRIMARY KEY REFERENCES broker_connections (id) ON DELETE CASCADE,
    last_day TEXT,
    synced_at TEXT NOT NULL
);
