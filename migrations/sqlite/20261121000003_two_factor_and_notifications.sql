-- Two-factor authentication, notification preferences.
-- The TOTP secret is sealed with the application key (see server/crypto.rs):
-- "v1:<key id>:<base64 nonce+ciphertext>", never the secret itself.
ALTER TABLE users ADD COLUMN totp_secret_sealed TEXT;
-- Set once the user has confirmed enrolment with a valid code.
ALTER TABLE users ADD COLUMN totp_enabled_at TEXT;
-- The last 30-second time step a code was accepted for: a code cannot be
-- used twice.
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
-- Where notifications go; NULL means the sign-in email.
ALTER TABLE users ADD COLUMN notification_email TEXT;
ALTER TABLE users ADD COLUMN notify_on_fill INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN notify_on_skip INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN notify_security INTEGER NOT NULL DEFAULT 1;

-- One-time recovery codes, stored as SHA-256 hashes (they are random and
-- long, so a fast hash suffices). A used code keeps its row with used_at set.
CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TEXT,
    CONSTRAINT uq_recovery_code UNIQUE (user_id, code_hash)
);
