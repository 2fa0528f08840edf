//! `calendar.event` rules: times and all-day events, attendees from `partner_ids`,
//! recurrences expanded into real rows, `recurrence_update`, privacy, and invitation mails
//! (spec §2). Generic ORM work is delegated to `orm.rs`.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use serde_json::{json, Map, Value};

use super::error::OdooError;
use super::models::{Model, RECURRENCE_FIELDS, WEEKDAY_FIELDS};
use super::orm::{self, fmt_dt, ids_of, parse_dt, str_of, truthy, Db, Env, OResult, Row, Tx};

/// `MAX_RECURRENT_EVENT` in calendar_recurrence.py.
pub const MAX_RECURRENT_EVENT: usize = 720;

const TIME_FIELDS: [&str; 4] = ["start", "stop", "start_date", "stop_date"];

/// Fields shown unmasked on others' private events (`_get_public_fields`).
pub fn is_public_field(name: &str) -> bool {
    RECURRENCE_FIELDS.contains(&name)
        || TIME_FIELDS.contains(&name)
        || name.starts_with("x_")
        || matches!(
            name,
            "id" | "active"
                | "allday"
                | "duration"
                | "user_id"
                | "interval"
                | "partner_id"
                | "count"
                | "rrule"
                | "recurrence_id"
                | "show_as"
                | "privacy"
        )
}

/// An event counts as "others' private" when it is private (or empty privacy and the
/// organizer's default is private, 18+) and the user neither organizes nor attends it.
pub fn is_others_private(db: &Db, env: &Env, row: &Row) -> bool {
    if env.su {
        return false;
    }
    let organizer = row.get("user_id").and_then(Value::as_i64);
    let privacy = match row.get("privacy").and_then(Value::as_str) {
        Some(p) => p.to_string(),
        None => organizer
            .and_then(|u| db.user_row(u))
            .and_then(|u| str_of(u, "calendar_default_privacy"))
            .unwrap_or_else(|| "public".into()),
    };
    if privacy != "private" || organizer == Some(env.uid) {
        return false;
    }
    let partner = db.user_partner(env.uid);
    !partner.is_some_and(|p| ids_of(row.get("partner_ids")).contains(&p))
}

fn dt(row: &Row, f: &str) -> Option<NaiveDateTime> {
    row.get(f).and_then(Value::as_str).and_then(parse_dt)
}

fn date(row: &Row, f: &str) -> Option<NaiveDate> {
    row.get(f)
        .and_then(Value::as_str)
        .and_then(|s| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok())
}

fn attendees_of(db: &Db, event: i64) -> Vec<(i64, Row)> {
    db.tables
        .get("calendar.attendee")
        .map(|t| {
            t.rows
                .iter()
                .filter(|(_, r)| r.get("event_id").and_then(Value::as_i64) == Some(event))
                .map(|(i, r)| (*i, r.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Non-stored calendar fields.
pub fn compute(db: &Db, env: &Env, m: &Model, row: &Row, field: &str) -> Option<Value> {
    let id = row.get("id").and_then(Value::as_i64).unwrap_or(0);
    match (m.name, field) {
        ("calendar.event", f) if f.ends_with("_count") => {
            let att = attendees_of(db, id);
            let want = match f {
                "accepted_count" => Some("accepted"),
                "declined_count" => Some("declined"),
                "tentative_count" => Some("tentative"),
                "awaiting_count" => Some("needsAction"),
                _ => None,
            };
            Some(json!(att
                .iter()
                .filter(
                    |(_, a)| want.is_none_or(|w| a.get("state").and_then(Value::as_str) == Some(w))
                )
                .count()))
        }
        ("calendar.event", "current_attendee" | "current_status") => {
            let partner = db.user_partner(env.uid);
            let me = attendees_of(db, id)
                .into_iter()
                .find(|(_, a)| a.get("partner_id").and_then(Value::as_i64) == partner);
            Some(match (field, me) {
                (_, None) => Value::Null,
                ("current_attendee", Some((aid, _))) => json!(aid),
                (_, Some((_, a))) => a.get("state").cloned().unwrap_or(Value::Null),
            })
        }
        ("calendar.event", "videocall_source") => Some(
            match row.get("videocall_location").and_then(Value::as_str) {
                Some(l) if l.contains("/calendar/join_videocall/") => json!("discuss"),
                Some(l) if !l.is_empty() => json!("custom"),
                _ => Value::Null,
            },
        ),
        ("calendar.event", "rrule_type_ui") => {
            let rec = row
                .get("recurrence_id")
                .and_then(Value::as_i64)
                .and_then(|r| db.row("calendar.recurrence", r))?;
            let interval = rec.get("interval").and_then(Value::as_i64).unwrap_or(1);
            Some(if interval == 1 {
                rec.get("rrule_type").cloned().unwrap_or(Value::Null)
            } else {
                json!("custom")
            })
        }
        ("calendar.event", "display_time") => {
            let start = dt(row, "start")?;
            let stop = dt(row, "stop")?;
            Some(json!(if truthy(row.get("allday")) {
                "All Day".to_string()
            } else {
                format!("{} - {} (UTC)", start.format("%H:%M"), stop.format("%H:%M"))
            }))
        }
        ("calendar.event", f) if RECURRENCE_FIELDS.contains(&f) => {
            let rec = row
                .get("recurrence_id")
                .and_then(Value::as_i64)
                .and_then(|r| db.row("calendar.recurrence", r));
            Some(match rec {
                Some(r) if f == "rrule" => json!(rrule_string(r)),
                Some(r) => r.get(f).cloned().unwrap_or(Value::Null),
                None => Value::Null,
            })
        }
        ("calendar.recurrence", "dtstart") => {
            let min = db.tables.get("calendar.event").and_then(|t| {
                t.rows
                    .values()
                    .filter(|r| r.get("recurrence_id").and_then(Value::as_i64) == Some(id))
                    .filter_map(|r| str_of(r, "start"))
                    .min()
            });
            Some(min.map(Value::String).unwrap_or(Value::Null))
        }
        ("calendar.alarm", "duration_minutes") => {
            let d = row.get("duration").and_then(Value::as_i64).unwrap_or(0);
            let mult = match row.get("interval").and_then(Value::as_str) {
                Some("hours") => 60,
                Some("days") => 1440,
                _ => 1,
            };
            Some(json!(d * mult))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// times

fn round_up_half_hour(t: NaiveDateTime) -> NaiveDateTime {
    let base = t.date().and_hms_opt(t.hour_(), 0, 0).unwrap_or(t);
    let mins = t.minute_();
    if mins == 0 && t.second_() == 0 {
        t
    } else if mins < 30 {
        base + Duration::minutes(30)
    } else {
        base + Duration::hours(1)
    }
}

trait Hms {
    fn hour_(&self) -> u32;
    fn minute_(&self) -> u32;
    fn second_(&self) -> u32;
}

impl Hms for NaiveDateTime {
    fn hour_(&self) -> u32 {
        chrono::Timelike::hour(self)
    }
    fn minute_(&self) -> u32 {
        chrono::Timelike::minute(self)
    }
    fn second_(&self) -> u32 {
        chrono::Timelike::second(self)
    }
}

fn hours_between(a: NaiveDateTime, b: NaiveDateTime) -> f64 {
    ((b - a).num_seconds() as f64 / 3600.0 * 100.0).round() / 100.0
}

fn at(d: NaiveDate, h: u32) -> NaiveDateTime {
    d.and_time(NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default())
}

/// Recomputes `start`/`stop`/`start_date`/`stop_date`/`duration` on the merged row, given
/// which of them the caller wrote (`_compute_stop`, `_inverse_dates`, `_compute_duration`).
fn resolve_times(row: &mut Row, written: &Map<String, Value>) -> OResult<()> {
    let allday = truthy(row.get("allday"));
    let has = |k: &str| {
        written
            .get(k)
            .is_some_and(|v| !v.is_null() && *v != json!(false))
    };
    if allday {
        if has("start_date") {
            if let Some(d) = date(row, "start_date") {
                row.insert("start".into(), json!(fmt_dt(at(d, 8))));
            }
        }
        if has("stop_date") {
            if let Some(d) = date(row, "stop_date") {
                row.insert("stop".into(), json!(fmt_dt(at(d, 18))));
            }
        }
    }
    let start = dt(row, "start");
    if let Some(start) = start {
        if !(has("stop") || allday && has("stop_date")) {
            let dur = row.get("duration").and_then(Value::as_f64).unwrap_or(1.0);
            let overflow = || OdooError::Python {
                class: "builtins.OverflowError",
                message: "date value out of range".into(),
            };
            let secs = (dur * 3600.0).round();
            if !secs.is_finite() || secs.abs() > 1e11 {
                return Err(overflow());
            }
            let mut stop = Duration::try_seconds(secs as i64)
                .and_then(|d| start.checked_add_signed(d))
                .ok_or_else(overflow)?;
            stop -= Duration::seconds(chrono::Timelike::second(&stop) as i64);
            if allday {
                stop -= Duration::seconds(1);
            }
            row.insert("stop".into(), json!(fmt_dt(stop)));
        }
    }
    let (start, stop) = (dt(row, "start"), dt(row, "stop"));
    if allday {
        if let (Some(s), Some(e)) = (start, stop) {
            row.insert(
                "start_date".into(),
                json!(s.date().format("%Y-%m-%d").to_string()),
            );
            row.insert(
                "stop_date".into(),
                json!(e.date().format("%Y-%m-%d").to_string()),
            );
        }
    } else {
        row.insert("start_date".into(), Value::Null);
        row.insert("stop_date".into(), Value::Null);
    }
    if let (Some(s), Some(e)) = (start, stop) {
        let name = str_of(row, "name").unwrap_or_default();
        if allday && e.date() < s.date() {
            return Err(OdooError::Validation(format!(
                "The ending date cannot be earlier than the starting date.\nMeeting “{name}” starts on “{}” and ends on “{}”.",
                s.date(), e.date()
            )));
        }
        if !allday && e < s {
            return Err(OdooError::Validation(format!(
                "The ending date and time cannot be earlier than the starting date and time.\nMeeting “{name}” starts “{}” and ends “{}”.",
                fmt_dt(s), fmt_dt(e)
            )));
        }
        row.insert("duration".into(), json!(hours_between(s, e)));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// create

fn mail_blocked(db: &Db, env: &Env) -> bool {
    env.ctx_true("no_mail_to_attendees") || db.param_true("calendar.block_mail")
}

fn emails_of_attendees(
    db: &Db,
    event: i64,
    except_partner: Option<i64>,
    only: Option<&[i64]>,
) -> Vec<String> {
    attendees_of(db, event)
        .into_iter()
        .filter_map(|(_, a)| a.get("partner_id").and_then(Value::as_i64))
        .filter(|p| Some(*p) != except_partner)
        .filter(|p| only.is_none_or(|o| o.contains(p)))
        .filter_map(|p| db.row("res.partner", p).and_then(|r| str_of(r, "email")))
        .filter(|e| !e.is_empty())
        .collect()
}

fn send_event_mail(tx: &mut Tx<'_>, env: &Env, kind: &str, event: i64, only: Option<&[i64]>) {
    if mail_blocked(tx.db, env) {
        return;
    }
    let Some(row) = tx.row("calendar.event", event) else {
        return;
    };
    // Only future events are announced (Odoo skips past ones).
    let future = dt(row, "start").is_some_and(|s| s > tx.now);
    if !future && kind != "cancellation" {
        return;
    }
    let name = str_of(row, "name").unwrap_or_default();
    let me = tx.db.user_partner(env.uid);
    let to = emails_of_attendees(tx.db, event, me, only);
    let subject = match kind {
        "invitation" => format!("Invitation to {name}"),
        "date_changed" => format!("{name}: Date updated"),
        _ => format!("{name}: Event cancelled"),
    };
    tx.mail(kind, "calendar.event", event, subject, to, env.uid);
}

fn create_attendees(
    tx: &mut Tx<'_>,
    env: &Env,
    event: i64,
    partners: &[i64],
    organizer_partner: Option<i64>,
) {
    let now = tx.now_stored();
    for &p in partners {
        let (name, email, phone) = tx
            .row("res.partner", p)
            .map(|r| {
                (
                    r.get("name").cloned(),
                    r.get("email").cloned(),
                    r.get("phone").cloned(),
                )
            })
            .unwrap_or((None, None, None));
        let mut a = Row::new();
        a.insert("event_id".into(), json!(event));
        a.insert("partner_id".into(), json!(p));
        a.insert("common_name".into(), name.unwrap_or(Value::Null));
        a.insert("email".into(), email.unwrap_or(Value::Null));
        a.insert("phone".into(), phone.unwrap_or(Value::Null));
        a.insert(
            "state".into(),
            json!(if Some(p) == organizer_partner {
                "accepted"
            } else {
                "needsAction"
            }),
        );
        a.insert("availability".into(), json!("busy"));
        a.insert(
            "access_token".into(),
            json!(uuid::Uuid::new_v4().simple().to_string()),
        );
        for f in ["create_date", "write_date"] {
            a.insert(f.into(), json!(now.clone()));
        }
        for f in ["create_uid", "write_uid"] {
            a.insert(f.into(), json!(env.uid));
        }
        tx.insert("calendar.attendee", a);
    }
}

fn partner_commands_supported(v: &Value) -> OResult<()> {
    if let Value::Array(items) = v {
        for c in items.iter().filter_map(Value::as_array) {
            if matches!(c.first().and_then(Value::as_i64), Some(0) | Some(1)) {
                return Err(OdooError::value_error(
                    "Commands 0 and 1 are not supported on partner_ids of calendar.event",
                ));
            }
        }
    }
    Ok(())
}

/// Splits a calendar write into recurrence values and event values.
fn split_recurrence_vals(vals: &mut Map<String, Value>) -> Map<String, Value> {
    let mut rec = Map::new();
    for f in RECURRENCE_FIELDS {
        if let Some(v) = vals.remove(f) {
            rec.insert(f.into(), v);
        }
    }
    rec
}

pub fn create(tx: &mut Tx<'_>, env: &Env, vals_list: Vec<Map<String, Value>>) -> OResult<Vec<i64>> {
    let reg = tx.registry();
    let m = orm::model(&reg, "calendar.event")?;
    let mut ids = Vec::new();
    for mut vals in vals_list {
        vals.remove("recurrence_update");
        let rec_vals = split_recurrence_vals(&mut vals);
        if let Some(p) = vals.get("partner_ids") {
            partner_commands_supported(p)?;
        }
        let (mut row, pending) = orm::split_vals(tx, m, None, &vals)?;
        // `user_id` defaults to the current user only when the create leaves it out; an
        // explicit `false` is an event without an organizer, as Odoo's Outlook sync makes
        // for an organizer who is no user (specs/odoo.md, "The organizer becomes `user_id`
        // if a user has that email, else False"): nobody's row is then created `accepted`.
        let organizer = match vals.get("user_id") {
            Some(v) if !truthy(Some(v)) => None,
            _ => Some(
                row.get("user_id")
                    .and_then(Value::as_i64)
                    .unwrap_or(env.uid),
            ),
        };
        row.insert("user_id".into(), json!(organizer));
        let organizer_partner = organizer.and_then(|u| tx.db.user_partner(u));
        row.insert("partner_id".into(), json!(organizer_partner));
        if !vals.contains_key("partner_ids") {
            let me = tx.db.user_partner(env.uid);
            row.insert(
                "partner_ids".into(),
                json!(me.into_iter().collect::<Vec<_>>()),
            );
        }
        if !tx.db.version.privacy_may_be_empty() {
            row.entry("privacy".into()).or_insert(json!("public"));
        }
        row.entry("show_as".into()).or_insert(json!("busy"));
        row.entry("active".into()).or_insert(json!(true));
        row.entry("allday".into()).or_insert(json!(false));
        row.entry("recurrency".into()).or_insert(json!(false));
        row.entry("follow_recurrence".into())
            .or_insert(json!(false));
        row.entry("duration".into()).or_insert(json!(1.0));
        row.entry("access_token".into())
            .or_insert(json!(uuid::Uuid::new_v4().simple().to_string()));
        if row.get("start").is_none_or(|v| v.is_null()) && !vals.contains_key("start_date") {
            row.insert("start".into(), json!(fmt_dt(round_up_half_hour(tx.now))));
        }
        if let Some(Value::String(model_name)) = vals.get("res_model") {
            let mid = tx.db.tables.get("ir.model").and_then(|t| {
                t.rows
                    .iter()
                    .find(|(_, r)| r.get("model").and_then(Value::as_str) == Some(model_name))
                    .map(|(i, _)| *i)
            });
            row.insert("res_model_id".into(), json!(mid));
        }
        resolve_times(&mut row, &vals)?;
        let now = tx.now_stored();
        row.insert("create_date".into(), json!(now.clone()));
        row.insert("write_date".into(), json!(now));
        row.insert("create_uid".into(), json!(env.uid));
        row.insert("write_uid".into(), json!(env.uid));
        let partners = ids_of(row.get("partner_ids"));
        let want_recurrence = truthy(row.get("recurrency")) || rec_vals.contains_key("rrule");
        if want_recurrence && outlook_sync_blocks(tx.db, env) {
            return Err(OdooError::User(
                "Due to an Outlook Calendar limitation, recurrent events must be created directly in Outlook Calendar.".into(),
            ));
        }
        let id = tx.insert("calendar.event", row);
        create_attendees(tx, env, id, &partners, organizer_partner);
        // attendee_ids commands (rare: partner_ids is the usual way) apply after the rows
        // derived from partner_ids exist.
        for p in &pending {
            orm::apply_o2m(tx, env, id, p)?;
        }
        send_event_mail(tx, env, "invitation", id, None);
        meeting_activity(tx, env, id);
        if want_recurrence {
            let rec_id = create_recurrence(tx, env, id, &rec_vals, None)?;
            apply_recurrence(tx, env, rec_id)?;
        }
        ids.push(id);
    }
    Ok(ids)
}

/// An event linked to a record (`res_model`/`res_id`) puts a "Meeting" activity on it.
fn meeting_activity(tx: &mut Tx<'_>, env: &Env, event: i64) {
    let Some(row) = tx.row("calendar.event", event).cloned() else {
        return;
    };
    let (Some(model), Some(res_id)) = (
        row.get("res_model")
            .and_then(Value::as_str)
            .map(str::to_string),
        row.get("res_id")
            .and_then(Value::as_i64)
            .filter(|i| *i != 0),
    ) else {
        return;
    };
    let has_activities = tx.db.registry.get(&model).is_some_and(|m| m.mail_thread);
    if !has_activities || tx.row(&model, res_id).is_none() {
        return;
    }
    let now = tx.now_stored();
    let mut a = Row::new();
    a.insert("res_model".into(), json!(model));
    a.insert("res_id".into(), json!(res_id));
    a.insert(
        "activity_type_id".into(),
        json!(super::attach::ACTIVITY_MEETING),
    );
    a.insert(
        "summary".into(),
        row.get("name").cloned().unwrap_or(Value::Null),
    );
    a.insert(
        "note".into(),
        row.get("description").cloned().unwrap_or(Value::Null),
    );
    a.insert(
        "date_deadline".into(),
        json!(dt(&row, "start").map(|s| s.date().format("%Y-%m-%d").to_string())),
    );
    a.insert(
        "user_id".into(),
        row.get("user_id").cloned().unwrap_or(json!(env.uid)),
    );
    a.insert("calendar_event_id".into(), json!(event));
    for f in ["create_date", "write_date"] {
        a.insert(f.into(), json!(now.clone()));
    }
    for f in ["create_uid", "write_uid"] {
        a.insert(f.into(), json!(env.uid));
    }
    tx.insert("mail.activity", a);
}

// ---------------------------------------------------------------------------------------
// recurrences

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub freq: String,
    pub interval: i64,
    pub end_type: String,
    pub count: usize,
    pub until: Option<NaiveDate>,
    pub weekdays: Vec<Weekday>,
    pub month_by: String,
    pub day: u32,
    pub weekday: Weekday,
    pub byday: i64,
}

const WD: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];
const WD_CODES: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const WD_UPPER: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

impl Rule {
    fn from_row(r: &Row, dtstart: NaiveDateTime) -> Self {
        let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        let weekdays: Vec<Weekday> = WEEKDAY_FIELDS
            .iter()
            .zip(WD)
            .filter(|(f, _)| truthy(r.get(**f)))
            .map(|(_, w)| w)
            .collect();
        Self {
            freq: s("rrule_type").unwrap_or_else(|| "weekly".into()),
            interval: r
                .get("interval")
                .and_then(Value::as_i64)
                .unwrap_or(1)
                .max(1),
            end_type: s("end_type").unwrap_or_else(|| "count".into()),
            count: (r.get("count").and_then(Value::as_i64).unwrap_or(1).max(1) as usize)
                .min(MAX_RECURRENT_EVENT),
            until: s("until").and_then(|u| NaiveDate::parse_from_str(&u, "%Y-%m-%d").ok()),
            weekdays,
            month_by: s("month_by").unwrap_or_else(|| "date".into()),
            day: r
                .get("day")
                .and_then(Value::as_i64)
                .map(|d| d as u32)
                .unwrap_or(dtstart.day()),
            weekday: s("weekday")
                .and_then(|w| WD_UPPER.iter().position(|c| *c == w))
                .map(|i| WD[i])
                .unwrap_or(dtstart.weekday()),
            byday: s("byday").and_then(|b| b.parse().ok()).unwrap_or(1),
        }
    }

    /// Occurrence dates (local), in order, capped at 720.
    pub fn dates(&self, start: NaiveDate) -> Vec<NaiveDate> {
        let limit = match self.end_type.as_str() {
            "count" => self.count,
            _ => MAX_RECURRENT_EVENT,
        };
        let until = if self.end_type == "end_date" {
            self.until
        } else {
            None
        };
        let mut out = Vec::new();
        let push = |d: NaiveDate, out: &mut Vec<NaiveDate>| -> bool {
            if d < start {
                return true;
            }
            // Python's datetime stops at year 9999.
            if until.is_some_and(|u| d > u) || out.len() >= limit || d.year() > 9999 {
                return false;
            }
            out.push(d);
            true
        };
        let iv = self.interval;
        // Bound the walk so a rule that never matches (e.g. day 31 every 12 months from
        // February) cannot loop forever.
        for k in 0..(MAX_RECURRENT_EVENT as i64 * 40) {
            let cont = match self.freq.as_str() {
                "daily" => match Duration::try_days(k.saturating_mul(iv))
                    .and_then(|d| start.checked_add_signed(d))
                {
                    Some(d) => push(d, &mut out),
                    None => false,
                },
                "weekly" => {
                    let monday =
                        start - Duration::days(start.weekday().num_days_from_monday() as i64);
                    let Some(week) = Duration::try_weeks(k.saturating_mul(iv))
                        .and_then(|d| monday.checked_add_signed(d))
                    else {
                        break;
                    };
                    let days = if self.weekdays.is_empty() {
                        vec![start.weekday()]
                    } else {
                        self.weekdays.clone()
                    };
                    let mut c = true;
                    for w in days {
                        let Some(d) = week
                            .checked_add_signed(Duration::days(w.num_days_from_monday() as i64))
                        else {
                            c = false;
                            break;
                        };
                        if !push(d, &mut out) {
                            c = false;
                            break;
                        }
                    }
                    c
                }
                "monthly" | "yearly" => {
                    let months = if self.freq == "monthly" {
                        k.saturating_mul(iv)
                    } else {
                        k.saturating_mul(iv).saturating_mul(12)
                    };
                    if months > 12 * 10_000 {
                        break;
                    }
                    let total = start.year() as i64 * 12 + start.month0() as i64 + months;
                    let (y, mo) = ((total / 12) as i32, (total % 12) as u32 + 1);
                    let d = if self.freq == "yearly" {
                        NaiveDate::from_ymd_opt(y, mo, start.day())
                    } else if self.month_by == "day" {
                        nth_weekday(y, mo, self.weekday, self.byday)
                    } else {
                        NaiveDate::from_ymd_opt(y, mo, self.day)
                    };
                    match d {
                        Some(d) => push(d, &mut out),
                        None => true,
                    }
                }
                _ => false,
            };
            if !cont || out.len() >= limit {
                break;
            }
        }
        out
    }
}

fn nth_weekday(y: i32, m: u32, w: Weekday, n: i64) -> Option<NaiveDate> {
    if n > 0 {
        NaiveDate::from_weekday_of_month_opt(y, m, w, n as u8)
    } else {
        let next = if m == 12 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(y, m + 1, 1)?
        };
        let mut d = next - Duration::days(1);
        while d.weekday() != w {
            d -= Duration::days(1);
        }
        Some(d)
    }
}

/// Parses an RRULE string (with or without a `DTSTART`/`RRULE:` prefix) into the recurrence
/// fields (`_rrule_parse`).
pub fn parse_rrule(s: &str) -> OResult<Map<String, Value>> {
    let line = s
        .lines()
        .find(|l| l.contains("FREQ="))
        .ok_or_else(|| OdooError::value_error(format!("invalid rrule: {s:?}")))?;
    let line = line.trim_start_matches("RRULE:");
    let mut out = Map::new();
    out.insert("end_type".into(), json!("forever"));
    for part in line.split(';') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        match k {
            "FREQ" => {
                let t = v.to_ascii_lowercase();
                if !matches!(t.as_str(), "daily" | "weekly" | "monthly" | "yearly") {
                    return Err(OdooError::value_error(format!(
                        "invalid rrule frequency {v:?}"
                    )));
                }
                out.insert("rrule_type".into(), json!(t));
            }
            "INTERVAL" => {
                out.insert(
                    "interval".into(),
                    json!(v
                        .parse::<i64>()
                        .map_err(|_| OdooError::value_error(format!(
                            "invalid rrule interval {v:?}"
                        )))?),
                );
            }
            "COUNT" => {
                out.insert("end_type".into(), json!("count"));
                out.insert(
                    "count".into(),
                    json!(v
                        .parse::<i64>()
                        .map_err(|_| OdooError::value_error(format!(
                            "invalid rrule count {v:?}"
                        )))?),
                );
            }
            "UNTIL" => {
                let d = NaiveDate::parse_from_str(v.get(..8).unwrap_or(v), "%Y%m%d")
                    .map_err(|_| OdooError::value_error(format!("invalid rrule until {v:?}")))?;
                out.insert("end_type".into(), json!("end_date"));
                out.insert("until".into(), json!(d.format("%Y-%m-%d").to_string()));
            }
            "BYMONTHDAY" => {
                out.insert("month_by".into(), json!("date"));
                out.insert("day".into(), json!(v.parse::<i64>().unwrap_or(1)));
            }
            "BYDAY" => {
                for d in v.split(',') {
                    if !d.is_ascii() || d.len() < 2 {
                        return Err(OdooError::value_error(format!("invalid rrule day {d:?}")));
                    }
                    let code = &d[d.len().saturating_sub(2)..];
                    let num = &d[..d.len().saturating_sub(2)];
                    let Some(i) = WD_CODES.iter().position(|c| *c == code) else {
                        return Err(OdooError::value_error(format!("invalid rrule day {d:?}")));
                    };
                    if num.is_empty() {
                        out.insert(WEEKDAY_FIELDS[i].into(), json!(true));
                    } else {
                        out.insert("month_by".into(), json!("day"));
                        out.insert("weekday".into(), json!(WD_UPPER[i]));
                        out.insert("byday".into(), json!(num.trim_start_matches('+')));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The `rrule` text of a recurrence, as dateutil prints it.
pub fn rrule_string(r: &Row) -> String {
    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut parts = vec![format!("FREQ={}", s("rrule_type").to_ascii_uppercase())];
    let interval = r.get("interval").and_then(Value::as_i64).unwrap_or(1);
    if interval > 1 {
        parts.push(format!("INTERVAL={interval}"));
    }
    match s("end_type").as_str() {
        "count" => parts.push(format!(
            "COUNT={}",
            r.get("count").and_then(Value::as_i64).unwrap_or(1)
        )),
        "end_date" => parts.push(format!("UNTIL={}T235959", s("until").replace('-', ""))),
        _ => {}
    }
    let days: Vec<&str> = WEEKDAY_FIELDS
        .iter()
        .zip(WD_CODES)
        .filter(|(f, _)| truthy(r.get(**f)))
        .map(|(_, c)| c)
        .collect();
    if s("rrule_type") == "weekly" && !days.is_empty() {
        parts.push(format!("BYDAY={}", days.join(",")));
    }
    if s("rrule_type") == "monthly" {
        if s("month_by") == "day" {
            let i = WD_UPPER
                .iter()
                .position(|c| *c == s("weekday"))
                .unwrap_or(0);
            parts.push(format!("BYDAY={}{}", s("byday"), WD_CODES[i]));
        } else if let Some(d) = r.get("day").and_then(Value::as_i64) {
            parts.push(format!("BYMONTHDAY={d}"));
        }
    }
    parts.join(";")
}

fn recurrence_name(r: &Rule) -> String {
    let unit = match r.freq.as_str() {
        "daily" => "Days",
        "monthly" => "Months",
        "yearly" => "Years",
        _ => "Weeks",
    };
    let end = match r.end_type.as_str() {
        "count" => format!(" for {} events", r.count),
        "end_date" => r.until.map(|u| format!(" until {u}")).unwrap_or_default(),
        _ => String::new(),
    };
    format!("Every {} {unit}{end}", r.interval)
}

/// Creates a `calendar.recurrence` for `base` from written values (fields or an `rrule`),
/// optionally starting from an older recurrence's values.
fn create_recurrence(
    tx: &mut Tx<'_>,
    env: &Env,
    base: i64,
    vals: &Map<String, Value>,
    from: Option<&Row>,
) -> OResult<i64> {
    let reg = tx.registry();
    let rm = orm::model(&reg, "calendar.recurrence")?;
    let base_row = tx.row("calendar.event", base).cloned().unwrap_or_default();
    let start = dt(&base_row, "start").unwrap_or(tx.now);
    let mut v = Map::new();
    if let Some(old) = from {
        for f in RECURRENCE_FIELDS
            .iter()
            .filter(|f| **f != "dtstart" && **f != "rrule")
        {
            if let Some(x) = old.get(*f) {
                v.insert((*f).into(), x.clone());
            }
        }
    }
    if let Some(Value::String(r)) = vals.get("rrule") {
        v.extend(parse_rrule(r)?);
    }
    for (k, x) in vals {
        if k != "rrule" && k != "dtstart" {
            v.insert(k.clone(), x.clone());
        }
    }
    let (mut row, _) = orm::split_vals(tx, rm, None, &v)?;
    row.entry("rrule_type".into()).or_insert(json!("weekly"));
    row.entry("end_type".into()).or_insert(json!("count"));
    row.entry("interval".into()).or_insert(json!(1));
    row.entry("count".into()).or_insert(json!(1));
    row.entry("month_by".into()).or_insert(json!("date"));
    if row.get("event_tz").is_none_or(Value::is_null) {
        let tz = env.ctx("tz").cloned().unwrap_or(Value::Null);
        row.insert("event_tz".into(), tz);
    }
    if row.get("end_type").and_then(Value::as_str) == Some("end_date")
        && row.get("until").is_none_or(Value::is_null)
    {
        return Err(OdooError::User("Please select a proper end date".into()));
    }
    if row.get("count").and_then(Value::as_i64).unwrap_or(1) > MAX_RECURRENT_EVENT as i64 {
        row.insert("count".into(), json!(MAX_RECURRENT_EVENT));
    }
    let rule = Rule::from_row(&row, start);
    row.insert("name".into(), json!(recurrence_name(&rule)));
    row.insert("base_event_id".into(), json!(base));
    let now = tx.now_stored();
    row.insert("create_date".into(), json!(now.clone()));
    row.insert("write_date".into(), json!(now));
    row.insert("create_uid".into(), json!(env.uid));
    row.insert("write_uid".into(), json!(env.uid));
    let id = tx.insert("calendar.recurrence", row);
    let mut ch = Row::new();
    ch.insert("recurrence_id".into(), json!(id));
    ch.insert("recurrency".into(), json!(true));
    ch.insert("follow_recurrence".into(), json!(true));
    tx.update("calendar.event", base, ch);
    Ok(id)
}

fn tz_of(name: Option<&str>) -> chrono_tz::Tz {
    name.and_then(|n| n.parse().ok()).unwrap_or(chrono_tz::UTC)
}

/// The (start, stop) ranges in UTC of a recurrence, DST-correct in `event_tz`.
fn ranges(rec: &Row, base: &Row) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let (Some(start), Some(stop)) = (dt(base, "start"), dt(base, "stop")) else {
        return Vec::new();
    };
    let allday = truthy(base.get("allday"));
    let dur = stop - start;
    let tz = tz_of(rec.get("event_tz").and_then(Value::as_str));
    // All-day events are dates, not instants: no time-zone conversion.
    let local_start = if allday {
        start
    } else {
        tz.from_utc_datetime(&start).naive_local()
    };
    let rule = Rule::from_row(rec, local_start);
    rule.dates(local_start.date())
        .into_iter()
        .map(|d| {
            let local = d.and_time(local_start.time());
            let utc = if allday {
                local
            } else {
                tz.from_local_datetime(&local)
                    .earliest()
                    .map(|t| t.naive_utc())
                    .unwrap_or(local - (local_start - start))
            };
            (utc, utc + dur)
        })
        .collect()
}

fn events_of_recurrence(db: &Db, rec: i64, active_only: bool) -> Vec<(i64, Row)> {
    db.tables
        .get("calendar.event")
        .map(|t| {
            t.rows
                .iter()
                .filter(|(_, r)| r.get("recurrence_id").and_then(Value::as_i64) == Some(rec))
                .filter(|(_, r)| !active_only || truthy(r.get("active")))
                .map(|(i, r)| (*i, r.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// `_apply_recurrence`: keeps occurrences on a range, detaches those off the rule
/// (`_detach_events`: `recurrence_id` and `recurrency` cleared) and archives them, and
/// creates a new row for each range without one. The base itself is off the rule when its
/// start is not an occurrence (dateutil yields no DTSTART that misses BYDAY): `create`
/// archives it (`detached_events.active = False`), and that `write(active=False)` re-bases
/// the recurrence on its first remaining event ([`select_new_base_event`]), so the id
/// `create` returns is an archived single event outside the series (odoo/odoo
/// `addons/calendar/models/calendar_event.py` `create`/`write`, `calendar_recurrence.py`
/// `_apply_recurrence`).
fn apply_recurrence(tx: &mut Tx<'_>, env: &Env, rec_id: i64) -> OResult<()> {
    let Some(rec) = tx.row("calendar.recurrence", rec_id).cloned() else {
        return Ok(());
    };
    let base_id = rec
        .get("base_event_id")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let Some(base) = tx.row("calendar.event", base_id).cloned() else {
        return Ok(());
    };
    let mut todo = ranges(&rec, &base);
    let now = tx.now_stored();
    let mut detached = Vec::new();
    for (id, ev) in events_of_recurrence(tx.db, rec_id, true) {
        let key = (dt(&ev, "start"), dt(&ev, "stop"));
        if let Some(pos) = todo.iter().position(|(s, e)| (Some(*s), Some(*e)) == key) {
            todo.remove(pos);
        } else {
            detached.push(id);
        }
    }
    let organizer_partner = base
        .get("user_id")
        .and_then(Value::as_i64)
        .and_then(|u| tx.db.user_partner(u));
    let partners = ids_of(base.get("partner_ids"));
    for (s, e) in todo {
        let mut row = base.clone();
        row.remove("id");
        row.insert("start".into(), json!(fmt_dt(s)));
        row.insert("stop".into(), json!(fmt_dt(e)));
        if truthy(base.get("allday")) {
            row.insert(
                "start_date".into(),
                json!(s.date().format("%Y-%m-%d").to_string()),
            );
            row.insert(
                "stop_date".into(),
                json!(e.date().format("%Y-%m-%d").to_string()),
            );
        }
        row.insert("recurrence_id".into(), json!(rec_id));
        row.insert("recurrency".into(), json!(true));
        row.insert("follow_recurrence".into(), json!(true));
        row.insert("active".into(), json!(true));
        row.insert(
            "access_token".into(),
            json!(uuid::Uuid::new_v4().simple().to_string()),
        );
        row.insert("create_date".into(), json!(now.clone()));
        row.insert("write_date".into(), json!(now.clone()));
        row.insert("create_uid".into(), json!(env.uid));
        row.insert("write_uid".into(), json!(env.uid));
        let id = tx.insert("calendar.event", row);
        create_attendees(tx, env, id, &partners, organizer_partner);
    }
    // Detached and archived once the new rows exist: a base among them hands the series
    // to the first of those.
    for &id in &detached {
        let mut ch = Row::new();
        ch.insert("recurrence_id".into(), Value::Null);
        ch.insert("recurrency".into(), json!(false));
        ch.insert("active".into(), json!(false));
        ch.insert("write_date".into(), json!(now.clone()));
        ch.insert("write_uid".into(), json!(env.uid));
        tx.update("calendar.event", id, ch);
    }
    if detached.contains(&base_id) {
        select_new_base_event(tx, rec_id, base_id, &[]);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// write

fn stamp(tx: &Tx<'_>, env: &Env, mut ch: Row) -> Row {
    ch.insert("write_date".into(), json!(tx.now_stored()));
    ch.insert("write_uid".into(), json!(env.uid));
    ch
}

/// Writes plain values on one event: attendees follow `partner_ids`, times are recomputed,
/// and date changes and new attendees are mailed.
fn write_event(tx: &mut Tx<'_>, env: &Env, id: i64, vals: &Map<String, Value>) -> OResult<()> {
    let reg = tx.registry();
    let m = orm::model(&reg, "calendar.event")?;
    if let Some(p) = vals.get("partner_ids") {
        partner_commands_supported(p)?;
    }
    let before = tx.row("calendar.event", id).cloned().unwrap_or_default();
    let (mut changes, pending) = orm::split_vals(tx, m, Some(id), vals)?;
    if let Some(u) = changes.get("user_id").and_then(Value::as_i64) {
        changes.insert("partner_id".into(), json!(tx.db.user_partner(u)));
    }
    let mut merged = before.clone();
    merged.extend(changes.clone());
    let touches_time = vals
        .keys()
        .any(|k| TIME_FIELDS.contains(&k.as_str()) || k == "duration" || k == "allday");
    if touches_time {
        resolve_times(&mut merged, vals)?;
        for f in ["start", "stop", "start_date", "stop_date", "duration"] {
            changes.insert(f.into(), merged.get(f).cloned().unwrap_or(Value::Null));
        }
    }
    orm::write_plain(tx, env, m, &[id], &Map::new())?;
    tx.update("calendar.event", id, changes);
    // Attendees follow partner_ids.
    if vals.contains_key("partner_ids") {
        let old = ids_of(before.get("partner_ids"));
        let new = ids_of(merged.get("partner_ids"));
        let added: Vec<i64> = new.iter().copied().filter(|p| !old.contains(p)).collect();
        let removed: Vec<i64> = old.iter().copied().filter(|p| !new.contains(p)).collect();
        for (aid, a) in attendees_of(tx.db, id) {
            if a.get("partner_id")
                .and_then(Value::as_i64)
                .is_some_and(|p| removed.contains(&p))
            {
                tx.remove("calendar.attendee", aid);
            }
        }
        let organizer_partner = merged
            .get("user_id")
            .and_then(Value::as_i64)
            .and_then(|u| tx.db.user_partner(u));
        create_attendees(tx, env, id, &added, organizer_partner);
        if !added.is_empty() {
            send_event_mail(tx, env, "invitation", id, Some(&added));
        }
    }
    for p in &pending {
        orm::apply_o2m(tx, env, id, p)?;
    }
    track(tx, env, id, &before)?;
    if dt(&before, "start") != dt(&merged, "start") && before.contains_key("start") {
        send_event_mail(tx, env, "date_changed", id, None);
    }
    Ok(())
}

/// Odoo's own Outlook sync (17+) owns recurrences for users who run it.
fn outlook_sync_blocks(db: &Db, env: &Env) -> bool {
    db.version.has_body_is_html() && db.outlook_sync.contains(&env.uid)
}

/// Fields whose changes are logged in the chatter (`tracking=True` in calendar_event.py).
const TRACKED: [&str; 6] = [
    "location",
    "active",
    "start",
    "stop",
    "start_date",
    "stop_date",
];

/// Posts a tracking message (`mail.tracking.value` rows) when tracked fields changed, unless
/// the context says `mail_notrack` or `tracking_disable`. The event's write_date is not
/// touched by the message.
fn track(tx: &mut Tx<'_>, env: &Env, id: i64, before: &Row) -> OResult<()> {
    if env.ctx_true("mail_notrack") || env.ctx_true("tracking_disable") {
        return Ok(());
    }
    let after = tx.row("calendar.event", id).cloned().unwrap_or_default();
    let norm = |r: &Row, f: &str| -> Value {
        match r.get(f) {
            None | Some(Value::Null) => Value::Null,
            Some(v) if f == "active" => json!(truthy(Some(v))),
            Some(v) => v.clone(),
        }
    };
    let changed: Vec<&str> = TRACKED
        .iter()
        .copied()
        .filter(|f| norm(before, f) != norm(&after, f))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let message = super::attach::insert_message(
        tx,
        env,
        "calendar.event",
        id,
        String::new(),
        "notification",
        super::attach::SUBTYPE_NOTE,
        None,
    );
    let reg = tx.registry();
    let m = orm::model(&reg, "calendar.event")?;
    let now = tx.now_stored();
    for f in changed {
        let Some(field) = m.field(f) else { continue };
        let existing = tx.db.tables.get("ir.model.fields").and_then(|t| {
            t.rows
                .iter()
                .find(|(_, r)| {
                    r.get("model").and_then(Value::as_str) == Some("calendar.event")
                        && r.get("name").and_then(Value::as_str) == Some(f)
                })
                .map(|(i, _)| *i)
        });
        let field_id = match existing {
            Some(i) => i,
            None => {
                let mut r = Row::new();
                r.insert("name".into(), json!(f));
                r.insert("model".into(), json!("calendar.event"));
                r.insert("field_description".into(), json!(field.string));
                r.insert("ttype".into(), json!(field.kind.type_name()));
                tx.insert("ir.model.fields", r)
            }
        };
        let (old, new) = (norm(before, f), norm(&after, f));
        let mut r = Row::new();
        r.insert("field_id".into(), json!(field_id));
        r.insert("mail_message_id".into(), json!(message));
        let suffix = match field.kind {
            super::models::Kind::Datetime | super::models::Kind::Date => "datetime",
            super::models::Kind::Boolean => "integer",
            _ => "char",
        };
        let conv = |v: Value| match (suffix, v) {
            ("integer", v) => json!(i64::from(truthy(Some(&v)))),
            ("datetime", Value::String(d)) if d.len() == 10 => json!(format!("{d} 00:00:00")),
            (_, v) => v,
        };
        r.insert(format!("old_value_{suffix}"), conv(old));
        r.insert(format!("new_value_{suffix}"), conv(new));
        for k in ["create_date", "write_date"] {
            r.insert(k.into(), json!(now.clone()));
        }
        for k in ["create_uid", "write_uid"] {
            r.insert(k.into(), json!(env.uid));
        }
        tx.insert("mail.tracking.value", r);
    }
    Ok(())
}

/// `calendar.event.write` with `recurrence_update` (self_only / future_events / all_events).
pub fn write(tx: &mut Tx<'_>, env: &Env, ids: &[i64], mut vals: Map<String, Value>) -> OResult<()> {
    let mode = vals
        .remove("recurrence_update")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "self_only".into());
    if !matches!(mode.as_str(), "self_only" | "future_events" | "all_events") {
        return Err(OdooError::value_error(format!(
            "Wrong value for calendar.event.recurrence_update: '{mode}'"
        )));
    }
    let rec_vals = split_recurrence_vals(&mut vals);
    if (!rec_vals.is_empty() || vals.contains_key("recurrency")) && outlook_sync_blocks(tx.db, env)
    {
        return Err(OdooError::User(
            "Due to an Outlook Calendar limitation, recurrence updates must be done directly in Outlook Calendar.".into(),
        ));
    }
    let time_changed = vals
        .keys()
        .any(|k| TIME_FIELDS.contains(&k.as_str()) || k == "duration");
    let archiving = vals.get("active") == Some(&Value::Bool(false));
    for &id in ids {
        let row = tx.row("calendar.event", id).cloned().unwrap_or_default();
        let rec = row.get("recurrence_id").and_then(Value::as_i64);
        let breaking = vals.get("recurrency") == Some(&Value::Bool(false));
        match (rec, mode.as_str()) {
            (Some(rec), "future_events" | "all_events") if breaking => {
                break_recurrence(tx, env, id, rec, mode == "future_events", &vals)?;
            }
            (Some(rec), "future_events") => {
                let first = events_of_recurrence(tx.db, rec, true)
                    .into_iter()
                    .filter_map(|(i, r)| str_of(&r, "start").map(|s| (s, i)))
                    .min()
                    .map(|(_, i)| i);
                if first == Some(id) {
                    update_all(tx, env, id, rec, &vals, &rec_vals, time_changed)?;
                } else {
                    split_future(tx, env, id, rec, &vals, &rec_vals)?;
                }
            }
            (Some(rec), "all_events") => {
                update_all(tx, env, id, rec, &vals, &rec_vals, time_changed)?;
            }
            (Some(_), _) => {
                if !rec_vals.is_empty() {
                    return Err(OdooError::User(
                        "Unable to save the recurrence with \"This Event\"".into(),
                    ));
                }
                let mut vals = vals.clone();
                if time_changed {
                    vals.insert("follow_recurrence".into(), json!(false));
                }
                write_event(tx, env, id, &vals)?;
            }
            (None, _) => {
                write_event(tx, env, id, &vals)?;
                let now_recurrent = truthy(
                    tx.row("calendar.event", id)
                        .and_then(|r| r.get("recurrency")),
                );
                if now_recurrent && (vals.contains_key("recurrency") || !rec_vals.is_empty()) {
                    let rid = create_recurrence(tx, env, id, &rec_vals, None)?;
                    apply_recurrence(tx, env, rid)?;
                }
            }
        }
    }
    if archiving {
        rebase_archived(tx, ids);
    }
    Ok(())
}

/// "This and following": stop the old series the day before, archive the following
/// occurrences, and start a new series at this event with new occurrence rows.
fn split_future(
    tx: &mut Tx<'_>,
    env: &Env,
    id: i64,
    rec: i64,
    vals: &Map<String, Value>,
    rec_vals: &Map<String, Value>,
) -> OResult<()> {
    let row = tx.row("calendar.event", id).cloned().unwrap_or_default();
    let start = str_of(&row, "start").unwrap_or_default();
    let old = tx
        .row("calendar.recurrence", rec)
        .cloned()
        .unwrap_or_default();
    let following: Vec<(i64, Row)> = events_of_recurrence(tx.db, rec, true)
        .into_iter()
        .filter(|(_, r)| str_of(r, "start").is_some_and(|s| s >= start))
        .collect();
    let day_before = dt(&row, "start").map(|s| s.date() - Duration::days(1));
    let mut stop = Row::new();
    stop.insert("end_type".into(), json!("end_date"));
    stop.insert(
        "until".into(),
        json!(day_before.map(|d| d.format("%Y-%m-%d").to_string())),
    );
    let stop = stamp(tx, env, stop);
    tx.update("calendar.recurrence", rec, stop);
    for (eid, _) in &following {
        let mut ch = Row::new();
        ch.insert("recurrence_id".into(), Value::Null);
        if *eid != id {
            ch.insert("active".into(), json!(false));
        }
        let ch = stamp(tx, env, ch);
        tx.update("calendar.event", *eid, ch);
    }
    write_event(tx, env, id, vals)?;
    let mut rv = rec_vals.clone();
    if old.get("end_type").and_then(Value::as_str) == Some("count") && !rv.contains_key("count") {
        rv.insert("count".into(), json!(following.len().max(1)));
    }
    // The new series repeats on the weekday of its new first event unless told otherwise.
    let moved_to = tx.row("calendar.event", id).and_then(|r| dt(r, "start"));
    follow_weekday(&old, dt(&row, "start"), moved_to, &mut rv);
    let new_rec = create_recurrence(tx, env, id, &rv, Some(&old))?;
    apply_recurrence(tx, env, new_rec)
}

/// A weekly series whose event moves to another weekday follows it: the old day's flag is
/// cleared and the new day's set (in the series' time zone), unless the write names days.
fn follow_weekday(
    old: &Row,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    rv: &mut Map<String, Value>,
) {
    let weekly = rv
        .get("rrule_type")
        .or_else(|| old.get("rrule_type"))
        .and_then(Value::as_str)
        == Some("weekly");
    let names_days = WEEKDAY_FIELDS.iter().any(|f| rv.contains_key(*f));
    let (Some(from), Some(to)) = (from, to) else {
        return;
    };
    if !weekly || names_days {
        return;
    }
    let tz = tz_of(old.get("event_tz").and_then(Value::as_str));
    let day = |t: NaiveDateTime| {
        tz.from_utc_datetime(&t)
            .naive_local()
            .weekday()
            .num_days_from_monday() as usize
    };
    let (a, b) = (day(from), day(to));
    if a != b {
        rv.insert(WEEKDAY_FIELDS[a].into(), json!(false));
        rv.insert(WEEKDAY_FIELDS[b].into(), json!(true));
    }
}

/// "All events": a time or rule change rewrites the series (all occurrences archived, the
/// base event updated, new occurrence rows); other values are written on every occurrence.
fn update_all(
    tx: &mut Tx<'_>,
    env: &Env,
    id: i64,
    rec: i64,
    vals: &Map<String, Value>,
    rec_vals: &Map<String, Value>,
    time_changed: bool,
) -> OResult<()> {
    if !time_changed && rec_vals.is_empty() {
        // One invitation per new attendee for the series, sent from the edited event.
        let quiet = {
            let mut e = env.clone();
            e.context.insert("no_mail_to_attendees".into(), json!(true));
            e
        };
        for (eid, _) in events_of_recurrence(tx.db, rec, true) {
            write_event(tx, if eid == id { env } else { &quiet }, eid, vals)?;
        }
        return Ok(());
    }
    let old = tx
        .row("calendar.recurrence", rec)
        .cloned()
        .unwrap_or_default();
    let edited = tx.row("calendar.event", id).cloned().unwrap_or_default();
    let base = old
        .get("base_event_id")
        .and_then(Value::as_i64)
        .filter(|b| tx.row("calendar.event", *b).is_some())
        .unwrap_or(id);
    let base_row = tx.row("calendar.event", base).cloned().unwrap_or_default();
    // Shift the base event by what the edited occurrence moved.
    let mut base_vals = vals.clone();
    for f in ["start", "stop"] {
        if let (Some(new), Some(old_t), Some(base_t)) = (
            vals.get(f).and_then(Value::as_str).and_then(parse_dt),
            dt(&edited, f),
            dt(&base_row, f),
        ) {
            let moved =
                base_t
                    .checked_add_signed(new - old_t)
                    .ok_or_else(|| OdooError::Python {
                        class: "builtins.OverflowError",
                        message: "date value out of range".into(),
                    })?;
            base_vals.insert(f.into(), json!(fmt_dt(moved)));
        }
    }
    for (eid, _) in events_of_recurrence(tx.db, rec, false) {
        let mut ch = Row::new();
        ch.insert("recurrence_id".into(), Value::Null);
        if eid != base {
            ch.insert("active".into(), json!(false));
        }
        let ch = stamp(tx, env, ch);
        tx.update("calendar.event", eid, ch);
    }
    tx.remove("calendar.recurrence", rec);
    let mut act = Row::new();
    act.insert("active".into(), json!(true));
    tx.update("calendar.event", base, act);
    write_event(tx, env, base, &base_vals)?;
    let mut rv = rec_vals.clone();
    let moved_to = vals.get("start").and_then(Value::as_str).and_then(parse_dt);
    follow_weekday(&old, dt(&edited, "start"), moved_to, &mut rv);
    let new_rec = create_recurrence(tx, env, base, &rv, Some(&old))?;
    apply_recurrence(tx, env, new_rec)
}

/// `recurrency=False` with future/all: detach the events and delete the others.
fn break_recurrence(
    tx: &mut Tx<'_>,
    env: &Env,
    id: i64,
    rec: i64,
    future: bool,
    vals: &Map<String, Value>,
) -> OResult<()> {
    let row = tx.row("calendar.event", id).cloned().unwrap_or_default();
    let start = str_of(&row, "start").unwrap_or_default();
    let events: Vec<(i64, Row)> = events_of_recurrence(tx.db, rec, false)
        .into_iter()
        .filter(|(_, r)| !future || str_of(r, "start").is_some_and(|s| s >= start))
        .collect();
    if future {
        let day_before = dt(&row, "start").map(|s| s.date() - Duration::days(1));
        let mut stop = Row::new();
        stop.insert("end_type".into(), json!("end_date"));
        stop.insert(
            "until".into(),
            json!(day_before.map(|d| d.format("%Y-%m-%d").to_string())),
        );
        let stop = stamp(tx, env, stop);
        tx.update("calendar.recurrence", rec, stop);
    } else {
        tx.remove("calendar.recurrence", rec);
    }
    let reg = tx.registry();
    let m = orm::model(&reg, "calendar.event")?;
    for (eid, _) in events {
        if eid == id {
            let mut ch = Row::new();
            ch.insert("recurrence_id".into(), Value::Null);
            ch.insert("recurrency".into(), json!(false));
            ch.insert("follow_recurrence".into(), json!(false));
            let ch = stamp(tx, env, ch);
            tx.update("calendar.event", eid, ch);
        } else {
            orm::unlink(tx, &env.sudo(), m, &[eid])?;
        }
    }
    let mut rest = vals.clone();
    rest.remove("recurrency");
    write_event(tx, env, id, &rest)
}

/// `action_mass_archive` / `action_mass_deletion`: this event, this and the following
/// ones (the series is stopped before it), or the whole series.
pub fn mass_action(
    tx: &mut Tx<'_>,
    env: &Env,
    id: i64,
    setting: &str,
    delete: bool,
) -> OResult<()> {
    let reg = tx.registry();
    let m = orm::model(&reg, "calendar.event")?;
    let row = tx.row("calendar.event", id).cloned().unwrap_or_default();
    let targets: Vec<i64> = match (row.get("recurrence_id").and_then(Value::as_i64), setting) {
        (Some(rec), "all_events") => events_of_recurrence(tx.db, rec, true)
            .into_iter()
            .map(|(i, _)| i)
            .collect(),
        (Some(rec), "future_events") => {
            let start = str_of(&row, "start").unwrap_or_default();
            let following: Vec<i64> = events_of_recurrence(tx.db, rec, true)
                .into_iter()
                .filter(|(_, r)| str_of(r, "start").is_some_and(|s| s >= start))
                .map(|(i, _)| i)
                .collect();
            let day_before = dt(&row, "start").map(|s| s.date() - Duration::days(1));
            let mut stop = Row::new();
            stop.insert("end_type".into(), json!("end_date"));
            stop.insert(
                "until".into(),
                json!(day_before.map(|d| d.format("%Y-%m-%d").to_string())),
            );
            let stop = stamp(tx, env, stop);
            tx.update("calendar.recurrence", rec, stop);
            following
        }
        (_, "self_only" | "all_events" | "future_events") => vec![id],
        (_, other) => {
            return Err(OdooError::value_error(format!(
                "Wrong value for recurrence_update_setting: '{other}'"
            )))
        }
    };
    if delete {
        orm::unlink(tx, env, m, &targets)
    } else {
        let mut vals = Map::new();
        vals.insert("active".into(), json!(false));
        orm::write_plain(tx, env, m, &targets, &vals)?;
        rebase_archived(tx, &targets);
        Ok(())
    }
}

/// Mails cancellations for future events being deleted, and re-bases recurrences.
pub fn before_unlink(tx: &mut Tx<'_>, env: &Env, ids: &[i64]) -> OResult<()> {
    for &id in ids {
        let row = tx.row("calendar.event", id).cloned().unwrap_or_default();
        if dt(&row, "start").is_some_and(|s| s > tx.now) && truthy(row.get("active")) {
            send_event_mail(tx, env, "cancellation", id, None);
        }
        if let Some(rec) = row.get("recurrence_id").and_then(Value::as_i64) {
            select_new_base_event(tx, rec, id, ids);
        }
    }
    Ok(())
}

/// `calendar.recurrence._select_new_base_event`: when `gone_base` (archived, or deleted
/// with `gone`) is the base event of recurrence `rec`, the first active occurrence left
/// (`_get_first_event`: `calendar_event_ids` sorted by start; the outliers it leaves out
/// start off the rule counted from that first start, so never the first itself) becomes
/// the base, or none when no active one is left. The rule, `count` included, is kept.
/// Called from `calendar.event.write` when `active` is written False and from `unlink`
/// (odoo/odoo `addons/calendar/models/calendar_event.py`, `calendar_recurrence.py`).
fn select_new_base_event(tx: &mut Tx<'_>, rec: i64, gone_base: i64, gone: &[i64]) {
    let base = tx
        .row("calendar.recurrence", rec)
        .and_then(|r| r.get("base_event_id"))
        .and_then(Value::as_i64);
    if base != Some(gone_base) {
        return;
    }
    let next = events_of_recurrence(tx.db, rec, true)
        .into_iter()
        .filter(|(i, _)| !gone.contains(i))
        .filter_map(|(i, r)| str_of(&r, "start").map(|s| (s, i)))
        .min()
        .map(|(_, i)| i);
    let mut ch = Row::new();
    ch.insert("base_event_id".into(), json!(next));
    tx.update("calendar.recurrence", rec, ch);
}

/// After `active` was written False on `ids`: the recurrences whose base that was pick
/// another ([`select_new_base_event`]).
fn rebase_archived(tx: &mut Tx<'_>, ids: &[i64]) {
    for &id in ids {
        let row = tx.row("calendar.event", id).cloned().unwrap_or_default();
        if truthy(row.get("active")) {
            continue;
        }
        if let Some(rec) = row.get("recurrence_id").and_then(Value::as_i64) {
            select_new_base_event(tx, rec, id, &[]);
        }
    }
}

/// `change_attendee_status(status, recurrence_update_setting)`: the current user's answer.
pub fn change_attendee_status(
    tx: &mut Tx<'_>,
    env: &Env,
    ids: &[i64],
    status: &str,
    setting: &str,
) -> OResult<()> {
    if !matches!(
        status,
        "accepted" | "declined" | "tentative" | "needsAction"
    ) {
        return Err(OdooError::value_error(format!(
            "Wrong value for calendar.attendee.state: '{status}'"
        )));
    }
    let partner = tx.db.user_partner(env.uid);
    let mut events: Vec<i64> = ids.to_vec();
    for &id in ids {
        let row = tx.row("calendar.event", id).cloned().unwrap_or_default();
        if let Some(rec) = row.get("recurrence_id").and_then(Value::as_i64) {
            let start = str_of(&row, "start").unwrap_or_default();
            if setting == "all_events" || setting == "future_events" {
                for (eid, r) in events_of_recurrence(tx.db, rec, true) {
                    if setting == "all_events" || str_of(&r, "start").is_some_and(|s| s >= start) {
                        events.push(eid);
                    }
                }
            }
        }
    }
    events.sort_unstable();
    events.dedup();
    for ev in events {
        for (aid, a) in attendees_of(tx.db, ev) {
            if a.get("partner_id").and_then(Value::as_i64) == partner {
                set_attendee_state(tx, env, aid, status)?;
            }
        }
    }
    Ok(())
}

/// Sets one attendee's state and posts the answer on the event's chatter (the event's own
/// `write_date` does not move).
pub fn set_attendee_state(tx: &mut Tx<'_>, env: &Env, aid: i64, status: &str) -> OResult<()> {
    let mut ch = Row::new();
    ch.insert("state".into(), json!(status));
    let ch = stamp(tx, env, ch);
    tx.update("calendar.attendee", aid, ch);
    let a = tx
        .row("calendar.attendee", aid)
        .cloned()
        .unwrap_or_default();
    let ev = a.get("event_id").and_then(Value::as_i64).unwrap_or(0);
    let who = str_of(&a, "common_name").unwrap_or_default();
    let verb = match status {
        "accepted" => "has accepted the invitation",
        "declined" => "has declined the invitation",
        "tentative" => "has tentatively accepted the invitation",
        _ => return Ok(()),
    };
    super::attach::insert_message(
        tx,
        env,
        "calendar.event",
        ev,
        format!("<p>{who} {verb}</p>"),
        "notification",
        super::attach::SUBTYPE_INVITATION,
        a.get("partner_id").and_then(Value::as_i64),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(freq: &str) -> Rule {
        Rule {
            freq: freq.into(),
            interval: 1,
            end_type: "count".into(),
            count: 5,
            until: None,
            weekdays: vec![],
            month_by: "date".into(),
            day: 31,
            weekday: Weekday::Mon,
            byday: 1,
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn weekly_rules_repeat_on_the_chosen_weekdays() {
        let mut r = rule("weekly");
        r.weekdays = vec![Weekday::Mon, Weekday::Wed];
        // 2026-03-02 is a Monday.
        let got = r.dates(d(2026, 3, 2));
        assert_eq!(
            got,
            vec![
                d(2026, 3, 2),
                d(2026, 3, 4),
                d(2026, 3, 9),
                d(2026, 3, 11),
                d(2026, 3, 16)
            ]
        );
    }

    #[test]
    fn forever_and_large_counts_stop_at_720() {
        let mut r = rule("daily");
        r.end_type = "forever".into();
        assert_eq!(r.dates(d(2026, 1, 1)).len(), 720);
        r.end_type = "count".into();
        r.count = 720;
        assert_eq!(r.dates(d(2026, 1, 1)).len(), 720);
    }

    #[test]
    fn monthly_by_date_skips_months_without_that_day_and_until_is_inclusive() {
        let mut r = rule("monthly");
        r.end_type = "end_date".into();
        r.until = Some(d(2026, 5, 31));
        assert_eq!(
            r.dates(d(2026, 1, 31)),
            vec![d(2026, 1, 31), d(2026, 3, 31), d(2026, 5, 31)]
        );
        let mut last_friday = rule("monthly");
        last_friday.month_by = "day".into();
        last_friday.weekday = Weekday::Fri;
        last_friday.byday = -1;
        last_friday.count = 2;
        assert_eq!(
            last_friday.dates(d(2026, 1, 1)),
            vec![d(2026, 1, 30), d(2026, 2, 27)]
        );
    }

    #[test]
    fn rrule_strings_parse_into_recurrence_fields() {
        let v = parse_rrule(
            "DTSTART:20260302T090000\nRRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=MO,FR",
        )
        .unwrap();
        assert_eq!(v["rrule_type"], "weekly");
        assert_eq!(v["interval"], 2);
        assert_eq!(v["count"], 4);
        assert_eq!(v["mon"], true);
        assert_eq!(v["fri"], true);
        let v = parse_rrule("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261231T000000Z").unwrap();
        assert_eq!(v["month_by"], "day");
        assert_eq!(v["byday"], "-1");
        assert_eq!(v["until"], "2026-12-31");
        assert!(parse_rrule("FREQ=SECONDLY").is_err());
        assert!(parse_rrule("nonsense").is_err());
    }

    #[test]
    fn occurrences_keep_local_time_across_dst() {
        let mut rec = Row::new();
        rec.insert("rrule_type".into(), json!("weekly"));
        rec.insert("end_type".into(), json!("count"));
        rec.insert("count".into(), json!(3));
        rec.insert("interval".into(), json!(1));
        rec.insert("event_tz".into(), json!("Europe/Brussels"));
        let mut base = Row::new();
        // 2026-03-23 09:00 Brussels (CET, UTC+1) = 08:00 UTC; DST starts 2026-03-29.
        base.insert("start".into(), json!("2026-03-23 08:00:00"));
        base.insert("stop".into(), json!("2026-03-23 09:00:00"));
        let r = ranges(&rec, &base);
        assert_eq!(fmt_dt(r[0].0), "2026-03-23 08:00:00");
        assert_eq!(fmt_dt(r[1].0), "2026-03-30 07:00:00");
    }
}
