//! The daily-bar cache behind backtests (migration `daily_bars`): one
//! snapshot of a symbol's adjusted bars per market-data source, with the span
//! of days it covers and the New York date it was fetched.

use super::rows::stored_decimal;
use super::{Store, with_pool};
use crate::domain::strategy::Bar;
use chrono::NaiveDate;

/// Which days a cached snapshot covers (both included) and when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct BarSpan {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// The New York date the snapshot was fetched.
    pub as_of: NaiveDate,
}

impl BarSpan {
    /// Whether this snapshot answers for `from..=through` on `today`.
    pub fn covers(&self, from: NaiveDate, through: NaiveDate, today: NaiveDate) -> bool {
        self.as_of == today && self.first_day <= from && through <= self.last_day
    }
}

#[derive(sqlx::FromRow)]
struct BarRow {
    day: NaiveDate,
    open: String,
    high: String,
    low: String,
    close: String,
    volume: String,
}

/// Rows per INSERT: 8 values each, well inside both engines' bind limits.
const CHUNK: usize = 500;

impl Store {
    pub async fn bar_span(&self, source: &str, symbol: &str) -> anyhow::Result<Option<BarSpan>> {
        let sql = "SELECT first_day, last_day, as_of FROM daily_bar_spans \
                   WHERE source = $1 AND symbol = $2";
        Ok(with_pool!(self, pool => sqlx::query_as::<_, BarSpan>(sql)
            .bind(source).bind(symbol).fetch_optional(pool).await)?)
    }

    /// The cached bars of `symbol` from `from` to `through`, oldest first.
    pub async fn cached_bars(
        &self,
        source: &str,
        symbol: &str,
        from: NaiveDate,
        through: NaiveDate,
    ) -> anyhow::Result<Vec<Bar>> {
        let sql = "SELECT day, open, high, low, close, volume FROM daily_bars \
                   WHERE source = $1 AND symbol = $2 AND day >= $3 AND day <= $4 ORDER BY day";
        let rows = with_pool!(self, pool => sqlx::query_as::<_, BarRow>(sql)
            .bind(source).bind(symbol).bind(from).bind(through).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|r| {
                let what = |field: &str| format!("{symbol}'s {field} on {}", r.day);
                Ok(Bar {
                    date: r.day,
                    open: stored_decimal(&what("open"), &r.open)?,
                    high: stored_decimal(&what("high"), &r.high)?,
                    low: stored_decimal(&what("low"), &r.low)?,
                    close: stored_decimal(&what("close"), &r.close)?,
                    volume: stored_decimal(&what("volume"), &r.volume)?,
                })
            })
            .collect()
    }

    /// Replaces `symbol`'s snapshot from `source` with `bars` covering `span`,
    /// in one transaction: a reader sees the old snapshot or the new one,
    /// never a mix of two price bases.
    pub async fn replace_bars(
        &self,
        source: &str,
        symbol: &str,
        span: BarSpan,
        bars: &[Bar],
    ) -> anyhow::Result<()> {
        let upsert = "INSERT INTO daily_bar_spans (source, symbol, first_day, last_day, as_of) \
                      VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, symbol) DO UPDATE SET \
                      first_day = excluded.first_day, last_day = excluded.last_day, \
                      as_of = excluded.as_of";
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(upsert)
                .bind(source).bind(symbol).bind(span.first_day).bind(span.last_day).bind(span.as_of)
                .execute(&mut *tx).await?;
            sqlx::query("DELETE FROM daily_bars WHERE source = $1 AND symbol = $2")
                .bind(source).bind(symbol).execute(&mut *tx).await?;
            for chunk in bars.chunks(CHUNK) {
                let sql = insert_sql(chunk.len());
                let mut q = sqlx::query(&sql);
                for b in chunk {
                    q = q
                        .bind(source)
                        .bind(symbol)
                        .bind(b.date)
                        .bind(b.open.normalize().to_string())
                        .bind(b.high.normalize().to_string())
                        .bind(b.low.normalize().to_string())
                        .bind(b.close.normalize().to_string())
                        .bind(b.volume.normalize().to_string());
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }
}

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO daily_bars (source, symbol, day, open, high, low, close, volume) VALUES ",
    );
    for r in 0..rows {
        let n = r * 8;
        if r > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6,
            n + 7,
            n + 8
        ));
    }
    sql
}
