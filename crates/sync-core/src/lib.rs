//! The pure core of Odoo365 Sync: the canonical event both services are mapped to, the
//! field hashes that tell a real change from an echo of our own write, the baseline, and
//! the reconcile/plan decision table.
//!
//! * [`canonical`]: the [`Event`] model, its synced [`Field`]s, per-field values and
//!   hashes, and the list of what each side cannot represent.
//! * [`graph`] / [`odoo`]: mapping to and from Graph event JSON and Odoo `calendar.event`
//!   records; [`html`], [`tz`] and [`rrule`] are the normalisers they share;
//!   [`expand`] lists a series' occurrences for matching them across sides.
//! * [`files`]: documents sync (attachments ⇄ OneDrive files): the canonical file item,
//!   OneDrive-safe names, the folder layout and the per-file decision table.
//! * [`reconcile`](mod@reconcile): [`reconcile()`] for one item (an exhaustive table over the states of
//!   both sides and the baseline, with a per-field three-way merge), [`plan()`] for a batch,
//!   and the [`Plan`] value the engine shows, guards and executes.
//!
//! Invariants: no async, no I/O, no clock, no randomness. Values in, decisions out, so
//! every function here is tested exhaustively and replays deterministically; the crate's
//! `clippy.toml` forbids the real clock and thread RNG. No function panics on any input
//! (mapping returns [`MapError`]; impossible planner states return an error decision).
//!
//! Loop safety rests on one rule: a side changed only when the hash of its canonical
//! form differs from the baseline's. Every mapper therefore reads back what it wrote to
//! the same canonical value (tested per field in `mapping_tests`).

pub mod canonical;
pub mod error;
pub mod expand;
pub mod files;
pub mod graph;
pub mod hash;
pub mod html;
pub mod odoo;
pub mod reconcile;
pub mod rrule;
pub mod side;
pub mod tz;

pub use canonical::{Event, Field, FieldValues, When};
pub use error::MapError;
pub use hash::FieldHash;
pub use reconcile::{
    plan, plan_directed, reconcile, reconcile_directed, Access, Baseline, Conflict, ConflictKind,
    Decision, Direction, Item, Mail, MailKind, Observed, Op, Plan, Policy, Resolution, Snapshot,
    State,
};
pub use side::Side;

#[cfg(test)]
mod mapping_tests;
