//! Serde models, named and typed as in Graph's v1.0 CSDL. Every field is optional unless
//! Graph always sends it, unknown fields are ignored, and unknown enum values decode to
//! `Other` so a new Graph value never breaks a sync.

pub mod drive;
pub mod event;
pub mod subscription;

pub use drive::*;
pub use event::*;
pub use subscription::*;

/// Declares a string enum with Graph's camelCase values and an `Other(String)` fallback.
macro_rules! graph_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value this client does not know yet, kept verbatim.
            Other(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Other(s) => s.as_str(),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(match s.as_str() {
                    $($wire => $name::$variant,)+
                    _ => $name::Other(s),
                })
            }
        }
    };
}
pub(crate) use graph_enum;

/// `@removed` on a delta item.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Removed {
    #[serde(default)]
    pub reason: String,
}

/// One page of a collection or delta response.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    pub delta_link: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Abridged from the v1.0 event resource and create-event pages (spec §2).
    const RECURRING_MASTER: &str = r#"{
      "@odata.etag": "W/\"DwAAABYAAAAQ\"",
      "id": "AAMkAGI1AAAt9AHjAAA=",
      "createdDateTime": "2017-10-07T04:59:12.9698856Z",
      "lastModifiedDateTime": "2017-10-07T04:59:13.8136423Z",
      "changeKey": "DwAAABYAAAAQ",
      "categories": ["Red category"],
      "originalStartTimeZone": "Pacific Standard Time",
      "reminderMinutesBeforeStart": 15,
      "isReminderOn": true,
      "hasAttachments": false,
      "subject": "Let's go for lunch",
      "bodyPreview": "Does late morning work for you?",
      "importance": "normal",
      "sensitivity": "private",
      "isAllDay": false,
      "isCancelled": false,
      "isOrganizer": true,
      "iCalUId": "040000008200E00074C5B7101A82E00800000000D02AC02D26D",
      "responseRequested": true,
      "seriesMasterId": null,
      "showAs": "busy",
      "type": "seriesMaster",
      "webLink": "https://outlook.office365.com/owa/?itemid=AAMk",
      "onlineMeetingUrl": null,
      "isOnlineMeeting": false,
      "onlineMeetingProvider": "unknown",
      "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
      "body": {"contentType": "html", "content": "<html><body>Does late morning work for you?</body></html>"},
      "start": {"dateTime": "2017-09-04T12:00:00.0000000", "timeZone": "Pacific Standard Time"},
      "end": {"dateTime": "2017-09-04T14:00:00.0000000", "timeZone": "Pacific Standard Time"},
      "location": {"displayName": "Harry's Bar", "locationType": "default", "uniqueIdType": "private",
                   "address": {"street": "1 Main St", "city": "Redmond", "countryOrRegion": "US"},
                   "coordinates": {"latitude": 47.6, "longitude": -122.1}},
      "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "month": 0, "dayOfMonth": 0,
                    "daysOfWeek": ["monday"], "firstDayOfWeek": "sunday", "index": "first"},
        "range": {"type": "endDate", "startDate": "2017-09-04", "endDate": "2017-12-31",
                  "recurrenceTimeZone": "Pacific Standard Time", "numberOfOccurrences": 0}
      },
      "attendees": [{"type": "required", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                     "emailAddress": {"name": "Samantha Booth", "address": "samanthab@contoso.com"}}],
      "organizer": {"emailAddress": {"name": "Dana Swope", "address": "danas@contoso.com"}},
      "allowNewTimeProposals": true,
      "hideAttendees": false
    }"#;

    #[test]
    fn a_full_recurring_event_decodes_with_every_field_the_engine_syncs() {
        let e: Event = crate::error::decode("event", RECURRING_MASTER.as_bytes()).unwrap();
        assert_eq!(e.event_type, Some(EventType::SeriesMaster));
        assert_eq!(e.sensitivity, Some(Sensitivity::Private));
        assert_eq!(e.show_as, Some(FreeBusyStatus::Busy));
        assert_eq!(e.reminder_minutes_before_start, Some(15));
        let r = e.recurrence.as_ref().unwrap();
        assert_eq!(r.pattern.pattern_type, RecurrencePatternType::Weekly);
        assert_eq!(r.pattern.days_of_week, Some(vec![DayOfWeek::Monday]));
        assert_eq!(r.range.range_type, RecurrenceRangeType::EndDate);
        assert_eq!(r.range.end_date.unwrap().to_string(), "2017-12-31");
        let a = &e.attendees.as_ref().unwrap()[0];
        assert_eq!(a.attendee_type, Some(AttendeeType::Required));
        assert_eq!(
            a.status.as_ref().unwrap().response,
            Some(ResponseType::None)
        );
        assert_eq!(
            e.start.as_ref().unwrap().naive().unwrap().to_string(),
            "2017-09-04 12:00:00"
        );
        assert_eq!(
            e.location
                .as_ref()
                .unwrap()
                .address
                .as_ref()
                .unwrap()
                .city
                .as_deref(),
            Some("Redmond")
        );
        assert_eq!(e.etag().as_deref(), Some("W/\"DwAAABYAAAAQ\""));
    }

    #[test]
    fn a_numbered_range_with_the_zero_end_date_graph_sends_has_no_end_date() {
        let r: RecurrenceRange = serde_json::from_str(
            r#"{"type":"numbered","startDate":"2026-01-05","endDate":"0001-01-01","numberOfOccurrences":10}"#,
        )
        .unwrap();
        assert_eq!(r.end_date, None);
        assert_eq!(r.number_of_occurrences, 10);
    }

    #[test]
    fn an_unknown_enum_value_is_kept_instead_of_failing_the_page() {
        let s: FreeBusyStatus = serde_json::from_str(r#""somethingNew""#).unwrap();
        assert_eq!(s, FreeBusyStatus::Other("somethingNew".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), r#""somethingNew""#);
    }

    #[test]
    fn read_only_fields_are_never_written_back() {
        let e: Event = serde_json::from_str(RECURRING_MASTER).unwrap();
        let v = serde_json::to_value(&e).unwrap();
        for key in [
            "@odata.etag",
            "type",
            "seriesMasterId",
            "webLink",
            "lastModifiedDateTime",
            "onlineMeeting",
        ] {
            assert!(v.get(key).is_none(), "{key} must not be sent");
        }
        assert_eq!(v["subject"], "Let's go for lunch");
        assert_eq!(v["recurrence"]["pattern"]["type"], "weekly");
    }

    #[test]
    fn notifications_and_lifecycle_events_parse_from_one_envelope() {
        let body = br##"{"value":[
          {"id":"n1","subscriptionId":"6f1c2b4e-3f43-4c1d-9b0e-2f1f5f0f6a11","subscriptionExpirationDateTime":"2026-11-25T22:11:09.952Z",
           "clientState":"s3cret","changeType":"updated","resource":"Users/u@t/Events/AAMk","tenantId":"t",
           "resourceData":{"@odata.type":"#Microsoft.Graph.Event","@odata.id":"Users/u/Events/AAMk","@odata.etag":"W/\"x\"","id":"AAMk"}},
          {"subscriptionId":"6f1c2b4e-3f43-4c1d-9b0e-2f1f5f0f6a11","subscriptionExpirationDateTime":"2026-11-25T22:11:09.952Z",
           "clientState":"s3cret","tenantId":"t","lifecycleEvent":"reauthorizationRequired"},
          {"subscriptionId":"s2","clientState":"s3cret","lifecycleEvent":"missed"}
        ]}"##;
        let c = parse_notifications(body).unwrap();
        assert_eq!(c.value[0].change_type, Some(ChangeType::Updated));
        assert_eq!(
            c.value[0].resource_data.as_ref().unwrap().id.as_deref(),
            Some("AAMk")
        );
        assert!(c.value[0].client_state_matches("s3cret"));
        assert!(!c.value[0].client_state_matches("other"));
        assert_eq!(
            c.value[1].lifecycle_event,
            Some(LifecycleEvent::ReauthorizationRequired)
        );
        assert_eq!(c.value[2].lifecycle_event, Some(LifecycleEvent::Missed));
        let err = parse_notifications(br#"{"value":[{"subscriptionId":5}]}"#).unwrap_err();
        assert!(
            matches!(err, crate::GraphError::Decode { ref path, .. } if path == "value[0].subscriptionId")
        );
    }
}
