//! `subscription` and change notifications (including lifecycle events).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::graph_enum;

graph_enum!(
    /// `changeType` of one notification.
    ChangeType { Created = "created", Updated = "updated", Deleted = "deleted" }
);
graph_enum!(
    /// `lifecycleEventType`.
    LifecycleEvent { Missed = "missed", SubscriptionRemoved = "subscriptionRemoved", ReauthorizationRequired = "reauthorizationRequired" }
);

/// A subscription as created, renewed or read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Comma list of `created`, `updated`, `deleted` (drive root: `updated` only).
    pub change_type: String,
    pub notification_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_notification_url: Option<String>,
    /// Without the base URL: `me/events`, `me/drive/root`.
    pub resource: String,
    pub expiration_date_time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_supported_tls_version: Option<String>,
    #[serde(default, skip_serializing)]
    pub application_id: Option<String>,
    #[serde(default, skip_serializing)]
    pub creator_id: Option<String>,
}

/// What `GET {drive}/root/subscriptions/socketIo` answers: a subscription whose
/// `notificationUrl` is a Socket.IO endpoint. The documented example carries `id` and
/// `notificationUrl` only; the service also sends `expirationDateTime`, so it is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocketIoEndpoint {
    #[serde(default)]
    pub id: String,
    /// `https://{host}/{namespace}/callback?{query}`; the query is a credential: never log it.
    pub notification_url: String,
    #[serde(default)]
    pub expiration_date_time: Option<DateTime<Utc>>,
}

/// The body Graph POSTs to a notification or lifecycle URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeNotificationCollection {
    pub value: Vec<ChangeNotification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_tokens: Option<Vec<String>>,
}

/// One notification. Lifecycle notifications carry `lifecycleEvent` and no
/// `resource`/`changeType`, so both are optional here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeNotification {
    #[serde(default)]
    pub id: Option<String>,
    pub subscription_id: String,
    #[serde(default)]
    pub subscription_expiration_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub client_state: Option<String>,
    #[serde(default)]
    pub change_type: Option<ChangeType>,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub resource_data: Option<ResourceData>,
    #[serde(default)]
    pub lifecycle_event: Option<LifecycleEvent>,
}

/// `resourceData` (open type): the changed item's id and eTag when Graph sends them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceData {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    #[serde(rename = "@odata.id", default)]
    pub odata_id: Option<String>,
    #[serde(rename = "@odata.etag", default)]
    pub odata_etag: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

impl ChangeNotification {
    /// Constant-time-ish comparison is unnecessary here (the value is not a key), but an
    /// absent `clientState` never matches an expected one.
    pub fn client_state_matches(&self, expected: &str) -> bool {
        self.client_state.as_deref() == Some(expected)
    }
}

/// Parses a notification POST body, naming the JSON path on failure.
pub fn parse_notifications(body: &[u8]) -> Result<ChangeNotificationCollection, crate::GraphError> {
    crate::error::decode("change notifications", body)
}
