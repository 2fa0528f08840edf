//! The documents-sync tables (migration 3) and the few queue/link operations files need
//! beyond the calendar's, as methods on the shared [`Tx`].

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use crate::state::{ts, Tx};
use crate::StoreError;

/// A OneDrive folder below (or being) the sync root, as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderRow {
    pub item_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub web_url: Option<String>,
}

impl Tx<'_> {
    /// Records (or updates) a folder.
    pub fn put_drive_folder(
        &self,
        profile_id: &str,
        f: &FolderRow,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO drive_folder (profile_id, item_id, parent_id, name, web_url, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(profile_id, item_id) DO UPDATE SET parent_id = excluded.parent_id,
               name = excluded.name, web_url = COALESCE(excluded.web_url, web_url),
               updated_at = excluded.updated_at",
            params![
                profile_id,
                f.item_id,
                f.parent_id,
                f.name,
                f.web_url,
                ts(now)
            ],
        )?;
        Ok(())
    }

    pub fn delete_drive_folder(&self, profile_id: &str, item_id: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM drive_folder WHERE profile_id = ?1 AND item_id = ?2",
            params![profile_id, item_id],
        )?;
        Ok(())
    }

    /// Forgets every cached folder (a full delta round replaces them).
    pub fn clear_drive_folders(&self, profile_id: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM drive_folder WHERE profile_id = ?1",
            params![profile_id],
        )?;
        Ok(())
    }

    pub fn drive_folders(&self, profile_id: &str) -> Result<Vec<FolderRow>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT item_id, parent_id, name, web_url FROM drive_folder WHERE profile_id = ?1 ORDER BY item_id",
        )?;
        let rows = stmt.query_map([profile_id], |r| {
            Ok(FolderRow {
                item_id: r.get(0)?,
                parent_id: r.get(1)?,
                name: r.get(2)?,
                web_url: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The record whose chatter already links its folder, with that link.
    pub fn record_note(
        &self,
        profile_id: &str,
        model: &str,
        res_id: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT web_url FROM file_record_note WHERE profile_id = ?1 AND model = ?2 AND res_id = ?3",
                params![profile_id, model, res_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_record_note(
        &self,
        profile_id: &str,
        model: &str,
        res_id: i64,
        web_url: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO file_record_note (profile_id, model, res_id, web_url, noted_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(profile_id, model, res_id) DO NOTHING",
            params![profile_id, model, res_id, web_url, ts(now)],
        )?;
        Ok(())
    }

    /// Points a link at another attachment and/or driveItem (a relink after a keep-both or
    /// an edit that won over a delete). `None` leaves a side as it is.
    pub fn relink(
        &self,
        link_id: i64,
        odoo_id: Option<i64>,
        graph_id: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE link SET odoo_id = COALESCE(?2, odoo_id), graph_id = COALESCE(?3, graph_id) WHERE id = ?1",
            params![link_id, odoo_id, graph_id],
        )?;
        Ok(())
    }

    /// Clears a link's Microsoft side (its file is gone; the attachment stays, unlinked).
    pub fn detach_graph(&self, link_id: i64) -> Result<(), StoreError> {
        self.conn()
            .execute("UPDATE link SET graph_id = NULL WHERE id = ?1", [link_id])?;
        Ok(())
    }

    /// Puts a running job back without counting the attempt, its progress saved: a large
    /// transfer yields its lane after its byte budget and continues in the next drain.
    pub fn yield_job(
        &self,
        id: i64,
        payload: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE job SET state = 'pending', attempts = MAX(attempts - 1, 0), payload_json = ?2,
                            not_before = ?3, updated_at = ?3 WHERE id = ?1",
            params![id, payload.to_string(), ts(now)],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{LinkKind, NewLink};
    use crate::Store;
    use chrono::TimeZone;

    #[test]
    fn folders_notes_and_relinks_persist() {
        let mut s = Store::open_in_memory().unwrap();
        s.put_profile("p", "work", "{}", "2026-11-22T00:00:00Z")
            .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
        s.tx(|t| {
            let f = FolderRow {
                item_id: "F1".into(),
                parent_id: Some("ROOT".into()),
                name: "sale.order".into(),
                web_url: None,
            };
            t.put_drive_folder("p", &f, now)?;
            t.put_drive_folder(
                "p",
                &FolderRow {
                    name: "renamed".into(),
                    ..f
                },
                now,
            )?;
            assert_eq!(t.drive_folders("p")?.len(), 1);
            assert_eq!(t.drive_folders("p")?[0].name, "renamed");
            assert_eq!(t.record_note("p", "sale.order", 4)?, None);
            t.set_record_note("p", "sale.order", 4, "https://x/4", now)?;
            t.set_record_note("p", "sale.order", 4, "https://x/other", now)?;
            assert_eq!(
                t.record_note("p", "sale.order", 4)?.as_deref(),
                Some("https://x/4")
            );
            let l = t.create_link(
                "p",
                LinkKind::File,
                &NewLink {
                    odoo_model: "ir.attachment",
                    odoo_id: Some(7),
                    graph_id: Some("D1"),
                    ..NewLink::default()
                },
                now,
            )?;
            t.relink(l.id, None, Some("D2"))?;
            assert_eq!(t.link(l.id)?.unwrap().graph_id.as_deref(), Some("D2"));
            t.detach_graph(l.id)?;
            assert_eq!(t.link(l.id)?.unwrap().graph_id, None);
            t.clear_drive_folders("p")?;
            assert!(t.drive_folders("p")?.is_empty());
            Ok(())
        })
        .unwrap();
    }
}
