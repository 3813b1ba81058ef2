-- In-app notifications: what the engine did with a user's plans (fills,
-- skips, misses, failures), newest first on the notifications page.
CREATE TABLE notifications (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- fill, skip, miss or failure
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    plan_id BIGINT REFERENCES plans (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    read_at TIMESTAMPTZ
);
CREATE INDEX ix_notifications_user ON notifications (user_id, id);
