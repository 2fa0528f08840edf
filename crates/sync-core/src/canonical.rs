//! The canonical event: the one form both services are mapped to, and the only thing
//! that is hashed, merged and compared.
//!
//! The canonical form holds what **both** sides can represent, normalised so that a
//! value written to one side and read back compares equal (otherwise sync's own writes
//! would look like user edits and loop). Everything one side cannot carry is either
//! projected to what both can (show-as, privacy, count cap) or left out of the synced
//! fields (organizer, attendee names, zone of a single event).
//!
//! # Fields
//!
//! | field | canonical | Graph | Odoo |
//! |---|---|---|---|
//! | `title` | trimmed text | `subject` | `name` |
//! | `when` | UTC instants (whole seconds) or all-day dates, end exclusive | `start`/`end` + `timeZone`, `isAllDay` | `start`/`stop` (naive UTC) or `start_date`/`stop_date` (stop inclusive), `allday` |
//! | `time_zone` | canonical IANA name ([`crate::tz`]), **recurring timed series only** | `originalStartTimeZone`, `start.timeZone`, `recurrenceTimeZone` | `event_tz` |
//! | `location` | trimmed text | `location.displayName` | `location` |
//! | `description` | [`crate::html`]-normalised HTML | `body` (html or text) | `description` |
//! | `attendees` | lower-case e-mail + response, sorted, organizer removed | `attendees` | `attendee_ids` (resolved to e-mail + state) |
//! | `show_as` | free / busy | `showAs` | `show_as` |
//! | `privacy` | public / private / confidential | `sensitivity` | `privacy` |
//! | `categories` | names, trimmed, sorted, de-duplicated | `categories` | `categ_ids` (names) |
//! | `reminder_minutes` | minutes or none | `isReminderOn` + `reminderMinutesBeforeStart` | the earliest notification alarm of `alarm_ids` |
//! | `recurrence` | [`Rule`] + cancelled dates | `recurrence` + `cancelledOccurrences` | `recurrency` + recurrence fields / `rrule` + archived occurrences |
//! | `online_meeting` | provider + join URL | `isOnlineMeeting`, `onlineMeetingProvider`, `onlineMeeting.joinUrl` | `videocall_location` |
//!
//! `original_time_zone` is carried too, not synced: the zone a single event was made in
//! (Graph `originalStartTimeZone`), so that writes keep showing its wall-clock time in
//! that zone; it changes nothing about when the event is, and Odoo has no place for it.
//!
//! `organizer` is carried (it decides who may write what) but is **not a synced field**:
//! neither side lets a client change it, and Odoo can only name an organizer who is an
//! Odoo user.
//!
//! # What each side cannot represent
//!
//! **Odoo cannot hold** (so the canonical form drops or projects it):
//! * `showAs` tentative, out-of-office, working elsewhere, unknown → canonical `busy`
//!   (a Graph `oof` stays `oof` until the show-as field is really changed on either side);
//! * `sensitivity` personal → canonical `private`;
//! * attendee type (required/optional) and display names; resource attendees (rooms)
//!   are not synced at all;
//! * more than one reminder (Odoo can; Graph cannot: the earliest notification alarm wins)
//!   and e-mail/SMS alarms;
//! * an organizer who is not an Odoo user;
//! * recurrences: `WKST` (Graph's `firstDayOfWeek` is always written `sunday`, as Odoo's own
//!   sync does; an every-other-week rule that includes Sunday may then pick different
//!   weeks on the two sides), relative yearly rules ("the last Friday of March"), yearly rules on
//!   another day than the start's, several weekdays in a relative monthly rule, counts
//!   above 720;
//! * the original start of a modified occurrence (Odoo exceptions are rows with
//!   `follow_recurrence = false`), nor the original slot of a moved **base** event: the
//!   series start is read from the base row as it is;
//! * one series continuing another: a "this and following" edit ends the first
//!   recurrence (`until`) and makes a second, unrelated one, and Outlook gets two series.
//!
//! **Not in the canonical series** (either side): modified occurrences (Graph exceptions,
//! Odoo detached rows). A series is compared by its first slot, fields, rule and cancelled
//! dates only, so the instances each side expands or regenerates never look like edits;
//! the engine does not sync exceptions yet (see `crates/engine/README.md`).
//!
//! **Graph cannot hold**:
//! * attendees without an e-mail address (Odoo partners without one): not synced;
//! * an online meeting that is not Teams/Skype (Odoo's Discuss links): it is not synced;
//! * a monthly "every Tuesday" rule without a position, and anything [`Rule`] refuses;
//! * a join URL chosen by the client: `onlineMeeting` is read-only, the URL comes back;
//! * cancelled occurrences as a field: the engine cancels an occurrence by deleting it.
//!
//! **Neither side's extra** formatting survives: descriptions are compared and written in
//! the normalised HTML form (styles, classes, fonts and `<pre>` white space are lost).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::FieldHash;
use crate::rrule::Rule;

/// One calendar event in canonical form. Build it with the mappers or by hand and call
/// [`Event::normalized`]; the mappers return normalised events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub title: String,
    pub when: When,
    pub time_zone: Option<String>,
    /// Carried, not synced: the zone to write wall-clock times in when `time_zone` is
    /// empty (single events).
    pub original_time_zone: Option<String>,
    pub location: String,
    pub description: String,
    pub attendees: Vec<Attendee>,
    pub organizer: Option<String>,
    pub show_as: ShowAs,
    pub privacy: Privacy,
    pub categories: Vec<String>,
    pub reminder_minutes: Option<u32>,
    pub recurrence: Option<Recurrence>,
    pub online_meeting: Option<OnlineMeeting>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum When {
    Timed {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    /// Dates with an exclusive end: a one-day event on D has `end = D + 1`.
    AllDay { start: NaiveDate, end: NaiveDate },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Attendee {
    pub email: String,
    pub response: Response,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    NeedsAction,
    Accepted,
    Tentative,
    Declined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShowAs {
    Free,
    Busy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privacy {
    Public,
    Private,
    Confidential,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurrence {
    pub rule: Rule,
    /// Local dates (in the series' zone) of cancelled occurrences. Graph keys cancelled
    /// occurrences by date (`OID.<id>.<yyyy-mm-dd>`) and allows at most one occurrence
    /// per day, so a date identifies an occurrence.
    pub exdates: BTreeSet<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineMeeting {
    pub provider: MeetingProvider,
    /// `None` while the meeting is requested but Graph has not yet returned its URL.
    pub join_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingProvider {
    TeamsForBusiness,
    SkypeForBusiness,
    SkypeForConsumer,
}

/// The synced fields, in hash order. Merges, conflicts and updates are per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Title,
    When,
    TimeZone,
    Location,
    Description,
    Attendees,
    ShowAs,
    Privacy,
    Categories,
    ReminderMinutes,
    Recurrence,
    OnlineMeeting,
}

impl Field {
    pub const ALL: [Field; 12] = [
        Field::Title,
        Field::When,
        Field::TimeZone,
        Field::Location,
        Field::Description,
        Field::Attendees,
        Field::ShowAs,
        Field::Privacy,
        Field::Categories,
        Field::ReminderMinutes,
        Field::Recurrence,
        Field::OnlineMeeting,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::When => "when",
            Field::TimeZone => "time_zone",
            Field::Location => "location",
            Field::Description => "description",
            Field::Attendees => "attendees",
            Field::ShowAs => "show_as",
            Field::Privacy => "privacy",
            Field::Categories => "categories",
            Field::ReminderMinutes => "reminder_minutes",
            Field::Recurrence => "recurrence",
            Field::OnlineMeeting => "online_meeting",
        }
    }
}

/// A synced field's value in its canonical JSON form.
pub type FieldValues = BTreeMap<Field, Value>;

impl Event {
    /// A minimal timed event; the other fields empty. Handy for tests and examples.
    pub fn timed(title: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Event {
        Event {
            title: title.to_owned(),
            when: When::Timed { start, end },
            time_zone: None,
            original_time_zone: None,
            location: String::new(),
            description: String::new(),
            attendees: Vec::new(),
            organizer: None,
            show_as: ShowAs::Busy,
            privacy: Privacy::Public,
            categories: Vec::new(),
            reminder_minutes: None,
            recurrence: None,
            online_meeting: None,
        }
    }

    /// The canonical form: trims, lower-cases e-mails, sorts and de-duplicates sets,
    /// drops the organizer from the attendees, drops sub-second precision, drops the zone
    /// unless this is a recurring timed series (only then does the zone change what the
    /// event means), normalises the rule against the series start.
    pub fn normalized(mut self) -> Event {
        self.title = self.title.trim().to_owned();
        self.location = self.location.trim().to_owned();
        self.description = crate::html::normalize(&self.description);
        self.organizer = self
            .organizer
            .map(|o| o.trim().to_lowercase())
            .filter(|o| !o.is_empty());
        for a in &mut self.attendees {
            a.email = a.email.trim().to_lowercase();
        }
        let organizer = self.organizer.clone();
        self.attendees
            .retain(|a| !a.email.is_empty() && Some(&a.email) != organizer.as_ref());
        self.attendees.sort();
        self.attendees.dedup_by(|a, b| a.email == b.email);
        self.categories = self
            .categories
            .iter()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if let When::Timed { start, end } = self.when {
            self.when = When::Timed {
                start: whole_seconds(start),
                end: whole_seconds(end),
            };
        }
        let timed = matches!(self.when, When::Timed { .. });
        self.original_time_zone = self
            .original_time_zone
            .take()
            .or_else(|| self.time_zone.clone())
            .as_deref()
            .and_then(crate::tz::canonical);
        self.time_zone = match (&self.recurrence, timed) {
            (Some(_), true) => self
                .time_zone
                .as_deref()
                .and_then(crate::tz::canonical)
                .or_else(|| Some("Etc/UTC".to_owned())),
            _ => None,
        };
        // A series whose zone was unknown got the UTC default above: that is also the zone
        // it was made in, so a second pass changes nothing (found by fuzzing).
        if self.original_time_zone.is_none() {
            self.original_time_zone = self.time_zone.clone();
        }
        let start_date = self.local_start_date();
        if let Some(rec) = self.recurrence.take() {
            self.recurrence = Some(Recurrence {
                rule: rec.rule.normalized(start_date),
                exdates: rec.exdates,
            });
        }
        if let Some(m) = &mut self.online_meeting {
            m.join_url = m
                .join_url
                .take()
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty());
        }
        self
    }

    /// The start date in the event's own zone (the series zone for recurrences).
    pub fn local_start_date(&self) -> NaiveDate {
        match self.when {
            When::AllDay { start, .. } => start,
            When::Timed { start, .. } => match self.time_zone.as_deref().and_then(crate::tz::parse)
            {
                Some(tz) => start.with_timezone(&tz).date_naive(),
                None => start.date_naive(),
            },
        }
    }

    /// One synced field's canonical JSON value.
    pub fn field(&self, field: Field) -> Value {
        let v = match field {
            Field::Title => serde_json::to_value(&self.title),
            Field::When => serde_json::to_value(self.when),
            Field::TimeZone => serde_json::to_value(&self.time_zone),
            Field::Location => serde_json::to_value(&self.location),
            Field::Description => serde_json::to_value(&self.description),
            Field::Attendees => serde_json::to_value(&self.attendees),
            Field::ShowAs => serde_json::to_value(self.show_as),
            Field::Privacy => serde_json::to_value(self.privacy),
            Field::Categories => serde_json::to_value(&self.categories),
            Field::ReminderMinutes => serde_json::to_value(self.reminder_minutes),
            Field::Recurrence => serde_json::to_value(&self.recurrence),
            Field::OnlineMeeting => serde_json::to_value(&self.online_meeting),
        };
        // These types always serialise; Null is never the value of a present field.
        v.unwrap_or(Value::Null)
    }

    /// Sets one synced field from its canonical JSON value.
    pub fn set_field(&mut self, field: Field, value: &Value) -> Result<(), serde_json::Error> {
        let v = value.clone();
        match field {
            Field::Title => self.title = serde_json::from_value(v)?,
            Field::When => self.when = serde_json::from_value(v)?,
            Field::TimeZone => self.time_zone = serde_json::from_value(v)?,
            Field::Location => self.location = serde_json::from_value(v)?,
            Field::Description => self.description = serde_json::from_value(v)?,
            Field::Attendees => self.attendees = serde_json::from_value(v)?,
            Field::ShowAs => self.show_as = serde_json::from_value(v)?,
            Field::Privacy => self.privacy = serde_json::from_value(v)?,
            Field::Categories => self.categories = serde_json::from_value(v)?,
            Field::ReminderMinutes => self.reminder_minutes = serde_json::from_value(v)?,
            Field::Recurrence => self.recurrence = serde_json::from_value(v)?,
            Field::OnlineMeeting => self.online_meeting = serde_json::from_value(v)?,
        }
        Ok(())
    }

    /// All synced fields with their canonical values.
    pub fn fields(&self) -> FieldValues {
        Field::ALL.iter().map(|f| (*f, self.field(*f))).collect()
    }

    /// SHA-256 over the synced fields only (an object keyed by field name).
    pub fn hash(&self) -> FieldHash {
        let object: serde_json::Map<String, Value> = Field::ALL
            .iter()
            .map(|f| (f.name().to_owned(), self.field(*f)))
            .collect();
        FieldHash::of_value(&Value::Object(object))
    }

    /// One hash per synced field, for field-by-field comparison and the audit log.
    pub fn field_hashes(&self) -> BTreeMap<Field, FieldHash> {
        Field::ALL
            .iter()
            .map(|f| (*f, FieldHash::of_value(&self.field(*f))))
            .collect()
    }

    /// The synced fields whose values differ between two events.
    pub fn diff(&self, other: &Event) -> Vec<Field> {
        Field::ALL
            .iter()
            .copied()
            .filter(|f| self.field(*f) != other.field(*f))
            .collect()
    }

    /// True when the event has attendees other than the organizer, i.e. a write that
    /// changes it may make a service mail people (the engine's attendee-impact guard).
    pub fn has_other_attendees(&self) -> bool {
        !self.attendees.is_empty()
    }
}

fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rrule::{Freq, RecurrenceEnd};
    use chrono::TimeZone;

    fn sample() -> Event {
        let start = Utc.with_ymd_and_hms(2026, 3, 17, 9, 0, 0).unwrap();
        let mut e = Event::timed("  Review ", start, start + chrono::Duration::hours(1));
        e.attendees = vec![
            Attendee {
                email: "Zoe@Example.com".into(),
                response: Response::Accepted,
            },
            Attendee {
                email: "amy@example.com".into(),
                response: Response::NeedsAction,
            },
            Attendee {
                email: "ME@example.com".into(),
                response: Response::Accepted,
            },
            Attendee {
                email: "amy@example.com ".into(),
                response: Response::NeedsAction,
            },
        ];
        e.organizer = Some("me@example.com".into());
        e.categories = vec!["Red".into(), " Blue".into(), "Red".into(), "".into()];
        e.description = "<div>Hi&nbsp;there</div>".into();
        e.time_zone = Some("W. Europe Standard Time".into());
        e
    }

    #[test]
    fn normalising_sorts_sets_lowercases_emails_and_drops_the_organizer_from_attendees() {
        let e = sample().normalized();
        assert_eq!(e.title, "Review");
        let emails: Vec<&str> = e.attendees.iter().map(|a| a.email.as_str()).collect();
        assert_eq!(emails, ["amy@example.com", "zoe@example.com"]);
        assert_eq!(e.categories, ["Blue", "Red"]);
        assert_eq!(e.description, "<p>Hi there</p>");
        // A single event's zone does not change what it means, so it is not synced; it
        // is carried to write wall-clock times.
        assert_eq!(e.time_zone, None);
        assert_eq!(e.original_time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(e.clone().normalized(), e);
    }

    #[test]
    fn a_recurring_series_keeps_its_canonical_zone() {
        let mut e = sample();
        e.recurrence = Some(Recurrence {
            rule: Rule::simple(Freq::Weekly, 1, RecurrenceEnd::Count(3)),
            exdates: BTreeSet::new(),
        });
        let e = e.normalized();
        assert_eq!(e.time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(
            e.recurrence.unwrap().rule.to_string(),
            "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;COUNT=3"
        );
    }

    #[test]
    fn a_series_in_an_unknown_zone_normalises_once_and_for_all() {
        // Found by fuzz/fuzz_targets/sync_core_mapping.rs: the UTC default was taken as the
        // original zone only on a second pass.
        let mut e = sample();
        e.time_zone = Some("Europe/Nowhere".into());
        e.recurrence = Some(Recurrence {
            rule: Rule::parse("FREQ=DAILY;COUNT=2").unwrap(),
            exdates: BTreeSet::new(),
        });
        let once = e.normalized();
        assert_eq!(once.time_zone.as_deref(), Some("Etc/UTC"));
        assert_eq!(once.clone().normalized(), once);
    }

    #[test]
    fn the_hash_covers_each_synced_field_and_ignores_the_organizer() {
        let base = sample().normalized();
        let h = base.hash();
        let mut other = base.clone();
        other.organizer = Some("someone@else.org".into());
        other.original_time_zone = Some("Asia/Tokyo".into());
        assert_eq!(
            other.hash(),
            h,
            "organizer and original zone are not synced fields"
        );
        for field in Field::ALL {
            let mut changed = base.clone();
            let v = match field {
                Field::Title => serde_json::json!("Other"),
                Field::When => {
                    serde_json::json!({"kind":"all_day","start":"2026-03-17","end":"2026-03-18"})
                }
                Field::TimeZone => serde_json::json!("Asia/Tokyo"),
                Field::Location => serde_json::json!("Room 1"),
                Field::Description => serde_json::json!("<p>x</p>"),
                Field::Attendees => serde_json::json!([]),
                Field::ShowAs => serde_json::json!("free"),
                Field::Privacy => serde_json::json!("private"),
                Field::Categories => serde_json::json!(["Green"]),
                Field::ReminderMinutes => serde_json::json!(15),
                Field::Recurrence => {
                    serde_json::json!({"rule":"FREQ=DAILY;INTERVAL=1","exdates":[]})
                }
                Field::OnlineMeeting => {
                    serde_json::json!({"provider":"teams_for_business","join_url":null})
                }
            };
            changed.set_field(field, &v).unwrap();
            assert_ne!(changed.hash(), h, "{field:?}");
            assert_eq!(base.diff(&changed), vec![field]);
            assert_ne!(changed.field_hashes()[&field], base.field_hashes()[&field]);
        }
    }

    #[test]
    fn sub_second_noise_does_not_change_the_hash() {
        let a = sample().normalized();
        let mut b = sample();
        if let When::Timed { start, end } = b.when {
            b.when = When::Timed {
                start: start + chrono::Duration::milliseconds(250),
                end,
            };
        }
        assert_eq!(b.normalized().hash(), a.hash());
    }
}
