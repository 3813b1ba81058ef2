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

/// The parsers' fuzz runs: [`seeded`], with `DRIPFEED_FUZZ_CASES` cases per
/// property (default 2,000; `make fuzz` runs 100,000).
pub fn fuzz() -> proptest::test_runner::Config {
    let cases = std::env::var("DRIPFEED_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    proptest::test_runner::Config { cases, ..seeded() }
}
