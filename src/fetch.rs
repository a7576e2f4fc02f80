//! Bounded HTTP fetching of issuer documents (assertions, badge classes, issuer profiles,
//! keys, revocation lists, images).
//!
//! Every fetch is limited in time (connect and total), in size (the body is read in chunks
//! and dropped past the cap) and in redirects (at most five, never from https down to
//! http). Unless private fetching is allowed (`SATCHEL_FETCH_ALLOW_PRIVATE=true`, which
//! tests use), a host that resolves to a loopback, private, link-local or otherwise
//! non-public address is refused: the check runs on the addresses the connection will
//! actually use (after DNS), so a name cannot be re-pointed between check and connect.
//! What a body is gets judged from its bytes, whatever its `Content-Type` says.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use url::Url;

use crate::domain::unbake::{detect, InputKind};

/// What to ask an issuer's server for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Open Badges JSON-LD documents (assertions, badge classes, issuers, keys, lists).
    Document,
    /// A badge image (PNG or SVG).
    Image,
}

impl Accept {
    fn header(self) -> &'static str {
        match self {
            Accept::Document => "application/ld+json, application/json;q=0.9, */*;q=0.1",
            Accept::Image => "image/png, image/svg+xml;q=0.9, */*;q=0.1",
        }
    }
}

/// The limits every fetch obeys.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    /// Whether loopback and private addresses may be fetched (tests, intranets).
    pub allow_private: bool,
}

impl Default for FetchLimits {
    fn default() -> FetchLimits {
        FetchLimits {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(15),
            max_body_bytes: 5 * 1024 * 1024,
            max_redirects: 5,
            allow_private: false,
        }
    }
}

/// Why a fetch produced no response. Each variant has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not a valid web address")]
    InvalidUrl(String),
    #[error("only http and https addresses can be fetched")]
    UnsupportedScheme,
    #[error("{host} is not a public address; badges must be publicly reachable")]
    PrivateAddress { host: String },
    #[error("{host} could not be found")]
    UnknownHost { host: String },
    #[error("the issuer's server did not answer in time")]
    Timeout,
    #[error("the issuer's server sent more than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the issuer's server redirected too many times")]
    TooManyRedirects,
    #[error("the issuer's server redirected from https to plain http")]
    Downgrade,
    #[error("could not connect to the issuer's server")]
    Connect,
    #[error("the issuer's server answer could not be read")]
    Other(#[source] reqwest::Error),
}

impl FetchError {
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::InvalidUrl(_) => "fetch_invalid_url",
            FetchError::UnsupportedScheme => "fetch_unsupported_scheme",
            FetchError::PrivateAddress { .. } => "fetch_private_address",
            FetchError::UnknownHost { .. } => "fetch_unknown_host",
            FetchError::Timeout => "fetch_timeout",
            FetchError::TooLarge { .. } => "fetch_too_large",
            FetchError::TooManyRedirects => "fetch_too_many_redirects",
            FetchError::Downgrade => "fetch_https_downgrade",
            FetchError::Connect => "fetch_connect_failed",
            FetchError::Other(_) => "fetch_failed",
        }
    }
}

/// A response: its status and body, whatever the status was.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where the body came from after redirects.
    pub url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: Vec<u8>,
}

impl Fetched {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// What the body is, from its bytes (a wrong `Content-Type` does not matter).
    pub fn kind(&self) -> InputKind {
        detect(&self.body)
    }

    /// The body as UTF-8 text with a byte-order mark removed, if it is valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        let body = self
            .body
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&self.body);
        std::str::from_utf8(body).ok()
    }
}

/// The HTTP client issuers are fetched with. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: Arc<FetchLimits>,
    /// Test-only URL prefix rewrites (`https://issuer.example/` → a local server).
    rewrites: Arc<Vec<(String, String)>>,
    /// A cap on requests in flight to one host, when set (the revalidation worker).
    hosts: Option<Arc<HostLimits>>,
}

/// How many requests may be in flight to one host (name and port) at once.
struct HostLimits {
    per_host: usize,
    open: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl HostLimits {
    fn semaphore(&self, url: &Url) -> Arc<tokio::sync::Semaphore> {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        );
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.entry(key)
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(self.per_host)))
            .clone()
    }
}

impl Fetcher {
    pub fn new(limits: FetchLimits) -> anyhow::Result<Fetcher> {
        Fetcher::with_rewrites(limits, Vec::new())
    }

    /// A fetcher that sends requests for URLs starting with each prefix to its replacement.
    /// Tests use it to serve fixtures whose ids name hosts like `issuer.example`.
    pub fn with_rewrites(
        limits: FetchLimits,
        rewrites: Vec<(String, String)>,
    ) -> anyhow::Result<Fetcher> {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "Satchel/",
                env!("CARGO_PKG_VERSION"),
                " (Open Badges backpack)"
            ))
            .no_proxy()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.total_timeout)
            .redirect(redirect_policy(limits.max_redirects, limits.allow_private))
            .dns_resolver(Arc::new(PublicOnlyResolver {
                allow_private: limits.allow_private,
            }))
            .build()?;
        Ok(Fetcher {
            client,
            limits: Arc::new(limits),
            rewrites: Arc::new(rewrites),
            hosts: None,
        })
    }

    /// A fetcher sharing this one's connections that sends at most `per_host` requests to
    /// any one host at a time (waiting for a free slot otherwise).
    pub fn with_host_limit(&self, per_host: usize) -> Fetcher {
        Fetcher {
            hosts: Some(Arc::new(HostLimits {
                per_host: per_host.max(1),
                open: Default::default(),
            })),
            ..self.clone()
        }
    }

    pub fn limits(&self) -> &FetchLimits {
        &self.limits
    }

    /// GETs `url` and reads at most the body-size limit. Answers with any HTTP status;
    /// errors are only for requests that got no usable response.
    pub async fn get(&self, url: &str, accept: Accept) -> Result<Fetched, FetchError> {
        self.get_conditional(url, accept, None, None).await
    }

    /// Like [`Fetcher::get`], sending `If-None-Match` / `If-Modified-Since` when given.
    pub async fn get_conditional(
        &self,
        url: &str,
        accept: Accept,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, FetchError> {
        let target = self.target(url)?;
        let _slot = match &self.hosts {
            Some(hosts) => hosts.semaphore(&target).acquire_owned().await.ok(),
            None => None,
        };
        let mut request = self.client.get(target).header("Accept", accept.header());
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        if let Some(date) = last_modified {
            request = request.header("If-Modified-Since", date);
        }
        let response = request.send().await.map_err(classify)?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (content_type, etag, last_modified) = (
            header("content-type"),
            header("etag"),
            header("last-modified"),
        );
        let (final_url, status) = (response.url().clone(), response.status().as_u16());
        let body = read_capped(response, self.limits.max_body_bytes).await?;
        Ok(Fetched {
            url: final_url,
            status,
            content_type,
            etag,
            last_modified,
            body,
        })
    }

    /// Parses, rewrites and checks a URL before any connection is made.
    fn target(&self, url: &str) -> Result<Url, FetchError> {
        let rewritten = self
            .rewrites
            .iter()
            .find(|(prefix, _)| url.starts_with(prefix.as_str()))
            .map(|(prefix, to)| format!("{to}{}", &url[prefix.len()..]));
        let text = rewritten.as_deref().unwrap_or(url).trim();
        // `Url` turns an IRI into a URI: IDNA for the host, percent-encoding for the path.
        let parsed = Url::parse(text).map_err(|_| FetchError::InvalidUrl(url.to_string()))?;
        check_url(&parsed, self.limits.allow_private)?;
        Ok(parsed)
    }
}

/// Refuses non-http(s) URLs, and literal private IPs unless allowed (names are checked
/// after resolution by [`PublicOnlyResolver`]).
fn check_url(url: &Url, allow_private: bool) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::UnsupportedScheme);
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
        None => return Err(FetchError::InvalidUrl(url.to_string())),
    };
    match literal {
        Some(ip) if !allow_private && !is_public(ip) => Err(FetchError::PrivateAddress {
            host: ip.to_string(),
        }),
        _ => Ok(()),
    }
}

async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, FetchError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(FetchError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn redirect_policy(max: usize, allow_private: bool) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max {
            return attempt.error(FetchError::TooManyRedirects);
        }
        let from_https = attempt
            .previous()
            .last()
            .is_some_and(|u| u.scheme() == "https");
        if from_https && attempt.url().scheme() == "http" {
            return attempt.error(FetchError::Downgrade);
        }
        if let Err(error) = check_url(attempt.url(), allow_private) {
            return attempt.error(error);
        }
        attempt.follow()
    })
}

/// Turns reqwest's error into ours, recovering the reason a redirect or lookup was refused.
fn classify(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if let Some(ours) = cause.downcast_ref::<FetchError>() {
            return copy_of(ours);
        }
        if let Some(refused) = cause.downcast_ref::<ResolveRefusal>() {
            return refused.to_fetch_error();
        }
        source = cause.source();
    }
    if error.is_redirect() {
        return FetchError::TooManyRedirects;
    }
    if error.is_connect() {
        return FetchError::Connect;
    }
    FetchError::Other(error)
}

fn copy_of(error: &FetchError) -> FetchError {
    match error {
        FetchError::InvalidUrl(url) => FetchError::InvalidUrl(url.clone()),
        FetchError::UnsupportedScheme => FetchError::UnsupportedScheme,
        FetchError::PrivateAddress { host } => FetchError::PrivateAddress { host: host.clone() },
        FetchError::UnknownHost { host } => FetchError::UnknownHost { host: host.clone() },
        FetchError::Timeout => FetchError::Timeout,
        FetchError::TooLarge { limit } => FetchError::TooLarge { limit: *limit },
        FetchError::TooManyRedirects => FetchError::TooManyRedirects,
        FetchError::Downgrade => FetchError::Downgrade,
        FetchError::Connect | FetchError::Other(_) => FetchError::Connect,
    }
}

/// Why the resolver refused a host; carried through reqwest's error chain.
#[derive(Debug, thiserror::Error)]
enum ResolveRefusal {
    #[error("{0} resolves only to non-public addresses")]
    Private(String),
    #[error("{0} could not be resolved")]
    Unknown(String),
}

impl ResolveRefusal {
    fn to_fetch_error(&self) -> FetchError {
        match self {
            ResolveRefusal::Private(host) => FetchError::PrivateAddress { host: host.clone() },
            ResolveRefusal::Unknown(host) => FetchError::UnknownHost { host: host.clone() },
        }
    }
}

/// Resolves names with the system resolver and keeps only public addresses, so the
/// connection can only go where the check looked.
struct PublicOnlyResolver {
    allow_private: bool,
}

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| Box::new(ResolveRefusal::Unknown(host.clone())))?
                .collect();
            if found.is_empty() {
                return Err(Box::new(ResolveRefusal::Unknown(host)) as _);
            }
            let usable: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if usable.is_empty() {
                return Err(Box::new(ResolveRefusal::Private(host)) as _);
            }
            let addrs: Addrs = Box::new(usable.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local,
/// shared (CGNAT), documentation, benchmarking, multicast, reserved or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..=127).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..=19).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        || (first == 0x0064 && ip.segments()[1] == 0xff9b)
        || first == 0x0100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_recognised() {
        let private = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ];
        for ip in private {
            assert!(
                !is_public(ip.parse().expect("ip")),
                "{ip} counted as public"
            );
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(
                is_public(ip.parse().expect("ip")),
                "{ip} counted as private"
            );
        }
    }

    #[test]
    fn literal_private_urls_and_other_schemes_are_refused_before_connecting() {
        let cases = [
            ("http://127.0.0.1/a", "fetch_private_address"),
            ("http://[::1]/a", "fetch_private_address"),
            ("http://10.0.0.8/a", "fetch_private_address"),
            ("file:///etc/passwd", "fetch_unsupported_scheme"),
            ("ftp://issuer.example/a", "fetch_unsupported_scheme"),
            ("not a url", "fetch_invalid_url"),
        ];
        let fetcher = Fetcher::new(FetchLimits::default()).expect("client");
        for (url, code) in cases {
            let refused = fetcher.target(url).err().map(|e| e.code());

            assert_eq!(refused, Some(code), "{url}");
        }
    }

    #[test]
    fn rewrites_apply_to_matching_prefixes_only() {
        let rewrites = vec![(
            "https://issuer.example/".into(),
            "http://127.0.0.1:9/s/".into(),
        )];
        let limits = FetchLimits {
            allow_private: true,
            ..FetchLimits::default()
        };
        let fetcher = Fetcher::with_rewrites(limits, rewrites).expect("client");

        let mapped = fetcher.target("https://issuer.example/a/1").expect("valid");
        let untouched = fetcher.target("https://other.example/a/1").expect("valid");

        assert_eq!(mapped.as_str(), "http://127.0.0.1:9/s/a/1");
        assert_eq!(untouched.as_str(), "https://other.example/a/1");
    }

    #[test]
    fn iri_paths_and_hosts_become_uris() {
        let fetcher = Fetcher::new(FetchLimits::default()).expect("client");

        let url = fetcher
            .target("https://issuer.example/опис/значка.json")
            .expect("valid");

        assert_eq!(
            url.as_str(),
            concat!(
                "https://issuer.example/%D0%BE%D0%BF%D0%B8%D1%81/",
                "%D0%B7%D0%BD%D0%B0%D1%87%D0%BA%D0%B0.json"
            )
        );
    }
}
