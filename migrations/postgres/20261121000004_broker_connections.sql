-- A user's brokerage connections. Dripfeed never holds funds: a connection is
-- only the right to act on the user's own Alpaca account.
CREATE TABLE broker_connections (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- What the user sees ("Demo paper account", "Alpaca paper …1234").
    label TEXT NOT NULL,
    -- demo: the embedded paper exchange; paper / live: Alpaca's hosts.
    environment TEXT NOT NULL CHECK (environment IN ('demo', 'paper', 'live')),
    auth_kind TEXT NOT NULL CHECK (auth_kind IN ('api_key', 'oauth')),
    -- The last four characters of the API key id, the only part ever shown.
    key_hint TEXT,
    -- Sealed JSON with the key id and secret, or the OAuth access token
    -- (server/crypto.rs): never the credentials themselves.
    credentials_sealed TEXT NOT NULL,
    -- reconnect_needed: the broker refused the credentials (Alpaca issues no
    -- refresh tokens, so the user must connect again).
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'reconnect_needed')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_broker_connection_label UNIQUE (user_id, label)
);
CREATE INDEX ix_broker_connections_user ON broker_connections (user_id);
