//! The ports the engine drives: one for the Microsoft calendar (Graph), one for the Odoo
//! calendar. `crates/app` adapts `odoo365-graph::GraphClient` and
//! `odoo365-odoo::OdooClient` to them; tests use the in-memory fakes of
//! `testing` (feature `testing`). The engine never depends on the real clients.
//!
//! Both ports speak **raw JSON records** in the shapes sync-core's mappers read:
//!
//! * Microsoft: Graph event JSON as `GET /me/events/{id}` or a delta page returns it
//!   (`id`, `changeKey`, `iCalUId`, `isOrganizer`, `isCancelled`, `onlineMeeting`, …), read
//!   with `sync_core::graph::from_graph_for_user`.
//! * Odoo: a `calendar.event` record with its relational fields **resolved** as
//!   `sync_core::odoo` documents (`user_id {id, email}`, `attendee_ids [{email, state}]`,
//!   `alarm_ids [{alarm_type, duration_minutes}]`, `categ_ids [names]`,
//!   `cancelled_occurrences`), plus `id`, `active` and `write_date`. An adapter that
//!   cannot resolve a relation returns an error, never an empty list.
//!
//! Every method returns a [`PortError`] classified by what the engine does next, so the
//! adapters map the clients' typed errors once (see the table on [`PortError`]).
//!
//! Series: a `write` whose values hold `"recurrence_update"` (`all_events`, `self_only`)
//! passes it to Odoo as is (the odoo crate's `write_events`); values of a series may hold
//! `cancelled_occurrences`, which the adapter drops (the engine archives those rows itself).
//!
//! Writes into Odoo made by the engine are always on behalf of Microsoft
//! (`WriteOrigin::Microsoft` in the odoo crate), so the adapter must pass
//! `no_mail_to_attendees`: the engine never makes Odoo mail attendees.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use odoo365_sync_core::canonical::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What went wrong talking to a service, by what to do next.
///
/// | client error (graph / odoo) | `PortError` |
/// |---|---|
/// | `NotSent`, `Network`/`Io` before sending, `Unavailable`, `Concurrency`, `Server` on reads | [`PortError::NotSent`] |
/// | `MaybeApplied` | [`PortError::MaybeApplied`] |
/// | `Throttled { retry_after }` | [`PortError::Throttled`] |
/// | `Unauthorized`, token errors | [`PortError::SignInNeeded`] |
/// | `PreconditionFailed` (412) | [`PortError::PreconditionFailed`] |
/// | `ResyncRequired` (410, `syncStateNotFound`) | [`PortError::ResyncRequired`] |
/// | `NotFound`, `Missing` | [`PortError::NotFound`] |
/// | `Rejected`, `Validation`, `User`, `Access`, `Decode`, `Invalid` | [`PortError::Rejected`] |
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum PortError {
    /// Nothing reached the service: safe to retry as is.
    #[error("not sent: {message}")]
    NotSent { message: String },
    /// The request may have been applied (its answer was lost): look before re-sending.
    #[error("maybe applied: {message}")]
    MaybeApplied { message: String },
    /// The service asks to slow down; retry after the delay (if given).
    #[error("throttled (retry after {retry_after:?})")]
    Throttled { retry_after: Option<Duration> },
    /// Credentials are missing, expired or revoked: the user must sign in again.
    #[error("sign-in needed: {message}")]
    SignInNeeded { message: String },
    /// The item changed since it was read (If-Match failed): re-read and plan again.
    #[error("the item changed since it was read")]
    PreconditionFailed,
    /// The delta link is no longer valid: start a full round.
    #[error("the change cursor expired; a full resync is needed")]
    ResyncRequired,
    /// The item does not exist (for a delete: already gone).
    #[error("not found")]
    NotFound,
    /// The service refused the request; retrying the same request will not help.
    #[error("rejected: {message}")]
    Rejected { message: String },
}

impl PortError {
    /// Whether retrying later (the same request, or a look-up first for
    /// [`PortError::MaybeApplied`]) can succeed without the user doing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PortError::NotSent { .. }
                | PortError::MaybeApplied { .. }
                | PortError::Throttled { .. }
                | PortError::PreconditionFailed
        )
    }
}

pub type PortResult<T> = Result<T, PortError>;

/// The sync window: events that end after `start` and start before `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// One complete delta round (all pages followed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeltaRound {
    /// Raw Graph events added or changed (not `@removed`), in the order Graph sent them.
    /// Cancelled events (`isCancelled`) are included; the engine treats them as deleted.
    pub events: Vec<Value>,
    /// Ids reported `@removed`.
    pub removed: Vec<String>,
    /// The `@odata.deltaLink` that ends the round. The engine persists it only after the
    /// round was applied, so a crash replays the round instead of losing it.
    pub delta_link: String,
    /// True when this was a full round (no delta link given, or after a resync).
    pub full: bool,
}

/// The Microsoft (Outlook) calendar of the signed-in user, via Graph.
/// Events per [`MicrosoftCalendar::create_many`] call: Graph's limit on the requests in
/// one `$batch` (graph.md §6.4).
pub const GRAPH_CREATE_BATCH: usize = 20;

#[async_trait]
pub trait MicrosoftCalendar: Send + Sync {
    /// One delta round over `calendarView/delta` for `window`: from `delta_link` when
    /// given, else a full round. A stale link answers [`PortError::ResyncRequired`].
    async fn delta(&self, window: Window, delta_link: Option<&str>) -> PortResult<DeltaRound>;

    /// `GET` one event. [`PortError::NotFound`] when it is gone.
    async fn get(&self, id: &str) -> PortResult<Value>;

    /// `POST` an event (`body` from `sync_core::graph::to_graph`) with Graph's
    /// `transactionId`, so a resend after a lost answer does not create a second one.
    /// Returns the created event as Graph answered (id, `changeKey`, `iCalUId`,
    /// `onlineMeeting.joinUrl` for Teams meetings).
    async fn create(&self, body: &Value, transaction_id: &str) -> PortResult<Value>;

    /// Creates several events, each as [`MicrosoftCalendar::create`] with its own
    /// `transactionId`, in as few requests as the service allows (Graph: a `$batch` of up
    /// to [`GRAPH_CREATE_BATCH`]). One result per event, in order; `Err` for the whole
    /// call when no event's outcome is known (the answer to the batch was lost:
    /// [`PortError::MaybeApplied`]). What a first sync that brings many Odoo events into
    /// Outlook uses: one `POST` per event waits a round trip each, one after the other.
    /// Without a batch endpoint: one create at a time.
    async fn create_many(&self, items: &[(Value, String)]) -> PortResult<Vec<PortResult<Value>>> {
        let mut out = Vec::with_capacity(items.len());
        for (body, transaction_id) in items {
            out.push(self.create(body, transaction_id).await);
        }
        Ok(out)
    }

    /// `PATCH` an event with `patch` (from `to_graph_patch`) under `If-Match` when an
    /// `if_match` is given: the event's `changeKey` (the engine's version), which the
    /// adapter sends as `W/"<changeKey>"`. Returns the event after the write.
    async fn update(&self, id: &str, patch: &Value, if_match: Option<&str>) -> PortResult<Value>;

    /// `DELETE` an event (no mail), under `If-Match` for a `changeKey` as in `update`.
    /// [`PortError::NotFound`] means already gone.
    async fn delete(&self, id: &str, if_match: Option<&str>) -> PortResult<()>;

    /// `POST …/cancel`: the organizer cancels a meeting; Graph mails the attendees.
    async fn cancel(&self, id: &str, comment: &str) -> PortResult<()>;

    /// `accept` / `tentativelyAccept` / `decline` an invitation the user does not
    /// organize (`sendResponse: true`). `NeedsAction` is never sent.
    async fn respond(&self, id: &str, response: Response) -> PortResult<()>;

    /// The event created with this `transactionId`, if any, without creating anything.
    /// A *maybe applied* create is normally just sent again with the same `transactionId`
    /// (Graph answers a resend with the first event); this lookup is for the one that must
    /// not be sent again because its source is gone (the adapter scans the events created
    /// in the last hours: `transactionId` cannot be filtered on).
    async fn find_by_transaction_id(&self, transaction_id: &str) -> PortResult<Option<Value>>;

    /// The event with this `iCalUId` in the user's calendar, if any.
    async fn find_by_ical_uid(&self, ical_uid: &str) -> PortResult<Option<Value>>;

    /// `GET` a series master **with `cancelledOccurrences`** (Graph only returns them when
    /// `$select`ed): the recurring counterpart of [`MicrosoftCalendar::get`]; `calendarView`
    /// delta never lists masters, so the engine reads them by `seriesMasterId`.
    async fn series_master(&self, id: &str) -> PortResult<Value>;

    /// `GET /me/events/{id}/instances` over `window`: the occurrences and exceptions of a
    /// series (each with `type`, `seriesMasterId`, `originalStart`), every page followed.
    async fn instances(&self, master_id: &str, window: Window) -> PortResult<Vec<Value>>;
}

/// One Odoo recurrence as [`OdooCalendar::series`] reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OdooSeries {
    /// The raw `calendar.recurrence` record: `id`, `base_event_id` (an id, or Odoo's
    /// `[id, name]`), the rule fields (`rrule_type`, `interval`, `end_type`, `count`,
    /// `until`, `mon`…`sun`, `month_by`, `day`, `weekday`, `byday`, `rrule`) and `event_tz`.
    pub recurrence: Value,
    /// Every `calendar.event` row of the recurrence, **archived included**, resolved as
    /// [`OdooCalendar::read`] returns them, with `recurrence_id` and `follow_recurrence`.
    pub events: Vec<Value>,
}

/// The Odoo calendar of the signed-in user (`calendar.event`), records resolved as the
/// module docs say.
#[async_trait]
pub trait OdooCalendar: Send + Sync {
    /// Events (archived included: `active_test: false`) of the user in `window` with
    /// `write_date >= since - overlap` (all of them when `since` is `None`), ordered by
    /// `write_date, id` (the odoo crate's `changed_since`).
    async fn changed_since(
        &self,
        since: Option<DateTime<Utc>>,
        overlap: chrono::Duration,
        window: Window,
    ) -> PortResult<Vec<Value>>;

    /// Which of `ids` still exist (archived included): the id-set check that finds hard
    /// deletes (`unlink`), which polling by `write_date` cannot see.
    async fn existing_ids(&self, ids: &[i64]) -> PortResult<Vec<i64>>;

    /// Reads records (archived included); ids that no longer exist are absent.
    async fn read(&self, ids: &[i64]) -> PortResult<Vec<Value>>;

    /// Creates an event from `values` (from `sync_core::odoo::to_odoo`) with
    /// `no_mail_to_attendees`; returns its id.
    async fn create(&self, values: &Value) -> PortResult<i64>;

    /// Creates many events in one request (Odoo's `create` with a list of values, one
    /// transaction: all of them or none), with `no_mail_to_attendees`; their ids, in the
    /// order of `values`. What a first sync that brings many Outlook events into Odoo
    /// uses: the Odoo client paces itself (about one request a second), so one request per
    /// event would take hours for a large calendar. A lost answer is `MaybeApplied` for
    /// every one of them; a `Rejected` batch created none.
    async fn create_many(&self, values: &[Value]) -> PortResult<Vec<i64>>;

    /// Writes `values` (from `to_odoo_fields`) with `no_mail_to_attendees`.
    async fn write(&self, id: i64, values: &Value) -> PortResult<()>;

    /// Archives an event (`active = false`): how the engine deletes in Odoo, so the record
    /// stays restorable.
    async fn archive(&self, id: i64) -> PortResult<()>;

    /// Sets the user's own attendee answer (`change_attendee_status`), for events the user
    /// does not organize in Odoo.
    async fn respond(&self, id: i64, response: Response) -> PortResult<()>;

    /// Posts an internal note in the event's chatter (`message_post`, HTML body), e.g. the
    /// Teams link. No mail to followers (`message_type: comment`, internal subtype).
    async fn message_post(&self, id: i64, body_html: &str) -> PortResult<()>;

    /// Whether the event's chatter holds a message whose body contains `needle` (Odoo:
    /// `search_count` on `mail.message` by model, `res_id` and `body ilike`). Before a
    /// `message_post` is sent again after a crash or a lost answer: Odoo has no
    /// idempotency key, so the engine looks for the note it may have posted.
    async fn has_note(&self, id: i64, needle: &str) -> PortResult<bool>;

    /// After a *maybe applied* create: the user's events (hers, and those she attends, as
    /// `changed_since` reads them) named `title` starting at `start`, to find one the lost
    /// answer created. Archived rows only when they belong to a series: Odoo archives an
    /// off-rule base at once, and the user may archive the first row of a new series
    /// before the retry (the engine then links the series' current base). For an all-day
    /// event `start` is midnight UTC of its first day: match it against `start_date`
    /// (Odoo keeps an 08:00 placeholder in `start` there).
    async fn find(&self, title: &str, start: DateTime<Utc>) -> PortResult<Vec<Value>>;

    /// The user's answer for every occurrence of the series whose base event is `id`
    /// (`change_attendee_status(status, 'all_events')`).
    async fn respond_series(&self, id: i64, response: Response) -> PortResult<()>;

    /// Reads recurrences with all their rows; ids that no longer exist are absent.
    async fn series(&self, recurrence_ids: &[i64]) -> PortResult<Vec<OdooSeries>>;

    /// Archives every occurrence of the series whose base event is `base_id`
    /// (`action_mass_archive('all_events')`): how the engine deletes a series in Odoo.
    async fn archive_series(&self, base_id: i64) -> PortResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    // The app holds the ports as trait objects; this fails to compile if they stop being
    // object safe or `Send + Sync`.
    #[allow(dead_code)]
    fn ports_are_object_safe(
        m: std::sync::Arc<dyn MicrosoftCalendar>,
        o: std::sync::Arc<dyn OdooCalendar>,
    ) -> impl Send + Sync {
        (m, o)
    }

    #[test]
    fn port_errors_say_whether_waiting_can_help() {
        assert!(PortError::Throttled { retry_after: None }.is_transient());
        assert!(PortError::MaybeApplied {
            message: "timeout".into()
        }
        .is_transient());
        assert!(!PortError::Rejected {
            message: "bad".into()
        }
        .is_transient());
        assert!(!PortError::SignInNeeded {
            message: "expired".into()
        }
        .is_transient());
        assert!(!PortError::NotFound.is_transient());
    }
}
