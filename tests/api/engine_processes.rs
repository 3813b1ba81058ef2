//! The engine as real `dripfeed worker` processes against a standalone
//! `dripfeed exchange`: killed with SIGKILL at random moments and restarted
//! (no duplicate order, no lost run), and on PostgreSQL three at once sharing
//! hundreds of runs due in the same minute (none done twice).
//!
//! `CRASH_KILLS` sets how many kills the crash test makes (default 100);
//! `CRASH_SEED` replays a run (the seed is printed).

use crate::helpers::{TestApp, spawn_app_configured};
use crate::seed::{self, Seeded};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use dripfeed::domain::calendar;
use dripfeed::server::broker::{Broker, OrderFilter};
use dripfeed::server::connections::broker_for;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rust_decimal::Decimal;
use std::process::{Child, Command, Stdio};

/// A child process killed (SIGKILL) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Process {
    fn kill(mut self) {
        // `Child::kill` is SIGKILL on Unix: no shutdown code runs.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A standalone exchange with its clock stopped at `at` and `latency_ms` on
/// every request; its URL.
async fn start_exchange(at: DateTime<Utc>, latency_ms: u64) -> (Process, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_dripfeed"))
        .args(["exchange", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--clock", &at.to_rfc3339(), "--speed", "0", "--control"])
        .args(["--latency-ms", &latency_ms.to_string()])
        .env("DRIPFEED_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .expect("start dripfeed exchange");
    let process = Process(child);
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (process, format!("http://127.0.0.1:{port}"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the exchange did not start listening");
}

async fn set_exchange_clock(url: &str, at: DateTime<Utc>) {
    let response = reqwest::Client::new()
        .post(format!("{url}/_control/clock"))
        .json(&serde_json::json!({ "at": at, "speed": 0 }))
        .send()
        .await
        .expect("move the exchange clock");
    assert!(response.status().is_success(), "{}", response.status());
}

/// The test's own app (engine off) on a fresh database, its demo broker the
/// standalone exchange, its clock at `at`: it seeds plans and reads results.
async fn app_on(exchange: &str, at: DateTime<Utc>) -> TestApp {
    let url: url::Url = exchange.parse().expect("exchange URL");
    spawn_app_configured(true, |s| {
        s.demo_exchange_url = Some(url);
        s.exchange_clock = Some(at);
        s.exchange_speed = 0;
    })
    .await
}

/// Starts `dripfeed worker` on the app's database, its clock at `at`.
fn start_worker(
    app: &TestApp,
    exchange: &str,
    at: DateTime<Utc>,
    instance: &str,
    concurrency: usize,
) -> Process {
    let level = std::env::var("CRASH_WORKER_LOG").unwrap_or_else(|_| "warn".into());
    start_worker_logging(app, exchange, at, instance, concurrency, &level)
}

/// [`start_worker`], logging at `level`.
fn start_worker_logging(
    app: &TestApp,
    exchange: &str,
    at: DateTime<Utc>,
    instance: &str,
    concurrency: usize,
    level: &str,
) -> Process {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(app.data_dir.join(format!("{instance}.log")))
        .expect("worker log");
    let child = Command::new(env!("CARGO_BIN_EXE_dripfeed"))
        .arg("worker")
        .env("DATABASE_URL", &app.database_url)
        .env("DRIPFEED_DATA_DIR", &app.data_dir)
        .env("DRIPFEED_DEMO_EXCHANGE_URL", exchange)
        .env("DRIPFEED_EXCHANGE_CLOCK", at.to_rfc3339())
        .env("DRIPFEED_EXCHANGE_SPEED", "0")
        .env("DRIPFEED_ENGINE_INTERVAL_SECS", "1")
        .env("DRIPFEED_ENGINE_CONCURRENCY", concurrency.to_string())
        .env("DRIPFEED_INSTANCE_ID", instance)
        .env("DRIPFEED_LOG", level)
        .stdout(log.try_clone().expect("worker log"))
        .stderr(log)
        .spawn()
        .expect("start dripfeed worker");
    Process(child)
}

fn worker_log(app: &TestApp, instance: &str) -> String {
    let text =
        std::fs::read_to_string(app.data_dir.join(format!("{instance}.log"))).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// 10:00 New York on `date`, when the seeded plans run.
fn slot_on(date: NaiveDate) -> DateTime<Utc> {
    chrono_tz::America::New_York
        .from_local_datetime(&date.and_hms_opt(10, 0, 0).expect("time"))
        .single()
        .expect("an unambiguous time")
        .with_timezone(&Utc)
}

/// Runs on `date` that have reached an outcome.
async fn finished_on(app: &TestApp, date: NaiveDate) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM plan_slots WHERE trading_date = '{date}' AND finished_at IS NOT NULL"
    );
    app.count(&sql).await
}

/// Whether all `all` runs on `date` reach an outcome within `tries` looks
/// 50 ms apart.
async fn all_finished(app: &TestApp, date: NaiveDate, all: i64, tries: usize) -> bool {
    for _ in 0..tries {
        if finished_on(app, date).await == all {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// Every order the exchange holds for each seeded account, checked against
/// the runs: one order per (run, symbol), each one a run recorded here.
async fn assert_exactly_once(
    app: &TestApp,
    seeded: &[Seeded],
    runs_each: usize,
    legs: usize,
    per_run: Decimal,
) {
    let filled = app
        .count("SELECT COUNT(*) FROM plan_slots WHERE status = 'filled'")
        .await;
    let all = app.count("SELECT COUNT(*) FROM plan_slots").await;
    let other = app
        .text_column(
            "SELECT status || ': ' || COALESCE(reason, '') FROM plan_slots WHERE status <> 'filled'",
        )
        .await;
    assert_eq!(
        (all, filled),
        (
            i64::try_from(seeded.len() * runs_each).expect("count"),
            i64::try_from(seeded.len() * runs_each).expect("count")
        ),
        "every run exists and filled; others: {other:?}"
    );
    let known = app
        .text_column("SELECT client_order_id FROM slot_orders")
        .await;
    let known: std::collections::HashSet<String> = known.into_iter().collect();
    for s in seeded {
        let row = app
            .store
            .connection_by_id(s.connection_id)
            .await
            .expect("connection")
            .expect("exists");
        let (broker, _) = broker_for(&app.state, &row).expect("broker");
        let orders = broker
            .orders(OrderFilter::All, 500)
            .await
            .expect("the account's orders");
        assert_eq!(
            orders.len(),
            runs_each * legs,
            "plan {}: one order per run and symbol, no more",
            s.plan_id
        );
        let mut ids: Vec<&str> = orders.iter().map(|o| o.client_order_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len(),
            runs_each * legs,
            "plan {}: distinct runs",
            s.plan_id
        );
        for o in &orders {
            assert!(
                known.contains(&o.client_order_id),
                "an order the engine has no record of: {}",
                o.client_order_id
            );
        }
        let spent: Decimal = orders
            .iter()
            .map(|o| match o.amount {
                dripfeed::server::broker::Amount::Notional(n) => n,
                dripfeed::server::broker::Amount::Qty(_) => Decimal::ZERO,
            })
            .sum();
        assert_eq!(
            spent,
            per_run * Decimal::from(runs_each),
            "plan {}",
            s.plan_id
        );
    }
}

/// Trading days from `start` on.
fn trading_days(start: NaiveDate, n: usize) -> Vec<NaiveDate> {
    calendar::trading_days(start, start + Duration::days(400))
        .take(n)
        .map(|d| d.date)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_workers_never_duplicate_or_lose_a_run() {
    let kills_wanted: usize = std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let seed_value: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
    eprintln!("crash test: CRASH_SEED={seed_value} CRASH_KILLS={kills_wanted}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed_value);
    let mut between = |low: u64, high: u64| low + rng.next_u64() % (high - low + 1);

    // Plans are made the Friday before Thanksgiving week, before the run.
    let first = NaiveDate::from_ymd_opt(2026, 11, 20).expect("date");
    let created = slot_on(first) - Duration::hours(1);
    let (_exchange, url) = start_exchange(created, 40).await;
    let app = app_on(&url, created).await;
    let seeded = seed::daily_plans(&app.state, "crash", 0..40, &[("VTI", "7"), ("QQQ", "3")], 8)
        .await
        .expect("seed plans");

    let mut kills = 0;
    let mut days = 0;
    for date in trading_days(first, 1000) {
        if kills >= kills_wanted {
            break;
        }
        days += 1;
        let slot = slot_on(date);
        // Kills at random moments while the day's runs are under way, up to
        // eight; each restart a little later, as time passes on a real machine.
        let all = i64::try_from(seeded.len()).expect("n");
        let mut at = slot + Duration::seconds(30);
        for _ in 0..8 {
            set_exchange_clock(&url, at).await;
            let worker = start_worker(&app, &url, at, "crash-worker", 8);
            let wait = between(10, 1200);
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            worker.kill();
            kills += 1;
            at += Duration::seconds(20);
            if finished_on(&app, date).await == all {
                break;
            }
        }
        // Then one runs until the day's runs are all done.
        set_exchange_clock(&url, at).await;
        let worker = start_worker(&app, &url, at, "crash-worker", 8);
        let done = all_finished(&app, date, all, 300).await;
        worker.kill();
        assert!(
            done,
            "day {date}: runs unfinished after a restart; worker log:\n{}",
            worker_log(&app, "crash-worker")
        );
    }
    // Kills did land in the middle of runs: restarts found work to take back.
    let log = std::fs::read_to_string(app.data_dir.join("crash-worker.log")).unwrap_or_default();
    let interrupted = log.matches("took back unfinished runs").count();
    if std::env::var_os("CRASH_LOG").is_some() {
        eprintln!("{} bytes, {} lines\n{log}", log.len(), log.lines().count());
    }
    eprintln!(
        "crash test: {kills} SIGKILLs over {days} trading days, {interrupted} in the middle of runs"
    );
    assert!(kills >= kills_wanted);
    assert!(
        interrupted >= kills_wanted / 4,
        "only {interrupted} kills interrupted a run"
    );
    assert_exactly_once(&app, &seeded, days, 2, Decimal::from(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_postgres_share_hundreds_of_runs_and_do_each_once() {
    if !std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!(
            "SQLite runs one engine per database (tested in plans and cli); this test needs PostgreSQL"
        );
        return;
    }
    let date = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
    let slot = slot_on(date);
    let (_exchange, url) = start_exchange(slot - Duration::hours(1), 20).await;
    let app = app_on(&url, slot - Duration::hours(1)).await;
    let seeded = seed::daily_plans(&app.state, "many", 0..300, &[("VTI", "5")], 16)
        .await
        .expect("seed plans");

    let at = slot + Duration::seconds(5);
    set_exchange_clock(&url, at).await;
    let workers: Vec<Process> = (0..3)
        .map(|i| start_worker(&app, &url, at, &format!("worker-{i}"), 8))
        .collect();
    let mut done = false;
    for _ in 0..600 {
        if finished_on(&app, date).await == 300 {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(workers);
    assert!(
        done,
        "runs unfinished; log:\n{}",
        worker_log(&app, "worker-0")
    );
    // The work was shared, not done by one process while the others idled.
    let engines = app
        .count("SELECT COUNT(DISTINCT claimed_by) FROM plan_slots")
        .await;
    assert!(engines >= 2, "only {engines} engine(s) did any work");
    assert_exactly_once(&app, &seeded, 1, 1, Decimal::from(5)).await;
}

/// SIGTERM in the middle of a run: the worker drains. The orders it had
/// decided on (intents) are all sent and recorded before it exits, none is
/// left half-done, it exits cleanly, and a restarted worker finishes the day
/// with every run bought exactly once. Before the drain, SIGTERM aborted the
/// pass and left intents behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_run_drains_the_engine_and_leaves_nothing_half_recorded() {
    let date = NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
    let slot = slot_on(date);
    // A slow broker: each request takes 400 ms, so a run is under way for
    // seconds.
    let (_exchange, url) = start_exchange(slot - Duration::hours(1), 400).await;
    let app = app_on(&url, slot - Duration::hours(1)).await;
    let seeded = seed::daily_plans(&app.state, "drain", 0..6, &[("VTI", "7"), ("QQQ", "3")], 8)
        .await
        .expect("seed plans");
    let at = slot + Duration::seconds(5);
    set_exchange_clock(&url, at).await;
    let mut worker = start_worker_logging(&app, &url, at, "drain-worker", 8, "info");
    // Wait until orders have been decided but not all sent: mid-run.
    let mut mid_run = false;
    for _ in 0..600 {
        if app
            .count("SELECT COUNT(*) FROM slot_orders WHERE status = 'intent'")
            .await
            > 0
        {
            mid_run = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        mid_run,
        "no run got under way; log:\n{}",
        worker_log(&app, "drain-worker")
    );
    let pid = worker.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let mut exited = None;
    for _ in 0..600 {
        if let Some(status) = worker.0.try_wait().expect("wait") {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = worker_log(&app, "drain-worker");
    let Some(status) = exited else {
        panic!("the worker did not stop within a minute of SIGTERM; log:\n{log}");
    };
    assert!(status.success(), "a clean exit: {status}; log:\n{log}");
    let half = app
        .text_column(
            "SELECT client_order_id || ' ' || status FROM slot_orders WHERE status IN ('intent', 'unknown')",
        )
        .await;
    assert!(
        half.is_empty(),
        "orders left half-recorded after the drain: {half:?}\n{log}"
    );
    let claimed = app
        .count("SELECT COUNT(*) FROM plan_slots WHERE status = 'running'")
        .await;
    assert_eq!(claimed, 0, "no run is left claimed mid-way; log:\n{log}");
    assert!(log.contains("engine drained"), "{log}");

    // A new worker finishes the day: each run bought exactly once.
    let all = i64::try_from(seeded.len()).expect("n");
    let worker = start_worker(&app, &url, at + Duration::seconds(30), "drain-worker-2", 8);
    set_exchange_clock(&url, at + Duration::seconds(30)).await;
    let done = all_finished(&app, date, all, 600).await;
    worker.kill();
    assert!(
        done,
        "runs unfinished after the restart; log:\n{}",
        worker_log(&app, "drain-worker-2")
    );
    assert_exactly_once(&app, &seeded, 1, 2, Decimal::from(10)).await;
}
