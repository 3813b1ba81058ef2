//! The Backtest page's use-case: a signed-in user's plan (or an ad-hoc one)
//! compared with the other DCA mode, a lump sum and a benchmark bought on the
//! same days, over bars from the user's own broker. Checks who is asking and
//! what they own, and the tier's limits, before anything is fetched.

use super::history::{HistoryError, Source, last_closed_day};
use super::labels::{plan_label, plan_shown};
use super::plan_cli::cadence;
use crate::domain::backtest::Fill;
use crate::domain::backtest::chart::{chart, month_ends};
use crate::domain::backtest::compare::{Comparison, compare};
use crate::domain::backtest::plan::{Bars, PlanError, PlanInput};
use crate::domain::money::dollars;
use crate::domain::plan::{Mode, Symbol, parse_amount};
use crate::domain::schedule::{Cadence, Schedule, TimeOfDay};
use crate::domain::tier::{BacktestLimits, Tier};
use crate::dto::backtest::{BacktestQuery, BacktestReport, BuyRow, MetricRow, SkippedRow};
use crate::error::{AppError, FieldError};
use crate::server::auth::CurrentUser;
use crate::server::broker::BrokerError;
use crate::server::connections::broker_for_page;
use crate::server::state::AppState;
use chrono::{Months, NaiveDate, NaiveTime};
use rust_decimal::Decimal;

/// Points per chart line: enough for a smooth 20-year chart, light to send.
const CHART_POINTS: usize = 1_500;
/// Extra history before `from`, so smart DCA's average is full on day one
/// (200 trading days is about 290 calendar days).
const WARM_UP_DAYS: i64 = 300;
/// Ad-hoc symbols per backtest.
const MAX_AD_HOC_LEGS: usize = 10;

/// What the backtest is of, once checked.
struct Subject {
    title: String,
    legs: Vec<(String, Decimal)>,
    cadence: Cadence,
    time: TimeOfDay,
    zone: String,
    mode: Mode,
    connection_id: Option<i64>,
}

pub fn invalid(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Where buys fill: `next-open` (the default) or `close`.
pub fn fill_field(raw: &str, errors: &mut Vec<FieldError>) -> Fill {
    match raw.trim() {
        "" | "next-open" => Fill::NextOpen,
        "close" => Fill::Close,
        other => {
            errors.push(invalid(
                "fill",
                format!("{other} is not next-open or close."),
            ));
            Fill::NextOpen
        }
    }
}

pub fn date_field(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse() {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(invalid(field, format!("{raw} is not a date (YYYY-MM-DD).")));
            None
        }
    }
}

async fn subject(
    state: &AppState,
    user: &CurrentUser,
    q: &BacktestQuery,
    tier: &Tier,
) -> Result<Subject, AppError> {
    if let Some(id) = q.plan {
        let Some(row) = state.store.plan_of(user.id, id).await? else {
            return Err(AppError::NotFound);
        };
        let legs = state.store.legs_of(&[id]).await?;
        let bad = |e: serde_json::Error| AppError::from(anyhow::Error::from(e));
        let mut parsed = Vec::with_capacity(legs.len());
        for l in legs {
            let amount = crate::server::db::rows::stored_decimal("a plan leg's amount", &l.amount)?;
            parsed.push((l.symbol, amount));
        }
        return Ok(Subject {
            title: row.name,
            legs: parsed,
            cadence: serde_json::from_str(&row.cadence).map_err(bad)?,
            time: serde_json::from_str(&row.time_of_day).map_err(bad)?,
            zone: row.time_zone,
            mode: serde_json::from_str(&row.mode).map_err(bad)?,
            connection_id: row.connection_id,
        });
    }
    let mut errors = Vec::new();
    let mut legs = Vec::new();
    let cap = Decimal::from(state.settings.max_amount_per_run);
    for part in q.legs.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((symbol, amount)) = part.split_once(':') else {
            errors.push(invalid(
                "legs",
                format!("{part}: write SYMBOL:dollars, as VTI:100."),
            ));
            continue;
        };
        match (Symbol::parse(symbol), parse_amount(amount, cap)) {
            (Ok(s), Ok(a)) => legs.push((s.as_str().to_owned(), a)),
            (Err(e), _) | (_, Err(e)) => errors.push(invalid("legs", e)),
        }
    }
    if legs.is_empty() && errors.is_empty() {
        errors.push(invalid(
            "legs",
            "Name at least one symbol and amount, as VTI:100.",
        ));
    }
    let per_plan = tier
        .max_symbols_per_plan
        .map_or(MAX_AD_HOC_LEGS, |n| (n as usize).min(MAX_AD_HOC_LEGS));
    if legs.len() > per_plan {
        errors.push(invalid(
            "legs",
            format!("At most {per_plan} symbols per backtest on your plan."),
        ));
    }
    let every = if q.every.trim().is_empty() {
        "weekly:mon"
    } else {
        q.every.trim()
    };
    let cadence = match cadence(every) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(invalid("every", e.to_string()));
            None
        }
    };
    let mode = match q.mode.trim() {
        "" | "pure" => Mode::Pure,
        "smart" => Mode::Smart {
            sma_days: Mode::DEFAULT_SMA_DAYS,
            carry_skipped: false,
        },
        other => {
            errors.push(invalid("mode", format!("{other} is not pure or smart.")));
            Mode::Pure
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let cadence = cadence.ok_or_else(|| AppError::invalid("every", "Choose a schedule."))?;
    let title = legs
        .iter()
        .map(|(s, a)| format!("{s} {}", dollars(*a)))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Subject {
        title,
        legs,
        cadence,
        time: TimeOfDay::Local(NaiveTime::from_hms_opt(10, 0, 0).unwrap_or(NaiveTime::MIN)),
        zone: "America/New_York".into(),
        mode,
        connection_id: None,
    })
}

fn broker_error(e: BrokerError) -> AppError {
    match e {
        BrokerError::Unauthorized { .. } => AppError::Unavailable(
            "Your broker refused the connection's credentials; reconnect it on the Brokerage page."
                .into(),
        ),
        BrokerError::Api {
            status: 404 | 422,
            message,
            ..
        } => AppError::invalid(
            "legs",
            format!("The broker has no daily bars for that: {message}"),
        ),
        other => AppError::Unavailable(format!(
            "Could not fetch market data from your broker ({other}). Try again shortly."
        )),
    }
}

pub fn history_error(e: HistoryError) -> AppError {
    match e {
        HistoryError::Broker(b) => broker_error(b),
        HistoryError::Store(e) => AppError::from(e),
    }
}

pub fn plan_error(e: PlanError) -> AppError {
    match e {
        PlanError::NoBars(symbol) => AppError::invalid(
            "legs",
            format!("There are no daily bars for {symbol} in that range."),
        ),
        PlanError::NoRuns(from, to) => AppError::invalid(
            "from",
            format!("The plan has no run between {from} and {to}."),
        ),
        PlanError::Empty => AppError::invalid("legs", "The plan buys nothing per run."),
        PlanError::NothingBought => AppError::invalid("plan", "The plan has bought nothing yet."),
    }
}

/// Where `user`'s bars come from: `connection` (a plan's own), else their
/// first active connection, else the demo exchange's history.
pub async fn source_for(
    state: &AppState,
    user: &CurrentUser,
    connection: Option<i64>,
) -> Result<Source, AppError> {
    let rows = state.store.connections_of(user.id).await?;
    let row = connection
        .and_then(|id| rows.iter().find(|r| r.id == id))
        .or_else(|| rows.iter().find(|r| r.status == "active"));
    Ok(match row {
        Some(row) => {
            let (broker, host) = broker_for_page(state, row)?;
            Source::Broker {
                broker: Box::new(broker),
                host,
            }
        }
        None => Source::Embedded(state.exchange.clone()),
    })
}

/// The days a backtest covers, as asked (by default the last five years, or
/// fewer if the tier allows fewer, up to the newest complete trading day by
/// the source's clock), checked against the tier; and the New York date now.
pub async fn range(
    state: &AppState,
    source: &Source,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    tier: &Tier,
) -> Result<(NaiveDate, NaiveDate, NaiveDate), AppError> {
    let limits = tier.backtesting();
    let now = source.now(state).await.map_err(history_error)?;
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let newest = last_closed_day(now);
    let to = to.unwrap_or(newest);
    if to > newest {
        return Err(AppError::invalid(
            "to",
            format!("The newest complete trading day is {newest}; end there or before."),
        ));
    }
    let earliest = to
        .checked_sub_months(Months::new(12 * limits.years))
        .unwrap_or(NaiveDate::MIN);
    let from = from.unwrap_or_else(|| {
        to.checked_sub_months(Months::new(12 * limits.years.min(5)))
            .unwrap_or(earliest)
    });
    if from >= to {
        return Err(AppError::invalid("from", "Start before the end date."));
    }
    if from < earliest {
        return Err(AppError::Locked(format!(
            "Your {} plan backtests up to {} years at a time (from {earliest} for this end date). \
             Longer histories come with a higher tier; see the Pricing page.",
            tier.name, limits.years
        )));
    }
    Ok((from, to, today))
}

/// A backtest's question, checked, with its bars fetched: what the
/// comparison, the Monte Carlo and the rolling starts all run on.
pub struct Prepared {
    pub title: String,
    pub legs: Vec<(String, Decimal)>,
    pub schedule: Schedule,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub fill: Fill,
    /// The plan's own mode, and the smart DCA a pure plan is compared with.
    pub mode: Mode,
    pub smart: Mode,
    pub benchmark: String,
    pub bars: Bars,
    pub simulated: bool,
    pub tier: Tier,
}

impl Prepared {
    pub fn input(&self) -> PlanInput<'_> {
        PlanInput::new(&self.legs, &self.schedule, self.from, self.to, self.fill)
    }
}

/// Checks `q` for `user` (their plan, their tier's limits) and fetches its bars.
pub async fn prepare(
    state: &AppState,
    user: &CurrentUser,
    q: &BacktestQuery,
) -> Result<Prepared, AppError> {
    let tier = crate::server::billing::tier_of(state, user.id).await?;
    let subject = subject(state, user, q, &tier).await?;
    let mut errors = Vec::new();
    let from = date_field("from", &q.from, &mut errors);
    let to = date_field("to", &q.to, &mut errors);
    let benchmark = match q.benchmark.trim() {
        "" => "SPY".to_owned(),
        raw => match Symbol::parse(raw) {
            Ok(s) => s.as_str().to_owned(),
            Err(e) => {
                errors.push(invalid("benchmark", e));
                String::new()
            }
        },
    };
    let fill = fill_field(&q.fill, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }

    let source = source_for(state, user, subject.connection_id).await?;
    let (from, to, today) = range(state, &source, from, to, &tier).await?;

    let mut bars = Bars::new();
    let warm_up = from - chrono::Duration::days(WARM_UP_DAYS);
    let mut symbols: Vec<&str> = subject.legs.iter().map(|(s, _)| s.as_str()).collect();
    symbols.push(&benchmark);
    for symbol in symbols {
        if bars.contains_key(symbol) {
            continue;
        }
        let got = source
            .daily_bars(&state.store, symbol, warm_up, to, today)
            .await
            .map_err(history_error)?;
        bars.insert(symbol.to_owned(), got);
    }

    let schedule = Schedule::new(
        subject.cadence.clone(),
        subject.time,
        &subject.zone,
        from,
        Some(to),
    )
    .map_err(|e| AppError::invalid("every", e.to_string()))?;
    let smart = match subject.mode {
        Mode::Pure => Mode::Smart {
            sma_days: Mode::DEFAULT_SMA_DAYS,
            carry_skipped: false,
        },
        m => m,
    };
    let cadence_word = match subject.cadence {
        Cadence::Daily => "daily",
        Cadence::Weekly { .. } => "weekly",
        Cadence::Biweekly { .. } => "every two weeks",
        Cadence::Monthly { .. } => "monthly",
        Cadence::Custom { .. } => "on a custom schedule",
    };
    Ok(Prepared {
        title: format!("{} ({cadence_word})", subject.title),
        legs: subject.legs,
        schedule,
        from,
        to,
        fill,
        mode: subject.mode,
        smart,
        benchmark,
        bars,
        simulated: source.is_simulated(state.exchange_url.as_str()),
        tier,
    })
}

/// Runs the backtest `q` asks for, for `user`.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn run(
    state: &AppState,
    user: &CurrentUser,
    q: &BacktestQuery,
) -> Result<BacktestReport, AppError> {
    let p = prepare(state, user, q).await?;
    let comparison = blocking(move || {
        compare(
            &p.input(),
            &p.bars,
            &p.mode,
            &p.smart,
            Some(&p.benchmark),
            0.0,
        )
        .map(|c| (c, p))
    })
    .await?;
    let (comparison, p) = comparison;
    let limits = p.tier.backtesting();
    Ok(report(
        &comparison,
        p.title,
        p.from,
        p.to,
        p.benchmark,
        p.simulated,
        q,
        limits,
        state.chart_src.to_string(),
    ))
}

/// Runs CPU-bound backtest work off the async runtime.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PlanError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::from(anyhow::Error::from(e)))?
        .map_err(plan_error)
}

#[allow(clippy::too_many_arguments)]
fn report(
    c: &Comparison,
    title: String,
    from: NaiveDate,
    to: NaiveDate,
    benchmark: String,
    simulated: bool,
    q: &BacktestQuery,
    limits: BacktestLimits,
    chart_src: String,
) -> BacktestReport {
    let named: Vec<Vec<(&'static str, Option<f64>)>> =
        c.approaches.iter().map(|o| o.metrics.named()).collect();
    let metrics = named[0]
        .iter()
        .enumerate()
        .map(|(i, (key, _))| {
            let values: Vec<Option<f64>> = named.iter().map(|n| n[i].1).collect();
            MetricRow {
                key: (*key).to_owned(),
                label: plan_label(key).to_owned(),
                shown: c
                    .approaches
                    .iter()
                    .zip(&values)
                    .map(|(o, v)| plan_shown(&o.metrics, key, *v))
                    .collect(),
                values,
            }
        })
        .collect();
    let plan = c.plan();
    let chart = chart(&c.approaches, CHART_POINTS);
    let month_ends = month_ends(&chart.dates);
    BacktestReport {
        title,
        from,
        to,
        benchmark,
        headline: c.headline.clone(),
        simulated,
        approaches: c.approaches.iter().map(|o| o.name.clone()).collect(),
        plan_index: c.plan,
        metrics,
        buys: plan
            .buys
            .iter()
            .map(|b| BuyRow {
                date: b.date,
                symbol: b.symbol.clone(),
                dollars: dollars(b.dollars),
                quantity: b.quantity.normalize().to_string(),
                price: dollars(b.price),
            })
            .collect(),
        skipped: plan
            .skipped
            .iter()
            .map(|s| SkippedRow {
                date: s.date,
                symbol: s.symbol.clone(),
                dollars: dollars(s.dollars),
                reason: s.reason.clone(),
            })
            .collect(),
        chart,
        month_ends,
        query: q.to_query_string(),
        max_years: limits.years,
        max_monte_carlo_paths: limits.monte_carlo_paths,
        chart_src,
    }
}
