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

use crate::ports::{DeltaRound, MicrosoftCalendar, OdooCalendar, PortError, PortResult, Window};

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
        if v.get("isOnlineMeeting").and_then(Value::as_bool) == Some(true) {
            v["onlineMeeting"] = json!({
                "joinUrl": format!("https://teams.microsoft.com/l/meetup-join/fake-{}", s.next)
            });
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

    /// The user edits an event (any JSON change).
    pub fn user_edit(&self, id: &str, edit: impl FnOnce(&mut Value)) {
        let mut s = self.lock();
        Self::stamp(&mut s, id);
        if let Some(e) = s.events.get_mut(id) {
            edit(e);
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
    async fn delta(&self, _window: Window, delta_link: Option<&str>) -> PortResult<DeltaRound> {
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
        match delta_link {
            None => Ok(DeltaRound {
                events: s.events.values().cloned().map(strip).collect(),
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
                    match s.events.get(id) {
                        Some(e) => round.events.push(strip(e.clone())),
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
        s.events.get(id).cloned().ok_or(PortError::NotFound)
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

    async fn update(&self, id: &str, patch: &Value, if_match: Option<&str>) -> PortResult<Value> {
        let (mut s, fault) = self.begin("update");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        let Some(current) = s.events.get(id).cloned() else {
            return Err(PortError::NotFound);
        };
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
        if next.get("isOnlineMeeting").and_then(Value::as_bool) == Some(true)
            && next.pointer("/onlineMeeting/joinUrl").is_none()
        {
            next["onlineMeeting"] = json!({
                "joinUrl": format!("https://teams.microsoft.com/l/meetup-join/fake-{id}")
            });
        }
        let mails = ["start", "end", "attendees"]
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
        merge(&mut r, values);
        if r.get("user_id").is_none() {
            r["user_id"] = json!({ "email": self.me });
        }
        s.records.insert(id, r);
        Self::touch(s, id);
        id
    }

    /// The user creates an event in Odoo (organized by `organizer`, default the user).
    pub fn user_create(&self, event: &Event) -> i64 {
        let values = odoo365_sync_core::odoo::to_odoo(event).expect("a representable event");
        let mut s = self.lock();
        self.insert(&mut s, &values)
    }

    /// The user writes `values` (Odoo field names, resolved shapes).
    pub fn user_write(&self, id: i64, values: &Value) {
        let mut s = self.lock();
        if let Some(r) = s.records.get_mut(&id) {
            merge(r, values);
        }
        Self::touch(&mut s, id);
    }

    /// The user archives (deletes from the calendar view) an event.
    pub fn user_archive(&self, id: i64) {
        self.user_write(id, &json!({ "active": false }));
    }

    /// A hard delete (`unlink`): invisible to `write_date` polling.
    pub fn user_unlink(&self, id: i64) {
        self.lock().records.remove(&id);
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

    pub fn notes(&self) -> Vec<(i64, String)> {
        self.lock().notes.clone()
    }

    fn begin(&self, method: &'static str) -> (MutexGuard<'_, OdooState>, Option<Fault>) {
        let mut s = self.lock();
        s.calls += 1;
        let f = take_fault(&mut s.faults, method);
        (s, f)
    }

    fn wrote(s: &mut OdooState, method: &'static str) {
        *s.writes.entry(method).or_default() += 1;
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

    async fn write(&self, id: i64, values: &Value) -> PortResult<()> {
        let (mut s, fault) = self.begin("write");
        if let Some(f) = &fault {
            if !f.applied {
                return Err(f.error.clone());
            }
        }
        let Some(r) = s.records.get_mut(&id) else {
            return Err(PortError::NotFound);
        };
        merge(r, values);
        Self::touch(&mut s, id);
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
        Self::touch(&mut s, id);
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
            .filter(|r| r.get("active").and_then(Value::as_bool) != Some(false))
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
}

// Documents sync: fakes of the `files` ports.
mod files;
pub use files::{FakeDrive, FakeOdooAttachments};
