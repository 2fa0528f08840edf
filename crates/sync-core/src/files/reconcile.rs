//! The decision table for one file: an attachment, its OneDrive file, and the baseline
//! of both.
//!
//! | baseline | Odoo | OneDrive | decision (two-way) | rule |
//! |---|---|---|---|---|
//! | – | – | – | nothing | `nothing` |
//! | – | A | – | upload A into its record's folder | `new_in_odoo` |
//! | – | – | F | create an attachment on F's record | `new_in_onedrive` |
//! | – | A | F | link them (paired by record, name and hash after a lost store) | `relinked` |
//! | B | – | – | forget the link | `deleted_on_both_sides` |
//! | B | – | F unchanged | delete F (recycle bin), forget | `deleted_in_odoo` |
//! | B | – | F changed | the edit wins: new attachment from F, user told | `edit_wins_over_delete` |
//! | B | A unchanged | – | delete A (policy `delete`) or keep it unlinked (`keep`) | `deleted_in_onedrive` |
//! | (one-way) | edited on the target side, deleted on the source | | the edit stays, unlinked | `…_kept` |
//! | B | A changed | – | the edit wins: upload A again, user told | `edit_wins_over_delete` |
//! | B | A | F | per field (content, name, record), three-way: | |
//! | | content changed on one side | | copy it to the other (`DriveReplace` / `OdooReplace`) | `changed_in_*` |
//! | | content changed on both | | keep both: Odoo's version uploaded as `name (Odoo conflict DATE).ext` and linked to A, F becomes a new attachment, conflict record | `both_changed_keep_both` |
//! | | name / record changed on one side | | rename / move on the other | `renamed_in_*`, `moved_in_*` |
//! | | name / record changed on both, differently | | Odoo's wins, user told | `renamed_on_both_sides`, `moved_on_both_sides` |
//! | | F in a folder that is no readable record | | nothing; reported | `unplaced` |
//!
//! A rename on one side and a content edit on the other merge (both are applied).
//!
//! **One-way directions.** With `OdooToDrive` (or `DriveToOdoo`) only the source side's
//! changes are copied; the target side's changes are *ignored*, not undone and not
//! recorded as agreed: they stay "changed since the baseline", so a later change of the
//! same item on the source side meets them as a both-changed conflict and both versions
//! are kept. A delete on the target side is undone from the source (the source owns which
//! files exist). Nothing is ever overwritten that sync has not copied before.

use serde::{Deserialize, Serialize};

use super::names;
use super::RecordKey;
use crate::side::Side;

/// Which way documents flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Both,
    #[serde(rename = "odoo_to_onedrive")]
    OdooToDrive,
    #[serde(rename = "onedrive_to_odoo")]
    DriveToOdoo,
}

impl Direction {
    /// Odoo's changes are copied to OneDrive.
    pub fn to_drive(self) -> bool {
        matches!(self, Direction::Both | Direction::OdooToDrive)
    }

    /// OneDrive's changes are copied to Odoo.
    pub fn to_odoo(self) -> bool {
        matches!(self, Direction::Both | Direction::DriveToOdoo)
    }
}

/// What a file deleted in OneDrive does to its attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletePolicy {
    /// The attachment is deleted too.
    #[default]
    Delete,
    /// The attachment stays in Odoo, unlinked; it is uploaded again only if it changes.
    Keep,
}

/// The file settings the decision table reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FileSettings {
    pub direction: Direction,
    pub on_drive_delete: DeletePolicy,
}

/// An attachment as Odoo shows it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdooState {
    pub record: RecordKey,
    /// The original name (never the OneDrive-safe form).
    pub name: String,
    /// `checksum` (SHA-1 hex).
    pub sha1: Option<String>,
    pub size: u64,
}

/// A file as OneDrive shows it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveState {
    /// The record its folder names; `None` when its folder names no readable record.
    pub record: Option<RecordKey>,
    /// The OneDrive name (safe form).
    pub name: String,
    /// `quickXorHash`; `None` while OneDrive has none (the content is then unknown).
    pub quick_xor: Option<String>,
    pub size: u64,
}

/// The canonical file item: each side as sync last recorded it (the baseline).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FileItem {
    pub odoo: Option<OdooState>,
    /// `None` for an attachment kept in Odoo after its file was deleted in OneDrive.
    pub drive: Option<DriveState>,
    /// The OneDrive `lastModifiedDateTime` last seen (shown, not compared).
    #[serde(default)]
    pub mtime: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileField {
    Content,
    Name,
    Record,
}

/// One step of a file's job. The ids come from the item's link; names are Odoo names
/// (the engine maps them to safe, unique OneDrive names in the target folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FileOp {
    /// Upload the attachment as a new file in the record's folder (and link it).
    DriveCreate {
        record: RecordKey,
        name: String,
    },
    /// Upload the attachment's content over the linked file.
    DriveReplace,
    DriveRename {
        name: String,
    },
    DriveMove {
        record: RecordKey,
    },
    /// Into the recycle bin.
    DriveDelete,
    /// Create an attachment on `record` from the linked file (and link it).
    OdooCreate {
        record: RecordKey,
        name: String,
    },
    OdooReplace,
    OdooRename {
        name: String,
    },
    OdooMove {
        record: RecordKey,
    },
    OdooDelete,
    /// Both contents changed: Odoo's version goes to OneDrive as a conflict copy linked to
    /// the attachment (`to_drive`), and the OneDrive file becomes a new attachment linked
    /// to it (`to_odoo`).
    KeepBoth {
        to_drive: bool,
        to_odoo: bool,
    },
    /// Record the pair found by path and hash as linked.
    Link,
    /// Forget the link.
    Unlink,
    /// The file is gone, the attachment stays: remember it as unlinked on OneDrive.
    Detach,
}

impl FileOp {
    /// The side this op writes to (`None` for store-only bookkeeping).
    pub fn writes_to(&self) -> Option<Side> {
        match self {
            FileOp::DriveCreate { .. }
            | FileOp::DriveReplace
            | FileOp::DriveRename { .. }
            | FileOp::DriveMove { .. }
            | FileOp::DriveDelete => Some(Side::Microsoft),
            FileOp::OdooCreate { .. }
            | FileOp::OdooReplace
            | FileOp::OdooRename { .. }
            | FileOp::OdooMove { .. }
            | FileOp::OdooDelete => Some(Side::Odoo),
            FileOp::KeepBoth { .. } | FileOp::Link | FileOp::Unlink | FileOp::Detach => None,
        }
    }

    /// Deletes and content overwrites: what the mass-change guard counts.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            FileOp::DriveDelete | FileOp::OdooDelete | FileOp::DriveReplace | FileOp::OdooReplace
        )
    }

    /// Moves content (upload or download), as opposed to metadata only.
    pub fn moves_content(&self) -> bool {
        matches!(
            self,
            FileOp::DriveCreate { .. }
                | FileOp::DriveReplace
                | FileOp::OdooCreate { .. }
                | FileOp::OdooReplace
                | FileOp::KeepBoth { .. }
        )
    }
}

/// Conflicts the user is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileConflictKind {
    /// Content changed on both sides: both versions kept.
    Content,
    /// Changed on one side, deleted on the other: the edit won.
    EditVsDelete,
    /// Renamed or moved differently on both sides: Odoo's won.
    Metadata,
}

/// What to do for one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDecision {
    pub ops: Vec<FileOp>,
    pub rule: String,
    pub conflict: Option<FileConflictKind>,
    /// Target-side changes of a one-way direction, left alone: their baseline half keeps
    /// its old value for these fields.
    pub ignored: Vec<(Side, FileField)>,
    /// The OneDrive file sits where no readable record is: reported, not touched.
    pub unplaced: bool,
}

impl FileDecision {
    fn new(rule: &str, ops: Vec<FileOp>) -> FileDecision {
        FileDecision {
            ops,
            rule: rule.to_owned(),
            conflict: None,
            ignored: Vec::new(),
            unplaced: false,
        }
    }

    fn conflict(mut self, kind: FileConflictKind) -> Self {
        self.conflict = Some(kind);
        self
    }

    /// Writes nothing anywhere.
    pub fn is_noop(&self) -> bool {
        self.ops.is_empty()
    }
}

fn odoo_changes(o: &OdooState, b: Option<&OdooState>) -> Vec<FileField> {
    let Some(b) = b else {
        return vec![FileField::Content, FileField::Name, FileField::Record];
    };
    let mut out = Vec::new();
    if o.sha1 != b.sha1 {
        out.push(FileField::Content);
    }
    if o.name != b.name {
        out.push(FileField::Name);
    }
    if o.record != b.record {
        out.push(FileField::Record);
    }
    out
}

fn drive_changes(d: &DriveState, b: Option<&DriveState>) -> Vec<FileField> {
    let Some(b) = b else {
        return vec![FileField::Content, FileField::Name, FileField::Record];
    };
    let mut out = Vec::new();
    let content = match (&d.quick_xor, &b.quick_xor) {
        // No hash yet (co-authoring): unknown, so not a change until OneDrive reports one.
        (None, _) => false,
        (Some(q), Some(bq)) => q != bq,
        (Some(_), None) => d.size != b.size,
    };
    if content {
        out.push(FileField::Content);
    }
    if d.name != b.name {
        out.push(FileField::Name);
    }
    if d.record != b.record {
        out.push(FileField::Record);
    }
    out
}

/// Decides what to do for one file (see the module docs for the table).
pub fn reconcile(
    base: Option<&FileItem>,
    odoo: Option<&OdooState>,
    drive: Option<&DriveState>,
    s: &FileSettings,
) -> FileDecision {
    let (to_drive, to_odoo) = (s.direction.to_drive(), s.direction.to_odoo());
    if let Some(d) = drive {
        if d.record.is_none() {
            let mut dec = FileDecision::new("unplaced", vec![]);
            dec.unplaced = true;
            return dec;
        }
    }
    let base_drive = base.and_then(|b| b.drive.as_ref());
    let base_odoo = base.and_then(|b| b.odoo.as_ref());
    match (base, odoo, drive) {
        (None, None, None) => FileDecision::new("nothing", vec![]),
        (None, Some(o), None) => {
            if to_drive {
                FileDecision::new(
                    "new_in_odoo",
                    vec![FileOp::DriveCreate {
                        record: o.record.clone(),
                        name: o.name.clone(),
                    }],
                )
            } else {
                FileDecision::new("one_way_ignored", vec![])
            }
        }
        (None, None, Some(d)) => match (&d.record, to_odoo) {
            (Some(r), true) => FileDecision::new(
                "new_in_onedrive",
                vec![FileOp::OdooCreate {
                    record: r.clone(),
                    name: names::from_drive(&d.name),
                }],
            ),
            _ => FileDecision::new("one_way_ignored", vec![]),
        },
        (None, Some(_), Some(_)) => FileDecision::new("relinked", vec![FileOp::Link]),
        (Some(_), None, None) => FileDecision::new("deleted_on_both_sides", vec![FileOp::Unlink]),
        (Some(_), None, Some(d)) => {
            let changed = !drive_changes(d, base_drive).is_empty();
            let record = d.record.clone().unwrap_or_else(|| RecordKey::new("", 0));
            let recreate = FileOp::OdooCreate {
                record,
                name: names::from_drive(&d.name),
            };
            if changed && to_odoo {
                FileDecision::new("edit_wins_over_delete", vec![recreate])
                    .conflict(FileConflictKind::EditVsDelete)
            } else if changed {
                // One-way to OneDrive: the edited file is not Odoo's to delete.
                FileDecision::new("deleted_in_odoo_edited_file_kept", vec![FileOp::Unlink])
                    .conflict(FileConflictKind::EditVsDelete)
            } else if to_drive {
                FileDecision::new("deleted_in_odoo", vec![FileOp::DriveDelete, FileOp::Unlink])
            } else {
                FileDecision::new("one_way_restore", vec![recreate])
            }
        }
        (Some(b), Some(o), None) => {
            let changed = !odoo_changes(o, base_odoo).is_empty();
            let reupload = FileOp::DriveCreate {
                record: o.record.clone(),
                name: o.name.clone(),
            };
            if b.drive.is_none() {
                // Kept in Odoo after a OneDrive delete: only a new edit sends it back.
                return if changed && to_drive {
                    FileDecision::new("changed_after_onedrive_delete", vec![reupload])
                } else {
                    FileDecision::new("kept_in_odoo", vec![])
                };
            }
            if changed && to_drive {
                FileDecision::new("edit_wins_over_delete", vec![reupload])
                    .conflict(FileConflictKind::EditVsDelete)
            } else if changed {
                // One-way to Odoo: the edited attachment stays, unlinked.
                FileDecision::new(
                    "deleted_in_onedrive_edited_attachment_kept",
                    vec![FileOp::Detach],
                )
                .conflict(FileConflictKind::EditVsDelete)
            } else if to_odoo {
                match s.on_drive_delete {
                    DeletePolicy::Delete => FileDecision::new(
                        "deleted_in_onedrive",
                        vec![FileOp::OdooDelete, FileOp::Unlink],
                    ),
                    DeletePolicy::Keep => {
                        FileDecision::new("deleted_in_onedrive_kept_in_odoo", vec![FileOp::Detach])
                    }
                }
            } else {
                FileDecision::new("one_way_restore", vec![reupload])
            }
        }
        (Some(_), Some(o), Some(d)) => merge(o, d, base_odoo, base_drive, to_drive, to_odoo),
    }
}

fn merge(
    o: &OdooState,
    d: &DriveState,
    bo: Option<&OdooState>,
    bd: Option<&DriveState>,
    to_drive: bool,
    to_odoo: bool,
) -> FileDecision {
    let oc = odoo_changes(o, bo);
    let dc = drive_changes(d, bd);
    let has = |l: &[FileField], f| l.contains(&f);
    if has(&oc, FileField::Content) && has(&dc, FileField::Content) {
        return FileDecision::new(
            "both_changed_keep_both",
            vec![FileOp::KeepBoth { to_drive, to_odoo }],
        )
        .conflict(FileConflictKind::Content);
    }
    let mut dec = FileDecision::new("unchanged", vec![]);
    let mut rules: Vec<&str> = Vec::new();
    let ignore = |dec: &mut FileDecision, side: Side, f: FileField| {
        dec.ignored.push((side, f));
    };
    // Content.
    if has(&oc, FileField::Content) {
        if to_drive {
            dec.ops.push(FileOp::DriveReplace);
            rules.push("changed_in_odoo");
        } else {
            ignore(&mut dec, Side::Odoo, FileField::Content);
        }
    } else if has(&dc, FileField::Content) {
        if to_odoo {
            dec.ops.push(FileOp::OdooReplace);
            rules.push("changed_in_onedrive");
        } else {
            ignore(&mut dec, Side::Microsoft, FileField::Content);
        }
    }
    // Name.
    let (on, dn) = (has(&oc, FileField::Name), has(&dc, FileField::Name));
    if on && dn && names::to_drive(&o.name) != d.name && names::from_drive(&d.name) != o.name {
        if to_drive {
            dec.ops.push(FileOp::DriveRename {
                name: o.name.clone(),
            });
            dec.conflict = Some(FileConflictKind::Metadata);
            rules.push("renamed_on_both_sides");
        } else {
            dec.ops.push(FileOp::OdooRename {
                name: names::from_drive(&d.name),
            });
            rules.push("renamed_on_both_sides");
        }
    } else if on && !dn {
        if to_drive {
            dec.ops.push(FileOp::DriveRename {
                name: o.name.clone(),
            });
            rules.push("renamed_in_odoo");
        } else {
            ignore(&mut dec, Side::Odoo, FileField::Name);
        }
    } else if dn && !on {
        if to_odoo {
            dec.ops.push(FileOp::OdooRename {
                name: names::from_drive(&d.name),
            });
            rules.push("renamed_in_onedrive");
        } else {
            ignore(&mut dec, Side::Microsoft, FileField::Name);
        }
    }
    // Record (folder).
    let (or, dr) = (has(&oc, FileField::Record), has(&dc, FileField::Record));
    let d_record = d.record.clone().unwrap_or_else(|| o.record.clone());
    if or && dr && o.record != d_record {
        if to_drive {
            dec.ops.push(FileOp::DriveMove {
                record: o.record.clone(),
            });
            dec.conflict = Some(FileConflictKind::Metadata);
        } else {
            dec.ops.push(FileOp::OdooMove { record: d_record });
        }
        rules.push("moved_on_both_sides");
    } else if or && !dr {
        if to_drive {
            dec.ops.push(FileOp::DriveMove {
                record: o.record.clone(),
            });
            rules.push("moved_in_odoo");
        } else {
            ignore(&mut dec, Side::Odoo, FileField::Record);
        }
    } else if dr && !or {
        if to_odoo {
            dec.ops.push(FileOp::OdooMove { record: d_record });
            rules.push("moved_in_onedrive");
        } else {
            ignore(&mut dec, Side::Microsoft, FileField::Record);
        }
    }
    if !rules.is_empty() {
        dec.rule = rules.join("+");
    } else if !dec.ignored.is_empty() {
        dec.rule = "one_way_ignored".to_owned();
    }
    dec
}

#[cfg(test)]
mod tests;
