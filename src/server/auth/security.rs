//! Account security use-cases: two-factor enrolment and sign-in, password
//! change, the sessions list, and personal settings. Each takes the signed-in
//! user from `require_user()` and touches only that user's rows.

use super::rate_limit::Attempt;
use super::session_store::token_hash;
use super::two_factor as tf;
use super::{
    ClientInfo, CurrentUser, PENDING_SINCE, PENDING_USER_ID, audit, normalize_email, password,
    start_session,
};
use crate::error::{AppError, FieldError};
use crate::server::db::rows::UserRow;
use crate::server::db::users::UserSettings;
use crate::server::state::AppState;
use secrecy::SecretString;
use serde_json::json;
use tower_sessions::Session;

/// How long a correct password waits for its second factor.
const PENDING_SECONDS: i64 = 5 * 60;

/// What the enrolment page shows: the secret as a QR code and as text.
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub secret_base32: SecretString,
    pub otpauth_url: SecretString,
    pub qr_svg: String,
}

async fn user_row(state: &AppState, user_id: i64) -> Result<UserRow, AppError> {
    state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(AppError::Unauthenticated)
}

fn open_secret(state: &AppState, row: &UserRow) -> anyhow::Result<Option<Vec<u8>>> {
    row.totp_secret_sealed
        .as_deref()
        .map(|sealed| state.secrets.open(sealed, &tf::secret_context(row.id)))
        .transpose()
}

/// Starts (or restarts) enrolment: a new secret, sealed and stored as pending.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn begin_two_factor(
    state: &AppState,
    client: &ClientInfo,
    user: &CurrentUser,
) -> Result<Enrollment, AppError> {
    let secret = tf::new_secret()?;
    let sealed = state.secrets.seal(&secret, &tf::secret_context(user.id));
    if !state.store.set_pending_totp(user.id, &sealed).await? {
        return Err(AppError::Conflict(
            "Two-factor authentication is already on.".into(),
        ));
    }
    let totp = tf::totp(secret, &user.email)?;
    let url = totp.get_url();
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        "2fa.enrolment_started",
        json!({}),
    )
    .await?;
    Ok(Enrollment {
        secret_base32: SecretString::from(totp.get_secret_base32()),
        qr_svg: tf::qr_svg(&url)?,
        otpauth_url: SecretString::from(url),
    })
}

/// Confirms enrolment with a code from the app; returns the recovery codes,
/// shown this once.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn confirm_two_factor(
    state: &AppState,
    session: &Session,
    client: &ClientInfo,
    user: &CurrentUser,
    code: &str,
) -> Result<Vec<String>, AppError> {
    state.limits.check(
        Attempt::SecondFactor,
        client.ip.as_deref(),
        Some(&user.email),
    )?;
    let row = user_row(state, user.id).await?;
    if row.totp_enabled_at.is_some() {
        return Err(AppError::Conflict(
            "Two-factor authentication is already on.".into(),
        ));
    }
    let Some(secret) = open_secret(state, &row)? else {
        return Err(AppError::invalid(
            "code",
            "Start again: scan a new QR code first.",
        ));
    };
    let totp = tf::totp(secret, &row.email)?;
    let Some(step) = tf::matching_step(&totp, code, now_unix()) else {
        return Err(AppError::invalid(
            "code",
            "That code is not right. Enter the 6-digit code your app shows now.",
        ));
    };
    let codes = tf::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| tf::recovery_code_hash(c)).collect();
    if !state
        .store
        .enable_totp(user.id, step as i64, &hashes)
        .await?
    {
        return Err(AppError::Conflict(
            "Two-factor authentication changed meanwhile; reload.".into(),
        ));
    }
    // A change of privilege: new session id.
    session.cycle_id().await.map_err(anyhow::Error::from)?;
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        "2fa.enabled",
        json!({}),
    )
    .await?;
    Ok(codes)
}

/// Checks a TOTP or recovery code for `row`, using it up. Returns which kind
/// matched, or `None`.
async fn use_second_factor(
    state: &AppState,
    row: &UserRow,
    code: &str,
) -> anyhow::Result<Option<&'static str>> {
    if tf::looks_like_recovery_code(code) {
        let used = state
            .store
            .use_recovery_code(row.id, &tf::recovery_code_hash(code))
            .await?;
        return Ok(used.then_some("recovery_code"));
    }
    let Some(secret) = open_secret(state, row)? else {
        return Ok(None);
    };
    let totp = tf::totp(secret, &row.email)?;
    match tf::matching_step(&totp, code, now_unix()) {
        Some(step) if state.store.claim_totp_step(row.id, step as i64).await? => Ok(Some("totp")),
        _ => Ok(None),
    }
}

/// Finishes a sign-in that is waiting for its second factor.
#[tracing::instrument(skip_all)]
pub async fn complete_second_factor(
    state: &AppState,
    session: &Session,
    client: &ClientInfo,
    code: &str,
) -> Result<CurrentUser, AppError> {
    let pending = session
        .get::<i64>(PENDING_USER_ID)
        .await
        .map_err(anyhow::Error::from)?;
    let since = session
        .get::<i64>(PENDING_SINCE)
        .await
        .map_err(anyhow::Error::from)?
        .unwrap_or(0);
    let Some(user_id) =
        pending.filter(|_| chrono::Utc::now().timestamp() - since < PENDING_SECONDS)
    else {
        return Err(AppError::invalid(
            "form",
            "Your sign-in expired. Enter your email and password again.",
        ));
    };
    let row = user_row(state, user_id).await?;
    state.limits.check(
        Attempt::SecondFactor,
        client.ip.as_deref(),
        Some(&row.email),
    )?;
    if row.disabled_at.is_some() || row.totp_enabled_at.is_none() {
        return Err(AppError::invalid(
            "form",
            "Enter your email and password again.",
        ));
    }
    let Some(kind) = use_second_factor(state, &row, code).await? else {
        audit(
            &state.store,
            client,
            None,
            Some(row.id),
            "login.code_failed",
            json!({}),
        )
        .await?;
        return Err(AppError::invalid(
            "code",
            "That code is not right, or was already used. Enter the current code from your app, or a recovery code.",
        ));
    };
    start_session(session, client, &row).await?;
    audit(
        &state.store,
        client,
        Some(row.id),
        Some(row.id),
        "login.succeeded",
        json!({ "second_factor": kind }),
    )
    .await?;
    Ok(CurrentUser::from(&row))
}

/// Turns 2FA off; needs the password and a current code (or a recovery code).
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn disable_two_factor(
    state: &AppState,
    client: &ClientInfo,
    user: &CurrentUser,
    current_password: String,
    code: &str,
) -> Result<(), AppError> {
    state.limits.check(
        Attempt::SecondFactor,
        client.ip.as_deref(),
        Some(&user.email),
    )?;
    let row = user_row(state, user.id).await?;
    if row.totp_enabled_at.is_none() {
        return Err(AppError::Conflict(
            "Two-factor authentication is already off.".into(),
        ));
    }
    if !password::verify(current_password, Some(row.password_hash.clone())).await {
        return Err(AppError::invalid(
            "current_password",
            "That is not your current password.",
        ));
    }
    if use_second_factor(state, &row, code).await?.is_none() {
        return Err(AppError::invalid(
            "code",
            "That code is not right, or was already used.",
        ));
    }
    state.store.disable_totp(user.id).await?;
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        "2fa.disabled",
        json!({}),
    )
    .await?;
    Ok(())
}

/// Whether 2FA is on, and how many recovery codes are left.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn two_factor_status(
    state: &AppState,
    user: &CurrentUser,
) -> Result<(bool, i64), AppError> {
    let row = user_row(state, user.id).await?;
    let left = state.store.unused_recovery_codes(user.id).await?;
    Ok((row.totp_enabled_at.is_some(), left))
}

/// Changes the password (the current one is required) and ends every other
/// session of the user. Returns how many sessions ended.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn change_password(
    state: &AppState,
    session: &Session,
    client: &ClientInfo,
    user: &CurrentUser,
    current: String,
    new: String,
) -> Result<u64, AppError> {
    state.limits.check(
        Attempt::PasswordChange,
        client.ip.as_deref(),
        Some(&format!("user:{}", user.id)),
    )?;
    let row = user_row(state, user.id).await?;
    let mut errors = Vec::new();
    if let Err(message) = password::check_rules(&new, &row.email) {
        errors.push(FieldError {
            field: "new_password".into(),
            message,
        });
    }
    if !password::verify(current, Some(row.password_hash.clone())).await {
        errors.push(FieldError {
            field: "current_password".into(),
            message: "That is not your current password.".into(),
        });
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let hash = password::hash(new).await?;
    // This browser gets a new session id first; then the new hash and the
    // end of every other session are one transaction (both or neither).
    session.cycle_id().await.map_err(anyhow::Error::from)?;
    session.save().await.map_err(anyhow::Error::from)?;
    let keep = current_session_row(state, session).await?;
    let ended = state
        .store
        .change_password_ending_sessions(user.id, &hash, keep)
        .await?;
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        "password.changed",
        json!({ "other_sessions_ended": ended }),
    )
    .await?;
    Ok(ended)
}

/// The row id of the session this request belongs to.
pub async fn current_session_row(
    state: &AppState,
    session: &Session,
) -> anyhow::Result<Option<i64>> {
    match session.id() {
        Some(id) => state.store.session_id_by_hash(&token_hash(&id)).await,
        None => Ok(None),
    }
}

/// Ends one of the user's own sessions.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn revoke_session(
    state: &AppState,
    client: &ClientInfo,
    user: &CurrentUser,
    session_id: i64,
) -> Result<(), AppError> {
    if !state.store.revoke_session(user.id, session_id).await? {
        // Someone else's session looks exactly like a missing one.
        return Err(AppError::NotFound);
    }
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        "session.revoked",
        json!({ "session": session_id }),
    )
    .await?;
    Ok(())
}

/// The settings form as typed.
pub struct SettingsForm {
    pub time_zone: String,
    pub notification_email: String,
    pub notify_on_fill: bool,
    pub notify_on_skip: bool,
    pub notify_security: bool,
}

/// What saving the settings does to a notification address awaiting
/// confirmation.
enum Pending {
    /// Mail a confirmation link for this new address.
    Request(String),
    /// The same address again: its link stands.
    Keep,
    /// No new address waits any more.
    Clear,
}

/// Validates and saves personal settings; nothing is saved if any field is bad.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn update_settings(
    state: &AppState,
    client: &ClientInfo,
    user: &CurrentUser,
    form: SettingsForm,
) -> Result<(), AppError> {
    let mut errors = Vec::new();
    let zone = form.time_zone.trim();
    if zone.parse::<chrono_tz::Tz>().is_err() {
        errors.push(FieldError {
            field: "time_zone".into(),
            message: format!(
                "{zone:?} is not a time zone. Use a name like America/New_York or Europe/Berlin."
            ),
        });
    }
    let email = form.notification_email.trim();
    let notification_email = if email.is_empty() {
        None
    } else {
        match normalize_email(email) {
            Ok(_) => Some(email.to_owned()),
            Err(message) => {
                errors.push(FieldError {
                    field: "notification_email".into(),
                    message,
                });
                None
            }
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    // A new address is used only once confirmed; until then notices keep
    // going where they went. Empty (the sign-in address) and the sign-in
    // address itself take effect at once.
    let row = user_row(state, user.id).await?;
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    // (the address notices go to, and what happens to a pending one)
    let (effective, pending) = match notification_email {
        None => (None, Pending::Clear),
        Some(addr)
            if row
                .notification_email
                .as_deref()
                .is_some_and(|c| same(c, &addr)) =>
        {
            (row.notification_email.clone(), Pending::Clear)
        }
        Some(addr) if same(&addr, &row.email) => (Some(addr), Pending::Clear),
        // Saved again while its link is out: the link stands, no new mail.
        Some(addr)
            if row
                .pending_notification_email
                .as_deref()
                .is_some_and(|p| same(p, &addr)) =>
        {
            (row.notification_email.clone(), Pending::Keep)
        }
        Some(addr) => (row.notification_email.clone(), Pending::Request(addr)),
    };
    let settings = UserSettings {
        time_zone: zone.to_owned(),
        notification_email: effective,
        notify_on_fill: form.notify_on_fill,
        notify_on_skip: form.notify_on_skip,
        notify_security: form.notify_security,
    };
    // The link goes out first: if it cannot be sent, nothing is saved and
    // the person is told, so a retry sends it again.
    match &pending {
        Pending::Request(addr) => {
            if let Err(e) = super::email_confirmation::request(state, user.id, addr).await {
                tracing::warn!(error.cause_chain = ?e, "could not send a confirmation e-mail");
                state
                    .store
                    .clear_pending_notification_email(user.id)
                    .await?;
                return Err(AppError::Unavailable(format!(
                    "The confirmation e-mail to {addr} could not be sent, so nothing was saved. Try again in a few minutes."
                )));
            }
        }
        Pending::Keep => {}
        Pending::Clear => {
            state
                .store
                .clear_pending_notification_email(user.id)
                .await?
        }
    }
    state.store.update_user_settings(user.id, &settings).await?;
    audit(
        &state.store,
        client,
        Some(user.id),
        Some(user.id),
        "settings.changed",
        json!({ "time_zone": zone }),
    )
    .await?;
    Ok(())
}

/// Re-seals every stored secret under the ring's current key. Returns how
/// many values were rewritten.
pub async fn reseal_all(
    store: &crate::server::db::Store,
    secrets: &crate::server::crypto::Secrets,
) -> anyhow::Result<u64> {
    let ring = secrets.ring();
    let mut rewritten = 0;
    for (user_id, sealed) in store.sealed_totp_secrets().await? {
        if crate::server::crypto::KeyRing::key_id_of(&sealed) == Some(ring.current_id()) {
            continue;
        }
        let context = tf::secret_context(user_id);
        let plain = secrets.open(&sealed, &context)?;
        let fresh = ring.seal(&plain, &context);
        if store.reseal_totp_secret(user_id, &sealed, &fresh).await? {
            rewritten += 1;
        }
    }
    for (id, user_id, sealed) in store.sealed_connection_credentials().await? {
        if crate::server::crypto::KeyRing::key_id_of(&sealed) == Some(ring.current_id()) {
            continue;
        }
        let context = crate::server::connections::credentials_context(user_id);
        let plain = secrets.open(&sealed, &context)?;
        let fresh = ring.seal(&plain, &context);
        if store
            .reseal_connection_credentials(id, &sealed, &fresh)
            .await?
        {
            rewritten += 1;
        }
    }
    Ok(rewritten)
}

fn now_unix() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default()
}
