//! Web origins (RFC 6454: scheme, host and port) as issuer clients register them, and the
//! exact comparison the push API makes between a badge's URLs and a client's origins. No
//! suffix or prefix matching: `https://evil-issuer.example` is not `https://issuer.example`,
//! and neither is `http://issuer.example` or `https://issuer.example:8443`.

use url::Url;

/// Why a registered origin was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("{0:?} is not an http or https URL")]
    NotWeb(String),
    #[error("{0:?} must be an origin only: no path, query, fragment or user name")]
    NotAnOrigin(String),
}

/// An origin in its serialised form (`https://issuer.example`, `http://127.0.0.1:8080`):
/// lowercased host, default ports left out.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WebOrigin(String);

impl WebOrigin {
    /// Parses an origin as an issuer registers it. A trailing `/` is allowed; a path is not,
    /// so nobody mistakes an origin for a URL prefix.
    pub fn parse(input: &str) -> Result<WebOrigin, OriginError> {
        let input = input.trim();
        let url = Url::parse(input).map_err(|_| OriginError::NotWeb(input.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(OriginError::NotWeb(input.to_string()));
        }
        let bare = url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        if !bare {
            return Err(OriginError::NotAnOrigin(input.to_string()));
        }
        Ok(WebOrigin(url.origin().ascii_serialization()))
    }

    /// The origin a web URL lives on; `None` for anything that is not an http(s) URL (a
    /// `urn:uuid:` id, a DID, a relative reference).
    pub fn of_url(url: &str) -> Option<WebOrigin> {
        let url = Url::parse(url.trim()).ok()?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return None;
        }
        Some(WebOrigin(url.origin().ascii_serialization()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for WebOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `url` is an http(s) URL on one of `origins`, compared exactly.
pub fn on_origins(url: &str, origins: &[&str]) -> bool {
    WebOrigin::of_url(url).is_some_and(|origin| origins.iter().any(|o| *o == origin.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_origins_are_normalised_and_must_be_bare() {
        let cases = [
            ("https://issuer.example", Some("https://issuer.example")),
            ("https://Issuer.Example/", Some("https://issuer.example")),
            ("https://issuer.example:443", Some("https://issuer.example")),
            ("http://127.0.0.1:8080", Some("http://127.0.0.1:8080")),
            (
                "https://bücher.example",
                Some("https://xn--bcher-kva.example"),
            ),
            ("https://issuer.example/badges", None),
            ("https://issuer.example/?q=1", None),
            ("https://user@issuer.example", None),
            ("ftp://issuer.example", None),
            ("issuer.example", None),
            ("", None),
        ];

        for (input, expected) in cases {
            let parsed = WebOrigin::parse(input).ok();
            assert_eq!(
                parsed.as_ref().map(WebOrigin::as_str),
                expected,
                "case {input:?}"
            );
        }
    }

    #[test]
    fn urls_match_only_their_exact_origin() {
        let origins = ["https://issuer.example"];
        let cases = [
            ("https://issuer.example/assertions/1", true),
            ("https://ISSUER.example:443/a", true),
            ("https://evil-issuer.example/a", false),
            ("https://issuer.example.evil.example/a", false),
            ("https://sub.issuer.example/a", false),
            ("http://issuer.example/a", false),
            ("https://issuer.example:8443/a", false),
            ("https://evil.example/https://issuer.example/a", false),
            ("https://issuer.example@evil.example/a", false),
            ("urn:uuid:1f0e9c2e-0000-4000-8000-000000000000", false),
            ("did:web:issuer.example", false),
            ("/assertions/1", false),
        ];

        for (url, expected) in cases {
            assert_eq!(on_origins(url, &origins), expected, "case {url:?}");
        }
    }
}
