//! The browser bundle's file names, and how long browsers may keep each file.
//!
//! `.ci/site.sh` names the JS, WASM and CSS after a hash of their content and
//! writes `assets.json` in the site folder naming them, next to brotli and gzip
//! copies of every text file. A name that changes whenever its content does can
//! be cached for a year without asking again; everything else (pages, server
//! functions, unhashed public files) must be revalidated on every use.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

/// For files whose name carries a hash of their content.
pub const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// For everything else: pages are personal and always asked for afresh.
pub const REVALIDATE: HeaderValue = HeaderValue::from_static("private, no-cache");

/// The bundle's names, as `.ci/site.sh` recorded them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Assets {
    /// The JS glue and the WASM, without their extensions (`dripfeed.<hash>`).
    pub bundle: String,
    /// The stylesheet (`dripfeed.<hash>.css`).
    pub css: String,
    /// The charting library, uPlot from npm (`uplot.<hash>.js`), which only
    /// the Backtest page loads.
    pub chart: String,
    /// Whether the names carry content hashes (there was a manifest).
    #[serde(skip, default = "hashed")]
    pub hashed: bool,
}

fn hashed() -> bool {
    true
}

impl Assets {
    /// The unhashed names the build writes without fingerprinting (a server
    /// run without a built site, as in the integration tests).
    pub fn unhashed(name: &str) -> Self {
        Self {
            bundle: name.to_owned(),
            css: format!("{name}.css"),
            chart: "uplot.js".to_owned(),
            hashed: false,
        }
    }

    /// The names `site_root/assets.json` records; the unhashed names when the
    /// site was built without one. A manifest that does not read, or that
    /// names anything but plain file names, is an error.
    pub fn load(site_root: &Path, name: &str) -> anyhow::Result<Arc<Self>> {
        let path = site_root.join("assets.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::info!(path = %path.display(), "no asset manifest: the bundle is served under unhashed names and revalidated");
                return Ok(Arc::new(Self::unhashed(name)));
            }
            Err(e) => return Err(anyhow::anyhow!("reading {}: {e}", path.display())),
        };
        let assets: Self = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} does not read: {e}", path.display()))?;
        let plain = |n: &str| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                && !n.starts_with('.')
        };
        if !plain(&assets.bundle) || !plain(&assets.css) || !plain(&assets.chart) {
            anyhow::bail!("{} names a file outside the bundle folder", path.display());
        }
        Ok(Arc::new(assets))
    }

    /// The stylesheet's URL.
    pub fn css_href(&self, pkg_dir: &str) -> String {
        format!("/{pkg_dir}/{}", self.css)
    }

    /// The charting library's URL.
    pub fn chart_src(&self, pkg_dir: &str) -> String {
        format!("/{pkg_dir}/{}", self.chart)
    }

    /// Whether `file` (a name in the bundle folder) is one of the hashed files.
    pub fn is_fingerprinted(&self, file: &str) -> bool {
        if !self.hashed {
            return false;
        }
        let file = file
            .strip_suffix(".br")
            .or_else(|| file.strip_suffix(".gz"))
            .unwrap_or(file);
        file == self.css
            || file == self.chart
            || file
                .strip_prefix(self.bundle.as_str())
                .is_some_and(|ext| ext == ".js" || ext == ".wasm")
    }
}

/// Middleware for the bundle folder: a year for the fingerprinted files that
/// were found, revalidation for anything else, and `Vary: accept-encoding`.
pub async fn cache_control(
    State(assets): State<Arc<Assets>>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let file = req
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut res = next.run(req).await;
    let keep = res.status().is_success() && assets.is_fingerprinted(&file);
    let headers = res.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        if keep { IMMUTABLE } else { REVALIDATE },
    );
    // The same URL answers brotli, gzip or plain bytes by Accept-Encoding, so
    // caches in between must keep the copies apart (ServeDir does not say so).
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(manifest: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        if let Some(m) = manifest {
            std::fs::write(dir.path().join("assets.json"), m).expect("manifest");
        }
        dir
    }

    #[test]
    fn the_manifest_names_the_bundle_and_only_those_names_are_kept_for_a_year() {
        let dir = site(Some(
            r#"{"bundle":"dripfeed.0123456789abcdef","css":"dripfeed.fedcba9876543210.css","chart":"uplot.00112233aabbccdd.js"}"#,
        ));
        let a = Assets::load(dir.path(), "dripfeed").expect("reads");
        assert!(a.hashed);
        assert_eq!(a.css_href("pkg"), "/pkg/dripfeed.fedcba9876543210.css");
        for kept in [
            "dripfeed.0123456789abcdef.js",
            "dripfeed.0123456789abcdef.wasm",
            "dripfeed.0123456789abcdef.wasm.br",
            "dripfeed.fedcba9876543210.css.gz",
            "uplot.00112233aabbccdd.js.br",
        ] {
            assert!(a.is_fingerprinted(kept), "{kept}");
        }
        for fresh in [
            "dripfeed.js",
            "dripfeed.0123456789abcdef.json",
            "dripfeed.wasm",
            "other.css",
            "uplot.js",
        ] {
            assert!(!a.is_fingerprinted(fresh), "{fresh}");
        }
    }

    #[test]
    fn without_a_manifest_nothing_is_immutable() {
        let dir = site(None);
        let a = Assets::load(dir.path(), "dripfeed").expect("reads");
        assert_eq!(*a, Assets::unhashed("dripfeed"));
        assert!(!a.is_fingerprinted("dripfeed.wasm"));
        assert_eq!(a.css_href("pkg"), "/pkg/dripfeed.css");
    }

    #[test]
    fn a_damaged_manifest_is_an_error_not_a_guess() {
        for bad in [
            "not json",
            r#"{"bundle":"dripfeed.1"}"#,
            r#"{"bundle":"../../etc/passwd","css":"a.css"}"#,
            r#"{"bundle":"dripfeed.1","css":""}"#,
            r#"{"bundle":"dripfeed.1","css":"a.css","chart":"../uplot.js"}"#,
        ] {
            let dir = site(Some(bad));
            assert!(Assets::load(dir.path(), "dripfeed").is_err(), "{bad}");
        }
    }
}
