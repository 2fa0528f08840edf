//! Loop safety as a property: any canonical event written to either side and read back
//! is the same canonical event (same hash), so sync never mistakes its own write for a
//! user's edit. Where a side cannot hold an event, the writer says so with
//! `MapError::Unrepresentable` instead of writing something that reads back different.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use odoo365_sync_core::canonical::{Attendee, Privacy, Recurrence, Response, ShowAs};
use odoo365_sync_core::rrule::{Freq, RecurrenceEnd, Rule};
use odoo365_sync_core::{graph, odoo, Event, MapError, When};
use proptest::prelude::*;
use serde_json::json;

const ZONES: [&str; 6] = [
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Etc/UTC",
    "Pacific/Auckland",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9 ]{1,20}",
        Just("Ünïcödé 日本語 🗓️ שלום".to_owned()),
        Just("  padded  ".to_owned()),
        Just("a & b < c > d \"q\"".to_owned()),
    ]
}

fn html() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z ]{0,20}".prop_map(|t| format!("<p>{t}</p>")),
        Just("<div>One&nbsp;two</div><div><b>bold</b> <a href=\"https://x.example/?a=1&amp;b=2\">link</a></div>".to_owned()),
        Just("<p onclick=\"x()\">a<script>bad()</script></p><ul><li>1</li><li>2</li></ul>".to_owned()),
        Just("plain &amp; simple 😀".to_owned()),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    let end = prop_oneof![
        Just(RecurrenceEnd::Never),
        (1u32..900).prop_map(RecurrenceEnd::Count),
        (0i64..400).prop_map(|d| RecurrenceEnd::Until(
            NaiveDate::from_ymd_opt(2026, 6, 1).expect("date") + Duration::days(d)
        )),
    ];
    let days = prop::collection::btree_set(0u8..7, 1..4);
    (
        0u8..6,
        1u32..4,
        days,
        prop_oneof![Just(1i32), Just(2), Just(-1)],
        1u32..29,
        1u32..13,
        end,
    )
        .prop_map(|(kind, interval, days, pos, mday, month, end)| {
            let by_day: Vec<chrono::Weekday> = days
                .into_iter()
                .map(|d| chrono::Weekday::try_from(d).expect("0..7 is a weekday"))
                .collect();
            let mut r = Rule::simple(Freq::Daily, interval, end);
            match kind {
                0 => {}
                1 => {
                    r.freq = Freq::Weekly;
                    r.by_day = by_day;
                }
                2 => {
                    r.freq = Freq::Monthly;
                    r.by_month_day = Some(mday);
                }
                3 => {
                    r.freq = Freq::Monthly;
                    r.by_day = by_day;
                    r.by_set_pos = Some(pos);
                }
                4 => {
                    r.freq = Freq::Yearly;
                    r.by_month = Some(month);
                    r.by_month_day = Some(mday);
                }
                _ => {
                    r.freq = Freq::Yearly;
                    r.by_month = Some(month);
                    r.by_day = by_day;
                    r.by_set_pos = Some(pos);
                }
            }
            r
        })
}

fn event() -> impl Strategy<Value = Event> {
    let attendees = prop::collection::vec(
        (
            prop_oneof![
                Just("amy@example.com"),
                Just("Bob@Example.COM"),
                Just("zoë@example.org")
            ],
            prop_oneof![
                Just(Response::NeedsAction),
                Just(Response::Accepted),
                Just(Response::Tentative),
                Just(Response::Declined)
            ],
        ),
        0..3,
    );
    let categories = prop::collection::vec(
        prop_oneof![Just("Kunde"), Just("Blue"), Just("Projekt Ü")],
        0..3,
    );
    (
        (text(), text(), html()),
        // Minutes from 2026-01-01 00:00 UTC over a year, at 5-minute steps; lengths up to 3 days.
        (0i64..105_000, 1i64..864, any::<bool>(), 0usize..ZONES.len()),
        (
            attendees,
            categories,
            prop::option::of(prop_oneof![Just(0u32), Just(15), Just(1440)]),
        ),
        (
            any::<bool>(),
            prop_oneof![
                Just(Privacy::Public),
                Just(Privacy::Private),
                Just(Privacy::Confidential)
            ],
        ),
        (
            prop::option::of(rule()),
            prop::collection::btree_set(0i64..60, 0..3),
        ),
    )
        .prop_map(
            |(
                (title, location, description),
                (start5, len5, all_day, zone),
                (attendees, categories, reminder),
                (free, privacy),
                (rule, exdays),
            )| {
                let t0 = Utc
                    .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                    .single()
                    .expect("t0");
                let start = t0 + Duration::minutes(start5 * 5);
                let when = if all_day {
                    let d = start.date_naive();
                    When::AllDay {
                        start: d,
                        end: d + Duration::days(1 + len5 % 5),
                    }
                } else {
                    When::Timed {
                        start,
                        end: start + Duration::minutes(len5 * 5),
                    }
                };
                let mut e = Event::timed(&title, start, start);
                e.when = when;
                e.location = location;
                e.description = description;
                e.attendees = attendees
                    .into_iter()
                    .map(|(email, response)| Attendee {
                        email: email.to_owned(),
                        response,
                    })
                    .collect();
                e.categories = categories.into_iter().map(str::to_owned).collect();
                e.reminder_minutes = reminder;
                e.show_as = if free { ShowAs::Free } else { ShowAs::Busy };
                e.privacy = privacy;
                e.time_zone = Some(ZONES[zone].to_owned());
                let first = e.local_start_date();
                e.recurrence = rule.map(|rule| Recurrence {
                    rule,
                    exdates: exdays
                        .into_iter()
                        .map(|d| first + Duration::days(d + 1))
                        .collect::<BTreeSet<_>>(),
                });
                e.normalized()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn an_event_written_to_graph_reads_back_unchanged(e in event()) {
        match graph::to_graph(&e) {
            Ok(mut written) => {
                // Graph wraps the body and echoes the recurrence zone on read.
                let body = written["body"]["content"].as_str().unwrap_or_default().to_owned();
                written["body"]["content"] = json!(format!("<html><head><meta charset=\"utf-8\"></head><body>{body}</body></html>"));
                // The engine cancels exdates by deleting those occurrences; Graph then lists them.
                if let Some(rec) = &e.recurrence {
                    let cancelled: Vec<String> = rec.exdates.iter().map(|d| format!("OID.AAMkMaster.{d}")).collect();
                    written["cancelledOccurrences"] = json!(cancelled);
                }
                let back = graph::from_graph(&written).expect("what we write we can read");
                prop_assert_eq!(back.diff(&e), vec![], "{:#}", written);
                prop_assert_eq!(back.hash(), e.hash());
            }
            Err(MapError::Unrepresentable { .. }) => {
                let rule = e.recurrence.as_ref().map(|r| r.rule.clone());
                prop_assert!(rule.is_some_and(|r| r.by_set_pos.is_none() && !r.by_day.is_empty() && r.freq != Freq::Weekly));
            }
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }

    #[test]
    fn an_event_written_to_odoo_reads_back_unchanged(e in event()) {
        match odoo::to_odoo(&e) {
            Ok(mut written) => {
                written["user_id"] = json!(false);
                let back = odoo::from_odoo(&written).expect("what we write we can read");
                prop_assert_eq!(back.diff(&e), vec![], "{:#}", written);
                prop_assert_eq!(back.hash(), e.hash());
            }
            Err(MapError::Unrepresentable { .. }) => {
                let r = e.recurrence.as_ref().map(|r| r.rule.clone()).expect("only rules are refused");
                let start = e.local_start_date();
                use chrono::Datelike;
                let yearly_elsewhere = r.freq == Freq::Yearly
                    && (!r.by_day.is_empty() || r.by_month != Some(start.month()) || r.by_month_day != Some(start.day()));
                let monthly_multi = r.freq == Freq::Monthly && r.by_day.len() > 1;
                prop_assert!(yearly_elsewhere || monthly_multi, "{}", r);
            }
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }
}

/// Any JSON, shaped loosely like the records the services send, built from the keys the
/// mappers read and values of every type: the mappers answer `Ok` or `Err`, never panic.
fn wild_json() -> impl Strategy<Value = serde_json::Value> {
    let keys = prop_oneof![
        Just("subject"),
        Just("body"),
        Just("contentType"),
        Just("content"),
        Just("start"),
        Just("end"),
        Just("dateTime"),
        Just("timeZone"),
        Just("isAllDay"),
        Just("recurrence"),
        Just("pattern"),
        Just("range"),
        Just("type"),
        Just("interval"),
        Just("daysOfWeek"),
        Just("index"),
        Just("dayOfMonth"),
        Just("month"),
        Just("numberOfOccurrences"),
        Just("endDate"),
        Just("startDate"),
        Just("attendees"),
        Just("emailAddress"),
        Just("address"),
        Just("status"),
        Just("response"),
        Just("cancelledOccurrences"),
        Just("isOnlineMeeting"),
        Just("onlineMeetingProvider"),
        Just("name"),
        Just("stop"),
        Just("allday"),
        Just("start_date"),
        Just("stop_date"),
        Just("attendee_ids"),
        Just("alarm_ids"),
        Just("categ_ids"),
        Just("recurrency"),
        Just("rrule"),
        Just("rrule_type"),
        Just("end_type"),
        Just("until"),
        Just("month_by"),
        Just("byday"),
        Just("weekday"),
        Just("event_tz"),
        Just("privacy"),
        Just("description"),
        Just("email"),
        Just("state"),
        Just("duration_minutes"),
        Just("alarm_type"),
        Just("user_id"),
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (-1e12f64..1e12).prop_map(serde_json::Value::from),
        prop_oneof![
            Just("2026-03-17T09:00:00".to_owned()),
            Just("2026-03-17 09:00:00".to_owned()),
            Just("2026-02-30".to_owned()),
            Just("+262142-12-31".to_owned()),
            Just("+262142-12-31T23:00:00".to_owned()),
            Just("+262142-12-31 23:00:00".to_owned()),
            Just("W. Europe Standard Time".to_owned()),
            Just("weekly".to_owned()),
            Just("relativeYearly".to_owned()),
            Just("FREQ=MONTHLY;BYDAY=日".to_owned()),
            "\\PC{0,12}",
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys.clone(), inner, 0..8).prop_map(|m| {
                serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_mappers_never_panic_on_any_record(v in wild_json()) {
        for e in [graph::from_graph(&v), graph::from_graph_for_user(&v, "me@example.com"), odoo::from_odoo(&v), odoo::from_odoo_occurrence(&v)].into_iter().flatten() {
            {
                // And whatever was read can be expanded and written without panicking.
                let _ = graph::to_graph(&e);
                let _ = odoo::to_odoo(&e);
                let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("t0");
                let _ = odoo365_sync_core::expand::occurrences(&e, t0, t0 + Duration::days(800));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn expanding_any_series_never_panics_stays_under_the_cap_and_skips_exdates(
        e in event(),
        huge_interval in prop::option::weighted(0.2, prop_oneof![Just(u32::MAX), 1000u32..100_000]),
    ) {
        let mut e = e;
        if let (Some(rec), Some(n)) = (e.recurrence.as_mut(), huge_interval) {
            rec.rule.interval = n;
        }
        let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().expect("t0");
        if let Ok(list) = odoo365_sync_core::expand::occurrences(&e, t0, t0 + Duration::days(3650)) {
            prop_assert!(list.len() <= odoo365_sync_core::rrule::COUNT_MAX as usize);
            if let Some(rec) = &e.recurrence {
                let zone = e.time_zone.as_deref().and_then(odoo365_sync_core::tz::parse).unwrap_or(chrono_tz::UTC);
                for o in &list {
                    let local = match o.when {
                        When::AllDay { start, .. } => start,
                        When::Timed { start, .. } => start.with_timezone(&zone).date_naive(),
                    };
                    prop_assert!(!rec.exdates.contains(&local));
                }
                prop_assert!(list.windows(2).all(|w| w[0].original_start < w[1].original_start));
            }
        }
    }
}
