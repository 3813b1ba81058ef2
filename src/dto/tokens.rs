//! Wire types for personal API tokens (Settings → API tokens).

use crate::dto::stamp::Stamp;
use serde::{Deserialize, Serialize};

/// What a token may do. `Trade` includes everything `Read` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Look: account, plans, runs, recommendations, backtests, the ledger.
    Read,
    /// Also change plans, execute and ignore recommendations.
    Trade,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Trade => "trade",
        }
    }

    /// The scope named `s` (`read` or `trade`), if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "trade" => Some(Self::Trade),
            _ => None,
        }
    }

    /// Whether a token with this scope may do what `needed` allows.
    pub fn covers(self, needed: TokenScope) -> bool {
        self == TokenScope::Trade || needed == TokenScope::Read
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "Read only",
            Self::Trade => "Read and trade",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenView {
    pub id: i64,
    pub name: String,
    /// The token's first characters ("dft_a1b2c3d4"), to tell tokens apart.
    pub prefix: String,
    pub scope: TokenScope,
    pub created_at: Stamp,
    pub expires_at: Option<Stamp>,
    pub last_used_at: Option<Stamp>,
    pub revoked_at: Option<Stamp>,
    /// Past its expiry (and so refused).
    pub expired: bool,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiToken {
    pub token: String,
    pub view: ApiTokenView,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trade_covers_read_but_read_does_not_cover_trade() {
        assert!(TokenScope::Trade.covers(TokenScope::Read));
        assert!(TokenScope::Trade.covers(TokenScope::Trade));
        assert!(TokenScope::Read.covers(TokenScope::Read));
        assert!(!TokenScope::Read.covers(TokenScope::Trade));
    }

    #[test]
    fn scopes_read_back_from_their_names_and_nothing_else() {
        for s in [TokenScope::Read, TokenScope::Trade] {
            assert_eq!(TokenScope::parse(s.as_str()), Some(s));
        }
        assert_eq!(TokenScope::parse("admin"), None);
        assert_eq!(TokenScope::parse("Read"), None);
    }
}
