//! Brute-force protection: in-memory rate limits (governor) per client IP and
//! per account on log-in, sign-up and two-factor codes. A refused request is
//! told how many seconds to wait.
//!
//! Limits are per process: with several instances behind a load balancer an
//! attacker gets each instance's allowance, which still bounds guessing.

use crate::error::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;

/// What is being attempted, each with its own allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attempt {
    LogIn,
    SignUp,
    SecondFactor,
    /// Checking brokerage API keys with the broker (no key-guessing oracle).
    BrokerKey,
    /// Changing the password (each try verifies the current one).
    PasswordChange,
}

pub struct RateLimits {
    by_ip: [DefaultKeyedRateLimiter<String>; 5],
    by_account: [DefaultKeyedRateLimiter<String>; 5],
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimits")
    }
}

fn quota(count: u32, per: Duration) -> Quota {
    let n = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(per / n.get())
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(n)
}

impl Default for RateLimits {
    fn default() -> Self {
        let minute = Duration::from_secs(60);
        Self {
            // Per IP: generous enough for a household behind one address.
            by_ip: [
                RateLimiter::keyed(quota(20, minute)),
                RateLimiter::keyed(quota(10, 60 * minute)),
                RateLimiter::keyed(quota(20, minute)),
                RateLimiter::keyed(quota(30, 60 * minute)),
                RateLimiter::keyed(quota(20, minute)),
            ],
            // Per account: a handful of guesses, then a pause.
            by_account: [
                RateLimiter::keyed(quota(5, 5 * minute)),
                RateLimiter::keyed(quota(5, 5 * minute)),
                RateLimiter::keyed(quota(5, 5 * minute)),
                RateLimiter::keyed(quota(10, 60 * minute)),
                RateLimiter::keyed(quota(5, 5 * minute)),
            ],
        }
    }
}

impl RateLimits {
    fn index(attempt: Attempt) -> usize {
        match attempt {
            Attempt::LogIn => 0,
            Attempt::SignUp => 1,
            Attempt::SecondFactor => 2,
            Attempt::BrokerKey => 3,
            Attempt::PasswordChange => 4,
        }
    }

    /// Forgets keys whose allowance has fully recovered, so the limiters'
    /// memory follows the clients seen recently, not every client ever.
    pub fn prune(&self) {
        for limiter in self.by_ip.iter().chain(&self.by_account) {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// How many keys the limiters hold (for tests and health).
    pub fn tracked_keys(&self) -> usize {
        self.by_ip
            .iter()
            .chain(&self.by_account)
            .map(|l| l.len())
            .sum()
    }

    /// Counts one attempt from `ip` (and on `account`, if known); refuses it
    /// with the wait time if either allowance is used up.
    pub fn check(
        &self,
        attempt: Attempt,
        ip: Option<&str>,
        account: Option<&str>,
    ) -> Result<(), AppError> {
        let i = Self::index(attempt);
        let now = DefaultClock::default().now();
        let mut wait = Duration::ZERO;
        if let Some(ip) = ip
            && let Err(not_until) = self.by_ip[i].check_key(&ip.to_owned())
        {
            wait = wait.max(not_until.wait_time_from(now));
        }
        if let Some(account) = account
            && let Err(not_until) = self.by_account[i].check_key(&account.to_lowercase())
        {
            wait = wait.max(not_until.wait_time_from(now));
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(AppError::TooManyRequests {
                retry_after_secs: wait.as_secs().max(1),
            })
        }
    }
}

/// Requests per minute for each personal API token (`/api/v1`).
pub struct TokenLimits(DefaultKeyedRateLimiter<i64>);

impl std::fmt::Debug for TokenLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenLimits")
    }
}

impl TokenLimits {
    pub fn per_minute(n: u32) -> Self {
        Self(RateLimiter::keyed(quota(n, Duration::from_secs(60))))
    }

    /// Counts one request on `token_id`; refuses it with the wait when the
    /// token's minute is used up.
    pub fn check(&self, token_id: i64) -> Result<(), AppError> {
        self.0.check_key(&token_id).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::TooManyRequests {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

    pub fn prune(&self) {
        self.0.retain_recent();
        self.0.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_log_in_on_one_account_within_minutes_is_refused_with_a_wait() {
        let limits = RateLimits::default();
        for _ in 0..5 {
            assert!(
                limits
                    .check(Attempt::LogIn, None, Some("ann@example.com"))
                    .is_ok()
            );
        }
        match limits.check(Attempt::LogIn, None, Some("ANN@example.com")) {
            Err(AppError::TooManyRequests { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs))
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(
            limits
                .check(Attempt::LogIn, None, Some("bob@example.com"))
                .is_ok()
        );
        assert!(
            limits
                .check(Attempt::SecondFactor, None, Some("ann@example.com"))
                .is_ok()
        );
    }

    #[test]
    fn a_token_is_limited_on_its_own() {
        let limits = TokenLimits::per_minute(3);
        for _ in 0..3 {
            assert!(limits.check(7).is_ok());
        }
        assert!(matches!(
            limits.check(7),
            Err(AppError::TooManyRequests { retry_after_secs }) if (1..=60).contains(&retry_after_secs)
        ));
        assert!(limits.check(8).is_ok());
    }

    #[test]
    fn one_ip_is_limited_across_accounts() {
        let limits = RateLimits::default();
        for n in 0..20 {
            assert!(
                limits
                    .check(
                        Attempt::LogIn,
                        Some("10.0.0.1"),
                        Some(&format!("u{n}@x.co"))
                    )
                    .is_ok()
            );
        }
        assert!(
            limits
                .check(Attempt::LogIn, Some("10.0.0.1"), Some("new@x.co"))
                .is_err()
        );
        assert!(
            limits
                .check(Attempt::LogIn, Some("10.0.0.2"), Some("new@x.co"))
                .is_ok()
        );
    }
}
