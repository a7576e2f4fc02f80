//! Fuzzes baking: the first input byte picks the image (bit 0: PNG or SVG) and the keyword
//! (bit 1), the rest, read as UTF-8 lossily, is the payload. Baking a small valid image may
//! only refuse an empty payload or a character the format cannot carry; whatever it bakes
//! must unbake to the same payload under the same keyword (an SVG drops the surrounding XML
//! whitespace, as `bake` documents).

#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::domain::bake::{bake, BakeError, Keyword};
use satchel::domain::unbake::unbake_any;

/// The 21×19 heart from the validator-core fixtures (IHDR, bKGD, pHYs, IDAT, IEND).
const PNG: &[u8] = include_bytes!("../images/heart.png");
/// The unbaked example SVG from the openbadges-bakery fixtures.
const SVG: &[u8] = include_bytes!("../images/small.svg");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Svg,
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let format = if selector & 1 == 0 {
        Format::Png
    } else {
        Format::Svg
    };
    let keyword = if selector & 2 == 0 {
        Keyword::OpenBadges
    } else {
        Keyword::OpenBadgeCredential
    };
    let payload = String::from_utf8_lossy(rest);
    let image = match format {
        Format::Png => PNG,
        Format::Svg => SVG,
    };

    match bake(image, &payload, keyword) {
        Ok(baked) => check_round_trip(&baked, &payload, format, keyword),
        Err(error) => check_refusal(&error, &payload, format),
    }
});

fn check_round_trip(baked: &[u8], payload: &str, format: Format, keyword: Keyword) {
    let unbaked = unbake_any(baked)
        .unwrap_or_else(|error| panic!("a {format:?} bake does not unbake: {error}"));
    let (expected, keyword_name) = match format {
        Format::Png => (payload, keyword.png_keyword()),
        Format::Svg => (trim_xml_whitespace(payload), keyword.svg_element()),
    };
    assert_eq!(unbaked.payload, expected, "{format:?} payload changed");
    assert_eq!(unbaked.keyword, keyword_name, "{format:?} keyword changed");
}

/// The only refusals a valid image allows, each for its documented reason.
fn check_refusal(error: &BakeError, payload: &str, format: Format) {
    let allowed = match error {
        BakeError::EmptyPayload => trim_xml_whitespace(payload).is_empty(),
        BakeError::UnrepresentableChar { .. } => match format {
            Format::Png => payload.contains('\0'),
            Format::Svg => payload.chars().any(|c| !is_xml_char(c)),
        },
        _ => false,
    };
    assert!(allowed, "{format:?} bake refused a valid image: {error}");
}

/// XML ignores space, tab, CR and LF around text, and no other characters.
fn trim_xml_whitespace(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\r', '\n'])
}

/// XML 1.0 `Char` (§2.2), written independently of `bake`'s own check.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}
