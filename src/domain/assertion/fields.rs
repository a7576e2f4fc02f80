//! Reading fields whose JSON shape varies: text or language-tagged text, IRI or embedded
//! object, one value or a list. Also the BadgeClass and Issuer readers all versions share.

use serde_json::{Map, Value};
use url::Url;

use super::model::{Alignment, BadgeClass, Criteria, Evidence, Issuer, Linked, VerificationPolicy};
use super::ParseError;

pub type Object = Map<String, Value>;

/// Where a document sits, for field names in messages and for resolving relative URLs.
#[derive(Clone, Copy)]
pub struct Place<'a> {
    /// Dotted path of the object inside the input (`""` at the top).
    pub path: &'a str,
    /// 0.5 `issuer.origin`, or the URL a linked document was fetched from.
    pub base: Option<&'a Url>,
}

impl<'a> Place<'a> {
    pub fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

/// Plain text from a string, a JSON-LD value object (`{"@value": ...}`) or the first such
/// entry of a list. Empty text counts as absent.
pub fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Object(o) => text(o.get("@value")),
        Value::Array(items) => items.iter().find_map(|item| text(Some(item))),
        _ => None,
    }
}

/// Optional text field; a value of another JSON type is ignored with a warning.
pub fn opt_text(
    obj: &Object,
    key: &str,
    place: Place,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let value = obj.get(key).filter(|v| !v.is_null());
    let found = text(value);
    if found.is_none() && value.is_some_and(|v| !is_empty_text(v)) {
        warnings.push(format!(
            "`{}` is not text and was ignored",
            place.field(key)
        ));
    }
    found
}

fn is_empty_text(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.trim().is_empty())
}

/// Required text field.
pub fn required_text(obj: &Object, key: &str, place: Place) -> Result<String, ParseError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(ParseError::missing(place.field(key))),
        Some(Value::String(s)) if s.trim().is_empty() => Err(ParseError::missing(place.field(key))),
        value => {
            text(value).ok_or_else(|| ParseError::bad_field(place.field(key), "expected text"))
        }
    }
}

/// An IRI written as a string, or as an object's `id`.
pub fn iri(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Object(o) => text(o.get("id").or_else(|| o.get("@id"))),
        other => text(Some(other)),
    }
}

/// Every text (or `id`) in a value that may be one item or a list.
pub fn list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|item| iri(Some(item))).collect(),
        other => iri(other).into_iter().collect(),
    }
}

/// The objects in a value that may be one object or a list (other entries are skipped).
pub fn objects(value: Option<&Value>) -> Vec<&Object> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(o)) => vec![o],
        _ => Vec::new(),
    }
}

/// The `type` (or `@type`) entries of an object.
pub fn types(obj: &Object) -> Vec<String> {
    list(obj.get("type").or_else(|| obj.get("@type")))
}

/// Whether any `type` entry is one of `names` (also as a full IRI ending in `#name`).
pub fn has_type(types: &[String], names: &[&str]) -> bool {
    types.iter().any(|t| {
        let local = t.rsplit(['#', '/', ':']).next().unwrap_or(t);
        names.iter().any(|name| t == name || local == *name)
    })
}

/// Resolves a possibly relative URL against the place's base; absolute URLs and `data:` URIs
/// are kept exactly as written.
pub fn resolve(written: String, place: Place, warnings: &mut Vec<String>) -> String {
    if Url::parse(&written).is_ok() {
        return written;
    }
    match place.base.map(|base| base.join(&written)) {
        Some(Ok(joined)) => joined.into(),
        Some(Err(_)) => {
            warnings.push(format!(
                "the relative URL `{written}` could not be resolved"
            ));
            written
        }
        None => written,
    }
}

/// An image: IRI or data URI string, or an Image object with `id` (OB 2.0 Image, OB 3.0).
pub fn image(obj: &Object, place: Place, warnings: &mut Vec<String>) -> Option<String> {
    iri(obj.get("image")).map(|url| resolve(url, place, warnings))
}

/// OB 2.0 Criteria: a URL, or `{id?, narrative?}`.
pub fn criteria(obj: &Object, place: Place, warnings: &mut Vec<String>) -> Option<Criteria> {
    let value = obj.get("criteria")?;
    let (url, narrative) = match value {
        Value::Object(o) => (iri(Some(value)), text(o.get("narrative"))),
        other => (text(Some(other)), None),
    };
    let url = url.map(|u| resolve(u, place, warnings));
    (url.is_some() || narrative.is_some()).then_some(Criteria { url, narrative })
}

/// Evidence as a URL, an Evidence object, or a list of either.
pub fn evidence(value: Option<&Value>, place: Place, warnings: &mut Vec<String>) -> Vec<Evidence> {
    let items: Vec<&Value> = match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(one) => vec![one],
    };
    items
        .into_iter()
        .filter_map(|item| one_evidence(item, place, warnings))
        .collect()
}

fn one_evidence(item: &Value, place: Place, warnings: &mut Vec<String>) -> Option<Evidence> {
    let id = iri(Some(item)).map(|u| resolve(u, place, warnings));
    let obj = item.as_object();
    let get = |key: &str| obj.and_then(|o| text(o.get(key)));
    let evidence = Evidence {
        id,
        name: get("name"),
        description: get("description"),
        narrative: get("narrative"),
    };
    let empty = evidence.id.is_none() && evidence.narrative.is_none() && evidence.name.is_none();
    (!empty).then_some(evidence)
}

/// Alignments, read from the 2.0/3.0 `target*` names or the 1.x `name`/`url`/`description`.
pub fn alignments(value: Option<&Value>) -> Vec<Alignment> {
    objects(value)
        .into_iter()
        .map(|o| Alignment {
            target_name: text(o.get("targetName").or_else(|| o.get("name"))),
            target_url: text(o.get("targetUrl").or_else(|| o.get("url"))),
            target_description: text(o.get("targetDescription").or_else(|| o.get("description"))),
            target_framework: text(o.get("targetFramework")),
            target_code: text(o.get("targetCode")),
        })
        .collect()
}

/// An issuer given by URL or embedded.
pub fn linked_issuer(
    value: Option<&Value>,
    place: Place,
    warnings: &mut Vec<String>,
) -> Result<Linked<Issuer>, ParseError> {
    match value {
        None | Some(Value::Null) => Err(ParseError::missing(place.path)),
        Some(Value::Object(o)) => Ok(Linked::Embedded(issuer_object(o, place, warnings))),
        Some(other) => text(Some(other))
            .map(|url| Linked::Url(resolve(url, place, warnings)))
            .ok_or_else(|| ParseError::bad_field(place.path, "expected a URL or an object")),
    }
}

/// Reads an issuer Profile / IssuerOrganization object.
pub fn issuer_object(obj: &Object, place: Place, warnings: &mut Vec<String>) -> Issuer {
    let name = opt_text(obj, "name", place, warnings);
    if name.is_none() {
        warnings.push(format!(
            "the issuer has no name (`{}`)",
            place.field("name")
        ));
    }
    Issuer {
        id: iri(obj.get("id")).or_else(|| place.base.map(|b| b.to_string())),
        name,
        url: opt_text(obj, "url", place, warnings).map(|u| resolve(u, place, warnings)),
        email: opt_text(obj, "email", place, warnings),
        description: opt_text(obj, "description", place, warnings),
        image: image(obj, place, warnings),
        verification: obj
            .get("verification")
            .and_then(Value::as_object)
            .map(policy),
        public_keys: list(obj.get("publicKey")),
        revocation_list: iri(obj.get("revocationList")).map(|u| resolve(u, place, warnings)),
    }
}

fn policy(obj: &Object) -> VerificationPolicy {
    VerificationPolicy {
        starts_with: list(obj.get("startsWith")),
        allowed_origins: list(obj.get("allowedOrigins")),
    }
}

/// Reads a BadgeClass (0.5 `badge`, 1.x/2.0 BadgeClass) whose issuer is `issuer`.
pub fn badge_class_object(
    obj: &Object,
    issuer: Linked<Issuer>,
    place: Place,
    warnings: &mut Vec<String>,
) -> Result<BadgeClass, ParseError> {
    let description = opt_text(obj, "description", place, warnings);
    if description.is_none() {
        warnings.push(format!(
            "the badge has no description (`{}`)",
            place.field("description")
        ));
    }
    Ok(BadgeClass {
        id: iri(obj.get("id")).or_else(|| place.base.map(|b| b.to_string())),
        name: required_text(obj, "name", place)?,
        description,
        image: image(obj, place, warnings),
        criteria: criteria(obj, place, warnings),
        issuer,
        alignments: alignments(obj.get("alignment")),
        tags: list(obj.get("tags").or_else(|| obj.get("tag"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOP: Place<'static> = Place {
        path: "",
        base: None,
    };

    #[test]
    fn text_accepts_language_tagged_values_and_skips_empty_ones() {
        let cases = [
            (
                json!("Insignia de participación"),
                Some("Insignia de participación"),
            ),
            (
                json!({"@value": "Insignia", "@language": "es"}),
                Some("Insignia"),
            ),
            (json!(["", {"@value": "Zweite"}]), Some("Zweite")),
            (json!("   "), None),
            (json!(42), None),
        ];

        for (value, expected) in cases {
            assert_eq!(text(Some(&value)).as_deref(), expected, "{value}");
        }
    }

    #[test]
    fn relative_urls_resolve_against_the_base_and_absolute_ones_stay_as_written() {
        let base = Url::parse("https://issuer.example").ok();
        let place = Place {
            path: "badge",
            base: base.as_ref(),
        };
        let cases = [
            ("/img/b.png", "https://issuer.example/img/b.png"),
            ("c", "https://issuer.example/c"),
            (
                "https://other.example/опис.png",
                "https://other.example/опис.png",
            ),
            ("data:image/png;base64,AAAA", "data:image/png;base64,AAAA"),
        ];

        for (written, expected) in cases {
            assert_eq!(
                resolve(written.into(), place, &mut Vec::new()),
                expected,
                "{written}"
            );
        }
    }

    #[test]
    fn issuer_policy_lists_accept_one_value_or_many() {
        let obj = json!({
            "name": "I",
            "verification": {
                "allowedOrigins": "other.example",
                "startsWith": ["https://a/", "https://b/"]
            },
            "publicKey": [{"id": "https://i.example/k1"}, "https://i.example/k2"],
            "revocationList": {"id": "https://i.example/rl"}
        });
        let obj = obj.as_object().cloned().unwrap_or_default();

        let issuer = issuer_object(&obj, TOP, &mut Vec::new());

        let policy = issuer.verification.unwrap_or_default();
        assert_eq!(policy.allowed_origins, ["other.example"]);
        assert_eq!(policy.starts_with, ["https://a/", "https://b/"]);
        assert_eq!(
            issuer.public_keys,
            ["https://i.example/k1", "https://i.example/k2"]
        );
        assert_eq!(
            issuer.revocation_list.as_deref(),
            Some("https://i.example/rl")
        );
    }

    #[test]
    fn type_matching_accepts_plain_names_and_full_iris() {
        let written = vec!["https://w3id.org/openbadges#Assertion".to_owned()];

        assert!(has_type(&written, &["Assertion"]));
        assert!(!has_type(&written, &["BadgeClass"]));
        assert!(!has_type(&["OtherAssertion".to_owned()], &["Assertion"]));
    }
}
