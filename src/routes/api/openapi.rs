//! The OpenAPI 3.1 description of `/api/v1`, written by hand in `openapi.json` beside this
//! file and embedded in the binary. The API tests check it against the registered routes.

use actix_web::http::header;
use actix_web::HttpResponse;

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /openapi.json`: readable without signing in.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `value`, with where it was found.
    fn refs(value: &serde_json::Value, at: String, found: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    if let (true, Some(target)) = (key == "$ref", inner.as_str()) {
                        found.push((at.clone(), target.to_string()));
                    }
                    refs(inner, format!("{at}/{key}"), found);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    refs(inner, format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let document: serde_json::Value = serde_json::from_str(DOCUMENT).expect("JSON");
        let mut found = Vec::new();

        refs(&document, String::new(), &mut found);

        assert!(!found.is_empty());
        for (at, target) in found {
            let pointer = target.strip_prefix('#').expect("a local reference");
            assert!(
                document.pointer(pointer).is_some(),
                "{at}: {target} does not resolve"
            );
        }
    }
}
