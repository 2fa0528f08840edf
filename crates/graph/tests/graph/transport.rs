use std::sync::Arc;
use std::time::Duration;

use odoo365_graph::{GraphClient, GraphConfig, GraphError, ManualClock, Seams, StaticToken};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::{graph_error, harness, harness_with};

fn event_json(id: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "subject": "s", "@odata.etag": "W/\"ck\""})
}

#[tokio::test]
async fn a_429_waits_exactly_the_retry_after_seconds_then_succeeds() {
    let h = harness().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/events/e1"))
        .respond_with(graph_error(429, "ApplicationThrottled").insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/events/e1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(event_json("e1")))
        .mount(&h.server)
        .await;
    let ev = h.client.get_event("e1").await.unwrap();
    assert_eq!(ev.id, "e1");
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(7)]);
    assert_eq!(h.server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_503_with_an_http_date_retry_after_waits_until_that_date() {
    let h = harness().await;
    // The harness clock starts at 2026-11-22T23:00:00Z.
    Mock::given(method("GET"))
        .respond_with(
            graph_error(503, "serviceNotAvailable")
                .insert_header("Retry-After", "Sun, 22 Nov 2026 23:00:42 GMT"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(event_json("e1")))
        .mount(&h.server)
        .await;
    h.client.get_event("e1").await.unwrap();
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(42)]);
}

#[tokio::test]
async fn a_throttled_post_is_resent_because_graph_refused_it_without_applying() {
    let h = harness().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(429, "TooManyRequests").insert_header("Retry-After", "3"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(event_json("new")))
        .mount(&h.server)
        .await;
    let ev = h
        .client
        .create_event(&Default::default(), uuid::Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!(ev.id, "new");
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(3)]);
}

#[tokio::test]
async fn throttling_that_outlasts_the_attempts_surfaces_as_throttled_with_the_retry_after() {
    let h = harness_with(|c| c.attempts_max = 3).await;
    Mock::given(method("GET"))
        .respond_with(graph_error(429, "TooManyRequests").insert_header("Retry-After", "5"))
        .mount(&h.server)
        .await;
    let err = h.client.get_event("e1").await.unwrap_err();
    match err {
        GraphError::Throttled {
            retry_after,
            code,
            request_id,
        } => {
            assert_eq!(retry_after, Duration::from_secs(5));
            assert_eq!(code, "TooManyRequests");
            assert_eq!(request_id.as_deref(), Some("req-42"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(h.server.received_requests().await.unwrap().len(), 3);
    assert_eq!(h.clock.sleeps().len(), 2);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_allowed_wait_is_returned_instead_of_slept() {
    let h = harness_with(|c| c.retry_after_max = Duration::from_secs(60)).await;
    Mock::given(method("GET"))
        .respond_with(graph_error(429, "TooManyRequests").insert_header("Retry-After", "3600"))
        .mount(&h.server)
        .await;
    let err = h.client.get_event("e1").await.unwrap_err();
    assert!(
        matches!(err, GraphError::Throttled { retry_after, .. } if retry_after == Duration::from_secs(3600))
    );
    assert!(h.clock.sleeps().is_empty());
}

async fn backoff_sleeps_of_a_failing_get(seed: u64) -> (Vec<Duration>, GraphError, usize) {
    let server = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(graph_error(500, "generalException"))
        .mount(&server)
        .await;
    let mut config = crate::config_for(&server);
    config.attempts_max = 4;
    let clock = ManualClock::starting_at(chrono::Utc::now());
    let client = GraphClient::new(
        config,
        Seams {
            tokens: Arc::new(StaticToken::new("t")),
            clock: Arc::new(clock.clone()),
            jitter_seed: seed,
            budget: None,
        },
    )
    .unwrap();
    let err = client.get_event("e1").await.unwrap_err();
    let n = server.received_requests().await.unwrap().len();
    (clock.sleeps(), err, n)
}

#[tokio::test]
async fn server_errors_back_off_exponentially_with_jitter_and_stop_after_the_attempt_limit() {
    let (sleeps, err, requests) = backoff_sleeps_of_a_failing_get(7).await;
    assert_eq!(requests, 4);
    assert_eq!(sleeps.len(), 3);
    for (i, s) in sleeps.iter().enumerate() {
        let step = Duration::from_millis(100) * (1 << i);
        assert!(
            *s >= step / 2 && *s <= step,
            "sleep {i} = {s:?} outside [{:?}, {step:?}]",
            step / 2
        );
    }
    assert!(
        matches!(err, GraphError::Rejected { status: 500, ref code, .. } if code == "generalException")
    );
    let (again, _, _) = backoff_sleeps_of_a_failing_get(7).await;
    assert_eq!(sleeps, again, "the same seed gives the same jitter");
}

#[tokio::test]
async fn a_401_invalidates_the_token_once_and_the_retry_succeeds() {
    let h = harness().await;
    Mock::given(method("GET"))
        .respond_with(graph_error(401, "InvalidAuthenticationToken"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(header("Authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(event_json("e1")))
        .mount(&h.server)
        .await;
    h.client.get_event("e1").await.unwrap();
    assert_eq!(h.tokens.invalidations(), 1);
}

#[tokio::test]
async fn a_second_401_is_unauthorized_after_exactly_one_refresh() {
    let h = harness().await;
    Mock::given(method("GET"))
        .respond_with(graph_error(401, "InvalidAuthenticationToken"))
        .mount(&h.server)
        .await;
    let err = h.client.get_event("e1").await.unwrap_err();
    assert!(
        matches!(err, GraphError::Unauthorized { ref code, .. } if code == "InvalidAuthenticationToken")
    );
    assert_eq!(h.tokens.invalidations(), 1);
    assert_eq!(h.server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_post_that_times_out_after_sending_is_maybe_applied_and_not_resent() {
    let h = harness_with(|c| c.request_timeout = Duration::from_secs(1)).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(event_json("x"))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&h.server)
        .await;
    let err = h
        .client
        .create_event(&Default::default(), uuid::Uuid::new_v4())
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::MaybeApplied { .. }), "{err:?}");
    assert_eq!(h.server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_post_answered_502_is_maybe_applied_and_not_resent() {
    let h = harness().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(502, "badGateway"))
        .mount(&h.server)
        .await;
    let err = h.client.cancel_event("e1", None).await.unwrap_err();
    assert!(matches!(err, GraphError::MaybeApplied { .. }), "{err:?}");
    assert_eq!(h.server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_get_that_times_out_is_retried_because_reading_twice_is_safe() {
    let h = harness_with(|c| c.request_timeout = Duration::from_secs(1)).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(event_json("slow"))
                .set_delay(Duration::from_secs(5)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(event_json("fast")))
        .mount(&h.server)
        .await;
    assert_eq!(h.client.get_event("e1").await.unwrap().id, "fast");
    assert_eq!(h.clock.sleeps().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_not_sent_even_for_a_post() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut config =
        GraphConfig::with_base_url(format!("http://127.0.0.1:{port}/v1.0/").parse().unwrap());
    config.attempts_max = 2;
    let clock = ManualClock::starting_at(chrono::Utc::now());
    let client = GraphClient::new(
        config,
        Seams {
            tokens: Arc::new(StaticToken::new("t")),
            clock: Arc::new(clock.clone()),
            jitter_seed: 1,
            budget: None,
        },
    )
    .unwrap();
    let err = client.cancel_event("e1", None).await.unwrap_err();
    assert!(matches!(err, GraphError::NotSent { .. }), "{err:?}");
    assert_eq!(
        clock.sleeps().len(),
        1,
        "a connect failure is retried once with attempts_max = 2"
    );
}

#[tokio::test]
async fn plain_http_to_a_non_loopback_graph_is_refused_at_construction() {
    let config = GraphConfig::with_base_url("http://graph.microsoft.com/v1.0/".parse().unwrap());
    let err = GraphClient::new(
        config,
        Seams {
            tokens: Arc::new(StaticToken::new("t")),
            clock: Arc::new(ManualClock::starting_at(chrono::Utc::now())),
            jitter_seed: 1,
            budget: None,
        },
    )
    .unwrap_err();
    assert!(matches!(err, GraphError::Invalid(_)));
}

#[tokio::test]
async fn the_token_is_never_sent_to_a_link_on_another_origin() {
    let h = harness().await;
    let link = odoo365_graph::DeltaLink::from_persisted(
        "https://evil.example/v1.0/me/calendarView/delta?$deltatoken=x",
    );
    let mut round = h.client.calendar_delta_resume(&link);
    let err = round.next_page().await.unwrap_err();
    assert!(matches!(err, GraphError::Invalid(_)), "{err:?}");
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_rate_governor_spaces_requests_instead_of_drawing_a_429() {
    let h = harness_with(|c| {
        c.rate_requests = 2;
        c.rate_window = Duration::from_secs(10);
    })
    .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(event_json("e1")))
        .mount(&h.server)
        .await;
    for _ in 0..3 {
        h.client.get_event("e1").await.unwrap();
    }
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(10)]);
}

#[tokio::test]
async fn two_clients_of_one_mailbox_share_its_concurrency_cap() {
    let server = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(event_json("e1"))
                .set_delay(Duration::from_millis(150)),
        )
        .mount(&server)
        .await;
    let budget = Arc::new(odoo365_graph::MailboxBudget::new(
        1,
        100,
        Duration::from_secs(600),
    ));
    let make = || {
        GraphClient::new(
            crate::config_for(&server),
            Seams {
                tokens: Arc::new(StaticToken::new("t")),
                clock: Arc::new(odoo365_graph::SystemClock),
                jitter_seed: 1,
                budget: Some(budget.clone()),
            },
        )
        .unwrap()
    };
    let (a, b) = (make(), make());
    let started = std::time::Instant::now();
    let (ra, rb) = tokio::join!(a.get_event("e1"), b.get_event("e1"));
    ra.unwrap();
    rb.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "with a cap of 1 the two requests run one after the other"
    );
}

/// Hands out `old` until invalidated, then `new`.
struct RotatingToken {
    invalidated: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl odoo365_graph::AccessTokens for RotatingToken {
    async fn token(&self) -> Result<String, odoo365_graph::TokenError> {
        Ok(
            if self.invalidated.load(std::sync::atomic::Ordering::SeqCst) {
                "new".into()
            } else {
                "old".into()
            },
        )
    }
    async fn invalidate(&self) {
        self.invalidated
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn after_a_401_the_retry_carries_the_refreshed_token() {
    let server = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("Authorization", "Bearer old"))
        .respond_with(graph_error(401, "InvalidAuthenticationToken"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("Authorization", "Bearer new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(event_json("e1")))
        .mount(&server)
        .await;
    let client = GraphClient::new(
        crate::config_for(&server),
        Seams {
            tokens: Arc::new(RotatingToken {
                invalidated: Default::default(),
            }),
            clock: Arc::new(ManualClock::starting_at(chrono::Utc::now())),
            jitter_seed: 1,
            budget: None,
        },
    )
    .unwrap();
    assert_eq!(client.get_event("e1").await.unwrap().id, "e1");
}

/// A server that reads each request and then drops the connection without answering.
async fn resetting_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 8192];
            let _ = sock.read(&mut buf).await;
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(sock);
        }
    });
    (format!("http://{addr}/v1.0/"), seen)
}

fn client_at(base: &str, attempts: u32) -> (GraphClient, ManualClock) {
    let mut config = GraphConfig::with_base_url(base.parse().unwrap());
    config.attempts_max = attempts;
    let clock = ManualClock::starting_at(chrono::Utc::now());
    let client = GraphClient::new(
        config,
        Seams {
            tokens: Arc::new(StaticToken::new("t")),
            clock: Arc::new(clock.clone()),
            jitter_seed: 3,
            budget: None,
        },
    )
    .unwrap();
    (client, clock)
}

#[tokio::test]
async fn a_connection_reset_after_a_post_was_sent_is_maybe_applied_and_not_resent() {
    let (base, seen) = resetting_server().await;
    let (client, _) = client_at(&base, 4);
    let err = client
        .create_event(&Default::default(), uuid::Uuid::new_v4())
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::MaybeApplied { .. }), "{err:?}");
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_reset_on_a_get_is_retried_up_to_the_attempt_limit() {
    let (base, seen) = resetting_server().await;
    let (client, clock) = client_at(&base, 3);
    assert!(client.get_event("e1").await.is_err());
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(clock.sleeps().len(), 2);
}
