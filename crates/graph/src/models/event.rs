//! `microsoft.graph.event` and its complex types.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{graph_enum, Removed};

graph_enum!(
    /// `bodyType`.
    BodyType { Text = "text", Html = "html" }
);
graph_enum!(
    /// `freeBusyStatus`.
    FreeBusyStatus { Unknown = "unknown", Free = "free", Tentative = "tentative", Busy = "busy", Oof = "oof", WorkingElsewhere = "workingElsewhere" }
);
graph_enum!(
    /// `sensitivity`.
    Sensitivity { Normal = "normal", Personal = "personal", Private = "private", Confidential = "confidential" }
);
graph_enum!(
    /// `importance`.
    Importance { Low = "low", Normal = "normal", High = "high" }
);
graph_enum!(
    /// `eventType`.
    EventType { SingleInstance = "singleInstance", Occurrence = "occurrence", Exception = "exception", SeriesMaster = "seriesMaster" }
);
graph_enum!(
    /// `onlineMeetingProviderType`.
    OnlineMeetingProviderType { Unknown = "unknown", SkypeForBusiness = "skypeForBusiness", SkypeForConsumer = "skypeForConsumer", TeamsForBusiness = "teamsForBusiness" }
);
graph_enum!(
    /// `attendeeType`.
    AttendeeType { Required = "required", Optional = "optional", Resource = "resource" }
);
graph_enum!(
    /// `responseType`.
    ResponseType { None = "none", Organizer = "organizer", TentativelyAccepted = "tentativelyAccepted", Accepted = "accepted", Declined = "declined", NotResponded = "notResponded" }
);
graph_enum!(
    /// `recurrencePatternType`.
    RecurrencePatternType { Daily = "daily", Weekly = "weekly", AbsoluteMonthly = "absoluteMonthly", RelativeMonthly = "relativeMonthly", AbsoluteYearly = "absoluteYearly", RelativeYearly = "relativeYearly" }
);
graph_enum!(
    /// `recurrenceRangeType`.
    RecurrenceRangeType { EndDate = "endDate", NoEnd = "noEnd", Numbered = "numbered" }
);
graph_enum!(
    /// `dayOfWeek`.
    DayOfWeek { Sunday = "sunday", Monday = "monday", Tuesday = "tuesday", Wednesday = "wednesday", Thursday = "thursday", Friday = "friday", Saturday = "saturday" }
);
graph_enum!(
    /// `weekIndex`.
    WeekIndex { First = "first", Second = "second", Third = "third", Fourth = "fourth", Last = "last" }
);
graph_enum!(
    /// `locationType`.
    LocationType { Default = "default", ConferenceRoom = "conferenceRoom", HomeAddress = "homeAddress", BusinessAddress = "businessAddress", GeoCoordinates = "geoCoordinates", StreetAddress = "streetAddress", Hotel = "hotel", Restaurant = "restaurant", LocalBusiness = "localBusiness", PostalAddress = "postalAddress" }
);

/// An Outlook event as read from or written to Graph. Read-only properties and annotations
/// (`@odata.etag`, `@removed`, `changeKey`, `type`, `responseStatus`, `isOrganizer`, ...)
/// are never serialized, so an event read, edited and sent back carries only writable
/// properties.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "@odata.etag", default, skip_serializing)]
    pub odata_etag: Option<String>,
    #[serde(rename = "@removed", default, skip_serializing)]
    pub removed: Option<Removed>,
    #[serde(default, skip_serializing)]
    pub change_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(rename = "iCalUId", default, skip_serializing)]
    pub ical_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<ItemBody>,
    #[serde(default, skip_serializing)]
    pub body_preview: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTimeTimeZone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTimeTimeZone>,
    #[serde(default, skip_serializing)]
    pub original_start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_start_time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_end_time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_all_day: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<Location>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendees: Option<Vec<Attendee>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizer: Option<Recipient>,
    #[serde(default, skip_serializing)]
    pub is_organizer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_requested: Option<bool>,
    #[serde(default, skip_serializing)]
    pub response_status: Option<ResponseStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_as: Option<FreeBusyStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Sensitivity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<Importance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_reminder_on: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_minutes_before_start: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<PatternedRecurrence>,
    #[serde(rename = "type", default, skip_serializing)]
    pub event_type: Option<EventType>,
    #[serde(default, skip_serializing)]
    pub series_master_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_online_meeting: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_meeting_provider: Option<OnlineMeetingProviderType>,
    #[serde(default, skip_serializing)]
    pub online_meeting: Option<OnlineMeetingInfo>,
    #[serde(default, skip_serializing)]
    pub online_meeting_url: Option<String>,
    #[serde(default, skip_serializing)]
    pub is_cancelled: Option<bool>,
    #[serde(default, skip_serializing)]
    pub is_draft: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_attendees: Option<bool>,
    #[serde(default, skip_serializing)]
    pub has_attachments: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_new_time_proposals: Option<bool>,
    #[serde(default, skip_serializing)]
    pub cancelled_occurrences: Option<Vec<String>>,
    #[serde(default, skip_serializing)]
    pub web_link: Option<String>,
    #[serde(default, skip_serializing)]
    pub created_date_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing)]
    pub last_modified_date_time: Option<DateTime<Utc>>,
}

impl Event {
    /// True for a delta entry that says the event left the window or was deleted.
    pub fn is_removed(&self) -> bool {
        self.removed.is_some()
    }

    /// The eTag to send as `If-Match`: `@odata.etag`, else `W/"changeKey"`.
    pub fn etag(&self) -> Option<String> {
        self.odata_etag
            .clone()
            .or_else(|| self.change_key.as_ref().map(|k| format!("W/\"{k}\"")))
    }

    /// The Teams join URL, if Graph made this an online meeting.
    pub fn join_url(&self) -> Option<&str> {
        self.online_meeting.as_ref()?.join_url.as_deref()
    }
}

/// `itemBody`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<BodyType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// `dateTimeTimeZone`: a local time without offset, and the zone it is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeTimeZone {
    pub date_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl DateTimeTimeZone {
    /// A UTC instant in Graph's form (`2026-11-22T10:00:00.0000000`, zone `UTC`).
    pub fn utc(at: DateTime<Utc>) -> Self {
        DateTimeTimeZone {
            date_time: at.format("%Y-%m-%dT%H:%M:%S%.7f").to_string(),
            time_zone: Some("UTC".into()),
        }
    }

    /// Midnight of `date` in `time_zone`: all-day events need midnight start and end in
    /// the same zone, the end being the day after the last day.
    pub fn midnight(date: NaiveDate, time_zone: &str) -> Self {
        DateTimeTimeZone {
            date_time: format!("{}T00:00:00.0000000", date.format("%Y-%m-%d")),
            time_zone: Some(time_zone.to_string()),
        }
    }

    /// Parses `dateTime` as a naive local time (Graph sends 7 fractional digits).
    pub fn naive(&self) -> Option<chrono::NaiveDateTime> {
        chrono::NaiveDateTime::parse_from_str(&self.date_time, "%Y-%m-%dT%H:%M:%S%.f").ok()
    }
}

/// `emailAddress`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmailAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// `recipient`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<EmailAddress>,
}

/// `attendee`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attendee {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub attendee_type: Option<AttendeeType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<EmailAddress>,
    #[serde(default, skip_serializing)]
    pub status: Option<ResponseStatus>,
    #[serde(default, skip_serializing)]
    pub proposed_new_time: Option<TimeSlot>,
}

/// `responseStatus`. An unanswered `time` is `0001-01-01T00:00:00Z`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
}

/// `timeSlot`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSlot {
    pub start: DateTimeTimeZone,
    pub end: DateTimeTimeZone,
}

/// `location`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_type: Option<LocationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_email_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<PhysicalAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<OutlookGeoCoordinates>,
}

/// `physicalAddress`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_or_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

/// `outlookGeoCoordinates`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutlookGeoCoordinates {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude_accuracy: Option<f64>,
}

/// `onlineMeetingInfo` (read-only).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnlineMeetingInfo {
    #[serde(default)]
    pub join_url: Option<String>,
    #[serde(default)]
    pub conference_id: Option<String>,
    #[serde(default)]
    pub toll_number: Option<String>,
    #[serde(default)]
    pub toll_free_numbers: Option<Vec<String>>,
    #[serde(default)]
    pub quick_dial: Option<String>,
}

/// `patternedRecurrence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternedRecurrence {
    pub pattern: RecurrencePattern,
    pub range: RecurrenceRange,
}

/// `recurrencePattern`. Graph fills unused numbers with 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecurrencePattern {
    #[serde(rename = "type")]
    pub pattern_type: RecurrencePatternType,
    pub interval: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_of_week: Option<Vec<DayOfWeek>>,
    #[serde(default)]
    pub day_of_month: i32,
    #[serde(default)]
    pub month: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_day_of_week: Option<DayOfWeek>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<WeekIndex>,
}

/// `recurrenceRange`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecurrenceRange {
    #[serde(rename = "type")]
    pub range_type: RecurrenceRangeType,
    pub start_date: NaiveDate,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "date_or_zero"
    )]
    pub end_date: Option<NaiveDate>,
    #[serde(default)]
    pub number_of_occurrences: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence_time_zone: Option<String>,
}

/// Graph sends `"0001-01-01"` for an unused end date on `noEnd`/`numbered` ranges; both
/// that and null mean "none".
fn date_or_zero<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let v: Option<NaiveDate> = Option::deserialize(d)?;
    Ok(v.filter(|date| *date > NaiveDate::MIN && date.to_string() != "0001-01-01"))
}
