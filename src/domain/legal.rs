//! The regulatory wording Dripfeed shows, kept in one place so every page and
//! every record of acceptance use the same text.

/// Shown on every page. Dripfeed is a software tool, not an adviser.
pub const DISCLAIMER: &str = "Not investment advice. Dripfeed is a software tool, not a financial adviser. You are solely responsible for your trading decisions. Past performance does not guarantee future results. Trading involves risk of loss.";

/// The version of the Terms of Service currently shown. A user's acceptance is
/// recorded against this value; change it whenever the Terms text changes.
pub const TERMS_VERSION: &str = "2026-11-21";
