//! Syncing a connection's ledger from its broker's account activities.
//!
//! Incremental and idempotent: each sync asks for the activities after a
//! point [`OVERLAP_DAYS`] before the latest day already seen (a broker may
//! post an activity late, with an earlier date: a dividend correction, a
//! fill reported out of order), follows the page tokens to the end, and
//! stores each activity once per broker id, so reading one twice changes
//! nothing. Two instances syncing the same connection at once store each
//! activity once too (the unique key decides). Types Dripfeed does not read
//! are stored as they came and ignored by the figures.

use crate::server::broker::Broker;
use crate::server::db::ledger::LedgerEntry;
use crate::server::state::AppState;
use chrono::{DateTime, Duration, Utc};

/// How far before the latest day seen a sync starts again.
pub const OVERLAP_DAYS: i64 = 7;
/// Alpaca's largest page.
pub const PAGE_SIZE: u32 = 100;
/// A ledger synced this recently is not synced again for a page view.
pub const FRESH_FOR: Duration = Duration::seconds(60);
/// At most this many pages per sync (100,000 activities): a broker that
/// keeps returning full pages cannot hold a request forever.
const MAX_PAGES: usize = 1000;

/// What one sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Synced {
    pub pages: usize,
    pub seen: usize,
    pub added: u64,
}

/// Brings `connection_id`'s ledger up to date from `broker`.
#[tracing::instrument(skip_all, fields(connection_id))]
pub async fn sync(
    state: &AppState,
    connection_id: i64,
    broker: &dyn Broker,
    now: DateTime<Utc>,
) -> anyhow::Result<Synced> {
    let last_day = state
        .store
        .ledger_sync(connection_id)
        .await?
        .and_then(|(day, _)| day);
    let after = last_day
        .and_then(|d| (d - Duration::days(OVERLAP_DAYS)).and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc());
    let mut token: Option<String> = None;
    let mut done = Synced::default();
    let mut latest = last_day;
    loop {
        let page = broker
            .activities(after, token.as_deref(), PAGE_SIZE)
            .await?;
        done.pages += 1;
        done.seen += page.len();
        done.added += state
            .store
            .insert_activities(connection_id, &page, now)
            .await?;
        latest = page.iter().map(|a| a.date).chain(latest).max();
        let full = page.len() >= PAGE_SIZE as usize;
        match page.last() {
            Some(last) if full && done.pages < MAX_PAGES => token = Some(last.id.clone()),
            _ => break,
        }
    }
    state
        .store
        .set_ledger_sync(connection_id, latest, now)
        .await?;
    tracing::debug!(
        pages = done.pages,
        seen = done.seen,
        added = done.added,
        "ledger synced"
    );
    Ok(done)
}

/// The connection's ledger, synced first unless it was synced within
/// [`FRESH_FOR`]; when the broker cannot be asked, what is stored (with a
/// warning in the log).
pub async fn current(
    state: &AppState,
    connection_id: i64,
    broker: &dyn Broker,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<LedgerEntry>> {
    let fresh = state
        .store
        .ledger_sync(connection_id)
        .await?
        .is_some_and(|(_, at)| now - at < FRESH_FOR && at <= now);
    if !fresh && let Err(e) = sync(state, connection_id, broker, now).await {
        tracing::warn!(connection_id, error = %e, "the ledger could not be synced; showing what is stored");
    }
    state.store.ledger_of(connection_id).await
}

/// The ledger of the user's connection `connection_id`, newest first,
/// synced first when stale (see [`current`]).
#[tracing::instrument(skip_all, fields(user_id = user.id, connection_id))]
pub async fn of_user(
    state: &AppState,
    user: &crate::server::auth::CurrentUser,
    connection_id: i64,
) -> Result<Vec<crate::dto::performance::LedgerEntryDto>, crate::error::AppError> {
    use crate::server::broker::{ActivityKind, Side};
    let Some(row) = state.store.connection_of(user.id, connection_id).await? else {
        return Err(crate::error::AppError::NotFound);
    };
    let (broker, _) = crate::server::connections::broker_for_page(state, &row)?;
    let now = crate::server::engine::engine_now(state);
    let mut entries = current(state, row.id, &broker, now).await?;
    entries.sort_by(|a, b| (b.date, &b.activity_id).cmp(&(a.date, &a.activity_id)));
    Ok(entries
        .into_iter()
        .map(|e| crate::dto::performance::LedgerEntryDto {
            kind: match e.kind {
                ActivityKind::Fill => "fill".into(),
                ActivityKind::Deposit => "deposit".into(),
                ActivityKind::Withdrawal => "withdrawal".into(),
                ActivityKind::Dividend => "dividend".into(),
                ActivityKind::Fee => "fee".into(),
                ActivityKind::Split => "split".into(),
                ActivityKind::Other(t) => t,
            },
            activity_id: e.activity_id,
            date: e.date,
            at: e.at.map(crate::domain::when::rfc3339),
            symbol: e.symbol,
            side: e.side.map(|s| match s {
                Side::Buy => "buy".to_owned(),
                Side::Sell => "sell".to_owned(),
            }),
            qty: e.qty,
            price: e.price,
            net_amount: e.net_amount,
            per_share_amount: e.per_share_amount,
            order_id: e.order_id,
        })
        .collect())
}
