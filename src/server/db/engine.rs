//! The engine's queries: materialising slots (idempotent by the unique
//! (plan, instant) key), claiming due work with expiring leases (row locks
//! with SKIP LOCKED on PostgreSQL; SQLite serialises writers), intents, and
//! outcomes. The engine acts for the system, so these are not user-scoped.

use super::rows::{ConnectionRow, PlanLegRow, PlanRow, SlotOrderRow, SlotRow};
use super::{Store, with_pool};
use crate::domain::run::{OrderState, RunStatus};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

/// Rows per multi-row statement (slots: 6 parameters each, well under
/// either database's limit).
const SLOTS_PER_STATEMENT: usize = 500;

/// A plan's id, when it runs next (none: it has ended) and its `updated_at`
/// when it was read.
pub type NextSlot = (i64, Option<DateTime<Utc>>, DateTime<Utc>);

/// A due run to write (see [`Store::insert_slots`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSlot {
    pub plan_id: i64,
    pub at: DateTime<Utc>,
    /// The New York trading date the run belongs to.
    pub trading_date: NaiveDate,
    /// Pending, or missed (then `reason` says why).
    pub status: RunStatus,
    pub reason: Option<String>,
}

const SLOT_COLUMNS: &str = "id, plan_id, scheduled_at, trading_date, status, reason, claimed_by, \
                            lease_until, created_at, updated_at, finished_at";
const ORDER_COLUMNS: &str = "id, slot_id, symbol, notional, client_order_id, broker_order_id, \
                             status, filled_qty, filled_avg_price, reason, created_at, updated_at";

/// Sets what a plan's symbol carries (smart DCA), within a run's transaction.
const SET_CARRY: &str = "UPDATE plan_legs SET carry = $1 WHERE plan_id = $2 AND symbol = $3";

/// What to write about one order: its new state and what the broker said.
/// `None` fields keep what is stored; `filled_qty` is always written.
#[derive(Debug, Clone, Copy)]
pub struct OrderUpdate<'a> {
    pub state: OrderState,
    pub broker_order_id: Option<&'a str>,
    pub filled_qty: &'a str,
    pub filled_avg_price: Option<&'a str>,
    pub reason: Option<&'a str>,
}

impl OrderUpdate<'_> {
    /// A move to `state` with nothing filled and nothing else to say.
    pub fn to(state: OrderState) -> Self {
        OrderUpdate {
            state,
            broker_order_id: None,
            filled_qty: "0",
            filled_avg_price: None,
            reason: None,
        }
    }
}

impl Store {
    /// Active plans whose next run has come (or is not yet worked out).
    pub async fn due_plans(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<PlanRow>> {
        let sql = format!(
            "SELECT {} FROM plans WHERE status = 'active' AND connection_id IS NOT NULL \
             AND (next_slot_at IS NULL OR next_slot_at <= $1) ORDER BY id",
            super::plans::COLUMNS
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, PlanRow>(&sql).bind(now).fetch_all(pool).await)?,
        )
    }

    /// The rows `sql` selects for every key in `ids`, asked 500 at a time:
    /// `sql` gets the placeholder list for one `IN (…)`.
    pub(super) async fn by_ids<T, K>(
        &self,
        ids: &[K],
        sql: impl Fn(&str) -> String,
    ) -> anyhow::Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
        K: for<'q> sqlx::Encode<'q, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'q> sqlx::Encode<'q, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>
            + Clone
            + Send
            + Sync,
    {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = sql(&list);
            let rows = with_pool!(self, pool => {
                let mut q = sqlx::query_as::<_, T>(&sql);
                for id in chunk {
                    q = q.bind(id.clone());
                }
                q.fetch_all(pool).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Plans by id (any owner; the engine acts for the system).
    pub async fn plans_by_ids(&self, ids: &[i64]) -> anyhow::Result<Vec<PlanRow>> {
        self.by_ids(ids, |list| {
            format!(
                "SELECT {} FROM plans WHERE id IN ({list})",
                super::plans::COLUMNS
            )
        })
        .await
    }

    /// The orders of these slots.
    pub async fn orders_of_slots(&self, slot_ids: &[i64]) -> anyhow::Result<Vec<SlotOrderRow>> {
        self.by_ids(slot_ids, |list| {
            format!("SELECT {ORDER_COLUMNS} FROM slot_orders WHERE slot_id IN ({list}) ORDER BY id")
        })
        .await
    }

    /// Connections by id (any owner; the engine acts for the system).
    pub async fn connections_by_ids(&self, ids: &[i64]) -> anyhow::Result<Vec<ConnectionRow>> {
        self.by_ids(ids, |list| {
            format!(
                "SELECT {} FROM broker_connections WHERE id IN ({list})",
                super::connections::COLUMNS
            )
        })
        .await
    }

    /// The legs of these plans with their carried-over amounts, in order.
    pub async fn legs_with_carry_of(
        &self,
        plan_ids: &[i64],
    ) -> anyhow::Result<Vec<(PlanLegRow, String)>> {
        let rows: Vec<(i64, i64, String, String, String)> = self
            .by_ids(plan_ids, |list| {
                format!(
                    "SELECT plan_id, position, symbol, amount, carry FROM plan_legs \
                     WHERE plan_id IN ({list}) ORDER BY plan_id, position"
                )
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(plan_id, position, symbol, amount, carry)| {
                (
                    PlanLegRow {
                        plan_id,
                        position,
                        symbol,
                        amount,
                    },
                    carry,
                )
            })
            .collect())
    }

    /// Lets go of unfinished runs claimed by `owner` (or, with `everyone`,
    /// by any engine) so the next pass picks them up at once.
    /// Which of these users are disabled.
    pub async fn disabled_user_ids(
        &self,
        ids: &[i64],
    ) -> anyhow::Result<std::collections::HashSet<i64>> {
        let rows: Vec<(i64,)> = self
            .by_ids(ids, |list| {
                format!("SELECT id FROM users WHERE disabled_at IS NOT NULL AND id IN ({list})")
            })
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    pub async fn release_claims(&self, owner: &str, everyone: bool) -> anyhow::Result<u64> {
        let sql = "UPDATE plan_slots SET lease_until = NULL \
                   WHERE status IN ('running', 'submitted') AND (claimed_by = $1 OR $2)";
        Ok(
            with_pool!(self, pool => sqlx::query(sql).bind(owner).bind(everyone)
            .execute(pool).await.map(|r| r.rows_affected()))?,
        )
    }

    pub async fn plan_by_id(&self, id: i64) -> anyhow::Result<Option<PlanRow>> {
        let sql = format!("SELECT {} FROM plans WHERE id = $1", super::plans::COLUMNS);
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, PlanRow>(&sql).bind(id).fetch_optional(pool).await)?,
        )
    }

    /// A plan's legs with their carried-over amounts, in order.
    pub async fn legs_with_carry(&self, plan_id: i64) -> anyhow::Result<Vec<(PlanLegRow, String)>> {
        self.legs_with_carry_of(&[plan_id]).await
    }

    pub async fn connection_by_id(&self, id: i64) -> anyhow::Result<Option<ConnectionRow>> {
        let sql = format!(
            "SELECT {} FROM broker_connections WHERE id = $1",
            super::connections::COLUMNS
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, ConnectionRow>(&sql).bind(id).fetch_optional(pool).await)?,
        )
    }

    /// The latest written run (instant and trading date) of each of these
    /// plans that has one.
    pub async fn last_slots(
        &self,
        plan_ids: &[i64],
    ) -> anyhow::Result<HashMap<i64, (DateTime<Utc>, NaiveDate)>> {
        let rows: Vec<(i64, DateTime<Utc>, NaiveDate)> = self
            .by_ids(plan_ids, |list| {
                format!(
                    "SELECT s.plan_id, s.scheduled_at, s.trading_date FROM plan_slots s \
                     WHERE s.plan_id IN ({list}) AND s.scheduled_at = \
                     (SELECT MAX(l.scheduled_at) FROM plan_slots l WHERE l.plan_id = s.plan_id)"
                )
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(plan, at, day)| (plan, (at, day)))
            .collect())
    }

    /// Records each slot unless it exists (unique per plan and instant),
    /// [`SLOTS_PER_STATEMENT`] rows per statement; returns the plan and
    /// instant of every slot this call created.
    pub async fn insert_slots(
        &self,
        slots: &[NewSlot],
    ) -> anyhow::Result<Vec<(i64, DateTime<Utc>)>> {
        let now = super::now();
        let mut created = Vec::with_capacity(slots.len());
        for chunk in slots.chunks(SLOTS_PER_STATEMENT) {
            let rows = (0..chunk.len())
                .map(|i| {
                    let b = 2 + i * 6;
                    format!(
                        "(${b}, ${}, ${}, ${}, ${}, $1, $1, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO plan_slots (plan_id, scheduled_at, trading_date, status, reason, \
                 created_at, updated_at, finished_at) VALUES {rows} \
                 ON CONFLICT (plan_id, scheduled_at) DO NOTHING RETURNING plan_id, scheduled_at"
            );
            let rows: Vec<(i64, DateTime<Utc>)> = with_pool!(self, pool => {
                let mut q = sqlx::query_as(&sql).bind(now);
                for s in chunk {
                    let finished = (s.status != RunStatus::Pending).then_some(now);
                    q = q
                        .bind(s.plan_id)
                        .bind(s.at)
                        .bind(s.trading_date)
                        .bind(s.status)
                        .bind(s.reason.as_deref())
                        .bind(finished);
                }
                q.fetch_all(pool).await
            })?;
            created.extend(rows);
        }
        Ok(created)
    }

    /// Records one slot unless it exists; `true` if this call created it.
    pub async fn insert_slot(
        &self,
        plan_id: i64,
        at: DateTime<Utc>,
        trading_date: NaiveDate,
        status: RunStatus,
        reason: Option<&str>,
    ) -> anyhow::Result<bool> {
        let slot = NewSlot {
            plan_id,
            at,
            trading_date,
            status,
            reason: reason.map(str::to_owned),
        };
        Ok(!self.insert_slots(&[slot]).await?.is_empty())
    }

    /// Records when each plan runs next, unless the plan changed since it
    /// was read (`seen`: its `updated_at` then; the next pass reads it
    /// again), many plans per statement. On PostgreSQL a plan another
    /// instance is updating is left to it (it writes the same instant).
    pub async fn set_next_slots(&self, plans: &[NextSlot]) -> anyhow::Result<()> {
        let lock = match self {
            Store::Postgres(_) => " FOR UPDATE OF p SKIP LOCKED",
            Store::Sqlite(_) => "",
        };
        for chunk in plans.chunks(SLOTS_PER_STATEMENT) {
            let values = (0..chunk.len())
                .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "WITH v (id, next, seen) AS (VALUES {values}) \
                 UPDATE plans SET next_slot_at = (SELECT v.next FROM v WHERE v.id = plans.id) \
                 WHERE id IN (SELECT p.id FROM plans p JOIN v ON v.id = p.id \
                 AND v.seen = p.updated_at{lock})"
            );
            with_pool!(self, pool => {
                let mut q = sqlx::query(&sql);
                for (id, next, seen) in chunk {
                    q = q.bind(*id).bind(*next).bind(*seen);
                }
                q.execute(pool).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Claims up to `limit` slots needing work at `now`: due pending slots,
    /// and running or submitted slots whose lease has run out (their engine
    /// died, or a submitted order is due a check). Claimed slots are leased
    /// to `owner` until `lease_until`.
    pub async fn claim_slots(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> anyhow::Result<Vec<SlotRow>> {
        let pick = "SELECT id FROM plan_slots WHERE \
                    (status = 'pending' AND scheduled_at <= $2) OR \
                    (status IN ('running', 'submitted') AND (lease_until IS NULL OR lease_until <= $2)) \
                    ORDER BY scheduled_at, id LIMIT $4";
        let lock = match self {
            Store::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Store::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE plan_slots SET claimed_by = $1, lease_until = $3, updated_at = $2, \
             status = CASE WHEN status = 'pending' THEN 'running' ELSE status END \
             WHERE id IN ({pick}{lock}) RETURNING {SLOT_COLUMNS}"
        );
        Ok(with_pool!(self, pool => sqlx::query_as::<_, SlotRow>(&sql)
            .bind(owner)
            .bind(now)
            .bind(lease_until)
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// Ends a slot with its outcome, if `owner` still holds it; `true` if
    /// this call ended it. `carries` (plan, then symbol and the amount it now
    /// carries) are written in the same transaction and only by the call that
    /// ends the slot, so a run's carry becomes durable exactly once.
    pub async fn finish_slot(
        &self,
        id: i64,
        owner: &str,
        status: RunStatus,
        reason: Option<&str>,
        carries: Option<(i64, &[(String, String)])>,
    ) -> anyhow::Result<bool> {
        let now = super::now();
        let sql = "UPDATE plan_slots SET status = $1, reason = $2, finished_at = $3, updated_at = $3, \
                   lease_until = NULL WHERE id = $4 AND claimed_by = $5 \
                   AND status IN ('running', 'submitted')";
        let ended = with_pool!(self, pool => async {
            let q = sqlx::query(sql).bind(status).bind(reason).bind(now).bind(id).bind(owner);
            let Some((plan_id, carries)) = carries.filter(|(_, c)| !c.is_empty()) else {
                return Ok(q.execute(pool).await?.rows_affected() == 1);
            };
            let mut tx = pool.begin().await?;
            let n = q.execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                for (symbol, carry) in carries {
                    sqlx::query(SET_CARRY)
                        .bind(carry).bind(plan_id).bind(symbol)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok::<bool, sqlx::Error>(n == 1)
        }.await)?;
        Ok(ended)
    }

    /// Marks a slot as waiting on the broker until `recheck_at`.
    pub async fn park_slot(
        &self,
        id: i64,
        owner: &str,
        recheck_at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let sql = "UPDATE plan_slots SET status = 'submitted', lease_until = $1, updated_at = $2 \
                   WHERE id = $3 AND claimed_by = $4 AND status IN ('running', 'submitted')";
        let n = with_pool!(self, pool => sqlx::query(sql)
            .bind(recheck_at).bind(super::now()).bind(id).bind(owner)
            .execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn slot_orders(&self, slot_id: i64) -> anyhow::Result<Vec<SlotOrderRow>> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM slot_orders WHERE slot_id = $1 ORDER BY id");
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, SlotOrderRow>(&sql).bind(slot_id).fetch_all(pool).await)?,
        )
    }

    /// Writes the intents to buy, before anything is sent, together with
    /// the smart-DCA carry this run decided (`carries`: symbol and the amount
    /// it now carries, '0' for a leg this run spends): one transaction, so a
    /// crash leaves either every intent of the run and its carry or neither.
    /// Idempotent: when the run's intents exist already (an earlier attempt),
    /// they are kept as they are and the carry is not applied again. Returns
    /// the run's orders.
    pub async fn insert_intents(
        &self,
        plan_id: i64,
        slot_id: i64,
        intents: &[(String, String, String)],
        carries: &[(String, String)],
    ) -> anyhow::Result<Vec<SlotOrderRow>> {
        if intents.is_empty() {
            return self.slot_orders(slot_id).await;
        }
        let now = super::now();
        let values = (0..intents.len())
            .map(|i| {
                let b = 3 + i * 3;
                format!("($1, ${}, ${}, ${}, 'intent', $2, $2)", b, b + 1, b + 2)
            })
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!(
            "INSERT INTO slot_orders (slot_id, symbol, notional, client_order_id, status, \
             created_at, updated_at) VALUES {values} \
             ON CONFLICT (slot_id, symbol) DO NOTHING RETURNING {ORDER_COLUMNS}"
        );
        let inserted = with_pool!(self, pool => async {
            let mut q = sqlx::query_as::<_, SlotOrderRow>(&insert).bind(slot_id).bind(now);
            for (symbol, notional, client_order_id) in intents {
                q = q.bind(symbol).bind(notional).bind(client_order_id);
            }
            if carries.is_empty() {
                return q.fetch_all(pool).await;
            }
            let mut tx = pool.begin().await?;
            let rows = q.fetch_all(&mut *tx).await?;
            if rows.len() == intents.len() {
                for (symbol, carry) in carries {
                    sqlx::query(SET_CARRY)
                        .bind(carry).bind(plan_id).bind(symbol)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok::<Vec<SlotOrderRow>, sqlx::Error>(rows)
        }.await)?;
        if inserted.len() == intents.len() {
            Ok(inserted)
        } else {
            // Some existed already (an earlier attempt): the stored ones count.
            self.slot_orders(slot_id).await
        }
    }

    /// Records what the broker says about an order, as of the engine's `at`;
    /// returns the order as it now stands.
    pub async fn update_order(
        &self,
        id: i64,
        update: &OrderUpdate<'_>,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<SlotOrderRow>> {
        let OrderUpdate {
            state: status,
            broker_order_id,
            filled_qty,
            filled_avg_price,
            reason,
        } = *update;
        let sql = format!(
            "UPDATE slot_orders SET status = $1, \
             broker_order_id = COALESCE($2, broker_order_id), filled_qty = $3, \
             filled_avg_price = COALESCE($4, filled_avg_price), reason = COALESCE($5, reason), \
             updated_at = $6 WHERE id = $7 RETURNING {ORDER_COLUMNS}"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, SlotOrderRow>(&sql)
            .bind(status).bind(broker_order_id).bind(filled_qty).bind(filled_avg_price)
            .bind(reason).bind(at).bind(id)
            .fetch_optional(pool).await)?,
        )
    }

    /// Every order of a plan (to total what it has invested).
    pub async fn plan_orders(&self, plan_id: i64) -> anyhow::Result<Vec<SlotOrderRow>> {
        let sql = format!(
            "SELECT {} FROM slot_orders o JOIN plan_slots s ON s.id = o.slot_id WHERE s.plan_id = $1",
            ORDER_COLUMNS
                .split(", ")
                .map(|c| format!("o.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, SlotOrderRow>(&sql).bind(plan_id).fetch_all(pool).await)?,
        )
    }

    /// A plan's slots, newest first.
    pub async fn plan_slots(&self, plan_id: i64) -> anyhow::Result<Vec<SlotRow>> {
        let sql = format!(
            "SELECT {SLOT_COLUMNS} FROM plan_slots WHERE plan_id = $1 ORDER BY scheduled_at DESC"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, SlotRow>(&sql).bind(plan_id).fetch_all(pool).await)?,
        )
    }

    /// Takes or renews the single-engine lease (SQLite); `false` when another
    /// engine holds it and has renewed it within its time to live.
    pub async fn hold_engine_lease(
        &self,
        owner: &str,
        ttl: chrono::Duration,
    ) -> anyhow::Result<bool> {
        let now = super::now();
        let sql = "INSERT INTO engine_lease (id, owner, expires_at) VALUES (1, $1, $2) \
                   ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
                   WHERE engine_lease.owner = excluded.owner OR engine_lease.expires_at < $3";
        let n = with_pool!(self, pool => sqlx::query(sql)
            .bind(owner).bind(now + ttl).bind(now)
            .execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Gives the lease up (clean shutdown), if `owner` holds it.
    pub async fn release_engine_lease(&self, owner: &str) -> anyhow::Result<()> {
        let sql = "DELETE FROM engine_lease WHERE owner = $1";
        with_pool!(self, pool => sqlx::query(sql).bind(owner).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Which of these client order ids Dripfeed has a record of.
    pub async fn known_client_order_ids(&self, ids: &[String]) -> anyhow::Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .by_ids(ids, |list| {
                format!("SELECT client_order_id FROM slot_orders WHERE client_order_id IN ({list})")
            })
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Connections that plans (of any status) use.
    pub async fn plan_connection_ids(&self) -> anyhow::Result<Vec<i64>> {
        let sql = "SELECT DISTINCT connection_id FROM plans WHERE connection_id IS NOT NULL";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql).fetch_all(pool).await)?)
    }

    /// Slots not finished that should have been: pending or running well past
    /// their time, or submitted past their session's close.
    pub async fn unfinished_slots(&self) -> anyhow::Result<Vec<SlotRow>> {
        let sql = format!(
            "SELECT {SLOT_COLUMNS} FROM plan_slots \
             WHERE status IN ('pending', 'running', 'submitted') ORDER BY scheduled_at"
        );
        Ok(with_pool!(self, pool => sqlx::query_as::<_, SlotRow>(&sql).fetch_all(pool).await)?)
    }

    /// Ends a plan (its end date or total was reached).
    pub async fn end_plan(&self, plan_id: i64) -> anyhow::Result<()> {
        let now = super::now();
        let sql = "UPDATE plans SET status = 'ended', ended_at = $1, updated_at = $1 \
                   WHERE id = $2 AND status <> 'ended'";
        with_pool!(self, pool => sqlx::query(sql).bind(now).bind(plan_id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }
}
