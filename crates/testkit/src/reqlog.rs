//! The request log both emulators keep: what was asked, by whom, and how it was answered.
//!
//! Tests count requests per item, find the 429s, and check that a no-op cycle sent nothing
//! that writes.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One answered (or deliberately dropped) request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Position in the log, from 1.
    pub seq: u64,
    /// Emulated time at which the request arrived.
    pub at: DateTime<Utc>,
    pub method: String,
    /// Path and query as received.
    pub path: String,
    /// Status sent, or 0 when the connection was dropped instead of answered.
    pub status: u16,
    pub latency_ms: u64,
    /// The user the credentials named, when they named one.
    pub user: Option<String>,
    /// The fault injected into this request, if any (e.g. `"throttle"`).
    pub fault: Option<String>,
    /// The requests this one did for the client: a `$batch`'s sub-requests answered 2xx
    /// (Graph counts each sub-request on its own, graph.md §6.3); 1 for any other.
    #[serde(default = "one_request")]
    pub cost: u64,
}

fn one_request() -> u64 {
    1
}

impl RequestRecord {
    /// Whether the request could have changed state on the server.
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
}

/// Shared, append-only log; clones see the same entries.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    entries: Arc<Mutex<Vec<RequestRecord>>>,
}

impl RequestLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a record and returns its sequence number (the `seq` passed in is replaced).
    pub fn push(&self, mut record: RequestRecord) -> u64 {
        let mut entries = self.lock();
        record.seq = entries.len() as u64 + 1;
        let seq = record.seq;
        entries.push(record);
        seq
    }

    /// A copy of every record so far.
    pub fn snapshot(&self) -> Vec<RequestRecord> {
        self.lock().clone()
    }

    /// Records with `seq > after`, for reading the log incrementally.
    pub fn since(&self, after: u64) -> Vec<RequestRecord> {
        self.lock()
            .iter()
            .filter(|r| r.seq > after)
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Forgets every record (sequence numbers restart at 1).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RequestRecord>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(method: &str) -> RequestRecord {
        RequestRecord {
            seq: 0,
            at: Utc::now(),
            method: method.into(),
            path: "/v1.0/me/events".into(),
            status: 200,
            latency_ms: 1,
            user: None,
            fault: None,
            cost: 1,
        }
    }

    #[test]
    fn sequence_numbers_are_assigned_in_order_and_since_reads_the_tail() {
        let log = RequestLog::new();
        assert_eq!(log.push(rec("GET")), 1);
        assert_eq!(log.push(rec("POST")), 2);
        let tail = log.since(1);
        assert_eq!(tail.len(), 1);
        assert!(tail[0].is_write());
        assert!(!log.snapshot()[0].is_write());
    }
}
