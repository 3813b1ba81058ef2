//! Fuzzing the Messages API answer parsers (issue #19): whatever comes back,
//! a 2xx body is an analysis that holds every limit or an `Invalid` /
//! `Refused` error, and an error body never repeats any piece of the key.

use super::*;
use proptest::prelude::*;
use reqwest::header::HeaderName;

/// Arbitrary JSON, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (0u64..200).prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "tool_use",
            "text",
            TOOL_NAME,
            "rationale",
            "risks",
            "confidence",
            "refusal",
            "max_tokens",
            "end_turn",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop::sample::select(vec![
                    "type",
                    "name",
                    "input",
                    "content",
                    "stop_reason",
                    "rationale",
                    "risks",
                    "confidence",
                    "id",
                    "x",
                ])
                .prop_map(str::to_owned),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A Message shaped like the real one, with each part possibly wrong.
fn message() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        ".{0,60}".prop_map(Value::String),
        "[a-z ]{2000,2010}".prop_map(Value::String),
        json_value(),
    ];
    let risks = prop_oneof![
        proptest::collection::vec(text.clone(), 0..11).prop_map(Value::Array),
        json_value(),
    ];
    let confidence = prop_oneof![(0u64..150).prop_map(Value::from), json_value()];
    (
        text,
        risks,
        confidence,
        json_value(),
        prop::sample::select(vec![None, Some("tool_use"), Some("end_turn"), Some("refusal"), Some("max_tokens")]),
        any::<bool>(),
    )
        .prop_map(|(rationale, risks, confidence, extra, stop, with_extra)| {
            let mut input = json!({ "rationale": rationale, "risks": risks, "confidence": confidence });
            if with_extra {
                input["extra"] = extra;
            }
            json!({
                "id": "msg_fuzz",
                "type": "message",
                "role": "assistant",
                "content": [{ "type": "tool_use", "id": "toolu_1", "name": TOOL_NAME, "input": input }],
                "stop_reason": stop,
            })
        })
}

proptest! {
    #![proptest_config(crate::domain::testing::fuzz())]

    #[test]
    fn any_2xx_body_is_a_valid_analysis_or_an_error(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            message().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ]
    ) {
        match parse_message(&body) {
            Ok(a) => {
                prop_assert!(a.confidence <= 100);
                prop_assert!(!a.rationale.is_empty() && a.rationale.chars().count() <= MAX_RATIONALE);
                prop_assert!(a.risks.len() <= MAX_RISKS);
                for r in &a.risks {
                    prop_assert!(!r.is_empty() && r.chars().count() <= MAX_RISK);
                    prop_assert_eq!(r.trim(), r.as_str());
                }
            }
            Err(AnalystError::Invalid(why)) => prop_assert!(!why.is_empty()),
            Err(AnalystError::Refused) => {}
            Err(other) => prop_assert!(false, "a 2xx body gave {:?}", other),
        }
    }

    /// Error bodies, whatever they hold (the key echoed back anywhere, at
    /// any length), give an error that repeats no eight characters of it.
    #[test]
    fn error_bodies_never_repeat_the_key(
        status in prop_oneof![Just(400u16), Just(401), Just(403), Just(413), Just(429), Just(500), Just(529), 300u16..600],
        key in "sk-ant-[A-Za-z0-9]{20,40}",
        before in ".{0,320}",
        after in ".{0,40}",
        echo in any::<bool>(),
        echo_in_type in any::<bool>(),
        retry in prop_oneof![Just(None), Just(Some("7".to_owned())), Just(Some("soon".to_owned())), ".{0,5}".prop_map(Some)],
    ) {
        let message = if echo { format!("{before}{key}{after}") } else { format!("{before}{after}") };
        let kind = if echo_in_type { format!("{after}{key}") } else { "invalid_request_error".to_owned() };
        let body = json!({ "type": "error", "error": { "type": kind, "message": message } });
        let mut headers = HeaderMap::new();
        if let Some(r) = retry.and_then(|r| HeaderValue::from_str(&r).ok()) {
            headers.insert(HeaderName::from_static("retry-after"), r.clone());
            headers.insert(HeaderName::from_static("x-should-retry"), r);
        }
        let error = api_error(status, &headers, &serde_json::to_vec(&body).unwrap(), &SecretString::from(key.clone()));
        let shown = format!("{error} {error:?}");
        for piece in key.as_bytes().windows(8) {
            let piece = std::str::from_utf8(piece).unwrap();
            prop_assert!(!shown.contains(piece), "{:?} shows {:?} of the key", shown, piece);
        }
        match status {
            429 => prop_assert!(matches!(error, AnalystError::RateLimited { .. }), "{:?}", error),
            529 => prop_assert!(matches!(error, AnalystError::Overloaded), "{:?}", error),
            _ => prop_assert!(matches!(error, AnalystError::Http { status: s, .. } if s == status), "{:?}", error),
        }
    }
}
