//! Fuzzing the Stripe webhook's parsers (issue #19): the `Stripe-Signature`
//! header, and the event a verified body names. Nothing panics; only a
//! signature made with a configured secret over the exact bytes, within the
//! tolerance, is accepted; the ids read from an event are never empty.

use super::signature::{self, MAX_HEADER_LEN, SignatureError, TOLERANCE};
use super::webhook::{Envelope, HANDLED, subject};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap()
}

/// Headers like Stripe's, with each part possibly wrong.
fn header() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        (any::<i64>()).prop_map(|t| format!("t={t}")),
        (-400i64..400).prop_map(|d| format!("t={}", now().timestamp() + d)),
        "[0-9a-f]{0,70}".prop_map(|h| format!("v1={h}")),
        "[0-9a-zA-Z]{0,70}".prop_map(|h| format!("v0={h}")),
        "[ -~]{0,20}",
        Just(String::new()),
    ];
    prop_oneof![
        proptest::collection::vec(part, 0..12).prop_map(|p| p.join(",")),
        ".{0,100}",
        "[,=t v1]{0,3000}",
    ]
}

fn id_like() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!("")),
        "[a-z]{3}_[A-Za-z0-9]{0,10}".prop_map(Value::String),
        Just(json!({ "id": "" })),
        "[a-z]{3}_[A-Za-z0-9]{1,10}".prop_map(|id| json!({ "id": id })),
        Just(json!({ "object": "customer" })),
        any::<i64>().prop_map(Value::from),
        Just(json!([])),
    ]
}

/// Event objects with the fields `subject` reads, each possibly wrong.
fn event_object() -> impl Strategy<Value = Value> {
    (
        id_like(),
        id_like(),
        id_like(),
        id_like(),
        prop::sample::select(vec![
            json!("subscription"),
            json!("payment"),
            json!(null),
            json!(3),
        ]),
    )
        .prop_map(|(id, customer, subscription, nested, mode)| {
            json!({
                "id": id,
                "customer": customer,
                "subscription": subscription,
                "mode": mode,
                "parent": { "subscription_details": { "subscription": nested } },
            })
        })
}

proptest! {
    #![proptest_config(crate::domain::testing::fuzz())]

    /// Random headers never verify (and never panic), even very long ones.
    #[test]
    fn random_headers_are_refused(header in header(), body in proptest::collection::vec(any::<u8>(), 0..100)) {
        let secrets = [SecretString::from("whsec_fuzz".to_owned())];
        let result = signature::verify(&header, &body, &secrets, now(), TOLERANCE);
        prop_assert!(result.is_err(), "{:?} verified", header);
        if header.len() > MAX_HEADER_LEN {
            prop_assert_eq!(result, Err(SignatureError::Malformed));
        }
    }

    /// A genuine signature verifies over the exact bytes only, within the
    /// tolerance only, and only with the secret that made it.
    #[test]
    fn only_the_exact_signed_bytes_verify(
        body in proptest::collection::vec(any::<u8>(), 1..300),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        age in -600i64..600,
    ) {
        let secret = SecretString::from("whsec_fuzz".to_owned());
        let at = now() - Duration::seconds(age);
        let header = signature::sign(&body, &secret, at);
        let within = age.abs() <= TOLERANCE.num_seconds();
        let genuine = signature::verify(&header, &body, std::slice::from_ref(&secret), now(), TOLERANCE);
        prop_assert_eq!(genuine.is_ok(), within);
        let mut tampered = body.clone();
        let i = flip.index(tampered.len());
        tampered[i] ^= 1 << bit;
        prop_assert!(signature::verify(&header, &tampered, std::slice::from_ref(&secret), now(), TOLERANCE).is_err());
        let other = SecretString::from("whsec_other".to_owned());
        prop_assert!(signature::verify(&header, &body, &[other], now(), TOLERANCE).is_err());
    }

    /// A verified body that is not an event is refused by decoding; an
    /// event's subscription and customer ids, when read, are never empty.
    #[test]
    fn events_name_real_ids_or_nothing(
        kind in prop_oneof![prop::sample::select(HANDLED.to_vec()).prop_map(str::to_owned), "[a-z._]{0,30}"],
        object in event_object(),
        garbage in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let _ = serde_json::from_slice::<Envelope>(&garbage);
        let body = serde_json::to_vec(&json!({
            "id": "evt_fuzz", "type": kind, "created": 1_790_000_000, "data": { "object": object },
        })).unwrap();
        let event: Envelope = serde_json::from_slice(&body).unwrap();
        if let Some((subscription, customer)) = subject(&event.kind, &event.data.object) {
            prop_assert!(!subscription.is_empty() && !customer.is_empty(), "{:?}", event.data.object);
        }
    }
}
