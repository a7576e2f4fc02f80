//! A learner's collections: create, rename and describe, delete, add and remove badges,
//! and publish or unpublish with an unguessable link.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::PlainForm;
use super::session::{CsrfForm, CsrfProtected, CsrfToken, CurrentUser};
use super::{render_page, see_other, Page};
use crate::db::badges::{self as badge_queries, BadgeFilter, SortOrder};
use crate::db::collections::{self as queries, Collection};
use crate::db::models::{new_id, now};
use crate::domain::token::generate_token;
use crate::error::AppError;
use crate::startup::AppState;

/// The longest collection name and description accepted.
const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 5000;

#[derive(Deserialize)]
pub struct CollectionForm {
    #[serde(default)]
    csrf_token: String,
    name: String,
    #[serde(default)]
    description: String,
}

impl CsrfProtected for CollectionForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl CollectionForm {
    /// The trimmed name and description, or why they cannot be used.
    fn validated(&self) -> Result<(String, String), AppError> {
        let name = self.name.trim();
        let description = self.description.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(AppError::bad_request(
                "invalid_collection_name",
                format!("Give the collection a name of 1 to {MAX_NAME} characters."),
            ));
        }
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(AppError::bad_request(
                "description_too_long",
                format!("Keep the description under {MAX_DESCRIPTION} characters."),
            ));
        }
        Ok((name.to_string(), description.to_string()))
    }
}

#[derive(Deserialize)]
pub struct BadgeChoice {
    #[serde(default)]
    csrf_token: String,
    badge_id: String,
}

impl CsrfProtected for BadgeChoice {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

pub async fn list_collections(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    let owner = user.0.id.clone();
    let collections = state
        .db
        .run(move |conn| Ok(queries::list_for_user(conn, &owner)?))
        .await?;
    let page = Page {
        title: "Your collections",
        csrf_token: &csrf.0,
        signed_in: true,
        notice: None,
        error: None,
    };
    render_page(
        &state,
        "pages/collections.html",
        &page,
        &json!({ "collections": collections }),
    )
}

pub async fn create_collection(
    state: web::Data<AppState>,
    user: CurrentUser,
    form: CsrfForm<CollectionForm>,
) -> Result<HttpResponse, AppError> {
    let (name, description) = form.0.validated()?;
    let at = now();
    let collection = Collection {
        id: new_id(),
        user_id: user.0.id.clone(),
        name,
        description,
        public_slug: None,
        created_at: at,
        updated_at: at,
    };
    let id = collection.id.clone();
    state
        .db
        .run(move |conn| Ok(queries::insert(conn, &collection)?))
        .await?;
    tracing::info!(user.id = %user.0.id, collection.id = %id, "collection created");
    Ok(see_other(&format!("/collections/{id}")))
}

/// A collection of the signed-in user, or not found.
pub async fn owned_collection(
    state: &AppState,
    user_id: &str,
    id: &str,
) -> Result<Collection, AppError> {
    let (owner, id) = (user_id.to_string(), id.to_string());
    state
        .db
        .run(move |conn| Ok(queries::find_for_user(conn, &owner, &id)?))
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn show_collection(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let collection = owned_collection(&state, &user.0.id, &path).await?;
    let (id, owner) = (collection.id.clone(), user.0.id.clone());
    let (members, all) = state
        .db
        .run(move |conn| {
            let everything = BadgeFilter {
                sort: SortOrder::Name,
                limit: 1000,
                ..Default::default()
            };
            Ok((
                queries::badges(conn, &id)?,
                badge_queries::list(conn, &owner, &everything)?,
            ))
        })
        .await?;
    let addable: Vec<_> = all
        .iter()
        .filter(|b| !members.iter().any(|m| m.id == b.id))
        .collect();
    let public_url = collection
        .public_slug
        .as_ref()
        .and_then(|slug| state.settings.base_url.join(&format!("c/{slug}")).ok())
        .map(String::from);
    let page = Page {
        title: &collection.name,
        csrf_token: &csrf.0,
        signed_in: true,
        notice: None,
        error: None,
    };
    let context = json!({
        "collection": collection, "badges": members, "addable": addable,
        "public_url": public_url,
    });
    render_page(&state, "pages/collection.html", &page, &context)
}

pub async fn edit_collection(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    form: CsrfForm<CollectionForm>,
) -> Result<HttpResponse, AppError> {
    let collection = owned_collection(&state, &user.0.id, &path).await?;
    let (name, description) = form.0.validated()?;
    let id = collection.id.clone();
    state
        .db
        .run(move |conn| Ok(queries::update_text(conn, &id, &name, &description, now())?))
        .await?;
    Ok(see_other(&format!("/collections/{}", collection.id)))
}

pub async fn delete_collection(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    let collection = owned_collection(&state, &user.0.id, &path).await?;
    state
        .db
        .run(move |conn| Ok(queries::delete(conn, &collection.id)?))
        .await?;
    Ok(see_other("/collections"))
}

pub async fn add_badge(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    form: CsrfForm<BadgeChoice>,
) -> Result<HttpResponse, AppError> {
    let collection = owned_collection(&state, &user.0.id, &path).await?;
    let (owner, id, badge_id) = (user.0.id.clone(), collection.id.clone(), form.0.badge_id);
    let added = state
        .db
        .run(move |conn| {
            if badge_queries::find_for_user(conn, &owner, &badge_id)?.is_none() {
                return Ok(false);
            }
            queries::add_badge(conn, &id, &badge_id, now())?;
            Ok(true)
        })
        .await?;
    if !added {
        return Err(AppError::NotFound);
    }
    Ok(see_other(&format!("/collections/{}", collection.id)))
}

pub async fn remove_badge(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    let (collection_id, badge_id) = path.into_inner();
    let collection = owned_collection(&state, &user.0.id, &collection_id).await?;
    let id = collection.id.clone();
    state
        .db
        .run(move |conn| Ok(queries::remove_badge(conn, &id, &badge_id)?))
        .await?;
    Ok(see_other(&format!("/collections/{}", collection.id)))
}

/// Publishes with a fresh unguessable link (256 random bits); publishing again keeps it.
pub async fn publish_collection(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    let collection = owned_collection(&state, &user.0.id, &path).await?;
    if collection.public_slug.is_none() {
        let (id, slug) = (collection.id.clone(), generate_token());
        state
            .db
            .run(move |conn| Ok(queries::set_public_slug(conn, &id, Some(&slug))?))
            .await?;
        tracing::info!(collection.id = %collection.id, "collection published");
    }
    Ok(see_other(&format!("/collections/{}", collection.id)))
}

/// Unpublishes: the old link stops working for good.
pub async fn unpublish_collection(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    let collection = owned_collection(&state, &user.0.id, &path).await?;
    let id = collection.id.clone();
    state
        .db
        .run(move |conn| Ok(queries::set_public_slug(conn, &id, None)?))
        .await?;
    Ok(see_other(&format!("/collections/{}", collection.id)))
}
