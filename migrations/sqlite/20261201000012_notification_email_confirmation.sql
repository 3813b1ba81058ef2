-- A notification address is used only after its owner confirms it: a new
-- address waits here with the SHA-256 of its one-time link's token (never the
-- token itself) until the link is opened, or it expires.
ALTER TABLE users ADD COLUMN pending_notification_email TEXT;
ALTER TABLE users ADD COLUMN pending_email_token_hash TEXT;
ALTER TABLE users ADD COLUMN pending_email_expires_at TEXT;
