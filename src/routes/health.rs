//! `GET /healthz`: 200 only when the database answers a query, 503 otherwise.

use actix_web::{web, HttpResponse};

use crate::startup::AppState;

pub async fn health_check(state: web::Data<AppState>) -> HttpResponse {
    let answered = state.db.ping().await;
    match answered {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
        Err(error) => {
            let chain = format!("{error:#}");
            tracing::warn!(error.cause_chain = %chain, "health check: database did not answer");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}
