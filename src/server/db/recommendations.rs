//! Recommendations, the user's settings for them, the daily jobs' claims,
//! the kill switches and the AI analyst's cache (migration
//! `recommendations`). Every read and decision is scoped by its owner.

use super::audit::NewAuditEntry;
use super::audit::audited;
use super::{Store, with_pool};
use crate::domain::recommendation::{Side, Signal, State};
use crate::domain::run::OrderState;
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RecommendationSettingsRow {
    pub user_id: i64,
    pub enabled: bool,
    pub watchlist: String,
    pub auto_exits: bool,
    pub connection_id: Option<i64>,
    pub max_position_pct: Option<String>,
    pub max_open_positions: Option<i64>,
    pub min_equity: Option<String>,
    pub max_drift_pct: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RecommendationRow {
    pub id: i64,
    pub user_id: i64,
    pub connection_id: i64,
    pub trading_date: NaiveDate,
    pub symbol: String,
    pub signal: Signal,
    pub side: Side,
    pub filters: String,
    pub quantity: String,
    pub notional: String,
    pub reference_price: String,
    pub bar_date: NaiveDate,
    pub stop_loss: Option<String>,
    pub take_profit: Option<String>,
    pub reason: String,
    pub snapshot: String,
    pub ai_analysis: Option<String>,
    pub state: State,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub ignore_reason: Option<String>,
    pub entry_id: Option<i64>,
    pub client_order_id: Option<String>,
    pub broker_order_id: Option<String>,
    pub order_status: Option<OrderState>,
    pub order_error: Option<String>,
    pub filled_qty: Option<String>,
    pub filled_avg_price: Option<String>,
    pub automatic: bool,
    pub forward_1d: Option<String>,
    pub forward_5d: Option<String>,
    pub forward_20d: Option<String>,
}

const COLUMNS: &str = "id, user_id, connection_id, trading_date, symbol, signal, side, filters, \
    quantity, notional, reference_price, bar_date, stop_loss, take_profit, reason, snapshot, \
    ai_analysis, state, created_at, expires_at, decided_at, ignore_reason, entry_id, \
    client_order_id, broker_order_id, order_status, order_error, filled_qty, filled_avg_price, \
    automatic, forward_1d, forward_5d, forward_20d";

const SETTINGS_COLUMNS: &str = "user_id, enabled, watchlist, auto_exits, connection_id, \
    max_position_pct, max_open_positions, min_equity, max_drift_pct, updated_at";

/// A recommendation to write (pending until someone decides).
#[derive(Debug, Clone)]
pub struct NewRecommendation {
    pub user_id: i64,
    pub connection_id: i64,
    pub trading_date: NaiveDate,
    pub symbol: String,
    pub signal: Signal,
    pub side: Side,
    pub filters: String,
    pub quantity: String,
    pub notional: String,
    pub reference_price: String,
    pub bar_date: NaiveDate,
    pub stop_loss: Option<String>,
    pub take_profit: Option<String>,
    pub reason: String,
    pub snapshot: String,
    pub ai_analysis: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub entry_id: Option<i64>,
}

/// A daily job's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Go,
    Analyze,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Go => "go",
            JobKind::Analyze => "analyze",
        }
    }
}

/// What an order did, as recorded on its recommendation.
#[derive(Debug, Clone)]
pub struct OrderOutcome<'a> {
    /// When the broker was asked.
    pub at: DateTime<Utc>,
    pub broker_order_id: Option<&'a str>,
    pub status: OrderState,
    pub error: Option<&'a str>,
    pub filled_qty: Option<String>,
    pub filled_avg_price: Option<String>,
}

impl Store {
    pub async fn recommendation_settings(
        &self,
        user_id: i64,
    ) -> anyhow::Result<Option<RecommendationSettingsRow>> {
        let sql =
            format!("SELECT {SETTINGS_COLUMNS} FROM recommendation_settings WHERE user_id = $1");
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, RecommendationSettingsRow>(&sql)
            .bind(user_id).fetch_optional(pool).await)?,
        )
    }

    /// Writes the user's settings (insert or replace), audited.
    pub async fn save_recommendation_settings(
        &self,
        s: &RecommendationSettingsRow,
        audit: NewAuditEntry,
    ) -> anyhow::Result<()> {
        let sql = format!(
            "INSERT INTO recommendation_settings ({SETTINGS_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (user_id) DO UPDATE SET enabled = excluded.enabled, \
             watchlist = excluded.watchlist, auto_exits = excluded.auto_exits, \
             connection_id = excluded.connection_id, \
             max_position_pct = excluded.max_position_pct, \
             max_open_positions = excluded.max_open_positions, \
             min_equity = excluded.min_equity, max_drift_pct = excluded.max_drift_pct, \
             updated_at = excluded.updated_at"
        );
        audited!(self, |tx| {
            sqlx::query(&sql)
                .bind(s.user_id)
                .bind(s.enabled)
                .bind(&s.watchlist)
                .bind(s.auto_exits)
                .bind(s.connection_id)
                .bind(&s.max_position_pct)
                .bind(s.max_open_positions)
                .bind(&s.min_equity)
                .bind(&s.max_drift_pct)
                .bind(s.updated_at)
                .execute(&mut *tx)
                .await?;
            ((), vec![audit])
        });
        Ok(())
    }

    /// The settings of every enabled, not disabled user whose `kind` job for
    /// `day` has not run yet (or whose claim's lease ran out at `now`), so
    /// a pass reads only the users it still has to run.
    pub async fn due_recommendation_settings(
        &self,
        kind: JobKind,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<RecommendationSettingsRow>> {
        let sql = format!(
            "SELECT {} FROM recommendation_settings s JOIN users u ON u.id = s.user_id \
             WHERE s.enabled = $1 AND u.disabled_at IS NULL AND NOT EXISTS (\
                 SELECT 1 FROM daily_jobs j WHERE j.kind = $2 AND j.user_id = s.user_id \
                 AND j.trading_date = $3 AND (j.status <> 'running' OR j.lease_until >= $4)) \
             ORDER BY s.user_id",
            SETTINGS_COLUMNS
                .split(", ")
                .map(|c| format!("s.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, RecommendationSettingsRow>(&sql)
            .bind(true).bind(kind.as_str()).bind(day).bind(now).fetch_all(pool).await)?,
        )
    }

    /// Claims the `kind` job of `user_id` for `day`: `true` for exactly one
    /// caller, however many instances ask at once, unless a claim's lease ran
    /// out before it finished (its instance died), when one other caller may
    /// take it over.
    pub async fn claim_daily_job(
        &self,
        kind: JobKind,
        user_id: i64,
        day: NaiveDate,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let sql = "INSERT INTO daily_jobs (kind, user_id, trading_date, status, claimed_by, \
                   lease_until, started_at) VALUES ($1, $2, $3, 'running', $4, $5, $6) \
                   ON CONFLICT (kind, user_id, trading_date) DO UPDATE SET \
                   claimed_by = excluded.claimed_by, lease_until = excluded.lease_until, \
                   started_at = excluded.started_at \
                   WHERE daily_jobs.status = 'running' AND daily_jobs.lease_until < excluded.started_at \
                   RETURNING kind";
        let claimed: Option<String> = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(kind.as_str()).bind(user_id).bind(day).bind(owner).bind(lease_until).bind(now)
            .fetch_optional(pool).await)?;
        Ok(claimed.is_some())
    }

    /// Records how a claimed job ended.
    pub async fn finish_daily_job(
        &self,
        kind: JobKind,
        user_id: i64,
        day: NaiveDate,
        ok: bool,
        detail: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let sql = "UPDATE daily_jobs SET status = $1, finished_at = $2, detail = $3 \
                   WHERE kind = $4 AND user_id = $5 AND trading_date = $6";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(if ok { "done" } else { "failed" }).bind(now).bind(detail)
            .bind(kind.as_str()).bind(user_id).bind(day)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes a recommendation unless that user already has one for this
    /// account, day, symbol and signal; its id if written.
    pub async fn insert_recommendation(
        &self,
        r: &NewRecommendation,
    ) -> anyhow::Result<Option<i64>> {
        let sql = "INSERT INTO recommendations (user_id, connection_id, trading_date, symbol, \
                   signal, side, filters, quantity, notional, reference_price, bar_date, \
                   stop_loss, take_profit, reason, snapshot, ai_analysis, state, created_at, \
                   expires_at, entry_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                   $12, $13, $14, $15, $16, 'pending', $17, $18, $19) \
                   ON CONFLICT (user_id, connection_id, trading_date, symbol, signal) DO NOTHING \
                   RETURNING id";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(r.user_id).bind(r.connection_id).bind(r.trading_date).bind(&r.symbol)
            .bind(r.signal).bind(r.side).bind(&r.filters).bind(&r.quantity).bind(&r.notional)
            .bind(&r.reference_price).bind(r.bar_date).bind(&r.stop_loss).bind(&r.take_profit)
            .bind(&r.reason).bind(&r.snapshot).bind(&r.ai_analysis).bind(r.created_at)
            .bind(r.expires_at).bind(r.entry_id)
            .fetch_optional(pool).await)?)
    }

    /// The user's recommendations, newest first.
    pub async fn recommendations_of(
        &self,
        user_id: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<RecommendationRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM recommendations WHERE user_id = $1 ORDER BY id DESC LIMIT $2"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, RecommendationRow>(&sql)
            .bind(user_id).bind(limit).fetch_all(pool).await)?,
        )
    }

    /// One of the user's recommendations; `None` if missing or not theirs.
    pub async fn recommendation_of(
        &self,
        user_id: i64,
        id: i64,
    ) -> anyhow::Result<Option<RecommendationRow>> {
        let sql = format!("SELECT {COLUMNS} FROM recommendations WHERE user_id = $1 AND id = $2");
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, RecommendationRow>(&sql)
            .bind(user_id).bind(id).fetch_optional(pool).await)?,
        )
    }

    /// Moves a pending, unexpired recommendation of the user to `to`
    /// (executed, with its order's client id, or ignored, with a reason) and
    /// records the decision in the audit log in the same transaction.
    /// `false` (and nothing written) if it was no longer pending.
    pub async fn decide_recommendation(
        &self,
        user_id: i64,
        id: i64,
        decision: Decision<'_>,
        now: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> anyhow::Result<bool> {
        let (state, client_order_id, reason, automatic) = match decision {
            Decision::Execute {
                client_order_id,
                automatic,
            } => (State::Executed, Some(client_order_id), None, automatic),
            Decision::Ignore { reason } => (State::Ignored, None, reason, false),
        };
        let sql = "UPDATE recommendations SET state = $1, decided_at = $2, client_order_id = $3, \
                   order_status = CASE WHEN $3 IS NULL THEN NULL ELSE 'intent' END, \
                   ignore_reason = $4, automatic = $5 \
                   WHERE user_id = $6 AND id = $7 AND state = 'pending' AND expires_at > $2";
        let decided = audited!(self, |tx| {
            let done = sqlx::query(sql)
                .bind(state)
                .bind(now)
                .bind(client_order_id)
                .bind(reason)
                .bind(automatic)
                .bind(user_id)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            (done, if done { vec![audit] } else { Vec::new() })
        });
        Ok(decided)
    }

    /// Records what the broker did with a recommendation's order.
    pub async fn set_recommendation_order(
        &self,
        id: i64,
        o: &OrderOutcome<'_>,
    ) -> anyhow::Result<()> {
        let sql = "UPDATE recommendations SET broker_order_id = COALESCE($1, broker_order_id), \
                   order_status = $2, order_error = $3, order_checked_at = $7, \
                   filled_qty = COALESCE($4, filled_qty), \
                   filled_avg_price = COALESCE($5, filled_avg_price) WHERE id = $6";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(o.broker_order_id).bind(o.status).bind(o.error).bind(&o.filled_qty)
            .bind(&o.filled_avg_price).bind(id).bind(o.at)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Marks pending recommendations past their expiry as expired.
    pub async fn expire_recommendations(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let sql = "UPDATE recommendations SET state = 'expired' \
                   WHERE state = 'pending' AND expires_at <= $1";
        Ok(
            with_pool!(self, pool => sqlx::query(sql).bind(now).execute(pool).await
            .map(|r| r.rows_affected()))?,
        )
    }

    /// The user's executed entries with stop or target
    /// levels and no exit executed or pending for them yet.
    pub async fn open_entries(&self, user_id: i64) -> anyhow::Result<Vec<RecommendationRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM recommendations r WHERE user_id = $1 \
             AND signal = 'entry' AND state = 'executed' \
             AND (stop_loss IS NOT NULL OR take_profit IS NOT NULL) \
             AND NOT EXISTS (SELECT 1 FROM recommendations x WHERE x.entry_id = r.id \
                 AND x.state IN ('pending', 'executed')) ORDER BY id"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, RecommendationRow>(&sql)
            .bind(user_id).fetch_all(pool).await)?,
        )
    }

    /// The user's decided or expired recommendations still missing a forward return.
    pub async fn unscored_recommendations(
        &self,
        user_id: i64,
    ) -> anyhow::Result<Vec<RecommendationRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM recommendations WHERE user_id = $1 AND state <> 'pending' \
             AND forward_20d IS NULL ORDER BY id"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, RecommendationRow>(&sql)
            .bind(user_id).fetch_all(pool).await)?,
        )
    }

    pub async fn set_forward_returns(
        &self,
        id: i64,
        forward: &[Option<String>; 3],
    ) -> anyhow::Result<()> {
        let sql = "UPDATE recommendations SET forward_1d = COALESCE($1, forward_1d), \
                   forward_5d = COALESCE($2, forward_5d), \
                   forward_20d = COALESCE($3, forward_20d) WHERE id = $4";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(&forward[0]).bind(&forward[1]).bind(&forward[2]).bind(id)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// When the user first traded on paper with Dripfeed (a plan's filled
    /// order or an executed recommendation on a demo or paper account).
    pub async fn first_paper_trade_at(
        &self,
        user_id: i64,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let sql = "SELECT MIN(t) FROM (\
             SELECT o.updated_at AS t FROM slot_orders o \
             JOIN plan_slots s ON s.id = o.slot_id JOIN plans p ON p.id = s.plan_id \
             JOIN broker_connections c ON c.id = p.connection_id \
             WHERE c.user_id = $1 AND c.environment IN ('demo', 'paper') AND o.status = 'filled' \
             UNION ALL \
             SELECT r.decided_at AS t FROM recommendations r \
             JOIN broker_connections c ON c.id = r.connection_id \
             WHERE r.user_id = $1 AND c.environment IN ('demo', 'paper') \
             AND r.state = 'executed' AND r.order_status = 'filled') x";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(user_id).fetch_one(pool).await)?)
    }

    /// Executed recommendations of anyone whose order is not settled yet
    /// and was not looked up since `checked_before`.
    pub async fn unsettled_recommendation_orders(
        &self,
        checked_before: DateTime<Utc>,
    ) -> anyhow::Result<Vec<RecommendationRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM recommendations WHERE state = 'executed' \
             AND order_status IN ('intent', 'submitted', 'unknown') \
             AND decided_at < $1 AND (order_checked_at IS NULL OR order_checked_at < $1) \
             ORDER BY id"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, RecommendationRow>(&sql)
            .bind(checked_before).fetch_all(pool).await)?,
        )
    }

    /// When the user's kill switch was set, if it is.
    pub async fn trading_stopped_at(&self, user_id: i64) -> anyhow::Result<Option<DateTime<Utc>>> {
        let sql = "SELECT trading_stopped_at FROM users WHERE id = $1";
        let at: Option<Option<DateTime<Utc>>> = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(user_id).fetch_optional(pool).await)?;
        Ok(at.flatten())
    }

    /// Of these users, those whose kill switch is on.
    pub async fn trading_stopped_user_ids(
        &self,
        ids: &[i64],
    ) -> anyhow::Result<std::collections::HashSet<i64>> {
        let rows: Vec<(i64,)> = self
            .by_ids(ids, |list| {
                format!(
                    "SELECT id FROM users WHERE trading_stopped_at IS NOT NULL AND id IN ({list})"
                )
            })
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Sets or resets the user's kill switch; setting it also pauses their
    /// active plans. Audited in the same transaction; `false` if it was
    /// already in that position.
    pub async fn set_trading_stopped(
        &self,
        user_id: i64,
        stop: bool,
        now: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> anyhow::Result<(bool, u64)> {
        let out = audited!(self, |tx| {
            let changed = if stop {
                sqlx::query(
                    "UPDATE users SET trading_stopped_at = $1 WHERE id = $2 \
                     AND trading_stopped_at IS NULL",
                )
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
            } else {
                sqlx::query(
                    "UPDATE users SET trading_stopped_at = NULL WHERE id = $1 \
                     AND trading_stopped_at IS NOT NULL",
                )
                .bind(user_id)
                .execute(&mut *tx)
                .await?
            }
            .rows_affected()
                == 1;
            let paused = if changed && stop {
                sqlx::query(
                    "UPDATE plans SET status = 'paused', updated_at = $1 \
                     WHERE user_id = $2 AND status = 'active'",
                )
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
            } else {
                0
            };
            let mut audit = audit;
            if let Some(detail) = audit.detail.as_object_mut() {
                detail.insert("plans_paused".into(), paused.into());
            }
            (
                (changed, paused),
                if changed { vec![audit] } else { Vec::new() },
            )
        });
        Ok(out)
    }

    /// The instance-wide kill switch: when it was set and by whom.
    pub async fn global_kill_switch(&self) -> anyhow::Result<Option<GlobalStop>> {
        let sql = "SELECT value FROM instance_facts WHERE key = 'kill_switch'";
        let value: Option<String> = with_pool!(self, pool => sqlx::query_scalar(sql)
            .fetch_optional(pool).await)?;
        value
            .map(|v| {
                serde_json::from_str(&v)
                    .map_err(|e| anyhow::anyhow!("the stored kill switch is unreadable: {e}"))
            })
            .transpose()
    }

    /// Sets (`Some`) or resets (`None`) the instance-wide kill switch,
    /// audited; `false` if it was already so.
    pub async fn set_global_kill_switch(
        &self,
        stop: Option<&GlobalStop>,
        audit: NewAuditEntry,
    ) -> anyhow::Result<bool> {
        let value = stop.map(serde_json::to_string).transpose()?;
        let changed = audited!(self, |tx| {
            let changed = match &value {
                Some(v) => sqlx::query(
                    "INSERT INTO instance_facts (key, value) VALUES ('kill_switch', $1) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(v)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                None => sqlx::query("DELETE FROM instance_facts WHERE key = 'kill_switch'")
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
            } == 1;
            (changed, if changed { vec![audit] } else { Vec::new() })
        });
        Ok(changed)
    }

    /// The cached AI analysis for a symbol's signal on a bar's date.
    pub async fn ai_analysis(
        &self,
        symbol: &str,
        signal: Signal,
        bar_date: NaiveDate,
    ) -> anyhow::Result<Option<String>> {
        let sql = "SELECT analysis FROM ai_analyses WHERE symbol = $1 AND signal = $2 \
                   AND bar_date = $3";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(symbol).bind(signal).bind(bar_date).fetch_optional(pool).await)?)
    }

    pub async fn save_ai_analysis(
        &self,
        symbol: &str,
        signal: Signal,
        bar_date: NaiveDate,
        model: &str,
        analysis: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let sql = "INSERT INTO ai_analyses (symbol, signal, bar_date, model, analysis, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6) \
                   ON CONFLICT (symbol, signal, bar_date) DO NOTHING";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(symbol).bind(signal).bind(bar_date).bind(model).bind(analysis).bind(now)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Takes one call from `day`'s budget of `budget`: `false` when spent.
    pub async fn take_ai_call(&self, day: NaiveDate, budget: u32) -> anyhow::Result<bool> {
        let sql = "INSERT INTO ai_calls (day, calls, failures) VALUES ($1, 1, 0) \
                   ON CONFLICT (day) DO UPDATE SET calls = ai_calls.calls + 1 \
                   WHERE ai_calls.calls < $2 RETURNING calls";
        if budget == 0 {
            return Ok(false);
        }
        let taken: Option<i32> = with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(day).bind(i64::from(budget)).fetch_optional(pool).await)?;
        Ok(taken.is_some())
    }

    /// Counts a failed AI call for `day`.
    pub async fn count_ai_failure(&self, day: NaiveDate) -> anyhow::Result<()> {
        let sql = "UPDATE ai_calls SET failures = failures + 1 WHERE day = $1";
        with_pool!(self, pool => sqlx::query(sql).bind(day).execute(pool).await.map(|_| ()))?;
        Ok(())
    }
}

/// How a user decided.
#[derive(Debug, Clone, Copy)]
pub enum Decision<'a> {
    Execute {
        client_order_id: &'a str,
        /// Placed by the user's automatic-exit rule, not a click.
        automatic: bool,
    },
    Ignore {
        reason: Option<&'a str>,
    },
}

/// Who set the instance-wide kill switch, and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GlobalStop {
    pub by_user_id: i64,
    pub at: DateTime<Utc>,
    pub reason: String,
}
