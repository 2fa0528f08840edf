//! Outlook calendar: `/me/events` CRUD, `cancel`, `/instances`, `/me/calendarView` and its
//! delta, recurrence with exceptions and cancelled occurrences, the attendee outbox.
//!
//! An event is stored as a single instance or a series master; occurrences are computed
//! from the master's recurrence, and exceptions and cancellations are kept on the master by
//! original date. Every write bumps the mailbox's change sequence, which delta reads.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};
use sha2::Digest;

use super::http::{GReq, GResp, GResult};
use super::recurrence::Recurrence;
use super::state::{OutboxKind, OutboxMessage, UserInfo, World};
use super::time::{
    local_string, offset_string, parse_local, parse_window_bound, parse_zone, to_utc,
};
use super::{GraphEmulator, GraphError};

/// Page size when the client sends no `Prefer: odata.maxpagesize` / `$top` (Graph's usual
/// default for event collections).
const DEFAULT_PAGE: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    pub subject: String,
    pub body_type: String,
    pub body: String,
    pub start: NaiveDateTime,
    pub start_tz: String,
    pub end: NaiveDateTime,
    pub end_tz: String,
    pub is_all_day: bool,
    pub location: Value,
    pub locations: Value,
    pub attendees: Vec<Value>,
    pub categories: Vec<String>,
    pub show_as: String,
    pub sensitivity: String,
    pub importance: String,
    pub is_reminder_on: bool,
    pub reminder_minutes: i64,
    pub response_requested: bool,
    pub hide_attendees: bool,
    pub allow_new_time_proposals: bool,
    pub is_online_meeting: bool,
    pub provider: String,
    pub is_draft: bool,
}

impl Fields {
    fn start_utc(&self) -> DateTime<Utc> {
        to_utc(self.start, parse_zone(&self.start_tz).unwrap_or(Tz::UTC))
    }
    fn end_utc(&self) -> DateTime<Utc> {
        to_utc(self.end, parse_zone(&self.end_tz).unwrap_or(Tz::UTC))
    }
    fn attendee_addresses(&self) -> Vec<String> {
        self.attendees
            .iter()
            .filter_map(|a| a["emailAddress"]["address"].as_str())
            .map(|s| s.to_ascii_lowercase())
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Exception {
    pub change_key: String,
    pub modified: DateTime<Utc>,
    pub fields: Fields,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub recurrence: Recurrence,
    pub exceptions: BTreeMap<NaiveDate, Exception>,
    pub cancelled: BTreeSet<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct Ev {
    pub id: String,
    pub ical_uid: String,
    pub change_key: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub fields: Fields,
    pub transaction_id: Option<String>,
    pub series: Option<Series>,
    pub online_meeting: Option<Value>,
    pub is_cancelled: bool,
    /// `None` when the mailbox owner organises it; else the organizer's name and address.
    pub organizer: Option<(String, String)>,
    /// For an attendee's copy: the organizer's user id and event id.
    pub organizer_ref: Option<(String, String)>,
    /// The attendee's own response (`notResponded` on a fresh invitation).
    pub response: String,
}

/// A delta round in progress (skiptoken) or finished (deltatoken).
#[derive(Debug, Clone)]
struct DeltaState {
    window: (DateTime<Utc>, DateTime<Utc>),
    generation: u64,
    /// Entries still to page out: instance id and whether it is a removal.
    pending: Arc<Vec<(String, bool)>>,
    /// How much of `pending` earlier pages have shown.
    shown: usize,
    /// In-window instances and their changeKeys when the round ends.
    snapshot: Arc<HashMap<String, String>>,
    /// Mailbox sequence when the round was computed.
    seq: u64,
    /// Whether this token ends a round (deltatoken) rather than continuing one.
    complete: bool,
    /// The initial round's first page is empty with a nextLink [I-7790].
    first_empty: bool,
}

#[derive(Debug, Default)]
pub struct Mailbox {
    pub events: BTreeMap<String, Ev>,
    seq: u64,
    /// Every write, in order.
    changes: Vec<Change>,
    transactions: HashMap<String, String>,
    delta: HashMap<String, DeltaState>,
    generation: u64,
}

impl Mailbox {
    pub fn expire_tokens(&mut self) {
        self.generation += 1;
    }

    /// Records a write to `id` (an event or an occurrence id), with the event as it is now,
    /// so a later delta round can tell which occurrences a series had before and after.
    fn touch(&mut self, id: &str, is_master: bool) {
        self.seq += 1;
        let (event, whole) = match parse_target(id) {
            Target::Event(i) => (i, true),
            Target::Occurrence(m, _) => (m, false),
        };
        let after = self.events.get(&event).cloned().map(Arc::new);
        self.changes.push(Change {
            seq: self.seq,
            id: id.to_string(),
            is_master,
            event,
            whole,
            after,
        });
    }
}

/// One write to a mailbox.
#[derive(Debug)]
struct Change {
    seq: u64,
    /// The instance or event id the write named.
    id: String,
    /// Whether `id` names a series master.
    is_master: bool,
    /// The event (single or series master) the write belongs to.
    event: String,
    /// Whether the write addressed the whole event rather than one occurrence.
    whole: bool,
    /// That event after the write (`None` once deleted).
    after: Option<Arc<Ev>>,
}

/// How far past a delta window the occurrences of a changed series are reported as
/// `@removed` (a series without end has no last occurrence; an emulator choice).
const SERIES_REMOVED_HORIZON_DAYS: i64 = 366;

/// The instance ids a version of an event puts in calendarView up to `horizon`: the event
/// itself when single, else its occurrences and exceptions (cancelled ones excluded).
fn instance_ids(ev: &Ev, horizon: NaiveDate) -> Vec<String> {
    match &ev.series {
        None => vec![ev.id.clone()],
        Some(s) => s
            .recurrence
            .dates_until(horizon)
            .into_iter()
            .filter(|d| occurrence_fields(ev, *d).is_some())
            .map(|d| occurrence_id(&ev.id, d))
            .collect(),
    }
}

/// What an id names.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Event(String),
    Occurrence(String, NaiveDate),
}

const OCC_MARK: &str = "=OC";

fn occurrence_id(master: &str, date: NaiveDate) -> String {
    format!("{master}{OCC_MARK}{}", date.format("%Y%m%d"))
}

fn parse_target(id: &str) -> Target {
    if let Some((master, date)) = id.rsplit_once(OCC_MARK) {
        if let Ok(d) = NaiveDate::parse_from_str(date, "%Y%m%d") {
            return Target::Occurrence(master.to_string(), d);
        }
    }
    Target::Event(id.to_string())
}

// ---------------------------------------------------------------- parsing and validation

const SHOW_AS: &[&str] = &[
    "free",
    "tentative",
    "busy",
    "oof",
    "workingElsewhere",
    "unknown",
];
const SENSITIVITY: &[&str] = &["normal", "personal", "private", "confidential"];
const IMPORTANCE: &[&str] = &["low", "normal", "high"];
const PROVIDERS: &[&str] = &[
    "unknown",
    "teamsForBusiness",
    "skypeForBusiness",
    "skypeForConsumer",
];
const ATTENDEE_TYPES: &[&str] = &["required", "optional", "resource"];
const RESPONSES: &[&str] = &[
    "none",
    "organizer",
    "tentativelyAccepted",
    "accepted",
    "declined",
    "notResponded",
];
const LOCATION_KEYS: &[&str] = &[
    "displayName",
    "locationType",
    "uniqueId",
    "uniqueIdType",
    "address",
    "coordinates",
    "locationEmailAddress",
    "locationUri",
];

/// Properties the service computes; a client may send them back and they are ignored.
const READ_ONLY: &[&str] = &[
    "id",
    "@odata.etag",
    "@odata.type",
    "@odata.context",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "iCalUId",
    "type",
    "seriesMasterId",
    "organizer",
    "isOrganizer",
    "responseStatus",
    "webLink",
    "onlineMeeting",
    "onlineMeetingUrl",
    "bodyPreview",
    "hasAttachments",
    "isCancelled",
    "originalStart",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "cancelledOccurrences",
];

fn body_read(msg: String) -> GraphError {
    GraphError::bad_request("RequestBodyRead", msg)
}

fn enum_value(v: &Value, allowed: &[&str], type_name: &str) -> Result<String, GraphError> {
    match v.as_str() {
        Some(s) if allowed.contains(&s) => Ok(s.to_string()),
        _ => Err(body_read(format!(
            "Cannot convert the literal '{}' to the expected type 'microsoft.graph.{type_name}'.",
            v.as_str().unwrap_or(&v.to_string())
        ))),
    }
}

fn boolean(v: &Value, name: &str) -> Result<bool, GraphError> {
    v.as_bool().ok_or_else(|| {
        body_read(format!(
            "Cannot convert a value to target type 'Edm.Boolean' for property '{name}'."
        ))
    })
}

fn string(v: &Value, name: &str) -> Result<String, GraphError> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        _ => Err(body_read(format!(
            "Cannot convert a value to target type 'Edm.String' for property '{name}'."
        ))),
    }
}

fn date_time_tz(v: &Value, name: &str) -> Result<(NaiveDateTime, String), GraphError> {
    let tz = v
        .get("timeZone")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            GraphError::bad_request(
                "TimeZoneNotSupportedException",
                "A valid TimeZone value must be specified. The following TimeZone value is not supported: ''.",
            )
        })?;
    let zone = parse_zone(tz)?;
    let raw = v
        .get("dateTime")
        .and_then(Value::as_str)
        .ok_or_else(|| body_read(format!("{name}.dateTime is required.")))?;
    // An offset inside the value is converted into the named zone.
    let local = match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => t.with_timezone(&zone).naive_local(),
        Err(_) => parse_local(raw).ok_or_else(|| {
            body_read(format!(
                "The value '{raw}' of {name}.dateTime is not a valid date and time."
            ))
        })?,
    };
    Ok((local, tz.to_string()))
}

fn location(v: &Value) -> Result<Value, GraphError> {
    let Some(obj) = v.as_object() else {
        return Ok(empty_location());
    };
    for k in obj.keys() {
        if !LOCATION_KEYS.contains(&k.as_str()) && !k.starts_with("@odata") {
            return Err(body_read(format!(
                "The property '{k}' does not exist on type 'microsoft.graph.location'."
            )));
        }
    }
    let mut out = empty_location();
    for (k, val) in obj {
        if !k.starts_with("@odata") {
            out[k] = val.clone();
        }
    }
    if out["displayName"].as_str().is_some_and(|s| !s.is_empty())
        && obj.get("locationType").is_none()
    {
        out["locationType"] = json!("default");
    }
    Ok(out)
}

fn empty_location() -> Value {
    json!({"displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {}, "coordinates": {}})
}

fn attendees(v: &Value) -> Result<Vec<Value>, GraphError> {
    let Some(list) = v.as_array() else {
        return Err(body_read(
            "attendees must be a collection of microsoft.graph.attendee.".into(),
        ));
    };
    if list.len() > 500 {
        // At most 500 attendees [EV].
        return Err(GraphError::bad_request(
            "ErrorInvalidRequest",
            "An event can have at most 500 attendees.",
        ));
    }
    list.iter()
        .map(|a| {
            let address = a["emailAddress"]["address"]
                .as_str()
                .filter(|s| s.contains('@'))
                .ok_or_else(|| {
                    GraphError::bad_request(
                        "ErrorInvalidRecipients",
                        "At least one recipient isn't valid.",
                    )
                })?;
            let kind = match a.get("type") {
                None | Some(Value::Null) => "required".to_string(),
                Some(t) => enum_value(t, ATTENDEE_TYPES, "attendeeType")?,
            };
            let response = match a.get("status").and_then(|s| s.get("response")) {
                None | Some(Value::Null) => "none".to_string(),
                Some(r) => enum_value(r, RESPONSES, "responseType")?,
            };
            Ok(json!({
                "type": kind,
                "status": {"response": response, "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {
                    "name": a["emailAddress"]["name"].as_str().unwrap_or(address),
                    "address": address,
                },
            }))
        })
        .collect()
}

/// What a create or PATCH body asks for, applied to `f`. Returns the changed property names
/// and the recurrence change (`Some(None)` removes it).
#[allow(clippy::type_complexity)]
fn apply(
    f: &mut Fields,
    body: &Map<String, Value>,
) -> Result<(BTreeSet<String>, Option<Option<Value>>), GraphError> {
    let before = f.clone();
    let mut recurrence = None;
    for (k, v) in body {
        match k.as_str() {
            "subject" => f.subject = string(v, k)?,
            "body" => {
                f.body_type = match v.get("contentType") {
                    None | Some(Value::Null) => "text".into(),
                    Some(t) => enum_value(t, &["text", "html"], "bodyType")?,
                };
                f.body = v.get("content").and_then(Value::as_str).unwrap_or("").to_string();
            }
            "start" => (f.start, f.start_tz) = date_time_tz(v, "start")?,
            "end" => (f.end, f.end_tz) = date_time_tz(v, "end")?,
            "isAllDay" => f.is_all_day = boolean(v, k)?,
            "location" => {
                f.location = location(v)?;
                // Setting location replaces locations [EV].
                f.locations = if f.location["displayName"].as_str().unwrap_or("").is_empty() {
                    json!([])
                } else {
                    json!([f.location.clone()])
                };
            }
            "locations" => {
                let list = v.as_array().cloned().unwrap_or_default();
                let parsed = list.iter().map(location).collect::<Result<Vec<_>, _>>()?;
                f.location = parsed.first().cloned().unwrap_or_else(empty_location);
                f.locations = Value::Array(parsed);
            }
            "attendees" => {
                let mut next = attendees(v)?;
                // A replaced list keeps the responses of attendees who stay.
                for (a, raw) in next.iter_mut().zip(v.as_array().into_iter().flatten()) {
                    if raw.get("status").is_some() {
                        continue;
                    }
                    let addr = a["emailAddress"]["address"].as_str().unwrap_or("").to_ascii_lowercase();
                    if let Some(old) = f.attendees.iter().find(|o| {
                        o["emailAddress"]["address"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&addr))
                    }) {
                        a["status"] = old["status"].clone();
                    }
                }
                f.attendees = next;
            }
            "categories" => {
                f.categories = v
                    .as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                    .unwrap_or_default()
            }
            "showAs" => f.show_as = enum_value(v, SHOW_AS, "freeBusyStatus")?,
            "sensitivity" => f.sensitivity = enum_value(v, SENSITIVITY, "sensitivity")?,
            "importance" => f.importance = enum_value(v, IMPORTANCE, "importance")?,
            "isReminderOn" => f.is_reminder_on = boolean(v, k)?,
            "reminderMinutesBeforeStart" => {
                f.reminder_minutes = v
                    .as_i64()
                    .ok_or_else(|| body_read("reminderMinutesBeforeStart must be an Edm.Int32.".into()))?
            }
            "responseRequested" => f.response_requested = boolean(v, k)?,
            "hideAttendees" => f.hide_attendees = boolean(v, k)?,
            "allowNewTimeProposals" => f.allow_new_time_proposals = boolean(v, k)?,
            // Once online, the meeting stays online [EV].
            "isOnlineMeeting" => f.is_online_meeting = f.is_online_meeting || boolean(v, k)?,
            "onlineMeetingProvider" => {
                let p = enum_value(v, PROVIDERS, "onlineMeetingProviderType")?;
                // The provider can't be changed once set [EV].
                if f.provider == "unknown" {
                    f.provider = p;
                }
            }
            "isDraft" => f.is_draft = boolean(v, k)?,
            "recurrence" => recurrence = Some(if v.is_null() { None } else { Some(v.clone()) }),
            "transactionId" => {}
            other if READ_ONLY.contains(&other) || other.starts_with('@') => {}
            other => {
                return Err(body_read(format!(
                    "The property '{other}' does not exist on type 'microsoft.graph.event'. Make sure to only use property names that are defined by the type or mark the type as open type."
                )))
            }
        }
    }
    let mut changed = BTreeSet::new();
    macro_rules! diff {
        ($($field:ident => $name:literal),*) => {$(
            if before.$field != f.$field { changed.insert($name.to_string()); }
        )*};
    }
    diff!(subject => "subject", body => "body", start => "start", start_tz => "start", end => "end",
        end_tz => "end", is_all_day => "isAllDay", location => "location", attendees => "attendees",
        categories => "categories", show_as => "showAs", sensitivity => "sensitivity",
        importance => "importance", is_online_meeting => "isOnlineMeeting");
    if recurrence.is_some() {
        changed.insert("recurrence".into());
    }
    Ok((changed, recurrence))
}

fn validate(f: &Fields) -> Result<(), GraphError> {
    // [obs] microsoft-graph-docs#7919: an invalid start/end answers this.
    let failed = || {
        GraphError::bad_request(
            "ErrorPropertyValidationFailure",
            "At least one property failed validation.",
        )
    };
    if f.end_utc() < f.start_utc() {
        return Err(failed());
    }
    if f.is_all_day {
        // Midnight start and end in the same zone, whole days [EV].
        let midnight = |t: NaiveDateTime| t.time() == chrono::NaiveTime::MIN;
        if !midnight(f.start) || !midnight(f.end) || f.start_tz != f.end_tz || f.end <= f.start {
            return Err(failed());
        }
    }
    Ok(())
}

fn default_fields() -> Fields {
    let zero = NaiveDateTime::default();
    Fields {
        subject: String::new(),
        body_type: "html".into(),
        body: String::new(),
        start: zero,
        start_tz: "UTC".into(),
        end: zero,
        end_tz: "UTC".into(),
        is_all_day: false,
        location: empty_location(),
        locations: json!([]),
        attendees: Vec::new(),
        categories: Vec::new(),
        show_as: "busy".into(),
        sensitivity: "normal".into(),
        importance: "normal".into(),
        is_reminder_on: true,
        reminder_minutes: 15,
        response_requested: true,
        hide_attendees: false,
        allow_new_time_proposals: true,
        is_online_meeting: false,
        provider: "unknown".into(),
        is_draft: false,
    }
}

// ------------------------------------------------------------------------- rendering

struct View {
    tz: Option<(String, Tz)>,
    text_body: bool,
    select_cancelled: bool,
}

impl View {
    fn from(req: &GReq) -> Result<Self, GraphError> {
        let tz = match req.prefer("outlook.timezone") {
            Some(name) => Some((name.clone(), parse_zone(&name)?)),
            None => None,
        };
        Ok(Self {
            tz,
            text_body: req
                .prefer("outlook.body-content-type")
                .is_some_and(|v| v.eq_ignore_ascii_case("text")),
            select_cancelled: req
                .query("$select")
                .is_some_and(|s| s.split(',').any(|p| p.trim() == "cancelledOccurrences")),
        })
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

fn render_body(f: &Fields, text: bool) -> (Value, String) {
    let plain = if f.body_type == "html" {
        strip_tags(&f.body)
    } else {
        f.body.clone()
    };
    let preview: String = plain.chars().take(255).collect();
    if text {
        return (json!({"contentType": "text", "content": plain}), preview);
    }
    // The service wraps HTML in a full document [EVC].
    let inner = if f.body_type == "html" {
        f.body.clone()
    } else {
        html_escape(&f.body).replace('\n', "<br>\r\n")
    };
    let html = if inner.trim_start().starts_with("<html") {
        inner
    } else {
        format!("<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n{inner}\r\n</body>\r\n</html>\r\n")
    };
    (json!({"contentType": "html", "content": html}), preview)
}

fn render_time(local: NaiveDateTime, tz_name: &str, all_day: bool, view: &View) -> Value {
    let zone = parse_zone(tz_name).unwrap_or(Tz::UTC);
    let (name, target) = match &view.tz {
        Some((n, z)) => (n.clone(), *z),
        None => ("UTC".to_string(), Tz::UTC),
    };
    if all_day {
        // All-day events come back midnight to midnight whatever the zone [I-1802].
        return json!({"dateTime": local_string(local), "timeZone": name});
    }
    let t = to_utc(local, zone).with_timezone(&target).naive_local();
    json!({"dateTime": local_string(t), "timeZone": name})
}

fn ical_uid(seed: &str) -> String {
    // 040000008200E00074C5B7101A82E008 prefix, then hex [EV][EVC].
    let h = sha2::Sha256::digest(seed.as_bytes());
    format!(
        "040000008200E00074C5B7101A82E00800000000{}",
        hex::encode_upper(&h[..])
    )
    .chars()
    .take(112)
    .collect()
}

struct Instance<'a> {
    ev: &'a Ev,
    date: Option<NaiveDate>,
    fields: &'a Fields,
    change_key: &'a str,
    modified: DateTime<Utc>,
}

impl Instance<'_> {
    fn id(&self) -> String {
        match self.date {
            Some(d) => occurrence_id(&self.ev.id, d),
            None => self.ev.id.clone(),
        }
    }
    fn kind(&self) -> &'static str {
        match (self.date, &self.ev.series) {
            (None, Some(_)) => "seriesMaster",
            (None, None) => "singleInstance",
            (Some(d), Some(s)) if s.exceptions.contains_key(&d) => "exception",
            _ => "occurrence",
        }
    }
}

fn render(inst: &Instance<'_>, user: &UserInfo, view: &View) -> Value {
    let f = inst.fields;
    let ev = inst.ev;
    let id = inst.id();
    let (body, preview) = render_body(f, view.text_body);
    let kind = inst.kind();
    let mut v = json!({
        "@odata.etag": format!("W/\"{}\"", inst.change_key),
        "id": id,
        "createdDateTime": offset_string(ev.created),
        "lastModifiedDateTime": offset_string(inst.modified),
        "changeKey": inst.change_key,
        "categories": f.categories,
        "originalStartTimeZone": f.start_tz,
        "originalEndTimeZone": f.end_tz,
        "iCalUId": match inst.date { Some(d) => ical_uid(&format!("{}{}", ev.ical_uid, d)), None => ev.ical_uid.clone() },
        "reminderMinutesBeforeStart": f.reminder_minutes,
        "isReminderOn": f.is_reminder_on,
        "hasAttachments": false,
        "subject": f.subject,
        "bodyPreview": preview,
        "importance": f.importance,
        "sensitivity": f.sensitivity,
        "isAllDay": f.is_all_day,
        "isCancelled": ev.is_cancelled,
        "isOrganizer": ev.organizer.is_none(),
        "responseRequested": f.response_requested,
        "seriesMasterId": if inst.date.is_some() { json!(ev.id) } else { Value::Null },
        "showAs": f.show_as,
        "type": kind,
        "webLink": format!("https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item", id),
    });
    let more = json!({
        "onlineMeetingUrl": Value::Null,
        "isOnlineMeeting": ev.online_meeting.is_some(),
        "onlineMeetingProvider": f.provider,
        "allowNewTimeProposals": f.allow_new_time_proposals,
        "isDraft": f.is_draft,
        "hideAttendees": f.hide_attendees,
        "responseStatus": {"response": ev.response, "time": "0001-01-01T00:00:00Z"},
        "body": body,
        "start": render_time(f.start, &f.start_tz, f.is_all_day, view),
        "end": render_time(f.end, &f.end_tz, f.is_all_day, view),
        "location": f.location,
        "locations": f.locations,
        "recurrence": match (&ev.series, inst.date) {
            (Some(s), None) => s.recurrence.to_json(),
            _ => Value::Null,
        },
        "attendees": f.attendees,
        "organizer": match &ev.organizer {
            Some((name, address)) => json!({"emailAddress": {"name": name, "address": address}}),
            None => json!({"emailAddress": {"name": user.display_name, "address": user.mail}}),
        },
        "onlineMeeting": ev.online_meeting.clone().unwrap_or(Value::Null),
    });
    if let (Some(map), Value::Object(more)) = (v.as_object_mut(), more) {
        map.extend(more);
    }
    if let Some(t) = &ev.transaction_id {
        v["transactionId"] = json!(t);
    }
    if let Some(d) = inst.date {
        let orig = ev.fields.start.time();
        let local = d.and_time(orig);
        let zone = parse_zone(&ev.fields.start_tz).unwrap_or(Tz::UTC);
        v["originalStart"] = json!(offset_string(to_utc(local, zone)));
    }
    if view.select_cancelled {
        if let Some(s) = &ev.series {
            v["cancelledOccurrences"] = json!(s
                .cancelled
                .iter()
                .map(|d| format!("OID.{}.{}", ev.id, d))
                .collect::<Vec<_>>());
        }
    }
    v
}

// ------------------------------------------------------------------------ instances

/// The occurrence (or exception) of `ev` on `date`, if the series has one there.
fn occurrence_fields(ev: &Ev, date: NaiveDate) -> Option<Fields> {
    let s = ev.series.as_ref()?;
    if s.cancelled.contains(&date) {
        return None;
    }
    if let Some(x) = s.exceptions.get(&date) {
        return Some(x.fields.clone());
    }
    if !s.recurrence.dates_until(date).contains(&date) {
        return None;
    }
    let mut f = ev.fields.clone();
    let len = ev.fields.end - ev.fields.start;
    f.start = date.and_time(ev.fields.start.time());
    f.end = f.start + len;
    Some(f)
}

/// Owned instance data, so callers can drop the borrow of the mailbox.
#[derive(Clone)]
struct Inst {
    id: String,
    master: String,
    date: Option<NaiveDate>,
    change_key: String,
    start: DateTime<Utc>,
}

fn instances_in(
    mb: &Mailbox,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    only: Option<&str>,
) -> Vec<Inst> {
    let mut out = Vec::new();
    let overlaps =
        |s: DateTime<Utc>, e: DateTime<Utc>| s < to && (e > from || (s == e && s >= from));
    for ev in mb.events.values() {
        if only.is_some_and(|m| m != ev.id) {
            continue;
        }
        match &ev.series {
            None => {
                if only.is_none() && overlaps(ev.fields.start_utc(), ev.fields.end_utc()) {
                    out.push(Inst {
                        id: ev.id.clone(),
                        master: ev.id.clone(),
                        date: None,
                        change_key: ev.change_key.clone(),
                        start: ev.fields.start_utc(),
                    });
                }
            }
            Some(s) => {
                let horizon = (to + Duration::days(2)).date_naive();
                for d in s.recurrence.dates_until(horizon) {
                    let Some(f) = occurrence_fields(ev, d) else {
                        continue;
                    };
                    let (start, end) = (f.start_utc(), f.end_utc());
                    if !overlaps(start, end) {
                        continue;
                    }
                    let ck = s
                        .exceptions
                        .get(&d)
                        .map(|x| x.change_key.clone())
                        .unwrap_or_else(|| ev.change_key.clone());
                    out.push(Inst {
                        id: occurrence_id(&ev.id, d),
                        master: ev.id.clone(),
                        date: Some(d),
                        change_key: ck,
                        start,
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.id.cmp(&b.id)));
    out
}

fn render_inst(mb: &Mailbox, inst: &Inst, user: &UserInfo, view: &View) -> Option<Value> {
    let ev = mb.events.get(&inst.master)?;
    render_target(ev, inst.date, user, view)
}

fn render_target(ev: &Ev, date: Option<NaiveDate>, user: &UserInfo, view: &View) -> Option<Value> {
    match date {
        None => Some(render(
            &Instance {
                ev,
                date: None,
                fields: &ev.fields,
                change_key: &ev.change_key,
                modified: ev.modified,
            },
            user,
            view,
        )),
        Some(d) => {
            let f = occurrence_fields(ev, d)?;
            let exc = ev.series.as_ref().and_then(|s| s.exceptions.get(&d));
            let (ck, modified) = match exc {
                Some(x) => (x.change_key.as_str(), x.modified),
                None => (ev.change_key.as_str(), ev.modified),
            };
            Some(render(
                &Instance {
                    ev,
                    date: Some(d),
                    fields: &f,
                    change_key: ck,
                    modified,
                },
                user,
                view,
            ))
        }
    }
}

// ------------------------------------------------------------------------- handlers

pub fn handle(em: &GraphEmulator, req: &GReq, rest: &[&str]) -> GResult {
    // `/me/calendar/events…` is the same collection as `/me/events…` (primary calendar).
    // So is `/me/calendars/{primary id}/events…`; other calendars don't exist here.
    let primary = primary_calendar_id(&req.user_id);
    let rest: Vec<&str> = match rest {
        ["calendar"] => return calendar_resource(em, req),
        ["calendar", tail @ ..] => tail.to_vec(),
        ["calendars"] if req.method == Method::GET => {
            let mut v = match calendar_resource(em, req)?.body {
                super::http::GBody::Json(v) => v,
                _ => Value::Null,
            };
            if let Some(o) = v.as_object_mut() {
                o.remove("@odata.context");
            }
            return Ok(GResp::ok(json!({
                "@odata.context": format!("{}/$metadata#users('{}')/calendars", req.base(), req.user_id),
                "value": [v],
            })));
        }
        ["calendars", id] if *id == primary && req.method == Method::GET => {
            return calendar_resource(em, req)
        }
        ["calendars", id, tail @ ..] if *id == primary => tail.to_vec(),
        ["calendars", ..] => return Err(GraphError::outlook_not_found()),
        _ => rest.to_vec(),
    };
    let view = View::from(req)?;
    let m = &req.method;
    match rest.as_slice() {
        ["events"] if m == Method::GET => list_events(em, req, &view),
        ["events"] if m == Method::POST => create(em, req, &view),
        ["events", id] if m == Method::GET => get_one(em, req, id, &view),
        ["events", id] if m == Method::PATCH => update(em, req, id, &view),
        ["events", id] if m == Method::DELETE => {
            delete(em, req, id, None, OutboxKind::Cancellation, "deleted")
        }
        ["events", id, "cancel"] if m == Method::POST => {
            let body = req.json()?;
            let comment = body
                .get("comment")
                .and_then(Value::as_str)
                .map(str::to_string);
            delete(em, req, id, comment, OutboxKind::Cancellation, "cancelled")
                .map(|_| GResp::empty(StatusCode::ACCEPTED))
        }
        ["events", id, "permanentDelete"] if m == Method::POST => {
            delete(em, req, id, None, OutboxKind::Cancellation, "deleted")
        }
        ["events", id, "instances"] if m == Method::GET => instances(em, req, id, &view),
        ["events", id, "accept"] if m == Method::POST => respond(em, req, id, "accepted"),
        ["events", id, "tentativelyAccept"] if m == Method::POST => {
            respond(em, req, id, "tentativelyAccepted")
        }
        ["events", id, "decline"] if m == Method::POST => respond(em, req, id, "declined"),
        ["calendarView" | "calendarview"] if m == Method::GET => calendar_view(em, req, &view),
        ["calendarView" | "calendarview", "delta"] if m == Method::GET => delta(em, req, &view),
        [_, ..]
            if !matches!(
                *m,
                Method::GET | Method::POST | Method::PATCH | Method::DELETE
            ) =>
        {
            Err(GraphError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "ErrorInvalidRequest",
                "The OData request is not supported.",
            ))
        }
        [first, ..] => Err(GraphError::unsupported_segment(first)),
        [] => Err(GraphError::bad_request("BadRequest", "Invalid request.")),
    }
}

fn calendar_resource(em: &GraphEmulator, req: &GReq) -> GResult {
    let world = em.world();
    let u = world.user(&req.user_id)?;
    Ok(GResp::ok(json!({
        "@odata.context": format!("{}/$metadata#users('{}')/calendar/$entity", req.base(), u.id),
        "id": primary_calendar_id(&u.id),
        "name": "Calendar",
        "canEdit": true,
        "isDefaultCalendar": true,
        "owner": {"name": u.display_name, "address": u.mail},
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
    })))
}

fn mailbox_and_user<'w>(
    world: &'w mut World,
    user_id: &str,
) -> Result<(&'w mut Mailbox, UserInfo), GraphError> {
    let user = world.user(user_id)?.clone();
    let mb = world
        .mailboxes
        .get_mut(user_id)
        .ok_or_else(GraphError::outlook_not_found)?;
    Ok((mb, user))
}

fn new_change_key(world: &mut World) -> String {
    let bytes: Vec<u8> = (0..20)
        .map(|_| rand::Rng::random::<u8>(&mut world.rng))
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn teams_meeting(world: &mut World, user: &UserInfo) -> Value {
    let thread = world.opaque(24);
    let conf: u64 = rand::Rng::random_range(&mut world.rng, 100_000_000..999_999_999);
    json!({
        "joinUrl": format!(
            "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0?context=%7b%22Tid%22%3a%22{}%22%2c%22Oid%22%3a%22{}%22%7d",
            user.tenant_id, user.id
        ),
        "conferenceId": conf.to_string(),
        "tollNumber": "+1 323-555-0166",
        "tollFreeNumbers": [],
        "quickDial": format!("+1 323-555-0166,,{conf}#"),
        "phones": [{"number": "+1 323-555-0166", "type": "business", "region": null, "language": null}],
    })
}

/// Attaches a Teams meeting when asked for; Outlook also appends the meeting blob to the
/// body, which a client must keep on later body updates [EVU].
fn ensure_online(world: &mut World, ev: &mut Ev, user: &UserInfo) {
    if ev.fields.is_online_meeting && ev.online_meeting.is_none() {
        if ev.fields.provider == "unknown" {
            ev.fields.provider = "teamsForBusiness".into();
        }
        if ev.fields.provider == "teamsForBusiness" {
            let m = teams_meeting(world, user);
            let url = m["joinUrl"].as_str().unwrap_or_default().to_string();
            if ev.fields.body_type == "text" {
                ev.fields.body_type = "html".into();
                ev.fields.body = html_escape(&ev.fields.body).replace('\n', "<br>");
            }
            ev.fields.body.push_str(&format!(
                "<div>________________________________________________________________________________</div><div><b>Microsoft Teams meeting</b></div><div><a href=\"{url}\">Join the meeting now</a></div>"
            ));
            ev.online_meeting = Some(m);
        }
    }
}

#[allow(clippy::too_many_arguments)] // one outbox record, field by field
fn mail(
    world: &mut World,
    user: &UserInfo,
    kind: OutboxKind,
    to: Vec<String>,
    event_id: &str,
    subject: &str,
    reason: &str,
    comment: Option<String>,
    now: DateTime<Utc>,
) {
    let msg = OutboxMessage {
        seq: 0,
        at: now,
        kind,
        from: user.mail.clone(),
        to,
        event_id: event_id.to_string(),
        subject: subject.to_string(),
        reason: reason.to_string(),
        comment,
    };
    deliver_copies(world, user, &msg, now);
    world.send_mail(msg);
}

/// Puts what a mail says into the recipients' calendars when they are emulated users: an
/// invitation creates the attendee's copy (not the organizer's, `notResponded`), an update
/// refreshes it, a cancellation of the whole meeting marks it cancelled ("Canceled: " title).
fn deliver_copies(
    world: &mut World,
    organizer: &UserInfo,
    msg: &OutboxMessage,
    now: DateTime<Utc>,
) {
    let (master_id, occurrence) = match parse_target(&msg.event_id) {
        Target::Event(i) => (i, None),
        Target::Occurrence(m, d) => (m, Some(d)),
    };
    let source = world
        .mailboxes
        .get(&organizer.id)
        .and_then(|m| m.events.get(&master_id))
        .cloned();
    let link = Some((organizer.id.clone(), master_id.clone()));
    for address in &msg.to {
        let Some(rid) = world
            .users
            .values()
            .find(|u| u.mail.eq_ignore_ascii_case(address) && u.id != organizer.id)
            .map(|u| u.id.clone())
        else {
            continue;
        };
        let existing = world
            .mailboxes
            .get(&rid)
            .and_then(|m| m.events.values().find(|e| e.organizer_ref == link))
            .map(|e| e.id.clone());
        let ck = new_change_key(world);
        let new_id = format!("AAMkA{}", world.opaque(48));
        let Some(mb) = world.mailboxes.get_mut(&rid) else {
            continue;
        };
        let (id, change) = match (existing, &source, occurrence) {
            (Some(cid), _, None) if msg.kind == OutboxKind::Cancellation => {
                let Some(copy) = mb.events.get_mut(&cid) else {
                    continue;
                };
                if !copy.is_cancelled {
                    copy.is_cancelled = true;
                    copy.fields.subject = format!("Canceled: {}", copy.fields.subject);
                }
                copy.change_key = ck;
                copy.modified = now;
                (cid, "updated")
            }
            // A message about one occurrence changes only that occurrence of the copy:
            // the organizer's exception is copied with its own changeKey, and a cancelled
            // occurrence (or one the attendee was removed from) leaves the copy.
            (Some(cid), Some(src), Some(d)) => {
                let Some(series) = mb.events.get_mut(&cid).and_then(|c| c.series.as_mut()) else {
                    continue;
                };
                let src_series = src.series.as_ref();
                let exception = src_series.and_then(|s| s.exceptions.get(&d));
                let gone = src_series.is_some_and(|s| s.cancelled.contains(&d))
                    || msg.kind == OutboxKind::Cancellation;
                if gone {
                    series.exceptions.remove(&d);
                    series.cancelled.insert(d);
                } else if let Some(x) = exception {
                    // (An attendee added back to an occurrence gets it back.)
                    series.cancelled.remove(&d);
                    series.exceptions.insert(
                        d,
                        Exception {
                            change_key: ck,
                            modified: now,
                            fields: x.fields.clone(),
                        },
                    );
                } else {
                    continue;
                }
                let oid = occurrence_id(&cid, d);
                mb.touch(&oid, false);
                world
                    .pending_notify
                    .push((rid, oid, if gone { "deleted" } else { "updated" }));
                continue;
            }
            (Some(cid), Some(src), None) => {
                let Some(copy) = mb.events.get_mut(&cid) else {
                    continue;
                };
                copy.fields = src.fields.clone();
                copy.series = src.series.clone();
                copy.online_meeting = src.online_meeting.clone();
                copy.is_cancelled = false;
                copy.change_key = ck;
                copy.modified = now;
                (cid, "updated")
            }
            (None, Some(src), _) if msg.kind == OutboxKind::Invitation => {
                let mut copy = src.clone();
                copy.id = new_id.clone();
                copy.change_key = ck;
                copy.created = now;
                copy.modified = now;
                copy.transaction_id = None;
                copy.organizer = Some((organizer.display_name.clone(), organizer.mail.clone()));
                copy.organizer_ref = link.clone();
                copy.response = "notResponded".into();
                mb.events.insert(new_id.clone(), copy);
                (new_id, "created")
            }
            _ => continue,
        };
        let is_master = mb.events.get(&id).is_some_and(|e| e.series.is_some());
        mb.touch(&id, is_master);
        world.pending_notify.push((rid, id, change));
    }
}

/// Sends the change notifications that attendee copies owe (call without the lock).
fn flush_copies(em: &GraphEmulator) {
    let owed = std::mem::take(&mut em.world().pending_notify);
    for (user, id, change) in owed {
        super::subscriptions::notify_event(em, &user, &id, change);
    }
}

fn create(em: &GraphEmulator, req: &GReq, view: &View) -> GResult {
    let body = req.json()?;
    let obj = body
        .as_object()
        .ok_or_else(|| GraphError::invalid_body("an event object is required"))?;
    let now = em.inner.clock.now();
    let mut world = em.world();
    let (mb, user) = mailbox_and_user(&mut world, &req.user_id)?;
    let tx = obj
        .get("transactionId")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(existing) = tx
        .as_ref()
        .and_then(|t| mb.transactions.get(t))
        .and_then(|id| mb.events.get(id))
    {
        // A retried create with the same transactionId returns the first event [EVC].
        let v = render_target(existing, None, &user, view).unwrap_or(Value::Null);
        return Ok(created(req, v));
    }
    let mut fields = default_fields();
    let (_, recurrence) = apply(&mut fields, obj)?;
    if !obj.contains_key("start") || !obj.contains_key("end") {
        return Err(GraphError::bad_request(
            "ErrorInvalidRequest",
            "Your request can't be completed. The start and end of the event are required.",
        ));
    }
    validate(&fields)?;
    let series = match recurrence.flatten() {
        Some(r) => Some(Series {
            recurrence: Recurrence::parse(&r, &fields.start_tz)?,
            exceptions: BTreeMap::new(),
            cancelled: BTreeSet::new(),
        }),
        None => None,
    };
    let id = format!("AAMkA{}", world.opaque(48));
    let ck = new_change_key(&mut world);
    let mut ev = Ev {
        ical_uid: ical_uid(&id),
        id: id.clone(),
        change_key: ck,
        created: now,
        modified: now,
        fields,
        transaction_id: tx.clone(),
        series,
        online_meeting: None,
        is_cancelled: false,
        organizer: None,
        organizer_ref: None,
        response: "organizer".into(),
    };
    ensure_online(&mut world, &mut ev, &user);
    let attendees = ev.fields.attendee_addresses();
    let subject = ev.fields.subject.clone();
    let is_master = ev.series.is_some();
    let v = render_target(&ev, None, &user, view).unwrap_or(Value::Null);
    {
        let (mb, _) = mailbox_and_user(&mut world, &req.user_id)?;
        if let Some(t) = tx {
            mb.transactions.insert(t, id.clone());
        }
        mb.events.insert(id.clone(), ev);
        mb.touch(&id, is_master);
    }
    // Invitations go out on create [EVC].
    if !obj.get("isDraft").and_then(Value::as_bool).unwrap_or(false) {
        mail(
            &mut world,
            &user,
            OutboxKind::Invitation,
            attendees,
            &id,
            &subject,
            "created",
            None,
            now,
        );
    }
    drop(world);
    super::subscriptions::notify_event(em, &req.user_id, &id, "created");
    flush_copies(em);
    Ok(created(req, v))
}

fn created(req: &GReq, mut v: Value) -> GResp {
    v["@odata.context"] = json!(format!(
        "{}/$metadata#users('{}')/events/$entity",
        req.base(),
        req.user_id
    ));
    GResp::json(StatusCode::CREATED, v)
}

fn get_one(em: &GraphEmulator, req: &GReq, id: &str, view: &View) -> GResult {
    let mut world = em.world();
    let (mb, user) = mailbox_and_user(&mut world, &req.user_id)?;
    let (master, date) = match parse_target(id) {
        Target::Event(i) => (i, None),
        Target::Occurrence(m, d) => (m, Some(d)),
    };
    let ev = mb
        .events
        .get(&master)
        .ok_or_else(GraphError::outlook_not_found)?;
    let mut v = render_target(ev, date, &user, view).ok_or_else(GraphError::outlook_not_found)?;
    v["@odata.context"] = json!(format!(
        "{}/$metadata#users('{}')/events/$entity",
        req.base(),
        req.user_id
    ));
    let mut r = GResp::ok(v);
    if view.text_body {
        r = r.with_header("preference-applied", "outlook.body-content-type=\"text\"");
    }
    Ok(r)
}

/// The change key in an `If-Match` value: `W/"<changeKey>"` (graph.md §2.5), taken apart
/// exactly, since a change key is base64 and may itself begin with `W/` (trimming every
/// leading `W/` refused such a key for good, simulation seed 220). A bare change key is
/// accepted too.
fn if_match_key(tag: &str) -> &str {
    tag.strip_prefix("W/\"")
        .or_else(|| tag.strip_prefix('"'))
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(tag)
}

fn check_if_match(req: &GReq, change_key: &str) -> Result<(), GraphError> {
    let Some(tag) = req.header("if-match") else {
        return Ok(());
    };
    let tag = tag.trim();
    if tag == "*" || if_match_key(tag) == change_key {
        return Ok(());
    }
    // The live answer to a stale change key [I-DAV][I-ANA].
    Err(GraphError::new(
        StatusCode::PRECONDITION_FAILED,
        "ErrorIrresolvableConflict",
        "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
    ))
}

fn update(em: &GraphEmulator, req: &GReq, id: &str, view: &View) -> GResult {
    let body = req.json()?;
    let obj = body
        .as_object()
        .ok_or_else(|| GraphError::invalid_body("an event object is required"))?
        .clone();
    let now = em.inner.clock.now();
    let mut world = em.world();
    let ck = new_change_key(&mut world);
    let (mb, user) = mailbox_and_user(&mut world, &req.user_id)?;
    let target = parse_target(id);
    let (master_id, date) = match &target {
        Target::Event(i) => (i.clone(), None),
        Target::Occurrence(m, d) => (m.clone(), Some(*d)),
    };
    let ev = mb
        .events
        .get(&master_id)
        .ok_or_else(GraphError::outlook_not_found)?;
    let (changed, before_attendees, after_attendees, subject, touched_id, is_master);
    match date {
        None => {
            check_if_match(req, &ev.change_key)?;
            let mut next = ev.clone();
            let (ch, recurrence) = apply(&mut next.fields, &obj)?;
            validate(&next.fields)?;
            if let Some(r) = recurrence {
                next.series = match r {
                    None => None,
                    Some(r) => Some(Series {
                        recurrence: Recurrence::parse(&r, &next.fields.start_tz)?,
                        exceptions: BTreeMap::new(),
                        cancelled: BTreeSet::new(),
                    }),
                };
            } else if let Some(s) = next.series.as_mut() {
                // A new series time drops the exceptions, as Outlook does.
                if ch.contains("start") || ch.contains("end") {
                    s.exceptions.clear();
                    s.recurrence.start_date = next.fields.start.date();
                }
            }
            before_attendees = ev.fields.attendee_addresses();
            after_attendees = next.fields.attendee_addresses();
            next.change_key = ck;
            next.modified = now;
            subject = next.fields.subject.clone();
            is_master = next.series.is_some();
            touched_id = master_id.clone();
            changed = ch;
            mb.events.insert(master_id.clone(), next);
        }
        Some(d) => {
            let f = occurrence_fields(ev, d).ok_or_else(GraphError::outlook_not_found)?;
            let cur_ck = ev
                .series
                .as_ref()
                .and_then(|s| s.exceptions.get(&d))
                .map(|x| x.change_key.clone())
                .unwrap_or_else(|| ev.change_key.clone());
            check_if_match(req, &cur_ck)?;
            if obj.contains_key("recurrence") {
                return Err(GraphError::bad_request(
                    "ErrorInvalidRequest",
                    "An occurrence can't have a recurrence.",
                ));
            }
            let mut next = f.clone();
            let (ch, _) = apply(&mut next, &obj)?;
            validate(&next)?;
            // An occurrence can't move onto or past its neighbours [EVU].
            if let Some(s) = &ev.series {
                let dates = s
                    .recurrence
                    .dates_until(next.start.date().max(d) + Duration::days(400));
                let pos = dates.iter().position(|x| *x == d);
                if let Some(p) = pos {
                    let prev = p.checked_sub(1).and_then(|i| dates.get(i));
                    let nxt = dates.get(p + 1);
                    let nd = next.start.date();
                    if prev.is_some_and(|pd| nd <= *pd) || nxt.is_some_and(|n| nd >= *n) {
                        return Err(GraphError::bad_request(
                            "ErrorOccurrenceCrossingBoundary",
                            "An occurrence cannot overlap or be moved past its adjacent occurrences.",
                        ));
                    }
                }
            }
            before_attendees = f.attendee_addresses();
            after_attendees = next.attendee_addresses();
            subject = next.subject.clone();
            changed = ch;
            is_master = false;
            touched_id = occurrence_id(&master_id, d);
            if let Some(ev) = mb.events.get_mut(&master_id) {
                if let Some(s) = ev.series.as_mut() {
                    s.exceptions.insert(
                        d,
                        Exception {
                            change_key: ck,
                            modified: now,
                            fields: next,
                        },
                    );
                }
            }
        }
    }
    mb.touch(&touched_id, is_master);
    if let Some(ev) = mb.events.get(&master_id).cloned() {
        let mut ev = ev;
        ensure_online(&mut world, &mut ev, &user);
        let (mb, _) = mailbox_and_user(&mut world, &req.user_id)?;
        mb.events.insert(master_id.clone(), ev);
    }
    // An attendee editing their own copy sends nothing.
    let is_copy = world
        .mailboxes
        .get(&req.user_id)
        .and_then(|m| m.events.get(&master_id))
        .is_some_and(|e| e.organizer.is_some());
    let (before_attendees, after_attendees, changed) = if is_copy {
        (Vec::new(), Vec::new(), BTreeSet::new())
    } else {
        (before_attendees, after_attendees, changed)
    };
    // Mail: added attendees get an invitation, removed ones a cancellation; the rest an
    // update only when something besides the attendee list changed [EVU].
    let added: Vec<String> = after_attendees
        .iter()
        .filter(|a| !before_attendees.contains(a))
        .cloned()
        .collect();
    let removed: Vec<String> = before_attendees
        .iter()
        .filter(|a| !after_attendees.contains(a))
        .cloned()
        .collect();
    let kept: Vec<String> = after_attendees
        .iter()
        .filter(|a| before_attendees.contains(a))
        .cloned()
        .collect();
    mail(
        &mut world,
        &user,
        OutboxKind::Invitation,
        added,
        &touched_id,
        &subject,
        "attendeesAdded",
        None,
        now,
    );
    mail(
        &mut world,
        &user,
        OutboxKind::Cancellation,
        removed,
        &touched_id,
        &subject,
        "attendeesRemoved",
        None,
        now,
    );
    let substantive: Vec<&str> = changed
        .iter()
        .map(String::as_str)
        .filter(|c| {
            matches!(
                *c,
                "subject"
                    | "body"
                    | "start"
                    | "end"
                    | "isAllDay"
                    | "location"
                    | "recurrence"
                    | "isOnlineMeeting"
            )
        })
        .collect();
    if !substantive.is_empty() {
        let reason = format!("changed:{}", substantive.join(","));
        mail(
            &mut world,
            &user,
            OutboxKind::Update,
            kept,
            &touched_id,
            &subject,
            &reason,
            None,
            now,
        );
    }
    let (mb, user) = mailbox_and_user(&mut world, &req.user_id)?;
    let ev = mb
        .events
        .get(&master_id)
        .ok_or_else(GraphError::outlook_not_found)?;
    let mut v = render_target(ev, date, &user, view).ok_or_else(GraphError::outlook_not_found)?;
    v["@odata.context"] = json!(format!(
        "{}/$metadata#users('{}')/events/$entity",
        req.base(),
        req.user_id
    ));
    drop(world);
    super::subscriptions::notify_event(em, &req.user_id, &touched_id, "updated");
    flush_copies(em);
    Ok(GResp::ok(v))
}

fn delete(
    em: &GraphEmulator,
    req: &GReq,
    id: &str,
    comment: Option<String>,
    kind: OutboxKind,
    reason: &str,
) -> GResult {
    let now = em.inner.clock.now();
    let mut world = em.world();
    let (mb, user) = mailbox_and_user(&mut world, &req.user_id)?;
    let target = parse_target(id);
    let (to, subject, touched, is_master) = match target {
        Target::Event(i) => {
            let ev = mb
                .events
                .get(&i)
                .ok_or_else(GraphError::outlook_not_found)?;
            check_if_match(req, &ev.change_key)?;
            if ev.organizer.is_some() && reason == "cancelled" {
                return Err(not_organizer());
            }
            // An attendee removing their copy sends nothing.
            let to = if ev.organizer.is_some() {
                Vec::new()
            } else {
                ev.fields.attendee_addresses()
            };
            let subject = ev.fields.subject.clone();
            let is_master = ev.series.is_some();
            mb.events.remove(&i);
            (to, subject, i, is_master)
        }
        Target::Occurrence(m, d) => {
            let ev = mb
                .events
                .get(&m)
                .ok_or_else(GraphError::outlook_not_found)?;
            let f = occurrence_fields(ev, d).ok_or_else(GraphError::outlook_not_found)?;
            let ck = ev
                .series
                .as_ref()
                .and_then(|s| s.exceptions.get(&d))
                .map(|x| x.change_key.clone())
                .unwrap_or_else(|| ev.change_key.clone());
            check_if_match(req, &ck)?;
            let copy = ev.organizer.is_some();
            if copy && reason == "cancelled" {
                return Err(not_organizer());
            }
            if let Some(s) = mb.events.get_mut(&m).and_then(|e| e.series.as_mut()) {
                s.exceptions.remove(&d);
                s.cancelled.insert(d);
            }
            (
                if copy {
                    Vec::new()
                } else {
                    f.attendee_addresses()
                },
                f.subject,
                occurrence_id(&m, d),
                false,
            )
        }
    };
    mb.touch(&touched, is_master);
    // The organizer's delete or cancel sends a cancellation [EVDEL][EVX].
    mail(
        &mut world, &user, kind, to, &touched, &subject, reason, comment, now,
    );
    drop(world);
    super::subscriptions::notify_event(em, &req.user_id, &touched, "deleted");
    flush_copies(em);
    Ok(GResp::empty(StatusCode::NO_CONTENT))
}

fn primary_calendar_id(user_id: &str) -> String {
    format!("AAMkCal{}", user_id.replace('-', ""))
}

/// An attendee's accept, tentative accept or decline: their copy's response changes, the
/// organizer's attendee list records it, and unless `sendResponse` is false a response mail
/// goes to the organizer [CSDL accept/decline/tentativelyAccept].
fn respond(em: &GraphEmulator, req: &GReq, id: &str, response: &str) -> GResult {
    let body = req.json()?;
    let comment = body
        .get("comment")
        .and_then(Value::as_str)
        .map(str::to_string);
    let send = body
        .get("sendResponse")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let now = em.inner.clock.now();
    let mut world = em.world();
    let (ck_copy, ck_org) = (new_change_key(&mut world), new_change_key(&mut world));
    let (mb, user) = mailbox_and_user(&mut world, &req.user_id)?;
    let master = match parse_target(id) {
        Target::Event(i) => i,
        Target::Occurrence(m, _) => m,
    };
    let ev = mb
        .events
        .get_mut(&master)
        .ok_or_else(GraphError::outlook_not_found)?;
    let Some((_, organizer_address)) = ev.organizer.clone() else {
        return Err(GraphError::bad_request(
            "ErrorInvalidRequest",
            "Your request can't be completed. You can't respond to a meeting you organized.",
        ));
    };
    ev.response = response.to_string();
    ev.change_key = ck_copy;
    ev.modified = now;
    let (link, subject, is_master) = (
        ev.organizer_ref.clone(),
        ev.fields.subject.clone(),
        ev.series.is_some(),
    );
    mb.touch(&master, is_master);
    if let Some((oid, oev)) = link {
        if let Some(mb) = world.mailboxes.get_mut(&oid) {
            if let Some(o) = mb.events.get_mut(&oev) {
                for a in o.fields.attendees.iter_mut() {
                    if a["emailAddress"]["address"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(&user.mail))
                    {
                        a["status"] = json!({"response": response, "time": offset_string(now)});
                    }
                }
                // Response tracking modifies the organizer's item.
                o.change_key = ck_org;
                o.modified = now;
                let m = o.series.is_some();
                mb.touch(&oev, m);
                world.pending_notify.push((oid, oev, "updated"));
            }
        }
    }
    if send {
        world.send_mail(OutboxMessage {
            seq: 0,
            at: now,
            kind: OutboxKind::Response,
            from: user.mail.clone(),
            to: vec![organizer_address],
            event_id: master.clone(),
            subject,
            reason: response.to_string(),
            comment,
        });
    }
    drop(world);
    super::subscriptions::notify_event(em, &req.user_id, &master, "updated");
    flush_copies(em);
    Ok(GResp::empty(StatusCode::ACCEPTED))
}

fn not_organizer() -> GraphError {
    // Only the organizer can cancel [EVX].
    GraphError::bad_request(
        "ErrorInvalidRequest",
        "Your request can't be completed. You need to be an organizer to cancel a meeting.",
    )
}

fn window(req: &GReq) -> Result<(DateTime<Utc>, DateTime<Utc>), GraphError> {
    let missing = || {
        // The live answer to a calendarView without a window [obs].
        GraphError::bad_request(
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        )
    };
    let s = req.query("startDateTime").ok_or_else(missing)?;
    let e = req.query("endDateTime").ok_or_else(missing)?;
    let bad = |v: &str| {
        GraphError::bad_request(
            "ErrorInvalidParameter",
            format!("The value '{v}' is not a valid DateTime."),
        )
    };
    let s = parse_window_bound(s).ok_or_else(|| bad(s))?;
    let e = parse_window_bound(e).ok_or_else(|| bad(e))?;
    Ok((s, e))
}

fn page_size(req: &GReq) -> usize {
    req.query("$top")
        .and_then(|t| t.parse().ok())
        .or_else(|| req.prefer("odata.maxpagesize").and_then(|v| v.parse().ok()))
        .filter(|n: &usize| *n > 0)
        .unwrap_or(DEFAULT_PAGE)
        .min(1000)
}

fn next_link(req: &GReq, skip: usize) -> String {
    let mut q: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| k != "$skip")
        .cloned()
        .collect();
    q.push(("$skip".into(), skip.to_string()));
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q)
        .finish();
    format!("{}{}?{}", req.base(), req.path, qs)
}

fn paged(req: &GReq, items: Vec<Value>, context: &str) -> GResp {
    let size = page_size(req);
    let skip: usize = req.query("$skip").and_then(|s| s.parse().ok()).unwrap_or(0);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(skip).take(size).collect();
    let mut v =
        json!({"@odata.context": format!("{}/$metadata#{context}", req.base()), "value": page});
    if skip + size < total {
        v["@odata.nextLink"] = json!(next_link(req, skip + size));
    }
    GResp::ok(v)
}

fn list_events(em: &GraphEmulator, req: &GReq, view: &View) -> GResult {
    // `$filter`, `$orderby`, `$select`; anything not understood is a 400, never ignored.
    let query = super::event_query::EventQuery::parse(
        req.query("$filter"),
        req.query("$orderby"),
        req.query("$select"),
    )?;
    let mut world = em.world();
    let (mb, user) = mailbox_and_user(&mut world, &req.user_id)?;
    // The list holds single instances and series masters, not occurrences [EV].
    let mut evs: Vec<&Ev> = mb.events.values().collect();
    evs.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    let items = evs
        .into_iter()
        .filter_map(|e| render_target(e, None, &user, view))
        .collect();
    let items = query.apply(items);
    Ok(paged(
        req,
        items,
        &format!("users('{}')/events", req.user_id),
    ))
}

fn calendar_view(em: &GraphEmulator, req: &GReq, view: &View) -> GResult {
    let (s, e) = window(req)?;
    let mut world = em.world();
    let (mb, user) = mailbox_and_user(&mut world, &req.user_id)?;
    let items = instances_in(mb, s, e, None)
        .iter()
        .filter_map(|i| render_inst(mb, i, &user, view))
        .collect();
    Ok(paged(
        req,
        items,
        &format!("users('{}')/calendarView", req.user_id),
    ))
}

fn instances(em: &GraphEmulator, req: &GReq, id: &str, view: &View) -> GResult {
    let (s, e) = window(req)?;
    let mut world = em.world();
    let (mb, user) = mailbox_and_user(&mut world, &req.user_id)?;
    let ev = mb
        .events
        .get(id)
        .ok_or_else(GraphError::outlook_not_found)?;
    if ev.series.is_none() {
        return Ok(paged(req, vec![], "Collection(event)"));
    }
    let items = instances_in(mb, s, e, Some(id))
        .iter()
        .filter_map(|i| render_inst(mb, i, &user, view))
        .collect();
    Ok(paged(
        req,
        items,
        &format!("users('{}')/events('{}')/instances", req.user_id, id),
    ))
}

fn sync_state_not_found(generation: u64, highest: u64) -> GraphError {
    // Seen live on calendarView/delta [I-2350].
    GraphError::new(
        StatusCode::GONE,
        "SyncStateNotFound",
        format!(
            "The sync state generation is not found; generation={generation};[highest={highest}]"
        ),
    )
}

fn delta(em: &GraphEmulator, req: &GReq, view: &View) -> GResult {
    let size = req
        .prefer("odata.maxpagesize")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PAGE);
    let duplicates = em.inner.config.delta_duplicate_probability;
    let mut world = em.world();
    let token_name = world.opaque(24);
    let dup_seed: u64 = rand::Rng::random(&mut world.rng);
    let (mb, user) = mailbox_and_user(&mut world, &req.user_id)?;
    let skip = req.query("$skiptoken").map(str::to_string);
    let fresh_round = skip.is_none();
    let dtok = req.query("$deltatoken").map(str::to_string);
    let mut state = match (skip, dtok) {
        (Some(t), _) => {
            let st = mb
                .delta
                .get(&t)
                .cloned()
                .ok_or_else(|| sync_state_not_found(0, mb.generation))?;
            if st.generation != mb.generation || st.complete {
                return Err(sync_state_not_found(st.generation, mb.generation));
            }
            st
        }
        (None, Some(t)) => {
            let st = mb
                .delta
                .get(&t)
                .cloned()
                .ok_or_else(|| sync_state_not_found(0, mb.generation))?;
            if st.generation != mb.generation || !st.complete {
                return Err(sync_state_not_found(st.generation, mb.generation));
            }
            next_round(mb, &st)
        }
        (None, None) => {
            // The window is required on the first call only [EVD].
            let w = window(req)?;
            let current = instances_in(mb, w.0, w.1, None);
            DeltaState {
                window: w,
                generation: mb.generation,
                pending: Arc::new(current.iter().map(|i| (i.id.clone(), false)).collect()),
                shown: 0,
                snapshot: Arc::new(current.into_iter().map(|i| (i.id, i.change_key)).collect()),
                seq: mb.seq,
                complete: false,
                first_empty: true,
            }
        }
    };
    if fresh_round && duplicates > 0.0 {
        // The same item can come back more than once in a round [DQO].
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(dup_seed);
        let again: Vec<(String, bool)> = state
            .pending
            .iter()
            .filter(|_| rand::Rng::random_bool(&mut rng, duplicates.clamp(0.0, 1.0)))
            .cloned()
            .collect();
        Arc::make_mut(&mut state.pending).extend(again);
    }
    let first_empty = std::mem::take(&mut state.first_empty);
    // Copies of what the page shows, so rendering happens after the lock is released.
    let mut page: Vec<(String, Option<Found>)> = Vec::new();
    if !first_empty {
        let end = (state.shown + size).min(state.pending.len());
        for (id, removed) in &state.pending[state.shown..end] {
            let found = if *removed { None } else { lookup(mb, id) };
            page.push((id.clone(), found));
        }
        state.shown = end;
    }
    let base = format!("{}/me/calendarView/delta", req.base());
    let mut out = json!({"@odata.context": format!("{}/$metadata#Collection(event)", req.base())});
    // nextLink or deltaLink, never both [DQO].
    if first_empty || state.shown < state.pending.len() {
        mb.delta.insert(
            token_name.clone(),
            DeltaState {
                complete: false,
                ..state
            },
        );
        out["@odata.nextLink"] = json!(format!("{base}?$skiptoken={token_name}"));
    } else {
        mb.delta.insert(
            token_name.clone(),
            DeltaState {
                complete: true,
                ..state
            },
        );
        out["@odata.deltaLink"] = json!(format!("{base}?$deltatoken={token_name}"));
    }
    drop(world);
    let value: Vec<Value> = page
        .into_iter()
        .map(|(id, found)| {
            match found.and_then(|(ev, date)| render_target(&ev, date, &user, view)) {
                Some(mut v) => {
                    v["@odata.type"] = json!("#microsoft.graph.event");
                    v
                }
                None => json!({"@odata.type": "#microsoft.graph.event", "id": id, "@removed": {"reason": "deleted"}}),
            }
        })
        .collect();
    out["value"] = Value::Array(value);
    let mut r = GResp::ok(out);
    if first_empty {
        r = r.with_header("preference-applied", "odata.track-changes");
    }
    Ok(r)
}

/// An event and, for an occurrence or exception, its original date.
type Found = (Ev, Option<NaiveDate>);

/// The event (and occurrence date) an instance id names, for rendering; series masters
/// never appear in calendarView delta [DQE].
fn lookup(mb: &Mailbox, id: &str) -> Option<Found> {
    match parse_target(id) {
        Target::Event(i) => mb
            .events
            .get(&i)
            .filter(|ev| ev.series.is_none())
            .map(|ev| (ev.clone(), None)),
        Target::Occurrence(m, d) => mb.events.get(&m).map(|ev| (ev.clone(), Some(d))),
    }
}

/// The changes since a finished round: new or changed in-window instances in full, gone
/// ones and out-of-window changes as `@removed` [EVD][I-6599].
fn next_round(mb: &Mailbox, prev: &DeltaState) -> DeltaState {
    let current = instances_in(mb, prev.window.0, prev.window.1, None);
    let mut pending = Vec::new();
    let mut now_ids = HashMap::new();
    for i in &current {
        if prev.snapshot.get(&i.id) != Some(&i.change_key) {
            pending.push((i.id.clone(), false));
        }
        now_ids.insert(i.id.clone(), i.change_key.clone());
    }
    // In id order, not the map's (random) one, so a seeded history replays exactly.
    let mut gone: Vec<&String> = prev
        .snapshot
        .keys()
        .filter(|id| !now_ids.contains_key(*id))
        .collect();
    gone.sort();
    pending.extend(gone.into_iter().map(|id| (id.clone(), true)));
    let split = mb.changes.partition_point(|c| c.seq <= prev.seq);
    let (before, since) = mb.changes.split_at(split);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut report = |id: &str, pending: &mut Vec<(String, bool)>| {
        if !now_ids.contains_key(id) && !prev.snapshot.contains_key(id) && seen.insert(id.into()) {
            pending.push((id.to_string(), true));
        }
    };
    // Single events and occurrences changed one by one, outside the window now and then.
    for c in since {
        if !c.is_master {
            report(&c.id, &mut pending);
        }
    }
    // A write to a whole series changes every occurrence it had or has: each version's
    // occurrences (the one the last round saw, any in between, the current one) that are
    // outside the window come back as `@removed` too, like single events [EVD]. (A single
    // event that became a series, or the reverse, reports its old id the same way.)
    let horizon = (prev.window.1 + Duration::days(SERIES_REMOVED_HORIZON_DAYS)).date_naive();
    let whole: BTreeSet<&str> = since
        .iter()
        .filter(|c| c.whole)
        .map(|c| c.event.as_str())
        .collect();
    for event in whole {
        let mut versions: Vec<&Ev> = Vec::new();
        if let Some(c) = before.iter().rev().find(|c| c.event == event) {
            versions.extend(c.after.as_deref());
        }
        for c in since.iter().filter(|c| c.event == event) {
            versions.extend(c.after.as_deref());
        }
        for v in versions {
            for id in instance_ids(v, horizon) {
                report(&id, &mut pending);
            }
        }
    }
    DeltaState {
        window: prev.window,
        generation: prev.generation,
        pending: Arc::new(pending),
        shown: 0,
        snapshot: Arc::new(now_ids),
        seq: mb.seq,
        complete: false,
        first_empty: false,
    }
}

// ----------------------------------------------------------------------- seeding

/// Creates an event from JSON as `user` would, for scenarios.
pub fn create_for_seed(
    em: &GraphEmulator,
    user_id: &str,
    body: Value,
) -> Result<String, GraphError> {
    let req = seed_req(user_id, Method::POST, "/me/events", body);
    let view = View::from(&req)?;
    let r = create(em, &req, &view)?;
    match r.body {
        super::http::GBody::Json(v) => Ok(v["id"].as_str().unwrap_or_default().to_string()),
        _ => Ok(String::new()),
    }
}

/// Moves the first event titled `subject` by one hour, as its organizer editing in Outlook.
pub fn touch_for_seed(em: &GraphEmulator, user_id: &str, subject: &str) -> Result<(), GraphError> {
    let (id, f) = {
        let world = em.world();
        let mb = world
            .mailboxes
            .get(user_id)
            .ok_or_else(GraphError::outlook_not_found)?;
        let ev = mb
            .events
            .values()
            .find(|e| e.fields.subject == subject)
            .ok_or_else(GraphError::outlook_not_found)?;
        (ev.id.clone(), ev.fields.clone())
    };
    let body = json!({
        "start": {"dateTime": local_string(f.start + Duration::hours(1)), "timeZone": f.start_tz},
        "end": {"dateTime": local_string(f.end + Duration::hours(1)), "timeZone": f.end_tz},
    });
    let req = seed_req(user_id, Method::PATCH, &format!("/me/events/{id}"), body);
    let view = View::from(&req)?;
    update(em, &req, &id, &view).map(|_| ())
}

fn seed_req(user_id: &str, method: Method, path: &str, body: Value) -> GReq {
    GReq {
        method,
        path: path.to_string(),
        query: vec![],
        headers: Default::default(),
        body: serde_json::to_vec(&body).unwrap_or_default().into(),
        user_id: user_id.to_string(),
        scopes: super::state::ALL_SCOPES.to_string(),
        origin: "http://127.0.0.1".into(),
    }
}

/// The `concurrent_edit` fault (`crate::Fault`): another client of the mailbox edits the
/// event a request names (`…/events/{id}[/…]`) just before the request arrives, touching a
/// property the sync does not carry (as another Outlook dismissing the reminder would). The
/// event, or the occurrence's exception, gets a new change key and a delta change, so a
/// request still holding the old `If-Match` is refused with 412 [I-DAV][I-ANA]. A path that
/// names no event of `user_id` is left alone.
pub fn edit_concurrently(em: &GraphEmulator, user_id: &str, path: &str) {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(id) = segs
        .iter()
        .position(|s| *s == "events")
        .and_then(|i| segs.get(i + 1))
        .map(|s| super::http::percent_decode(s))
    else {
        return;
    };
    let now = em.inner.clock.now();
    let mut world = em.world();
    let ck = new_change_key(&mut world);
    let Some(mb) = world.mailboxes.get_mut(user_id) else {
        return;
    };
    let (master_id, date) = match parse_target(&id) {
        Target::Event(i) => (i, None),
        Target::Occurrence(m, d) => (m, Some(d)),
    };
    let Some(ev) = mb.events.get_mut(&master_id) else {
        return;
    };
    let is_master = ev.series.is_some();
    match date.and_then(|d| ev.series.as_mut().and_then(|s| s.exceptions.get_mut(&d))) {
        Some(x) => {
            x.change_key = ck;
            x.modified = now;
        }
        None => {
            ev.change_key = ck;
            ev.modified = now;
        }
    }
    mb.touch(&id, is_master && date.is_none());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrence_ids_round_trip_and_plain_ids_stay_events() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        let id = occurrence_id("AAMkAbc_d-e", d);
        assert_eq!(
            parse_target(&id),
            Target::Occurrence("AAMkAbc_d-e".into(), d)
        );
        assert_eq!(parse_target("AAMkAbc"), Target::Event("AAMkAbc".into()));
    }

    #[test]
    fn an_if_match_is_taken_apart_exactly_even_for_a_change_key_starting_with_w_slash() {
        assert_eq!(if_match_key("W/\"abc=\""), "abc=");
        assert_eq!(if_match_key("W/\"W/weZ+P=\""), "W/weZ+P=");
        assert_eq!(if_match_key("\"abc\""), "abc");
        assert_eq!(if_match_key("W/weZ+P="), "W/weZ+P=");
    }

    #[test]
    fn an_all_day_event_off_midnight_fails_validation() {
        let mut f = default_fields();
        let body = json!({"isAllDay": true, "start": {"dateTime": "2026-01-01T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-01-02T00:00:00", "timeZone": "UTC"}});
        apply(&mut f, body.as_object().unwrap()).unwrap();
        assert_eq!(
            validate(&f).unwrap_err().code,
            "ErrorPropertyValidationFailure"
        );
        f.start = f.start.date().and_hms_opt(0, 0, 0).unwrap();
        assert!(validate(&f).is_ok());
    }

    #[test]
    fn unknown_properties_and_bad_enum_literals_are_rejected() {
        let mut f = default_fields();
        let e = apply(&mut f, json!({"subjcet": "x"}).as_object().unwrap()).unwrap_err();
        assert_eq!(e.code, "RequestBodyRead");
        let e = apply(&mut f, json!({"showAs": "away"}).as_object().unwrap()).unwrap_err();
        assert!(e.message.contains("freeBusyStatus"), "{}", e.message);
    }
}
