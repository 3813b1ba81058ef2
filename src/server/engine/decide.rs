//! The engine's decisions, apart from its I/O: what a broker's answer means
//! for an order, whether an intent may be sent, what to do after a refused or
//! unanswered send, and what a run's outcome is given its orders. Pure
//! functions over the typed states of [`crate::domain::run`]; `run.rs` does the
//! batching, the store and the broker calls, and asks these what to do.

use crate::domain::run::{OrderState, RunStatus};
use crate::server::broker::{BrokerError, INVALID_REQUEST, OrderStatus};
use chrono::Duration;
use rust_decimal::Decimal;

/// Why a disabled user's runs buy nothing.
pub const DISABLED: &str = "This Dripfeed account is disabled, so nothing is bought for it until an administrator enables it again.";
/// Why nothing is sent while the owner's kill switch is on.
pub const STOPPED: &str =
    "You stopped all trading (the kill switch), so nothing is bought until you reset it.";
/// Why nothing is sent while the instance-wide kill switch is on.
pub const STOPPED_GLOBALLY: &str = "An administrator stopped all trading on this Dripfeed, so nothing is bought until it is reset.";

/// How long an order whose send went unanswered may be missing from the
/// broker's books before it is taken as never placed (it may still be in
/// flight).
pub const IN_FLIGHT_GRACE: Duration = Duration::minutes(1);

pub use crate::domain::money::dollars as money;

/// Dripfeed's state for an order the broker reports in `status`. Anything not
/// final at the broker (new, accepted, partially filled, pending …) is
/// `submitted`: it is asked about again until it ends.
pub fn broker_state(status: &OrderStatus) -> OrderState {
    match status {
        OrderStatus::Filled => OrderState::Filled,
        OrderStatus::Canceled => OrderState::Canceled,
        OrderStatus::Expired => OrderState::Expired,
        OrderStatus::Rejected => OrderState::Rejected,
        _ => OrderState::Submitted,
    }
}

/// What may be sent for one order: nothing above `ceiling` (the plan's
/// per-run maximum for its symbol), and nothing at all while `halt` says why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub ceiling: Decimal,
    /// Why nothing may be sent for this account (disabled, a kill switch).
    pub halt: Option<&'static str>,
}

/// Whether an intent may go to the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendCheck {
    Send,
    /// End it unsent (`not_placed`), saying why.
    NotPlaced(String),
}

/// Checks an intent of `notional` dollars of `symbol` against `limits`,
/// whatever the stored intent says.
pub fn check_send(symbol: &str, notional: Decimal, limits: Limits) -> SendCheck {
    if let Some(why) = limits.halt {
        return SendCheck::NotPlaced(why.to_owned());
    }
    if notional > limits.ceiling || notional <= Decimal::ZERO {
        return SendCheck::NotPlaced(format!(
            "{} is more than this plan may spend on {symbol} in one run ({}), so it was not sent",
            money(notional),
            money(limits.ceiling)
        ));
    }
    SendCheck::Send
}

/// An order that was (or may have been) sent before is not in the broker's
/// books: wait for it, or send it (again, with the same client order id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFound {
    /// Possibly still in flight at the broker: look again later.
    LookAgainLater,
    Send,
}

/// The broker has no order with the client order id of an order in `state`,
/// last changed `since_change` ago.
pub fn not_found(state: OrderState, since_change: Duration) -> NotFound {
    if state == OrderState::Unknown && since_change < IN_FLIGHT_GRACE {
        NotFound::LookAgainLater
    } else {
        NotFound::Send
    }
}

/// What a failed send means, and what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// The broker refused this send, but an earlier one may exist (this was
    /// a resend, or the refusal is the code Alpaca gives a reused client
    /// order id): look it up; if it is not there, the order is rejected.
    LookUpElseReject { message: String },
    /// The broker refused a first send: rejected, nothing was bought.
    Reject { message: String },
    /// The credentials were refused: the connection needs reconnecting. A
    /// first send ends `not_placed`; after an earlier send the order is
    /// `unknown` until it can be looked up.
    Reconnect { then: OrderState, why: &'static str },
    /// Never reached the order book: the intent stands and is sent (with
    /// the same client order id) on a later pass.
    RetryLater,
    /// No clear answer (a timeout, an unreadable answer, an uncertain send):
    /// `unknown`, then looked up at once.
    UnknownThenLookUp { why: String },
}

/// `fresh`: the order is sent for the first time by this pass, so a refusal
/// is the broker's answer to it. Otherwise an earlier send may have arrived
/// (its answer lost, or its engine died), and a refusal of the resend may only
/// mean the first took the cash or the id: the look-up decides, never the
/// refusal.
pub fn on_send_error(e: &BrokerError, fresh: bool) -> SendFailure {
    match e {
        BrokerError::Api {
            status: status @ 400..=499,
            code,
            message,
        } if *status != 429 => {
            let message = message.clone();
            if !fresh || *code == Some(INVALID_REQUEST) {
                SendFailure::LookUpElseReject { message }
            } else {
                SendFailure::Reject { message }
            }
        }
        BrokerError::Unauthorized { .. } if fresh => SendFailure::Reconnect {
            then: OrderState::NotPlaced,
            why: "Alpaca refused the connection's credentials",
        },
        BrokerError::Unauthorized { .. } => SendFailure::Reconnect {
            then: OrderState::Unknown,
            why: "Alpaca refused the connection's credentials before the order could be confirmed",
        },
        BrokerError::RateLimited { .. } | BrokerError::Unreachable(_) => SendFailure::RetryLater,
        other => SendFailure::UnknownThenLookUp {
            why: other.to_string(),
        },
    }
}

/// One order as the run's outcome sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderOutcome<'a> {
    pub symbol: &'a str,
    pub state: OrderState,
    pub filled_qty: Decimal,
    pub reason: Option<&'a str>,
}

/// A run's outcome from its orders' (terminal) states: `filled` when every
/// order filled; `partially_filled` when any bought anything; the shared
/// state when all ended the same way (rejected, canceled, expired); otherwise
/// `failed`. The reason names each order that did not fill, and why.
pub fn run_outcome(orders: &[OrderOutcome<'_>]) -> (RunStatus, Option<String>) {
    if orders.iter().all(|o| o.state == OrderState::Filled) {
        return (RunStatus::Filled, None);
    }
    let problems: Vec<String> = orders
        .iter()
        .filter(|o| o.state != OrderState::Filled)
        .map(|o| {
            let why = o.reason.map(|r| format!(": {r}")).unwrap_or_default();
            let state = o.state.as_str().replace('_', " ");
            if o.filled_qty.is_zero() {
                format!("{} {state}{why}", o.symbol)
            } else {
                format!(
                    "{} {state} after filling {} shares{why}",
                    o.symbol,
                    o.filled_qty.normalize()
                )
            }
        })
        .collect();
    let reason = Some(problems.join("; "));
    if orders.iter().any(|o| !o.filled_qty.is_zero()) {
        return (RunStatus::PartiallyFilled, reason);
    }
    let first = orders
        .iter()
        .find(|o| o.state != OrderState::Filled)
        .map(|o| o.state);
    let all_same = orders.iter().all(|o| Some(o.state) == first);
    let status = match first {
        Some(OrderState::Rejected) if all_same => RunStatus::Rejected,
        Some(OrderState::Canceled) if all_same => RunStatus::Canceled,
        Some(OrderState::Expired) if all_same => RunStatus::Expired,
        _ => RunStatus::Failed,
    };
    (status, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("a decimal literal")
    }

    fn limits(ceiling: Decimal, may_send: bool) -> Limits {
        Limits {
            ceiling,
            halt: (!may_send).then_some(DISABLED),
        }
    }

    #[test]
    fn broker_states_map_final_answers_and_keep_everything_else_open() {
        let table = [
            (OrderStatus::Filled, OrderState::Filled),
            (OrderStatus::Canceled, OrderState::Canceled),
            (OrderStatus::Expired, OrderState::Expired),
            (OrderStatus::Rejected, OrderState::Rejected),
            (OrderStatus::New, OrderState::Submitted),
            (OrderStatus::Accepted, OrderState::Submitted),
            (OrderStatus::PartiallyFilled, OrderState::Submitted),
            (OrderStatus::PendingCancel, OrderState::Submitted),
            (OrderStatus::DoneForDay, OrderState::Submitted),
            (OrderStatus::Other("held".into()), OrderState::Submitted),
        ];
        for (broker, ours) in table {
            assert_eq!(broker_state(&broker), ours, "{broker:?}");
        }
    }

    #[test]
    fn an_intent_is_sent_only_within_the_plans_per_run_maximum_and_for_an_enabled_user() {
        let ten = d("10");
        assert_eq!(
            check_send("VTI", d("10"), limits(ten, true)),
            SendCheck::Send
        );
        assert_eq!(
            check_send("VTI", d("1"), limits(ten, true)),
            SendCheck::Send
        );
        let SendCheck::NotPlaced(why) = check_send("VTI", d("10.01"), limits(ten, true)) else {
            panic!("above the ceiling was sent");
        };
        assert_eq!(
            why,
            "$10.01 is more than this plan may spend on VTI in one run ($10.00), so it was not sent"
        );
        assert!(matches!(
            check_send("VTI", Decimal::ZERO, limits(ten, true)),
            SendCheck::NotPlaced(_)
        ));
        assert!(matches!(
            check_send("VTI", d("-5"), limits(ten, true)),
            SendCheck::NotPlaced(_)
        ));
        assert_eq!(
            check_send("VTI", d("5"), limits(ten, false)),
            SendCheck::NotPlaced(DISABLED.to_owned())
        );
    }

    #[test]
    fn a_missing_order_is_waited_for_only_just_after_an_unanswered_send() {
        let table = [
            (
                OrderState::Unknown,
                Duration::seconds(0),
                NotFound::LookAgainLater,
            ),
            (
                OrderState::Unknown,
                Duration::seconds(59),
                NotFound::LookAgainLater,
            ),
            (OrderState::Unknown, Duration::seconds(60), NotFound::Send),
            (OrderState::Intent, Duration::seconds(0), NotFound::Send),
            (OrderState::Intent, Duration::minutes(10), NotFound::Send),
        ];
        for (state, since, want) in table {
            assert_eq!(not_found(state, since), want, "{state} after {since}");
        }
    }

    #[test]
    fn send_failures_are_settled_by_a_look_up_whenever_an_earlier_send_may_exist() {
        let api = |status: u16, code: Option<u64>| BrokerError::Api {
            status,
            code,
            message: "no".into(),
        };
        let look_up = SendFailure::LookUpElseReject {
            message: "no".into(),
        };
        let reject = SendFailure::Reject {
            message: "no".into(),
        };
        let table: Vec<(BrokerError, bool, SendFailure)> = vec![
            (api(403, Some(40310000)), true, reject.clone()),
            (api(422, None), true, reject.clone()),
            (api(422, Some(INVALID_REQUEST)), true, look_up.clone()),
            (api(403, Some(40310000)), false, look_up.clone()),
            (api(422, None), false, look_up.clone()),
            (
                api(429, None),
                true,
                SendFailure::UnknownThenLookUp {
                    why: api(429, None).to_string(),
                },
            ),
            (
                api(500, None),
                true,
                SendFailure::UnknownThenLookUp {
                    why: api(500, None).to_string(),
                },
            ),
            (
                BrokerError::RateLimited {
                    retry_after_secs: 3,
                },
                false,
                SendFailure::RetryLater,
            ),
            (
                BrokerError::Unreachable("refused".into()),
                true,
                SendFailure::RetryLater,
            ),
            (
                BrokerError::Timeout,
                true,
                SendFailure::UnknownThenLookUp {
                    why: BrokerError::Timeout.to_string(),
                },
            ),
            (
                BrokerError::Uncertain("reset".into()),
                false,
                SendFailure::UnknownThenLookUp {
                    why: BrokerError::Uncertain("reset".into()).to_string(),
                },
            ),
        ];
        for (error, fresh, want) in table {
            assert_eq!(
                on_send_error(&error, fresh),
                want,
                "{error} (fresh: {fresh})"
            );
        }
        let unauthorized = BrokerError::Unauthorized {
            message: "bad key".into(),
        };
        assert!(matches!(
            on_send_error(&unauthorized, true),
            SendFailure::Reconnect {
                then: OrderState::NotPlaced,
                ..
            }
        ));
        assert!(matches!(
            on_send_error(&unauthorized, false),
            SendFailure::Reconnect {
                then: OrderState::Unknown,
                ..
            }
        ));
    }

    fn order(
        symbol: &'static str,
        state: OrderState,
        filled: Decimal,
        reason: Option<&'static str>,
    ) -> OrderOutcome<'static> {
        OrderOutcome {
            symbol,
            state,
            filled_qty: filled,
            reason,
        }
    }

    #[test]
    fn a_runs_outcome_follows_from_its_orders() {
        use OrderState::*;
        let z = Decimal::ZERO;
        let cases: Vec<(Vec<OrderOutcome<'_>>, RunStatus, Option<&str>)> = vec![
            (
                vec![
                    order("VTI", Filled, d("1"), None),
                    order("VXUS", Filled, d("2"), None),
                ],
                RunStatus::Filled,
                None,
            ),
            (
                vec![
                    order("VTI", Filled, d("1"), None),
                    order("VXUS", Rejected, z, Some("insufficient funds")),
                ],
                RunStatus::PartiallyFilled,
                Some("VXUS rejected: insufficient funds"),
            ),
            (
                vec![order(
                    "VTI",
                    Canceled,
                    d("0.5"),
                    Some("canceled by the user"),
                )],
                RunStatus::PartiallyFilled,
                Some("VTI canceled after filling 0.5 shares: canceled by the user"),
            ),
            (
                vec![
                    order("VTI", Rejected, z, None),
                    order("VXUS", Rejected, z, None),
                ],
                RunStatus::Rejected,
                Some("VTI rejected; VXUS rejected"),
            ),
            (
                vec![order("VTI", Expired, z, None)],
                RunStatus::Expired,
                Some("VTI expired"),
            ),
            (
                vec![order("VTI", Canceled, z, None)],
                RunStatus::Canceled,
                Some("VTI canceled"),
            ),
            (
                vec![
                    order("VTI", Rejected, z, None),
                    order("VXUS", Expired, z, None),
                ],
                RunStatus::Failed,
                Some("VTI rejected; VXUS expired"),
            ),
            (
                vec![order(
                    "VTI",
                    NotPlaced,
                    z,
                    Some("the brokerage connection was removed"),
                )],
                RunStatus::Failed,
                Some("VTI not placed: the brokerage connection was removed"),
            ),
        ];
        for (orders, status, reason) in cases {
            assert_eq!(
                run_outcome(&orders),
                (status, reason.map(str::to_owned)),
                "{orders:?}"
            );
        }
    }

    /// What the broker may say at any step, as the engine hears it.
    #[derive(Debug, Clone)]
    enum Answer {
        Order(OrderStatus),
        NoSuchOrder,
        Error(BrokerError),
    }

    fn answers() -> impl proptest::strategy::Strategy<Value = Answer> {
        use proptest::prelude::*;
        let status = prop_oneof![
            Just(OrderStatus::New),
            Just(OrderStatus::Accepted),
            Just(OrderStatus::PartiallyFilled),
            Just(OrderStatus::Filled),
            Just(OrderStatus::Canceled),
            Just(OrderStatus::Expired),
            Just(OrderStatus::Rejected),
            Just(OrderStatus::PendingCancel),
        ];
        let error = prop_oneof![
            (400u16..600, proptest::option::of(Just(INVALID_REQUEST))).prop_map(
                |(status, code)| {
                    BrokerError::Api {
                        status,
                        code,
                        message: "refused".into(),
                    }
                }
            ),
            Just(BrokerError::Unauthorized {
                message: "bad key".into()
            }),
            Just(BrokerError::RateLimited {
                retry_after_secs: 1
            }),
            Just(BrokerError::Timeout),
            Just(BrokerError::Unreachable("refused".into())),
            Just(BrokerError::Uncertain("reset".into())),
            Just(BrokerError::Decode("garbled".into())),
        ];
        prop_oneof![
            status.prop_map(Answer::Order),
            Just(Answer::NoSuchOrder),
            error.prop_map(Answer::Error),
        ]
    }

    /// One pass over one order, as `run.rs` makes it: refresh a placed
    /// order, look up one that may have been sent, else check and send it,
    /// each broker call answered by the next of `answers`. The new state, if
    /// it changed.
    fn pass(
        state: OrderState,
        placed: bool,
        fresh: bool,
        since_change: Duration,
        answers: &mut impl Iterator<Item = Answer>,
    ) -> Option<OrderState> {
        let mut ask = || answers.next().unwrap_or(Answer::NoSuchOrder);
        if state == OrderState::Submitted && placed {
            return match ask() {
                Answer::Order(s) => Some(broker_state(&s)),
                _ => None,
            };
        }
        if !fresh {
            match ask() {
                Answer::Order(s) => return Some(broker_state(&s)),
                Answer::NoSuchOrder => match not_found(state, since_change) {
                    NotFound::LookAgainLater => return None,
                    NotFound::Send => {}
                },
                Answer::Error(_) => return None,
            }
        }
        if let SendCheck::NotPlaced(_) = check_send(
            "VTI",
            Decimal::TEN,
            Limits {
                ceiling: Decimal::TEN,
                halt: None,
            },
        ) {
            return Some(OrderState::NotPlaced);
        }
        let error = match ask() {
            Answer::Order(s) => return Some(broker_state(&s)),
            // A send is answered with an order or an error.
            Answer::NoSuchOrder => BrokerError::Timeout,
            Answer::Error(e) => e,
        };
        match on_send_error(&error, fresh) {
            SendFailure::LookUpElseReject { .. } => match ask() {
                Answer::Order(s) => Some(broker_state(&s)),
                Answer::NoSuchOrder => Some(OrderState::Rejected),
                Answer::Error(_) => Some(OrderState::Unknown),
            },
            SendFailure::Reject { .. } => Some(OrderState::Rejected),
            SendFailure::Reconnect { then, .. } => Some(then),
            SendFailure::RetryLater => None,
            SendFailure::UnknownThenLookUp { .. } => match ask() {
                Answer::Order(s) => Some(broker_state(&s)),
                _ => Some(OrderState::Unknown),
            },
        }
    }

    // Seeded, so a run can be replayed: the seed is printed, and
    // `PROPTEST_RNG_SEED` picks another. Nothing is written to the source tree.
    proptest::proptest! {
        #![proptest_config(crate::domain::testing::seeded())]

        /// Whatever the broker answers, in whatever order, every move the
        /// decisions make is one the order's state machine allows, a terminal
        /// state never changes, and once the broker reports the order filled
        /// it ends filled, exactly once.
        #[test]
        fn any_sequence_of_broker_answers_ends_in_exactly_one_terminal_state(
            script in proptest::collection::vec(answers(), 0..40),
            minutes_between_passes in 0i64..3,
        ) {
            let mut answers = script.into_iter();
            let mut state = OrderState::Intent;
            let mut placed = false;
            let mut fresh = true;
            let mut ended = 0;
            for _ in 0..60 {
                if state.is_terminal() {
                    break;
                }
                let since = Duration::minutes(minutes_between_passes);
                if let Some(to) = pass(state, placed, fresh, since, &mut answers) {
                    proptest::prop_assert!(state.transition(to).is_ok(), "{state} -> {to}");
                    placed |= to == OrderState::Submitted;
                    state = to;
                    if state.is_terminal() {
                        ended += 1;
                    }
                }
                fresh = false;
            }
            // The broker's last word: the order filled. An order still open
            // takes it; a terminal one does not change.
            let before = state;
            let mut filled = std::iter::repeat(Answer::Order(OrderStatus::Filled));
            let mut passes = 0;
            while !state.is_terminal() && passes < 3 {
                if let Some(to) = pass(state, placed, fresh, Duration::minutes(5), &mut filled) {
                    proptest::prop_assert!(state.transition(to).is_ok(), "{state} -> {to}");
                    state = to;
                    ended += 1;
                }
                passes += 1;
            }
            proptest::prop_assert!(state.is_terminal(), "still {state}");
            proptest::prop_assert_eq!(ended, 1);
            if before.is_terminal() {
                proptest::prop_assert_eq!(state, before);
            }
        }

        /// A run's outcome is `filled` exactly when every order filled, and
        /// its reason names every order that did not.
        #[test]
        fn a_runs_outcome_is_filled_only_when_every_order_filled(
            states in proptest::collection::vec(
                (proptest::sample::select(vec![
                    OrderState::Filled,
                    OrderState::Canceled,
                    OrderState::Expired,
                    OrderState::Rejected,
                    OrderState::NotPlaced,
                    OrderState::Failed,
                ]), 0u32..3),
                1..5,
            ),
        ) {
            let symbols = ["AAA", "BBB", "CCC", "DDD", "EEE"];
            let orders: Vec<OrderOutcome<'_>> = states
                .iter()
                .zip(symbols)
                .map(|((state, filled), symbol)| OrderOutcome {
                    symbol,
                    state: *state,
                    filled_qty: if *state == OrderState::Filled {
                        Decimal::ONE
                    } else {
                        Decimal::from(*filled)
                    },
                    reason: None,
                })
                .collect();
            let (status, reason) = run_outcome(&orders);
            let all_filled = orders.iter().all(|o| o.state == OrderState::Filled);
            proptest::prop_assert_eq!(status == RunStatus::Filled, all_filled);
            proptest::prop_assert!(status.is_terminal());
            for o in orders.iter().filter(|o| o.state != OrderState::Filled) {
                let named = reason.as_deref().is_some_and(|r| r.contains(o.symbol));
                proptest::prop_assert!(named, "{} missing from {:?}", o.symbol, reason);
            }
        }
    }
}
