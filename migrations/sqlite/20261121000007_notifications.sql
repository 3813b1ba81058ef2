-- In-app notifications: what the engine did with a user's plans (fills,
-- skips, misses, failures), newest first on the notifications page.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- fill, skip, miss or failure
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    plan_id INTEGER REFERENCES plans (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX ix_notifications_user ON notifications (user_id, id);
