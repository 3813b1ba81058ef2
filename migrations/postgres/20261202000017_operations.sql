-- Operations (issue #18): which engine instances are alive and when each last
-- finished a pass, and the alerts raised to administrators.
CREATE TABLE engine_instances (
    name TEXT PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    last_pass_at TIMESTAMPTZ NOT NULL,
    passes BIGINT NOT NULL DEFAULT 0
);

-- An alert is raised once per condition (`kind`) while it holds, and cleared
-- when it no longer does; a later return of the condition is a new alert.
CREATE TABLE admin_alerts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('go_missed', 'runs_unresolved', 'broker_errors',
        'webhook_failures', 'database_not_ready', 'outbox_backlog')),
    title TEXT NOT NULL,
    detail TEXT NOT NULL,
    raised_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    cleared_at TIMESTAMPTZ,
    emailed_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX uq_admin_alert_open ON admin_alerts (kind) WHERE cleared_at IS NULL;
