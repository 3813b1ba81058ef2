//! Recent outcomes, by minute, for the health page and the alerts: broker
//! requests per environment (ok, or the failure's status), Stripe webhook
//! deliveries, and e-mail sends. Each process counts its own in memory and
//! writes them to the database every few seconds ([`flusher`]), so the
//! health page and the alerts add up every instance ([`recent`]).

pub use crate::server::db::ops::Sample;
use crate::server::state::AppState;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How long samples are kept.
const KEEP_MINUTES: i64 = 60;
/// How often a process writes its samples.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

pub const BROKER: &str = "broker";
pub const WEBHOOK: &str = "webhook";
pub const MAIL: &str = "mail";

type Key = (i64, &'static str, String, String);

#[derive(Debug, Default)]
pub struct OpsStats {
    samples: Mutex<BTreeMap<Key, u64>>,
}

/// Broker requests to one environment over a window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrokerWindow {
    pub environment: String,
    pub requests: u64,
    pub errors: u64,
    /// Failures by status or kind (`500`, `timeout`, ...), most first.
    pub by_code: Vec<(String, u64)>,
}

pub fn minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

impl OpsStats {
    fn count(&self, at: DateTime<Utc>, source: &'static str, subject: &str, outcome: String) {
        let Ok(mut m) = self.samples.lock() else {
            return;
        };
        let now = minute(at);
        *m.entry((now, source, subject.to_owned(), outcome))
            .or_default() += 1;
        m.retain(|k, _| k.0 >= now - KEEP_MINUTES);
    }

    pub fn broker(&self, at: DateTime<Utc>, environment: &'static str, outcome: String) {
        self.count(at, BROKER, environment, outcome);
    }

    pub fn webhook(&self, at: DateTime<Utc>, answer: &'static str) {
        self.count(at, WEBHOOK, "", answer.to_owned());
    }

    pub fn mail(&self, at: DateTime<Utc>, sent: bool) {
        let outcome = if sent { "sent" } else { "failed" };
        self.count(at, MAIL, "", outcome.to_owned());
    }

    /// This process's samples from minute `from` on.
    pub fn since(&self, from: i64) -> Vec<Sample> {
        let Ok(m) = self.samples.lock() else {
            return Vec::new();
        };
        m.range((from, "", String::new(), String::new())..)
            .map(|((minute, source, subject, outcome), n)| Sample {
                minute: *minute,
                source: (*source).to_owned(),
                subject: subject.clone(),
                outcome: outcome.clone(),
                n: i64::try_from(*n).unwrap_or(i64::MAX),
            })
            .collect()
    }
}

/// Writes this process's samples of the last few minutes (a minute's count
/// grows until it ends; a sample replaces the one before) and drops
/// everyone's samples older than an hour; writes nothing when it has none.
pub async fn flush(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<()> {
    let instance = crate::server::engine::instance_name(&state.settings);
    let samples = state.ops.since(minute(now) - 2);
    if samples.is_empty() {
        // Nothing seen lately: no write (older rows fall out of every
        // window, and the next process with samples drops them).
        return Ok(());
    }
    state
        .store
        .save_ops_samples(&instance, &samples, minute(now) - KEEP_MINUTES)
        .await
}

/// Writes this process's samples every [`FLUSH_EVERY`], for as long as the
/// process runs.
pub async fn flusher(state: AppState) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    loop {
        tick.tick().await;
        flush_logged(&state).await;
    }
}

/// Writes this process's samples now (and as it stops), warning on failure.
pub async fn flush_logged(state: &AppState) {
    if let Err(e) = flush(state, Utc::now()).await {
        tracing::warn!(error.cause_chain = ?e, "could not write this process's outcome counts");
    }
}

/// Every instance's samples over the `minutes` before `now` (this
/// process's written first, so they are current).
pub async fn recent(
    state: &AppState,
    now: DateTime<Utc>,
    minutes: i64,
) -> anyhow::Result<Vec<Sample>> {
    flush(state, now).await?;
    state.store.ops_samples_since(minute(now) - minutes).await
}

/// Broker requests per environment among `samples`.
pub fn broker_window(samples: &[Sample], now: DateTime<Utc>, minutes: i64) -> Vec<BrokerWindow> {
    let from = minute(now) - minutes;
    let mut by_env: BTreeMap<&str, BrokerWindow> = BTreeMap::new();
    let mut codes: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.source == BROKER && s.minute >= from)
    {
        let n = u64::try_from(s.n).unwrap_or(0);
        let w = by_env
            .entry(s.subject.as_str())
            .or_insert_with(|| BrokerWindow {
                environment: s.subject.clone(),
                ..BrokerWindow::default()
            });
        w.requests += n;
        if s.outcome != "ok" {
            w.errors += n;
            *codes
                .entry((s.subject.as_str(), s.outcome.as_str()))
                .or_default() += n;
        }
    }
    for ((env, code), n) in codes {
        if let Some(w) = by_env.get_mut(env) {
            w.by_code.push((code.to_owned(), n));
        }
    }
    by_env
        .into_values()
        .map(|mut w| {
            w.by_code.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            w
        })
        .collect()
}

/// (counted, matching `bad`) among the `source` samples of the window.
fn tally(
    samples: &[Sample],
    source: &str,
    now: DateTime<Utc>,
    minutes: i64,
    bad: impl Fn(&str) -> bool,
) -> (u64, u64) {
    let from = minute(now) - minutes;
    samples
        .iter()
        .filter(|s| s.source == source && s.minute >= from)
        .fold((0, 0), |(all, failed), s| {
            let n = u64::try_from(s.n).unwrap_or(0);
            (all + n, failed + if bad(&s.outcome) { n } else { 0 })
        })
}

/// Webhook deliveries among `samples`: (answered, failed), failed being
/// refused signatures and our own failures.
pub fn webhook_window(samples: &[Sample], now: DateTime<Utc>, minutes: i64) -> (u64, u64) {
    tally(samples, WEBHOOK, now, minutes, |answer| {
        matches!(
            answer,
            "try again" | "signature verification failed" | "missing Stripe-Signature header"
        )
    })
}

/// E-mail among `samples`: (sent, failed).
pub fn mail_window(samples: &[Sample], now: DateTime<Utc>, minutes: i64) -> (u64, u64) {
    let (all, failed) = tally(samples, MAIL, now, minutes, |o| o == "failed");
    (all - failed, failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 15, 0, 0)
            .single()
            .expect("time")
            + chrono::Duration::minutes(min)
    }

    #[test]
    fn broker_outcomes_are_counted_per_environment_within_the_window() {
        let s = OpsStats::default();
        for _ in 0..8 {
            s.broker(at(0), "paper", "ok".into());
        }
        s.broker(at(1), "paper", "500".into());
        s.broker(at(1), "paper", "timeout".into());
        s.broker(at(1), "paper", "500".into());
        s.broker(at(2), "data", "ok".into());
        let w = broker_window(&s.since(0), at(2), 15);
        assert_eq!(w.len(), 2);
        let paper = w.iter().find(|w| w.environment == "paper").expect("paper");
        assert_eq!((paper.requests, paper.errors), (11, 3));
        assert_eq!(
            paper.by_code,
            vec![("500".to_owned(), 2), ("timeout".to_owned(), 1)]
        );
        // Ten minutes later, a 5-minute window no longer sees them.
        assert!(broker_window(&s.since(0), at(12), 5).is_empty());
    }

    #[test]
    fn an_hour_old_samples_are_forgotten() {
        let s = OpsStats::default();
        s.mail(at(0), false);
        s.mail(at(90), true);
        assert_eq!(mail_window(&s.since(0), at(90), 24 * 60), (1, 0));
        s.webhook(at(0), "try again");
        s.webhook(at(1), "ok");
        assert_eq!(webhook_window(&s.since(0), at(1), 60), (2, 1));
    }
}
