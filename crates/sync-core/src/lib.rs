//! The pure core of Odoo365 Sync: the canonical model both services are mapped to, the
//! field hashes that tell a real change from an echo of our own write, and (as it grows)
//! the baseline and the reconcile/plan decision table.
//!
//! Invariants: no async, no I/O, no clock, no randomness. Values in, decisions out, so
//! every function here can be tested exhaustively and replayed deterministically. The
//! workspace's `clippy.toml` for this crate forbids the real clock and thread RNG.

pub mod canonical;
pub mod error;
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
    plan, reconcile, Access, Baseline, Conflict, ConflictKind, Decision, Item, Observed, Op, Plan,
    Policy, Resolution, Snapshot, State,
};
pub use side::Side;

#[cfg(test)]
mod mapping_tests;
