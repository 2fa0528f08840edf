//! The one-shot loopback listener that receives the authorization redirect.
//!
//! The identity platform ignores the port of a loopback redirect (graph.md §8.3), so the
//! listener takes any free port. It answers the browser with a page the person can close,
//! hands the query to the waiting sign-in, and stops.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use crate::AuthError;

/// What the authorization server put on the redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

type Slot = Arc<Mutex<Option<oneshot::Sender<Callback>>>>;

/// A bound listener waiting for one redirect.
#[derive(Debug)]
pub struct LoopbackRedirect {
    redirect_uri: String,
    received: oneshot::Receiver<Callback>,
    stop: watch::Sender<bool>,
}

const DONE_PAGE: &str = "<!doctype html><meta charset=utf-8><title>Odoo365 Sync</title>\
<body style=\"font-family:system-ui,sans-serif;margin:3em\"><h1>Signed in</h1>\
<p>Odoo365 Sync has what it needs. You can close this tab.</p></body>";

fn error_page(error: &str) -> String {
    // The error code comes from the authorization server; escape it before echoing.
    let escaped: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_-. ".contains(*c))
        .take(80)
        .collect();
    format!(
        "<!doctype html><meta charset=utf-8><title>Odoo365 Sync</title>\
<body style=\"font-family:system-ui,sans-serif;margin:3em\"><h1>Sign-in did not complete</h1>\
<p>The sign-in service answered <code>{escaped}</code>. Return to Odoo365 Sync to try again; \
you can close this tab.</p></body>"
    )
}

async fn receive(
    State(slot): State<Slot>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let cb = Callback {
        code: q.get("code").cloned(),
        state: q.get("state").cloned(),
        error: q.get("error").cloned(),
        error_description: q.get("error_description").cloned(),
    };
    if cb.code.is_none() && cb.error.is_none() {
        // Not a redirect from the authorization server (a stray request, a favicon probe).
        return (
            axum::http::StatusCode::NOT_FOUND,
            Html("not found".to_string()),
        );
    }
    let page = match &cb.error {
        Some(e) => error_page(e),
        None => DONE_PAGE.to_string(),
    };
    if let Some(tx) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = tx.send(cb);
    }
    (axum::http::StatusCode::OK, Html(page))
}

impl LoopbackRedirect {
    /// Binds 127.0.0.1 on a free port (and [::1] on the same port where possible, since
    /// browsers may resolve `localhost` to either) and starts answering.
    pub async fn bind(redirect_host: &str) -> Result<LoopbackRedirect, AuthError> {
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| {
                AuthError::Config(format!(
                    "cannot listen on 127.0.0.1 for the sign-in redirect: {e}"
                ))
            })?;
        let port = v4
            .local_addr()
            .map_err(|e| AuthError::Config(e.to_string()))?
            .port();
        let v6 = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port)))
            .await
            .ok();
        let (tx, received) = oneshot::channel();
        let slot: Slot = Arc::new(Mutex::new(Some(tx)));
        let app = Router::new().route("/", get(receive)).with_state(slot);
        let (stop, stopped) = watch::channel(false);
        for listener in std::iter::once(v4).chain(v6) {
            let app = app.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await;
            });
        }
        Ok(LoopbackRedirect {
            redirect_uri: format!("http://{redirect_host}:{port}"),
            received,
            stop,
        })
    }

    /// The redirect URI to send in the authorize and token requests.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the redirect, at most `timeout`, then stops listening.
    pub async fn wait(self, timeout: Duration) -> Result<Callback, AuthError> {
        let result = tokio::time::timeout(timeout, self.received).await;
        let _ = self.stop.send(true);
        match result {
            Ok(Ok(cb)) => Ok(cb),
            Ok(Err(_)) => Err(AuthError::Network("the sign-in listener stopped".into())),
            Err(_) => Err(AuthError::TimedOut(format!(
                "no answer from the browser within {} s",
                timeout.as_secs()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_listener_hands_over_the_code_and_answers_with_a_closable_page() {
        let lb = LoopbackRedirect::bind("127.0.0.1").await.unwrap();
        let uri = lb.redirect_uri().to_string();
        let waiter = tokio::spawn(lb.wait(Duration::from_secs(5)));
        let client = reqwest::Client::new();
        let stray = client
            .get(format!("{uri}/favicon.ico"))
            .send()
            .await
            .unwrap();
        assert_eq!(stray.status(), 404);
        let page = client
            .get(format!("{uri}/?code=abc&state=xyz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("You can close this tab"));
        let cb = waiter.await.unwrap().unwrap();
        assert_eq!(cb.code.as_deref(), Some("abc"));
        assert_eq!(cb.state.as_deref(), Some("xyz"));
    }

    #[tokio::test]
    async fn an_error_redirect_is_shown_escaped_and_passed_on() {
        let lb = LoopbackRedirect::bind("127.0.0.1").await.unwrap();
        let uri = lb.redirect_uri().to_string();
        let waiter = tokio::spawn(lb.wait(Duration::from_secs(5)));
        let page = reqwest::get(format!("{uri}/?error=access_denied%3Cscript%3E&state=s"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("access_denied"));
        assert!(!page.contains("<script>"));
        assert_eq!(
            waiter.await.unwrap().unwrap().error.as_deref(),
            Some("access_denied<script>")
        );
    }

    #[tokio::test]
    async fn nobody_answering_times_out() {
        let lb = LoopbackRedirect::bind("127.0.0.1").await.unwrap();
        match lb.wait(Duration::from_millis(50)).await {
            Err(AuthError::TimedOut(_)) => {}
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
}
