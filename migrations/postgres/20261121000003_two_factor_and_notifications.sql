-- Two-factor authentication, notification preferences.
-- The TOTP secret is sealed with the application key (see server/crypto.rs):
-- "v1:<key id>:<base64 nonce+ciphertext>", never the secret itself.
ALTER TABLE users ADD COLUMN totp_secret_sealed TEXT;
-- Set once the user has confirmed enrolment with a valid code.
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMPTZ;
-- The last 30-second time step a code was accepted for: a code cannot be
-- used twice.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
-- Where notifications go; NULL means the sign-in email.
ALTER TABLE users ADD COLUMN notification_email TEXT;
ALTER TABLE users ADD COLUMN notify_on_fill BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN notify_on_skip BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN notify_security BOOLEAN NOT NULL DEFAULT TRUE;

-- One-time recovery codes, stored as SHA-256 hashes (they are random and
-- long, so a fast hash suffices). A used code keeps its row with used_at set.
CREATE TABLE recovery_codes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMPTZ,
    CONSTRAINT uq_recovery_code UNIQUE (user_id, code_hash)
);
