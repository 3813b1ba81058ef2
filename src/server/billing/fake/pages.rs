//! The hosted Checkout and Billing Portal pages.

use super::{Delivery, StripeFake, Sub};
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

pub(super) fn page(title: &str, body: String) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><p><em>Stripe test fake: no real payment is made.</em></p><h1>{title}</h1>{body}</body></html>"
    ))
}

pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(super) async fn checkout_page(
    State(fake): State<StripeFake>,
    Path(id): Path<String>,
) -> Response {
    let Some(s) = fake.lock().sessions.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            page("Checkout session not found", String::new()),
        )
            .into_response();
    };
    page(
        "Subscribe",
        format!(
            "<p>Price <code>{price}</code>, billed monthly.</p>\
             <form method=\"post\" action=\"/checkout/{id}/pay\"><button type=\"submit\">Pay and subscribe</button></form>\
             <p><a href=\"{cancel}\">Cancel and go back</a></p>",
            price = escape(&s.price),
            id = escape(&s.id),
            cancel = escape(&s.cancel_url)
        ),
    )
    .into_response()
}

pub(super) async fn checkout_pay(
    State(fake): State<StripeFake>,
    Path(id): Path<String>,
) -> Response {
    let success = match fake.lock().sessions.get(&id) {
        Some(s) => s.success_url.replace("{CHECKOUT_SESSION_ID}", &id),
        None => {
            return (
                StatusCode::NOT_FOUND,
                page("Checkout session not found", String::new()),
            )
                .into_response();
        }
    };
    // Stripe redirects at once and sends the events independently.
    let background = fake.clone();
    tokio::spawn(async move {
        if let Err(e) = background
            .complete_checkout(&id, &Delivery::default())
            .await
        {
            tracing::warn!(error = %e, "stripe fake: completing checkout failed");
        }
    });
    Redirect::to(&success).into_response()
}

pub(super) async fn portal_page(
    State(fake): State<StripeFake>,
    Path(id): Path<String>,
) -> Response {
    let Some((customer, return_url)) = fake.lock().portal_sessions.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            page("Portal session not found", String::new()),
        )
            .into_response();
    };
    let subs: Vec<Sub> = fake
        .lock()
        .subscriptions
        .values()
        .filter(|s| s.customer == customer)
        .cloned()
        .collect();
    let mut body = String::from("<ul>");
    for s in &subs {
        let cancel = if s.status != "canceled" && !s.cancel_at_period_end {
            format!(
                "<form method=\"post\" action=\"/portal/{id}/cancel\"><input type=\"hidden\" name=\"subscription\" value=\"{sub}\">\
                 <button type=\"submit\">Cancel subscription</button></form>",
                id = escape(&id),
                sub = escape(&s.id)
            )
        } else {
            String::new()
        };
        body.push_str(&format!(
            "<li><code>{}</code>: {}{}{}</li>",
            escape(&s.price),
            s.status,
            if s.cancel_at_period_end {
                " (cancels at period end)"
            } else {
                ""
            },
            cancel
        ));
    }
    body.push_str(&format!(
        "</ul><p><a href=\"{}\">Return to Dripfeed</a></p>",
        escape(&return_url)
    ));
    page("Billing portal", body).into_response()
}

#[derive(Deserialize)]
pub(super) struct CancelForm {
    subscription: String,
}

pub(super) async fn portal_cancel(
    State(fake): State<StripeFake>,
    Path(id): Path<String>,
    Form(form): Form<CancelForm>,
) -> Response {
    let owner = fake.lock().portal_sessions.get(&id).map(|(c, _)| c.clone());
    let sub_owner = fake
        .lock()
        .subscriptions
        .get(&form.subscription)
        .map(|s| s.customer.clone());
    if owner.is_none() || owner != sub_owner {
        return (StatusCode::NOT_FOUND, page("Not found", String::new())).into_response();
    }
    if let Err(e) = fake
        .cancel_at_period_end(&form.subscription, &Delivery::default())
        .await
    {
        tracing::warn!(error = %e, "stripe fake: cancelling failed");
    }
    Redirect::to(&format!("/portal/{id}")).into_response()
}
