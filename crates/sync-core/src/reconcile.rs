//! The decision table: what to do with one linked (or linkable) pair, and a batch plan.
//!
//! Inputs are observations, never pending work (the Dropbox Nucleus model): the baseline
//! (the canonical event both sides last agreed on, [`Baseline`]) and what each side holds
//! now ([`Observed`]). From them each side gets a [`State`]:
//!
//! | baseline | observed | state |
//! |---|---|---|
//! | yes | present, hash = baseline hash | `Unchanged` |
//! | yes | present, hash ≠ baseline hash | `Changed` |
//! | yes | quiet (not reported this cycle) | `Unchanged` |
//! | yes | gone | `Deleted` |
//! | no | present | `Created` |
//! | no | gone or quiet | `Absent` |
//!
//! [`reconcile`] is one exhaustive `match` on `(baseline?, odoo state, microsoft state)`;
//! the combinations the classification cannot produce have an arm that says so and
//! returns an error decision instead of panicking. Changes are merged **per field**
//! against the baseline: an edit on one side flows to the other, disjoint edits merge
//! silently, the same edit on both sides just moves the baseline, and different edits of
//! the same field are a [`Conflict`] with base, Odoo and Microsoft values side by side.
//! Edit-vs-delete is a conflict too. A [`Policy`] other than `Ask` decides such
//! conflicts, and the losing value is still recorded in the decision (never silently
//! lost). Writes to a side that only lets the user answer (an event someone else
//! organizes) are not attempted; they become a `NotOrganizer` conflict.
//!
//! A baseline written by an older canonical form (say, after the HTML normaliser
//! changed) makes both sides look changed, but their fields agree, so the merge only
//! records a new baseline: an upgrade never turns into a wave of writes.
//!
//! A [`Plan`] is a value: build it, show it ([`Plan::summary`], `Serialize`), let the
//! mass-change guard look at it ([`Plan::exceeds`]), then execute it.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use odoo365_sync_core::{plan, Baseline, Event, Item, Observed, Op, Policy, Side, Snapshot};
//!
//! let start = Utc.with_ymd_and_hms(2026, 3, 17, 8, 0, 0).unwrap();
//! let agreed = Event::timed("Review", start, start + chrono::Duration::hours(1)).normalized();
//! let mut moved = agreed.clone();
//! moved.location = "Room 4".into();
//!
//! let items = vec![Item {
//!     key: "link-1".into(),
//!     baseline: Some(Baseline::new(agreed.clone(), Some("w1".into()), Some("ck1".into()))),
//!     odoo: Observed::present(Snapshot::new(moved)),
//!     microsoft: Observed::Quiet,
//! }];
//! let p = plan(items, Policy::Ask);
//! assert!(matches!(p.ops().next(), Some((_, Op::Update { side: Side::Microsoft, .. }))));
//! assert!(!p.exceeds(20, 0.10, 500));
//! assert_eq!(
//!     p.summary().lines().nth(1),
//!     Some("  [link-1] update in Outlook: \"Review\" (location)")
//! );
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{Attendee, Event, Field, Response};
use crate::hash::FieldHash;
use crate::side::Side;

/// The canonical event both sides last agreed on, with its hash and each side's version
/// token at that time (Graph `changeKey`, Odoo `write_date`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub event: Event,
    pub hash: FieldHash,
    pub field_hashes: BTreeMap<Field, FieldHash>,
    pub odoo_version: Option<String>,
    pub microsoft_version: Option<String>,
}

impl Baseline {
    pub fn new(
        event: Event,
        odoo_version: Option<String>,
        microsoft_version: Option<String>,
    ) -> Baseline {
        Baseline {
            hash: event.hash(),
            field_hashes: event.field_hashes(),
            event,
            odoo_version,
            microsoft_version,
        }
    }
}

/// What one side holds now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "observed", rename_all = "snake_case")]
pub enum Observed {
    Present(Box<Snapshot>),
    /// Reported deleted: delta `@removed`, cancelled, archived, or missing from the id set.
    Gone,
    /// Not reported this cycle (delta polling): no change since the baseline is known.
    Quiet,
}

impl Observed {
    pub fn present(snapshot: Snapshot) -> Observed {
        Observed::Present(Box::new(snapshot))
    }
}

/// One side's current copy of the item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub event: Event,
    pub version: Option<String>,
    /// The side's own modification time (`lastModifiedDateTime`, `write_date`), only used
    /// by [`Policy::NewestWins`].
    pub modified: Option<DateTime<Utc>>,
    pub access: Access,
}

impl Snapshot {
    pub fn new(event: Event) -> Snapshot {
        Snapshot {
            event,
            version: None,
            modified: None,
            access: Access::Full,
        }
    }
}

/// What the user may write on this side's copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "access", rename_all = "snake_case")]
pub enum Access {
    Full,
    /// Someone else organizes the event: only the user's own answer may change (Graph
    /// refuses other writes; `isOrganizer == false`). `me` is the user's e-mail there.
    ResponseOnly {
        me: String,
    },
}

/// How conflicts are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Leave both sides as they are and ask the user.
    #[default]
    Ask,
    OdooWins,
    MicrosoftWins,
    /// The side with the later modification time wins; equal or unknown times ask. A
    /// deletion has no trustworthy time, so edit-vs-delete always asks under this policy.
    NewestWins,
}

/// Which way calendar changes flow (a profile setting; see [`reconcile_directed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Two-way: every change flows both ways.
    #[default]
    Both,
    /// Odoo is the source: its changes are copied to Outlook, Outlook's are not sent back.
    OdooToMicrosoft,
    /// Outlook is the source: its changes are copied to Odoo, Odoo's are not sent back.
    MicrosoftToOdoo,
}

impl Direction {
    /// The side whose changes are copied in a one-way direction; `None` for two-way.
    pub fn source(self) -> Option<Side> {
        match self {
            Direction::Both => None,
            Direction::OdooToMicrosoft => Some(Side::Odoo),
            Direction::MicrosoftToOdoo => Some(Side::Microsoft),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Created,
    Changed,
    Unchanged,
    Deleted,
    Absent,
}

/// One thing to do. Service writes take the side they write to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Create `event` on `side` (the engine keys it: Graph `transactionId`).
    Create { side: Side, event: Event },
    /// Write `fields` on `side`; `event` is the side's full content afterwards.
    Update {
        side: Side,
        fields: Vec<Field>,
        event: Event,
    },
    /// Delete (Graph) or archive (Odoo) the item on `side`.
    Delete { side: Side, title: String },
    /// Answer the invitation on `side` (Graph `accept`/`tentativelyAccept`/`decline`,
    /// Odoo `change_attendee_status`): the one write allowed on an event the user does
    /// not organize there.
    Respond { side: Side, response: Response },
    /// Record `event` as the new baseline, with the version tokens the sides have after
    /// this decision's writes.
    Link { event: Event },
    /// Drop the link and its baseline: the item is gone on both sides.
    Forget,
}

impl Op {
    pub fn side(&self) -> Option<Side> {
        match self {
            Op::Create { side, .. }
            | Op::Update { side, .. }
            | Op::Delete { side, .. }
            | Op::Respond { side, .. } => Some(*side),
            Op::Link { .. } | Op::Forget => None,
        }
    }
}

/// One field changed to different values on both sides (or, with no baseline, present
/// with different values on both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    pub field: Field,
    pub base: Option<Value>,
    pub odoo: Value,
    pub microsoft: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConflictKind {
    /// Same fields edited differently on both sides.
    Fields { fields: Vec<FieldConflict> },
    /// Deleted on `deleted_on`, edited on the other side since the baseline.
    EditDelete {
        deleted_on: Side,
        edited: Box<Event>,
    },
    /// The edits in `fields` cannot be written to `read_only` (the user does not organize
    /// the event there).
    NotOrganizer {
        read_only: Side,
        fields: Vec<FieldConflict>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "resolution", rename_all = "snake_case")]
pub enum Resolution {
    /// Waiting for the user; neither side is written for the conflicting part.
    Open,
    /// A policy decided; the loser's values are the ones recorded in the conflict.
    Decided { winner: Side, policy: Policy },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    #[serde(flatten)]
    pub kind: ConflictKind,
    #[serde(flatten)]
    pub resolution: Resolution,
}

impl Conflict {
    pub fn is_open(&self) -> bool {
        self.resolution == Resolution::Open
    }
}

/// A mail a service will send to people because of an op (the engine's attendee-impact
/// guard lists these and asks above a threshold). Outlook's only: Odoo is written with
/// `no_mail_to_attendees` and sends none (see `mails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub side: Side,
    pub kind: MailKind,
    /// Lower-case e-mails, sorted.
    pub recipients: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// A create of an event with attendees.
    Invitation,
    /// A change attendees see (subject, time, zone, location, body, recurrence,
    /// attendees, online meeting) on a meeting with attendees that the user organizes.
    Update,
    /// A delete, by the organizer, of an event with attendees.
    Cancellation,
    /// The user's answer to an invitation, to its organizer.
    Answer,
}

/// The outcome for one item: the states, the arm that decided (for the audit log's
/// "why"), the ops in order and the conflicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub odoo: State,
    pub microsoft: State,
    pub rule: String,
    pub ops: Vec<Op>,
    pub conflicts: Vec<Conflict>,
    /// The mails the ops would make the services send.
    pub mails: Vec<Mail>,
    /// Set only by the arm for impossible state combinations.
    pub error: Option<String>,
    /// In a one-way direction: the target side changed (or created the item) and that
    /// change is left alone, not copied back. Reported, never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Side>,
}

impl Decision {
    fn new(odoo: State, microsoft: State, rule: &str) -> Decision {
        Decision {
            odoo,
            microsoft,
            rule: rule.to_owned(),
            ops: Vec::new(),
            conflicts: Vec::new(),
            mails: Vec::new(),
            error: None,
            ignored: None,
        }
    }

    pub fn open_conflicts(&self) -> usize {
        self.conflicts.iter().filter(|c| c.is_open()).count()
    }
}

fn classify(baseline: Option<&Baseline>, observed: &Observed) -> State {
    match (baseline, observed) {
        (Some(b), Observed::Present(s)) if s.event.hash() == b.hash => State::Unchanged,
        (Some(_), Observed::Present(_)) => State::Changed,
        (Some(_), Observed::Quiet) => State::Unchanged,
        (Some(_), Observed::Gone) => State::Deleted,
        (None, Observed::Present(_)) => State::Created,
        (None, Observed::Gone | Observed::Quiet) => State::Absent,
    }
}

/// A side's current copy: the snapshot, or for a quiet side the baseline.
fn current(baseline: Option<&Baseline>, observed: &Observed) -> Option<Snapshot> {
    match observed {
        Observed::Present(s) => Some(s.as_ref().clone()),
        Observed::Quiet => baseline.map(|b| Snapshot::new(b.event.clone())),
        Observed::Gone => None,
    }
}

/// Decides one item. Pure and total: never panics, whatever the input.
pub fn reconcile(
    baseline: Option<&Baseline>,
    odoo: Observed,
    microsoft: Observed,
    policy: Policy,
) -> Decision {
    use State::*;
    let o_state = classify(baseline, &odoo);
    let m_state = classify(baseline, &microsoft);
    let o = current(baseline, &odoo);
    let m = current(baseline, &microsoft);
    let copies = (o.clone(), m.clone());
    let mut d = Decision::new(o_state, m_state, "");
    match (baseline, o_state, m_state, o, m) {
        // Nothing happened on either side.
        (Some(b), Unchanged, Unchanged, o, m) => {
            d.rule = "unchanged on both sides: nothing to do".to_owned();
            let o_ver = o.and_then(|s| s.version);
            let m_ver = m.and_then(|s| s.version);
            let moved =
                |seen: &Option<String>, kept: &Option<String>| seen.is_some() && seen != kept;
            if moved(&o_ver, &b.odoo_version) || moved(&m_ver, &b.microsoft_version) {
                d.rule = "unchanged on both sides: refresh the version tokens".to_owned();
                d.ops.push(Op::Link {
                    event: b.event.clone(),
                });
            }
        }
        // One side or both edited: per-field three-way merge against the baseline.
        (Some(b), Changed, Unchanged, Some(o), Some(m)) => {
            d.rule = "edited in Odoo: copy the edited fields to Outlook".to_owned();
            merge(&mut d, Some(&b.event), &o, &m, policy);
        }
        (Some(b), Unchanged, Changed, Some(o), Some(m)) => {
            d.rule = "edited in Outlook: copy the edited fields to Odoo".to_owned();
            merge(&mut d, Some(&b.event), &o, &m, policy);
        }
        (Some(b), Changed, Changed, Some(o), Some(m)) => {
            d.rule = "edited on both sides: merge field by field".to_owned();
            merge(&mut d, Some(&b.event), &o, &m, policy);
        }
        // Deletions of an unedited item propagate.
        (Some(b), Deleted, Unchanged, _, _) => {
            d.rule = "deleted in Odoo, unchanged in Outlook: delete in Outlook".to_owned();
            d.ops.push(Op::Delete {
                side: Side::Microsoft,
                title: b.event.title.clone(),
            });
            d.ops.push(Op::Forget);
        }
        (Some(b), Unchanged, Deleted, _, _) => {
            d.rule = "deleted in Outlook, unchanged in Odoo: delete in Odoo".to_owned();
            d.ops.push(Op::Delete {
                side: Side::Odoo,
                title: b.event.title.clone(),
            });
            d.ops.push(Op::Forget);
        }
        (Some(_), Deleted, Deleted, _, _) => {
            d.rule = "deleted on both sides: forget the link".to_owned();
            d.ops.push(Op::Forget);
        }
        // An edit never silently loses to a deletion.
        (Some(b), Deleted, Changed, _, Some(m)) => {
            d.rule = "deleted in Odoo, edited in Outlook: conflict".to_owned();
            edit_vs_delete(&mut d, b, Side::Odoo, m, policy);
        }
        (Some(b), Changed, Deleted, Some(o), _) => {
            d.rule = "edited in Odoo, deleted in Outlook: conflict".to_owned();
            edit_vs_delete(&mut d, b, Side::Microsoft, o, policy);
        }
        // Not linked yet.
        (None, Created, Created, Some(o), Some(m)) => {
            d.rule = "present on both sides, not linked yet: link, fields that differ conflict"
                .to_owned();
            merge(&mut d, None, &o, &m, policy);
        }
        (None, Created, Absent, Some(o), _) => {
            d.rule = "new in Odoo: create in Outlook".to_owned();
            d.ops.push(Op::Create {
                side: Side::Microsoft,
                event: outlook_copy(&o),
            });
            d.ops.push(Op::Link { event: o.event });
        }
        (None, Absent, Created, _, Some(m)) => {
            d.rule = "new in Outlook: create in Odoo".to_owned();
            d.ops.push(Op::Create {
                side: Side::Odoo,
                event: m.event.clone(),
            });
            // Odoo creates the attendee row of someone else's meeting `needsAction`: an
            // answer the user gave in Outlook goes on it, or it would read as her changing
            // her mind in Odoo (a conflict with her next Outlook answer).
            if let Some(answer) = my_answer(&m) {
                d.ops.push(Op::Respond {
                    side: Side::Odoo,
                    response: answer,
                });
            }
            d.ops.push(Op::Link { event: m.event });
        }
        (None, Absent, Absent, _, _) => {
            d.rule = "absent on both sides: nothing to do".to_owned();
        }
        // Created/Absent need no baseline and Changed/Unchanged/Deleted need one, and a
        // Changed/Unchanged/Created side always has a copy: `classify` and `current`
        // cannot produce these. Say so instead of panicking.
        (Some(_), Created | Absent, _, _, _)
        | (Some(_), _, Created | Absent, _, _)
        | (None, Changed | Unchanged | Deleted, _, _, _)
        | (None, _, Changed | Unchanged | Deleted, _, _)
        | (_, Changed | Unchanged | Created, _, None, _)
        | (_, _, Changed | Unchanged | Created, _, None) => {
            d.rule = "impossible state combination".to_owned();
            d.error = Some(format!(
                "impossible: baseline {}, odoo {o_state:?}, microsoft {m_state:?}",
                if baseline.is_some() {
                    "present"
                } else {
                    "absent"
                }
            ));
        }
    }
    d.mails = mails(&d.ops, copies.0.as_ref(), copies.1.as_ref());
    d
}

/// Decides one item in `direction`. Two-way is [`reconcile`]. One-way (source S,
/// target T), what a user of a one-way sync expects: S is the truth, T is a copy.
///
/// | baseline | S | T | decision | rule |
/// |---|---|---|---|---|
/// | – | created | – | create in T | as two-way |
/// | – | – | created | nothing: T's event stays unlinked, reported | `new in T … not copied` |
/// | – | created | created | link; S's values overwrite T's that differ (recorded as a decided conflict) | `… S's values win` |
/// | B | changed | unchanged | copy S's edits to T | as two-way |
/// | B | unchanged | changed | nothing, the baseline stays: T's edit is not sent back and stays "changed" | `edited in T … not sent back` |
/// | B | changed | changed | S's version overwrites T's, every differing field (decided conflict) | `… S overwrites` |
/// | B | deleted | unchanged | delete in T | as two-way |
/// | B | deleted | changed | delete in T anyway (the edited copy goes to the engine's journal; decided edit-vs-delete) | `… S's delete wins` |
/// | B | unchanged | deleted | nothing, the link stays: T's delete is not sent back | `deleted in T … not sent back` |
/// | B | changed | deleted | create in T again from S | `… copied again` |
/// | B | deleted | deleted | forget | as two-way |
///
/// So a target-side edit or delete survives until S next changes the item; then S's
/// version replaces it, and the engine journals what it replaced before writing.
/// Never a write to S (property-tested in `tests/planner.rs`).
pub fn reconcile_directed(
    baseline: Option<&Baseline>,
    odoo: Observed,
    microsoft: Observed,
    policy: Policy,
    direction: Direction,
) -> Decision {
    use State::*;
    let Some(source) = direction.source() else {
        return reconcile(baseline, odoo, microsoft, policy);
    };
    let target = source.other();
    let o_state = classify(baseline, &odoo);
    let m_state = classify(baseline, &microsoft);
    let (s_state, t_state) = match source {
        Side::Odoo => (o_state, m_state),
        Side::Microsoft => (m_state, o_state),
    };
    let o = current(baseline, &odoo);
    let m = current(baseline, &microsoft);
    let copies = (o.clone(), m.clone());
    let (s_copy, t_copy) = match source {
        Side::Odoo => (o.clone(), m.clone()),
        Side::Microsoft => (m.clone(), o.clone()),
    };
    let wins = match source {
        Side::Odoo => Policy::OdooWins,
        Side::Microsoft => Policy::MicrosoftWins,
    };
    let (src, tgt) = (side_name(source), side_name(target));
    let mut d = Decision::new(o_state, m_state, "");
    match (baseline, s_state, t_state, o, m) {
        // The target's own changes are not sent back.
        (None, Absent, Created, _, _) => {
            d.rule = format!("new in {tgt}, one-way from {src}: not copied, left unlinked");
            d.ignored = Some(target);
        }
        (Some(_), Unchanged, Changed, _, _) => {
            d.rule = format!(
                "edited in {tgt}, one-way from {src}: not sent back ({src}'s next change overwrites it)"
            );
            d.ignored = Some(target);
        }
        (Some(_), Unchanged, Deleted, _, _) => {
            d.rule = format!(
                "deleted in {tgt}, one-way from {src}: not sent back ({src}'s next change copies it again)"
            );
            d.ignored = Some(target);
        }
        // The source's changes overwrite whatever the target did meanwhile.
        (None, Created, Created, Some(o), Some(m)) => {
            d.rule = format!(
                "present on both sides, not linked yet, one-way from {src}: link, {src}'s values win"
            );
            merge(&mut d, None, &o, &m, wins);
        }
        (Some(_), Changed, Changed, Some(o), Some(m)) => {
            d.rule = format!(
                "edited on both sides, one-way from {src}: {src}'s version overwrites {tgt}'s"
            );
            merge(&mut d, None, &o, &m, wins);
        }
        (Some(b), Deleted, Changed, _, _) => {
            d.rule = format!(
                "deleted in {src}, edited in {tgt}, one-way from {src}: {src}'s delete wins"
            );
            if let Some(t) = t_copy.clone() {
                edit_vs_delete(&mut d, b, source, t, wins);
            }
        }
        (Some(_), Changed, Deleted, _, _) => {
            d.rule =
                format!("changed in {src}, deleted in {tgt}, one-way from {src}: copied again");
            if let Some(s) = s_copy.clone() {
                d.ops.push(Op::Create {
                    side: target,
                    event: s.event.clone(),
                });
                d.ops.push(Op::Link { event: s.event });
            }
        }
        // Everything else is decided as two-way would: only the source changed, or
        // nothing did, or both sides agree the item is gone.
        _ => return reconcile(baseline, odoo, microsoft, policy),
    }
    d.mails = mails(&d.ops, copies.0.as_ref(), copies.1.as_ref());
    d
}

/// The mails `ops` make the services send, given each side's copy before the ops.
///
/// Only Outlook mails: the engine writes Odoo with `no_mail_to_attendees` (its port
/// contract), so Odoo sends none. Outlook mails attendees when the organizer creates a
/// meeting (invitations), deletes it (cancellations), answers one (to its organizer), and
/// on every PATCH of a meeting with other attendees that changes what they see: subject,
/// time, zone, location, body, recurrence, attendees, online meeting (Graph "Update
/// event": an update of `attendees` alone goes to the changed attendees only; any other
/// update to all of them). The organizer's own fields (categories, reminder, show-as,
/// sensitivity) mail nobody. A non-organizer copy is never updated (the engine answers
/// instead), so it lists no update.
fn mails(ops: &[Op], odoo: Option<&Snapshot>, microsoft: Option<&Snapshot>) -> Vec<Mail> {
    let _ = odoo;
    let emails = |events: &[&Event]| -> Vec<String> {
        let mut all: Vec<String> = events
            .iter()
            .flat_map(|e| e.attendees.iter().map(|a| a.email.clone()))
            .collect();
        all.sort();
        all.dedup();
        all
    };
    let organizer = microsoft.is_none_or(|c| c.access == Access::Full);
    let mut out = Vec::new();
    for op in ops {
        let mail = match op {
            Op::Create {
                side: Side::Microsoft,
                event,
            } => Some((MailKind::Invitation, emails(&[event]))),
            Op::Update {
                side: Side::Microsoft,
                fields,
                event,
            } if organizer && fields.iter().any(|f| mails_attendees(*f)) => {
                let before = microsoft.map(|c| &c.event);
                let attendees_only = fields
                    .iter()
                    .all(|f| *f == Field::Attendees || !mails_attendees(*f));
                let recipients = match before {
                    Some(b) if attendees_only => {
                        let now = emails(&[event]);
                        let was = emails(&[b]);
                        let mut changed: Vec<String> = now
                            .iter()
                            .filter(|e| !was.contains(e))
                            .chain(was.iter().filter(|e| !now.contains(e)))
                            .cloned()
                            .collect();
                        changed.sort();
                        changed
                    }
                    Some(b) => emails(&[event, b]),
                    None => emails(&[event]),
                };
                Some((MailKind::Update, recipients))
            }
            Op::Delete {
                side: Side::Microsoft,
                ..
            } => microsoft
                .filter(|c| c.access == Access::Full)
                .map(|c| (MailKind::Cancellation, emails(&[&c.event]))),
            Op::Respond {
                side: Side::Microsoft,
                ..
            } => microsoft.map(|c| {
                (
                    MailKind::Answer,
                    c.event.organizer.iter().cloned().collect(),
                )
            }),
            _ => None,
        };
        if let Some((kind, recipients)) = mail {
            if kind == MailKind::Answer || !recipients.is_empty() {
                out.push(Mail {
                    side: Side::Microsoft,
                    kind,
                    recipients,
                });
            }
        }
    }
    out
}

/// Fields whose change Outlook mails to a meeting's attendees.
fn mails_attendees(f: Field) -> bool {
    matches!(
        f,
        Field::Title
            | Field::When
            | Field::TimeZone
            | Field::Location
            | Field::Description
            | Field::Attendees
            | Field::Recurrence
            | Field::OnlineMeeting
    )
}

fn winner_of(policy: Policy, o: &Snapshot, m: &Snapshot) -> Option<Side> {
    match policy {
        Policy::Ask => None,
        Policy::OdooWins => Some(Side::Odoo),
        Policy::MicrosoftWins => Some(Side::Microsoft),
        Policy::NewestWins => match (o.modified, m.modified) {
            (Some(a), Some(b)) if a > b => Some(Side::Odoo),
            (Some(a), Some(b)) if b > a => Some(Side::Microsoft),
            _ => None,
        },
    }
}

/// Per-field three-way merge (two-way with no baseline: every difference conflicts).
fn merge(d: &mut Decision, base: Option<&Event>, o: &Snapshot, m: &Snapshot, policy: Policy) {
    let winner = winner_of(policy, o, m);
    let mut o_target = o.event.clone();
    let mut m_target = m.event.clone();
    // The new baseline starts from the base (or, unlinked, from Odoo's copy) and takes
    // every field both sides now agree on.
    let mut new_base = base.cloned().unwrap_or_else(|| o.event.clone());
    let mut field_conflicts = Vec::new();
    let mut blocked: Vec<(Side, FieldConflict)> = Vec::new();
    let mut open_fields = false;
    let mut answers: Vec<(Side, Response)> = Vec::new();
    let invited = [&o.access, &m.access].into_iter().find_map(|a| match a {
        Access::ResponseOnly { me } => Some(me.trim().to_lowercase()),
        Access::Full => None,
    });
    for field in Field::ALL {
        if let (Field::Attendees, Some(me)) = (field, invited.as_deref()) {
            merge_my_answer(
                MyAnswer { me, base, winner },
                (o, m),
                (&mut o_target, &mut m_target, &mut new_base),
                &mut answers,
                &mut field_conflicts,
                &mut open_fields,
            );
            continue;
        }
        let ov = o.event.field(field);
        let mv = m.event.field(field);
        let bv = base.map(|b| b.field(field));
        let agreed = if ov == mv {
            Some(ov.clone())
        } else if bv.as_ref() == Some(&ov) {
            Some(mv.clone())
        } else if bv.as_ref() == Some(&mv) {
            Some(ov.clone())
        } else {
            None
        };
        let conflict = FieldConflict {
            field,
            base: bv.clone(),
            odoo: ov.clone(),
            microsoft: mv.clone(),
        };
        let value = match (agreed, winner) {
            (Some(v), _) => v,
            (None, Some(w)) => {
                field_conflicts.push(conflict.clone());
                if w == Side::Odoo {
                    ov.clone()
                } else {
                    mv.clone()
                }
            }
            (None, None) => {
                field_conflicts.push(conflict.clone());
                open_fields = true;
                continue;
            }
        };
        // A side that only takes the user's answer cannot receive the value.
        // Only the user's own answer may change there; that goes as a response.
        let mut take = true;
        for (side, snap, current) in [(Side::Odoo, o, &ov), (Side::Microsoft, m, &mv)] {
            let Access::ResponseOnly { me } = &snap.access else {
                continue;
            };
            if &value == current {
                continue;
            }
            match (field, only_my_answer_differs(current, &value, me)) {
                (Field::Attendees, Some(answer)) => answers.push((side, answer)),
                _ => {
                    blocked.push((side, conflict.clone()));
                    take = false;
                }
            }
        }
        if !take {
            continue;
        }
        // These sets cannot fail: the value came from a canonical event.
        let _ = o_target.set_field(field, &value);
        let _ = m_target.set_field(field, &value);
        let _ = new_base.set_field(field, &value);
    }
    if !field_conflicts.is_empty() {
        d.conflicts.push(Conflict {
            kind: ConflictKind::Fields {
                fields: field_conflicts,
            },
            resolution: match winner {
                Some(w) => Resolution::Decided { winner: w, policy },
                None => Resolution::Open,
            },
        });
    }
    for side in [Side::Odoo, Side::Microsoft] {
        let fields: Vec<FieldConflict> = blocked
            .iter()
            .filter(|(s, _)| *s == side)
            .map(|(_, c)| c.clone())
            .collect();
        if !fields.is_empty() {
            d.conflicts.push(Conflict {
                kind: ConflictKind::NotOrganizer {
                    read_only: side,
                    fields,
                },
                resolution: Resolution::Open,
            });
        }
    }
    // Unlinked with anything unresolved: no baseline can be agreed, so nothing is written.
    if base.is_none() && (open_fields || !blocked.is_empty()) {
        return;
    }
    for (side, before, after) in [
        (Side::Odoo, &o.event, o_target),
        (Side::Microsoft, &m.event, m_target),
    ] {
        let mut fields = before.diff(&after);
        if let Some((_, response)) = answers.iter().find(|(s, _)| *s == side) {
            fields.retain(|f| *f != Field::Attendees);
            d.ops.push(Op::Respond {
                side,
                response: *response,
            });
        }
        if !fields.is_empty() {
            d.ops.push(Op::Update {
                side,
                fields,
                event: after,
            });
        }
    }
    let base_moved = base.is_none_or(|b| b != &new_base);
    if base_moved || !d.ops.is_empty() {
        d.ops.push(Op::Link { event: new_base });
    }
}

/// What Outlook gets for an Odoo event: the event itself, but for a meeting someone else
/// organizes without the user among its attendees. The copy is created in the user's
/// mailbox, so the user organizes it there, and Outlook would mail the user an invitation
/// to their own meeting; their answer stays in Odoo ([`merge_my_answer`]).
fn outlook_copy(o: &Snapshot) -> Event {
    let mut event = o.event.clone();
    if let Access::ResponseOnly { me } = &o.access {
        let me = me.trim().to_lowercase();
        event.attendees.retain(|a| a.email != me);
    }
    event
}

/// The user, the baseline and the policy's winner, for [`merge_my_answer`].
struct MyAnswer<'a> {
    me: &'a str,
    base: Option<&'a Event>,
    winner: Option<Side>,
}

/// The attendees of a meeting someone else organizes (either side `ResponseOnly`).
///
/// The attendee list belongs to the organizer: on a `ResponseOnly` side only the user's
/// own answer can be written (Graph refuses the rest with `ErrorAccessDenied`; in Odoo
/// the user answers on their own `calendar.attendee` line), and on a side where the
/// user's copy is their own (an invitation mirrored from the other side) writing the
/// organizer's list would invite those people again from the user's account. So the
/// lists are not compared at all (a difference is nobody's edit, hence no conflict
/// that could come back every cycle); only the user's answer is merged three-way and
/// goes out as a response where it is listed. The baseline keeps the organizer's list
/// (the `ResponseOnly` side's, Odoo's when both are) with the merged answer.
/// The user's answer on a copy she only answers, when she has given one.
fn my_answer(snap: &Snapshot) -> Option<Response> {
    let Access::ResponseOnly { me } = &snap.access else {
        return None;
    };
    snap.event
        .attendees
        .iter()
        .find(|a| a.email.eq_ignore_ascii_case(me))
        .map(|a| a.response)
        .filter(|r| *r != Response::NeedsAction)
}

fn merge_my_answer(
    ctx: MyAnswer<'_>,
    (o, m): (&Snapshot, &Snapshot),
    (o_target, m_target, new_base): (&mut Event, &mut Event, &mut Event),
    answers: &mut Vec<(Side, Response)>,
    field_conflicts: &mut Vec<FieldConflict>,
    open_fields: &mut bool,
) {
    let answer_in = |e: &Event| {
        e.attendees
            .iter()
            .find(|a| a.email == ctx.me)
            .map(|a| a.response)
    };
    let (ao, am) = (answer_in(&o.event), answer_in(&m.event));
    let ab = ctx.base.and_then(answer_in);
    let chosen = match (ao, am) {
        (Some(a), Some(b)) if a != b => {
            if ab == Some(a) {
                Some(b)
            } else if ab == Some(b) {
                Some(a)
            } else {
                field_conflicts.push(FieldConflict {
                    field: Field::Attendees,
                    base: ctx.base.map(|b| b.field(Field::Attendees)),
                    odoo: o.event.field(Field::Attendees),
                    microsoft: m.event.field(Field::Attendees),
                });
                match ctx.winner {
                    Some(Side::Odoo) => Some(a),
                    Some(Side::Microsoft) => Some(b),
                    None => {
                        *open_fields = true;
                        None
                    }
                }
            }
        }
        (a, b) => a.or(b),
    };
    let organizers = if o.access == Access::Full {
        &m.event
    } else {
        &o.event
    };
    let mut base_list = organizers.attendees.clone();
    // The organizer's own changes to the list (since the baseline) reach a side where the
    // copy is the user's; what the user changes there is theirs and goes nowhere.
    // Without the user: her answer is merged above, and her copy in her own mailbox
    // does not list her (an organizer is no attendee of their own meeting).
    let others = |list: &[Attendee]| {
        let mut list = list.to_vec();
        list.retain(|a| a.email != ctx.me);
        list
    };
    let changed_since_base = |list: &[Attendee]| {
        ctx.base
            .is_some_and(|b| others(&b.attendees) != others(list))
    };
    let organizer_changed = changed_since_base(&organizers.attendees);
    for (snap, target) in [(o, &mut *o_target), (m, &mut *m_target)] {
        // Her own edit of the list on her copy is not overwritten (it goes nowhere, but
        // it is hers). Her own line there stays as it is (listed or not, her answer
        // while the answers conflict); the merged answer is set below.
        if snap.access == Access::Full
            && organizer_changed
            && !changed_since_base(&snap.event.attendees)
        {
            // Without the copy's own organizer, as the canonical form lists attendees.
            let own = target.organizer.clone();
            let mut list = others(&organizers.attendees);
            list.retain(|a| Some(&a.email) != own.as_ref());
            list.extend(
                snap.event
                    .attendees
                    .iter()
                    .filter(|a| a.email == ctx.me)
                    .cloned(),
            );
            list.sort();
            target.attendees = list;
        }
    }
    // A response where the user may only answer; an attendee write on their own copy.
    for (side, snap, current, target) in [
        (Side::Odoo, o, ao, &mut *o_target),
        (Side::Microsoft, m, am, &mut *m_target),
    ] {
        let Some(want) = chosen else { continue };
        if current.is_some_and(|now| now != want) && snap.access != Access::Full {
            answers.push((side, want));
        }
        for a in target.attendees.iter_mut().filter(|a| a.email == ctx.me) {
            a.response = want;
        }
    }
    match (chosen, ab) {
        (Some(want), _) | (None, Some(want)) => {
            for a in base_list.iter_mut().filter(|a| a.email == ctx.me) {
                a.response = want;
            }
        }
        // An open conflict on her answer keeps the baseline's (none here), so the next
        // cycle sees the same conflict instead of taking one side as "unchanged".
        (None, None) => base_list.retain(|a| a.email != ctx.me),
    }
    new_base.attendees = base_list;
}

/// If `wanted` differs from `current` only in the answer of `me`, that answer.
fn only_my_answer_differs(current: &Value, wanted: &Value, me: &str) -> Option<Response> {
    let current: Vec<Attendee> = serde_json::from_value(current.clone()).ok()?;
    let wanted: Vec<Attendee> = serde_json::from_value(wanted.clone()).ok()?;
    let me = me.trim().to_lowercase();
    let answer = wanted.iter().find(|a| a.email == me)?.response;
    current.iter().find(|a| a.email == me)?;
    let mut answered: Vec<Attendee> = current
        .into_iter()
        .map(|mut a| {
            if a.email == me {
                a.response = answer;
            }
            a
        })
        .collect();
    answered.sort();
    (answered == wanted).then_some(answer)
}

fn edit_vs_delete(
    d: &mut Decision,
    b: &Baseline,
    deleted_on: Side,
    edited: Snapshot,
    policy: Policy,
) {
    let edited_on = deleted_on.other();
    let winner = match policy {
        Policy::Ask | Policy::NewestWins => None,
        Policy::OdooWins => Some(Side::Odoo),
        Policy::MicrosoftWins => Some(Side::Microsoft),
    };
    d.conflicts.push(Conflict {
        kind: ConflictKind::EditDelete {
            deleted_on,
            edited: Box::new(edited.event.clone()),
        },
        resolution: match winner {
            Some(w) => Resolution::Decided { winner: w, policy },
            None => Resolution::Open,
        },
    });
    match winner {
        None => {}
        // The edit wins: bring the item back where it was deleted.
        Some(w) if w == edited_on => {
            d.ops.push(Op::Create {
                side: deleted_on,
                event: edited.event.clone(),
            });
            d.ops.push(Op::Link {
                event: edited.event,
            });
        }
        // The deletion wins: the edited copy goes too (kept in the engine's journal).
        Some(_) => {
            d.ops.push(Op::Delete {
                side: edited_on,
                title: b.event.title.clone(),
            });
            d.ops.push(Op::Forget);
        }
    }
}

/// One item of a batch: its stable key (the link id, or for unlinked items an id of the
/// side it was seen on), its baseline and both observations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub key: String,
    pub baseline: Option<Baseline>,
    pub odoo: Observed,
    pub microsoft: Observed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub decision: Decision,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideCounts {
    pub creates: usize,
    pub updates: usize,
    pub deletes: usize,
    pub responses: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub odoo: SideCounts,
    pub microsoft: SideCounts,
    pub links: usize,
    pub forgets: usize,
    pub open_conflicts: usize,
    pub decided_conflicts: usize,
    pub errors: usize,
    /// Mails to attendees the plan would cause, per [`Mail`].
    pub mails: usize,
    /// Target-side changes a one-way direction leaves alone (see [`Decision::ignored`]).
    #[serde(default)]
    pub ignored: usize,
}

impl Counts {
    /// Deletes plus rewrites (updates) on both sides: what the mass-change guard weighs.
    pub fn destructive(&self) -> usize {
        self.odoo.deletes + self.odoo.updates + self.microsoft.deletes + self.microsoft.updates
    }

    pub fn writes(&self) -> usize {
        self.destructive()
            + self.odoo.creates
            + self.microsoft.creates
            + self.odoo.responses
            + self.microsoft.responses
    }
}

/// The decisions for a batch, in key order, with their counts. A value: show it, check
/// it, then run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub policy: Policy,
    #[serde(default)]
    pub direction: Direction,
    pub entries: Vec<Entry>,
    pub counts: Counts,
}

/// Plans a batch. The result does not depend on the order of `items`: entries are sorted
/// by key, and items that share a key (a bug upstream) are all refused with an error
/// rather than one of them winning by position.
pub fn plan(items: Vec<Item>, policy: Policy) -> Plan {
    plan_directed(items, policy, Direction::Both)
}

/// [`plan`] in `direction` (each item decided by [`reconcile_directed`]).
pub fn plan_directed(items: Vec<Item>, policy: Policy, direction: Direction) -> Plan {
    let mut by_key: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for item in items {
        by_key.entry(item.key.clone()).or_default().push(item);
    }
    let mut entries = Vec::with_capacity(by_key.len());
    for (key, mut group) in by_key {
        let decision = match (group.pop(), group.is_empty()) {
            (Some(item), true) => reconcile_directed(
                item.baseline.as_ref(),
                item.odoo,
                item.microsoft,
                policy,
                direction,
            ),
            _ => Decision {
                error: Some(format!("{} items share the key {key:?}", group.len() + 1)),
                ..Decision::new(State::Absent, State::Absent, "duplicate key: refused")
            },
        };
        entries.push(Entry { key, decision });
    }
    let mut counts = Counts::default();
    for e in &entries {
        for op in &e.decision.ops {
            match op {
                Op::Create { side, .. } => count(&mut counts, *side, |s| s.creates += 1),
                Op::Update { side, .. } => count(&mut counts, *side, |s| s.updates += 1),
                Op::Delete { side, .. } => count(&mut counts, *side, |s| s.deletes += 1),
                Op::Respond { side, .. } => count(&mut counts, *side, |s| s.responses += 1),
                Op::Link { .. } => counts.links += 1,
                Op::Forget => counts.forgets += 1,
            }
        }
        for c in &e.decision.conflicts {
            if c.is_open() {
                counts.open_conflicts += 1;
            } else {
                counts.decided_conflicts += 1;
            }
        }
        if e.decision.error.is_some() {
            counts.errors += 1;
        }
        if e.decision.ignored.is_some() {
            counts.ignored += 1;
        }
        counts.mails += e.decision.mails.len();
    }
    Plan {
        policy,
        direction,
        entries,
        counts,
    }
}

fn count(c: &mut Counts, side: Side, f: impl FnOnce(&mut SideCounts)) {
    match side {
        Side::Odoo => f(&mut c.odoo),
        Side::Microsoft => f(&mut c.microsoft),
    }
}

impl Plan {
    /// All ops with their item keys, in execution order.
    pub fn ops(&self) -> impl Iterator<Item = (&str, &Op)> {
        self.entries
            .iter()
            .flat_map(|e| e.decision.ops.iter().map(move |op| (e.key.as_str(), op)))
    }

    /// The mails to attendees the plan would cause, with their item keys.
    pub fn attendee_mails(&self) -> impl Iterator<Item = (&str, &Mail)> {
        self.entries
            .iter()
            .flat_map(|e| e.decision.mails.iter().map(move |m| (e.key.as_str(), m)))
    }

    /// True when the plan writes to a service at all (a converged, no-op cycle is false).
    pub fn has_writes(&self) -> bool {
        self.counts.writes() > 0
    }

    /// The mass-change guard: true when the deletes plus rewrites exceed
    /// `threshold_count` items, or exceed `threshold_fraction` (0.1 = 10 %) of `total`
    /// (the number of linked items in the profile). Either limit trips it; the engine
    /// then pauses the cycle until the user confirms.
    pub fn exceeds(&self, threshold_count: usize, threshold_fraction: f64, total: usize) -> bool {
        let n = self.counts.destructive();
        if n > threshold_count {
            return true;
        }
        total > 0 && n > 0 && (n as f64) / (total as f64) > threshold_fraction
    }

    /// A few lines a person can read before the plan runs.
    pub fn summary(&self) -> String {
        let c = &self.counts;
        let mut out = format!(
            "Odoo: {} to create, {} to update, {} to delete. Outlook: {} to create, {} to update, {} to delete. {} conflict(s) to resolve{}{}{}.\n",
            c.odoo.creates,
            c.odoo.updates,
            c.odoo.deletes,
            c.microsoft.creates,
            c.microsoft.updates,
            c.microsoft.deletes,
            c.open_conflicts,
            if c.decided_conflicts > 0 {
                format!(", {} decided by the {:?} policy", c.decided_conflicts, self.policy)
            } else {
                String::new()
            },
            if c.errors > 0 {
                format!(", {} error(s)", c.errors)
            } else {
                String::new()
            },
            if c.mails > 0 {
                format!(", {} attendee mail(s)", c.mails)
            } else {
                String::new()
            },
        );
        for e in &self.entries {
            for op in &e.decision.ops {
                let line = match op {
                    Op::Create { side, event } => {
                        format!("create in {}: {:?}", side_name(*side), event.title)
                    }
                    Op::Update {
                        side,
                        fields,
                        event,
                    } => format!(
                        "update in {}: {:?} ({})",
                        side_name(*side),
                        event.title,
                        fields
                            .iter()
                            .map(|f| f.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Op::Delete { side, title } => {
                        format!("delete in {}: {title:?}", side_name(*side))
                    }
                    Op::Respond { side, response } => {
                        format!("answer in {}: {response:?}", side_name(*side))
                    }
                    Op::Link { .. } | Op::Forget => continue,
                };
                let _ = writeln!(out, "  [{}] {line}", e.key);
            }
            for conflict in &e.decision.conflicts {
                let state = match &conflict.resolution {
                    Resolution::Open => "conflict".to_owned(),
                    Resolution::Decided { winner, policy } => {
                        format!("conflict decided for {} by {policy:?}", side_name(*winner))
                    }
                };
                let what = match &conflict.kind {
                    ConflictKind::Fields { fields } => fields
                        .iter()
                        .map(|f| {
                            format!(
                                "{}: base {}, Odoo {}, Outlook {}",
                                f.field.name(),
                                f.base.as_ref().map_or("(none)".to_owned(), short),
                                short(&f.odoo),
                                short(&f.microsoft)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    ConflictKind::EditDelete { deleted_on, edited } => format!(
                        "deleted in {}, edited in {} ({:?})",
                        side_name(*deleted_on),
                        side_name(deleted_on.other()),
                        edited.title
                    ),
                    ConflictKind::NotOrganizer { read_only, fields } => format!(
                        "{} only accepts your answer for this event; not written there: {}",
                        side_name(*read_only),
                        fields
                            .iter()
                            .map(|f| f.field.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                let _ = writeln!(out, "  [{}] {state}: {what}", e.key);
            }
            for mail in &e.decision.mails {
                let _ = writeln!(
                    out,
                    "  [{}] {} mails {:?} to {}",
                    e.key,
                    side_name(mail.side),
                    mail.kind,
                    if mail.recipients.is_empty() {
                        "the organizer".to_owned()
                    } else {
                        mail.recipients.join(", ")
                    }
                );
            }
            if let Some(err) = &e.decision.error {
                let _ = writeln!(out, "  [{}] error: {err}", e.key);
            }
            if e.decision.ignored.is_some() {
                let _ = writeln!(out, "  [{}] not copied: {}", e.key, e.decision.rule);
            }
        }
        out
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Odoo => "Odoo",
        Side::Microsoft => "Outlook",
    }
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Attendee, Response};
    use chrono::TimeZone;

    fn base_event() -> Event {
        let start = Utc.with_ymd_and_hms(2026, 3, 17, 8, 0, 0).unwrap();
        Event::timed("Review", start, start + chrono::Duration::hours(1)).normalized()
    }

    fn with(mut e: Event, f: impl FnOnce(&mut Event)) -> Event {
        f(&mut e);
        e.normalized()
    }

    fn seen(e: Event) -> Observed {
        Observed::present(Snapshot::new(e))
    }

    fn baseline() -> Baseline {
        Baseline::new(base_event(), Some("w1".into()), Some("ck1".into()))
    }

    fn updates(d: &Decision, side: Side) -> Vec<Vec<Field>> {
        d.ops
            .iter()
            .filter_map(|op| match op {
                Op::Update {
                    side: s, fields, ..
                } if *s == side => Some(fields.clone()),
                _ => None,
            })
            .collect()
    }

    fn linked(d: &Decision) -> Option<&Event> {
        d.ops.iter().find_map(|op| match op {
            Op::Link { event } => Some(event),
            _ => None,
        })
    }

    #[test]
    fn an_edit_in_odoo_flows_to_outlook_and_moves_the_baseline() {
        let b = baseline();
        let edited = with(base_event(), |e| e.title = "Review v2".into());
        let d = reconcile(
            Some(&b),
            seen(edited.clone()),
            seen(base_event()),
            Policy::Ask,
        );
        assert_eq!((d.odoo, d.microsoft), (State::Changed, State::Unchanged));
        assert_eq!(updates(&d, Side::Microsoft), vec![vec![Field::Title]]);
        assert!(updates(&d, Side::Odoo).is_empty());
        assert_eq!(linked(&d), Some(&edited));
        assert!(d.conflicts.is_empty());
    }

    #[test]
    fn disjoint_edits_on_both_sides_merge_silently() {
        let b = baseline();
        let o = with(base_event(), |e| e.location = "Room 1".into());
        let m = with(base_event(), |e| e.reminder_minutes = Some(15));
        let d = reconcile(Some(&b), seen(o), seen(m), Policy::Ask);
        assert!(d.conflicts.is_empty());
        assert_eq!(updates(&d, Side::Odoo), vec![vec![Field::ReminderMinutes]]);
        assert_eq!(updates(&d, Side::Microsoft), vec![vec![Field::Location]]);
        let merged = linked(&d).unwrap();
        assert_eq!(merged.location, "Room 1");
        assert_eq!(merged.reminder_minutes, Some(15));
    }

    #[test]
    fn the_same_edit_on_both_sides_is_no_conflict_just_a_new_baseline() {
        let b = baseline();
        let both = with(base_event(), |e| e.title = "Same".into());
        let d = reconcile(
            Some(&b),
            seen(both.clone()),
            seen(both.clone()),
            Policy::Ask,
        );
        assert!(d.conflicts.is_empty());
        assert_eq!(d.ops, vec![Op::Link { event: both }]);
    }

    #[test]
    fn the_same_field_edited_differently_is_a_conflict_with_all_three_values() {
        let b = baseline();
        let o = with(base_event(), |e| {
            e.title = "Odoo title".into();
            e.location = "Room 1".into();
        });
        let m = with(base_event(), |e| e.title = "Outlook title".into());
        let d = reconcile(Some(&b), seen(o), seen(m), Policy::Ask);
        assert_eq!(d.open_conflicts(), 1);
        let ConflictKind::Fields { fields } = &d.conflicts[0].kind else {
            panic!("expected a field conflict: {d:?}")
        };
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].field, Field::Title);
        assert_eq!(fields[0].base, Some(Value::from("Review")));
        assert_eq!(fields[0].odoo, Value::from("Odoo title"));
        assert_eq!(fields[0].microsoft, Value::from("Outlook title"));
        // The disjoint location edit still flows; the title is written nowhere and keeps
        // its base value in the new baseline, so the conflict stays visible.
        assert_eq!(updates(&d, Side::Microsoft), vec![vec![Field::Location]]);
        assert!(updates(&d, Side::Odoo).is_empty());
        assert_eq!(linked(&d).unwrap().title, "Review");
    }

    #[test]
    fn deleted_in_odoo_and_edited_in_outlook_is_a_conflict() {
        let b = baseline();
        let m = with(base_event(), |e| e.title = "Moved".into());
        let d = reconcile(Some(&b), Observed::Gone, seen(m), Policy::Ask);
        assert_eq!((d.odoo, d.microsoft), (State::Deleted, State::Changed));
        assert!(
            d.ops.is_empty(),
            "nothing is deleted or recreated: {:?}",
            d.ops
        );
        assert!(matches!(
            d.conflicts[0].kind,
            ConflictKind::EditDelete {
                deleted_on: Side::Odoo,
                ..
            }
        ));
        assert!(d.conflicts[0].is_open());
    }

    #[test]
    fn edited_in_odoo_and_deleted_in_outlook_is_a_conflict() {
        let b = baseline();
        let o = with(base_event(), |e| e.location = "Moved".into());
        let d = reconcile(Some(&b), seen(o), Observed::Gone, Policy::NewestWins);
        assert!(d.ops.is_empty());
        assert!(matches!(
            d.conflicts[0].kind,
            ConflictKind::EditDelete {
                deleted_on: Side::Microsoft,
                ..
            }
        ));
        assert!(
            d.conflicts[0].is_open(),
            "a deletion has no time to compare"
        );
    }

    #[test]
    fn microsoft_wins_restores_an_event_deleted_in_odoo_that_was_edited_in_outlook() {
        let b = baseline();
        let m = with(base_event(), |e| e.title = "Moved".into());
        let d = reconcile(
            Some(&b),
            Observed::Gone,
            seen(m.clone()),
            Policy::MicrosoftWins,
        );
        assert_eq!(
            d.ops,
            vec![
                Op::Create {
                    side: Side::Odoo,
                    event: m.clone()
                },
                Op::Link { event: m }
            ]
        );
        let d = reconcile(
            Some(&b),
            Observed::Gone,
            seen(with(base_event(), |e| e.title = "Moved".into())),
            Policy::OdooWins,
        );
        assert_eq!(
            d.ops,
            vec![
                Op::Delete {
                    side: Side::Microsoft,
                    title: "Review".into()
                },
                Op::Forget
            ]
        );
        assert!(matches!(
            d.conflicts[0].resolution,
            Resolution::Decided {
                winner: Side::Odoo,
                policy: Policy::OdooWins
            }
        ));
    }

    #[test]
    fn a_delete_of_an_unedited_event_propagates_and_forgets_the_link() {
        let b = baseline();
        let d = reconcile(Some(&b), seen(base_event()), Observed::Gone, Policy::Ask);
        assert_eq!(
            d.ops,
            vec![
                Op::Delete {
                    side: Side::Odoo,
                    title: "Review".into()
                },
                Op::Forget
            ]
        );
        let d = reconcile(Some(&b), Observed::Gone, Observed::Quiet, Policy::Ask);
        assert_eq!(
            d.ops[0],
            Op::Delete {
                side: Side::Microsoft,
                title: "Review".into()
            }
        );
        let d = reconcile(Some(&b), Observed::Gone, Observed::Gone, Policy::Ask);
        assert_eq!(d.ops, vec![Op::Forget]);
    }

    #[test]
    fn odoo_wins_decides_a_conflict_and_records_the_losing_value() {
        let b = baseline();
        let o = with(base_event(), |e| e.title = "Odoo".into());
        let m = with(base_event(), |e| e.title = "Outlook".into());
        let d = reconcile(Some(&b), seen(o), seen(m), Policy::OdooWins);
        assert_eq!(updates(&d, Side::Microsoft), vec![vec![Field::Title]]);
        assert_eq!(linked(&d).unwrap().title, "Odoo");
        let c = &d.conflicts[0];
        assert!(!c.is_open());
        let ConflictKind::Fields { fields } = &c.kind else {
            panic!()
        };
        assert_eq!(
            fields[0].microsoft,
            Value::from("Outlook"),
            "the loser is kept"
        );
    }

    #[test]
    fn newest_wins_takes_the_later_edit_and_asks_on_a_tie() {
        let b = baseline();
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let snap = |title: &str, at| Snapshot {
            modified: Some(at),
            ..Snapshot::new(with(base_event(), |e| e.title = title.into()))
        };
        let later = t + chrono::Duration::minutes(1);
        let d = reconcile(
            Some(&b),
            Observed::present(snap("Odoo", t)),
            Observed::present(snap("Outlook", later)),
            Policy::NewestWins,
        );
        assert_eq!(updates(&d, Side::Odoo), vec![vec![Field::Title]]);
        assert_eq!(linked(&d).unwrap().title, "Outlook");
        let d = reconcile(
            Some(&b),
            Observed::present(snap("Odoo", t)),
            Observed::present(snap("Outlook", t)),
            Policy::NewestWins,
        );
        assert_eq!(d.open_conflicts(), 1);
        assert!(updates(&d, Side::Odoo).is_empty() && updates(&d, Side::Microsoft).is_empty());
    }

    #[test]
    fn a_new_event_is_created_on_the_other_side_and_linked() {
        let e = base_event();
        let d = reconcile(None, seen(e.clone()), Observed::Gone, Policy::Ask);
        assert_eq!((d.odoo, d.microsoft), (State::Created, State::Absent));
        assert_eq!(
            d.ops,
            vec![
                Op::Create {
                    side: Side::Microsoft,
                    event: e.clone()
                },
                Op::Link { event: e }
            ]
        );
    }

    #[test]
    fn two_unlinked_copies_that_differ_are_a_conflict_and_nothing_is_written() {
        let o = base_event();
        let m = with(base_event(), |e| e.location = "Room 9".into());
        let d = reconcile(None, seen(o.clone()), seen(m.clone()), Policy::Ask);
        assert!(d.ops.is_empty());
        assert_eq!(d.open_conflicts(), 1);
        // Equal copies just link.
        let d = reconcile(None, seen(o.clone()), seen(o.clone()), Policy::Ask);
        assert_eq!(d.ops, vec![Op::Link { event: o }]);
    }

    #[test]
    fn an_echo_of_our_own_write_is_not_a_change_and_only_refreshes_the_tokens() {
        let b = baseline();
        let echo = Snapshot {
            version: Some("ck2".into()),
            ..Snapshot::new(base_event())
        };
        let d = reconcile(
            Some(&b),
            Observed::Quiet,
            Observed::present(echo),
            Policy::Ask,
        );
        assert_eq!((d.odoo, d.microsoft), (State::Unchanged, State::Unchanged));
        assert_eq!(
            d.ops,
            vec![Op::Link {
                event: base_event()
            }]
        );
        let d = reconcile(Some(&b), Observed::Quiet, Observed::Quiet, Policy::Ask);
        assert!(d.ops.is_empty());
    }

    #[test]
    fn an_edit_only_the_organizer_may_make_is_not_written_to_outlook() {
        let b = baseline();
        let o = with(base_event(), |e| e.title = "My title".into());
        let m = Snapshot {
            access: Access::ResponseOnly {
                me: "me@x.org".into(),
            },
            ..Snapshot::new(base_event())
        };
        let d = reconcile(Some(&b), seen(o), Observed::present(m.clone()), Policy::Ask);
        assert!(updates(&d, Side::Microsoft).is_empty());
        assert!(matches!(
            d.conflicts[0].kind,
            ConflictKind::NotOrganizer {
                read_only: Side::Microsoft,
                ..
            }
        ));
        // The organizer's change still reaches Odoo (a change of the others: the user's
        // own line is her answer, merged on its own).
        let mine = with(base_event(), |e| {
            e.attendees = vec![
                Attendee {
                    email: "me@x.org".into(),
                    response: Response::Accepted,
                },
                Attendee {
                    email: "carol@x.org".into(),
                    response: Response::NeedsAction,
                },
            ]
        });
        let m2 = Snapshot {
            access: Access::ResponseOnly {
                me: "me@x.org".into(),
            },
            ..Snapshot::new(mine)
        };
        let d = reconcile(
            Some(&b),
            seen(base_event()),
            Observed::present(m2),
            Policy::Ask,
        );
        assert_eq!(updates(&d, Side::Odoo), vec![vec![Field::Attendees]]);
        assert!(d.conflicts.is_empty());
    }

    #[test]
    fn accepting_an_invitation_in_odoo_answers_it_in_outlook_without_other_writes() {
        let invited = |r| {
            with(base_event(), |e| {
                e.organizer = Some("boss@partner.example".into());
                e.attendees = vec![
                    Attendee {
                        email: "me@x.org".into(),
                        response: r,
                    },
                    Attendee {
                        email: "amy@x.org".into(),
                        response: Response::Accepted,
                    },
                ];
            })
        };
        let b = Baseline::new(invited(Response::NeedsAction), None, None);
        let m = Snapshot {
            access: Access::ResponseOnly {
                me: "me@x.org".into(),
            },
            ..Snapshot::new(invited(Response::NeedsAction))
        };
        let d = reconcile(
            Some(&b),
            seen(invited(Response::Accepted)),
            Observed::present(m.clone()),
            Policy::Ask,
        );
        assert!(d.conflicts.is_empty(), "{:?}", d.conflicts);
        assert_eq!(
            d.ops,
            vec![
                Op::Respond {
                    side: Side::Microsoft,
                    response: Response::Accepted
                },
                Op::Link {
                    event: invited(Response::Accepted)
                },
            ]
        );
        // Someone else's answer is the organizer's list: a change to it on the user's own
        // copy goes nowhere, is no conflict, and the baseline keeps the organizer's list,
        // so the next cycle is quiet too.
        let other = with(invited(Response::NeedsAction), |e| {
            e.attendees[0].response = Response::Declined
        });
        let d = reconcile(
            Some(&b),
            seen(other.clone()),
            Observed::present(m.clone()),
            Policy::Ask,
        );
        assert!(d.conflicts.is_empty(), "{:?}", d.conflicts);
        assert!(
            d.ops.iter().all(|op| matches!(op, Op::Link { .. })),
            "{:?}",
            d.ops
        );
        let again = reconcile(
            Some(&Baseline::new(b.event.clone(), None, None)),
            seen(other),
            Observed::present(m),
            Policy::Ask,
        );
        assert!(
            again.ops.is_empty() && again.conflicts.is_empty(),
            "{:?}",
            again
        );
    }

    #[test]
    fn a_new_outlook_invitation_she_answered_is_created_in_odoo_then_answered_there() {
        let invitation = |response| Snapshot {
            access: Access::ResponseOnly {
                me: "me@x.org".into(),
            },
            ..Snapshot::new(
                with(base_event(), |e| {
                    e.organizer = Some("bob@x.org".into());
                    e.attendees = vec![Attendee {
                        email: "me@x.org".into(),
                        response,
                    }];
                })
                .normalized(),
            )
        };
        let answered = invitation(Response::Tentative);
        let d = reconcile(
            None,
            Observed::Quiet,
            Observed::present(answered.clone()),
            Policy::Ask,
        );
        assert_eq!(
            d.ops,
            [
                Op::Create {
                    side: Side::Odoo,
                    event: answered.event.clone(),
                },
                Op::Respond {
                    side: Side::Odoo,
                    response: Response::Tentative,
                },
                Op::Link {
                    event: answered.event
                },
            ]
        );
        // Not answered yet: Odoo's own `needsAction` row is the answer.
        let open = invitation(Response::NeedsAction);
        let d = reconcile(None, Observed::Quiet, Observed::present(open), Policy::Ask);
        assert!(
            !d.ops.iter().any(|o| matches!(o, Op::Respond { .. })),
            "{:?}",
            d.ops
        );
    }

    #[test]
    fn a_meeting_someone_else_organizes_settles_after_the_users_answer() {
        let guest = |e: Event| Snapshot {
            access: Access::ResponseOnly {
                me: "me@x.org".into(),
            },
            ..Snapshot::new(e)
        };
        let person = |email: &str, response| Attendee {
            email: email.into(),
            response,
        };
        let meeting = |list: Vec<Attendee>| {
            with(base_event(), |e| {
                e.organizer = Some("bob@x.org".into());
                e.attendees = list;
            })
            .normalized()
        };
        // Bob's Outlook meeting mirrored into Odoo: both copies are Bob's, and the lists
        // differ in what only Bob (or the others) can change: Carol's answer, Dan listed.
        let outlook = meeting(vec![
            person("me@x.org", Response::NeedsAction),
            person("carol@x.org", Response::Accepted),
        ]);
        let odoo = |mine| {
            meeting(vec![
                person("me@x.org", mine),
                person("carol@x.org", Response::NeedsAction),
                person("dan@x.org", Response::NeedsAction),
            ])
        };
        let b = Baseline::new(odoo(Response::NeedsAction), None, None);
        let d = reconcile(
            Some(&b),
            Observed::present(guest(odoo(Response::Declined))),
            Observed::present(guest(outlook.clone())),
            Policy::Ask,
        );
        assert!(d.conflicts.is_empty(), "{:?}", d.conflicts);
        let Some(Op::Link { event: settled }) = d.ops.last().cloned() else {
            panic!("a link: {:?}", d.ops)
        };
        assert_eq!(
            d.ops[..d.ops.len() - 1],
            [Op::Respond {
                side: Side::Microsoft,
                response: Response::Declined
            }]
        );
        // Next cycle: Outlook shows the answer; nothing is written, nothing conflicts.
        let answered = with(outlook.clone(), |e| {
            e.attendees[1].response = Response::Declined
        })
        .normalized();
        let d = reconcile(
            Some(&Baseline::new(settled.clone(), None, None)),
            Observed::present(guest(odoo(Response::Declined))),
            Observed::present(guest(answered.clone())),
            Policy::Ask,
        );
        assert!(d.conflicts.is_empty(), "{:?}", d.conflicts);
        assert!(
            d.ops.iter().all(|op| matches!(op, Op::Link { .. })),
            "{:?}",
            d.ops
        );
        let settled = match d.ops.last() {
            Some(Op::Link { event }) => event.clone(),
            _ => settled,
        };
        let d = reconcile(
            Some(&Baseline::new(settled, None, None)),
            Observed::present(guest(odoo(Response::Declined))),
            Observed::present(guest(answered)),
            Policy::Ask,
        );
        assert!(d.ops.is_empty() && d.conflicts.is_empty(), "{:?}", d);
        // Answers made on both sides since the baseline, differently: a conflict on the
        // answer, decided by the policy as any field.
        let d = reconcile(
            Some(&b),
            Observed::present(guest(odoo(Response::Accepted))),
            Observed::present(guest(with(outlook.clone(), |e| {
                e.attendees[1].response = Response::Tentative
            }))),
            Policy::OdooWins,
        );
        assert_eq!(d.conflicts.len(), 1);
        assert!(d.ops.contains(&Op::Respond {
            side: Side::Microsoft,
            response: Response::Accepted
        }));
    }

    #[test]
    fn the_organizers_list_reaches_the_users_own_copy_and_her_edits_there_stay() {
        // Bob's Odoo meeting, copied to Outlook where the copy is the user's own (she
        // organizes it there, so Outlook does not list her).
        let bobs = |list: Vec<Attendee>| Snapshot {
            access: Access::ResponseOnly {
                me: "me@x.org".into(),
            },
            ..Snapshot::new(
                with(base_event(), |e| {
                    e.organizer = Some("bob@x.org".into());
                    e.attendees = list;
                })
                .normalized(),
            )
        };
        let me = |response| Attendee {
            email: "me@x.org".into(),
            response,
        };
        let carol = Attendee {
            email: "carol@x.org".into(),
            response: Response::NeedsAction,
        };
        let copy = with(base_event(), |e| e.organizer = Some("me@x.org".into()));
        let b = Baseline::new(bobs(vec![me(Response::NeedsAction)]).event, None, None);
        // Her answer in Odoo: nothing to write in Outlook, no conflict.
        let d = reconcile(
            Some(&b),
            Observed::present(bobs(vec![me(Response::Accepted)])),
            seen(copy.clone()),
            Policy::Ask,
        );
        assert!(d.conflicts.is_empty(), "{:?}", d.conflicts);
        assert!(updates(&d, Side::Microsoft).is_empty(), "{:?}", d.ops);
        // Bob invites Carol: his list reaches her copy.
        let d = reconcile(
            Some(&b),
            Observed::present(bobs(vec![me(Response::NeedsAction), carol.clone()])),
            seen(copy.clone()),
            Policy::Ask,
        );
        assert_eq!(updates(&d, Side::Microsoft), vec![vec![Field::Attendees]]);
        // She adds Carol on her own copy: not Bob's list, no write to Odoo, no conflict.
        let d = reconcile(
            Some(&b),
            Observed::present(bobs(vec![me(Response::NeedsAction)])),
            seen(with(copy, |e| e.attendees = vec![carol])),
            Policy::Ask,
        );
        assert!(d.conflicts.is_empty() && d.ops.is_empty(), "{:?}", d);
    }

    #[test]
    fn outlook_update_mails_are_listed_for_what_attendees_see_and_odoo_never_mails() {
        let meeting = with(base_event(), |e| {
            e.attendees = vec![Attendee {
                email: "amy@x.org".into(),
                response: Response::Accepted,
            }]
        });
        let b = Baseline::new(meeting.clone(), None, None);
        let moved = with(meeting.clone(), |e| {
            if let crate::When::Timed { start, end } = e.when {
                e.when = crate::When::Timed {
                    start: start + chrono::Duration::hours(1),
                    end: end + chrono::Duration::hours(1),
                };
            }
        });
        let d = reconcile(Some(&b), seen(moved), seen(meeting.clone()), Policy::Ask);
        assert_eq!(
            d.mails,
            vec![Mail {
                side: Side::Microsoft,
                kind: MailKind::Update,
                recipients: vec!["amy@x.org".into()]
            }]
        );
        // Outlook mails an update for a PATCH of the subject, location or body of a meeting
        // the user organizes, not for the organizer's own fields.
        for edit in [
            |e: &mut Event| e.title = "New name".into(),
            |e: &mut Event| e.location = "Room 2".into(),
            |e: &mut Event| e.description = "<p>agenda</p>".into(),
        ] {
            let edited = with(meeting.clone(), edit).normalized();
            let d = reconcile(Some(&b), seen(edited), seen(meeting.clone()), Policy::Ask);
            assert_eq!(d.mails.len(), 1, "{:?}", d.ops);
            assert_eq!(d.mails[0].kind, MailKind::Update);
            assert_eq!(d.mails[0].recipients, vec!["amy@x.org".to_owned()]);
        }
        let tagged = with(meeting.clone(), |e| e.categories = vec!["Blue".into()]);
        let d = reconcile(Some(&b), seen(tagged), seen(meeting.clone()), Policy::Ask);
        assert_eq!(d.ops.len(), 2, "an update and the link");
        assert!(d.mails.is_empty(), "categories mail nobody");
        // An attendee added: only the changed attendee hears of it.
        let invited = with(meeting.clone(), |e| {
            e.attendees.push(Attendee {
                email: "bob@x.org".into(),
                response: Response::NeedsAction,
            })
        })
        .normalized();
        let d = reconcile(Some(&b), seen(invited), seen(meeting.clone()), Policy::Ask);
        assert_eq!(d.mails[0].recipients, vec!["bob@x.org".to_owned()]);
        // A copy the user does not organize is never updated: no mail either.
        let retitled = with(meeting.clone(), |e| e.title = "New name".into());
        let guest = Snapshot {
            event: meeting.clone(),
            version: None,
            modified: None,
            access: Access::ResponseOnly {
                me: "me@x.org".into(),
            },
        };
        let d = reconcile(
            Some(&b),
            seen(retitled),
            Observed::present(guest),
            Policy::Ask,
        );
        assert!(d.mails.is_empty(), "{:?}", d.mails);
        // Odoo is written with no_mail_to_attendees: deleting there mails nobody.
        let d = reconcile(Some(&b), seen(meeting.clone()), Observed::Gone, Policy::Ask);
        assert!(matches!(
            d.ops[0],
            Op::Delete {
                side: Side::Odoo,
                ..
            }
        ));
        assert!(d.mails.is_empty());
        let d = reconcile(None, seen(meeting), Observed::Gone, Policy::Ask);
        assert_eq!(d.mails[0].kind, MailKind::Invitation);
        // An event without attendees mails nobody.
        let d = reconcile(None, seen(base_event()), Observed::Gone, Policy::Ask);
        assert!(d.mails.is_empty());
    }

    #[test]
    fn a_baseline_from_an_older_canonical_form_is_rebased_without_writes() {
        let mut old = baseline();
        // As if an older normaliser had stored the description differently.
        old.event.description = "<div>legacy</div>".into();
        old.hash = old.event.hash();
        let now = with(base_event(), |e| e.description = "<p>legacy</p>".into());
        let d = reconcile(
            Some(&old),
            seen(now.clone()),
            seen(now.clone()),
            Policy::Ask,
        );
        assert_eq!((d.odoo, d.microsoft), (State::Changed, State::Changed));
        assert_eq!(d.ops, vec![Op::Link { event: now }]);
        assert!(d.conflicts.is_empty());
    }

    /// Every combination of inputs reaches a real arm of the table (the impossible arm is
    /// for combinations `classify` cannot produce), with the states the docs promise.
    #[test]
    fn every_input_combination_reaches_a_real_arm_of_the_table() {
        let observations = || {
            vec![
                seen(base_event()),
                seen(with(base_event(), |e| e.title = "edited".into())),
                Observed::Gone,
                Observed::Quiet,
            ]
        };
        let mut arms = std::collections::BTreeSet::new();
        for b in [None, Some(baseline())] {
            for o in observations() {
                for m in observations() {
                    for policy in [
                        Policy::Ask,
                        Policy::OdooWins,
                        Policy::MicrosoftWins,
                        Policy::NewestWins,
                    ] {
                        let d = reconcile(b.as_ref(), o.clone(), m.clone(), policy);
                        assert_eq!(d.error, None, "{b:?} {o:?} {m:?}");
                        for state in [d.odoo, d.microsoft] {
                            let allowed: &[State] = if b.is_some() {
                                &[State::Changed, State::Unchanged, State::Deleted]
                            } else {
                                &[State::Created, State::Absent]
                            };
                            assert!(allowed.contains(&state));
                        }
                        arms.insert(d.rule.clone());
                    }
                }
            }
        }
        // 9 linked arms + 4 unlinked arms; the unchanged arm has two texts (tokens).
        assert_eq!(arms.len(), 13, "{arms:#?}");
    }

    fn item(key: &str, o: Observed, m: Observed) -> Item {
        Item {
            key: key.into(),
            baseline: Some(baseline()),
            odoo: o,
            microsoft: m,
        }
    }

    #[test]
    fn a_plan_is_in_key_order_and_refuses_items_that_share_a_key() {
        let p = plan(
            vec![
                item("b", Observed::Gone, Observed::Quiet),
                item("a", Observed::Quiet, Observed::Quiet),
                item("c", Observed::Quiet, Observed::Gone),
                item("c", Observed::Quiet, Observed::Quiet),
            ],
            Policy::Ask,
        );
        let keys: Vec<&str> = p.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert!(p.entries[2].decision.ops.is_empty());
        assert!(p.entries[2].decision.error.is_some());
        assert_eq!(p.counts.errors, 1);
        assert_eq!(p.counts.microsoft.deletes, 1);
    }

    #[test]
    fn the_mass_change_guard_trips_on_count_or_fraction() {
        let items: Vec<Item> = (0..5)
            .map(|i| item(&format!("k{i}"), Observed::Gone, Observed::Quiet))
            .collect();
        let p = plan(items, Policy::Ask);
        assert_eq!(p.counts.destructive(), 5);
        assert!(p.exceeds(4, 0.5, 1000), "more than 4 items");
        assert!(!p.exceeds(20, 0.1, 1000), "5 of 1000 is under both limits");
        assert!(p.exceeds(20, 0.1, 40), "5 of 40 is over 10 %");
        let quiet = plan(
            vec![item("k", Observed::Quiet, Observed::Quiet)],
            Policy::Ask,
        );
        assert!(!quiet.exceeds(0, 0.0, 1));
        assert!(!quiet.has_writes());
    }

    #[test]
    fn a_plan_serialises_and_reads_as_a_summary() {
        let edited = with(base_event(), |e| e.title = "Odoo".into());
        let other = with(base_event(), |e| e.title = "Outlook".into());
        let p = plan(
            vec![
                item("x", Observed::Gone, Observed::Quiet),
                item("y", seen(edited), seen(other)),
                Item {
                    key: "z".into(),
                    baseline: None,
                    odoo: seen(base_event()),
                    microsoft: Observed::Gone,
                },
            ],
            Policy::Ask,
        );
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["entries"][0]["decision"]["ops"][0]["op"], "delete");
        assert_eq!(json["policy"], "ask");
        let text = p.summary();
        assert!(text.contains("delete in Outlook: \"Review\""), "{text}");
        assert!(
            text.contains("title: base \"Review\", Odoo \"Odoo\", Outlook \"Outlook\""),
            "{text}"
        );
        assert!(text.contains("create in Outlook: \"Review\""), "{text}");
        assert!(text.starts_with("Odoo: 0 to create, 0 to update, 0 to delete. Outlook: 1 to create, 0 to update, 1 to delete. 1 conflict(s)"), "{text}");
        let back: Plan = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
    }
}
