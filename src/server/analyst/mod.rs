//! The AI analyst: one call to Anthropic's Messages API (`POST /v1/messages`)
//! that turns a rule-based signal's market facts into a short rationale, key
//! risks and a confidence. The answer is forced through a tool
//! (`record_analysis`) whose input schema is checked again here, strictly:
//! anything else is [`AnalystError::Invalid`]. Only market facts are sent,
//! never user data.
//!
//! One attempt only, bounded by the configured timeout: on any error the
//! caller keeps the rule-based reason, so a recommendation is never delayed.
//! No error message carries the API key. `fake` is a local Messages API.

pub mod fake;
#[cfg(test)]
mod fuzz;

use crate::domain::recommendation::Candidate;
use crate::dto::recommendations::AiAnalysisDto;
use reqwest::header::{HeaderMap, HeaderValue};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;

/// The `anthropic-version` header both SDKs send.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The tool the model must answer with.
pub const TOOL_NAME: &str = "record_analysis";
const MAX_TOKENS: u32 = 600;
const MAX_RATIONALE: usize = 2000;
const MAX_RISKS: usize = 8;
const MAX_RISK: usize = 300;

const SYSTEM: &str = "You are a component of Dripfeed, a software tool. A rule-based \
strategy (a moving-average crossover with volume and trend filters, ATR-based stops) has \
produced the signal described by the user from market data alone. Write a short rationale \
(two to four sentences) explaining the signal from the facts given, list the key risks \
(at most five, one short sentence each), and give your confidence from 0 to 100 that the \
rule's premise holds for this setup. Use only the facts given; do not invent news, \
fundamentals or prices. This is not financial advice: never address the reader, never tell \
anyone to buy or sell. Answer only by calling the record_analysis tool.";

/// Where and how to call the API.
#[derive(Debug, Clone)]
pub struct AnalystConfig {
    pub api_key: SecretString,
    /// `https://api.anthropic.com` (or a fake's address).
    pub base_url: url::Url,
    pub model: String,
    /// The whole call, connect to last byte.
    pub timeout: Duration,
}

/// The analyst client.
#[derive(Debug, Clone)]
pub struct Analyst {
    http: reqwest::Client,
    config: AnalystConfig,
}

/// The market facts behind one signal (never user data).
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub symbol: String,
    /// `entry`, `exit`, `stop_loss`, `take_profit`.
    pub signal: String,
    /// `buy` or `sell`.
    pub side: String,
    pub reference_price: Decimal,
    /// The indicator values behind the signal (name, value).
    pub values: Vec<(String, Decimal)>,
    /// A short plain-text summary of recent bars.
    pub recent: String,
}

impl Facts {
    /// The facts of a candidate: its symbol, signal, side, price and values
    /// (not its quantity or notional, which come from the user's equity).
    pub fn from_candidate(candidate: &Candidate, recent: String) -> Self {
        Self {
            symbol: candidate.symbol.clone(),
            signal: candidate.signal.as_str().to_owned(),
            side: candidate.side.as_str().to_owned(),
            reference_price: candidate.reference_price,
            values: candidate.values.clone(),
            recent,
        }
    }
}

/// The analyst's view, as validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    pub rationale: String,
    pub risks: Vec<String>,
    /// 0 to 100.
    pub confidence: u8,
}

impl Analysis {
    /// The wire form, naming the model that wrote it.
    pub fn into_dto(self, model: impl Into<String>) -> AiAnalysisDto {
        AiAnalysisDto {
            rationale: self.rationale,
            risks: self.risks,
            confidence: self.confidence,
            model: model.into(),
        }
    }
}

/// Why there is no analysis. Messages never include the API key.
#[derive(Debug, thiserror::Error)]
pub enum AnalystError {
    #[error("the analyst did not answer in time")]
    Timeout,
    #[error("the analyst answered HTTP {status} ({error_type}): {message}")]
    Http {
        status: u16,
        error_type: String,
        message: String,
        /// The `x-should-retry` header, if sent.
        should_retry: Option<bool>,
        retry_after_secs: Option<u64>,
    },
    #[error("the analyst is overloaded (HTTP 529)")]
    Overloaded,
    #[error("the analyst is rate limited (HTTP 429)")]
    RateLimited { retry_after_secs: Option<u64> },
    #[error("the analyst declined to answer")]
    Refused,
    #[error("the analyst's answer is unusable: {0}")]
    Invalid(String),
    #[error("the analyst could not be reached: {0}")]
    Unreachable(String),
}

impl AnalystError {
    /// A short stable name, for counting.
    pub fn kind(&self) -> &'static str {
        match self {
            AnalystError::Timeout => "timeout",
            AnalystError::Http { .. } => "http",
            AnalystError::Overloaded => "overloaded",
            AnalystError::RateLimited { .. } => "rate_limited",
            AnalystError::Refused => "refused",
            AnalystError::Invalid(_) => "invalid",
            AnalystError::Unreachable(_) => "unreachable",
        }
    }
}

impl Analyst {
    pub fn new(http: reqwest::Client, config: AnalystConfig) -> Self {
        Self { http, config }
    }

    /// The model asked.
    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// One call: the analysis of `facts`, or why there is none.
    pub async fn analyse(&self, facts: &Facts) -> Result<Analysis, AnalystError> {
        let result = self.analyse_once(facts).await;
        crate::server::metrics::ai_call(match &result {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        });
        result
    }

    async fn analyse_once(&self, facts: &Facts) -> Result<Analysis, AnalystError> {
        let base = self.config.base_url.as_str().trim_end_matches('/');
        let url = url::Url::parse(&format!("{base}/v1/messages"))
            .map_err(|e| AnalystError::Unreachable(format!("bad base URL: {e}")))?;
        let body = serde_json::to_vec(&request_body(&self.config.model, facts))
            .map_err(|e| AnalystError::Invalid(format!("request not encodable: {e}")))?;
        let mut key = HeaderValue::from_str(self.config.api_key.expose_secret())
            .map_err(|_| AnalystError::Unreachable("the API key is not a valid header".into()))?;
        key.set_sensitive(true);
        let sent = self
            .http
            .post(url)
            .timeout(self.config.timeout)
            .header("x-api-key", key)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = sent.status().as_u16();
        let headers = sent.headers().clone();
        let bytes = sent.bytes().await.map_err(transport_error)?;
        let request_id = header(&headers, "request-id").unwrap_or_default();
        let result = if (200..300).contains(&status) {
            parse_message(&bytes)
        } else {
            Err(api_error(status, &headers, &bytes, &self.config.api_key))
        };
        if let Err(e) = &result {
            tracing::warn!(%request_id, status, kind = e.kind(), error = %e, "analyst failed");
        }
        result
    }
}

/// The Messages API body: the facts, and a forced `record_analysis` tool.
fn request_body(model: &str, facts: &Facts) -> Value {
    json!({
        "model": model,
        "max_tokens": MAX_TOKENS,
        "system": SYSTEM,
        "tools": [{
            "name": TOOL_NAME,
            "description": "Record the rationale, key risks and confidence for the signal.",
            "input_schema": {
                "type": "object",
                "properties": {
                    "rationale": {
                        "type": "string",
                        "description": "Two to four sentences explaining the signal from the facts."
                    },
                    "risks": {
                        "type": "array",
                        "items": { "type": "string" },
                        "description": "Key risks, one short sentence each, at most five."
                    },
                    "confidence": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 100,
                        "description": "0 to 100: how likely the rule's premise holds."
                    }
                },
                "required": ["rationale", "risks", "confidence"],
                "additionalProperties": false
            }
        }],
        "tool_choice": { "type": "tool", "name": TOOL_NAME },
        "messages": [{ "role": "user", "content": user_message(facts) }]
    })
}

fn user_message(facts: &Facts) -> String {
    let mut text = format!(
        "Symbol: {}\nSignal: {} ({})\nReference price (last close): {}\n",
        facts.symbol, facts.signal, facts.side, facts.reference_price
    );
    if !facts.values.is_empty() {
        text.push_str("Indicator values:\n");
        for (name, value) in &facts.values {
            text.push_str(&format!("- {name}: {value}\n"));
        }
    }
    text.push_str(&format!("Recent bars:\n{}\n", facts.recent.trim()));
    text
}

/// A 2xx Message: the `record_analysis` input, validated.
fn parse_message(bytes: &[u8]) -> Result<Analysis, AnalystError> {
    #[derive(Deserialize)]
    struct Message {
        #[serde(default)]
        content: Vec<Value>,
        stop_reason: Option<String>,
    }
    let message: Message = serde_json::from_slice(bytes)
        .map_err(|e| AnalystError::Invalid(format!("not a Message: {e}")))?;
    match message.stop_reason.as_deref() {
        Some("refusal") => return Err(AnalystError::Refused),
        Some("max_tokens") => {
            return Err(AnalystError::Invalid("cut off at max_tokens".into()));
        }
        _ => {}
    }
    let input = message
        .content
        .iter()
        .find(|b| b["type"] == "tool_use" && b["name"] == TOOL_NAME)
        .map(|b| &b["input"])
        .ok_or_else(|| {
            AnalystError::Invalid(format!(
                "no {TOOL_NAME} tool_use block (stop_reason {:?})",
                message.stop_reason
            ))
        })?;
    validate(input)
}

/// The tool input, checked against the schema and the limits.
fn validate(input: &Value) -> Result<Analysis, AnalystError> {
    let invalid = AnalystError::Invalid;
    let object = input
        .as_object()
        .ok_or_else(|| invalid("the input is not an object".into()))?;
    if let Some(extra) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "rationale" | "risks" | "confidence"))
    {
        return Err(invalid(format!("unexpected key {extra:?}")));
    }
    let rationale = text(object.get("rationale"), "rationale", MAX_RATIONALE)?;
    let items = object
        .get("risks")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("risks is not an array".into()))?;
    if items.len() > MAX_RISKS {
        return Err(invalid(format!("more than {MAX_RISKS} risks")));
    }
    let risks = items
        .iter()
        .enumerate()
        .map(|(i, r)| text(Some(r), &format!("risks.{i}"), MAX_RISK))
        .collect::<Result<Vec<_>, _>>()?;
    let confidence = object
        .get("confidence")
        .and_then(Value::as_u64)
        .filter(|c| *c <= 100)
        .ok_or_else(|| invalid("confidence is not an integer from 0 to 100".into()))?;
    Ok(Analysis {
        rationale,
        risks,
        confidence: confidence as u8,
    })
}

/// A non-empty string of at most `max` characters, trimmed.
fn text(value: Option<&Value>, what: &str, max: usize) -> Result<String, AnalystError> {
    let invalid = |why: &str| AnalystError::Invalid(format!("{what} {why}"));
    let s = value
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("is not a string"))?
        .trim();
    if s.is_empty() {
        return Err(invalid("is empty"));
    }
    if s.chars().count() > max {
        return Err(invalid(&format!("is over {max} characters")));
    }
    Ok(s.to_owned())
}

/// A non-2xx answer: `{"type":"error","error":{"type","message"},"request_id"}`
/// (the Cloudflare 413 has only `error`).
fn api_error(status: u16, headers: &HeaderMap, bytes: &[u8], key: &SecretString) -> AnalystError {
    let retry_after_secs = retry_after(headers);
    match status {
        429 => return AnalystError::RateLimited { retry_after_secs },
        529 => return AnalystError::Overloaded,
        _ => {}
    }
    let body: Value = serde_json::from_slice(bytes).unwrap_or_default();
    // Never repeat the key, even if something on the way echoed it: it is
    // taken out before the text is shortened, so no piece of it is left at
    // the cut.
    let secret = key.expose_secret();
    let shown = |text: &str, max: usize| -> String {
        let text = if secret.is_empty() {
            text.to_owned()
        } else {
            text.replace(secret, "[redacted]")
        };
        text.chars().take(max).collect()
    };
    let error_type = shown(body["error"]["type"].as_str().unwrap_or("unknown"), 60);
    let message = match body["error"]["message"].as_str() {
        Some(m) => shown(m, 300),
        None => format!("HTTP {status}"),
    };
    AnalystError::Http {
        status,
        error_type,
        message,
        should_retry: header(headers, "x-should-retry").and_then(|v| v.parse().ok()),
        retry_after_secs,
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(value.trim().to_owned())
}

/// `retry-after-ms` first, then `retry-after` (seconds), as the SDKs read
/// them; rounded up to whole seconds.
fn retry_after(headers: &HeaderMap) -> Option<u64> {
    let (value, scale) = match header(headers, "retry-after-ms") {
        Some(ms) => (ms, 1000.0),
        None => (header(headers, "retry-after")?, 1.0),
    };
    let secs = value.parse::<f64>().ok()? / scale;
    (secs.is_finite() && secs >= 0.0).then_some(secs.ceil() as u64)
}

fn transport_error(e: reqwest::Error) -> AnalystError {
    if e.is_timeout() {
        return AnalystError::Timeout;
    }
    let what = if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    // Without the URL; reqwest never puts headers (the key) in its errors.
    let e = e.without_url();
    match std::error::Error::source(&e) {
        Some(cause) => AnalystError::Unreachable(format!("{what}: {cause}")),
        None => AnalystError::Unreachable(what.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Value {
        json!({
            "rationale": "The 5-day average crossed above the 20-day on rising volume.",
            "risks": ["Crossovers whipsaw in ranges.", "Earnings next week."],
            "confidence": 55
        })
    }

    /// Whether `good()` with `key` set to `value` (or removed) is refused.
    fn refused(key: &str, value: Option<Value>) -> bool {
        let mut input = good();
        let object = input.as_object_mut().expect("an object");
        match value {
            Some(v) => object.insert(key.to_owned(), v),
            None => object.remove(key),
        };
        matches!(validate(&input), Err(AnalystError::Invalid(_)))
    }

    #[test]
    fn good_input_is_an_analysis() {
        let a = validate(&good()).expect("valid input");
        assert_eq!(a.confidence, 55);
        assert_eq!(
            a.risks,
            ["Crossovers whipsaw in ranges.", "Earnings next week."]
        );
        assert!(a.rationale.starts_with("The 5-day"));
    }

    #[test]
    fn a_missing_field_is_invalid() {
        for field in ["rationale", "risks", "confidence"] {
            assert!(refused(field, None), "{field}");
        }
    }

    #[test]
    fn confidence_must_be_an_integer_from_0_to_100() {
        for bad in [json!(101), json!(-1), json!(50.5), json!("very")] {
            assert!(refused("confidence", Some(bad.clone())), "{bad}");
        }
    }

    #[test]
    fn an_extra_key_is_invalid() {
        assert!(refused("advice", Some(json!("buy now"))));
    }

    #[test]
    fn empty_or_overlong_texts_are_invalid() {
        assert!(refused("rationale", Some(json!("  "))));
        assert!(refused(
            "rationale",
            Some(json!("x".repeat(MAX_RATIONALE + 1)))
        ));
        assert!(refused("risks", Some(json!([""]))));
        assert!(refused("risks", Some(json!(vec!["a risk"; MAX_RISKS + 1]))));
    }

    #[test]
    fn refusal_and_truncation_are_told_apart() {
        let refusal = br#"{"type":"message","content":[],"stop_reason":"refusal"}"#;
        assert!(matches!(parse_message(refusal), Err(AnalystError::Refused)));
        let cut = br#"{"type":"message","content":[],"stop_reason":"max_tokens"}"#;
        assert!(matches!(parse_message(cut), Err(AnalystError::Invalid(_))));
    }
}
