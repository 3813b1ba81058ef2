//! The states of a plan's run and of each of its orders, as types.
//!
//! A run (a plan's slot) goes `pending → running ⇄ submitted →` one terminal
//! outcome; it can also be written straight away as `skipped` or `missed`.
//! An order goes `intent →` (`submitted` | `unknown`)* `→` one terminal state.
//! A terminal state never changes again: [`RunStatus::transition`] and
//! [`OrderState::transition`] refuse any move out of one (in the style of
//! NautilusTrader's order state machine), and a stored value that is not one
//! of these names is an error, never a default.

use serde::{Deserialize, Serialize};

/// A stored state name that is not a known state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {value:?} is not a known state")]
pub struct UnknownState {
    pub kind: &'static str,
    pub value: String,
}

/// A move the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {kind} cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub kind: &'static str,
    pub from: &'static str,
    pub to: &'static str,
}

macro_rules! state_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every state, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored in the database and shown (with spaces for
            /// underscores) to people.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::domain::run::UnknownState;
            fn try_from(value: &str) -> Result<Self, $crate::domain::run::UnknownState> {
                match value {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::domain::run::UnknownState { kind: $kind, value: other.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}
pub(crate) use state_enum;

state_enum!(
    /// The state of one run of a plan.
    RunStatus, "run status", {
        Pending => "pending",
        Running => "running",
        Submitted => "submitted",
        Filled => "filled",
        PartiallyFilled => "partially_filled",
        Rejected => "rejected",
        Canceled => "canceled",
        Expired => "expired",
        Failed => "failed",
        Skipped => "skipped",
        Missed => "missed",
    }
);

state_enum!(
    /// The state of one order of a run, as Dripfeed knows it.
    OrderState, "order state", {
        Intent => "intent",
        Submitted => "submitted",
        Unknown => "unknown",
        Filled => "filled",
        Canceled => "canceled",
        Expired => "expired",
        Rejected => "rejected",
        NotPlaced => "not_placed",
        Failed => "failed",
    }
);

impl RunStatus {
    /// A run in one of these states has its outcome and never changes.
    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            RunStatus::Pending | RunStatus::Running | RunStatus::Submitted
        )
    }

    /// The state after moving to `to`, or why that move is not allowed.
    pub fn transition(self, to: RunStatus) -> Result<RunStatus, IllegalTransition> {
        use RunStatus::*;
        let allowed = match (self, to) {
            (Pending, Running | Skipped | Missed) => true,
            // Claimed again (a lapsed lease), parked on the broker, or ended.
            (Running | Submitted, Running | Submitted) => true,
            (Running | Submitted, outcome) => outcome.is_terminal(),
            _ => false,
        };
        if allowed {
            Ok(to)
        } else {
            Err(IllegalTransition {
                kind: "run",
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }
}

impl OrderState {
    /// An order in one of these states has its outcome and never changes.
    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            OrderState::Intent | OrderState::Submitted | OrderState::Unknown
        )
    }

    /// The state after moving to `to`, or why that move is not allowed:
    /// nothing goes back to `intent`, and a terminal state stays.
    pub fn transition(self, to: OrderState) -> Result<OrderState, IllegalTransition> {
        let allowed = !self.is_terminal() && to != OrderState::Intent;
        if allowed {
            Ok(to)
        } else {
            Err(IllegalTransition {
                kind: "order",
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_name_and_nothing_else_does() {
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::try_from(s.as_str()), Ok(*s));
        }
        for s in OrderState::ALL {
            assert_eq!(OrderState::try_from(s.as_str()), Ok(*s));
        }
        for bad in ["", "Filled", "done", "filled ", "partially filled"] {
            assert!(RunStatus::try_from(bad).is_err(), "{bad:?}");
            assert!(OrderState::try_from(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_terminal_state_never_changes() {
        for from in RunStatus::ALL.iter().filter(|s| s.is_terminal()) {
            for to in RunStatus::ALL {
                assert!(from.transition(*to).is_err(), "{from} -> {to}");
            }
        }
        for from in OrderState::ALL.iter().filter(|s| s.is_terminal()) {
            for to in OrderState::ALL {
                assert!(from.transition(*to).is_err(), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn runs_and_orders_move_only_forward() {
        use RunStatus as R;
        assert_eq!(R::Pending.transition(R::Running), Ok(R::Running));
        assert_eq!(R::Running.transition(R::Submitted), Ok(R::Submitted));
        assert_eq!(R::Submitted.transition(R::Filled), Ok(R::Filled));
        assert!(R::Running.transition(R::Pending).is_err());
        assert!(R::Pending.transition(R::Filled).is_err());
        use OrderState as O;
        assert_eq!(O::Intent.transition(O::Unknown), Ok(O::Unknown));
        assert_eq!(O::Unknown.transition(O::Filled), Ok(O::Filled));
        assert!(O::Submitted.transition(O::Intent).is_err());
    }

    #[test]
    fn any_sequence_of_moves_ends_in_at_most_one_terminal_state() {
        // Every sequence of three attempted moves: once terminal, it stays.
        for a in OrderState::ALL {
            for b in OrderState::ALL {
                for c in OrderState::ALL {
                    let mut state = OrderState::Intent;
                    let mut ended: Option<OrderState> = None;
                    for to in [*a, *b, *c] {
                        if let Ok(next) = state.transition(to) {
                            state = next;
                        }
                        if state.is_terminal() {
                            assert!(ended.is_none_or(|e| e == state));
                            ended = Some(state);
                        }
                    }
                }
            }
        }
    }
}
