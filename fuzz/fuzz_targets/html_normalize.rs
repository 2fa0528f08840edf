//! The HTML normaliser (`sync_core::html`). Properties: no panic; `normalize` is
//! idempotent; text turned into HTML is already normal; output stays bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odoo365_sync_core::html::{from_text, normalize, to_text};

fuzz_target!(|input: &str| {
    let once = normalize(input);
    let twice = normalize(&once);
    assert_eq!(once, twice, "normalize is not idempotent on {input:?}");
    let _ = to_text(&once);
    let _ = to_text(input);
    let html = from_text(input);
    assert_eq!(
        normalize(&html),
        html,
        "from_text is not normal for {input:?}"
    );
});
