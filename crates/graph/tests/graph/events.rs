use odoo365_graph::models::{EventType, OnlineMeetingProviderType, ResponseType};
use odoo365_graph::GraphError;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::{graph_error, harness};

#[tokio::test]
async fn a_stale_etag_on_patch_is_precondition_failed() {
    let h = harness().await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/me/events/e1"))
        .and(header("If-Match", "W/\"old\""))
        .respond_with(graph_error(412, "ErrorIrresolvableConflict"))
        .mount(&h.server)
        .await;
    let err = h
        .client
        .update_event("e1", &serde_json::json!({"subject": "new"}), "W/\"old\"")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::PreconditionFailed { ref code, ref request_id } if code == "ErrorIrresolvableConflict" && request_id.as_deref() == Some("req-42")),
        "{err:?}"
    );
    assert_eq!(
        h.server.received_requests().await.unwrap().len(),
        1,
        "412 is never retried"
    );
}

#[tokio::test]
async fn a_stale_etag_on_delete_is_precondition_failed() {
    let h = harness().await;
    Mock::given(method("DELETE"))
        .and(header("If-Match", "W/\"old\""))
        .respond_with(graph_error(412, "ErrorIrresolvableConflict"))
        .mount(&h.server)
        .await;
    let err = h
        .client
        .delete_event("e1", Some("W/\"old\""))
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::PreconditionFailed { .. }));
}

#[tokio::test]
async fn a_missing_event_is_not_found() {
    let h = harness().await;
    Mock::given(method("GET"))
        .respond_with(graph_error(404, "ErrorItemNotFound"))
        .mount(&h.server)
        .await;
    let err = h.client.get_event("gone").await.unwrap_err();
    assert!(matches!(err, GraphError::NotFound { ref code, .. } if code == "ErrorItemNotFound"));
}

#[tokio::test]
async fn create_sends_the_transaction_id_and_prefer_headers_and_decodes_the_teams_link() {
    let h = harness().await;
    let txn = uuid::Uuid::new_v4();
    Mock::given(method("POST"))
        .and(path("/v1.0/me/events"))
        .and(body_partial_json(serde_json::json!({
            "transactionId": txn.to_string(),
            "isOnlineMeeting": true,
            "onlineMeetingProvider": "teamsForBusiness"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "@odata.etag": "W/\"ck1\"",
            "id": "AAMkNew",
            "changeKey": "ck1",
            "type": "singleInstance",
            "isOnlineMeeting": true,
            "onlineMeetingProvider": "teamsForBusiness",
            "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"},
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "somethingNew": {"graph": "adds fields"}
        })))
        .mount(&h.server)
        .await;
    let event = odoo365_graph::models::Event {
        subject: Some("Planning".into()),
        is_online_meeting: Some(true),
        online_meeting_provider: Some(OnlineMeetingProviderType::TeamsForBusiness),
        ..Default::default()
    };
    let created = h.client.create_event(&event, txn).await.unwrap();
    let sent = &h.server.received_requests().await.unwrap()[0];
    assert_eq!(
        sent.headers.get("prefer").unwrap().to_str().unwrap(),
        r#"outlook.timezone="UTC", IdType="ImmutableId""#
    );
    assert_eq!(created.id, "AAMkNew");
    assert_eq!(created.etag().as_deref(), Some("W/\"ck1\""));
    assert_eq!(created.event_type, Some(EventType::SingleInstance));
    assert!(created
        .join_url()
        .unwrap()
        .starts_with("https://teams.microsoft.com/"));
    assert_eq!(
        created.response_status.unwrap().response,
        Some(ResponseType::Organizer)
    );
}

#[tokio::test]
async fn cancel_posts_the_comment_and_accepts_202() {
    let h = harness().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/me/events/e1/cancel"))
        .and(body_partial_json(
            serde_json::json!({"comment": "Cancelled in Odoo"}),
        ))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&h.server)
        .await;
    h.client
        .cancel_event("e1", Some("Cancelled in Odoo"))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_attendee_cancelling_is_rejected_with_graphs_code_and_status() {
    let h = harness().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(400, "ErrorAccessDenied"))
        .mount(&h.server)
        .await;
    let err = h.client.cancel_event("e1", None).await.unwrap_err();
    assert!(
        matches!(err, GraphError::Rejected { status: 400, ref code, .. } if code == "ErrorAccessDenied")
    );
}
