//! `dripfeed backtest`: a CSV file's bars through the strategy layer and the
//! backtester, printed as a table or as JSON; bad files refused with the line.

use serde_json::Value;
use std::process::{Command, Output};

fn backtest(args: &[&str]) -> Output {
    let data = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_dripfeed"))
        .arg("backtest")
        .args(args)
        .env("DRIPFEED_DATA_DIR", data.path())
        .env("DRIPFEED_LOG", "error")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run dripfeed")
}

/// A step up then down (open, close per day): with 2- and 3-day averages the
/// cross up is on the 5th bar's close and the cross down on the 7th's.
fn step_csv(dir: &std::path::Path) -> std::path::PathBuf {
    let rows = [
        (10, 10),
        (10, 10),
        (10, 10),
        (10, 9),
        (9, 20),
        (19, 21),
        (21, 5),
        (6, 5),
    ];
    let mut text = String::from("Date,Open,High,Low,Close,Volume\n");
    for (i, (o, c)) in rows.iter().enumerate() {
        text.push_str(&format!(
            "2026-01-{:02},{o},{},{},{c},1000\n",
            5 + i,
            o.max(c),
            o.min(c)
        ));
    }
    let path = dir.join("step.csv");
    std::fs::write(&path, text).expect("write CSV");
    path
}

#[test]
fn the_json_report_has_the_trades_the_rules_give_and_one_equity_point_per_bar() {
    let dir = tempfile::tempdir().unwrap();
    let csv = step_csv(dir.path());
    let out = backtest(&[
        "--csv",
        csv.to_str().unwrap(),
        "--strategy",
        "ma-crossover",
        "--fast",
        "2",
        "--slow",
        "3",
        "--cash",
        "100",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    // Signal on 2026-01-09's close, bought at the next open (19): 5 shares;
    // sold at the open after the cross down (6).
    assert_eq!(
        report["trades"],
        serde_json::json!([{
            "entry_date": "2026-01-10", "exit_date": "2026-01-12",
            "entry_price": 19.0, "exit_price": 6.0, "quantity": 5.0, "pnl": -65.0,
            "exit_reason": "signal",
        }])
    );
    let equity = report["equity"].as_array().unwrap();
    assert_eq!(equity.len(), 8);
    assert_eq!(
        equity[5],
        serde_json::json!({"date": "2026-01-10", "value": 110.0})
    );
    assert_eq!(report["metrics"]["final_value"], 35.0);
    assert_eq!(report["metrics"]["trades"], 1.0);
    assert!(report["metrics"]["cagr_pct"].is_number());

    // At the close instead: bought at 20, sold at 5.
    let out = backtest(&[
        "--csv",
        csv.to_str().unwrap(),
        "--fast",
        "2",
        "--slow",
        "3",
        "--cash",
        "100",
        "--fill",
        "close",
        "--json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["trades"][0]["entry_price"], 20.0);
    assert_eq!(report["metrics"]["final_value"], 25.0);

    // The table names every metric.
    let out = backtest(&[
        "--csv",
        csv.to_str().unwrap(),
        "--fast",
        "2",
        "--slow",
        "3",
        "--cash",
        "100",
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    for name in [
        "final_value",
        "max_drawdown_pct",
        "sharpe",
        "win_rate_pct",
        "exposure_pct",
    ] {
        assert!(table.contains(name), "{table}");
    }
}

#[test]
fn a_bad_file_or_bad_arguments_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "Date,Open,High,Low,Close,Volume\n2026-01-05,10,11,9,10,100\n2026-01-05,10,11,9,10,100\n",
    )
    .unwrap();
    let out = backtest(&["--csv", csv.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3: 2026-01-05 appears twice"), "{err}");
    assert!(out.stdout.is_empty());

    let good = step_csv(dir.path());
    for (args, want) in [
        (
            vec!["--fast", "20", "--slow", "5"],
            "must be shorter than the slow one",
        ),
        (vec!["--cash", "0"], "--cash must be more than 0"),
        (vec!["--commission", "1.5"], "--commission is a fraction"),
    ] {
        let mut all = vec!["--csv", good.to_str().unwrap()];
        all.extend(args);
        let out = backtest(&all);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{err}");
    }
}

/// Two symbols' bars over the first trading days of 2026: the plan's symbol
/// alternates 10 and 20, the benchmark stays at 50.
fn plan_csvs(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let days = [
        "2026-01-05",
        "2026-01-06",
        "2026-01-07",
        "2026-01-08",
        "2026-01-09",
    ];
    let write = |name: &str, prices: [i64; 5]| {
        let mut text = String::from("Date,Open,High,Low,Close,Volume\n");
        for (d, p) in days.iter().zip(prices) {
            text.push_str(&format!("{d},{p},{p},{p},{p},1000\n"));
        }
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write CSV");
        path
    };
    (
        write("aaa.csv", [10, 20, 10, 20, 10]),
        write("spy.csv", [50; 5]),
    )
}

#[test]
fn a_plan_is_compared_with_a_lump_sum_and_a_benchmark_bought_on_the_same_days() {
    let dir = tempfile::tempdir().unwrap();
    let (aaa, spy) = plan_csvs(dir.path());
    let out = backtest(&[
        "--csv",
        aaa.to_str().unwrap(),
        "--strategy",
        "dca",
        "--amount",
        "100",
        "--every",
        "daily",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let shares: Vec<f64> = report["buys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["quantity"].as_f64().unwrap())
        .collect();
    assert_eq!(shares, [10.0, 5.0, 10.0, 5.0, 10.0]);
    assert_eq!(report["metrics"]["contributed"], 500.0);
    assert_eq!(report["metrics"]["final_value"], 400.0);
    assert_eq!(report["metrics"]["cagr_pct"], Value::Null);

    let out = backtest(&[
        "--csv",
        aaa.to_str().unwrap(),
        "--strategy",
        "dca",
        "--amount",
        "100",
        "--every",
        "daily",
        "--compare",
        "--benchmark-csv",
        spy.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["headline"],
        "Pure DCA ended $100.00 behind SPY bought on the same days"
    );
    let names: Vec<&str> = report["approaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Pure DCA",
            "Smart DCA (20-day average)",
            "Lump sum on day one",
            "SPY bought on the same days"
        ]
    );
    let finals: Vec<f64> = report["approaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["metrics"]["final_value"].as_f64().unwrap())
        .collect();
    // Smart DCA has under 20 closes of history, so it buys every run, and says so nowhere as a skip.
    assert_eq!(finals, [400.0, 400.0, 500.0, 500.0]);

    let out = backtest(&[
        "--csv",
        aaa.to_str().unwrap(),
        "--strategy",
        "dca",
        "--every",
        "weekly:sat",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the market is closed on Sat"));
}

#[test]
fn a_sweep_ranks_every_pair_and_rolling_starts_judge_each_start() {
    let dir = tempfile::tempdir().unwrap();
    let csv = step_csv(dir.path());
    let out = backtest(&[
        "--csv",
        csv.to_str().unwrap(),
        "--fast",
        "1..2",
        "--slow",
        "3..4",
        "--cash",
        "100",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pairs: Vec<(u64, u64)> = report["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["fast"].as_u64().unwrap(), p["slow"].as_u64().unwrap()))
        .collect();
    assert_eq!(pairs.len(), 4, "{pairs:?}");
    let finals: Vec<f64> = report["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metrics"]["final_value"].as_f64().unwrap())
        .collect();
    assert!(
        finals.windows(2).all(|w| w[0] >= w[1]),
        "best first: {finals:?}"
    );
    assert_eq!(
        report["best"]["metrics"]["final_value"].as_f64(),
        finals.first().copied()
    );
    let out = backtest(&[
        "--csv",
        csv.to_str().unwrap(),
        "--fast",
        "1..2",
        "--slow",
        "3..4",
        "--rank-by",
        "luck",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rank-by \"luck\" is not a metric"));

    let (aaa, spy) = plan_csvs(dir.path());
    let out = backtest(&[
        "--csv",
        aaa.to_str().unwrap(),
        "--strategy",
        "dca",
        "--every",
        "daily",
        "--rolling-step",
        "2",
        "--benchmark-csv",
        spy.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["starts"], 3);
    let names: Vec<&str> = report["wins_pct"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Pure DCA",
            "Lump sum on day one",
            "SPY bought on the same days"
        ]
    );
}

#[test]
fn a_monte_carlo_is_reproducible_from_its_seed_and_reports_the_spread() {
    let dir = tempfile::tempdir().unwrap();
    let (aaa, _) = plan_csvs(dir.path());
    let run = |seed: &str| {
        let out = backtest(&[
            "--csv",
            aaa.to_str().unwrap(),
            "--strategy",
            "dca",
            "--every",
            "daily",
            "--monte-carlo",
            "40",
            "--block-days",
            "2",
            "--seed",
            seed,
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let a = run("7");
    assert_eq!(a, run("7"), "the same seed gives the same paths");
    assert_eq!(a["paths"], 40);
    assert_eq!(a["contributed"], 500.0);
    let q: Vec<f64> = ["p5", "p25", "median", "p75", "p95"]
        .iter()
        .map(|k| a["final_value"][k].as_f64().unwrap())
        .collect();
    assert!(q.windows(2).all(|w| w[0] <= w[1]), "{q:?}");
    let below = a["below_contributed_pct"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&below));
    let out = backtest(&[
        "--csv",
        aaa.to_str().unwrap(),
        "--strategy",
        "dca",
        "--monte-carlo",
        "0",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--monte-carlo takes 1 to"));
}
