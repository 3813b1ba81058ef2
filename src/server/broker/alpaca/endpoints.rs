//! Endpoints apca does not define (or whose model lacks fields we show), in
//! the same `http_endpoint::Endpoint` shape so one transport drives them all:
//! the full account, latest trades for many symbols, multi-symbol bars.

use chrono::{DateTime, Utc};
use http_endpoint::{Bytes, Endpoint, Str};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use std::collections::HashMap;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(transparent)]
    Http(#[from] http::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("unexpected HTTP status {0}")]
    Status(http::StatusCode),
}

#[derive(Debug, thiserror::Error, Deserialize)]
#[error("{message}")]
pub struct ApiMessage {
    #[serde(default)]
    pub message: String,
}

/// Implements the parts of `Endpoint` every JSON GET here shares.
macro_rules! json_get {
    ($name:ident, $input:ty, $output:ty, |$i:ident| path: $path:expr, query: $query:expr) => {
        impl Endpoint for $name {
            type Input = $input;
            type Output = $output;
            type Error = EndpointError;
            type ConversionError = serde_json::Error;
            type ApiError = ApiMessage;

            fn path(_: &Self::Input) -> Str {
                $path
            }

            fn query($i: &Self::Input) -> Result<Option<Str>, Self::ConversionError> {
                Ok($query)
            }

            fn body(_: &Self::Input) -> Result<Option<Bytes>, Self::ConversionError> {
                Ok(None)
            }

            fn parse(body: &[u8]) -> Result<Self::Output, Self::ConversionError> {
                serde_json::from_slice(body)
            }

            fn parse_err(body: &[u8]) -> Result<Self::ApiError, Vec<u8>> {
                serde_json::from_slice(body).map_err(|_| body.to_vec())
            }

            fn evaluate(
                status: http::StatusCode,
                body: &[u8],
            ) -> Result<Self::Output, Self::Error> {
                if status.is_success() {
                    Ok(Self::parse(body)?)
                } else {
                    Err(EndpointError::Status(status))
                }
            }
        }
    };
}

/// A Market Data number (JSON number or string) read as an exact decimal:
/// the number's own digits, never a binary float's expansion.
pub fn decimal_from_number<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    let text = match &v {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => return Err(serde::de::Error::custom(format!("not a number: {other}"))),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(serde::de::Error::custom)
}

fn string_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    decimal_from_number(d)
}

/// `GET /v2/account`, with the fields apca's model leaves out.
#[derive(Debug, Clone, Copy)]
pub struct GetAccount;

#[derive(Debug, Clone, Deserialize)]
pub struct AccountBody {
    pub id: String,
    #[serde(default)]
    pub account_number: String,
    pub status: String,
    #[serde(default = "usd")]
    pub currency: String,
    #[serde(deserialize_with = "string_decimal")]
    pub cash: Decimal,
    #[serde(deserialize_with = "string_decimal")]
    pub equity: Decimal,
    #[serde(deserialize_with = "string_decimal")]
    pub last_equity: Decimal,
    #[serde(deserialize_with = "string_decimal")]
    pub buying_power: Decimal,
    #[serde(deserialize_with = "string_decimal")]
    pub non_marginable_buying_power: Decimal,
    #[serde(deserialize_with = "string_decimal")]
    pub long_market_value: Decimal,
    #[serde(default)]
    pub trading_blocked: bool,
}

fn usd() -> String {
    "USD".into()
}

json_get!(GetAccount, (), AccountBody, |_i| path: "/v2/account".into(), query: None);

/// `GET /v2/stocks/trades/latest?symbols=…`.
#[derive(Debug, Clone, Copy)]
pub struct LatestTrades;

#[derive(Debug, Clone, Deserialize)]
pub struct TradeBody {
    pub t: DateTime<Utc>,
    #[serde(deserialize_with = "decimal_from_number")]
    pub p: Decimal,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LatestTradesBody {
    #[serde(default)]
    pub trades: HashMap<String, TradeBody>,
}

/// (symbols, feed)
pub type LatestTradesInput = (Vec<String>, String);

json_get!(LatestTrades, LatestTradesInput, LatestTradesBody, |i| path: "/v2/stocks/trades/latest".into(),
query: Some(
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("symbols", &i.0.join(","))
        .append_pair("feed", &i.1)
        .finish()
        .into()
));

/// `GET /v2/assets?status=active&asset_class=us_equity` (apca's model has
/// no `name`, which symbol search needs).
#[derive(Debug, Clone, Copy)]
pub struct ListAssets;

#[derive(Debug, Clone, Deserialize)]
pub struct AssetBody {
    pub symbol: String,
    #[serde(default)]
    pub name: Option<String>,
    pub tradable: bool,
    #[serde(default)]
    pub fractionable: bool,
}

json_get!(ListAssets, (), Vec<AssetBody>, |_i| path: "/v2/assets".into(),
    query: Some("status=active&asset_class=us_equity".into()));

/// One bar (`t,o,h,l,c,v,n,vw`; prices are JSON numbers).
#[derive(Debug, Clone, Deserialize)]
pub struct BarBody {
    pub t: DateTime<Utc>,
    #[serde(deserialize_with = "decimal_from_number")]
    pub o: Decimal,
    #[serde(deserialize_with = "decimal_from_number")]
    pub h: Decimal,
    #[serde(deserialize_with = "decimal_from_number")]
    pub l: Decimal,
    #[serde(deserialize_with = "decimal_from_number")]
    pub c: Decimal,
    #[serde(deserialize_with = "decimal_from_number")]
    pub v: Decimal,
}

/// `GET /v2/stocks/bars?symbols=…`: bars per symbol, and the next page.
#[derive(Debug, Clone, Deserialize)]
pub struct MultiBarsBody {
    #[serde(default)]
    pub bars: HashMap<String, Vec<BarBody>>,
    pub next_page_token: Option<String>,
}

/// `GET /v2/stocks/bars/latest?symbols=…`.
#[derive(Debug, Clone, Deserialize)]
pub struct LatestBarsBody {
    #[serde(default)]
    pub bars: HashMap<String, BarBody>,
}

/// `GET /v2/stocks/{symbol}/trades/latest`.
#[derive(Debug, Clone, Deserialize)]
pub struct LatestTradeBody {
    pub symbol: String,
    pub trade: TradeBody,
}

#[derive(Debug, Clone, Deserialize)]
pub struct QuoteBody {
    pub t: DateTime<Utc>,
    #[serde(deserialize_with = "decimal_from_number")]
    pub ap: Decimal,
    #[serde(deserialize_with = "decimal_from_number")]
    pub bp: Decimal,
}

/// `GET /v2/stocks/quotes/latest?symbols=…`.
#[derive(Debug, Clone, Deserialize)]
pub struct LatestQuotesBody {
    #[serde(default)]
    pub quotes: HashMap<String, QuoteBody>,
}

/// `GET /v2/stocks/{symbol}/quotes/latest`.
#[derive(Debug, Clone, Deserialize)]
pub struct LatestQuoteBody {
    pub symbol: String,
    pub quote: QuoteBody,
}

/// `GET /v2/stocks/{symbol}/snapshot` (and each value of the multi form).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotBody {
    pub latest_trade: Option<TradeBody>,
    pub latest_quote: Option<QuoteBody>,
    pub minute_bar: Option<BarBody>,
    pub daily_bar: Option<BarBody>,
    pub prev_daily_bar: Option<BarBody>,
}

/// `GET /v2/stocks/snapshots?symbols=…`.
#[derive(Debug, Clone, Copy)]
pub struct Snapshots;

/// (symbols, feed)
pub type SnapshotsInput = (Vec<String>, String);

json_get!(Snapshots, SnapshotsInput, HashMap<String, SnapshotBody>, |i| path: "/v2/stocks/snapshots".into(),
query: Some(
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("symbols", &i.0.join(","))
        .append_pair("feed", &i.1)
        .finish()
        .into()
));

/// `GET /v2/stocks/bars?symbols=…&timeframe=…`.
#[derive(Debug, Clone, Copy)]
pub struct MultiBars;

#[derive(Debug, Clone)]
pub struct MultiBarsInput {
    pub symbols: Vec<String>,
    pub timeframe: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub feed: String,
    pub page_token: Option<String>,
}

json_get!(MultiBars, MultiBarsInput, MultiBarsBody, |i| path: "/v2/stocks/bars".into(),
query: Some({
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("symbols", &i.symbols.join(","))
        .append_pair("timeframe", &i.timeframe)
        .append_pair("start", &i.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .append_pair("end", &i.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .append_pair("limit", "10000")
        .append_pair("feed", &i.feed);
    if let Some(t) = &i.page_token {
        q.append_pair("page_token", t);
    }
    q.finish().into()
}));

/// `GET /v2/account/activities`, oldest first (`direction=asc`); each item
/// kept as JSON (a mix of trade and non-trade shapes, and types to come).
#[derive(Debug, Clone, Copy)]
pub struct ListActivities;

#[derive(Debug, Clone)]
pub struct ActivitiesInput {
    pub after: Option<DateTime<Utc>>,
    pub page_token: Option<String>,
    pub page_size: u32,
}

json_get!(ListActivities, ActivitiesInput, Vec<serde_json::Value>, |i| path: "/v2/account/activities".into(),
query: Some({
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("direction", "asc")
        .append_pair("page_size", &i.page_size.to_string());
    if let Some(after) = i.after {
        q.append_pair("after", &after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    if let Some(t) = &i.page_token {
        q.append_pair("page_token", t);
    }
    q.finish().into()
}));

/// `GET /v2/account/portfolio/history` with deposits and withdrawals.
#[derive(Debug, Clone, Copy)]
pub struct GetPortfolioHistory;

fn numbers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Option<Decimal>>, D::Error> {
    let values = Vec::<serde_json::Value>::deserialize(d)?;
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::Null => Ok(None),
            v => decimal_from_number(v)
                .map(Some)
                .map_err(serde::de::Error::custom),
        })
        .collect()
}

fn number_lists<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<HashMap<String, Vec<Option<Decimal>>>, D::Error> {
    #[derive(Deserialize)]
    struct List(#[serde(deserialize_with = "numbers")] Vec<Option<Decimal>>);
    let lists = Option::<HashMap<String, List>>::deserialize(d)?;
    Ok(lists
        .unwrap_or_default()
        .into_iter()
        .map(|(k, List(v))| (k, v))
        .collect())
}

#[derive(Debug, Clone, Deserialize)]
pub struct PortfolioHistoryBody {
    pub timestamp: Vec<i64>,
    #[serde(deserialize_with = "numbers")]
    pub equity: Vec<Option<Decimal>>,
    #[serde(deserialize_with = "numbers")]
    pub profit_loss: Vec<Option<Decimal>>,
    #[serde(deserialize_with = "decimal_from_number")]
    pub base_value: Decimal,
    pub timeframe: String,
    #[serde(default, deserialize_with = "number_lists")]
    pub cashflow: HashMap<String, Vec<Option<Decimal>>>,
}

json_get!(GetPortfolioHistory, crate::server::broker::HistoryRequest, PortfolioHistoryBody,
|i| path: "/v2/account/portfolio/history".into(),
query: Some({
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("timeframe", &i.timeframe)
        .append_pair("intraday_reporting", "market_hours")
        .append_pair("cashflow_types", "CSD,CSW");
    if let Some(p) = &i.period {
        q.append_pair("period", p);
    }
    if let Some(s) = i.start {
        q.append_pair("start", &s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    q.finish().into()
}));

/// Reads one activity object: the fields the ledger uses, exactly; the
/// object itself is kept. What it cannot read is an error naming the field.
pub fn activity_of(raw: serde_json::Value) -> Result<crate::server::broker::Activity, String> {
    use crate::server::broker::{Activity, Side};
    let text = |name: &str| raw.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let id = text("id").ok_or("an activity has no id")?;
    let activity_type =
        text("activity_type").ok_or_else(|| format!("activity {id} has no activity_type"))?;
    let number = |name: &str| -> Result<Option<Decimal>, String> {
        match raw.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => {
                let t = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    other => return Err(format!("activity {id}: {name} is not a number: {other}")),
                };
                Decimal::from_str(&t)
                    .or_else(|_| Decimal::from_scientific(&t))
                    .map(Some)
                    .map_err(|_| format!("activity {id}: {name} is not a number: {t}"))
            }
        }
    };
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
        text(name)
            .map(|t| {
                DateTime::parse_from_rfc3339(&t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| format!("activity {id}: {name} is not a time: {t}"))
            })
            .transpose()
    };
    let at = match time("transaction_time")? {
        Some(t) => Some(t),
        None => time("created_at")?,
    };
    let date = match (text("date"), time("transaction_time")?) {
        // `date` is a day ("2019-08-01") or a date-time; its day is what counts.
        (Some(d), _) => d
            .get(..10)
            .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
            .ok_or_else(|| format!("activity {id}: date is not a date: {d}"))?,
        (None, Some(t)) => t.with_timezone(&chrono_tz::America::New_York).date_naive(),
        (None, None) => {
            return Err(format!(
                "activity {id} has neither date nor transaction_time"
            ));
        }
    };
    let side = match text("side").as_deref() {
        None => None,
        Some("buy") => Some(Side::Buy),
        Some("sell" | "sell_short") => Some(Side::Sell),
        Some(other) => return Err(format!("activity {id}: side is not buy or sell: {other}")),
    };
    Ok(Activity {
        activity_type,
        date,
        at,
        symbol: text("symbol"),
        side,
        qty: number("qty")?,
        price: number("price")?,
        net_amount: number("net_amount")?,
        per_share_amount: number("per_share_amount")?,
        order_id: text("order_id"),
        id,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_data_numbers_keep_their_printed_digits() {
        let body: LatestTradesBody = serde_json::from_str(
            r#"{"trades":{"AAPL":{"t":"2022-08-17T09:50:43.361102308Z","p":172.78,"s":100}}}"#,
        )
        .unwrap();
        assert_eq!(body.trades["AAPL"].p, Decimal::new(17278, 2));
    }

    fn reference(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/tests/fixtures/alpaca/trading/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn the_recorded_portfolio_history_reads_with_its_cash_flows() {
        let spec: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/tests/fixtures/alpaca/openapi/trading-api.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        let example =
            &spec["components"]["schemas"]["PortfolioHistory"]["x-examples"]["example-cashflows"];
        let body: PortfolioHistoryBody = serde_json::from_value(example.clone()).unwrap();
        assert_eq!(body.timestamp.len(), 4);
        assert_eq!(body.equity[1], Some(Decimal::new(863977, 2)));
        assert_eq!(body.base_value, Decimal::new(841304, 2));
        assert_eq!(body.cashflow["CSD"][0], Some(Decimal::new(993, 2)));
        assert_eq!(body.timeframe, "1D");
    }

    #[test]
    fn the_recorded_fill_and_dividend_activities_read_exactly() {
        use crate::server::broker::{ActivityKind, Side};
        let fill = activity_of(reference("activity.fill.json")).unwrap();
        assert_eq!(fill.kind(), ActivityKind::Fill);
        assert_eq!(
            fill.id,
            "20220202135509981::2d7be4ff-d1f3-43e9-856a-0f5cf5c5088e"
        );
        // 18:55 UTC on 2 February 2022 is that day in New York.
        assert_eq!(fill.date, "2022-02-02".parse().unwrap());
        assert_eq!(fill.side, Some(Side::Buy));
        assert_eq!(fill.qty, Some(Decimal::from(2)));
        assert_eq!(fill.price, Some(Decimal::new(17478, 2)));
        assert_eq!(
            fill.order_id.as_deref(),
            Some("b5abe576-6a8a-49f3-a353-46b72c1ccae9")
        );
        let div = activity_of(reference("activity.dividend.json")).unwrap();
        assert_eq!(div.kind(), ActivityKind::Dividend);
        assert_eq!(div.date, "2019-08-01".parse().unwrap());
        assert_eq!(div.net_amount, Some(Decimal::new(102, 2)));
        assert_eq!(div.per_share_amount, Some(Decimal::new(51, 2)));
        assert_eq!(div.symbol.as_deref(), Some("T"));
        // A type Dripfeed does not read is kept, as itself.
        let mut odd = reference("activity.dividend.json");
        odd["activity_type"] = "OPEXP".into();
        assert_eq!(
            activity_of(odd).unwrap().kind(),
            ActivityKind::Other("OPEXP".into())
        );
        let mut bad = reference("activity.fill.json");
        bad["price"] = "a lot".into();
        assert!(activity_of(bad).unwrap_err().contains("price"));
    }
}
