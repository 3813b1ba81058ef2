-- Strategy backtests run in the background for the API (issue #18): a sweep
-- reports its progress while it runs, and its report is kept to be read.
CREATE TABLE backtest_jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The StrategyQuery, as JSON.
    query TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    pairs_done BIGINT NOT NULL DEFAULT 0,
    pairs_total BIGINT NOT NULL,
    -- The StrategyReport, as JSON, once done.
    report TEXT,
    -- What went wrong, as the user is told, once failed.
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    -- Written every second while it runs: a job not touched for a minute
    -- lost the process running it.
    touched_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX ix_backtest_jobs_user ON backtest_jobs (user_id, id);
