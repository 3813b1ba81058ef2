//! Account activities, as Alpaca's `GET /v2/account/activities` lists them:
//! a `FILL` for every execution, the `CSD` that funded the account, and
//! simulated quarterly dividends (`DIV`) on a few funds, paid in cash on the
//! shares held before the ex-date. Objects are kept in Alpaca's shapes
//! (`tests/fixtures/alpaca/trading/activity.*.json`); ids are
//! `<yyyyMMddHHmmssSSS>::<uuid>`, so they sort as the activities happened.

use super::*;
use chrono::{Datelike, Weekday};
use serde_json::{Value, json};

/// The simulated dividends: per share, each quarter, on the third Friday
/// of March, June, September and December (or the trading day before it),
/// paid that day.
pub const DIVIDENDS: &[(&str, &str)] = &[("SPY", "1.75"), ("VOO", "1.60"), ("VTI", "0.95")];

/// An activity id at `at`: the time to the millisecond, then a fresh uuid.
fn activity_id(at: DateTime<Utc>) -> String {
    format!("{}::{}", at.format("%Y%m%d%H%M%S%3f"), Uuid::new_v4())
}

/// Where an activity sits in time: a fill's `transaction_time`, otherwise
/// its `created_at`, or its `date` at midnight UTC.
pub(super) fn activity_time(a: &Value) -> Option<DateTime<Utc>> {
    let text = |k: &str| a.get(k).and_then(Value::as_str);
    text("transaction_time")
        .or_else(|| text("created_at"))
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            text("date")
                .and_then(|d| d.get(..10)?.parse::<NaiveDate>().ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        })
}

/// The quarter's ex-dates from `from` (exclusive) to `to` (inclusive).
pub fn ex_dates(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    for year in from.year()..=to.year() {
        for month in [3, 6, 9, 12] {
            let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
                continue;
            };
            let to_friday = (Weekday::Fri.num_days_from_monday() + 7
                - first.weekday().num_days_from_monday())
                % 7;
            let third_friday = first + Duration::days(i64::from(to_friday) + 14);
            let day = calendar::previous_trading_day_from(third_friday).date;
            if day > from && day <= to {
                out.push(day);
            }
        }
    }
    out
}

impl Account {
    /// Records the cash that opened the account (a `CSD`).
    pub(super) fn record_funding(&mut self, cash: Decimal, now: DateTime<Utc>) {
        self.activities.push(json!({
            "activity_type": "CSD",
            "id": activity_id(now),
            "date": new_york_date(now).to_string(),
            "created_at": now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "net_amount": cash.to_string(),
            "currency": "USD",
            "status": "executed",
            "description": "Paper account funding",
        }));
        self.move_cash(now, cash);
        self.dividends_through = Some(new_york_date(now));
    }

    /// Records an execution of `o` (already updated) of `qty` at `price`.
    pub(super) fn record_fill(
        &mut self,
        o: &Order,
        qty: Decimal,
        price: Decimal,
        at: DateTime<Utc>,
        wanted: Decimal,
    ) {
        let whole = o.status == Status::Filled;
        self.activities.push(json!({
            "activity_type": "FILL",
            "cum_qty": o.filled_qty.to_string(),
            "id": activity_id(at),
            "leaves_qty": (wanted - o.filled_qty).max(Decimal::ZERO).to_string(),
            "order_id": o.id.to_string(),
            "order_status": o.status.as_str(),
            "price": price.to_string(),
            "qty": qty.to_string(),
            "side": match o.side { Side::Buy => "buy", Side::Sell => "sell" },
            "symbol": o.symbol,
            "transaction_time": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "type": if whole { "fill" } else { "partial_fill" },
        }));
    }

    /// Adds an activity as given (tests and demos: a split, a fee, a type
    /// Dripfeed does not know), keeping the list in id order.
    pub fn record_activity(&mut self, activity: Value) {
        self.activities.push(activity);
        self.activities
            .sort_by(|a, b| time_of_id(a).cmp(time_of_id(b)));
    }

    /// Shares of `symbol` the fills recorded before `before`.
    fn held_before(&self, symbol: &str, before: DateTime<Utc>) -> Decimal {
        self.held_by_fills(|t| t < before)
            .get(symbol)
            .copied()
            .unwrap_or_default()
    }

    /// Shares per symbol that the recorded fills whose time `counts` add up to.
    pub(super) fn held_by_fills(
        &self,
        counts: impl Fn(DateTime<Utc>) -> bool,
    ) -> BTreeMap<String, Decimal> {
        let mut held: BTreeMap<String, Decimal> = BTreeMap::new();
        for a in self
            .activities
            .iter()
            .filter(|a| a["activity_type"] == "FILL")
        {
            if !activity_time(a).is_some_and(&counts) {
                continue;
            }
            let qty: Decimal = a["qty"]
                .as_str()
                .and_then(|q| q.parse().ok())
                .unwrap_or_default();
            let symbol = a["symbol"].as_str().unwrap_or_default().to_owned();
            *held.entry(symbol).or_default() += if a["side"] == "sell" { -qty } else { qty };
        }
        held
    }

    /// Pays the simulated dividends whose ex-date came since the last
    /// settlement, on the shares held before that day's open.
    pub(super) fn pay_dividends(&mut self, now: DateTime<Utc>) {
        let today = new_york_date(now);
        let from = match self.dividends_through {
            Some(d) => d,
            // Books saved before activities existed: nothing is owed for the past.
            None => {
                self.dividends_through = Some(today);
                return;
            }
        };
        for day in ex_dates(from, today) {
            let Some(session) = calendar::trading_day(day) else {
                continue;
            };
            if session.open_at() > now {
                continue;
            }
            for (symbol, per_share) in DIVIDENDS {
                let per_share: Decimal = per_share.parse().unwrap_or_default();
                let held = self.held_before(symbol, session.open_at());
                let cash = (held * per_share).round_dp(2);
                if held <= Decimal::ZERO || cash.is_zero() {
                    continue;
                }
                self.cash += cash;
                let at = session.open_at();
                self.move_cash(at, cash);
                self.activities.push(json!({
                    "activity_sub_type": "CDIV",
                    "activity_type": "DIV",
                    "created_at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    "currency": "USD",
                    "date": day.to_string(),
                    "id": activity_id(at),
                    "net_amount": cash.to_string(),
                    "per_share_amount": per_share.to_string(),
                    "qty": held.to_string(),
                    "status": "executed",
                    "symbol": symbol,
                }));
            }
            self.dividends_through = Some(day);
        }
        self.activities
            .sort_by(|a, b| time_of_id(a).cmp(time_of_id(b)));
    }

    /// One page of `query`.
    pub fn activities_page(&self, query: &ActivityQuery) -> Vec<Value> {
        // Ids sharing a millisecond keep the order they were recorded in, so
        // a page token is a position in the list.
        let token_at = query
            .page_token
            .as_deref()
            .and_then(|t| self.activities.iter().position(|a| id_of(a) == t));
        let keep = |(i, a): &(usize, &Value)| {
            let time = activity_time(a);
            query.after.is_none_or(|t| time.is_some_and(|at| at > t))
                && query.until.is_none_or(|t| time.is_some_and(|at| at < t))
                && (query.types.is_empty()
                    || query.types.iter().any(|k| a["activity_type"] == k.as_str()))
                && match (token_at, query.page_token.as_deref()) {
                    (Some(at), _) if query.descending => *i < at,
                    (Some(at), _) => *i > at,
                    (None, Some(t)) if query.descending => id_of(a) < t,
                    (None, Some(t)) => id_of(a) > t,
                    (None, None) => true,
                }
        };
        let page: Box<dyn Iterator<Item = (usize, &Value)>> = if query.descending {
            Box::new(self.activities.iter().enumerate().rev().filter(keep))
        } else {
            Box::new(self.activities.iter().enumerate().filter(keep))
        };
        page.take(query.page_size).map(|(_, a)| a.clone()).collect()
    }
}

/// What `GET /v2/account/activities` asks for.
#[derive(Debug, Clone, Default)]
pub struct ActivityQuery {
    pub after: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Activity types to keep (all when empty).
    pub types: Vec<String>,
    /// Newest first (Alpaca's default) or oldest first.
    pub descending: bool,
    /// The id of the last activity of the previous page.
    pub page_token: Option<String>,
    pub page_size: usize,
}

impl ActivityQuery {
    pub fn oldest_first(page_size: usize) -> Self {
        Self {
            page_size,
            ..Self::default()
        }
    }
}

fn id_of(a: &Value) -> &str {
    a.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// The time part of an id (before `::`): what the list is ordered by.
fn time_of_id(a: &Value) -> &str {
    let id = id_of(a);
    id.split_once("::").map_or(id, |(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn ex_dates_are_the_third_fridays_of_the_quarter_months() {
        let got = ex_dates("2025-12-31".parse().unwrap(), "2026-12-31".parse().unwrap());
        let want: Vec<NaiveDate> = ["2026-03-20", "2026-06-18", "2026-09-18", "2026-12-18"]
            .iter()
            .map(|d| d.parse().unwrap())
            .collect();
        // 19 June 2026 is Juneteenth (a Friday, closed): the day before.
        assert_eq!(got, want);
    }

    #[test]
    fn fills_funding_and_dividends_are_listed_oldest_first_and_paged_by_id() {
        let (mut l, id, o) = super::super::testing::bought_spy(
            at("2026-12-01T15:00:00Z"),
            at("2026-12-01T15:00:00Z"),
        );
        let a = l.account_mut(id).unwrap();
        let cash_before = a.cash;
        // Friday 18 December 2026 is the ex-date; settle the Monday after.
        a.settle(at("2026-12-21T15:00:00Z"));
        let all = a.activities_page(&ActivityQuery::oldest_first(100));
        let types: Vec<&str> = all
            .iter()
            .map(|a| a["activity_type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["CSD", "FILL", "DIV"]);
        assert_eq!(all[0]["net_amount"], "100000");
        assert_eq!(all[1]["qty"], o.filled_qty.to_string());
        assert_eq!(all[1]["order_id"], o.id.to_string());
        let paid = (o.filled_qty * Decimal::new(175, 2)).round_dp(2);
        assert_eq!(all[2]["net_amount"], paid.to_string());
        assert_eq!(all[2]["date"], "2026-12-18");
        assert_eq!(a.cash, cash_before + paid);
        // Settling again pays nothing twice.
        a.settle(at("2026-12-22T15:00:00Z"));
        assert_eq!(a.activities.len(), 3);
        // Pages follow the token; `after` filters by time.
        let first = a.activities_page(&ActivityQuery::oldest_first(2));
        let rest = a.activities_page(&ActivityQuery {
            page_token: first[1]["id"].as_str().map(str::to_owned),
            ..ActivityQuery::oldest_first(2)
        });
        assert_eq!(rest, all[2..].to_vec());
        let late = a.activities_page(&ActivityQuery {
            after: Some(at("2026-12-10T00:00:00Z")),
            ..ActivityQuery::oldest_first(100)
        });
        assert_eq!(late, all[2..].to_vec());
        let newest = a.activities_page(&ActivityQuery {
            descending: true,
            types: vec!["FILL".into(), "DIV".into()],
            ..ActivityQuery::oldest_first(100)
        });
        assert_eq!(newest, vec![all[2].clone(), all[1].clone()]);
    }
}
