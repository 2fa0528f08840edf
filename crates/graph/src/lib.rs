//! Microsoft Graph client for Odoo365 Sync. It knows Graph, not sync: Outlook events and
//! their delta, OneDrive items, content and delta, subscriptions and `$batch`, each failure
//! typed by what the caller should do next ([`GraphError`]).
//!
//! Build a [`GraphClient`] from a [`GraphConfig`] (base URL: Microsoft, a national cloud or
//! the emulator on loopback) and [`Seams`] (an [`AccessTokens`] source, a [`Clock`] that
//! also sleeps, a jitter seed, optionally a shared [`MailboxBudget`]).
//!
//! Invariants:
//! * TLS for every non-loopback URL; the bearer token goes only to the configured Graph
//!   origin, never to upload URLs, pre-authenticated download URLs or foreign links.
//! * Time and sleep come from the injected [`Clock`]; backoff jitter from a seeded RNG.
//! * A request that may have been applied is never re-sent unless it is idempotent:
//!   a POST that times out after sending is [`GraphError::MaybeApplied`]. A 429 is
//!   always re-sent after `Retry-After`, because Graph refused it.
//! * A delta round's link is only available once its last page is read
//!   ([`DeltaRound::finish`]); the caller persists it after applying the round.
//! * Every transfer is checked with QuickXorHash, compared as bytes (OneDrive has
//!   reported the same hash as base64 and as hex).
//! * Every limit is a field of [`GraphConfig`] or a named constant.

pub mod batch;
pub mod client;
pub mod config;
pub mod delta;
pub mod error;
pub mod files;
pub mod governor;
pub mod hashes;
pub mod models;
pub mod names;
pub mod requests;
pub mod runtime;
pub mod transport;

pub use batch::{BatchRequest, BatchResponse};
pub use client::GraphClient;
pub use config::GraphConfig;
pub use delta::{DeltaLink, DeltaRound};
pub use error::GraphError;
pub use files::{Downloaded, UploadSession, UploadTarget, Uploaded};
pub use governor::MailboxBudget;
pub use hashes::{quick_xor_hash, QuickXorHash, QuickXorHashText};
pub use requests::Requests;
pub use runtime::{AccessTokens, Clock, ManualClock, StaticToken, SystemClock, TokenError};
pub use transport::{GraphRequest, GraphResponse, Seams};
