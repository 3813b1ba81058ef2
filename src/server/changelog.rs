//! Release notes: `public/changelog.md`, kept in the repository and compiled
//! in, rendered to HTML (CommonMark) one release per `## ` heading for the
//! "What's new" page.

use crate::dto::catalog::Release;

const CHANGELOG: &str = include_str!("../../public/changelog.md");

/// Each release of `text` (newest first, as written): its heading and its
/// body as HTML. Text before the first `## ` heading (the title) is left out.
pub fn releases_of(text: &str) -> Vec<Release> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            out.extend(current.take().map(render));
            current = Some((heading.trim().to_owned(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out.extend(current.map(render));
    out
}

fn render((heading, body): (String, String)) -> Release {
    let mut html = String::new();
    // Raw HTML in the notes is shown as text, never passed through.
    let events = pulldown_cmark::Parser::new(&body).map(|e| match e {
        pulldown_cmark::Event::Html(t) | pulldown_cmark::Event::InlineHtml(t) => {
            pulldown_cmark::Event::Text(t)
        }
        other => other,
    });
    pulldown_cmark::html::push_html(&mut html, events);
    Release { heading, html }
}

/// This build's release notes.
pub fn releases() -> Vec<Release> {
    releases_of(CHANGELOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_heading_is_a_release_with_its_body_rendered_and_raw_html_escaped() {
        let text = "# Title\n\nintro\n\n## 2 — New\n\n- **bold** item\n- <script>x</script>\n\n## 1 — Old\n\nplain `code`\n";
        let r = releases_of(text);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].heading, "2 — New");
        assert!(
            r[0].html.contains("<li><strong>bold</strong> item</li>"),
            "{}",
            r[0].html
        );
        assert!(!r[0].html.contains("<script>"), "{}", r[0].html);
        assert!(r[0].html.contains("&lt;script&gt;"), "{}", r[0].html);
        assert_eq!(r[1].html, "<p>plain <code>code</code></p>\n");
    }

    #[test]
    fn the_shipped_changelog_has_releases_newest_first() {
        let r = releases();
        assert!(r.len() >= 4);
        assert!(
            r[0].heading > r[1].heading,
            "newest first: {:?}",
            r[0].heading
        );
    }
}
