use chrono::TimeZone;
use odoo365_graph::models::Subscription;
use odoo365_graph::GraphError;
use wiremock::matchers::{body_json, body_partial_json, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::{graph_error, harness};

fn sub_json(id: &str, exp: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "resource": "me/events", "changeType": "created,updated,deleted",
        "notificationUrl": "https://hooks.example.com/graph", "expirationDateTime": exp,
        "clientState": "s3cret", "applicationId": "app", "creatorId": "me"})
}

#[tokio::test]
async fn a_subscription_is_created_renewed_and_deleted() {
    let h = harness().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/subscriptions"))
        .and(body_partial_json(serde_json::json!({
            "resource": "me/events", "changeType": "created,updated,deleted",
            "notificationUrl": "https://hooks.example.com/graph",
            "lifecycleNotificationUrl": "https://hooks.example.com/lifecycle",
            "clientState": "s3cret", "expirationDateTime": "2026-11-29T00:00:00Z"
        })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(sub_json("sub1", "2026-11-29T00:00:00Z")),
        )
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/subscriptions/sub1"))
        .and(body_json(
            serde_json::json!({"expirationDateTime": "2026-12-05T00:00:00Z"}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(sub_json("sub1", "2026-12-05T00:00:00Z")),
        )
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1.0/subscriptions/sub1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&h.server)
        .await;
    let created = h
        .client
        .create_subscription(&Subscription {
            change_type: "created,updated,deleted".into(),
            notification_url: "https://hooks.example.com/graph".into(),
            lifecycle_notification_url: Some("https://hooks.example.com/lifecycle".into()),
            resource: "me/events".into(),
            expiration_date_time: chrono::Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap(),
            client_state: Some("s3cret".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.id, "sub1");
    let renewed = h
        .client
        .renew_subscription(
            "sub1",
            chrono::Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        renewed.expiration_date_time.to_rfc3339(),
        "2026-12-05T00:00:00+00:00"
    );
    h.client.delete_subscription("sub1").await.unwrap();
}

#[tokio::test]
async fn a_duplicate_subscription_is_rejected_with_409() {
    let h = harness().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(409, "ExtensionError"))
        .mount(&h.server)
        .await;
    let err = h
        .client
        .create_subscription(&Subscription {
            change_type: "updated".into(),
            notification_url: "https://hooks.example.com/graph".into(),
            resource: "me/drive/root".into(),
            expiration_date_time: chrono::Utc::now(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::Rejected { status: 409, .. }));
}

#[tokio::test]
async fn the_socket_io_endpoint_is_read_for_the_user_s_drive_or_a_drive_by_id() {
    let h = harness().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/drive/root/subscriptions/socketIo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "opaqueId-fj3hd7yf283jfk193726nvc2w3i2diemdu8",
            "notificationUrl": "https://f3hb0mpua.svc.ms/zbaehwg/callback?snthgk=1ff3-2345672zz831837523"
        })))
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/drives/b!lib/root/subscriptions/socketIo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "x", "notificationUrl": "https://n.svc.ms/ns/callback?q=1",
            "expirationDateTime": "2026-11-23T01:00:00Z"
        })))
        .expect(1)
        .mount(&h.server)
        .await;
    // The documented answer: no expiry.
    let own = h.client.socket_io_endpoint().await.unwrap();
    assert_eq!(
        own.notification_url,
        "https://f3hb0mpua.svc.ms/zbaehwg/callback?snthgk=1ff3-2345672zz831837523"
    );
    assert_eq!(own.expiration_date_time, None);
    let lib = h
        .client
        .with_drive(Some("b!lib"))
        .socket_io_endpoint()
        .await
        .unwrap();
    assert_eq!(
        lib.expiration_date_time,
        Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap())
    );
}

#[tokio::test]
async fn a_refused_socket_io_endpoint_is_a_typed_error() {
    let h = harness().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/drive/root/subscriptions/socketIo"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": {"code": "notSupported", "message": "Operation not supported"}
        })))
        .mount(&h.server)
        .await;
    let err = h.client.socket_io_endpoint().await.unwrap_err();
    assert!(
        !matches!(err, GraphError::Decode { .. }),
        "a refusal is Graph's error, not a decoding failure: {err:?}"
    );
    assert!(err.to_string().contains("notSupported"), "{err}");
}
