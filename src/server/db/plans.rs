//! DCA plans and their legs. Every read and change is scoped by the owner.

use super::rows::{PlanLegRow, PlanRow};
use super::{Store, with_pool};
use chrono::{DateTime, NaiveDate, Utc};

/// A validated plan about to be saved (schedule parts as domain JSON).
#[derive(Debug)]
pub struct NewPlan<'a> {
    pub user_id: i64,
    pub connection_id: i64,
    pub name: &'a str,
    pub cadence: &'a str,
    pub time_of_day: &'a str,
    pub time_zone: &'a str,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub max_total: Option<String>,
    pub mode: &'a str,
    /// The engine's now: runs before it are not owed.
    pub active_since: DateTime<Utc>,
    /// (symbol, amount as canonical decimal text)
    pub legs: Vec<(String, String)>,
    /// Catch up a run missed by downtime only within this many minutes.
    pub catch_up_minutes: Option<i64>,
}

pub(super) const COLUMNS: &str = "id, user_id, connection_id, name, status, cadence, time_of_day, \
                       time_zone, start_date, end_date, max_total, mode, active_since, created_at, \
                       updated_at, ended_at, next_slot_at, catch_up_minutes, paused_by_tier";

impl Store {
    /// Saves a plan and its legs in one transaction.
    pub async fn insert_plan(&self, p: &NewPlan<'_>) -> anyhow::Result<i64> {
        let now = super::now();
        let id = with_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO plans (user_id, connection_id, name, status, cadence, time_of_day, \
                 time_zone, start_date, end_date, max_total, mode, active_since, created_at, updated_at, \
                 catch_up_minutes) \
                 VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, $12, $11, $11, $13) RETURNING id")
                .bind(p.user_id)
                .bind(p.connection_id)
                .bind(p.name)
                .bind(p.cadence)
                .bind(p.time_of_day)
                .bind(p.time_zone)
                .bind(p.start_date)
                .bind(p.end_date)
                .bind(p.max_total.as_deref())
                .bind(p.mode)
                .bind(now)
                .bind(p.active_since)
                .bind(p.catch_up_minutes)
                .fetch_one(&mut *tx)
                .await?;
            for (position, (symbol, amount)) in p.legs.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO plan_legs (plan_id, position, symbol, amount) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(i64::try_from(position).unwrap_or(i64::MAX))
                    .bind(symbol)
                    .bind(amount)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<i64, sqlx::Error>(id)
        }.await)?;
        Ok(id)
    }

    /// The user's plans, newest first.
    pub async fn plans_of(&self, user_id: i64) -> anyhow::Result<Vec<PlanRow>> {
        let sql = format!("SELECT {COLUMNS} FROM plans WHERE user_id = $1 ORDER BY id DESC");
        Ok(with_pool!(self, pool => sqlx::query_as::<_, PlanRow>(&sql)
            .bind(user_id)
            .fetch_all(pool)
            .await)?)
    }

    /// One of the user's plans; `None` if missing or someone else's.
    pub async fn plan_of(&self, user_id: i64, id: i64) -> anyhow::Result<Option<PlanRow>> {
        let sql = format!("SELECT {COLUMNS} FROM plans WHERE user_id = $1 AND id = $2");
        Ok(with_pool!(self, pool => sqlx::query_as::<_, PlanRow>(&sql)
            .bind(user_id)
            .bind(id)
            .fetch_optional(pool)
            .await)?)
    }

    /// The legs of the given plans, in each plan's order.
    pub async fn legs_of(&self, plan_ids: &[i64]) -> anyhow::Result<Vec<PlanLegRow>> {
        if plan_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = plan_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // The ids are integers from our own rows, not user text.
        let sql = format!(
            "SELECT plan_id, position, symbol, amount FROM plan_legs \
             WHERE plan_id IN ({list}) ORDER BY plan_id, position"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, PlanLegRow>(&sql)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// How many of the user's plans are running (what tier plan limits count).
    pub async fn active_plan_count(&self, user_id: i64) -> anyhow::Result<i64> {
        let sql = "SELECT COUNT(*) FROM plans WHERE user_id = $1 AND status = 'active'";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(user_id)
            .fetch_one(pool)
            .await)?)
    }

    /// Moves one of the user's plans from one of `from` to `to`; `false` if
    /// it is not theirs or not in such a state.
    /// Becoming active stamps `active_since` with `at` (the engine's now).
    pub async fn set_plan_status(
        &self,
        user_id: i64,
        id: i64,
        from: &[&str],
        to: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let now = super::now();
        let allowed = from
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(",");
        // `from` and `to` are our own constants, never user text.
        let sql = format!(
            "UPDATE plans SET status = $1, updated_at = $2, \
             ended_at = CASE WHEN $1 = 'ended' THEN $2 ELSE ended_at END, \
             active_since = CASE WHEN $1 = 'active' THEN $5 ELSE active_since END, \
             paused_by_tier = CASE WHEN $1 = 'paused' THEN paused_by_tier ELSE FALSE END \
             WHERE user_id = $3 AND id = $4 AND status IN ({allowed})"
        );
        let n = with_pool!(self, pool => sqlx::query(&sql)
            .bind(to)
            .bind(now)
            .bind(user_id)
            .bind(id)
            .bind(at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Replaces one of the user's open plans' settings and legs (keeping
    /// smart DCA carry of symbols it still buys) in one transaction; runs owed
    /// start again from `p.active_since`, so the change applies to future runs
    /// only. `false` if the plan is not theirs or has ended.
    pub async fn update_plan(&self, id: i64, p: &NewPlan<'_>) -> anyhow::Result<bool> {
        let now = super::now();
        let updated = with_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE plans SET connection_id = $1, name = $2, cadence = $3, time_of_day = $4, \
                 time_zone = $5, start_date = $6, end_date = $7, max_total = $8, mode = $9, \
                 active_since = CASE WHEN status = 'active' THEN $10 ELSE active_since END, \
                 next_slot_at = NULL, updated_at = $11, catch_up_minutes = $14 \
                 WHERE id = $12 AND user_id = $13 AND status <> 'ended'")
                .bind(p.connection_id)
                .bind(p.name)
                .bind(p.cadence)
                .bind(p.time_of_day)
                .bind(p.time_zone)
                .bind(p.start_date)
                .bind(p.end_date)
                .bind(p.max_total.as_deref())
                .bind(p.mode)
                .bind(p.active_since)
                .bind(now)
                .bind(id)
                .bind(p.user_id)
                .bind(p.catch_up_minutes)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n != 1 {
                return Ok::<bool, sqlx::Error>(false);
            }
            let carries: Vec<(String, String)> =
                sqlx::query_as("SELECT symbol, carry FROM plan_legs WHERE plan_id = $1")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
            sqlx::query("DELETE FROM plan_legs WHERE plan_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for (position, (symbol, amount)) in p.legs.iter().enumerate() {
                let carry = carries
                    .iter()
                    .find(|(s, _)| s == symbol)
                    .map_or("0", |(_, c)| c.as_str());
                sqlx::query(
                    "INSERT INTO plan_legs (plan_id, position, symbol, amount, carry) \
                     VALUES ($1, $2, $3, $4, $5)")
                    .bind(id)
                    .bind(i64::try_from(position).unwrap_or(i64::MAX))
                    .bind(symbol)
                    .bind(amount)
                    .bind(carry)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(true)
        }.await)?;
        Ok(updated)
    }

    /// Filled quantities of the user's plans: (plan, symbol, quantity,
    /// average price) per order that bought something.
    pub async fn plan_fills(
        &self,
        user_id: i64,
    ) -> anyhow::Result<Vec<(i64, String, String, Option<String>)>> {
        let sql = "SELECT s.plan_id, o.symbol, o.filled_qty, o.filled_avg_price \
                   FROM slot_orders o JOIN plan_slots s ON s.id = o.slot_id \
                   JOIN plans p ON p.id = s.plan_id \
                   WHERE p.user_id = $1 AND o.filled_qty <> '0'";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(user_id).fetch_all(pool).await)?)
    }

    /// What plan `plan_id` bought: per filled order, its run's trading day,
    /// the symbol, filled quantity and average price; oldest first.
    pub async fn plan_purchases(
        &self,
        plan_id: i64,
    ) -> anyhow::Result<Vec<(chrono::NaiveDate, String, String, Option<String>)>> {
        let sql = "SELECT s.trading_date, o.symbol, o.filled_qty, o.filled_avg_price \
                   FROM slot_orders o JOIN plan_slots s ON s.id = o.slot_id \
                   WHERE s.plan_id = $1 AND o.filled_qty <> '0' ORDER BY s.trading_date, o.id";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(plan_id).fetch_all(pool).await)?)
    }

    /// Whether any of the user's plans has bought anything yet.
    pub async fn has_purchase(&self, user_id: i64) -> anyhow::Result<bool> {
        let sql = "SELECT EXISTS (SELECT 1 FROM slot_orders o \
                   JOIN plan_slots s ON s.id = o.slot_id JOIN plans p ON p.id = s.plan_id \
                   WHERE p.user_id = $1 AND o.filled_qty <> '0')";
        Ok(with_pool!(self, pool => sqlx::query_scalar::<_, bool>(sql)
            .bind(user_id).fetch_one(pool).await)?)
    }

    /// Pauses the user's open plans on a connection (before it is removed).
    pub async fn pause_plans_on(&self, user_id: i64, connection_id: i64) -> anyhow::Result<u64> {
        let sql = "UPDATE plans SET status = 'paused', updated_at = $1 \
                   WHERE user_id = $2 AND connection_id = $3 AND status = 'active'";
        Ok(with_pool!(self, pool => sqlx::query(sql)
            .bind(super::now())
            .bind(user_id)
            .bind(connection_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
