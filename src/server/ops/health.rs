//! The administrators' system health page: the database, engine instances,
//! runs, the daily jobs, brokers, Stripe, the AI analyst, e-mail, the kill
//! switch and the alerts. Admins only.

use crate::domain::calendar;
use crate::dto::admin::{
    AiHealth, AlertView, BrokerHealth, DatabaseHealth, EngineInstanceView, JobsHealth, MailHealth,
    RunsHealth, StripeHealth, SystemHealth,
};
use crate::dto::stamp::Stamp;
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::db::ops::AlertRow;
use crate::server::engine::STUCK_AFTER;
use crate::server::ops::stats;
use crate::server::state::AppState;
use chrono::{DateTime, Duration, Utc};

/// An engine without a pass for this long is shown as stale.
pub const STALE_AFTER: Duration = Duration::seconds(60);
/// Broker outcomes are shown over this many minutes.
pub const BROKER_WINDOW_MINUTES: i64 = 15;

pub fn alert_view(a: AlertRow, zone: chrono_tz::Tz, now: DateTime<Utc>) -> AlertView {
    let stamp = |t| Stamp::new(t, zone, now);
    AlertView {
        id: a.id,
        kind: a.kind,
        title: a.title,
        detail: a.detail,
        raised_at: stamp(a.raised_at),
        last_seen_at: stamp(a.last_seen_at),
        cleared_at: a.cleared_at.map(stamp),
        emailed: a.emailed_at.is_some(),
    }
}

/// Files waiting in the outbox folder, in outbox mode.
pub fn outbox_files(state: &AppState) -> Option<u64> {
    match &state.mailer.transport {
        crate::server::mail::MailTransport::Outbox { dir, .. } => Some(
            std::fs::read_dir(dir)
                .map(|d| d.filter_map(Result::ok).count() as u64)
                .unwrap_or(0),
        ),
        crate::server::mail::MailTransport::Smtp { .. } => None,
    }
}

#[tracing::instrument(skip_all, fields(user_id = admin.id))]
pub async fn system_health(
    state: &AppState,
    admin: &CurrentUser,
    now: DateTime<Utc>,
) -> Result<SystemHealth, AppError> {
    if !admin.is_admin {
        return Err(AppError::Forbidden);
    }
    let zone = admin.zone()?;
    let stamp = |t| Stamp::new(t, zone, now);
    let store = &state.store;
    let migrations = store.migration_status().await?;
    let database = DatabaseHealth {
        backend: format!("{:?}", store.backend()).to_lowercase(),
        ready: migrations.is_current(),
        migrations_applied: migrations.applied,
        migrations_expected: migrations.expected,
        size_bytes: store.database_size().await.ok(),
    };
    let engines = store
        .engine_instances(now - Duration::hours(1))
        .await?
        .into_iter()
        .map(|e| EngineInstanceView {
            stale: now - e.last_pass_at > STALE_AFTER,
            name: e.name,
            started_at: stamp(e.started_at),
            last_pass_at: stamp(e.last_pass_at),
            passes: e.passes,
        })
        .collect();
    let counts = store.run_counts(now, now - STUCK_AFTER).await?;
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let (last_go, go_today) = store.last_daily_job("go", today).await?;
    let (last_analyze, _) = store.last_daily_job("analyze", today).await?;
    let wall = Utc::now();
    let samples = stats::recent(state, wall, 60).await?;
    let brokers = stats::broker_window(&samples, wall, BROKER_WINDOW_MINUTES)
        .into_iter()
        .map(|w| BrokerHealth {
            environment: w.environment,
            requests: w.requests,
            errors: w.errors,
            by_code: w.by_code,
        })
        .collect();
    let last_event = store.last_stripe_event().await?;
    let (deliveries, failures) = stats::webhook_window(&samples, wall, 60);
    let (calls, ai_failures) = store.ai_calls_on(today).await?;
    let (sent, failed) = stats::mail_window(&samples, wall, 60);
    let kill_switch = store.global_kill_switch().await?.map(|g| {
        format!(
            "Stopped {} by user #{}: {}",
            crate::domain::when::utc(g.at),
            g.by_user_id,
            g.reason
        )
    });
    Ok(SystemHealth {
        checked_at: stamp(now),
        database,
        engines,
        runs: RunsHealth {
            due: counts.due,
            in_flight: counts.in_flight,
            unresolved: counts.unresolved,
            unresolved_after_minutes: STUCK_AFTER.num_minutes(),
        },
        jobs: JobsHealth {
            last_go: last_go.map(stamp),
            last_analyze: last_analyze.map(stamp),
            trading_day: calendar::trading_day(today).is_some(),
            go_today,
            go_at: state.settings.go_at.clone(),
            analyze_at: state.settings.analyze_at.clone(),
        },
        brokers,
        stripe: StripeHealth {
            enabled: state.settings.billing_enabled(),
            last_event_at: last_event.map(|(_, received)| stamp(received)),
            lag_secs: last_event.map(|(created, received)| (received - created).num_seconds()),
            deliveries_last_hour: deliveries,
            failures_last_hour: failures,
        },
        ai: AiHealth {
            enabled: state.settings.anthropic_api_key.is_some(),
            calls_today: calls,
            failures_today: ai_failures,
            daily_budget: state.settings.ai_daily_budget,
        },
        mail: MailHealth {
            mode: match &state.mailer.transport {
                crate::server::mail::MailTransport::Smtp { .. } => "smtp".into(),
                crate::server::mail::MailTransport::Outbox { .. } => "outbox".into(),
            },
            outbox_files: outbox_files(state),
            sent_last_hour: sent,
            failed_last_hour: failed,
        },
        kill_switch,
        alerts: store
            .recent_alerts(50)
            .await?
            .into_iter()
            .map(|a| alert_view(a, zone, now))
            .collect(),
    })
}
