use crate::helpers::spawn_app;
use dripfeed::domain::legal::DISCLAIMER;

const PAGES: &[&str] = &[
    "/",
    "/pricing",
    "/terms",
    "/whats-new",
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

/// The server-rendered `<header>` of a page: what a browser shows before any
/// script runs.
fn header_of(body: &str) -> &str {
    let start = body.find("<header").expect("a header");
    let end = body[start..].find("</header>").expect("the header's end");
    &body[start..start + end]
}

#[tokio::test]
async fn the_header_is_rendered_on_the_server_for_whoever_is_asking() {
    let app = spawn_app().await;

    // Signed out: what a visitor can do, nothing that needs an account.
    let body = app.get("/").await.text().await.expect("body");
    let nav = header_of(&body);
    for link in ["href=\"/pricing\"", "href=\"/login\"", "href=\"/signup\""] {
        assert!(
            nav.contains(link),
            "signed out, the header lacks {link}: {nav}"
        );
    }
    for link in [
        "href=\"/dashboard\"",
        "href=\"/plans\"",
        "href=\"/billing\"",
        "Log out",
    ] {
        assert!(
            !nav.contains(link),
            "signed out, the header offers {link}: {nav}"
        );
    }

    // Signed in: the app's pages, who is signed in, and Log out; no Admin.
    app.sign_up(&app.client, "header@example.com")
        .await
        .expect("sign-up");
    let body = app.get("/pricing").await.text().await.expect("body");
    let nav = header_of(&body);
    for link in [
        "href=\"/dashboard\"",
        "href=\"/plans\"",
        "href=\"/history\"",
        "href=\"/brokerage\"",
        "href=\"/notifications\"",
        "href=\"/billing\"",
        "header@example.com",
        "Log out",
    ] {
        assert!(
            nav.contains(link),
            "signed in, the header lacks {link}: {nav}"
        );
    }
    for link in [
        "href=\"/login\"",
        "href=\"/signup\"",
        "href=\"/admin/users\"",
        "unread-count",
    ] {
        assert!(
            !nav.contains(link),
            "signed in, the header offers {link}: {nav}"
        );
    }

    // Two unread notifications are counted; an admin also gets Admin.
    let user = app
        .store
        .user_by_email("header@example.com")
        .await
        .expect("lookup")
        .expect("the user");
    for title in ["one", "two"] {
        app.store
            .insert_notification(user.id, "test", title, "body", None)
            .await
            .expect("a notification");
    }
    app.execute_sql("UPDATE users SET role = 'admin' WHERE email = 'header@example.com'")
        .await;
    let body = app.get("/").await.text().await.expect("body");
    let nav = header_of(&body);
    assert!(nav.contains("href=\"/admin/users\""), "{nav}");
    let count = nav
        .split("data-testid=\"unread-count\"")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .map(|(_, text)| text)
        .unwrap_or_else(|| panic!("no unread count in {nav}"));
    assert!(count.starts_with("2<"), "{count}");
}

#[tokio::test]
async fn whats_new_shows_the_release_notes_newest_first_and_every_footer_links_to_it() {
    let app = spawn_app().await;
    let releases = dripfeed::server::changelog::releases();
    let body = app.get("/whats-new").await.text().await.expect("body");
    let newest = body.find(&releases[0].heading).expect("the newest release");
    let older = body.find(&releases[1].heading).expect("an older release");
    assert!(newest < older, "newest first");
    // Rendered, not shown as Markdown.
    assert!(body.contains("<strong>Performance</strong>"), "{body}");
    let home = app.get("/").await.text().await.expect("body");
    assert!(home.contains(r#"href="/whats-new""#));
}
