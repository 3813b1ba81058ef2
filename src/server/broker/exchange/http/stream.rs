//! `GET /stream`: Alpaca's trade-updates websocket
//! (`tests/fixtures/alpaca/stream/`). The client authenticates in band
//! (`{"action":"authenticate","data":{"key_id","secret_key"}}` or
//! `{"data":{"oauth_token"}}`; apca's `{"action":"auth","key","secret"}`
//! too), then listens to `trade_updates`; every change to one of its
//! account's orders then arrives as a binary frame carrying JSON, as the
//! paper stream sends them. Listening before authenticating, or bad
//! credentials, is answered `unauthorized` (and bad credentials close the
//! stream). While a client listens its account is settled every second, so
//! an order waiting for the open fills and is reported without another
//! request.

use super::super::Exchange;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::{Value, json};
use uuid::Uuid;

pub(super) async fn stream(State(ex): State<Exchange>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| serve(ex, socket))
}

fn authorization(status: &str, action: &str) -> Value {
    json!({"stream": "authorization", "data": {"status": status, "action": action}})
}

/// The account these credentials open, as the HTTP API would.
fn account_of(ex: &Exchange, msg: &Value) -> Option<Uuid> {
    let data = msg.get("data").unwrap_or(msg);
    let text = |k: &str| data.get(k).and_then(Value::as_str);
    if let Some(token) = text("oauth_token") {
        return ex.read(|l| l.by_token(token));
    }
    let (key, secret) = match (text("key_id"), text("secret_key")) {
        (Some(k), Some(s)) => (k, s),
        _ => (text("key")?, text("secret")?),
    };
    ex.account_for_key(key, secret).ok().flatten()
}

async fn send(socket: &mut WebSocket, v: &Value) -> bool {
    socket
        .send(Message::Binary(v.to_string().into_bytes().into()))
        .await
        .is_ok()
}

async fn serve(ex: Exchange, mut socket: WebSocket) {
    let mut epoch = ex.stream_epoch();
    epoch.mark_unchanged();
    let mut updates = ex.trade_updates();
    let mut account: Option<Uuid> = None;
    let mut listening = false;
    let mut settle = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = epoch.changed() => return,
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let Ok(msg) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                match msg.get("action").and_then(Value::as_str) {
                    Some("authenticate" | "auth") => match account_of(&ex, &msg) {
                        Some(id) => {
                            account = Some(id);
                            if !send(&mut socket, &authorization("authorized", "authenticate")).await {
                                return;
                            }
                        }
                        None => {
                            let _ = send(&mut socket, &authorization("unauthorized", "authenticate")).await;
                            let _ = socket.send(Message::Close(None)).await;
                            return;
                        }
                    },
                    Some("listen") => {
                        let reply = if account.is_none() {
                            authorization("unauthorized", "listen")
                        } else {
                            let streams: Vec<&str> = msg["data"]["streams"]
                                .as_array()
                                .map(|s| {
                                    s.iter()
                                        .filter_map(Value::as_str)
                                        .filter(|s| *s == "trade_updates")
                                        .collect()
                                })
                                .unwrap_or_default();
                            listening = !streams.is_empty();
                            json!({"stream": "listening", "data": {"streams": streams}})
                        };
                        if !send(&mut socket, &reply).await {
                            return;
                        }
                    }
                    _ => {}
                }
            }
            update = updates.recv(), if listening => match update {
                Ok((id, data)) if Some(id) == account => {
                    if !send(&mut socket, &json!({"stream": "trade_updates", "data": data})).await {
                        return;
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            _ = settle.tick(), if listening => {
                if let Some(id) = account {
                    let now = ex.now();
                    let _ = ex.with_account(id, |a| a.settle(now));
                }
            }
        }
    }
}
