-- Personal API tokens (issue #18): a Pro user's programs call /api/v1 with
-- a bearer token. Only its SHA-256 is kept; the token itself is shown once.
CREATE TABLE api_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The first characters of the token ("dft_ab12cd"), to tell tokens apart.
    prefix TEXT NOT NULL,
    -- Hex SHA-256 of the whole token.
    token_hash TEXT NOT NULL UNIQUE,
    -- `read`: look only; `trade`: also change plans and execute recommendations.
    scope TEXT NOT NULL CHECK (scope IN ('read', 'trade')),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX ix_api_tokens_user ON api_tokens (user_id);

-- Idempotency keys of POST requests: the first answer, returned again for a
-- repeat with the same key and body. A key is the user's own.
CREATE TABLE api_idempotency (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    -- Hex SHA-256 of method, path and body: a different request under the
    -- same key is refused.
    request_hash TEXT NOT NULL,
    -- NULL while the first request is still being answered.
    status INTEGER,
    body TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
