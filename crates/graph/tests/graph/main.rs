//! Integration tests of the Graph client against wiremock: every retry, throttle, refresh,
//! 412, 410, maybe-applied, upload-resume and hash-mismatch path.
#![allow(clippy::unwrap_used)]

mod batch;
mod delta;
mod events;
mod files;
mod subscriptions;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use odoo365_graph::{GraphClient, GraphConfig, ManualClock, Seams, StaticToken};
use wiremock::MockServer;

pub struct Harness {
    pub server: MockServer,
    pub client: GraphClient,
    pub clock: ManualClock,
    pub tokens: Arc<StaticToken>,
}

pub fn config_for(server: &MockServer) -> GraphConfig {
    let mut c = GraphConfig::with_base_url(format!("{}/v1.0/", server.uri()).parse().unwrap());
    // Generous, so a loaded machine never turns a normal answer into a timeout; the
    // timeout tests set their own.
    c.request_timeout = Duration::from_secs(10);
    c.backoff_base = Duration::from_millis(100);
    c
}

pub async fn harness() -> Harness {
    harness_with(|_| {}).await
}

pub async fn harness_with(tweak: impl FnOnce(&mut GraphConfig)) -> Harness {
    let server = MockServer::start().await;
    let mut config = config_for(&server);
    tweak(&mut config);
    let clock = ManualClock::starting_at(
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 23, 0, 0)
            .unwrap(),
    );
    let tokens = Arc::new(StaticToken::new("tok-1"));
    let client = GraphClient::new(
        config,
        Seams {
            tokens: tokens.clone(),
            clock: Arc::new(clock.clone()),
            jitter_seed: 7,
            budget: None,
        },
    )
    .unwrap();
    Harness {
        server,
        client,
        clock,
        tokens,
    }
}

pub fn graph_error(status: u16, code: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(status).set_body_json(serde_json::json!({
        "error": {"code": code, "message": "m", "innerError": {"request-id": "req-42", "date": "2026-11-22T23:00:00"}}
    }))
}
