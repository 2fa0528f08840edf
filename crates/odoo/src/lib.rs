//! Odoo external API client for Odoo365 Sync. It knows Odoo, not sync: version detection,
//! JSON-2 (Odoo 19+) and JSON-RPC (16-18) behind one typed API, and the models the sync
//! reads and writes. This first slice holds version detection.
//!
//! Invariants: the transport is chosen from the server's own version, never guessed from
//! the URL; `saas~` versions are ordered by their numbers like any other.

pub mod version;

pub use version::{ServerVersion, Transport, VersionError};
