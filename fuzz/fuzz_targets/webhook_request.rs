//! The webhook listener's request handling (`odoo365_engine::webhook::handle_request`):
//! arbitrary method, path, query and body. Properties: no panic; allocation bounded by the
//! input (libFuzzer's malloc limit catches the rest); a validation answer echoes exactly the
//! decoded `validationToken`; events come only from a 202 on a known route, at most 16,
//! each for that route's profile and only with the right `clientState`, each naming at most
//! `MAX_CHANGES_PER_EVENT` changes. The function has no store or network handle, so a
//! request cannot touch the store by construction.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use odoo365_engine::webhook::{handle_request, EventKind, Resource, MAX_CHANGES_PER_EVENT};

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    // Layout: selector byte, then query and body split at the first 0xff.
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (query, body) = match rest.iter().position(|b| *b == 0xff) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&rest[..0], rest),
    };
    let query = String::from_utf8_lossy(query);
    let path = match sel % 6 {
        0 => "/graph/p1/events".to_string(),
        1 => "/graph/p1/events/lifecycle".to_string(),
        2 => "/graph/p1/drive".to_string(),
        3 => "/graph/p2/events".to_string(),
        4 => String::from_utf8_lossy(body).into_owned(),
        _ => format!("/graph/p1/{}", String::from_utf8_lossy(&body[..body.len().min(8)])),
    };
    let method = if sel & 0x80 == 0 { "POST" } else { "GET" };
    let mut routes = HashMap::new();
    routes.insert(("p1".to_string(), Resource::Events), SECRET.to_string());
    routes.insert(("p1".to_string(), Resource::Drive), SECRET.to_string());
    let q = (sel & 0x40 != 0).then_some(query.as_ref());
    let reply = handle_request(&routes, method, &path, q, body);
    assert!([200, 202, 400, 404, 405, 413].contains(&reply.status));
    if let Some(text) = &reply.text {
        assert_eq!(reply.status, 200);
        let token = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "validationToken")
            .map(|(_, v)| v.into_owned());
        assert_eq!(Some(text), token.as_ref());
    }
    if !reply.events.is_empty() {
        assert_eq!(reply.status, 202);
        assert!(reply.events.len() <= 16);
        // Only the right clientState lets an event through (it may be JSON-escaped).
        let v: serde_json::Value = serde_json::from_slice(body).expect("a 202 with events parsed");
        assert!(v["value"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["clientState"] == SECRET)));
        for e in &reply.events {
            assert_eq!(e.profile_id, "p1");
            // The changes kept are bounded, and only change notifications name any.
            assert!(e.changes.len() <= MAX_CHANGES_PER_EVENT);
            assert!(e.kind == EventKind::Changed || e.changes.is_empty());
            if path.ends_with("/lifecycle") {
                assert_ne!(e.kind, EventKind::Changed);
            }
        }
    }
});
