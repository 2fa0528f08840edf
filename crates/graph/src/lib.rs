//! Microsoft Graph client for Odoo365 Sync. It knows Graph, not sync: events, drive items,
//! subscriptions, `$batch`, delta paging, upload sessions and their typed errors. This first
//! slice holds the content hash OneDrive reports for every file.
//!
//! Invariants: hashes are compared as bytes, never as text, because OneDrive has reported
//! the same QuickXorHash both as base64 and as hex.

pub mod hashes;

pub use hashes::{quick_xor_hash, QuickXorHash, QuickXorHashText};
