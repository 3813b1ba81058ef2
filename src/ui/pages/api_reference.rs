//! The REST API's reference (`/api`): how to authenticate, the rules every
//! call follows, and each operation, listed from the same OpenAPI document
//! the API serves. Public: nothing here is per-user.

use crate::api::catalog::{ApiOperation, get_api_reference};
use crate::api::recommendations::LIVE_CONFIRMATION;
use crate::ui::error_template::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// What every refusal looks like.
const ERROR_SHAPE: &str = r#"{"error": {"code": "invalid", "message": "Enter an amount.", "fields": [{"field": "legs[0].amount", "message": "Enter an amount."}]}}"#;

/// The stable error codes, and when each is given.
const ERROR_CODES: [(&str, &str); 14] = [
    ("unauthenticated", "no token was sent"),
    ("invalid_token", "the token is unknown, revoked or expired"),
    (
        "insufficient_scope",
        "a read token asked to change something",
    ),
    ("forbidden", "the token's user may not do this"),
    (
        "tier_required",
        "your subscription tier does not include this",
    ),
    ("not_found", "no such thing, or it is not yours"),
    ("bad_request", "the request could not be read"),
    ("invalid", "a value is wrong; fields says which"),
    ("conflict", "it clashes with how things stand now"),
    (
        "idempotency_key_reused",
        "the Idempotency-Key was used with a different body",
    ),
    (
        "idempotency_in_progress",
        "the first request with this Idempotency-Key has not finished",
    ),
    (
        "rate_limited",
        "too many requests this minute; see Retry-After",
    ),
    (
        "unavailable",
        "a service Dripfeed depends on could not be reached",
    ),
    ("internal", "something went wrong on our side"),
];

#[component]
pub fn ApiReferencePage() -> impl IntoView {
    let reference = Resource::new(|| (), |_| get_api_reference());
    let confirmation = format!(r#""confirmation": "{LIVE_CONFIRMATION}""#);
    view! {
        <Title text="API" />
        <article class="page prose">
            <h1>"REST API"</h1>
            <p class="lead">"Script your plans and recommendations from your own programs."</p>
            <h2>"Getting started"</h2>
            <p>
                "Authenticate every request with a personal API token; create one in "
                <A href="/account/settings#api-tokens">"Settings"</A>
                ". Send it in the Authorization header:"
            </p>
            <pre><code>"Authorization: Bearer dft_…"</code></pre>
            <p>"For example, to list your plans:"</p>
            <pre><code>"curl -H \"Authorization: Bearer $DRIPFEED_TOKEN\" https://your-dripfeed/api/v1/plans"</code></pre>
            <p>
                "Requests and answers are JSON. Money amounts are decimal strings, such as "
                <code>"\"125.50\""</code>
                ", never numbers, so nothing is lost to rounding."
            </p>
            <h2>"Scopes"</h2>
            <p>
                "A " <code>"read"</code> " token only reads. A " <code>"trade"</code>
                " token may also change plans and execute recommendations; the operations marked "
                <span class="badge">"trade"</span> " below need one. Executing a recommendation on a live account also needs "
                <code>{confirmation}</code> " in the body."
            </p>
            <h2>"Errors"</h2>
            <p>"Every refusal has the same shape, with a stable code a program can branch on and a message a person can read:"</p>
            <pre><code>{ERROR_SHAPE}</code></pre>
            <p>"The codes:"</p>
            <ul data-testid="api-error-codes">
                {ERROR_CODES.into_iter().map(|(code, meaning)| view! {
                    <li><code>{code}</code> ": " {meaning}</li>
                }).collect_view()}
            </ul>
            <h2>"Lists, retries and limits"</h2>
            <ul>
                <li>
                    "Lists are paged: " <code>"?limit=1..100&cursor=<next_cursor>"</code>
                    ". Each page carries the " <code>"next_cursor"</code> " of the next one; the last page has none."
                </li>
                <li>
                    "Every POST accepts an " <code>"Idempotency-Key"</code>
                    " header. A repeat with the same key and the same body gets the first answer again, with the header "
                    <code>"Idempotent-Replayed: true"</code> "; the same key with a different body is refused with "
                    <code>"idempotency_key_reused"</code> "."
                </li>
                <li>
                    "Each token may make a limited number of requests per minute. Past it the answer is 429 with a "
                    <code>"Retry-After"</code> " header saying how many seconds to wait."
                </li>
            </ul>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match reference.await {
                        Ok(api) => view! {
                            <p>
                                "Everything below, for machines: the "
                                <a href=api.document_url rel="external">"OpenAPI 3.1 document"</a>
                                "."
                            </p>
                            {by_tag(api.operations).into_iter().map(|(tag, operations)| view! {
                                <h2>{tag_heading(&tag)}</h2>
                                {operations.into_iter().map(|op| view! { <Operation op /> }).collect_view()}
                            }).collect_view()}
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </article>
    }
}

#[component]
fn Operation(op: ApiOperation) -> impl IntoView {
    let parameters = (!op.parameters.is_empty()).then(|| {
        view! {
            <div class="table-scroll">
                <table class="table">
                    <caption class="sr-only">"Parameters"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"In"</th>
                            <th scope="col">"Description"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {op.parameters.into_iter().map(|(name, place, description)| view! {
                            <tr>
                                <td><code>{name}</code></td>
                                <td>{place}</td>
                                <td>{description}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
    });
    let trade = op.needs_trade.then(|| {
        view! {
            " "
            <span class="badge" title="Needs a token with the trade scope">"trade"</span>
        }
    });
    let summary = (!op.summary.is_empty()).then(|| view! { <p>{op.summary}</p> });
    let request = op
        .request
        .map(|schema| view! { <p>"Body: " <code>{schema}</code></p> });
    let success = op.success.map(|(status, schema)| {
        let schema = (!schema.is_empty()).then(|| view! { " " <code>{schema}</code> });
        view! { <p>"Answers: " {status} {schema}</p> }
    });
    view! {
        <section data-testid="api-operation">
            <h3><code>{op.method} " " {op.path}</code>{trade}</h3>
            {summary}
            {parameters}
            {request}
            {success}
        </section>
    }
}

/// The operations grouped by tag, the groups in the order their tags first
/// appear and the operations in their order within each.
fn by_tag(operations: Vec<ApiOperation>) -> Vec<(String, Vec<ApiOperation>)> {
    let mut groups: Vec<(String, Vec<ApiOperation>)> = Vec::new();
    for op in operations {
        match groups.iter().position(|(tag, _)| *tag == op.tag) {
            Some(i) => groups[i].1.push(op),
            None => groups.push((op.tag.clone(), vec![op])),
        }
    }
    groups
}

/// "plans" → "Plans"; an operation without a tag is under "Other".
fn tag_heading(tag: &str) -> String {
    let mut chars = tag.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Other".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(tag: &str, path: &str) -> ApiOperation {
        ApiOperation {
            method: "GET".into(),
            path: path.into(),
            tag: tag.into(),
            operation_id: path.into(),
            summary: String::new(),
            parameters: Vec::new(),
            request: None,
            success: None,
            needs_trade: false,
        }
    }

    #[test]
    fn operations_group_by_tag_in_order_of_first_appearance() {
        let groups = by_tag(vec![
            op("plans", "/a"),
            op("account", "/b"),
            op("plans", "/c"),
        ]);
        let shape: Vec<(&str, Vec<&str>)> = groups
            .iter()
            .map(|(tag, ops)| (tag.as_str(), ops.iter().map(|o| o.path.as_str()).collect()))
            .collect();
        assert_eq!(
            shape,
            vec![("plans", vec!["/a", "/c"]), ("account", vec!["/b"])]
        );
    }

    #[test]
    fn tags_read_as_headings() {
        assert_eq!(tag_heading("plans"), "Plans");
        assert_eq!(tag_heading(""), "Other");
    }
}
