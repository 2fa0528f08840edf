//! The server version profile: which endpoints and behaviours exist on the emulated Odoo.
//!
//! Odoo Online runs `saas~N.x` builds between majors; a saas~18.3 server behaves like an 18
//! that already has some 19 changes (spec §1.7). Each switch below names the version it
//! follows.

use serde_json::{json, Value};

/// A parsed version string such as `19.0`, `17.0+e` or `saas~18.3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionProfile {
    /// The string as given (e.g. `saas~18.3+e`).
    pub raw: String,
    pub major: u32,
    pub minor: u32,
    pub saas: bool,
    pub enterprise: bool,
}

/// The version string did not look like `N.M` or `saas~N.M`.
#[derive(Debug, thiserror::Error)]
#[error("not an Odoo version: {0:?} (expected e.g. \"19.0\", \"17.0+e\" or \"saas~18.3\")")]
pub struct BadVersion(pub String);

impl VersionProfile {
    pub fn parse(raw: &str) -> Result<Self, BadVersion> {
        let bad = || BadVersion(raw.to_string());
        let (body, enterprise) = match raw.strip_suffix("+e") {
            Some(b) => (b, true),
            None => (raw, false),
        };
        let (body, saas) = match body.strip_prefix("saas~") {
            Some(b) => (b, true),
            None => (body, false),
        };
        let (maj, min) = body.split_once('.').ok_or_else(bad)?;
        let major: u32 = maj.parse().map_err(|_| bad())?;
        let minor: u32 = min.parse().map_err(|_| bad())?;
        if !(14..=30).contains(&major) {
            return Err(bad());
        }
        Ok(Self {
            raw: raw.to_string(),
            major,
            minor,
            saas,
            enterprise,
        })
    }

    /// A comparable (major, minor) pair: saas~18.3 sorts between 18.0 and 19.0.
    fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// `/json/2` and bearer JSON-2 dispatch exist from 19.0 (spec §1.1, §1.4 table).
    pub fn has_json2(&self) -> bool {
        self.at_least(19, 0)
    }

    /// `GET /web/version` and `/json/version` come with the 19.0 rpc module (spec §1.6).
    pub fn has_web_version(&self) -> bool {
        self.at_least(19, 0)
    }

    /// API-key expiration dates exist from 18.0 (PR #178558, spec §1.5).
    pub fn has_key_expiry(&self) -> bool {
        self.at_least(18, 0)
    }

    /// `message_post(body_is_html=...)` exists from 17.0 (PR #129977, spec §5.1).
    pub fn has_body_is_html(&self) -> bool {
        self.at_least(17, 0)
    }

    /// `any` / `not any` domain operators from 17.0 (spec §1.7).
    pub fn has_any_operator(&self) -> bool {
        self.at_least(17, 0)
    }

    /// Date-part suffixes in domains (`start.month_number`) from saas~17.3 (PR #159528).
    pub fn has_date_parts(&self) -> bool {
        self.at_least(17, 3)
    }

    /// `calendar.event.privacy` may be empty ("organizer's default") from 18.0 (saas~17.3).
    pub fn privacy_may_be_empty(&self) -> bool {
        self.at_least(17, 3)
    }

    /// `res.users.groups_id` is called `group_ids` from 19.0.
    pub fn groups_field(&self) -> &'static str {
        if self.at_least(19, 0) {
            "group_ids"
        } else {
            "groups_id"
        }
    }

    /// `name_get` is still callable up to 16 (deprecated 16.4, removed 17).
    pub fn has_name_get(&self) -> bool {
        !self.at_least(17, 0)
    }

    /// `name_search`'s filter argument is `args` up to 17 and `domain` from 18.
    pub fn name_search_domain_param(&self) -> &'static str {
        if self.at_least(18, 0) {
            "domain"
        } else {
            "args"
        }
    }

    /// JSON-RPC `error.code`: 200 up to 18.0, 0 from saas~18.1 (`type='jsonrpc'`, spec §1.3).
    pub fn jsonrpc_error_code(&self) -> i64 {
        if self.at_least(18, 1) {
            0
        } else {
            200
        }
    }

    /// `version_info` as `common.version` and `/web/version` give it: the first element is a
    /// string `saas~N` on SaaS builds (spec §1.7).
    pub fn version_info(&self) -> Value {
        let first = if self.saas {
            json!(format!("saas~{}", self.major))
        } else {
            json!(self.major)
        };
        let edition = if self.enterprise { "e" } else { "" };
        json!([first, self.minor, 0, "final", 0, edition])
    }

    /// `server_serie`: `19.0`, or `saas~18.3`.
    pub fn serie(&self) -> String {
        if self.saas {
            format!("saas~{}.{}", self.major, self.minor)
        } else {
            format!("{}.{}", self.major, self.minor)
        }
    }

    /// The `common.version()` / `version_info` dictionary.
    pub fn common_version(&self) -> Value {
        json!({
            "server_version": self.raw,
            "server_version_info": self.version_info(),
            "server_serie": self.serie(),
            "protocol_version": 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saas_versions_parse_and_sit_between_majors() {
        let v = VersionProfile::parse("saas~18.3+e").unwrap();
        assert!(v.saas && v.enterprise);
        assert_eq!((v.major, v.minor), (18, 3));
        assert!(v.has_key_expiry() && !v.has_json2());
        assert_eq!(v.jsonrpc_error_code(), 0);
        assert_eq!(v.version_info()[0], json!("saas~18"));
        assert_eq!(v.version_info()[5], json!("e"));
    }

    #[test]
    fn each_major_switches_its_own_features() {
        let v16 = VersionProfile::parse("16.0").unwrap();
        let v17 = VersionProfile::parse("17.0").unwrap();
        let v18 = VersionProfile::parse("18.0").unwrap();
        let v19 = VersionProfile::parse("19.0").unwrap();
        assert!(!v16.has_body_is_html() && v17.has_body_is_html());
        assert!(!v17.has_key_expiry() && v18.has_key_expiry());
        assert!(!v18.has_json2() && v19.has_json2());
        assert_eq!(v18.jsonrpc_error_code(), 200);
        assert_eq!(v19.jsonrpc_error_code(), 0);
        assert_eq!(v18.groups_field(), "groups_id");
        assert_eq!(v19.groups_field(), "group_ids");
        assert!(v16.has_name_get() && !v17.has_name_get());
    }

    #[test]
    fn garbage_is_not_a_version() {
        assert!(VersionProfile::parse("nineteen").is_err());
        assert!(VersionProfile::parse("19").is_err());
        assert!(VersionProfile::parse("saas~x.1").is_err());
    }
}
