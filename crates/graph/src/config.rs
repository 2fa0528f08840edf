//! Client configuration: base URLs, limits and timeouts. Every limit is explicit.

use std::time::Duration;

use url::Url;

use crate::GraphError;

/// Upload fragments must be multiples of this (320 KiB).
pub const UPLOAD_FRAGMENT_UNIT: usize = 327_680;

/// Everything the client needs besides tokens, clock and randomness.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// Graph root including the version, e.g. `https://graph.microsoft.com/v1.0/`, a national
    /// cloud (`https://graph.microsoft.us/v1.0/`) or the emulator on loopback.
    pub base_url: Url,
    /// Whose mailbox and drive: `me` or `users/{id}`.
    pub mailbox_path: String,
    /// Per attempt, from sending to the end of the body (downloads use `download_timeout`).
    pub request_timeout: Duration,
    pub download_timeout: Duration,
    /// Attempts per request, the first included (throttle waits count as attempts).
    pub attempts_max: u32,
    /// Exponential backoff: `backoff_base * 2^(attempt-1)`, capped, with full jitter.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Longest `Retry-After` this client waits in place; a longer one surfaces as `Throttled`.
    pub retry_after_max: Duration,
    /// Requests in flight per mailbox (Outlook allows 4).
    pub concurrency_max: usize,
    /// The rate governor: at most `rate_requests` per `rate_window` (Outlook: 10,000 per 10 min).
    pub rate_requests: usize,
    pub rate_window: Duration,
    /// `Prefer: odata.maxpagesize` on calendarView delta calls. Drive delta sends no `$top`:
    /// its pages are the server's size (200 on OneDrive). The event-delta page documents the
    /// header with no maximum; a preference the service may lower (the client follows
    /// nextLinks either way), so the default asks for 1,000, the largest page Outlook
    /// documents for a collection (list messages' `$top`), instead of 50: the echo of a
    /// first sync of 5,000 creates is read in 5 pages, not 100 (see crates/testkit README).
    pub page_size_max: u32,
    /// Files up to this size go by simple `PUT .../content`; larger ones by upload session.
    pub simple_upload_bytes_max: u64,
    /// Upload-session fragment size; a multiple of 320 KiB below 60 MiB.
    pub upload_fragment_bytes: usize,
    /// `$batch` rounds for re-sending throttled sub-requests.
    pub batch_rounds_max: u32,
    /// New upload sessions after a session expired mid-upload.
    pub upload_restarts_max: u32,
}

impl GraphConfig {
    /// Defaults for Microsoft's global cloud and the signed-in user.
    pub fn microsoft() -> Self {
        Self::with_base_url(
            Url::parse("https://graph.microsoft.com/v1.0/").expect("a literal URL parses"),
        )
    }

    /// Defaults with another Graph root (national cloud, emulator).
    pub fn with_base_url(mut base_url: Url) -> Self {
        if !base_url.path().ends_with('/') {
            let p = format!("{}/", base_url.path());
            base_url.set_path(&p);
        }
        GraphConfig {
            base_url,
            mailbox_path: "me".into(),
            request_timeout: Duration::from_secs(60),
            download_timeout: Duration::from_secs(3600),
            attempts_max: 6,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            retry_after_max: Duration::from_secs(300),
            concurrency_max: 4,
            rate_requests: 10_000,
            rate_window: Duration::from_secs(600),
            page_size_max: 1000,
            simple_upload_bytes_max: 4 * 1024 * 1024,
            upload_fragment_bytes: 10 * UPLOAD_FRAGMENT_UNIT,
            batch_rounds_max: 5,
            upload_restarts_max: 1,
        }
    }

    /// Checks the limits and the base URL; called by the client constructor.
    pub fn validate(&self) -> Result<(), GraphError> {
        check_transport_security(&self.base_url)?;
        let f = self.upload_fragment_bytes;
        if f == 0 || !f.is_multiple_of(UPLOAD_FRAGMENT_UNIT) || f >= 60 * 1024 * 1024 {
            return Err(GraphError::Invalid(format!(
                "upload_fragment_bytes {f} must be a non-zero multiple of 327680 below 60 MiB"
            )));
        }
        if self.concurrency_max == 0 || self.rate_requests == 0 || self.attempts_max == 0 {
            return Err(GraphError::Invalid(
                "concurrency_max, rate_requests and attempts_max must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// TLS is mandatory except on loopback (the emulator, wiremock): plain `http` to any other
/// host is refused.
pub fn check_transport_security(url: &Url) -> Result<(), GraphError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(GraphError::Invalid(format!(
            "refusing plain http to non-loopback host {:?}",
            url.host_str().unwrap_or("")
        ))),
        other => Err(GraphError::Invalid(format!("unsupported scheme {other:?}"))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_unless_the_host_is_loopback() {
        let ok = |s: &str| check_transport_security(&Url::parse(s).unwrap()).is_ok();
        assert!(ok("https://graph.microsoft.com/v1.0/"));
        assert!(ok("http://127.0.0.1:8080/v1.0/"));
        assert!(ok("http://[::1]:8080/"));
        assert!(ok("http://localhost:1/"));
        assert!(!ok("http://graph.microsoft.com/v1.0/"));
        assert!(!ok("http://127.0.0.1.evil.example/"));
        assert!(!ok("ftp://127.0.0.1/"));
    }

    #[test]
    fn fragment_sizes_that_are_not_320_kib_multiples_are_rejected() {
        let mut c = GraphConfig::microsoft();
        assert!(c.validate().is_ok());
        c.upload_fragment_bytes = 327_680 + 1;
        assert!(c.validate().is_err());
        c.upload_fragment_bytes = 192 * 327_680; // 60 MiB exactly is too big
        assert!(c.validate().is_err());
    }

    #[test]
    fn a_base_url_without_trailing_slash_gets_one_so_paths_join_under_it() {
        let c = GraphConfig::with_base_url(Url::parse("http://127.0.0.1:9/v1.0").unwrap());
        assert_eq!(
            c.base_url.join("me/events").unwrap().path(),
            "/v1.0/me/events"
        );
    }
}
