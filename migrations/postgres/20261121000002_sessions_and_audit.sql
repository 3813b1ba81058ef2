-- Server-side sessions. The cookie holds a random id; only its SHA-256 is kept
-- here, so reading this table does not let anyone take over a session.
CREATE TABLE sessions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash TEXT NOT NULL,
    -- NULL until someone signs in with this session.
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    -- tower-sessions' JSON data: who is signed in and when; never a secret.
    data TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    -- Idle expiry, pushed forward on every request.
    expires_at TIMESTAMPTZ NOT NULL,
    user_agent TEXT,
    ip TEXT,
    CONSTRAINT uq_sessions_token UNIQUE (token_hash)
);
CREATE INDEX ix_sessions_user ON sessions (user_id);
CREATE INDEX ix_sessions_expires ON sessions (expires_at);

-- Append-only, hash-chained record of security- and money-relevant events.
-- No foreign keys: the record outlives the accounts it mentions.
CREATE TABLE audit_log (
    -- Assigned by the writer as previous + 1 under a lock, so ids have no gaps.
    id BIGINT PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor_user_id BIGINT,
    subject_user_id BIGINT,
    action TEXT NOT NULL,
    -- JSON; never a password, token, code or session id.
    detail TEXT NOT NULL,
    ip TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    CONSTRAINT uq_audit_hash UNIQUE (hash)
);
CREATE INDEX ix_audit_subject ON audit_log (subject_user_id);
CREATE INDEX ix_audit_actor ON audit_log (actor_user_id);
