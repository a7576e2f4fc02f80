//! Fuzzes parsing: arbitrary bytes, read as UTF-8 lossily, as an uploaded or unbaked payload.
//! `parse_badge` must answer with a badge or an error code, never a panic; the recipients of
//! a parsed badge are then matched against a few confirmed addresses, as an import would.

#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::domain::assertion::parse_badge;
use satchel::domain::recipient::match_recipient;

/// Addresses the fixtures name, a case variant, a non-ASCII one and a blank one.
const CONFIRMED: [&str; 5] = [
    "recipient@example.org",
    "Recipient@Example.ORG",
    "test@example.com",
    "Ünïcode@Exämple.org",
    "  ",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(badge) = parse_badge(&text) else {
        return;
    };

    let identities = std::iter::once(&badge.recipient).chain(&badge.other_identities);
    for identity in identities {
        if let Ok(Some(found)) = match_recipient(identity, &CONFIRMED) {
            let _ = found.describe();
        }
    }
});
