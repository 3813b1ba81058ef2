//! Many users, each with a demo account and one plan, all due at the same
//! minute: for the engine's process tests and its benchmark. Goes through the
//! same use cases as the web app (connect the demo account, create a plan,
//! with their validation and broker checks); only the sign-up form is
//! skipped, since hashing hundreds of passwords proves nothing here.

use dripfeed::api::plans::{LegInput, PlanInput};
use dripfeed::domain::legal::TERMS_VERSION;
use dripfeed::domain::plan::Mode;
use dripfeed::domain::schedule::{Cadence, TimeOfDay};
use dripfeed::server::auth::{ClientInfo, CurrentUser};
use dripfeed::server::db::users::NewUser;
use dripfeed::server::state::AppState;
use dripfeed::server::{connections, plans};

/// One seeded user and plan.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub connection_id: i64,
    pub plan_id: i64,
}

/// Creates users `{prefix}-{i}@example.com` for i in `range`, each with its own
/// demo account and a plan buying `legs` every trading day at 10:00 New York
/// time, `concurrency` at a time.
pub async fn daily_plans(
    state: &AppState,
    prefix: &str,
    range: std::ops::Range<usize>,
    legs: &[(&str, &str)],
    concurrency: usize,
) -> anyhow::Result<Vec<Seeded>> {
    let legs: Vec<LegInput> = legs
        .iter()
        .map(|(s, a)| LegInput {
            symbol: (*s).into(),
            amount: (*a).into(),
            weight: None,
        })
        .collect();
    let mut out = Vec::with_capacity(range.len());
    let mut tasks = tokio::task::JoinSet::new();
    for i in range {
        if tasks.len() >= concurrency.max(1)
            && let Some(done) = tasks.join_next().await
        {
            out.push(done??);
        }
        let state = state.clone();
        let email = format!("{prefix}-{i}@example.com");
        let legs = legs.clone();
        tasks.spawn(async move { one(&state, &email, legs).await });
    }
    while let Some(done) = tasks.join_next().await {
        out.push(done??);
    }
    out.sort_by_key(|s| s.plan_id);
    Ok(out)
}

async fn one(state: &AppState, email: &str, legs: Vec<LegInput>) -> anyhow::Result<Seeded> {
    let now = chrono::Utc::now();
    let user_id = state
        .store
        .insert_user(&NewUser {
            email,
            email_normalized: email,
            // Not a valid hash: nobody signs in as a seeded user.
            password_hash: "seeded",
            role: "user",
            terms_version: TERMS_VERSION,
            terms_accepted_at: now,
        })
        .await
        .map_err(|e| anyhow::anyhow!("insert user {email}: {e:?}"))?;
    let user = CurrentUser {
        id: user_id,
        email: email.to_owned(),
        is_admin: false,
        time_zone: "America/New_York".into(),
    };
    demo_and_plan(state, &user, legs).await
}

/// Connects `user`'s demo account and gives them a plan buying `legs` every
/// trading day at 10:00 New York time.
pub async fn demo_and_plan(
    state: &AppState,
    user: &CurrentUser,
    legs: Vec<LegInput>,
) -> anyhow::Result<Seeded> {
    let email = &user.email;
    let client = ClientInfo::default();
    let connection_id = connections::connect_demo(state, user, &client)
        .await
        .map_err(|e| anyhow::anyhow!("connect {email}: {e}"))?;
    let input = PlanInput {
        name: "Daily".into(),
        connection_id,
        legs,
        cadence: Cadence::Daily,
        time: TimeOfDay::Local(
            chrono::NaiveTime::from_hms_opt(10, 0, 0).ok_or_else(|| anyhow::anyhow!("time"))?,
        ),
        time_zone: "America/New_York".into(),
        start_date: String::new(),
        end_date: None,
        max_total: None,
        mode: Mode::Pure,
        per_run_total: None,
        catch_up_minutes: None,
    };
    let plan_id = plans::create(state, user, &client, input)
        .await
        .map_err(|e| anyhow::anyhow!("plan for {email}: {e}"))?;
    Ok(Seeded {
        connection_id,
        plan_id,
    })
}
