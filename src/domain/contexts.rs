//! Pinned copies of the JSON-LD contexts Open Badges documents name, compiled into the binary.
//!
//! A context is never fetched at run time: when `w3id.org` or `purl.imsglobal.org` misbehaves,
//! every badge would otherwise turn "invalid" at once (field report 13). Lookups accept the
//! usual aliases of each URL: `http` or `https`, a trailing slash, and a `.json`/`.jsonld`
//! suffix. Pure data and string handling: no network, no other Satchel module.
//!
//! The files come from `shared/fixtures/ob-spec-examples/contexts/` (see its `index.json`),
//! except the OB 1.1 context, taken from `shared/fixtures/ob-validator-core/contexts/` because
//! the published v1 file imports `https://w3id.org/openbadges/legacy-v1`, which is not
//! bundled, while that copy is self-contained.

/// One bundled context: the URL issuers write, and the document served for it.
struct Bundled {
    url: &'static str,
    json: &'static str,
}

static VC_V2: &str = include_str!("contexts/credentials-v2.jsonld");
static VC_V1: &str = include_str!("contexts/2018-credentials-v1.jsonld");
static OB_V3P0_3_0_3: &str = include_str!("contexts/ob-v3p0-3.0.3.spec-repo.json");
static OB_V3P0_3_0_2: &str = include_str!("contexts/ob-v3p0-3.0.2.json");
static OB_V3P0_3_0_1: &str = include_str!("contexts/ob-v3p0-3.0.1.json");
static OB_V3P0_DRAFT: &str = include_str!("contexts/ob-v3p0.json");
static OB_V3P0_EXTENSIONS: &str = include_str!("contexts/ob-v3p0-extensions.json");
static DATA_INTEGRITY_V1: &str = include_str!("contexts/data-integrity-v1.jsonld");
static ED25519_2020_V1: &str = include_str!("contexts/security-suites-ed25519-2020-v1.jsonld");
static SECURITY_V1: &str = include_str!("contexts/security-v1.jsonld");
static SECURITY_V2: &str = include_str!("contexts/security-v2.jsonld");
static DID_V1: &str = include_str!("contexts/did-v1.jsonld");
static OB_V2: &str = include_str!("contexts/obv2x.jsonld");
static OB_V1: &str = include_str!("contexts/ob-v1-context.json");

/// W3C Verifiable Credentials Data Model 2.0 context (OB 3.0 on VC 2.0).
pub const VC_V2_URL: &str = "https://www.w3.org/ns/credentials/v2";
/// W3C Verifiable Credentials Data Model 1.1 context (OB 3.0 before 2024).
pub const VC_V1_URL: &str = "https://www.w3.org/2018/credentials/v1";
/// Open Badges 2.0 context (OB 2.0 `#jsonld`).
pub const OB_V2_URL: &str = "https://w3id.org/openbadges/v2";
/// Open Badges 1.1 context (OB 1.1).
pub const OB_V1_URL: &str = "https://w3id.org/openbadges/v1";
/// The OB 3.0 context version OB 3.0 Appendix A asks for.
pub const OB_V3P0_CURRENT_URL: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";

static BUNDLED: &[Bundled] = &[
    Bundled {
        url: VC_V2_URL,
        json: VC_V2,
    },
    Bundled {
        url: VC_V1_URL,
        json: VC_V1,
    },
    Bundled {
        url: OB_V3P0_CURRENT_URL,
        json: OB_V3P0_3_0_3,
    },
    Bundled {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        json: OB_V3P0_3_0_2,
    },
    Bundled {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
        json: OB_V3P0_3_0_1,
    },
    Bundled {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        json: OB_V3P0_DRAFT,
    },
    Bundled {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context/ob_v3p0.jsonld",
        json: OB_V3P0_DRAFT,
    },
    // A draft URL seen in the wild (the validator's `simple.jwt`); serving the draft 3.0
    // context for it is our assumption, recorded in the fixtures' `index.json`.
    Bundled {
        url: "https://imsglobal.github.io/openbadges-specification/context.json",
        json: OB_V3P0_DRAFT,
    },
    Bundled {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        json: OB_V3P0_EXTENSIONS,
    },
    Bundled {
        url: "https://w3id.org/security/data-integrity/v1",
        json: DATA_INTEGRITY_V1,
    },
    Bundled {
        url: "https://w3id.org/security/suites/ed25519-2020/v1",
        json: ED25519_2020_V1,
    },
    Bundled {
        url: "https://w3id.org/security/v1",
        json: SECURITY_V1,
    },
    Bundled {
        url: "https://w3id.org/security/v2",
        json: SECURITY_V2,
    },
    Bundled {
        url: "https://www.w3.org/ns/did/v1",
        json: DID_V1,
    },
    Bundled {
        url: OB_V2_URL,
        json: OB_V2,
    },
    Bundled {
        url: "https://openbadgespec.org/v2/context.json",
        json: OB_V2,
    },
    Bundled {
        url: OB_V1_URL,
        json: OB_V1,
    },
    Bundled {
        url: "https://openbadgespec.org/v1/context.json",
        json: OB_V1,
    },
];

/// The pinned JSON-LD context document for `url` or one of its aliases, if Satchel bundles it.
///
/// Aliases: `http`/`https` (any letter case), host letter case, a trailing slash, and a
/// `.json`/`.jsonld` suffix. See field report 13 and OB 2.0 `#jsonld`.
pub fn bundled_context(url: &str) -> Option<&'static str> {
    find(url).map(|bundled| bundled.json)
}

/// The main published URL of the context `url` names, if it is bundled.
///
/// Version detection compares these, so `http://openbadgespec.org/v2/context.json` and
/// `https://w3id.org/openbadges/v2/` both give [`OB_V2_URL`].
pub fn canonical_context_url(url: &str) -> Option<&'static str> {
    let document = find(url)?.json;
    BUNDLED
        .iter()
        .find(|bundled| std::ptr::eq(bundled.json, document))
        .map(|bundled| bundled.url)
}

/// Every URL with a bundled context, in the form it is published under.
pub fn bundled_context_urls() -> impl Iterator<Item = &'static str> {
    BUNDLED.iter().map(|bundled| bundled.url)
}

fn find(url: &str) -> Option<&'static Bundled> {
    let wanted = alias_key(url)?;
    BUNDLED
        .iter()
        .find(|bundled| alias_key(bundled.url).as_deref() == Some(wanted.as_str()))
}

/// Reduces a context URL to the part that tells contexts apart: host (lower-cased) and path,
/// without scheme, trailing slash or `.json`/`.jsonld` suffix. `None` for non-HTTP(S) input.
fn alias_key(url: &str) -> Option<String> {
    let rest = strip_http_scheme(url.trim())?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.trim_end_matches('/');
    let path = path
        .strip_suffix(".jsonld")
        .or_else(|| path.strip_suffix(".json"))
        .unwrap_or(path);
    let path = path.trim_end_matches('/');
    Some(format!("{}/{}", host.to_ascii_lowercase(), path))
}

fn strip_http_scheme(url: &str) -> Option<&str> {
    ["https://", "http://"].iter().find_map(|scheme| {
        let head = url.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &url[scheme.len()..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_context_is_a_json_ld_context_document() {
        for url in bundled_context_urls() {
            let json = bundled_context(url).unwrap_or_default();

            let parsed: Result<serde_json::Value, _> = serde_json::from_str(json);

            let document = parsed.unwrap_or_else(|e| panic!("{url}: not JSON: {e}"));
            assert!(
                document.get("@context").is_some(),
                "{url}: no @context member"
            );
        }
    }

    #[test]
    fn aliases_of_a_context_url_resolve_to_the_same_document() {
        let aliases = [
            "https://w3id.org/openbadges/v2",
            "http://w3id.org/openbadges/v2",
            "https://w3id.org/openbadges/v2/",
            "https://w3id.org/openbadges/v2.json",
            "HTTPS://W3ID.org/openbadges/v2",
            "  https://w3id.org/openbadges/v2  ",
            "https://openbadgespec.org/v2/context.json",
            "http://openbadgespec.org/v2/context",
        ];

        for alias in aliases {
            assert_eq!(bundled_context(alias), Some(OB_V2), "alias {alias}");
            assert_eq!(
                canonical_context_url(alias),
                Some(OB_V2_URL),
                "alias {alias}"
            );
        }
    }

    #[test]
    fn each_open_badges_and_vc_context_is_found_under_its_published_url() {
        let cases = [
            ("https://www.w3.org/ns/credentials/v2", VC_V2),
            ("https://www.w3.org/2018/credentials/v1", VC_V1),
            (
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                OB_V3P0_3_0_3,
            ),
            (
                "http://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2",
                OB_V3P0_3_0_2,
            ),
            (
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
                OB_V3P0_3_0_1,
            ),
            (
                "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
                OB_V3P0_DRAFT,
            ),
            ("https://w3id.org/openbadges/v1", OB_V1),
            ("https://openbadgespec.org/v1/context.json", OB_V1),
            (
                "https://w3id.org/security/suites/ed25519-2020/v1",
                ED25519_2020_V1,
            ),
            (
                "https://w3id.org/security/data-integrity/v1",
                DATA_INTEGRITY_V1,
            ),
        ];

        for (url, expected) in cases {
            assert_eq!(bundled_context(url), Some(expected), "url {url}");
        }
    }

    #[test]
    fn unknown_or_non_http_urls_have_no_bundled_context() {
        let unknown = [
            "https://w3id.org/openbadges/invalid",
            "https://w3id.org/openbadges",
            "https://w3id.org/openbadges/v2/extra",
            "ftp://w3id.org/openbadges/v2",
            "w3id.org/openbadges/v2",
            "",
            "https://",
            "https://evil.example/w3id.org/openbadges/v2",
        ];

        for url in unknown {
            assert_eq!(bundled_context(url), None, "url {url:?}");
        }
    }

    #[test]
    fn canonical_url_is_the_published_form() {
        assert_eq!(
            canonical_context_url("http://www.w3.org/ns/credentials/v2/"),
            Some(VC_V2_URL)
        );
        assert_eq!(
            canonical_context_url("https://w3id.org/openbadges/v1.json"),
            Some(OB_V1_URL)
        );
        assert_eq!(
            canonical_context_url(
                "https://imsglobal.github.io/openbadges-specification/context.json"
            ),
            Some("https://purl.imsglobal.org/spec/ob/v3p0/context.json")
        );
    }
}
