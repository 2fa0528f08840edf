//! One request, sent well: governor and concurrency cap, bearer token (with one refresh on
//! 401), `Retry-After` honoured exactly, exponential backoff with seeded jitter, and every
//! failure classified by what the caller can do next.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use url::Url;

use crate::config::{check_transport_security, GraphConfig};
use crate::error::{ErrorBody, GraphError};
use crate::governor::MailboxBudget;
use crate::runtime::{AccessTokens, Clock};

/// A request as plain data: what builders return and tests inspect.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphRequest {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
    /// Send `Authorization: Bearer`. False for upload URLs and pre-authenticated downloads.
    pub auth: bool,
    /// Safe to resend after a timeout or reset that happened after sending.
    pub idempotent: bool,
    /// How many requests Graph counts this as (the items of a `$batch`), for the governor.
    pub cost: usize,
}

impl GraphRequest {
    pub fn new(method: Method, url: Url) -> Self {
        let idempotent = method != Method::POST;
        GraphRequest {
            method,
            url,
            headers: Vec::new(),
            body: None,
            auth: true,
            idempotent,
            cost: 1,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Result<Self, GraphError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| GraphError::Invalid(format!("body does not serialize: {e}")))?;
        self.body = Some(Bytes::from(bytes));
        Ok(self.header("Content-Type", "application/json"))
    }

    pub fn bytes(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    pub fn without_auth(mut self) -> Self {
        self.auth = false;
        self
    }

    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    /// The value of a header, ignoring case.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body, for tests and logs.
    pub fn json_body(&self) -> Option<serde_json::Value> {
        self.body
            .as_ref()
            .and_then(|b| serde_json::from_slice(b).ok())
    }
}

/// A complete response with its body.
#[derive(Debug, Clone)]
pub struct GraphResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl GraphResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) enum Reply {
    Full(GraphResponse),
    Stream(reqwest::Response),
}

enum Step {
    Done(Reply),
    /// Wait this long, then try again; `last` is returned if no attempt is left.
    Wait(Duration, GraphError),
    Refresh(GraphError),
    Fail(GraphError),
}

/// Tokens, clock, randomness and the mailbox budget the transport runs on.
#[derive(Clone)]
pub struct Seams {
    pub tokens: Arc<dyn AccessTokens>,
    pub clock: Arc<dyn Clock>,
    /// Seeds the backoff jitter, so a simulated run repeats exactly.
    pub jitter_seed: u64,
    /// Share one budget between clients of the same mailbox; `None` makes a fresh one.
    pub budget: Option<Arc<MailboxBudget>>,
}

impl std::fmt::Debug for Seams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seams")
            .field("jitter_seed", &self.jitter_seed)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Transport {
    pub(crate) config: GraphConfig,
    http: reqwest::Client,
    tokens: Arc<dyn AccessTokens>,
    pub(crate) clock: Arc<dyn Clock>,
    rng: Mutex<ChaCha8Rng>,
    budget: Arc<MailboxBudget>,
}

impl Transport {
    pub(crate) fn new(config: GraphConfig, seams: Seams) -> Result<Self, GraphError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            // Redirects are followed by hand: a download's 302 leads to a pre-authenticated
            // URL that must not receive the bearer token.
            .redirect(reqwest::redirect::Policy::none())
            // A failed connect is then reported as such (`NotSent`), not as a timeout after
            // sending.
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!(
                "NONISV|Odoo365Sync|odoo365-graph/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| GraphError::Invalid(format!("HTTP client: {e}")))?;
        let budget = seams.budget.unwrap_or_else(|| {
            Arc::new(MailboxBudget::new(
                config.concurrency_max,
                config.rate_requests,
                config.rate_window,
            ))
        });
        Ok(Transport {
            config,
            http,
            tokens: seams.tokens,
            clock: seams.clock,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seams.jitter_seed)),
            budget,
        })
    }

    /// Sends and reads the whole body.
    pub(crate) async fn send(&self, req: &GraphRequest) -> Result<GraphResponse, GraphError> {
        match self.execute(req, false).await? {
            Reply::Full(r) => Ok(r),
            Reply::Stream(_) => Err(GraphError::Invalid("unexpected streaming reply".into())),
        }
    }

    /// Sends and returns the response with its body unread (downloads).
    pub(crate) async fn send_streaming(
        &self,
        req: &GraphRequest,
    ) -> Result<reqwest::Response, GraphError> {
        match self.execute(req, true).await? {
            Reply::Stream(r) => Ok(r),
            Reply::Full(_) => Err(GraphError::Invalid("unexpected full reply".into())),
        }
    }

    async fn execute(&self, req: &GraphRequest, stream: bool) -> Result<Reply, GraphError> {
        check_transport_security(&req.url)?;
        if req.auth && req.url.origin() != self.config.base_url.origin() {
            return Err(GraphError::Invalid(format!(
                "refusing to send the token to {}, which is not the configured Graph origin",
                req.url.origin().ascii_serialization()
            )));
        }
        let mut refreshed = false;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match self.attempt(req, stream, attempt).await {
                Step::Done(reply) => return Ok(reply),
                Step::Fail(e) => return Err(e),
                Step::Refresh(e) => {
                    if refreshed || !req.auth {
                        return Err(e);
                    }
                    refreshed = true;
                    tracing::debug!(url = %req.url.path(), "401: invalidating the token once");
                    self.tokens.invalidate().await;
                }
                Step::Wait(wait, last) => {
                    if attempt >= self.config.attempts_max || wait > self.config.retry_after_max {
                        return Err(last);
                    }
                    tracing::debug!(url = %req.url.path(), attempt, wait_ms = wait.as_millis() as u64, error = %last, "retrying");
                    self.clock.sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(&self, req: &GraphRequest, stream: bool, attempt: u32) -> Step {
        let _permit = self.budget.admit_n(&*self.clock, req.cost).await;
        let timeout = if stream {
            self.config.download_timeout
        } else {
            self.config.request_timeout
        };
        let mut rb = self
            .http
            .request(req.method.clone(), req.url.clone())
            .timeout(timeout);
        for (k, v) in &req.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if req.auth {
            match self.tokens.token().await {
                Ok(t) => rb = rb.bearer_auth(t),
                Err(e) => {
                    return Step::Fail(GraphError::Unauthorized {
                        code: e.0,
                        request_id: None,
                    })
                }
            }
        }
        if let Some(b) = &req.body {
            rb = rb.body(b.clone());
        } else if matches!(req.method, Method::POST | Method::PUT | Method::PATCH) {
            rb = rb.header("Content-Length", "0");
        }
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => return self.transport_failure(req, &e, attempt),
        };
        let status = resp.status();
        tracing::debug!(method = %req.method, path = %req.url.path(), status = status.as_u16(), "graph reply");
        if status.is_success() || status.is_redirection() {
            if stream {
                return Step::Done(Reply::Stream(resp));
            }
            let headers = resp.headers().clone();
            return match resp.bytes().await {
                Ok(body) => Step::Done(Reply::Full(GraphResponse {
                    status,
                    headers,
                    body,
                })),
                Err(e) => self.transport_failure(req, &e, attempt),
            };
        }
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap_or_default();
        self.classify(req, status, &headers, &body, attempt)
    }

    fn transport_failure(&self, req: &GraphRequest, e: &reqwest::Error, attempt: u32) -> Step {
        let reason = error_chain(e);
        if e.is_builder() {
            return Step::Fail(GraphError::Invalid(reason));
        }
        if e.is_connect() {
            // Nothing reached the server: safe for every method.
            return Step::Wait(self.backoff(attempt), GraphError::NotSent { reason });
        }
        // Timeout, reset or a broken body after the request went out.
        if req.idempotent {
            Step::Wait(self.backoff(attempt), GraphError::MaybeApplied { reason })
        } else {
            Step::Fail(GraphError::MaybeApplied { reason })
        }
    }

    fn classify(
        &self,
        req: &GraphRequest,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        attempt: u32,
    ) -> Step {
        let err = ErrorBody::parse(body);
        let code = err.error.code.clone();
        let request_id = headers
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| err.request_id());
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.clock.now()));
        match status.as_u16() {
            401 => Step::Refresh(GraphError::Unauthorized { code, request_id }),
            412 => Step::Fail(GraphError::PreconditionFailed { code, request_id }),
            410 => Step::Fail(GraphError::ResyncRequired {
                code,
                // Resolved against the request, in case a server sends it relative.
                location: headers
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| req.url.join(v).ok())
                    .map(String::from),
            }),
            400..=499 if err.has_code("syncStateNotFound") || err.has_code("resyncRequired") => {
                Step::Fail(GraphError::ResyncRequired {
                    code,
                    location: None,
                })
            }
            404 => Step::Fail(GraphError::NotFound { code, request_id }),
            // A throttled request was refused, not applied: resend any method.
            429 => {
                let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
                Step::Wait(
                    wait,
                    GraphError::Throttled {
                        retry_after: wait,
                        code,
                        request_id,
                    },
                )
            }
            503 if retry_after.is_some() => {
                let wait = retry_after.unwrap_or_default();
                Step::Wait(
                    wait,
                    GraphError::Throttled {
                        retry_after: wait,
                        code,
                        request_id,
                    },
                )
            }
            s @ 500..=599 => {
                let rejected = GraphError::Rejected {
                    status: s,
                    code,
                    message: err.error.message,
                    request_id,
                };
                if req.idempotent {
                    Step::Wait(
                        retry_after.unwrap_or_else(|| self.backoff(attempt)),
                        rejected,
                    )
                } else {
                    Step::Fail(GraphError::MaybeApplied {
                        reason: rejected.to_string(),
                    })
                }
            }
            s => Step::Fail(GraphError::Rejected {
                status: s,
                code,
                message: err.error.message,
                request_id,
            }),
        }
    }

    /// Exponential backoff with "equal jitter": half the step fixed, half random.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .config
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.config.backoff_max);
        let half = exp / 2;
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let jitter_ms = rng.random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

/// `Retry-After` as seconds or an HTTP-date, relative to `now`.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 23, 0, 0)
            .unwrap();
        assert_eq!(parse_retry_after("10", now), Some(Duration::from_secs(10)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 23:00:42 GMT", now),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 22:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn a_post_is_not_idempotent_by_default_and_other_methods_are() {
        let u = Url::parse("https://graph.microsoft.com/v1.0/me/events").unwrap();
        assert!(!GraphRequest::new(Method::POST, u.clone()).idempotent);
        assert!(GraphRequest::new(Method::PATCH, u.clone()).idempotent);
        assert!(GraphRequest::new(Method::DELETE, u).idempotent);
    }
}
