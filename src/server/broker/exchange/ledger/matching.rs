//! The matching rules: placing an order (every check Alpaca makes, in its
//! order), when it fills and at what price, day orders expiring at the close,
//! settling an account up to `now`, cancelling, and listing.

use super::*;

const MAX_NOTIONAL_DP: u32 = 9;
const QTY_DP: u32 = 9;

impl Account {
    pub fn order(&self, id: Uuid) -> Option<&Order> {
        self.orders.iter().find(|o| o.id == id)
    }

    pub fn order_by_client_id(&self, client_order_id: &str) -> Option<&Order> {
        self.orders
            .iter()
            .find(|o| o.client_order_id == client_order_id)
    }

    /// Cash not set aside for open buy orders.
    pub fn buying_power(&self) -> Decimal {
        let reserved: Decimal = self
            .orders
            .iter()
            .filter(|o| o.status.is_open())
            .map(|o| o.reserved)
            .sum();
        (self.cash - reserved).max(Decimal::ZERO)
    }

    /// Shares of `symbol` not already promised to open sell orders.
    fn qty_available(&self, symbol: &str) -> Decimal {
        let held = self.positions.get(symbol).map_or(Decimal::ZERO, |p| p.qty);
        let promised: Decimal = self
            .orders
            .iter()
            .filter(|o| o.status.is_open() && o.side == Side::Sell && o.symbol == symbol)
            .map(|o| o.qty.unwrap_or_default() - o.filled_qty)
            .sum();
        held - promised
    }

    pub fn long_market_value(&self, now: DateTime<Utc>) -> Decimal {
        self.positions
            .iter()
            .map(|(s, p)| p.qty * price(s, now).unwrap_or_default())
            .sum::<Decimal>()
            .round_dp(2)
    }

    pub fn equity(&self, now: DateTime<Utc>) -> Decimal {
        self.cash + self.long_market_value(now)
    }

    /// Brings the account up to `now`: fills due orders in time order, expires
    /// day orders whose session closed, and rolls `last_equity` at each new
    /// trading day (after the previous days' fills, before today's).
    pub fn settle(&mut self, now: DateTime<Utc>) {
        let today_open = calendar::trading_day(new_york_date(now))
            .map(|d| d.open_at())
            .unwrap_or(now);
        let mut due: Vec<(DateTime<Utc>, usize)> = self
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| o.status.is_open())
            .filter_map(|(i, o)| fill_time(o, now).map(|t| (t, i)))
            .collect();
        due.sort();
        let (earlier, today): (Vec<_>, Vec<_>) =
            due.into_iter().partition(|(t, _)| *t < today_open);
        for (t, i) in earlier {
            self.fill(i, t);
        }
        self.roll_last_equity(now);
        for (t, i) in today {
            self.fill(i, t);
        }
        self.expire_day_orders(now);
        self.pay_dividends(now);
    }

    fn roll_last_equity(&mut self, now: DateTime<Utc>) {
        let today = new_york_date(now);
        if self.last_equity_date == Some(today) {
            return;
        }
        let prev_close_value: Decimal = self
            .positions
            .iter()
            .map(|(s, p)| p.qty * previous_close(s, now).unwrap_or_default())
            .sum();
        self.last_equity = (self.cash + prev_close_value).round_dp(2);
        self.last_equity_date = Some(today);
    }

    fn expire_day_orders(&mut self, now: DateTime<Utc>) {
        let mut expired = Vec::new();
        for o in self.orders.iter_mut() {
            if o.status.is_open() && o.time_in_force == TimeInForce::Day {
                let close = session_close_for(o.created_at);
                if close <= now {
                    o.status = Status::Expired;
                    o.expired_at = Some(close);
                    o.updated_at = close;
                    o.reserved = Decimal::ZERO;
                    expired.push((close, o.id));
                }
            }
        }
        for (close, id) in expired {
            if let Some(i) = self.orders.iter().position(|o| o.id == id) {
                self.tell("expired", i, close, None);
            }
        }
    }

    /// Fills order `i` at the simulated price at `at` (wholly, or the share
    /// fault injection asked for).
    fn fill(&mut self, i: usize, at: DateTime<Utc>) {
        let Some(px) = price(&self.orders[i].symbol, at) else {
            return;
        };
        let o = &self.orders[i];
        if let (OrderType::Limit, Some(limit)) = (o.order_type, o.limit_price) {
            let crosses = match o.side {
                Side::Buy => px <= limit,
                Side::Sell => px >= limit,
            };
            if !crosses {
                return;
            }
        }
        let wanted = match (o.qty, o.notional) {
            (Some(q), _) => q,
            (None, Some(n)) => (n / px).trunc_with_scale(QTY_DP),
            (None, None) => return,
        };
        let remaining = wanted - o.filled_qty;
        let share = o.partial_fill.unwrap_or(Decimal::ONE);
        let qty = (remaining * share).trunc_with_scale(QTY_DP);
        if qty <= Decimal::ZERO {
            return;
        }
        let value = match (o.side, o.notional, o.partial_fill) {
            // A whole notional buy costs exactly its notional.
            (Side::Buy, Some(n), None) => n,
            _ => (qty * px).round_dp(2),
        };
        let side = o.side;
        let symbol = o.symbol.clone();
        match side {
            Side::Buy => {
                self.cash -= value;
                self.move_cash(at, -value);
                let p = self.positions.entry(symbol).or_insert(Position {
                    qty: Decimal::ZERO,
                    cost_basis: Decimal::ZERO,
                });
                p.qty += qty;
                p.cost_basis += value;
            }
            Side::Sell => {
                self.cash += value;
                self.move_cash(at, value);
                if let Some(p) = self.positions.get_mut(&symbol) {
                    let basis_sold = if p.qty.is_zero() {
                        Decimal::ZERO
                    } else {
                        (p.cost_basis * qty / p.qty).round_dp(2)
                    };
                    p.qty -= qty;
                    p.cost_basis -= basis_sold;
                    if p.qty <= Decimal::ZERO {
                        self.positions.remove(&symbol);
                    }
                }
            }
        }
        let o = &mut self.orders[i];
        let before = o.filled_qty;
        let before_value = o.filled_avg_price.map_or(Decimal::ZERO, |p| p * before);
        o.filled_qty += qty;
        o.filled_avg_price = Some(if before.is_zero() {
            px
        } else {
            ((before_value + qty * px) / o.filled_qty).round_dp(4)
        });
        o.updated_at = at;
        o.filled_at = Some(at);
        if o.filled_qty >= wanted {
            o.status = Status::Filled;
            o.reserved = Decimal::ZERO;
        } else {
            o.status = Status::PartiallyFilled;
            // The rest is not filled this session (see `partial_fill`).
            o.partial_fill = Some(Decimal::ZERO);
            o.reserved = (o.reserved - value).max(Decimal::ZERO);
        }
        let o = o.clone();
        self.record_fill(&o, qty, px, at, wanted);
        let event = if o.status == Status::Filled {
            "fill"
        } else {
            "partial_fill"
        };
        self.tell(event, i, at, Some((px, qty)));
    }

    /// Validates and places an order, filling it at once when the session is
    /// open. Refusals match Alpaca's statuses and codes.
    pub fn submit(
        &mut self,
        req: NewOrder,
        now: DateTime<Utc>,
        partial_fill: Option<Decimal>,
    ) -> Result<Order, Refusal> {
        self.settle(now);
        let symbol = req.symbol.trim().to_ascii_uppercase();
        if symbol.is_empty() {
            return Err(Refusal::invalid("symbol is required"));
        }
        let side = req
            .side
            .ok_or_else(|| Refusal::invalid("side is required"))?;
        let order_type = req
            .order_type
            .ok_or_else(|| Refusal::invalid("type is required"))?;
        let time_in_force = req
            .time_in_force
            .ok_or_else(|| Refusal::invalid("time_in_force is required"))?;
        let Some(asset) = market::asset(&symbol) else {
            return Err(Refusal::new(
                422,
                40010001,
                format!("asset \"{symbol}\" not found"),
            ));
        };
        if !asset.tradable {
            return Err(Refusal::new(
                422,
                42210000,
                format!("asset {symbol} is not tradable"),
            ));
        }
        let client_order_id = match req.client_order_id {
            Some(c) if c.chars().count() > 128 => {
                return Err(Refusal::invalid(
                    "client_order_id must be no more than 128 characters",
                ));
            }
            Some(c) if !c.is_empty() => c,
            _ => Uuid::new_v4().to_string(),
        };
        if self.order_by_client_id(&client_order_id).is_some() {
            return Err(Refusal::invalid("client_order_id must be unique"));
        }
        if req.extended_hours {
            return Err(Refusal::invalid(
                "extended hours orders are not supported by this exchange",
            ));
        }
        match (req.qty, req.notional) {
            (Some(_), Some(_)) => {
                return Err(Refusal::invalid("only one of qty or notional can be given"));
            }
            (None, None) => return Err(Refusal::invalid("qty or notional is required")),
            (Some(q), None) => {
                if q <= Decimal::ZERO {
                    return Err(Refusal::invalid("qty must be > 0"));
                }
                if q.normalize().scale() > QTY_DP {
                    return Err(Refusal::invalid("qty must have at most 9 decimal places"));
                }
                if !q.fract().is_zero() {
                    if !asset.fractionable {
                        return Err(Refusal::invalid(format!(
                            "requested asset {symbol} is not fractionable"
                        )));
                    }
                    if order_type != OrderType::Market || time_in_force != TimeInForce::Day {
                        return Err(Refusal::invalid(
                            "fractional orders must be market (or limit) DAY orders",
                        ));
                    }
                }
            }
            (None, Some(n)) => {
                if order_type != OrderType::Market || time_in_force != TimeInForce::Day {
                    return Err(Refusal::invalid(
                        "notional orders must be market DAY orders",
                    ));
                }
                if n < Decimal::ONE {
                    return Err(Refusal::invalid("notional must be >= 1"));
                }
                if n.normalize().scale() > MAX_NOTIONAL_DP {
                    return Err(Refusal::invalid(
                        "notional must have at most 9 decimal places",
                    ));
                }
                if !asset.fractionable {
                    return Err(Refusal::invalid(format!(
                        "requested asset {symbol} is not fractionable"
                    )));
                }
            }
        }
        let limit_price = match order_type {
            OrderType::Market => {
                if req.limit_price.is_some() {
                    return Err(Refusal::invalid("limit_price is only for limit orders"));
                }
                None
            }
            OrderType::Limit => {
                let lp = req
                    .limit_price
                    .ok_or_else(|| Refusal::invalid("limit_price is required for limit orders"))?;
                if lp <= Decimal::ZERO {
                    return Err(Refusal::invalid("limit_price must be > 0"));
                }
                let max_dp = if lp >= Decimal::ONE { 2 } else { 4 };
                if lp.normalize().scale() > max_dp {
                    return Err(Refusal::new(
                        422,
                        42210000,
                        format!(
                            "invalid limit_price {lp}. sub-penny increment does not fulfill minimum pricing criteria"
                        ),
                    ));
                }
                Some(lp)
            }
        };
        let px = price(&symbol, now)
            .ok_or_else(|| Refusal::new(422, 42210000, format!("no price for asset {symbol}")))?;
        let reserved = match side {
            Side::Buy => {
                // Checked: a quantity no account could pay for is refused,
                // never an arithmetic overflow.
                let too_large = || Refusal::invalid("qty is too large");
                let cost = match (req.notional, req.qty, limit_price) {
                    (Some(n), _, _) => n,
                    (None, Some(q), Some(lp)) => q.checked_mul(lp).ok_or_else(too_large)?,
                    (None, Some(q), None) => q.checked_mul(px).ok_or_else(too_large)?,
                    (None, None, _) => Decimal::ZERO,
                }
                .round_dp(2);
                if cost > self.buying_power() {
                    return Err(Refusal::insufficient_buying_power());
                }
                cost
            }
            Side::Sell => {
                let available = self.qty_available(&symbol);
                let wanted = match (req.qty, req.notional) {
                    (Some(q), _) => q,
                    (None, Some(n)) => (n / px).trunc_with_scale(QTY_DP),
                    _ => Decimal::ZERO,
                };
                if wanted > available {
                    return Err(Refusal::new(
                        403,
                        40310000,
                        format!(
                            "insufficient qty available for order (requested: {wanted}, available: {})",
                            available.normalize()
                        ),
                    ));
                }
                Decimal::ZERO
            }
        };
        let open = is_open(now);
        let order = Order {
            id: Uuid::new_v4(),
            client_order_id,
            created_at: now,
            updated_at: now,
            filled_at: None,
            canceled_at: None,
            expired_at: None,
            symbol,
            side,
            order_type,
            time_in_force,
            qty: req.qty,
            notional: req.notional,
            limit_price,
            filled_qty: Decimal::ZERO,
            filled_avg_price: None,
            status: if open { Status::New } else { Status::Accepted },
            reserved,
            partial_fill,
        };
        self.orders.push(order);
        let i = self.orders.len() - 1;
        self.tell("new", i, now, None);
        if open {
            self.fill(i, now);
        }
        Ok(self.orders[i].clone())
    }

    /// Cancels an open order.
    pub fn cancel(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<(), Refusal> {
        self.settle(now);
        let o = self
            .orders
            .iter_mut()
            .find(|o| o.id == id)
            .ok_or_else(Refusal::order_not_found)?;
        if !o.status.is_open() {
            return Err(Refusal::new(
                422,
                42210000,
                format!("order is not cancelable (status: {})", o.status.as_str()),
            ));
        }
        o.status = Status::Canceled;
        o.canceled_at = Some(now);
        o.updated_at = now;
        o.reserved = Decimal::ZERO;
        if let Some(i) = self.orders.iter().position(|o| o.id == id) {
            self.tell("canceled", i, now, None);
        }
        Ok(())
    }

    /// Queues a trade update about order `i` for the stream.
    fn tell(
        &mut self,
        event: &'static str,
        i: usize,
        at: DateTime<Utc>,
        fill: Option<(Decimal, Decimal)>,
    ) {
        let order = self.orders[i].clone();
        let position_qty = self
            .positions
            .get(&order.symbol)
            .map_or(Decimal::ZERO, |p| p.qty);
        self.events.push(OrderEvent {
            event,
            order,
            at,
            fill,
            position_qty,
        });
    }

    /// Orders newest first, filtered by status and symbols.
    pub fn list(&self, filter: StatusFilter, symbols: &[String], limit: usize) -> Vec<Order> {
        let mut orders: Vec<Order> = self
            .orders
            .iter()
            .rev()
            .filter(|o| match filter {
                StatusFilter::Open => o.status.is_open(),
                StatusFilter::Closed => !o.status.is_open(),
                StatusFilter::All => true,
            })
            .filter(|o| symbols.is_empty() || symbols.iter().any(|s| s == &o.symbol))
            .cloned()
            .collect();
        // Stable sort over newest-placed-first keeps same-instant orders newest first.
        orders.sort_by_key(|o| std::cmp::Reverse(o.created_at));
        orders.truncate(limit);
        orders
    }
}

/// When an open order becomes fillable, if it is by `now`: market orders at
/// the first session instant at or after they were placed; limit orders are
/// checked at `now` while the session is open.
fn fill_time(o: &Order, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if o.partial_fill == Some(Decimal::ZERO) {
        return None;
    }
    match o.order_type {
        OrderType::Market => {
            let t = if is_open(o.created_at) {
                o.created_at
            } else {
                next_open_after(o.created_at)
            };
            (t <= now).then_some(t)
        }
        OrderType::Limit => {
            let expired =
                o.time_in_force == TimeInForce::Day && session_close_for(o.created_at) <= now;
            (is_open(now) && !expired).then_some(now)
        }
    }
}
