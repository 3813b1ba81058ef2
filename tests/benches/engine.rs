//! Engine throughput: N plans (default 10,000), each on its own demo account,
//! all due in the same minute, with broker latency (default 50 ms) on every
//! request. Reports the time from the slot to the last submission and the
//! orders per second, and checks that every run bought exactly once.
//!
//! ```text
//! cargo bench --features ssr --bench engine                       # SQLite
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench --features ssr --bench engine                     # PostgreSQL
//! cargo bench --features ssr --bench engine -- --plans 2000 --latency-ms 50 --concurrency 256
//! BENCH_DATABASE_URL=postgres://… cargo bench --features ssr --bench engine -- --plans 50000 --instances 3
//! ```
//!
//! `--instances N` (PostgreSQL only: SQLite runs one engine per database)
//! runs N engines at the slot, each with its own connection pool and name in
//! the claims, as N processes sharing the database would; they share this
//! process's two cores with the exchange and the database server.
//!
//! The engine passes once just before the slot (as a running engine does,
//! learning each plan's next run), then once at the slot instant. The figure
//! is from the slot to the last order's arrival at the exchange, read from the
//! exchange's own clock (which runs in real time from the slot); a running
//! engine starts that pass within `DRIPFEED_ENGINE_INTERVAL_SECS` (5 s) of it.

#[path = "../support/seed.rs"]
mod seed;

use chrono::{DateTime, Duration, TimeZone, Utc};
use dripfeed::server::broker::exchange::{Exchange, KeyPolicy, http as exchange_http};
use dripfeed::server::config::Settings;
use dripfeed::server::db::Store;
use dripfeed::server::engine::Engine;
use dripfeed::server::startup::Application;
use secrecy::SecretString;
use sqlx::Connection;
use std::time::Instant;

struct Args {
    plans: usize,
    latency_ms: u64,
    concurrency: usize,
    instances: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args {
        plans: 10_000,
        latency_ms: 50,
        concurrency: 256,
        instances: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || -> anyhow::Result<String> {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--plans" => out.plans = value()?.parse()?,
            "--latency-ms" => out.latency_ms = value()?.parse()?,
            "--concurrency" => out.concurrency = value()?.parse()?,
            "--instances" => out.instances = value()?.parse()?,
            // `cargo bench` passes `--bench`; anything else is a mistake.
            "--bench" => {}
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (url, postgres) = match std::env::var("BENCH_DATABASE_URL") {
        Ok(admin) if admin.starts_with("postgres") => {
            let name = format!("dripfeed_bench_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
                .execute(&mut conn)
                .await?;
            let mut url = url::Url::parse(&admin)?;
            url.set_path(&format!("/{name}"));
            (url.to_string(), Some((admin, name)))
        }
        _ => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
    };
    let backend = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let result = bench(&args, &url, dir.path(), backend).await;
    if let Some((admin, name)) = postgres {
        let mut conn = sqlx::PgConnection::connect(&admin).await?;
        sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
            .execute(&mut conn)
            .await?;
    }
    result
}

async fn bench(
    args: &Args,
    url: &str,
    data_dir: &std::path::Path,
    backend: &str,
) -> anyhow::Result<()> {
    // The demo exchange on its own port, every plan's account on it.
    let exchange = Exchange::open(None, KeyPolicy::OpenOnFirstUse)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let exchange_url = format!("http://{}", listener.local_addr()?);
    let router = exchange_http::router(
        exchange.clone(),
        exchange_http::Extras {
            oauth_fake: None,
            control: None,
        },
    );
    tokio::spawn(async move { axum::serve(listener, router).await });

    // Monday 23 November 2026, 10:00 in New York.
    let slot: DateTime<Utc> = chrono_tz::America::New_York
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("slot time"))?
        .with_timezone(&Utc);
    let created = slot - Duration::hours(1);
    exchange.set_clock(created, 0);

    let mut settings = Settings::defaults();
    settings.listen = "127.0.0.1:0".parse()?;
    settings.data_dir = data_dir.to_owned();
    settings.database_url = Some(SecretString::from(url.to_owned()));
    settings.demo_exchange_url = Some(exchange_url.parse()?);
    settings.exchange_clock = Some(created);
    settings.exchange_speed = 0;
    settings.engine = false;
    settings.engine_concurrency = args.concurrency;
    settings.db_max_connections = 20;
    settings.log = "error".into();
    let store = Store::connect(&SecretString::from(url.to_owned()), 20).await?;
    store.migrate().await?;
    anyhow::ensure!(
        args.instances >= 1 && (backend != "SQLite" || args.instances == 1),
        "--instances above 1 needs PostgreSQL (SQLite runs one engine per database)"
    );
    let app = Application::build_with_store(settings.clone(), store.clone()).await?;
    let state = app.state().clone();

    eprintln!(
        "seeding {} users, accounts and plans on {backend}…",
        args.plans
    );
    let seeding = Instant::now();
    let seeded = seed::daily_plans(&state, "bench", 0..args.plans, &[("VTI", "5")], 32).await?;
    eprintln!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    let accounts: std::collections::HashSet<i64> = seeded.iter().map(|s| s.connection_id).collect();
    let plans: std::collections::HashSet<i64> = seeded.iter().map(|s| s.plan_id).collect();
    anyhow::ensure!(
        accounts.len() == args.plans && plans.len() == args.plans,
        "every plan on its own account"
    );

    // A running engine has passed before the slot and knows each plan's next
    // run; this pass (nothing is due yet) puts the plans in that state.
    let engine = Engine::new(state.clone(), "bench-1");
    let warm = engine.tick(slot - Duration::minutes(1)).await?;
    // The other instances: their own pools and names, the same database.
    let mut engines = vec![engine];
    for i in 2..=args.instances {
        let store = Store::connect(&SecretString::from(url.to_owned()), 20).await?;
        let app = Application::build_with_store(settings.clone(), store).await?;
        engines.push(Engine::new(app.state().clone(), format!("bench-{i}")));
    }
    anyhow::ensure!(warm.materialised == 0, "nothing is due before the slot");

    exchange.faults().latency = std::time::Duration::from_millis(args.latency_ms);
    // From here the exchange's clock runs in real time from the slot, so
    // each order's creation time says when it arrived.
    exchange.set_clock(slot, 1);
    let started = Instant::now();
    let passes: Vec<_> = engines
        .iter()
        .map(|e| {
            let e = e.clone();
            tokio::spawn(async move { e.tick(slot).await })
        })
        .collect();
    let mut reports = Vec::new();
    for pass in passes {
        reports.push(pass.await??);
    }
    let pass = started.elapsed().as_secs_f64();
    let last_submission = exchange.with_ledger(|l| {
        l.accounts
            .values()
            .flat_map(|a| a.orders.iter().map(|o| o.created_at))
            .max()
    })?;
    let elapsed = last_submission
        .map(|t| (t - slot).num_milliseconds() as f64 / 1000.0)
        .unwrap_or(f64::NAN);

    // Exactly once: one order per plan at the exchange, each run filled.
    let (orders, distinct) = exchange.with_ledger(|l| {
        let ids: Vec<String> = l
            .accounts
            .values()
            .flat_map(|a| a.orders.iter().map(|o| o.client_order_id.clone()))
            .collect();
        let n = ids.len();
        let set: std::collections::HashSet<String> = ids.into_iter().collect();
        (n, set.len())
    })?;
    let filled: i64 = match &store {
        Store::Sqlite(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM plan_slots WHERE status = 'filled'")
                .fetch_one(p)
                .await?
        }
        Store::Postgres(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM plan_slots WHERE status = 'filled'")
                .fetch_one(p)
                .await?
        }
    };
    let ok = orders == seeded.len()
        && distinct == seeded.len()
        && usize::try_from(filled).unwrap_or(0) == seeded.len();
    // Issue #19's targets: 10,000 plans in 8 s on SQLite and 10 s on
    // PostgreSQL with one instance; 50,000 in 60 s on PostgreSQL with three.
    let target = match (backend, args.instances, seeded.len()) {
        ("SQLite", 1, 10_000) => Some(8.0),
        ("PostgreSQL", 1, 10_000) => Some(10.0),
        ("PostgreSQL", 3, 50_000) => Some(60.0),
        _ => None,
    };
    println!(
        "| {backend} | {} instance(s) | {} plans | {} ms latency | concurrency {} | slot → last submission {elapsed:.1} s | {:.0} orders/s | whole pass (every run filled and notified) {pass:.1} s | {} orders, {} runs filled, {} | {} |",
        args.instances,
        seeded.len(),
        args.latency_ms,
        args.concurrency,
        orders as f64 / elapsed,
        orders,
        filled,
        if ok { "exactly once" } else { "MISMATCH" },
        match target {
            Some(t) if elapsed <= t => format!("within the {t} s target"),
            Some(t) => format!("OVER the {t} s target"),
            None => "no target for this set-up".to_owned(),
        },
    );
    eprintln!("{reports:?}");
    store.close().await;
    anyhow::ensure!(
        ok,
        "not exactly once: {orders} orders ({distinct} distinct), {filled} filled"
    );
    Ok(())
}
