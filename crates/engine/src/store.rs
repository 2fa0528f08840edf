//! The SQLite store: one file per install, WAL mode, forward-only migrations.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

/// What can go wrong opening or using the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the sync database at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the sync database was written by a newer version of Odoo365 Sync (schema {found}, \
         this version knows up to {known}); update the app, nothing was changed"
    )]
    TooNew { found: i64, known: i64 },
    #[error("sync database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored value does not read back; the store was changed outside the app.
    #[error(
        "the sync database holds an unreadable value ({0}); resetting the sync state rebuilds it"
    )]
    Corrupt(String),
}

/// Schema migrations, applied in order; entry `i` brings the schema to version `i + 1`.
/// Never edit a released entry: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: profiles. Secrets are not here: they are in the keychain, keyed by profile id.
    "CREATE TABLE profile (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        config_json TEXT NOT NULL,
        created_at  TEXT NOT NULL
    ) STRICT;",
    // 2: sync state. Items are keyed by stable ids on both sides, never by title or path.
    "CREATE TABLE link (
        id             INTEGER PRIMARY KEY,
        profile_id     TEXT NOT NULL REFERENCES profile(id) ON DELETE CASCADE,
        kind           TEXT NOT NULL,               -- 'event' | 'file' | 'folder'
        odoo_model     TEXT NOT NULL,
        odoo_id        INTEGER,                     -- NULL until created in Odoo
        graph_id       TEXT,                        -- NULL until created in Microsoft 365
        ical_uid       TEXT,
        series_link_id INTEGER REFERENCES link(id) ON DELETE CASCADE,
        original_start TEXT,                        -- an occurrence's key within its series
        created_at     TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX link_odoo ON link(profile_id, kind, odoo_model, odoo_id) WHERE odoo_id IS NOT NULL;
    CREATE UNIQUE INDEX link_graph ON link(profile_id, kind, graph_id) WHERE graph_id IS NOT NULL;
    CREATE INDEX link_ical ON link(profile_id, ical_uid);

    -- The item as last agreed by both sides, its hashes, and each side's version token.
    CREATE TABLE baseline (
        link_id        INTEGER PRIMARY KEY REFERENCES link(id) ON DELETE CASCADE,
        canonical_json TEXT NOT NULL,
        hash           TEXT NOT NULL,
        odoo_version   TEXT,                        -- write_date, or the attachment checksum
        graph_version  TEXT,                        -- changeKey / eTag / quickXorHash
        updated_at     TEXT NOT NULL
    ) STRICT;

    -- Delta links and Odoo cursors; written only after the round they end was applied.
    CREATE TABLE cursor (
        profile_id TEXT NOT NULL REFERENCES profile(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        value      TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (profile_id, name)
    ) STRICT;

    -- Durable jobs. The key makes enqueueing idempotent: a re-planned op after a crash
    -- finds its job instead of adding a second one.
    CREATE TABLE job (
        id              INTEGER PRIMARY KEY,
        profile_id      TEXT NOT NULL REFERENCES profile(id) ON DELETE CASCADE,
        key             TEXT NOT NULL,
        kind            TEXT NOT NULL,
        payload_json    TEXT NOT NULL,
        state           TEXT NOT NULL,              -- pending | running | done | failed
        attempts        INTEGER NOT NULL DEFAULT 0,
        not_before      TEXT NOT NULL,
        last_error      TEXT,
        maybe_applied   INTEGER NOT NULL DEFAULT 0, -- a send whose answer was lost
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        UNIQUE (profile_id, key)
    ) STRICT;
    CREATE INDEX job_ready ON job(profile_id, state, not_before);

    CREATE TABLE conflict (
        id               INTEGER PRIMARY KEY,
        profile_id       TEXT NOT NULL REFERENCES profile(id) ON DELETE CASCADE,
        link_id          INTEGER REFERENCES link(id) ON DELETE SET NULL,
        kind             TEXT NOT NULL,             -- fields | edit_vs_delete | content
        base_json        TEXT,
        odoo_json        TEXT,
        microsoft_json   TEXT,
        fields_json      TEXT NOT NULL,             -- the fields in conflict
        state            TEXT NOT NULL,             -- open | resolved
        resolution_json  TEXT,
        created_at       TEXT NOT NULL,
        resolved_at      TEXT
    ) STRICT;
    CREATE INDEX conflict_open ON conflict(profile_id, state);

    -- Every write, with its origin and the rule that decided it.
    CREATE TABLE audit (
        id          INTEGER PRIMARY KEY,
        at          TEXT NOT NULL,
        profile_id  TEXT NOT NULL,
        link_id     INTEGER,
        item        TEXT NOT NULL,                  -- a readable reference for the activity view
        op          TEXT NOT NULL,
        origin      TEXT NOT NULL,                  -- odoo | microsoft | sync
        rule        TEXT NOT NULL,
        before_hash TEXT,
        after_hash  TEXT,
        detail_json TEXT
    ) STRICT;
    CREATE INDEX audit_profile ON audit(profile_id, id);
    CREATE INDEX audit_link ON audit(link_id, id);

    -- Every version that sync overwrote or deleted, so it can be restored.
    CREATE TABLE journal (
        id           INTEGER PRIMARY KEY,
        at           TEXT NOT NULL,
        profile_id   TEXT NOT NULL,
        link_id      INTEGER,
        side         TEXT NOT NULL,                 -- the side whose version was replaced
        reason       TEXT NOT NULL,                 -- overwritten | deleted
        content_json TEXT NOT NULL,
        restored_at  TEXT
    ) STRICT;
    CREATE INDEX journal_profile ON journal(profile_id, id);",
    // 3: documents sync. File links use `link` (kind 'file', odoo_model 'ir.attachment',
    // attachment id <-> driveItem id) and `baseline`; these cache the OneDrive folders
    // below the sync root (by item id, so a lookup never goes by path) and remember the
    // records whose chatter already has the note with their folder's link.
    "CREATE TABLE drive_folder (
        profile_id TEXT NOT NULL REFERENCES profile(id) ON DELETE CASCADE,
        item_id    TEXT NOT NULL,
        parent_id  TEXT,
        name       TEXT NOT NULL,
        web_url    TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (profile_id, item_id)
    ) STRICT;
    CREATE INDEX drive_folder_child ON drive_folder(profile_id, parent_id, name);
    CREATE TABLE file_record_note (
        profile_id TEXT NOT NULL REFERENCES profile(id) ON DELETE CASCADE,
        model      TEXT NOT NULL,
        res_id     INTEGER NOT NULL,
        web_url    TEXT NOT NULL,
        noted_at   TEXT NOT NULL,
        PRIMARY KEY (profile_id, model, res_id)
    ) STRICT;",
    // 4: Graph change-notification subscriptions, one per profile and resource. The
    // clientState is not here: it is derived from a secret in the keychain.
    "CREATE TABLE webhook_subscription (
        profile_id       TEXT NOT NULL REFERENCES profile(id) ON DELETE CASCADE,
        resource         TEXT NOT NULL,             -- 'events' | 'drive'
        subscription_id  TEXT NOT NULL,
        notification_url TEXT NOT NULL,
        expires_at       TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        PRIMARY KEY (profile_id, resource)
    ) STRICT;",
    // 5: a job's step progress in its own column (a small JSON object of the keys a step
    // changes: the step counter, the ids and versions it learned), so a step no longer
    // writes the whole payload back (the payload carries the events and is written once).
    // Read back, its keys override the payload's. NULL: the payload is complete, which is
    // what every job written before this version has (their progress is in the payload).
    "ALTER TABLE job ADD COLUMN progress_json TEXT;",
];

/// A store an engine owns, behind a mutex only so that the engine is `Sync` and its
/// futures `Send` (a SQLite connection is `Send`, not `Sync`). Engines reach it through
/// `&mut self`, so the lock is never contended. Shared by the calendar and file engines.
pub(crate) struct OwnedStore(std::sync::Mutex<Store>);

impl OwnedStore {
    pub(crate) fn new(store: Store) -> OwnedStore {
        OwnedStore(std::sync::Mutex::new(store))
    }

    /// For the few reads made through `&self` (uncontended, see above).
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&mut self) -> &mut Store {
        self.0.get_mut().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn tx<T>(
        &mut self,
        f: impl FnOnce(&crate::state::Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.get().tx(f)
    }

    pub(crate) fn into_inner(self) -> Store {
        self.0.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// Prepared statements kept per connection (see [`Store::init`]).
const STATEMENT_CACHE: usize = 128;

/// Handle to the store. One connection; the engine serialises access to it.
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::init(conn)
    }

    /// An in-memory store, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        // WAL keeps readers (the UI's status queries) from blocking the executor's writes,
        // and NORMAL sync is durable across application crashes in WAL mode.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Every statement of `state` stays prepared (rusqlite keeps 16 by default; the
        // engine uses about 40).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let found: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(StoreError::TooNew { found, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// SQLite's journal mode (`"wal"` for a file database).
    pub fn journal_mode(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))?)
    }

    /// Inserts or replaces a profile's configuration.
    pub fn put_profile(
        &self,
        id: &str,
        name: &str,
        config_json: &str,
        created_at: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO profile (id, name, config_json, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, config_json = excluded.config_json",
            (id, name, config_json, created_at),
        )?;
        Ok(())
    }

    /// Every profile as `(id, name, config_json)`, by name.
    pub fn profiles(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, config_json FROM profile ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One profile's `(id, name, config_json)` by id or name.
    pub fn profile(
        &self,
        id_or_name: &str,
    ) -> Result<Option<(String, String, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, config_json FROM profile WHERE id = ?1 OR name = ?1",
                [id_or_name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// Removes a profile; returns whether it existed.
    pub fn delete_profile(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .execute("DELETE FROM profile WHERE id = ?1", [id])?
            > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_is_in_wal_mode_at_the_latest_schema_and_reopens_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.db");
        {
            let store = Store::open(&path).unwrap();
            assert_eq!(store.journal_mode().unwrap(), "wal");
            assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
            store
                .put_profile("p1", "work", "{}", "2026-11-22T00:00:00Z")
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(
            store.profiles().unwrap().len(),
            1,
            "data survives reopening"
        );
    }

    #[test]
    fn a_store_of_schema_4_gains_the_job_progress_column_and_keeps_its_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.db");
        let conn = Connection::open(&path).unwrap();
        for (i, sql) in MIGRATIONS[..4].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", i as i64 + 1)
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO profile VALUES ('p1', 'work', '{}', '2026-11-22T00:00:00Z');
             INSERT INTO job (profile_id, key, kind, payload_json, state, not_before, created_at, updated_at)
             VALUES ('p1', 'k', 'entry', '{\"item\":\"odoo:7\",\"done\":1,\"odoo_id\":7}', 'running',
                     '2026-11-22T00:00:00Z', '2026-11-22T00:00:00Z', '2026-11-22T00:00:00Z');",
        )
        .unwrap();
        drop(conn);

        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let job = store.tx(|t| t.job(1)).unwrap().unwrap();
        assert_eq!(
            job.payload,
            serde_json::json!({"item": "odoo:7", "done": 1, "odoo_id": 7}),
            "a job of the old schema reads back as it was written"
        );
        let progress = serde_json::json!({"done": 2, "graph_id": "AAM"});
        store
            .tx(|t| {
                t.set_job_progress(
                    1,
                    progress.as_object().unwrap(),
                    "2026-11-22T01:00:00Z".parse().unwrap(),
                )
            })
            .unwrap();
        let job = store.tx(|t| t.job(1)).unwrap().unwrap();
        assert_eq!(
            job.payload,
            serde_json::json!({"item": "odoo:7", "done": 2, "odoo_id": 7, "graph_id": "AAM"})
        );
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        match Store::open(&path) {
            Err(StoreError::TooNew { found: 99, .. }) => {}
            other => panic!("expected TooNew, got {other:?}"),
        }
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, 99);
    }
}
