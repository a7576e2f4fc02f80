//! Baking for export: writing a payload (assertion JSON, JWS or URL, exactly as Satchel
//! received it) into a PNG or SVG, replacing any badge already there, so that
//! `unbake(bake(image, payload))` gives the payload back (field report 10).
//!
//! PNG: one uncompressed `iTXt` chunk right after IHDR; every other chunk is copied byte for
//! byte (pixels are never re-encoded). SVG: one `openbadges:*` element right after the root
//! start tag, with the namespace declared on the root. This module reuses `unbake`'s PNG
//! walker and SVG scan; it must not depend on actix, diesel, the network or storage.

use std::io::Cursor;

use png::text_metadata::{EncodableTextChunk, ITXtChunk};

pub use super::unbake::Keyword;
use super::unbake::{
    classify_payload, detect, scan_svg, svg_text, trim_xml_whitespace, walk_png, InputKind, Limits,
    PayloadKind, SvgRoot, UnbakeError, PNG_SIGNATURE,
};

/// Why an image could not be baked. Each variant has a stable [`code`](BakeError::code).
#[derive(Debug, thiserror::Error)]
pub enum BakeError {
    #[error("only PNG and SVG images can carry a badge")]
    NotAnImage,
    #[error("the image cannot be baked")]
    InvalidImage(#[source] UnbakeError),
    #[error("the PNG header is invalid")]
    InvalidPngHeader(#[source] png::DecodingError),
    #[error("the payload is empty")]
    EmptyPayload,
    #[error("the payload holds U+{code:04X}, which a {format} badge cannot carry")]
    UnrepresentableChar { format: &'static str, code: u32 },
    #[error("the iTXt chunk could not be written")]
    Encode(#[source] png::EncodingError),
}

impl BakeError {
    /// A stable snake_case code for the HTTP layer and the logs.
    pub fn code(&self) -> &'static str {
        match self {
            BakeError::NotAnImage => "not_an_image",
            BakeError::InvalidImage(_) => "invalid_image",
            BakeError::InvalidPngHeader(_) => "invalid_png_header",
            BakeError::EmptyPayload => "empty_payload",
            BakeError::UnrepresentableChar { .. } => "unrepresentable_payload",
            BakeError::Encode(_) => "encode_failed",
        }
    }
}

/// Bakes `payload` into `image` (Baking spec; OB 3.0 §5.3) under `keyword`, replacing any
/// Open Badges chunk or element already there, of either version.
///
/// PNG: an uncompressed `iTXt` chunk with empty language and translated keyword, right after
/// IHDR (§5.3.1); the payload round-trips byte for byte. It may not contain NUL.
///
/// SVG (§5.3.2): a payload that is a URL or a compact JWS goes in the `verify` attribute of a
/// self-closing element, as the spec's examples do; anything else (JSON) goes in a CDATA body.
/// XML cannot keep whitespace around the payload, so it round-trips up to leading and trailing
/// space, tab, CR and LF; characters XML 1.0 forbids are refused.
pub fn bake(image: &[u8], payload: &str, keyword: Keyword) -> Result<Vec<u8>, BakeError> {
    if trim_xml_whitespace(payload).is_empty() {
        return Err(BakeError::EmptyPayload);
    }
    match detect(image) {
        InputKind::Png => bake_png(image, payload, keyword),
        InputKind::Svg => bake_svg(image, payload, keyword),
        _ => Err(BakeError::NotAnImage),
    }
}

fn bake_png(image: &[u8], payload: &str, keyword: Keyword) -> Result<Vec<u8>, BakeError> {
    if payload.contains('\0') {
        return Err(BakeError::UnrepresentableChar {
            format: "PNG",
            code: 0,
        });
    }
    let file = walk_png(image, &Limits::default()).map_err(BakeError::InvalidImage)?;
    check_png_header(image)?;
    let badge_chunk = itxt_chunk(payload, keyword)?;

    let mut baked = Vec::with_capacity(image.len() + badge_chunk.len());
    baked.extend_from_slice(&PNG_SIGNATURE);
    for chunk in file.chunks.iter().filter(|chunk| !chunk.names_badge()) {
        baked.extend_from_slice(chunk.raw);
        if &chunk.kind == b"IHDR" {
            baked.extend_from_slice(&badge_chunk);
        }
    }
    Ok(baked)
}

/// Lets the `png` crate judge the header (dimensions, bit depth, colour type): an export must
/// open in any viewer.
fn check_png_header(image: &[u8]) -> Result<(), BakeError> {
    let mut decoder = png::Decoder::new(Cursor::new(image));
    decoder.set_ignore_text_chunk(true);
    decoder
        .read_header_info()
        .map(|_| ())
        .map_err(BakeError::InvalidPngHeader)
}

fn itxt_chunk(payload: &str, keyword: Keyword) -> Result<Vec<u8>, BakeError> {
    let chunk = ITXtChunk::new(keyword.png_keyword(), payload);
    let mut encoded = Vec::new();
    chunk.encode(&mut encoded).map_err(BakeError::Encode)?;
    Ok(encoded)
}

fn bake_svg(image: &[u8], payload: &str, keyword: Keyword) -> Result<Vec<u8>, BakeError> {
    if let Some(c) = payload.chars().find(|&c| !is_xml_char(c)) {
        let code = u32::from(c);
        return Err(BakeError::UnrepresentableChar {
            format: "SVG",
            code,
        });
    }
    let text = svg_text(image).map_err(BakeError::InvalidImage)?;
    let scan = scan_svg(text, &Limits::default()).map_err(BakeError::InvalidImage)?;
    let bom = image.strip_suffix(text.as_bytes()).unwrap_or_default();

    let root = &scan.root;
    let mut baked = String::with_capacity(text.len() + payload.len() + 128);
    baked.push_str(text.get(..root.span.start).unwrap_or_default());
    baked.push_str(&root_start_tag(text, root, keyword));
    baked.push_str(&badge_element(payload, keyword));
    if root.self_closing {
        baked.push_str(&format!("</{}>", root.name));
    }
    let mut copied_to = root.span.end;
    for span in scan.elements.iter().map(|element| &element.span) {
        if span.start >= copied_to {
            baked.push_str(text.get(copied_to..span.start).unwrap_or_default());
        }
        copied_to = copied_to.max(span.end);
    }
    baked.push_str(text.get(copied_to..).unwrap_or_default());

    Ok([bom, baked.as_bytes()].concat())
}

/// The root start tag, opened (if it was self-closing) and declaring
/// `xmlns:openbadges` with the keyword's namespace. Untouched when already right.
fn root_start_tag(text: &str, root: &SvgRoot, keyword: Keyword) -> String {
    let original = text.get(root.span.clone()).unwrap_or_default();
    let namespace = keyword.namespace();
    let mut tag = match &root.openbadges_namespace {
        Some(declared) if declared == namespace => original.to_owned(),
        Some(_) => replace_openbadges_declaration(original, namespace),
        None => {
            let name_end = 1 + root.name.len();
            let (head, tail) = original
                .split_at_checked(name_end)
                .unwrap_or((original, ""));
            format!("{head} xmlns:openbadges=\"{namespace}\"{tail}")
        }
    };
    if root.self_closing {
        let open = tag.strip_suffix('>').unwrap_or(&tag);
        let open = open.strip_suffix('/').unwrap_or(open).trim_end();
        tag = format!("{open}>");
    }
    tag
}

/// Rewrites the value of `xmlns:openbadges` in a start tag (single or double quoted).
fn replace_openbadges_declaration(tag: &str, namespace: &str) -> String {
    let declaration = "xmlns:openbadges";
    let Some(at) = tag.find(declaration) else {
        return tag.to_owned();
    };
    let (head, rest) = tag.split_at(at + declaration.len());
    let value_start = rest.find(['"', '\'']);
    let quote = value_start.and_then(|start| rest.get(start..start + 1));
    let value_end = value_start.zip(quote).and_then(|(start, quote)| {
        rest.get(start + 1..)?
            .find(quote)
            .map(|end| start + 1 + end)
    });
    match (value_start, value_end) {
        (Some(start), Some(end)) => {
            let before = rest.get(..=start).unwrap_or_default();
            let after = rest.get(end..).unwrap_or_default();
            format!("{head}{before}{namespace}{after}")
        }
        _ => tag.to_owned(),
    }
}

fn badge_element(payload: &str, keyword: Keyword) -> String {
    let name = keyword.svg_element();
    let payload = trim_xml_whitespace(payload);
    match classify_payload(payload) {
        PayloadKind::Url | PayloadKind::Jws => {
            let verify = quick_xml::escape::escape(payload);
            format!("<{name} verify=\"{verify}\"/>")
        }
        PayloadKind::Json | PayloadKind::Unknown => format!("<{name}>{}</{name}>", cdata(payload)),
    }
}

/// CDATA that reads back exactly: `]]>` is split across two sections, and CR (which XML
/// readers turn into LF) is written as a character reference between sections.
fn cdata(text: &str) -> String {
    let body = text
        .replace("]]>", "]]]]><![CDATA[>")
        .replace('\r', "]]>&#13;<![CDATA[");
    format!("<![CDATA[{body}]]>")
}

/// XML 1.0 `Char` production (§2.2); Rust strings hold no surrogates.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::unbake::{unbake_any, PayloadSource};
    use proptest::prelude::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures");

    fn fixture(path: &str) -> Vec<u8> {
        let full = format!("{FIXTURES}/{path}");
        std::fs::read(&full).unwrap_or_else(|err| panic!("cannot read {full}: {err}"))
    }

    fn heart() -> Vec<u8> {
        fixture("ob-validator-core/images/public_domain_heart.png")
    }

    fn small_svg() -> Vec<u8> {
        fixture("ob-bakery-py/unbaked_example.svg")
    }

    fn chunk_kinds(png: &[u8]) -> Vec<String> {
        let file = walk_png(png, &Limits::default()).expect("walks");
        file.chunks
            .iter()
            .map(|c| String::from_utf8_lossy(&c.kind).into_owned())
            .collect()
    }

    fn non_badge_chunks(png: &[u8]) -> Vec<Vec<u8>> {
        let file = walk_png(png, &Limits::default()).expect("walks");
        file.chunks
            .iter()
            .filter(|c| !c.names_badge())
            .map(|c| c.raw.to_vec())
            .collect()
    }

    fn count(haystack: &[u8], needle: &str) -> usize {
        haystack
            .windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count()
    }

    #[test]
    fn a_baked_png_opens_in_the_png_crate_and_carries_the_payload_after_ihdr() {
        let payload = "{\"id\":\"https://issuer.example/a/1\",\"name\":\"Café ✓\"}";

        let baked = bake(&heart(), payload, Keyword::OpenBadges).expect("bakes");

        assert_eq!(
            chunk_kinds(&baked),
            ["IHDR", "iTXt", "bKGD", "pHYs", "IDAT", "IEND"]
        );
        let mut reader = png::Decoder::new(Cursor::new(&baked))
            .read_info()
            .expect("decodes");
        let mut pixels = vec![0; reader.output_buffer_size().expect("fits")];
        reader.next_frame(&mut pixels).expect("pixels decode");
        let texts = &reader.info().utf8_text;
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0].keyword, "openbadges");
        assert!(!texts[0].compressed);
        assert_eq!(texts[0].get_text().expect("text"), payload);
    }

    #[test]
    fn rebaking_replaces_every_old_badge_chunk_and_keeps_the_rest_byte_identical() {
        let cases = [
            ("3.0 iTXt after IDAT", "ob3-openbadgeslib/rs256-valid.png"),
            (
                "legacy tEXt",
                "ob-spec-examples/baking-edge-cases/backpack-valid-baked-tEXt.png",
            ),
            (
                "compressed iTXt",
                "ob-scenarios/baked-png-compressed-itxt/baked.png",
            ),
            (
                "many chunks",
                "ob-spec-examples/ob30/validator/simple-json.png",
            ),
        ];

        for (name, path) in cases {
            let original = fixture(path);
            let baked = bake(&original, "https://new.example/a", Keyword::OpenBadges)
                .unwrap_or_else(|err| panic!("case {name}: {err}"));

            let unbaked = unbake_any(&baked).unwrap_or_else(|err| panic!("case {name}: {err}"));
            assert_eq!(unbaked.payload, "https://new.example/a", "case {name}");
            assert_eq!(unbaked.keyword, "openbadges", "case {name}");
            assert_eq!(chunk_kinds(&baked)[1], "iTXt", "case {name}");
            assert_eq!(
                non_badge_chunks(&baked),
                non_badge_chunks(&original),
                "case {name}"
            );
        }
    }

    #[test]
    fn svg_baking_follows_the_spec_layout_for_each_payload_kind() {
        let jws = "eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln";
        let cases = [
            (
                "url",
                "https://a.example/1?x=1&y=2",
                "verify=\"https://a.example/1?x=1&amp;y=2\"/>",
                PayloadSource::VerifyAttribute,
            ),
            (
                "jws",
                jws,
                "verify=\"eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln\"/>",
                PayloadSource::VerifyAttribute,
            ),
            (
                "json",
                "{\"a\":\"<b>&\"}",
                "<![CDATA[{\"a\":\"<b>&\"}]]>",
                PayloadSource::Body,
            ),
        ];

        for (name, payload, markup, source) in cases {
            let baked = bake(&small_svg(), payload, Keyword::OpenBadges).expect("bakes");

            let text = String::from_utf8(baked.clone()).expect("utf-8");
            assert!(text.contains(markup), "case {name}: {text}");
            assert!(
                text.contains("xmlns:openbadges=\"http://openbadges.org\""),
                "case {name}"
            );
            let unbaked = unbake_any(&baked).expect("unbakes");
            assert_eq!(
                (unbaked.payload.as_str(), unbaked.source),
                (payload, source),
                "case {name}"
            );
        }
    }

    #[test]
    fn svg_element_goes_right_after_the_root_start_tag() {
        let baked = bake(&small_svg(), "{}", Keyword::OpenBadgeCredential).expect("bakes");

        let text = String::from_utf8(baked).expect("utf-8");
        let root_end = text.find('>').expect("root tag") + 1;
        assert!(
            text[root_end..].starts_with("<openbadges:credential><![CDATA[{}]]>"),
            "{text}"
        );
        assert!(
            text[..root_end].contains("xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"")
        );
    }

    #[test]
    fn rebaking_an_svg_replaces_the_old_element_and_namespace() {
        let cases = [
            (
                "2.0 cdata + verify",
                "ob-scenarios/baked-svg-hosted/baked.svg",
            ),
            (
                "3.0 appended, own xmlns",
                "ob3-openbadgeslib/rs256-valid.svg",
            ),
            (
                "3.0 with DOCTYPE",
                "ob-spec-examples/ob30/validator/simple-json.svg",
            ),
            ("2.0 single-quoted", "mozilla-bakery/baked.svg"),
        ];

        for (name, path) in cases {
            let baked = bake(
                &fixture(path),
                "{\"new\":true}",
                Keyword::OpenBadgeCredential,
            )
            .unwrap_or_else(|err| panic!("case {name}: {err}"));

            let unbaked = unbake_any(&baked).unwrap_or_else(|err| panic!("case {name}: {err}"));
            assert_eq!(unbaked.payload, "{\"new\":true}", "case {name}");
            assert_eq!(unbaked.keyword, "openbadges:credential", "case {name}");
            assert_eq!(count(&baked, "openbadges:assertion"), 0, "case {name}");
            assert_eq!(count(&baked, "http://openbadges.org"), 0, "case {name}");
        }
    }

    #[test]
    fn a_single_quoted_wrong_namespace_on_the_root_is_rewritten() {
        let svg = b"<svg xmlns:openbadges='http://openbadges.org' width='1'>\
                    <openbadges:assertion verify='https://old'/></svg>";

        let baked = bake(svg, "a.b.c", Keyword::OpenBadgeCredential).expect("bakes");

        let text = String::from_utf8(baked.clone()).expect("utf-8");
        assert_eq!(
            text,
            "<svg xmlns:openbadges='https://purl.imsglobal.org/ob/v3p0' width='1'>\
             <openbadges:credential verify=\"a.b.c\"/></svg>"
        );
        assert_eq!(
            unbake_any(&baked).map(|u| u.payload),
            Ok("a.b.c".to_owned())
        );
    }

    #[test]
    fn a_self_closing_svg_root_is_opened_to_hold_the_element() {
        let baked = bake(
            b"\xEF\xBB\xBF<svg xmlns='http://www.w3.org/2000/svg' />",
            "{}",
            Keyword::OpenBadges,
        )
        .expect("bakes");

        assert_eq!(
            baked,
            b"\xEF\xBB\xBF<svg xmlns:openbadges=\"http://openbadges.org\" \
              xmlns='http://www.w3.org/2000/svg'>\
              <openbadges:assertion><![CDATA[{}]]></openbadges:assertion></svg>"
                .to_vec()
        );
    }

    #[test]
    fn bake_refusals_have_their_own_codes() {
        let mut zero_width = heart();
        zero_width[16..20].copy_from_slice(&[0, 0, 0, 0]);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&zero_width[12..29]);
        zero_width[29..33].copy_from_slice(&hasher.finalize().to_be_bytes());
        let dtd = b"<!DOCTYPE svg [<!ENTITY a 'b'>]><svg/>".to_vec();
        let jpeg = fixture("ob-scenarios/image-badge-jpeg/issuer.example/badge.png");
        let cases: [(&str, Vec<u8>, &str, &str); 8] = [
            ("jpeg", jpeg, "{}", "not_an_image"),
            ("empty payload", heart(), "", "empty_payload"),
            ("blank payload", small_svg(), " \r\n", "empty_payload"),
            ("nul in png", heart(), "{\0}", "unrepresentable_payload"),
            (
                "control in svg",
                small_svg(),
                "{\u{1}}",
                "unrepresentable_payload",
            ),
            ("svg with entities", dtd, "{}", "invalid_image"),
            (
                "truncated png",
                heart()[..60].to_vec(),
                "{}",
                "invalid_image",
            ),
            ("zero-width png", zero_width, "{}", "invalid_png_header"),
        ];

        for (name, image, payload, code) in cases {
            let result = bake(&image, payload, Keyword::OpenBadges);
            assert_eq!(
                result.map(|_| ()).map_err(|e| e.code()),
                Err(code),
                "case {name}"
            );
        }
    }

    /// Payloads with the characters that trip bakers: CDATA ends, CR, quotes, non-ASCII.
    fn tricky_payload() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("]]>".to_owned()),
            Just("\r\n".to_owned()),
            Just("\r".to_owned()),
            Just("&amp;\"'<".to_owned()),
            Just("{\"a\":".to_owned()),
            "\\PC{0,12}",
            "[\u{80}-\u{10FFFF}]{1,4}",
        ];
        proptest::collection::vec(piece, 1..8).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn png_round_trip_is_byte_for_byte(payload in tricky_payload(), v3 in any::<bool>()) {
            prop_assume!(!payload.contains('\0') && !trim_xml_whitespace(&payload).is_empty());
            let keyword = if v3 { Keyword::OpenBadgeCredential } else { Keyword::OpenBadges };

            let baked = bake(&heart(), &payload, keyword).expect("bakes");

            let unbaked = unbake_any(&baked).expect("unbakes");
            prop_assert_eq!(&unbaked.payload, &payload);
            prop_assert_eq!(unbaked.keyword, keyword.png_keyword());
            prop_assert_eq!(non_badge_chunks(&baked), non_badge_chunks(&heart()));
        }

        #[test]
        fn svg_round_trip_keeps_all_but_surrounding_xml_whitespace(
            payload in tricky_payload(),
            v3 in any::<bool>(),
        ) {
            prop_assume!(payload.chars().all(is_xml_char));
            prop_assume!(!trim_xml_whitespace(&payload).is_empty());
            let keyword = if v3 { Keyword::OpenBadgeCredential } else { Keyword::OpenBadges };

            let baked = bake(&small_svg(), &payload, keyword).expect("bakes");

            let unbaked = unbake_any(&baked).expect("unbakes");
            prop_assert_eq!(unbaked.payload.as_str(), trim_xml_whitespace(&payload));
            prop_assert_eq!(unbaked.keyword, keyword.svg_element());
        }

        #[test]
        fn rebaking_a_baked_image_still_yields_one_payload(
            first in "\\PC{1,40}",
            second in "\\PC{1,40}",
        ) {
            prop_assume!(!trim_xml_whitespace(&first).is_empty());
            prop_assume!(!trim_xml_whitespace(&second).is_empty());

            let cases = [(heart(), second.as_str()), (small_svg(), trim_xml_whitespace(&second))];
            for (image, expected) in cases {
                let once = bake(&image, &first, Keyword::OpenBadges).expect("bakes");
                let twice = bake(&once, &second, Keyword::OpenBadgeCredential).expect("rebakes");

                let unbaked = unbake_any(&twice).expect("unbakes");
                prop_assert_eq!(unbaked.payload.as_str(), expected);
            }
        }

        #[test]
        fn bake_never_panics_on_arbitrary_images(
            image in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let _ = bake(&image, "{}", Keyword::OpenBadges);
        }
    }
}
