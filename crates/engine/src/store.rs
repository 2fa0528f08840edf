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
];

/// Handle to the store. One connection; the engine serialises access to it.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
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
