//! A user with the demo account connected, and DCA plans created, listed and
//! paused through the same server functions the pages call.

use super::{TestApp, browser_like_client, outcome};
use chrono::Weekday;
use claims::assert_ok;
use dripfeed::api::broker::{BrokerageOverview, BrokerageSummary, ConnectDemoAccount};
use dripfeed::api::plans::{CreatePlan, LegInput, ListPlans, PlanInput, PlanSummary};
use dripfeed::domain::plan::Mode;
use dripfeed::domain::schedule::{Cadence, TimeOfDay};
use dripfeed::error::AppError;
use leptos::server_fn::ServerFn;

/// A weekly plan (Mondays at 10:00 New York time) buying `legs` (symbol,
/// dollars) on `connection_id`.
pub fn weekly(connection_id: i64, legs: &[(&str, &str)]) -> PlanInput {
    PlanInput {
        name: "Core ETFs".into(),
        connection_id,
        legs: legs
            .iter()
            .map(|(s, a)| LegInput {
                symbol: (*s).into(),
                amount: (*a).into(),
                weight: None,
            })
            .collect(),
        cadence: Cadence::Weekly {
            weekday: Weekday::Mon,
        },
        time: TimeOfDay::Local(chrono::NaiveTime::from_hms_opt(10, 0, 0).expect("time")),
        time_zone: "America/New_York".into(),
        start_date: String::new(),
        end_date: None,
        max_total: None,
        mode: Mode::Pure,
        per_run_total: None,
        catch_up_minutes: None,
    }
}

impl TestApp {
    /// A signed-in user with the demo account connected, and its connection id.
    pub async fn user_with_demo(&self, email: &str) -> (reqwest::Client, i64) {
        let client = browser_like_client(&self.address);
        assert_ok!(self.sign_up(&client, email).await);
        assert_ok!(
            outcome(
                self.call_server_fn_as(&client, ConnectDemoAccount::PATH, &[])
                    .await
            )
            .await
        );
        let body = outcome(
            self.call_server_fn_as(&client, BrokerageOverview::PATH, &[])
                .await,
        )
        .await
        .expect("overview");
        let o: BrokerageSummary = serde_json::from_str(&body).expect("JSON");
        (client, o.connections[0].id)
    }

    pub async fn create_plan(
        &self,
        client: &reqwest::Client,
        input: PlanInput,
    ) -> Result<i64, AppError> {
        outcome(
            self.call_json_server_fn_as(client, CreatePlan::PATH, &CreatePlan { input })
                .await,
        )
        .await
        .map(|body| serde_json::from_str(&body).expect("JSON"))
    }

    /// The plans list `client` sees.
    pub async fn list_plans(&self, client: &reqwest::Client) -> Vec<PlanSummary> {
        let body = outcome(self.call_server_fn_as(client, ListPlans::PATH, &[]).await)
            .await
            .expect("plans");
        serde_json::from_str(&body).expect("JSON")
    }

    /// Pauses, resumes or stops plan `id` through the server function at `path`.
    pub async fn status_change(
        &self,
        client: &reqwest::Client,
        path: &str,
        id: i64,
    ) -> Result<String, AppError> {
        outcome(
            self.call_server_fn_as(client, path, &[("id", &id.to_string())])
                .await,
        )
        .await
    }
}
