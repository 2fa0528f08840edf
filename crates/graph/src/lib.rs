//! Microsoft Graph client for Odoo365 Sync. It knows Graph, not sync.

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
