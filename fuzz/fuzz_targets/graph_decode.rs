//! Microsoft Graph response decoding: events, drive items, delta pages, change
//! notifications and error bodies. Properties: no panic; decoding is a pure function (the
//! same bytes give the same answer, an error leaves nothing behind); a decoded event or
//! drive item serializes to JSON that decodes and serializes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odoo365_graph::error::{decode, ErrorBody};
use odoo365_graph::models::subscription::parse_notifications;
use odoo365_graph::models::{DriveItem, Event, Page};

fn round_trip<T>(what: &'static str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    // What the client writes back (serialize) decodes again and serializes the same: the
    // JSON it sends is stable. (Fields decoded but never sent make `value != again`.)
    let bytes = serde_json::to_vec(value).expect("a decoded value serializes");
    let again: T = decode(what, &bytes).expect("a serialized value decodes");
    let bytes2 = serde_json::to_vec(&again).expect("a decoded value serializes");
    assert_eq!(
        bytes, bytes2,
        "{what} is not stable in a serialize/decode round trip"
    );
}

fuzz_target!(|data: &[u8]| {
    match decode::<Event>("event", data) {
        Ok(event) => {
            let _ = event.is_removed();
            let _ = event.etag();
            let _ = event.join_url();
            round_trip("event", &event);
        }
        Err(e) => {
            // Deterministic: the same bytes fail the same way.
            let again = decode::<Event>("event", data).expect_err("decode is deterministic");
            assert_eq!(e.to_string(), again.to_string());
        }
    }
    if let Ok(item) = decode::<DriveItem>("drive item", data) {
        let _ = item.is_deleted();
        let _ = item.is_folder();
        let _ = item.quick_xor_hash();
        round_trip("drive item", &item);
    }
    if let Ok(page) = decode::<Page<Event>>("delta page", data) {
        for e in &page.value {
            let _ = e.is_removed();
        }
    }
    let _ = decode::<Page<DriveItem>>("delta page", data);
    if let Ok(n) = parse_notifications(data) {
        for c in &n.value {
            let _ = c.client_state_matches("secret");
        }
    }
    let body = ErrorBody::parse(data);
    let _ = body.codes();
    let _ = body.has_code("syncStateNotFound");
    let _ = body.request_id();
});
