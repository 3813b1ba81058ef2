//! Every failed server function answers with its error's own HTTP status,
//! the JSON body unchanged, so monitoring and API clients can tell a refusal
//! from a fault.

use crate::helpers::{browser_like_client, spawn_app};
use dripfeed::api::auth::{LogIn, Whoami};
use dripfeed::api::plans::GetPlan;
use dripfeed::error::AppError;
use leptos::server_fn::ServerFn;

/// Status, `Retry-After` and the decoded error of one failed call.
async fn refusal(response: reqwest::Response) -> (u16, Option<String>, AppError) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let body = response.text().await.expect("body");
    let error: AppError = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, retry_after, error)
}

#[tokio::test]
async fn each_refusal_has_its_own_status_and_the_same_json_body() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();

    // Someone else's (or no) plan: 404.
    let (status, _, error) =
        refusal(app.call_server_fn(GetPlan::PATH, &[("id", "999999")]).await).await;
    assert_eq!((status, error), (404, AppError::NotFound));

    // Not signed in: 401.
    let visitor = browser_like_client(&app.address);
    let (status, _, error) = refusal(
        app.call_server_fn_as(&visitor, GetPlan::PATH, &[("id", "1")])
            .await,
    )
    .await;
    assert_eq!((status, error), (401, AppError::Unauthenticated));

    // A wrong password is bad input (422) until the limit is reached: 429
    // with Retry-After.
    let guess = [
        ("email", "ann@example.com"),
        ("password", "not my password"),
    ];
    for _ in 0..5 {
        let (status, _, error) =
            refusal(app.call_server_fn_as(&visitor, LogIn::PATH, &guess).await).await;
        assert_eq!(status, 422);
        assert!(matches!(error, AppError::Invalid(_)));
    }
    let (status, retry_after, error) =
        refusal(app.call_server_fn_as(&visitor, LogIn::PATH, &guess).await).await;
    assert_eq!(status, 429);
    let AppError::TooManyRequests { retry_after_secs } = error else {
        panic!("expected a rate limit, got {error:?}");
    };
    assert_eq!(retry_after, Some(retry_after_secs.to_string()));

    // A body far over any form's size: 413, and the app serves others.
    let huge = "x".repeat(8 * 1024 * 1024);
    let response = app
        .client
        .post(app.url(LogIn::PATH))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email=a%40b.co&password={huge}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 413);
    let me = app.call_server_fn(Whoami::PATH, &[]).await;
    assert_eq!(me.status().as_u16(), 200);
}

#[tokio::test]
async fn a_plain_form_post_that_fails_still_goes_back_to_its_page() {
    let app = spawn_app().await;
    app.sign_up(&app.client, "ann@example.com").await.unwrap();
    let visitor = browser_like_client(&app.address);
    let response = visitor
        .post(app.url(LogIn::PATH))
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&[("email", "ann@example.com"), ("password", "wrong")])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().expect("ascii");
    assert!(location.starts_with(&app.url("/login")), "{location}");
}
