//! The folder layout: `<root>/<model>/<record id>/<name>`.
//!
//! The path names the record, which is what lets a resync after a lost store re-link
//! files to attachments (by record, name and hash); links themselves never use paths.

use super::RecordKey;

/// Where a path below the sync root points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A model's folder (`sale.order`).
    Model(String),
    /// A record's folder (`sale.order/42`).
    Record(RecordKey),
    /// A file directly in a record's folder.
    File(RecordKey, String),
    /// Anything else: a model not synced, a folder name that is not a record id, a
    /// sub-folder of a record folder. Reported, never guessed.
    Unplaced,
}

/// The canonical folder name of a record id: decimal, no sign, no leading zero.
pub fn record_folder_name(res_id: i64) -> String {
    res_id.to_string()
}

fn parse_record_id(s: &str) -> Option<i64> {
    let id: i64 = s.parse().ok()?;
    (id > 0 && record_folder_name(id) == s).then_some(id)
}

/// Classifies `segments` (the names below the sync root, folders then the item's own
/// name). `is_folder` says whether the last segment is a folder; `models` are the synced
/// models (their folders are named exactly like the model).
pub fn place(segments: &[&str], is_folder: bool, models: &[String]) -> Place {
    let synced = |m: &str| models.iter().any(|x| x == m);
    match (segments, is_folder) {
        ([m], true) if synced(m) => Place::Model((*m).to_owned()),
        ([m, id], true) if synced(m) => match parse_record_id(id) {
            Some(res_id) => Place::Record(RecordKey::new(m, res_id)),
            None => Place::Unplaced,
        },
        ([m, id, name], false) if synced(m) => match parse_record_id(id) {
            Some(res_id) => Place::File(RecordKey::new(m, res_id), (*name).to_owned()),
            None => Place::Unplaced,
        },
        _ => Place::Unplaced,
    }
}

/// The folder path of a record below the drive root, e.g. `Odoo Sync/sale.order/42`.
pub fn record_folder_path(root: &str, record: &RecordKey) -> String {
    format!(
        "{}/{}/{}",
        root.trim_matches('/'),
        record.model,
        record_folder_name(record.res_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_below_the_root_name_models_records_and_files() {
        let models = vec!["sale.order".to_owned(), "project.task".to_owned()];
        assert_eq!(
            place(&["sale.order"], true, &models),
            Place::Model("sale.order".into())
        );
        assert_eq!(
            place(&["sale.order", "42"], true, &models),
            Place::Record(RecordKey::new("sale.order", 42))
        );
        assert_eq!(
            place(&["project.task", "7", "a.pdf"], false, &models),
            Place::File(RecordKey::new("project.task", 7), "a.pdf".into())
        );
        for (segs, folder) in [
            (vec!["res.partner", "1"], true),
            (vec!["sale.order", "042"], true),
            (vec!["sale.order", "-3"], true),
            (vec!["sale.order", "x"], true),
            (vec!["sale.order", "4", "sub"], true),
            (vec!["sale.order", "4", "sub", "f.txt"], false),
            (vec!["loose.txt"], false),
        ] {
            assert_eq!(place(&segs, folder, &models), Place::Unplaced, "{segs:?}");
        }
        assert_eq!(
            record_folder_path("/Odoo Sync/", &RecordKey::new("sale.order", 42)),
            "Odoo Sync/sale.order/42"
        );
    }
}
