//! Documents sync, pure part: the canonical file item, OneDrive-safe names, the folder
//! layout and the reconcile decision table for one attachment ⇄ driveItem pair.
//!
//! * [`names`]: reversible OneDrive-safe names, duplicate suffixes, conflict copy names.
//! * [`layout`]: `<root>/<model>/<record id>/<name>`, built and parsed.
//! * [`reconcile`](mod@reconcile): [`reconcile()`] decides what to do for one item from its
//!   baseline and what each side shows now.
//!
//! Change detection is per side and by hash: Odoo's version of an item is compared with
//! the Odoo half of the baseline (SHA-1 `checksum`, name, record), OneDrive's with the
//! OneDrive half (QuickXorHash, name, folder). The two halves never need to agree byte
//! for byte (Odoo may resize an image it was given; OneDrive keeps the original): each
//! side is recorded as it stood after sync wrote it, so neither looks changed afterwards.

pub mod layout;
pub mod names;
pub mod reconcile;

use serde::{Deserialize, Serialize};

pub use reconcile::{
    reconcile, DeletePolicy, Direction, DriveState, FileConflictKind, FileDecision, FileField,
    FileItem, FileOp, FileSettings, OdooState,
};

/// The record an attachment belongs to (and whose folder holds its file).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordKey {
    pub model: String,
    pub res_id: i64,
}

impl RecordKey {
    pub fn new(model: &str, res_id: i64) -> RecordKey {
        RecordKey {
            model: model.to_owned(),
            res_id,
        }
    }
}

impl std::fmt::Display for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.model, self.res_id)
    }
}
