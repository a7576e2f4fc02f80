//! `/api/v1/collections`: the learner's collections as JSON. Create, read, rename and
//! describe, delete, add and remove badges, publish and unpublish. Another user's
//! collection or badge is a 404, like a missing one.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::ApiUser;
use super::badges::{read_json, timestamp, BadgeItem};
use super::error::ApiError;
use crate::db::badges as badge_queries;
use crate::db::collections::{self as queries, Collection};
use crate::db::models::{new_id, now};
use crate::domain::token::generate_token;
use crate::startup::AppState;

/// The largest collection request body.
const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 5000;

/// A collection as the API shows it.
#[derive(Debug, Serialize)]
pub struct CollectionItem {
    id: String,
    name: String,
    description: String,
    /// The public link, when published.
    public_url: Option<String>,
    created_at: String,
    updated_at: String,
}

impl CollectionItem {
    fn new(state: &AppState, collection: Collection) -> CollectionItem {
        let public_url = collection
            .public_slug
            .as_ref()
            .and_then(|slug| state.settings.base_url.join(&format!("c/{slug}")).ok())
            .map(String::from);
        CollectionItem {
            id: collection.id,
            name: collection.name,
            description: collection.description,
            public_url,
            created_at: timestamp(collection.created_at),
            updated_at: timestamp(collection.updated_at),
        }
    }
}

/// `POST /collections` and `PATCH /collections/{id}` bodies.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectionBody {
    name: Option<String>,
    description: Option<String>,
}

fn checked_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ApiError::bad_request(
            "invalid_collection_name",
            format!("`name` must be 1 to {MAX_NAME} characters."),
        ));
    }
    Ok(name.to_string())
}

fn checked_description(description: &str) -> Result<String, ApiError> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(ApiError::bad_request(
            "description_too_long",
            format!("`description` may be at most {MAX_DESCRIPTION} characters."),
        ));
    }
    Ok(description.to_string())
}

async fn owned(state: &AppState, user_id: &str, id: &str) -> Result<Collection, ApiError> {
    Ok(crate::routes::collections::owned_collection(state, user_id, id).await?)
}

/// `GET /collections`.
pub async fn list_collections(
    state: web::Data<AppState>,
    user: ApiUser,
) -> Result<HttpResponse, ApiError> {
    let owner = user.id().to_string();
    let rows = state
        .db
        .run(move |conn| Ok(queries::list_for_user(conn, &owner)?))
        .await?;
    let items: Vec<_> = rows
        .into_iter()
        .map(|c| CollectionItem::new(&state, c))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// `POST /collections`.
pub async fn create_collection(
    state: web::Data<AppState>,
    user: ApiUser,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body: CollectionBody = read_json(&request, payload, MAX_BODY_BYTES).await?;
    let name = checked_name(body.name.as_deref().unwrap_or_default())?;
    let description = checked_description(body.description.as_deref().unwrap_or_default())?;
    let at = now();
    let collection = Collection {
        id: new_id(),
        user_id: user.id().to_string(),
        name,
        description,
        public_slug: None,
        created_at: at,
        updated_at: at,
    };
    let row = collection.clone();
    state
        .db
        .run(move |conn| Ok(queries::insert(conn, &row)?))
        .await?;
    let location = format!("/api/v1/collections/{}", collection.id);
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(CollectionItem::new(&state, collection)))
}

/// `GET /collections/{id}`: the collection and its badges.
pub async fn get_collection(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let collection = owned(&state, user.id(), &path).await?;
    let id = collection.id.clone();
    let badges = state
        .db
        .run(move |conn| Ok(queries::badges(conn, &id)?))
        .await?;
    let badges: Vec<BadgeItem> = badges.into_iter().map(BadgeItem::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "collection": CollectionItem::new(&state, collection),
        "badges": badges,
    })))
}

/// `PATCH /collections/{id}`: a new name and/or description.
pub async fn update_collection(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let collection = owned(&state, user.id(), &path).await?;
    let body: CollectionBody = read_json(&request, payload, MAX_BODY_BYTES).await?;
    let name = match &body.name {
        Some(name) => checked_name(name)?,
        None => collection.name.clone(),
    };
    let description = match &body.description {
        Some(description) => checked_description(description)?,
        None => collection.description.clone(),
    };
    let id = collection.id.clone();
    let (n, d) = (name.clone(), description.clone());
    let at = now();
    state
        .db
        .run(move |conn| Ok(queries::update_text(conn, &id, &n, &d, at)?))
        .await?;
    let updated = Collection {
        name,
        description,
        updated_at: at,
        ..collection
    };
    Ok(HttpResponse::Ok().json(CollectionItem::new(&state, updated)))
}

/// `DELETE /collections/{id}`: the badges stay in the backpack.
pub async fn delete_collection(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let collection = owned(&state, user.id(), &path).await?;
    state
        .db
        .run(move |conn| Ok(queries::delete(conn, &collection.id)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /collections/{id}/badges/{badge_id}`: adds a badge of the same user (idempotent).
pub async fn add_badge(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (collection_id, badge_id) = path.into_inner();
    let collection = owned(&state, user.id(), &collection_id).await?;
    let owner = user.id().to_string();
    let added = state
        .db
        .run(move |conn| {
            if badge_queries::find_for_user(conn, &owner, &badge_id)?.is_none() {
                return Ok(false);
            }
            queries::add_badge(conn, &collection.id, &badge_id, now())?;
            Ok(true)
        })
        .await?;
    if !added {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /collections/{id}/badges/{badge_id}`.
pub async fn remove_badge(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (collection_id, badge_id) = path.into_inner();
    let collection = owned(&state, user.id(), &collection_id).await?;
    state
        .db
        .run(move |conn| Ok(queries::remove_badge(conn, &collection.id, &badge_id)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /collections/{id}/publish`: an unguessable public link (kept if already published).
pub async fn publish_collection(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut collection = owned(&state, user.id(), &path).await?;
    if collection.public_slug.is_none() {
        let (id, slug) = (collection.id.clone(), generate_token());
        collection.public_slug = Some(slug.clone());
        state
            .db
            .run(move |conn| Ok(queries::set_public_slug(conn, &id, Some(&slug))?))
            .await?;
    }
    Ok(HttpResponse::Ok().json(CollectionItem::new(&state, collection)))
}

/// `POST /collections/{id}/unpublish`: the public link stops working for good.
pub async fn unpublish_collection(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut collection = owned(&state, user.id(), &path).await?;
    let id = collection.id.clone();
    state
        .db
        .run(move |conn| Ok(queries::set_public_slug(conn, &id, None)?))
        .await?;
    collection.public_slug = None;
    Ok(HttpResponse::Ok().json(CollectionItem::new(&state, collection)))
}
