//! The scheduling engine against the embedded exchange, on a real database:
//! one order per (plan, slot, symbol) whatever the broker does, every slot
//! ending in exactly one outcome with a reason.

use crate::helpers::TestApp;
use crate::helpers::weekly;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use claims::assert_ok;
use dripfeed::api::notifications::{MarkNotificationsRead, MyNotifications, NotificationDto};
use dripfeed::api::plans::{GetPlan, PlanDetail, PurchaseDto, PurchaseHistory};
use dripfeed::domain::plan::Mode;
use dripfeed::domain::strategy::{Gate, smart_dca};
use dripfeed::error::AppError;
use dripfeed::server::broker::exchange::{Fault, market};
use dripfeed::server::db::rows::{SlotOrderRow, SlotRow};
use dripfeed::server::engine::{Engine, client_order_id, reconcile};
use leptos::server_fn::ServerFn;
use rust_decimal::Decimal;

struct Fixture {
    app: TestApp,
    client: reqwest::Client,
    engine: Engine,
    plan_id: i64,
    /// The plan's first run.
    slot: DateTime<Utc>,
}

/// A user with the demo account and a weekly plan buying `legs`.
async fn fixture_with(legs: &[(&str, &str)], mode: Mode) -> Fixture {
    fixture_custom(legs, |input| input.mode = mode).await
}

/// Like [`fixture_with`], the plan adjusted by `adjust` before it is created.
async fn fixture_custom(
    legs: &[(&str, &str)],
    adjust: impl FnOnce(&mut dripfeed::api::plans::PlanInput),
) -> Fixture {
    let app = crate::helpers::spawn_app().await;
    let (client, connection) = app.user_with_demo("engine@example.com").await;
    let mut input = weekly(connection, legs);
    adjust(&mut input);
    let plan_id = assert_ok!(app.create_plan(&client, input).await);
    let next = app.list_plans(&client).await[0]
        .next_run
        .clone()
        .expect("a next run");
    let slot = DateTime::parse_from_rfc3339(&next.at.utc)
        .expect("RFC 3339")
        .with_timezone(&Utc);
    let engine = Engine::new(app.state.clone(), "test-engine");
    Fixture {
        app,
        client,
        engine,
        plan_id,
        slot,
    }
}

async fn fixture(legs: &[(&str, &str)]) -> Fixture {
    fixture_with(legs, Mode::Pure).await
}

impl Fixture {
    /// One engine pass at `at`, with the demo exchange's clock there too.
    async fn tick(&self, at: DateTime<Utc>) -> dripfeed::server::engine::TickReport {
        self.app.demo_exchange.set_clock(at, 0);
        self.engine.tick(at).await.expect("engine pass")
    }

    /// The plan's brokerage connection (the demo account).
    async fn connection_id(&self) -> i64 {
        self.app
            .store
            .plan_by_id(self.plan_id)
            .await
            .expect("plan")
            .and_then(|p| p.connection_id)
            .expect("connection")
    }

    /// The plan's `n`-th run from its first (0: the first), as its own
    /// schedule (as saved now) has it: holidays and DST change move runs, so
    /// a test never assumes `slot + 7 days`.
    async fn run(&self, n: usize) -> DateTime<Utc> {
        self.runs_after(self.slot - Duration::seconds(1), n + 1)
            .await
            .pop()
            .expect("enough runs")
    }

    /// The plan's next `n` runs after `after`, from its saved schedule.
    async fn runs_after(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let plan = self
            .app
            .store
            .plan_by_id(self.plan_id)
            .await
            .expect("plan")
            .expect("the plan exists");
        let schedule = dripfeed::server::engine::plan_schedule(&plan).expect("schedule");
        let runs: Vec<DateTime<Utc>> = schedule.next_runs(after, n).iter().map(|s| s.at).collect();
        assert_eq!(runs.len(), n, "the plan has {n} runs after {after}");
        runs
    }

    async fn slots(&self) -> Vec<SlotRow> {
        self.app
            .store
            .plan_slots(self.plan_id)
            .await
            .expect("slots")
    }

    async fn orders(&self, slot: &SlotRow) -> Vec<SlotOrderRow> {
        self.app.store.slot_orders(slot.id).await.expect("orders")
    }

    /// Places an order on the demo account directly, as another program (or
    /// an engine that died before recording it) would.
    fn place_directly(&self, symbol: &str, dollars: i64, client_order_id: &str, at: DateTime<Utc>) {
        use dripfeed::server::broker::exchange::ledger::{NewOrder, OrderType, Side, TimeInForce};
        self.app
            .demo_exchange
            .with_ledger(|l| {
                let account = l.accounts.values_mut().next().expect("the demo account");
                account
                    .submit(
                        NewOrder {
                            symbol: symbol.into(),
                            side: Some(Side::Buy),
                            order_type: Some(OrderType::Market),
                            time_in_force: Some(TimeInForce::Day),
                            notional: Some(Decimal::from(dollars)),
                            client_order_id: Some(client_order_id.into()),
                            ..Default::default()
                        },
                        at,
                        None,
                    )
                    .expect("placed")
            })
            .expect("ledger");
    }

    /// Every order the demo exchange holds, across accounts.
    fn exchange_orders(&self) -> Vec<dripfeed::server::broker::exchange::ledger::Order> {
        self.app
            .demo_exchange
            .with_ledger(|l| {
                l.accounts
                    .values()
                    .flat_map(|a| a.orders.clone())
                    .collect::<Vec<_>>()
            })
            .expect("ledger")
    }
}

#[tokio::test]
async fn a_due_plan_buys_each_symbol_exactly_once() {
    let f = fixture(&[("VTI", "25"), ("QQQ", "10")]).await;

    let early = f.tick(f.slot - Duration::minutes(1)).await;
    assert_eq!(early.materialised, 0);
    assert!(f.slots().await.is_empty());

    let report = f.tick(f.slot).await;
    assert_eq!((report.materialised, report.finished), (1, 1));
    let slots = f.slots().await;
    assert_eq!(slots.len(), 1);
    assert_eq!(slots[0].status, "filled", "{:?}", slots[0].reason);
    let orders = f.orders(&slots[0]).await;
    assert_eq!(orders.len(), 2);
    for o in &orders {
        assert_eq!(o.status, "filled");
        assert_eq!(
            o.client_order_id,
            client_order_id(f.plan_id, f.slot, &o.symbol)
        );
        assert!(o.broker_order_id.is_some() && o.filled_avg_price.is_some());
    }

    // More passes, now and later that day, place nothing more.
    for later in [0, 1, 30, 120] {
        f.tick(f.slot + Duration::minutes(later)).await;
    }
    assert_eq!(f.slots().await.len(), 1);
    assert_eq!(f.exchange_orders().len(), 2);
    let spent: Decimal = f.exchange_orders().iter().filter_map(|o| o.notional).sum();
    assert_eq!(spent, Decimal::from(35));

    // The plan's history shows the run, its orders and what was invested.
    let body = crate::helpers::outcome(
        f.app
            .call_server_fn_as(&f.client, GetPlan::PATH, &[("id", &f.plan_id.to_string())])
            .await,
    )
    .await
    .expect("plan detail");
    let detail: PlanDetail = serde_json::from_str(&body).expect("JSON");
    assert_eq!(detail.slots.len(), 1);
    assert_eq!(detail.slots[0].status, "filled");
    assert_eq!(detail.slots[0].orders.len(), 2);
    assert!(
        (detail.invested - Decimal::from(35)).abs() <= Decimal::new(2, 2),
        "{}",
        detail.invested
    );
    // Across plans, the purchase history lists both orders.
    let body = crate::helpers::outcome(
        f.app
            .call_server_fn_as(&f.client, PurchaseHistory::PATH, &[])
            .await,
    )
    .await
    .expect("history");
    let history: Vec<PurchaseDto> = serde_json::from_str(&body).expect("JSON");
    assert_eq!(history.len(), 2);
    assert!(
        history
            .iter()
            .all(|p| p.status == "filled" && p.plan_id == f.plan_id)
    );

    // The runs download as CSV, for the owner only.
    let csv_path = format!("/plans/{}/runs.csv", f.plan_id);
    let csv = f
        .client
        .get(f.app.url(&csv_path))
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let text = csv.text().await.expect("body");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("scheduled_at_utc,"));
    assert!(text.contains(&client_order_id(f.plan_id, f.slot, "QQQ")));
    let anonymous = crate::helpers::browser_like_client(&f.app.address);
    let r = anonymous
        .get(f.app.url(&csv_path))
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), 401);
    let (stranger, _) = f.app.user_with_demo("csv-stranger@example.com").await;
    let r = stranger
        .get(f.app.url(&csv_path))
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_first_purchase_ticks_off_the_last_first_step() {
    let f = fixture(&[("VTI", "25")]).await;
    let before = f.app.first_steps(&f.client).await;
    assert!(
        before.connected && before.planned && !before.bought,
        "{before:?}"
    );

    f.tick(f.slot).await;

    let after = f.app.first_steps(&f.client).await;
    assert!(after.done(), "{after:?}");
}

#[tokio::test]
async fn the_next_week_is_a_new_slot() {
    let f = fixture(&[("VTI", "25")]).await;
    f.tick(f.slot).await;
    f.tick(f.run(1).await).await;
    let slots = f.slots().await;
    assert_eq!(slots.len(), 2, "{slots:?}");
    assert!(slots.iter().all(|s| s.status == "filled"));
    assert_eq!(f.exchange_orders().len(), 2);
}

#[tokio::test]
async fn a_lost_answer_is_resolved_by_client_order_id_without_a_second_order() {
    let f = fixture(&[("VTI", "25")]).await;
    // Pre-flight's account and asset checks pass; the order is placed, then
    // the connection drops before the answer.
    f.app
        .demo_exchange
        .faults()
        .queue
        .extend([Fault::Pass, Fault::Pass, Fault::DropAfterCommit]);
    f.tick(f.slot).await;

    let slots = f.slots().await;
    assert_eq!(slots[0].status, "filled", "{:?}", slots[0].reason);
    assert_eq!(f.exchange_orders().len(), 1);
}

#[tokio::test]
async fn a_server_error_on_submission_is_retried_with_the_same_client_order_id() {
    let f = fixture(&[("VTI", "25")]).await;
    // Pre-flight: account, asset. Then the order POST fails with a 500 before
    // the exchange handles it, and so does the immediate look-up.
    f.app.demo_exchange.faults().queue.extend([
        Fault::Pass,
        Fault::Pass,
        Fault::Status(500),
        Fault::Status(500),
    ]);
    f.tick(f.slot).await;
    let slots = f.slots().await;
    assert_eq!(slots[0].status, "submitted");
    assert_eq!(f.orders(&slots[0]).await[0].status, "unknown");
    assert!(f.exchange_orders().is_empty());

    // A little later the engine looks again, finds nothing, and resends.
    f.tick(f.slot + Duration::minutes(2)).await;
    let slots = f.slots().await;
    assert_eq!(slots[0].status, "filled", "{:?}", slots[0].reason);
    assert_eq!(f.exchange_orders().len(), 1);
}

#[tokio::test]
async fn a_resend_refused_for_cash_after_a_lost_answer_is_resolved_by_looking_the_order_up() {
    let f = fixture(&[("VTI", "25")]).await;
    let not_found = Fault::Refuse {
        status: 404,
        code: 40410000,
        message: "order is not found.",
    };
    // Account and asset pass; the order is placed but its answer is lost,
    // and the look-up straight after does not see it yet.
    f.app.demo_exchange.faults().queue.extend([
        Fault::Pass,
        Fault::Pass,
        Fault::DropAfterCommit,
        not_found.clone(),
    ]);
    f.tick(f.slot).await;
    assert_eq!(f.orders(&f.slots().await[0]).await[0].status, "unknown");
    // Later the look-up still misses it, so the engine resends; the broker
    // refuses the resend because the first order took the cash.
    f.app.demo_exchange.faults().queue.extend([
        not_found,
        Fault::Refuse {
            status: 403,
            code: 40310000,
            message: "insufficient buying power",
        },
    ]);
    f.tick(f.slot + Duration::minutes(3)).await;

    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "filled", "{:?}", slot.reason);
    let order = &f.orders(slot).await[0];
    assert_eq!(order.status, "filled");
    assert!(order.broker_order_id.is_some());
    let orders = f.exchange_orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].notional, Some(Decimal::from(25)));
}

#[tokio::test]
async fn an_account_cannot_be_disconnected_while_a_run_on_it_is_being_confirmed() {
    use dripfeed::api::broker::DisconnectBroker;
    let f = fixture(&[("VTI", "25")]).await;
    // The order's answer and the look-up after it fail: the run waits on
    // the broker.
    f.app.demo_exchange.faults().queue.extend([
        Fault::Pass,
        Fault::Pass,
        Fault::Status(500),
        Fault::Status(500),
    ]);
    f.tick(f.slot).await;
    assert_eq!(f.slots().await[0].status, "submitted");
    let connection = f.connection_id().await.to_string();
    let disconnect = || async {
        crate::helpers::outcome(
            f.app
                .call_server_fn_as(&f.client, DisconnectBroker::PATH, &[("id", &connection)])
                .await,
        )
        .await
    };
    match disconnect().await {
        Err(AppError::Conflict(message)) => {
            assert!(message.contains("still being confirmed"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The run reaches its outcome; then the account can go.
    f.tick(f.slot + Duration::minutes(2)).await;
    assert_eq!(f.slots().await[0].status, "filled");
    assert_ok!(disconnect().await);
    let plan = f
        .app
        .store
        .plan_by_id(f.plan_id)
        .await
        .expect("plan")
        .expect("exists");
    assert_eq!((plan.status.as_str(), plan.connection_id), ("paused", None));
}

#[tokio::test]
async fn a_duplicate_refusal_is_settled_by_its_code_and_a_look_up_not_by_its_words() {
    let f = fixture(&[("VTI", "25")]).await;
    // Another program already placed this run's order; the broker refuses
    // ours with its invalid-request code and a message that does not say why.
    let cid = client_order_id(f.plan_id, f.slot, "VTI");
    f.place_directly("VTI", 25, &cid, f.slot);
    f.app.demo_exchange.faults().queue.extend([
        Fault::Pass,
        Fault::Pass,
        Fault::Refuse {
            status: 422,
            code: 40010001,
            message: "request is not valid",
        },
    ]);
    f.tick(f.slot).await;
    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "filled", "{:?}", slot.reason);
    assert_eq!(f.exchange_orders().len(), 1);

    // The same code for a request that really is invalid: the look-up finds
    // nothing, and the order ends rejected (it is not retried forever).
    let next = f.run(1).await;
    f.app.demo_exchange.faults().queue.extend([
        Fault::Pass,
        Fault::Pass,
        Fault::Refuse {
            status: 422,
            code: 40010001,
            message: "notional must be >= 1",
        },
    ]);
    f.tick(next).await;
    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "rejected", "{:?}", slot.reason);
    assert!(slot.finished_at.is_some());
    assert_eq!(f.exchange_orders().len(), 1);
}

#[tokio::test]
async fn an_unknown_state_is_refused_when_written_and_an_error_when_read() {
    let f = fixture(&[("VTI", "25")]).await;
    f.tick(f.slot).await;
    // The database refuses a state the engine does not know.
    for sql in [
        "UPDATE slot_orders SET status = 'bogus'",
        "UPDATE plan_slots SET status = 'done'",
    ] {
        assert!(f.app.try_execute_sql(sql).await.is_err(), "{sql}");
    }
    // A value that got in anyway (the check removed by hand) makes reading
    // the row fail loudly instead of standing for some other state.
    let unchecked = match &f.app.store {
        dripfeed::server::db::Store::Sqlite(_) => "DROP TRIGGER ck_slot_orders_status_update",
        dripfeed::server::db::Store::Postgres(_) => {
            "ALTER TABLE slot_orders DROP CONSTRAINT ck_slot_orders_status"
        }
    };
    f.app.execute_sql(unchecked).await;
    f.app
        .execute_sql("UPDATE slot_orders SET status = 'bogus'")
        .await;
    let slot = &f.slots().await[0];
    let read = f.app.store.slot_orders(slot.id).await;
    let error = format!("{:#}", read.expect_err("an unknown state is an error"));
    assert!(error.contains("bogus"), "{error}");
}

#[tokio::test]
async fn a_rate_limited_submission_waits_and_goes_through_once() {
    let f = fixture(&[("VTI", "25")]).await;
    f.app.demo_exchange.faults().queue.extend([
        Fault::Pass,
        Fault::Pass,
        Fault::RateLimited { reset_in_secs: 1 },
    ]);
    f.tick(f.slot).await;
    assert!(f.exchange_orders().is_empty());
    f.tick(f.slot + Duration::minutes(3)).await;
    assert_eq!(f.slots().await[0].status, "filled");
    assert_eq!(f.exchange_orders().len(), 1);
}

#[tokio::test]
async fn an_engine_that_died_after_sending_is_taken_over_without_a_duplicate() {
    let f = fixture(&[("VTI", "25")]).await;
    let store = &f.app.store;
    // A first engine writes the slot, claims it, writes the intent, sends the
    // order... and dies before recording anything.
    f.app.demo_exchange.set_clock(f.slot, 0);
    let date = f
        .slot
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    assert!(
        store
            .insert_slot(
                f.plan_id,
                f.slot,
                date,
                dripfeed::domain::run::RunStatus::Pending,
                None
            )
            .await
            .expect("slot")
    );
    let claimed = store
        .claim_slots("dead-engine", f.slot, f.slot + Duration::minutes(2), 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let cid = client_order_id(f.plan_id, f.slot, "VTI");
    store
        .insert_intents(
            f.plan_id,
            claimed[0].id,
            &[("VTI".into(), "25".into(), cid.clone())],
            &[],
        )
        .await
        .expect("intent");
    f.place_directly("VTI", 25, &cid, f.app.demo_exchange.now());

    // While its lease holds, nobody else touches the slot.
    f.tick(f.slot + Duration::minutes(1)).await;
    assert_eq!(f.slots().await[0].status, "running");

    // After it, this engine takes over and finds the order by its id.
    f.tick(f.slot + Duration::minutes(3)).await;
    let slots = f.slots().await;
    assert_eq!(slots[0].status, "filled", "{:?}", slots[0].reason);
    assert_eq!(slots[0].claimed_by.as_deref(), Some("test-engine"));
    assert_eq!(f.exchange_orders().len(), 1);
}

/// The database goes away between an order leaving and its answer being
/// recorded: on SQLite another writer holds the database for longer than the
/// busy timeout; on PostgreSQL every connection the app holds is cut, as a
/// server restart does. The order is placed once, the run is not lost, and a
/// later pass finishes it without anyone stepping in.
#[tokio::test]
async fn a_database_outage_while_an_order_is_in_flight_loses_nothing_and_duplicates_nothing() {
    use sqlx::Connection;
    let f = fixture(&[("VTI", "25")]).await;
    let at = f.slot;
    // Every broker call takes a second: long enough to take the database
    // away while the order is on its way.
    f.app.demo_exchange.set_clock(at, 0);
    f.app.demo_exchange.faults().latency = std::time::Duration::from_secs(1);
    let engine = f.engine.clone();
    let pass = tokio::spawn(async move { engine.tick(at).await });
    // The intent is committed before its order is sent, and nothing is
    // written between the two.
    let slot_id = loop {
        let slot = f.slots().await.into_iter().next();
        if let Some(slot) = slot
            && !f.orders(&slot).await.is_empty()
        {
            break slot.id;
        }
        assert!(
            !pass.is_finished(),
            "the pass ended before writing an intent"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let sqlite = matches!(f.app.store, dripfeed::server::db::Store::Sqlite(_));
    if sqlite {
        let mut writer = sqlx::SqliteConnection::connect(&f.app.database_url)
            .await
            .expect("a second connection");
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut writer)
            .await
            .expect("the write lock");
        // The answer arrives while the lock is held; its write waits out the
        // busy timeout and gives up. The pass itself carries on.
        let _ = pass.await.expect("the pass does not panic");
        sqlx::query("ROLLBACK")
            .execute(&mut writer)
            .await
            .expect("release");
        let slot = &f.slots().await[0];
        assert!(
            !slot.status.is_terminal(),
            "the outage hit before the answer was recorded: {:?}",
            slot.status
        );
    } else {
        let mut admin = sqlx::PgConnection::connect(&f.app.database_url)
            .await
            .expect("a second connection");
        let cut: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(&mut admin)
        .await
        .expect("cut the app's connections");
        assert!(!cut.is_empty(), "the app held connections to cut");
        let _ = pass.await.expect("the pass does not panic");
    }
    assert_eq!(f.exchange_orders().len(), 1, "the order was placed once");

    // Once the run's lease has lapsed, the next pass finds the order by its
    // client order id and ends the run; nothing is sent again.
    f.app.demo_exchange.faults().latency = std::time::Duration::ZERO;
    f.tick(at + Duration::minutes(3)).await;
    let slots = f.slots().await;
    assert_eq!(slots.len(), 1);
    assert_eq!(slots[0].id, slot_id);
    assert_eq!(slots[0].status, "filled", "{:?}", slots[0].reason);
    let orders = f.orders(&slots[0]).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(
        orders[0].client_order_id,
        client_order_id(f.plan_id, at, "VTI")
    );
    assert_eq!(f.exchange_orders().len(), 1, "nothing was sent twice");
    let notices = notifications(&f).await;
    assert_eq!(notices.len(), 1, "one notice of the purchase: {notices:?}");
}

#[tokio::test]
async fn a_partial_fill_ends_the_slot_with_what_was_bought_and_why() {
    let f = fixture(&[("VTI", "100")]).await;
    f.app.demo_exchange.faults().partial_fill = Some(Decimal::new(5, 1));
    f.tick(f.slot).await;
    assert_eq!(f.slots().await[0].status, "submitted");
    // The rest expires at the close; the next check sees it.
    let close = dripfeed::domain::calendar::trading_day(f.slots().await[0].trading_date)
        .expect("a trading day")
        .close_at();
    f.tick(close + Duration::minutes(1)).await;
    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "partially_filled");
    assert!(
        slot.reason
            .as_deref()
            .unwrap_or_default()
            .contains("expired after filling"),
        "{slot:?}"
    );
    let order = &f.orders(slot).await[0];
    assert!(order.filled_qty.parse::<Decimal>().expect("qty") > Decimal::ZERO);
}

#[tokio::test]
async fn without_enough_cash_the_run_is_skipped_with_the_numbers() {
    let f = fixture(&[("VTI", "25")]).await;
    f.app
        .demo_exchange
        .with_ledger(|l| {
            l.accounts
                .values_mut()
                .for_each(|a| a.cash = Decimal::from(5))
        })
        .expect("ledger");
    f.tick(f.slot).await;
    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "skipped");
    let reason = slot.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("$25.00") && reason.contains("$5.00"),
        "{reason}"
    );
    assert!(f.exchange_orders().is_empty());
}

#[tokio::test]
async fn a_run_the_engine_was_down_for_is_caught_up_in_session_or_marked_missed() {
    let f = fixture(&[("VTI", "25")]).await;
    // Two hours late, same session: caught up.
    f.tick(f.slot + Duration::hours(2)).await;
    assert_eq!(f.slots().await[0].status, "filled");

    let g = fixture(&[("VTI", "25")]).await;
    // The engine comes back the next day: too late for that session.
    g.tick(g.slot + Duration::days(1)).await;
    let slot = &g.slots().await[0];
    assert_eq!(slot.status, "missed");
    assert!(
        slot.reason
            .as_deref()
            .unwrap_or_default()
            .contains("not running")
    );
    assert!(g.exchange_orders().is_empty());
}

/// Whether smart DCA (20-day average) skips `symbol` on `date` in the
/// simulated market: its last close before that day is above the average.
fn skips_on(symbol: &str, date: NaiveDate) -> bool {
    let closes: Vec<Decimal> =
        market::daily_bars(symbol, date - Duration::days(60), date - Duration::days(1))
            .iter()
            .map(|b| b.close)
            .collect();
    matches!(smart_dca(&closes, 20), Gate::Skip { .. })
}

/// A symbol whose last close before `date` is above (or at/below) its 20-day
/// average in the simulated market.
fn symbol_where(date: NaiveDate, above: bool) -> &'static str {
    market::UNIVERSE
        .iter()
        .filter(|a| a.tradable && a.fractionable)
        .find(|a| skips_on(a.symbol, date) == above)
        .map(|a| a.symbol)
        .expect("some symbol on each side of its average")
}

/// The New York trading date of an instant.
fn trading_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::America::New_York).date_naive()
}

/// The amount a plan leg carries now.
async fn carried(f: &Fixture, symbol: &str) -> Decimal {
    let legs = f.app.store.legs_with_carry(f.plan_id).await.expect("legs");
    let (_, carry) = legs
        .iter()
        .find(|(l, _)| l.symbol == symbol)
        .expect("the leg");
    carry.parse().expect("a stored carry")
}

#[tokio::test]
async fn a_smart_run_retried_through_broker_trouble_carries_a_skipped_amount_once() {
    let probe = fixture(&[("VTI", "25")]).await;
    let date = trading_date(probe.slot);
    let above = symbol_where(date, true);
    let below = symbol_where(date, false);
    let f = fixture_with(
        &[(above, "10"), (below, "10")],
        Mode::Smart {
            sma_days: 20,
            carry_skipped: true,
        },
    )
    .await;
    // Pre-flight asks for the account, then each symbol's daily bars in turn:
    // the first symbol's are read (and skip it), the second symbol's fail
    // every attempt the client makes (503s, then timeouts), three passes
    // running, each after the last one's lease ran out.
    let failing = [
        vec![Fault::Status(503); 3],
        vec![Fault::Stall(std::time::Duration::from_secs(3)); 3],
        vec![Fault::Status(500); 3],
    ];
    for (pass, faults) in (0i64..).zip(failing) {
        {
            let mut queue = f.app.demo_exchange.faults();
            queue.queue.extend([Fault::Pass, Fault::Pass]);
            queue.queue.extend(faults);
        }
        f.tick(f.slot + Duration::minutes(3 * pass)).await;
        let slot = &f.slots().await[0];
        assert_eq!(slot.finished_at, None, "pass {pass} left it for a retry");
        assert_eq!(
            carried(&f, above).await,
            Decimal::ZERO,
            "nothing carried yet"
        );
    }
    f.tick(f.slot + Duration::minutes(9)).await;
    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "filled", "{:?}", slot.reason);
    let bought: Vec<(String, Option<Decimal>)> = f
        .exchange_orders()
        .iter()
        .map(|o| (o.symbol.clone(), o.notional))
        .collect();
    assert_eq!(bought, [(below.to_owned(), Some(Decimal::from(10)))]);
    assert_eq!(
        carried(&f, above).await,
        Decimal::from(10),
        "one skipped run's $10, however many attempts the run took"
    );

    // The next run, retried once as well, spends the carry (or carries one
    // more run's worth) exactly as the rule says.
    let next = f.run(1).await;
    {
        let mut queue = f.app.demo_exchange.faults();
        queue.queue.extend([Fault::Pass, Fault::Pass]);
        queue.queue.extend(vec![Fault::Status(503); 3]);
    }
    f.tick(next).await;
    f.tick(next + Duration::minutes(3)).await;
    assert!(f.slots().await[0].finished_at.is_some());
    let day = trading_date(next);
    let mut expected = Vec::new();
    let mut expected_carry = Decimal::ZERO;
    if skips_on(above, day) {
        expected_carry = Decimal::from(20);
    } else {
        expected.push((above.to_owned(), Decimal::from(20)));
    }
    if !skips_on(below, day) {
        expected.push((below.to_owned(), Decimal::from(10)));
    }
    let second: Vec<(String, Decimal)> = f
        .exchange_orders()
        .iter()
        .skip(1)
        .map(|o| (o.symbol.clone(), o.notional.expect("notional")))
        .collect();
    assert_eq!(second, expected);
    assert_eq!(carried(&f, above).await, expected_carry);
}

#[tokio::test]
async fn a_disabled_users_plans_buy_nothing_and_enabling_resumes_only_what_ran_before() {
    use dripfeed::server::auth::ClientInfo;
    let f = fixture(&[("VTI", "25")]).await;
    // A second plan on the account, which its owner paused themselves.
    let connection = f.connection_id().await;
    let paused = assert_ok!(
        f.app
            .create_plan(&f.client, weekly(connection, &[("QQQ", "5")]))
            .await
    );
    assert_ok!(
        f.app
            .status_change(&f.client, dripfeed::api::plans::PausePlan::PATH, paused)
            .await
    );
    let owner = f
        .app
        .store
        .plan_by_id(f.plan_id)
        .await
        .expect("plan")
        .expect("exists")
        .user_id;
    let admin = ClientInfo {
        ip: None,
        user_agent: None,
    };
    let store = &f.app.store;
    assert_ok!(dripfeed::server::admin::set_disabled(store, &admin, None, owner, true).await);

    f.tick(f.slot).await;
    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "skipped");
    assert!(
        slot.reason
            .as_deref()
            .unwrap_or_default()
            .contains("disabled"),
        "{:?}",
        slot.reason
    );
    assert!(
        f.exchange_orders().is_empty(),
        "nothing bought while disabled"
    );

    assert_ok!(dripfeed::server::admin::set_disabled(store, &admin, None, owner, false).await);
    let next = f.run(1).await;
    f.tick(next).await;
    assert_eq!(f.slots().await[0].status, "filled");
    let paused_plan = store
        .plan_by_id(paused)
        .await
        .expect("plan")
        .expect("exists");
    assert_eq!(paused_plan.status, "paused", "the owner's pause stands");
    assert!(store.plan_slots(paused).await.expect("slots").is_empty());
    let bought: Vec<String> = f
        .exchange_orders()
        .iter()
        .map(|o| o.symbol.clone())
        .collect();
    assert_eq!(bought, ["VTI"]);
}

#[tokio::test]
async fn an_intent_left_for_a_user_who_was_then_disabled_is_never_sent() {
    let f = fixture(&[("VTI", "25")]).await;
    let store = &f.app.store;
    // An engine wrote the run's intent and died before sending it; then an
    // administrator disabled the owner.
    store
        .insert_slot(
            f.plan_id,
            f.slot,
            trading_date(f.slot),
            dripfeed::domain::run::RunStatus::Pending,
            None,
        )
        .await
        .expect("slot");
    let claimed = store
        .claim_slots("dead-engine", f.slot, f.slot + Duration::minutes(2), 10)
        .await
        .expect("claim");
    let cid = client_order_id(f.plan_id, f.slot, "VTI");
    store
        .insert_intents(
            f.plan_id,
            claimed[0].id,
            &[("VTI".into(), "25".into(), cid)],
            &[],
        )
        .await
        .expect("intent");
    f.app
        .execute_sql("UPDATE users SET disabled_at = created_at")
        .await;
    f.tick(f.slot + Duration::minutes(3)).await;
    let slot = &f.slots().await[0];
    assert_ne!(slot.status, "filled");
    assert!(slot.finished_at.is_some(), "the run ends");
    assert!(f.exchange_orders().is_empty());
}

#[tokio::test]
async fn no_order_leaves_for_more_than_the_plans_per_run_maximum() {
    let f = fixture(&[("VTI", "25")]).await;
    // A carry the plan's rules do not allow (pure DCA carries nothing), as a
    // bug or a tampered row could leave it: the run buys the plan's $25.
    f.app
        .execute_sql("UPDATE plan_legs SET carry = '1000'")
        .await;
    f.tick(f.slot).await;
    assert_eq!(f.slots().await[0].status, "filled");
    let orders = f.exchange_orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].notional, Some(Decimal::from(25)));
    assert_eq!(carried(&f, "VTI").await, Decimal::ZERO);

    // An intent for $500 written for the next run (by a bug, or by hand):
    // the engine that takes the run over never sends it.
    let next = f.run(1).await;
    let store = &f.app.store;
    store
        .insert_slot(
            f.plan_id,
            next,
            trading_date(next),
            dripfeed::domain::run::RunStatus::Pending,
            None,
        )
        .await
        .expect("slot");
    let claimed = store
        .claim_slots("dead-engine", next, next + Duration::minutes(2), 10)
        .await
        .expect("claim");
    let cid = client_order_id(f.plan_id, next, "VTI");
    store
        .insert_intents(
            f.plan_id,
            claimed[0].id,
            &[("VTI".into(), "500".into(), cid)],
            &[],
        )
        .await
        .expect("intent");
    f.tick(next + Duration::minutes(3)).await;
    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "failed");
    assert!(
        slot.reason
            .as_deref()
            .unwrap_or_default()
            .contains("more than this plan may spend on VTI in one run ($25.00)"),
        "{:?}",
        slot.reason
    );
    assert_eq!(f.exchange_orders().len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn smart_dca_buys_below_the_average_and_skips_above_it() {
    let probe = fixture(&[("VTI", "25")]).await;
    let date = probe
        .slots()
        .await
        .first()
        .map(|s| s.trading_date)
        .unwrap_or_else(|| {
            probe
                .slot
                .with_timezone(&chrono_tz::America::New_York)
                .date_naive()
        });
    let above = symbol_where(date, true);
    let below = symbol_where(date, false);
    let f = fixture_with(
        &[(above, "10"), (below, "10")],
        Mode::Smart {
            sma_days: 20,
            carry_skipped: true,
        },
    )
    .await;
    f.tick(f.slot).await;
    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "filled", "{slot:?}");
    let orders = f.orders(slot).await;
    assert_eq!(
        orders.iter().map(|o| o.symbol.as_str()).collect::<Vec<_>>(),
        [below]
    );
    // The skipped $10 waits for the next run that buys.
    let legs = f.app.store.legs_with_carry(f.plan_id).await.expect("legs");
    let carried = legs
        .iter()
        .find(|(l, _)| l.symbol == above)
        .expect("leg")
        .1
        .clone();
    assert_eq!(
        carried.parse::<Decimal>().expect("carry"),
        Decimal::from(10)
    );
}

#[tokio::test]
async fn reconciliation_reports_unknown_orders_and_stuck_slots_once() {
    let f = fixture(&[("VTI", "25")]).await;
    f.tick(f.slot).await;
    // An order with our prefix that Dripfeed has no record of.
    f.place_directly("SPY", 5, "df-999-1-SPY", f.slot);
    // A slot some dead engine left running.
    let later = f.run(1).await;
    let date = later
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    f.app
        .store
        .insert_slot(
            f.plan_id,
            later,
            date,
            dripfeed::domain::run::RunStatus::Pending,
            None,
        )
        .await
        .expect("slot");
    f.app
        .store
        .claim_slots("dead-engine", later, later + Duration::days(30), 10)
        .await
        .expect("claim");

    let findings = reconcile(&f.engine, later + Duration::hours(1))
        .await
        .expect("reconcile");
    assert_eq!(findings.unknown_orders, ["df-999-1-SPY"]);
    assert_eq!(findings.stuck_slots.len(), 1);
    let again = reconcile(&f.engine, later + Duration::hours(2))
        .await
        .expect("reconcile");
    assert_eq!(again.unknown_orders.len(), 1, "still there, reported once");
    let actions = f.app.text_column("SELECT action FROM audit_log").await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "engine.unknown_order")
            .count(),
        1
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "engine.slot_stuck").count(),
        1
    );
}

#[tokio::test]
async fn on_sqlite_only_one_engine_runs_per_database() {
    let f = fixture(&[("VTI", "25")]).await;
    let other = Engine::new(f.app.state.clone(), "other-engine");
    assert!(f.engine.hold_lease().await.expect("lease"));
    match f.app.store {
        dripfeed::server::db::Store::Sqlite(_) => {
            assert!(!other.hold_lease().await.expect("lease"));
            f.app
                .store
                .release_engine_lease(f.engine.owner())
                .await
                .expect("release");
            assert!(other.hold_lease().await.expect("lease"));
        }
        // PostgreSQL shares the work through row locks instead.
        dripfeed::server::db::Store::Postgres(_) => {
            assert!(other.hold_lease().await.expect("lease"));
        }
    }
}

async fn notifications(f: &Fixture) -> Vec<NotificationDto> {
    let body = crate::helpers::outcome(
        f.app
            .call_server_fn_as(&f.client, MyNotifications::PATH, &[])
            .await,
    )
    .await
    .expect("notifications");
    serde_json::from_str(&body).expect("JSON")
}

#[tokio::test]
async fn owners_are_notified_of_each_outcome_once_as_they_asked() {
    let f = fixture(&[("VTI", "25")]).await;
    // The owner lives in Chicago; the plan runs on New York time.
    f.app
        .execute_sql("UPDATE users SET time_zone = 'America/Chicago'")
        .await;
    f.tick(f.slot).await;
    f.tick(f.slot + Duration::minutes(5)).await;
    let list = notifications(&f).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].kind, "fill");
    assert!(list[0].title.contains("Core ETFs") && !list[0].read);
    // What was bought, in the owner's zone: symbol, shares, price, dollars.
    let order = &f.orders(&f.slots().await[0]).await[0];
    let qty: Decimal = order.filled_qty.parse().expect("a quantity");
    let price: Decimal = order
        .filled_avg_price
        .as_deref()
        .expect("a price")
        .parse()
        .expect("a price");
    let local = f
        .slot
        .with_timezone(&chrono_tz::America::Chicago)
        .format("%a %-d %b, %-H:%M %Z")
        .to_string();
    let bought = format!(
        "VTI: {} shares at {} ({})",
        qty.normalize(),
        dripfeed::domain::money::dollars(price),
        dripfeed::domain::money::dollars(qty * price)
    );
    assert!(
        list[0]
            .body
            .starts_with(&format!("{local}: bought {bought}")),
        "{} does not start with {local}: bought {bought}",
        list[0].body
    );
    // Without SMTP the same notice is written to the outbox as e-mail (in the
    // background, so the run does not wait for it).
    let mut outbox: Vec<String> = Vec::new();
    for _ in 0..100 {
        outbox = std::fs::read_dir(f.app.data_dir.join("outbox"))
            .map(|dir| {
                dir.map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("eml"))
                    .collect()
            })
            .unwrap_or_default();
        if !outbox.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(outbox.len(), 1);
    // (Undo quoted-printable's soft line breaks, should a part use it.)
    let mail = &outbox[0].replace("=\r\n", "").replace("=3D", "=");
    assert!(mail.contains("To: engine@example.com"), "{mail}");
    // A text part and an HTML part, both with what was bought and the run.
    assert!(mail.contains("multipart/alternative"), "{mail}");
    assert!(
        mail.contains("Content-Type: text/plain") && mail.contains("Content-Type: text/html"),
        "{mail}"
    );
    let run_link = format!(
        "/plans/{}#run-{}",
        f.plan_id,
        f.slot.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(mail.matches(&run_link).count(), 2, "{mail}");
    assert!(mail.contains("<td>VTI</td>"), "{mail}");

    // Skips respect the preference; misses are always told.
    f.app
        .execute_sql("UPDATE users SET notify_on_skip = false")
        .await;
    f.app
        .demo_exchange
        .with_ledger(|l| l.accounts.values_mut().for_each(|a| a.cash = Decimal::ONE))
        .expect("ledger");
    f.tick(f.run(1).await).await;
    assert_eq!(f.slots().await[0].status, "skipped");
    assert_eq!(notifications(&f).await.len(), 1);
    // The run after that, the engine comes back only the day after it.
    f.tick(f.run(2).await + Duration::days(1)).await;
    let list = notifications(&f).await;
    assert_eq!(list[0].kind, "miss", "{list:?}");

    crate::helpers::outcome(
        f.app
            .call_server_fn_as(&f.client, MarkNotificationsRead::PATH, &[])
            .await,
    )
    .await
    .expect("mark read");
    assert!(notifications(&f).await.iter().all(|n| n.read));
}

#[tokio::test]
async fn runs_due_together_on_one_account_need_cash_for_all_of_them() {
    let f = fixture(&[("VTI", "30")]).await;
    // A second plan on the same account, due at the same minute.
    let connection = f.connection_id().await;
    let second = assert_ok!(
        f.app
            .create_plan(&f.client, weekly(connection, &[("QQQ", "30")]))
            .await
    );
    // Enough for either run alone, not for both.
    f.app
        .demo_exchange
        .with_ledger(|l| {
            l.accounts
                .values_mut()
                .for_each(|a| a.cash = Decimal::from(50))
        })
        .expect("ledger");

    let report = f.tick(f.slot).await;
    assert_eq!((report.materialised, report.finished), (2, 2));
    for plan in [f.plan_id, second] {
        let slots = f.app.store.plan_slots(plan).await.expect("slots");
        assert_eq!(slots[0].status, "skipped");
        let reason = slots[0].reason.clone().unwrap_or_default();
        assert!(
            reason.contains("2 runs") && reason.contains("$60.00") && reason.contains("$50.00"),
            "{reason}"
        );
    }
    assert!(f.exchange_orders().is_empty(), "nothing bought on margin");

    // The next week, with cash for both, both buy.
    f.app
        .demo_exchange
        .with_ledger(|l| {
            l.accounts
                .values_mut()
                .for_each(|a| a.cash = Decimal::from(1000))
        })
        .expect("ledger");
    let report = f.tick(f.run(1).await).await;
    assert_eq!(report.finished, 2);
    assert_eq!(f.exchange_orders().len(), 2);
}

/// Edits a plan through the server function.
async fn edit(f: &Fixture, input: dripfeed::api::plans::PlanInput) -> Result<(), AppError> {
    use dripfeed::api::plans::UpdatePlan;
    crate::helpers::outcome(
        f.app
            .call_json_server_fn_as(
                &f.client,
                UpdatePlan::PATH,
                &UpdatePlan {
                    id: f.plan_id,
                    input,
                },
            )
            .await,
    )
    .await
    .map(|_| ())
}

#[tokio::test]
async fn an_edit_applies_to_future_runs_and_leaves_history_alone() {
    use dripfeed::api::plans::SavedPlanInput;
    let f = fixture(&[("VTI", "25")]).await;
    f.tick(f.slot).await;
    let first = f.slots().await;
    assert_eq!(first.len(), 1);
    assert_eq!(f.orders(&first[0]).await[0].notional, "25");

    // The plans list shows what was spent and what it is worth now.
    let listed = f.app.list_plans(&f.client).await;
    assert!(
        (listed[0].invested - Decimal::from(25)).abs() <= Decimal::new(2, 2),
        "{}",
        listed[0].invested
    );
    let value = listed[0].current_value.expect("a current value");
    assert!(value > Decimal::ZERO, "{value}");

    // The form comes back as saved.
    let body = crate::helpers::outcome(
        f.app
            .call_server_fn_as(
                &f.client,
                SavedPlanInput::PATH,
                &[("id", &f.plan_id.to_string())],
            )
            .await,
    )
    .await
    .expect("the saved plan");
    let mut input: dripfeed::api::plans::PlanInput = serde_json::from_str(&body).expect("JSON");
    assert_eq!(input.legs.len(), 1);
    assert_eq!(
        (input.legs[0].symbol.as_str(), input.legs[0].amount.as_str()),
        ("VTI", "25")
    );

    // $50 a run split 3:1 between VTI and QQQ, at 11:00 instead of 10:00;
    // the start date stays as it was.
    input.per_run_total = Some("50".into());
    input.legs = vec![
        dripfeed::api::plans::LegInput {
            symbol: "VTI".into(),
            amount: String::new(),
            weight: Some("3".into()),
        },
        dripfeed::api::plans::LegInput {
            symbol: "QQQ".into(),
            amount: String::new(),
            weight: Some("1".into()),
        },
    ];
    input.time = dripfeed::domain::schedule::TimeOfDay::Local(
        chrono::NaiveTime::from_hms_opt(11, 0, 0).expect("time"),
    );
    assert_ok!(edit(&f, input.clone()).await);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'plan.updated'")
            .await,
        1
    );

    // The next run is at 11:00 (the plan's time zone) on the plan's next
    // trading day (one buy per day: not 11:00 on the day that already ran):
    // at 10:00 that day nothing runs; at 11:00 the new amounts buy.
    let first_day = f
        .slot
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let next = *f
        .runs_after(f.slot, 2)
        .await
        .iter()
        .find(|at| at.with_timezone(&chrono_tz::America::New_York).date_naive() != first_day)
        .expect("a run on a later day");
    let at_eleven = next.with_timezone(&chrono_tz::America::New_York).time();
    assert_eq!(
        at_eleven,
        chrono::NaiveTime::from_hms_opt(11, 0, 0).expect("time")
    );
    assert_eq!(f.tick(next - Duration::hours(1)).await.materialised, 0);
    let report = f.tick(next).await;
    assert_eq!((report.materialised, report.finished), (1, 1));
    let slots = f.slots().await;
    assert_eq!(slots.len(), 2);
    let mut bought: Vec<(String, String)> = f
        .orders(&slots[0])
        .await
        .into_iter()
        .map(|o| (o.symbol, o.notional))
        .collect();
    bought.sort();
    assert_eq!(
        bought,
        vec![("QQQ".into(), "12.5".into()), ("VTI".into(), "37.5".into())]
    );
    // History is as it was.
    let old = f.orders(&slots[1]).await;
    assert_eq!((old.len(), old[0].notional.as_str()), (1, "25"));

    // A share below Alpaca's minimum is refused against its field.
    let mut tiny = input.clone();
    tiny.per_run_total = Some("4".into());
    tiny.legs[1].weight = Some("0.5".into());
    match edit(&f, tiny).await {
        Err(AppError::Invalid(errors)) => assert!(
            errors.iter().any(|e| e.field == "amounts"
                && e.message.contains("QQQ")
                && e.message.contains("$1.00")),
            "{errors:?}"
        ),
        other => panic!("expected a field error, got {other:?}"),
    }

    // Nobody else can edit it, and an ended plan cannot be edited.
    let stranger = crate::helpers::browser_like_client(&f.app.address);
    assert_ok!(f.app.sign_up(&stranger, "stranger@example.com").await);
    let theirs = crate::helpers::outcome(
        f.app
            .call_json_server_fn_as(
                &stranger,
                dripfeed::api::plans::UpdatePlan::PATH,
                &dripfeed::api::plans::UpdatePlan {
                    id: f.plan_id,
                    input: input.clone(),
                },
            )
            .await,
    )
    .await;
    assert!(matches!(theirs, Err(AppError::NotFound)), "{theirs:?}");
    // The preview of an edit keeps the saved start date for its owner only.
    let preview = |client: reqwest::Client, input: dripfeed::api::plans::PlanInput| {
        let app = &f.app;
        async move {
            crate::helpers::outcome(
                app.call_json_server_fn_as(
                    &client,
                    dripfeed::api::plans::PreviewPlan::PATH,
                    &dripfeed::api::plans::PreviewPlan {
                        input,
                        editing: Some(f.plan_id),
                    },
                )
                .await,
            )
            .await
        }
    };
    assert_ok!(preview(f.client.clone(), input.clone()).await);
    let theirs = preview(stranger.clone(), input.clone()).await;
    assert!(matches!(theirs, Err(AppError::NotFound)), "{theirs:?}");
    crate::helpers::outcome(
        f.app
            .call_server_fn_as(
                &f.client,
                dripfeed::api::plans::StopPlan::PATH,
                &[("id", &f.plan_id.to_string())],
            )
            .await,
    )
    .await
    .expect("stopped");
    assert!(matches!(edit(&f, input).await, Err(AppError::Conflict(_))));
}

#[tokio::test]
async fn under_random_broker_failures_every_run_buys_exactly_once() {
    let f = fixture(&[("VTI", "20"), ("QQQ", "5")]).await;
    {
        let mut faults = f.app.demo_exchange.faults();
        // A submission that outlasts the client's timeout (its answer is
        // lost) on the first run, then a 500 on a third of all requests.
        faults.queue.extend([
            Fault::Pass,
            Fault::Pass,
            Fault::Pass,
            Fault::Stall(std::time::Duration::from_secs(3)),
        ]);
        faults.error_rate = Some((500, 0.3));
    }
    let weeks = 8;
    for (week, slot) in (0..weeks).zip(
        f.runs_after(
            f.slot - Duration::seconds(1),
            usize::try_from(weeks).expect("n"),
        )
        .await,
    ) {
        // Passes every three minutes (longer than a run's lease), as a
        // running engine would make, until the run has its outcome.
        for pass in 0..60 {
            f.tick(slot + Duration::minutes(3 * pass)).await;
            let slots = f.slots().await;
            if slots.len() == usize::try_from(week + 1).expect("n")
                && slots[0].finished_at.is_some()
            {
                break;
            }
        }
    }
    f.app.demo_exchange.faults().error_rate = None;

    let slots = f.slots().await;
    assert_eq!(slots.len(), usize::try_from(weeks).expect("n"));
    for slot in &slots {
        assert_eq!(slot.status, "filled", "{:?}", slot.reason);
        assert_eq!(f.orders(slot).await.len(), 2);
    }
    let orders = f.exchange_orders();
    let mut ids: Vec<&str> = orders.iter().map(|o| o.client_order_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        (orders.len(), ids.len()),
        (16, 16),
        "one order per run and symbol"
    );
    let spent: Decimal = orders.iter().filter_map(|o| o.notional).sum();
    assert_eq!(spent, Decimal::from(25 * weeks));
}

#[tokio::test]
async fn a_plan_catches_up_after_downtime_only_within_its_window() {
    let f = fixture_custom(&[("VTI", "25")], |input| {
        input.catch_up_minutes = Some("15".into())
    })
    .await;
    let listed = f.app.list_plans(&f.client).await;
    assert!(
        listed[0].catch_up.contains("within 15 minutes"),
        "{}",
        listed[0].catch_up
    );

    // Back 20 minutes late: missed, and said why.
    f.tick(f.slot + Duration::minutes(20)).await;
    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "missed");
    assert!(
        slot.reason
            .as_deref()
            .unwrap_or_default()
            .contains("15 minutes"),
        "{:?}",
        slot.reason
    );
    // Back 10 minutes late the next week: bought.
    f.tick(f.run(1).await + Duration::minutes(10)).await;
    assert_eq!(f.slots().await[0].status, "filled");

    // Written on time but unable to start (the broker down), then too late.
    let third = f.run(2).await;
    f.app.demo_exchange.faults().error_rate = Some((500, 1.0));
    f.tick(third).await;
    f.app.demo_exchange.faults().error_rate = None;
    assert_eq!(f.slots().await[0].finished_at, None, "left for a retry");
    f.tick(third + Duration::minutes(30)).await;
    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "missed");
    assert!(
        slot.reason
            .as_deref()
            .unwrap_or_default()
            .contains("catch-up window"),
        "{:?}",
        slot.reason
    );
    assert_eq!(f.exchange_orders().len(), 1, "only the second week bought");

    // A window must be a sensible number of minutes.
    let connection = f.connection_id().await;
    let mut bad = weekly(connection, &[("QQQ", "5")]);
    bad.catch_up_minutes = Some("0".into());
    match f.app.create_plan(&f.client, bad).await {
        Err(AppError::Invalid(errors)) => {
            assert!(
                errors.iter().any(|e| e.field == "catch_up_minutes"),
                "{errors:?}"
            )
        }
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_global_kill_switch_is_for_admins_and_stops_every_plan_buying_until_reset() {
    use dripfeed::api::recommendations::SetGlobalKillSwitch;
    let f = fixture(&[("VTI", "25")]).await;
    // Not an administrator: refused, nothing set.
    let refused = crate::helpers::outcome(
        f.app
            .call_server_fn_as(
                &f.client,
                SetGlobalKillSwitch::PATH,
                &[("stop", "true"), ("reason", "drill")],
            )
            .await,
    )
    .await;
    assert!(matches!(refused, Err(AppError::Forbidden)), "{refused:?}");
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) FROM instance_facts WHERE key = 'kill_switch'")
            .await,
        0
    );
    f.app
        .execute_sql("UPDATE users SET role = 'admin' WHERE email = 'engine@example.com'")
        .await;
    let set = crate::helpers::outcome(
        f.app
            .call_server_fn_as(
                &f.client,
                SetGlobalKillSwitch::PATH,
                &[("stop", "true"), ("reason", "market incident")],
            )
            .await,
    )
    .await;
    assert_eq!(set.as_deref(), Ok("true"));

    f.tick(f.slot).await;
    let slot = &f.slots().await[0];
    assert_eq!(slot.status, "skipped");
    assert!(
        slot.reason
            .as_deref()
            .unwrap_or_default()
            .contains("An administrator stopped all trading"),
        "{:?}",
        slot.reason
    );
    assert!(
        f.exchange_orders().is_empty(),
        "nothing bought while stopped"
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'trading.stopped_globally'")
            .await,
        1
    );

    // Reset explicitly: the next run buys.
    let reset = crate::helpers::outcome(
        f.app
            .call_server_fn_as(&f.client, SetGlobalKillSwitch::PATH, &[("stop", "false")])
            .await,
    )
    .await;
    assert_eq!(reset.as_deref(), Ok("true"));
    let next = f.run(1).await;
    f.tick(next).await;
    assert_eq!(f.slots().await[0].status, "filled");
}
