//! The runtime of Odoo365 Sync: the SQLite store (links, baselines, cursors, jobs, conflicts,
//! audit log, journal), the calendar sync engine ([`Engine`]: observe, plan, guard, queue,
//! execute) and the ports it drives ([`MicrosoftCalendar`], [`OdooCalendar`]).
//! `crates/app` plugs the real clients into the ports; tests use the fakes of `testing`
//! (feature `testing`).
//!
//! The app drives a cycle with [`Engine::sync`] and reads the [`CycleReport`]: `Paused`
//! means a guard (first sync, mass change, attendee mails) wants confirmation, given by
//! running again with [`SyncOptions::confirm`]. Conflicts are settled with
//! [`Engine::resolve_conflict`], failed items retried with [`Engine::retry`], journaled
//! versions restored with [`Engine::restore`].
//!
//! Documents (Odoo attachments ⇄ OneDrive folders) run through [`FileSync`], a second
//! entry point on the same store with its own ports ([`Drive`], [`OdooAttachments`]); see
//! [`files`].
//!
//! Invariants: every state change is persisted before the step that depends on it, so a
//! crash at any point re-runs from the store without duplicates; no secret is ever written
//! to the store (secrets live in the keychain).

pub mod clock;
pub mod files;
pub mod ports;
pub mod state;
pub mod store;
pub mod sync;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhook;

pub use clock::{Clock, ManualClock, SystemClock};
pub use files::{Drive, FileConfig, FileReport, FileSync, OdooAttachments};
pub use ports::{
    DeltaRound, MicrosoftCalendar, OdooCalendar, OdooSeries, PortError, PortResult, Window,
    GRAPH_CREATE_BATCH,
};
pub use state::{
    AuditEntry, ConflictRecord, Job, JobState, JournalEntry, Link, LinkKind, NewAudit, NewLink,
    Origin, StoredBaseline, Tx,
};
pub use store::{Store, StoreError};
pub use sync::{
    teams_requested, ConflictChoice, CycleReport, Engine, EngineConfig, EngineError, Guard, Guards,
    ItemError, Outcome, SyncOptions, ODOO_CREATE_BATCH,
};
