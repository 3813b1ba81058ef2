//! Recent outcomes this process saw, by minute, for the health page and the
//! alerts: broker requests per environment (ok, or the failure's status),
//! Stripe webhook deliveries, and e-mail sends. Kept in memory for an hour;
//! each process reports its own (the health page says so).

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How long samples are kept.
const KEEP_MINUTES: i64 = 60;

#[derive(Debug, Default)]
pub struct OpsStats {
    /// (minute, environment or `data`, `ok` or the failure's status/kind).
    broker: Mutex<BTreeMap<(i64, &'static str, String), u64>>,
    /// (minute, the webhook's answer).
    webhooks: Mutex<BTreeMap<(i64, &'static str), u64>>,
    /// (minute, sent).
    mail: Mutex<BTreeMap<(i64, bool), u64>>,
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

fn minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

impl OpsStats {
    pub fn broker(&self, at: DateTime<Utc>, environment: &'static str, outcome: String) {
        let Ok(mut m) = self.broker.lock() else {
            return;
        };
        let now = minute(at);
        *m.entry((now, environment, outcome)).or_default() += 1;
        m.retain(|k, _| k.0 >= now - KEEP_MINUTES);
    }

    pub fn webhook(&self, at: DateTime<Utc>, answer: &'static str) {
        let Ok(mut m) = self.webhooks.lock() else {
            return;
        };
        let now = minute(at);
        *m.entry((now, answer)).or_default() += 1;
        m.retain(|k, _| k.0 >= now - KEEP_MINUTES);
    }

    pub fn mail(&self, at: DateTime<Utc>, sent: bool) {
        let Ok(mut m) = self.mail.lock() else { return };
        let now = minute(at);
        *m.entry((now, sent)).or_default() += 1;
        m.retain(|k, _| k.0 >= now - KEEP_MINUTES);
    }

    /// Broker requests per environment over the `minutes` before `now`.
    pub fn broker_window(&self, now: DateTime<Utc>, minutes: i64) -> Vec<BrokerWindow> {
        let from = minute(now) - minutes;
        let Ok(m) = self.broker.lock() else {
            return Vec::new();
        };
        let mut by_env: BTreeMap<&'static str, BrokerWindow> = BTreeMap::new();
        let mut codes: BTreeMap<(&'static str, String), u64> = BTreeMap::new();
        for ((at, env, outcome), n) in m.iter() {
            if *at < from {
                continue;
            }
            let w = by_env.entry(env).or_insert_with(|| BrokerWindow {
                environment: (*env).to_owned(),
                ..BrokerWindow::default()
            });
            w.requests += n;
            if outcome != "ok" {
                w.errors += n;
                *codes.entry((env, outcome.clone())).or_default() += n;
            }
        }
        for ((env, code), n) in codes {
            if let Some(w) = by_env.get_mut(env) {
                w.by_code.push((code, n));
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

    /// Webhook deliveries over the `minutes` before `now`: (answered,
    /// failed), failed being refused signatures and our own failures.
    pub fn webhook_window(&self, now: DateTime<Utc>, minutes: i64) -> (u64, u64) {
        let from = minute(now) - minutes;
        let Ok(m) = self.webhooks.lock() else {
            return (0, 0);
        };
        m.iter().filter(|((at, _), _)| *at >= from).fold(
            (0, 0),
            |(all, failed), ((_, answer), n)| {
                let bad = matches!(
                    *answer,
                    "try again"
                        | "signature verification failed"
                        | "missing Stripe-Signature header"
                );
                (all + n, failed + if bad { *n } else { 0 })
            },
        )
    }

    /// E-mail over the `minutes` before `now`: (sent, failed).
    pub fn mail_window(&self, now: DateTime<Utc>, minutes: i64) -> (u64, u64) {
        let from = minute(now) - minutes;
        let Ok(m) = self.mail.lock() else {
            return (0, 0);
        };
        m.iter()
            .filter(|((at, _), _)| *at >= from)
            .fold(
                (0, 0),
                |(ok, bad), ((_, sent), n)| {
                    if *sent { (ok + n, bad) } else { (ok, bad + n) }
                },
            )
    }
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
        let w = s.broker_window(at(2), 15);
        assert_eq!(w.len(), 2);
        let paper = w.iter().find(|w| w.environment == "paper").expect("paper");
        assert_eq!((paper.requests, paper.errors), (11, 3));
        assert_eq!(
            paper.by_code,
            vec![("500".to_owned(), 2), ("timeout".to_owned(), 1)]
        );
        // Ten minutes later, a 5-minute window no longer sees them.
        assert!(s.broker_window(at(12), 5).is_empty());
    }

    #[test]
    fn an_hour_old_samples_are_forgotten() {
        let s = OpsStats::default();
        s.mail(at(0), false);
        s.mail(at(90), true);
        assert_eq!(s.mail_window(at(90), 24 * 60), (1, 0));
        s.webhook(at(0), "try again");
        s.webhook(at(1), "ok");
        assert_eq!(s.webhook_window(at(1), 60), (2, 1));
    }
}
