use std::sync::{Arc, Mutex};

use odoo365_graph::models::ConflictBehavior;
use odoo365_graph::{quick_xor_hash, GraphError, UploadSession, UploadTarget};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, Request, ResponseTemplate};

use crate::{graph_error, harness_with, Harness};

const UNIT: usize = 327_680;

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn target() -> UploadTarget {
    UploadTarget::new_file("PARENT", "report.pdf", ConflictBehavior::Replace)
}

fn item_with_hash(hash: &str) -> serde_json::Value {
    serde_json::json!({"id": "F1", "name": "report.pdf", "eTag": "\"e\"", "cTag": "\"c\"", "size": 1,
        "file": {"mimeType": "application/pdf", "hashes": {"quickXorHash": hash}}})
}

async fn small_uploads() -> Harness {
    harness_with(|c| {
        c.simple_upload_bytes_max = 1000;
        c.upload_fragment_bytes = UNIT;
    })
    .await
}

fn opener(
    data: Vec<u8>,
) -> impl FnMut() -> std::future::Ready<std::io::Result<std::io::Cursor<Vec<u8>>>> {
    move || std::future::ready(Ok(std::io::Cursor::new(data.clone())))
}

fn content_range(r: &Request) -> String {
    r.headers
        .get("content-range")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_small_file_goes_by_simple_put_and_its_hash_is_verified() {
    let h = small_uploads().await;
    let data = content(500);
    Mock::given(method("PUT"))
        .and(path("/v1.0/me/drive/items/PARENT:/report.pdf:/content"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(item_with_hash(&quick_xor_hash(&data))),
        )
        .expect(1)
        .mount(&h.server)
        .await;
    let up = h
        .client
        .upload(&target(), 500, opener(data.clone()), |_| {})
        .await
        .unwrap();
    assert!(up.verified);
    assert_eq!(up.quick_xor_hash, quick_xor_hash(&data));
    let sent = &h.server.received_requests().await.unwrap()[0];
    assert_eq!(sent.body, data);
    assert_eq!(
        sent.url.query(),
        Some("%40microsoft.graph.conflictBehavior=replace")
    );
}

#[tokio::test]
async fn a_small_upload_whose_stored_hash_differs_is_a_hash_mismatch() {
    let h = small_uploads().await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(item_with_hash(&quick_xor_hash(b"other"))),
        )
        .mount(&h.server)
        .await;
    let err = h
        .client
        .upload(&target(), 500, opener(content(500)), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::HashMismatch { .. }), "{err:?}");
}

async fn mount_session(h: &Harness, name: &str) -> String {
    let url = format!("{}/upload/{name}", h.server.uri());
    Mock::given(method("POST"))
        .and(path(
            "/v1.0/me/drive/items/PARENT:/report.pdf:/createUploadSession",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "uploadUrl": url, "expirationDateTime": "2026-11-29T09:21:55.523Z"
        })))
        .up_to_n_times(1)
        .mount(&h.server)
        .await;
    url
}

#[tokio::test]
async fn a_large_file_goes_in_320_kib_fragments_without_the_token_and_is_verified() {
    let h = small_uploads().await;
    let size = 2 * UNIT + 1000;
    let data = content(size);
    mount_session(&h, "s1").await;
    for (range, next) in [
        (format!("bytes 0-{}/{size}", UNIT - 1), format!("{UNIT}-")),
        (
            format!("bytes {UNIT}-{}/{size}", 2 * UNIT - 1),
            format!("{}-", 2 * UNIT),
        ),
    ] {
        Mock::given(method("PUT"))
            .and(path("/upload/s1"))
            .and(header("Content-Range", range.as_str()))
            .respond_with(
                ResponseTemplate::new(202)
                    .set_body_json(serde_json::json!({"nextExpectedRanges": [next]})),
            )
            .mount(&h.server)
            .await;
    }
    Mock::given(method("PUT"))
        .and(path("/upload/s1"))
        .and(header(
            "Content-Range",
            format!("bytes {}-{}/{size}", 2 * UNIT, size - 1).as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(item_with_hash(&quick_xor_hash(&data))),
        )
        .mount(&h.server)
        .await;
    let persisted: Arc<Mutex<Vec<UploadSession>>> = Arc::default();
    let p = persisted.clone();
    let up = h
        .client
        .upload(&target(), size as u64, opener(data.clone()), move |s| {
            p.lock().unwrap().push(s.clone())
        })
        .await
        .unwrap();
    assert!(up.verified);
    assert_eq!(
        persisted.lock().unwrap()[0].upload_url,
        format!("{}/upload/s1", h.server.uri())
    );
    let puts: Vec<Request> = h
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/upload/s1")
        .collect();
    assert_eq!(puts.len(), 3);
    let mut reassembled = Vec::new();
    for (i, r) in puts.iter().enumerate() {
        assert!(
            r.headers.get("authorization").is_none(),
            "no token to the upload URL"
        );
        if i < 2 {
            assert_eq!(r.body.len() % UNIT, 0);
        }
        reassembled.extend_from_slice(&r.body);
    }
    assert_eq!(reassembled, data);
    let create = h
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    assert!(
        create.headers.get("authorization").is_some(),
        "the session itself is created with the token"
    );
}

#[tokio::test]
async fn a_persisted_session_resumes_from_the_range_graph_still_expects() {
    let h = small_uploads().await;
    let size = 2 * UNIT + 10;
    let data = content(size);
    let url = format!("{}/upload/s9", h.server.uri());
    Mock::given(method("GET"))
        .and(path("/upload/s9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "expirationDateTime": "2026-11-29T09:21:55.523Z", "nextExpectedRanges": [format!("{UNIT}-")]
        })))
        .mount(&h.server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/upload/s9"))
        .and(header(
            "Content-Range",
            format!("bytes {UNIT}-{}/{size}", 2 * UNIT - 1).as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(202).set_body_json(
                serde_json::json!({"nextExpectedRanges": [format!("{}-", 2 * UNIT)]}),
            ),
        )
        .mount(&h.server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/upload/s9"))
        .and(header(
            "Content-Range",
            format!("bytes {}-{}/{size}", 2 * UNIT, size - 1).as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(item_with_hash(&quick_xor_hash(&data))),
        )
        .mount(&h.server)
        .await;
    let session = UploadSession {
        upload_url: url,
        size: size as u64,
        expiration: None,
    };
    let up = h
        .client
        .resume_upload(&session, std::io::Cursor::new(data.clone()))
        .await
        .unwrap();
    assert!(up.verified, "the hash covers the skipped bytes too");
    let ranges: Vec<String> = h
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "PUT")
        .map(content_range)
        .collect();
    assert!(
        ranges.iter().all(|r| !r.starts_with("bytes 0-")),
        "the first fragment is not sent again: {ranges:?}"
    );
    assert_eq!(ranges.len(), 2);
}

#[tokio::test]
async fn a_416_realigns_on_the_session_status_instead_of_failing() {
    let h = small_uploads().await;
    let size = UNIT + 10;
    let data = content(size);
    let url = format!("{}/upload/s5", h.server.uri());
    Mock::given(method("PUT"))
        .and(path("/upload/s5"))
        .and(header(
            "Content-Range",
            format!("bytes 0-{}/{size}", UNIT - 1).as_str(),
        ))
        .respond_with(graph_error(416, "invalidRange"))
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/upload/s5"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"nextExpectedRanges": [format!("{UNIT}-")]})),
        )
        .mount(&h.server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/upload/s5"))
        .and(header(
            "Content-Range",
            format!("bytes {UNIT}-{}/{size}", size - 1).as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(item_with_hash(&quick_xor_hash(&data))),
        )
        .mount(&h.server)
        .await;
    // A resume whose status call claims nothing was received yet (stale), then 416.
    Mock::given(method("GET"))
        .and(path("/upload/s5"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"nextExpectedRanges": ["0-"]})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    let session = UploadSession {
        upload_url: url,
        size: size as u64,
        expiration: None,
    };
    let up = h
        .client
        .resume_upload(&session, std::io::Cursor::new(data))
        .await
        .unwrap();
    assert!(up.verified);
}

#[tokio::test]
async fn an_expired_session_restarts_the_upload_with_a_new_session() {
    let h = small_uploads().await;
    let size = UNIT + 5;
    let data = content(size);
    mount_session(&h, "old").await;
    Mock::given(method("PUT"))
        .and(path("/upload/old"))
        .respond_with(graph_error(404, "itemNotFound"))
        .mount(&h.server)
        .await;
    mount_session(&h, "new").await;
    Mock::given(method("PUT"))
        .and(path("/upload/new"))
        .and(header(
            "Content-Range",
            format!("bytes 0-{}/{size}", UNIT - 1).as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(serde_json::json!({"nextExpectedRanges": [format!("{UNIT}-")]})),
        )
        .mount(&h.server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/upload/new"))
        .and(header(
            "Content-Range",
            format!("bytes {UNIT}-{}/{size}", size - 1).as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(item_with_hash(&quick_xor_hash(&data))),
        )
        .mount(&h.server)
        .await;
    let sessions: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = sessions.clone();
    let up = h
        .client
        .upload(&target(), size as u64, opener(data), move |x| {
            s.lock().unwrap().push(x.upload_url.clone())
        })
        .await
        .unwrap();
    assert!(up.verified);
    let sessions = sessions.lock().unwrap();
    assert_eq!(sessions.len(), 2);
    assert!(sessions[1].ends_with("/upload/new"));
}

#[tokio::test]
async fn a_resume_of_a_vanished_session_says_the_session_expired() {
    let h = small_uploads().await;
    Mock::given(method("GET"))
        .respond_with(graph_error(404, "itemNotFound"))
        .mount(&h.server)
        .await;
    let session = UploadSession {
        upload_url: format!("{}/upload/x", h.server.uri()),
        size: 2_000_000,
        expiration: None,
    };
    let err = h
        .client
        .resume_upload(&session, std::io::Cursor::new(Vec::new()))
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::UploadSessionExpired));
}

#[tokio::test]
async fn a_large_upload_whose_stored_hash_differs_is_a_hash_mismatch() {
    let h = small_uploads().await;
    let size = UNIT + 1;
    mount_session(&h, "s2").await;
    Mock::given(method("PUT"))
        .and(path("/upload/s2"))
        .and(header(
            "Content-Range",
            format!("bytes 0-{}/{size}", UNIT - 1).as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(serde_json::json!({"nextExpectedRanges": [format!("{UNIT}-")]})),
        )
        .mount(&h.server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/upload/s2"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(item_with_hash("4a00000000000000000000000100000000000000")),
        )
        .mount(&h.server)
        .await;
    let err = h
        .client
        .upload(&target(), size as u64, opener(content(size)), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::HashMismatch { .. }), "{err:?}");
}

#[tokio::test]
async fn a_download_follows_the_redirect_without_the_token_and_checks_the_hash() {
    let h = small_uploads().await;
    let data = content(200_000);
    Mock::given(method("GET"))
        .and(path("/v1.0/me/drive/items/F1/content"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "Location",
            format!("{}/dl/pre-auth?sig=1", h.server.uri()).as_str(),
        ))
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/dl/pre-auth"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(data.clone()))
        .mount(&h.server)
        .await;
    let mut sink = Vec::new();
    let hash = quick_xor_hash(&data);
    let done = h
        .client
        .download("F1", Some(&hash), &mut sink)
        .await
        .unwrap();
    assert_eq!(sink, data);
    assert_eq!(done.bytes, 200_000);
    let reqs = h.server.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("authorization").is_some());
    assert_eq!(reqs[1].url.path(), "/dl/pre-auth");
    assert!(
        reqs[1].headers.get("authorization").is_none(),
        "no token to the pre-authenticated URL"
    );
}

#[tokio::test]
async fn a_download_whose_content_does_not_match_the_items_hash_is_a_hash_mismatch() {
    let h = small_uploads().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/drive/items/F1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(item_with_hash(&quick_xor_hash(b"what was stored"))),
        )
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/drive/items/F1/content"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"what arrived".to_vec()))
        .mount(&h.server)
        .await;
    let err = h
        .client
        .download("F1", None, tokio::io::sink())
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::HashMismatch { .. }), "{err:?}");
}

#[tokio::test]
async fn a_name_onedrive_would_refuse_is_refused_before_any_request() {
    let h = small_uploads().await;
    let t = UploadTarget::new_file("PARENT", "minutes: draft?.docx", ConflictBehavior::Fail);
    let err = h
        .client
        .upload(&t, 3, opener(content(3)), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::Invalid(_)));
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn deleting_a_drive_item_with_a_stale_etag_is_precondition_failed() {
    let h = small_uploads().await;
    Mock::given(method("DELETE"))
        .and(path("/v1.0/me/drive/items/I1"))
        .and(header("If-Match", "\"stale\""))
        .respond_with(graph_error(412, "resourceModified"))
        .mount(&h.server)
        .await;
    let err = h
        .client
        .delete_item("I1", Some("\"stale\""))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::PreconditionFailed { ref code, .. } if code == "resourceModified")
    );
}

#[tokio::test]
async fn a_folder_name_clash_with_fail_is_rejected_409() {
    let h = small_uploads().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/me/drive/items/root1/children"))
        .respond_with(graph_error(409, "nameAlreadyExists"))
        .mount(&h.server)
        .await;
    let err = h
        .client
        .create_folder("root1", "Odoo", ConflictBehavior::Fail)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::Rejected { status: 409, ref code, .. } if code == "nameAlreadyExists")
    );
}

#[tokio::test]
async fn replacing_content_under_a_stale_ctag_is_precondition_failed() {
    let h = small_uploads().await;
    Mock::given(method("PUT"))
        .and(path("/v1.0/me/drive/items/F1/content"))
        .and(header("If-Match", "\"stale\""))
        .respond_with(graph_error(412, "resourceModified"))
        .mount(&h.server)
        .await;
    let t = UploadTarget::replace("F1", Some("\"stale\"".into()));
    let err = h
        .client
        .upload(&t, 10, opener(content(10)), |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::PreconditionFailed { .. }),
        "{err:?}"
    );
}
