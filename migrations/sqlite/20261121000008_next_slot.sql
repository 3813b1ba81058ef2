-- The instant of each plan's next run, kept by the engine, so a pass reads
-- only the plans that are due instead of every plan (NULL: work it out).
ALTER TABLE plans ADD COLUMN next_slot_at TEXT;
CREATE INDEX ix_plans_next_slot ON plans (status, next_slot_at);
