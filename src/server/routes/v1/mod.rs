//! The public REST API, `/api/v1` (Pro and above): personal API tokens,
//! JSON in and out, one error shape ([`error`]), cursor pagination, and
//! `Idempotency-Key` on every POST ([`guard`]). Every handler calls the same
//! use-case as the matching server function; nothing here decides a rule.
//! The OpenAPI 3.1 document is generated from these handlers and served at
//! `/api/v1/openapi.json`.

pub mod account;
pub mod backtests;
pub mod error;
pub mod guard;
pub mod plans;
pub mod recommendations;

use crate::server::state::AppState;
use axum::Json;
use axum::routing::get;
use base64::Engine as _;
use error::{ApiError, ErrorBody};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr, Response as DocResponse, ResponseBuilder};
use utoipa::{IntoParams, Modify, OpenApi, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const PREFIX: &str = "/api/v1";
pub const DOCUMENT: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Dripfeed API",
        description = "Script your Dripfeed plans and recommendations. Authenticate with a personal API token from Settings: `Authorization: Bearer dft_…`. Money amounts are decimal strings. Dripfeed is a software tool, not investment advice.",
        license(name = "AGPL-3.0-or-later")
    ),
    security(("token" = [])),
    tags(
        (name = "account", description = "Accounts, positions, orders and the ledger"),
        (name = "plans", description = "Recurring-investment plans, their runs and returns"),
        (name = "recommendations", description = "Strategy recommendations you execute or ignore"),
        (name = "backtests", description = "Backtests with the same code as live trading"),
    )
)]
struct ApiDoc;

/// Adds the bearer scheme and, to every operation, the error answers any
/// request can get (each with the one error body).
struct Conventions;

const ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "The request could not be read (bad JSON, path or query)",
    ),
    (
        "401",
        "No token, or one that is unknown, revoked or expired",
    ),
    ("403", "The token's scope or the tier does not allow this"),
    ("404", "No such thing of yours"),
    (
        "409",
        "It cannot be done in its present state, or the Idempotency-Key is in use",
    ),
    ("413", "The body is too large"),
    ("415", "The body is not JSON"),
    (
        "422",
        "A field is wrong (see `fields`), or the Idempotency-Key was used for another request",
    ),
    (
        "429",
        "The token's requests per minute are used up (see Retry-After)",
    ),
    (
        "500",
        "Something failed on our side; the message has a reference",
    ),
    ("503", "The broker or another service could not be reached"),
];

impl Modify for Conventions {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A personal API token (Settings → API tokens)"))
                    .build(),
            ),
        );
        let error: RefOr<DocResponse> = RefOr::T(
            ResponseBuilder::new()
                .description("An error")
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "ErrorBody",
                        ))))
                        .build(),
                )
                .build(),
        );
        components
            .schemas
            .insert("ErrorBody".into(), ErrorBody::schema());
        for (name, schema) in {
            let mut v = Vec::new();
            ErrorBody::schemas(&mut v);
            v
        } {
            components.schemas.entry(name).or_insert(schema);
        }
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                for (status, why) in ERRORS {
                    op.responses
                        .responses
                        .entry((*status).into())
                        .or_insert_with(|| {
                            let mut r = error.clone();
                            if let RefOr::T(r) = &mut r {
                                r.description = (*why).into();
                            }
                            r
                        });
                }
            }
        }
    }
}

/// A page of a list, newest first. Ask for the next with `cursor`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 100; 50 when absent.
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

pub const MAX_LIMIT: u32 = 100;

/// The page of `items` that `q` asks for. `key` orders the items (newest is
/// greatest) and must be unique; the cursor is the last key returned, so a
/// page is stable while newer items arrive.
pub fn page<T: ToSchema>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    q: &PageQuery,
) -> Result<Page<T>, ApiError> {
    let limit = match q.limit {
        None => 50,
        Some(n @ 1..=MAX_LIMIT) => n,
        Some(_) => {
            return Err(ApiError::invalid(
                "limit",
                format!("limit is 1 to {MAX_LIMIT}."),
            ));
        }
    } as usize;
    let after = match &q.cursor {
        None => None,
        Some(c) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ApiError::invalid("cursor", "This cursor is not one this API gave out.")
                })?,
        ),
    };
    items.sort_by_cached_key(|i| std::cmp::Reverse(key(i)));
    let mut rest: Vec<T> = match &after {
        None => items,
        Some(after) => items.into_iter().filter(|i| key(i) < *after).collect(),
    };
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next_cursor = if more {
        rest.last()
            .map(|i| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key(i)))
    } else {
        None
    };
    Ok(Page {
        data: rest,
        next_cursor,
    })
}

/// An id as a key that sorts like the number.
pub fn id_key(id: i64) -> String {
    format!("{id:020}")
}

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(account::list_accounts))
        .routes(routes!(account::ledger))
        .routes(routes!(account::purchases))
        .routes(routes!(plans::list, plans::create))
        .routes(routes!(plans::get_one, plans::update))
        .routes(routes!(plans::pause))
        .routes(routes!(plans::resume))
        .routes(routes!(plans::stop))
        .routes(routes!(plans::runs))
        .routes(routes!(plans::performance))
        .routes(routes!(recommendations::list))
        .routes(routes!(recommendations::execute))
        .routes(routes!(recommendations::ignore))
        .routes(routes!(backtests::compare))
        .routes(routes!(backtests::strategy))
        .routes(routes!(backtests::start_job, backtests::list_jobs))
        .routes(routes!(backtests::get_job))
}

/// The OpenAPI document of every `/api/v1` route (built once).
pub fn document() -> Arc<Document> {
    static DOC: OnceLock<Arc<Document>> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = api().into_openapi();
        Conventions.modify(&mut doc);
        Arc::new(doc)
    })
    .clone()
}

/// `/api/v1`: the routes behind the token guard, the document open to all,
/// and a JSON 404 for any other path under the prefix.
pub fn router(state: &AppState) -> axum::Router<AppState> {
    let (routes, _) = api().split_for_parts();
    let guarded = routes
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::idempotency,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::authenticate,
        ));
    axum::Router::new()
        .route(
            DOCUMENT,
            get(|| async { Json(document().as_ref().clone()) }),
        )
        .merge(guarded)
        .route(
            "/api/v1/{*rest}",
            axum::routing::any(|| async {
                ApiError::new(
                    axum::http::StatusCode::NOT_FOUND,
                    "not_found",
                    "No such API route; see /api/v1/openapi.json.",
                )
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(guard::BODY_LIMIT))
}

/// The document as the in-app API page lists it (read from its JSON form,
/// so the page shows exactly what `/api/v1/openapi.json` says).
pub fn reference() -> Result<crate::dto::catalog::ApiReference, anyhow::Error> {
    use crate::dto::catalog::{ApiOperation, ApiReference};
    use serde_json::Value;
    let doc = serde_json::to_value(document().as_ref())?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let schema_name = |v: &Value| {
        let r = v["schema"]["$ref"]
            .as_str()
            .or_else(|| v["schema"]["oneOf"][0]["$ref"].as_str());
        match r {
            Some(r) => r.rsplit('/').next().unwrap_or_default().to_owned(),
            None => "object".to_owned(),
        }
    };
    let first_content = |v: &Value| {
        v["content"]
            .as_object()
            .and_then(|c| c.values().next())
            .map(schema_name)
    };
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let summary = [text(&op["summary"]), text(&op["description"])]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let parameters = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (text(&p["name"]), text(&p["in"]), text(&p["description"])))
                .collect();
            let success = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .find(|(status, _)| status.starts_with('2'))
                .map(|(status, r)| (status.clone(), first_content(r).unwrap_or_default()));
            operations.push(ApiOperation {
                method: method.to_uppercase(),
                path: path.clone(),
                tag: text(&op["tags"][0]),
                operation_id: text(&op["operationId"]),
                needs_trade: summary.contains("Needs `trade`")
                    || summary.contains("Needs the `trade` scope"),
                summary,
                parameters,
                request: first_content(&op["requestBody"]),
                success,
            });
        }
    }
    operations.sort_by(|a, b| (&a.tag, &a.path, &a.method).cmp(&(&b.tag, &b.path, &b.method)));
    Ok(ApiReference {
        document_url: DOCUMENT.to_owned(),
        operations,
    })
}
