-- Each plan's missed-run policy: after downtime, a run is caught up if the
-- engine is back within this many minutes of its time (NULL: any time in the
-- same trading session), otherwise it is marked missed.
ALTER TABLE plans ADD COLUMN catch_up_minutes BIGINT;
