//! Structured logging: a `tracing` subscriber with an env filter, as text for
//! people or JSON for log collectors.

use crate::server::config::{LogFormat, Settings};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. A second call (as in tests) changes nothing.
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|e| {
        eprintln!(
            "dripfeed: ignoring the log filter {:?} ({e}); using \"info\"",
            settings.log
        );
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    let _ = match settings.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}
