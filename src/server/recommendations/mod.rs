//! Recommendations (issue #16): a daily analysis proposes, the user decides.
//!
//! - [`jobs`]: GO (morning: the strategy layer over the watchlist) and
//!   ANALYZE (after the close: stop-loss / take-profit on positions opened
//!   from recommendations, automatic exits when switched on), each exactly
//!   once per user and trading day on any number of instances; orders left
//!   unsettled are settled; forward returns are filled in.
//! - [`execute`]: Execute re-checks everything at that moment (owner,
//!   state, expiry, tier, kill switches, live confirmation and the
//!   paper-first gate, drift and the rails) and places one order with a
//!   deterministic client order id; the decision is audited in the same
//!   transaction as the state change.
//! - this file: the inbox and its settings, Ignore, the kill switches.

mod analysis;
mod analyze;
pub mod execute;
mod go;
pub mod jobs;
mod settle;
mod views;

pub use execute::execute;
pub use views::{current_input, page, scorecard};

use crate::domain::plan::Symbol;
use crate::domain::recommendation::rails::{Rails, Tighter};
use crate::dto::recommendations::RecommendationSettingsInput;
use crate::error::AppError;
use crate::server::auth::{ClientInfo, CurrentUser};
use crate::server::db::audit::NewAuditEntry;
use crate::server::db::recommendations::{Decision, GlobalStop, RecommendationSettingsRow};
use crate::server::state::AppState;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;

/// The watchlist a user starts with: broad, liquid ETFs and large caps.
pub const DEFAULT_WATCHLIST: &[&str] = &[
    "SPY", "QQQ", "IWM", "DIA", "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META",
];
/// The most symbols a watchlist holds.
pub const MAX_WATCHLIST: usize = 30;

/// An audit entry for something the user did.
pub(crate) fn audit(
    user: &CurrentUser,
    client: &ClientInfo,
    action: &str,
    detail: serde_json::Value,
) -> NewAuditEntry {
    NewAuditEntry {
        actor_user_id: Some(user.id),
        subject_user_id: Some(user.id),
        action: action.to_owned(),
        detail,
        ip: client.ip.clone(),
    }
}

/// The user's settings, or the defaults (off, the default watchlist).
pub(crate) async fn settings_row(
    state: &AppState,
    user_id: i64,
) -> anyhow::Result<RecommendationSettingsRow> {
    Ok(state
        .store
        .recommendation_settings(user_id)
        .await?
        .unwrap_or_else(|| RecommendationSettingsRow {
            user_id,
            enabled: false,
            watchlist: DEFAULT_WATCHLIST.join(","),
            auto_exits: false,
            connection_id: None,
            max_position_pct: None,
            max_open_positions: None,
            min_equity: None,
            max_drift_pct: None,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }))
}

/// The account a user's recommendations are for: the one they chose, while
/// it is theirs and active, else their first active one.
pub(crate) async fn settings_row_connection(
    state: &AppState,
    row: &RecommendationSettingsRow,
) -> anyhow::Result<Option<crate::server::db::rows::ConnectionRow>> {
    let all = state.store.connections_of(row.user_id).await?;
    let chosen = row
        .connection_id
        .and_then(|id| all.iter().find(|c| c.id == id && c.status == "active"));
    Ok(chosen
        .or_else(|| all.iter().find(|c| c.status == "active"))
        .cloned())
}

/// Tells the user in the app and by e-mail; the e-mail links to the
/// recommendation (opening it never executes anything).
pub(crate) async fn notify(
    state: &AppState,
    user_id: i64,
    kind: &str,
    title: &str,
    lines: &[String],
    first_id: i64,
) -> anyhow::Result<()> {
    let body = format!("{}.", lines.join("; "));
    state
        .store
        .insert_notification(user_id, kind, title, &body, None)
        .await?;
    let Some(user) = state.store.user_by_id(user_id).await? else {
        return Ok(());
    };
    let link = format!(
        "{}/recommendations#rec-{first_id}",
        state.public_url.as_str().trim_end_matches('/')
    );
    let text = format!(
        "{}\n\nReview them (nothing is traded until you choose Execute): {link}\n\nNot investment advice. Dripfeed is a software tool; you decide every trade.",
        lines.join("\n")
    );
    crate::server::notifications::email_in_background(state, &user, title, text, None);
    Ok(())
}

/// The user's own rails as stored (each one only tightens the instance's).
pub(crate) fn tighter(row: &RecommendationSettingsRow) -> anyhow::Result<Tighter> {
    let dec = |what: &str, v: &Option<String>| {
        v.as_deref()
            .map(|t| crate::server::db::rows::stored_decimal(what, t))
            .transpose()
    };
    Ok(Tighter {
        max_position_pct: dec("max_position_pct", &row.max_position_pct)?,
        max_open_positions: row
            .max_open_positions
            .map(u32::try_from)
            .transpose()
            .map_err(|e| anyhow::anyhow!("max_open_positions is out of range: {e}"))?,
        min_equity: dec("min_equity", &row.min_equity)?,
        max_drift_pct: dec("max_drift_pct", &row.max_drift_pct)?,
    })
}

/// The rails that apply to a user now.
pub(crate) fn rails_for(
    state: &AppState,
    row: &RecommendationSettingsRow,
) -> anyhow::Result<Rails> {
    Ok(state.settings.rails().tightened(&tighter(row)?))
}

/// The symbols of a watchlist as stored.
pub(crate) fn watchlist(row: &RecommendationSettingsRow) -> Vec<String> {
    row.watchlist
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses the settings form; every bad field is named.
fn parse_settings(
    user_id: i64,
    input: &RecommendationSettingsInput,
    instance: &Rails,
    now: DateTime<Utc>,
) -> Result<RecommendationSettingsRow, AppError> {
    let mut errors = Vec::new();
    let mut symbols: Vec<String> = Vec::new();
    for raw in input
        .watchlist
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        match Symbol::parse(raw) {
            Ok(s) if !symbols.iter().any(|x| x == s.as_str()) => {
                symbols.push(s.as_str().to_owned())
            }
            Ok(_) => {}
            Err(e) => errors.push(crate::error::FieldError {
                field: "watchlist".into(),
                message: e,
            }),
        }
    }
    if symbols.is_empty() && errors.is_empty() {
        errors.push(crate::error::FieldError {
            field: "watchlist".into(),
            message: "Add at least one symbol to watch.".into(),
        });
    }
    if symbols.len() > MAX_WATCHLIST {
        errors.push(crate::error::FieldError {
            field: "watchlist".into(),
            message: format!(
                "A watchlist holds at most {MAX_WATCHLIST} symbols; this one has {}.",
                symbols.len()
            ),
        });
    }
    let mut decimal = |field: &str, text: &str, check: &dyn Fn(Decimal) -> Result<(), String>| {
        let text = text
            .trim()
            .trim_end_matches('%')
            .trim_start_matches('$')
            .replace(',', "");
        if text.is_empty() {
            return None;
        }
        match text.parse::<Decimal>() {
            Ok(v) => match check(v) {
                Ok(()) => Some(v.normalize().to_string()),
                Err(message) => {
                    errors.push(crate::error::FieldError {
                        field: field.into(),
                        message,
                    });
                    None
                }
            },
            Err(_) => {
                errors.push(crate::error::FieldError {
                    field: field.into(),
                    message: format!("{text:?} is not a number."),
                });
                None
            }
        }
    };
    let max_position_pct = decimal("max_position_pct", &input.max_position_pct, &|v| {
        if v <= Decimal::ZERO || v > instance.max_position_pct {
            Err(format!(
                "Your position limit must be more than 0 and at most this instance's {}%.",
                instance.max_position_pct
            ))
        } else {
            Ok(())
        }
    });
    let min_equity = decimal("min_equity", &input.min_equity, &|v| {
        if v < instance.min_equity {
            Err(format!(
                "Your minimum equity can only be raised above this instance's {}.",
                crate::domain::money::dollars(instance.min_equity)
            ))
        } else {
            Ok(())
        }
    });
    let max_drift_pct = decimal("max_drift_pct", &input.max_drift_pct, &|v| {
        if v <= Decimal::ZERO || v > instance.max_drift_pct {
            Err(format!(
                "Your drift limit must be more than 0 and at most this instance's {}%.",
                instance.max_drift_pct
            ))
        } else {
            Ok(())
        }
    });
    let positions = input.max_open_positions.trim();
    let max_open_positions = if positions.is_empty() {
        None
    } else {
        match positions.parse::<u32>() {
            Ok(n) if (1..=instance.max_open_positions).contains(&n) => Some(i64::from(n)),
            _ => {
                errors.push(crate::error::FieldError {
                    field: "max_open_positions".into(),
                    message: format!(
                        "Open positions must be a whole number from 1 to this instance's {}.",
                        instance.max_open_positions
                    ),
                });
                None
            }
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(RecommendationSettingsRow {
        user_id,
        enabled: input.enabled,
        watchlist: symbols.join(","),
        auto_exits: input.auto_exits,
        connection_id: input.connection_id,
        max_position_pct,
        max_open_positions,
        min_equity,
        max_drift_pct,
        updated_at: now,
    })
}

/// Saves the user's settings: the account must be theirs.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn save_settings(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    input: RecommendationSettingsInput,
) -> Result<(), AppError> {
    let row = parse_settings(
        user.id,
        &input,
        &state.settings.rails(),
        crate::server::db::now(),
    )?;
    if let Some(id) = row.connection_id
        && state.store.connection_of(user.id, id).await?.is_none()
    {
        return Err(AppError::invalid(
            "connection_id",
            "Choose one of your own connected accounts.",
        ));
    }
    let detail = json!({
        "enabled": row.enabled,
        "watchlist": row.watchlist,
        "auto_exits": row.auto_exits,
        "connection_id": row.connection_id,
        "rails": {
            "max_position_pct": row.max_position_pct,
            "max_open_positions": row.max_open_positions,
            "min_equity": row.min_equity,
            "max_drift_pct": row.max_drift_pct,
        },
    });
    state
        .store
        .save_recommendation_settings(
            &row,
            audit(user, client, "recommendations.settings", detail),
        )
        .await?;
    Ok(())
}

/// Declines one of the user's pending recommendations, with an optional
/// reason; recorded in the audit log with it.
#[tracing::instrument(skip_all, fields(user_id = user.id, recommendation_id = id))]
pub async fn ignore(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    id: i64,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(rec) = state.store.recommendation_of(user.id, id).await? else {
        return Err(AppError::NotFound);
    };
    let reason = reason
        .map(|r| r.trim().chars().take(500).collect::<String>())
        .filter(|r| !r.is_empty());
    views::still_open_at(&rec, now, user)?;
    let detail = json!({
        "recommendation_id": rec.id,
        "symbol": rec.symbol,
        "signal": rec.signal.as_str(),
        "side": rec.side.as_str(),
        "reason": reason,
    });
    let decided = state
        .store
        .decide_recommendation(
            user.id,
            id,
            Decision::Ignore {
                reason: reason.as_deref(),
            },
            now,
            audit(user, client, "recommendation.ignored", detail),
        )
        .await?;
    if !decided {
        return Err(AppError::Conflict(
            "This recommendation was decided or expired a moment ago; nothing changed.".into(),
        ));
    }
    Ok(())
}

/// The user's kill switch: `stop` pauses every active plan and blocks
/// executions and automatic exits until reset; `cancel_orders` also cancels
/// open orders at the user's brokers. Audited; resetting needs its own click.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn set_kill_switch(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    stop: bool,
    cancel_orders: bool,
) -> Result<String, AppError> {
    let now = crate::server::db::now();
    let action = if stop {
        "trading.stopped"
    } else {
        "trading.resumed"
    };
    let (changed, paused) = state
        .store
        .set_trading_stopped(
            user.id,
            stop,
            now,
            audit(
                user,
                client,
                action,
                json!({ "cancel_orders": cancel_orders && stop }),
            ),
        )
        .await?;
    if !changed {
        return Ok(if stop {
            "Trading was already stopped.".into()
        } else {
            "Trading was not stopped.".into()
        });
    }
    if !stop {
        return Ok(
            "Trading is allowed again. Paused plans stay paused until you resume them.".into(),
        );
    }
    let mut message = format!(
        "All trading stopped: {paused} plan(s) paused; recommendations cannot be executed."
    );
    if cancel_orders {
        let (canceled, failed) = cancel_open_orders(state, user.id).await?;
        message.push_str(&format!(
            " {canceled} open order(s) canceled at the broker."
        ));
        if failed > 0 {
            message.push_str(&format!(
                " {failed} could not be canceled; check your broker."
            ));
        }
    }
    Ok(message)
}

/// Cancels every open order on the user's active connections; (canceled, failed).
async fn cancel_open_orders(state: &AppState, user_id: i64) -> anyhow::Result<(usize, usize)> {
    use crate::server::broker::{Broker, OrderFilter};
    let (mut canceled, mut failed) = (0, 0);
    for row in state.store.connections_of(user_id).await? {
        if row.status != "active" {
            continue;
        }
        let (broker, _) = crate::server::connections::broker_for(state, &row)?;
        match broker.orders(OrderFilter::Open, 500).await {
            Ok(orders) => {
                for o in orders {
                    match broker.cancel_order(&o.id).await {
                        Ok(()) => canceled += 1,
                        Err(e) => {
                            failed += 1;
                            tracing::warn!(connection_id = row.id, error = %e, "could not cancel an order");
                        }
                    }
                }
            }
            Err(e) => {
                failed += 1;
                tracing::warn!(connection_id = row.id, error = %e, "could not list open orders");
            }
        }
    }
    Ok((canceled, failed))
}

/// The instance-wide kill switch, for administrators.
#[tracing::instrument(skip_all, fields(user_id = admin.id))]
pub async fn set_global_kill_switch(
    state: &AppState,
    admin: &CurrentUser,
    client: &ClientInfo,
    stop: bool,
    reason: String,
) -> Result<bool, AppError> {
    if !admin.is_admin {
        return Err(AppError::Forbidden);
    }
    let now = crate::server::db::now();
    let stop_value = stop.then(|| GlobalStop {
        by_user_id: admin.id,
        at: now,
        reason: reason.trim().chars().take(300).collect(),
    });
    let entry = NewAuditEntry {
        actor_user_id: Some(admin.id),
        subject_user_id: None,
        action: if stop {
            "trading.stopped_globally"
        } else {
            "trading.resumed_globally"
        }
        .into(),
        detail: json!({ "reason": reason.trim() }),
        ip: client.ip.clone(),
    };
    Ok(state
        .store
        .set_global_kill_switch(stop_value.as_ref(), entry)
        .await?)
}
