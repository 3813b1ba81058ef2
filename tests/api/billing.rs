//! Stripe webhook signatures against the recorded vectors
//! (`tests/fixtures/stripe/`): valid, rotated (either order), extra `v0`,
//! wrong secret; and forged, stale and future deliveries.

use chrono::{DateTime, Duration, Utc};
use dripfeed::server::billing::signature::{SignatureError, TOLERANCE, sign, verify};
use secrecy::SecretString;

#[derive(serde::Deserialize)]
struct Vector {
    secret: String,
    timestamp: i64,
    payload: String,
    header: String,
    header_rotation_valid_last: String,
    header_rotation_valid_first: String,
    header_with_v0: String,
    header_wrong_secret_only: String,
}

fn vectors() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stripe/signature-vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("the signature vectors");
    let vectors: Vec<Vector> = serde_json::from_str(&text).expect("JSON");
    assert!(!vectors.is_empty());
    vectors
}

fn at(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).expect("a time")
}

#[test]
fn the_recorded_signature_vectors_behave_as_labelled() {
    for v in vectors() {
        let secrets = [SecretString::from(v.secret.clone())];
        let payload = v.payload.as_bytes();
        let now = at(v.timestamp) + Duration::seconds(10);
        for valid in [
            &v.header,
            &v.header_rotation_valid_last,
            &v.header_rotation_valid_first,
            &v.header_with_v0,
        ] {
            assert_eq!(
                verify(valid, payload, &secrets, now, TOLERANCE),
                Ok(at(v.timestamp)),
                "{valid}"
            );
        }
        assert_eq!(
            verify(
                &v.header_wrong_secret_only,
                payload,
                &secrets,
                now,
                TOLERANCE
            ),
            Err(SignatureError::Mismatch)
        );
        // Our own signing reproduces the recorded header.
        assert_eq!(sign(payload, &secrets[0], at(v.timestamp)), v.header);
    }
}

#[test]
fn several_configured_secrets_accept_a_delivery_signed_with_any_of_them() {
    for v in vectors() {
        let payload = v.payload.as_bytes();
        let now = at(v.timestamp);
        let rotated = [
            SecretString::from("whsec_new_one".to_owned()),
            SecretString::from(v.secret.clone()),
        ];
        assert!(verify(&v.header, payload, &rotated, now, TOLERANCE).is_ok());
        // Only the old rotated secret configured: the wrong-secret-only header
        // (made with it) is now the valid one.
        let old = [SecretString::from("whsec_old_rotated_secret".to_owned())];
        assert!(verify(&v.header_wrong_secret_only, payload, &old, now, TOLERANCE).is_ok());
        assert_eq!(
            verify(&v.header, payload, &old, now, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&v.header, payload, &[], now, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
    }
}

#[test]
fn forged_stale_and_future_deliveries_are_refused() {
    for v in vectors() {
        let secrets = [SecretString::from(v.secret.clone())];
        let signed = at(v.timestamp);
        // One changed byte in the body.
        let forged = v
            .payload
            .replacen("\"livemode\":false", "\"livemode\":true ", 1);
        assert_ne!(forged, v.payload);
        assert_eq!(
            verify(&v.header, forged.as_bytes(), &secrets, signed, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        // A replay after the tolerance, and a timestamp too far ahead.
        for now in [
            signed + Duration::seconds(301),
            signed - Duration::seconds(301),
        ] {
            assert!(
                matches!(
                    verify(&v.header, v.payload.as_bytes(), &secrets, now, TOLERANCE),
                    Err(SignatureError::OutsideTolerance { .. })
                ),
                "{now}"
            );
        }
        // At the edge of the tolerance it is still accepted.
        assert!(
            verify(
                &v.header,
                v.payload.as_bytes(),
                &secrets,
                signed + TOLERANCE,
                TOLERANCE
            )
            .is_ok()
        );
        // A timestamp moved to now does not carry the old signature along.
        let moved = v.header.replacen(
            &v.timestamp.to_string(),
            &(v.timestamp + 400).to_string(),
            1,
        );
        assert_eq!(
            verify(
                &moved,
                v.payload.as_bytes(),
                &secrets,
                signed + Duration::seconds(400),
                TOLERANCE
            ),
            Err(SignatureError::Mismatch)
        );
    }
}
