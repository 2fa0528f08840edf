//! The runtime of Odoo365 Sync: the SQLite store (links, baselines, cursors, jobs, conflicts,
//! audit log), and, as it grows, the durable job queue, the executor, the per-profile
//! scheduler and the webhook listener. It defines the ports (traits) it needs from the
//! service clients; `crates/app` plugs the real clients in.
//!
//! Invariants: every state change is persisted before the step that depends on it, so a
//! crash at any point re-runs from the store without duplicates; no secret is ever written
//! to the store (secrets live in the keychain).

pub mod clock;
pub mod ports;
pub mod state;
pub mod store;
pub mod sync;
#[cfg(feature = "testing")]
pub mod testing;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ports::{DeltaRound, MicrosoftCalendar, OdooCalendar, PortError, PortResult, Window};
pub use state::{
    AuditEntry, ConflictRecord, Job, JobState, JournalEntry, Link, LinkKind, NewAudit, NewLink,
    Origin, StoredBaseline, Tx,
};
pub use store::{Store, StoreError};
pub use sync::{
    teams_requested, ConflictChoice, CycleReport, Engine, EngineConfig, EngineError, Guard, Guards,
    ItemError, Outcome, SyncOptions,
};
