-- What each process saw, by minute (issue #18): broker requests, Stripe
-- webhook deliveries and e-mail sends, written every few seconds so the
-- health page and the alerts add up every instance. Kept for an hour.
CREATE TABLE ops_samples (
    instance TEXT NOT NULL,
    -- Minutes since 1970-01-01 UTC.
    minute BIGINT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('broker', 'webhook', 'mail')),
    -- The broker's environment; '' for the others.
    subject TEXT NOT NULL,
    -- 'ok' or the failure's status or kind; Stripe's answer; 'sent' or 'failed'.
    outcome TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (instance, minute, source, subject, outcome)
);
CREATE INDEX ix_ops_samples_minute ON ops_samples (minute);
