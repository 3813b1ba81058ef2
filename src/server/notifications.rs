//! Telling users what happened to their plans' runs: in the app, and by
//! e-mail (SMTP or the outbox folder). Fill and skip notices follow the
//! user's preferences; misses and failures are always sent.

use crate::dto::notifications::NotificationDto;
use crate::dto::stamp::Stamp;
use crate::error::AppError;
use crate::server::auth::CurrentUser;
use crate::server::db::rows::{PlanRow, SlotOrderRow, stored_decimal};
use crate::server::state::AppState;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

/// How many of the newest notifications the page shows.
const SHOWN: i64 = 100;

/// The user's newest notifications, newest first.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn list(state: &AppState, user: &CurrentUser) -> Result<Vec<NotificationDto>, AppError> {
    let (zone, now) = (user.zone()?, Utc::now());
    Ok(state
        .store
        .notifications_of(user.id, SHOWN)
        .await?
        .into_iter()
        .map(|n| NotificationDto {
            id: n.id,
            kind: n.kind,
            title: n.title,
            body: n.body,
            plan_id: n.plan_id,
            created_at: Stamp::new(n.created_at, zone, now),
            read: n.read_at.is_some(),
        })
        .collect())
}

/// Marks every notification of the user read; how many were unread.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn mark_all_read(state: &AppState, user: &CurrentUser) -> Result<u64, AppError> {
    Ok(state.store.mark_notifications_read(user.id).await?)
}

/// What one order bought, for a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bought {
    symbol: String,
    qty: Decimal,
    price: Decimal,
    dollars: Decimal,
}

use crate::domain::money::{cents, dollars as money};

/// The orders of a run that bought something, with what each bought.
fn bought(orders: &[SlotOrderRow]) -> anyhow::Result<Vec<Bought>> {
    let mut out = Vec::new();
    for o in orders {
        let qty = stored_decimal("a filled quantity", &o.filled_qty)?;
        let Some(price) = o.filled_avg_price.as_deref() else {
            continue;
        };
        let price = stored_decimal("an average price", price)?;
        if qty.is_zero() {
            continue;
        }
        out.push(Bought {
            symbol: o.symbol.clone(),
            qty: qty.normalize(),
            price,
            dollars: cents(qty * price),
        });
    }
    Ok(out)
}

/// "VTI: 0.1234 shares at $202.61 ($25.00)".
fn bought_line(b: &Bought) -> String {
    format!(
        "{}: {} shares at {} ({})",
        b.symbol,
        b.qty,
        money(b.price),
        money(b.dollars)
    )
}

/// Records the outcome of one run for the plan's owner: in the app, and by
/// e-mail (a text part and an HTML part with the same facts and a link to
/// the run). What was bought is listed (symbol, shares, average price,
/// dollars), and the run's time is given in the owner's own time zone.
/// `slot_id`: the run, when it has orders.
pub async fn run_outcome(
    state: &AppState,
    plan: &PlanRow,
    slot_id: Option<i64>,
    at: DateTime<Utc>,
    status: &str,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    let Some(user) = state.store.user_by_id(plan.user_id).await? else {
        return Ok(());
    };
    let name = &plan.name;
    let (kind, wanted, title) = match status {
        "filled" => (
            "fill",
            user.notify_on_fill,
            format!("Bought for \u{201c}{name}\u{201d}"),
        ),
        "partially_filled" => (
            "fill",
            user.notify_on_fill,
            format!("Partly bought for \u{201c}{name}\u{201d}"),
        ),
        "skipped" => (
            "skip",
            user.notify_on_skip,
            format!("Skipped a run of \u{201c}{name}\u{201d}"),
        ),
        "missed" => (
            "miss",
            true,
            format!("Missed a run of \u{201c}{name}\u{201d}"),
        ),
        _ => (
            "failure",
            true,
            format!("A run of \u{201c}{name}\u{201d} did not buy"),
        ),
    };
    if !wanted {
        return Ok(());
    }
    let orders = match slot_id {
        Some(id) => state.store.slot_orders(id).await?,
        None => Vec::new(),
    };
    let bought = bought(&orders)?;
    // The owner's zone (a zone that no longer parses falls back to the plan's).
    let zone: Tz = user
        .time_zone
        .parse()
        .or_else(|_| plan.time_zone.parse())
        .unwrap_or(chrono_tz::UTC);
    // A notice is read soon after the run, so the year would be noise.
    let when = crate::domain::when::local(at, zone, at);
    let total: Decimal = bought.iter().map(|b| b.dollars).sum();
    let lines: Vec<String> = bought.iter().map(bought_line).collect();
    let purchases = format!("bought {} ({} in all)", lines.join("; "), money(total));
    let facts = match (bought.is_empty(), reason.map(|r| r.trim_end_matches('.'))) {
        (true, Some(r)) => r.to_owned(),
        (true, None) => "nothing was bought".to_owned(),
        (false, None) => purchases,
        (false, Some(r)) => format!("{purchases}. Not bought: {r}"),
    };
    let body = format!("{when}: {facts}.");
    state
        .store
        .insert_notification(user.id, kind, &title, &body, Some(plan.id))
        .await?;

    let link = format!(
        "{}/plans/{}#run-{}",
        state.public_url.as_str().trim_end_matches('/'),
        plan.id,
        crate::domain::when::rfc3339(at)
    );
    let text = format!(
        "{body}\n\nSee the run: {link}\n\nNot investment advice. Change which notices you get in Settings."
    );
    let html = html_email(&title, &when, &bought, total, reason, &link);
    email_in_background(state, &user, &title, text, Some(html));
    Ok(())
}

/// Sends a notice to the user's notification address (or sign-in address)
/// in the background: e-mail is best effort, and a slow or broken mail
/// server never holds up the engine.
pub fn email_in_background(
    state: &AppState,
    user: &crate::server::db::rows::UserRow,
    subject: &str,
    text: String,
    html: Option<String>,
) {
    let to = user
        .notification_email
        .as_deref()
        .unwrap_or(&user.email)
        .to_owned();
    let subject = subject.to_owned();
    let mailer = state.mailer.clone();
    tokio::spawn(async move {
        let sent = match html {
            Some(html) => mailer.send_with_html(&to, &subject, &text, &html).await,
            None => mailer.send(&to, &subject, &text).await,
        };
        if let Err(e) = sent {
            tracing::warn!(error.cause_chain = ?e, "could not send a notification e-mail");
        }
    });
}

/// The notice as HTML: the same facts as the text part, every value escaped.
fn html_email(
    title: &str,
    when: &str,
    bought: &[Bought],
    total: Decimal,
    reason: Option<&str>,
    link: &str,
) -> String {
    use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
    let mut html = format!(
        "<!DOCTYPE html>\n<html><body>\n<h1>{}</h1>\n<p>{}</p>\n",
        text(title),
        text(when)
    );
    if !bought.is_empty() {
        html.push_str(
            "<table>\n<thead><tr><th>Symbol</th><th>Shares</th><th>Average price</th><th>Dollars</th></tr></thead>\n<tbody>\n",
        );
        for b in bought {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                text(&b.symbol),
                b.qty,
                money(b.price),
                money(b.dollars)
            ));
        }
        html.push_str(&format!(
            "</tbody></table>\n<p>In all: {}</p>\n",
            money(total)
        ));
    }
    if let Some(r) = reason {
        html.push_str(&format!("<p>{}</p>\n", text(r)));
    }
    html.push_str(&format!(
        "<p><a href=\"{}\">See the run</a></p>\n<p><small>Not investment advice. Change which notices you get in Settings.</small></p>\n</body></html>\n",
        attr(link)
    ));
    // ASCII only (other characters as references), so the part needs no
    // transfer encoding that would hide its text.
    let mut ascii = String::with_capacity(html.len());
    for c in html.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            ascii.push_str(&format!("&#{};", u32::from(c)));
        }
    }
    ascii
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_part_escapes_what_people_typed_and_is_plain_ascii() {
        let bought = [Bought {
            symbol: "VTI".into(),
            qty: Decimal::new(123_456, 6),
            price: Decimal::new(20_261, 2),
            dollars: Decimal::new(2_501, 2),
        }];
        let html = html_email(
            "Bought for \u{201c}<script>x</script>\u{201d}",
            "Mon 23 Nov 2026, 09:00 CST",
            &bought,
            Decimal::new(2_501, 2),
            Some("QQQ rejected: \"no\" & <why>"),
            "http://127.0.0.1:3000/plans/7#run-2026-11-23T15:00:00Z",
        );
        assert!(html.is_ascii());
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&#8220;&lt;script&gt;x&lt;/script&gt;&#8221;"),
            "{html}"
        );
        assert!(
            html.contains("<td>VTI</td><td>0.123456</td><td>$202.61</td><td>$25.01</td>"),
            "{html}"
        );
        assert!(
            html.contains("QQQ rejected: \"no\" &amp; &lt;why&gt;"),
            "{html}"
        );
        assert!(html.contains("href=\"http://127.0.0.1:3000/plans/7#run-2026-11-23T15:00:00Z\""));
        assert!(html.lines().all(|l| l.len() < 200), "{html}");
    }

    #[test]
    fn only_orders_that_bought_are_listed_with_what_they_cost() {
        let row = |symbol: &str, qty: &str, price: Option<&str>| SlotOrderRow {
            id: 1,
            slot_id: 1,
            symbol: symbol.into(),
            notional: "25".into(),
            client_order_id: format!("df-1-1-{symbol}"),
            broker_order_id: None,
            status: crate::domain::run::OrderState::Filled,
            filled_qty: qty.into(),
            filled_avg_price: price.map(str::to_owned),
            reason: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let list = bought(&[
            row("VTI", "0.1234", Some("202.61")),
            row("QQQ", "0", None),
            row("VXUS", "2.50", Some("60.005")),
        ])
        .expect("readable");
        let lines: Vec<String> = list.iter().map(bought_line).collect();
        assert_eq!(
            lines,
            vec![
                "VTI: 0.1234 shares at $202.61 ($25.00)",
                "VXUS: 2.5 shares at $60.01 ($150.01)"
            ]
        );
        assert!(bought(&[row("VTI", "lots", Some("1"))]).is_err());
    }
}
