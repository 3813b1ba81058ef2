use crate::helpers::{PASSWORD, outcome};
use crate::helpers::{TestApp, browser_like_client, spawn_app};
use dripfeed::api::admin::{AdminListUsers, AdminSetUserDisabled};
use dripfeed::api::auth::VerifyLoginCode;
use dripfeed::api::security::{
    BeginTwoFactor, ChangePassword, ConfirmTwoFactor, DisableTwoFactor, GetSettings, RevokeSession,
    SaveSettings, SecurityOverview, SecurityStatus, TwoFactorEnrollment, UserSettingsDto,
};
use dripfeed::error::AppError;
use leptos::server_fn::ServerFn;
use totp_rs::{Algorithm, Secret, TOTP};

async fn call<T: serde::de::DeserializeOwned>(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> Result<T, AppError> {
    outcome(app.call_server_fn_as(client, path, form).await)
        .await
        .map(|body| serde_json::from_str(&body).expect("JSON"))
}

fn generator(secret_base32: &str) -> TOTP {
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .expect("base32");
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).expect("TOTP")
}

fn now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).expect("after 1970")
}

/// Signs up and turns on 2FA; returns the authenticator and the recovery codes.
async fn user_with_two_factor(app: &TestApp, email: &str) -> (TOTP, Vec<String>) {
    app.sign_up(&app.client, email).await.expect("sign-up");
    let enrollment: TwoFactorEnrollment = call(app, &app.client, BeginTwoFactor::PATH, &[])
        .await
        .expect("begin");
    assert!(enrollment.qr_svg.contains("<svg"));
    let totp = generator(&enrollment.secret);
    let code = totp.generate(now());
    let codes: Vec<String> = call(app, &app.client, ConfirmTwoFactor::PATH, &[("code", &code)])
        .await
        .expect("confirm");
    (totp, codes)
}

#[tokio::test]
async fn two_factor_enrolment_gives_ten_recovery_codes_and_seals_the_secret() {
    let app = spawn_app().await;

    let (totp, codes) = user_with_two_factor(&app, "ann@example.com").await;

    assert_eq!(codes.len(), 10);
    let row = app
        .store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    let sealed = row.totp_secret_sealed.expect("stored");
    assert!(sealed.starts_with("v1:"));
    assert!(!sealed.contains(&totp.get_secret_base32()));
    let status: SecurityStatus = call(&app, &app.client, SecurityOverview::PATH, &[])
        .await
        .unwrap();
    assert!(status.two_factor_enabled);
    assert_eq!(status.recovery_codes_left, 10);
}

#[tokio::test]
async fn a_wrong_enrolment_code_keeps_two_factor_off() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let _: TwoFactorEnrollment = call(&app, &app.client, BeginTwoFactor::PATH, &[])
        .await
        .unwrap();

    let error = call::<Vec<String>>(
        &app,
        &app.client,
        ConfirmTwoFactor::PATH,
        &[("code", "000000")],
    )
    .await
    .unwrap_err();

    assert!(error.for_field("code").unwrap().contains("not right"));
    let status: SecurityStatus = call(&app, &app.client, SecurityOverview::PATH, &[])
        .await
        .unwrap();
    assert!(!status.two_factor_enabled);
}

#[tokio::test]
async fn with_two_factor_a_password_alone_does_not_sign_in() {
    let app = spawn_app().await;
    let (totp, _) = user_with_two_factor(&app, "ann@example.com").await;
    let phone = browser_like_client(&app.address);

    let response = app
        .call_server_fn_as(
            &phone,
            dripfeed::api::auth::LogIn::PATH,
            &[("email", "ann@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap()),
        Some("/login/code")
    );
    assert!(app.whoami(&phone).await.is_none());
    assert_eq!(
        app.activity(&phone).await.unwrap_err(),
        AppError::Unauthenticated
    );

    let wrong = call::<()>(&app, &phone, VerifyLoginCode::PATH, &[("code", "123456")])
        .await
        .unwrap_err();
    assert!(wrong.for_field("code").is_some());

    // The code of the step after the one used at enrolment (one step of drift is allowed).
    let next = totp.generate(now() + 30);
    call::<()>(&app, &phone, VerifyLoginCode::PATH, &[("code", &next)])
        .await
        .expect("signed in");
    assert!(app.whoami(&phone).await.is_some());
}

#[tokio::test]
async fn a_totp_code_cannot_be_used_twice() {
    let app = spawn_app().await;
    let (totp, _) = user_with_two_factor(&app, "ann@example.com").await;
    let next = totp.generate(now() + 30);
    let first = browser_like_client(&app.address);
    let second = browser_like_client(&app.address);
    for client in [&first, &second] {
        app.log_in(client, "ann@example.com", PASSWORD)
            .await
            .unwrap();
    }

    call::<()>(&app, &first, VerifyLoginCode::PATH, &[("code", &next)])
        .await
        .expect("first use");
    let replay = call::<()>(&app, &second, VerifyLoginCode::PATH, &[("code", &next)]).await;

    assert!(replay.is_err());
    assert!(app.whoami(&second).await.is_none());
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = spawn_app().await;
    let (_, codes) = user_with_two_factor(&app, "ann@example.com").await;
    let first = browser_like_client(&app.address);
    let second = browser_like_client(&app.address);
    for client in [&first, &second] {
        app.log_in(client, "ann@example.com", PASSWORD)
            .await
            .unwrap();
    }

    call::<()>(
        &app,
        &first,
        VerifyLoginCode::PATH,
        &[("code", &codes[3].to_uppercase())],
    )
    .await
    .expect("recovery");
    let again = call::<()>(&app, &second, VerifyLoginCode::PATH, &[("code", &codes[3])]).await;

    assert!(again.is_err());
    let status: SecurityStatus = call(&app, &first, SecurityOverview::PATH, &[])
        .await
        .unwrap();
    assert_eq!(status.recovery_codes_left, 9);
}

#[tokio::test]
async fn turning_two_factor_off_needs_the_password_and_a_code() {
    let app = spawn_app().await;
    let (totp, _) = user_with_two_factor(&app, "ann@example.com").await;
    let next = totp.generate(now() + 30);

    let bad_password = call::<()>(
        &app,
        &app.client,
        DisableTwoFactor::PATH,
        &[("current_password", "not my password!"), ("code", &next)],
    )
    .await
    .unwrap_err();
    assert!(bad_password.for_field("current_password").is_some());

    call::<()>(
        &app,
        &app.client,
        DisableTwoFactor::PATH,
        &[("current_password", PASSWORD), ("code", &next)],
    )
    .await
    .expect("disabled");
    let status: SecurityStatus = call(&app, &app.client, SecurityOverview::PATH, &[])
        .await
        .unwrap();
    assert!(!status.two_factor_enabled);
    assert_eq!(status.recovery_codes_left, 0);
}

#[tokio::test]
async fn after_a_key_rotation_every_sealed_secret_still_opens() {
    let app = spawn_app().await;
    let (totp, _) = user_with_two_factor(&app, "ann@example.com").await;
    let before = app
        .store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap()
        .totp_secret_sealed
        .unwrap();

    // What `dripfeed admin rotate-key` does, from another process's point of view.
    let admin = dripfeed::server::crypto::Secrets::load(None, &app.data_dir).unwrap();
    admin.replace(admin.ring().with_new_key()).unwrap();
    let rewritten = dripfeed::server::auth::security::reseal_all(&app.store, &admin)
        .await
        .unwrap();

    assert_eq!(rewritten, 1);
    let after = app
        .store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap()
        .totp_secret_sealed
        .unwrap();
    assert_ne!(
        dripfeed::server::crypto::KeyRing::key_id_of(&before),
        dripfeed::server::crypto::KeyRing::key_id_of(&after)
    );
    // The running app opens the re-sealed secret: a TOTP sign-in works.
    let phone = browser_like_client(&app.address);
    app.log_in(&phone, "ann@example.com", PASSWORD)
        .await
        .unwrap();
    call::<()>(
        &app,
        &phone,
        VerifyLoginCode::PATH,
        &[("code", &totp.generate(now() + 30))],
    )
    .await
    .expect("signed in");
}

#[tokio::test]
async fn repeated_wrong_passwords_are_slowed_down_with_a_clear_wait() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let attacker = browser_like_client(&app.address);
    for _ in 0..5 {
        let e = app
            .log_in(&attacker, "ann@example.com", "guess guess guess")
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::Invalid(_)));
    }

    let limited = app
        .log_in(&attacker, "ann@example.com", PASSWORD)
        .await
        .unwrap_err();

    match &limited {
        AppError::TooManyRequests { retry_after_secs } => assert!(*retry_after_secs >= 1),
        other => panic!("expected a rate limit, got {other:?}"),
    }
    assert!(limited.to_string().contains("Try again in"));
    assert!(app.whoami(&attacker).await.is_none());
}

#[tokio::test]
async fn changing_the_password_signs_out_every_other_session() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let laptop = browser_like_client(&app.address);
    app.log_in(&laptop, "ann@example.com", PASSWORD)
        .await
        .unwrap();

    let wrong = call::<u64>(
        &app,
        &app.client,
        ChangePassword::PATH,
        &[
            ("current_password", "not it at all!"),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await
    .unwrap_err();
    assert!(wrong.for_field("current_password").is_some());
    assert!(app.whoami(&laptop).await.is_some());

    let ended: u64 = call(
        &app,
        &app.client,
        ChangePassword::PATH,
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await
    .unwrap();

    assert_eq!(ended, 1);
    assert!(app.whoami(&laptop).await.is_none());
    assert!(app.whoami(&app.client).await.is_some());
    let fresh = browser_like_client(&app.address);
    assert!(
        app.log_in(&fresh, "ann@example.com", PASSWORD)
            .await
            .is_err()
    );
    app.log_in(&fresh, "ann@example.com", "a brand new passphrase")
        .await
        .expect("new password works");
}

#[tokio::test]
async fn sessions_are_listed_and_revocable_only_by_their_owner() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let laptop = browser_like_client(&app.address);
    app.log_in(&laptop, "ann@example.com", PASSWORD)
        .await
        .unwrap();
    let bob = browser_like_client(&app.address);
    app.sign_up(&bob, "bob@example.com").await.unwrap();

    let status: SecurityStatus = call(&app, &app.client, SecurityOverview::PATH, &[])
        .await
        .unwrap();
    assert_eq!(status.sessions.len(), 2);
    assert_eq!(status.sessions.iter().filter(|s| s.current).count(), 1);
    assert!(
        status
            .sessions
            .iter()
            .all(|s| s.user_agent.as_deref() == Some("dripfeed-tests/1.0"))
    );
    let laptop_session = status.sessions.iter().find(|s| !s.current).unwrap().id;

    let by_bob = call::<()>(
        &app,
        &bob,
        RevokeSession::PATH,
        &[("id", &laptop_session.to_string())],
    )
    .await;
    assert_eq!(by_bob.unwrap_err(), AppError::NotFound);
    assert!(app.whoami(&laptop).await.is_some());

    call::<()>(
        &app,
        &app.client,
        RevokeSession::PATH,
        &[("id", &laptop_session.to_string())],
    )
    .await
    .expect("revoked");
    assert!(app.whoami(&laptop).await.is_none());
    assert!(app.whoami(&app.client).await.is_some());
}

#[tokio::test]
async fn settings_are_validated_and_private() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let bob = browser_like_client(&app.address);
    app.sign_up(&bob, "bob@example.com").await.unwrap();

    let bad = call::<()>(
        &app,
        &app.client,
        SaveSettings::PATH,
        &[
            ("time_zone", "Mars/Olympus"),
            ("notification_email", "nope"),
        ],
    )
    .await
    .unwrap_err();
    assert!(
        bad.for_field("time_zone")
            .unwrap()
            .contains("not a time zone")
    );
    assert!(bad.for_field("notification_email").is_some());
    let unchanged: UserSettingsDto = call(&app, &app.client, GetSettings::PATH, &[])
        .await
        .unwrap();
    assert_eq!(unchanged.time_zone, "America/New_York");

    call::<()>(
        &app,
        &app.client,
        SaveSettings::PATH,
        &[
            ("time_zone", "Europe/Berlin"),
            ("notification_email", "alerts@example.com"),
            ("notify_on_fill", "on"),
        ],
    )
    .await
    .expect("saved");

    let ann: UserSettingsDto = call(&app, &app.client, GetSettings::PATH, &[])
        .await
        .unwrap();
    assert_eq!(ann.time_zone, "Europe/Berlin");
    assert_eq!(ann.notification_email, "alerts@example.com");
    assert!(ann.notify_on_fill && !ann.notify_on_skip && !ann.notify_security);
    let bobs: UserSettingsDto = call(&app, &bob, GetSettings::PATH, &[]).await.unwrap();
    assert_eq!(bobs.time_zone, "America/New_York");
    let anonymous = browser_like_client(&app.address);
    assert_eq!(
        call::<UserSettingsDto>(&app, &anonymous, GetSettings::PATH, &[])
            .await
            .unwrap_err(),
        AppError::Unauthenticated
    );
}

#[tokio::test]
async fn only_admins_see_users_and_a_disabled_user_is_signed_out_and_kept_out() {
    let app = spawn_app().await;
    let cli = dripfeed::server::auth::ClientInfo::default();
    dripfeed::server::admin::create_user(
        &app.store,
        &cli,
        None,
        "root@example.com",
        PASSWORD.into(),
        true,
    )
    .await
    .unwrap();
    let admin = browser_like_client(&app.address);
    app.log_in(&admin, "root@example.com", PASSWORD)
        .await
        .unwrap();
    app.sign_up(&app.client, "ann@example.com").await.unwrap();

    let as_user = call::<Vec<dripfeed::api::admin::UserSummary>>(
        &app,
        &app.client,
        AdminListUsers::PATH,
        &[],
    )
    .await;
    assert_eq!(as_user.unwrap_err(), AppError::Forbidden);
    let users: Vec<dripfeed::api::admin::UserSummary> =
        call(&app, &admin, AdminListUsers::PATH, &[]).await.unwrap();
    let ann = users.iter().find(|u| u.email == "ann@example.com").unwrap();

    call::<()>(
        &app,
        &admin,
        AdminSetUserDisabled::PATH,
        &[("user_id", &ann.id.to_string()), ("disabled", "true")],
    )
    .await
    .expect("disabled");

    assert!(app.whoami(&app.client).await.is_none());
    let again = app
        .log_in(&app.client, "ann@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(again.general().unwrap().contains("disabled"));
    let by_user = call::<()>(
        &app,
        &app.client,
        AdminSetUserDisabled::PATH,
        &[("user_id", &ann.id.to_string()), ("disabled", "false")],
    )
    .await;
    assert_eq!(by_user.unwrap_err(), AppError::Unauthenticated);
}

#[tokio::test]
async fn admins_filter_the_audit_log_and_users_cannot_read_it() {
    use dripfeed::api::admin::{AdminAudit, AuditEntryView};
    let app = spawn_app().await;
    let cli = dripfeed::server::auth::ClientInfo::default();
    dripfeed::server::admin::create_user(
        &app.store,
        &cli,
        None,
        "root@example.com",
        PASSWORD.into(),
        true,
    )
    .await
    .unwrap();
    let admin = browser_like_client(&app.address);
    app.log_in(&admin, "root@example.com", PASSWORD)
        .await
        .unwrap();
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    app.log_in(&app.client, "ann@example.com", "not the password!!")
        .await
        .unwrap_err();

    let everything: Vec<AuditEntryView> = call(
        &app,
        &admin,
        AdminAudit::PATH,
        &[("email", ""), ("action", "")],
    )
    .await
    .unwrap();
    let anns: Vec<AuditEntryView> = call(
        &app,
        &admin,
        AdminAudit::PATH,
        &[("email", "ann@example.com"), ("action", "")],
    )
    .await
    .unwrap();
    let logins: Vec<AuditEntryView> = call(
        &app,
        &admin,
        AdminAudit::PATH,
        &[("email", ""), ("action", "login")],
    )
    .await
    .unwrap();
    let wildcard: Vec<AuditEntryView> = call(
        &app,
        &admin,
        AdminAudit::PATH,
        &[("email", ""), ("action", "%")],
    )
    .await
    .unwrap();

    assert_eq!(everything.len(), 4);
    assert!(
        anns.iter()
            .all(|e| e.subject.as_deref() == Some("ann@example.com"))
    );
    assert_eq!(anns.len(), 2);
    assert!(logins.iter().all(|e| e.action.starts_with("login")));
    assert_eq!(logins.len(), 2);
    assert!(
        wildcard.is_empty(),
        "a % in the filter is a literal, not a wildcard"
    );
    let unknown = call::<Vec<AuditEntryView>>(
        &app,
        &admin,
        AdminAudit::PATH,
        &[("email", "ghost@example.com"), ("action", "")],
    )
    .await;
    assert!(unknown.unwrap_err().for_field("email").is_some());
    let as_user = call::<Vec<AuditEntryView>>(
        &app,
        &app.client,
        AdminAudit::PATH,
        &[("email", ""), ("action", "")],
    )
    .await;
    assert_eq!(as_user.unwrap_err(), AppError::Forbidden);
}

#[tokio::test]
async fn guessing_the_current_password_to_change_it_is_rate_limited() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let guess = [
        ("current_password", "not it at all!"),
        ("new_password", "a brand new passphrase"),
    ];
    for _ in 0..5 {
        let e = call::<u64>(&app, &app.client, ChangePassword::PATH, &guess)
            .await
            .unwrap_err();
        assert!(e.for_field("current_password").is_some(), "{e:?}");
    }
    let limited = call::<u64>(&app, &app.client, ChangePassword::PATH, &guess)
        .await
        .unwrap_err();
    assert!(
        matches!(limited, AppError::TooManyRequests { .. }),
        "{limited:?}"
    );
    // Even the right password waits now; nothing changed.
    let right = [
        ("current_password", PASSWORD),
        ("new_password", "a brand new passphrase"),
    ];
    assert!(matches!(
        call::<u64>(&app, &app.client, ChangePassword::PATH, &right).await,
        Err(AppError::TooManyRequests { .. })
    ));
    assert!(
        app.log_in(
            &browser_like_client(&app.address),
            "ann@example.com",
            PASSWORD
        )
        .await
        .is_ok()
    );
}

/// A browser that reaches the app through a proxy which says it is `ip`.
pub(crate) fn behind_proxy(app: &TestApp, ip: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ORIGIN,
        app.address.parse().expect("origin"),
    );
    headers.insert("x-forwarded-for", ip.parse().expect("ip header"));
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client")
}

/// Signs up `n` new accounts from `ip`; returns the last outcome.
async fn sign_ups_from(app: &TestApp, ip: &str, n: usize) -> Result<String, AppError> {
    let mut last = Ok(String::new());
    for i in 0..n {
        let client = behind_proxy(app, ip);
        last = app
            .sign_up(
                &client,
                &format!("u{i}-{}@example.com", ip.replace('.', "-")),
            )
            .await;
    }
    last
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_limits() {
    let app = crate::helpers::spawn_app_configured(true, |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    })
    .await;
    // Sign-up allows ten per address per hour.
    assert!(sign_ups_from(&app, "203.0.113.1", 10).await.is_ok());
    assert!(matches!(
        sign_ups_from(&app, "203.0.113.1", 1).await,
        Err(AppError::TooManyRequests { .. })
    ));
    // Another client of the same proxy is not locked out with the first.
    assert!(sign_ups_from(&app, "203.0.113.2", 1).await.is_ok());
}

#[tokio::test]
async fn without_a_trusted_proxy_a_forwarded_header_changes_nothing() {
    let app = spawn_app().await;
    assert!(sign_ups_from(&app, "203.0.113.1", 10).await.is_ok());
    // Claiming to be someone else does not escape the limit.
    assert!(matches!(
        sign_ups_from(&app, "203.0.113.2", 1).await,
        Err(AppError::TooManyRequests { .. })
    ));
}

/// The confirmation link mailed to `to`, from the outbox.
fn confirmation_link(app: &TestApp, to: &str) -> String {
    let outbox = app.data_dir.join("outbox");
    for entry in std::fs::read_dir(&outbox).expect("an outbox") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("eml");
        // Undo quoted-printable soft line breaks and escapes.
        let text = text
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=");
        if text.contains(&format!("To: {to}"))
            && let Some(at) = text.find("/account/settings/confirm-email?token=")
        {
            let rest = &text[at..];
            let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
            return rest[..end].to_owned();
        }
    }
    panic!("no confirmation e-mail to {to}");
}

#[tokio::test]
async fn a_new_notification_address_is_used_only_after_its_link_is_opened() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    call::<()>(
        &app,
        &app.client,
        SaveSettings::PATH,
        &[
            ("time_zone", "America/New_York"),
            ("notification_email", "alerts@example.com"),
        ],
    )
    .await
    .expect("saved");
    let shown: UserSettingsDto = call(&app, &app.client, GetSettings::PATH, &[])
        .await
        .unwrap();
    assert_eq!(shown.notification_email, "alerts@example.com");
    assert!(shown.notification_email_pending);
    let stored = |app: &TestApp| {
        let store = app.store.clone();
        async move {
            store
                .user_by_email("ann@example.com")
                .await
                .unwrap()
                .unwrap()
                .notification_email
        }
    };
    assert_eq!(
        stored(&app).await,
        None,
        "notices still go to the sign-in address"
    );
    // Saving the settings again with the same address sends no second link.
    let mails = || {
        std::fs::read_dir(app.data_dir.join("outbox"))
            .unwrap()
            .count()
    };
    let before = mails();
    call::<()>(
        &app,
        &app.client,
        SaveSettings::PATH,
        &[
            ("time_zone", "America/New_York"),
            ("notification_email", "alerts@example.com"),
            ("notify_on_fill", "on"),
        ],
    )
    .await
    .expect("saved again");
    assert_eq!(mails(), before);

    // A made-up token confirms nothing; the mailed link does, once.
    let open = |path: String| {
        let client = browser_like_client(&app.address);
        let url = app.url(&path);
        async move {
            let r = client.get(url).send().await.unwrap();
            r.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    let wrong = open("/account/settings/confirm-email?token=0123456789abcdef".into()).await;
    assert_eq!(wrong, "/account/settings?email=invalid");
    assert_eq!(stored(&app).await, None);
    let link = confirmation_link(&app, "alerts@example.com");
    assert_eq!(
        open(link.clone()).await,
        "/account/settings?email=confirmed"
    );
    let page = app
        .client
        .get(app.url("/account/settings?email=confirmed"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Your notification address is confirmed"),
        "{page}"
    );
    assert_eq!(stored(&app).await.as_deref(), Some("alerts@example.com"));
    assert_eq!(
        open(link).await,
        "/account/settings?email=invalid",
        "single use"
    );
    let shown: UserSettingsDto = call(&app, &app.client, GetSettings::PATH, &[])
        .await
        .unwrap();
    assert!(!shown.notification_email_pending);
}

#[tokio::test]
async fn when_the_confirmation_mail_cannot_be_sent_nothing_is_saved_and_a_retry_sends_it() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    // The outbox cannot be written: a file stands where its folder goes.
    let outbox = app.data_dir.join("outbox");
    let _ = std::fs::remove_dir_all(&outbox);
    std::fs::write(&outbox, "not a folder").unwrap();
    let form = [
        ("time_zone", "Europe/Berlin"),
        ("notification_email", "alerts@example.com"),
    ];
    let refused = call::<()>(&app, &app.client, SaveSettings::PATH, &form)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppError::Unavailable(m) if m.contains("nothing was saved")),
        "{refused:?}"
    );
    let shown: UserSettingsDto = call(&app, &app.client, GetSettings::PATH, &[])
        .await
        .unwrap();
    assert_eq!(shown.time_zone, "America/New_York");
    assert!(!shown.notification_email_pending);

    // Once mail works again, the same request sends the link.
    std::fs::remove_file(&outbox).unwrap();
    call::<()>(&app, &app.client, SaveSettings::PATH, &form)
        .await
        .expect("saved");
    assert!(confirmation_link(&app, "alerts@example.com").contains("token="));
}
