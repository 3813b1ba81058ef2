//! The first visit's transfer: the bundle under content-hashed names, sent
//! precompressed as the browser accepts and kept for a year; pages compressed
//! and asked for afresh every time.

use crate::helpers::{TestApp, spawn_app_configured};
use dripfeed::api::auth::Whoami;
use leptos::server_fn::ServerFn;
use std::path::Path;

const BUNDLE: &str = "dripfeed.0123456789abcdef";
const CSS: &str = "dripfeed.fedcba9876543210.css";
const CHART: &str = "uplot.00112233aabbccdd.js";

/// A built site as `.ci/site.sh` leaves it: hashed names, a manifest, and
/// brotli and gzip copies (their bytes tell which copy was sent).
fn built_site(root: &Path) {
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg folder");
    std::fs::write(
        root.join("assets.json"),
        format!(r#"{{"bundle":"{BUNDLE}","css":"{CSS}","chart":"{CHART}"}}"#),
    )
    .expect("manifest");
    for (file, body) in [
        (format!("{BUNDLE}.wasm"), "wasm: identity"),
        (format!("{BUNDLE}.wasm.br"), "wasm: brotli"),
        (format!("{BUNDLE}.wasm.gz"), "wasm: gzip"),
        (format!("{BUNDLE}.js"), "export default 1;"),
        (CSS.to_owned(), "body{}"),
        (CHART.to_owned(), "var uPlot = 1;"),
        ("unhashed.js".to_owned(), "export default 2;"),
    ] {
        std::fs::write(pkg.join(file), body).expect("bundle file");
    }
}

async fn app_with_site() -> (TestApp, tempfile::TempDir) {
    let site = tempfile::tempdir().expect("temp dir");
    built_site(site.path());
    let root = site.path().to_owned();
    let app = spawn_app_configured(true, move |s| s.site_root = root).await;
    (app, site)
}

async fn get(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(e) = accept_encoding {
        req = req.header("accept-encoding", e);
    }
    req.send().await.expect("request")
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn the_bundle_is_sent_precompressed_as_accepted_and_kept_for_a_year() {
    let (app, _site) = app_with_site().await;
    let wasm = format!("/pkg/{BUNDLE}.wasm");
    for (accepts, encoding, body) in [
        (Some("gzip, deflate, br"), Some("br"), "wasm: brotli"),
        (Some("gzip"), Some("gzip"), "wasm: gzip"),
        (None, None, "wasm: identity"),
    ] {
        let res = get(&app, &wasm, accepts).await;
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "content-encoding"), encoding, "{accepts:?}");
        assert_eq!(header(&res, "content-type"), Some("application/wasm"));
        // Caches between must keep the copies apart.
        assert!(
            header(&res, "vary")
                .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
            "{:?}",
            res.headers()
        );
        assert_eq!(
            header(&res, "cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(res.text().await.unwrap(), body);
    }
    let css = get(&app, &format!("/pkg/{CSS}"), None).await;
    assert_eq!(
        header(&css, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    // A name without a hash may change under the same URL: always revalidated.
    let plain = get(&app, "/pkg/unhashed.js", Some("br")).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, "cache-control"), Some("private, no-cache"));
    let missing = get(&app, "/pkg/dripfeed.0000000000000000.wasm", None).await;
    assert_eq!(missing.status(), 404);
    assert_ne!(
        header(&missing, "cache-control"),
        Some("public, max-age=31536000, immutable"),
        "a missing file must not be cached for a year"
    );
}

#[tokio::test]
async fn pages_link_the_hashed_bundle_are_compressed_and_never_cached_stale() {
    let (app, _site) = app_with_site().await;
    let page = get(&app, "/", None).await;
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "cache-control"), Some("private, no-cache"));
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("/pkg/{BUNDLE}.js")), "{html}");
    assert!(html.contains(&format!("/pkg/{BUNDLE}.wasm")), "{html}");
    assert!(html.contains(&format!("href=\"/pkg/{CSS}\"")), "{html}");

    for (accepts, encoding, magic) in [("br", "br", None), ("gzip", "gzip", Some([0x1f, 0x8b]))] {
        let page = get(&app, "/pricing", Some(accepts)).await;
        assert_eq!(page.status(), 200);
        assert_eq!(header(&page, "content-encoding"), Some(encoding));
        assert!(
            header(&page, "vary")
                .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
            "{:?}",
            page.headers()
        );
        let bytes = page.bytes().await.unwrap();
        if let Some(magic) = magic {
            assert_eq!(bytes[..2], magic);
        }
        assert!(!bytes.windows(5).any(|w| w == b"<html"), "sent as is");
    }

    // Server-function answers stay uncompressed (see `compression` in startup).
    let res = app
        .client
        .post(app.url(Whoami::PATH))
        .header("accept", "application/json")
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(header(&res, "content-encoding"), None);
    assert_eq!(header(&res, "cache-control"), Some("private, no-cache"));
}

#[tokio::test]
async fn without_a_built_manifest_the_bundle_keeps_its_plain_names_and_is_revalidated() {
    let site = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/dripfeed.wasm"), "wasm").unwrap();
    let root = site.path().to_owned();
    let app = spawn_app_configured(true, move |s| s.site_root = root).await;
    let html = get(&app, "/", None).await.text().await.unwrap();
    assert!(
        html.contains("/pkg/dripfeed.wasm") && html.contains("/pkg/dripfeed.css"),
        "{html}"
    );
    let wasm = get(&app, "/pkg/dripfeed.wasm", None).await;
    assert_eq!(header(&wasm, "cache-control"), Some("private, no-cache"));
}
