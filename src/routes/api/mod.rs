//! The JSON API under `/api/v1/`, for the signed-in browser and for personal access tokens:
//! the backpack's badges and collections, and the inbox of pushed badges. Every endpoint is
//! listed once in [`endpoints`]; [`configure`] registers that list, and a test checks that
//! the OpenAPI document served at `/api/v1/openapi.json` describes exactly it.
//!
//! Everything under `/api/` answers JSON, errors included ([`error::ApiError`]). This
//! module uses `backpack` and `db`; the HTML pages do not depend on it, except the token
//! page in [`tokens`], which lives here because tokens exist for the API.

pub mod auth;
pub mod badges;
pub mod collections;
pub mod error;
pub mod inbox;
pub mod openapi;
pub mod pushes;
pub mod tokens;

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder};

/// One registered API endpoint.
pub struct Endpoint {
    pub method: Method,
    /// The path under `/api/v1`, in the OpenAPI template form (`/badges/{id}`).
    pub path: &'static str,
    route: actix_web::Route,
}

fn endpoint<F, Args>(method: Method, path: &'static str, handler: F) -> Endpoint
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    Endpoint {
        route: web::route().method(method.clone()).to(handler),
        method,
        path,
    }
}

/// Every endpoint of `/api/v1`, top to bottom.
fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint(Method::GET, "/openapi.json", openapi::document),
        endpoint(Method::GET, "/badges", badges::list_badges),
        endpoint(Method::POST, "/badges", badges::import_badge),
        endpoint(Method::GET, "/badges/{id}", badges::get_badge),
        endpoint(Method::DELETE, "/badges/{id}", badges::delete_badge),
        endpoint(Method::POST, "/badges/{id}/recheck", badges::recheck_badge),
        endpoint(Method::GET, "/badges/{id}/image", badges::badge_image),
        endpoint(Method::GET, "/collections", collections::list_collections),
        endpoint(Method::POST, "/collections", collections::create_collection),
        endpoint(
            Method::GET,
            "/collections/{id}",
            collections::get_collection,
        ),
        endpoint(
            Method::PATCH,
            "/collections/{id}",
            collections::update_collection,
        ),
        endpoint(
            Method::DELETE,
            "/collections/{id}",
            collections::delete_collection,
        ),
        endpoint(
            Method::PUT,
            "/collections/{id}/badges/{badge_id}",
            collections::add_badge,
        ),
        endpoint(
            Method::DELETE,
            "/collections/{id}/badges/{badge_id}",
            collections::remove_badge,
        ),
        endpoint(
            Method::POST,
            "/collections/{id}/publish",
            collections::publish_collection,
        ),
        endpoint(
            Method::POST,
            "/collections/{id}/unpublish",
            collections::unpublish_collection,
        ),
        endpoint(Method::GET, "/inbox", inbox::list_inbox),
        endpoint(Method::POST, "/inbox/{id}/accept", inbox::accept_push),
        endpoint(Method::POST, "/inbox/{id}/decline", inbox::decline_push),
        endpoint(Method::DELETE, "/inbox/automatic", inbox::forget_issuer),
        endpoint(Method::POST, "/pushes", pushes::create_push),
        endpoint(Method::GET, "/pushes/{id}", pushes::get_push),
    ]
}

/// The method and path of every endpoint, for checking the OpenAPI document against.
pub fn registered_routes() -> Vec<(Method, &'static str)> {
    endpoints()
        .into_iter()
        .map(|e| (e.method, e.path))
        .collect()
}

/// Registers `/api/v1/...`; any other path under `/api/` is a JSON 404, and a known path
/// asked with another method a JSON 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut v1 = web::scope("/v1");
    let mut endpoints = endpoints();
    while let Some(first) = endpoints.first() {
        let path = first.path;
        let (same, rest): (Vec<_>, Vec<_>) = endpoints.into_iter().partition(|e| e.path == path);
        endpoints = rest;
        let resource = same
            .into_iter()
            .fold(web::resource(path), |resource, e| resource.route(e.route));
        v1 = v1.service(resource.default_service(web::to(error::method_not_allowed)));
    }
    cfg.service(
        web::scope("/api")
            .service(v1.default_service(web::to(error::no_such_endpoint)))
            .default_service(web::to(error::no_such_endpoint)),
    );
}
