//! TOTP two-factor authentication (RFC 6238: SHA-1, 6 digits, 30-second steps,
//! one step of clock drift either way) and one-time recovery codes.
//!
//! The TOTP secret is sealed with the application key before it is stored.
//! Each accepted code's time step is recorded, so a code cannot be replayed.
//! Recovery codes are random, shown once, and stored as SHA-256 hashes.

use anyhow::Context;
use qrcode::QrCode;
use qrcode::render::svg;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

pub const ISSUER: &str = "Dripfeed";
pub const STEP_SECONDS: u64 = 30;
pub const RECOVERY_CODES: usize = 10;

/// Where a user's sealed TOTP secret lives (the sealing context).
pub fn secret_context(user_id: i64) -> String {
    format!("users.totp_secret:{user_id}")
}

/// 160 random bits, as RFC 4226 recommends.
pub fn new_secret() -> anyhow::Result<Vec<u8>> {
    Secret::generate_secret()
        .to_bytes()
        .map_err(|e| anyhow::anyhow!("generating a TOTP secret: {e:?}"))
}

pub fn totp(secret: Vec<u8>, email: &str) -> anyhow::Result<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECONDS,
        secret,
        Some(ISSUER.to_owned()),
        email.replace(':', "_"),
    )
    .context("building the TOTP generator")
}

/// The time step `code` is valid for at `now` (unix seconds), allowing one step
/// of drift either way; `None` if it matches none.
pub fn matching_step(totp: &TOTP, code: &str, now: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let current = now / STEP_SECONDS;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| totp.generate(step * STEP_SECONDS) == code)
}

/// The enrolment QR code as an SVG document.
pub fn qr_svg(otpauth_url: &str) -> anyhow::Result<String> {
    let code = QrCode::new(otpauth_url.as_bytes()).context("encoding the QR code")?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Ten fresh recovery codes such as `k7mq-x2vd-9hrt`.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = Secret::generate_secret().to_bytes().unwrap_or_default();
            let chars: String = bytes
                .iter()
                .take(12)
                .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
                .collect();
            format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
        })
        .collect()
}

/// The stored form of a recovery code: SHA-256 of it without dashes or case.
pub fn recovery_code_hash(code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(normalized.as_bytes()))
}

/// Whether the input looks like a recovery code rather than a 6-digit TOTP code.
pub fn looks_like_recovery_code(code: &str) -> bool {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 12
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator() -> TOTP {
        totp(vec![7; 20], "ann@example.com").unwrap()
    }

    #[test]
    fn the_current_code_and_its_neighbours_match_their_step() {
        let t = generator();
        let now = 1_800_000_000;
        let step = now / STEP_SECONDS;
        assert_eq!(matching_step(&t, &t.generate(now), now), Some(step));
        assert_eq!(
            matching_step(&t, &t.generate(now - 30), now),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(&t, &t.generate(now + 30), now),
            Some(step + 1)
        );
        assert_eq!(matching_step(&t, &t.generate(now - 90), now), None);
    }

    #[test]
    fn malformed_codes_never_match() {
        let t = generator();
        assert_eq!(matching_step(&t, "12345", 0), None);
        assert_eq!(matching_step(&t, "abcdef", 0), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_the_same_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        let code = &codes[0];
        assert!(looks_like_recovery_code(code));
        assert_eq!(
            recovery_code_hash(code),
            recovery_code_hash(&code.to_uppercase().replace('-', " "))
        );
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let svg = qr_svg(&generator().get_url()).unwrap();
        assert!(svg.contains("<svg"));
    }
}
