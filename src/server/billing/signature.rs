//! Stripe webhook signatures.
//!
//! A delivery carries `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`
//! (other schemes such as `v0` may appear and are ignored). Each `v1` is
//! `HMAC-SHA256(endpoint secret, "<t>.<raw body>")`. A delivery is genuine when
//! any `v1` matches under any configured secret (so secrets can be rotated:
//! during a rotation Stripe signs with both), and `t` is within the tolerance
//! of now, so a captured delivery cannot be replayed later. The comparison is
//! constant-time (`hmac`'s `verify_slice`).

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// How far a delivery's timestamp may be from now (Stripe's own default).
pub const TOLERANCE: Duration = Duration::seconds(300);
/// The longest `Stripe-Signature` header looked at (Stripe's carry one
/// timestamp and a few signatures: well under this).
pub const MAX_HEADER_LEN: usize = 2048;
/// The most `v1` signatures looked at (Stripe sends one per active secret).
pub const MAX_SIGNATURES: usize = 8;

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery was refused. The messages name no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the Stripe-Signature header has no v1 signature")]
    NoSignature,
    #[error("the delivery was signed {age_secs} s away from now (more than the tolerance)")]
    OutsideTolerance { age_secs: i64 },
    #[error("no signature matches a configured webhook secret")]
    Mismatch,
}

/// The parts of a `Stripe-Signature` header Dripfeed uses.
struct Header {
    timestamp: i64,
    v1: Vec<Vec<u8>>,
}

/// Parses the header; refuses one longer than [`MAX_HEADER_LEN`] or with
/// more than [`MAX_SIGNATURES`] signatures before any work is done for it.
fn parse(header: &str) -> Result<Header, SignatureError> {
    if header.len() > MAX_HEADER_LEN {
        return Err(SignatureError::Malformed);
    }
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" => {
                let t = value
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed)?;
                if timestamp.replace(t).is_some() {
                    return Err(SignatureError::Malformed);
                }
            }
            "v1" => {
                // A value that is not hex cannot match; it is skipped, not fatal.
                if let Ok(bytes) = hex::decode(value) {
                    v1.push(bytes);
                }
                if v1.len() > MAX_SIGNATURES {
                    return Err(SignatureError::Malformed);
                }
            }
            _ => {}
        }
    }
    Ok(Header {
        timestamp: timestamp.ok_or(SignatureError::Malformed)?,
        v1,
    })
}

fn mac(secret: &SecretString, timestamp: i64, payload: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// Checks a delivery: `header` is `Stripe-Signature`, `payload` the raw body.
/// Returns the signing time.
pub fn verify(
    header: &str,
    payload: &[u8],
    secrets: &[SecretString],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<DateTime<Utc>, SignatureError> {
    let parsed = parse(header)?;
    if parsed.v1.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let signed_at =
        DateTime::<Utc>::from_timestamp(parsed.timestamp, 0).ok_or(SignatureError::Malformed)?;
    let age = now - signed_at;
    if age.abs() > tolerance {
        return Err(SignatureError::OutsideTolerance {
            age_secs: age.num_seconds(),
        });
    }
    // The body is hashed once per secret; each signature is compared
    // (constant-time) against a copy of that state.
    let genuine = secrets.iter().any(|secret| {
        let keyed = mac(secret, parsed.timestamp, payload);
        parsed
            .v1
            .iter()
            .any(|sig| keyed.clone().verify_slice(sig).is_ok())
    });
    if genuine {
        Ok(signed_at)
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header Stripe would send for `payload` signed at `at` with `secret`
/// (for the Stripe fake and tests).
pub fn sign(payload: &[u8], secret: &SecretString, at: DateTime<Utc>) -> String {
    let t = at.timestamp();
    let sig = mac(secret, t, payload).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(sig))
}

/// The header for `payload` signed at `at` (Unix seconds) with each of
/// `secrets`: one `v1` per secret, as Stripe sends during a secret roll.
pub fn sign_with(secrets: &[String], at: i64, payload: &str) -> String {
    let mut header = format!("t={at}");
    for secret in secrets {
        let secret = SecretString::from(secret.clone());
        let sig = mac(&secret, at, payload.as_bytes()).finalize().into_bytes();
        header.push_str(&format!(",v1={}", hex::encode(sig)));
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn what_it_signs_it_accepts_and_nothing_else() {
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap();
        let s = secret("whsec_a");
        let header = sign(b"{\"id\":\"evt_1\"}", &s, at);
        let secrets = [s];
        assert_eq!(
            verify(&header, b"{\"id\":\"evt_1\"}", &secrets, at, TOLERANCE),
            Ok(at)
        );
        assert_eq!(
            verify(&header, b"{\"id\":\"evt_2\"}", &secrets, at, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let now = Utc::now();
        let secrets = [secret("whsec_a")];
        for header in ["", "garbage", "t=abc,v1=00", "v1=00", "t=1,t=2,v1=00"] {
            assert_eq!(
                verify(header, b"{}", &secrets, now, TOLERANCE),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
        // Too long, or too many signatures: refused before any hashing.
        let many = format!(
            "t={}{}",
            now.timestamp(),
            ",v1=00".repeat(MAX_SIGNATURES + 1)
        );
        let long = format!("t={},v1={}", now.timestamp(), "0".repeat(MAX_HEADER_LEN));
        for header in [many, long] {
            assert_eq!(
                verify(&header, b"{}", &secrets, now, TOLERANCE),
                Err(SignatureError::Malformed)
            );
        }
        let eight = format!("t={}{}", now.timestamp(), ",v1=00".repeat(MAX_SIGNATURES));
        assert_eq!(
            verify(&eight, b"{}", &secrets, now, TOLERANCE),
            Err(SignatureError::Mismatch),
            "eight are looked at"
        );
        assert_eq!(
            verify(
                &format!("t={},v0=00", now.timestamp()),
                b"{}",
                &secrets,
                now,
                TOLERANCE
            ),
            Err(SignatureError::NoSignature)
        );
    }
}
