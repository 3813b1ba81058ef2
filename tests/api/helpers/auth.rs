//! Signing up, in and out, and reading who is signed in, through the same
//! server functions the pages call.

use super::TestApp;
use dripfeed::api::auth::{
    ActivityEntry, FirstSteps, GettingStarted, LogIn, Me, MyActivity, SignUp, Whoami,
};
use dripfeed::error::AppError;
use leptos::server_fn::ServerFn;

pub const PASSWORD: &str = "violet tractor harbour 42";

/// The outcome of a server function call: `Ok(body)` or the `AppError`.
pub async fn outcome(response: reqwest::Response) -> Result<String, AppError> {
    let status = response.status();
    let body = response.text().await.expect("body");
    if status.is_success() || status.is_redirection() {
        Ok(body)
    } else {
        Err(serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{status}: not an AppError ({e}): {body}")))
    }
}

/// The session id a response sets, if it sets one.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("dripfeed_session="))
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or_default()
                .trim_start_matches("dripfeed_session=")
                .to_owned()
        })
}

impl TestApp {
    /// Signs up `email` with [`PASSWORD`] on `client`, accepting the Terms.
    pub async fn sign_up(&self, client: &reqwest::Client, email: &str) -> Result<String, AppError> {
        outcome(
            self.call_server_fn_as(
                client,
                SignUp::PATH,
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("accept_terms", "on"),
                ],
            )
            .await,
        )
        .await
    }

    pub async fn log_in(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> Result<String, AppError> {
        outcome(
            self.call_server_fn_as(
                client,
                LogIn::PATH,
                &[("email", email), ("password", password)],
            )
            .await,
        )
        .await
    }

    /// Who `client` is signed in as, if anyone.
    pub async fn whoami(&self, client: &reqwest::Client) -> Option<Me> {
        let body = outcome(self.call_server_fn_as(client, Whoami::PATH, &[]).await)
            .await
            .expect("whoami never fails");
        serde_json::from_str(&body).expect("JSON")
    }

    /// The signed-in user's own activity log.
    pub async fn activity(&self, client: &reqwest::Client) -> Result<Vec<ActivityEntry>, AppError> {
        outcome(self.call_server_fn_as(client, MyActivity::PATH, &[]).await)
            .await
            .map(|body| serde_json::from_str(&body).expect("JSON"))
    }

    /// The caller's first steps, as the account page and dashboard show them.
    pub async fn first_steps(&self, client: &reqwest::Client) -> FirstSteps {
        let body = outcome(
            self.call_server_fn_as(client, GettingStarted::PATH, &[])
                .await,
        )
        .await
        .expect("first steps");
        serde_json::from_str(&body).expect("JSON")
    }
}
