use std::time::Duration;

use odoo365_graph::{BatchRequest, GraphError};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::harness;

#[tokio::test]
async fn throttled_sub_requests_and_their_failed_dependents_are_resent_after_the_largest_retry_after(
) {
    let h = harness().await;
    // Round 1: "a" ok, "b" throttled (5 s), "c" throttled (9 s), "d" depends on "c" so 424.
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .and(body_partial_json(serde_json::json!({"requests": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"responses": [
            {"id": "d", "status": 424, "body": {"error": {"code": "FailedDependency", "message": "m"}}},
            {"id": "b", "status": 429, "headers": {"Retry-After": "5"}, "body": {"error": {"code": "ApplicationThrottled", "message": "m"}}},
            {"id": "a", "status": 201, "body": {"id": "E-a"}},
            {"id": "c", "status": 429, "headers": {"retry-after": "9"}, "body": {"error": {"code": "TooManyRequests", "message": "m"}}}
        ]})))
        .up_to_n_times(1)
        .mount(&h.server)
        .await;
    // Round 2: only b, c and d, and d still depends on c.
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .and(body_partial_json(serde_json::json!({"requests": [{"id": "b"}, {"id": "c"}, {"id": "d", "dependsOn": ["c"]}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"responses": [
            {"id": "c", "status": 200, "body": {"id": "E-c"}},
            {"id": "d", "status": 204},
            {"id": "b", "status": 201, "body": {"id": "E-b"}}
        ]})))
        .mount(&h.server)
        .await;
    let out = h
        .client
        .batch(vec![
            BatchRequest::new("a", "POST", "/me/events").json(serde_json::json!({"subject": "a"})),
            BatchRequest::new("b", "POST", "/me/events").json(serde_json::json!({"subject": "b"})),
            BatchRequest::new("c", "PATCH", "/me/events/E-c")
                .json(serde_json::json!({"subject": "c"})),
            BatchRequest::new("d", "DELETE", "/me/events/E-d").depends_on("c"),
        ])
        .await
        .unwrap();
    let ids: Vec<&str> = out.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["a", "b", "c", "d"],
        "responses come back in request order"
    );
    let statuses: Vec<u16> = out.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 201, 200, 204]);
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(9)]);
    assert_eq!(h.server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn sub_requests_still_throttled_after_the_round_limit_come_back_as_429() {
    let h = crate::harness_with(|c| c.batch_rounds_max = 2).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"responses": [
            {"id": "1", "status": 429, "headers": {"Retry-After": "2"}, "body": {"error": {"code": "TooManyRequests", "message": "m"}}}
        ]})))
        .mount(&h.server)
        .await;
    let out = h
        .client
        .batch(vec![BatchRequest::new("1", "GET", "/me/events/x")])
        .await
        .unwrap();
    assert_eq!(out[0].status, 429);
    assert_eq!(out[0].retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(out[0].error_code().as_deref(), Some("TooManyRequests"));
    assert_eq!(h.server.received_requests().await.unwrap().len(), 2);
}

/// Found by the bench's throttled run at Outlook's real limits: a Retry-After beyond
/// `retry_after_max` (the window has 580 s left) ended the batch with "no response for
/// request id", an error for the whole batch, although its other creates had landed.
#[tokio::test]
async fn sub_requests_told_to_wait_too_long_come_back_as_429_beside_the_others() {
    let h = crate::harness_with(|c| c.retry_after_max = Duration::from_secs(300)).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"responses": [
            {"id": "2", "status": 429, "headers": {"Retry-After": "580"}, "body": {"error": {"code": "ApplicationThrottled", "message": "m"}}},
            {"id": "1", "status": 201, "body": {"id": "E-1"}}
        ]})))
        .mount(&h.server)
        .await;
    let out = h
        .client
        .batch(vec![
            BatchRequest::new("1", "POST", "/me/events").json(serde_json::json!({"subject": "a"})),
            BatchRequest::new("2", "POST", "/me/events").json(serde_json::json!({"subject": "b"})),
        ])
        .await
        .unwrap();
    let statuses: Vec<u16> = out.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 429]);
    assert_eq!(out[1].retry_after(), Some(Duration::from_secs(580)));
    assert!(h.clock.sleeps().is_empty(), "{:?}", h.clock.sleeps());
    assert_eq!(h.server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_batch_of_twenty_one_is_refused_before_sending() {
    let h = harness().await;
    let reqs = (0..21)
        .map(|i| BatchRequest::new(i.to_string(), "GET", "/me"))
        .collect();
    assert!(matches!(
        h.client.batch(reqs).await,
        Err(GraphError::Invalid(_))
    ));
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_sub_request_retry_after_given_as_an_http_date_is_honoured() {
    let h = harness().await;
    // The harness clock starts at 2026-11-22T23:00:00Z.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"responses": [
            {"id": "1", "status": 503, "headers": {"Retry-After": "Sun, 22 Nov 2026 23:00:30 GMT"}}
        ]})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"responses": [
                {"id": "1", "status": 200, "body": {"id": "x"}}
            ]})),
        )
        .mount(&h.server)
        .await;
    let out = h
        .client
        .batch(vec![BatchRequest::new("1", "GET", "/me/events/x")])
        .await
        .unwrap();
    assert_eq!(out[0].status, 200);
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(30)]);
}
