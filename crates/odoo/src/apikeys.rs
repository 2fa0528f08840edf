//! When the API key the client uses expires (odoo.md §1.5).
//!
//! From 18.0 a key has an `expiration_date`; normal users must set one of at most 90 days.
//! A user may read their own keys' public fields (`name`, `scope`, `create_date`,
//! `expiration_date`) — `ir.model.access.csv` gives internal and portal users read access
//! to `res.users.apikeys`, and the record rule `api_key_user` limits it to
//! `[('user_id', '=', user.id)]` (odoo/odoo `odoo/addons/base/security/base_security.xml`);
//! administrators see every key (`api_key_admin`), so the client always asks for its own
//! user's keys by domain. On 16/17 the field does not exist and keys never expire.
//!
//! Odoo does not say *which* key authenticated a call: the 8-character index that finds a
//! key is a table column, not a field. When the user holds one key that can authenticate
//! RPC (scope unset or `rpc`), its expiry is the client's; with several, the earliest
//! expiry among the ones still valid is the honest bound, and [`KeyExpiry::EarliestOf`]
//! says so.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values;

/// One of the connected user's API keys, as `res.users.apikeys` shows it (never the key).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct OwnApiKey {
    pub id: i64,
    /// The description the user gave it.
    #[serde(default, deserialize_with = "values::opt_string")]
    pub name: Option<String>,
    /// `None` (a global key) or a scope such as `rpc`.
    #[serde(default, deserialize_with = "values::opt_string")]
    pub scope: Option<String>,
    /// `None`: the key never expires.
    #[serde(default, deserialize_with = "values::datetime")]
    pub expiration_date: Option<DateTime<Utc>>,
}

impl OwnApiKey {
    /// RPC (JSON-2 bearer and JSON-RPC) accepts global keys and `rpc` keys only.
    pub fn authenticates_rpc(&self) -> bool {
        self.scope.as_deref().is_none_or(|s| s == "rpc")
    }
}

/// What the client knows about its key's expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyExpiry {
    /// The key never expires: the server is older than 18.0, or the key was made without an
    /// expiration date (administrators may).
    Never,
    /// The user's only RPC key, so the client's, expires at this time.
    At { at: DateTime<Utc> },
    /// The user holds `keys` valid RPC keys and Odoo does not say which one the client uses;
    /// the earliest of them expires at `at`.
    EarliestOf { at: DateTime<Utc>, keys: usize },
    /// The keys could not be read (`why`); the expiry is unknown.
    Unknown { why: String },
}

impl KeyExpiry {
    /// From the user's keys as read at `now`: keys that no longer authenticate (another
    /// scope, or already expired — ours works, so it is not one of them) are left out.
    pub fn of_keys(keys: &[OwnApiKey], now: DateTime<Utc>) -> KeyExpiry {
        let valid: Vec<&OwnApiKey> = keys
            .iter()
            .filter(|k| k.authenticates_rpc())
            .filter(|k| k.expiration_date.is_none_or(|e| e > now))
            .collect();
        let earliest = valid.iter().filter_map(|k| k.expiration_date).min();
        match (valid.len(), earliest) {
            (0, _) => KeyExpiry::Unknown {
                why: "none of this user's API keys can authenticate RPC".into(),
            },
            (_, None) => KeyExpiry::Never,
            (1, Some(at)) => KeyExpiry::At { at },
            (keys, Some(at)) => KeyExpiry::EarliestOf { at, keys },
        }
    }

    /// When the key expires at the latest known bound; `None` for never or unknown.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        match self {
            KeyExpiry::At { at } | KeyExpiry::EarliestOf { at, .. } => Some(*at),
            KeyExpiry::Never | KeyExpiry::Unknown { .. } => None,
        }
    }
}

/// The fields the client reads (`expiration_date` exists from 18.0 only).
pub(crate) const FIELDS: &[&str] = &["id", "name", "scope", "expiration_date"];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(id: i64, scope: Option<&str>, exp: Option<(u32, u32)>) -> OwnApiKey {
        OwnApiKey {
            id,
            name: Some(format!("key {id}")),
            scope: scope.map(str::to_string),
            expiration_date: exp.map(|(m, d)| Utc.with_ymd_and_hms(2026, m, d, 8, 0, 0).unwrap()),
        }
    }

    #[test]
    fn the_only_rpc_key_gives_the_exact_expiry_and_several_give_the_earliest_bound() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
        let dec = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        // A key of another scope and an expired key are not the one in use.
        let one = [
            key(1, None, Some((12, 1))),
            key(2, Some("odoo.plugin.outlook"), Some((11, 25))),
            key(3, Some("rpc"), Some((11, 20))),
        ];
        assert_eq!(KeyExpiry::of_keys(&one, now), KeyExpiry::At { at: dec });
        let two = [key(1, None, Some((12, 1))), key(4, Some("rpc"), None)];
        assert_eq!(
            KeyExpiry::of_keys(&two, now),
            KeyExpiry::EarliestOf { at: dec, keys: 2 }
        );
        assert_eq!(
            KeyExpiry::of_keys(&[key(5, None, None)], now),
            KeyExpiry::Never
        );
        let none = KeyExpiry::of_keys(&[key(2, Some("odoo.plugin.outlook"), None)], now);
        assert!(matches!(none, KeyExpiry::Unknown { .. }), "{none:?}");
        assert_eq!(none.expires_at(), None);
    }

    #[test]
    fn keys_decode_from_odoos_false_values() {
        let k: OwnApiKey = serde_json::from_value(serde_json::json!({
            "id": 7, "name": "sync", "scope": false, "expiration_date": "2026-12-01 08:00:00"
        }))
        .unwrap();
        assert!(k.authenticates_rpc());
        assert_eq!(
            k.expiration_date,
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap())
        );
    }
}
