//! Mapping of raw service JSON to the canonical event (`sync_core::graph::from_graph_for_user`,
//! `sync_core::odoo::from_odoo`) and the time-zone tables. Properties: no panic; a mapped
//! event is already normalised (normalising again changes nothing), and mapping is a pure
//! function of its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odoo365_sync_core::{graph, odoo, tz};
use serde_json::Value;

const ME: &str = "me@example.com";

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if text.len() < 200 {
            let _ = tz::parse(text);
            if let Some(c) = tz::canonical(text) {
                let _ = tz::graph_name(&c);
            }
            let _ = tz::windows_to_iana(text);
            let _ = tz::iana_to_windows(text);
        }
    }
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for (side, mapped, again) in [
        (
            "graph",
            graph::from_graph_for_user(&v, ME),
            graph::from_graph_for_user(&v, ME),
        ),
        ("odoo", odoo::from_odoo(&v), odoo::from_odoo(&v)),
    ] {
        match (mapped, again) {
            (Ok(e), Ok(e2)) => {
                assert_eq!(e, e2, "{side} mapping is deterministic");
                assert_eq!(e.clone().normalized(), e, "{side} mapping is normalised");
                let _ = graph::to_graph(&e);
                let _ = odoo::to_odoo(&e);
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("{side} mapping is not deterministic"),
        }
    }
    let _ = graph::version(&v);
    let _ = graph::modified(&v);
    let _ = graph::ical_uid(&v);
    let _ = graph::original_start(&v);
    let _ = odoo::version(&v);
    let _ = odoo::modified(&v);
    let _ = odoo::rule_from_odoo(&v);
    let _ = graph::rule_from_graph(&v);
});
