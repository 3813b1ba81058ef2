//! A line chart drawn by uPlot (`crate::browser::uplot`) over dated (or
//! timed) series,
//! with the same figures as an accessible table behind it (a chart alone
//! tells a screen reader nothing). The page renders and hydrates the same
//! markup; the canvas is drawn after hydration.

use chrono::NaiveDate;
use leptos::prelude::*;
use serde_json::json;

/// Colours that read on light and dark backgrounds alike.
const PALETTE: [&str; 5] = ["#3b82f6", "#22c55e", "#a855f7", "#f97316", "#ef4444"];
const MUTED: &str = "#94a3b8";

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub values: Vec<Option<f64>>,
    /// Drawn dashed and muted (a reference such as the money paid in).
    pub reference: bool,
}

/// How the table shows a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Dollars,
    Percent,
}

fn shown(v: Option<f64>, unit: Unit) -> String {
    match (v, unit) {
        (None, _) => "—".into(),
        // Whole dollars of the chart's f64 copy; exact amounts are in the
        // metrics table and the downloads.
        (Some(v), Unit::Dollars) => format!(
            "{}${}",
            if v < 0.0 { "-" } else { "" },
            crate::domain::money::grouped(v.abs().round() as u64)
        ),
        (Some(v), Unit::Percent) => format!("{v:.1}%"),
    }
}

/// A date's midnight UTC, in UNIX seconds (uPlot's x values).
fn midnight(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp())
}

/// uPlot's options and data for `lines` over `xs` (UNIX seconds), as JSON.
fn spec(title: &str, xs: &[i64], lines: &[Line]) -> (String, String) {
    let mut colour = PALETTE.iter().cycle();
    let mut series = vec![json!({})];
    for l in lines {
        series.push(if l.reference {
            json!({"label": l.name, "stroke": MUTED, "width": 1.5, "dash": [6, 4]})
        } else {
            json!({"label": l.name, "stroke": colour.next(), "width": 2})
        });
    }
    let options = json!({
        "title": title,
        "height": 320,
        "scales": {"x": {"time": true}},
        "series": series,
        "axes": [{}, {"size": 70}],
    });
    let mut data = vec![json!(xs)];
    data.extend(lines.iter().map(|l| json!(l.values)));
    (options.to_string(), json!(data).to_string())
}

#[cfg(feature = "hydrate")]
fn draw(target: web_sys::HtmlDivElement, src: &str, options: String, data: String) {
    crate::browser::uplot::with_uplot(src, move || {
        // The canvas replaces whatever was drawn before (a new report).
        target.set_inner_html("");
        let _ = crate::browser::uplot::draw(&target, &options, &data);
    });
}

#[cfg(not(feature = "hydrate"))]
fn draw<T>(_: T, _: &str, _: String, _: String) {}

#[component]
pub fn LineChart(
    /// The chart's heading, also its accessible name.
    title: String,
    /// Where uPlot is served.
    src: String,
    dates: Vec<NaiveDate>,
    /// Instants (UNIX seconds) to use instead of `dates`, each with how the
    /// table names it (in the reader's zone), for intraday series; the
    /// caller then passes no dates.
    #[prop(optional)]
    times: Option<Vec<(i64, String)>>,
    lines: Vec<Line>,
    unit: Unit,
    /// Which points the table behind the chart lists (month ends, say):
    /// indexes into `times` when given, else into `dates`.
    table_rows: Vec<usize>,
    #[prop(into)] testid: String,
) -> impl IntoView {
    let (xs, labels): (Vec<i64>, Vec<String>) = match times {
        Some(times) => times.into_iter().unzip(),
        None => (
            dates.iter().copied().map(midnight).collect(),
            dates.iter().map(NaiveDate::to_string).collect(),
        ),
    };
    let (options, data) = spec(&title, &xs, &lines);
    let node = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(target) = node.get() {
            draw(target, &src, options.clone(), data.clone());
        }
    });
    let head = lines.iter().map(|l| l.name.clone()).collect::<Vec<_>>();
    view! {
        <figure class="chart" data-testid=testid>
            <div class="chart-canvas" node_ref=node role="img" aria-label=title.clone()></div>
            <details>
                <summary>{format!("{title}: the figures as a table")}</summary>
                <table class="table">
                    <thead><tr>
                        <th scope="col">"Date"</th>
                        {head.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {table_rows.into_iter().filter_map(|i| labels.get(i).map(|l| (i, l.clone()))).map(|(i, label)| view! {
                            <tr>
                                <th scope="row">{label}</th>
                                {lines.iter().map(|l| view! { <td>{shown(l.values.get(i).copied().flatten(), unit)}</td> }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_dollars_grouped_and_percent_to_a_tenth() {
        assert_eq!(shown(Some(1234567.4), Unit::Dollars), "$1,234,567");
        assert_eq!(shown(Some(-950.0), Unit::Dollars), "-$950");
        assert_eq!(shown(Some(-12.345), Unit::Percent), "-12.3%");
        assert_eq!(shown(None, Unit::Percent), "—");
    }

    #[test]
    fn each_line_is_one_uplot_series_after_the_dates() {
        let date = NaiveDate::from_ymd_opt(2024, 1, 2).expect("a date");
        let xs = [midnight(date)];
        let lines = [
            Line {
                name: "Paid in".into(),
                values: vec![Some(100.0)],
                reference: true,
            },
            Line {
                name: "Pure DCA".into(),
                values: vec![None],
                reference: false,
            },
        ];
        let (options, data) = spec("Value", &xs, &lines);
        let options: serde_json::Value = serde_json::from_str(&options).expect("JSON");
        assert_eq!(options["series"].as_array().map(Vec::len), Some(3));
        assert_eq!(options["series"][1]["dash"], json!([6, 4]));
        assert_eq!(data, "[[1704153600],[100.0],[null]]");
    }
}
