//! The ledger (migration `ledger`): each connection's account activities,
//! stored once per broker id, and how far each connection is synced.

use super::rows::stored_decimal;
use super::{Store, with_pool};
use crate::server::broker::{Activity, ActivityKind, Side};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
struct ActivityRow {
    activity_id: String,
    activity_type: String,
    occurred_on: NaiveDate,
    occurred_at: Option<DateTime<Utc>>,
    symbol: Option<String>,
    side: Option<String>,
    qty: Option<String>,
    price: Option<String>,
    net_amount: Option<String>,
    per_share_amount: Option<String>,
    order_id: Option<String>,
}

/// One stored activity, read back with its kind and exact amounts.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    pub activity_id: String,
    pub kind: ActivityKind,
    pub date: NaiveDate,
    pub at: Option<DateTime<Utc>>,
    pub symbol: Option<String>,
    pub side: Option<Side>,
    pub qty: Option<Decimal>,
    pub price: Option<Decimal>,
    pub net_amount: Option<Decimal>,
    pub per_share_amount: Option<Decimal>,
    pub order_id: Option<String>,
}

impl TryFrom<ActivityRow> for LedgerEntry {
    type Error = anyhow::Error;

    fn try_from(r: ActivityRow) -> anyhow::Result<Self> {
        let amount = |field: &str, v: &Option<String>| {
            v.as_deref()
                .map(|s| stored_decimal(&format!("activity {}'s {field}", r.activity_id), s))
                .transpose()
        };
        let side = match r.side.as_deref() {
            None => None,
            Some("buy") => Some(Side::Buy),
            Some("sell") => Some(Side::Sell),
            Some(other) => anyhow::bail!("activity {}'s side is {other:?}", r.activity_id),
        };
        Ok(Self {
            kind: ActivityKind::of(&r.activity_type),
            date: r.occurred_on,
            at: r.occurred_at,
            qty: amount("qty", &r.qty)?,
            price: amount("price", &r.price)?,
            net_amount: amount("net amount", &r.net_amount)?,
            per_share_amount: amount("per-share amount", &r.per_share_amount)?,
            symbol: r.symbol,
            side,
            order_id: r.order_id,
            activity_id: r.activity_id,
        })
    }
}

impl Store {
    /// When `connection_id` was last synced and the latest activity day it saw.
    pub async fn ledger_sync(
        &self,
        connection_id: i64,
    ) -> anyhow::Result<Option<(Option<NaiveDate>, DateTime<Utc>)>> {
        let sql = "SELECT last_day, synced_at FROM ledger_syncs WHERE connection_id = $1";
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, (Option<NaiveDate>, DateTime<Utc>)>(sql)
            .bind(connection_id).fetch_optional(pool).await)?,
        )
    }

    pub async fn set_ledger_sync(
        &self,
        connection_id: i64,
        last_day: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let sql = "INSERT INTO ledger_syncs (connection_id, last_day, synced_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (connection_id) DO UPDATE SET last_day = $2, synced_at = $3";
        with_pool!(self, pool => sqlx::query(sql)
            .bind(connection_id).bind(last_day).bind(now).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Stores `activities` for `connection_id`; one already stored (same
    /// broker id) is left as it is. Returns how many were new.
    pub async fn insert_activities(
        &self,
        connection_id: i64,
        activities: &[Activity],
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let sql = "INSERT INTO ledger_activities (connection_id, activity_id, activity_type, \
                   occurred_on, occurred_at, symbol, side, qty, price, net_amount, \
                   per_share_amount, order_id, raw, synced_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                   ON CONFLICT (connection_id, activity_id) DO NOTHING";
        let mut added = 0;
        for a in activities {
            let text = |d: Option<Decimal>| d.map(|d| d.to_string());
            let side = a.side.map(|s| match s {
                Side::Buy => "buy",
                Side::Sell => "sell",
            });
            let done = with_pool!(self, pool => sqlx::query(sql)
                .bind(connection_id).bind(&a.id).bind(&a.activity_type).bind(a.date).bind(a.at)
                .bind(&a.symbol).bind(side).bind(text(a.qty)).bind(text(a.price))
                .bind(text(a.net_amount)).bind(text(a.per_share_amount)).bind(&a.order_id)
                .bind(a.raw.to_string()).bind(now).execute(pool).await
                .map(|r| r.rows_affected()))?;
            added += done;
        }
        Ok(added)
    }

    /// Every stored activity of `connection_id`, oldest first.
    pub async fn ledger_of(&self, connection_id: i64) -> anyhow::Result<Vec<LedgerEntry>> {
        let sql = "SELECT activity_id, activity_type, occurred_on, occurred_at, symbol, side, qty, \
                   price, net_amount, per_share_amount, order_id FROM ledger_activities \
                   WHERE connection_id = $1 ORDER BY occurred_on, activity_id";
        let rows = with_pool!(self, pool => sqlx::query_as::<_, ActivityRow>(sql)
            .bind(connection_id).fetch_all(pool).await)?;
        rows.into_iter().map(LedgerEntry::try_from).collect()
    }
}
