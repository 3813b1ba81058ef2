//! Test support shared by the unit tests (compiled only for tests).

/// Property tests run from a fixed seed, printed; `PROPTEST_RNG_SEED=<n>`
/// replays another. No failure files are written.
pub fn seeded() -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, RngSeed};
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261201);
    eprintln!("property tests seeded with {seed} (set PROPTEST_RNG_SEED to replay another)");
    Config {
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}
