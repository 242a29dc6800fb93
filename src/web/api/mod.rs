//! The JSON API, version 1, and its OpenAPI description.

pub mod blocks;
pub mod directory;
pub mod federation;
pub mod images;
pub mod meta;
pub mod objects;
pub mod poles;
pub mod versions;
pub mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::AppState;
use super::error::ApiError;

/// Applies a JSON merge patch (RFC 7396): `null` removes a field, objects merge, the rest replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(changes) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(map) = target {
                for (key, value) in changes {
                    if value.is_null() {
                        map.remove(key);
                    } else {
                        merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The input a patch produces from the current state, parsed as if it had been sent whole.
pub(crate) fn patched<I: Serialize + DeserializeOwned>(
    current: &I,
    changes: &Value,
) -> Result<I, ApiError> {
    if !changes.is_object() {
        return Err(ApiError::BadRequest(
            "a merge patch must be a JSON object".into(),
        ));
    }
    let mut value = serde_json::to_value(current).map_err(|e| ApiError::Internal(e.to_string()))?;
    merge_patch(&mut value, changes);
    let bytes = serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.to_string()))?;
    super::extract::parse_json(&bytes)
}

struct TokenSecurity;

impl utoipa::Modify for TokenSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token issued with `maillage token issue`."))
                    .build(),
            ),
        );
    }
}

/// What every operation that reads a JSON body may also answer, and the plain JSON a merge
/// patch is also accepted as: written once here rather than in each operation.
struct BodyRefusals;

impl utoipa::Modify for BodyRefusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let refusal = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.post, &mut item.put, &mut item.patch]
                .into_iter()
                .flatten()
            {
                let Some(body) = operation.request_body.as_mut() else {
                    continue;
                };
                let json_body = body.content.keys().any(|t| t.ends_with("json"));
                if let Some(patch) = body.content.get("application/merge-patch+json").cloned() {
                    body.content
                        .entry("application/json".to_owned())
                        .or_insert(patch);
                }
                if !json_body {
                    continue;
                }
                let responses = &mut operation.responses.responses;
                responses.entry("400".to_owned()).or_insert_with(|| {
                    refusal("The body is not one JSON value of the expected shape").into()
                });
                responses
                    .entry("415".to_owned())
                    .or_insert_with(|| refusal("The body is not sent as JSON").into());
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Maillage API",
        description = "Read the directory of the poles (PTCE) this instance hosts, and manage them with an API token.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    modifiers(&TokenSecurity, &BodyRefusals),
    paths(
        meta::instance, meta::put_instance, meta::vocabularies, meta::communes, meta::me, meta::deliveries,
        poles::list, poles::create, poles::get, poles::put, poles::patch, poles::delete,
        poles::put_logo, poles::delete_logo, poles::put_banner, poles::delete_banner,
        poles::list_members, poles::create_member, poles::get_member, poles::put_member, poles::patch_member, poles::delete_member,
        objects::list_projects, objects::create_project, objects::get_project, objects::put_project, objects::patch_project, objects::delete_project,
        objects::list_events, objects::create_event, objects::get_event, objects::put_event, objects::patch_event, objects::delete_event,
        objects::list_calls, objects::create_call, objects::get_call, objects::put_call, objects::patch_call, objects::delete_call,
        federation::list_follows, federation::create_follow, federation::delete_follow,
        federation::list_followers, federation::accept_follower, federation::reject_follower,
        federation::project_interactions, federation::event_interactions, federation::call_interactions,
        federation::moderate_reply,
        federation::list_instance_followers, federation::accept_instance_follower,
        federation::reject_instance_follower, federation::discover,
        blocks::list, blocks::create, blocks::delete,
        directory::search, directory::statistics,
    ),
    tags(
        (name = "instance", description = "The instance and its reference data"),
        (name = "poles", description = "Poles and their profile"),
        (name = "federation", description = "Follows, followers, and what other servers do with what poles publish"),
        (name = "members", description = "The organisations that are members of a pole"),
        (name = "projects", description = "Cooperative projects"),
        (name = "events", description = "Events"),
        (name = "calls", description = "Calls for cooperation"),
        (name = "directory", description = "Search and statistics over every pole and object this instance knows"),
    )
)]
pub struct ApiDoc;

pub fn router(state: &AppState) -> Router<AppState> {
    let upload_limit = DefaultBodyLimit::max(state.config.uploads.max_bytes);
    let body_limit = DefaultBodyLimit::max(state.config.api.max_body_bytes);
    let images = Router::new()
        .route(
            "/api/v1/poles/{slug}/logo",
            get(meta::no_get)
                .put(poles::put_logo)
                .delete(poles::delete_logo),
        )
        .route(
            "/api/v1/poles/{slug}/banner",
            get(meta::no_get)
                .put(poles::put_banner)
                .delete(poles::delete_banner),
        )
        .layer(upload_limit);
    Router::new()
        .route("/api/v1/openapi.json", get(meta::openapi))
        .route(
            "/api/v1/instance",
            get(meta::instance).put(meta::put_instance),
        )
        .route("/api/v1/vocabularies", get(meta::vocabularies))
        .route("/api/v1/directory", get(directory::search))
        .route("/api/v1/statistics", get(directory::statistics))
        .route("/api/v1/communes", get(meta::communes))
        .route("/api/v1/me", get(meta::me))
        .route("/api/v1/admin/deliveries", get(meta::deliveries))
        .route(
            "/api/v1/admin/follows",
            get(federation::list_follows).post(federation::create_follow),
        )
        .route(
            "/api/v1/admin/follows/{id}",
            axum::routing::delete(federation::delete_follow),
        )
        .route(
            "/api/v1/admin/followers",
            get(federation::list_instance_followers),
        )
        .route(
            "/api/v1/admin/followers/{id}/accept",
            axum::routing::post(federation::accept_instance_follower),
        )
        .route(
            "/api/v1/admin/followers/{id}/reject",
            axum::routing::post(federation::reject_instance_follower),
        )
        .route("/api/v1/admin/discover", get(federation::discover))
        .route(
            "/api/v1/admin/blocks",
            get(blocks::list).post(blocks::create),
        )
        .route(
            "/api/v1/admin/blocks/{domain}",
            axum::routing::delete(blocks::delete),
        )
        .route(
            "/api/v1/poles/{slug}/followers",
            get(federation::list_followers),
        )
        .route(
            "/api/v1/poles/{slug}/followers/{id}/accept",
            axum::routing::post(federation::accept_follower),
        )
        .route(
            "/api/v1/poles/{slug}/followers/{id}/reject",
            axum::routing::post(federation::reject_follower),
        )
        .route(
            "/api/v1/projects/{id}/interactions",
            get(federation::project_interactions),
        )
        .route(
            "/api/v1/events/{id}/interactions",
            get(federation::event_interactions),
        )
        .route(
            "/api/v1/calls/{id}/interactions",
            get(federation::call_interactions),
        )
        .route(
            "/api/v1/replies/{id}/state",
            axum::routing::put(federation::moderate_reply),
        )
        .route("/api/v1/poles", get(poles::list).post(poles::create))
        .route(
            "/api/v1/poles/{slug}",
            get(poles::get)
                .put(poles::put)
                .patch(poles::patch)
                .delete(poles::delete),
        )
        .route(
            "/api/v1/poles/{slug}/members",
            get(poles::list_members).post(poles::create_member),
        )
        .route(
            "/api/v1/poles/{slug}/members/{id}",
            get(poles::get_member)
                .put(poles::put_member)
                .patch(poles::patch_member)
                .delete(poles::delete_member),
        )
        .route(
            "/api/v1/poles/{slug}/projects",
            get(objects::list_projects).post(objects::create_project),
        )
        .route(
            "/api/v1/projects/{id}",
            get(objects::get_project)
                .put(objects::put_project)
                .patch(objects::patch_project)
                .delete(objects::delete_project),
        )
        .route(
            "/api/v1/poles/{slug}/events",
            get(objects::list_events).post(objects::create_event),
        )
        .route(
            "/api/v1/events/{id}",
            get(objects::get_event)
                .put(objects::put_event)
                .patch(objects::patch_event)
                .delete(objects::delete_event),
        )
        .route(
            "/api/v1/poles/{slug}/calls",
            get(objects::list_calls).post(objects::create_call),
        )
        .route(
            "/api/v1/calls/{id}",
            get(objects::get_call)
                .put(objects::put_call)
                .patch(objects::patch_call)
                .delete(objects::delete_call),
        )
        .layer(body_limit)
        .merge(images)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            wake_publisher,
        ))
        .layer(read_from_anywhere())
}

/// Like the feeds, what the API lets anyone read can be read by a script of any site; the
/// writes and the token's own pages are not offered to other sites (no `Authorization`,
/// no method but reading, in a preflight's answer).
fn read_from_anywhere() -> tower_http::cors::CorsLayer {
    use axum::http::{Method, header};
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers([
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::IF_NONE_MATCH,
        ])
        .expose_headers([header::ETAG, header::LINK, header::CONTENT_LANGUAGE])
        .max_age(std::time::Duration::from_secs(86_400))
}

/// After a successful write, publishes the change at once rather than at the next poll.
async fn wake_publisher(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let write = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let response = next.run(request).await;
    if write && response.status().is_success() {
        state.fed.publish_wakeup.notify_one();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut target, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(target, json!({"a": "z", "c": {"d": "e"}}));
        let mut target = json!({"list": [1, 2]});
        merge_patch(&mut target, &json!({"list": [3]}));
        assert_eq!(target, json!({"list": [3]}));
    }
}
