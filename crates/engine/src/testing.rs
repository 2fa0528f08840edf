//! In-memory fake calendars behind the ports, for fast deterministic tests (this crate's
//! and the app's): enabled by the `testing` feature.
//!
//! * [`FakeGraph`]: a mailbox with delta links (expirable, to test 410), `transactionId`
//!   de-duplication, `changeKey`s, Teams join URLs, organizer/attendee views, the mails
//!   Graph would send, and injected faults (an error, or a write applied whose answer is
//!   lost).
//! * [`FakeOdoo`]: `calendar.event` records in the resolved shape, `write_date` ticking one
//!   second per write, archive and hard delete, chatter notes, and the same faults.
//!
//! Both count the writes the engine makes ([`FakeGraph::writes`], [`FakeOdoo::writes`])
//! apart from the edits a test makes as the user, which is how loop safety is measured.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use odoo365_sync_core::canonical::Response;
use odoo365_sync_core::Event;
use serde_json::{json, Value};

use crate::ports::{
    DeltaRound, MicrosoftCalendar, OdooCalendar, OdooSeries, PortError, PortResult, Window,
};

/// An injected fault: the next call of `method` fails with `error`; when `applied`, the
/// call takes effect first (a lost answer).
#[derive(Debug, Clone)]
struct Fault {
    method: &'static str,
    error: PortError,
    applied: bool,
}

fn take_fault(faults: &mut VecDeque<Fault>, method: &str) -> Option<Fault> {
    let i = faults.iter().position(|f| f.method == method)?;
    faults.remove(i)
}

/// Graph makes the Teams meeting and, like Outlook, appends its join block to the body
/// (as the emulator in `crates/testkit` does; `../shared/specs/graph.md` §2.4).
fn attach_teams(v: &mut Value, url: &str) {
    v["onlineMeeting"] = json!({ "joinUrl": url });
    let body = v
        .pointer("/body/content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    v["body"] = json!({
        "contentType": "html",
        "content": format!(
            "{body}<div>________________________________________________________________________________</div>\
             <div><b>Microsoft Teams meeting</b></div><div><a href=\"{url}\">Join the meeting now</a></div>"
        ),
    });
}

/// A mail a fake service sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub kind: &'static str,
    pub event_id: String,
    pub recipients: Vec<String>,
}

#[derive(Debug, Default)]
struct GraphState {
    events: BTreeMap<String, Value>,
    by_transaction: BTreeMap<String, String>,
    log: Vec<String>,
    epoch: u64,
    next: u64,
    reported_removed: std::collections::BTreeSet<String>,
    hide_transaction_ids: bool,
    faults: VecDeque<Fault>,
    writes: BTreeMap<&'static str, usize>,
    mails: Vec<SentMail>,
    calls: usize,
    /// `create_many` calls (each also counts once in `calls`, as does each of its creates).
    batches: usize,
    /// Modified occurrences (Graph exceptions) by occurrence id.
    exceptions: BTreeMap<String, Value>,
}

/// A fake Microsoft calendar (see the module docs). Clones share the mailbox.
#[derive(Debug, Clone)]
pub struct FakeGraph {
    me: String,
    state: Arc<Mutex<GraphState>>,
}

fn attendee_emails(v: &Value) -> Vec<String> {
    v.get("attendees")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|a| a.pointer("/emailAddress/address").and_then(Value::as_str))
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

impl FakeGraph {
    pub fn new(me: &str) -> FakeGraph {
        FakeGraph {
            me: me.to_lowercase(),
            state: Arc::new(Mutex::new(GraphState::default())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, GraphState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stamp(s: &mut GraphState, id: &str) {
        s.next += 1;
        let n = s.next;
        if let Some(e) = s.events.get_mut(id) {
            e["changeKey"] = json!(format!("ck-{n}"));
            e["lastModifiedDateTime"] = json!(format!("2026-11-22T00:00:{:02}Z", n % 60));
        }
        s.log.push(id.to_owned());
    }

    fn insert(s: &mut GraphState, mut v: Value, organizer: &str, is_organizer: bool) -> String {
        s.next += 1;
        let id = format!("AAMk-{}", s.next);
        v["id"] = json!(id);
        if v.get("iCalUId").is_none() {
            v["iCalUId"] = json!(format!("ical-{}", s.next));
        }
        v["isOrganizer"] = json!(is_organizer);
        v["organizer"] = json!({ "emailAddress": { "address": organizer } });
        if v.get("recurrence").is_some_and(Value::is_object) {
            v["type"] = json!("seriesMaster");
            v["cancelledOccurrences"] = json!([]);
        } else {
            v["type"] = json!("singleInstance");
        }
        if v.get("isOnlineMeeting").and_then(Value::as_bool) == Some(true) {
            let url = format!("https://teams.microsoft.com/l/meetup-join/fake-{}", s.next);
            attach_teams(&mut v, &url);
        }
        s.events.insert(id.clone(), v);
        Self::stamp(s, &id);
        id
    }

    /// The user (or someone inviting them) puts an event in the mailbox. With
    /// `organizer: Some(other)`, the user is an attendee who has not answered.
    pub fn user_create(&self, event: &Event, organizer: Option<&str>) -> String {
        let mut v = odoo365_sync_core::graph::to_graph(event).expect("a representable event");
        let mut s = self.lock();
        match organizer {
            Some(other) => {
                v["responseStatus"] = json!({ "response": "notResponded" });
                Self::insert(&mut s, v, other, false)
            }
            None => {
                let me = self.me.clone();
                Self::insert(&mut s, v, &me, true)
            }
        }
    }

    /// The user edits an event (any JSON change). A new series time or pattern drops
    /// the series' exceptions, as Outlook does.
    pub fn user_edit(&self, id: &str, edit: impl FnOnce(&mut Value)) {
        let mut s = self.lock();
        Self::stamp(&mut s, id);
        let mut rebuilt = false;
        if let Some(e) = s.events.get_mut(id) {
            let before = e.clone();
            edit(e);
            rebuilt = ["recurrence", "start", "end"]
                .iter()
                .any(|k| e.get(*k) != before.get(*k));
        }
        if rebuilt {
            let prefix = format!("{id}{OCC_MARK}");
            s.exceptions.retain(|k, _| !k.starts_with(&prefix));
        }
    }

    /// The user deletes an event.
    pub fn user_delete(&self, id: &str) {
        let mut s = self.lock();
        s.events.remove(id);
        s.log.push(id.to_owned());
    }

    /// The next delta round reports `id` as `@removed` although it still exists, as
    /// `calendarView/delta` does for an event moved out of the window.
    pub fn report_as_removed(&self, id: &str) {
        let mut s = self.lock();
        s.reported_removed.insert(id.to_owned());
        s.log.push(id.to_owned());
    }

    /// Delta rounds leave out `transactionId` (in case Graph's do).
    pub fn hide_transaction_ids_in_delta(&self) {
        self.lock().hide_transaction_ids = true;
    }

    /// Every delta link handed out so far stops working (the next round answers 410).
    pub fn expire_delta_links(&self) {
        self.lock().epoch += 1;
    }

    /// The next call of `method` (`delta`, `get`, `create`, `update`, `delete`, `cancel`,
    /// `respond`) fails with `error`.
    pub fn fail_next(&self, method: &'static str, error: PortError) {
        self.lock().faults.push_back(Fault {
            method,
            error,
            applied: false,
        });
    }

    /// The next call of `method` takes effect but its answer is lost (`MaybeApplied`).
    pub fn lose_answer_of_next(&self, method: &'static str) {
        self.lock().faults.push_back(Fault {
            method,
            error: PortError::MaybeApplied {
                message: "the connection dropped after sending".into(),
            },
            applied: true,
        });
    }

    /// The next call of `method` takes effect, and is answered with `error` all the same:
    /// an answer the client could not read, or a batch reported failed as a whole after
    /// some of its requests ran.
    pub fn apply_then_fail_next(&self, method: &'static str, error: PortError) {
        self.lock().faults.push_back(Fault {
            method,
            error,
            applied: true,
        });
    }

    pub fn event(&self, id: &str) -> Option<Value> {
        self.lock().events.get(id).cloned()
    }

    pub fn events(&self) -> Vec<Value> {
        self.lock().events.values().cloned().collect()
    }

    /// Events whose subject is `title`.
    pub fn titled(&self, title: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e.get("subject").and_then(Value::as_str) == Some(title))
            .collect()
    }

    /// Writes made through the port (creates, updates, deletes, cancels, responses).
    pub fn writes(&self) -> usize {
        self.lock().writes.values().sum()
    }

    /// Writes through the port by method.
    pub fn writes_of(&self, method: &str) -> usize {
        self.lock().writes.get(method).copied().unwrap_or(0)
    }

    /// All port calls, reads included.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// How many batched creates (`create_many`) were asked for.
    pub fn batches(&self) -> usize {
        self.lock().batches
    }

    pub fn mails(&self) -> Vec<SentMail> {
        self.lock().mails.clone()
    }

    fn begin(&self, method: &'static str) -> (MutexGuard<'_, GraphState>, Option<Fault>) {
        let mut s = self.lock();
        s.calls += 1;
        let f = take_fault(&mut s.faults, method);
        (s, f)
    }

    fn wrote(s: &mut GraphState, method: &'static str) {
        *s.writes.entry(method).or_default() += 1;
    }
}

#[async_trait]
impl MicrosoftCalendar for FakeGraph {
    async fn delta(&self, window: Window, delta_link: Option<&str>) -> PortResult<DeltaRound> {
        let (mut s, fault) = self.begin("delta");
        if let Some(f) = fault {
            return Err(f.error);
        }
        let reported_removed = std::mem::take(&mut s.reported_removed);
        let hide = s.hide_transaction_ids;
        let strip = |mut v: Value| {
            if hide {
                if let Some(o) = v.as_object_mut() {
                    o.remove("transactionId");
                }
            }
            v
        };
        let end = s.log.len();
        let link = |from: usize| format!("fake-delta:{}:{from}", s.epoch);
        // calendarView lists a series' instances, never its master.
        let expand_one = |e: &Value| -> Vec<Value> {
            if e.get("type").and_then(Value::as_str) == Some("seriesMaster") {
                series_instances(e, &s.exceptions, window)
                    .into_iter()
                    .map(strip)
                    .collect()
            } else {
                vec![strip(e.clone())]
            }
        };
        match delta_link {
            None => Ok(DeltaRound {
                events: s.events.values().flat_map(expand_one).collect(),
                removed: Vec::new(),
                delta_link: link(end),
                full: true,
            }),
            Some(l) => {
                let mut parts = l.split(':').skip(1);
                let epoch: u64 = parts
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(u64::MAX);
                let from: usize = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                if epoch != s.epoch || from > end {
                    return Err(PortError::ResyncRequired);
                }
                let mut ids: Vec<&String> = s.log[from..].iter().collect();
                ids.sort();
                ids.dedup();
                let mut round = DeltaRound {
                    delta_link: link(end),
                    ..DeltaRound::default()
                };
                for id in ids {
                    if reported_removed.contains(id) {
                        round.removed.push(id.clone());
                        continue;
                    }
                    if let Some((master, date)) = split_occurrence_id(id) {
                        // One occurrence changed (an exception) or was cancelled.
                        match s
                            .events
                            .get(&master)
                            .and_then(|m| occurrence_on(m, &s.exceptions, date))
                        {
                            Some(v) => round.events.push(strip(v)),
                            None => round.removed.push(id.clone()),
                        }
                        continue;
                    }
                    match s.events.get(id) {
                        Some(e) => round.events.extend(expand_one(e)),
                        None => round.removed.push(id.clone()),
                    }
                }
                Ok(round)
            }
        }
    }

    async fn get(&self, id: &str) -> PortResult<Value> {
        let (s, fault) = self.begin("get");
        if let Some(f) = fault {
            return Err(f.error);
        }
        if let Some((master, date)) = split_occurrence_id(id) {
            let m = s.events.get(&master).ok_or(PortError::NotFound)?;
            return occurrence_on(m, &s.exceptions, date).ok_or(PortError::NotFound);
        }
        let mut v = s.events.get(id).cloned().ok_or(PortError::NotFound)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("cancelledOccurrences");
        }
        Ok(v)
    }

    async fn create(&self, body: &Value, transaction_id: &str) -> PortResult<Value> {
        let (mut s, fault) = self.begin("create");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        if let Some(id) = s.by_transaction.get(transaction_id).cloned() {
            // Graph answers a resend with the same transactionId with the first event.
            if let Some(e) = s.events.get(&id) {
                let e = e.clone();
                return match fault {
                    Some(f) => Err(f.error),
                    None => Ok(e),
                };
            }
        }
        let me = self.me.clone();
        let mut v = body.clone();
        v["transactionId"] = json!(transaction_id);
        let id = Self::insert(&mut s, v, &me, true);
        s.by_transaction
            .insert(transaction_id.to_owned(), id.clone());
        Self::wrote(&mut s, "create");
        let created = s.events.get(&id).cloned().unwrap_or_default();
        let recipients = attendee_emails(&created);
        if !recipients.is_empty() {
            s.mails.push(SentMail {
                kind: "invitation",
                event_id: id,
                recipients,
            });
        }
        match fault {
            Some(f) => Err(f.error),
            None => Ok(created),
        }
    }

    /// Each create as `create` (its faults included); a `create_many` fault is the whole
    /// batch's: not applied, nothing is created; applied, all are and the answer is lost.
    async fn create_many(&self, items: &[(Value, String)]) -> PortResult<Vec<PortResult<Value>>> {
        let fault = {
            let (mut s, fault) = self.begin("create_many");
            s.batches += 1;
            fault
        };
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        let mut out = Vec::with_capacity(items.len());
        for (body, transaction_id) in items {
            out.push(self.create(body, transaction_id).await);
        }
        match fault {
            Some(f) => Err(f.error),
            None => Ok(out),
        }
    }

    async fn update(&self, id: &str, patch: &Value, if_match: Option<&str>) -> PortResult<Value> {
        let (mut s, fault) = self.begin("update");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        if let Some((master, date)) = split_occurrence_id(id) {
            let patch = patch.clone();
            let v = Self::edit_occurrence(&mut s, &master, date, |v| {
                if let (Some(n), Some(p)) = (v.as_object_mut(), patch.as_object()) {
                    for (k, x) in p {
                        n.insert(k.clone(), x.clone());
                    }
                }
            })
            .ok_or(PortError::NotFound)?;
            Self::wrote(&mut s, "update");
            return match fault {
                Some(f) => Err(f.error),
                None => Ok(v),
            };
        }
        let Some(current) = s.events.get(id).cloned() else {
            return Err(PortError::NotFound);
        };
        if ["recurrence", "start", "end"]
            .iter()
            .any(|k| patch.get(*k).is_some() && patch.get(*k) != current.get(*k))
        {
            // A new series time or rule drops the exceptions, as Outlook does.
            let prefix = format!("{id}{OCC_MARK}");
            s.exceptions.retain(|k, _| !k.starts_with(&prefix));
        }
        let new_pattern = patch.get("recurrence").is_some_and(Value::is_object);
        if let Some(tag) = if_match {
            if current.get("changeKey").and_then(Value::as_str) != Some(tag) {
                return Err(PortError::PreconditionFailed);
            }
        }
        if current.get("isOrganizer").and_then(Value::as_bool) == Some(false) {
            return Err(PortError::Rejected {
                message: "ErrorAccessDenied: only the organizer can update the meeting".into(),
            });
        }
        let mut next = current.clone();
        if let (Some(n), Some(p)) = (next.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                n.insert(k.clone(), v.clone());
            }
        }
        if new_pattern {
            // A PATCH of `recurrence` makes a fresh series: no exceptions, no
            // cancellations (as the emulator's PATCH does).
            let prefix = format!("{id}{OCC_MARK}");
            s.exceptions.retain(|k, _| !k.starts_with(&prefix));
            next["cancelledOccurrences"] = json!([]);
            next["type"] = json!("seriesMaster");
        } else if patch.get("recurrence") == Some(&Value::Null) {
            next["type"] = json!("singleInstance");
            if let Some(o) = next.as_object_mut() {
                o.remove("cancelledOccurrences");
            }
        }
        if next.get("isOnlineMeeting").and_then(Value::as_bool) == Some(true)
            && next.pointer("/onlineMeeting/joinUrl").is_none()
        {
            let url = format!("https://teams.microsoft.com/l/meetup-join/fake-{id}");
            attach_teams(&mut next, &url);
        }
        // As Graph (and the emulator in crates/testkit): a PATCH of what attendees see mails
        // them an update.
        let mails = [
            "subject",
            "body",
            "start",
            "end",
            "isAllDay",
            "location",
            "recurrence",
            "isOnlineMeeting",
            "attendees",
        ]
        .iter()
        .any(|k| patch.get(*k).is_some() && patch.get(*k) != current.get(*k));
        s.events.insert(id.to_owned(), next);
        Self::stamp(&mut s, id);
        Self::wrote(&mut s, "update");
        let recipients = attendee_emails(&s.events[id]);
        if mails && !recipients.is_empty() {
            s.mails.push(SentMail {
                kind: "update",
                event_id: id.to_owned(),
                recipients,
            });
        }
        let out = s.events[id].clone();
        match fault {
            Some(f) => Err(f.error),
            None => Ok(out),
        }
    }

    async fn delete(&self, id: &str, _if_match: Option<&str>) -> PortResult<()> {
        let (mut s, fault) = self.begin("delete");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        if let Some((master, date)) = split_occurrence_id(id) {
            if !Self::cancel_occurrence(&mut s, &master, date) {
                return Err(PortError::NotFound);
            }
            Self::wrote(&mut s, "delete");
            return fault.map_or(Ok(()), |f| Err(f.error));
        }
        if s.events.remove(id).is_none() {
            return Err(PortError::NotFound);
        }
        s.log.push(id.to_owned());
        Self::wrote(&mut s, "delete");
        fault.map_or(Ok(()), |f| Err(f.error))
    }

    async fn cancel(&self, id: &str, _comment: &str) -> PortResult<()> {
        let (mut s, fault) = self.begin("cancel");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        let Some(e) = s.events.remove(id) else {
            return Err(PortError::NotFound);
        };
        s.log.push(id.to_owned());
        Self::wrote(&mut s, "cancel");
        s.mails.push(SentMail {
            kind: "cancellation",
            event_id: id.to_owned(),
            recipients: attendee_emails(&e),
        });
        fault.map_or(Ok(()), |f| Err(f.error))
    }

    async fn respond(&self, id: &str, response: Response) -> PortResult<()> {
        let (mut s, fault) = self.begin("respond");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        let answer = match response {
            Response::Accepted => "accepted",
            Response::Tentative => "tentativelyAccepted",
            Response::Declined => "declined",
            Response::NeedsAction => "notResponded",
        };
        let me = self.me.clone();
        let Some(e) = s.events.get_mut(id) else {
            return Err(PortError::NotFound);
        };
        e["responseStatus"] = json!({ "response": answer });
        if let Some(list) = e.get_mut("attendees").and_then(Value::as_array_mut) {
            for a in list {
                if a.pointer("/emailAddress/address").and_then(Value::as_str) == Some(&me) {
                    a["status"] = json!({ "response": answer });
                }
            }
        }
        let organizer = e
            .pointer("/organizer/emailAddress/address")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Self::stamp(&mut s, id);
        Self::wrote(&mut s, "respond");
        s.mails.push(SentMail {
            kind: "answer",
            event_id: id.to_owned(),
            recipients: vec![organizer],
        });
        fault.map_or(Ok(()), |f| Err(f.error))
    }

    async fn find_by_transaction_id(&self, transaction_id: &str) -> PortResult<Option<Value>> {
        let (s, fault) = self.begin("find");
        if let Some(f) = fault {
            return Err(f.error);
        }
        Ok(s.by_transaction
            .get(transaction_id)
            .and_then(|id| s.events.get(id))
            .cloned())
    }

    async fn find_by_ical_uid(&self, ical_uid: &str) -> PortResult<Option<Value>> {
        let (s, fault) = self.begin("find");
        if let Some(f) = fault {
            return Err(f.error);
        }
        Ok(s.events
            .values()
            .find(|e| e.get("iCalUId").and_then(Value::as_str) == Some(ical_uid))
            .cloned())
    }

    async fn series_master(&self, id: &str) -> PortResult<Value> {
        let (s, fault) = self.begin("get");
        if let Some(f) = fault {
            return Err(f.error);
        }
        s.events.get(id).cloned().ok_or(PortError::NotFound)
    }

    async fn instances(&self, master_id: &str, window: Window) -> PortResult<Vec<Value>> {
        let (s, fault) = self.begin("instances");
        if let Some(f) = fault {
            return Err(f.error);
        }
        let m = s.events.get(master_id).ok_or(PortError::NotFound)?;
        Ok(series_instances(m, &s.exceptions, window))
    }
}

// ------------------------------------------------------------------ Graph series

/// Occurrence ids are `<master>=OC<yyyymmdd>`, as the emulator writes them.
const OCC_MARK: &str = "=OC";

fn split_occurrence_id(id: &str) -> Option<(String, chrono::NaiveDate)> {
    let (master, date) = id.rsplit_once(OCC_MARK)?;
    let d = chrono::NaiveDate::parse_from_str(date, "%Y%m%d").ok()?;
    Some((master.to_owned(), d))
}

fn series_zone(e: &Event) -> chrono_tz::Tz {
    e.time_zone
        .as_deref()
        .and_then(odoo365_sync_core::tz::parse)
        .unwrap_or(chrono_tz::UTC)
}

/// A master's occurrences starting in `window` (cancelled ones left out), as
/// `calendarView` and `/instances` render them.
fn series_instances(
    master: &Value,
    exceptions: &BTreeMap<String, Value>,
    window: Window,
) -> Vec<Value> {
    let Ok(e) = odoo365_sync_core::graph::from_graph(master) else {
        return Vec::new();
    };
    let zone = series_zone(&e);
    let Ok(list) = odoo365_sync_core::expand::occurrences(&e, window.start, window.end) else {
        return Vec::new();
    };
    list.into_iter()
        .map(|o| render_occurrence(master, &e, zone, o))
        .map(|v| {
            let id = v["id"].as_str().unwrap_or_default();
            exceptions.get(id).cloned().unwrap_or(v)
        })
        .collect()
}

fn render_occurrence(
    master: &Value,
    e: &Event,
    zone: chrono_tz::Tz,
    o: odoo365_sync_core::expand::Occurrence,
) -> Value {
    let mid = master.get("id").and_then(Value::as_str).unwrap_or_default();
    let date = match o.when {
        odoo365_sync_core::When::AllDay { start, .. } => start,
        odoo365_sync_core::When::Timed { start, .. } => start.with_timezone(&zone).date_naive(),
    };
    let mut one = e.clone();
    one.recurrence = None;
    one.when = o.when;
    let times = odoo365_sync_core::graph::to_graph_patch(&one, &[odoo365_sync_core::Field::When])
        .unwrap_or_default();
    let mut v = master.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("recurrence");
        obj.remove("cancelledOccurrences");
        obj.remove("transactionId");
    }
    v["id"] = json!(format!("{mid}{OCC_MARK}{}", date.format("%Y%m%d")));
    v["type"] = json!("occurrence");
    v["seriesMasterId"] = json!(mid);
    v["originalStart"] = json!(o.original_start.to_rfc3339());
    v["iCalUId"] = json!(format!("{mid}-{date}"));
    for k in ["start", "end", "isAllDay"] {
        if let Some(t) = times.get(k) {
            v[k] = t.clone();
        }
    }
    v
}

/// The occurrence of `master` on local date `date`, if the rule has one there.
fn occurrence_on(
    master: &Value,
    exceptions: &BTreeMap<String, Value>,
    date: chrono::NaiveDate,
) -> Option<Value> {
    let e = odoo365_sync_core::graph::from_graph(master).ok()?;
    let zone = series_zone(&e);
    let from = odoo365_sync_core::expand::day_start(date) - Duration::days(2);
    let to = from + Duration::days(4);
    let list = odoo365_sync_core::expand::occurrences(&e, from, to).ok()?;
    list.into_iter()
        .map(|o| render_occurrence(master, &e, zone, o))
        .find(|v| {
            split_occurrence_id(v["id"].as_str().unwrap_or_default()).map(|x| x.1) == Some(date)
        })
        .map(|v| {
            let id = v["id"].as_str().unwrap_or_default();
            exceptions.get(id).cloned().unwrap_or(v)
        })
}

impl FakeGraph {
    /// Adds `date` to the master's cancelled occurrences (Graph deletes the instance):
    /// delta reports the occurrence id `@removed`, not the master.
    fn cancel_occurrence(s: &mut GraphState, master: &str, date: chrono::NaiveDate) -> bool {
        let Some(m) = s.events.get(master) else {
            return false;
        };
        if occurrence_on(m, &s.exceptions, date).is_none() {
            return false;
        }
        s.exceptions
            .remove(&format!("{master}{OCC_MARK}{}", date.format("%Y%m%d")));
        let entry = json!(format!("OID.{master}.{date}"));
        s.next += 1;
        let n = s.next;
        if let Some(m) = s.events.get_mut(master) {
            match m
                .get_mut("cancelledOccurrences")
                .and_then(Value::as_array_mut)
            {
                Some(list) => list.push(entry),
                None => m["cancelledOccurrences"] = json!([entry]),
            }
            m["changeKey"] = json!(format!("ck-{n}"));
        }
        s.log
            .push(format!("{master}{OCC_MARK}{}", date.format("%Y%m%d")));
        true
    }

    /// The user deletes one occurrence of a series (by its local date).
    pub fn user_cancel_occurrence(&self, master: &str, date: chrono::NaiveDate) {
        let mut s = self.lock();
        assert!(
            Self::cancel_occurrence(&mut s, master, date),
            "no occurrence of {master} on {date}"
        );
    }

    /// The instances of a series in `window` (what Outlook shows).
    pub fn instances_of(&self, master: &str, window: Window) -> Vec<Value> {
        let s = self.lock();
        s.events
            .get(master)
            .map(|m| series_instances(m, &s.exceptions, window))
            .unwrap_or_default()
    }

    /// The user edits one occurrence (on its original local date): it becomes an exception.
    pub fn user_edit_occurrence(
        &self,
        master: &str,
        date: chrono::NaiveDate,
        edit: impl FnOnce(&mut Value),
    ) {
        let mut s = self.lock();
        Self::edit_occurrence(&mut s, master, date, edit).expect("an occurrence on that date");
    }

    fn edit_occurrence(
        s: &mut GraphState,
        master: &str,
        date: chrono::NaiveDate,
        edit: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let m = s.events.get(master)?;
        let mut v = occurrence_on(m, &s.exceptions, date)?;
        edit(&mut v);
        v["type"] = json!("exception");
        s.next += 1;
        v["changeKey"] = json!(format!("ck-{}", s.next));
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        s.exceptions.insert(id.clone(), v.clone());
        s.log.push(id);
        Some(v)
    }
}

// ---------------------------------------------------------------------------- Odoo

#[derive(Debug, Default)]
struct OdooState {
    records: BTreeMap<i64, Value>,
    next_id: i64,
    tick: i64,
    faults: VecDeque<Fault>,
    writes: BTreeMap<&'static str, usize>,
    notes: Vec<(i64, String)>,
    calls: usize,
    calls_by: BTreeMap<&'static str, usize>,
    /// `create_many` calls (each also counts once in `calls`).
    batches: usize,
    /// `calendar.recurrence` records by id.
    recurrences: BTreeMap<i64, Value>,
    next_rid: i64,
}

/// A fake Odoo `calendar.event` model (see the module docs). Clones share the database.
#[derive(Debug, Clone)]
pub struct FakeOdoo {
    me: String,
    state: Arc<Mutex<OdooState>>,
}

const ODOO_DT: &str = "%Y-%m-%d %H:%M:%S";

fn odoo_epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

impl FakeOdoo {
    pub fn new(me: &str) -> FakeOdoo {
        FakeOdoo {
            me: me.to_lowercase(),
            state: Arc::new(Mutex::new(OdooState::default())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, OdooState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn touch(s: &mut OdooState, id: i64) {
        s.tick += 1;
        let at = odoo_epoch() + Duration::seconds(s.tick);
        if let Some(r) = s.records.get_mut(&id) {
            r["write_date"] = json!(at.format(ODOO_DT).to_string());
        }
    }

    fn insert(&self, s: &mut OdooState, values: &Value) -> i64 {
        s.next_id += 1;
        let id = s.next_id;
        let mut r = json!({ "id": id, "active": true });
        let mut values = values.clone();
        if let Some(o) = values.as_object_mut() {
            o.remove("recurrence_update");
            o.remove("cancelled_occurrences");
        }
        merge(&mut r, &values);
        if r.get("user_id").is_none() {
            r["user_id"] = json!({ "email": self.me });
        }
        let recurrent = r.get("recurrency").and_then(Value::as_bool) == Some(true);
        s.records.insert(id, r);
        Self::touch(s, id);
        if recurrent {
            Self::create_recurrence(s, id, None);
        }
        id
    }

    /// The user creates an event in Odoo (organized by `organizer`, default the user).
    pub fn user_create(&self, event: &Event) -> i64 {
        let values = odoo365_sync_core::odoo::to_odoo(event).expect("a representable event");
        let mut s = self.lock();
        self.insert(&mut s, &values)
    }

    /// The user writes `values` (Odoo field names, resolved shapes), with Odoo's
    /// `recurrence_update` semantics when `values` names one (default `self_only`).
    pub fn user_write(&self, id: i64, values: &Value) {
        let mut s = self.lock();
        Self::apply_write(&mut s, id, values).expect("a write Odoo accepts");
    }

    /// The rows of the recurrence `rid` (archived included), by start.
    pub fn series_rows(&self, rid: i64) -> Vec<Value> {
        let s = self.lock();
        let mut rows = Self::rows_of(&s, rid);
        rows.sort_by_key(|r| str_of(r, "start"));
        rows
    }

    /// The recurrence id of an event row.
    pub fn recurrence_of(&self, id: i64) -> Option<i64> {
        self.lock().records.get(&id).and_then(rid_of)
    }

    /// The base event the recurrence `rid` names (`base_event_id`), as Odoo re-bases it.
    pub fn base_event_of(&self, rid: i64) -> Option<i64> {
        self.lock()
            .recurrences
            .get(&rid)
            .and_then(|r| r.get("base_event_id"))
            .and_then(Value::as_i64)
    }

    /// Every recurrence id.
    pub fn recurrence_ids(&self) -> Vec<i64> {
        self.lock().recurrences.keys().copied().collect()
    }

    fn rows_of(s: &OdooState, rid: i64) -> Vec<Value> {
        s.records
            .values()
            .filter(|r| rid_of(r) == Some(rid))
            .cloned()
            .collect()
    }

    /// Odoo's `calendar.recurrence` create + `_apply_recurrence`: the base row gets the
    /// recurrence, and one row per further occurrence of the rule is created (720 at most,
    /// local time kept across DST in `event_tz`).
    fn create_recurrence(s: &mut OdooState, base: i64, rule_from: Option<&Value>) -> i64 {
        s.next_rid += 1;
        let rid = s.next_rid;
        let Some(base_row) = s.records.get(&base).cloned() else {
            return rid;
        };
        let mut rec = json!({ "id": rid, "base_event_id": base });
        for k in SERIES_RULE_FIELDS {
            if let Some(v) = rule_from.and_then(|r| r.get(k)).or_else(|| base_row.get(k)) {
                rec[k] = v.clone();
            }
        }
        for k in SERIES_RULE_FIELDS {
            if let Some(v) = base_row.get(k) {
                rec[k] = v.clone();
            }
        }
        if let Some(n) = rec.get("count").and_then(Value::as_i64) {
            rec["count"] = json!(n.min(i64::from(odoo365_sync_core::rrule::COUNT_MAX)));
        }
        s.recurrences.insert(rid, rec.clone());
        let mut base_row = base_row;
        base_row["recurrence_id"] = json!(rid);
        base_row["recurrency"] = json!(true);
        base_row["follow_recurrence"] = json!(true);
        for k in SERIES_RULE_FIELDS {
            if let Some(v) = rec.get(k) {
                base_row[k] = v.clone();
            }
        }
        s.records.insert(base, base_row.clone());
        Self::touch(s, base);
        let mut readable = base_row.clone();
        if let Some(o) = readable.as_object_mut() {
            o.remove("recurrence_id");
        }
        let Ok(event) = odoo365_sync_core::odoo::from_odoo(&readable) else {
            return rid;
        };
        let Some(first) = (match event.when {
            odoo365_sync_core::When::Timed { start, .. } => Some(start),
            odoo365_sync_core::When::AllDay { start, .. } => {
                Some(odoo365_sync_core::expand::day_start(start))
            }
        }) else {
            return rid;
        };
        let list = odoo365_sync_core::expand::occurrences(
            &event,
            first - Duration::days(1),
            first + Duration::days(366 * 100),
        )
        .unwrap_or_default();
        let off_rule = !list.iter().any(|o| o.when == event.when);
        if off_rule {
            // `_apply_recurrence` detaches the rows whose (start, stop) is not a range of
            // the rule (`_detach_events`: `recurrence_id` and `recurrency` cleared) and the
            // caller archives them (`detached_events.active = False`): the base itself
            // when its start is off the rule (dateutil yields no DTSTART that misses
            // BYDAY). odoo/odoo addons/calendar/models/calendar_event.py `create`,
            // calendar_recurrence.py `_apply_recurrence`.
            if let Some(r) = s.records.get_mut(&base) {
                r["recurrence_id"] = json!(false);
                r["recurrency"] = json!(false);
                r["active"] = json!(false);
            }
            Self::touch(s, base);
        }
        for o in list {
            if o.when == event.when {
                continue;
            }
            s.next_id += 1;
            let id = s.next_id;
            let mut row = base_row.clone();
            row["id"] = json!(id);
            row["active"] = json!(true);
            set_times(&mut row, o.when);
            s.records.insert(id, row);
            Self::touch(s, id);
        }
        if off_rule {
            // That archive is a `write(active=False)` on the base: the recurrence is
            // re-based on its first remaining event (`_select_new_base_event`), so the id
            // `create` returns is no longer the series' base, nor part of it.
            Self::select_new_base(s, rid);
        }
        rid
    }

    fn set_rule(s: &mut OdooState, rid: i64, changes: &Value) {
        if let Some(rec) = s.recurrences.get_mut(&rid) {
            merge(rec, changes);
        }
        let ids: Vec<i64> = Self::rows_of(s, rid)
            .iter()
            .filter_map(|r| r.get("id").and_then(Value::as_i64))
            .collect();
        for id in ids {
            if let Some(r) = s.records.get_mut(&id) {
                merge(r, changes);
            }
        }
    }

    /// `calendar.event.write` with `recurrence_update` (`../shared/specs/odoo.md` §2.4).
    fn apply_write(s: &mut OdooState, id: i64, values: &Value) -> PortResult<()> {
        let mut values = values.clone();
        let mode = values
            .get("recurrence_update")
            .and_then(Value::as_str)
            .unwrap_or("self_only")
            .to_owned();
        if let Some(o) = values.as_object_mut() {
            o.remove("recurrence_update");
            o.remove("cancelled_occurrences");
        }
        let Some(row) = s.records.get(&id).cloned() else {
            return Err(PortError::NotFound);
        };
        let keys: Vec<String> = values
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let touches_rule = keys
            .iter()
            .any(|k| SERIES_RULE_FIELDS.contains(&k.as_str()) || k == "recurrency");
        let touches_time = keys.iter().any(|k| {
            [
                "start",
                "stop",
                "start_date",
                "stop_date",
                "allday",
                "event_tz",
            ]
            .contains(&k.as_str())
        });
        let Some(rid) = rid_of(&row) else {
            if let Some(r) = s.records.get_mut(&id) {
                merge(r, &values);
            }
            Self::touch(s, id);
            let now_recurrent =
                s.records.get(&id).and_then(|r| r.get("recurrency")) == Some(&json!(true));
            if now_recurrent && touches_rule {
                Self::create_recurrence(s, id, None);
            }
            return Ok(());
        };
        let base = s
            .recurrences
            .get(&rid)
            .and_then(|r| r.get("base_event_id"))
            .and_then(Value::as_i64)
            .unwrap_or(id);
        let breaking = values.get("recurrency") == Some(&json!(false));
        match mode.as_str() {
            "all_events" | "future_events" if breaking => {
                // `_break_recurrence` (both modes treated as "all" here).
                for r in Self::rows_of(s, rid) {
                    let rid_ = r.get("id").and_then(Value::as_i64).unwrap_or_default();
                    if rid_ != id {
                        s.records.remove(&rid_);
                    }
                }
                s.recurrences.remove(&rid);
                if let Some(r) = s.records.get_mut(&id) {
                    merge(r, &values);
                    r["recurrence_id"] = json!(false);
                    r["recurrency"] = json!(false);
                    r["follow_recurrence"] = json!(false);
                }
                Self::touch(s, id);
            }
            "future_events" if id != base => {
                let start = str_of(&row, "start");
                let day_before = start
                    .get(..10)
                    .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .map(|d| (d - Duration::days(1)).format("%Y-%m-%d").to_string());
                let old = s.recurrences.get(&rid).cloned().unwrap_or_default();
                let following: Vec<i64> = Self::rows_of(s, rid)
                    .iter()
                    .filter(|r| {
                        str_of(r, "start") >= start && r.get("active") != Some(&json!(false))
                    })
                    .filter_map(|r| r.get("id").and_then(Value::as_i64))
                    .collect();
                Self::set_rule(
                    s,
                    rid,
                    &json!({"end_type": "end_date", "until": day_before, "count": false}),
                );
                for f in &following {
                    if let Some(r) = s.records.get_mut(f) {
                        r["recurrence_id"] = json!(false);
                        if *f != id {
                            r["active"] = json!(false);
                        }
                    }
                    Self::touch(s, *f);
                }
                let mut rule = old.clone();
                if old.get("end_type").and_then(Value::as_str) == Some("count") {
                    rule["count"] = json!(following.len().max(1));
                }
                merge(&mut rule, &values);
                if let Some(r) = s.records.get_mut(&id) {
                    merge(r, &values);
                    for k in SERIES_RULE_FIELDS {
                        if let Some(v) = rule.get(k) {
                            r[k] = v.clone();
                        }
                    }
                    r["recurrency"] = json!(true);
                }
                Self::create_recurrence(s, id, Some(&rule));
            }
            "all_events" | "future_events" if touches_rule || touches_time => {
                // `_rewrite_recurrence`: every row archived and detached but the base, which
                // takes the values; a new recurrence rebuilds the rows with new ids.
                let old = s.recurrences.remove(&rid).unwrap_or_default();
                for r in Self::rows_of(s, rid) {
                    let rid_ = r.get("id").and_then(Value::as_i64).unwrap_or_default();
                    if let Some(x) = s.records.get_mut(&rid_) {
                        x["recurrence_id"] = json!(false);
                        if rid_ != base {
                            x["active"] = json!(false);
                        }
                    }
                    Self::touch(s, rid_);
                }
                let mut rule = old.clone();
                merge(&mut rule, &values);
                if let Some(r) = s.records.get_mut(&base) {
                    merge(r, &values);
                    r["active"] = json!(true);
                    for k in SERIES_RULE_FIELDS {
                        if let Some(v) = rule.get(k) {
                            r[k] = v.clone();
                        }
                    }
                }
                Self::create_recurrence(s, base, Some(&rule));
            }
            "all_events" | "future_events" => {
                for r in Self::rows_of(s, rid) {
                    if r.get("active") == Some(&json!(false)) {
                        continue;
                    }
                    let rid_ = r.get("id").and_then(Value::as_i64).unwrap_or_default();
                    if let Some(x) = s.records.get_mut(&rid_) {
                        merge(x, &values);
                    }
                    Self::touch(s, rid_);
                }
            }
            _ => {
                if touches_rule {
                    return Err(PortError::Rejected {
                        message: "Unable to save the recurrence with \"This Event\"".into(),
                    });
                }
                if let Some(r) = s.records.get_mut(&id) {
                    merge(r, &values);
                    if touches_time {
                        r["follow_recurrence"] = json!(false);
                    }
                }
                Self::touch(s, id);
            }
        }
        if values.get("active") == Some(&json!(false)) {
            if let Some(rid) = s.records.get(&id).and_then(rid_of) {
                Self::select_new_base(s, rid);
            }
        }
        Ok(())
    }

    /// `calendar.recurrence._select_new_base_event`, which Odoo's `write(active=False)` and
    /// `unlink` of a series' base event call: the first active row (by start) becomes the
    /// base, or none is left; the rule (and its `count`) stays as it was
    /// (`../shared/specs/odoo.md` §2.4; crates/testkit/README.md).
    fn select_new_base(s: &mut OdooState, rid: i64) {
        let base = s
            .recurrences
            .get(&rid)
            .and_then(|r| r.get("base_event_id"))
            .and_then(Value::as_i64);
        let standing = base
            .and_then(|b| s.records.get(&b))
            .is_some_and(|r| r.get("active") != Some(&json!(false)) && rid_of(r) == Some(rid));
        if standing {
            return;
        }
        let next = Self::rows_of(s, rid)
            .into_iter()
            .filter(|r| r.get("active") != Some(&json!(false)))
            .filter_map(|r| Some((str_of(&r, "start"), r.get("id")?.as_i64()?)))
            .min()
            .map(|(_, id)| id);
        if let Some(rec) = s.recurrences.get_mut(&rid) {
            rec["base_event_id"] = json!(next);
        }
    }

    /// The user archives (deletes from the calendar view) an event.
    pub fn user_archive(&self, id: i64) {
        self.user_write(id, &json!({ "active": false }));
    }

    /// A hard delete (`unlink`): invisible to `write_date` polling. A series whose base
    /// event it was gets another one.
    pub fn user_unlink(&self, id: i64) {
        let mut s = self.lock();
        let rid = s.records.remove(&id).as_ref().and_then(rid_of);
        if let Some(rid) = rid {
            Self::select_new_base(&mut s, rid);
        }
    }

    pub fn fail_next(&self, method: &'static str, error: PortError) {
        self.lock().faults.push_back(Fault {
            method,
            error,
            applied: false,
        });
    }

    pub fn lose_answer_of_next(&self, method: &'static str) {
        self.lock().faults.push_back(Fault {
            method,
            error: PortError::MaybeApplied {
                message: "the connection dropped after sending".into(),
            },
            applied: true,
        });
    }

    pub fn record(&self, id: i64) -> Option<Value> {
        self.lock().records.get(&id).cloned()
    }

    /// Active records.
    pub fn active(&self) -> Vec<Value> {
        self.lock()
            .records
            .values()
            .filter(|r| r.get("active").and_then(Value::as_bool) != Some(false))
            .cloned()
            .collect()
    }

    /// Active records named `title`.
    pub fn titled(&self, title: &str) -> Vec<Value> {
        self.active()
            .into_iter()
            .filter(|r| r.get("name").and_then(Value::as_str) == Some(title))
            .collect()
    }

    pub fn writes(&self) -> usize {
        self.lock().writes.values().sum()
    }

    pub fn writes_of(&self, method: &str) -> usize {
        self.lock().writes.get(method).copied().unwrap_or(0)
    }

    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// Port calls of one method (`read`, `create`, …), reads included.
    pub fn calls_of(&self, method: &str) -> usize {
        self.lock().calls_by.get(method).copied().unwrap_or(0)
    }

    /// How many batched creates (`create_many`) were asked for.
    pub fn batches(&self) -> usize {
        self.lock().batches
    }

    pub fn notes(&self) -> Vec<(i64, String)> {
        self.lock().notes.clone()
    }

    fn begin(&self, method: &'static str) -> (MutexGuard<'_, OdooState>, Option<Fault>) {
        let mut s = self.lock();
        s.calls += 1;
        *s.calls_by.entry(method).or_default() += 1;
        let f = take_fault(&mut s.faults, method);
        (s, f)
    }

    fn wrote(s: &mut OdooState, method: &'static str) {
        *s.writes.entry(method).or_default() += 1;
    }
}

/// The recurrence fields an event row carries (pseudo-related in Odoo).
const SERIES_RULE_FIELDS: [&str; 18] = [
    "rrule_type",
    "interval",
    "end_type",
    "count",
    "until",
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
    "rrule",
    "event_tz",
];

fn rid_of(r: &Value) -> Option<i64> {
    r.get("recurrence_id").and_then(Value::as_i64)
}

fn str_of(r: &Value, k: &str) -> String {
    r.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn set_times(row: &mut Value, when: odoo365_sync_core::When) {
    match when {
        odoo365_sync_core::When::Timed { start, end } => {
            row["start"] = json!(start.format(ODOO_DT).to_string());
            row["stop"] = json!(end.format(ODOO_DT).to_string());
        }
        odoo365_sync_core::When::AllDay { start, end } => {
            let stop = (end - Duration::days(1)).max(start);
            row["start_date"] = json!(start.format("%Y-%m-%d").to_string());
            row["stop_date"] = json!(stop.format("%Y-%m-%d").to_string());
            row["start"] = json!(start.format("%Y-%m-%d").to_string());
            row["stop"] = json!(stop.format("%Y-%m-%d").to_string());
        }
    }
}

fn merge(target: &mut Value, values: &Value) {
    if let (Some(t), Some(v)) = (target.as_object_mut(), values.as_object()) {
        for (k, val) in v {
            t.insert(k.clone(), val.clone());
        }
    }
}

fn parse_odoo_dt(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, ODOO_DT)
        .ok()
        .map(|n| n.and_utc())
}

#[async_trait]
impl OdooCalendar for FakeOdoo {
    async fn changed_since(
        &self,
        since: Option<DateTime<Utc>>,
        overlap: Duration,
        _window: Window,
    ) -> PortResult<Vec<Value>> {
        let (s, fault) = self.begin("changed_since");
        if let Some(f) = fault {
            return Err(f.error);
        }
        let from = since.map(|t| t - overlap);
        let mut out: Vec<Value> = s
            .records
            .values()
            .filter(|r| {
                let wd = r
                    .get("write_date")
                    .and_then(Value::as_str)
                    .and_then(parse_odoo_dt);
                match (from, wd) {
                    (Some(f), Some(w)) => w >= f,
                    _ => true,
                }
            })
            .cloned()
            .collect();
        out.sort_by_key(|r| {
            (
                r.get("write_date")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                r.get("id").and_then(Value::as_i64).unwrap_or_default(),
            )
        });
        Ok(out)
    }

    async fn existing_ids(&self, ids: &[i64]) -> PortResult<Vec<i64>> {
        let (s, fault) = self.begin("existing_ids");
        if let Some(f) = fault {
            return Err(f.error);
        }
        Ok(ids
            .iter()
            .copied()
            .filter(|i| s.records.contains_key(i))
            .collect())
    }

    async fn read(&self, ids: &[i64]) -> PortResult<Vec<Value>> {
        let (s, fault) = self.begin("read");
        if let Some(f) = fault {
            return Err(f.error);
        }
        Ok(ids
            .iter()
            .filter_map(|i| s.records.get(i))
            .cloned()
            .collect())
    }

    async fn create(&self, values: &Value) -> PortResult<i64> {
        let (mut s, fault) = self.begin("create");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        let id = self.insert(&mut s, values);
        Self::wrote(&mut s, "create");
        fault.map_or(Ok(id), |f| Err(f.error))
    }

    async fn create_many(&self, values: &[Value]) -> PortResult<Vec<i64>> {
        // One request, one transaction: a `create` fault planned for the next create hits
        // the whole batch (all created and the answer lost, or none created), as it would
        // in Odoo; each record counts as one `create` write.
        let (mut s, fault) = self.begin("create");
        s.batches += 1;
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        let mut ids = Vec::with_capacity(values.len());
        for v in values {
            ids.push(self.insert(&mut s, v));
            Self::wrote(&mut s, "create");
        }
        fault.map_or(Ok(ids), |f| Err(f.error))
    }

    async fn write(&self, id: i64, values: &Value) -> PortResult<()> {
        let (mut s, fault) = self.begin("write");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        Self::apply_write(&mut s, id, values)?;
        Self::wrote(&mut s, "write");
        fault.map_or(Ok(()), |f| Err(f.error))
    }

    async fn archive(&self, id: i64) -> PortResult<()> {
        let (mut s, fault) = self.begin("archive");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        let Some(r) = s.records.get_mut(&id) else {
            return Err(PortError::NotFound);
        };
        r["active"] = json!(false);
        let rid = rid_of(r);
        Self::touch(&mut s, id);
        if let Some(rid) = rid {
            Self::select_new_base(&mut s, rid);
        }
        Self::wrote(&mut s, "archive");
        fault.map_or(Ok(()), |f| Err(f.error))
    }

    async fn respond(&self, id: i64, response: Response) -> PortResult<()> {
        let (mut s, fault) = self.begin("respond");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        let state = match response {
            Response::Accepted => "accepted",
            Response::Tentative => "tentative",
            Response::Declined => "declined",
            Response::NeedsAction => "needsAction",
        };
        let me = self.me.clone();
        let Some(r) = s.records.get_mut(&id) else {
            return Err(PortError::NotFound);
        };
        if let Some(list) = r.get_mut("attendee_ids").and_then(Value::as_array_mut) {
            for a in list {
                if a.get("email").and_then(Value::as_str) == Some(&me) {
                    a["state"] = json!(state);
                }
            }
        }
        Self::touch(&mut s, id);
        Self::wrote(&mut s, "respond");
        fault.map_or(Ok(()), |f| Err(f.error))
    }

    async fn message_post(&self, id: i64, body_html: &str) -> PortResult<()> {
        let (mut s, fault) = self.begin("message_post");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        if !s.records.contains_key(&id) {
            return Err(PortError::NotFound);
        }
        s.notes.push((id, body_html.to_owned()));
        Self::wrote(&mut s, "message_post");
        fault.map_or(Ok(()), |f| Err(f.error))
    }

    async fn has_note(&self, id: i64, needle: &str) -> PortResult<bool> {
        let (s, fault) = self.begin("has_note");
        if let Some(f) = fault {
            return Err(f.error);
        }
        Ok(s.notes.iter().any(|(i, b)| *i == id && b.contains(needle)))
    }

    async fn find(&self, title: &str, start: DateTime<Utc>) -> PortResult<Vec<Value>> {
        let (s, fault) = self.begin("find");
        if let Some(f) = fault {
            return Err(f.error);
        }
        let date = start.date_naive().to_string();
        let start = start.format(ODOO_DT).to_string();
        let midnight = start.ends_with(" 00:00:00");
        Ok(s.records
            .values()
            .filter(|r| {
                r.get("active").and_then(Value::as_bool) != Some(false) || rid_of(r).is_some()
            })
            .filter(|r| r.get("name").and_then(Value::as_str) == Some(title))
            .filter(|r| {
                r.get("start").and_then(Value::as_str) == Some(start.as_str())
                    || (midnight
                        && r.get("allday").and_then(Value::as_bool) == Some(true)
                        && r.get("start_date").and_then(Value::as_str) == Some(date.as_str()))
            })
            .cloned()
            .collect())
    }

    async fn series(&self, recurrence_ids: &[i64]) -> PortResult<Vec<OdooSeries>> {
        let (s, fault) = self.begin("series");
        if let Some(f) = fault {
            return Err(f.error);
        }
        Ok(recurrence_ids
            .iter()
            .filter_map(|rid| {
                s.recurrences.get(rid).map(|rec| OdooSeries {
                    recurrence: rec.clone(),
                    events: Self::rows_of(&s, *rid),
                })
            })
            .collect())
    }

    async fn respond_series(&self, id: i64, response: Response) -> PortResult<()> {
        let rows: Vec<i64> = {
            let s = self.lock();
            match s.records.get(&id).and_then(rid_of) {
                Some(rid) => Self::rows_of(&s, rid)
                    .iter()
                    .filter(|r| r.get("active") != Some(&json!(false)))
                    .filter_map(|r| r.get("id").and_then(Value::as_i64))
                    .collect(),
                None => vec![id],
            }
        };
        for r in rows {
            self.respond(r, response).await?;
        }
        Ok(())
    }

    async fn archive_series(&self, base_id: i64) -> PortResult<()> {
        let (mut s, fault) = self.begin("archive");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        let Some(row) = s.records.get(&base_id).cloned() else {
            return Err(PortError::NotFound);
        };
        let ids: Vec<i64> = match rid_of(&row) {
            Some(rid) => Self::rows_of(&s, rid)
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_i64))
                .collect(),
            None => vec![base_id],
        };
        for id in ids {
            if let Some(r) = s.records.get_mut(&id) {
                r["active"] = json!(false);
            }
            Self::touch(&mut s, id);
        }
        if let Some(rid) = rid_of(&row) {
            Self::select_new_base(&mut s, rid);
        }
        Self::wrote(&mut s, "archive");
        fault.map_or(Ok(()), |f| Err(f.error))
    }
}

// Documents sync: fakes of the `files` ports.
mod files;
pub use files::{FakeDrive, FakeOdooAttachments};
