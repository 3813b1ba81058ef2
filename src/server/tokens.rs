//! Personal API tokens: created in Settings (Pro and above), shown once,
//! kept only as a SHA-256, scoped `read` or `trade`, with an optional
//! expiry, revocable, and checked on every `/api/v1` request.

use crate::domain::entitlement::Feature;
use crate::dto::stamp::Stamp;
use crate::dto::tokens::{ApiTokenView, CreatedApiToken, TokenScope};
use crate::error::AppError;
use crate::server::auth::{ClientInfo, CurrentUser, audit};
use crate::server::db::api_tokens::{ApiTokenRow, NewApiToken};
use crate::server::state::AppState;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use rand_core::TryRngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Every token starts with this, so a leaked one is recognisable (and
/// secret scanners can be taught it).
pub const TOKEN_PREFIX: &str = "dft_";
/// How many characters of a token are kept to tell tokens apart.
const SHOWN: usize = TOKEN_PREFIX.len() + 8;
/// At most this many tokens a user can hold unrevoked.
pub const MAX_TOKENS: usize = 20;
/// The longest expiry offered.
pub const MAX_DAYS: i64 = 366;

/// Who an API request acts for, and what its token allows.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub user: CurrentUser,
    pub token_id: i64,
    pub scope: TokenScope,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Revoked,
    Expired,
    /// The account was disabled.
    Disabled,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Self::Unknown => "This API token is not valid.",
            Self::Revoked => "This API token was revoked.",
            Self::Expired => "This API token has expired.",
            Self::Disabled => "This account is disabled.",
        }
    }
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn view(
    row: ApiTokenRow,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<ApiTokenView, AppError> {
    let scope = TokenScope::parse(&row.scope).ok_or_else(|| {
        anyhow::anyhow!("api token {} has an unknown scope {:?}", row.id, row.scope)
    })?;
    let stamp = |t| Stamp::new(t, zone, now);
    Ok(ApiTokenView {
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        scope,
        created_at: stamp(row.created_at),
        expired: row.expires_at.is_some_and(|t| t <= now),
        expires_at: row.expires_at.map(stamp),
        last_used_at: row.last_used_at.map(stamp),
        revoked_at: row.revoked_at.map(stamp),
    })
}

/// The user's tokens, newest first.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn list(state: &AppState, user: &CurrentUser) -> Result<Vec<ApiTokenView>, AppError> {
    let (zone, now) = (user.zone()?, Utc::now());
    state
        .store
        .api_tokens_of(user.id)
        .await?
        .into_iter()
        .map(|r| view(r, zone, now))
        .collect()
}

/// Creates a token. `expires_in_days`: empty for none, else 1 to
/// [`MAX_DAYS`]. The token itself is in the answer and nowhere else.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn create(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    name: &str,
    scope: &str,
    expires_in_days: &str,
) -> Result<CreatedApiToken, AppError> {
    crate::server::billing::require(state, user.id, Feature::ApiAccess).await?;
    let mut errors = Vec::new();
    let name = name.trim();
    if name.is_empty() {
        errors.push(field("name", "Name the token after what will use it."));
    } else if name.chars().count() > 60 {
        errors.push(field("name", "Keep the name to 60 characters."));
    }
    let scope = TokenScope::parse(scope.trim());
    if scope.is_none() {
        errors.push(field("scope", "Choose read only, or read and trade."));
    }
    let days = match expires_in_days.trim() {
        "" => None,
        d => match d.parse::<i64>() {
            Ok(n) if (1..=MAX_DAYS).contains(&n) => Some(n),
            _ => {
                errors.push(field(
                    "expires_in_days",
                    format!(
                        "Enter a whole number of days from 1 to {MAX_DAYS}, or leave it empty."
                    ),
                ));
                None
            }
        },
    };
    let (Some(scope), true) = (scope, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let now = crate::server::db::now();
    let open = state
        .store
        .api_tokens_of(user.id)
        .await?
        .iter()
        .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now))
        .count();
    if open >= MAX_TOKENS {
        return Err(AppError::Conflict(format!(
            "You have {MAX_TOKENS} tokens already; revoke one you no longer use first."
        )));
    }
    let mut secret = [0u8; 32];
    rand_core::OsRng
        .try_fill_bytes(&mut secret)
        .map_err(|e| anyhow::anyhow!("the system's random source failed: {e}"))?;
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let prefix = &token[..SHOWN];
    let expires_at = days.map(|d| now + Duration::days(d));
    let id = state
        .store
        .insert_api_token(&NewApiToken {
            user_id: user.id,
            name,
            prefix,
            token_hash: &hash(&token),
            scope: scope.as_str(),
            created_at: now,
            expires_at,
        })
        .await?;
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        "api_token.created",
        json!({ "token_id": id, "name": name, "scope": scope.as_str(), "expires_at": expires_at }),
    )
    .await?;
    let row = ApiTokenRow {
        id,
        user_id: user.id,
        name: name.to_owned(),
        prefix: prefix.to_owned(),
        scope: scope.as_str().to_owned(),
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    Ok(CreatedApiToken {
        token,
        view: view(row, user.zone()?, now)?,
    })
}

fn field(name: &str, message: impl Into<String>) -> crate::error::FieldError {
    crate::error::FieldError {
        field: name.into(),
        message: message.into(),
    }
}

/// Revokes one of the user's tokens at once: its next request is refused.
#[tracing::instrument(skip_all, fields(user_id = user.id, token_id = id))]
pub async fn revoke(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
    id: i64,
) -> Result<(), AppError> {
    if !state
        .store
        .revoke_api_token(user.id, id, crate::server::db::now())
        .await?
    {
        return Err(AppError::NotFound);
    }
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        "api_token.revoked",
        json!({ "token_id": id }),
    )
    .await?;
    Ok(())
}

/// The caller a bearer `token` stands for at `now`, or (`Ok(Err(..))`) why
/// the token is refused. A user whose tier no longer includes the API gets
/// `Err(Locked)` naming the tier that does.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<ApiCaller, Refusal>, AppError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(Err(Refusal::Unknown));
    }
    let Some(row) = state.store.api_token_by_hash(&hash(token)).await? else {
        return Ok(Err(Refusal::Unknown));
    };
    if row.revoked_at.is_some() {
        return Ok(Err(Refusal::Revoked));
    }
    if row.expires_at.is_some_and(|t| t <= now) {
        return Ok(Err(Refusal::Expired));
    }
    let scope = TokenScope::parse(&row.scope).ok_or_else(|| {
        anyhow::anyhow!("api token {} has an unknown scope {:?}", row.id, row.scope)
    })?;
    let Some(user) = state.store.user_by_id(row.user_id).await? else {
        return Ok(Err(Refusal::Unknown));
    };
    if user.disabled_at.is_some() {
        return Ok(Err(Refusal::Disabled));
    }
    crate::server::billing::require(state, user.id, Feature::ApiAccess).await?;
    state.store.touch_api_token(row.id, now).await?;
    Ok(Ok(ApiCaller {
        user: CurrentUser::from(&user),
        token_id: row.id,
        scope,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_kept_as_its_sha256_never_as_itself() {
        let h = hash("dft_abc");
        assert_eq!(h.len(), 64);
        assert!(!h.contains("abc"));
        assert_eq!(h, hash("dft_abc"));
        assert_ne!(h, hash("dft_abd"));
    }
}
