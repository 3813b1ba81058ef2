//! Alerts to administrators: raised once when a condition starts (an
//! e-mail to every admin and a row on the health page), kept up to date
//! while it holds, and cleared (with a second e-mail) when it stops. The
//! engine evaluates them once a minute; several instances evaluating at once
//! still raise one alert (the open alert of a kind is unique in the
//! database).
//!
//! Conditions: GO has not run on a trading day well after its time, a run
//! unresolved past the dead-man line, a broker's error rate above the
//! threshold, Stripe webhook failures, the database not ready, and e-mail
//! backing up.

use crate::domain::calendar;
use crate::server::engine::STUCK_AFTER;
use crate::server::state::AppState;
use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

/// GO counts as missed this long after its time on a trading day.
pub const GO_GRACE: Duration = Duration::minutes(30);
/// A broker environment alerts with at least this many requests in the
/// window and at least this share failing.
pub const BROKER_MIN_REQUESTS: u64 = 20;
pub const BROKER_ERROR_PCT: u64 = 20;
pub const BROKER_WINDOW_MINUTES: i64 = 15;
/// Webhook failures in the last hour that alert.
pub const WEBHOOK_FAILURES: u64 = 3;
/// Unsent mail: outbox files, or SMTP failures in the last hour.
pub const OUTBOX_FILES: u64 = 500;
pub const MAIL_FAILURES: u64 = 5;

pub const KINDS: [&str; 6] = [
    "go_missed",
    "runs_unresolved",
    "broker_errors",
    "webhook_failures",
    "database_not_ready",
    "outbox_backlog",
];

/// A condition that holds: its title and what it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub kind: &'static str,
    pub title: String,
    pub detail: String,
}

/// What one evaluation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluated {
    pub raised: Vec<&'static str>,
    pub cleared: Vec<&'static str>,
    pub holding: Vec<&'static str>,
}

/// What the process remembers between evaluations for the one condition
/// the database cannot hold while it is down: since when it was down, and
/// whom to tell.
#[derive(Debug, Default)]
pub struct AlertMemory {
    database_down_since: Mutex<Option<DateTime<Utc>>>,
    admins: Mutex<Vec<String>>,
}

/// The conditions that hold at `now` (the database reachable).
pub async fn firing(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<Vec<Firing>> {
    let store = &state.store;
    let mut out = Vec::new();

    let migrations = store.migration_status().await?;
    if !migrations.is_current() {
        out.push(Firing {
            kind: "database_not_ready",
            title: "The database is not ready".into(),
            detail: format!(
                "{} of {} migrations applied, {} failed: run `dripfeed migrate`.",
                migrations.applied, migrations.expected, migrations.failed
            ),
        });
    }

    let ny = now.with_timezone(&chrono_tz::America::New_York);
    let today = ny.date_naive();
    if calendar::trading_day(today).is_some()
        && ny.time() > state.settings.go_time() + GO_GRACE
        && store.users_with_recommendations().await? > 0
        && !store.last_daily_job("go", today).await?.1
    {
        out.push(Firing {
            kind: "go_missed",
            title: "The daily analysis (GO) has not run today".into(),
            detail: format!(
                "GO is due at {} New York time on trading days and has not run for anyone on {today}. Is an engine running?",
                state.settings.go_at
            ),
        });
    }

    let runs = store.run_counts(now, now - STUCK_AFTER).await?;
    if runs.unresolved > 0 {
        out.push(Firing {
            kind: "runs_unresolved",
            title: "Runs are unresolved past their time".into(),
            detail: format!(
                "{} run(s) still unresolved more than {} minutes after their time ({} in flight, {} due).",
                runs.unresolved,
                STUCK_AFTER.num_minutes(),
                runs.in_flight,
                runs.due
            ),
        });
    }

    let wall = Utc::now();
    let samples = super::stats::recent(state, wall, 60).await?;
    let bad: Vec<String> = super::stats::broker_window(&samples, wall, BROKER_WINDOW_MINUTES)
        .into_iter()
        .filter(|w| {
            w.requests >= BROKER_MIN_REQUESTS && w.errors * 100 >= w.requests * BROKER_ERROR_PCT
        })
        .map(|w| {
            let codes: Vec<String> = w.by_code.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
            format!(
                "{}: {} of {} requests failed ({})",
                w.environment,
                w.errors,
                w.requests,
                codes.join(", ")
            )
        })
        .collect();
    if !bad.is_empty() {
        out.push(Firing {
            kind: "broker_errors",
            title: "A broker is failing".into(),
            detail: format!(
                "In the last {BROKER_WINDOW_MINUTES} minutes: {}.",
                bad.join("; ")
            ),
        });
    }

    let (_, webhook_failures) = super::stats::webhook_window(&samples, wall, 60);
    if webhook_failures >= WEBHOOK_FAILURES {
        out.push(Firing {
            kind: "webhook_failures",
            title: "Stripe webhooks are failing".into(),
            detail: format!(
                "{webhook_failures} deliveries refused or failed in the last hour (bad signatures, or the database)."
            ),
        });
    }

    let files = super::health::outbox_files(state).unwrap_or(0);
    let (_, mail_failed) = super::stats::mail_window(&samples, wall, 60);
    if files >= OUTBOX_FILES || mail_failed >= MAIL_FAILURES {
        out.push(Firing {
            kind: "outbox_backlog",
            title: "E-mail is backing up".into(),
            detail: if files >= OUTBOX_FILES {
                format!("{files} messages wait in the outbox folder: set DRIPFEED_SMTP_URL to send them.")
            } else {
                format!("{mail_failed} messages could not be sent in the last hour.")
            },
        });
    }
    Ok(out)
}

async fn tell_admins(state: &AppState, to: &[String], subject: &str, body: &str) -> bool {
    let mut all = true;
    for address in to {
        if let Err(e) = state.mailer.send(address, subject, body).await {
            tracing::warn!(error.cause_chain = ?e, "could not e-mail an alert to an admin");
            all = false;
        }
    }
    all
}

/// Raises, updates and clears alerts for what holds at `now`.
#[tracing::instrument(skip_all)]
pub async fn evaluate(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<Evaluated> {
    let memory = &state.alert_memory;
    let store = &state.store;
    let mut out = Evaluated::default();
    // The database itself first: while it cannot be reached nothing can be
    // stored, so this process remembers it and e-mails the admins it knew.
    if let Err(e) = store.ping().await {
        let first = {
            let mut down = memory
                .database_down_since
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?;
            let first = down.is_none();
            down.get_or_insert(now);
            first
        };
        if first {
            tracing::error!(error.cause_chain = ?e, "alert: the database cannot be reached");
            let admins = memory.admins.lock().map(|a| a.clone()).unwrap_or_default();
            tell_admins(
                state,
                &admins,
                "[Dripfeed alert] The database cannot be reached",
                &format!(
                    "Dripfeed cannot reach its database since {}: {e}",
                    crate::domain::when::utc(now)
                ),
            )
            .await;
            out.raised.push("database_not_ready");
        }
        return Ok(out);
    }
    let admins = store.admin_addresses().await?;
    if let Ok(mut known) = memory.admins.lock() {
        known.clone_from(&admins);
    }
    let was_down = memory
        .database_down_since
        .lock()
        .ok()
        .and_then(|mut d| d.take());
    if let Some(since) = was_down {
        // Recorded now that it can be: raised when it went down, cleared now.
        if let Some(id) = store
            .raise_alert(
                "database_not_ready",
                "The database could not be reached",
                &format!(
                    "Unreachable from {} until {}.",
                    crate::domain::when::utc(since),
                    crate::domain::when::utc(now)
                ),
                since,
            )
            .await?
        {
            store.mark_alert_emailed(id, since).await?;
        }
        store.clear_alert("database_not_ready", now).await?;
        tell_admins(
            state,
            &admins,
            "[Dripfeed] Cleared: the database can be reached again",
            "Dripfeed reaches its database again.",
        )
        .await;
    }

    let holding = firing(state, now).await?;
    for kind in KINDS {
        match holding.iter().find(|f| f.kind == kind) {
            Some(f) => {
                if let Some(id) = store.raise_alert(kind, &f.title, &f.detail, now).await? {
                    tracing::warn!(kind, detail = %f.detail, "alert raised");
                    crate::server::metrics::alert_raised(kind);
                    let body = format!(
                        "{}\n\n{}\n\nSee the health page: {}admin/health",
                        f.title, f.detail, state.public_url
                    );
                    if tell_admins(
                        state,
                        &admins,
                        &format!("[Dripfeed alert] {}", f.title),
                        &body,
                    )
                    .await
                    {
                        store.mark_alert_emailed(id, now).await?;
                    }
                    out.raised.push(kind);
                } else {
                    store.touch_alert(kind, &f.detail, now).await?;
                    out.holding.push(kind);
                }
            }
            None => {
                if let Some(title) = store.clear_alert(kind, now).await? {
                    tracing::info!(kind, "alert cleared");
                    tell_admins(
                        state,
                        &admins,
                        &format!("[Dripfeed] Cleared: {title}"),
                        &format!(
                            "{title}: this no longer holds as of {}.",
                            crate::domain::when::utc(now)
                        ),
                    )
                    .await;
                    out.cleared.push(kind);
                }
            }
        }
    }
    Ok(out)
}
