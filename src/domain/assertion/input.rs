//! Turning the received text into a JSON object: byte order mark, nesting limit, compact JWS
//! decoding. The signature is not checked here; the verifier does that.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::ParseError;

/// Deeper JSON is refused before serde_json sees it (its own limit is 128).
pub const MAX_JSON_DEPTH: usize = 64;

/// What the received text turned out to be.
pub enum Input {
    Json(Map<String, Value>),
    /// A compact JWS: the compact text without whitespace, and its decoded payload.
    Jws {
        compact: String,
        payload: Map<String, Value>,
    },
}

/// Reads `text` as a JSON object or a compact JWS; `warnings` notes what was tolerated.
pub fn read_input(text: &str, warnings: &mut Vec<String>) -> Result<Input, ParseError> {
    let trimmed = strip_bom(text).trim();
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return parse_object(trimmed).map(Input::Json);
    }
    if looks_like_url(trimmed) {
        return Err(ParseError::UrlNotDocument {
            url: trimmed.to_owned(),
        });
    }
    if trimmed.contains('.') && trimmed.split('.').count() == 3 {
        return read_jws(trimmed, warnings);
    }
    Err(ParseError::NotJson {
        reason: "it is neither a JSON object nor a compact JWS".into(),
    })
}

/// Drops a leading UTF-8 byte order mark, which some issuers' servers prepend.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Parses a JSON object after checking its nesting depth on the raw text.
pub fn parse_object(text: &str) -> Result<Map<String, Value>, ParseError> {
    check_depth(text, MAX_JSON_DEPTH)?;
    let value: Value = serde_json::from_str(text).map_err(|e| ParseError::NotJson {
        reason: e.to_string(),
    })?;
    match value {
        Value::Object(object) => Ok(object),
        other => Err(ParseError::NotAnObject {
            found: json_kind(&other),
        }),
    }
}

/// A cheap scan of brackets outside strings; refuses nesting beyond `limit`.
fn check_depth(text: &str, limit: usize) -> Result<(), ParseError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in text.bytes() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return Err(ParseError::TooDeep { limit });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A name for the JSON type of `value`, for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn looks_like_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://"))
        && !text.chars().any(char::is_whitespace)
        && url::Url::parse(text).is_ok()
}

/// Decodes a compact JWS (RFC 7515 §7.1). Whitespace inside (line-wrapped tokens) is removed
/// with a warning; `=` padding on a segment is tolerated (field report 17).
fn read_jws(trimmed: &str, warnings: &mut Vec<String>) -> Result<Input, ParseError> {
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() != trimmed.len() {
        warnings.push("the JWS contained whitespace, which was removed".into());
    }
    let mut segments = compact.split('.');
    let (Some(header), Some(payload), Some(signature)) =
        (segments.next(), segments.next(), segments.next())
    else {
        return Err(jws_error("a compact JWS has three dot-separated parts"));
    };
    read_jws_header(header)?;
    decode_segment(signature, "signature")?;
    let payload_text = String::from_utf8(decode_segment(payload, "payload")?)
        .map_err(|_| jws_error("the payload is not UTF-8 text"))?;
    let payload = parse_object(&payload_text).map_err(|e| match e {
        ParseError::TooDeep { .. } => e,
        other => jws_error(&format!("the payload is not a JSON object ({other})")),
    })?;
    Ok(Input::Jws { compact, payload })
}

fn read_jws_header(segment: &str) -> Result<(), ParseError> {
    let bytes = decode_segment(segment, "header")?;
    let text = String::from_utf8(bytes).map_err(|_| jws_error("the header is not UTF-8"))?;
    let header = parse_object(&text).map_err(|_| jws_error("the header is not a JSON object"))?;
    match header.get("alg") {
        Some(Value::String(_)) => Ok(()),
        _ => Err(jws_error("the header has no `alg`")),
    }
}

/// base64url without padding, tolerating trailing `=`.
fn decode_segment(segment: &str, part: &str) -> Result<Vec<u8>, ParseError> {
    URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|_| jws_error(&format!("the {part} is not base64url")))
}

fn jws_error(reason: &str) -> ParseError {
    ParseError::BadJws {
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    #[test]
    fn depth_at_the_limit_is_accepted_and_one_more_is_refused() {
        let at_limit = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        let over = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH + 1),
            "]".repeat(MAX_JSON_DEPTH + 1)
        );

        assert_eq!(check_depth(&at_limit, MAX_JSON_DEPTH), Ok(()));
        assert_eq!(
            check_depth(&over, MAX_JSON_DEPTH),
            Err(ParseError::TooDeep {
                limit: MAX_JSON_DEPTH
            })
        );
    }

    #[test]
    fn brackets_inside_strings_do_not_count_towards_depth() {
        let text = format!(r#"{{"a":"{}\"{}"}}"#, "[".repeat(200), "{".repeat(200));

        assert_eq!(check_depth(&text, 2), Ok(()));
    }

    #[test]
    fn jws_segments_with_padding_and_line_breaks_are_decoded() {
        let header = format!("{}==", b64(r#"{"alg":"RS256"}"#));
        let payload = b64(r#"{"a":"é"}"#);
        let token = format!("  {header}.{}\n{}.c2ln\n", &payload[..4], &payload[4..]);
        let mut warnings = Vec::new();

        let input = read_input(&token, &mut warnings);

        let Ok(Input::Jws { compact, payload }) = input else {
            panic!("not read as a JWS");
        };
        assert!(!compact.contains(char::is_whitespace));
        assert_eq!(payload.get("a"), Some(&Value::String("é".into())));
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn malformed_jws_parts_are_named_in_the_error() {
        let good_header = b64(r#"{"alg":"RS256"}"#);
        let good_payload = b64(r#"{"a":1}"#);
        let cases = [
            (format!("{}.{good_payload}.c2ln", b64("{}")), "no `alg`"),
            (format!("!!.{good_payload}.c2ln"), "header is not base64url"),
            (
                format!("{good_header}.{}.c2ln", b64("[1]")),
                "payload is not a JSON object",
            ),
            (
                format!(
                    "{good_header}.{}.c2ln",
                    URL_SAFE_NO_PAD.encode([0xff, 0xfe])
                ),
                "UTF-8",
            ),
            (
                format!("{good_header}.{good_payload}.***"),
                "signature is not base64url",
            ),
        ];

        for (token, expected) in cases {
            let result = read_input(&token, &mut Vec::new());

            match result {
                Err(ParseError::BadJws { reason }) => {
                    assert!(reason.contains(expected), "{token}: {reason}")
                }
                Err(other) => panic!("{token}: wrong error {other:?}"),
                Ok(_) => panic!("{token}: accepted"),
            }
        }
    }

    #[test]
    fn a_url_is_reported_as_a_link_to_fetch() {
        let result = read_input("https://issuer.example/assertion.json\n", &mut Vec::new());

        assert!(matches!(result, Err(ParseError::UrlNotDocument { .. })));
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let result = read_input("\u{feff}{\"a\":1}", &mut Vec::new());

        assert!(matches!(result, Ok(Input::Json(_))));
    }
}
