//! `GET /events`: the signed-in user's live updates (server-sent events),
//! one `update` event per [`LiveEvent`], as JSON. Only the caller's own
//! connections are followed.

use crate::server::auth::current_user;
use crate::server::portfolio::live::{self, LiveEvent};
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use tower_sessions::Session;

pub async fn events(State(state): State<AppState>, session: Session) -> Response {
    let user = match current_user(&state, &session).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return (StatusCode::UNAUTHORIZED, "Sign in to follow your accounts.").into_response();
        }
        Err(e) => return crate::error::AppError::from(e).into_response(),
    };
    let rows = match state.store.connections_of(user.id).await {
        Ok(rows) => rows,
        Err(e) => return crate::error::AppError::from(e).into_response(),
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let feeds = live::subscribe(&state, rows)
        .into_iter()
        .zip(ids)
        .map(|(rx, connection_id)| {
            futures_util::stream::unfold(rx, move |mut rx| async move {
                match rx.recv().await {
                    Ok(e) => Some((e, rx)),
                    // Too slow to keep up: re-read instead of missing updates.
                    Err(RecvError::Lagged(_)) => Some((LiveEvent::Resync { connection_id }, rx)),
                    Err(RecvError::Closed) => None,
                }
            })
            .boxed()
        });
    let merged = futures_util::stream::select_all(feeds).map(|e| {
        Event::default()
            .event("update")
            .json_data(&e)
            .or_else(|_| Ok::<_, std::convert::Infallible>(Event::default().event("update")))
    });
    Sse::new(merged)
        .keep_alive(KeepAlive::default())
        .into_response()
}
