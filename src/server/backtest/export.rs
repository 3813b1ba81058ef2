//! A backtest's downloads: each table as CSV, the whole report as JSON, and a
//! self-contained HTML report (styles, data and the charting library inline)
//! that prints cleanly to PDF.

use crate::domain::legal::DISCLAIMER;
use crate::dto::backtest::{BacktestReport, StrategyReport};
use html_escape::encode_text as esc;

/// The tables a report has, by the name their CSV is asked for with.
pub const TABLES: [&str; 4] = ["metrics", "buys", "skipped", "chart"];

fn num(v: Option<f64>) -> String {
    v.map(|v| {
        format!("{v:.6}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    })
    .unwrap_or_default()
}

/// One table as CSV (a header row, then one row per line of the table).
pub fn csv(r: &BacktestReport, table: &str) -> anyhow::Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    match table {
        "metrics" => {
            let mut header = vec!["metric".to_owned(), "label".to_owned()];
            header.extend(r.approaches.iter().cloned());
            out.write_record(&header)?;
            for m in &r.metrics {
                let mut row = vec![m.key.clone(), m.label.clone()];
                row.extend(m.values.iter().map(|v| num(*v)));
                out.write_record(&row)?;
            }
        }
        "buys" => {
            out.write_record(["date", "symbol", "dollars", "quantity", "price"])?;
            for b in &r.buys {
                out.write_record([
                    &b.date.to_string(),
                    &b.symbol,
                    &b.dollars,
                    &b.quantity,
                    &b.price,
                ])?;
            }
        }
        "skipped" => {
            out.write_record(["date", "symbol", "dollars", "reason"])?;
            for s in &r.skipped {
                out.write_record([&s.date.to_string(), &s.symbol, &s.dollars, &s.reason])?;
            }
        }
        "chart" => {
            let mut header = vec!["date".to_owned(), "contributed".to_owned()];
            header.extend(r.approaches.iter().map(|a| format!("{a} value")));
            header.extend(r.approaches.iter().map(|a| format!("{a} drawdown %")));
            out.write_record(&header)?;
            for (i, d) in r.chart.dates.iter().enumerate() {
                let mut row = vec![d.to_string(), num(r.chart.contributed[i])];
                row.extend(r.chart.values.iter().map(|s| num(s[i])));
                row.extend(r.chart.drawdowns.iter().map(|s| num(s[i])));
                out.write_record(&row)?;
            }
        }
        other => anyhow::bail!("no table {other}"),
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

/// The tables a strategy report has.
pub const STRATEGY_TABLES: [&str; 3] = ["metrics", "trades", "sweep"];

/// One of a strategy report's tables as CSV.
pub fn strategy_csv(r: &StrategyReport, table: &str) -> anyhow::Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    match table {
        "metrics" => {
            out.write_record(["metric", "label", "value"])?;
            for m in &r.metrics {
                out.write_record([m.key.as_str(), m.label.as_str(), &num(m.value)])?;
            }
        }
        "trades" => {
            out.write_record([
                "entry_date",
                "exit_date",
                "entry_price",
                "exit_price",
                "quantity",
                "pnl",
                "exit_reason",
            ])?;
            for t in &r.trades {
                out.write_record([
                    &t.entry_date.to_string(),
                    &t.exit_date.to_string(),
                    &t.entry_price,
                    &t.exit_price,
                    &t.quantity,
                    &t.pnl,
                    &t.exit_reason,
                ])?;
            }
        }
        "sweep" => {
            let rank = r.sweep.as_ref().map_or("value", |s| s.rank_by.as_str());
            out.write_record(["fast", "slow", rank])?;
            for c in r.sweep.iter().flat_map(|s| &s.cells) {
                out.write_record([c.fast.to_string(), c.slow.to_string(), num(c.value)])?;
            }
        }
        other => anyhow::bail!("no table {other}"),
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

fn table(head: &[String], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut html = String::from("<table><thead><tr>");
    for h in head {
        html.push_str(&format!("<th scope=\"col\">{}</th>", esc(h)));
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            if i == 0 {
                html.push_str(&format!("<th scope=\"row\">{}</th>", esc(cell)));
            } else {
                html.push_str(&format!("<td>{}</td>", esc(cell)));
            }
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

const REPORT_CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;color:#111;margin:2rem auto;\
max-width:60rem;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border-bottom:1px solid #ccc;\
padding:.25rem .5rem;text-align:right}th[scope=row],thead th:first-child{text-align:left}\
.headline{font-size:1.2rem;font-weight:600}.note,.disclaimer{color:#444;font-size:.9rem}\
.chart{margin:1rem 0}@media print{body{margin:0;max-width:none}h2{break-after:avoid}\
table,.chart{break-inside:avoid}}";

/// The whole report as one HTML file. `chart_js`: uPlot's source, inlined
/// so the file needs nothing else (without it, the tables alone).
pub fn html(r: &BacktestReport, chart_js: Option<&str>) -> String {
    let mut head = vec!["Metric".to_owned()];
    head.extend(r.approaches.iter().cloned());
    let metrics = table(
        &head,
        r.metrics.iter().map(|m| {
            let mut row = vec![m.label.clone()];
            row.extend(m.shown.iter().cloned());
            row
        }),
    );
    let buys = table(
        &["Date", "Symbol", "Dollars", "Quantity", "Price"].map(String::from),
        r.buys.iter().map(|b| {
            vec![
                b.date.to_string(),
                b.symbol.clone(),
                b.dollars.clone(),
                b.quantity.clone(),
                b.price.clone(),
            ]
        }),
    );
    let skipped = table(
        &["Date", "Symbol", "Dollars", "Reason"].map(String::from),
        r.skipped.iter().map(|s| {
            vec![
                s.date.to_string(),
                s.symbol.clone(),
                s.dollars.clone(),
                s.reason.clone(),
            ]
        }),
    );
    let simulated = if r.simulated {
        "<p class=\"note\">Prices are the demo exchange's simulated history, not market data.</p>"
    } else {
        ""
    };
    let charts = match chart_js {
        Some(js) => {
            // `</` cannot end the script early: the data is JSON with `<` escaped.
            let data = serde_json::to_string(&(&r.approaches, &r.chart))
                .unwrap_or_default()
                .replace('<', "\\u003c");
            format!(
                "<div class=\"chart\" id=\"value\"></div><div class=\"chart\" id=\"drawdown\"></div>\
                 <script>{js}</script><script>{}</script>",
                REPORT_SCRIPT.replace("__DATA__", &data)
            )
        }
        None => String::new(),
    };
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Backtest: {title}</title><style>{REPORT_CSS}</style></head><body>\
         <h1>Backtest: {title}</h1><p>{from} to {to}, benchmark {bench}</p>\
         <p class=\"headline\">{headline}</p>{simulated}{charts}\
         <h2>Metrics</h2>{metrics}\
         <p class=\"note\">Time-weighted return measures the investments, whatever the timing \
         of the contributions; money-weighted return (XIRR) measures what each dollar paid in \
         earned, timing included; the dollar gain is the final value less everything paid in.</p>\
         <h2>Buys</h2>{buys}<h2>Skipped buys</h2>{skipped}\
         <p class=\"disclaimer\">{disclaimer}</p></body></html>",
        title = esc(&r.title),
        from = r.from,
        to = r.to,
        bench = esc(&r.benchmark),
        headline = esc(&r.headline),
        disclaimer = esc(DISCLAIMER),
    )
}

/// Draws the report's two charts with uPlot (inline, so the file stands alone).
const REPORT_SCRIPT: &str = r##"(function(){
var d=__DATA__,names=d[0],c=d[1];
var xs=c.dates.map(function(s){return Date.parse(s+"T00:00:00Z")/1000;});
var colours=["#2563eb","#16a34a","#9333ea","#ea580c","#64748b"];
function plot(id,title,series,extra){
  var s=[{}].concat(extra||[]).concat(series.map(function(_,i){return {label:names[i],stroke:colours[i%colours.length],width:1.5};}));
  var data=[xs].concat((extra||[]).map(function(){return c.contributed;})).concat(series);
  new uPlot({title:title,width:900,height:300,series:s,scales:{x:{time:true}}},data,document.getElementById(id));
}
plot("value","Value and money paid in",c.values,[{label:"Paid in",stroke:"#111",dash:[4,4],width:1}]);
plot("drawdown","Drawdown on the time-weighted index (%)",c.drawdowns);
})();"##;
