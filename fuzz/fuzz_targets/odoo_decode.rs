//! Odoo answer decoding: JSON-RPC envelopes (result or error), HTTP error bodies of both
//! transports (JSON-2 and JSON-RPC), `Retry-After`, server versions and the records the
//! client reads. Properties: no panic; classifying an answer is a pure function (same
//! input, same error, nothing kept between calls).
#![no_main]

use libfuzzer_sys::fuzz_target;
use odoo365_odoo::wire::{http_error, jsonrpc_result, parse_retry_after, Call, WriteOrigin};
use odoo365_odoo::{
    Attachment, CalendarAttendee, CalendarEvent, CalendarRecurrence, ServerVersion, User,
};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // First two bytes pick the HTTP status, the third whether a write was sent and the
    // Retry-After header; the rest is the body.
    if data.len() >= 3 {
        let status = 100 + (u16::from_le_bytes([data[0], data[1]]) % 500);
        let body = &data[3..];
        let write = Call::write("calendar.event", "write", WriteOrigin::Microsoft);
        let read = Call::read("calendar.event", "search_read");
        let call = match data[2] % 3 {
            0 => None,
            1 => Some(&write),
            _ => Some(&read),
        };
        let header = std::str::from_utf8(body)
            .ok()
            .map(|s| s.char_indices().nth(40).map_or(s, |(i, _)| &s[..i]));
        let e1 = http_error(status, header, body, call);
        let e2 = http_error(status, header, body, call);
        assert_eq!(
            e1.to_string(),
            e2.to_string(),
            "http_error is deterministic"
        );
        let _ = e1.is_retryable();
        let _ = e1.fault();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_retry_after(Some(text));
        let _ = ServerVersion::parse(text);
        let _ = odoo365_odoo::values::parse_odoo_datetime(text);
    }
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let r1 = jsonrpc_result(value.clone()).map_err(|e| e.to_string());
    let r2 = jsonrpc_result(value.clone()).map_err(|e| e.to_string());
    assert_eq!(r1, r2, "jsonrpc_result is deterministic");
    let _ = odoo365_odoo::detect::version_from_json(&value);
    // Records as search_read returns them: one object or a list.
    let _ = serde_json::from_value::<CalendarEvent>(value.clone());
    let _ = serde_json::from_value::<Vec<CalendarEvent>>(value.clone());
    let _ = serde_json::from_value::<CalendarAttendee>(value.clone());
    let _ = serde_json::from_value::<CalendarRecurrence>(value.clone());
    let _ = serde_json::from_value::<Attachment>(value.clone());
    let _ = serde_json::from_value::<User>(value.clone());
});
