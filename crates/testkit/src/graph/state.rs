//! The emulated world: tenants, users, tokens, mailboxes, drives, subscriptions, outbox.

use std::collections::{BTreeMap, HashMap};

use axum::http::StatusCode;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{calendar, drive, identity, subscriptions, GraphEmulator, GraphError};

/// Scopes a minted test token carries.
pub const ALL_SCOPES: &str = "openid profile offline_access User.Read Calendars.ReadWrite Files.ReadWrite Files.ReadWrite.All Sites.Read.All";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum DriveType {
    /// OneDrive for work or school.
    #[default]
    Business,
    /// OneDrive personal (consumer).
    Personal,
}

impl DriveType {
    pub fn as_str(self) -> &'static str {
        match self {
            DriveType::Business => "business",
            DriveType::Personal => "personal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInfo {
    pub id: String,
    pub domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub id: String,
    pub tenant_id: String,
    pub mail: String,
    pub display_name: String,
    pub drive_type: DriveType,
    pub drive_id: String,
}

/// Why Outlook sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OutboxKind {
    Invitation,
    Update,
    Cancellation,
    /// An attendee's accept, tentative or decline, to the organizer.
    Response,
}

/// One message Outlook would send to attendees (or, for a response, to the organizer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub kind: OutboxKind,
    /// Organizer's address.
    pub from: String,
    pub to: Vec<String>,
    pub event_id: String,
    pub subject: String,
    /// What caused it (`created`, `attendeesAdded`, `timeChanged`, `deleted`, `cancelled`…).
    pub reason: String,
    pub comment: Option<String>,
}

pub struct AccessToken {
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
    pub scopes: String,
}

pub struct World {
    pub rng: ChaCha8Rng,
    pub tenants: BTreeMap<String, TenantInfo>,
    pub users: BTreeMap<String, UserInfo>,
    pub tokens: HashMap<String, AccessToken>,
    pub mailboxes: HashMap<String, calendar::Mailbox>,
    pub drives: HashMap<String, drive::Drive>,
    pub uploads: HashMap<String, drive::UploadSession>,
    pub downloads: HashMap<String, drive::DownloadTicket>,
    pub identity: identity::IdentityState,
    pub subscriptions: BTreeMap<String, subscriptions::Subscription>,
    pub outgoing: subscriptions::Outgoing,
    /// Change notifications owed to attendees whose copies changed: (user, event, change).
    pub pending_notify: Vec<(String, String, &'static str)>,
    pub outbox: Vec<OutboxMessage>,
    /// SharePoint sites by id (see `sites.rs`).
    pub sites: BTreeMap<String, super::sites::SiteInfo>,
    /// Injected faults: how many coming downloads are served, and uploads stored, with a
    /// flipped byte (so the content no longer matches its hash).
    pub corrupt_downloads: u32,
    pub corrupt_uploads: u32,
    #[allow(dead_code)]
    pub started: DateTime<Utc>,
}

impl World {
    pub fn new(seed: u64, now: DateTime<Utc>) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6772_6170_6800),
            tenants: BTreeMap::new(),
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            mailboxes: HashMap::new(),
            drives: HashMap::new(),
            uploads: HashMap::new(),
            downloads: HashMap::new(),
            identity: Default::default(),
            subscriptions: BTreeMap::new(),
            outgoing: Default::default(),
            pending_notify: Vec::new(),
            outbox: Vec::new(),
            sites: BTreeMap::new(),
            corrupt_downloads: 0,
            corrupt_uploads: 0,
            started: now,
        }
    }

    pub fn uuid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// An opaque base64url token of `n` random bytes.
    pub fn opaque(&mut self, n: usize) -> String {
        let bytes: Vec<u8> = (0..n).map(|_| self.rng.random::<u8>()).collect();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn access_token_lifetime(&mut self, configured_s: Option<u64>) -> Duration {
        // 60–90 minutes, 75 on average [AT]; the spec's must-have: expires_in 3,600–5,400 s.
        let s = configured_s.unwrap_or_else(|| self.rng.random_range(3600..=5400));
        Duration::seconds(s as i64)
    }

    pub fn create_tenant(&mut self, domain: &str) -> TenantInfo {
        if let Some(t) = self.tenants.values().find(|t| t.domain == domain) {
            return t.clone();
        }
        let id = self.uuid();
        let t = TenantInfo {
            id: id.clone(),
            domain: domain.to_string(),
        };
        self.tenants.insert(id, t.clone());
        t
    }

    pub fn create_user(
        &mut self,
        mail: &str,
        display_name: &str,
        drive_type: DriveType,
        now: DateTime<Utc>,
    ) -> UserInfo {
        if let Some(u) = self
            .users
            .values()
            .find(|u| u.mail.eq_ignore_ascii_case(mail))
        {
            return u.clone();
        }
        let domain = mail.rsplit('@').next().unwrap_or("contoso.com").to_string();
        let tenant = self.create_tenant(&domain);
        let id = self.uuid();
        let drive_id = match drive_type {
            // Business drive ids look like `b!…`; personal ones are 16 hex digits [obs].
            DriveType::Business => format!("b!{}", self.opaque(48)),
            DriveType::Personal => format!("{:016x}", self.rng.random::<u64>()),
        };
        let user = UserInfo {
            id: id.clone(),
            tenant_id: tenant.id,
            mail: mail.to_string(),
            display_name: display_name.to_string(),
            drive_type,
            drive_id: drive_id.clone(),
        };
        self.users.insert(id.clone(), user.clone());
        self.mailboxes
            .insert(id.clone(), calendar::Mailbox::default());
        let root_id = self.drive_item_id(drive_type, &drive_id);
        self.drives.insert(
            drive_id.clone(),
            drive::Drive::new(drive_id, drive_type, &user, root_id, now),
        );
        user
    }

    pub fn drive_item_id(&mut self, drive_type: DriveType, drive_id: &str) -> String {
        match drive_type {
            // Business item ids are 34 base32-ish characters starting with 01 [obs].
            DriveType::Business => {
                const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
                let s: String = (0..32)
                    .map(|_| ALPHA[self.rng.random_range(0..ALPHA.len())] as char)
                    .collect();
                format!("01{s}")
            }
            // Personal item ids are `{DRIVEID}!{n}` [obs].
            DriveType::Personal => format!(
                "{}!{}",
                drive_id.to_ascii_uppercase(),
                self.rng.random_range(100..1_000_000u32)
            ),
        }
    }

    pub fn user_infos(&self) -> Vec<UserInfo> {
        self.users.values().cloned().collect()
    }

    /// A user by id or mail (case-insensitive).
    pub fn resolve_user(&self, key: &str) -> Result<String, GraphError> {
        if self.users.contains_key(key) {
            return Ok(key.to_string());
        }
        self.users
            .values()
            .find(|u| u.mail.eq_ignore_ascii_case(key))
            .map(|u| u.id.clone())
            .ok_or_else(|| {
                GraphError::new(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
                )
            })
    }

    pub fn user(&self, id: &str) -> Result<&UserInfo, GraphError> {
        self.users.get(id).ok_or_else(GraphError::outlook_not_found)
    }

    pub fn issue_access_token(
        &mut self,
        user_id: &str,
        scopes: &str,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> String {
        // Opaque to clients; real ones are JWTs, which clients must not parse either.
        let token = format!("eyJ0eXAiOiJKV1Qi.{}", self.opaque(32));
        self.tokens.insert(
            token.clone(),
            AccessToken {
                user_id: user_id.to_string(),
                expires_at: now + lifetime,
                scopes: scopes.to_string(),
            },
        );
        token
    }

    pub fn expire_calendar_tokens(&mut self, user_id: &str) {
        if let Some(m) = self.mailboxes.get_mut(user_id) {
            m.expire_tokens();
        }
    }

    pub fn expire_drive_tokens(&mut self, user_id: &str) {
        let drive_id = self.users.get(user_id).map(|u| u.drive_id.clone());
        if let Some(d) = drive_id.and_then(|id| self.drives.get_mut(&id)) {
            d.expire_tokens();
        }
    }

    pub fn decide_device_code(
        &mut self,
        user_code: &str,
        user_id: Option<String>,
    ) -> Result<(), GraphError> {
        self.identity.decide_device_code(user_code, user_id)
    }

    pub fn send_mail(&mut self, mut msg: OutboxMessage) {
        if msg.to.is_empty() {
            return;
        }
        msg.seq = self.outbox.len() as u64 + 1;
        self.outbox.push(msg);
    }
}

/// The `demo` scenario.
pub fn seed_demo(em: &GraphEmulator) {
    use super::state::DriveType::Business;
    // The same two people as in the Odoo demo (`OdooEmulator::seed_demo`), so that the
    // organizer and attendees of a synced event are one person on both sides.
    let alice = em.create_user(crate::demo::ALICE, crate::demo::ALICE_NAME, Business);
    let bob = em.create_user(crate::demo::BOB, crate::demo::BOB_NAME, Business);
    let now = em.clock().now();
    let day = now.date_naive() + Duration::days(1);
    let at = |d: chrono::NaiveDate, h: u32| {
        d.and_hms_opt(h, 0, 0)
            .map(super::time::local_string)
            .unwrap_or_default()
    };
    let events = [
        serde_json::json!({
            "subject": "Dentist", "start": {"dateTime": at(day, 8), "timeZone": "UTC"},
            "end": {"dateTime": at(day, 9), "timeZone": "UTC"}
        }),
        serde_json::json!({
            "subject": "Weekly sync", "start": {"dateTime": at(day, 10), "timeZone": "UTC"},
            "end": {"dateTime": at(day, 11), "timeZone": "UTC"},
            "recurrence": {"pattern": {"type": "weekly", "interval": 1,
                "daysOfWeek": [day.format("%A").to_string().to_lowercase()], "firstDayOfWeek": "monday"},
                "range": {"type": "numbered", "startDate": day.to_string(), "numberOfOccurrences": 10}}
        }),
        serde_json::json!({
            "subject": "Budget review", "start": {"dateTime": at(day + Duration::days(2), 14), "timeZone": "UTC"},
            "end": {"dateTime": at(day + Duration::days(2), 15), "timeZone": "UTC"},
            "attendees": [{"type": "required", "emailAddress": {"address": bob.mail, "name": bob.display_name}}],
            "isOnlineMeeting": true, "onlineMeetingProvider": "teamsForBusiness"
        }),
        serde_json::json!({
            "subject": "Company offsite", "isAllDay": true,
            "start": {"dateTime": at(day + Duration::days(7), 0), "timeZone": "UTC"},
            "end": {"dateTime": at(day + Duration::days(9), 0), "timeZone": "UTC"}
        }),
    ];
    for body in events {
        let _ = calendar::create_for_seed(em, &alice.id, body);
    }
    // The conflict-prone pair: the meeting is moved by its organizer after the invitation,
    // so a sync that edits it from Odoo with the creation-time changeKey meets a 412.
    let _ = calendar::touch_for_seed(em, &alice.id, "Budget review");
    let files: [(&str, &[u8]); 3] = [
        ("Odoo Sync/sale.order/42/quote.pdf", b"%PDF-1.4 demo quote"),
        (
            "Odoo Sync/account.move/7/invoice.pdf",
            b"%PDF-1.4 demo invoice",
        ),
        ("Notes/readme.txt", b"hello world"),
    ];
    for (path, bytes) in files {
        let _ = drive::put_for_seed(em, &alice.id, path, bytes);
    }
    let _ = bob;
}
