//! Planner properties (CanopyCheck-style): one random state perturbed twice into the
//! three trees (baseline, Odoo, Microsoft); the planner never panics, converges, is
//! idempotent once converged, never deletes or overwrites an edit made since the
//! baseline unless a policy decided it (and then the losing value is recorded), and
//! gives the same plan for any order of the batch.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use odoo365_sync_core::canonical::{Attendee, Response, ShowAs};
use odoo365_sync_core::{
    plan, plan_directed, Access, Baseline, ConflictKind, Direction, Event, Field, Item, Observed,
    Op, Plan, Policy, Resolution, Side, Snapshot,
};
use proptest::prelude::*;

/// An event drawn from small value sets, so that independent perturbations often collide
/// (the same edit on both sides) as well as differ.
type Genome = [u8; 6];

fn event(g: Genome) -> Event {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 17, 8, 0, 0).unwrap();
    let start = t0 + Duration::hours(i64::from(g[1] % 3));
    let mut e = Event::timed(
        ["Review", "Standup", "Lunch 🍜"][usize::from(g[0] % 3)],
        start,
        start + Duration::hours(1),
    );
    e.location = ["", "Room 1", "Zürich"][usize::from(g[2] % 3)].to_owned();
    e.attendees = match g[3] % 4 {
        0 => vec![],
        1 => vec![att("amy@example.com", Response::Accepted)],
        2 => vec![att("amy@example.com", Response::Declined)],
        _ => vec![
            att("amy@example.com", Response::Accepted),
            att("bob@example.com", Response::NeedsAction),
        ],
    };
    e.show_as = if g[4].is_multiple_of(2) {
        ShowAs::Busy
    } else {
        ShowAs::Free
    };
    e.reminder_minutes = [None, Some(15), Some(30)][usize::from(g[5] % 3)];
    e.normalized()
}

/// The user, as seen on a side where they do not organize the event.
const ME: &str = "amy@example.com";

fn att(email: &str, response: Response) -> Attendee {
    Attendee {
        email: email.to_owned(),
        response,
    }
}

fn perturb(base: Genome, edits: [Option<u8>; 6]) -> Genome {
    let mut g = base;
    for (slot, edit) in g.iter_mut().zip(edits) {
        if let Some(v) = edit {
            *slot = v;
        }
    }
    g
}

#[derive(Debug, Clone)]
enum SideGen {
    Present([Option<u8>; 6], u8),
    Gone,
    Quiet,
}

fn side_gen() -> impl Strategy<Value = SideGen> {
    prop_oneof![
        6 => (prop::array::uniform6(prop::option::weighted(0.3, 0u8..4)), 0u8..3)
            .prop_map(|(e, t)| SideGen::Present(e, t)),
        1 => Just(SideGen::Gone),
        1 => Just(SideGen::Quiet),
    ]
}

#[derive(Debug, Clone)]
struct ItemGen {
    has_base: bool,
    base: Genome,
    odoo: SideGen,
    microsoft: SideGen,
    microsoft_read_only: bool,
}

fn item_gen() -> impl Strategy<Value = ItemGen> {
    (
        any::<bool>(),
        prop::array::uniform6(0u8..4),
        side_gen(),
        side_gen(),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(has_base, base, odoo, microsoft, ro)| ItemGen {
            has_base,
            base,
            odoo,
            microsoft,
            microsoft_read_only: ro,
        })
}

fn policy_gen() -> impl Strategy<Value = Policy> {
    prop_oneof![
        3 => Just(Policy::Ask),
        1 => Just(Policy::OdooWins),
        1 => Just(Policy::MicrosoftWins),
        1 => Just(Policy::NewestWins),
    ]
}

/// The three trees for one key, plus what the sides know about themselves.
#[derive(Debug, Clone)]
struct World {
    base: Option<Event>,
    odoo: Option<Event>,
    microsoft: Option<Event>,
    odoo_time: Option<DateTime<Utc>>,
    microsoft_time: Option<DateTime<Utc>>,
    microsoft_read_only: bool,
}

fn world(g: &ItemGen) -> World {
    let base = g.has_base.then(|| event(g.base));
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let side = |s: &SideGen| -> (Option<Event>, Option<DateTime<Utc>>) {
        match s {
            SideGen::Present(edits, t) => (
                Some(event(perturb(g.base, *edits))),
                Some(t0 + Duration::minutes(i64::from(*t))),
            ),
            SideGen::Gone => (None, None),
            // Quiet means "no change since the baseline": the side holds the baseline.
            SideGen::Quiet => (base.clone(), None),
        }
    };
    let (odoo, odoo_time) = side(&g.odoo);
    let (microsoft, microsoft_time) = side(&g.microsoft);
    World {
        base,
        odoo,
        microsoft,
        odoo_time,
        microsoft_time,
        microsoft_read_only: g.microsoft_read_only,
    }
}

fn observe(e: &Option<Event>, t: Option<DateTime<Utc>>, access: Access) -> Observed {
    match e {
        Some(e) => Observed::present(Snapshot {
            event: e.clone(),
            version: None,
            modified: t,
            access,
        }),
        None => Observed::Gone,
    }
}

fn items(worlds: &BTreeMap<String, World>, quiet: Option<&BTreeMap<String, ItemGen>>) -> Vec<Item> {
    worlds
        .iter()
        .map(|(key, w)| {
            let g = quiet.and_then(|q| q.get(key));
            let is_quiet =
                |s: Option<&SideGen>| w.base.is_some() && matches!(s, Some(SideGen::Quiet));
            let ms_access = if w.microsoft_read_only {
                Access::ResponseOnly { me: ME.to_owned() }
            } else {
                Access::Full
            };
            Item {
                key: key.clone(),
                baseline: w.base.clone().map(|e| Baseline::new(e, None, None)),
                odoo: if is_quiet(g.map(|g| &g.odoo)) {
                    Observed::Quiet
                } else {
                    observe(&w.odoo, w.odoo_time, Access::Full)
                },
                microsoft: if is_quiet(g.map(|g| &g.microsoft)) {
                    Observed::Quiet
                } else {
                    observe(&w.microsoft, w.microsoft_time, ms_access)
                },
            }
        })
        .collect()
}

fn apply(worlds: &mut BTreeMap<String, World>, p: &Plan) {
    for (key, op) in p.ops() {
        let w = worlds.get_mut(key).expect("plan keys come from the batch");
        match op {
            Op::Create { side: s, event } => {
                assert!(side(w, *s).is_none(), "create over an existing copy: {key}");
                *side(w, *s) = Some(event.clone());
            }
            Op::Update {
                side: s,
                fields,
                event,
            } => {
                let copy = side(w, *s).as_mut().expect("update of a missing copy");
                for f in fields {
                    copy.set_field(*f, &event.field(*f))
                        .expect("canonical values set");
                }
                assert_eq!(
                    copy.fields(),
                    event.fields(),
                    "update carries the full result"
                );
            }
            Op::Delete { side: s, .. } => {
                assert!(side(w, *s).is_some(), "delete of a missing copy: {key}");
                *side(w, *s) = None;
            }
            Op::Respond { side: s, response } => {
                let copy = side(w, *s).as_mut().expect("answer on a missing copy");
                let me = copy
                    .attendees
                    .iter_mut()
                    .find(|a| a.email == ME)
                    .expect("answer only where the user is invited");
                me.response = *response;
            }
            Op::Link { event } => w.base = Some(event.clone()),
            Op::Forget => w.base = None,
        }
    }
}

fn side(w: &mut World, s: Side) -> &mut Option<Event> {
    match s {
        Side::Odoo => &mut w.odoo,
        Side::Microsoft => &mut w.microsoft,
    }
}

fn fields(e: &Option<Event>) -> Option<BTreeMap<Field, serde_json::Value>> {
    e.as_ref().map(Event::fields)
}

/// The fields the sync makes agree for this item. Of a meeting someone else organizes
/// (a `ResponseOnly` side) the attendee list is the organizer's: only the user's answer
/// is synced ([`my_answers_agree`]); the rest of the list is read-only on one side and
/// the user's own on the other, so the two lists may stay different.
fn synced(w: &World, e: &Option<Event>) -> Option<BTreeMap<Field, serde_json::Value>> {
    let mut all = fields(e)?;
    if w.microsoft_read_only {
        all.remove(&Field::Attendees);
    }
    Some(all)
}

/// Where both copies list the user, they hold the same answer.
fn my_answers_agree(w: &World) -> bool {
    let mine = |e: &Option<Event>| {
        e.as_ref()
            .and_then(|e| e.attendees.iter().find(|a| a.email == ME))
            .map(|a| a.response)
    };
    match (mine(&w.odoo), mine(&w.microsoft)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

fn open_keys(p: &Plan) -> Vec<String> {
    p.entries
        .iter()
        .filter(|e| e.decision.open_conflicts() > 0 || e.decision.error.is_some())
        .map(|e| e.key.clone())
        .collect()
}

/// Does writing `after` over `copy` lose field `f` as edited on that side since the
/// baseline? Of a meeting someone else organizes, the user's own line in the attendees is
/// her answer, merged on its own (and absent from the copy she owns, where she is the
/// organizer): the edit to keep is the rest of the list on her copy.
fn overwrites_edit(w: &World, base: &Event, copy: &Event, after: &Event, f: Field) -> bool {
    if w.microsoft_read_only && f == Field::Attendees {
        let others = |e: &Event| -> Vec<Attendee> {
            e.attendees
                .iter()
                .filter(|a| a.email != ME)
                .cloned()
                .collect()
        };
        return others(base) != others(copy) && others(after) != others(copy);
    }
    base.field(f) != copy.field(f)
}

fn decided_for(p: &Plan, key: &str, f: Option<Field>) -> bool {
    let entry = p
        .entries
        .iter()
        .find(|e| e.key == key)
        .expect("key planned");
    entry.decision.conflicts.iter().any(|c| {
        matches!(c.resolution, Resolution::Decided { .. })
            && match (&c.kind, f) {
                (ConflictKind::Fields { fields }, Some(f)) => fields.iter().any(|fc| fc.field == f),
                (ConflictKind::EditDelete { .. }, None) => true,
                _ => false,
            }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_planner_converges_is_idempotent_never_loses_an_edit_and_ignores_batch_order(
        gens in prop::collection::vec(item_gen(), 1..8),
        policy in policy_gen(),
        seed in any::<u64>(),
    ) {
        let gens: BTreeMap<String, ItemGen> =
            gens.into_iter().enumerate().map(|(i, g)| (format!("item-{i:02}"), g)).collect();
        let before: BTreeMap<String, World> = gens.iter().map(|(k, g)| (k.clone(), world(g))).collect();
        let batch = items(&before, Some(&gens));
        let first = plan(batch.clone(), policy);

        // Any order of the batch gives the same plan.
        let mut shuffled = batch.clone();
        let n = shuffled.len();
        for i in 0..n {
            let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % n as u64) as usize;
            shuffled.swap(i, j);
        }
        shuffled.reverse();
        prop_assert_eq!(&plan(shuffled, policy), &first);

        // Nothing edited since the baseline is deleted or overwritten, unless a policy
        // decided that conflict (and then the conflict records the losing value).
        for (key, op) in first.ops() {
            let w = &before[key];
            let (Some(base), Some(s)) = (&w.base, op.side()) else { continue };
            let current = match s { Side::Odoo => &w.odoo, Side::Microsoft => &w.microsoft };
            match (op, current) {
                (Op::Update { fields, event: after, .. }, Some(copy)) => {
                    for f in fields {
                        if overwrites_edit(w, base, copy, after, *f) {
                            prop_assert!(policy != Policy::Ask, "{key}: Ask overwrote edited {f:?}");
                            prop_assert!(decided_for(&first, key, Some(*f)), "{key}: {f:?} overwritten without a recorded decision");
                        }
                    }
                }
                (Op::Delete { .. }, Some(copy)) if !copy.diff(base).is_empty() => {
                    prop_assert!(policy != Policy::Ask, "{key}: Ask deleted an edited copy");
                    prop_assert!(decided_for(&first, key, None), "{key}: edited copy deleted without a recorded decision");
                }
                (Op::Create { .. }, _) => {
                    prop_assert!(decided_for(&first, key, None), "{key}: re-created without a decided edit-vs-delete");
                }
                _ => {}
            }
        }

        // Converges: after the plan, both sides and the baseline agree on every item
        // that has no open conflict.
        let mut after = before.clone();
        apply(&mut after, &first);
        let open = open_keys(&first);
        for (key, w) in &after {
            if open.contains(key) {
                continue;
            }
            prop_assert_eq!(synced(w, &w.odoo), synced(w, &w.microsoft), "{} diverged", key);
            prop_assert_eq!(synced(w, &w.base), synced(w, &w.odoo), "{} baseline is not what both hold", key);
            prop_assert!(my_answers_agree(w), "{} answers differ: {:?}", key, w);
        }

        // Idempotent: planning the converged state again does nothing, and the same
        // items still wait for the user.
        let again = plan(items(&after, None), policy);
        let ops: Vec<(&str, &Op)> = again.ops().collect();
        prop_assert!(ops.is_empty(), "second plan still has ops: {:?}", ops);
        prop_assert_eq!(open_keys(&again), open);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// One-way: the source is the truth. No write ever goes to the source side; what the
    /// target loses (an edit overwritten, an edited copy deleted) is a recorded decision;
    /// an item the plan links holds the source's fields on both sides; and the plan is
    /// idempotent (target edits left alone stay left alone, without writes).
    #[test]
    fn in_one_way_mode_no_write_ever_goes_to_the_source_side(
        gens in prop::collection::vec(item_gen(), 1..8),
        policy in policy_gen(),
        to_outlook in any::<bool>(),
    ) {
        let (direction, source) = if to_outlook {
            (Direction::OdooToMicrosoft, Side::Odoo)
        } else {
            (Direction::MicrosoftToOdoo, Side::Microsoft)
        };
        let gens: BTreeMap<String, ItemGen> =
            gens.into_iter().enumerate().map(|(i, g)| (format!("item-{i:02}"), g)).collect();
        let before: BTreeMap<String, World> = gens.iter().map(|(k, g)| (k.clone(), world(g))).collect();
        let first = plan_directed(items(&before, Some(&gens)), policy, direction);
        prop_assert_eq!(first.direction, direction);
        for (key, op) in first.ops() {
            prop_assert_ne!(op.side(), Some(source), "{}: a write to the source: {:?}", key, op);
            let w = &before[key];
            let (Some(base), Some(s)) = (&w.base, op.side()) else { continue };
            let current = match s { Side::Odoo => &w.odoo, Side::Microsoft => &w.microsoft };
            match (op, current) {
                (Op::Update { fields, event: after, .. }, Some(copy)) => {
                    for f in fields {
                        if overwrites_edit(w, base, copy, after, *f) {
                            prop_assert!(decided_for(&first, key, Some(*f)), "{key}: target's {f:?} overwritten without a recorded decision");
                        }
                    }
                }
                (Op::Delete { .. }, Some(copy)) if !copy.diff(base).is_empty() => {
                    prop_assert!(decided_for(&first, key, None), "{key}: edited target copy deleted without a recorded decision");
                }
                _ => {}
            }
        }
        let mut after = before.clone();
        apply(&mut after, &first);
        let open = open_keys(&first);
        for e in &first.entries {
            if open.contains(&e.key) {
                continue;
            }
            let w = &after[&e.key];
            if e.decision.ops.iter().any(|o| matches!(o, Op::Link { .. })) {
                let src = if to_outlook { &w.odoo } else { &w.microsoft };
                prop_assert_eq!(synced(w, &w.odoo), synced(w, &w.microsoft), "{} linked but different", &e.key);
                prop_assert_eq!(synced(w, &w.base), synced(w, src), "{} baseline is not the source", &e.key);
                prop_assert!(my_answers_agree(w), "{} answers differ: {:?}", &e.key, w);
            }
            if e.decision.ignored.is_some() {
                prop_assert!(e.decision.ops.is_empty(), "{} ignored with ops", &e.key);
            }
        }
        let again = plan_directed(items(&after, None), policy, direction);
        let ops: Vec<(&str, &Op)> = again.ops().filter(|(_, o)| o.side().is_some()).collect();
        prop_assert!(ops.is_empty(), "second plan still writes: {:?}", ops);
    }
}

#[test]
fn planning_a_large_batch_stays_fast_and_deterministic() {
    let worlds: BTreeMap<String, World> = (0..2000u32)
        .map(|i| {
            let b = [
                (i % 4) as u8,
                (i % 3) as u8,
                0,
                (i % 4) as u8,
                0,
                (i % 3) as u8,
            ];
            let g = ItemGen {
                has_base: i % 5 != 0,
                base: b,
                odoo: SideGen::Present([Some((i % 7) as u8 % 4), None, None, None, None, None], 0),
                microsoft: SideGen::Present([None, None, Some((i % 3) as u8), None, None, None], 1),
                microsoft_read_only: false,
            };
            (format!("k{i:05}"), world(&g))
        })
        .collect();
    let a = plan(items(&worlds, None), Policy::Ask);
    let mut reversed = items(&worlds, None);
    reversed.reverse();
    assert_eq!(plan(reversed, Policy::Ask), a);
    assert_eq!(a.entries.len(), 2000);
    assert!(a.counts.writes() > 0);
}
