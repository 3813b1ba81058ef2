-- People who sign in to Dripfeed. Brokerage credentials, plans and sessions hang
-- off this table in later migrations.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    -- As typed at sign-up, for display and for sending mail.
    email TEXT NOT NULL,
    -- Lower-cased and trimmed: the unique login key, so "Ann@x.com" and
    -- "ann@x.com" cannot become two accounts.
    email_normalized TEXT NOT NULL,
    -- An argon2id PHC string. Never a password.
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    -- IANA zone name; schedules are written in it.
    time_zone TEXT NOT NULL DEFAULT 'America/New_York',
    -- The Terms of Service version the user accepted, and when (UTC).
    terms_version TEXT NOT NULL,
    terms_accepted_at TEXT NOT NULL,
    -- Set when an admin disables the account: no sign-in while set.
    disabled_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT uq_users_email UNIQUE (email_normalized)
);
