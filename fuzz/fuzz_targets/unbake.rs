//! Fuzzes unbaking: arbitrary bytes as an uploaded image. `unbake_any` must answer with a
//! payload or an error code, never a panic, and a payload it returns must be non-empty. A
//! payload that is JSON or a JWS then goes through `parse_badge`, as an upload would.

#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::domain::assertion::parse_badge;
use satchel::domain::unbake::{classify_payload, detect, unbake_any, PayloadKind};

fuzz_target!(|data: &[u8]| {
    let _ = detect(data);
    let Ok(unbaked) = unbake_any(data) else {
        return;
    };

    assert!(
        !unbaked.payload.is_empty(),
        "unbake returned an empty payload"
    );
    if matches!(
        classify_payload(&unbaked.payload),
        PayloadKind::Json | PayloadKind::Jws
    ) {
        let _ = parse_badge(&unbaked.payload);
    }
});
