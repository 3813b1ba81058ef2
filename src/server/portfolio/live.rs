//! Live updates for open dashboards: per connection someone is watching,
//! one subscription to the broker's trade-updates stream (Alpaca's
//! websocket, `tests/fixtures/alpaca/stream/`), shared by every page
//! of that user that is open, and stopped when the last one closes.
//!
//! Each update drops the connection's cached snapshot and tells the pages,
//! which re-read the dashboard: the broker's answer (by order and client
//! order id) stays the source of truth, the stream only says when to ask.
//! A stream that drops is reconnected with backoff (1 s doubling to 30 s);
//! each (re)connection tells the pages to re-read (`resync`), so an update
//! sent while it was down is never lost; while it is down they say so and
//! keep polling.

use crate::server::broker::alpaca::transport::Credentials;
use crate::server::connections::stream_target;
use crate::server::db::rows::ConnectionRow;
use crate::server::state::AppState;
use futures_util::{SinkExt, StreamExt};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

/// What an open page is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveEvent {
    /// An order changed at the broker (`event`: new, fill, partial_fill,
    /// canceled, expired, ...).
    Order {
        connection_id: i64,
        event: String,
        symbol: String,
        status: String,
    },
    /// The stream is (again) up: re-read everything.
    Resync { connection_id: i64 },
    /// The stream is down; until it is back the page polls.
    Down { connection_id: i64, reason: String },
}

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long the handshake may take, and how often a quiet stream checks
/// whether anyone still listens.
const STEP: Duration = Duration::from_secs(5);

/// The shared subscriptions, by connection id.
#[derive(Default)]
pub struct LiveHub {
    feeds: Mutex<HashMap<i64, broadcast::Sender<LiveEvent>>>,
}

impl LiveHub {
    /// Whether a subscription to connection `id` is running.
    pub fn is_running(&self, id: i64) -> bool {
        self.feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&id)
    }
}

/// Subscribes to the updates of each of `rows` (the caller's own
/// connections), starting the streams not yet running.
pub fn subscribe(
    state: &AppState,
    rows: Vec<ConnectionRow>,
) -> Vec<broadcast::Receiver<LiveEvent>> {
    let mut feeds = state.live.feeds.lock().unwrap_or_else(|e| e.into_inner());
    rows.into_iter()
        .map(|row| {
            if let Some(tx) = feeds.get(&row.id) {
                return tx.subscribe();
            }
            let (tx, rx) = broadcast::channel(256);
            feeds.insert(row.id, tx.clone());
            tokio::spawn(follow(state.clone(), row, tx));
            rx
        })
        .collect()
}

/// Whether nobody listens to `id` any more; if so its feed is removed
/// (under the lock, so a subscriber arriving now starts a new one).
fn abandoned(state: &AppState, id: i64, tx: &broadcast::Sender<LiveEvent>) -> bool {
    let mut feeds = state.live.feeds.lock().unwrap_or_else(|e| e.into_inner());
    if tx.receiver_count() > 0 {
        return false;
    }
    feeds.remove(&id);
    true
}

/// Follows one connection's stream for as long as anyone listens.
#[tracing::instrument(skip_all, fields(connection_id = row.id))]
async fn follow(state: AppState, row: ConnectionRow, tx: broadcast::Sender<LiveEvent>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        if abandoned(&state, row.id, &tx) {
            return;
        }
        let started = tokio::time::Instant::now();
        let reason = match listen(&state, &row, &tx).await {
            Ok(()) => continue,
            Err(reason) => reason,
        };
        tracing::info!(%reason, "trade updates stream down; reconnecting");
        let _ = tx.send(LiveEvent::Down {
            connection_id: row.id,
            reason: reason.clone(),
        });
        if started.elapsed() > MAX_BACKOFF {
            backoff = FIRST_BACKOFF;
        }
        // Waits, but notices sooner when the last page has closed.
        let until = tokio::time::Instant::now() + backoff;
        while tokio::time::Instant::now() < until {
            if abandoned(&state, row.id, &tx) {
                return;
            }
            tokio::time::sleep(STEP.min(until - tokio::time::Instant::now())).await;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn authenticate(credentials: &Credentials) -> Value {
    match credentials {
        Credentials::ApiKey { key_id, secret } => json!({
            "action": "authenticate",
            "data": {"key_id": key_id, "secret_key": secret.expose_secret()},
        }),
        Credentials::OAuth { access_token } => json!({
            "action": "authenticate",
            "data": {"oauth_token": access_token.expose_secret()},
        }),
    }
}

/// A frame's JSON (the paper stream sends binary frames, others text).
fn json_of(m: &Message) -> Option<Value> {
    match m {
        Message::Text(t) => serde_json::from_str(t.as_str()).ok(),
        Message::Binary(b) => serde_json::from_slice(b).ok(),
        _ => None,
    }
}

/// One session: connect, authenticate, listen, then forward updates until
/// the stream ends (`Err`, why) or nobody listens (`Ok`).
async fn listen(
    state: &AppState,
    row: &ConnectionRow,
    tx: &broadcast::Sender<LiveEvent>,
) -> Result<(), String> {
    let (url, credentials) = stream_target(state, row).map_err(|e| e.to_string())?;
    let (mut socket, _) =
        tokio::time::timeout(STEP, tokio_tungstenite::connect_async(url.as_str()))
            .await
            .map_err(|_| "the broker's stream did not answer in time".to_owned())?
            .map_err(|e| format!("the broker's stream could not be reached: {e}"))?;
    let send = |v: Value| Message::Text(v.to_string().into());
    socket
        .send(send(authenticate(&credentials)))
        .await
        .map_err(|e| e.to_string())?;
    let mut authorized = false;
    loop {
        let next = match tokio::time::timeout(STEP, socket.next()).await {
            Err(_) if !authorized => {
                return Err("the broker's stream did not authorize in time".into());
            }
            Err(_) => {
                if tx.receiver_count() == 0 {
                    let _ = socket.close(None).await;
                    return Ok(());
                }
                continue;
            }
            Ok(None) => return Err("the broker closed the stream".into()),
            Ok(Some(Err(e))) => return Err(format!("the stream failed: {e}")),
            Ok(Some(Ok(m))) => m,
        };
        let Some(msg) = json_of(&next) else {
            continue;
        };
        match msg["stream"].as_str() {
            Some("authorization") => {
                if msg["data"]["status"] != "authorized" {
                    return Err("the broker refused the stream's credentials".into());
                }
                authorized = true;
                socket
                    .send(send(
                        json!({"action": "listen", "data": {"streams": ["trade_updates"]}}),
                    ))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Some("listening") => {
                // Whatever happened while no stream was up is re-read now.
                state.snapshots.forget(row.id);
                let _ = tx.send(LiveEvent::Resync {
                    connection_id: row.id,
                });
            }
            Some("trade_updates") => {
                let data = &msg["data"];
                state.snapshots.forget(row.id);
                let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                let _ = tx.send(LiveEvent::Order {
                    connection_id: row.id,
                    event: text(&data["event"]),
                    symbol: text(&data["order"]["symbol"]),
                    status: text(&data["order"]["status"]),
                });
                if tx.receiver_count() == 0 {
                    let _ = socket.close(None).await;
                    return Ok(());
                }
            }
            _ => {}
        }
    }
}
