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
//!   series is gone when no row is active. Odoo re-bases a series whose base event is
//!   archived or deleted: the link follows the new base (same recurrence id), and the
//!   series still starts on its first known date ([`odoo_series_record_known`]).
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

use chrono::{DateTime, Duration, NaiveDate, Utc};
use odoo365_sync_core::{
    expand, graph, odoo, Access, Baseline, Event, Field, Item, Observed, When,
};
use serde_json::{json, Value};

use super::{timed_start, Engine, EngineError, Seen, ODOO_DT};
use crate::ports::{OdooSeries, PortError, Window};
use crate::state::Link;

/// The series links whose instances were searched for exceptions once (exceptions made
/// before a series was linked are not in any later delta round).
pub(super) const CUR_SCANNED: &str = "calendar.series_scanned";

/// The rows of each linked Odoo series as last read (see [`SeriesRows`]), by the link's
/// Odoo id (the series' base event).
pub(super) const CUR_ROWS: &str = "calendar.series_rows";

/// One linked Odoo series as the engine last read it. An occurrence deleted outright
/// (`unlink`) leaves no archived row and changes nothing else in the series (no
/// `write_date` moves; /work/shared/specs/odoo.md "Deletions leave no trace"), so neither
/// the cursor nor the archived rows show it. The engine remembers the row ids: the id-set
/// check asks for them too, a vanished id re-reads its series, and the vanished row's date
/// is kept in `deleted`: a cancelled occurrence from then on, as long as the rule expects
/// it and no active row covers it (kept, or the next read would see it come back).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct SeriesRows {
    /// The `calendar.recurrence` id.
    rec: i64,
    /// Row id → the local date (`YYYY-MM-DD`, series zone) it starts on.
    rows: BTreeMap<i64, String>,
    /// Dates whose row was deleted outright: cancelled occurrences.
    #[serde(default)]
    deleted: BTreeSet<String>,
}

impl SeriesRows {
    /// Every date the series had a row on when last read, deleted ones included.
    fn dates(&self) -> BTreeSet<NaiveDate> {
        self.rows
            .values()
            .chain(self.deleted.iter())
            .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .collect()
    }
}

/// [`SeriesRows`] by base event id.
pub(super) type RowMemory = BTreeMap<i64, SeriesRows>;

/// Every remembered row id (for the id-set check).
pub(super) fn remembered_ids(memory: &RowMemory) -> impl Iterator<Item = i64> + '_ {
    memory.values().flat_map(|m| m.rows.keys().copied())
}

/// The recurrences of which a remembered row no longer exists.
pub(super) fn vanished_recurrences(memory: &RowMemory, existing: &BTreeSet<i64>) -> Vec<i64> {
    memory
        .values()
        .filter(|m| m.rows.keys().any(|r| !existing.contains(r)))
        .map(|m| m.rec)
        .collect()
}

/// Remembers the rows of series `s` (record `record`, base `base`) and adds the dates of
/// rows deleted since the last read to its `cancelled_occurrences`.
fn remember(memory: &mut RowMemory, base: i64, s: &OdooSeries, record: &mut Value) {
    let Some(rec) = s.recurrence.get("id").and_then(Value::as_i64) else {
        return;
    };
    let Ok(event) = odoo::from_odoo(record) else {
        memory.remove(&base);
        return;
    };
    let zone = zone_of(&event);
    let expected = expected_dates(&event);
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let rows: BTreeMap<i64, String> = s
        .events
        .iter()
        .filter_map(|r| Some((r.get("id")?.as_i64()?, day(odoo_local_date(r, zone)?))))
        .collect();
    let active: BTreeSet<String> = s
        .events
        .iter()
        .filter(|r| is_active(r))
        .filter_map(|r| odoo_local_date(r, zone).map(day))
        .collect();
    // A new recurrence (Odoo rebuilt the series) starts a fresh memory.
    let old = memory.remove(&base).filter(|m| m.rec == rec);
    let deleted: BTreeSet<String> = old
        .map(|m| {
            let vanished = m
                .rows
                .into_iter()
                .filter(|(id, _)| !rows.contains_key(id))
                .map(|(_, d)| d);
            m.deleted.into_iter().chain(vanished).collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|d| !active.contains(d))
        .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok_and(|d| expected.contains(&d)))
        .collect();
    if !deleted.is_empty() {
        let mut cancelled: BTreeSet<String> = record
            .get("cancelled_occurrences")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        cancelled.extend(deleted.iter().cloned());
        record["cancelled_occurrences"] = json!(cancelled);
    }
    memory.insert(base, SeriesRows { rec, rows, deleted });
}

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
    odoo_series_record_known(s, &BTreeSet::new())
}

/// [`odoo_series_record`], knowing `earlier`: local dates the series had rows on when the
/// engine last read it (rows deleted since included).
///
/// Odoo re-bases a series whose base event is archived or deleted: `calendar.event`'s
/// `write(active=False)` and `unlink` call `calendar.recurrence._select_new_base_event`,
/// which names the first remaining active occurrence (`_get_first_event`) and leaves the
/// rule and its `count` alone (odoo/odoo `addons/calendar/models/calendar_event.py`,
/// `calendar_recurrence.py`). Read from the new base, the series would start later and
/// its `count` would run one occurrence past its last row. It still starts where it did:
/// when the base follows the rule and is an occurrence of the series starting at the
/// earliest row known (archived rows, `earlier`), the slot moves back there, at the base's
/// local time, and the dates before the base read as cancelled.
pub(super) fn odoo_series_record_known(
    s: &OdooSeries,
    earlier: &BTreeSet<NaiveDate>,
) -> Option<(i64, Value)> {
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
    let Ok(mut event) = odoo::from_odoo(&rec) else {
        // Unreadable: the mapping error surfaces when the engine reads the record.
        return Some((id, rec));
    };
    let zone = zone_of(&event);
    if follows(base) {
        if let Some((moved, e)) = first_slot(&rec, base, &s.events, earlier, zone) {
            rec = moved;
            event = e;
        }
    }
    let expected = expected_dates(&event);
    let active: BTreeSet<NaiveDate> = s
        .events
        .iter()
        .filter(|r| is_active(r))
        .filter_map(|r| odoo_local_date(r, zone))
        .collect();
    let mut cancelled: BTreeSet<String> = s
        .events
        .iter()
        // An archived exception counts too (on its own date: Odoo keeps no original one).
        .filter(|r| !is_active(r))
        .filter_map(|r| odoo_local_date(r, zone))
        .filter(|d| expected.contains(d) && !active.contains(d))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    // With every row on the rule, a date of the rule without any row (active or archived)
    // is not an occurrence Odoo shows: its row was deleted outright (`unlink`), or it lies
    // past the end of a re-based series whose `count` Odoo kept (see above). The engine
    // expands rules as Odoo does (`sync_core::expand`). A moved row (an exception) leaves
    // its own slot without a row, and which slot is not known: then only the deletions
    // the engine remembers count ([`SeriesRows`]).
    if s.events.iter().all(follows) {
        let rows: BTreeSet<NaiveDate> = s
            .events
            .iter()
            .filter_map(|r| odoo_local_date(r, zone))
            .collect();
        cancelled.extend(
            expected
                .difference(&rows)
                .map(|d| d.format("%Y-%m-%d").to_string()),
        );
    }
    rec["cancelled_occurrences"] = json!(cancelled);
    Some((id, rec))
}

/// The series record `rec` (read from `base`) moved back to the earliest date its rows
/// (`rows`, archived ones included) or `earlier` know of, at the base's local time; with
/// its event. `None` when the base is the first, or is not an occurrence of the series
/// starting there (see [`odoo_series_record_known`]).
fn first_slot(
    rec: &Value,
    base: &Value,
    rows: &[Value],
    earlier: &BTreeSet<NaiveDate>,
    zone: chrono_tz::Tz,
) -> Option<(Value, Event)> {
    let base_date = odoo_local_date(base, zone)?;
    let first = rows
        .iter()
        .filter_map(|r| odoo_local_date(r, zone))
        .chain(earlier.iter().copied())
        .min()
        .filter(|d| *d < base_date)?;
    let days = Duration::days((first - base_date).num_days());
    let mut moved = rec.clone();
    let shift = |moved: &mut Value, k: &str, by: Duration| {
        let v = moved.get(k).and_then(Value::as_str)?;
        let out = if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v, ODOO_DT) {
            (t + by).format(ODOO_DT).to_string()
        } else {
            let d = NaiveDate::parse_from_str(v.get(..10)?, "%Y-%m-%d").ok()?;
            (d + by).format("%Y-%m-%d").to_string()
        };
        moved[k] = json!(out);
        Some(())
    };
    if rec.get("allday").and_then(Value::as_bool) == Some(true) {
        for k in ["start", "stop", "start_date", "stop_date"] {
            shift(&mut moved, k, days);
        }
    } else {
        // The same local time on the first date: the shift may differ from whole days by
        // a DST change, and the end moves by as much (the duration is kept).
        let start = chrono::NaiveDateTime::parse_from_str(
            rec.get("start").and_then(Value::as_str)?,
            ODOO_DT,
        )
        .ok()?
        .and_utc();
        let local = start.with_timezone(&zone).naive_local() + days;
        let new_start = local
            .and_local_timezone(zone)
            .earliest()?
            .with_timezone(&Utc);
        let by = new_start - start;
        shift(&mut moved, "start", by)?;
        shift(&mut moved, "stop", by)?;
    }
    let event = odoo::from_odoo(&moved).ok()?;
    expected_dates(&event)
        .contains(&base_date)
        .then_some((moved, event))
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
    // An occurrence cannot be brought back one by one (Graph has no undelete): a
    // cancellation undone is a rewrite of the series.
    let rule_same = before.is_some_and(|b| {
        b.when == event.when
            && b.time_zone == event.time_zone
            && b.recurrence.as_ref().map(|r| &r.rule) == event.recurrence.as_ref().map(|r| &r.rule)
            && match (&b.recurrence, &event.recurrence) {
                (Some(b), Some(e)) => b.exdates.is_subset(&e.exdates),
                _ => true,
            }
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

/// `event` as an Odoo series can hold it: a series whose start is not an occurrence of its
/// own rule (a weekly Mon/Thu series starting on a Friday, which Outlook accepts and
/// expands from the first matching day) starts on the rule's first occurrence instead,
/// same local time and length; anything else is returned as it is.
///
/// Odoo cannot keep such a start: `calendar.event.create` with `recurrency` runs
/// `_apply_recurrence`, which detaches every row whose (start, stop) is not a range of the
/// rule (`recurrence_id` and `recurrency` cleared; dateutil yields no DTSTART that misses
/// BYDAY), the new base included, archives them (`detached_events.active = False`), and
/// that archive re-bases the recurrence on its first remaining event
/// (`_select_new_base_event`; odoo/odoo addons/calendar/models/calendar_event.py `create`,
/// `write`, calendar_recurrence.py). The id `create` returns would then be an archived
/// single event outside the series: linked to it, the engine would see its own series as
/// a deleted one and a new one. The occurrences are the same either way (the rule's,
/// `sync_core::expand` expands it as Odoo does, a COUNT not counting a start off the
/// rule), so moving the start loses nothing.
pub(super) fn on_rule(event: &Event) -> std::borrow::Cow<'_, Event> {
    use std::borrow::Cow;
    if event.recurrence.is_none() {
        return Cow::Borrowed(event);
    }
    let from = match event.when {
        When::Timed { start, .. } => start,
        When::AllDay { start, .. } => expand::day_start(start),
    };
    // The first occurrence of the rule, cancelled or not (exdates skip dates).
    let mut bare = event.clone();
    if let Some(r) = bare.recurrence.as_mut() {
        r.exdates.clear();
    }
    let first = expand::occurrences(&bare, from, from + Duration::days(366 * 100))
        .ok()
        .and_then(|list| list.first().map(|o| o.when));
    match first {
        Some(when) if when != event.when => {
            let mut moved = event.clone();
            moved.when = when;
            Cow::Owned(moved)
        }
        // On the rule, or a rule without any occurrence (Odoo keeps no row either way).
        _ => Cow::Borrowed(event),
    }
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
        graph_exceptions: BTreeMap<String, Value>,
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
        // Instances read by id (re-checks) are routed like the delta's: never single events.
        let mut graph_exceptions = graph_exceptions;
        let instances: Vec<String> = seen
            .graph
            .iter()
            .filter(|(_, v)| matches!(graph_kind(v), GraphKind::Instance { .. }))
            .map(|(k, _)| k.clone())
            .collect();
        for id in instances {
            if let Some(v) = seen.graph.remove(&id) {
                if let GraphKind::Instance { master } = graph_kind(&v) {
                    masters.insert(master);
                }
                if v.get("type").and_then(Value::as_str) == Some("exception") {
                    graph_exceptions.insert(id, v);
                }
            }
        }
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
        let mut series_links: BTreeMap<i64, (Option<i64>, Option<String>)> = {
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
            // At the id-set check a linked series whose rows are not remembered yet is read
            // once, so a later deleted occurrence can be noticed (see [`SeriesRows`]).
            let unremembered = seen.id_checked && !seen.series_rows.contains_key(o);
            if seen.odoo_gone.contains(o) || seen.odoo.contains_key(o) || unremembered {
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

        let mut rows_of_base: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
        let linked: BTreeSet<i64> = series_links.values().filter_map(|(o, _)| *o).collect();
        // Series not linked (any more) are forgotten.
        seen.series_rows.retain(|base, _| linked.contains(base));
        if !recurrences.is_empty() {
            let ids: Vec<i64> = recurrences.into_iter().collect();
            let all = self
                .odoo
                .series(&ids)
                .await
                .map_err(|e| sign_in(odoo365_sync_core::Side::Odoo, e))?;
            // Every Odoo id linked (a series link cannot take one another link holds).
            let taken: BTreeSet<i64> = links.iter().filter_map(|l| l.odoo_id).collect();
            for s in all {
                // The linked series this recurrence was last read as, by its base then.
                let known: Option<(i64, BTreeSet<NaiveDate>)> = s
                    .recurrence
                    .get("id")
                    .and_then(Value::as_i64)
                    .and_then(|rec| {
                        seen.series_rows
                            .iter()
                            .find(|(b, m)| m.rec == rec && linked.contains(b))
                            .map(|(b, m)| (*b, m.dates()))
                    });
                let earlier = known.as_ref().map(|(_, d)| d.clone()).unwrap_or_default();
                let Some((mut base, mut record)) = odoo_series_record_known(&s, &earlier) else {
                    continue;
                };
                if let Some((old, _)) = known.filter(|(old, _)| *old != base) {
                    let active = record.get("active").and_then(Value::as_bool) == Some(true);
                    let sid = series_links
                        .iter()
                        .find(|(_, (o, _))| *o == Some(old))
                        .map(|(sid, _)| *sid);
                    match sid {
                        // Odoo re-based the series (its base archived or deleted): the
                        // link follows the new base, so the series is kept and only the
                        // old base's occurrence is cancelled (found by the simulation,
                        // seeds 20 and 36).
                        Some(sid) if active && !taken.contains(&base) => {
                            if let Some(entry) = series_links.get_mut(&sid) {
                                entry.0 = Some(base);
                            }
                            seen.rebased.push((sid, old, base));
                            if let Some(m) = seen.series_rows.remove(&old) {
                                seen.series_rows.insert(base, m);
                            }
                            seen.odoo.remove(&old);
                            seen.odoo_gone.remove(&old);
                        }
                        // A series gone (no active row) is gone under its linked base.
                        Some(_) if !active => {
                            base = old;
                            record["id"] = json!(old);
                        }
                        _ => {}
                    }
                }
                // Unlinked ones too: a series read in the cycle that links it is not read
                // again until it changes (forgotten next cycle if it did not get linked).
                remember(&mut seen.series_rows, base, &s, &mut record);
                rows_of_base.insert(base, s.events.clone());
                if record.get("active").and_then(Value::as_bool) == Some(true) {
                    seen.odoo_gone.remove(&base);
                    seen.odoo.insert(base, record);
                } else {
                    seen.odoo.remove(&base);
                    seen.odoo_gone.insert(base);
                }
            }
        }
        self.observe_exceptions(seen, links, &series_links, graph_exceptions, rows_of_base)
            .await
            .map_err(|e| match e {
                PortError::SignInNeeded { .. } => EngineError::SignInNeeded {
                    side: odoo365_sync_core::Side::Microsoft,
                    error: e,
                },
                e => ms_err(e),
            })
    }

    /// Modified occurrences: linked ones are put in the observation like single events;
    /// unlinked ones are paired across sides by series + original start (Odoo keeps no
    /// original start: it is the rule's slot no row follows any more). When a series'
    /// rule or slot changed on either side, both sides rebuild it without its exceptions,
    /// so the exceptions' links are let go.
    async fn observe_exceptions(
        &self,
        seen: &mut Seen,
        links: &[Link],
        series_links: &BTreeMap<i64, (Option<i64>, Option<String>)>,
        graph_exceptions: BTreeMap<String, Value>,
        mut rows_of_base: BTreeMap<i64, Vec<Value>>,
    ) -> Result<(), PortError> {
        if series_links.is_empty() {
            return Ok(());
        }
        // Series never searched for exceptions: read their instances and rows once.
        let mut graph_exceptions = graph_exceptions;
        let scanned: BTreeSet<i64> = {
            let profile = self.cfg.profile_id.clone();
            let mut store = self.store.lock();
            store
                .tx(|t| t.cursor(&profile, CUR_SCANNED))
                .ok()
                .flatten()
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default()
        };
        for (sid, (o, g)) in series_links {
            if scanned.contains(sid) {
                continue;
            }
            if let Some(g) = g {
                let found = match self.microsoft.instances(g, self.window()).await {
                    Err(PortError::NotFound) => Vec::new(),
                    r => r?,
                };
                for i in found {
                    if i.get("type").and_then(Value::as_str) == Some("exception") {
                        if let Some(id) = i.get("id").and_then(Value::as_str) {
                            graph_exceptions.entry(id.to_owned()).or_insert(i);
                        }
                    }
                }
            }
            if let Some(o) = o {
                if !rows_of_base.contains_key(o) {
                    if let Some(rid) = self
                        .odoo
                        .read(&[*o])
                        .await?
                        .first()
                        .and_then(odoo_recurrence_id)
                    {
                        let rows: Vec<Value> = self
                            .odoo
                            .series(&[rid])
                            .await?
                            .into_iter()
                            .flat_map(|s| s.events)
                            .collect();
                        rows_of_base.insert(*o, rows);
                    }
                }
            }
        }
        let mut rescan: BTreeSet<i64> = BTreeSet::new();
        let by_graph: BTreeMap<&str, &Link> = links
            .iter()
            .filter_map(|l| l.graph_id.as_deref().map(|g| (g, l)))
            .collect();
        let by_odoo: BTreeMap<i64, &Link> = links
            .iter()
            .filter_map(|l| l.odoo_id.map(|o| (o, l)))
            .collect();
        let baselines: BTreeMap<i64, Event> = {
            let ids: Vec<i64> = series_links.keys().copied().collect();
            let mut store = self.store.lock();
            store
                .tx(|t| {
                    let mut out = BTreeMap::new();
                    for id in &ids {
                        if let Some(b) = t.baseline(*id)? {
                            if let Ok(e) = serde_json::from_value::<Event>(b.canonical) {
                                out.insert(*id, e);
                            }
                        }
                    }
                    Ok(out)
                })
                .unwrap_or_default()
        };
        // Series rebuilt on either side: their exceptions' links go. (A rewrite the engine
        // makes itself, e.g. to undo a cancellation, lets them go when it is written: see
        // [`Engine::after_series_write`].)
        let mut rebuilt = BTreeSet::new();
        for (sid, (o, g)) in series_links {
            let Some(base) = baselines.get(sid) else {
                continue;
            };
            let same = |e: &Event| {
                e.when == base.when
                    && e.time_zone == base.time_zone
                    && e.recurrence.as_ref().map(|r| &r.rule)
                        == base.recurrence.as_ref().map(|r| &r.rule)
            };
            let g_changed = g
                .as_ref()
                .and_then(|g| seen.graph.get(g))
                .and_then(|v| self.graph_event(v).ok())
                .is_some_and(|e| !same(&e));
            let o_changed = o
                .and_then(|o| seen.odoo.get(&o))
                .and_then(|v| odoo::from_odoo(v).ok())
                .is_some_and(|e| !same(&e));
            if g_changed || o_changed {
                rebuilt.insert(*sid);
                // Exceptions made after the rebuild (the same user, before this cycle) are
                // in no later delta round: the series is searched again next cycle
                // (simulation seed 152; when the engine writes the new rule, the write
                // asks for that too).
                rescan.insert(*sid);
            }
        }
        // A series going away takes its exceptions' links with it (the store cascades):
        // they are not planned on their own meanwhile.
        let leaving: BTreeSet<i64> = series_links
            .iter()
            .filter(|(_, (o, g))| {
                o.is_some_and(|o| seen.odoo_gone.contains(&o))
                    || g.as_ref().is_some_and(|g| seen.graph_gone.contains(g))
            })
            .map(|(id, _)| *id)
            .collect();
        for l in links {
            if l.series_link_id.is_some_and(|s| leaving.contains(&s)) {
                if let Some(o) = l.odoo_id {
                    seen.odoo.remove(&o);
                    seen.odoo_gone.remove(&o);
                }
                if let Some(g) = &l.graph_id {
                    seen.graph.remove(g);
                    seen.graph_gone.remove(g);
                }
                continue;
            }
            if l.series_link_id.is_some_and(|s| rebuilt.contains(&s)) {
                if let Some(o) = l.odoo_id {
                    seen.odoo.remove(&o);
                    seen.odoo_gone.insert(o);
                }
                if let Some(g) = &l.graph_id {
                    seen.graph.remove(g);
                    seen.graph_gone.insert(g.clone());
                }
            }
        }

        // Candidates per series link: (graph exceptions, odoo exception rows).
        let series_by_graph: BTreeMap<&str, i64> = series_links
            .iter()
            .filter_map(|(id, (_, g))| g.as_deref().map(|g| (g, *id)))
            .collect();
        let series_by_odoo: BTreeMap<i64, i64> = series_links
            .iter()
            .filter_map(|(id, (o, _))| o.map(|o| (o, *id)))
            .collect();
        let mut graph_cands: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
        for (id, v) in graph_exceptions {
            if by_graph.contains_key(id.as_str()) {
                seen.graph_gone.remove(&id);
                seen.graph.insert(id, v);
                continue;
            }
            let master = v
                .get("seriesMasterId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(sid) = series_by_graph.get(master) {
                if !rebuilt.contains(sid) {
                    graph_cands.entry(*sid).or_default().push(v);
                }
            }
        }
        let mut odoo_cands: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
        // Linked exception rows archived while still in their recurrence: cancellations.
        let mut cancelled_in_series: BTreeSet<i64> = BTreeSet::new();
        for (base, rows) in &rows_of_base {
            let Some(sid) = series_by_odoo.get(base) else {
                continue;
            };
            for r in rows {
                let Some(id) = r.get("id").and_then(Value::as_i64) else {
                    continue;
                };
                if id == *base {
                    continue;
                }
                if by_odoo.get(&id).is_some_and(|l| l.series_link_id.is_some()) {
                    if rebuilt.contains(sid) {
                        continue;
                    }
                    if is_active(r) {
                        seen.odoo_gone.remove(&id);
                        seen.odoo.insert(id, as_single(r));
                    } else {
                        seen.odoo.remove(&id);
                        seen.odoo_gone.insert(id);
                        cancelled_in_series.insert(id);
                    }
                } else if is_active(r) && !follows(r) && !rebuilt.contains(sid) {
                    odoo_cands.entry(*sid).or_default().push(r.clone());
                }
            }
        }

        // An exception whose Odoo row left its recurrence (Odoo rebuilt the series: it
        // archives and detaches every row) was not cancelled by anyone, and one whose
        // pairing never finished has nothing to delete: both let their link go (the
        // occurrence is paired afresh if it is still modified somewhere).
        let unfinished: BTreeSet<i64> = {
            let ids: Vec<i64> = links
                .iter()
                .filter(|l| l.series_link_id.is_some())
                .map(|l| l.id)
                .collect();
            let mut store = self.store.lock();
            store
                .tx(|t| {
                    let mut out = BTreeSet::new();
                    for id in &ids {
                        if t.baseline(*id)?.is_none() {
                            out.insert(*id);
                        }
                    }
                    Ok(out)
                })
                .unwrap_or_default()
        };
        // Graph exceptions whose link goes in this cycle, free to be paired again.
        let mut released: BTreeSet<String> = BTreeSet::new();
        let mut released_odoo: BTreeSet<i64> = BTreeSet::new();
        for l in links {
            let Some(sid) = l.series_link_id else {
                continue;
            };
            if leaving.contains(&sid) || rebuilt.contains(&sid) {
                continue;
            }
            let odoo_gone = l.odoo_id.is_some_and(|o| seen.odoo_gone.contains(&o));
            let graph_gone = l
                .graph_id
                .as_ref()
                .is_some_and(|g| seen.graph_gone.contains(g));
            let detached = l
                .odoo_id
                .is_some_and(|o| odoo_gone && !cancelled_in_series.contains(&o));
            // Mentioned at all: an unfinished link has no baseline, so a side left quiet (a
            // Graph occurrence read back is not kept, only exceptions are) would be planned
            // as a new single event and created on the other side (simulation seed 318).
            let mentioned = l.odoo_id.is_some_and(|o| seen.odoo.contains_key(&o))
                || l.graph_id
                    .as_ref()
                    .is_some_and(|g| seen.graph.contains_key(g));
            if unfinished.contains(&l.id) && (detached || odoo_gone || graph_gone || mentioned) {
                // Nothing was agreed on it: let the link go, and look at the series again.
                seen.drop_links.push(l.id);
                rescan.insert(sid);
                let odoo_now = l.odoo_id.and_then(|o| seen.odoo.remove(&o));
                let graph_now = l.graph_id.as_ref().and_then(|g| seen.graph.remove(g));
                if let Some(id) = l.odoo_id {
                    seen.odoo_gone.remove(&id);
                }
                if let Some(g) = &l.graph_id {
                    seen.graph_gone.remove(g);
                }
                if !(detached || odoo_gone || graph_gone) {
                    // Both sides are still there: the occurrence is paired afresh in this
                    // cycle, its base the series' occurrence (a cycle that only let the
                    // link go would look settled while the move waits).
                    let graph_now = match (graph_now, &l.graph_id) {
                        (Some(v), _) => Some(v),
                        (None, Some(g)) => match self.microsoft.get(g).await {
                            Ok(v) => Some(v),
                            Err(PortError::NotFound) => None,
                            Err(e) => return Err(e),
                        },
                        (None, None) => None,
                    };
                    let exception = graph_now
                        .filter(|v| v.get("type").and_then(Value::as_str) == Some("exception"))
                        .filter(|v| !graph::is_cancelled(v));
                    if let Some(g) = &l.graph_id {
                        released.insert(g.clone());
                    }
                    if let Some(v) = exception {
                        graph_cands.entry(sid).or_default().push(v);
                    }
                    let odoo_now = match (odoo_now, l.odoo_id) {
                        (Some(v), _) => Some(v),
                        (None, Some(o)) => self.odoo.read(&[o]).await?.into_iter().next(),
                        (None, None) => None,
                    };
                    if let (Some(r), Some(o)) = (odoo_now, l.odoo_id) {
                        released_odoo.insert(o);
                        if is_active(&r) && !follows(&r) {
                            odoo_cands.entry(sid).or_default().push(r);
                        }
                    }
                }
                continue;
            }
            if detached {
                // Odoo regenerated the rows without a rule change (an `all_events` write of
                // the same rule) and dropped its exception; Outlook rebuilt nothing, so its
                // exception still holds the move. Let the link go and pair the occurrence
                // afresh in this cycle: the move comes back to Odoo's new row instead of
                // staying on one side only (simulation seed 41).
                let kept = match &l.graph_id {
                    Some(g) if !graph_gone => match seen.graph.get(g) {
                        Some(v) => Some(v.clone()),
                        None => match self.microsoft.get(g).await {
                            Ok(v) => Some(v),
                            Err(PortError::NotFound) => None,
                            Err(e) => return Err(e),
                        },
                    },
                    _ => None,
                }
                .filter(|v| v.get("type").and_then(Value::as_str) == Some("exception"))
                .filter(|v| !graph::is_cancelled(v));
                if let (Some(v), Some(g)) = (kept, &l.graph_id) {
                    seen.drop_links.push(l.id);
                    released.insert(g.clone());
                    if let Some(o) = l.odoo_id {
                        seen.odoo.remove(&o);
                        seen.odoo_gone.remove(&o);
                    }
                    seen.graph.remove(g);
                    seen.graph_gone.remove(g);
                    graph_cands.entry(sid).or_default().push(v);
                    continue;
                }
                if let Some(o) = l.odoo_id {
                    seen.odoo.remove(&o);
                    seen.odoo_gone.insert(o);
                }
                if let Some(g) = &l.graph_id {
                    seen.graph.remove(g);
                    seen.graph_gone.insert(g.clone());
                }
            }
        }
        let all: BTreeSet<i64> = series_links
            .keys()
            .copied()
            .filter(|s| !rescan.contains(s))
            .collect();
        seen.series_scanned = serde_json::to_string(&all).ok();
        let sids: BTreeSet<i64> = graph_cands
            .keys()
            .chain(odoo_cands.keys())
            .copied()
            .collect();
        for sid in sids {
            let Some(series) = baselines.get(&sid) else {
                continue;
            };
            let Some((Some(base), Some(master))) = series_links.get(&sid).cloned() else {
                continue;
            };
            let rows = match rows_of_base.remove(&base) {
                Some(r) => r,
                None => match self.odoo_series_of(base).await? {
                    Some(s) => s.events,
                    None => continue,
                },
            };
            let slots = occurrence_slots(series);
            // Odoo exceptions by the slot no following row holds any more.
            let followed: BTreeSet<String> = rows
                .iter()
                .filter(|r| follows(r))
                .filter_map(|r| r.get("start").and_then(Value::as_str).map(str::to_owned))
                .collect();
            let mut free: Vec<DateTime<Utc>> = slots
                .iter()
                .copied()
                .filter(|t| !followed.contains(&odoo_start_text(series, *t)))
                .collect();
            let mut odoo_at: BTreeMap<DateTime<Utc>, Value> = BTreeMap::new();
            let mut odoo_exc: Vec<Value> = odoo_cands.remove(&sid).unwrap_or_default();
            odoo_exc.sort_by_key(|r| r.get("start").and_then(Value::as_str).map(str::to_owned));
            for r in odoo_exc {
                let Some(start) = odoo_start(&r) else {
                    continue;
                };
                let Some((i, _)) = free
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, t)| (**t - start).num_seconds().abs())
                else {
                    continue;
                };
                odoo_at.insert(free.remove(i), r);
            }
            let mut graph_at: BTreeMap<DateTime<Utc>, Value> = BTreeMap::new();
            for g in graph_cands.remove(&sid).unwrap_or_default() {
                if let Some(x) = graph::original_start(&g) {
                    graph_at.insert(x, g);
                }
            }
            let xs: BTreeSet<DateTime<Utc>> =
                odoo_at.keys().chain(graph_at.keys()).copied().collect();
            for x in xs {
                let g = match graph_at.remove(&x) {
                    Some(g) => Some(g),
                    None => {
                        let w = Window {
                            start: x - Duration::hours(1),
                            end: x + Duration::hours(1),
                        };
                        match self.microsoft.instances(&master, w).await {
                            Err(PortError::NotFound) => Vec::new(),
                            r => r?,
                        }
                        .into_iter()
                        .find(|i| graph::original_start(i) == Some(x))
                    }
                };
                let o = match odoo_at.remove(&x) {
                    Some(o) => Some(o),
                    None => {
                        let text = odoo_start_text(series, x);
                        rows.iter()
                            .find(|r| {
                                is_active(r)
                                    && follows(r)
                                    && r.get("start").and_then(Value::as_str) == Some(text.as_str())
                            })
                            .cloned()
                    }
                };
                let (Some(g), Some(o)) = (g, o) else { continue };
                let (Some(gid), Some(oid)) = (
                    g.get("id").and_then(Value::as_str).map(str::to_owned),
                    o.get("id").and_then(Value::as_i64),
                ) else {
                    continue;
                };
                let linked_graph = by_graph.contains_key(gid.as_str()) && !released.contains(&gid);
                let linked_odoo = by_odoo.contains_key(&oid) && !released_odoo.contains(&oid);
                if linked_graph || linked_odoo {
                    continue;
                }
                seen.exceptions.push(ExceptionPair {
                    series_link: sid,
                    series_base: base,
                    series_master: master.clone(),
                    original_start: x,
                    graph_id: gid,
                    graph: g,
                    odoo_id: oid,
                    odoo: as_single(&o),
                    base: occurrence_of(series, x),
                });
            }
        }
        Ok(())
    }

    /// Items for the unlinked exceptions: the baseline is the unmodified occurrence, so
    /// the side that modified it wins field by field (both: a merge or a conflict).
    pub(super) fn exception_items(
        &self,
        seen: &Seen,
        busy: &BTreeSet<String>,
        items: &mut Vec<Item>,
        meta: &mut BTreeMap<String, super::EntryJob>,
        report: &mut super::CycleReport,
    ) {
        for x in &seen.exceptions {
            let key = format!("exc:{}:{}", x.series_link, x.original_start.timestamp());
            if seen.odoo_gone.contains(&x.series_base)
                || seen.graph_gone.contains(&x.series_master)
                || busy.contains(&format!("link:{}", x.series_link))
                || busy.contains(&key)
                || busy.contains(&format!("odoo:{}", x.odoo_id))
                || busy.contains(&format!("ms:{}", x.graph_id))
            {
                continue;
            }
            let (o, g) = match (self.odoo_snapshot(&x.odoo), self.graph_snapshot(&x.graph)) {
                (Ok(o), Ok(g)) => (o, g),
                (Err(e), _) | (_, Err(e)) => {
                    report.item_errors.push(super::ItemError {
                        item: key,
                        message: e.to_string(),
                        job_id: None,
                    });
                    continue;
                }
            };
            let mut job = self.entry(&key);
            job.odoo_id = Some(x.odoo_id);
            job.graph_id = Some(x.graph_id.clone());
            job.ical_uid = graph::ical_uid(&x.graph).map(str::to_owned);
            job.series_link_id = Some(x.series_link);
            job.original_start = Some(x.original_start.to_rfc3339());
            job.odoo_version = o.version.clone();
            job.graph_version = g.version.clone();
            job.base = Some(x.base.clone());
            job.odoo_before = Some(o.event.clone());
            job.graph_before = Some(g.event.clone());
            job.odoo_full = o.access == Access::Full;
            job.graph_full = g.access == Access::Full;
            items.push(Item {
                key: key.clone(),
                baseline: Some(Baseline::new(x.base.clone(), None, None)),
                odoo: Observed::present(o),
                microsoft: Observed::present(g),
            });
            meta.insert(key, job);
        }
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

    /// The Odoo series whose base event is `base` (its rows, archived ones included), read
    /// through the base's recurrence; `None` when `base` is gone or not in a series.
    pub(super) async fn odoo_series_of(&self, base: i64) -> Result<Option<OdooSeries>, PortError> {
        let Some(rid) = self
            .odoo
            .read(&[base])
            .await?
            .first()
            .and_then(odoo_recurrence_id)
        else {
            return Ok(None);
        };
        Ok(self
            .odoo
            .series(&[rid])
            .await?
            .into_iter()
            .find(|s| s.recurrence.get("id").and_then(Value::as_i64) == Some(rid)))
    }

    /// The base event, now, of the Odoo series `row` belongs to (`None`: gone, or no
    /// series). Odoo moves the base when the user archives it (`_select_new_base_event`).
    pub(super) async fn odoo_series_base(&self, row: i64) -> Result<Option<i64>, PortError> {
        Ok(self
            .odoo_series_of(row)
            .await?
            .and_then(|s| m2o(s.recurrence.get("base_event_id"))))
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
        let zone = zone_of(event);
        let mut archived = false;
        if let Some(s) = self.odoo_series_of(base).await? {
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

impl Engine {
    /// Remembers the rows of a series the engine has just created in Odoo (base `base`),
    /// as the observation remembers each series it reads. Nothing else would before the
    /// series changes, and that change may be the one that needs the memory: Alice
    /// archiving or deleting the base (and another row) before the engine read the series
    /// once; with no memory the re-based series read as a new one, was copied to Outlook
    /// beside its own first copy, and the link stayed on the archived base (simulation
    /// seed 1012).
    pub(super) async fn remember_created_series(
        &mut self,
        base: i64,
    ) -> Result<(), super::StepFail> {
        let Some(s) = self.odoo_series_of(base).await? else {
            return Ok(());
        };
        let Some((read_base, mut record)) = odoo_series_record_known(&s, &BTreeSet::new()) else {
            return Ok(());
        };
        if read_base != base {
            // Already re-based: the next observation reads it as it reads any change.
            return Ok(());
        }
        let profile = self.cfg.profile_id.clone();
        let now = self.now();
        self.store.tx(|t| {
            let mut memory: RowMemory = t
                .cursor(&profile, CUR_ROWS)?
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or_default();
            remember(&mut memory, base, &s, &mut record);
            let text = serde_json::to_string(&memory)
                .map_err(|e| crate::StoreError::Corrupt(format!("series rows cursor: {e}")))?;
            t.set_cursor(&profile, CUR_ROWS, &text, now)
        })?;
        Ok(())
    }

    /// After the engine rewrote a series' rule or slot on one side: that side rebuilt it
    /// without its exceptions (Graph drops them on a `recurrence` or time PATCH,
    /// crates/testkit/README.md; Odoo's `_rewrite_recurrence` archives every row,
    /// /work/shared/specs/odoo.md §2.4), while the other side may still hold them. The
    /// exceptions' links go and the series is searched for exceptions again next cycle,
    /// so what a side still holds is paired afresh against the rebuilt occurrences and
    /// comes back (simulation seeds 192, 214, 289, 335, 386, 2524, 2873: a rewrite to
    /// undo a cancellation; 2610: a conflict resolution's rewrite; each dropped linked
    /// exceptions on one side only while their links stayed).
    pub(super) fn after_series_write(
        &mut self,
        p: &super::EntryJob,
        written: &[Field],
    ) -> Result<(), crate::StoreError> {
        match p.link_id {
            Some(l) if p.series_link_id.is_none() && written.contains(&Field::Recurrence) => {
                self.series_rewritten(l)
            }
            _ => Ok(()),
        }
    }

    /// The exceptions' links of the series of link `series_link` go, and the series is
    /// searched for exceptions again next cycle (see [`Engine::after_series_write`]).
    pub(super) fn series_rewritten(&mut self, series_link: i64) -> Result<(), crate::StoreError> {
        let profile = self.cfg.profile_id.clone();
        self.store.tx(|t| {
            for l in t.links(&profile, crate::state::LinkKind::Event)? {
                if l.series_link_id == Some(series_link) {
                    t.delete_link(l.id)?;
                }
            }
            Ok(())
        })?;
        self.rescan_series(series_link)
    }

    /// Has the series of link `series_link` searched for exceptions again next cycle.
    pub(super) fn rescan_series(&mut self, series_link: i64) -> Result<(), crate::StoreError> {
        let profile = self.cfg.profile_id.clone();
        let now = self.now();
        self.store.tx(|t| {
            let scanned: Option<BTreeSet<i64>> = t
                .cursor(&profile, CUR_SCANNED)?
                .and_then(|s| serde_json::from_str(&s).ok());
            if let Some(mut scanned) = scanned {
                if scanned.remove(&series_link) {
                    let text = serde_json::to_string(&scanned).map_err(|e| {
                        crate::StoreError::Corrupt(format!("series scan cursor: {e}"))
                    })?;
                    t.set_cursor(&profile, CUR_SCANNED, &text, now)?;
                }
            }
            Ok(())
        })
    }

    /// Reads one linked item's Odoo side as the observation reads it: a series base as
    /// the whole series record ([`odoo_series_record`], with its cancelled dates), an
    /// exception row as a single event. `None` when it is archived or gone. `memory`: the
    /// series' rows as last read (see [`odoo_series_record_known`]).
    pub(super) async fn read_odoo_item(
        &self,
        id: i64,
        exception: bool,
        memory: &RowMemory,
    ) -> Result<Option<Value>, PortError> {
        let Some(row) = self.odoo.read(&[id]).await?.into_iter().next() else {
            return Ok(None);
        };
        let rid = match odoo_recurrence_id(&row) {
            Some(rid) if !exception => rid,
            _ if !is_active(&row) => return Ok(None),
            _ if exception => return Ok(Some(as_single(&row))),
            _ => return Ok(Some(row)),
        };
        Ok(self
            .odoo
            .series(&[rid])
            .await?
            .iter()
            .find_map(|s| {
                let earlier = memory
                    .get(&id)
                    .filter(|m| s.recurrence.get("id").and_then(Value::as_i64) == Some(m.rec))
                    .map(SeriesRows::dates)
                    .unwrap_or_default();
                odoo_series_record_known(s, &earlier)
            })
            .map(|(_, record)| record)
            .filter(is_active))
    }

    /// Reads one linked item's Outlook side as the observation reads it: a series master
    /// with its `cancelledOccurrences` (a plain GET lacks them). `None` when it is gone.
    pub(super) async fn read_graph_item(&self, id: &str) -> Result<Option<Value>, PortError> {
        let v = match self.microsoft.get(id).await {
            Ok(v) => v,
            Err(PortError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let v = if graph_kind(&v) == GraphKind::Master {
            match self.microsoft.series_master(id).await {
                Ok(v) => v,
                Err(PortError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            }
        } else {
            v
        };
        Ok((!graph::is_cancelled(&v)).then_some(v))
    }
}

/// Whether a job on a series exception lost its series (deleted links cascade to the
/// exceptions' links, which a later step could not write to).
pub(super) fn obsolete(
    store: &mut crate::store::OwnedStore,
    p: &super::EntryJob,
) -> Result<bool, EngineError> {
    if p.series_link_id.is_none() && p.link_id.is_none() {
        return Ok(false);
    }
    let (series, link) = (p.series_link_id, p.link_id);
    Ok(store.tx(|t| {
        let gone = |id: Option<i64>| -> Result<bool, crate::StoreError> {
            Ok(match id {
                Some(id) => t.link(id)?.is_none(),
                None => false,
            })
        };
        Ok(gone(series)? || gone(link)?)
    })?)
}

/// An unlinked modified occurrence with both sides found.
#[derive(Debug, Clone)]
pub(super) struct ExceptionPair {
    series_link: i64,
    /// The series' Odoo base and Graph master (an exception waits while its series goes).
    series_base: i64,
    series_master: String,
    original_start: DateTime<Utc>,
    graph_id: String,
    graph: Value,
    odoo_id: i64,
    odoo: Value,
    /// The occurrence as the series gives it (the three-way merge's base).
    base: Event,
}

/// An occurrence row read as a single event (its rule fields are the series').
fn as_single(r: &Value) -> Value {
    let mut v = r.clone();
    v["recurrency"] = json!(false);
    if let Some(o) = v.as_object_mut() {
        o.remove("cancelled_occurrences");
    }
    v
}

fn odoo_start(r: &Value) -> Option<DateTime<Utc>> {
    if r.get("allday").and_then(Value::as_bool) == Some(true) {
        let d = r.get("start_date").and_then(Value::as_str)?;
        return NaiveDate::parse_from_str(d.get(..10)?, "%Y-%m-%d")
            .ok()
            .map(expand::day_start);
    }
    let s = r.get("start").and_then(Value::as_str)?;
    chrono::NaiveDateTime::parse_from_str(s, ODOO_DT)
        .ok()
        .map(|t| t.and_utc())
}

/// How Odoo writes the start of the occurrence at `t` (all-day: the date).
fn odoo_start_text(series: &Event, t: DateTime<Utc>) -> String {
    match series.when {
        When::AllDay { .. } => t.format("%Y-%m-%d").to_string(),
        When::Timed { .. } => t.format(ODOO_DT).to_string(),
    }
}

/// Every slot of the series' rule (cancellations included).
fn occurrence_slots(series: &Event) -> Vec<DateTime<Utc>> {
    let mut e = series.clone();
    if let Some(r) = &mut e.recurrence {
        r.exdates.clear();
    }
    let Some(first) = timed_start(&e) else {
        return Vec::new();
    };
    expand::occurrences(
        &e,
        first - Duration::days(1),
        first + Duration::days(366 * 200),
    )
    .map(|l| l.into_iter().map(|o| o.original_start).collect())
    .unwrap_or_default()
}

/// The occurrence of `series` at `x` as a single event.
fn occurrence_of(series: &Event, x: DateTime<Utc>) -> Event {
    let mut e = series.clone();
    e.recurrence = None;
    e.when = match series.when {
        When::Timed { start, end } => When::Timed {
            start: x,
            end: x + (end - start),
        },
        When::AllDay { start, end } => {
            let d = x.date_naive();
            When::AllDay {
                start: d,
                end: d + (end - start),
            }
        }
    };
    e.normalized()
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
