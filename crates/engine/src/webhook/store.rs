//! The store's side of subscriptions: one row per profile and resource.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::manager::StoredSubscription;
use super::Resource;
use crate::state::ts;
use crate::{Store, StoreError};

fn parse_time(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

impl Store {
    /// The subscription a profile holds for a resource, if any.
    pub fn webhook_subscription(
        &self,
        profile_id: &str,
        resource: Resource,
    ) -> Result<Option<StoredSubscription>, StoreError> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT subscription_id, notification_url, expires_at FROM webhook_subscription
                 WHERE profile_id = ?1 AND resource = ?2",
                params![profile_id, resource.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(id, url, exp)| {
            Ok(StoredSubscription {
                resource,
                id,
                notification_url: url,
                expires_at: parse_time(&exp)?,
            })
        })
        .transpose()
    }

    /// Records (or replaces) a profile's subscription for a resource.
    pub fn put_webhook_subscription(
        &self,
        profile_id: &str,
        sub: &StoredSubscription,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO webhook_subscription
                 (profile_id, resource, subscription_id, notification_url, expires_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(profile_id, resource) DO UPDATE SET
                 subscription_id = excluded.subscription_id,
                 notification_url = excluded.notification_url,
                 expires_at = excluded.expires_at",
            params![
                profile_id,
                sub.resource.as_str(),
                sub.id,
                sub.notification_url,
                ts(sub.expires_at),
                ts(now)
            ],
        )?;
        Ok(())
    }

    /// Forgets a profile's subscription for a resource.
    pub fn delete_webhook_subscription(
        &self,
        profile_id: &str,
        resource: Resource,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM webhook_subscription WHERE profile_id = ?1 AND resource = ?2",
            params![profile_id, resource.as_str()],
        )?;
        Ok(())
    }
}
