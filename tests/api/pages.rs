use crate::helpers::spawn_app;
use dripfeed::domain::legal::DISCLAIMER;

const PAGES: &[&str] = &[
    "/",
    "/pricing",
    "/terms",
    "/brokerage",
    "/dashboard",
    "/plans",
    "/plans/new",
    "/history",
    "/notifications",
    "/no/such/page",
];

#[tokio::test]
async fn every_page_carries_the_disclaimer() {
    let app = spawn_app().await;

    for path in PAGES {
        let body = app.get(path).await.text().await.expect("body");
        assert!(body.contains(DISCLAIMER), "{path} lacks the disclaimer");
    }
}

#[tokio::test]
async fn pages_load_the_hydration_bundle() {
    let app = spawn_app().await;

    for path in PAGES {
        let body = app.get(path).await.text().await.expect("body");
        assert!(
            body.contains("/pkg/dripfeed.js"),
            "{path} does not load the WASM bundle"
        );
    }
}

#[tokio::test]
async fn known_pages_answer_200_with_their_own_content() {
    let app = spawn_app().await;

    for (path, heading) in [
        ("/", "Invest a little, on schedule"),
        ("/pricing", "Pricing"),
        ("/terms", "Terms of Service"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let body = response.text().await.expect("body");
        assert!(body.contains(heading), "{path} lacks {heading:?}");
    }
}

#[tokio::test]
async fn an_unknown_address_is_a_404_page_with_navigation_back() {
    let app = spawn_app().await;

    let response = app.get("/no/such/page").await;

    assert_eq!(response.status(), 404);
    let body = response.text().await.expect("body");
    assert!(body.contains("Page not found"));
    assert!(body.contains(r#"href="/""#));
}

#[tokio::test]
async fn the_terms_show_their_version() {
    let app = spawn_app().await;

    let body = app.get("/terms").await.text().await.expect("body");

    assert!(body.contains(dripfeed::domain::legal::TERMS_VERSION));
}
