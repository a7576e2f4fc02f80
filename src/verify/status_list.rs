//! Open Badges 3.0 revocation through a W3C status list (`BitstringStatusListEntry`, and the
//! older `StatusList2021Entry` of the same shape): the issuer publishes a credential whose
//! `encodedList` is a GZIP-compressed bitstring (multibase base64url, `u` prefix); the bit
//! at the credential's `statusListIndex`, counted from the left-most bit of the first byte,
//! is set when the credential is revoked.
//!
//! The list is fetched like any linked document (bounded, cached for the run). A list that
//! cannot be fetched leaves the credential `unreachable`, never revoked.

use std::io::Read;

use base64::Engine;
use flate2::read::GzDecoder;
use serde_json::Value;

use crate::domain::assertion::CredentialStatus;

use super::{Run, Status};

/// The largest decompressed list read (the W3C minimum list is 16 KiB; 16 MiB is 128 M
/// entries).
const MAX_LIST_BYTES: u64 = 16 * 1024 * 1024;

/// Why a status list could not be read.
#[derive(Debug, PartialEq, Eq)]
enum ListError {
    NotJson,
    NoEncodedList,
    NotBase64,
    NotGzip,
    TooLarge,
}

impl ListError {
    fn message(&self) -> &'static str {
        match self {
            ListError::NotJson => "it is not a JSON credential",
            ListError::NoEncodedList => "it has no credentialSubject.encodedList",
            ListError::NotBase64 => "its encodedList is not multibase base64url",
            ListError::NotGzip => "its encodedList does not decompress (GZIP)",
            ListError::TooLarge => "its list is larger than 16 MiB",
        }
    }
}

impl Run<'_> {
    /// Checks the credential's status entry when it is a status list for revocation; other
    /// kinds are noted and left unchecked.
    pub(super) async fn check_status_list(&mut self, status: &CredentialStatus) {
        let kind = status.status_type.as_deref().unwrap_or_default();
        if !matches!(kind, "BitstringStatusListEntry" | "StatusList2021Entry") {
            let message = format!(
                "The credential's status ({}) is of a kind Satchel does not read yet, so \
                 whether it was revoked is not known.",
                if kind.is_empty() { "no type" } else { kind }
            );
            self.checks
                .warn("revocation", "status_kind_not_supported", message);
            return;
        }
        if status.purpose.as_deref() != Some("revocation") {
            let message = format!(
                "The credential's status list is for {}, not revocation; it was not read.",
                status.purpose.as_deref().unwrap_or("an unnamed purpose")
            );
            self.checks
                .warn("revocation", "status_purpose_not_read", message);
            return;
        }
        let (Some(url), Some(index)) = (status.list_credential.clone(), status.list_index) else {
            let message = "The credential's status entry names no list or no index.";
            self.fail(
                "revocation",
                "status_entry_malformed",
                Status::Invalid,
                message,
            );
            return;
        };
        let fetched = match self.verifier.docs.get(&url).await {
            Ok(fetched) => fetched,
            Err(error) => {
                let message = format!(
                    "The issuer's status list could not be fetched, so whether the credential \
                     was revoked is not known: {error}"
                );
                self.fail("revocation", error.code(), Status::Unreachable, message);
                return;
            }
        };
        // TODO: keep the decoded list for the run, because every credential naming the same
        // list decodes it again (up to 16 MiB each); the fetch itself is shared already.
        let bits = match decode_list(fetched.text().unwrap_or_default()) {
            Ok(bits) => bits,
            Err(error) => {
                let message = format!(
                    "The issuer's status list at {url} could not be read: {}.",
                    error.message()
                );
                self.fail(
                    "revocation",
                    "status_list_unreadable",
                    Status::Invalid,
                    message,
                );
                return;
            }
        };
        match bit(&bits, index) {
            Some(true) => self.revoked(
                "The issuer's status list marks this credential revoked.",
                &url,
                None,
            ),
            Some(false) => self.checks.pass(
                "revocation",
                format!("The issuer's status list at {url} does not mark it revoked."),
            ),
            None => {
                let message = format!(
                    "The credential's status index {index} lies beyond the issuer's list ({} \
                     entries).",
                    bits.len() * 8
                );
                self.fail(
                    "revocation",
                    "status_index_out_of_range",
                    Status::Invalid,
                    message,
                );
            }
        }
    }
}

/// The bitstring of a status list credential (JSON).
fn decode_list(text: &str) -> Result<Vec<u8>, ListError> {
    let json: Value = serde_json::from_str(text.trim()).map_err(|_| ListError::NotJson)?;
    let subject = match json.get("credentialSubject") {
        Some(Value::Array(items)) => items.first(),
        other => other,
    };
    let encoded = subject
        .and_then(|s| s.get("encodedList"))
        .and_then(Value::as_str)
        .ok_or(ListError::NoEncodedList)?;
    // Multibase base64url carries a `u` prefix; StatusList2021 lists often have none.
    let encoded = encoded
        .strip_prefix('u')
        .unwrap_or(encoded)
        .trim_end_matches('=');
    let compressed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| ListError::NotBase64)?;
    let mut bits = Vec::new();
    GzDecoder::new(compressed.as_slice())
        .take(MAX_LIST_BYTES + 1)
        .read_to_end(&mut bits)
        .map_err(|_| ListError::NotGzip)?;
    if bits.len() as u64 > MAX_LIST_BYTES {
        return Err(ListError::TooLarge);
    }
    Ok(bits)
}

/// Bit `index` of the list, the first being the left-most bit of the first byte.
fn bit(bits: &[u8], index: u64) -> Option<bool> {
    let byte = bits.get(usize::try_from(index / 8).ok()?)?;
    Some(byte & (0x80 >> (index % 8)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn encoded(bits: &[u8]) -> String {
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bits).expect("compress");
        let bytes = gz.finish().expect("finish");
        format!(
            "u{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        )
    }

    #[test]
    fn bits_count_from_the_left_of_the_first_byte() {
        let list = [0b1000_0000, 0b0000_0001];
        assert_eq!(bit(&list, 0), Some(true));
        assert_eq!(bit(&list, 1), Some(false));
        assert_eq!(bit(&list, 15), Some(true));
        assert_eq!(bit(&list, 16), None);
    }

    #[test]
    fn the_shared_test_list_has_only_bit_23_set() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/ob-spec-examples/ob30/validator/bit-string-list/testlist"
        );
        let bits = decode_list(&std::fs::read_to_string(path).expect("fixture")).expect("reads");
        let set: Vec<u64> = (0..bits.len() as u64 * 8)
            .filter(|i| bit(&bits, *i) == Some(true))
            .collect();
        assert_eq!(set, [23]);
    }

    #[test]
    fn malformed_lists_get_their_own_errors() {
        let list =
            |encoded: &str| format!(r#"{{"credentialSubject":{{"encodedList":"{encoded}"}}}}"#);
        assert_eq!(decode_list("not json"), Err(ListError::NotJson));
        assert_eq!(decode_list("{}"), Err(ListError::NoEncodedList));
        assert_eq!(decode_list(&list("u***")), Err(ListError::NotBase64));
        assert_eq!(decode_list(&list("uAAAA")), Err(ListError::NotGzip));
        let huge = vec![0u8; MAX_LIST_BYTES as usize + 1];
        assert_eq!(
            decode_list(&list(&encoded(&huge))),
            Err(ListError::TooLarge)
        );
        assert_eq!(decode_list(&list(&encoded(&[7]))), Ok(vec![7]));
    }
}
