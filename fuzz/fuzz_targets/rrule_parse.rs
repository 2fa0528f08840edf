//! RFC 5545 RRULE parsing (`sync_core::rrule::Rule::parse`). Properties: no panic; a parsed
//! rule prints to text that parses back to the same rule; normalising against a start date
//! is idempotent.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use odoo365_sync_core::rrule::Rule;

fuzz_target!(|text: &str| {
    let Ok(rule) = Rule::parse(text) else {
        return;
    };
    let printed = rule.to_string();
    let again = Rule::parse(&printed)
        .unwrap_or_else(|e| panic!("{printed:?} (from {text:?}) does not parse back: {e}"));
    assert_eq!(again, rule, "round trip through {printed:?}");
    let start = NaiveDate::from_ymd_opt(2026, 11, 23).expect("a date");
    let once = rule.clone().normalized(start);
    let twice = once.clone().normalized(start);
    assert_eq!(once, twice, "normalized is idempotent");
});
