//! Password rules and hashing (argon2id with the crate's recommended
//! parameters). Hashing runs on the blocking pool: it is deliberately slow.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::LazyLock;

pub const MIN_LENGTH: usize = 12;
/// Long enough for any passphrase, short enough that hashing cannot be abused.
pub const MAX_LENGTH: usize = 256;

/// Passwords people pick most often (long enough to pass the length rule).
/// Compared case-insensitively, ignoring surrounding spaces.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "password1234",
    "password12345",
    "password123456",
    "passw0rd1234",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwerty123456",
    "qwertyuiopasdf",
    "asdfghjkl123",
    "zxcvbnm12345",
    "iloveyou1234",
    "letmein12345",
    "welcome12345",
    "welcome123456",
    "administrator",
    "admin1234567",
    "changeme1234",
    "football1234",
    "baseball1234",
    "monkey123456",
    "dragon123456",
    "sunshine1234",
    "princess1234",
    "trustno11234",
    "abc123456789",
    "abcdefghijkl",
    "aaaaaaaaaaaa",
    "000000000000",
    "111111111111",
    "qazwsxedcrfv",
    "1234qwerasdf",
    "passwordpassword",
    "superman1234",
    "starwars1234",
    "correcthorsebatterystaple",
    "masterpassword",
    "mypassword123",
    "password!234",
    "p@ssw0rd1234",
    "p@ssword1234",
    "secret123456",
    "investing123",
    "dripfeed1234",
    "alpaca123456",
    "bitcoin12345",
    "stocks123456",
    "money1234567",
    "trading12345",
];

/// Why a password was refused, worded for the person typing it.
pub fn check_rules(password: &str, email: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!(
            "Use at least {MIN_LENGTH} characters ({length} so far)."
        ));
    }
    if length > MAX_LENGTH {
        return Err(format!("Use at most {MAX_LENGTH} characters."));
    }
    let lowered = password.trim().to_lowercase();
    if COMMON.contains(&lowered.as_str()) {
        return Err("This password is too common. Choose something less guessable.".into());
    }
    let mut chars = lowered.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return Err("Do not repeat a single character.".into());
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && lowered.contains(&local) {
        return Err("Do not use your email address in your password.".into());
    }
    Ok(())
}

/// At most one argon2 computation per core at a time, process-wide: a
/// burst of log-ins or password changes queues here instead of filling the
/// blocking pool with memory-hungry hashes.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// An argon2id PHC string for `password`.
pub async fn hash(password: String) -> anyhow::Result<String> {
    let _permit = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await?
}

/// Whether `password` matches `phc`. `None` checks against a dummy hash, so an
/// unknown email costs as much time as a wrong password.
pub async fn verify(password: String, phc: Option<String>) -> bool {
    static DUMMY: LazyLock<String> = LazyLock::new(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"dripfeed-dummy-password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    });
    let known = phc.is_some();
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    let result = tokio::task::spawn_blocking(move || {
        let phc = phc.unwrap_or_else(|| DUMMY.clone());
        PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    known && result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_refused_with_the_count() {
        let e = check_rules("short", "a@b.co").unwrap_err();
        assert!(e.contains("12") && e.contains("5 so far"), "{e}");
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert!(check_rules("Password1234", "a@b.co").is_err());
        assert!(check_rules("QWERTY123456", "a@b.co").is_err());
    }

    #[test]
    fn a_single_repeated_character_is_refused() {
        assert!(check_rules("zzzzzzzzzzzzzz", "a@b.co").is_err());
    }

    #[test]
    fn the_email_name_inside_the_password_is_refused() {
        assert!(check_rules("annabelle-2026-spring", "annabelle@example.com").is_err());
    }

    #[test]
    fn a_long_unusual_passphrase_is_accepted() {
        assert!(check_rules("violet tractor harbour 42", "ann@example.com").is_ok());
    }

    #[test]
    fn overlong_passwords_are_refused() {
        assert!(check_rules(&"ab".repeat(200), "a@b.co").is_err());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let phc = hash("violet tractor harbour 42".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("violet tractor harbour 42".into(), Some(phc.clone())).await);
        assert!(!verify("violet tractor harbour 43".into(), Some(phc)).await);
        assert!(!verify("violet tractor harbour 42".into(), None).await);
    }
}
