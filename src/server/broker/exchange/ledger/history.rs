//! The account's equity over time, as Alpaca's
//! `GET /v2/account/portfolio/history` reports it: one point per window
//! (left-labelled; daily points at 00:00 UTC of the trading day, as the
//! recorded example has them), `profit_loss` each point's change from the
//! one before (the first from `base_value`, the close before the range),
//! and `cashflow` per activity type when asked.
//!
//! Equity at an instant is the cash then (every cash movement the books
//! made up to it, exactly) plus the shares the fills had bought by then at
//! the price then (a daily point: that day's close).

use super::*;
use serde_json::{Value, json};

/// A window's span: after its start, up to and including its end.
type Window = (DateTime<Utc>, DateTime<Utc>);

/// What a history request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Window length in minutes; `None` for one trading day.
    pub step_minutes: Option<i64>,
}

impl Account {
    /// Records a change in cash at `at` (a fill, the funding, a dividend).
    pub(super) fn move_cash(&mut self, at: DateTime<Utc>, amount: Decimal) {
        self.cash_moves.push((at, amount));
    }

    fn cash_at(&self, t: DateTime<Utc>) -> Decimal {
        self.cash_moves
            .iter()
            .filter(|(at, _)| *at <= t)
            .map(|(_, a)| *a)
            .sum()
    }

    fn shares_at(&self, t: DateTime<Utc>) -> BTreeMap<String, Decimal> {
        self.held_by_fills(|at| at <= t)
    }

    /// Equity at `t`, each holding at `price(symbol)`.
    fn equity_with(&self, t: DateTime<Utc>, price: impl Fn(&str) -> Option<Decimal>) -> Decimal {
        let holdings: Decimal = self
            .shares_at(t)
            .iter()
            .map(|(s, q)| *q * price(s).unwrap_or_default())
            .sum();
        (self.cash_at(t) + holdings).round_dp(2)
    }

    /// Equity at the close of `day` (at `now` when the day's session is still on).
    fn equity_at_close(&self, day: &calendar::TradingDay, now: DateTime<Utc>) -> Decimal {
        if now < day.close_at() {
            return self.equity_with(now, |s| price(s, now));
        }
        self.equity_with(day.close_at(), |s| {
            market::daily_bar(s, day.date).map(|b| b.close)
        })
    }

    /// Sums of the activities of each type in `types` per window.
    fn cashflows(&self, windows: &[Window], types: &[String]) -> Value {
        let mut out = serde_json::Map::new();
        for kind in types {
            let sums: Vec<f64> = windows
                .iter()
                .map(|(from, to)| {
                    let total: Decimal = self
                        .activities
                        .iter()
                        .filter(|a| a["activity_type"] == kind.as_str())
                        .filter(|a| {
                            super::activities::activity_time(a)
                                .is_some_and(|t| t > *from && t <= *to)
                        })
                        .filter_map(|a| {
                            a["net_amount"]
                                .as_str()
                                .and_then(|n| n.parse::<Decimal>().ok())
                        })
                        .sum();
                    total.to_string().parse().unwrap_or(0.0)
                })
                .collect();
            out.insert(kind.clone(), json!(sums));
        }
        Value::Object(out)
    }

    /// The history `q` asks for, at `now`, in Alpaca's shape.
    pub fn portfolio_history(
        &self,
        q: &HistoryQuery,
        now: DateTime<Utc>,
        cashflow_types: &[String],
    ) -> Value {
        let end = q.end.min(now);
        let start = q.start.max(self.created_at - Duration::days(1));
        // (label, valued at, window start, window end)
        let mut points: Vec<(i64, Decimal, Window)> = Vec::new();
        // The first trading day whose session ends in the range.
        let mut first_day = new_york_date(start);
        if calendar::trading_day(first_day).is_some_and(|d| d.close_at() < start) {
            first_day += Duration::days(1);
        }
        let base_day = calendar::previous_trading_day_from(first_day - Duration::days(1));
        let mut base_value = self.equity_at_close(&base_day, now);
        let mut base_asof = Some(base_day.date);
        if base_day.close_at() < self.created_at {
            base_asof = None;
        }
        match q.step_minutes {
            None => {
                // Each day's window runs from the last one's end to its own
                // close, so a cash flow on a weekend counts on the next day.
                let mut from = base_day.close_at();
                for day in calendar::trading_days(first_day, new_york_date(end)) {
                    if day.open_at() > end {
                        break;
                    }
                    let label = day.date.and_time(chrono::NaiveTime::MIN).and_utc();
                    let window = (from, day.close_at());
                    from = day.close_at();
                    points.push((label.timestamp(), self.equity_at_close(&day, now), window));
                }
            }
            Some(step) => {
                let step = Duration::minutes(step.max(1));
                for day in calendar::trading_days(first_day, new_york_date(end)) {
                    let mut t = day.open_at();
                    while t < day.close_at() && t <= end {
                        if t >= start {
                            let at = (t + step).min(end).min(day.close_at());
                            let value = self.equity_with(at, |s| price(s, at));
                            points.push((t.timestamp(), value, (t, t + step)));
                        }
                        t += step;
                    }
                }
            }
        }
        if base_asof.is_none()
            && let Some((_, first, _)) = points.first()
        {
            base_value = *first;
        }
        let mut previous = base_value;
        let mut pl = Vec::with_capacity(points.len());
        let mut pl_pct = Vec::with_capacity(points.len());
        for (_, equity, _) in &points {
            let change = *equity - previous;
            pl.push(change.round_dp(2));
            pl_pct.push(if previous.is_zero() {
                Decimal::ZERO
            } else {
                (change / previous).round_dp(4)
            });
            previous = *equity;
        }
        let number = |d: &Decimal| d.to_string().parse::<f64>().unwrap_or(0.0);
        let mut body = json!({
            "timestamp": points.iter().map(|p| p.0).collect::<Vec<_>>(),
            "equity": points.iter().map(|p| number(&p.1)).collect::<Vec<_>>(),
            "profit_loss": pl.iter().map(number).collect::<Vec<_>>(),
            "profit_loss_pct": pl_pct.iter().map(number).collect::<Vec<_>>(),
            "base_value": number(&base_value),
            "timeframe": match q.step_minutes {
                None => "1D".to_owned(),
                Some(60) => "1H".to_owned(),
                Some(m) => format!("{m}Min"),
            },
        });
        if let Some(asof) = base_asof {
            body["base_value_asof"] = json!(asof.to_string());
        }
        if !cashflow_types.is_empty() {
            let windows: Vec<_> = points.iter().map(|p| p.2).collect();
            body["cashflow"] = self.cashflows(&windows, cashflow_types);
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn daily_equity_is_cash_plus_shares_at_each_close_and_pl_is_the_daily_change() {
        let (mut l, id, o) = super::super::testing::bought_spy(
            at("2026-11-30T15:00:00Z"),
            at("2026-12-01T15:00:00Z"),
        );
        let a = l.account_mut(id).unwrap();
        let now = at("2026-12-04T22:00:00Z");
        a.settle(now);
        let q = HistoryQuery {
            start: at("2026-12-01T00:00:00Z"),
            end: now,
            step_minutes: None,
        };
        let h = a.portfolio_history(&q, now, &["CSD".to_owned()]);
        let days = ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"];
        let stamps: Vec<i64> = days
            .iter()
            .map(|d| {
                d.parse::<NaiveDate>()
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp()
            })
            .collect();
        assert_eq!(h["timestamp"], json!(stamps));
        let cash = Decimal::from(99_000);
        for (i, d) in days.iter().enumerate() {
            let close = market::daily_bar("SPY", d.parse().unwrap()).unwrap().close;
            let want = (cash + o.filled_qty * close).round_dp(2);
            assert_eq!(
                h["equity"][i],
                json!(want.to_string().parse::<f64>().unwrap()),
                "{d}"
            );
        }
        // Monday 30 November's close: the funding alone.
        assert_eq!(h["base_value"], json!(100_000.0));
        assert_eq!(h["base_value_asof"], "2026-11-30");
        let e0 = h["equity"][0].as_f64().unwrap();
        let e1 = h["equity"][1].as_f64().unwrap();
        assert!((h["profit_loss"][1].as_f64().unwrap() - (e1 - e0)).abs() < 0.006);
        // The funding was before the range: no cash flow in it.
        assert_eq!(h["cashflow"]["CSD"], json!([0.0, 0.0, 0.0, 0.0]));
    }
}
