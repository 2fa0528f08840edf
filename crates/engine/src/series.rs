//! Recurring series: observing them on both sides as **one item each**, and the extra
//! steps their writes need. A submodule of `sync` (it extends [`Engine`]), kept apart so
//! the single-event engine stays readable.
//!
//! # One series, one item
//!
//! A series is linked like a single event (one `link` row, one baseline), between the
//! Graph **series master** and the Odoo **base event** of a `calendar.recurrence`. Its
//! canonical form is the series' first slot, its fields, and `recurrence` (the rule plus
//! the local dates of cancelled occurrences). Instances are never compared one by one:
//! Graph expands a series itself and Odoo re-creates its occurrence rows on every rule
//! edit, so comparing instances would see changes that are only regenerations.
//!
//! * **Graph**: `calendarView` delta lists occurrences and exceptions, never masters; any
//!   instance names its `seriesMasterId`, and the master is read with
//!   `cancelledOccurrences` ([`MicrosoftCalendar::series_master`]). A cancelled occurrence
//!   shows up as an `@removed` id the engine does not know: every linked series is then
//!   read again.
//! * **Odoo**: every row with a `recurrence_id` belongs to its series; the engine reads
//!   the recurrence with all its rows ([`OdooCalendar::series`]) and assembles the series
//!   record ([`odoo_series_record`]): the base event's fields, the recurrence's rule,
//!   `cancelled_occurrences` = the dates of archived rows the rule still expects. The
//!   series is gone when no row is active.
//!
//! # Writes
//!
//! * Rule or time changes are written whole (`when`, zone and rule together: Graph wants
//!   `range.startDate` equal to the start date); into Odoo with
//!   `recurrence_update = all_events`, which rebuilds the occurrence rows.
//! * Cancelled occurrences are applied after the write: Graph instances on those dates are
//!   deleted, Odoo rows on those dates archived. When only cancellations changed, the rule
//!   is not rewritten at all.
//! * Deleting a series: Graph deletes (or cancels) the master, Odoo archives every row.
//!
//! # "This and following" in Odoo
//!
//! Odoo stops the old recurrence the day before (`until`) and starts a new recurrence
//! with a new base event. The engine sees the old series' rule change (Graph series gets
//! an end date) and a new series (created in Outlook as a second series). Lost on the
//! Outlook side: the two are separate series (no link between them), attendees get an
//! update for the first and an invitation for the second, and exceptions of the old
//! series after the split are dropped with it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use odoo365_sync_core::{expand, graph, odoo, Event, Field, When};
use serde_json::{json, Value};

use super::{timed_start, Engine, EngineError, Seen, ODOO_DT};
use crate::ports::{OdooSeries, PortError, Window};
use crate::state::Link;

/// What a Graph event is, for routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GraphKind {
    Single,
    Master,
    /// An occurrence or exception of the series `master`.
    Instance {
        master: String,
    },
}

pub(super) fn graph_kind(v: &Value) -> GraphKind {
    let kind = v.get("type").and_then(Value::as_str);
    if kind == Some("seriesMaster") {
        return GraphKind::Master;
    }
    match v.get("seriesMasterId").and_then(Value::as_str) {
        Some(m) if !m.is_empty() => GraphKind::Instance {
            master: m.to_owned(),
        },
        _ if v.get("recurrence").is_some_and(Value::is_object) => GraphKind::Master,
        _ => GraphKind::Single,
    }
}

/// An Odoo many2one as an id: `7`, `[7, "name"]`, or `false`/absent (none).
pub(super) fn m2o(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::Array(a) => a.first().and_then(Value::as_i64),
        _ => None,
    }
}

/// The recurrence an Odoo row belongs to, if any.
pub(super) fn odoo_recurrence_id(v: &Value) -> Option<i64> {
    m2o(v.get("recurrence_id"))
}

const RULE_FIELDS: [&str; 18] = [
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

fn is_active(r: &Value) -> bool {
    r.get("active").and_then(Value::as_bool) != Some(false)
}

fn follows(r: &Value) -> bool {
    r.get("follow_recurrence").and_then(Value::as_bool) != Some(false)
}

/// The local date (in `zone`) an Odoo row starts on.
pub(super) fn odoo_local_date(r: &Value, zone: chrono_tz::Tz) -> Option<NaiveDate> {
    if r.get("allday").and_then(Value::as_bool) == Some(true) {
        let d = r
            .get("start_date")
            .and_then(Value::as_str)
            .or_else(|| r.get("start").and_then(Value::as_str))?;
        return NaiveDate::parse_from_str(d.get(..10)?, "%Y-%m-%d").ok();
    }
    let s = r.get("start").and_then(Value::as_str)?;
    let t = chrono::NaiveDateTime::parse_from_str(s, ODOO_DT)
        .ok()?
        .and_utc();
    Some(t.with_timezone(&zone).date_naive())
}

fn zone_of(event: &Event) -> chrono_tz::Tz {
    match event.when {
        When::AllDay { .. } => chrono_tz::UTC,
        When::Timed { .. } => event
            .time_zone
            .as_deref()
            .and_then(odoo365_sync_core::tz::parse)
            .unwrap_or(chrono_tz::UTC),
    }
}

/// The local date of a Graph instance's original start in the series' zone.
fn graph_local_date(v: &Value, zone: chrono_tz::Tz) -> Option<NaiveDate> {
    graph::original_start(v).map(|t| t.with_timezone(&zone).date_naive())
}

/// The dates the rule of `event` gives, cancellations ignored (Odoo's cap applies).
fn expected_dates(event: &Event) -> BTreeSet<NaiveDate> {
    let mut e = event.clone();
    if let Some(r) = &mut e.recurrence {
        r.exdates.clear();
    }
    let Some(first) = timed_start(&e) else {
        return BTreeSet::new();
    };
    let zone = zone_of(&e);
    let far = first + Duration::days(366 * 200);
    expand::occurrences(&e, first - Duration::days(1), far)
        .map(|list| {
            list.iter()
                .map(|o| match o.when {
                    When::AllDay { start, .. } => start,
                    When::Timed { start, .. } => start.with_timezone(&zone).date_naive(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Assembles one Odoo series as the record `sync_core::odoo::from_odoo` reads: the base
/// event's row, the recurrence's rule fields, `recurrency: true`, `active` when any row is
/// active, `cancelled_occurrences` = the local dates of archived rows that the rule still
/// expects and no active row covers. `None` when the recurrence has no rows.
///
/// The series' slot is the base event's. Lost: when the base event itself was moved in
/// Odoo (`self_only`, so an exception), Odoo does not keep its original slot and the
/// moved slot is read as the series start.
pub fn odoo_series_record(s: &OdooSeries) -> Option<(i64, Value)> {
    let base_id = m2o(s.recurrence.get("base_event_id"));
    let base = base_id
        .and_then(|b| {
            s.events
                .iter()
                .find(|r| r.get("id").and_then(Value::as_i64) == Some(b))
        })
        .or_else(|| {
            s.events
                .iter()
                .filter(|r| follows(r))
                .min_by_key(|r| r.get("start").and_then(Value::as_str).map(str::to_owned))
        })?;
    let id = base.get("id").and_then(Value::as_i64)?;
    let mut rec = base.clone();
    for k in RULE_FIELDS {
        if let Some(v) = s.recurrence.get(k) {
            rec[k] = v.clone();
        }
    }
    rec["recurrency"] = json!(true);
    rec["active"] = json!(s.events.iter().any(is_active));
    rec["id"] = json!(id);
    rec["cancelled_occurrences"] = json!([]);
    if let Some(o) = rec.as_object_mut() {
        o.remove("recurrence_id");
        o.remove("follow_recurrence");
    }
    // Which dates are cancelled needs the rule: read the series once without them.
    let Ok(event) = odoo::from_odoo(&rec) else {
        // Unreadable: the mapping error surfaces when the engine reads the record.
        return Some((id, rec));
    };
    let zone = zone_of(&event);
    let expected = expected_dates(&event);
    let active: BTreeSet<NaiveDate> = s
        .events
        .iter()
        .filter(|r| is_active(r))
        .filter_map(|r| odoo_local_date(r, zone))
        .collect();
    let cancelled: BTreeSet<String> = s
        .events
        .iter()
        .filter(|r| !is_active(r) && follows(r))
        .filter_map(|r| odoo_local_date(r, zone))
        .filter(|d| expected.contains(d) && !active.contains(d))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    rec["cancelled_occurrences"] = json!(cancelled);
    Some((id, rec))
}

/// Which fields a write of `event` over `before` carries for a series, and whether the
/// cancelled occurrences must be applied after it. Rule, slot and zone go together; when
/// only the cancellations differ the rule is not rewritten (Odoo would rebuild every row,
/// Graph would drop the exceptions).
pub(super) fn series_fields(
    before: Option<&Event>,
    event: &Event,
    fields: &[Field],
) -> (Vec<Field>, bool) {
    const RULE: [Field; 3] = [Field::When, Field::TimeZone, Field::Recurrence];
    let recurring = event.recurrence.is_some() || before.is_some_and(|b| b.recurrence.is_some());
    if !recurring || !fields.iter().any(|f| RULE.contains(f)) {
        return (fields.to_vec(), false);
    }
    let rule_same = before.is_some_and(|b| {
        b.when == event.when
            && b.time_zone == event.time_zone
            && b.recurrence.as_ref().map(|r| &r.rule) == event.recurrence.as_ref().map(|r| &r.rule)
    });
    let mut out: Vec<Field> = fields
        .iter()
        .copied()
        .filter(|f| !RULE.contains(f))
        .collect();
    if !rule_same {
        out.extend(RULE);
    }
    (out, event.recurrence.is_some())
}

impl Engine {
    /// Turns the series parts of an observation into one record per series (see the
    /// module docs). `masters`: Graph series masters mentioned; `recurrences`: Odoo
    /// recurrences mentioned; `unknown_removed`: delta removed ids the engine does not
    /// know (maybe cancelled occurrences).
    pub(super) async fn observe_series(
        &mut self,
        seen: &mut Seen,
        links: &[Link],
        mut masters: BTreeSet<String>,
        mut recurrences: BTreeSet<i64>,
        unknown_removed: bool,
    ) -> Result<(), EngineError> {
        let ms_err = |error: PortError| EngineError::Observe {
            side: odoo365_sync_core::Side::Microsoft,
            error,
        };
        let odoo_err = |error: PortError| EngineError::Observe {
            side: odoo365_sync_core::Side::Odoo,
            error,
        };
        let sign_in = |side, error: PortError| match error {
            PortError::SignInNeeded { .. } => EngineError::SignInNeeded { side, error },
            e => match side {
                odoo365_sync_core::Side::Microsoft => ms_err(e),
                odoo365_sync_core::Side::Odoo => odoo_err(e),
            },
        };
        // Masters read by a plain GET (a full round's look-ups) lack cancellations.
        let plain: Vec<String> = seen
            .graph
            .iter()
            .filter(|(_, v)| graph_kind(v) == GraphKind::Master)
            .map(|(k, _)| k.clone())
            .collect();
        for id in plain {
            seen.graph.remove(&id);
            masters.insert(id);
        }
        // Linked series whose base rows were seen by id (re-reads, archives): route them
        // to their recurrence. Linked series are known by their baselines.
        let series_links: BTreeMap<i64, (Option<i64>, Option<String>)> = {
            let ids: Vec<(i64, Option<i64>, Option<String>)> = links
                .iter()
                .map(|l| (l.id, l.odoo_id, l.graph_id.clone()))
                .collect();
            self.store.tx(|t| {
                let mut out = BTreeMap::new();
                for (id, o, g) in &ids {
                    if let Some(b) = t.baseline(*id)? {
                        if b.canonical.get("recurrence").is_some_and(Value::is_object) {
                            out.insert(*id, (*o, g.clone()));
                        }
                    }
                }
                Ok(out)
            })?
        };
        if unknown_removed {
            masters.extend(series_links.values().filter_map(|(_, g)| g.clone()));
        }
        let mut base_lookup = Vec::new();
        for (o, _) in series_links.values() {
            let Some(o) = o else { continue };
            if seen.odoo_gone.contains(o) || seen.odoo.contains_key(o) {
                base_lookup.push(*o);
            }
        }
        if !base_lookup.is_empty() {
            let rows = self
                .odoo
                .read(&base_lookup)
                .await
                .map_err(|e| sign_in(odoo365_sync_core::Side::Odoo, e))?;
            for r in rows {
                let Some(id) = r.get("id").and_then(Value::as_i64) else {
                    continue;
                };
                if let Some(rid) = odoo_recurrence_id(&r) {
                    seen.odoo.remove(&id);
                    seen.odoo_gone.remove(&id);
                    recurrences.insert(rid);
                }
            }
        }

        for id in masters {
            if seen.graph_gone.contains(&id) && !unknown_removed {
                continue;
            }
            match self.microsoft.series_master(&id).await {
                Ok(v) if graph::is_cancelled(&v) => {
                    seen.graph.remove(&id);
                    seen.graph_gone.insert(id);
                }
                Ok(v) => {
                    seen.graph_gone.remove(&id);
                    seen.graph.insert(id, v);
                }
                Err(PortError::NotFound) => {
                    seen.graph.remove(&id);
                    seen.graph_gone.insert(id);
                }
                Err(e) => return Err(sign_in(odoo365_sync_core::Side::Microsoft, e)),
            }
        }

        if !recurrences.is_empty() {
            let ids: Vec<i64> = recurrences.into_iter().collect();
            let all = self
                .odoo
                .series(&ids)
                .await
                .map_err(|e| sign_in(odoo365_sync_core::Side::Odoo, e))?;
            for s in all {
                let Some((base, record)) = odoo_series_record(&s) else {
                    continue;
                };
                if record.get("active").and_then(Value::as_bool) == Some(true) {
                    seen.odoo_gone.remove(&base);
                    seen.odoo.insert(base, record);
                } else {
                    seen.odoo.remove(&base);
                    seen.odoo_gone.insert(base);
                }
            }
        }
        Ok(())
    }

    /// After a series was written to Graph: deletes the instances on its cancelled
    /// dates. Returns the master's new `changeKey` when something was deleted.
    pub(super) async fn graph_apply_exdates(
        &self,
        master: &str,
        event: &Event,
    ) -> Result<Option<String>, PortError> {
        let Some(rec) = &event.recurrence else {
            return Ok(None);
        };
        if rec.exdates.is_empty() {
            return Ok(None);
        }
        let Some(first) = timed_start(event) else {
            return Ok(None);
        };
        let window = Window {
            start: first - Duration::days(1),
            end: self.window().end + Duration::days(1),
        };
        let zone = zone_of(event);
        let mut deleted = false;
        for inst in self.microsoft.instances(master, window).await? {
            let Some(date) = graph_local_date(&inst, zone) else {
                continue;
            };
            if !rec.exdates.contains(&date) {
                continue;
            }
            let Some(id) = inst.get("id").and_then(Value::as_str) else {
                continue;
            };
            match self.microsoft.delete(id, None).await {
                Ok(()) | Err(PortError::NotFound) => deleted = true,
                Err(e) => return Err(e),
            }
        }
        if !deleted {
            return Ok(None);
        }
        Ok(graph::version(&self.microsoft.series_master(master).await?))
    }

    /// After a series was written to Odoo: archives the rows on its cancelled dates.
    /// Returns whether any row was archived.
    pub(super) async fn odoo_apply_exdates(
        &self,
        base: i64,
        event: &Event,
    ) -> Result<bool, PortError> {
        let Some(rec) = &event.recurrence else {
            return Ok(false);
        };
        if rec.exdates.is_empty() {
            return Ok(false);
        }
        let Some(rid) = self
            .odoo
            .read(&[base])
            .await?
            .first()
            .and_then(odoo_recurrence_id)
        else {
            return Ok(false);
        };
        let zone = zone_of(event);
        let mut archived = false;
        for s in self.odoo.series(&[rid]).await? {
            for r in &s.events {
                if !is_active(r) || !follows(r) {
                    continue;
                }
                let (Some(id), Some(date)) = (
                    r.get("id").and_then(Value::as_i64),
                    odoo_local_date(r, zone),
                ) else {
                    continue;
                };
                if rec.exdates.contains(&date) {
                    match self.odoo.archive(id).await {
                        Ok(()) | Err(PortError::NotFound) => archived = true,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(archived)
    }
}

/// Extra weight of series deletions for the mass-change guard: a series delete counts
/// as its occurrences in the window (the plan counts it once).
pub(super) fn extra_delete_weight(events: &[&Event], window: Window) -> usize {
    events
        .iter()
        .filter(|e| e.recurrence.is_some())
        .map(|e| {
            expand::occurrences(e, window.start, window.end)
                .map(|o| o.len().saturating_sub(1))
                .unwrap_or(0)
        })
        .sum()
}
