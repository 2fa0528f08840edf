//! Field hashes: SHA-256 over the canonical form of the synced fields only.
//!
//! A side "changed" only when its current hash differs from the baseline's, so the writes
//! sync itself made hash to the baseline and never echo back. For that to hold, the
//! canonical form must not depend on anything a service may reorder or re-serialise: object
//! keys are sorted, and callers normalise values (e-mail case, attendee order, HTML) before
//! hashing.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// SHA-256 of a canonical value, shown as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct FieldHash([u8; 32]);

/// A hash text that is not 64 hex digits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a field hash is 64 hex digits, got {len} characters")]
pub struct BadFieldHash {
    len: usize,
}

impl FieldHash {
    /// Hashes a JSON value in canonical form: keys sorted at every depth, no insignificant
    /// white space, numbers and strings as serde_json writes them.
    pub fn of_value(value: &Value) -> FieldHash {
        let mut hasher = Sha256::new();
        write_canonical(value, &mut hasher);
        FieldHash(hasher.finalize().into())
    }

    /// Hashes anything serialisable by way of its JSON value.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<FieldHash, serde_json::Error> {
        Ok(Self::of_value(&serde_json::to_value(value)?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

fn write_canonical(value: &Value, out: &mut Sha256) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.update(b"{");
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.update(b",");
                }
                out.update(Value::String(key.clone()).to_string().as_bytes());
                out.update(b":");
                write_canonical(&map[key], out);
            }
            out.update(b"}");
        }
        Value::Array(items) => {
            out.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.update(b",");
                }
                write_canonical(item, out);
            }
            out.update(b"]");
        }
        scalar => out.update(scalar.to_string().as_bytes()),
    }
}

impl fmt::Debug for FieldHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldHash({})", &self.to_hex()[..12])
    }
}

impl fmt::Display for FieldHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<FieldHash> for String {
    fn from(h: FieldHash) -> String {
        h.to_hex()
    }
}

impl TryFrom<String> for FieldHash {
    type Error = BadFieldHash;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let bytes = hex::decode(&s).map_err(|_| BadFieldHash { len: s.len() })?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| BadFieldHash { len: s.len() })?;
        Ok(FieldHash(arr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_hash_is_sha256_of_the_canonical_json() {
        let h = FieldHash::of_value(&json!({"b": [true, null, "x"], "a": 1}));
        let mut sha = Sha256::new();
        sha.update(br#"{"a":1,"b":[true,null,"x"]}"#);
        assert_eq!(h.as_bytes(), &<[u8; 32]>::from(sha.finalize()));
    }

    #[test]
    fn key_order_does_not_change_the_hash_but_any_value_does() {
        let a = FieldHash::of_value(&json!({"title": "Review", "start": "2026-11-23T09:00:00Z"}));
        let b = FieldHash::of_value(&json!({"start": "2026-11-23T09:00:00Z", "title": "Review"}));
        let c = FieldHash::of_value(&json!({"start": "2026-11-23T09:00:00Z", "title": "Review!"}));
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Array order is meaningful: callers sort sets (attendees) before hashing.
        assert_ne!(
            FieldHash::of_value(&json!([1, 2])),
            FieldHash::of_value(&json!([2, 1]))
        );
    }

    #[test]
    fn a_hash_round_trips_through_its_hex_text_and_rejects_junk() {
        let h = FieldHash::of_value(&json!("x"));
        let text = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<FieldHash>(&text).unwrap(), h);
        assert!(serde_json::from_str::<FieldHash>("\"abc\"").is_err());
    }
}
