//! Test kit for Odoo365 Sync: faithful emulators of the two services the app talks to,
//! plus the shared pieces that make a whole run reproducible.
//!
//! * [`graph`]: Microsoft 365 (Graph v1.0 calendar, OneDrive, change notifications,
//!   `$batch`, the identity platform), built from `shared/specs/graph.md`.
//! * [`odoo`]: Odoo's external API (JSON-2, JSON-RPC), built from `shared/specs/odoo.md`.
//! * [`demo`]: the demo scenario's people and its timeline (`odoo365-sim --scenario demo`).
//! * [`sim`]: what the `odoo365-sim` binary serves, as a library.
//! * [`fixture`]: both emulators with Alice in each, her profile and her sign-in, as every
//!   test of the app against the emulators sets them up (the `app` feature adds the
//!   app-level half).
//! * [`clock`], [`faults`], [`reqlog`]: the virtual clock, the seeded fault plan and the
//!   request log that both emulators share, so one seed reproduces a whole run.
//!
//! Invariants: the emulators bind only to loopback; every behaviour they emulate is written
//! down with its source in `crates/testkit/README.md`; this crate is a dev-dependency and the
//! demo's server, never linked into the shipped app.

pub mod clock;
pub mod demo;
pub mod faults;
pub mod fixture;
pub mod graph;
pub mod odoo;
pub mod reqlog;
pub mod sim;

pub use clock::Clock;
pub use faults::{Fault, FaultPlan, FaultRule};
pub use reqlog::{RequestLog, RequestRecord};
