//! The HTTP transport that drives apca's endpoint types (and our own, in the
//! same shape): either API-key headers or an OAuth bearer token, any trading
//! and data base URL, a request timeout, Alpaca's 200 requests/minute per
//! credential with its `X-RateLimit-*` headers honoured, 429 answered by
//! waiting for the reset, and errors that keep Alpaca's numeric `code`.
//!
//! Retries: GETs are retried with backoff on 5xx, 429 and transport errors.
//! Anything else (an order) is sent exactly once; a lost answer becomes
//! [`BrokerError::Uncertain`].

use crate::server::broker::BrokerError;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http_endpoint::Endpoint;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How the transport proves who it is.
#[derive(Clone)]
pub enum Credentials {
    ApiKey {
        key_id: String,
        secret: SecretString,
    },
    OAuth {
        access_token: SecretString,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ApiKey { .. } => f.write_str("Credentials::ApiKey(..)"),
            Credentials::OAuth { .. } => f.write_str("Credentials::OAuth(..)"),
        }
    }
}

impl Credentials {
    /// A stable, non-secret identity for rate limiting.
    fn fingerprint(&self) -> String {
        let raw = match self {
            Credentials::ApiKey { key_id, .. } => format!("key:{key_id}"),
            Credentials::OAuth { access_token } => {
                format!("oauth:{}", access_token.expose_secret())
            }
        };
        hex::encode(Sha256::digest(raw.as_bytes()))
    }
}

/// Which host an endpoint lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    Trading,
    Data,
}

#[derive(Debug, Clone)]
pub struct TransportConfig {
    pub trading_url: url::Url,
    pub data_url: url::Url,
    pub timeout: Duration,
    /// Attempts for a GET (1 = no retry).
    pub get_attempts: u32,
    /// The longest a request waits for a rate-limit reset before giving up
    /// with [`BrokerError::RateLimited`].
    pub max_rate_wait: Duration,
    /// Where outcomes are counted for the health page, and the trading
    /// host's environment as it is shown there (`paper`, `live`, `demo`).
    pub stats: Option<(
        std::sync::Arc<crate::server::ops::stats::OpsStats>,
        &'static str,
    )>,
}

impl TransportConfig {
    pub fn new(trading_url: url::Url, data_url: url::Url) -> Self {
        Self {
            trading_url,
            data_url,
            timeout: Duration::from_secs(10),
            get_attempts: 3,
            max_rate_wait: Duration::from_secs(65),
            stats: None,
        }
    }
}

/// Per-credential limits, shared by every transport in the process that uses
/// the same credential.
struct RateGate {
    limiter: DefaultDirectRateLimiter,
    /// When the server said its window resets, if it said we have none left.
    blocked_until: Mutex<Option<Instant>>,
}

static GATES: LazyLock<Mutex<HashMap<String, Arc<RateGate>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn gate_for(fingerprint: String) -> Arc<RateGate> {
    let mut gates = GATES.lock().unwrap_or_else(|e| e.into_inner());
    gates
        .entry(fingerprint)
        .or_insert_with(|| {
            let per_minute = NonZeroU32::new(200).unwrap_or(NonZeroU32::MIN);
            Arc::new(RateGate {
                limiter: RateLimiter::direct(Quota::per_minute(per_minute)),
                blocked_until: Mutex::new(None),
            })
        })
        .clone()
}

#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    config: TransportConfig,
    credentials: Credentials,
    gate: Arc<RateGate>,
}

/// Alpaca's error body: `{"code": 40010001, "message": "…"}` (trading) or
/// `{"message": "…"}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: Option<u64>,
    message: Option<String>,
}

/// What one attempt produced.
enum Attempt {
    Done(u16, Vec<u8>),
    /// 429: wait this long and (for GETs) try again.
    Limited(Duration),
}

impl Transport {
    pub fn new(http: reqwest::Client, config: TransportConfig, credentials: Credentials) -> Self {
        let gate = gate_for(credentials.fingerprint());
        Self {
            http,
            config,
            credentials,
            gate,
        }
    }

    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// Issues endpoint `E` against `host` and parses its answer.
    pub async fn issue<E>(&self, host: Host, input: &E::Input) -> Result<E::Output, BrokerError>
    where
        E: Endpoint,
        E::ConversionError: std::fmt::Display,
    {
        let answer = self.issue_once::<E>(host, input).await;
        let environment = match (host, &self.config.stats) {
            (Host::Data, _) => "data",
            (Host::Trading, Some((_, env))) => env,
            (Host::Trading, None) => "trading",
        };
        if let Err(e) = &answer {
            crate::server::metrics::broker_error(environment, e);
        }
        if let Some((stats, _)) = &self.config.stats {
            let outcome = match &answer {
                Ok(_) => "ok".to_owned(),
                Err(e) => crate::server::metrics::broker_error_code(e),
            };
            stats.broker(chrono::Utc::now(), environment, outcome);
        }
        answer
    }

    async fn issue_once<E>(&self, host: Host, input: &E::Input) -> Result<E::Output, BrokerError>
    where
        E: Endpoint,
        E::ConversionError: std::fmt::Display,
    {
        let method = E::method();
        let base = match host {
            Host::Trading => &self.config.trading_url,
            Host::Data => &self.config.data_url,
        };
        let mut url = join(base, &E::path(input));
        let query = E::query(input).map_err(|e| BrokerError::Decode(e.to_string()))?;
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            url.set_query(Some(&q));
        }
        let body = E::body(input).map_err(|e| BrokerError::Decode(e.to_string()))?;
        let idempotent = method == http::Method::GET;
        let attempts = if idempotent {
            self.config.get_attempts.max(1)
        } else {
            1
        };
        let mut last_err = BrokerError::Unreachable("no attempt was made".into());
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            match self.once(&method, &url, body.as_deref(), idempotent).await {
                Ok(Attempt::Done(status, bytes)) if (200..300).contains(&status) => {
                    return E::parse(&bytes).map_err(|e| BrokerError::Decode(e.to_string()));
                }
                Ok(Attempt::Done(status, bytes)) => {
                    let err = api_error(status, &bytes);
                    if idempotent && status >= 500 && attempt < attempts {
                        last_err = err;
                        continue;
                    }
                    return Err(err);
                }
                Ok(Attempt::Limited(wait)) => {
                    let err = BrokerError::RateLimited {
                        retry_after_secs: wait.as_secs().max(1),
                    };
                    if !idempotent || wait > self.config.max_rate_wait || attempt == attempts {
                        return Err(err);
                    }
                    tokio::time::sleep(wait).await;
                    last_err = err;
                }
                Err(e) if idempotent && attempt < attempts => last_err = e,
                Err(e) => return Err(e),
            }
        }
        Err(last_err)
    }

    async fn once(
        &self,
        method: &http::Method,
        url: &url::Url,
        body: Option<&[u8]>,
        idempotent: bool,
    ) -> Result<Attempt, BrokerError> {
        self.wait_for_gate().await?;
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .timeout(self.config.timeout)
            .header("accept", "application/json");
        req = match &self.credentials {
            Credentials::ApiKey { key_id, secret } => req
                .header("APCA-API-KEY-ID", key_id)
                .header("APCA-API-SECRET-KEY", secret.expose_secret()),
            Credentials::OAuth { access_token } => req.bearer_auth(access_token.expose_secret()),
        };
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_vec());
        }
        let sent = req.send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Err(transport_error(&e, idempotent)),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.note_rate_headers(&headers, status);
        let bytes = match response.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => return Err(transport_error(&e, idempotent)),
        };
        if status == 429 {
            return Ok(Attempt::Limited(reset_wait(&headers)));
        }
        Ok(Attempt::Done(status, bytes))
    }

    /// Waits for a local token (200/min) and for any reset the server asked for.
    async fn wait_for_gate(&self) -> Result<(), BrokerError> {
        let blocked = *self
            .gate
            .blocked_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(until) = blocked {
            let now = Instant::now();
            if until > now {
                let wait = until - now;
                if wait > self.config.max_rate_wait {
                    return Err(BrokerError::RateLimited {
                        retry_after_secs: wait.as_secs().max(1),
                    });
                }
                tokio::time::sleep_until(until).await;
            }
        }
        // This process's own allowance per credential: waited for, but never
        // longer than `max_rate_wait` (a page shows what it has instead).
        loop {
            match self.gate.limiter.check() {
                Ok(()) => return Ok(()),
                Err(not_until) => {
                    use governor::clock::{Clock, DefaultClock};
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    if wait > self.config.max_rate_wait {
                        return Err(BrokerError::RateLimited {
                            retry_after_secs: wait.as_secs().max(1),
                        });
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn note_rate_headers(&self, headers: &reqwest::header::HeaderMap, status: u16) {
        let remaining = header_num(headers, "x-ratelimit-remaining");
        let mut blocked = self
            .gate
            .blocked_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if status == 429 || remaining == Some(0) {
            *blocked = Some(Instant::now() + reset_wait(headers));
        } else if remaining.is_some() {
            *blocked = None;
        }
    }
}

fn header_num(headers: &reqwest::header::HeaderMap, name: &str) -> Option<i64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// How long until `X-RateLimit-Reset` (a UNIX time in seconds); a minute if
/// the header is missing.
fn reset_wait(headers: &reqwest::header::HeaderMap) -> Duration {
    match header_num(headers, "x-ratelimit-reset") {
        Some(reset) => {
            let now = chrono::Utc::now().timestamp();
            Duration::from_secs(u64::try_from(reset - now).unwrap_or(0).max(1))
        }
        None => Duration::from_secs(60),
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempt.saturating_sub(2).min(5)))
}

fn join(base: &url::Url, path: &str) -> url::Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url
}

fn api_error(status: u16, body: &[u8]) -> BrokerError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let code = parsed.as_ref().and_then(|b| b.code);
    let message =
        parsed
            .and_then(|b| b.message)
            .unwrap_or_else(|| match std::str::from_utf8(body) {
                Ok(s) if !s.trim().is_empty() && s.len() < 300 => s.trim().to_owned(),
                _ => format!("HTTP {status}"),
            });
    if status == 401 {
        BrokerError::Unauthorized { message }
    } else {
        BrokerError::Api {
            status,
            code,
            message,
        }
    }
}

fn transport_error(e: &reqwest::Error, idempotent: bool) -> BrokerError {
    // reqwest's message names the URL, never headers, so no credential leaks.
    let what = e.without_url_ref();
    if !idempotent && !e.is_connect() {
        return BrokerError::Uncertain(what);
    }
    if e.is_timeout() {
        BrokerError::Timeout
    } else {
        BrokerError::Unreachable(what)
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut parts = vec![if self.is_timeout() {
            "timed out".to_owned()
        } else if self.is_connect() {
            "connection failed".to_owned()
        } else if self.is_body() || self.is_decode() {
            "the answer was cut off".to_owned()
        } else {
            "request failed".to_owned()
        }];
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            parts.push(s.to_string());
            source = s.source();
        }
        parts.join(": ")
    }
}
