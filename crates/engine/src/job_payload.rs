//! The stored form of an item's job ([`EntryJob`]): compact, because a first sync writes
//! and reads one per event.
//!
//! An item's job carries the same event up to four times: the step's op (a create's or an
//! update's content), the `link` step (the baseline it records, usually the same content),
//! `base`, and the side's version before the write (`odoo_before`/`graph_before`, kept for
//! the restore journal). Stored as they are, a first sync wrote and parsed three or four
//! copies of every event, and wrote them all again after every step (the profile in
//! docs/BENCHMARKS.md: about half the engine's instructions were this JSON). Here:
//!
//! * the payload holds each distinct event once, in `events`, and the ops and the
//!   `base`/`*_before` fields refer to it by index; it is written when the job is queued
//!   (and again only if a step rewrites the job's steps: the Teams follow-up);
//! * a step's progress (the step counter and what it learned: ids, versions, the link) is
//!   [`EntryJob::progress`], written to the job's own progress column in the step's
//!   transaction ([`crate::state::Tx::set_job_progress`]), so every step stays as durable
//!   as before and a resumed job reads the payload with its progress over it.
//!
//! A payload without `events` is one written before this format (an existing store's
//! queued jobs): it is the derived serde form of [`EntryJob`] and still reads.

use odoo365_sync_core::canonical::Response;
use odoo365_sync_core::{Event, Field, Op, Side};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{EntryJob, Step};

/// The key that tells the compact form from the one before it.
const EVENTS: &str = "events";

/// [`Op`] with its event as an index into [`Packed::events`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum PackedOp {
    Create {
        side: Side,
        event: usize,
    },
    Update {
        side: Side,
        fields: Vec<Field>,
        event: usize,
    },
    Delete {
        side: Side,
        title: String,
    },
    Respond {
        side: Side,
        response: Response,
    },
    Link {
        event: usize,
    },
    Forget,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum PackedStep {
    Op { op: PackedOp },
    TeamsNote { url: String },
}

/// The stored job; `E` is `&Event` when writing (no copy of an event is made) and `Event`
/// when reading. The scalar keys keep [`EntryJob`]'s names, which other readers of a job's
/// payload (`item`, `link_id`, `odoo_id`, `graph_id`, `steps`) rely on.
#[derive(Debug, Serialize, Deserialize)]
struct Packed<E> {
    item: String,
    rule: String,
    origin_sync: bool,
    link_id: Option<i64>,
    odoo_id: Option<i64>,
    graph_id: Option<String>,
    ical_uid: Option<String>,
    odoo_version: Option<String>,
    graph_version: Option<String>,
    events: Vec<E>,
    base: Option<usize>,
    odoo_before: Option<usize>,
    graph_before: Option<usize>,
    odoo_full: bool,
    graph_full: bool,
    steps: Vec<PackedStep>,
    done: usize,
    series_link_id: Option<i64>,
    original_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    made: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    made_odoo: Option<i64>,
}

/// Collects the distinct events of a job while its stored form is built.
struct Pool<'a>(Vec<&'a Event>);

impl<'a> Pool<'a> {
    fn index(&mut self, e: &'a Event) -> usize {
        // A job has at most a handful of events: a linear search is the cheapest.
        match self.0.iter().position(|known| *known == e) {
            Some(i) => i,
            None => {
                self.0.push(e);
                self.0.len() - 1
            }
        }
    }
}

fn pack_op<'a>(op: &'a Op, pool: &mut Pool<'a>) -> PackedOp {
    match op {
        Op::Create { side, event } => PackedOp::Create {
            side: *side,
            event: pool.index(event),
        },
        Op::Update {
            side,
            fields,
            event,
        } => PackedOp::Update {
            side: *side,
            fields: fields.clone(),
            event: pool.index(event),
        },
        Op::Delete { side, title } => PackedOp::Delete {
            side: *side,
            title: title.clone(),
        },
        Op::Respond { side, response } => PackedOp::Respond {
            side: *side,
            response: *response,
        },
        Op::Link { event } => PackedOp::Link {
            event: pool.index(event),
        },
        Op::Forget => PackedOp::Forget,
    }
}

fn event_at(events: &[Event], i: usize) -> Result<Event, serde_json::Error> {
    events.get(i).cloned().ok_or_else(|| {
        serde::de::Error::custom(format!(
            "event {i} of a job that stores {} events",
            events.len()
        ))
    })
}

fn unpack_op(op: PackedOp, events: &[Event]) -> Result<Op, serde_json::Error> {
    Ok(match op {
        PackedOp::Create { side, event } => Op::Create {
            side,
            event: event_at(events, event)?,
        },
        PackedOp::Update {
            side,
            fields,
            event,
        } => Op::Update {
            side,
            fields,
            event: event_at(events, event)?,
        },
        PackedOp::Delete { side, title } => Op::Delete { side, title },
        PackedOp::Respond { side, response } => Op::Respond { side, response },
        PackedOp::Link { event } => Op::Link {
            event: event_at(events, event)?,
        },
        PackedOp::Forget => Op::Forget,
    })
}

impl EntryJob {
    /// The job's stored payload, each distinct event once.
    pub(super) fn to_payload(&self) -> Result<Value, serde_json::Error> {
        let mut pool = Pool(Vec::new());
        // The ops first: the journal's `*_before` are most often one of them.
        let steps = self
            .steps
            .iter()
            .map(|s| match s {
                Step::Op { op } => PackedStep::Op {
                    op: pack_op(op, &mut pool),
                },
                Step::TeamsNote { url } => PackedStep::TeamsNote { url: url.clone() },
            })
            .collect();
        let base = self.base.as_ref().map(|e| pool.index(e));
        let odoo_before = self.odoo_before.as_ref().map(|e| pool.index(e));
        let graph_before = self.graph_before.as_ref().map(|e| pool.index(e));
        serde_json::to_value(Packed {
            item: self.item.clone(),
            rule: self.rule.clone(),
            origin_sync: self.origin_sync,
            link_id: self.link_id,
            odoo_id: self.odoo_id,
            graph_id: self.graph_id.clone(),
            ical_uid: self.ical_uid.clone(),
            odoo_version: self.odoo_version.clone(),
            graph_version: self.graph_version.clone(),
            events: pool.0,
            base,
            odoo_before,
            graph_before,
            odoo_full: self.odoo_full,
            graph_full: self.graph_full,
            steps,
            done: self.done,
            series_link_id: self.series_link_id,
            original_start: self.original_start.clone(),
            made: self.made.clone(),
            made_odoo: self.made_odoo,
        })
    }

    /// Reads a stored payload (with its progress over it, as [`crate::state::Job`] has
    /// it), in the compact form or the one before it.
    pub(super) fn from_payload(v: &Value) -> Result<EntryJob, serde_json::Error> {
        if v.get(EVENTS).is_none() {
            return EntryJob::deserialize(v);
        }
        let p = Packed::<Event>::deserialize(v)?;
        let steps = p
            .steps
            .into_iter()
            .map(|s| {
                Ok(match s {
                    PackedStep::Op { op } => Step::Op {
                        op: unpack_op(op, &p.events)?,
                    },
                    PackedStep::TeamsNote { url } => Step::TeamsNote { url },
                })
            })
            .collect::<Result<_, serde_json::Error>>()?;
        let at = |i: Option<usize>| i.map(|i| event_at(&p.events, i)).transpose();
        Ok(EntryJob {
            base: at(p.base)?,
            odoo_before: at(p.odoo_before)?,
            graph_before: at(p.graph_before)?,
            item: p.item,
            rule: p.rule,
            origin_sync: p.origin_sync,
            link_id: p.link_id,
            odoo_id: p.odoo_id,
            graph_id: p.graph_id,
            ical_uid: p.ical_uid,
            odoo_version: p.odoo_version,
            graph_version: p.graph_version,
            odoo_full: p.odoo_full,
            graph_full: p.graph_full,
            steps,
            done: p.done,
            series_link_id: p.series_link_id,
            original_start: p.original_start,
            made: p.made,
            made_odoo: p.made_odoo,
            steps_rewritten: false,
        })
    }

    /// What a step changes in the job, for the job's progress column: the step counter
    /// and the ids, versions and link the steps learned. Everything else in the payload
    /// is fixed when the job is queued (a step that rewrites the steps stores the whole
    /// payload instead; see `steps_rewritten`).
    pub(super) fn progress(&self) -> Map<String, Value> {
        let mut m = Map::with_capacity(7);
        m.insert("done".into(), self.done.into());
        m.insert("link_id".into(), self.link_id.into());
        m.insert("odoo_id".into(), self.odoo_id.into());
        m.insert("graph_id".into(), self.graph_id.clone().into());
        m.insert("ical_uid".into(), self.ical_uid.clone().into());
        m.insert("odoo_version".into(), self.odoo_version.clone().into());
        m.insert("graph_version".into(), self.graph_version.clone().into());
        if let Some(made) = &self.made {
            m.insert("made".into(), made.clone().into());
        }
        if let Some(made) = self.made_odoo {
            m.insert("made_odoo".into(), made.into());
        }
        m
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::{TimeZone, Utc};

    fn event(title: &str) -> Event {
        let start = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        Event::timed(title, start, start + chrono::Duration::hours(1)).normalized()
    }

    fn job() -> EntryJob {
        let theirs = event("Review");
        let mut mine = theirs.clone();
        mine.location = "Room 4".into();
        EntryJob {
            item: "link:3".into(),
            rule: "edited in Odoo".into(),
            origin_sync: false,
            link_id: Some(3),
            odoo_id: Some(7),
            graph_id: Some("AAM".into()),
            ical_uid: Some("uid".into()),
            odoo_version: Some("2026-11-24 08:00:00".into()),
            graph_version: None,
            base: Some(theirs.clone()),
            odoo_before: Some(mine.clone()),
            graph_before: Some(theirs),
            odoo_full: true,
            graph_full: false,
            steps: vec![
                Step::Op {
                    op: Op::Update {
                        side: Side::Microsoft,
                        fields: vec![Field::Location],
                        event: mine.clone(),
                    },
                },
                Step::TeamsNote {
                    url: "https://teams.example/l/1".into(),
                },
                Step::Op {
                    op: Op::Link { event: mine },
                },
                Step::Op {
                    op: Op::Delete {
                        side: Side::Odoo,
                        title: "Review".into(),
                    },
                },
                Step::Op { op: Op::Forget },
            ],
            done: 1,
            series_link_id: None,
            original_start: Some("2026-11-24T09:00:00Z".into()),
            made: Some("AAM".into()),
            made_odoo: Some(7),
            steps_rewritten: false,
        }
    }

    #[test]
    fn a_job_stores_each_distinct_event_once_and_reads_back_equal() {
        let j = job();
        let v = j.to_payload().unwrap();
        // Five references (two ops, base and both befores) to two distinct events.
        assert_eq!(v[EVENTS].as_array().unwrap().len(), 2, "{v}");
        assert_eq!(v["steps"][0]["op"]["event"], v["steps"][2]["op"]["event"]);
        assert_eq!(v["base"], v["graph_before"]);
        assert_ne!(v["base"], v["odoo_before"]);
        // The keys other readers of a payload look at stay where they were (the drain's
        // look at a job's next step reads `steps[done].op.{op,side}`).
        assert_eq!(v["steps"][1]["step"], "teams_note");
        assert_eq!(v["steps"][0]["op"]["op"], "update");
        assert_eq!(v["steps"][0]["op"]["side"], "microsoft");
        assert_eq!(v["done"], 1);
        assert_eq!(v["item"], "link:3");
        assert_eq!(v["link_id"], 3);
        assert_eq!(EntryJob::from_payload(&v).unwrap(), j);
    }

    #[test]
    fn a_payload_written_before_the_compact_form_still_reads() {
        let j = job();
        let legacy = serde_json::to_value(&j).unwrap();
        assert!(legacy.get(EVENTS).is_none());
        assert_eq!(EntryJob::from_payload(&legacy).unwrap(), j);
    }

    #[test]
    fn the_progress_over_the_payload_is_the_job_after_its_steps() {
        let mut j = job();
        let v = j.to_payload().unwrap();
        j.done = 3;
        j.graph_version = Some("ck-2".into());
        j.link_id = Some(9);
        let mut v = v;
        v.as_object_mut().unwrap().extend(j.progress());
        assert_eq!(EntryJob::from_payload(&v).unwrap(), j);
    }

    #[test]
    fn a_reference_to_an_event_the_payload_lacks_is_an_error() {
        let mut v = job().to_payload().unwrap();
        v["base"] = 5.into();
        let e = EntryJob::from_payload(&v).unwrap_err();
        assert!(e.to_string().contains("event 5"), "{e}");
    }
}
