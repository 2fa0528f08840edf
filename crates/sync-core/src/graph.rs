//! Mapping between the canonical [`Event`] and Microsoft Graph event JSON (v1.0 wire
//! names, `../shared/specs/graph.md` §2).
//!
//! * [`from_graph`] reads a Graph event (as `GET /me/events/{id}` or a delta page returns
//!   it) into canonical form.
//! * [`to_graph`] writes a whole event (the body of a `POST`); [`to_graph_patch`] writes
//!   only the given fields (the body of a `PATCH`, which Graph wants minimal: updating
//!   only `attendees` mails only the changed attendees).
//!
//! Times are written as wall-clock time in the series zone with its Windows name (what
//! every Graph endpoint accepts, and what recurrence expansion across DST needs); single
//! events in the zone they were made in (`original_time_zone`), else UTC. A time in the
//! repeated hour of a DST fall-back is written in UTC, since the wall-clock time would
//! name two instants. All-day events are written
//! as midnight-to-midnight in UTC with `isAllDay`, and read by their *date* whatever zone
//! Graph answers in (Graph returns all-day events midnight-to-midnight in any zone).
//!
//! Not written: `cancelledOccurrences` (the engine deletes the occurrence), `onlineMeeting`
//! (read-only; Graph fills it when `isOnlineMeeting` is set), `organizer`.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};

use crate::canonical::{
    Attendee, Event, Field, MeetingProvider, OnlineMeeting, Privacy, Recurrence, Response, ShowAs,
    When,
};
use crate::error::MapError;
use crate::rrule::{Freq, RecurrenceEnd, Rule};
use crate::tz;

const SIDE: &str = "Microsoft Graph";

/// Reads a Graph event into canonical form.
pub fn from_graph(v: &Value) -> Result<Event, MapError> {
    Ok(read(v)?.normalized())
}

/// Reads a Graph event as seen from the mailbox of `me`. On an event someone else
/// organizes, the user's own answer is in `responseStatus`, and the attendee list of the
/// user's copy may show it stale or not list the user at all (invited via a group);
/// the answer is put on the user's attendee entry so that it compares with Odoo's.
pub fn from_graph_for_user(v: &Value, me: &str) -> Result<Event, MapError> {
    let mut event = read(v)?;
    if !is_organizer(v) {
        if let Some(answer) = str_at(v, "/responseStatus/response") {
            let me = me.trim().to_lowercase();
            let response = response_from_graph(Some(answer));
            match event
                .attendees
                .iter_mut()
                .find(|a| a.email.trim().eq_ignore_ascii_case(&me))
            {
                Some(a) => a.response = response,
                None => event.attendees.push(Attendee {
                    email: me,
                    response,
                }),
            }
        }
    }
    Ok(event.normalized())
}

fn read(v: &Value) -> Result<Event, MapError> {
    let title = str_at(v, "/subject").unwrap_or_default().to_owned();
    let description = match (str_at(v, "/body/contentType"), str_at(v, "/body/content")) {
        (Some(ct), Some(content)) if ct.eq_ignore_ascii_case("text") => {
            crate::html::from_text(content)
        }
        (_, Some(content)) => crate::html::normalize(content),
        _ => String::new(),
    };
    // Outlook's Teams join block is Graph's, not the user's text (see `split_teams_block`;
    // `to_graph_patch` callers put it back when they write the body of an online meeting).
    let description = crate::html::split_teams_block(&description).0;
    let all_day = v
        .pointer("/isAllDay")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let when = if all_day {
        let start = local_at(v, "/start")?.date();
        let end = local_at(v, "/end")?.date();
        When::AllDay {
            start,
            end: if end > start {
                end
            } else {
                start + Duration::days(1)
            },
        }
    } else {
        When::Timed {
            start: instant_at(v, "/start")?,
            end: instant_at(v, "/end")?,
        }
    };
    let time_zone = [
        "/recurrence/range/recurrenceTimeZone",
        "/originalStartTimeZone",
        "/start/timeZone",
    ]
    .iter()
    .filter_map(|p| str_at(v, p))
    .find_map(tz::canonical);
    let attendees = v
        .pointer("/attendees")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter(|a| str_at(a, "/type") != Some("resource"))
                .filter_map(|a| {
                    Some(Attendee {
                        email: str_at(a, "/emailAddress/address")?.to_owned(),
                        response: response_from_graph(str_at(a, "/status/response")),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let show_as = match str_at(v, "/showAs") {
        Some("free") => ShowAs::Free,
        _ => ShowAs::Busy,
    };
    let privacy = match str_at(v, "/sensitivity") {
        Some("private") | Some("personal") => Privacy::Private,
        Some("confidential") => Privacy::Confidential,
        _ => Privacy::Public,
    };
    let categories = v
        .pointer("/categories")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let reminder_minutes = match v.pointer("/isReminderOn").and_then(Value::as_bool) {
        Some(true) => v
            .pointer("/reminderMinutesBeforeStart")
            .and_then(Value::as_u64)
            .and_then(|m| u32::try_from(m).ok()),
        _ => None,
    };
    let recurrence = match v.pointer("/recurrence") {
        Some(r) if r.is_object() => Some(Recurrence {
            rule: rule_from_graph(r)?,
            exdates: cancelled_dates(v),
        }),
        _ => None,
    };
    let online_meeting = if v.pointer("/isOnlineMeeting").and_then(Value::as_bool) == Some(true) {
        let provider = match str_at(v, "/onlineMeetingProvider") {
            Some("skypeForBusiness") => Some(MeetingProvider::SkypeForBusiness),
            Some("skypeForConsumer") => Some(MeetingProvider::SkypeForConsumer),
            Some("teamsForBusiness") => Some(MeetingProvider::TeamsForBusiness),
            _ => None,
        };
        provider.map(|provider| OnlineMeeting {
            provider,
            join_url: str_at(v, "/onlineMeeting/joinUrl")
                .or_else(|| str_at(v, "/onlineMeetingUrl"))
                .map(str::to_owned),
        })
    } else {
        None
    };
    Ok(Event {
        title,
        when,
        time_zone,
        original_time_zone: ["/originalStartTimeZone", "/start/timeZone"]
            .iter()
            .filter_map(|p| str_at(v, p))
            .find_map(tz::canonical),
        location: str_at(v, "/location/displayName")
            .unwrap_or_default()
            .to_owned(),
        description,
        attendees,
        organizer: str_at(v, "/organizer/emailAddress/address").map(str::to_owned),
        show_as,
        privacy,
        categories,
        reminder_minutes,
        recurrence,
        online_meeting,
    })
}

/// The whole event as the body of a create (`POST /me/events`).
pub fn to_graph(event: &Event) -> Result<Value, MapError> {
    to_graph_patch(event, &Field::ALL)
}

/// Only the Graph properties that carry `fields`, as the body of a `PATCH`.
pub fn to_graph_patch(event: &Event, fields: &[Field]) -> Result<Value, MapError> {
    let mut out = Map::new();
    let wants = |f: Field| fields.contains(&f);
    if wants(Field::Title) {
        out.insert("subject".into(), json!(event.title));
    }
    // The zone and the recurrence both change how start/end are written.
    if wants(Field::When) || wants(Field::TimeZone) || wants(Field::Recurrence) {
        let (start, end, all_day) = graph_times(event)?;
        out.insert("start".into(), start);
        out.insert("end".into(), end);
        out.insert("isAllDay".into(), json!(all_day));
    }
    if wants(Field::Location) {
        out.insert("location".into(), json!({ "displayName": event.location }));
    }
    if wants(Field::Description) {
        out.insert(
            "body".into(),
            json!({ "contentType": "html", "content": event.description }),
        );
    }
    if wants(Field::Attendees) {
        let list: Vec<Value> = event
            .attendees
            .iter()
            .map(|a| {
                json!({
                    "emailAddress": { "address": a.email },
                    "type": "required",
                    "status": { "response": response_to_graph(a.response) },
                })
            })
            .collect();
        out.insert("attendees".into(), Value::Array(list));
    }
    if wants(Field::ShowAs) {
        let s = match event.show_as {
            ShowAs::Free => "free",
            ShowAs::Busy => "busy",
        };
        out.insert("showAs".into(), json!(s));
    }
    if wants(Field::Privacy) {
        let s = match event.privacy {
            Privacy::Public => "normal",
            Privacy::Private => "private",
            Privacy::Confidential => "confidential",
        };
        out.insert("sensitivity".into(), json!(s));
    }
    if wants(Field::Categories) {
        out.insert("categories".into(), json!(event.categories));
    }
    if wants(Field::ReminderMinutes) {
        out.insert(
            "isReminderOn".into(),
            json!(event.reminder_minutes.is_some()),
        );
        if let Some(m) = event.reminder_minutes {
            out.insert("reminderMinutesBeforeStart".into(), json!(m));
        }
    }
    if wants(Field::Recurrence) {
        let r = match &event.recurrence {
            Some(rec) => rule_to_graph(&rec.rule, event)?,
            None => Value::Null,
        };
        out.insert("recurrence".into(), r);
    }
    if wants(Field::OnlineMeeting) {
        match &event.online_meeting {
            Some(m) => {
                out.insert("isOnlineMeeting".into(), json!(true));
                let p = match m.provider {
                    MeetingProvider::TeamsForBusiness => "teamsForBusiness",
                    MeetingProvider::SkypeForBusiness => "skypeForBusiness",
                    MeetingProvider::SkypeForConsumer => "skypeForConsumer",
                };
                out.insert("onlineMeetingProvider".into(), json!(p));
            }
            None => {
                out.insert("isOnlineMeeting".into(), json!(false));
            }
        }
    }
    Ok(Value::Object(out))
}

/// The version token to keep in the baseline: `changeKey`.
pub fn version(v: &Value) -> Option<String> {
    str_at(v, "/changeKey").map(str::to_owned)
}

/// `lastModifiedDateTime`, for the newest-wins policy.
pub fn modified(v: &Value) -> Option<DateTime<Utc>> {
    str_at(v, "/lastModifiedDateTime")
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Whether the signed-in user organizes the event (only then may the client change more
/// than its own response). Graph omits the property on some payloads: absent means yes,
/// as for events the user created.
pub fn is_organizer(v: &Value) -> bool {
    v.pointer("/isOrganizer")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// `iCalUId`, the id the first sync matches existing pairs by.
pub fn ical_uid(v: &Value) -> Option<&str> {
    str_at(v, "/iCalUId")
}

/// The original start of an occurrence or exception (the key of a modified occurrence
/// within its series).
pub fn original_start(v: &Value) -> Option<DateTime<Utc>> {
    str_at(v, "/originalStart")
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Whether Graph reports the event as cancelled (treated like a deletion by the engine).
pub fn is_cancelled(v: &Value) -> bool {
    v.pointer("/isCancelled").and_then(Value::as_bool) == Some(true)
        || v.pointer("/@removed").is_some()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn local_at(v: &Value, at: &'static str) -> Result<NaiveDateTime, MapError> {
    let field = if at == "/start" {
        "start.dateTime"
    } else {
        "end.dateTime"
    };
    let text = str_at(v, &format!("{at}/dateTime")).ok_or(MapError::Missing { field })?;
    parse_local(text).ok_or_else(|| MapError::BadValue {
        field,
        value: text.to_owned(),
    })
}

fn parse_local(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim_end_matches('Z');
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .ok()
        .filter(|t| sane_year(t.date()))
}

/// Calendar dates outside years 1–9999 are junk, and near chrono's limits a day's
/// arithmetic would overflow; they are refused as bad values.
pub(crate) fn sane_year(d: NaiveDate) -> bool {
    (1..=9999).contains(&chrono::Datelike::year(&d))
}

fn instant_at(v: &Value, at: &'static str) -> Result<DateTime<Utc>, MapError> {
    let local = local_at(v, at)?;
    let zone = str_at(v, &format!("{at}/timeZone")).unwrap_or("UTC");
    let tz = tz::parse(zone).ok_or_else(|| MapError::UnknownZone(zone.to_owned()))?;
    Ok(local_to_utc(tz, local))
}

/// Wall-clock time in a zone to UTC. In a DST gap (02:30 on a spring-forward night) the
/// time is moved forward by the gap, as Outlook and Odoo (pytz `normalize`) do; in a
/// repeated hour the first (daylight) instant is taken.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        chrono::LocalResult::None => {
            // The offset before the gap applied to the wall time lands after the gap.
            let before = tz.offset_from_utc_datetime(&(local - Duration::hours(3)));
            let offset = chrono::Offset::fix(&before);
            Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(offset.local_minus_utc()))))
        }
    }
}

fn graph_times(event: &Event) -> Result<(Value, Value, bool), MapError> {
    Ok(match event.when {
        When::AllDay { start, end } => (
            json!({ "dateTime": format!("{}T00:00:00", start.format("%Y-%m-%d")), "timeZone": "UTC" }),
            json!({ "dateTime": format!("{}T00:00:00", end.format("%Y-%m-%d")), "timeZone": "UTC" }),
            true,
        ),
        When::Timed { start, end } => {
            let mut zone = event
                .time_zone
                .as_deref()
                .or(event.original_time_zone.as_deref())
                .unwrap_or("Etc/UTC");
            let mut tz = tz::parse(zone).ok_or_else(|| MapError::UnknownZone(zone.to_owned()))?;
            // A wall-clock time in the repeated hour of a DST fall-back names two instants
            // and is read back as the first; write such times in UTC instead (the series'
            // own zone still goes in `recurrenceTimeZone`).
            let exact =
                |t: DateTime<Utc>| local_to_utc(tz, t.with_timezone(&tz).naive_local()) == t;
            if !exact(start) || !exact(end) {
                zone = "Etc/UTC";
                tz = chrono_tz::UTC;
            }
            let name = if zone == "Etc/UTC" {
                "UTC".to_owned()
            } else {
                tz::graph_name(zone)
            };
            let fmt =
                |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S").to_string();
            (
                json!({ "dateTime": fmt(start), "timeZone": name }),
                json!({ "dateTime": fmt(end), "timeZone": name }),
                false,
            )
        }
    })
}

fn response_from_graph(r: Option<&str>) -> Response {
    match r {
        Some("accepted") | Some("organizer") => Response::Accepted,
        Some("tentativelyAccepted") => Response::Tentative,
        Some("declined") => Response::Declined,
        _ => Response::NeedsAction,
    }
}

fn response_to_graph(r: Response) -> &'static str {
    match r {
        Response::NeedsAction => "notResponded",
        Response::Accepted => "accepted",
        Response::Tentative => "tentativelyAccepted",
        Response::Declined => "declined",
    }
}

fn day_from_graph(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_lowercase().as_str() {
        "monday" => Weekday::Mon,
        "tuesday" => Weekday::Tue,
        "wednesday" => Weekday::Wed,
        "thursday" => Weekday::Thu,
        "friday" => Weekday::Fri,
        "saturday" => Weekday::Sat,
        "sunday" => Weekday::Sun,
        _ => return None,
    })
}

fn day_to_graph(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

fn index_from_graph(s: Option<&str>) -> Result<i32, MapError> {
    Ok(match s.unwrap_or("first") {
        "first" => 1,
        "second" => 2,
        "third" => 3,
        "fourth" => 4,
        "last" => -1,
        other => {
            return Err(MapError::BadValue {
                field: "recurrence.pattern.index",
                value: other.to_owned(),
            })
        }
    })
}

fn index_to_graph(p: i32) -> &'static str {
    match p {
        2 => "second",
        3 => "third",
        4 => "fourth",
        -1 => "last",
        _ => "first",
    }
}

/// A Graph `patternedRecurrence` to a canonical rule (before normalisation).
pub fn rule_from_graph(r: &Value) -> Result<Rule, MapError> {
    let p = r.pointer("/pattern").ok_or(MapError::Missing {
        field: "recurrence.pattern",
    })?;
    let kind = str_at(p, "/type").ok_or(MapError::Missing {
        field: "recurrence.pattern.type",
    })?;
    let interval = p
        .pointer("/interval")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1);
    let days: Vec<Weekday> = p
        .pointer("/daysOfWeek")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter_map(Value::as_str)
                .filter_map(day_from_graph)
                .collect()
        })
        .unwrap_or_default();
    // Graph answers unused numbers as 0.
    let num = |ptr: &str| {
        p.pointer(ptr)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
    };
    let end = match str_at(r, "/range/type").unwrap_or("noEnd") {
        "noEnd" => RecurrenceEnd::Never,
        "numbered" => RecurrenceEnd::Count(num_at(r, "/range/numberOfOccurrences").ok_or(
            MapError::Missing {
                field: "recurrence.range.numberOfOccurrences",
            },
        )?),
        "endDate" => {
            let text = str_at(r, "/range/endDate").ok_or(MapError::Missing {
                field: "recurrence.range.endDate",
            })?;
            RecurrenceEnd::Until(
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .filter(|d| sane_year(*d))
                    .ok_or_else(|| MapError::BadValue {
                        field: "recurrence.range.endDate",
                        value: text.to_owned(),
                    })?,
            )
        }
        other => {
            return Err(MapError::BadValue {
                field: "recurrence.range.type",
                value: other.to_owned(),
            })
        }
    };
    let mut rule = Rule::simple(Freq::Daily, interval, end);
    match kind {
        "daily" => {}
        "weekly" => {
            rule.freq = Freq::Weekly;
            rule.by_day = days;
        }
        "absoluteMonthly" => {
            rule.freq = Freq::Monthly;
            rule.by_month_day = num("/dayOfMonth");
        }
        "relativeMonthly" => {
            rule.freq = Freq::Monthly;
            rule.by_day = days;
            rule.by_set_pos = Some(index_from_graph(str_at(p, "/index"))?);
        }
        "absoluteYearly" => {
            rule.freq = Freq::Yearly;
            rule.by_month = num("/month");
            rule.by_month_day = num("/dayOfMonth");
        }
        "relativeYearly" => {
            rule.freq = Freq::Yearly;
            rule.by_month = num("/month");
            rule.by_day = days;
            rule.by_set_pos = Some(index_from_graph(str_at(p, "/index"))?);
        }
        other => {
            return Err(MapError::BadValue {
                field: "recurrence.pattern.type",
                value: other.to_owned(),
            })
        }
    }
    Ok(rule)
}

fn num_at(v: &Value, ptr: &str) -> Option<u32> {
    v.pointer(ptr)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
}

/// A canonical rule to a Graph `patternedRecurrence` for this event's start and zone.
pub fn rule_to_graph(rule: &Rule, event: &Event) -> Result<Value, MapError> {
    let unrepresentable = |what: &str| MapError::Unrepresentable {
        side: SIDE,
        what: format!("{what} ({rule})"),
    };
    let days: Vec<&str> = rule.by_day.iter().map(|d| day_to_graph(*d)).collect();
    let mut pattern = Map::new();
    let kind = match (rule.freq, rule.by_day.is_empty(), rule.by_set_pos) {
        (Freq::Daily, true, None) => "daily",
        (Freq::Weekly, false, None) => "weekly",
        (Freq::Monthly, true, None) => "absoluteMonthly",
        (Freq::Monthly, false, Some(_)) => "relativeMonthly",
        (Freq::Yearly, true, None) => "absoluteYearly",
        (Freq::Yearly, false, Some(_)) => "relativeYearly",
        (Freq::Monthly | Freq::Yearly, false, None) => {
            return Err(unrepresentable("a weekday rule without a position"))
        }
        _ => return Err(unrepresentable("this rule")),
    };
    pattern.insert("type".into(), json!(kind));
    pattern.insert("interval".into(), json!(rule.interval));
    if !days.is_empty() {
        pattern.insert("daysOfWeek".into(), json!(days));
    }
    if rule.freq == Freq::Weekly {
        pattern.insert("firstDayOfWeek".into(), json!("sunday"));
    }
    if let Some(p) = rule.by_set_pos {
        pattern.insert("index".into(), json!(index_to_graph(p)));
    }
    if let Some(d) = rule.by_month_day {
        pattern.insert("dayOfMonth".into(), json!(d));
    }
    if let Some(m) = rule.by_month {
        pattern.insert("month".into(), json!(m));
    }
    let start_date = event.local_start_date().format("%Y-%m-%d").to_string();
    let mut range = Map::new();
    match rule.end {
        RecurrenceEnd::Never => {
            range.insert("type".into(), json!("noEnd"));
        }
        RecurrenceEnd::Count(n) => {
            range.insert("type".into(), json!("numbered"));
            range.insert("numberOfOccurrences".into(), json!(n));
        }
        RecurrenceEnd::Until(d) => {
            range.insert("type".into(), json!("endDate"));
            range.insert("endDate".into(), json!(d.format("%Y-%m-%d").to_string()));
        }
    }
    range.insert("startDate".into(), json!(start_date));
    if let Some(zone) = &event.time_zone {
        range.insert("recurrenceTimeZone".into(), json!(tz::graph_name(zone)));
    }
    Ok(json!({ "pattern": pattern, "range": range }))
}

/// `cancelledOccurrences` entries look like `OID.<master id>.<yyyy-mm-dd>`.
fn cancelled_dates(v: &Value) -> BTreeSet<NaiveDate> {
    v.pointer("/cancelledOccurrences")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .filter_map(|s| s.rsplit('.').next())
                .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .filter(|d| sane_year(*d))
                .collect()
        })
        .unwrap_or_default()
}
