//! Confirming a notification address before anything is sent to it: a new
//! address waits, with the SHA-256 of a one-time link token (never the token),
//! until someone with access to that mailbox opens the link. Until then
//! notices keep going where they went before, so nobody can aim Dripfeed's
//! e-mail at a stranger.

use crate::server::auth::{ClientInfo, audit};
use crate::server::state::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Where the confirmation link points.
pub const CONFIRM_PATH: &str = "/account/settings/confirm-email";
/// How long a confirmation link works.
pub const LINK_VALID_FOR: chrono::Duration = chrono::Duration::hours(24);

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Keeps `email` waiting for confirmation and mails its link there.
#[tracing::instrument(skip_all, fields(user_id = user_id))]
pub async fn request(state: &AppState, user_id: i64, email: &str) -> anyhow::Result<()> {
    // Two v4 UUIDs: 244 random bits from the operating system.
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let expires = crate::server::db::now() + LINK_VALID_FOR;
    state
        .store
        .set_pending_notification_email(user_id, email, &hash(&token), expires)
        .await?;
    let link = format!(
        "{}{CONFIRM_PATH}?token={token}",
        state.public_url.as_str().trim_end_matches('/')
    );
    let body = format!(
        "Someone asked Dripfeed to send its notices about their investing plans to this address.\n\n\
         If that was you, confirm it within 24 hours: {link}\n\n\
         If not, ignore this message: nothing will be sent here."
    );
    state
        .mailer
        .send(email, "Confirm your Dripfeed notification address", &body)
        .await
}

#[derive(Debug, serde::Deserialize)]
pub struct ConfirmQuery {
    #[serde(default)]
    token: String,
}

/// `GET /settings/confirm-email?token=…`: the link from the e-mail. The token
/// alone proves access to the mailbox; it works once, within its time.
pub async fn confirm(State(state): State<AppState>, Query(q): Query<ConfirmQuery>) -> Response {
    if q.token.is_empty() || q.token.len() > 128 {
        return Redirect::to("/account/settings?email=invalid").into_response();
    }
    match state
        .store
        .confirm_notification_email(&hash(&q.token), crate::server::db::now())
        .await
    {
        Ok(Some((user_id, _))) => {
            let logged = audit(
                &state.store,
                &ClientInfo::default(),
                Some(user_id),
                Some(user_id),
                "settings.notification_email_confirmed",
                json!({}),
            )
            .await;
            if let Err(e) = logged {
                tracing::error!(error.cause_chain = ?e, "could not audit an e-mail confirmation");
            }
            Redirect::to("/account/settings?email=confirmed").into_response()
        }
        Ok(None) => Redirect::to("/account/settings?email=invalid").into_response(),
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, "could not confirm a notification address");
            axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
