//! Odoo server versions, as `common.version`/`/web/version` report them, and what each
//! means for the client (shared/specs/odoo.md §1.6, §1.7).

use std::fmt;

/// How the client talks to a server of a given version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `POST /json/2/<model>/<method>` with a bearer API key (Odoo 19.0 and later).
    Json2,
    /// `POST /jsonrpc` `object.execute_kw` with the API key as password (16-18).
    JsonRpc,
}

/// A parsed server version: `17.0`, `18.0+e`, `saas~18.3`, `19.0`...
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion {
    pub major: u32,
    pub minor: u32,
    /// An Odoo Online intermediate release (`saas~18.3`).
    pub saas: bool,
}

/// A version string that names no Odoo release this client understands.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VersionError {
    #[error("Odoo reported the version {0:?}, which is not a version number")]
    Unparseable(String),
    #[error("Odoo {0} is older than 16.0, the oldest version Odoo365 Sync supports")]
    TooOld(String),
}

impl ServerVersion {
    /// Parses `server_version` text (`"17.0"`, `"saas~18.3+e"`, `"19.0-20251001"`).
    pub fn parse(text: &str) -> Result<ServerVersion, VersionError> {
        let bad = || VersionError::Unparseable(text.to_string());
        let t = text.trim();
        let (saas, rest) = match t.strip_prefix("saas~") {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        // Stop at the edition or build suffix: "+e", "-20251001", "alpha1".
        let numeric: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = numeric.split('.').filter(|p| !p.is_empty());
        let major: u32 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let minor: u32 = match parts.next() {
            Some(p) => p.parse().map_err(|_| bad())?,
            None => 0,
        };
        let v = ServerVersion { major, minor, saas };
        if major < 16 {
            return Err(VersionError::TooOld(text.to_string()));
        }
        Ok(v)
    }

    /// The transport this version supports best.
    pub fn transport(&self) -> Transport {
        if self.major >= 19 {
            Transport::Json2
        } else {
            Transport::JsonRpc
        }
    }

    /// API keys can carry an expiry date from 18.0 on (odoo.md §1.5).
    pub fn api_keys_expire(&self) -> bool {
        self.major >= 18
    }

    /// `message_post` takes `body_is_html` from 17.0 on (odoo.md §1.7).
    pub fn has_body_is_html(&self) -> bool {
        self.major >= 17
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.saas {
            f.write_str("saas~")?;
        }
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_choose_the_transport_the_server_has() {
        for (text, transport) in [
            ("16.0", Transport::JsonRpc),
            ("17.0+e", Transport::JsonRpc),
            ("saas~18.3", Transport::JsonRpc),
            ("18.0-20250101", Transport::JsonRpc),
            ("19.0", Transport::Json2),
            ("saas~19.1+e", Transport::Json2),
        ] {
            assert_eq!(
                ServerVersion::parse(text).unwrap().transport(),
                transport,
                "{text}"
            );
        }
    }

    #[test]
    fn saas_releases_sort_between_their_neighbours() {
        let v = |t| ServerVersion::parse(t).unwrap();
        assert!(v("18.0") < v("saas~18.3"));
        assert!(v("saas~18.3") < v("19.0"));
        assert_eq!(v("saas~18.3").to_string(), "saas~18.3");
        assert!(v("saas~18.2").api_keys_expire());
        assert!(!v("16.0").has_body_is_html());
    }

    #[test]
    fn junk_and_ancient_versions_are_refused_with_their_text() {
        assert_eq!(
            ServerVersion::parse("banana"),
            Err(VersionError::Unparseable("banana".into()))
        );
        assert!(matches!(
            ServerVersion::parse("15.0"),
            Err(VersionError::TooOld(_))
        ));
    }
}
