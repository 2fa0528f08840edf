//! Mapping edge cases across both sides: each test reads or writes real wire shapes and
//! checks the canonical form, and the loop-safety round trips (a value written to one
//! side reads back equal, so sync never sees its own write as a change).

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};

use crate::canonical::{MeetingProvider, Privacy, Response, ShowAs, When};
use crate::error::MapError;
use crate::graph::{self, from_graph, to_graph, to_graph_patch};
use crate::odoo::{self, from_odoo, to_odoo};
use crate::rrule::RecurrenceEnd;
use crate::Field;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn graph_event(extra: Value) -> Value {
    let mut base = json!({
        "id": "AAMk1",
        "changeKey": "ck1",
        "iCalUId": "040000008200E00074C5B7101A82E008",
        "subject": "Review",
        "body": {"contentType": "html", "content": "<html><head></head><body><div>Agenda</div></body></html>"},
        "start": {"dateTime": "2026-03-17T09:00:00.0000000", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-03-17T10:00:00.0000000", "timeZone": "W. Europe Standard Time"},
        "isAllDay": false,
        "showAs": "busy",
        "sensitivity": "normal",
        "organizer": {"emailAddress": {"name": "Me", "address": "me@example.com"}},
        "isOrganizer": true,
        "attendees": [],
        "categories": [],
        "isReminderOn": true,
        "reminderMinutesBeforeStart": 15,
        "isOnlineMeeting": false,
        "onlineMeetingProvider": "unknown",
        "recurrence": null,
        "location": {"displayName": ""},
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

fn odoo_record(extra: Value) -> Value {
    let mut base = json!({
        "id": 42,
        "name": "Review",
        "start": "2026-03-17 08:00:00",
        "stop": "2026-03-17 09:00:00",
        "allday": false,
        "start_date": false,
        "stop_date": false,
        "duration": 1.0,
        "description": "<p>Agenda</p>",
        "location": false,
        "user_id": {"id": 2, "email": "me@example.com"},
        "attendee_ids": [{"email": "me@example.com", "state": "accepted"}],
        "privacy": "public",
        "show_as": "busy",
        "alarm_ids": [{"alarm_type": "notification", "duration_minutes": 15}],
        "categ_ids": [],
        "videocall_location": false,
        "recurrency": false,
        "event_tz": false,
        "write_date": "2026-03-01 10:00:00",
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

#[test]
fn the_same_meeting_read_from_outlook_and_from_odoo_is_the_same_canonical_event() {
    let g = from_graph(&graph_event(json!({}))).unwrap();
    let o = from_odoo(&odoo_record(json!({}))).unwrap();
    assert_eq!(g.diff(&o), vec![]);
    assert_eq!(g.hash(), o.hash());
    assert_eq!(
        g.when,
        When::Timed {
            start: Utc.with_ymd_and_hms(2026, 3, 17, 8, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 3, 17, 9, 0, 0).unwrap(),
        }
    );
}

#[test]
fn an_event_written_to_either_side_reads_back_with_the_same_hash() {
    let rich = graph_event(json!({
        "subject": "Planning 🗓️ — Ünïcödé 日本語 שלום",
        "body": {"contentType": "html", "content": "<p>Hi <b>all</b> &amp; welcome</p><script>x()</script>"},
        "attendees": [
            {"type": "required", "emailAddress": {"address": "Amy@Example.com", "name": "Amy"}, "status": {"response": "accepted"}},
            {"type": "optional", "emailAddress": {"address": "bob@example.com"}, "status": {"response": "tentativelyAccepted"}},
            {"type": "required", "emailAddress": {"address": "cy@example.com"}, "status": {"response": "none"}},
        ],
        "categories": ["Kunde", "Blue category"],
        "sensitivity": "confidential",
        "showAs": "free",
        "location": {"displayName": "Raum 3 · Zürich"},
        "isOnlineMeeting": true,
        "onlineMeetingProvider": "teamsForBusiness",
        "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"},
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["tuesday", "thursday"], "firstDayOfWeek": "sunday", "month": 0, "dayOfMonth": 0, "index": "first"},
            "range": {"type": "numbered", "startDate": "2026-03-17", "numberOfOccurrences": 10, "recurrenceTimeZone": "W. Europe Standard Time"}
        },
    }));
    let canonical = from_graph(&rich).unwrap();
    assert_eq!(canonical.title, "Planning 🗓️ — Ünïcödé 日本語 שלום");
    assert_eq!(canonical.description, "<p>Hi <b>all</b> &amp; welcome</p>");

    // Through Odoo and back.
    let mut as_odoo = to_odoo(&canonical).unwrap();
    // Odoo reads the organizer from user_id and lists them as an attendee.
    as_odoo["user_id"] = json!({"id": 2, "email": "me@example.com"});
    let from_o = from_odoo(&as_odoo).unwrap();
    assert_eq!(canonical.diff(&from_o), vec![], "{as_odoo:#}");
    assert_eq!(from_o.hash(), canonical.hash());

    // Through Graph and back (Graph adds its own wrapping and read-only parts).
    let mut as_graph = to_graph(&canonical).unwrap();
    as_graph["body"]["content"] = json!(format!(
        "<html><head><meta charset=\"utf-8\"></head><body>{}</body></html>",
        as_graph["body"]["content"].as_str().unwrap()
    ));
    as_graph["organizer"] = json!({"emailAddress": {"address": "me@example.com"}});
    as_graph["onlineMeeting"] = rich["onlineMeeting"].clone();
    let from_g = from_graph(&as_graph).unwrap();
    assert_eq!(canonical.diff(&from_g), vec![], "{as_graph:#}");
}

#[test]
fn a_time_in_the_spring_forward_gap_moves_forward_and_a_repeated_hour_takes_the_first() {
    let gap = graph_event(json!({
        "start": {"dateTime": "2026-03-29T02:30:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-03-29T04:00:00", "timeZone": "W. Europe Standard Time"},
    }));
    let e = from_graph(&gap).unwrap();
    // 02:30 does not exist in Berlin that night; it is 03:30 CEST = 01:30 UTC.
    assert!(
        matches!(e.when, When::Timed { start, .. } if start == Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap())
    );
    let repeated = graph_event(json!({
        "start": {"dateTime": "2026-10-25T02:30:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-10-25T03:30:00", "timeZone": "Europe/Berlin"},
    }));
    let e = from_graph(&repeated).unwrap();
    // The first 02:30 is still CEST (+2): 00:30 UTC.
    assert!(
        matches!(e.when, When::Timed { start, .. } if start == Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap())
    );
}

#[test]
fn the_second_instance_of_a_repeated_hour_is_written_in_utc_and_reads_back_exactly() {
    // 01:30 UTC on 25 October 2026 is the second 02:30 in Berlin (CET, after fall-back).
    let start = Utc.with_ymd_and_hms(2026, 10, 25, 1, 30, 0).unwrap();
    let mut e = crate::Event::timed("Night shift", start, start + chrono::Duration::hours(1));
    e.original_time_zone = Some("Europe/Berlin".into());
    let e = e.normalized();
    let g = to_graph(&e).unwrap();
    assert_eq!(
        g["start"],
        json!({"dateTime": "2026-10-25T01:30:00", "timeZone": "UTC"})
    );
    assert_eq!(from_graph(&g).unwrap().when, e.when);
    // An unambiguous time keeps the event's own zone.
    let mut day = crate::Event::timed(
        "Day",
        start + chrono::Duration::hours(8),
        start + chrono::Duration::hours(9),
    );
    day.original_time_zone = Some("Europe/Berlin".into());
    let g = to_graph(&day.normalized()).unwrap();
    assert_eq!(
        g["start"],
        json!({"dateTime": "2026-10-25T10:30:00", "timeZone": "W. Europe Standard Time"})
    );
}

#[test]
fn a_weekly_series_across_the_dst_change_keeps_its_wall_clock_time_in_its_zone() {
    let odoo = odoo_record(json!({
        "start": "2026-03-24 08:00:00", // 09:00 CET, before the change on 29 March
        "stop": "2026-03-24 09:00:00",
        "recurrency": true,
        "event_tz": "Europe/Amsterdam",
        "rrule_type": "weekly", "interval": 1, "end_type": "count", "count": 4,
        "mon": false, "tue": true, "wed": false, "thu": false, "fri": false, "sat": false, "sun": false,
    }));
    let e = from_odoo(&odoo).unwrap();
    assert_eq!(
        e.time_zone.as_deref(),
        Some("Europe/Berlin"),
        "Amsterdam shares Berlin's Windows zone"
    );
    let g = to_graph(&e).unwrap();
    assert_eq!(
        g["start"],
        json!({"dateTime": "2026-03-24T09:00:00", "timeZone": "W. Europe Standard Time"})
    );
    assert_eq!(
        g["recurrence"]["range"]["recurrenceTimeZone"],
        "W. Europe Standard Time"
    );
    assert_eq!(g["recurrence"]["range"]["startDate"], "2026-03-24");
    // The zone is what keeps later occurrences at 09:00 local (07:00 UTC after the change).
    let back = from_graph(&g).unwrap();
    assert_eq!(back.diff(&e), vec![]);
}

#[test]
fn an_all_day_event_keeps_its_dates_whatever_zone_graph_answers_in() {
    for zone in [
        "UTC",
        "Tokyo Standard Time",
        "Hawaiian Standard Time",
        "Pacific/Auckland",
    ] {
        let g = graph_event(json!({
            "isAllDay": true,
            "start": {"dateTime": "2026-05-01T00:00:00.0000000", "timeZone": zone},
            "end": {"dateTime": "2026-05-03T00:00:00.0000000", "timeZone": zone},
        }));
        let e = from_graph(&g).unwrap();
        assert_eq!(
            e.when,
            When::AllDay {
                start: d(2026, 5, 1),
                end: d(2026, 5, 3)
            },
            "{zone}"
        );
    }
    // Odoo's stop date is inclusive; start/stop hold 08:00/18:00 placeholders.
    let o = odoo_record(json!({
        "allday": true, "start_date": "2026-05-01", "stop_date": "2026-05-02",
        "start": "2026-05-01 08:00:00", "stop": "2026-05-02 18:00:00",
    }));
    let e = from_odoo(&o).unwrap();
    assert_eq!(
        e.when,
        When::AllDay {
            start: d(2026, 5, 1),
            end: d(2026, 5, 3)
        }
    );
    let written = to_odoo(&e).unwrap();
    assert_eq!(written["stop_date"], "2026-05-02");
    assert_eq!(written["allday"], true);
    let g = to_graph(&e).unwrap();
    assert_eq!(g["start"]["dateTime"], "2026-05-01T00:00:00");
    assert_eq!(g["end"]["dateTime"], "2026-05-03T00:00:00");
    assert_eq!(g["isAllDay"], true);
}

#[test]
fn a_one_day_all_day_event_is_one_day_on_both_sides() {
    let o =
        odoo_record(json!({"allday": true, "start_date": "2026-05-01", "stop_date": "2026-05-01"}));
    let e = from_odoo(&o).unwrap();
    assert_eq!(
        e.when,
        When::AllDay {
            start: d(2026, 5, 1),
            end: d(2026, 5, 2)
        }
    );
    assert_eq!(to_odoo(&e).unwrap()["stop_date"], "2026-05-01");
}

/// Every Graph pattern type and range type, to canonical RRULE and back to the same
/// Graph pattern.
#[test]
fn every_graph_recurrence_pattern_maps_to_an_rrule_and_back() {
    let cases = [
        (
            json!({"type": "daily", "interval": 3}),
            json!({"type": "noEnd"}),
            "FREQ=DAILY;INTERVAL=3",
        ),
        (
            json!({"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "friday"], "firstDayOfWeek": "sunday"}),
            json!({"type": "numbered", "numberOfOccurrences": 8}),
            "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,FR;COUNT=8",
        ),
        (
            json!({"type": "absoluteMonthly", "interval": 2, "dayOfMonth": 17}),
            json!({"type": "endDate", "endDate": "2026-12-31"}),
            "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=17;UNTIL=20261231",
        ),
        (
            json!({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["tuesday"], "index": "third"}),
            json!({"type": "noEnd"}),
            "FREQ=MONTHLY;INTERVAL=1;BYDAY=TU;BYSETPOS=3",
        ),
        (
            json!({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["saturday", "sunday"], "index": "last"}),
            json!({"type": "noEnd"}),
            "FREQ=MONTHLY;INTERVAL=1;BYDAY=SA,SU;BYSETPOS=-1",
        ),
        (
            json!({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 17, "month": 3}),
            json!({"type": "numbered", "numberOfOccurrences": 5}),
            "FREQ=YEARLY;INTERVAL=1;BYMONTH=3;BYMONTHDAY=17;COUNT=5",
        ),
        (
            json!({"type": "relativeYearly", "interval": 1, "daysOfWeek": ["friday"], "month": 3, "index": "last"}),
            json!({"type": "endDate", "endDate": "2030-03-31"}),
            "FREQ=YEARLY;INTERVAL=1;BYMONTH=3;BYDAY=FR;BYSETPOS=-1;UNTIL=20300331",
        ),
    ];
    for (pattern, range, rrule) in cases {
        let mut range = range;
        range["startDate"] = json!("2026-03-17");
        range["recurrenceTimeZone"] = json!("W. Europe Standard Time");
        let g = graph_event(json!({"recurrence": {"pattern": pattern, "range": range}}));
        let e = from_graph(&g).unwrap();
        let rec = e.recurrence.clone().unwrap();
        assert_eq!(rec.rule.to_string(), rrule);
        let back = to_graph_patch(&e, &[Field::Recurrence]).unwrap();
        let r = &back["recurrence"];
        for key in [
            "type",
            "interval",
            "daysOfWeek",
            "dayOfMonth",
            "month",
            "index",
        ] {
            if let Some(v) = pattern.get(key) {
                assert_eq!(&r["pattern"][key], v, "{rrule}: {key}");
            }
        }
        for key in [
            "type",
            "numberOfOccurrences",
            "endDate",
            "startDate",
            "recurrenceTimeZone",
        ] {
            assert_eq!(r["range"].get(key), range.get(key), "{rrule}: range {key}");
        }
        assert_eq!(
            from_graph(&g).unwrap(),
            from_graph(&graph_event(json!({"recurrence": r}))).unwrap()
        );
    }
}

#[test]
fn graph_zero_placeholders_in_a_recurrence_response_are_ignored() {
    let g = graph_event(json!({"recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "month": 0, "dayOfMonth": 0, "daysOfWeek": ["tuesday"], "firstDayOfWeek": "sunday", "index": "first"},
        "range": {"type": "noEnd", "startDate": "2026-03-17", "endDate": "0001-01-01", "numberOfOccurrences": 0, "recurrenceTimeZone": "W. Europe Standard Time"}
    }}));
    assert_eq!(
        from_graph(&g).unwrap().recurrence.unwrap().rule.to_string(),
        "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU"
    );
}

#[test]
fn odoo_recurrence_fields_and_graph_patterns_agree_for_every_rule_odoo_can_hold() {
    let cases = [
        (
            json!({"rrule_type": "daily", "interval": 2, "end_type": "forever"}),
            json!({"type": "daily", "interval": 2}),
            json!({"type": "noEnd"}),
        ),
        (
            json!({"rrule_type": "weekly", "interval": 1, "end_type": "count", "count": 6, "tue": true, "thu": true}),
            json!({"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday", "thursday"]}),
            json!({"type": "numbered", "numberOfOccurrences": 6}),
        ),
        (
            json!({"rrule_type": "monthly", "interval": 1, "end_type": "end_date", "until": "2026-12-31", "month_by": "date", "day": 17}),
            json!({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 17}),
            json!({"type": "endDate", "endDate": "2026-12-31"}),
        ),
        (
            json!({"rrule_type": "monthly", "interval": 1, "end_type": "forever", "month_by": "day", "byday": "-1", "weekday": "TUE"}),
            json!({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["tuesday"], "index": "last"}),
            json!({"type": "noEnd"}),
        ),
        (
            json!({"rrule_type": "yearly", "interval": 1, "end_type": "count", "count": 3}),
            json!({"type": "absoluteYearly", "interval": 1, "month": 3, "dayOfMonth": 17}),
            json!({"type": "numbered", "numberOfOccurrences": 3}),
        ),
    ];
    for (fields, pattern, mut range) in cases {
        let mut extra = fields.clone();
        extra["recurrency"] = json!(true);
        extra["event_tz"] = json!("Europe/Berlin");
        let from_o = from_odoo(&odoo_record(extra)).unwrap();
        range["startDate"] = json!("2026-03-17");
        let from_g = from_graph(&graph_event(
            json!({"recurrence": {"pattern": pattern, "range": range}}),
        ))
        .unwrap();
        assert_eq!(from_o.diff(&from_g), vec![], "{fields}");
        // And what we write to Odoo reads back as the same rule.
        let mut written = to_odoo(&from_g).unwrap();
        written["user_id"] = json!({"email": "me@example.com"});
        assert_eq!(
            from_odoo(&written).unwrap().diff(&from_g),
            vec![],
            "{written:#}"
        );
    }
}

#[test]
fn an_odoo_rrule_text_is_read_when_the_structured_fields_are_absent() {
    let o = odoo_record(
        json!({"recurrency": true, "event_tz": "Europe/Berlin", "rrule": "DTSTART:20260317T080000\nRRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;COUNT=4"}),
    );
    let rule = from_odoo(&o).unwrap().recurrence.unwrap().rule;
    assert_eq!(rule.end, RecurrenceEnd::Count(4));
}

#[test]
fn rules_one_side_cannot_hold_are_refused_with_a_reason_not_approximated() {
    let g = graph_event(json!({"recurrence": {
        "pattern": {"type": "relativeYearly", "interval": 1, "daysOfWeek": ["friday"], "month": 3, "index": "last"},
        "range": {"type": "noEnd", "startDate": "2026-03-27"}
    }}));
    let e = from_graph(&g).unwrap();
    assert!(matches!(
        to_odoo(&e),
        Err(MapError::Unrepresentable { side: "Odoo", .. })
    ));
    let mut monthly = e.clone();
    monthly.recurrence.as_mut().unwrap().rule =
        crate::rrule::Rule::parse("FREQ=MONTHLY;BYDAY=TU").unwrap();
    assert!(matches!(
        to_graph(&monthly),
        Err(MapError::Unrepresentable { .. })
    ));
}

#[test]
fn cancelled_occurrences_become_exdates_on_both_sides() {
    let g = graph_event(json!({
        "recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "numberOfOccurrences": 5, "startDate": "2026-03-17"}
        },
        "cancelledOccurrences": ["OID.AAMkAGI2.2026-03-18", "OID.AAMkAGI2.2026-03-20"],
    }));
    let from_g = from_graph(&g).unwrap();
    let exdates: Vec<NaiveDate> = from_g
        .recurrence
        .clone()
        .unwrap()
        .exdates
        .into_iter()
        .collect();
    assert_eq!(exdates, [d(2026, 3, 18), d(2026, 3, 20)]);
    let o = odoo_record(json!({
        "recurrency": true, "event_tz": "Europe/Berlin", "rrule_type": "daily", "interval": 1,
        "end_type": "count", "count": 5, "cancelled_occurrences": ["2026-03-20", "2026-03-18"],
    }));
    assert_eq!(from_odoo(&o).unwrap().diff(&from_g), vec![]);
    // A further cancellation on one side is a change of the recurrence field only.
    let o2 = odoo_record(json!({
        "recurrency": true, "event_tz": "Europe/Berlin", "rrule_type": "daily", "interval": 1,
        "end_type": "count", "count": 5, "cancelled_occurrences": ["2026-03-20", "2026-03-18", "2026-03-19"],
    }));
    assert_eq!(
        from_odoo(&o2).unwrap().diff(&from_g),
        vec![Field::Recurrence]
    );
}

#[test]
fn a_modified_occurrence_is_keyed_by_its_original_start() {
    let exception = graph_event(json!({
        "type": "exception",
        "seriesMasterId": "AAMkMaster",
        "originalStart": "2026-03-24T08:00:00Z",
        "start": {"dateTime": "2026-03-24T11:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-24T12:00:00", "timeZone": "UTC"},
    }));
    assert_eq!(
        graph::original_start(&exception),
        Some(Utc.with_ymd_and_hms(2026, 3, 24, 8, 0, 0).unwrap())
    );
    let e = from_graph(&exception).unwrap();
    assert!(
        e.recurrence.is_none(),
        "an exception is an event of its own"
    );
    let odoo_exception = odoo_record(json!({
        "recurrence_id": 5, "follow_recurrence": false,
        "recurrency": true, "rrule_type": "weekly", "interval": 1, "end_type": "forever", "tue": true,
        "event_tz": "Europe/Berlin",
        "start": "2026-03-24 11:00:00", "stop": "2026-03-24 12:00:00",
    }));
    assert!(odoo::is_exception(&odoo_exception));
    // The row carries the series' rule, but as an occurrence it is a single event, the
    // same as Graph's exception.
    let as_occurrence = odoo::from_odoo_occurrence(&odoo_exception).unwrap();
    assert!(as_occurrence.recurrence.is_none());
    assert_eq!(as_occurrence.diff(&e), vec![]);
    assert!(from_odoo(&odoo_exception).unwrap().recurrence.is_some());
    assert!(!odoo::is_exception(&odoo_record(
        json!({"recurrence_id": false})
    )));
}

/// Odoo "this and following": the old recurrence is stopped the day before, and a new
/// recurrence (new ids) starts at the edited occurrence. The old series maps to a range
/// change only; the new series maps to a series of its own from the split date.
#[test]
fn a_this_and_following_split_in_odoo_ends_the_old_series_and_starts_a_new_one() {
    let before = odoo_record(json!({
        "recurrency": true, "event_tz": "Europe/Berlin", "rrule_type": "weekly", "interval": 1,
        "end_type": "forever", "tue": true,
    }));
    let old_after_split = odoo_record(json!({
        "recurrency": true, "event_tz": "Europe/Berlin", "rrule_type": "weekly", "interval": 1,
        "end_type": "end_date", "until": "2026-04-06", "tue": true,
    }));
    let new_series = odoo_record(json!({
        "id": 77, "name": "Review (new time)",
        "start": "2026-04-07 12:00:00", "stop": "2026-04-07 13:00:00",
        "recurrency": true, "event_tz": "Europe/Berlin", "rrule_type": "weekly", "interval": 1,
        "end_type": "forever", "tue": true,
    }));
    let b = from_odoo(&before).unwrap();
    let a = from_odoo(&old_after_split).unwrap();
    assert_eq!(b.diff(&a), vec![Field::Recurrence]);
    let patch = to_graph_patch(&a, &b.diff(&a)).unwrap();
    assert_eq!(patch["recurrence"]["range"]["type"], "endDate");
    assert_eq!(patch["recurrence"]["range"]["endDate"], "2026-04-06");
    assert_eq!(
        patch["recurrence"]["range"]["startDate"], "2026-03-17",
        "the old series keeps its start"
    );
    let n = to_graph(&from_odoo(&new_series).unwrap()).unwrap();
    assert_eq!(n["recurrence"]["range"]["startDate"], "2026-04-07");
    assert_eq!(n["start"]["dateTime"], "2026-04-07T14:00:00");
}

#[test]
fn hostile_and_long_html_from_outlook_reaches_odoo_inert_and_hashes_like_odoos_copy() {
    let body = format!(
        "<html><head><script>document.cookie</script></head><body onload=\"x()\">\
         <div style=\"color:red\">Notes<img src=\"https://x/y.png\" onerror=\"steal()\"></div>{}\
         <a href=\"javascript:alert(1)\">click</a></body></html>",
        "<div>line&nbsp;of text</div>".repeat(5_000)
    );
    let g = from_graph(&graph_event(
        json!({"body": {"contentType": "html", "content": body}}),
    ))
    .unwrap();
    let written = to_odoo(&g).unwrap();
    let desc = written["description"].as_str().unwrap();
    for bad in ["script", "onload", "onerror", "javascript", "style="] {
        assert!(!desc.contains(bad), "{bad}");
    }
    // Odoo's sanitiser keeps our already-clean HTML; reading it back changes nothing.
    let mut record = odoo_record(json!({}));
    record["description"] = json!(desc);
    assert_eq!(from_odoo(&record).unwrap().description, g.description);
}

#[test]
fn a_plain_text_body_and_the_same_text_as_html_are_equal() {
    let text = from_graph(&graph_event(
        json!({"body": {"contentType": "text", "content": "a < b\r\nsecond"}}),
    ))
    .unwrap();
    let html = from_odoo(&odoo_record(json!({"description": "a &lt; b<br>second"}))).unwrap();
    assert_eq!(text.description, html.description);
}

#[test]
fn private_events_map_both_ways_and_personal_reads_as_private() {
    for (sensitivity, privacy) in [
        ("normal", Privacy::Public),
        ("personal", Privacy::Private),
        ("private", Privacy::Private),
        ("confidential", Privacy::Confidential),
    ] {
        let e = from_graph(&graph_event(json!({"sensitivity": sensitivity}))).unwrap();
        assert_eq!(e.privacy, privacy, "{sensitivity}");
    }
    let o = from_odoo(&odoo_record(json!({"privacy": "private"}))).unwrap();
    assert_eq!(o.privacy, Privacy::Private);
    assert_eq!(to_graph(&o).unwrap()["sensitivity"], "private");
    // Odoo 18's empty privacy ("organizer's default") reads as public and is never written.
    assert_eq!(
        from_odoo(&odoo_record(json!({"privacy": false})))
            .unwrap()
            .privacy,
        Privacy::Public
    );
}

#[test]
fn another_users_private_event_masked_by_odoo_is_refused_not_synced() {
    let masked = json!({
        "id": 9, "name": "Busy", "privacy": "private", "start": "2026-03-17 08:00:00",
        "stop": "2026-03-17 09:00:00", "allday": false, "description": false,
        "location": false, "attendee_ids": false, "show_as": "busy",
    });
    assert_eq!(from_odoo(&masked), Err(MapError::Masked));
}

#[test]
fn an_event_organized_by_someone_else_keeps_its_organizer_and_my_answer() {
    let g = graph_event(json!({
        "isOrganizer": false,
        "organizer": {"emailAddress": {"address": "Boss@Partner.example"}},
        "responseStatus": {"response": "tentativelyAccepted"},
        "attendees": [
            {"type": "required", "emailAddress": {"address": "me@example.com"}, "status": {"response": "tentativelyAccepted"}},
            {"type": "resource", "emailAddress": {"address": "room1@example.com"}, "status": {"response": "accepted"}},
        ],
    }));
    assert!(!graph::is_organizer(&g));
    let e = from_graph(&g).unwrap();
    assert_eq!(e.organizer.as_deref(), Some("boss@partner.example"));
    assert_eq!(
        e.attendees.len(),
        1,
        "rooms are not attendees Odoo can hold"
    );
    assert_eq!(e.attendees[0].response, Response::Tentative);
    // Odoo cannot name an external organizer (user_id is false) and lists the organizer's
    // partner as an attendee: the canonical events still agree on every synced field.
    let mut o = to_odoo(&e).unwrap();
    assert_eq!(
        o["user_id"],
        json!({"email": "boss@partner.example"}),
        "a create names the organizer"
    );
    // No Odoo user has that e-mail: the odoo crate writes user_id = false.
    o["user_id"] = json!(false);
    assert_eq!(from_odoo(&o).unwrap().diff(&e), vec![]);
    // A write never touches the organizer.
    assert!(odoo::to_odoo_fields(&e, &crate::Field::ALL)
        .unwrap()
        .get("user_id")
        .is_none());
}

#[test]
fn my_answer_to_an_invitation_is_read_from_response_status_even_when_the_list_is_stale() {
    let g = graph_event(json!({
        "isOrganizer": false,
        "organizer": {"emailAddress": {"address": "boss@partner.example"}},
        "responseStatus": {"response": "accepted", "time": "2026-03-02T10:00:00Z"},
        "attendees": [
            {"type": "required", "emailAddress": {"address": "Me@Example.com"}, "status": {"response": "none"}},
            {"type": "required", "emailAddress": {"address": "amy@example.com"}, "status": {"response": "declined"}},
        ],
    }));
    let e = graph::from_graph_for_user(&g, "me@example.com").unwrap();
    let me = e
        .attendees
        .iter()
        .find(|a| a.email == "me@example.com")
        .unwrap();
    assert_eq!(me.response, Response::Accepted);
    assert_eq!(
        from_graph(&g)
            .unwrap()
            .attendees
            .iter()
            .find(|a| a.email == "me@example.com")
            .unwrap()
            .response,
        Response::NeedsAction
    );
    // Invited through a group: the user is not listed, but is an attendee all the same.
    let mut via_group = g.clone();
    via_group["attendees"] = json!([]);
    let e = graph::from_graph_for_user(&via_group, "me@example.com").unwrap();
    assert_eq!(e.attendees.len(), 1);
    // On my own events, responseStatus is "organizer" and nothing is added.
    let own = graph_event(json!({"responseStatus": {"response": "organizer"}}));
    assert!(graph::from_graph_for_user(&own, "me@example.com")
        .unwrap()
        .attendees
        .is_empty());
}

#[test]
fn show_as_values_odoo_cannot_hold_read_as_busy() {
    for (graph_value, canonical) in [
        ("free", ShowAs::Free),
        ("busy", ShowAs::Busy),
        ("tentative", ShowAs::Busy),
        ("oof", ShowAs::Busy),
        ("workingElsewhere", ShowAs::Busy),
        ("unknown", ShowAs::Busy),
    ] {
        assert_eq!(
            from_graph(&graph_event(json!({"showAs": graph_value})))
                .unwrap()
                .show_as,
            canonical
        );
    }
}

#[test]
fn reminders_use_the_earliest_notification_alarm_and_off_means_none() {
    let o = from_odoo(&odoo_record(json!({"alarm_ids": [
        {"alarm_type": "notification", "duration_minutes": 10},
        {"alarm_type": "email", "duration_minutes": 1440},
        {"alarm_type": "notification", "duration_minutes": 60},
    ]})))
    .unwrap();
    assert_eq!(o.reminder_minutes, Some(60));
    let g = from_graph(&graph_event(
        json!({"isReminderOn": false, "reminderMinutesBeforeStart": 15}),
    ))
    .unwrap();
    assert_eq!(g.reminder_minutes, None);
    assert_eq!(to_graph(&g).unwrap()["isReminderOn"], false);
}

#[test]
fn unresolved_relational_ids_are_an_error_never_an_empty_list() {
    for (field, value) in [
        ("attendee_ids", json!([3, 4])),
        ("categ_ids", json!([1])),
        ("alarm_ids", json!([2])),
    ] {
        let mut r = odoo_record(json!({}));
        r[field] = value;
        assert!(
            matches!(from_odoo(&r), Err(MapError::Unresolved { .. })),
            "{field}"
        );
    }
}

#[test]
fn a_teams_meeting_comes_back_to_odoo_as_the_videocall_location() {
    let g = from_graph(&graph_event(json!({
        "isOnlineMeeting": true, "onlineMeetingProvider": "teamsForBusiness",
        "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/abc"},
    })))
    .unwrap();
    let m = g.online_meeting.clone().unwrap();
    assert_eq!(m.provider, MeetingProvider::TeamsForBusiness);
    assert_eq!(
        to_odoo(&g).unwrap()["videocall_location"],
        "https://teams.microsoft.com/l/meetup-join/abc"
    );
    // An Odoo Discuss link is Odoo's own: not an online meeting Graph can hold.
    let o = from_odoo(&odoo_record(
        json!({"videocall_location": "https://odoo.example/calendar/join_videocall/xyz"}),
    ))
    .unwrap();
    assert_eq!(o.online_meeting, None);
    // A requested meeting (no URL yet) asks Graph for Teams and leaves Odoo alone.
    let mut requested = o.clone();
    requested.online_meeting = Some(crate::canonical::OnlineMeeting {
        provider: MeetingProvider::TeamsForBusiness,
        join_url: None,
    });
    let patch = to_graph_patch(&requested, &[Field::OnlineMeeting]).unwrap();
    assert_eq!(
        patch,
        json!({"isOnlineMeeting": true, "onlineMeetingProvider": "teamsForBusiness"})
    );
    assert_eq!(
        odoo::to_odoo_fields(&requested, &[Field::OnlineMeeting]).unwrap(),
        json!({})
    );
}

#[test]
fn a_patch_carries_only_the_changed_fields() {
    let e = from_graph(&graph_event(json!({}))).unwrap();
    let patch = to_graph_patch(&e, &[Field::Title]).unwrap();
    assert_eq!(patch, json!({"subject": "Review"}));
    let w = odoo::to_odoo_fields(&e, &[Field::Location, Field::ShowAs]).unwrap();
    assert_eq!(w, json!({"location": "", "show_as": "busy"}));
}

#[test]
fn version_tokens_and_modification_times_are_read_from_both_sides() {
    let g = graph_event(json!({"lastModifiedDateTime": "2026-03-01T10:00:00.1234567Z"}));
    assert_eq!(graph::version(&g).as_deref(), Some("ck1"));
    assert!(graph::modified(&g).is_some());
    let o = odoo_record(json!({}));
    assert_eq!(odoo::version(&o).as_deref(), Some("2026-03-01 10:00:00"));
    assert_eq!(
        odoo::modified(&o),
        Some(Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap())
    );
}

#[test]
fn dates_at_the_edge_of_the_calendar_are_refused_not_a_panic() {
    let o = odoo_record(
        json!({"allday": true, "start_date": "+262142-12-31", "stop_date": "+262142-12-31"}),
    );
    assert!(matches!(from_odoo(&o), Err(MapError::BadValue { .. })));
    let g = graph_event(json!({
        "isAllDay": true,
        "start": {"dateTime": "+262142-12-31T00:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "+262142-12-31T00:00:00", "timeZone": "UTC"},
    }));
    assert!(matches!(from_graph(&g), Err(MapError::BadValue { .. })));
}

#[test]
fn an_unknown_time_zone_is_an_error_not_utc() {
    let g = graph_event(
        json!({"start": {"dateTime": "2026-03-17T09:00:00", "timeZone": "tzone://Microsoft/Custom"}}),
    );
    assert!(matches!(from_graph(&g), Err(MapError::UnknownZone(_))));
}

/// Every Graph pattern type × every range type, timed in Berlin and all-day: Graph →
/// canonical → Graph reads back the same; → Odoo (when Odoo can hold it) reads back the
/// same; what Odoo cannot hold is refused with a reason.
#[test]
fn every_pattern_and_range_round_trips_through_both_sides_or_is_refused_with_a_reason() {
    let patterns = [
        json!({"type": "daily", "interval": 1}),
        json!({"type": "weekly", "interval": 2, "daysOfWeek": ["tuesday", "thursday"], "firstDayOfWeek": "sunday"}),
        json!({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 17}),
        json!({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["tuesday"], "index": "third"}),
        json!({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 17, "month": 3}),
        json!({"type": "relativeYearly", "interval": 1, "daysOfWeek": ["tuesday"], "month": 3, "index": "third"}),
    ];
    let ranges = [
        json!({"type": "numbered", "numberOfOccurrences": 7}),
        json!({"type": "endDate", "endDate": "2027-12-31"}),
        json!({"type": "noEnd"}),
    ];
    let mut odoo_held = 0;
    for all_day in [false, true] {
        for p in &patterns {
            for r in &ranges {
                let mut range = r.clone();
                range["startDate"] = json!("2026-03-17");
                let mut g = graph_event(json!({"recurrence": {"pattern": p, "range": range}}));
                if all_day {
                    g["isAllDay"] = json!(true);
                    g["start"] = json!({"dateTime": "2026-03-17T00:00:00", "timeZone": "UTC"});
                    g["end"] = json!({"dateTime": "2026-03-18T00:00:00", "timeZone": "UTC"});
                } else {
                    g["recurrence"]["range"]["recurrenceTimeZone"] =
                        json!("W. Europe Standard Time");
                }
                let e = from_graph(&g).unwrap();
                let back = from_graph(&graph_event(to_graph(&e).unwrap())).unwrap();
                assert_eq!(back.diff(&e), vec![], "{p} {r} all-day {all_day}");
                assert_eq!(back.hash(), e.hash());
                match to_odoo(&e) {
                    Ok(mut o) => {
                        odoo_held += 1;
                        o["user_id"] = json!({"email": "me@example.com"});
                        let read = from_odoo(&o).unwrap();
                        assert_eq!(read.diff(&e), vec![], "{p} {r} all-day {all_day}: {o:#}");
                        // And Odoo's rrule text alone says the same rule.
                        let mut text_only = o.clone();
                        text_only["rrule_type"] = json!(false);
                        assert_eq!(
                            from_odoo(&text_only).unwrap().recurrence,
                            e.recurrence,
                            "{p} {r}"
                        );
                    }
                    Err(MapError::Unrepresentable { side, what }) => {
                        assert_eq!(side, "Odoo");
                        assert_eq!(p["type"], "relativeYearly", "{what}");
                    }
                    Err(other) => panic!("{p} {r}: {other}"),
                }
            }
        }
    }
    assert_eq!(odoo_held, 2 * 5 * 3);
}

#[test]
fn an_all_day_weekly_series_is_the_same_series_on_both_sides() {
    let g = graph_event(json!({
        "isAllDay": true,
        "start": {"dateTime": "2026-03-17T00:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-18T00:00:00", "timeZone": "UTC"},
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"], "firstDayOfWeek": "sunday"},
            "range": {"type": "numbered", "startDate": "2026-03-17", "numberOfOccurrences": 4}
        }
    }));
    let o = odoo_record(json!({
        "allday": true, "start": "2026-03-17 08:00:00", "stop": "2026-03-17 18:00:00",
        "start_date": "2026-03-17", "stop_date": "2026-03-17",
        "recurrency": true, "rrule_type": "weekly", "interval": 1, "end_type": "count", "count": 4,
        "tue": true, "event_tz": "Europe/Berlin",
    }));
    let (eg, eo) = (from_graph(&g).unwrap(), from_odoo(&o).unwrap());
    assert_eq!(eg.diff(&eo), vec![]);
    // An all-day series has no zone: Odoo's event_tz does not make it differ.
    assert_eq!(eo.time_zone, None);
}
