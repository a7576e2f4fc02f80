//! Intake: whatever a learner or an issuer hands us (a baked PNG or SVG, a URL, JSON or a
//! compact JWS) becomes one parsed badge, with a record of how it arrived.
//!
//! The input kind is judged from the bytes only. An image is unbaked; a URL (typed, or
//! baked into an image) is fetched through the bounded [`Fetcher`]; the resulting JSON or
//! JWS is parsed. Nothing here verifies the badge: that is the verification pipeline's job.

use serde::Serialize;

use crate::domain::assertion::{parse_badge, ParseError, ParsedBadge};
use crate::domain::unbake::{
    classify_payload, detect, unbake, InputKind, Limits, PayloadKind, UnbakeError, Unbaked,
};
use crate::fetch::{Accept, FetchError, Fetcher};

/// How the badge reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    Png,
    Svg,
    Url,
    Json,
    Jws,
}

/// A badge read from an input, before verification.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    pub carrier: Carrier,
    /// What was found in the image, when the input was one.
    pub unbaked: Option<Unbaked>,
    /// The URL the badge was fetched from, when it came by URL.
    pub fetched_from: Option<String>,
    pub badge: ParsedBadge,
}

/// Why an input could not be read as a badge. Each variant has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(
        "This is not a badge: upload a baked PNG or SVG, or paste a URL, JSON or a signed badge."
    )]
    Unrecognised,
    #[error("The file is larger than the {limit} byte limit.")]
    TooLarge { limit: usize },
    #[error("{0}")]
    Unbake(#[from] UnbakeError),
    #[error(
        "The text inside the image is not a badge: it is neither a URL, JSON nor a signed badge."
    )]
    UnreadablePayload,
    #[error("The badge could not be fetched: {0}")]
    Fetch(#[from] FetchError),
    #[error("The issuer's server answered {status} for the badge's address.")]
    FetchStatus { status: u16 },
    #[error("The issuer's server answered with something that is not a badge.")]
    NotABadgeDocument,
    #[error("{0}")]
    Parse(#[from] ParseError),
}

impl IntakeError {
    pub fn code(&self) -> &'static str {
        match self {
            IntakeError::Unrecognised => "unrecognised_input",
            IntakeError::TooLarge { .. } => "input_too_large",
            IntakeError::Unbake(e) => e.code(),
            IntakeError::UnreadablePayload => "unreadable_payload",
            IntakeError::Fetch(e) => e.code(),
            IntakeError::FetchStatus { .. } => "fetch_status",
            IntakeError::NotABadgeDocument => "fetch_not_a_badge",
            IntakeError::Parse(e) => e.code(),
        }
    }
}

/// Reads any supported input into a parsed badge, fetching a hosted URL when that is all
/// the input holds.
pub async fn receive(
    bytes: &[u8],
    fetcher: &Fetcher,
    limits: &Limits,
) -> Result<Received, IntakeError> {
    if bytes.len() > limits.max_input_bytes {
        return Err(IntakeError::TooLarge {
            limit: limits.max_input_bytes,
        });
    }
    match detect(bytes) {
        InputKind::Png => from_image(bytes, Carrier::Png, fetcher, limits).await,
        InputKind::Svg => from_image(bytes, Carrier::Svg, fetcher, limits).await,
        InputKind::Url(url) => from_url(&url, fetcher, Carrier::Url, None).await,
        InputKind::Json(text) => from_text(&text, Carrier::Json, None),
        InputKind::Jws(text) => from_text(&text, Carrier::Jws, None),
        InputKind::Unknown => Err(IntakeError::Unrecognised),
    }
}

async fn from_image(
    bytes: &[u8],
    carrier: Carrier,
    fetcher: &Fetcher,
    limits: &Limits,
) -> Result<Received, IntakeError> {
    let unbaked = unbake(bytes, limits)?;
    match classify_payload(&unbaked.payload) {
        PayloadKind::Url => {
            let url = unbaked.payload.trim().to_string();
            from_url(&url, fetcher, carrier, Some(unbaked)).await
        }
        PayloadKind::Json | PayloadKind::Jws => {
            let payload = unbaked.payload.clone();
            from_text(&payload, carrier, Some(unbaked))
        }
        PayloadKind::Unknown => Err(IntakeError::UnreadablePayload),
    }
}

fn from_text(
    text: &str,
    carrier: Carrier,
    unbaked: Option<Unbaked>,
) -> Result<Received, IntakeError> {
    let badge = parse_badge(text)?;
    Ok(Received {
        carrier,
        unbaked,
        fetched_from: None,
        badge,
    })
}

async fn from_url(
    url: &str,
    fetcher: &Fetcher,
    carrier: Carrier,
    unbaked: Option<Unbaked>,
) -> Result<Received, IntakeError> {
    let fetched = fetcher.get(url, Accept::Document).await?;
    if !fetched.is_success() {
        return Err(IntakeError::FetchStatus {
            status: fetched.status,
        });
    }
    // A hosted id that answers with an image must not be unbaked again (a loop guard):
    // only a JSON or JWS document is accepted here.
    let text = match fetched.kind() {
        InputKind::Json(text) | InputKind::Jws(text) => text,
        _ => return Err(IntakeError::NotABadgeDocument),
    };
    let badge = parse_badge(&text)?;
    Ok(Received {
        carrier,
        unbaked,
        fetched_from: Some(fetched.url.to_string()),
        badge,
    })
}
