//! Mapping between the canonical [`Event`] and an Odoo `calendar.event` record
//! (`../shared/specs/odoo.md` §2), as JSON with Odoo's field names.
//!
//! The record is a `read`/`search_read` result whose relational fields the odoo crate has
//! resolved (one batched read per model), because a canonical event speaks in e-mails and
//! names, never in database ids:
//!
//! | field | resolved shape |
//! |---|---|
//! | `user_id` | `{"id": 7, "email": "me@example.com"}` (or Odoo's `[7, "Name"]`/`false`: organizer unknown) |
//! | `attendee_ids` | `[{"email": "a@b.c", "state": "accepted"}]` (`calendar.attendee` rows) |
//! | `alarm_ids` | `[{"alarm_type": "notification", "duration_minutes": 15}]` |
//! | `categ_ids` | `["Customer", …]` or `[{"name": "Customer"}]` |
//! | `cancelled_occurrences` | not an Odoo field: local dates of the series' archived occurrences (written too: the odoo crate archives the occurrences on those dates) |
//!
//! Ids where objects are expected are an error ([`MapError::Unresolved`]), never read as
//! "no attendees": that would sync an attendee wipe. [`to_odoo`] writes the same resolved
//! shapes; the odoo crate turns them into `partner_ids`/`alarm_ids`/`categ_ids` commands.
//! Written `attendee_ids` never list the organizer (the canonical form leaves them out):
//! the odoo crate keeps the organizer's own attendee row, as Odoo expects.
//!
//! Odoo's `false` means "empty" on every field type. Datetimes are naive UTC text
//! (`YYYY-MM-DD HH:MM:SS`). All-day events are read from `start_date`/`stop_date` (the
//! stop date is inclusive) because `start`/`stop` hold 08:00/18:00 placeholders there.
//! Recurrences are read from the structured fields (`rrule_type`, `interval`, `end_type`,
//! `count`, `until`, `mon`…`sun`, `month_by`, `day`, `byday`, `weekday`) when present,
//! else from the `rrule` text; they are written as structured fields plus `rrule`.
//!
//! Another user's private event comes back masked (`name: "Busy"`, other fields `false`):
//! [`from_odoo`] refuses it with [`MapError::Masked`] so a mask is never synced.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc, Weekday};
use serde_json::{json, Map, Value};

use crate::canonical::{
    Attendee, Event, Field, MeetingProvider, OnlineMeeting, Privacy, Recurrence, Response, ShowAs,
    When,
};
use crate::error::MapError;
use crate::rrule::{weekday_from_code, Freq, RecurrenceEnd, Rule};

const SIDE: &str = "Odoo";
const DATETIME: &str = "%Y-%m-%d %H:%M:%S";
const DATE: &str = "%Y-%m-%d";
const WEEKDAY_FIELDS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// Reads a (resolved) `calendar.event` record into canonical form.
pub fn from_odoo(v: &Value) -> Result<Event, MapError> {
    if is_masked(v) {
        return Err(MapError::Masked);
    }
    let all_day = v.get("allday").and_then(Value::as_bool).unwrap_or(false);
    let when = if all_day {
        // Only a missing date falls back to the datetime's date; a bad one is an error.
        let day = |date: &'static str, datetime: &'static str| match date_field(v, date) {
            Err(MapError::Missing { .. }) => datetime_field(v, datetime).map(|t| t.date_naive()),
            other => other,
        };
        let start = day("start_date", "start")?;
        let stop = day("stop_date", "stop")?;
        When::AllDay {
            start,
            end: stop.max(start) + Duration::days(1),
        }
    } else {
        When::Timed {
            start: datetime_field(v, "start")?,
            end: datetime_field(v, "stop")?,
        }
    };
    let attendees = match v.get("attendee_ids") {
        Some(Value::Array(list)) => list
            .iter()
            .map(|a| {
                let email = a.get("email").ok_or(MapError::Unresolved {
                    field: "attendee_ids",
                })?;
                Ok(Attendee {
                    email: email.as_str().unwrap_or_default().to_owned(),
                    response: match a.get("state").and_then(Value::as_str) {
                        Some("accepted") => Response::Accepted,
                        Some("tentative") => Response::Tentative,
                        Some("declined") => Response::Declined,
                        _ => Response::NeedsAction,
                    },
                })
            })
            .collect::<Result<Vec<_>, MapError>>()?,
        _ => Vec::new(),
    };
    let categories = match v.get("categ_ids") {
        Some(Value::Array(list)) => list
            .iter()
            .map(|c| match c {
                Value::String(s) => Ok(s.clone()),
                Value::Object(o) => o
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or(MapError::Unresolved { field: "categ_ids" }),
                _ => Err(MapError::Unresolved { field: "categ_ids" }),
            })
            .collect::<Result<Vec<_>, MapError>>()?,
        _ => Vec::new(),
    };
    let reminder_minutes = match v.get("alarm_ids") {
        Some(Value::Array(list)) => {
            let mut minutes = Vec::new();
            for a in list {
                if !a.is_object() {
                    return Err(MapError::Unresolved { field: "alarm_ids" });
                }
                if a.get("alarm_type").and_then(Value::as_str) == Some("notification") {
                    if let Some(m) = a.get("duration_minutes").and_then(Value::as_f64) {
                        minutes.push(m.max(0.0).round() as u32);
                    }
                }
            }
            // Graph holds one reminder: the one that fires first.
            minutes.into_iter().max()
        }
        _ => None,
    };
    let recurrence = if v.get("recurrency").and_then(Value::as_bool) == Some(true) {
        Some(Recurrence {
            rule: rule_from_odoo(v)?,
            exdates: v
                .get("cancelled_occurrences")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(Value::as_str)
                        .filter_map(|d| NaiveDate::parse_from_str(d, DATE).ok())
                        .filter(|d| crate::graph::sane_year(*d))
                        .collect::<BTreeSet<_>>()
                })
                .unwrap_or_default(),
        })
    } else {
        None
    };
    let online_meeting = text(v, "videocall_location")
        .filter(|url| is_teams_url(url))
        .map(|url| OnlineMeeting {
            provider: MeetingProvider::TeamsForBusiness,
            join_url: Some(url.to_owned()),
        });
    Ok(Event {
        title: text(v, "name").unwrap_or_default().to_owned(),
        when,
        time_zone: text(v, "event_tz").map(str::to_owned),
        original_time_zone: None,
        location: text(v, "location").unwrap_or_default().to_owned(),
        description: crate::html::normalize(text(v, "description").unwrap_or_default()),
        attendees,
        organizer: v
            .pointer("/user_id/email")
            .and_then(Value::as_str)
            .map(str::to_owned),
        show_as: match text(v, "show_as") {
            Some("free") => ShowAs::Free,
            _ => ShowAs::Busy,
        },
        privacy: match text(v, "privacy") {
            Some("private") => Privacy::Private,
            Some("confidential") => Privacy::Confidential,
            // 18+: empty means "the organizer's default"; read as public (never written).
            _ => Privacy::Public,
        },
        categories,
        reminder_minutes,
        recurrence,
        online_meeting,
    }
    .normalized())
}

/// Reads one occurrence row of an Odoo series (`recurrence_id` set) as a single event:
/// every row carries the series' pseudo-related recurrence fields, but only the series
/// (its base event) is a recurrence; an occurrence, and in particular an exception
/// (`follow_recurrence = false`), is compared with Graph's occurrence or exception.
pub fn from_odoo_occurrence(v: &Value) -> Result<Event, MapError> {
    let mut single = v.clone();
    if let Some(o) = single.as_object_mut() {
        o.insert("recurrency".into(), Value::Bool(false));
    }
    from_odoo(&single)
}

/// The whole record as the values of a `create`. Unlike a write, a create names the
/// organizer, as `user_id: {"email": …}`: the odoo crate sets the user with that e-mail,
/// or `false` when no Odoo user has it (an outside organizer). Left out, Odoo would make
/// the syncing user the organizer, drop them from the attendees in canonical form, and
/// the copies would never agree.
pub fn to_odoo(event: &Event) -> Result<Value, MapError> {
    let mut values = to_odoo_fields(event, &Field::ALL)?;
    if let (Some(organizer), Some(map)) = (&event.organizer, values.as_object_mut()) {
        map.insert("user_id".into(), json!({ "email": organizer }));
    }
    Ok(values)
}

/// Only the Odoo fields that carry `fields`, as the values of a `write`.
pub fn to_odoo_fields(event: &Event, fields: &[Field]) -> Result<Value, MapError> {
    let mut out = Map::new();
    let wants = |f: Field| fields.contains(&f);
    if wants(Field::Title) {
        out.insert("name".into(), json!(event.title));
    }
    if wants(Field::When) {
        match event.when {
            When::Timed { start, end } => {
                out.insert("allday".into(), json!(false));
                out.insert("start".into(), json!(start.format(DATETIME).to_string()));
                out.insert("stop".into(), json!(end.format(DATETIME).to_string()));
            }
            When::AllDay { start, end } => {
                let stop = (end - Duration::days(1)).max(start);
                out.insert("allday".into(), json!(true));
                out.insert("start_date".into(), json!(start.format(DATE).to_string()));
                out.insert("stop_date".into(), json!(stop.format(DATE).to_string()));
                out.insert("start".into(), json!(start.format(DATE).to_string()));
                out.insert("stop".into(), json!(stop.format(DATE).to_string()));
            }
        }
    }
    if wants(Field::TimeZone) || wants(Field::Recurrence) {
        out.insert(
            "event_tz".into(),
            event
                .time_zone
                .as_ref()
                .map_or(Value::Bool(false), |z| json!(z)),
        );
    }
    if wants(Field::Location) {
        out.insert("location".into(), json!(event.location));
    }
    if wants(Field::Description) {
        out.insert("description".into(), json!(event.description));
    }
    if wants(Field::Attendees) {
        let list: Vec<Value> = event
            .attendees
            .iter()
            .map(|a| {
                let state = match a.response {
                    Response::NeedsAction => "needsAction",
                    Response::Accepted => "accepted",
                    Response::Tentative => "tentative",
                    Response::Declined => "declined",
                };
                json!({ "email": a.email, "state": state })
            })
            .collect();
        out.insert("attendee_ids".into(), Value::Array(list));
    }
    if wants(Field::ShowAs) {
        let s = match event.show_as {
            ShowAs::Free => "free",
            ShowAs::Busy => "busy",
        };
        out.insert("show_as".into(), json!(s));
    }
    if wants(Field::Privacy) {
        let s = match event.privacy {
            Privacy::Public => "public",
            Privacy::Private => "private",
            Privacy::Confidential => "confidential",
        };
        out.insert("privacy".into(), json!(s));
    }
    if wants(Field::Categories) {
        out.insert("categ_ids".into(), json!(event.categories));
    }
    if wants(Field::ReminderMinutes) {
        let alarms = match event.reminder_minutes {
            Some(m) => json!([{ "alarm_type": "notification", "duration_minutes": m }]),
            None => json!([]),
        };
        out.insert("alarm_ids".into(), alarms);
    }
    if wants(Field::Recurrence) {
        match &event.recurrence {
            Some(rec) => {
                rule_to_odoo(&rec.rule, event, &mut out)?;
                let dates: Vec<String> = rec
                    .exdates
                    .iter()
                    .map(|d| d.format(DATE).to_string())
                    .collect();
                out.insert("cancelled_occurrences".into(), json!(dates));
            }
            None => {
                out.insert("recurrency".into(), json!(false));
            }
        }
    }
    if wants(Field::OnlineMeeting) {
        match event.online_meeting.as_ref().map(|m| m.join_url.as_deref()) {
            Some(Some(url)) => {
                out.insert("videocall_location".into(), json!(url));
            }
            // Requested but not created yet: Odoo has nothing to show until Graph answers.
            Some(None) => {}
            None => {
                out.insert("videocall_location".into(), json!(false));
            }
        }
    }
    Ok(Value::Object(out))
}

/// The version token to keep in the baseline: `write_date`.
pub fn version(v: &Value) -> Option<String> {
    text(v, "write_date").map(str::to_owned)
}

/// `write_date` as an instant, for the newest-wins policy.
pub fn modified(v: &Value) -> Option<DateTime<Utc>> {
    text(v, "write_date")
        .and_then(|s| NaiveDateTime::parse_from_str(s, DATETIME).ok())
        .map(|t| t.and_utc())
}

/// Whether the record is an occurrence detached from its rule (`follow_recurrence` false).
pub fn is_exception(v: &Value) -> bool {
    v.get("recurrence_id")
        .is_some_and(|r| r != &Value::Bool(false))
        && v.get("follow_recurrence").and_then(Value::as_bool) == Some(false)
}

/// Odoo's `false` is "empty"; so is a missing key.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn is_masked(v: &Value) -> bool {
    let private = matches!(text(v, "privacy"), Some("private") | Some("confidential"));
    let empty = |k: &str| matches!(v.get(k), None | Some(Value::Bool(false)));
    private
        && text(v, "name") == Some("Busy")
        && empty("description")
        && empty("location")
        && empty("attendee_ids")
}

fn datetime_field(v: &Value, key: &'static str) -> Result<DateTime<Utc>, MapError> {
    let s = text(v, key).ok_or(MapError::Missing { field: key })?;
    NaiveDateTime::parse_from_str(s, DATETIME)
        .or_else(|_| NaiveDate::parse_from_str(s, DATE).map(|d| d.and_time(chrono::NaiveTime::MIN)))
        .ok()
        .filter(|t| crate::graph::sane_year(t.date()))
        .map(|t| t.and_utc())
        .ok_or_else(|| MapError::BadValue {
            field: key,
            value: s.to_owned(),
        })
}

fn date_field(v: &Value, key: &'static str) -> Result<NaiveDate, MapError> {
    let s = text(v, key).ok_or(MapError::Missing { field: key })?;
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), DATE)
        .ok()
        .filter(|d| crate::graph::sane_year(*d))
        .ok_or_else(|| MapError::BadValue {
            field: key,
            value: s.to_owned(),
        })
}

/// The rule of a `calendar.recurrence` record, or of an event's pseudo-related
/// recurrence fields (same names): structured fields when present, else `rrule`.
pub fn rule_from_odoo(v: &Value) -> Result<Rule, MapError> {
    let Some(kind) = text(v, "rrule_type") else {
        let rrule = text(v, "rrule").ok_or(MapError::Missing {
            field: "rrule_type",
        })?;
        return Ok(Rule::parse(rrule)?);
    };
    let freq = match kind {
        "daily" => Freq::Daily,
        "weekly" => Freq::Weekly,
        "monthly" => Freq::Monthly,
        "yearly" => Freq::Yearly,
        other => {
            return Err(MapError::BadValue {
                field: "rrule_type",
                value: other.to_owned(),
            })
        }
    };
    let int = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let end = match text(v, "end_type").unwrap_or("count") {
        "count" => RecurrenceEnd::Count(int("count").unwrap_or(1)),
        "end_date" => RecurrenceEnd::Until(date_field(v, "until")?),
        _ => RecurrenceEnd::Never,
    };
    let mut rule = Rule::simple(freq, int("interval").unwrap_or(1), end);
    match freq {
        Freq::Weekly => {
            rule.by_day = WEEKDAY_FIELDS
                .iter()
                .filter(|(k, _)| v.get(*k).and_then(Value::as_bool) == Some(true))
                .map(|(_, d)| *d)
                .collect();
        }
        Freq::Monthly => match text(v, "month_by") {
            Some("day") => {
                let day = text(v, "weekday")
                    .and_then(|w| weekday_from_code(w.get(..2).unwrap_or(w)))
                    .ok_or(MapError::Missing { field: "weekday" })?;
                let pos = match v.get("byday") {
                    Some(Value::String(s)) => s.parse::<i32>().ok(),
                    Some(Value::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
                    _ => None,
                }
                .ok_or(MapError::Missing { field: "byday" })?;
                rule.by_day = vec![day];
                rule.by_set_pos = Some(pos);
            }
            _ => rule.by_month_day = int("day").filter(|d| *d > 0),
        },
        Freq::Daily | Freq::Yearly => {}
    }
    Ok(rule)
}

fn rule_to_odoo(rule: &Rule, event: &Event, out: &mut Map<String, Value>) -> Result<(), MapError> {
    let unrepresentable = |what: &str| MapError::Unrepresentable {
        side: SIDE,
        what: format!("{what} ({rule})"),
    };
    let start = event.local_start_date();
    out.insert("recurrency".into(), json!(true));
    out.insert("interval".into(), json!(rule.interval));
    let kind = match rule.freq {
        Freq::Daily => "daily",
        Freq::Weekly => "weekly",
        Freq::Monthly => "monthly",
        Freq::Yearly => "yearly",
    };
    out.insert("rrule_type".into(), json!(kind));
    for (key, day) in WEEKDAY_FIELDS {
        out.insert(
            key.into(),
            json!(rule.freq == Freq::Weekly && rule.by_day.contains(&day)),
        );
    }
    match rule.freq {
        Freq::Daily | Freq::Weekly => {}
        Freq::Monthly => match (rule.by_month_day, rule.by_day.as_slice(), rule.by_set_pos) {
            (Some(d), [], None) => {
                out.insert("month_by".into(), json!("date"));
                out.insert("day".into(), json!(d));
            }
            (None, [day], Some(pos)) => {
                out.insert("month_by".into(), json!("day"));
                out.insert("weekday".into(), json!(odoo_weekday(*day)));
                out.insert("byday".into(), json!(pos.to_string()));
            }
            _ => {
                return Err(unrepresentable(
                    "a monthly rule on several weekdays or without a position",
                ))
            }
        },
        Freq::Yearly => {
            if !rule.by_day.is_empty() {
                return Err(unrepresentable("a relative yearly rule"));
            }
            if rule.by_month != Some(start.month()) || rule.by_month_day != Some(start.day()) {
                return Err(unrepresentable(
                    "a yearly rule on another day than the start's",
                ));
            }
        }
    }
    match rule.end {
        RecurrenceEnd::Never => {
            out.insert("end_type".into(), json!("forever"));
        }
        RecurrenceEnd::Count(n) => {
            out.insert("end_type".into(), json!("count"));
            out.insert("count".into(), json!(n));
        }
        RecurrenceEnd::Until(d) => {
            out.insert("end_type".into(), json!("end_date"));
            out.insert("until".into(), json!(d.format(DATE).to_string()));
        }
    }
    out.insert("rrule".into(), json!(rule.to_string()));
    Ok(())
}

/// Odoo's `weekday` selection values.
fn odoo_weekday(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "MON",
        Weekday::Tue => "TUE",
        Weekday::Wed => "WED",
        Weekday::Thu => "THU",
        Weekday::Fri => "FRI",
        Weekday::Sat => "SAT",
        Weekday::Sun => "SUN",
    }
}

fn is_teams_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://teams.microsoft.com/")
        || lower.starts_with("https://teams.live.com/")
}
