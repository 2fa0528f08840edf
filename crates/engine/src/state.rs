//! Typed access to the sync state in the store: links, baselines, cursors, the durable job
//! queue, conflicts, the audit log and the restore journal.
//!
//! Everything goes through [`Tx`], one SQLite transaction: a step that must persist several
//! facts together (a job done, its new baseline, the audit entry) commits all or nothing,
//! so a crash between two steps leaves the store at one of them, never between.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Store, StoreError};

/// Timestamps are stored as fixed-width UTC text, so text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

fn json_text(v: &Value) -> String {
    v.to_string()
}

fn parse_json(s: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("stored JSON: {e}")))
}

/// One transaction on the store.
pub struct Tx<'c> {
    conn: &'c Connection,
}

impl Store {
    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    pub fn tx<T>(
        &mut self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let t = self.conn.transaction()?;
        let out = f(&Tx { conn: &t })?;
        t.commit()?;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------- links

/// What a link pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Event,
    File,
    Folder,
}

impl LinkKind {
    fn as_str(self) -> &'static str {
        match self {
            LinkKind::Event => "event",
            LinkKind::File => "file",
            LinkKind::Folder => "folder",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "event" => Ok(LinkKind::Event),
            "file" => Ok(LinkKind::File),
            "folder" => Ok(LinkKind::Folder),
            other => Err(StoreError::Corrupt(format!("link kind {other:?}"))),
        }
    }
}

/// An Odoo record paired with a Microsoft 365 item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub id: i64,
    pub profile_id: String,
    pub kind: LinkKind,
    pub odoo_model: String,
    pub odoo_id: Option<i64>,
    pub graph_id: Option<String>,
    pub ical_uid: Option<String>,
    pub series_link_id: Option<i64>,
    pub original_start: Option<String>,
}

/// A link about to be recorded (one side may not exist yet: it is created by a job).
#[derive(Debug, Clone, Default)]
pub struct NewLink<'a> {
    pub odoo_model: &'a str,
    pub odoo_id: Option<i64>,
    pub graph_id: Option<&'a str>,
    pub ical_uid: Option<&'a str>,
    pub series_link_id: Option<i64>,
    pub original_start: Option<&'a str>,
}

const LINK_COLS: &str =
    "id, profile_id, kind, odoo_model, odoo_id, graph_id, ical_uid, series_link_id, original_start";

fn link_row(r: &Row<'_>) -> rusqlite::Result<(Link, String)> {
    let kind: String = r.get(2)?;
    Ok((
        Link {
            id: r.get(0)?,
            profile_id: r.get(1)?,
            kind: LinkKind::Event,
            odoo_model: r.get(3)?,
            odoo_id: r.get(4)?,
            graph_id: r.get(5)?,
            ical_uid: r.get(6)?,
            series_link_id: r.get(7)?,
            original_start: r.get(8)?,
        },
        kind,
    ))
}

fn finish_link((mut link, kind): (Link, String)) -> Result<Link, StoreError> {
    link.kind = LinkKind::parse(&kind)?;
    Ok(link)
}

/// What both sides last agreed on for a link.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredBaseline {
    pub canonical: Value,
    pub hash: String,
    /// Odoo's version token: `write_date`, or an attachment's checksum.
    pub odoo_version: Option<String>,
    /// Graph's version token: `changeKey`, `eTag` or the file's QuickXorHash.
    pub graph_version: Option<String>,
}

// ---------------------------------------------------------------------------- jobs

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    Running,
    Done,
    /// Gave up: shown to the user with its error and a Retry.
    Failed,
    /// Abandoned without running to its end (the user reset the sync state): not done,
    /// not failed, never run again.
    Cancelled,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(JobState::Pending),
            "running" => Ok(JobState::Running),
            "done" => Ok(JobState::Done),
            "failed" => Ok(JobState::Failed),
            "cancelled" => Ok(JobState::Cancelled),
            other => Err(StoreError::Corrupt(format!("job state {other:?}"))),
        }
    }
}

/// A durable unit of work.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub profile_id: String,
    /// Idempotency key: the same operation planned twice is one job.
    pub key: String,
    pub kind: String,
    pub payload: Value,
    pub state: JobState,
    pub attempts: i64,
    pub not_before: DateTime<Utc>,
    pub last_error: Option<String>,
    /// An earlier attempt may have reached the service: look before re-creating.
    pub maybe_applied: bool,
}

const JOB_COLS: &str =
    "id, profile_id, key, kind, payload_json, state, attempts, not_before, last_error, maybe_applied";

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<[String; 10]> {
    Ok([
        r.get::<_, i64>(0)?.to_string(),
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get::<_, i64>(6)?.to_string(),
        r.get(7)?,
        r.get::<_, Option<String>>(8)?.unwrap_or_default(),
        r.get::<_, i64>(9)?.to_string(),
    ])
}

fn finish_job(c: [String; 10]) -> Result<Job, StoreError> {
    let int = |s: &str| {
        s.parse::<i64>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    Ok(Job {
        id: int(&c[0])?,
        profile_id: c[1].clone(),
        key: c[2].clone(),
        kind: c[3].clone(),
        payload: parse_json(&c[4])?,
        state: JobState::parse(&c[5])?,
        attempts: int(&c[6])?,
        not_before: parse_ts(&c[7])?,
        last_error: (!c[8].is_empty()).then(|| c[8].clone()),
        maybe_applied: c[9] == "1",
    })
}

// ---------------------------------------------------------------------------- audit

/// Who caused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Odoo,
    Microsoft,
    Sync,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Odoo => "odoo",
            Origin::Microsoft => "microsoft",
            Origin::Sync => "sync",
        }
    }
}

/// One line of the audit log: what was done to which item, why, and by whose change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub profile_id: String,
    pub link_id: Option<i64>,
    pub item: String,
    pub op: String,
    pub origin: String,
    pub rule: String,
    pub before_hash: Option<String>,
    pub after_hash: Option<String>,
    pub detail: Option<Value>,
}

/// An audit line to append.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    pub profile_id: &'a str,
    pub link_id: Option<i64>,
    pub item: &'a str,
    pub op: &'a str,
    pub origin: Origin,
    pub rule: &'a str,
    pub before_hash: Option<&'a str>,
    pub after_hash: Option<&'a str>,
    pub detail: Option<&'a Value>,
}

// ---------------------------------------------------------------------------- conflicts

/// A decision waiting for the user (or resolved by one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictRecord {
    pub id: i64,
    pub profile_id: String,
    pub link_id: Option<i64>,
    pub kind: String,
    pub base: Option<Value>,
    pub odoo: Option<Value>,
    pub microsoft: Option<Value>,
    pub fields: Value,
    pub open: bool,
    pub resolution: Option<Value>,
    pub created_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------- journal

/// A baseline as stored: the event's JSON text, then the Odoo and Graph version tokens.
pub(crate) type BaselineText = (String, Option<String>, Option<String>);

/// A version sync replaced or deleted, kept so it can be restored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub profile_id: String,
    pub link_id: Option<i64>,
    pub side: String,
    pub reason: String,
    pub content: Value,
    pub restored_at: Option<DateTime<Utc>>,
}

impl Tx<'_> {
    /// The transaction's connection, for the modules that keep their own tables
    /// (documents sync: `files::store`).
    pub(crate) fn conn(&self) -> &Connection {
        self.conn
    }

    /// Runs one statement from the connection's statement cache: a first sync makes
    /// several statements per event, and parsing and planning the SQL each time cost
    /// more than running it (measured with callgrind, `docs/BENCHMARKS.md`).
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(params)
    }

    /// [`Tx::exec`] for a statement that reads one row.
    fn row<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.conn.prepare_cached(sql)?.query_row(params, f)
    }

    // ------------------------------------------------------------------ links

    /// Records a link and returns it. A second link for an id already linked on either side
    /// is refused: one item per link on each side.
    pub fn create_link(
        &self,
        profile_id: &str,
        kind: LinkKind,
        new: &NewLink<'_>,
        now: DateTime<Utc>,
    ) -> Result<Link, StoreError> {
        self.exec(
            "INSERT INTO link (profile_id, kind, odoo_model, odoo_id, graph_id, ical_uid, series_link_id, original_start, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![profile_id, kind.as_str(), new.odoo_model, new.odoo_id, new.graph_id, new.ical_uid,
                    new.series_link_id, new.original_start, ts(now)],
        )?;
        let id = self.conn.last_insert_rowid();
        self.link(id)?
            .ok_or_else(|| StoreError::Corrupt("a link vanished after insert".into()))
    }

    pub fn link(&self, id: i64) -> Result<Option<Link>, StoreError> {
        self.row(
            &format!("SELECT {LINK_COLS} FROM link WHERE id = ?1"),
            [id],
            link_row,
        )
        .optional()?
        .map(finish_link)
        .transpose()
    }

    pub fn link_by_odoo(
        &self,
        profile_id: &str,
        kind: LinkKind,
        model: &str,
        odoo_id: i64,
    ) -> Result<Option<Link>, StoreError> {
        self.row(
                &format!("SELECT {LINK_COLS} FROM link WHERE profile_id = ?1 AND kind = ?2 AND odoo_model = ?3 AND odoo_id = ?4"),
                params![profile_id, kind.as_str(), model, odoo_id],
                link_row,
            )
            .optional()?
            .map(finish_link)
            .transpose()
    }

    pub fn link_by_graph(
        &self,
        profile_id: &str,
        kind: LinkKind,
        graph_id: &str,
    ) -> Result<Option<Link>, StoreError> {
        self.row(
                &format!("SELECT {LINK_COLS} FROM link WHERE profile_id = ?1 AND kind = ?2 AND graph_id = ?3"),
                params![profile_id, kind.as_str(), graph_id],
                link_row,
            )
            .optional()?
            .map(finish_link)
            .transpose()
    }

    /// Fills in the side a job just created.
    pub fn set_link_ids(
        &self,
        link_id: i64,
        odoo_id: Option<i64>,
        graph_id: Option<&str>,
        ical_uid: Option<&str>,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE link SET odoo_id = COALESCE(?2, odoo_id), graph_id = COALESCE(?3, graph_id),
                             ical_uid = COALESCE(?4, ical_uid) WHERE id = ?1",
            params![link_id, odoo_id, graph_id, ical_uid],
        )?;
        Ok(())
    }

    pub fn links(&self, profile_id: &str, kind: LinkKind) -> Result<Vec<Link>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {LINK_COLS} FROM link WHERE profile_id = ?1 AND kind = ?2 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![profile_id, kind.as_str()], link_row)?;
        rows.map(|r| finish_link(r?)).collect()
    }

    /// Forgets a link and its baseline (both sides deleted, or a reset).
    pub fn delete_link(&self, link_id: i64) -> Result<(), StoreError> {
        self.exec("DELETE FROM link WHERE id = ?1", [link_id])?;
        Ok(())
    }

    // ------------------------------------------------------------------ baselines

    /// Records what both sides agree on now.
    pub fn set_baseline(
        &self,
        link_id: i64,
        canonical: &Value,
        hash: &str,
        odoo_version: Option<&str>,
        graph_version: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO baseline (link_id, canonical_json, hash, odoo_version, graph_version, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(link_id) DO UPDATE SET canonical_json = excluded.canonical_json, hash = excluded.hash,
               odoo_version = excluded.odoo_version, graph_version = excluded.graph_version, updated_at = excluded.updated_at",
            params![link_id, json_text(canonical), hash, odoo_version, graph_version, ts(now)],
        )?;
        Ok(())
    }

    /// The baseline of a link, if both sides ever agreed.
    pub fn baseline(&self, link_id: i64) -> Result<Option<StoredBaseline>, StoreError> {
        let row = self.row(
                "SELECT canonical_json, hash, odoo_version, graph_version FROM baseline WHERE link_id = ?1",
                [link_id],
                |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        row.map(|(c, hash, odoo_version, graph_version)| {
            Ok(StoredBaseline {
                canonical: parse_json(&c)?,
                hash,
                odoo_version,
                graph_version,
            })
        })
        .transpose()
    }

    /// A baseline's event as stored (JSON text) with its version tokens, for a caller that
    /// parses the event into its own type in one pass instead of through a `Value`.
    pub(crate) fn baseline_text(&self, link_id: i64) -> Result<Option<BaselineText>, StoreError> {
        Ok(self
            .row(
                "SELECT canonical_json, odoo_version, graph_version FROM baseline WHERE link_id = ?1",
                [link_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// The Odoo version token of every baseline of a profile's links of `kind`, by link
    /// id: what a cycle needs of each baseline without reading (and parsing) its event.
    pub fn baseline_odoo_versions(
        &self,
        profile_id: &str,
        kind: LinkKind,
    ) -> Result<std::collections::BTreeMap<i64, Option<String>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT b.link_id, b.odoo_version FROM baseline b JOIN link l ON l.id = b.link_id
             WHERE l.profile_id = ?1 AND l.kind = ?2",
        )?;
        let rows = stmt.query_map(params![profile_id, kind.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ------------------------------------------------------------------ cursors

    pub fn cursor(&self, profile_id: &str, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .row(
                "SELECT value FROM cursor WHERE profile_id = ?1 AND name = ?2",
                params![profile_id, name],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_cursor(
        &self,
        profile_id: &str,
        name: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO cursor (profile_id, name, value, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(profile_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![profile_id, name, value, ts(now)],
        )?;
        Ok(())
    }

    /// Drops a cursor (a delta link the service no longer accepts).
    pub fn clear_cursor(&self, profile_id: &str, name: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM cursor WHERE profile_id = ?1 AND name = ?2",
            params![profile_id, name],
        )?;
        Ok(())
    }

    // ------------------------------------------------------------------ jobs

    /// Adds a job unless one with the same key exists; returns `(id, newly_added)`.
    pub fn enqueue(
        &self,
        profile_id: &str,
        key: &str,
        kind: &str,
        payload: &Value,
        now: DateTime<Utc>,
    ) -> Result<(i64, bool), StoreError> {
        let added = self.exec(
            "INSERT INTO job (profile_id, key, kind, payload_json, state, not_before, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5, ?5) ON CONFLICT(profile_id, key) DO NOTHING",
            params![profile_id, key, kind, json_text(payload), ts(now)],
        )? == 1;
        let id = self.row(
            "SELECT id FROM job WHERE profile_id = ?1 AND key = ?2",
            params![profile_id, key],
            |r| r.get(0),
        )?;
        Ok((id, added))
    }

    pub fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        self.row(
            &format!("SELECT {JOB_COLS} FROM job WHERE id = ?1"),
            [id],
            job_from_row,
        )
        .optional()?
        .map(finish_job)
        .transpose()
    }

    /// Takes the oldest ready job of a profile and marks it running (one attempt more).
    pub fn claim_next(
        &self,
        profile_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        let id: Option<i64> = self.row(
                "SELECT id FROM job WHERE profile_id = ?1 AND state = 'pending' AND not_before <= ?2 ORDER BY id LIMIT 1",
                params![profile_id, ts(now)],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else { return Ok(None) };
        self.exec(
            "UPDATE job SET state = 'running', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
            params![id, ts(now)],
        )?;
        self.job(id)
    }

    /// Marks one pending job running (one attempt more); `None` if it is not pending.
    pub fn claim(&self, id: i64, now: DateTime<Utc>) -> Result<Option<Job>, StoreError> {
        let n = self.exec(
            "UPDATE job SET state = 'running', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1 AND state = 'pending'",
            params![id, ts(now)],
        )?;
        if n == 0 {
            return Ok(None);
        }
        self.job(id)
    }

    pub fn complete_job(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.set_job_state(id, JobState::Done, None, None, now)
    }

    /// Replaces a job's payload: a multi-step job records its progress here, in the same
    /// transaction as the step's other facts.
    pub fn set_job_payload(
        &self,
        id: i64,
        payload: &Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE job SET payload_json = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, json_text(payload), ts(now)],
        )?;
        Ok(())
    }

    /// Puts a job back for a later attempt (throttled, a transient error). `maybe_applied`
    /// says the failed attempt may have reached the service.
    pub fn retry_job_later(
        &self,
        id: i64,
        not_before: DateTime<Utc>,
        error: &str,
        maybe_applied: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE job SET state = 'pending', not_before = ?2, last_error = ?3,
                            maybe_applied = MAX(maybe_applied, ?4), updated_at = ?5 WHERE id = ?1",
            params![id, ts(not_before), error, maybe_applied as i64, ts(now)],
        )?;
        Ok(())
    }

    /// Puts a throttled job back until `not_before` (the service's `Retry-After`) without
    /// spending an attempt: the claim that ran it is given back. Throttling says nothing
    /// about the request (the service asked to wait), so it must not use up the budget
    /// that turns repeated failures into a permanent error.
    pub fn defer_job(
        &self,
        id: i64,
        not_before: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE job SET state = 'pending', not_before = ?2, last_error = ?3,
                            attempts = MAX(attempts - 1, 0), updated_at = ?4 WHERE id = ?1",
            params![id, ts(not_before), error, ts(now)],
        )?;
        Ok(())
    }

    /// Abandons a job that has not finished (pending, running or failed): it is kept as
    /// `cancelled` with `reason`, and never runs again. Returns whether it was open.
    pub fn cancel_job(
        &self,
        id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.exec(
            "UPDATE job SET state = 'cancelled', last_error = ?2, updated_at = ?3
             WHERE id = ?1 AND state IN ('pending', 'running', 'failed')",
            params![id, reason, ts(now)],
        )? == 1)
    }

    /// Gives up on a job; it stays visible with its error until the user retries it.
    pub fn fail_job(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.set_job_state(id, JobState::Failed, Some(error), None, now)
    }

    /// The user's Retry on a failed job.
    pub fn retry_failed_job(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(self.exec(
            "UPDATE job SET state = 'pending', not_before = ?2, updated_at = ?2 WHERE id = ?1 AND state = 'failed'",
            params![id, ts(now)],
        )? == 1)
    }

    fn set_job_state(
        &self,
        id: i64,
        state: JobState,
        error: Option<&str>,
        not_before: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE job SET state = ?2, last_error = COALESCE(?3, last_error),
                            not_before = COALESCE(?4, not_before), updated_at = ?5 WHERE id = ?1",
            params![id, state.as_str(), error, not_before.map(ts), ts(now)],
        )?;
        Ok(())
    }

    /// After a crash: jobs left running may or may not have reached the service, so they
    /// go back to pending marked `maybe_applied`. Returns how many.
    pub fn recover_interrupted_jobs(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.exec(
            "UPDATE job SET state = 'pending', maybe_applied = 1, updated_at = ?1 WHERE state = 'running'",
            [ts(now)],
        )?)
    }

    /// [`Tx::recover_interrupted_jobs`] for one profile (an engine opening while the
    /// engines of other profiles run on the same database).
    pub fn recover_interrupted_jobs_of(
        &self,
        profile_id: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Ok(self.exec(
            "UPDATE job SET state = 'pending', maybe_applied = 1, updated_at = ?2 WHERE state = 'running' AND profile_id = ?1",
            params![profile_id, ts(now)],
        )?)
    }

    /// Jobs of a profile in a state, oldest first.
    pub fn jobs(&self, profile_id: &str, state: JobState) -> Result<Vec<Job>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {JOB_COLS} FROM job WHERE profile_id = ?1 AND state = ?2 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![profile_id, state.as_str()], job_from_row)?;
        rows.map(|r| finish_job(r?)).collect()
    }

    /// The ids of a profile's pending jobs due at `now`, oldest first, leaving out jobs of
    /// `other_kind` (another engine's). Only ids: the executor claims each job (and reads
    /// its payload) when its turn comes, so a first sync of thousands of events does not
    /// hold every payload at once.
    pub fn ready_job_ids(
        &self,
        profile_id: &str,
        now: DateTime<Utc>,
        other_kind: &str,
    ) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM job WHERE profile_id = ?1 AND state = 'pending' AND not_before <= ?2
               AND kind != ?3 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![profile_id, ts(now), other_kind], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes finished jobs older than `before` (their story stays in the audit log).
    pub fn prune_done_jobs(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.exec(
            "DELETE FROM job WHERE state IN ('done', 'cancelled') AND updated_at < ?1",
            [ts(before)],
        )?)
    }

    // ------------------------------------------------------------------ audit

    pub fn append_audit(&self, e: &NewAudit<'_>, now: DateTime<Utc>) -> Result<i64, StoreError> {
        self.exec(
            "INSERT INTO audit (at, profile_id, link_id, item, op, origin, rule, before_hash, after_hash, detail_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![ts(now), e.profile_id, e.link_id, e.item, e.op, e.origin.as_str(), e.rule,
                    e.before_hash, e.after_hash, e.detail.map(json_text)],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The newest `limit` entries of a profile (or of one link), newest first.
    pub fn audit(
        &self,
        profile_id: &str,
        link_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, at, profile_id, link_id, item, op, origin, rule, before_hash, after_hash, detail_json
             FROM audit WHERE profile_id = ?1 AND (?2 IS NULL OR link_id = ?2) ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![profile_id, link_id, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<String>>(10)?,
            ))
        })?;
        rows.map(|r| {
            let (
                id,
                at,
                profile_id,
                link_id,
                item,
                op,
                origin,
                rule,
                before_hash,
                after_hash,
                detail,
            ) = r?;
            Ok(AuditEntry {
                id,
                at: parse_ts(&at)?,
                profile_id,
                link_id,
                item,
                op,
                origin,
                rule,
                before_hash,
                after_hash,
                detail: detail.as_deref().map(parse_json).transpose()?,
            })
        })
        .collect()
    }

    // ------------------------------------------------------------------ conflicts

    #[allow(clippy::too_many_arguments)]
    pub fn open_conflict(
        &self,
        profile_id: &str,
        link_id: Option<i64>,
        kind: &str,
        base: Option<&Value>,
        odoo: Option<&Value>,
        microsoft: Option<&Value>,
        fields: &Value,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.exec(
            "INSERT INTO conflict (profile_id, link_id, kind, base_json, odoo_json, microsoft_json, fields_json, state, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8)",
            params![profile_id, link_id, kind, base.map(json_text), odoo.map(json_text), microsoft.map(json_text),
                    json_text(fields), ts(now)],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Open conflicts of a profile, oldest first.
    pub fn open_conflicts(&self, profile_id: &str) -> Result<Vec<ConflictRecord>, StoreError> {
        self.conflicts_where("profile_id = ?1 AND state = 'open'", &profile_id)
    }

    pub fn conflict(&self, id: i64) -> Result<Option<ConflictRecord>, StoreError> {
        Ok(self.conflicts_where("id = ?1", &id)?.into_iter().next())
    }

    /// Records the user's decision; returns false when it was not open.
    pub fn resolve_conflict(
        &self,
        id: i64,
        resolution: &Value,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.exec(
            "UPDATE conflict SET state = 'resolved', resolution_json = ?2, resolved_at = ?3 WHERE id = ?1 AND state = 'open'",
            params![id, json_text(resolution), ts(now)],
        )? == 1)
    }

    fn conflicts_where(
        &self,
        cond: &str,
        arg: &dyn rusqlite::ToSql,
    ) -> Result<Vec<ConflictRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT id, profile_id, link_id, kind, base_json, odoo_json, microsoft_json, fields_json, state, resolution_json, created_at
             FROM conflict WHERE {cond} ORDER BY id"
        ))?;
        let rows = stmt.query_map([arg], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, String>(10)?,
            ))
        })?;
        let opt = |s: Option<String>| s.as_deref().map(parse_json).transpose();
        rows.map(|r| {
            let (
                id,
                profile_id,
                link_id,
                kind,
                base,
                odoo,
                microsoft,
                fields,
                state,
                resolution,
                created_at,
            ) = r?;
            Ok(ConflictRecord {
                id,
                profile_id,
                link_id,
                kind,
                base: opt(base)?,
                odoo: opt(odoo)?,
                microsoft: opt(microsoft)?,
                fields: parse_json(&fields)?,
                open: state == "open",
                resolution: opt(resolution)?,
                created_at: parse_ts(&created_at)?,
            })
        })
        .collect()
    }

    // ------------------------------------------------------------------ journal

    /// Keeps a version that is about to be overwritten or deleted.
    pub fn journal(
        &self,
        profile_id: &str,
        link_id: Option<i64>,
        side: &str,
        reason: &str,
        content: &Value,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.exec(
            "INSERT INTO journal (at, profile_id, link_id, side, reason, content_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![ts(now), profile_id, link_id, side, reason, json_text(content)],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn journal_entry(&self, id: i64) -> Result<Option<JournalEntry>, StoreError> {
        let row = self.row(
                "SELECT id, at, profile_id, link_id, side, reason, content_json, restored_at FROM journal WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, Option<String>>(7)?,
                    ))
                },
            )
            .optional()?;
        row.map(
            |(id, at, profile_id, link_id, side, reason, content, restored)| {
                Ok(JournalEntry {
                    id,
                    at: parse_ts(&at)?,
                    profile_id,
                    link_id,
                    side,
                    reason,
                    content: parse_json(&content)?,
                    restored_at: restored.as_deref().map(parse_ts).transpose()?,
                })
            },
        )
        .transpose()
    }

    pub fn mark_restored(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.exec(
            "UPDATE journal SET restored_at = ?2 WHERE id = ?1",
            params![id, ts(now)],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use serde_json::json;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
    }

    fn store() -> Store {
        let s = Store::open_in_memory().unwrap();
        s.put_profile("p", "work", "{}", "2026-11-22T00:00:00Z")
            .unwrap();
        s
    }

    #[test]
    fn enqueueing_the_same_key_twice_is_one_job() {
        let mut s = store();
        let (a, added_a) = s
            .tx(|t| {
                t.enqueue(
                    "p",
                    "create:odoo:42",
                    "create_event",
                    &json!({"odoo_id": 42}),
                    t0(),
                )
            })
            .unwrap();
        let (b, added_b) = s
            .tx(|t| {
                t.enqueue(
                    "p",
                    "create:odoo:42",
                    "create_event",
                    &json!({"odoo_id": 42}),
                    t0(),
                )
            })
            .unwrap();
        assert_eq!(a, b);
        assert!(added_a && !added_b);
        assert_eq!(s.tx(|t| t.jobs("p", JobState::Pending)).unwrap().len(), 1);
    }

    #[test]
    fn jobs_are_claimed_oldest_first_and_only_when_due() {
        let mut s = store();
        s.tx(|t| {
            t.enqueue("p", "a", "k", &json!(1), t0())?;
            t.enqueue("p", "b", "k", &json!(2), t0())
        })
        .unwrap();
        let a = s.tx(|t| t.claim_next("p", t0())).unwrap().unwrap();
        assert_eq!(
            (a.key.as_str(), a.state, a.attempts),
            ("a", JobState::Running, 1)
        );
        s.tx(|t| {
            t.retry_job_later(
                a.id,
                t0() + Duration::seconds(30),
                "429 throttled",
                false,
                t0(),
            )
        })
        .unwrap();
        let b = s.tx(|t| t.claim_next("p", t0())).unwrap().unwrap();
        assert_eq!(b.key, "b", "a is not due for 30 s");
        s.tx(|t| t.complete_job(b.id, t0())).unwrap();
        assert_eq!(
            s.tx(|t| t.claim_next("p", t0() + Duration::seconds(29)))
                .unwrap(),
            None
        );
        let again = s
            .tx(|t| t.claim_next("p", t0() + Duration::seconds(30)))
            .unwrap()
            .unwrap();
        assert_eq!((again.key.as_str(), again.attempts), ("a", 2));
        assert_eq!(again.last_error.as_deref(), Some("429 throttled"));
    }

    #[test]
    fn ready_job_ids_are_the_due_pending_jobs_of_the_profile_oldest_first() {
        let mut s = store();
        s.put_profile("q", "other", "{}", "2026-11-22T00:00:00Z")
            .unwrap();
        let ids = s
            .tx(|t| {
                let a = t.enqueue("p", "a", "entry", &json!(1), t0())?.0;
                let later = t.enqueue("p", "later", "entry", &json!(2), t0())?.0;
                let file = t.enqueue("p", "f", "file", &json!(3), t0())?.0;
                let running = t.enqueue("p", "r", "entry", &json!(4), t0())?.0;
                let b = t.enqueue("p", "b", "entry", &json!(5), t0())?.0;
                t.enqueue("q", "c", "entry", &json!(6), t0())?;
                t.retry_job_later(later, t0() + Duration::seconds(30), "429", false, t0())?;
                t.claim(running, t0())?;
                Ok((a, later, file, b))
            })
            .unwrap();
        let (a, later, _file, b) = ids;
        let ready = s.tx(|t| t.ready_job_ids("p", t0(), "file")).unwrap();
        assert_eq!(
            ready,
            vec![a, b],
            "not the later, running, file or other-profile job"
        );
        let ready = s
            .tx(|t| t.ready_job_ids("p", t0() + Duration::seconds(30), "file"))
            .unwrap();
        assert_eq!(ready, vec![a, later, b]);
    }

    #[test]
    fn baseline_odoo_versions_reads_every_baseline_token_of_the_profile() {
        let mut s = store();
        let new = |odoo_id| NewLink {
            odoo_model: "calendar.event",
            odoo_id: Some(odoo_id),
            ..Default::default()
        };
        let (l1, l2) = s
            .tx(|t| {
                let l1 = t.create_link("p", LinkKind::Event, &new(1), t0())?.id;
                let l2 = t.create_link("p", LinkKind::Event, &new(2), t0())?.id;
                // A link whose pairing never finished has no baseline.
                t.create_link("p", LinkKind::Event, &new(3), t0())?;
                t.set_baseline(l1, &json!({"title": "a"}), "h", Some("w1"), None, t0())?;
                t.set_baseline(l2, &json!({"title": "b"}), "h", None, Some("ck"), t0())?;
                Ok((l1, l2))
            })
            .unwrap();
        let v = s
            .tx(|t| t.baseline_odoo_versions("p", LinkKind::Event))
            .unwrap();
        assert_eq!(
            v.into_iter().collect::<Vec<_>>(),
            vec![(l1, Some("w1".to_owned())), (l2, None)]
        );
        let files = s
            .tx(|t| t.baseline_odoo_versions("p", LinkKind::File))
            .unwrap();
        assert!(files.is_empty());
    }

    #[test]
    fn a_job_interrupted_by_a_crash_comes_back_marked_maybe_applied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.db");
        {
            let mut s = Store::open(&path).unwrap();
            s.put_profile("p", "work", "{}", "x").unwrap();
            s.tx(|t| t.enqueue("p", "create:1", "create_event", &json!({}), t0()))
                .unwrap();
            let job = s.tx(|t| t.claim_next("p", t0())).unwrap().unwrap();
            assert!(!job.maybe_applied);
            // The process dies here, mid-request: the store is simply dropped.
        }
        let mut s = Store::open(&path).unwrap();
        assert_eq!(s.tx(|t| t.recover_interrupted_jobs(t0())).unwrap(), 1);
        let job = s.tx(|t| t.claim_next("p", t0())).unwrap().unwrap();
        assert!(
            job.maybe_applied,
            "the executor must look before re-creating"
        );
        assert_eq!(job.attempts, 2);
    }

    #[test]
    fn a_failed_step_rolls_back_everything_it_wrote() {
        let mut s = store();
        let result: Result<(), StoreError> = s.tx(|t| {
            t.enqueue("p", "k", "kind", &json!({}), t0())?;
            t.set_cursor(
                "p",
                "graph.calendar.delta",
                "https://example/delta?token=1",
                t0(),
            )?;
            Err(StoreError::Corrupt("simulated failure".into()))
        });
        assert!(result.is_err());
        assert_eq!(
            s.tx(|t| t.cursor("p", "graph.calendar.delta")).unwrap(),
            None
        );
        assert!(s.tx(|t| t.jobs("p", JobState::Pending)).unwrap().is_empty());
    }

    #[test]
    fn an_item_can_be_linked_only_once_on_each_side() {
        let mut s = store();
        let link = s
            .tx(|t| {
                t.create_link(
                    "p",
                    LinkKind::Event,
                    &NewLink {
                        odoo_model: "calendar.event",
                        odoo_id: Some(7),
                        graph_id: Some("AAMk1"),
                        ..Default::default()
                    },
                    t0(),
                )
            })
            .unwrap();
        let dup_odoo = s.tx(|t| {
            t.create_link(
                "p",
                LinkKind::Event,
                &NewLink {
                    odoo_model: "calendar.event",
                    odoo_id: Some(7),
                    ..Default::default()
                },
                t0(),
            )
        });
        assert!(dup_odoo.is_err());
        let dup_graph = s.tx(|t| {
            t.create_link(
                "p",
                LinkKind::Event,
                &NewLink {
                    odoo_model: "calendar.event",
                    graph_id: Some("AAMk1"),
                    ..Default::default()
                },
                t0(),
            )
        });
        assert!(dup_graph.is_err());
        assert_eq!(
            s.tx(|t| t.link_by_graph("p", LinkKind::Event, "AAMk1"))
                .unwrap(),
            Some(link.clone())
        );
        assert_eq!(
            s.tx(|t| t.link_by_odoo("p", LinkKind::Event, "calendar.event", 7))
                .unwrap(),
            Some(link)
        );
    }

    #[test]
    fn a_half_created_link_gets_its_other_side_and_a_baseline() {
        let mut s = store();
        let link = s
            .tx(|t| {
                t.create_link(
                    "p",
                    LinkKind::Event,
                    &NewLink {
                        odoo_model: "calendar.event",
                        odoo_id: Some(9),
                        ..Default::default()
                    },
                    t0(),
                )
            })
            .unwrap();
        s.tx(|t| {
            t.set_link_ids(link.id, None, Some("AAMk9"), Some("ical-9"))?;
            t.set_baseline(
                link.id,
                &json!({"title": "x"}),
                "h1",
                Some("2026-11-22 09:00:00"),
                Some("ck1"),
                t0(),
            )
        })
        .unwrap();
        let l = s.tx(|t| t.link(link.id)).unwrap().unwrap();
        assert_eq!(
            (l.odoo_id, l.graph_id.as_deref(), l.ical_uid.as_deref()),
            (Some(9), Some("AAMk9"), Some("ical-9"))
        );
        let b = s.tx(|t| t.baseline(link.id)).unwrap().unwrap();
        let (canon, hash, ov, gv) = (b.canonical, b.hash, b.odoo_version, b.graph_version);
        assert_eq!(
            (canon, hash.as_str(), ov.as_deref(), gv.as_deref()),
            (
                json!({"title": "x"}),
                "h1",
                Some("2026-11-22 09:00:00"),
                Some("ck1")
            )
        );
        s.tx(|t| t.delete_link(link.id)).unwrap();
        assert_eq!(
            s.tx(|t| t.baseline(link.id)).unwrap(),
            None,
            "the baseline goes with its link"
        );
    }

    #[test]
    fn conflicts_keep_both_sides_and_resolve_once() {
        let mut s = store();
        let id = s
            .tx(|t| {
                t.open_conflict(
                    "p",
                    None,
                    "fields",
                    Some(&json!({"title": "a"})),
                    Some(&json!({"title": "b"})),
                    Some(&json!({"title": "c"})),
                    &json!(["title"]),
                    t0(),
                )
            })
            .unwrap();
        let open = s.tx(|t| t.open_conflicts("p")).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].odoo, Some(json!({"title": "b"})));
        assert!(s
            .tx(|t| t.resolve_conflict(id, &json!({"keep": "odoo"}), t0()))
            .unwrap());
        assert!(!s
            .tx(|t| t.resolve_conflict(id, &json!({"keep": "microsoft"}), t0()))
            .unwrap());
        assert!(s.tx(|t| t.open_conflicts("p")).unwrap().is_empty());
        assert_eq!(
            s.tx(|t| t.conflict(id)).unwrap().unwrap().resolution,
            Some(json!({"keep": "odoo"}))
        );
    }

    #[test]
    fn the_audit_log_reads_newest_first_and_filters_by_item() {
        let mut s = store();
        s.tx(|t| {
            for (i, link) in [(1, Some(1)), (2, Some(2)), (3, Some(1))] {
                t.append_audit(
                    &NewAudit {
                        profile_id: "p",
                        link_id: link,
                        item: "event",
                        op: &format!("op{i}"),
                        origin: Origin::Odoo,
                        rule: "changed_in_odoo_only",
                        before_hash: None,
                        after_hash: Some("h"),
                        detail: None,
                    },
                    t0() + Duration::seconds(i),
                )?;
            }
            Ok(())
        })
        .unwrap();
        let all = s.tx(|t| t.audit("p", None, 10)).unwrap();
        assert_eq!(
            all.iter().map(|e| e.op.as_str()).collect::<Vec<_>>(),
            ["op3", "op2", "op1"]
        );
        let one = s.tx(|t| t.audit("p", Some(1), 10)).unwrap();
        assert_eq!(one.len(), 2);
        assert_eq!(one[0].origin, "odoo");
    }

    #[test]
    fn a_journaled_version_reads_back_and_can_be_marked_restored() {
        let mut s = store();
        let id = s
            .tx(|t| {
                t.journal(
                    "p",
                    None,
                    "odoo",
                    "overwritten",
                    &json!({"name": "old title"}),
                    t0(),
                )
            })
            .unwrap();
        let e = s.tx(|t| t.journal_entry(id)).unwrap().unwrap();
        assert_eq!(
            (e.side.as_str(), e.reason.as_str(), e.content.clone()),
            ("odoo", "overwritten", json!({"name": "old title"}))
        );
        assert_eq!(e.restored_at, None);
        s.tx(|t| t.mark_restored(id, t0())).unwrap();
        assert_eq!(
            s.tx(|t| t.journal_entry(id)).unwrap().unwrap().restored_at,
            Some(t0())
        );
    }
}
