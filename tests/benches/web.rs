//! Web throughput and latency, and the server's memory (issue #19).
//!
//! Serves the app in this process (release build, SQLite, the embedded
//! exchange, no engine), measures its resident memory idle, then loads it
//! with 10,000 users with a plan each and 1,000 signed-in sessions and
//! measures again. Then `oha` (crates.io; `.ci/tools.sh bench` builds it)
//! drives three targets in the same run, each for `--seconds`:
//!
//! - a bare route: `GET /healthz` (no session, no database);
//! - one server function: `POST list_plans` as a signed-in user;
//! - the dashboard: `GET /dashboard` server-rendered as that user (with
//!   their account from the exchange, their plans and performance).
//!
//! each at saturation (`--connections` at once) for requests/s, and at a
//! fixed 300 requests/s for p50 and p99. The dashboard's throughput is also
//! given as a share of the bare route's, measured minutes apart on the same
//! machine.
//!
//! ```text
//! cargo bench --features ssr --bench web          # `make bench-web` builds oha first
//! cargo bench --features ssr --bench web -- --seconds 10 --connections 16 --plans 10000 --sessions 1000
//! ```

#[path = "../support/seed.rs"]
mod seed;

use dripfeed::api::auth::SignUp;
use dripfeed::api::plans::{LegInput, ListPlans};
use dripfeed::domain::legal::DISCLAIMER;
use dripfeed::server::auth::CurrentUser;
use dripfeed::server::config::Settings;
use dripfeed::server::startup::Application;
use leptos::server_fn::ServerFn;
use serde_json::Value;
use std::time::Instant;

struct Args {
    seconds: u64,
    connections: usize,
    plans: usize,
    sessions: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args {
        seconds: 10,
        connections: 16,
        plans: 10_000,
        sessions: 1_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || -> anyhow::Result<String> {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--seconds" => out.seconds = value()?.parse()?,
            "--connections" => out.connections = value()?.parse()?,
            "--plans" => out.plans = value()?.parse()?,
            "--sessions" => out.sessions = value()?.parse()?,
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

/// This process's resident memory now and at its peak, in MB.
fn rss() -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| anyhow::anyhow!("no {name} in /proc/self/status"))?;
        let kb: f64 = line
            .split_whitespace()
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("{line}"))?
            .parse()?;
        Ok(kb / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// The session cookie a response set.
fn session(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("dripfeed_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

async fn sign_up(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    ip: &str,
) -> anyhow::Result<String> {
    let response = http
        .post(format!("{base}{}", SignUp::PATH))
        .header("origin", base)
        .header("accept", "application/json")
        .header("x-forwarded-for", ip)
        .form(&[
            ("email", email),
            ("password", "violet tractor harbour 42"),
            ("accept_terms", "on"),
        ])
        .send()
        .await?;
    let cookie = session(&response);
    anyhow::ensure!(
        response.status().is_success(),
        "sign-up {email}: {} {}",
        response.status(),
        response.text().await?
    );
    cookie.ok_or_else(|| anyhow::anyhow!("sign-up {email} set no session"))
}

/// One `oha` run; `rate` fixes the request rate (else as fast as it goes).
fn oha(
    url: &str,
    extra: &[&str],
    seconds: u64,
    connections: usize,
    rate: Option<u32>,
) -> anyhow::Result<Value> {
    let mut cmd = std::process::Command::new("oha");
    cmd.args(["--no-tui", "--output-format", "json", "-z"])
        .arg(format!("{seconds}s"))
        .arg("-c")
        .arg(connections.to_string())
        .args(extra);
    if let Some(q) = rate {
        cmd.arg("-q").arg(q.to_string());
    }
    let out = cmd
        .arg(url)
        .output()
        .map_err(|e| anyhow::anyhow!("oha did not run ({e}): `make bench-web` builds it"))?;
    anyhow::ensure!(
        out.status.success(),
        "oha failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout)?;
    // Every answer must be a 200: a benchmark of errors measures nothing.
    let codes = report["statusCodeDistribution"]
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("oha gave no status codes"))?;
    anyhow::ensure!(
        codes.keys().all(|k| k == "200") && !codes.is_empty(),
        "{url} answered {codes:?} (errors: {})",
        report["errorDistribution"]
    );
    Ok(report)
}

struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    rate_p50_ms: f64,
    rate_p99_ms: f64,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut settings = Settings::defaults();
    settings.listen = "127.0.0.1:0".parse()?;
    settings.data_dir = dir.path().to_owned();
    settings.site_root = dir.path().join("site");
    settings.engine = false;
    settings.log = "error".into();
    // The sessions' sign-ups come from as many addresses, through a proxy
    // on loopback, so the per-address limits see real traffic.
    settings.trusted_proxies = vec!["127.0.0.1".parse()?];
    let app = Application::build(settings).await?;
    let state = app.state().clone();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    // Not following redirects: a signed-out dashboard is a redirect.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    anyhow::ensure!(
        http.get(format!("{base}/healthz")).send().await?.status() == 200,
        "the server answers"
    );
    let (idle, _) = rss()?;

    eprintln!(
        "loading: {} users with a plan each, {} signed-in sessions…",
        args.plans, args.sessions
    );
    let loading = Instant::now();
    let legs = [("VTI", "5")];
    let seeded = seed::daily_plans(&state, "load", 0..args.plans, &legs, 32).await?;
    let accounts: std::collections::HashSet<i64> = seeded.iter().map(|s| s.connection_id).collect();
    anyhow::ensure!(
        accounts.len() == args.plans,
        "every loaded user has their own account"
    );
    let mut sessions = Vec::with_capacity(args.sessions);
    for i in 0..args.sessions {
        let ip = format!("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256);
        sessions.push(sign_up(&http, &base, &format!("session-{i}@example.com"), &ip).await?);
    }
    // The measured user: signed in, a demo account, a plan.
    let cookie = sessions
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("--sessions must be at least 1"))?;
    let row = state
        .store
        .user_by_email("session-0@example.com")
        .await?
        .ok_or_else(|| anyhow::anyhow!("the signed-up user"))?;
    let user = CurrentUser::from(&row);
    let legs: Vec<LegInput> = legs
        .iter()
        .map(|(s, a)| LegInput {
            symbol: (*s).into(),
            amount: (*a).into(),
            weight: None,
        })
        .collect();
    seed::demo_and_plan(&state, &user, legs).await?;
    let (loaded, _) = rss()?;
    eprintln!("loaded in {:.0} s", loading.elapsed().as_secs_f64());

    let dashboard = http
        .get(format!("{base}/dashboard"))
        .header("cookie", &cookie)
        .send()
        .await?;
    anyhow::ensure!(
        dashboard.status() == 200,
        "the dashboard renders for the signed-in user: {}",
        dashboard.status()
    );
    anyhow::ensure!(
        dashboard.text().await?.contains(DISCLAIMER),
        "the dashboard carries the disclaimer"
    );

    let cookie_header = format!("cookie: {cookie}");
    let origin = format!("origin: {base}");
    let list_plans = format!("{base}{}", ListPlans::PATH);
    let targets: [(&str, String, Vec<&str>); 3] = [
        (
            "bare route (GET /healthz)",
            format!("{base}/healthz"),
            vec![],
        ),
        (
            "server function (POST list_plans, signed in)",
            list_plans,
            vec![
                "-m",
                "POST",
                "-H",
                &cookie_header,
                "-H",
                &origin,
                "-H",
                "accept: application/json",
                "-T",
                "application/x-www-form-urlencoded",
                "-d",
                "",
            ],
        ),
        (
            "dashboard (GET /dashboard, signed in, server-rendered)",
            format!("{base}/dashboard"),
            vec!["-H", &cookie_header],
        ),
    ];
    let seconds = args.seconds;
    let connections = args.connections;
    let mut figures = Vec::new();
    for (name, url, extra) in &targets {
        eprintln!("measuring {name}…");
        let (saturated, fixed) = tokio::task::block_in_place(|| -> anyhow::Result<_> {
            Ok((
                oha(url, extra, seconds, connections, None)?,
                oha(url, extra, seconds, connections, Some(300))?,
            ))
        })?;
        let ms =
            |r: &Value, p: &str| r["latencyPercentiles"][p].as_f64().unwrap_or(f64::NAN) * 1000.0;
        figures.push(Figures {
            rps: saturated["summary"]["requestsPerSec"]
                .as_f64()
                .unwrap_or(f64::NAN),
            p50_ms: ms(&saturated, "p50"),
            p99_ms: ms(&saturated, "p99"),
            rate_p50_ms: ms(&fixed, "p50"),
            rate_p99_ms: ms(&fixed, "p99"),
        });
    }
    let (_, peak) = rss()?;

    println!(
        "| target | requests/s at saturation ({connections} connections) | p50 / p99 at saturation | p50 / p99 at 300 req/s |"
    );
    println!("|---|---|---|---|");
    for ((name, _, _), f) in targets.iter().zip(&figures) {
        println!(
            "| {name} | {:.0} | {:.1} / {:.1} ms | {:.1} / {:.1} ms |",
            f.rps, f.p50_ms, f.p99_ms, f.rate_p50_ms, f.rate_p99_ms
        );
    }
    let share = figures[2].rps / figures[0].rps;
    let p99 = figures[2].rate_p99_ms;
    println!(
        "dashboard throughput: {:.0} % of the bare route's ({}); dashboard p99 at 300 req/s: {p99:.1} ms ({})",
        share * 100.0,
        if share >= 0.30 {
            "meets the 30 % target"
        } else {
            "UNDER the 30 % target"
        },
        if p99 <= 25.0 {
            "within the 25 ms target"
        } else {
            "OVER the 25 ms target"
        },
    );
    println!(
        "memory (resident): idle {idle:.0} MB ({}); with {} plans and {} sessions {loaded:.0} MB ({}); peak under load {peak:.0} MB",
        if idle <= 80.0 {
            "within 80 MB"
        } else {
            "OVER 80 MB"
        },
        args.plans,
        args.sessions,
        if loaded <= 300.0 {
            "within 300 MB"
        } else {
            "OVER 300 MB"
        },
    );
    Ok(())
}
