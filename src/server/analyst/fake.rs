//! A small, faithful Messages API (`POST /v1/messages`) for tests and local
//! runs, served over real HTTP like the Stripe fake. It follows the
//! recordings in `shared/reference/anthropic/`: the `x-api-key` and
//! `anthropic-version` checks with their recorded error bodies, the
//! `{"type":"error","error":{type,message},"request_id"}` shape, a
//! `request-id` header on every answer (except Cloudflare's bare 413),
//! `x-should-retry`, `retry-after` and `anthropic-ratelimit-*` headers, and
//! Message bodies shaped like `messages/response.tool_use.json`.
//!
//! What it answers is set with [`FakeState::set_mode`]: a valid
//! `record_analysis` answer built from the request's facts (the default),
//! a slow one, 529 overloaded, 429 rate limited, a schema-violating tool
//! input, or a refusal. It never calls a model.

use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router, body::Bytes};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The `retry-after` (seconds) that [`Mode::RateLimited`] sends.
pub const RETRY_AFTER_SECS: u64 = 10;
/// Above this a request gets Cloudflare's 413 (the Messages API's 32 MB).
const MAX_BODY: usize = 32 * 1024 * 1024;
/// The ids in the SDKs' `Model` type (`models.json`); others answer 404.
const MODELS: &str = "claude-sonnet-5 claude-fable-5 claude-mythos-5 claude-opus-5 \
    claude-opus-4-8 claude-opus-4-7 claude-mythos-preview claude-opus-4-6 claude-sonnet-4-6 \
    claude-haiku-4-5 claude-haiku-4-5-20251001 claude-opus-4-5 claude-opus-4-5-20251101 \
    claude-sonnet-4-5 claude-sonnet-4-5-20250929";
/// Aliases seen resolving to dated ids in the response's `model`.
const ALIASES: &[(&str, &str)] = &[
    ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
    ("claude-haiku-4-5", "claude-haiku-4-5-20251001"),
];
/// The docs' example 404 message, for unknown paths.
const NOT_FOUND: &str = "The requested resource could not be found.";
/// Cloudflare's 413 message (`errors/413.request_too_large.json`).
const TOO_LARGE: &str = "Request exceeds the maximum size";
/// The recorded 429 message (`errors/429.rate_limit_error.json`).
const RATE_LIMIT_MESSAGE: &str = "This request would exceed your organization's rate limit \
    of 20,000,000 prompt bytes per hour (org: 5576611f-a1ee-427c-9800-298d9579899c, model: \
    claude-sonnet-4-5-20250929). For \
    details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response \
    headers for current usage. Please reduce the prompt length or the maximum tokens \
    requested, or try again later. You may also contact sales at \
    https://www.anthropic.com/contact-sales to discuss your options for a rate limit \
    increase.";

/// What the fake answers to a well-formed, authenticated request.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// A valid tool_use answer built from the request's facts.
    #[default]
    Answer,
    /// The same answer, after sleeping this long.
    Slow(Duration),
    /// 529 `overloaded_error`, `x-should-retry: true`.
    Overloaded,
    /// 429 `rate_limit_error` with `retry-after` ([`RETRY_AFTER_SECS`]).
    RateLimited,
    /// 200 with a tool_use whose input violates the schema.
    Garbage,
    /// 200 with `stop_reason: "refusal"`, no content.
    Refusal,
}

#[derive(Default)]
struct Inner {
    mode: Mode,
    calls: usize,
    last_request: Option<Value>,
    /// The only key accepted; `None`: any non-empty key.
    api_key: Option<String>,
}

/// The fake's shared state: its mode and what it was asked.
#[derive(Clone, Default)]
pub struct FakeState {
    inner: Arc<Mutex<Inner>>,
}

impl FakeState {
    /// A fake that accepts only `key` (others: 401 "invalid x-api-key").
    pub fn with_api_key(key: impl Into<String>) -> Self {
        let state = Self::default();
        state.lock().api_key = Some(key.into());
        state
    }

    /// What to answer from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.lock().mode = mode;
    }

    /// Requests to `POST /v1/messages` so far, refused ones included.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// The last request body that parsed as JSON.
    pub fn last_request(&self) -> Option<Value> {
        self.lock().last_request.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The routes: `POST /v1/messages` (also `?beta=true`); anything else 404.
pub fn router(state: FakeState) -> Router {
    Router::new()
        .route("/v1/messages", post(messages))
        .fallback(|| async { error(404, "not_found_error", NOT_FOUND) })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Binds 127.0.0.1:0 and serves: the base URL (`http://127.0.0.1:<port>`)
/// and the server task.
pub async fn serve(state: FakeState) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = router(state);
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "anthropic fake stopped");
        }
    });
    Ok((base, handle))
}

async fn messages(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (mode, expected_key) = {
        let mut inner = state.lock();
        inner.calls += 1;
        (inner.mode.clone(), inner.api_key.clone())
    };
    let body = match body {
        Ok(body) => body,
        // Cloudflare's answer: no `type`, no `request_id`.
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let error = json!({ "type": "request_too_large", "message": TOO_LARGE });
            return (r.status(), Json(json!({ "error": error }))).into_response();
        }
        Err(r) => return invalid(&r.body_text()),
    };
    let key = header(&headers, "x-api-key").unwrap_or_default();
    if key.is_empty() {
        return error(401, "authentication_error", "x-api-key header is required");
    }
    if expected_key.is_some_and(|k| k != key) {
        return error(401, "authentication_error", "invalid x-api-key");
    }
    if header(&headers, "anthropic-version").is_none_or(|v| v.is_empty()) {
        return invalid("anthropic-version: header is required");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return invalid("There was an error parsing the body of your request as JSON.");
    };
    if !request.is_object() {
        return invalid("Input should be a valid dictionary");
    }
    state.lock().last_request = Some(request.clone());
    for (field, ok, want) in [
        ("model", request["model"].is_string(), "string"),
        ("max_tokens", request["max_tokens"].is_u64(), "integer"),
        ("messages", request["messages"].is_array(), "list"),
    ] {
        if request.get(field).is_none() {
            return invalid(&format!("{field}: Field required"));
        }
        if !ok {
            return invalid(&format!("{field}: Input should be a valid {want}"));
        }
    }
    if request["messages"].as_array().is_some_and(Vec::is_empty) {
        return invalid("messages: at least one message is required");
    }
    let asked = request["model"].as_str().unwrap_or_default();
    if !MODELS.split_whitespace().any(|m| m == asked) {
        return error(404, "not_found_error", &format!("model: {asked}"));
    }
    let model = ALIASES
        .iter()
        .find(|(alias, _)| *alias == asked)
        .map_or(asked, |&(_, dated)| dated);
    let input_tokens = body.len() as u64 / 4;
    match mode {
        Mode::Answer => answer(&request, model, input_tokens, false),
        Mode::Slow(wait) => {
            tokio::time::sleep(wait).await;
            answer(&request, model, input_tokens, false)
        }
        Mode::Garbage => answer(&request, model, input_tokens, true),
        Mode::Overloaded => error(529, "overloaded_error", "Overloaded"),
        Mode::RateLimited => {
            let mut response = error(429, "rate_limit_error", RATE_LIMIT_MESSAGE);
            let headers = response.headers_mut();
            set(headers, "retry-after", RETRY_AFTER_SECS.to_string());
            rate_limit_headers(headers, 0);
            response
        }
        Mode::Refusal => {
            let mut refusal = message(model, json!([]), "refusal", input_tokens, 4);
            // The 2026-09 key set, with the typed `stop_details`.
            refusal["container"] = Value::Null;
            refusal["stop_details"] =
                json!({ "type": "refusal", "category": null, "explanation": null });
            success(refusal)
        }
    }
}

/// A tool_use answer naming the forced (or first) tool; a text answer when
/// the request has no tools.
fn answer(request: &Value, model: &str, input_tokens: u64, garbage: bool) -> Response {
    let tool = match &request["tool_choice"] {
        c if c["type"] == "tool" => c["name"].as_str(),
        _ => request["tools"][0]["name"].as_str(),
    };
    let text = user_text(request);
    let fact = |label: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| "unknown".to_owned())
    };
    let (symbol, signal) = (fact("Symbol:"), fact("Signal:"));
    let Some(tool) = tool else {
        let text = format!("(fake) {signal} signal on {symbol}.");
        let content = json!([{ "type": "text", "text": text }]);
        return success(message(model, content, "end_turn", input_tokens, 12));
    };
    let input = if garbage {
        json!({ "rationale": "", "risks": "none", "confidence": "very", "advice": "buy" })
    } else {
        let rationale = format!(
            "The {signal} signal on {symbol} follows from the rule's moving-average crossover \
             on the facts given (a canned answer from the local fake)."
        );
        json!({
            "rationale": rationale,
            "risks": [
                "Moving-average crossovers whipsaw in sideways markets.",
                "The signal uses past prices only; news and earnings are not considered."
            ],
            "confidence": 50
        })
    };
    let content = json!([{
        "type": "tool_use",
        "id": id("toolu_"),
        "name": tool,
        "input": input,
        "caller": { "type": "direct" }
    }]);
    success(message(model, content, "tool_use", input_tokens, 71))
}

/// Every user turn's text (string content or text blocks), joined.
fn user_text(request: &Value) -> String {
    let mut text = String::new();
    for m in request["messages"].as_array().into_iter().flatten() {
        if m["role"] != "user" {
            continue;
        }
        match &m["content"] {
            Value::String(s) => text.push_str(s),
            Value::Array(blocks) => blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .for_each(|s| text.push_str(s)),
            _ => {}
        }
        text.push('\n');
    }
    text
}

/// A Message shaped like `messages/response.tool_use.json`.
fn message(model: &str, content: Value, stop_reason: &str, input: u64, output: u64) -> Value {
    json!({
        "model": model,
        "id": id("msg_"),
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": input,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": { "ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0 },
            "output_tokens": output,
            "service_tier": "standard",
            "inference_geo": "not_available"
        }
    })
}

fn success(message: Value) -> Response {
    let mut response = Json(message).into_response();
    let headers = response.headers_mut();
    set(headers, "request-id", id("req_"));
    rate_limit_headers(headers, 49);
    response
}

fn invalid(message: &str) -> Response {
    error(400, "invalid_request_error", message)
}

/// The error body with its `request-id`; `x-should-retry` as recorded
/// (true on 429, false on 400), and by the SDKs' rules for other statuses.
fn error(status: u16, kind: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = id("req_");
    let body = json!({
        "type": "error",
        "error": { "type": kind, "message": message },
        "request_id": request_id
    });
    let mut response = (status, Json(body)).into_response();
    let retry = status == StatusCode::TOO_MANY_REQUESTS || status.as_u16() >= 500;
    let headers = response.headers_mut();
    set(headers, "request-id", request_id);
    set(headers, "x-should-retry", retry.to_string());
    response
}

/// The twelve `anthropic-ratelimit-*` headers of the 2025-08 and 2026-02
/// captures, resetting in a minute.
fn rate_limit_headers(headers: &mut HeaderMap, requests_remaining: u32) {
    let reset = (chrono::Utc::now() + chrono::Duration::seconds(60))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let limited = requests_remaining == 0;
    for (group, limit, remaining) in [
        ("requests", 50, requests_remaining),
        ("tokens", 38000, if limited { 0 } else { 36000 }),
        ("input-tokens", 30000, if limited { 0 } else { 28000 }),
        ("output-tokens", 8000, if limited { 0 } else { 8000 }),
    ] {
        let name = |what: &str| format!("anthropic-ratelimit-{group}-{what}");
        set(headers, &name("limit"), limit.to_string());
        set(headers, &name("remaining"), remaining.to_string());
        set(headers, &name("reset"), reset.clone());
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(value.trim().to_owned())
}

fn set(headers: &mut HeaderMap, name: &str, value: String) {
    if let (Ok(name), Ok(value)) = (
        axum::http::HeaderName::try_from(name),
        HeaderValue::try_from(value),
    ) {
        headers.insert(name, value);
    }
}

/// `prefix` + 24 base58 characters (`01` then 22 pseudo-random ones), like
/// `msg_01M4x4hiFuUdHzu44ih9eCGh`.
fn id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos
        ^ NEXT
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut out = format!("{prefix}01");
    for _ in 0..22 {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.push(char::from(ALPHABET[(z % 58) as usize]));
    }
    out
}
