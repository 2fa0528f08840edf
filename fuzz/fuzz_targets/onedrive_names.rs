//! OneDrive name rules and QuickXorHash text parsing (`odoo365_graph::names`,
//! `QuickXorHashText`). Properties: no panic; an accepted name is non-empty, at most 255
//! characters and has no reserved character; a parsed hash prints back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odoo365_graph::names::check_name;
use odoo365_graph::{quick_xor_hash, QuickXorHashText};

fuzz_target!(|data: &[u8]| {
    let _ = quick_xor_hash(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if check_name(text).is_ok() {
        assert!(!text.is_empty());
        assert!(text.chars().count() <= 255);
        assert!(!text
            .chars()
            .any(|c| "\"*:<>?/\\|".contains(c) || c.is_control()));
    }
    if let Ok(h) = text.parse::<QuickXorHashText>() {
        let b64 = quick_xor_hash(b"");
        let _ = b64;
        let hex: String = h.0.iter().map(|b| format!("{b:02x}")).collect();
        let back: QuickXorHashText = hex.parse().expect("hex of 20 bytes parses");
        assert_eq!(back.0, h.0);
    }
});
