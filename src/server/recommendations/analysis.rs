//! The optional AI analyst's part in GO: for each signal, a short rationale,
//! key risks and a confidence, labelled as AI-written on the page. The
//! prompt carries market facts only (no user data), so one answer per
//! symbol, signal and bar date serves every user and is cached. A daily
//! budget bounds the calls. Any failure (timeout, 429, 529, a refusal, an
//! answer that does not fit the schema) is counted and logged, without the
//! key, and the recommendation goes out with its rule-based reason alone.

use crate::domain::recommendation::Candidate;
use crate::domain::strategy::Bar;
use crate::server::analyst::{Analyst, AnalystConfig, Facts};
use crate::server::state::AppState;
use chrono::{DateTime, Utc};

/// Bars the prompt summarises.
const RECENT: usize = 20;

/// The last [`RECENT`] closes in a line: first and last, low and high, change.
pub fn recent_summary(bars: &[Bar]) -> String {
    let recent = &bars[bars.len().saturating_sub(RECENT)..];
    let (Some(first), Some(last)) = (recent.first(), recent.last()) else {
        return "no recent bars".into();
    };
    let low = recent.iter().map(|b| b.low).min().unwrap_or(first.low);
    let high = recent.iter().map(|b| b.high).max().unwrap_or(first.high);
    let change = crate::domain::recommendation::forward_return(
        crate::domain::recommendation::Side::Buy,
        first.close,
        last.close,
    )
    .unwrap_or_default();
    format!(
        "{} daily bars from {} to {}: close {} then {} ({change}%), low {low}, high {high}, last volume {}",
        recent.len(),
        first.date,
        last.date,
        first.close,
        last.close,
        last.volume.normalize()
    )
}

/// The analysis to attach, as stored JSON, or `None` (not configured, the
/// tier does not include it, the budget is spent, or the analyst failed).
pub async fn analysis_for(
    state: &AppState,
    candidate: &Candidate,
    bars: &[Bar],
    allowed: bool,
    now: DateTime<Utc>,
) -> Option<String> {
    let key = state.settings.anthropic_api_key.clone()?;
    if !allowed {
        return None;
    }
    match attempt(state, key, candidate, bars, now).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, "the AI analyst's cache or budget could not be read");
            None
        }
    }
}

async fn attempt(
    state: &AppState,
    key: secrecy::SecretString,
    c: &Candidate,
    bars: &[Bar],
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let store = &state.store;
    if let Some(cached) = store.ai_analysis(&c.symbol, c.signal, c.date).await? {
        return Ok(Some(cached));
    }
    let today = now.date_naive();
    if !store
        .take_ai_call(today, state.settings.ai_daily_budget)
        .await?
    {
        tracing::warn!(symbol = c.symbol, "the AI analyst's daily budget is spent");
        return Ok(None);
    }
    let analyst = Analyst::new(
        state.broker_http.clone(),
        AnalystConfig {
            api_key: key,
            base_url: state.settings.anthropic_url.clone(),
            model: state.settings.anthropic_model.clone(),
            timeout: std::time::Duration::from_secs(state.settings.ai_timeout_secs.max(1)),
        },
    );
    let facts = Facts::from_candidate(c, recent_summary(bars));
    match analyst.analyse(&facts).await {
        Ok(analysis) => {
            let json = serde_json::to_string(&analysis.into_dto(analyst.model()))?;
            store
                .save_ai_analysis(&c.symbol, c.signal, c.date, analyst.model(), &json, now)
                .await?;
            Ok(Some(json))
        }
        Err(e) => {
            store.count_ai_failure(today).await?;
            tracing::warn!(symbol = c.symbol, kind = e.kind(), error = %e, "the AI analyst failed; the rule-based reason stands");
            Ok(None)
        }
    }
}
