//! `make bench`: the real engine through the real adapters (`crates/app`) against both
//! emulators on loopback, measured, and written as one table into `docs/BENCHMARKS.md`.
//!
//! The emulators run in the harness process; every measured engine run is a child process
//! (`odoo365-bench child PHASE`), so its CPU time and peak RSS (`VmHWM`) are the engine's
//! own and per scenario. See the crate README for the scenarios and what each figure means.

pub mod child;
pub mod engine;
pub mod files;
pub mod measure;
pub mod report;
pub mod scenarios;
pub mod world;
