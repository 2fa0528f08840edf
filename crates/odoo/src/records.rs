//! Typed records of the models the sync reads and writes (odoo.md §2, §4, §5.2). Every field
//! is `#[serde(default)]`: the client asks only for the fields the server has (learned with
//! `fields_get` on connect), so a field an older version lacks simply stays empty. Binary
//! content (`ir.attachment.datas`) is never part of a record; it is read on its own.

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::values::{self, Many2one};

/// A model the client knows how to read into a struct.
pub trait Record: DeserializeOwned {
    /// The Odoo model, e.g. `calendar.event`.
    const MODEL: &'static str;
    /// The fields asked for, before removing those the server does not have.
    const FIELDS: &'static [&'static str];
    fn id(&self) -> i64;
}

fn yes() -> bool {
    true
}

/// `calendar.event.privacy`. Empty (18+) means "the organizer's default".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Privacy {
    Public,
    Private,
    Confidential,
    #[serde(other)]
    Other,
}

/// `calendar.attendee.state`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub enum AttendeeState {
    #[serde(rename = "accepted")]
    Accepted,
    #[serde(rename = "declined")]
    Declined,
    #[serde(rename = "tentative")]
    Tentative,
    #[serde(rename = "needsAction")]
    NeedsAction,
    #[serde(other)]
    Other,
}

/// Who the client is in Odoo, for recognising masked events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Me {
    pub uid: i64,
    pub partner_id: i64,
}

/// A `calendar.event` row (one occurrence of a series is a row of its own).
#[derive(Debug, Clone, Deserialize)]
pub struct CalendarEvent {
    pub id: i64,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub name: Option<String>,
    /// Html, sanitized by Odoo on write: what is written may not be what is read.
    #[serde(default, deserialize_with = "values::opt_string")]
    pub description: Option<String>,
    /// The organizer.
    #[serde(default, deserialize_with = "values::many2one")]
    pub user_id: Option<Many2one>,
    #[serde(default, deserialize_with = "values::many2one")]
    pub partner_id: Option<Many2one>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub location: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub videocall_location: Option<String>,
    #[serde(default, deserialize_with = "values::opt")]
    pub privacy: Option<Privacy>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub show_as: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    /// UTC instant, except for all-day events (use `start_date`/`stop_date` there).
    #[serde(default, deserialize_with = "values::datetime")]
    pub start: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "values::datetime")]
    pub stop: Option<DateTime<Utc>>,
    #[serde(default)]
    pub allday: bool,
    #[serde(default, deserialize_with = "values::date")]
    pub start_date: Option<NaiveDate>,
    /// Inclusive, unlike Graph's exclusive end.
    #[serde(default, deserialize_with = "values::date")]
    pub stop_date: Option<NaiveDate>,
    /// Hours.
    #[serde(default, deserialize_with = "values::number_or_zero")]
    pub duration: f64,
    #[serde(default, deserialize_with = "values::ids")]
    pub partner_ids: Vec<i64>,
    #[serde(default, deserialize_with = "values::ids")]
    pub attendee_ids: Vec<i64>,
    #[serde(default, deserialize_with = "values::ids")]
    pub alarm_ids: Vec<i64>,
    #[serde(default, deserialize_with = "values::ids")]
    pub categ_ids: Vec<i64>,
    #[serde(default)]
    pub recurrency: bool,
    #[serde(default, deserialize_with = "values::many2one")]
    pub recurrence_id: Option<Many2one>,
    /// False when this occurrence is an exception to its series.
    #[serde(default)]
    pub follow_recurrence: bool,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub event_tz: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub res_model: Option<String>,
    #[serde(default, deserialize_with = "values::reference_id")]
    pub res_id: Option<i64>,
    #[serde(default, deserialize_with = "values::datetime")]
    pub create_date: Option<DateTime<Utc>>,
    /// Second-granular; see odoo.md §5.5 for why cursors need an overlap.
    #[serde(default, deserialize_with = "values::datetime")]
    pub write_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "values::many2one")]
    pub write_uid: Option<Many2one>,
}

impl Record for CalendarEvent {
    const MODEL: &'static str = "calendar.event";
    const FIELDS: &'static [&'static str] = &[
        "id",
        "name",
        "description",
        "user_id",
        "partner_id",
        "location",
        "videocall_location",
        "privacy",
        "show_as",
        "active",
        "start",
        "stop",
        "allday",
        "start_date",
        "stop_date",
        "duration",
        "partner_ids",
        "attendee_ids",
        "alarm_ids",
        "categ_ids",
        "recurrency",
        "recurrence_id",
        "follow_recurrence",
        "event_tz",
        "res_model",
        "res_id",
        "create_date",
        "write_date",
        "write_uid",
    ];
    fn id(&self) -> i64 {
        self.id
    }
}

impl CalendarEvent {
    /// Whether Odoo masked this row because it is another user's private event
    /// (odoo.md §2.5): the name reads `Busy`, the private fields `false`, and the reader is
    /// neither organizer nor attendee. Such a row must be skipped or kept read-only: its
    /// masked values must never be pushed anywhere.
    pub fn is_masked_for(&self, me: Me) -> bool {
        let organizer_is_me = self.user_id.as_ref().is_some_and(|u| u.id == me.uid);
        let privacy_allows_masking = matches!(self.privacy, None | Some(Privacy::Private));
        self.name.as_deref() == Some("Busy")
            && privacy_allows_masking
            && !organizer_is_me
            && !self.partner_ids.contains(&me.partner_id)
            && self.description.is_none()
            && self.location.is_none()
    }
}

/// A `calendar.attendee` row; it has its own `write_date` (answers do not touch the event).
#[derive(Debug, Clone, Deserialize)]
pub struct CalendarAttendee {
    pub id: i64,
    #[serde(default, deserialize_with = "values::many2one")]
    pub event_id: Option<Many2one>,
    #[serde(default, deserialize_with = "values::many2one")]
    pub partner_id: Option<Many2one>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub common_name: Option<String>,
    #[serde(default, deserialize_with = "values::opt")]
    pub state: Option<AttendeeState>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub availability: Option<String>,
    #[serde(default, deserialize_with = "values::datetime")]
    pub write_date: Option<DateTime<Utc>>,
}

impl Record for CalendarAttendee {
    const MODEL: &'static str = "calendar.attendee";
    const FIELDS: &'static [&'static str] = &[
        "id",
        "event_id",
        "partner_id",
        "email",
        "common_name",
        "state",
        "availability",
        "write_date",
    ];
    fn id(&self) -> i64 {
        self.id
    }
}

/// A `calendar.recurrence` (the series; its occurrences are `calendar.event` rows).
#[derive(Debug, Clone, Deserialize)]
pub struct CalendarRecurrence {
    pub id: i64,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "values::many2one")]
    pub base_event_id: Option<Many2one>,
    #[serde(default, deserialize_with = "values::ids")]
    pub calendar_event_ids: Vec<i64>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub event_tz: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub rrule: Option<String>,
    #[serde(default, deserialize_with = "values::datetime")]
    pub dtstart: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub rrule_type: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub end_type: Option<String>,
    #[serde(default, deserialize_with = "values::number_or_zero")]
    pub interval: i64,
    #[serde(default, deserialize_with = "values::number_or_zero")]
    pub count: i64,
    #[serde(default)]
    pub mon: bool,
    #[serde(default)]
    pub tue: bool,
    #[serde(default)]
    pub wed: bool,
    #[serde(default)]
    pub thu: bool,
    #[serde(default)]
    pub fri: bool,
    #[serde(default)]
    pub sat: bool,
    #[serde(default)]
    pub sun: bool,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub month_by: Option<String>,
    #[serde(default, deserialize_with = "values::number_or_zero")]
    pub day: i64,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub weekday: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub byday: Option<String>,
    #[serde(default, deserialize_with = "values::date")]
    pub until: Option<NaiveDate>,
    #[serde(default, deserialize_with = "values::datetime")]
    pub write_date: Option<DateTime<Utc>>,
}

impl Record for CalendarRecurrence {
    const MODEL: &'static str = "calendar.recurrence";
    const FIELDS: &'static [&'static str] = &[
        "id",
        "name",
        "base_event_id",
        "calendar_event_ids",
        "event_tz",
        "rrule",
        "dtstart",
        "rrule_type",
        "end_type",
        "interval",
        "count",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "month_by",
        "day",
        "weekday",
        "byday",
        "until",
        "write_date",
    ];
    fn id(&self) -> i64 {
        self.id
    }
}

/// An `ir.attachment` without its content (`datas` is read on its own, in bounded memory).
#[derive(Debug, Clone, Deserialize)]
pub struct Attachment {
    pub id: i64,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub res_model: Option<String>,
    #[serde(default, deserialize_with = "values::reference_id")]
    pub res_id: Option<i64>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub res_field: Option<String>,
    #[serde(default, deserialize_with = "values::many2one")]
    pub company_id: Option<Many2one>,
    /// `binary` or `url`.
    #[serde(default, rename = "type", deserialize_with = "values::opt_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub url: Option<String>,
    #[serde(default)]
    pub public: bool,
    /// Bytes.
    #[serde(default, deserialize_with = "values::number_or_zero")]
    pub file_size: u64,
    /// SHA-1 hex of the stored content (which may differ from what was uploaded: Odoo
    /// resizes large images).
    #[serde(default, deserialize_with = "values::opt_string")]
    pub checksum: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub mimetype: Option<String>,
    #[serde(default, deserialize_with = "values::datetime")]
    pub create_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "values::datetime")]
    pub write_date: Option<DateTime<Utc>>,
}

impl Record for Attachment {
    const MODEL: &'static str = "ir.attachment";
    const FIELDS: &'static [&'static str] = &[
        "id",
        "name",
        "description",
        "res_model",
        "res_id",
        "res_field",
        "company_id",
        "type",
        "url",
        "public",
        "file_size",
        "checksum",
        "mimetype",
        "create_date",
        "write_date",
    ];
    fn id(&self) -> i64 {
        self.id
    }
}

/// The `res.users` fields a session needs, read once on connect.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub login: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub email: Option<String>,
    /// An IANA zone name such as `Europe/Brussels`.
    #[serde(default, deserialize_with = "values::opt_string")]
    pub tz: Option<String>,
    #[serde(default, deserialize_with = "values::opt_string")]
    pub lang: Option<String>,
    #[serde(default, deserialize_with = "values::many2one")]
    pub partner_id: Option<Many2one>,
    #[serde(default, deserialize_with = "values::many2one")]
    pub company_id: Option<Many2one>,
    #[serde(default, deserialize_with = "values::ids")]
    pub company_ids: Vec<i64>,
    /// True for portal and public users.
    #[serde(default)]
    pub share: bool,
}

impl Record for User {
    const MODEL: &'static str = "res.users";
    const FIELDS: &'static [&'static str] = &[
        "id",
        "login",
        "name",
        "email",
        "tz",
        "lang",
        "partner_id",
        "company_id",
        "company_ids",
        "share",
    ];
    fn id(&self) -> i64 {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::decode;
    use serde_json::json;

    const ME: Me = Me {
        uid: 2,
        partner_id: 3,
    };

    #[test]
    fn another_users_private_event_is_recognised_as_masked() {
        let masked: CalendarEvent = decode(
            "event",
            json!({"id": 9, "name": "Busy", "description": false, "location": false,
                   "user_id": [6, "Marc Demo"], "privacy": "private", "partner_ids": false,
                   "start": "2025-05-01 09:00:00", "stop": "2025-05-01 10:00:00"}),
        )
        .unwrap();
        assert!(masked.is_masked_for(ME));
        assert!(masked.partner_ids.is_empty());
    }

    #[test]
    fn a_private_event_i_attend_or_organize_is_not_masked() {
        let attended: CalendarEvent = decode(
            "event",
            json!({"id": 9, "name": "Busy", "user_id": [6, "Marc"], "privacy": "private",
                   "partner_ids": [3, 7]}),
        )
        .unwrap();
        assert!(!attended.is_masked_for(ME));
        let mine: CalendarEvent = decode(
            "event",
            json!({"id": 9, "name": "Busy", "user_id": [2, "Me"], "privacy": "private"}),
        )
        .unwrap();
        assert!(!mine.is_masked_for(ME));
        let public: CalendarEvent = decode(
            "event",
            json!({"id": 9, "name": "Busy", "user_id": [6, "Marc"], "privacy": "public"}),
        )
        .unwrap();
        assert!(!public.is_masked_for(ME));
    }

    #[test]
    fn an_event_with_fields_an_old_server_lacks_still_decodes() {
        let e: CalendarEvent = decode(
            "event",
            json!({"id": 1, "name": "Standup", "start": "2025-01-06 08:00:00", "privacy": false,
                   "allday": false, "active": true}),
        )
        .unwrap();
        assert_eq!(e.videocall_location, None);
        assert_eq!(e.privacy, None);
        assert!(e.active);
    }

    #[test]
    fn attendee_states_and_attachment_metadata_decode() {
        let a: CalendarAttendee = decode(
            "attendee",
            json!({"id": 4, "event_id": [1, "Standup"], "partner_id": [3, "Me"], "state": "needsAction"}),
        )
        .unwrap();
        assert_eq!(a.state, Some(AttendeeState::NeedsAction));
        let f: Attachment = decode(
            "attachment",
            json!({"id": 5, "name": "a.pdf", "res_model": "calendar.event", "res_id": 1,
                   "type": "binary", "file_size": 1234, "checksum": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                   "mimetype": "application/pdf", "url": false}),
        )
        .unwrap();
        assert_eq!(f.kind.as_deref(), Some("binary"));
        assert_eq!(f.file_size, 1234);
        assert_eq!(f.res_id, Some(1));
    }
}

/// When an event happens, as Odoo stores it (odoo.md §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTime {
    /// UTC instants.
    Timed {
        start: DateTime<Utc>,
        stop: DateTime<Utc>,
    },
    /// Dates; `last_day` is **inclusive** (Graph's end date is exclusive: one day later).
    AllDay {
        first_day: NaiveDate,
        last_day: NaiveDate,
    },
}

/// Values for `calendar.event` `create`/`write`: only the fields set are sent, in Odoo's
/// spelling (UTC datetime strings, dates, x2many commands).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventValues {
    pub name: Option<String>,
    /// Html; Odoo sanitizes it.
    pub description: Option<String>,
    pub location: Option<String>,
    pub videocall_location: Option<String>,
    /// `public`, `private` or `confidential`.
    pub privacy: Option<String>,
    /// `free` or `busy`.
    pub show_as: Option<String>,
    pub time: Option<EventTime>,
    /// The attendees' partners; replaces the whole set (command 6).
    pub partner_ids: Option<Vec<i64>>,
    /// The zone recurrences expand in; always set it with a recurrence (odoo.md §2.3).
    pub event_tz: Option<String>,
    /// An RRULE (`FREQ=WEEKLY;COUNT=5;BYDAY=MO`), which also sets `recurrency`.
    pub rrule: Option<String>,
    pub active: Option<bool>,
}

impl EventValues {
    /// The `vals` dict.
    pub fn to_vals(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let mut v = serde_json::Map::new();
        let mut put = |k: &str, val: serde_json::Value| {
            v.insert(k.to_string(), val);
        };
        for (k, val) in [
            ("name", &self.name),
            ("description", &self.description),
            ("location", &self.location),
            ("videocall_location", &self.videocall_location),
            ("privacy", &self.privacy),
            ("show_as", &self.show_as),
            ("event_tz", &self.event_tz),
        ] {
            if let Some(val) = val {
                put(k, json!(val));
            }
        }
        match &self.time {
            Some(EventTime::Timed { start, stop }) => {
                put("allday", json!(false));
                put("start", json!(values::to_odoo_datetime(*start)));
                put("stop", json!(values::to_odoo_datetime(*stop)));
            }
            Some(EventTime::AllDay {
                first_day,
                last_day,
            }) => {
                // `start`/`stop` are required on create; Odoo's own convention for all-day
                // rows is 08:00 and 18:00 on the first and last day.
                put("allday", json!(true));
                put("start_date", json!(values::to_odoo_date(*first_day)));
                put("stop_date", json!(values::to_odoo_date(*last_day)));
                put(
                    "start",
                    json!(format!("{} 08:00:00", values::to_odoo_date(*first_day))),
                );
                put(
                    "stop",
                    json!(format!("{} 18:00:00", values::to_odoo_date(*last_day))),
                );
            }
            None => {}
        }
        if let Some(ids) = &self.partner_ids {
            put("partner_ids", json!([[6, 0, ids]]));
        }
        if let Some(rrule) = &self.rrule {
            put("recurrency", json!(true));
            put("rrule", json!(rrule));
        }
        if let Some(a) = self.active {
            put("active", json!(a));
        }
        v
    }
}

#[cfg(test)]
mod values_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_values_spell_times_dates_and_attendees_as_odoo_does() {
        let timed = EventValues {
            name: Some("Review".into()),
            time: Some(EventTime::Timed {
                start: values::parse_odoo_datetime("2025-03-30 00:30:00").unwrap(),
                stop: values::parse_odoo_datetime("2025-03-30 01:30:00").unwrap(),
            }),
            partner_ids: Some(vec![3, 7]),
            ..EventValues::default()
        };
        assert_eq!(
            serde_json::Value::Object(timed.to_vals()),
            json!({"name": "Review", "allday": false, "start": "2025-03-30 00:30:00",
                   "stop": "2025-03-30 01:30:00", "partner_ids": [[6, 0, [3, 7]]]})
        );
        let allday = EventValues {
            time: Some(EventTime::AllDay {
                first_day: NaiveDate::from_ymd_opt(2025, 4, 1).unwrap(),
                last_day: NaiveDate::from_ymd_opt(2025, 4, 2).unwrap(),
            }),
            rrule: Some("FREQ=WEEKLY;COUNT=3".into()),
            event_tz: Some("Europe/Brussels".into()),
            ..EventValues::default()
        };
        let v = allday.to_vals();
        assert_eq!(v["start_date"], "2025-04-01");
        assert_eq!(v["stop_date"], "2025-04-02");
        assert_eq!(v["allday"], true);
        assert_eq!(v["recurrency"], true);
        assert_eq!(v["event_tz"], "Europe/Brussels");
        assert!(EventValues::default().to_vals().is_empty());
    }
}
