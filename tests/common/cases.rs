//! Generated cases for property tests: how many (`PROPTEST_CASES`, 2,000 by default), how
//! to run a property, and text mixed from pieces that parsers stumble on.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

pub fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    Config {
        cases,
        // Failures are shown with their smallest input; no file is written next to the tests.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `check` on `cases()` values of `strategy`, in a test runner of its own.
pub fn run<S: Strategy>(strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    run_with(config(), strategy, check);
}

/// As [`run`], a tenth as many cases: for properties whose every case writes a whole
/// import to the database.
pub fn run_writing<S: Strategy>(strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let mut config = config();
    config.cases = (config.cases / 10).max(1);
    run_with(config, strategy, check);
}

fn run_with<S: Strategy>(
    config: Config,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, check) {
        panic!("{e}");
    }
}

/// Pieces that parsers and sanitisers stumble on, mixed with any text.
pub fn tricky(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(pieces).prop_map(str::to_owned),
            1 => any::<String>(),
            1 => "[a-zA-Z0-9 =,\"'()*:/.-]{0,12}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}
