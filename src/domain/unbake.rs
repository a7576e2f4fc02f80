//! Unbaking: finding the Open Badges payload baked into a PNG or SVG image, and telling what
//! an upload is from its bytes alone (never from its file name).
//!
//! This module owns the PNG chunk walker (the hot path: it checks every CRC but never decodes
//! pixels) and the SVG scan (quick-xml, namespace-aware, DTD internal subsets refused, depth and
//! size capped). It returns the payload text exactly as stored; parsing that text as an
//! assertion, credential or JWS belongs to other domain modules. It must not depend on actix,
//! diesel, the network or any other Satchel module. `bake` reuses its walker and SVG scan.

use std::borrow::Cow;
use std::io::Read;
use std::ops::Range;

use flate2::read::ZlibDecoder;
use quick_xml::events::{BytesRef, BytesStart, BytesText, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::{NsReader, XmlVersion};
use serde::Serialize;

/// The eight bytes every PNG file starts with (PNG spec §5.2).
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
/// Namespace of the 1.x/2.0 SVG `assertion` element (Baking spec, "SVGs").
pub const OB2_NAMESPACE: &str = "http://openbadges.org";
/// Namespace of the 3.0 SVG `credential` element (OB 3.0 §5.3.2).
pub const OB3_NAMESPACE: &str = "https://purl.imsglobal.org/ob/v3p0";

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const MIB: usize = 1024 * 1024;
const COMPRESSED_WARNING: &str =
    "the badge text is compressed, which the baking specification forbids; it was inflated";

/// Which baking flavour a payload travels in: 1.x/2.0 `openbadges` or 3.0
/// `openbadgecredential` (Baking spec; OB 3.0 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Keyword {
    /// PNG keyword `openbadges`; SVG `assertion` in `http://openbadges.org`.
    OpenBadges,
    /// PNG keyword `openbadgecredential`; SVG `credential` in the v3p0 namespace.
    OpenBadgeCredential,
}

impl Keyword {
    /// The PNG text chunk keyword.
    pub fn png_keyword(self) -> &'static str {
        match self {
            Keyword::OpenBadges => "openbadges",
            Keyword::OpenBadgeCredential => "openbadgecredential",
        }
    }

    /// The namespace URI of the SVG element.
    pub fn namespace(self) -> &'static str {
        match self {
            Keyword::OpenBadges => OB2_NAMESPACE,
            Keyword::OpenBadgeCredential => OB3_NAMESPACE,
        }
    }

    /// The SVG element's name with the conventional `openbadges` prefix.
    pub fn svg_element(self) -> &'static str {
        match self {
            Keyword::OpenBadges => "openbadges:assertion",
            Keyword::OpenBadgeCredential => "openbadges:credential",
        }
    }

    fn svg_local_name(self) -> &'static str {
        match self {
            Keyword::OpenBadges => "assertion",
            Keyword::OpenBadgeCredential => "credential",
        }
    }
}

/// What an upload or a fetched body is, judged by its bytes (notes §1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    /// Starts with the PNG signature.
    Png,
    /// XML whose root element is `svg` (any prefix).
    Svg,
    /// An `http(s)` URL, trimmed.
    Url(String),
    /// A JSON object, BOM and surrounding whitespace removed.
    Json(String),
    /// A compact JWS (three base64url segments), trimmed; padding is left as sent.
    Jws(String),
    /// Anything else, including HTML pages and JPEG images.
    Unknown,
}

/// What the text taken out of an image is (Baking spec: a URL, a JWS or the JSON itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadKind {
    /// A hosted assertion URL (legacy bakers, or the SVG `verify` attribute).
    Url,
    /// A JSON object: an assertion or a credential with an embedded proof.
    Json,
    /// A compact JWS: a signed 2.0 assertion or a 3.0 VC-JWT.
    Jws,
    /// None of the above; the caller reports it as unreadable.
    Unknown,
}

/// The image format a payload came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    Png,
    Svg,
}

/// Where in the carrier the payload was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadSource {
    /// The PNG chunk text, or the SVG element's CDATA/text body.
    Body,
    /// The SVG element's `verify` attribute (its body was empty).
    VerifyAttribute,
}

/// A payload taken out of a baked image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unbaked {
    pub format: ImageFormat,
    /// `iTXt`, `tEXt` or `zTXt` for PNG; `svg` for SVG.
    pub chunk: String,
    /// The PNG keyword (`openbadges`, `openbadgecredential`), or the SVG element as
    /// `openbadges:assertion` / `openbadges:credential` whatever prefix the file used.
    pub keyword: String,
    /// The text exactly as stored (PNG), or the SVG body/attribute with its surrounding XML
    /// whitespace removed. Never empty.
    pub payload: String,
    pub source: PayloadSource,
    /// SVG only: the element's `verify` attribute, kept even when the body was used, so that a
    /// hosted JSON body can be checked against it (field report 7).
    pub verify_attribute: Option<String>,
    /// Things a user may want to know that do not stop the import (compressed text, a damaged
    /// ancillary chunk, Latin-1 text).
    pub warnings: Vec<String>,
}

/// Caps applied while unbaking untrusted bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes. Default 5 MiB.
    pub max_input_bytes: usize,
    /// Most PNG chunks walked. Default 10 000.
    pub max_chunks: usize,
    /// Largest declared PNG chunk length. Default 5 MiB.
    pub max_chunk_bytes: usize,
    /// Largest inflated size of a compressed badge text. Default 1 MiB.
    pub max_inflated_bytes: usize,
    /// Deepest SVG element nesting. Default 64.
    pub max_xml_depth: usize,
    /// Largest SVG document, in bytes. Default 5 MiB (the upload size).
    pub max_xml_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 5 * MIB,
            max_chunks: 10_000,
            max_chunk_bytes: 5 * MIB,
            max_inflated_bytes: MIB,
            max_xml_depth: 64,
            max_xml_bytes: 5 * MIB,
        }
    }
}

/// Why no payload could be taken out of an image. Each variant has a stable [`code`].
///
/// [`code`]: UnbakeError::code
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnbakeError {
    #[error("the file is neither a PNG nor an SVG image")]
    NotAnImage,
    #[error("the file is larger than the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("the PNG file ends early: it is cut inside a chunk or before IEND")]
    TruncatedPng,
    #[error("the PNG file is malformed: {0}")]
    MalformedPng(&'static str),
    #[error("the PNG declares a {declared}-byte chunk, over the {limit}-byte limit")]
    ChunkTooLarge { declared: u32, limit: usize },
    #[error("the PNG has more than {limit} chunks")]
    TooManyChunks { limit: usize },
    #[error("the {chunk} chunk holding the badge fails its CRC check: the file is damaged")]
    BadCrc { chunk: String },
    #[error("the image carries no Open Badges data")]
    NoBadge,
    #[error("the image carries {count} Open Badges payloads where one is allowed")]
    MultiplePayloads { count: usize },
    #[error("the {chunk} chunk holding the badge is malformed: {reason}")]
    MalformedTextChunk { chunk: String, reason: &'static str },
    #[error("the badge text uses compression method {0}; only 0 (zlib) exists")]
    UnsupportedCompression(u8),
    #[error("the compressed badge text is corrupt")]
    BadCompressedData,
    #[error("the compressed badge text inflates past the {limit}-byte limit")]
    InflatedTooLarge { limit: usize },
    #[error("the badge text is not valid UTF-8")]
    PayloadNotUtf8,
    #[error("the badge element or chunk is empty")]
    EmptyPayload,
    #[error("the SVG declares a DTD internal subset, which is refused (entities are never read)")]
    XmlForbiddenDtd,
    #[error("the SVG nests elements deeper than {limit} levels")]
    XmlTooDeep { limit: usize },
    #[error("the SVG is not well-formed XML: {0}")]
    XmlMalformed(String),
}

impl UnbakeError {
    /// A stable snake_case code for the HTTP layer and the logs.
    pub fn code(&self) -> &'static str {
        match self {
            UnbakeError::NotAnImage => "not_an_image",
            UnbakeError::TooLarge { .. } => "too_large",
            UnbakeError::TruncatedPng => "truncated_png",
            UnbakeError::MalformedPng(_) => "malformed_png",
            UnbakeError::ChunkTooLarge { .. } => "chunk_too_large",
            UnbakeError::TooManyChunks { .. } => "too_many_chunks",
            UnbakeError::BadCrc { .. } => "bad_crc",
            UnbakeError::NoBadge => "no_badge",
            UnbakeError::MultiplePayloads { .. } => "multiple_payloads",
            UnbakeError::MalformedTextChunk { .. } => "malformed_text_chunk",
            UnbakeError::UnsupportedCompression(_) => "unsupported_compression",
            UnbakeError::BadCompressedData => "bad_compressed_data",
            UnbakeError::InflatedTooLarge { .. } => "inflated_too_large",
            UnbakeError::PayloadNotUtf8 => "payload_not_utf8",
            UnbakeError::EmptyPayload => "empty_payload",
            UnbakeError::XmlForbiddenDtd => "xml_forbidden_dtd",
            UnbakeError::XmlTooDeep { .. } => "xml_too_deep",
            UnbakeError::XmlMalformed(_) => "xml_malformed",
        }
    }
}

/// Tells what `bytes` are by content (notes §1.3): the PNG signature, an XML document whose
/// root is `svg`, or text that is a JSON object, a compact JWS or an `http(s)` URL.
/// A leading UTF-8 BOM is ignored.
pub fn detect(bytes: &[u8]) -> InputKind {
    if bytes.starts_with(&PNG_SIGNATURE) {
        return InputKind::Png;
    }
    let bytes = strip_bom(bytes);
    if root_element_name(bytes).is_some_and(|name| local_part(name) == b"svg") {
        return InputKind::Svg;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return InputKind::Unknown;
    };
    let text = text.trim();
    match classify_payload(text) {
        PayloadKind::Url => InputKind::Url(text.to_owned()),
        PayloadKind::Json => InputKind::Json(text.to_owned()),
        PayloadKind::Jws => InputKind::Jws(text.to_owned()),
        PayloadKind::Unknown => InputKind::Unknown,
    }
}

/// Says what an unbaked payload is (Baking spec: hosted URL, signed JWS or JSON).
/// Surrounding whitespace and a BOM are ignored; a JWS segment may end in `=` padding.
pub fn classify_payload(payload: &str) -> PayloadKind {
    let text = payload.trim().trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('{') {
        PayloadKind::Json
    } else if is_compact_jws(text) {
        PayloadKind::Jws
    } else if is_http_url(text) {
        PayloadKind::Url
    } else {
        PayloadKind::Unknown
    }
}

/// Takes the Open Badges payload out of a PNG (Baking spec "PNGs"; OB 3.0 §5.3.1) or an SVG
/// (Baking spec "SVGs"; OB 3.0 §5.3.2), whichever `bytes` turn out to be.
pub fn unbake(bytes: &[u8], limits: &Limits) -> Result<Unbaked, UnbakeError> {
    if bytes.len() > limits.max_input_bytes {
        return Err(UnbakeError::TooLarge {
            limit: limits.max_input_bytes,
        });
    }
    match detect(bytes) {
        InputKind::Png => unbake_png(bytes, limits),
        InputKind::Svg => unbake_svg(bytes, limits),
        _ => Err(UnbakeError::NotAnImage),
    }
}

/// [`unbake`] with [`Limits::default`]: the entry point for fuzzing.
pub fn unbake_any(bytes: &[u8]) -> Result<Unbaked, UnbakeError> {
    unbake(bytes, &Limits::default())
}

// ---------------------------------------------------------------------------------------------
// PNG

/// One chunk of a PNG file, borrowed from the input (PNG spec §5.3).
#[derive(Debug, Clone)]
pub(crate) struct PngChunk<'a> {
    pub kind: [u8; 4],
    pub data: &'a [u8],
    /// The whole chunk as stored: length, type, data and CRC.
    pub raw: &'a [u8],
    stored_crc: u32,
}

impl PngChunk<'_> {
    /// Whether the chunk's CRC matches its type and data. Computed on demand: the walker
    /// never hashes image data it does not read (the hot path for large images).
    pub(crate) fn crc_ok(&self) -> bool {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&self.kind);
        hasher.update(self.data);
        hasher.finalize() == self.stored_crc
    }

    /// Chunks whose content Satchel reads: the header and every text chunk. Their CRCs are
    /// checked; image data is never decoded here, so its integrity is the renderer's concern.
    fn is_read(&self) -> bool {
        matches!(&self.kind, b"IHDR" | b"tEXt" | b"zTXt" | b"iTXt")
    }

    fn kind_name(&self) -> String {
        String::from_utf8_lossy(&self.kind).into_owned()
    }

    fn keyword(&self) -> &[u8] {
        self.data
            .split(|&byte| byte == 0)
            .next()
            .unwrap_or_default()
    }

    /// The badge flavour this chunk carries, as the Baking spec and legacy bakers wrote it:
    /// `iTXt` with either keyword, or `tEXt`/`zTXt` with `openbadges`.
    pub(crate) fn badge_keyword(&self) -> Option<Keyword> {
        match (&self.kind, self.keyword()) {
            (b"iTXt" | b"tEXt" | b"zTXt", b"openbadges") => Some(Keyword::OpenBadges),
            (b"iTXt", b"openbadgecredential") => Some(Keyword::OpenBadgeCredential),
            _ => None,
        }
    }

    /// Whether a baker must drop this chunk: any text chunk named after either keyword.
    pub(crate) fn names_badge(&self) -> bool {
        matches!(&self.kind, b"iTXt" | b"tEXt" | b"zTXt")
            && matches!(self.keyword(), b"openbadges" | b"openbadgecredential")
    }
}

/// A walked PNG: its chunks from IHDR to IEND, and how many bytes follow IEND.
#[derive(Debug)]
pub(crate) struct PngFile<'a> {
    pub chunks: Vec<PngChunk<'a>>,
    pub trailing_bytes: usize,
}

/// Walks every chunk from IHDR to IEND, checking lengths and types, without touching image
/// data. CRCs are checked by [`PngChunk::crc_ok`] for the chunks that are read.
pub(crate) fn walk_png<'a>(bytes: &'a [u8], limits: &Limits) -> Result<PngFile<'a>, UnbakeError> {
    if !bytes.starts_with(&PNG_SIGNATURE) {
        return Err(UnbakeError::NotAnImage);
    }
    let mut chunks = Vec::new();
    let mut offset = PNG_SIGNATURE.len();
    loop {
        if chunks.len() == limits.max_chunks {
            return Err(UnbakeError::TooManyChunks {
                limit: limits.max_chunks,
            });
        }
        let chunk = read_chunk(bytes, offset, limits)?;
        if chunks.is_empty() && &chunk.kind != b"IHDR" {
            return Err(UnbakeError::MalformedPng("the first chunk is not IHDR"));
        }
        offset += chunk.raw.len();
        let is_end = &chunk.kind == b"IEND";
        chunks.push(chunk);
        if is_end {
            break;
        }
    }
    Ok(PngFile {
        chunks,
        trailing_bytes: bytes.len().saturating_sub(offset),
    })
}

fn read_chunk<'a>(
    bytes: &'a [u8],
    start: usize,
    limits: &Limits,
) -> Result<PngChunk<'a>, UnbakeError> {
    let rest = bytes.get(start..).unwrap_or_default();
    let (header, after_header) = rest.split_at_checked(8).ok_or(UnbakeError::TruncatedPng)?;
    let (length, kind) = header.split_at(4);
    let declared = be_u32(length).ok_or(UnbakeError::TruncatedPng)?;
    let length = usize::try_from(declared)
        .ok()
        .filter(|&length| length <= limits.max_chunk_bytes && declared <= i32::MAX as u32)
        .ok_or(UnbakeError::ChunkTooLarge {
            declared,
            limit: limits.max_chunk_bytes,
        })?;
    let kind: [u8; 4] = kind.try_into().map_err(|_| UnbakeError::TruncatedPng)?;
    if !kind.iter().all(u8::is_ascii_alphabetic) {
        return Err(UnbakeError::MalformedPng(
            "a chunk type is not four ASCII letters",
        ));
    }
    let (data, after_data) = after_header
        .split_at_checked(length)
        .ok_or(UnbakeError::TruncatedPng)?;
    let stored_crc = after_data
        .get(..4)
        .and_then(be_u32)
        .ok_or(UnbakeError::TruncatedPng)?;
    Ok(PngChunk {
        kind,
        data,
        raw: rest.get(..length + 12).ok_or(UnbakeError::TruncatedPng)?,
        stored_crc,
    })
}

fn be_u32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?))
}

fn unbake_png(bytes: &[u8], limits: &Limits) -> Result<Unbaked, UnbakeError> {
    let file = walk_png(bytes, limits)?;
    let mut warnings = png_warnings(&file);

    let badge_chunks: Vec<_> = file
        .chunks
        .iter()
        .filter(|c| c.badge_keyword().is_some())
        .collect();
    let chunk = match badge_chunks.as_slice() {
        [] => return Err(UnbakeError::NoBadge),
        [one] => *one,
        many => return Err(UnbakeError::MultiplePayloads { count: many.len() }),
    };
    let payload = read_badge_text(chunk, limits, &mut warnings)?;
    if trim_xml_whitespace(&payload).is_empty() {
        return Err(UnbakeError::EmptyPayload);
    }

    Ok(Unbaked {
        format: ImageFormat::Png,
        chunk: chunk.kind_name(),
        keyword: String::from_utf8_lossy(chunk.keyword()).into_owned(),
        payload,
        source: PayloadSource::Body,
        verify_attribute: None,
        warnings,
    })
}

fn png_warnings(file: &PngFile<'_>) -> Vec<String> {
    let mut warnings: Vec<String> = file
        .chunks
        .iter()
        .filter(|chunk| chunk.is_read() && chunk.badge_keyword().is_none() && !chunk.crc_ok())
        .map(|chunk| {
            let kind = chunk.kind_name();
            format!("the {kind} chunk fails its CRC check; the image may be damaged")
        })
        .collect();
    if file.trailing_bytes > 0 {
        let count = file.trailing_bytes;
        warnings.push(format!("{count} bytes after the IEND chunk were ignored"));
    }
    warnings
}

fn read_badge_text(
    chunk: &PngChunk<'_>,
    limits: &Limits,
    warnings: &mut Vec<String>,
) -> Result<String, UnbakeError> {
    if !chunk.crc_ok() {
        return Err(UnbakeError::BadCrc {
            chunk: chunk.kind_name(),
        });
    }
    let body = split_at_nul(chunk.data)
        .map(|(_keyword, body)| body)
        .ok_or_else(|| malformed_chunk(chunk, "the keyword is not NUL-terminated"))?;
    match &chunk.kind {
        b"iTXt" => read_itxt(chunk, body, limits, warnings),
        b"zTXt" => {
            let (&method, compressed) = body
                .split_first()
                .ok_or_else(|| malformed_chunk(chunk, "the compression method is missing"))?;
            let text = inflate(method, compressed, limits, warnings)?;
            Ok(latin1_text(&text, warnings))
        }
        _ => Ok(latin1_text(body, warnings)),
    }
}

/// iTXt layout (PNG spec §11.3.4.5): keyword NUL, flag, method, language NUL, translated
/// keyword NUL, text (UTF-8).
fn read_itxt(
    chunk: &PngChunk<'_>,
    body: &[u8],
    limits: &Limits,
    warnings: &mut Vec<String>,
) -> Result<String, UnbakeError> {
    let [flag, method, rest @ ..] = body else {
        return Err(malformed_chunk(chunk, "the compression fields are missing"));
    };
    let (_language, rest) =
        split_at_nul(rest).ok_or_else(|| malformed_chunk(chunk, "no language tag"))?;
    let (_translated, text) =
        split_at_nul(rest).ok_or_else(|| malformed_chunk(chunk, "no translated keyword"))?;
    let text = match flag {
        0 => Cow::Borrowed(text),
        1 => Cow::Owned(inflate(*method, text, limits, warnings)?),
        _ => {
            return Err(malformed_chunk(
                chunk,
                "the compression flag is neither 0 nor 1",
            ))
        }
    };
    String::from_utf8(text.into_owned()).map_err(|_| UnbakeError::PayloadNotUtf8)
}

fn inflate(
    method: u8,
    compressed: &[u8],
    limits: &Limits,
    warnings: &mut Vec<String>,
) -> Result<Vec<u8>, UnbakeError> {
    if method != 0 {
        return Err(UnbakeError::UnsupportedCompression(method));
    }
    warnings.push(COMPRESSED_WARNING.to_owned());
    let cap = limits.max_inflated_bytes;
    let read_cap = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let mut text = Vec::new();
    ZlibDecoder::new(compressed)
        .take(read_cap)
        .read_to_end(&mut text)
        .map_err(|_| UnbakeError::BadCompressedData)?;
    if text.len() > cap {
        return Err(UnbakeError::InflatedTooLarge { limit: cap });
    }
    Ok(text)
}

/// tEXt and zTXt text is Latin-1 by the PNG spec, but badge payloads (URLs, JSON) are ASCII in
/// practice and non-ASCII ones were written as UTF-8 by real bakers. So bytes that are valid
/// UTF-8 are kept as UTF-8 (a Latin-1 string that is also valid UTF-8 is very unlikely);
/// anything else is decoded as Latin-1, with a warning.
fn latin1_text(bytes: &[u8], warnings: &mut Vec<String>) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            warnings.push("the badge text is not UTF-8; it was read as Latin-1".to_owned());
            bytes.iter().map(|&byte| char::from(byte)).collect()
        }
    }
}

fn split_at_nul(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let nul = bytes.iter().position(|&byte| byte == 0)?;
    Some((bytes.get(..nul)?, bytes.get(nul + 1..)?))
}

fn malformed_chunk(chunk: &PngChunk<'_>, reason: &'static str) -> UnbakeError {
    UnbakeError::MalformedTextChunk {
        chunk: chunk.kind_name(),
        reason,
    }
}

// ---------------------------------------------------------------------------------------------
// SVG

/// The root `<svg>` start tag of a scanned document.
#[derive(Debug, Clone)]
pub(crate) struct SvgRoot {
    /// Byte range of the start tag in the scanned text.
    pub span: Range<usize>,
    /// Qualified name as written (`svg`, `svg:svg`).
    pub name: String,
    pub self_closing: bool,
    /// The raw value of an `xmlns:openbadges` declaration on the root, if any.
    pub openbadges_namespace: Option<String>,
}

/// One Open Badges element found in an SVG.
#[derive(Debug, Clone)]
pub(crate) struct SvgBadgeElement {
    pub keyword: Keyword,
    /// Byte range of the whole element (start tag to end tag) in the scanned text.
    pub span: Range<usize>,
    /// Text and CDATA directly inside the element, references resolved, untrimmed.
    pub body: String,
    /// The `verify` attribute, normalised and trimmed; `None` when absent or blank.
    pub verify: Option<String>,
}

/// What a safe pass over an SVG found.
#[derive(Debug)]
pub(crate) struct SvgScan {
    pub root: SvgRoot,
    pub elements: Vec<SvgBadgeElement>,
}

/// The UTF-8 text of an SVG, BOM removed.
pub(crate) fn svg_text(bytes: &[u8]) -> Result<&str, UnbakeError> {
    std::str::from_utf8(strip_bom(bytes)).map_err(|_| {
        // TODO: read UTF-16 SVGs, because some editors can save them; none seen in the wild yet.
        UnbakeError::XmlMalformed("the SVG is not UTF-8 text".to_owned())
    })
}

/// Reads the whole document once, finding the root and every Open Badges element by namespace
/// URI and local name, whatever the prefix. Refuses DTD internal subsets (where entities are
/// declared), so no entity is ever expanded and nothing external is ever fetched.
pub(crate) fn scan_svg(text: &str, limits: &Limits) -> Result<SvgScan, UnbakeError> {
    if text.len() > limits.max_xml_bytes {
        return Err(UnbakeError::TooLarge {
            limit: limits.max_xml_bytes,
        });
    }
    let mut scanner = SvgScanner::new(text, limits);
    loop {
        let start = scanner.position();
        let event = scanner
            .reader
            .read_event()
            .map_err(|err| scanner.malformed(err))?;
        match event {
            Event::Eof => break,
            Event::DocType(doctype) => refuse_internal_subset(&doctype)?,
            Event::Start(tag) => scanner.open(start, &tag, false)?,
            Event::Empty(tag) => scanner.open(start, &tag, true)?,
            Event::End(_) => scanner.close(),
            // Text outside a badge element (most of a drawing) is skipped without decoding.
            Event::Text(text) if scanner.in_body() => scanner.add_body(&text.xml10_content()),
            Event::CData(cdata) if scanner.in_body() => scanner.add_body(&cdata.xml10_content()),
            Event::Text(_) | Event::CData(_) => {}
            Event::GeneralRef(reference) => scanner.add_reference(&reference)?,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    scanner.finish()
}

fn refuse_internal_subset(doctype: &BytesText<'_>) -> Result<(), UnbakeError> {
    // A plain `<!DOCTYPE svg PUBLIC ... "svg11.dtd">` is harmless: it is never fetched.
    if doctype.contains('[') {
        return Err(UnbakeError::XmlForbiddenDtd);
    }
    Ok(())
}

struct OpenElement {
    element: SvgBadgeElement,
    depth: usize,
}

struct SvgScanner<'a> {
    reader: NsReader<&'a [u8]>,
    limits: &'a Limits,
    depth: usize,
    root: Option<SvgRoot>,
    open: Option<OpenElement>,
    found: Vec<SvgBadgeElement>,
}

impl<'a> SvgScanner<'a> {
    fn new(text: &'a str, limits: &'a Limits) -> Self {
        SvgScanner {
            reader: NsReader::from_str(text),
            limits,
            depth: 0,
            root: None,
            open: None,
            found: Vec::new(),
        }
    }

    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    fn malformed(&self, err: impl std::fmt::Display) -> UnbakeError {
        let at = self.reader.error_position();
        UnbakeError::XmlMalformed(format!("{err} (near byte {at})"))
    }

    fn open(&mut self, start: usize, tag: &BytesStart<'_>, empty: bool) -> Result<(), UnbakeError> {
        let depth = self.depth + 1;
        if depth > self.limits.max_xml_depth {
            return Err(UnbakeError::XmlTooDeep {
                limit: self.limits.max_xml_depth,
            });
        }
        let span = start..self.position();
        if self.root.is_none() {
            self.root = Some(self.read_root(tag, span, empty)?);
        } else if let Some(keyword) = self.badge_keyword(tag) {
            let verify = self.verify_attribute(tag, keyword)?;
            let element = SvgBadgeElement {
                keyword,
                span,
                body: String::new(),
                verify,
            };
            match (&self.open, empty) {
                (None, false) => self.open = Some(OpenElement { element, depth }),
                _ => self.found.push(element),
            }
        }
        if !empty {
            self.depth = depth;
        }
        Ok(())
    }

    fn close(&mut self) {
        let depth = self.depth;
        if let Some(mut open) = self.open.take_if(|open| open.depth == depth) {
            open.element.span.end = self.position();
            self.found.push(open.element);
        }
        self.depth = self.depth.saturating_sub(1);
    }

    /// Whether text read now belongs to an open badge element's body.
    fn in_body(&self) -> bool {
        self.open
            .as_ref()
            .is_some_and(|open| open.depth == self.depth)
    }

    fn add_body(&mut self, text: &str) {
        if let Some(open) = &mut self.open {
            if open.depth == self.depth {
                open.element.body.push_str(text);
            }
        }
    }

    fn add_reference(&mut self, reference: &BytesRef<'_>) -> Result<(), UnbakeError> {
        let in_body = self
            .open
            .as_ref()
            .is_some_and(|open| open.depth == self.depth);
        if !in_body {
            return Ok(());
        }
        let resolved = resolve_reference(reference).map_err(|err| self.malformed(err))?;
        self.add_body(resolved.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn finish(self) -> Result<SvgScan, UnbakeError> {
        if self.depth != 0 || self.open.is_some() {
            return Err(self.malformed("the document ends inside an element"));
        }
        let root = self.root.ok_or(UnbakeError::NotAnImage)?;
        Ok(SvgScan {
            root,
            elements: self.found,
        })
    }

    fn read_root(
        &self,
        tag: &BytesStart<'_>,
        span: Range<usize>,
        self_closing: bool,
    ) -> Result<SvgRoot, UnbakeError> {
        if tag.local_name().as_ref() != "svg" {
            return Err(UnbakeError::NotAnImage);
        }
        let mut openbadges_namespace = None;
        for attribute in tag.attributes() {
            let attribute = attribute.map_err(|err| self.malformed(err))?;
            if attribute.key.0 == "xmlns:openbadges" {
                openbadges_namespace = Some(attribute.value.into_owned());
            }
        }
        Ok(SvgRoot {
            span,
            name: tag.name().0.to_owned(),
            self_closing,
            openbadges_namespace,
        })
    }

    fn badge_keyword(&self, tag: &BytesStart<'_>) -> Option<Keyword> {
        let (namespace, local) = self.reader.resolver().resolve_element(tag.name());
        let ResolveResult::Bound(Namespace(uri)) = namespace else {
            return None;
        };
        [Keyword::OpenBadges, Keyword::OpenBadgeCredential]
            .into_iter()
            .find(|keyword| {
                keyword.namespace() == uri && keyword.svg_local_name() == local.as_ref()
            })
    }

    /// The unprefixed `verify` attribute (or one in the element's own namespace).
    fn verify_attribute(
        &self,
        tag: &BytesStart<'_>,
        keyword: Keyword,
    ) -> Result<Option<String>, UnbakeError> {
        for attribute in tag.attributes() {
            let attribute = attribute.map_err(|err| self.malformed(err))?;
            let (namespace, local) = self.reader.resolver().resolve_attribute(attribute.key);
            let in_scope = match namespace {
                ResolveResult::Unbound => true,
                ResolveResult::Bound(Namespace(uri)) => uri == keyword.namespace(),
                ResolveResult::Unknown(_) => false,
            };
            if local.as_ref() != "verify" || !in_scope {
                continue;
            }
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| self.malformed(err))?;
            let value = trim_xml_whitespace(&value);
            return Ok((!value.is_empty()).then(|| value.to_owned()));
        }
        Ok(None)
    }
}

/// Character references and the five predefined entities; nothing else is ever expanded.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<char, String> {
    if let Some(character) = reference
        .resolve_char_ref()
        .map_err(|err| err.to_string())?
    {
        return Ok(character);
    }
    match &**reference {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(format!("undefined entity &{other};")),
    }
}

fn unbake_svg(bytes: &[u8], limits: &Limits) -> Result<Unbaked, UnbakeError> {
    let scan = scan_svg(svg_text(bytes)?, limits)?;
    let count = scan.elements.len();
    let element = match <[_; 1]>::try_from(scan.elements) {
        Ok([element]) => element,
        Err(_) if count == 0 => return Err(UnbakeError::NoBadge),
        Err(_) => return Err(UnbakeError::MultiplePayloads { count }),
    };

    let body = trim_xml_whitespace(&element.body);
    let (payload, source) = match (body.is_empty(), &element.verify) {
        (false, _) => (body.to_owned(), PayloadSource::Body),
        (true, Some(verify)) => (verify.clone(), PayloadSource::VerifyAttribute),
        (true, None) => return Err(UnbakeError::EmptyPayload),
    };

    Ok(Unbaked {
        format: ImageFormat::Svg,
        chunk: "svg".to_owned(),
        keyword: element.keyword.svg_element().to_owned(),
        payload,
        source,
        verify_attribute: element.verify,
        warnings: Vec::new(),
    })
}

// ---------------------------------------------------------------------------------------------
// Sniffing helpers

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

/// Removes the whitespace XML itself ignores (space, tab, CR, LF), and no other.
pub(crate) fn trim_xml_whitespace(text: &str) -> &str {
    text.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// The qualified name of the first element, skipping the XML declaration, comments,
/// processing instructions and a DOCTYPE. `None` when the bytes are not markup.
fn root_element_name(bytes: &[u8]) -> Option<&[u8]> {
    let mut rest = bytes;
    loop {
        rest = rest.trim_ascii_start();
        if rest.starts_with(b"<?") {
            rest = after(rest, b"?>")?;
        } else if rest.starts_with(b"<!--") {
            rest = after(rest, b"-->")?;
        } else if rest.starts_with(b"<!DOCTYPE") {
            rest = after_doctype(rest)?;
        } else {
            let tag = rest.strip_prefix(b"<")?;
            let end = tag
                .iter()
                .position(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/')
                .unwrap_or(tag.len());
            return tag.get(..end).filter(|name| !name.is_empty());
        }
    }
}

fn after<'b>(bytes: &'b [u8], marker: &[u8]) -> Option<&'b [u8]> {
    let at = bytes
        .windows(marker.len())
        .position(|window| window == marker)?;
    bytes.get(at + marker.len()..)
}

fn after_doctype(bytes: &[u8]) -> Option<&[u8]> {
    let close = bytes.iter().position(|&b| b == b'>')?;
    match bytes.iter().position(|&b| b == b'[') {
        Some(open) if open < close => after(after(bytes, b"]")?, b">"),
        _ => bytes.get(close + 1..),
    }
}

fn local_part(name: &[u8]) -> &[u8] {
    name.rsplit(|&b| b == b':').next().unwrap_or(name)
}

/// Three dot-separated base64url segments; the header and payload are not empty. The
/// signature may be: an unsigned (`alg: none`) token must still be recognised, so that it is
/// refused for what it is.
fn is_compact_jws(text: &str) -> bool {
    let segments: Vec<&str> = text.split('.').collect();
    let [header, payload, signature] = segments.as_slice() else {
        return false;
    };
    let is_base64url = |segment: &str| {
        let unpadded = segment.trim_end_matches('=');
        segment.len() - unpadded.len() <= 2
            && unpadded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    !header.is_empty()
        && !payload.is_empty()
        && [header, payload, signature]
            .into_iter()
            .all(|s| is_base64url(s))
}

/// `http://` or `https://` followed by at least one character, with no whitespace or controls.
fn is_http_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    let scheme_len = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return false;
    };
    text.len() > scheme_len && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::{Path, PathBuf};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures");

    fn fixture(path: &str) -> Vec<u8> {
        let full = Path::new(FIXTURES).join(path);
        std::fs::read(&full).unwrap_or_else(|err| panic!("cannot read {}: {err}", full.display()))
    }

    /// 21×19 heart with IHDR, bKGD, pHYs, IDAT, IEND and no badge.
    fn heart() -> Vec<u8> {
        fixture("ob-validator-core/images/public_domain_heart.png")
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(kind);
        hasher.update(data);
        let length = u32::try_from(data.len()).expect("test chunk fits in u32");
        [
            &length.to_be_bytes()[..],
            kind,
            data,
            &hasher.finalize().to_be_bytes(),
        ]
        .concat()
    }

    fn itxt(keyword: &str, flag: u8, text: &[u8]) -> Vec<u8> {
        let data = [keyword.as_bytes(), &[0, flag, 0, 0, 0], text].concat();
        chunk(b"iTXt", &data)
    }

    fn text_chunk(kind: &[u8; 4], keyword: &str, body: &[u8]) -> Vec<u8> {
        chunk(kind, &[keyword.as_bytes(), &[0], body].concat())
    }

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).expect("writing to a Vec");
        encoder.finish().expect("writing to a Vec")
    }

    /// `png` with `extra` chunks inserted before the first chunk of type `before`.
    fn insert_before(png: &[u8], before: &[u8; 4], extra: &[Vec<u8>]) -> Vec<u8> {
        let file = walk_png(png, &Limits::default()).expect("test PNG walks");
        let mut out = PNG_SIGNATURE.to_vec();
        let mut inserted = false;
        for chunk in &file.chunks {
            if &chunk.kind == before && !inserted {
                extra.iter().for_each(|c| out.extend_from_slice(c));
                inserted = true;
            }
            out.extend_from_slice(chunk.raw);
        }
        out
    }

    fn flip_last_crc_byte_of(png: &mut [u8], chunk_bytes: &[u8]) {
        let at = png
            .windows(chunk_bytes.len())
            .position(|window| window == chunk_bytes)
            .expect("chunk is in the PNG");
        png[at + chunk_bytes.len() - 1] ^= 0x01;
    }

    fn error_code(bytes: &[u8]) -> &'static str {
        match unbake_any(bytes) {
            Ok(unbaked) => panic!("expected an error, got payload {:?}", unbaked.payload),
            Err(err) => err.code(),
        }
    }

    fn svg(inner: &str) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
             xmlns:openbadges=\"http://openbadges.org\">{inner}<rect/></svg>"
        )
        .into_bytes()
    }

    // ---- detection -----------------------------------------------------------------------

    #[test]
    fn detect_tells_each_input_kind_by_content() {
        let jws = "eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln";
        let url = "https://issuer.example/a/1";
        let prolog = "\u{feff}<?xml version=\"1.0\"?>\n<!-- by hand -->\n\
                      <!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x.dtd\" \
                      [ <!ENTITY a \"b\"> ]>\n";
        let text = |s: &str| s.as_bytes().to_vec();
        let cases = [
            ("png signature", heart(), InputKind::Png),
            (
                "plain svg",
                text("<svg xmlns='http://www.w3.org/2000/svg'/>"),
                InputKind::Svg,
            ),
            (
                "svg after a prolog",
                text(&format!("{prolog}<svg:svg>")),
                InputKind::Svg,
            ),
            (
                "html page",
                text("<!DOCTYPE html><html><body>login</body></html>"),
                InputKind::Unknown,
            ),
            (
                "xml that is not svg",
                text("<?xml version=\"1.0\"?><feed/>"),
                InputKind::Unknown,
            ),
            (
                "json with bom",
                text("\u{feff} {\"a\": 1}\n"),
                InputKind::Json("{\"a\": 1}".into()),
            ),
            (
                "padded jws",
                text(&format!("  {jws}==\n")),
                InputKind::Jws(format!("{jws}==")),
            ),
            ("url", text(&format!("{url}\n")), InputKind::Url(url.into())),
            (
                "upper-case scheme",
                text("HTTP://x.example/"),
                InputKind::Url("HTTP://x.example/".into()),
            ),
            (
                "jpeg",
                vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F'],
                InputKind::Unknown,
            ),
            ("plain words", text("hello world"), InputKind::Unknown),
            ("empty", Vec::new(), InputKind::Unknown),
            ("invalid utf-8", vec![0xC3, 0x28], InputKind::Unknown),
        ];

        for (name, bytes, expected) in cases {
            assert_eq!(detect(&bytes), expected, "case {name}");
        }
    }

    #[test]
    fn a_jpeg_named_png_is_not_an_image() {
        let bytes = fixture("ob-scenarios/image-badge-jpeg/issuer.example/badge.png");

        assert_eq!(detect(&bytes), InputKind::Unknown);
        assert_eq!(error_code(&bytes), "not_an_image");
    }

    #[test]
    fn classify_payload_sorts_urls_json_and_jws() {
        let cases = [
            ("{\"id\":1}", PayloadKind::Json),
            ("\n  {\"id\":1}", PayloadKind::Json),
            ("\u{feff}{}", PayloadKind::Json),
            ("https://example.org/assertion", PayloadKind::Url),
            ("http://example.org", PayloadKind::Url),
            ("aaa.bbb.ccc", PayloadKind::Jws),
            ("aaa..ccc", PayloadKind::Unknown),
            ("aaa.bbb=.ccc==", PayloadKind::Jws),
            ("aaa.bbb.ccc===", PayloadKind::Unknown),
            ("aaa.bbb.", PayloadKind::Jws),
            ("aaa.bbb", PayloadKind::Unknown),
            ("aa+a.bbb.ccc", PayloadKind::Unknown),
            ("https://", PayloadKind::Unknown),
            ("https://a b", PayloadKind::Unknown),
            ("ftp://example.org", PayloadKind::Unknown),
            ("[1,2]", PayloadKind::Unknown),
            ("é", PayloadKind::Unknown),
        ];

        for (payload, expected) in cases {
            assert_eq!(classify_payload(payload), expected, "payload {payload:?}");
        }
    }

    // ---- PNG -----------------------------------------------------------------------------

    #[test]
    fn itxt_after_the_image_data_is_found() {
        let png = insert_before(
            &heart(),
            b"IEND",
            &[itxt("openbadges", 0, b"https://a.example/1")],
        );

        let unbaked = unbake_any(&png).expect("unbakes");

        assert_eq!(unbaked.payload, "https://a.example/1");
        assert_eq!(
            (unbaked.chunk.as_str(), unbaked.keyword.as_str()),
            ("iTXt", "openbadges")
        );
        assert_eq!(unbaked.format, ImageFormat::Png);
        assert!(unbaked.warnings.is_empty(), "{:?}", unbaked.warnings);
    }

    #[test]
    fn the_3_0_keyword_is_read() {
        let png = insert_before(
            &heart(),
            b"IDAT",
            &[itxt("openbadgecredential", 0, b"a.b.c")],
        );

        let unbaked = unbake_any(&png).expect("unbakes");

        assert_eq!(
            (unbaked.keyword.as_str(), unbaked.payload.as_str()),
            ("openbadgecredential", "a.b.c")
        );
    }

    #[test]
    fn non_ascii_itxt_text_is_kept_byte_for_byte() {
        let text = "{\"name\":\"Краљ Петар — 王\", \"n\":\"\\u0000\"}\n";
        let png = insert_before(&heart(), b"IDAT", &[itxt("openbadges", 0, text.as_bytes())]);

        assert_eq!(unbake_any(&png).expect("unbakes").payload, text);
    }

    #[test]
    fn compressed_itxt_and_ztxt_are_inflated_with_a_warning() {
        let json = "{\"id\":\"https://issuer.example/a/1\"}";
        let cases = [
            (
                "compressed iTXt",
                itxt("openbadges", 1, &zlib(json.as_bytes())),
                "iTXt",
            ),
            (
                "zTXt",
                text_chunk(
                    b"zTXt",
                    "openbadges",
                    &[&[0u8][..], &zlib(json.as_bytes())].concat(),
                ),
                "zTXt",
            ),
        ];

        for (name, badge, kind) in cases {
            let png = insert_before(&heart(), b"IDAT", &[badge]);
            let unbaked = unbake_any(&png).unwrap_or_else(|err| panic!("case {name}: {err}"));
            assert_eq!(unbaked.payload, json, "case {name}");
            assert_eq!(unbaked.chunk, kind, "case {name}");
            assert!(
                unbaked.warnings.iter().any(|w| w.contains("compressed")),
                "case {name}"
            );
        }
    }

    #[test]
    fn latin1_text_chunk_is_decoded_with_a_warning_and_utf8_is_kept() {
        let latin1 = text_chunk(b"tEXt", "openbadges", b"https://x.example/caf\xE9");
        let utf8 = text_chunk(b"tEXt", "openbadges", "https://x.example/café".as_bytes());

        for (name, badge) in [("latin-1", latin1), ("utf-8", utf8)] {
            let unbaked = unbake_any(&insert_before(&heart(), b"IDAT", &[badge])).expect("unbakes");
            assert_eq!(unbaked.payload, "https://x.example/café", "case {name}");
            assert_eq!(
                unbaked.warnings.len(),
                usize::from(name == "latin-1"),
                "case {name}"
            );
        }
    }

    #[test]
    fn a_bad_crc_on_the_badge_chunk_is_an_error() {
        let badge = itxt("openbadges", 0, b"https://a.example/1");
        let mut png = insert_before(&heart(), b"IDAT", std::slice::from_ref(&badge));
        flip_last_crc_byte_of(&mut png, &badge);

        assert_eq!(error_code(&png), "bad_crc");
    }

    #[test]
    fn a_bad_crc_on_another_ancillary_chunk_is_a_warning() {
        let other = text_chunk(b"tEXt", "Software", b"Paint");
        let mut png = insert_before(
            &heart(),
            b"IDAT",
            &[other.clone(), itxt("openbadges", 0, b"{}")],
        );
        flip_last_crc_byte_of(&mut png, &other);

        let unbaked = unbake_any(&png).expect("unbakes");

        assert_eq!(unbaked.payload, "{}");
        assert_eq!(
            unbaked.warnings,
            ["the tEXt chunk fails its CRC check; the image may be damaged"]
        );
    }

    #[test]
    fn two_payload_chunks_are_refused_wherever_they_are() {
        let cases = [
            (
                "iTXt twice",
                itxt("openbadges", 0, b"{}"),
                itxt("openbadges", 0, b"{}"),
            ),
            (
                "iTXt and tEXt",
                itxt("openbadges", 0, b"{}"),
                text_chunk(b"tEXt", "openbadges", b"https://a"),
            ),
            (
                "2.0 and 3.0",
                itxt("openbadges", 0, b"{}"),
                itxt("openbadgecredential", 0, b"a.b.c"),
            ),
        ];

        for (name, first, second) in cases {
            let png = insert_before(
                &insert_before(&heart(), b"IDAT", &[first]),
                b"IEND",
                &[second],
            );
            assert_eq!(
                unbake_any(&png),
                Err(UnbakeError::MultiplePayloads { count: 2 }),
                "case {name}"
            );
        }
    }

    #[test]
    fn every_truncation_of_a_baked_png_is_reported_as_truncated() {
        let png = fixture("ob-bakery-py/baked_heart.png");

        for cut in PNG_SIGNATURE.len()..png.len() {
            assert_eq!(
                error_code(&png[..cut]),
                "truncated_png",
                "cut at byte {cut}"
            );
        }
        assert_eq!(error_code(&png[..5]), "not_an_image");
    }

    #[test]
    fn a_huge_declared_chunk_length_is_refused_before_reading() {
        for declared in [0x7FFF_FFFF_u32, 0xFFFF_FFFF, 6 * 1024 * 1024] {
            let mut png = heart();
            // The first chunk after IHDR (13 bytes of data) starts at 8 + 25 = 33.
            png[33..37].copy_from_slice(&declared.to_be_bytes());
            assert_eq!(
                unbake_any(&png),
                Err(UnbakeError::ChunkTooLarge {
                    declared,
                    limit: 5 * MIB
                }),
                "declared {declared}"
            );
        }
    }

    #[test]
    fn a_zip_bomb_stops_at_the_inflate_limit() {
        let bomb = zlib(&vec![b'{'; 8 * MIB]);
        assert!(bomb.len() < 64 * 1024, "the bomb is small: {}", bomb.len());
        let png = insert_before(&heart(), b"IDAT", &[itxt("openbadges", 1, &bomb)]);

        assert_eq!(
            unbake_any(&png),
            Err(UnbakeError::InflatedTooLarge { limit: MIB })
        );
    }

    #[test]
    fn malformed_badge_chunks_give_their_own_codes() {
        let cases = [
            (
                "corrupt zlib",
                itxt("openbadges", 1, b"not zlib at all"),
                "bad_compressed_data",
            ),
            (
                "unknown method",
                chunk(b"iTXt", b"openbadges\0\x01\x07\0\0x"),
                "unsupported_compression",
            ),
            (
                "flag 2",
                chunk(b"iTXt", b"openbadges\0\x02\0\0\0x"),
                "malformed_text_chunk",
            ),
            (
                "no NUL after keyword",
                chunk(b"tEXt", b"openbadges"),
                "malformed_text_chunk",
            ),
            (
                "iTXt cut short",
                chunk(b"iTXt", b"openbadges\0\0\0"),
                "malformed_text_chunk",
            ),
            (
                "not utf-8",
                itxt("openbadges", 0, b"\xFF\xFE{}"),
                "payload_not_utf8",
            ),
            ("empty", itxt("openbadges", 0, b""), "empty_payload"),
            (
                "blank",
                text_chunk(b"tEXt", "openbadges", b" \n"),
                "empty_payload",
            ),
        ];

        for (name, badge, code) in cases {
            let png = insert_before(&heart(), b"IDAT", &[badge]);
            assert_eq!(error_code(&png), code, "case {name}");
        }
    }

    #[test]
    fn text_chunks_that_are_not_badges_are_ignored() {
        let others = [
            text_chunk(b"tEXt", "Software", b"https://a"),
            text_chunk(b"tEXt", "openbadgecredential", b"a.b.c"),
            itxt("OpenBadges", 0, b"{}"),
            itxt("openbadges2", 0, b"{}"),
        ];
        let png = insert_before(&heart(), b"IDAT", &others);

        assert_eq!(error_code(&png), "no_badge");
    }

    #[test]
    fn structural_png_errors_have_their_own_codes() {
        let heart = heart();
        let mut not_ihdr_first = heart.clone();
        not_ihdr_first[12..16].copy_from_slice(b"IHDX");
        let mut bad_type = heart.clone();
        bad_type[37..41].copy_from_slice(b"b1GD");
        let small = Limits {
            max_chunks: 3,
            ..Limits::default()
        };
        let tiny = Limits {
            max_input_bytes: 100,
            ..Limits::default()
        };

        assert_eq!(error_code(&not_ihdr_first), "malformed_png");
        assert_eq!(error_code(&bad_type), "malformed_png");
        assert_eq!(
            unbake(&heart, &small).map_err(|e| e.code()),
            Err("too_many_chunks")
        );
        assert_eq!(
            unbake(&heart, &tiny).map_err(|e| e.code()),
            Err("too_large")
        );
    }

    #[test]
    fn bytes_after_iend_are_ignored_with_a_warning() {
        let mut png = insert_before(&heart(), b"IDAT", &[itxt("openbadges", 0, b"{}")]);
        png.extend_from_slice(b"junk");

        let unbaked = unbake_any(&png).expect("unbakes");

        assert_eq!(
            unbaked.warnings,
            ["4 bytes after the IEND chunk were ignored"]
        );
    }

    // ---- SVG -----------------------------------------------------------------------------

    #[test]
    fn svg_elements_are_found_by_namespace_not_prefix() {
        let cases = [
            (
                "other prefix",
                "<ob:assertion xmlns:ob=\"http://openbadges.org\"><![CDATA[{}]]></ob:assertion>",
                "openbadges:assertion",
            ),
            (
                "default namespace",
                "<assertion xmlns=\"http://openbadges.org\">{}</assertion>",
                "openbadges:assertion",
            ),
            (
                "3.0 credential",
                "<c:credential xmlns:c=\"https://purl.imsglobal.org/ob/v3p0\">{}</c:credential>",
                "openbadges:credential",
            ),
            (
                "root prefix",
                "<openbadges:assertion>{}</openbadges:assertion>",
                "openbadges:assertion",
            ),
        ];

        for (name, element, keyword) in cases {
            let unbaked =
                unbake_any(&svg(element)).unwrap_or_else(|err| panic!("case {name}: {err}"));
            assert_eq!(
                (unbaked.keyword.as_str(), unbaked.payload.as_str()),
                (keyword, "{}"),
                "{name}"
            );
            assert_eq!(
                (unbaked.chunk.as_str(), unbaked.format),
                ("svg", ImageFormat::Svg),
                "{name}"
            );
        }
    }

    #[test]
    fn svg_elements_in_other_namespaces_or_names_are_not_badges() {
        let cases = [
            "<x:assertion xmlns:x=\"http://example.org\">{}</x:assertion>",
            "<assertion>{}</assertion>",
            "<c:assertion xmlns:c=\"https://purl.imsglobal.org/ob/v3p0\">{}</c:assertion>",
            "<openbadges:badge>{}</openbadges:badge>",
        ];

        for element in cases {
            assert_eq!(error_code(&svg(element)), "no_badge", "element {element}");
        }
    }

    #[test]
    fn svg_body_wins_over_verify_and_verify_is_the_fallback() {
        let element = |attributes: &str, body: &str| {
            format!("<openbadges:assertion{attributes}>{body}</openbadges:assertion>")
        };
        let cases = [
            (
                "cdata and verify",
                element(" verify=\"https://a/1\"", "\n <![CDATA[ {\"x\":1} ]]>\n"),
                "{\"x\":1}",
                PayloadSource::Body,
            ),
            (
                "escaped text",
                element("", "{&quot;x&quot;:&#49;}"),
                "{\"x\":1}",
                PayloadSource::Body,
            ),
            (
                "verify only",
                "<openbadges:assertion verify=\" https://a/1?b=1&amp;c=2 \"/>".to_owned(),
                "https://a/1?b=1&c=2",
                PayloadSource::VerifyAttribute,
            ),
            (
                "empty cdata",
                element(" verify=\"a.b.c\"", "<![CDATA[]]>"),
                "a.b.c",
                PayloadSource::VerifyAttribute,
            ),
            (
                "split cdata",
                element("", "<![CDATA[{\"a\":\"]]]]><![CDATA[>\"}]]>"),
                "{\"a\":\"]]>\"}",
                PayloadSource::Body,
            ),
        ];

        for (name, element, payload, source) in cases {
            let unbaked =
                unbake_any(&svg(&element)).unwrap_or_else(|err| panic!("case {name}: {err}"));
            assert_eq!(
                (unbaked.payload.as_str(), unbaked.source),
                (payload, source),
                "case {name}"
            );
        }
    }

    #[test]
    fn svg_refuses_entities_and_reports_bad_xml_with_codes() {
        let laughs = "<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY a \"aaaaaaaaaa\">\
                      <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>\
                      <svg xmlns:openbadges=\"http://openbadges.org\">\
                      <openbadges:assertion>&b;</openbadges:assertion></svg>";
        let external = "<!DOCTYPE svg [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
                        <svg xmlns:openbadges=\"http://openbadges.org\">\
                        <openbadges:assertion>&x;</openbadges:assertion></svg>";
        let deep = format!(
            "{}<openbadges:assertion>{{}}</openbadges:assertion>{}",
            "<g>".repeat(70),
            "</g>".repeat(70)
        );
        let element = |body: &str| format!("<openbadges:assertion>{body}</openbadges:assertion>");
        let cases: [(&str, Vec<u8>, &str); 10] = [
            ("billion laughs", laughs.into(), "xml_forbidden_dtd"),
            ("external entity", external.into(), "xml_forbidden_dtd"),
            ("deep nesting", svg(&deep), "xml_too_deep"),
            (
                "unclosed element",
                b"<svg><g></svg>".to_vec(),
                "xml_malformed",
            ),
            ("undefined entity", svg(&element("&nbsp;")), "xml_malformed"),
            ("ends inside", b"<svg><g>".to_vec(), "xml_malformed"),
            (
                "two elements",
                svg(&[element("{}"), element("{}")].concat()),
                "multiple_payloads",
            ),
            ("empty element", svg(&element("  ")), "empty_payload"),
            ("no element", svg(""), "no_badge"),
            (
                "latin-1 bytes",
                b"<svg>\xE9</svg>".to_vec(),
                "xml_malformed",
            ),
        ];

        for (name, bytes, code) in cases {
            assert_eq!(error_code(&bytes), code, "case {name}");
        }
    }

    #[test]
    fn svg_depth_limit_allows_what_it_says() {
        // The root is level 1, so 62 groups put the element at level 64, the default limit.
        let element = "<openbadges:assertion>{}</openbadges:assertion>";
        let nested = |groups: usize| {
            svg(&format!(
                "{}{element}{}",
                "<g>".repeat(groups),
                "</g>".repeat(groups)
            ))
        };

        assert_eq!(
            unbake_any(&nested(62)).map(|u| u.payload),
            Ok("{}".to_owned())
        );
        assert_eq!(error_code(&nested(63)), "xml_too_deep");
    }

    #[test]
    fn svg_size_limit_applies() {
        let limits = Limits {
            max_xml_bytes: 50,
            ..Limits::default()
        };

        assert_eq!(
            unbake(&svg(""), &limits).map_err(|e| e.code()),
            Err("too_large")
        );
    }

    // ---- never panics --------------------------------------------------------------------

    proptest::proptest! {
        #[test]
        fn unbake_never_panics_on_arbitrary_bytes(
            bytes in proptest::collection::vec(0u8.., 0..512),
        ) {
            let _ = unbake_any(&bytes);
            let _ = detect(&bytes);
        }

        #[test]
        fn unbake_never_panics_on_damaged_badges(
            which in 0usize..4,
            flips in proptest::collection::vec((0usize..4096, 0u8..), 1..8),
        ) {
            let files = [
                "ob-bakery-py/baked_heart.png",
                "ob3-openbadgeslib/rs256-valid.png",
                "ob-scenarios/baked-svg-hosted/baked.svg",
                "ob-spec-examples/ob30/validator/simple-json.svg",
            ];
            let mut bytes = fixture(files[which]);
            for (at, value) in flips {
                let len = bytes.len();
                bytes[at % len] = value;
            }
            let _ = unbake_any(&bytes);
        }
    }

    // ---- every fixture image -------------------------------------------------------------

    /// How a fixture's payload is checked, from its README or expected-results.json.
    enum Check {
        Exact(&'static str),
        /// Same JSON value as `issuer.example/assertion.json` beside the image.
        HostedJson,
        /// Same text as this fixture file (trimmed).
        SameTextAs(&'static str),
        /// The payload holds this fragment.
        Contains(&'static str),
        /// The README says the body is not valid JSON.
        InvalidJson,
    }

    /// What the SVG `verify` attribute must hold.
    enum Verify {
        Absent,
        Is(&'static str),
        SameAsPayload,
    }

    enum Expect {
        Payload {
            chunk: &'static str,
            keyword: &'static str,
            source: PayloadSource,
            kind: PayloadKind,
            check: Check,
            verify: Verify,
        },
        Error(&'static str),
    }

    fn png_payload(
        chunk: &'static str,
        keyword: &'static str,
        kind: PayloadKind,
        check: Check,
    ) -> Expect {
        Expect::Payload {
            chunk,
            keyword,
            source: PayloadSource::Body,
            kind,
            check,
            verify: Verify::Absent,
        }
    }

    fn svg_payload(
        source: PayloadSource,
        kind: PayloadKind,
        check: Check,
        verify: Verify,
    ) -> Expect {
        let keyword = "openbadges:assertion";
        Expect::Payload {
            chunk: "svg",
            keyword,
            source,
            kind,
            check,
            verify,
        }
    }

    fn expected_fixture_results() -> Vec<(&'static str, Expect)> {
        use Check::*;
        use PayloadKind::{Json, Jws, Url};
        use PayloadSource::{Body, VerifyAttribute};
        let ob3 = |check| png_payload("iTXt", "openbadgecredential", Jws, check);
        let ob3_svg = |source, kind, check, verify| match svg_payload(source, kind, check, verify) {
            Expect::Payload {
                chunk,
                source,
                kind,
                check,
                verify,
                ..
            } => Expect::Payload {
                chunk,
                keyword: "openbadges:credential",
                source,
                kind,
                check,
                verify,
            },
            error => error,
        };
        let example = || Verify::Is("http://example.org");
        let bakery_json = "{\"verify\":{\"url\":\"http://example.org\"}}";
        let heart_verify = "\"url\":\"http://example.org/badgeinstance1\"";
        let rs256 = || Contains("eyJhbGciOiJSUzI1NiIs");
        let es256 = || Contains("eyJhbGciOiJFUzI1NiIs");
        Vec::from([
            // mozilla-bakery/README.md and ob-spec-examples baking-edge-cases (same files).
            (
                "mozilla-bakery/baked.svg",
                svg_payload(Body, Json, Exact(bakery_json), example()),
            ),
            (
                "mozilla-bakery/bad-json.svg",
                svg_payload(Body, Json, InvalidJson, example()),
            ),
            (
                "mozilla-bakery/no-json.svg",
                svg_payload(VerifyAttribute, Url, Exact("http://example.org"), example()),
            ),
            ("mozilla-bakery/unbaked.svg", Expect::Error("no_badge")),
            ("mozilla-bakery/unbaked.png", Expect::Error("no_badge")),
            (
                "ob-spec-examples/baking-edge-cases/bakery-baked.svg",
                svg_payload(Body, Json, Exact(bakery_json), example()),
            ),
            (
                "ob-spec-examples/baking-edge-cases/bakery-bad-json.svg",
                svg_payload(Body, Json, InvalidJson, example()),
            ),
            (
                "ob-spec-examples/baking-edge-cases/bakery-no-json.svg",
                svg_payload(VerifyAttribute, Url, Exact("http://example.org"), example()),
            ),
            (
                "ob-spec-examples/baking-edge-cases/bakery-unbaked.svg",
                Expect::Error("no_badge"),
            ),
            (
                "ob-spec-examples/baking-edge-cases/bakery-unbaked.png",
                Expect::Error("no_badge"),
            ),
            (
                "ob-spec-examples/baking-edge-cases/backpack-valid-baked-tEXt.png",
                png_payload(
                    "tEXt",
                    "openbadges",
                    Url,
                    Exact("https://example.org/assertion"),
                ),
            ),
            // ob-bakery-py/README.md: Satchel reads the body first (field report 7); the
            // bakery's answer (the verify URL) stays available in `verify_attribute`.
            (
                "ob-bakery-py/baked_heart.png",
                png_payload("iTXt", "openbadges", Json, Contains(heart_verify)),
            ),
            (
                "ob-bakery-py/baked_example.svg",
                svg_payload(
                    Body,
                    Json,
                    Contains("\"uid\": \"abcdef12345\""),
                    Verify::Is("https://example.org/assertion.json"),
                ),
            ),
            (
                "ob-bakery-py/unbaked_example.svg",
                Expect::Error("no_badge"),
            ),
            // ob-scenarios/cases.json baked inputs.
            (
                "ob-scenarios/baked-png-compressed-itxt/baked.png",
                png_payload(
                    "iTXt",
                    "openbadges",
                    Url,
                    Exact("https://issuer.example/assertion.json"),
                ),
            ),
            (
                "ob-scenarios/baked-png-hosted-json/baked.png",
                png_payload("iTXt", "openbadges", Json, HostedJson),
            ),
            (
                "ob-scenarios/baked-png-text-chunk/baked.png",
                png_payload(
                    "tEXt",
                    "openbadges",
                    Url,
                    Exact("https://issuer.example/assertion.json"),
                ),
            ),
            (
                "ob-scenarios/baked-png-unbaked/plain.png",
                Expect::Error("no_badge"),
            ),
            (
                "ob-scenarios/baked-png-url-only/baked.png",
                png_payload(
                    "iTXt",
                    "openbadges",
                    Url,
                    Exact("https://issuer.example/assertion.json"),
                ),
            ),
            (
                "ob-scenarios/baked-svg-cdata-only/baked.svg",
                svg_payload(Body, Json, HostedJson, Verify::Absent),
            ),
            (
                "ob-scenarios/baked-svg-hosted/baked.svg",
                svg_payload(
                    Body,
                    Json,
                    HostedJson,
                    Verify::Is("https://issuer.example/assertion.json"),
                ),
            ),
            (
                "ob-scenarios/legacy-1.0-hosted/baked.png",
                png_payload("iTXt", "openbadges", Json, HostedJson),
            ),
            (
                "ob-scenarios/signed-valid-baked-png/baked.png",
                png_payload(
                    "iTXt",
                    "openbadges",
                    Jws,
                    SameTextAs("ob-scenarios/signed-valid/assertion.jws"),
                ),
            ),
            (
                "ob-scenarios/signed-valid-baked-svg/baked.svg",
                svg_payload(
                    Body,
                    Jws,
                    SameTextAs("ob-scenarios/signed-valid/assertion.jws"),
                    Verify::SameAsPayload,
                ),
            ),
            // ob-spec-examples/expected-results.json.
            (
                "ob-spec-examples/ob20/validator/simple-badge.png",
                png_payload(
                    "iTXt",
                    "openbadges",
                    Json,
                    Contains("\"type\":\"Assertion\""),
                ),
            ),
            (
                "ob-spec-examples/ob20/validator/assets/beths-robot-badge.png",
                Expect::Error("no_badge"),
            ),
            (
                "ob-spec-examples/ob20/validator/assets/robotics-badge.png",
                Expect::Error("no_badge"),
            ),
            (
                "ob-spec-examples/ob30/validator/simple-json.png",
                png_payload(
                    "iTXt",
                    "openbadgecredential",
                    Json,
                    Contains("\"OpenBadgeCredential\""),
                ),
            ),
            (
                "ob-spec-examples/ob30/validator/simple-json.svg",
                ob3_svg(
                    Body,
                    Json,
                    Contains("\"OpenBadgeCredential\""),
                    Verify::Absent,
                ),
            ),
            (
                "ob-spec-examples/ob30/validator/simple-jwt.png",
                ob3(rs256()),
            ),
            (
                "ob-spec-examples/ob30/validator/simple-jwt.svg",
                ob3_svg(VerifyAttribute, Jws, rs256(), Verify::SameAsPayload),
            ),
            (
                "ob-spec-examples/ob30/validator/simple-jwt_v1.png",
                ob3(rs256()),
            ),
            (
                "ob-spec-examples/ob30/validator/simple-jwt_v1.svg",
                ob3_svg(VerifyAttribute, Jws, rs256(), Verify::SameAsPayload),
            ),
            // ob-validator-core/README.md.
            // Baked in 2017 from an older 2_0_basic_assertion: same id, another identity hash.
            (
                "ob-validator-core/images/baked_heart__validator_core_2017.png",
                png_payload(
                    "iTXt",
                    "openbadges",
                    Json,
                    Contains("\"id\": \"https://example.org/beths-robotics-badge.json\""),
                ),
            ),
            (
                "ob-validator-core/images/public_domain_heart.png",
                Expect::Error("no_badge"),
            ),
            // ob3-openbadgeslib/README.md: JWT-VCs after IDAT; one PNG is 2.0-baked.
            ("ob3-openbadgeslib/es256-didkey.png", ob3(es256())),
            ("ob3-openbadgeslib/es256-valid.png", ob3(es256())),
            (
                "ob3-openbadgeslib/ob2-baked-not-ob3.png",
                png_payload("iTXt", "openbadges", Json, Contains("\"uid\":\"123\"")),
            ),
            ("ob3-openbadgeslib/rs256-expired.png", ob3(rs256())),
            ("ob3-openbadgeslib/rs256-future.png", ob3(rs256())),
            (
                "ob3-openbadgeslib/rs256-hashed-identifier.png",
                ob3(rs256()),
            ),
            ("ob3-openbadgeslib/rs256-valid.png", ob3(rs256())),
            (
                "ob3-openbadgeslib/rs256-valid.svg",
                ob3_svg(VerifyAttribute, Jws, rs256(), Verify::SameAsPayload),
            ),
        ])
    }

    /// The scenario READMEs use the unbaked heart as every issuer's badge image.
    fn is_issuer_badge_image(path: &str) -> bool {
        path.starts_with("ob-scenarios/") && path.ends_with("/issuer.example/badge.png")
    }

    fn image_fixtures(dir: &Path, found: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                image_fixtures(&path, found);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if matches!(detect(&bytes), InputKind::Png | InputKind::Svg) {
                    found.push(path);
                }
            }
        }
    }

    fn check_payload(name: &str, payload: &str, check: &Check) {
        match check {
            Check::Exact(expected) => assert_eq!(payload, *expected, "{name}"),
            Check::Contains(fragment) => assert!(payload.contains(fragment), "{name}: {payload}"),
            Check::SameTextAs(path) => {
                let expected = String::from_utf8(fixture(path)).expect("utf-8 fixture");
                assert_eq!(payload, expected.trim(), "{name}");
            }
            Check::HostedJson => {
                let folder = name.rsplit_once('/').map_or("", |(folder, _)| folder);
                let hosted = fixture(&format!("{folder}/issuer.example/assertion.json"));
                let expected: serde_json::Value =
                    serde_json::from_slice(&hosted).expect("fixture is JSON");
                let actual: serde_json::Value =
                    serde_json::from_str(payload).unwrap_or_else(|err| panic!("{name}: {err}"));
                assert_eq!(actual, expected, "{name}");
            }
            Check::InvalidJson => {
                let parsed = serde_json::from_str::<serde_json::Value>(payload);
                assert!(parsed.is_err(), "{name}: body unexpectedly parses");
            }
        }
    }

    fn check_fixture(name: &str, bytes: &[u8], expect: &Expect) {
        let result = unbake_any(bytes);
        match (expect, result) {
            (Expect::Error(code), result) => {
                assert_eq!(
                    result.map(|u| u.payload).map_err(|e| e.code()),
                    Err(*code),
                    "{name}"
                )
            }
            (Expect::Payload { .. }, Err(err)) => panic!("{name}: unexpected error {err}"),
            (
                Expect::Payload {
                    chunk,
                    keyword,
                    source,
                    kind,
                    check,
                    verify,
                },
                Ok(unbaked),
            ) => {
                assert_eq!(unbaked.chunk, *chunk, "{name}");
                assert_eq!(unbaked.keyword, *keyword, "{name}");
                assert_eq!(unbaked.source, *source, "{name}");
                assert_eq!(classify_payload(&unbaked.payload), *kind, "{name}");
                let expected_verify = match verify {
                    Verify::Absent => None,
                    Verify::Is(value) => Some(*value),
                    Verify::SameAsPayload => Some(unbaked.payload.as_str()),
                };
                assert_eq!(
                    unbaked.verify_attribute.as_deref(),
                    expected_verify,
                    "{name}"
                );
                check_payload(name, &unbaked.payload, check);
            }
        }
    }

    #[test]
    fn every_fixture_image_unbakes_as_its_readme_says() {
        let expected = expected_fixture_results();
        let mut images = Vec::new();
        image_fixtures(Path::new(FIXTURES), &mut images);
        images.sort();

        let mut checked = 0;
        for path in &images {
            let name = path
                .strip_prefix(FIXTURES)
                .expect("under the fixtures folder")
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(path).expect("readable");
            let expect = match expected.iter().find(|(listed, _)| *listed == name) {
                Some((_, expect)) => expect,
                None if is_issuer_badge_image(&name) => &Expect::Error("no_badge"),
                None => panic!("fixture image {name} has no expected result in this table"),
            };
            check_fixture(&name, &bytes, expect);
            checked += 1;
        }

        assert!(checked >= 90, "only {checked} fixture images found");
        for (listed, _) in &expected {
            assert!(
                images.iter().any(|p| p.ends_with(listed)),
                "{listed} is listed but missing"
            );
        }
    }
}
