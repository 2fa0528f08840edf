use chrono::TimeZone;
use odoo365_graph::{DeltaLink, GraphError};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::{graph_error, harness};

#[tokio::test]
async fn a_calendar_round_follows_empty_pages_and_hands_out_the_delta_link_only_at_the_end() {
    let h = harness().await;
    let base = h.server.uri();
    Mock::given(method("GET"))
        .and(path("/v1.0/me/calendarView/delta"))
        .and(query_param("startDateTime", "2026-11-01T00:00:00Z"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.nextLink": format!("{base}/v1.0/me/calendarView/delta?$skiptoken=S1"),
            "value": []
        })))
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("$skiptoken", "S1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.deltaLink": format!("{base}/v1.0/me/calendarView/delta?$deltatoken=D1"),
            "value": [
                {"@odata.type": "#microsoft.graph.event", "@odata.etag": "W/\"a\"", "id": "occ1",
                 "type": "occurrence", "seriesMasterId": "master1", "originalStart": "2026-11-03T09:00:00Z",
                 "start": {"dateTime": "2026-11-03T09:00:00.0000000", "timeZone": "UTC"},
                 "end": {"dateTime": "2026-11-03T10:00:00.0000000", "timeZone": "UTC"}},
                {"@odata.type": "#microsoft.graph.event", "id": "gone1", "@removed": {"reason": "deleted"}}
            ]
        })))
        .mount(&h.server)
        .await;

    let start = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let end = chrono::Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap();
    let mut round = h.client.calendar_delta(start, end);
    let mut items = Vec::new();
    while let Some(page) = round.next_page().await.unwrap() {
        assert!(round.pages() <= 2);
        items.extend(page);
    }
    assert!(round.is_complete());
    let link = round.finish().unwrap();
    assert!(link.as_str().ends_with("$deltatoken=D1"));
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].series_master_id.as_deref(), Some("master1"));
    assert!(!items[0].is_removed());
    assert!(items[1].is_removed());

    let reqs = h.server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[0].url.query().unwrap().contains("startDateTime"));
    assert!(
        !reqs[1].url.query().unwrap().contains("startDateTime"),
        "the window goes only on the first call"
    );
    for r in &reqs {
        let prefer = r.headers.get("prefer").unwrap().to_str().unwrap();
        assert!(
            prefer.contains(r#"IdType="ImmutableId""#)
                && prefer.contains(r#"outlook.timezone="UTC""#)
                && prefer.contains("odata.maxpagesize=")
        );
    }
}

#[tokio::test]
async fn an_unfinished_round_cannot_be_committed() {
    let h = harness().await;
    let base = h.server.uri();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.nextLink": format!("{base}/v1.0/me/calendarView/delta?$skiptoken=S1"),
            "value": []
        })))
        .mount(&h.server)
        .await;
    let mut round = h
        .client
        .calendar_delta(chrono::Utc::now(), chrono::Utc::now());
    round.next_page().await.unwrap();
    assert!(matches!(round.finish(), Err(GraphError::Invalid(_))));
}

#[tokio::test]
async fn an_expired_calendar_token_is_resync_required() {
    let h = harness().await;
    Mock::given(method("GET"))
        .respond_with(graph_error(410, "SyncStateNotFound"))
        .mount(&h.server)
        .await;
    let link = DeltaLink::from_persisted(format!(
        "{}/v1.0/me/calendarView/delta?$deltatoken=old",
        h.server.uri()
    ));
    let err = h
        .client
        .calendar_delta_resume(&link)
        .next_page()
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::ResyncRequired { ref code, location: None } if code == "SyncStateNotFound"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_400_sync_state_not_found_is_resync_required_too() {
    let h = harness().await;
    Mock::given(method("GET"))
        .respond_with(graph_error(400, "syncStateNotFound"))
        .mount(&h.server)
        .await;
    let link = DeltaLink::from_persisted(format!(
        "{}/v1.0/me/calendarView/delta?$deltatoken=old",
        h.server.uri()
    ));
    let err = h
        .client
        .calendar_delta_resume(&link)
        .next_page()
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::ResyncRequired { .. }));
}

#[tokio::test]
async fn a_drive_resync_carries_the_location_that_restarts_the_enumeration() {
    let h = harness().await;
    let base = h.server.uri();
    let restart = format!("{base}/v1.0/me/drive/root/delta?token=");
    Mock::given(method("GET"))
        .and(query_param("token", "old"))
        .respond_with(
            ResponseTemplate::new(410)
                .insert_header("Location", restart.as_str())
                .set_body_json(serde_json::json!({"code": "resyncRequired", "message": "Resync required. Replace any local items with the server's version"})),
        )
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("token", ""))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.deltaLink": format!("{base}/v1.0/me/drive/root/delta?token=new"),
            "value": [
                {"id": "f1", "name": "a.pdf", "size": 3, "eTag": "\"e1\"", "cTag": "\"c1\"",
                 "file": {"mimeType": "application/pdf", "hashes": {"quickXorHash": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}},
                 "parentReference": {"driveId": "d", "id": "root1"}},
                {"id": "f2", "deleted": {}}
            ]
        })))
        .mount(&h.server)
        .await;
    let old = DeltaLink::from_persisted(format!("{base}/v1.0/me/drive/root/delta?token=old"));
    let err = h
        .client
        .drive_delta_resume(&old)
        .next_page()
        .await
        .unwrap_err();
    let GraphError::ResyncRequired {
        code,
        location: Some(location),
    } = err
    else {
        panic!("unexpected {err:?}")
    };
    assert_eq!(code, "resyncRequired");
    let mut round = h
        .client
        .drive_delta_resume(&DeltaLink::from_persisted(location));
    let items = round.next_page().await.unwrap().unwrap();
    assert!(round.next_page().await.unwrap().is_none());
    assert!(round.finish().unwrap().as_str().ends_with("token=new"));
    assert!(items[1].is_deleted());
    assert!(items[0].quick_xor_hash().unwrap().is_ok());
}

#[tokio::test]
async fn a_page_that_does_not_match_the_model_names_the_failing_json_path() {
    let h = harness().await;
    let base = h.server.uri();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.deltaLink": format!("{base}/d"),
            "value": [{"id": "ok"}, {"id": "bad", "start": {"dateTime": 12}}]
        })))
        .mount(&h.server)
        .await;
    let err = h
        .client
        .calendar_delta(chrono::Utc::now(), chrono::Utc::now())
        .next_page()
        .await
        .unwrap_err();
    match err {
        GraphError::Decode { path, .. } => assert_eq!(path, "value[1].start.dateTime"),
        other => panic!("unexpected {other:?}"),
    }
}
