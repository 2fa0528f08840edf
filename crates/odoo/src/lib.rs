//! Odoo external API client for Odoo365 Sync. It knows Odoo, not sync: version detection,
//! JSON-2 (Odoo 19+) and JSON-RPC (16-18) behind one typed API, and the models the sync
//! reads and writes.
//!
//! Invariants:
//! - The transport is chosen from the server's own version, never guessed from the URL;
//!   `saas~` versions are ordered by their numbers like any other.
//! - Every write names its [`WriteOrigin`]; a write mirroring Microsoft 365 always carries
//!   `no_mail_to_attendees`.
//! - Errors say what to do next ([`OdooError`]): reads are retried on throttling, 5xx and
//!   network errors; writes are never retried blindly, and a lost answer is
//!   [`OdooError::MaybeApplied`].
//! - Time, sleep and jitter come from [`OdooConfig::clock`] and [`OdooConfig::jitter_seed`];
//!   the base URL is [`OdooConfig::base_url`]: the seams tests and the emulator use.
//! - The API key never prints ([`ApiKey`]'s `Debug` is redacted) and is never logged.
//!
//! ```no_run
//! # async fn demo() -> Result<(), odoo365_odoo::OdooError> {
//! use std::time::Duration;
//! use odoo365_odoo::{
//!     ApiKey, CalendarEvent, EventValues, OdooClient, OdooConfig, RecurrenceUpdate, WriteOrigin,
//! };
//!
//! let url = "https://acme.odoo.com".parse().expect("a URL");
//! let client = OdooClient::connect(OdooConfig::new(url, "me@acme.com", ApiKey::new("…"))).await?;
//! let me = client.me();
//! let changed: Vec<CalendarEvent> = client
//!     .changed_since(None, Duration::from_secs(300), serde_json::json!([["user_id", "=", me.uid]]))
//!     .await?;
//! for event in changed.iter().filter(|e| !e.is_masked_for(me)) {
//!     let vals = EventValues { location: Some("Room 2".into()), ..Default::default() };
//!     client
//!         .write_events(&[event.id], vals.to_vals(), RecurrenceUpdate::SelfOnly, WriteOrigin::Microsoft)
//!         .await?;
//! }
//! # Ok(())
//! # }
//! ```

pub mod apikeys;
pub mod attachments;
pub mod client;
pub mod clock;
pub mod detect;
pub mod error;
pub mod records;
pub mod values;
pub mod version;
pub mod wire;

pub use apikeys::{KeyExpiry, OwnApiKey};
pub use attachments::{AttachmentFile, AttachmentUpload, Download};
pub use client::{
    ApiKey, MessagePost, OdooClient, OdooConfig, RecurrenceUpdate, SearchOptions, UserContext,
};
pub use clock::{Clock, Jitter, ManualClock, RateLimit, RetryPolicy, TokioClock};
pub use error::{Fault, OdooError};
pub use records::{
    Attachment, AttendeeState, CalendarAttendee, CalendarEvent, CalendarRecurrence, EventTime,
    EventValues, Me, Privacy, Record, User,
};
pub use values::Many2one;
pub use version::{ServerVersion, Transport, VersionError};
pub use wire::{Call, CallKind, WriteOrigin};
