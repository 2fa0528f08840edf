//! The Microsoft 365 emulator on loopback, driven over HTTP as a client would.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use chrono::{TimeZone, Utc};
use odoo365_testkit::graph::{DriveType, GraphConfig, GraphEmulator, RunningGraph};
use odoo365_testkit::{Clock, Fault, FaultRule};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

const T0: (i32, u32, u32) = (2026, 3, 2);

struct Env {
    g: RunningGraph,
    http: Client,
    token: String,
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.g.graph_url, path)
    }
    fn em(&self) -> &GraphEmulator {
        &self.g.emulator
    }
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        let req = match body {
            Some(body) => req.json(&body),
            None => req,
        };
        req.send().await.unwrap()
    }
    async fn get(&self, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    async fn patch(&self, path: &str, body: Value) -> reqwest::Response {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }
    async fn delete(&self, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::DELETE, path, None).await
    }
    async fn get_abs(&self, url: &str) -> reqwest::Response {
        self.http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }
}

async fn env_with(config: GraphConfig) -> Env {
    let g = GraphEmulator::start(config).await.unwrap();
    g.emulator
        .create_user("alice@contoso.com", "Alice", DriveType::Business);
    let token = g.emulator.mint_token("alice@contoso.com").unwrap();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    Env { g, http, token }
}

fn frozen() -> GraphConfig {
    GraphConfig {
        seed: 7,
        clock: Clock::frozen(Utc.with_ymd_and_hms(T0.0, T0.1, T0.2, 8, 0, 0).unwrap()),
        ..GraphConfig::default()
    }
}

async fn env() -> Env {
    env_with(frozen()).await
}

fn event(subject: &str, start: &str, end: &str) -> Value {
    json!({"subject": subject, "start": {"dateTime": start, "timeZone": "UTC"}, "end": {"dateTime": end, "timeZone": "UTC"}})
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

fn assert_graph_error(v: &Value, code: &str) {
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    assert!(v["error"]["innerError"]["request-id"].is_string(), "{v}");
    assert!(v["error"]["innerError"]["date"].is_string(), "{v}");
}

mod core {
    use super::*;

    #[tokio::test]
    async fn a_request_without_a_bearer_is_401_invalid_authentication_token_in_graphs_shape() {
        let e = env().await;
        let r = e.http.get(e.url("/me/events")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let rid = r.headers()["request-id"].to_str().unwrap().to_string();
        let v = json_of(r).await;
        assert_graph_error(&v, "InvalidAuthenticationToken");
        assert_eq!(v["error"]["innerError"]["request-id"], rid.as_str());
    }

    #[tokio::test]
    async fn an_access_token_stops_working_when_the_clock_passes_its_lifetime() {
        let e = env().await;
        assert_eq!(e.get("/me").await.status(), StatusCode::OK);
        e.em().clock().advance(chrono::Duration::seconds(5401));
        let r = e.get("/me").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let v = json_of(r).await;
        assert_eq!(
            v["error"]["message"],
            "Access token has expired or is not yet valid."
        );
    }

    #[tokio::test]
    async fn the_client_request_id_is_echoed_in_headers_and_error_bodies() {
        let e = env().await;
        let r = e
            .http
            .get(e.url("/me/events/nope"))
            .bearer_auth(&e.token)
            .header("client-request-id", "abc-123")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["client-request-id"], "abc-123");
        let v = json_of(r).await;
        assert_graph_error(&v, "ErrorItemNotFound");
        assert_eq!(v["error"]["innerError"]["client-request-id"], "abc-123");
    }

    #[tokio::test]
    async fn injected_throttles_and_server_errors_answer_with_status_code_and_retry_after() {
        let e = env().await;
        e.em()
            .faults()
            .add(FaultRule::once(Fault::Throttle { retry_after_s: 7 }));
        let r = e.get("/me/events").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "7");
        assert_graph_error(&json_of(r).await, "ApplicationThrottled");
        e.em().faults().add(FaultRule::once(Fault::Unavailable {
            retry_after_s: Some(3),
        }));
        let r = e.get("/me/drive").await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()["retry-after"], "3");
        e.em().faults().add(FaultRule::once(Fault::Internal));
        assert_eq!(
            e.get("/me").await.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        e.em().faults().add(FaultRule::once(Fault::BadGateway));
        assert_eq!(e.get("/me").await.status(), StatusCode::BAD_GATEWAY);
        e.em().faults().add(FaultRule::once(Fault::ExpiredToken));
        assert_eq!(e.get("/me").await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(e.get("/me").await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_slow_fault_delays_a_normal_answer_and_a_gateway_timeout_is_504() {
        let e = env().await;
        e.em()
            .faults()
            .add(FaultRule::once(Fault::Slow { delay_ms: 300 }));
        let started = std::time::Instant::now();
        assert_eq!(e.get("/me").await.status(), StatusCode::OK);
        assert!(started.elapsed() >= std::time::Duration::from_millis(300));
        e.em().faults().add(FaultRule::once(Fault::GatewayTimeout));
        assert_eq!(e.get("/me").await.status(), StatusCode::GATEWAY_TIMEOUT);
        e.em().faults().add(FaultRule::once(Fault::Unavailable {
            retry_after_s: None,
        }));
        let r = e.get("/me").await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().get("retry-after").is_none());
        let log = e.em().request_log().snapshot();
        let faults: Vec<Option<&str>> = log.iter().map(|r| r.fault.as_deref()).collect();
        assert_eq!(
            faults,
            vec![Some("slow"), Some("gateway_timeout"), Some("unavailable")]
        );
    }

    #[tokio::test]
    async fn a_reset_before_apply_drops_the_connection_and_creates_nothing() {
        let e = env().await;
        e.em()
            .faults()
            .add(FaultRule::once(Fault::ResetBeforeApply).on_writes());
        let r = e
            .http
            .post(e.url("/me/events"))
            .bearer_auth(&e.token)
            .json(&event("Lost", "2026-03-03T10:00:00", "2026-03-03T11:00:00"))
            .send()
            .await;
        assert!(r.is_err(), "the client must get no answer");
        let list = json_of(e.get("/me/events").await).await;
        assert_eq!(list["value"].as_array().unwrap().len(), 0);
        let log = e.em().request_log().snapshot();
        assert_eq!(log.iter().filter(|r| r.status == 0).count(), 1);
    }

    #[tokio::test]
    async fn a_reset_after_apply_drops_the_connection_but_the_write_lands() {
        let e = env().await;
        e.em()
            .faults()
            .add(FaultRule::once(Fault::ResetAfterApply).on_writes());
        let r = e
            .http
            .post(e.url("/me/events"))
            .bearer_auth(&e.token)
            .json(&event(
                "Landed",
                "2026-03-03T10:00:00",
                "2026-03-03T11:00:00",
            ))
            .send()
            .await;
        assert!(r.is_err(), "the client must get no answer");
        let list = json_of(e.get("/me/events").await).await;
        assert_eq!(list["value"][0]["subject"], "Landed");
    }

    #[tokio::test]
    async fn a_timeout_fault_hangs_then_closes_without_an_answer() {
        let e = env().await;
        e.em()
            .faults()
            .add(FaultRule::once(Fault::Timeout { hang_ms: 300 }));
        let started = std::time::Instant::now();
        let r = e.http.get(e.url("/me")).bearer_auth(&e.token).send().await;
        assert!(r.is_err());
        assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    }

    #[tokio::test]
    async fn the_mailbox_request_limit_answers_429_until_the_window_passes() {
        let e = env().await;
        let mut limits = e.em().limits();
        limits.requests_per_window = 3;
        e.em().set_limits(limits);
        for _ in 0..3 {
            assert_eq!(e.get("/me").await.status(), StatusCode::OK);
        }
        let r = e.get("/me").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "600");
        assert_graph_error(&json_of(r).await, "TooManyRequests");
        e.em().clock().advance(chrono::Duration::seconds(600));
        assert_eq!(e.get("/me").await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_request_beyond_the_concurrency_limit_is_throttled_while_others_are_in_flight() {
        let e = env().await;
        let mut limits = e.em().limits();
        limits.concurrent = 1;
        e.em().set_limits(limits);
        e.em()
            .faults()
            .add(FaultRule::once(Fault::Slow { delay_ms: 1200 }));
        let slow = e.http.get(e.url("/me")).bearer_auth(&e.token).send();
        let fast = async {
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            e.http
                .get(e.url("/me"))
                .bearer_auth(&e.token)
                .send()
                .await
                .unwrap()
        };
        let (slow, fast) = tokio::join!(slow, fast);
        assert_eq!(slow.unwrap().status(), StatusCode::OK);
        assert_eq!(fast.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_graph_error(&json_of(fast).await, "ApplicationThrottled");
    }

    #[tokio::test]
    async fn the_request_log_records_method_path_status_and_user() {
        let e = env().await;
        e.get("/me/events?$top=1").await;
        let log = e.em().request_log().snapshot();
        let rec = log.last().unwrap();
        assert_eq!(rec.method, "GET");
        assert_eq!(rec.path, "/v1.0/me/events?$top=1");
        assert_eq!(rec.status, 200);
        assert_eq!(rec.user.as_deref(), Some(e.em().users()[0].id.as_str()));
    }

    #[tokio::test]
    async fn the_control_api_creates_users_mints_tokens_and_reads_the_log() {
        let e = env().await;
        let c = &e.g.control_url;
        let r = e
            .http
            .post(format!("{c}/users"))
            .json(
                &json!({"mail": "bob@fabrikam.com", "displayName": "Bob", "driveType": "personal"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let user = json_of(r).await;
        assert_eq!(user["driveType"], "personal");
        let tok = json_of(
            e.http
                .post(format!("{c}/tokens"))
                .json(&json!({"user": "bob@fabrikam.com", "lifetimeSeconds": 60}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(tok["expiresIn"], 60);
        let me = e
            .http
            .get(e.url("/me"))
            .bearer_auth(tok["accessToken"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(me).await["mail"], "bob@fabrikam.com");
        let log = json_of(e.http.get(format!("{c}/requests")).send().await.unwrap()).await;
        assert_eq!(log["value"].as_array().unwrap().len(), 1);
        let r = e
            .http
            .post(format!("{c}/clock/advance"))
            .json(&json!({"seconds": 61}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let me = e
            .http
            .get(e.url("/me"))
            .bearer_auth(tok["accessToken"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
        let counters = json_of(e.http.get(format!("{c}/counters")).send().await.unwrap()).await;
        assert_eq!(counters["byStatus"]["401"], 1);
        let r = e
            .http
            .put(format!("{c}/faults"))
            .json(&json!({"rules": [{"fault": {"kind": "internal"}}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            e.get("/me").await.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let bad = e
            .http
            .post(format!("{c}/tokens"))
            .json(&json!({"user": "nobody@x.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn users_paths_reach_the_callers_own_mailbox_and_drive_and_no_one_elses() {
        let e = env().await;
        let me = e.em().users()[0].clone();
        e.em()
            .create_user("carol@contoso.com", "Carol", DriveType::Business);
        let r = e
            .post(
                &format!("/users/{}/events", me.mail),
                event("Mine", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let list = json_of(e.get(&format!("/users/{}/events", me.id)).await).await;
        assert_eq!(list["value"][0]["subject"], "Mine");
        assert_eq!(
            e.get(&format!("/users/{}/drive/root", me.id))
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            e.get(&format!("/drives/{}/root/children", me.drive_id))
                .await
                .status(),
            StatusCode::OK
        );
        let r = e.get("/users/carol@contoso.com/events").await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_graph_error(&json_of(r).await, "ErrorAccessDenied");
    }

    #[tokio::test]
    async fn an_unknown_segment_is_a_graph_bad_request() {
        let e = env().await;
        let r = e.get("/me/nonsense").await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_graph_error(&json_of(r).await, "BadRequest");
    }
}

mod calendar {
    use super::*;

    #[tokio::test]
    async fn events_crud_answers_201_200_204_then_404_error_item_not_found() {
        let e = env().await;
        let r = e
            .post(
                "/me/events",
                event("Plan", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let ev = json_of(r).await;
        let id = ev["id"].as_str().unwrap().to_string();
        assert_eq!(ev["type"], "singleInstance");
        assert_eq!(ev["start"]["dateTime"], "2026-03-03T10:00:00.0000000");
        assert_eq!(ev["start"]["timeZone"], "UTC");
        assert_eq!(
            ev["@odata.etag"],
            format!("W/\"{}\"", ev["changeKey"].as_str().unwrap())
        );
        assert_eq!(ev["isOrganizer"], true);
        assert_eq!(ev["responseStatus"]["response"], "organizer");
        assert!(ev.get("transactionId").is_none(), "only returned when set");
        assert_eq!(
            e.get(&format!("/me/events/{id}")).await.status(),
            StatusCode::OK
        );
        let r = e
            .patch(&format!("/me/events/{id}"), json!({"subject": "Plan B"}))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let ev2 = json_of(r).await;
        assert_eq!(ev2["subject"], "Plan B");
        assert_ne!(ev2["changeKey"], ev["changeKey"]);
        assert_ne!(ev2["@odata.etag"], ev["@odata.etag"]);
        assert_eq!(
            e.delete(&format!("/me/events/{id}")).await.status(),
            StatusCode::NO_CONTENT
        );
        let r = e.get(&format!("/me/events/{id}")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_graph_error(&json_of(r).await, "ErrorItemNotFound");
    }

    #[tokio::test]
    async fn a_retried_create_with_the_same_transaction_id_returns_the_first_event() {
        let e = env().await;
        let mut body = event("Once", "2026-03-03T10:00:00", "2026-03-03T11:00:00");
        body["transactionId"] = json!("7E163156-7762-4BEB-A1C6-729EA81755A7");
        let a = json_of(e.post("/me/events", body.clone()).await).await;
        let b = json_of(e.post("/me/events", body).await).await;
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["transactionId"], "7E163156-7762-4BEB-A1C6-729EA81755A7");
        let list = json_of(e.get("/me/events").await).await;
        assert_eq!(list["value"].as_array().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_stale_if_match_is_412_error_irresolvable_conflict_and_changes_nothing() {
        let e = env().await;
        let ev = json_of(
            e.post(
                "/me/events",
                event("A", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
            )
            .await,
        )
        .await;
        let id = ev["id"].as_str().unwrap();
        let etag = ev["@odata.etag"].as_str().unwrap().to_string();
        e.patch(&format!("/me/events/{id}"), json!({"subject": "B"}))
            .await;
        let r = e
            .http
            .patch(e.url(&format!("/me/events/{id}")))
            .bearer_auth(&e.token)
            .header("If-Match", &etag)
            .json(&json!({"subject": "C"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
        assert_graph_error(&json_of(r).await, "ErrorIrresolvableConflict");
        let now = json_of(e.get(&format!("/me/events/{id}")).await).await;
        assert_eq!(now["subject"], "B");
        let r = e
            .http
            .patch(e.url(&format!("/me/events/{id}")))
            .bearer_auth(&e.token)
            .header("If-Match", now["@odata.etag"].as_str().unwrap())
            .json(&json!({"subject": "C"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_concurrent_edit_fault_turns_a_held_change_key_stale_but_lets_a_blind_write_through()
    {
        let e = env().await;
        let ev = json_of(
            e.post(
                "/me/events",
                event("A", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
            )
            .await,
        )
        .await;
        let id = ev["id"].as_str().unwrap();
        let etag = ev["@odata.etag"].as_str().unwrap().to_string();
        let patch_with = |tag: Option<String>, subject: &'static str| {
            let mut r = e
                .http
                .patch(e.url(&format!("/me/events/{id}")))
                .bearer_auth(&e.token)
                .json(&json!({ "subject": subject }));
            if let Some(t) = tag {
                r = r.header("If-Match", t);
            }
            r.send()
        };
        e.em()
            .faults()
            .add(FaultRule::once(Fault::ConcurrentEdit).on_method("PATCH"));
        // The etag was current when read; the edit that lands first makes it stale.
        let r = patch_with(Some(etag.clone()), "B").await.unwrap();
        assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
        assert_graph_error(&json_of(r).await, "ErrorIrresolvableConflict");
        let now = json_of(e.get(&format!("/me/events/{id}")).await).await;
        assert_eq!(now["subject"], "A", "the refused write changed nothing");
        assert_ne!(now["@odata.etag"].as_str().unwrap(), etag);
        // Spent: a write with the fresh key goes through.
        let fresh = now["@odata.etag"].as_str().unwrap().to_string();
        assert_eq!(
            patch_with(Some(fresh), "B").await.unwrap().status(),
            StatusCode::OK
        );
        // Without If-Match the other edit is simply written over.
        e.em()
            .faults()
            .add(FaultRule::once(Fault::ConcurrentEdit).on_method("PATCH"));
        assert_eq!(
            patch_with(None, "C").await.unwrap().status(),
            StatusCode::OK
        );
        let now = json_of(e.get(&format!("/me/events/{id}")).await).await;
        assert_eq!(now["subject"], "C");
    }

    #[tokio::test]
    async fn a_concurrent_edit_fault_on_a_drive_item_changes_its_etag_not_its_ctag() {
        let e = env().await;
        let put = e
            .http
            .put(e.url("/me/drive/root:/a.txt:/content"))
            .bearer_auth(&e.token)
            .body("first")
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::CREATED);
        let item = json_of(put).await;
        let id = item["id"].as_str().unwrap().to_string();
        let (etag, ctag) = (
            item["eTag"].as_str().unwrap().to_string(),
            item["cTag"].as_str().unwrap().to_string(),
        );
        let rename = |tag: &str, name: &'static str| {
            e.http
                .patch(e.url(&format!("/me/drive/items/{id}")))
                .bearer_auth(&e.token)
                .header("if-match", tag)
                .json(&json!({ "name": name }))
                .send()
        };
        e.em()
            .faults()
            .add(FaultRule::once(Fault::ConcurrentEdit).on_path("/drive/items/"));
        // Someone else's metadata edit lands first: the held eTag is stale, nothing renamed.
        let r = rename(&etag, "b.txt").await.unwrap();
        assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
        let now = json_of(e.get(&format!("/me/drive/items/{id}")).await).await;
        assert_eq!(now["name"], "a.txt");
        assert_ne!(now["eTag"].as_str().unwrap(), etag);
        assert_eq!(now["cTag"].as_str().unwrap(), ctag, "content untouched");
        // The content tag still matches (metadata-only edit), so If-Match on it goes through.
        assert_eq!(
            rename(&ctag, "b.txt").await.unwrap().status(),
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn bad_bodies_are_graph_errors_not_panics() {
        let e = env().await;
        let r = e
            .http
            .post(e.url("/me/events"))
            .bearer_auth(&e.token)
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_graph_error(&json_of(r).await, "BadRequest");
        let mut b = event("x", "2026-03-03T10:00:00", "2026-03-03T11:00:00");
        b["start"]["timeZone"] = json!("Mars/Olympus");
        let r = e.post("/me/events", b).await;
        assert_graph_error(&json_of(r).await, "TimeZoneNotSupportedException");
        let r = e
            .post(
                "/me/events",
                event("x", "2026-03-03T10:00:00", "2026-03-03T09:00:00"),
            )
            .await;
        assert_graph_error(&json_of(r).await, "ErrorPropertyValidationFailure");
    }

    #[tokio::test]
    async fn all_day_events_must_be_midnight_and_come_back_midnight_in_any_zone() {
        let e = env().await;
        let mut b = event("Off", "2026-03-05T09:00:00", "2026-03-06T00:00:00");
        b["isAllDay"] = json!(true);
        let r = e.post("/me/events", b).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let mut b = event("Holiday", "2026-03-05T00:00:00", "2026-03-06T00:00:00");
        b["isAllDay"] = json!(true);
        let id = json_of(e.post("/me/events", b).await).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = e
            .http
            .get(e.url(&format!("/me/events/{id}")))
            .bearer_auth(&e.token)
            .header("Prefer", "outlook.timezone=\"Pacific Standard Time\"")
            .send()
            .await
            .unwrap();
        let v = json_of(r).await;
        assert_eq!(v["start"]["dateTime"], "2026-03-05T00:00:00.0000000");
        assert_eq!(v["start"]["timeZone"], "Pacific Standard Time");
    }

    #[tokio::test]
    async fn prefer_outlook_timezone_converts_start_and_end() {
        let e = env().await;
        let id = json_of(
            e.post(
                "/me/events",
                event("Call", "2026-03-03T18:00:00", "2026-03-03T19:00:00"),
            )
            .await,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let v = json_of(
            e.http
                .get(e.url(&format!("/me/events/{id}")))
                .bearer_auth(&e.token)
                .header("Prefer", "outlook.timezone=\"Europe/Paris\"")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(v["start"]["dateTime"], "2026-03-03T19:00:00.0000000");
        assert_eq!(v["start"]["timeZone"], "Europe/Paris");
        assert_eq!(v["originalStartTimeZone"], "UTC");
    }

    #[tokio::test]
    async fn an_online_teams_meeting_gets_a_join_url() {
        let e = env().await;
        let mut b = event("Teams", "2026-03-03T10:00:00", "2026-03-03T11:00:00");
        b["isOnlineMeeting"] = json!(true);
        b["onlineMeetingProvider"] = json!("teamsForBusiness");
        let v = json_of(e.post("/me/events", b).await).await;
        assert_eq!(v["isOnlineMeeting"], true);
        let url = v["onlineMeeting"]["joinUrl"].as_str().unwrap();
        assert!(
            url.starts_with("https://teams.microsoft.com/l/meetup-join/19%3ameeting_"),
            "{url}"
        );
        let plain = json_of(
            e.post(
                "/me/events",
                event("Plain", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
            )
            .await,
        )
        .await;
        assert!(plain["onlineMeeting"].is_null());
    }

    #[tokio::test]
    async fn attendee_mail_goes_out_for_invites_updates_removals_and_cancellation() {
        let e = env().await;
        let mut b = event("Review", "2026-03-03T10:00:00", "2026-03-03T11:00:00");
        b["attendees"] = json!([{"type": "required", "emailAddress": {"address": "bob@contoso.com", "name": "Bob"}}]);
        let id = json_of(e.post("/me/events", b).await).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        e.patch(&format!("/me/events/{id}"), json!({"attendees": [
            {"emailAddress": {"address": "bob@contoso.com"}}, {"emailAddress": {"address": "carol@contoso.com"}}]}))
            .await;
        e.patch(&format!("/me/events/{id}"), json!({"subject": "Review v2"}))
            .await;
        e.patch(&format!("/me/events/{id}"), json!({"categories": ["Blue"]}))
            .await;
        let r = e
            .post(
                &format!("/me/events/{id}/cancel"),
                json!({"comment": "Sorry"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let out = e.em().outbox();
        let kinds: Vec<(String, Vec<String>, String)> = out
            .iter()
            .map(|m| (format!("{:?}", m.kind), m.to.clone(), m.reason.clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (
                    "Invitation".into(),
                    vec!["bob@contoso.com".into()],
                    "created".into()
                ),
                (
                    "Invitation".into(),
                    vec!["carol@contoso.com".into()],
                    "attendeesAdded".into()
                ),
                (
                    "Update".into(),
                    vec!["bob@contoso.com".into(), "carol@contoso.com".into()],
                    "changed:subject".into()
                ),
                (
                    "Cancellation".into(),
                    vec!["bob@contoso.com".into(), "carol@contoso.com".into()],
                    "cancelled".into()
                ),
            ]
        );
        assert_eq!(out[3].comment.as_deref(), Some("Sorry"));
        assert_eq!(
            e.get(&format!("/me/events/{id}")).await.status(),
            StatusCode::NOT_FOUND
        );
    }

    async fn weekly(e: &Env) -> String {
        let mut b = event("Standup", "2026-03-02T09:00:00", "2026-03-02T09:15:00");
        b["recurrence"] = json!({"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "wednesday"], "firstDayOfWeek": "sunday"},
            "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 6}});
        let r = e.post("/me/events", b).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v = json_of(r).await;
        assert_eq!(v["type"], "seriesMaster");
        assert_eq!(v["recurrence"]["pattern"]["dayOfMonth"], 0);
        v["id"].as_str().unwrap().to_string()
    }

    const WINDOW: &str = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-04-01T00:00:00Z";

    #[tokio::test]
    async fn calendar_view_requires_a_window() {
        let e = env().await;
        let r = e.get("/me/calendarView").await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_graph_error(&json_of(r).await, "ErrorInvalidParameter");
        let r = e
            .get("/me/calendarView/delta?startDateTime=2026-03-01T00:00:00Z")
            .await;
        assert_graph_error(&json_of(r).await, "ErrorInvalidParameter");
    }

    #[tokio::test]
    async fn calendar_view_expands_a_series_into_occurrences_and_the_list_shows_only_the_master() {
        let e = env().await;
        let master = weekly(&e).await;
        let v = json_of(e.get(&format!("/me/calendarView?{WINDOW}&$top=50")).await).await;
        let items = v["value"].as_array().unwrap();
        assert_eq!(items.len(), 6);
        for i in items {
            assert_eq!(i["type"], "occurrence");
            assert_eq!(i["seriesMasterId"], master.as_str());
            assert!(i["originalStart"].is_string());
            assert!(i["recurrence"].is_null());
        }
        assert_eq!(items[1]["start"]["dateTime"], "2026-03-04T09:00:00.0000000");
        assert_ne!(items[0]["iCalUId"], items[1]["iCalUId"]);
        let list = json_of(e.get("/me/events").await).await;
        assert_eq!(list["value"].as_array().unwrap().len(), 1);
        assert_eq!(list["value"][0]["type"], "seriesMaster");
        let inst = json_of(
            e.get(&format!("/me/events/{master}/instances?{WINDOW}&$top=3"))
                .await,
        )
        .await;
        assert_eq!(inst["value"].as_array().unwrap().len(), 3);
        assert!(inst["@odata.nextLink"].is_string());
    }

    #[tokio::test]
    async fn editing_an_occurrence_makes_an_exception_and_deleting_one_cancels_it() {
        let e = env().await;
        let master = weekly(&e).await;
        let v = json_of(e.get(&format!("/me/calendarView?{WINDOW}&$top=50")).await).await;
        let second = v["value"][1]["id"].as_str().unwrap().to_string();
        let third = v["value"][2]["id"].as_str().unwrap().to_string();
        let r = e.patch(&format!("/me/events/{second}"), json!({"subject": "Standup (moved)",
            "start": {"dateTime": "2026-03-04T10:00:00", "timeZone": "UTC"}, "end": {"dateTime": "2026-03-04T10:15:00", "timeZone": "UTC"}})).await;
        assert_eq!(r.status(), StatusCode::OK);
        let x = json_of(r).await;
        assert_eq!(x["type"], "exception");
        assert_eq!(x["id"], second.as_str());
        assert_eq!(x["originalStart"], "2026-03-04T09:00:00.0000000Z");
        assert_eq!(
            e.delete(&format!("/me/events/{third}")).await.status(),
            StatusCode::NO_CONTENT
        );
        let v = json_of(e.get(&format!("/me/calendarView?{WINDOW}&$top=50")).await).await;
        let items = v["value"].as_array().unwrap();
        assert_eq!(items.len(), 5);
        assert_eq!(items[1]["subject"], "Standup (moved)");
        assert!(items.iter().all(|i| i["id"] != third.as_str()));
        let m = json_of(
            e.get(&format!("/me/events/{master}?$select=cancelledOccurrences"))
                .await,
        )
        .await;
        assert_eq!(
            m["cancelledOccurrences"],
            json!([format!("OID.{master}.2026-03-09")])
        );
        let r = e.patch(&format!("/me/events/{second}"), json!({
            "start": {"dateTime": "2026-03-09T10:00:00", "timeZone": "UTC"}, "end": {"dateTime": "2026-03-09T10:15:00", "timeZone": "UTC"}})).await;
        assert_graph_error(&json_of(r).await, "ErrorOccurrenceCrossingBoundary");
    }

    #[tokio::test]
    async fn every_recurrence_pattern_type_is_accepted_and_expanded() {
        let e = env().await;
        let patterns = [
            (json!({"type": "daily", "interval": 2}), 3),
            (
                json!({"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]}),
                3,
            ),
            (
                json!({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 2}),
                3,
            ),
            (
                json!({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday"], "index": "first"}),
                3,
            ),
            (
                json!({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 2, "month": 3}),
                3,
            ),
            (
                json!({"type": "relativeYearly", "interval": 1, "daysOfWeek": ["monday"], "index": "first", "month": 3}),
                3,
            ),
        ];
        for (pattern, n) in patterns {
            let kind = pattern["type"].clone();
            let mut b = event("P", "2026-03-02T09:00:00", "2026-03-02T10:00:00");
            b["recurrence"] = json!({"pattern": pattern, "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": n}});
            let r = e.post("/me/events", b).await;
            assert_eq!(r.status(), StatusCode::CREATED, "{kind}");
            let id = json_of(r).await["id"].as_str().unwrap().to_string();
            let inst = json_of(e.get(&format!("/me/events/{id}/instances?startDateTime=2026-01-01T00:00:00Z&endDateTime=2030-01-01T00:00:00Z&$top=50")).await).await;
            assert_eq!(inst["value"].as_array().unwrap().len(), n, "{kind}");
        }
    }

    async fn follow(e: &Env, first: reqwest::Response) -> (Vec<Value>, String, usize) {
        let mut v = json_of(first).await;
        let mut items = Vec::new();
        let mut pages = 1;
        loop {
            assert!(
                !(v.get("@odata.nextLink").is_some() && v.get("@odata.deltaLink").is_some()),
                "never both"
            );
            items.extend(v["value"].as_array().unwrap().iter().cloned());
            if let Some(next) = v["@odata.nextLink"].as_str() {
                let next = next.to_string();
                v = json_of(
                    e.http
                        .get(&next)
                        .bearer_auth(&e.token)
                        .header("Prefer", "odata.maxpagesize=2")
                        .send()
                        .await
                        .unwrap(),
                )
                .await;
                pages += 1;
            } else {
                return (
                    items,
                    v["@odata.deltaLink"].as_str().unwrap().to_string(),
                    pages,
                );
            }
        }
    }

    #[tokio::test]
    async fn calendar_view_delta_pages_full_round_then_reports_only_changes_and_removals() {
        let e = env().await;
        weekly(&e).await;
        let single = json_of(
            e.post(
                "/me/events",
                event("One", "2026-03-10T10:00:00", "2026-03-10T11:00:00"),
            )
            .await,
        )
        .await;
        let gone = json_of(
            e.post(
                "/me/events",
                event("Gone", "2026-03-11T10:00:00", "2026-03-11T11:00:00"),
            )
            .await,
        )
        .await;
        let first = e
            .http
            .get(e.url(&format!("/me/calendarView/delta?{WINDOW}")))
            .bearer_auth(&e.token)
            .header("Prefer", "odata.maxpagesize=2")
            .send()
            .await
            .unwrap();
        assert_eq!(first.headers()["preference-applied"], "odata.track-changes");
        let (items, delta_link, pages) = follow(&e, first).await;
        assert_eq!(items.len(), 8, "6 occurrences and 2 singles");
        assert!(pages >= 5, "an empty first page, then pages of 2");
        assert!(items.iter().all(|i| i["type"] != "seriesMaster"));
        assert!(items
            .iter()
            .all(|i| i["@odata.type"] == "#microsoft.graph.event"));
        assert!(delta_link.contains("$deltatoken="));
        assert!(
            !delta_link.contains("startDateTime"),
            "the window lives in the token"
        );
        // Changes: edit one, delete one, create one outside the window.
        e.patch(
            &format!("/me/events/{}", single["id"].as_str().unwrap()),
            json!({"subject": "One!"}),
        )
        .await;
        e.delete(&format!("/me/events/{}", gone["id"].as_str().unwrap()))
            .await;
        let far = json_of(
            e.post(
                "/me/events",
                event("Far", "2026-06-01T10:00:00", "2026-06-01T11:00:00"),
            )
            .await,
        )
        .await;
        let (items, _, _) = follow(&e, e.get_abs(&delta_link).await).await;
        assert_eq!(items.len(), 3, "{items:?}");
        let by_id = |id: &Value| items.iter().find(|i| i["id"] == *id).cloned().unwrap();
        assert_eq!(by_id(&single["id"])["subject"], "One!");
        assert_eq!(by_id(&gone["id"])["@removed"]["reason"], "deleted");
        assert_eq!(
            by_id(&far["id"])["@removed"]["reason"],
            "deleted",
            "out-of-window changes are @removed"
        );
    }

    /// The sync client asks for pages of 1,000 (`GraphConfig::page_size_max`): the
    /// emulator caps no preference below that, as the event-delta page documents none
    /// [EVD]; 1,005 occurrences of one daily series come in one page of 1,000 and one of 5.
    #[tokio::test]
    async fn calendar_view_delta_honours_a_page_size_of_a_thousand() {
        let e = env().await;
        daily(&e, "Daily", "2026-01-01", 1005).await;
        let window = "startDateTime=2026-01-01T00:00:00Z&endDateTime=2029-01-01T00:00:00Z";
        let get = |url: String| {
            let e = &e;
            async move {
                json_of(
                    e.http
                        .get(&url)
                        .bearer_auth(&e.token)
                        .header("Prefer", "odata.maxpagesize=1000")
                        .send()
                        .await
                        .unwrap(),
                )
                .await
            }
        };
        let mut v = get(e.url(&format!("/me/calendarView/delta?{window}"))).await;
        let mut sizes = Vec::new();
        loop {
            sizes.push(v["value"].as_array().unwrap().len());
            match v["@odata.nextLink"].as_str() {
                Some(next) => v = get(next.to_string()).await,
                None => break,
            }
        }
        assert!(v["@odata.deltaLink"].is_string());
        assert_eq!(
            sizes,
            vec![0, 1000, 5],
            "an empty first page, then pages of 1,000"
        );
    }

    #[tokio::test]
    async fn a_change_to_the_series_master_re_reports_its_occurrences_in_delta() {
        let e = env().await;
        let master = weekly(&e).await;
        let (_, link, _) =
            follow(&e, e.get(&format!("/me/calendarView/delta?{WINDOW}")).await).await;
        e.patch(
            &format!("/me/events/{master}"),
            json!({"subject": "Standup v2"}),
        )
        .await;
        let (items, _, _) = follow(&e, e.get_abs(&link).await).await;
        assert_eq!(items.len(), 6);
        assert!(items
            .iter()
            .all(|i| i["subject"] == "Standup v2" && i["type"] == "occurrence"));
    }

    /// A daily series of `n` occurrences from `start` (a date) at 09:00 UTC.
    async fn daily(e: &Env, subject: &str, start: &str, n: u32) -> String {
        let mut b = event(
            subject,
            &format!("{start}T09:00:00"),
            &format!("{start}T10:00:00"),
        );
        b["recurrence"] = json!({"pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": start, "numberOfOccurrences": n}});
        let r = e.post("/me/events", b).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        json_of(r).await["id"].as_str().unwrap().to_string()
    }

    /// The ids of a series' occurrences that start on or after `from` (a date).
    async fn occurrence_ids(e: &Env, master: &str, from: &str) -> Vec<String> {
        let v = json_of(
            e.get(&format!("/me/events/{master}/instances?startDateTime={from}T00:00:00Z&endDateTime=2027-01-01T00:00:00Z&$top=100"))
                .await,
        )
        .await;
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    }

    fn removed_ids(items: &[Value]) -> Vec<String> {
        let mut ids: Vec<String> = items
            .iter()
            .filter(|i| i["@removed"]["reason"] == "deleted")
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }

    #[tokio::test]
    async fn a_series_created_outside_the_window_comes_back_as_removed_occurrences() {
        // [EVD] §1.4: events outside the window that were added since the last call come
        // back as @removed (reason deleted); occurrences, never the master (§1.5).
        let e = env().await;
        let (items, link, _) =
            follow(&e, e.get(&format!("/me/calendarView/delta?{WINDOW}")).await).await;
        assert!(items.is_empty());
        let master = daily(&e, "June", "2026-06-01", 3).await;
        let mut occ = occurrence_ids(&e, &master, "2026-05-01").await;
        occ.sort();
        assert_eq!(occ.len(), 3);
        let (items, link, _) = follow(&e, e.get_abs(&link).await).await;
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(removed_ids(&items), occ);
        assert!(items.iter().all(|i| i["id"] != master.as_str()));
        // Nothing changed since: the next round is empty.
        let (items, _, _) = follow(&e, e.get_abs(&link).await).await;
        assert!(items.is_empty(), "{items:?}");
    }

    #[tokio::test]
    async fn a_series_edited_across_the_window_edge_re_reports_inside_and_removes_outside() {
        // Mar 29, 30, 31 are inside the window (it ends Apr 1 00:00Z); Apr 1, 2, 3 are not.
        let e = env().await;
        let master = daily(&e, "Edge", "2026-03-29", 6).await;
        let (items, link, _) =
            follow(&e, e.get(&format!("/me/calendarView/delta?{WINDOW}")).await).await;
        assert_eq!(items.len(), 3);
        let mut outside = occurrence_ids(&e, &master, "2026-04-01").await;
        outside.sort();
        assert_eq!(outside.len(), 3);
        let r = e
            .patch(
                &format!("/me/events/{master}"),
                json!({"subject": "Edge v2"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let (items, _, _) = follow(&e, e.get_abs(&link).await).await;
        assert_eq!(items.len(), 6, "{items:?}");
        let full: Vec<&Value> = items
            .iter()
            .filter(|i| i.get("@removed").is_none())
            .collect();
        assert_eq!(
            full.len(),
            3,
            "the in-window occurrences, re-reported [I-6290]"
        );
        assert!(full
            .iter()
            .all(|i| i["subject"] == "Edge v2" && i["type"] == "occurrence"));
        assert_eq!(
            removed_ids(&items),
            outside,
            "out-of-window ones as @removed [EVD]"
        );
        assert!(items.iter().all(|i| i["id"] != master.as_str()));
    }

    #[tokio::test]
    async fn a_series_moved_to_other_days_removes_old_and_new_occurrences_outside() {
        let e = env().await;
        let master = daily(&e, "Move", "2026-06-01", 2).await;
        let mut old = occurrence_ids(&e, &master, "2026-05-01").await;
        let (_, link, _) =
            follow(&e, e.get(&format!("/me/calendarView/delta?{WINDOW}")).await).await;
        let r = e
            .patch(
                &format!("/me/events/{master}"),
                json!({"start": {"dateTime": "2026-06-10T09:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": "2026-06-10T10:00:00", "timeZone": "UTC"},
                    "recurrence": {"pattern": {"type": "daily", "interval": 1},
                        "range": {"type": "numbered", "startDate": "2026-06-10", "numberOfOccurrences": 2}}}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let new = occurrence_ids(&e, &master, "2026-05-01").await;
        assert!(new.iter().all(|n| !old.contains(n)));
        old.extend(new);
        old.sort();
        let (items, _, _) = follow(&e, e.get_abs(&link).await).await;
        assert_eq!(removed_ids(&items), old, "{items:?}");
        assert_eq!(items.len(), 4);
    }

    #[tokio::test]
    async fn a_series_deleted_outside_the_window_comes_back_as_removed_occurrences() {
        let e = env().await;
        let master = daily(&e, "June", "2026-06-01", 3).await;
        let mut occ = occurrence_ids(&e, &master, "2026-05-01").await;
        occ.sort();
        let (items, link, _) =
            follow(&e, e.get(&format!("/me/calendarView/delta?{WINDOW}")).await).await;
        assert!(items.is_empty(), "nothing of it in the window");
        assert_eq!(
            e.delete(&format!("/me/events/{master}")).await.status(),
            StatusCode::NO_CONTENT
        );
        let (items, _, _) = follow(&e, e.get_abs(&link).await).await;
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(removed_ids(&items), occ);
    }

    #[tokio::test]
    async fn an_expired_delta_token_answers_410_sync_state_not_found() {
        let e = env().await;
        let (_, link, _) =
            follow(&e, e.get(&format!("/me/calendarView/delta?{WINDOW}")).await).await;
        e.em()
            .expire_calendar_delta_tokens("alice@contoso.com")
            .unwrap();
        let r = e.get_abs(&link).await;
        assert_eq!(r.status(), StatusCode::GONE);
        assert_graph_error(&json_of(r).await, "SyncStateNotFound");
    }
}

/// Query options on the `/me/events` list.
mod event_query {
    use super::*;

    async fn three(e: &Env) -> Vec<Value> {
        let mut out = Vec::new();
        for (s, d) in [("Budget", "03"), ("Review", "05"), ("Budget", "04")] {
            let mut b = event(
                s,
                &format!("2026-03-{d}T10:00:00"),
                &format!("2026-03-{d}T11:00:00"),
            );
            if d == "05" {
                b["isAllDay"] = json!(true);
                b["start"]["dateTime"] = json!("2026-03-05T00:00:00");
                b["end"]["dateTime"] = json!("2026-03-06T00:00:00");
            }
            out.push(json_of(e.post("/me/events", b).await).await);
        }
        out
    }

    fn ids(v: &Value) -> Vec<String> {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[tokio::test]
    async fn filter_by_ical_uid_and_subject_with_and() {
        let e = env().await;
        let evs = three(&e).await;
        let uid = evs[1]["iCalUId"].as_str().unwrap();
        let v = json_of(
            e.get(&format!("/me/events?$filter=iCalUId eq '{uid}'"))
                .await,
        )
        .await;
        assert_eq!(ids(&v), vec![evs[1]["id"].as_str().unwrap()]);
        let v = json_of(e.get("/me/events?$filter=subject eq 'Budget'").await).await;
        assert_eq!(ids(&v).len(), 2);
        let v = json_of(
            e.get("/me/events?$filter=subject eq 'Budget' and start/dateTime ge '2026-03-04T00:00:00'")
                .await,
        )
        .await;
        assert_eq!(ids(&v), vec![evs[2]["id"].as_str().unwrap()]);
        let v = json_of(
            e.get("/me/events?$filter=isAllDay eq true and subject eq 'Review'")
                .await,
        )
        .await;
        assert_eq!(ids(&v), vec![evs[1]["id"].as_str().unwrap()]);
        let v = json_of(e.get("/me/events?$filter=subject eq 'Nothing'").await).await;
        assert_eq!(v["value"], json!([]));
        // A quote inside a literal is doubled.
        let mut b = event("Bob's", "2026-03-06T10:00:00", "2026-03-06T11:00:00");
        b["subject"] = json!("Bob's");
        e.post("/me/events", b).await;
        let v = json_of(e.get("/me/events?$filter=subject eq 'Bob''s'").await).await;
        assert_eq!(v["value"][0]["subject"], "Bob's");
    }

    #[tokio::test]
    async fn top_pages_a_filtered_list_and_orderby_sorts_it() {
        let e = env().await;
        let evs = three(&e).await;
        let v = json_of(
            e.get("/me/events?$filter=subject eq 'Budget'&$orderby=start/dateTime&$top=1")
                .await,
        )
        .await;
        assert_eq!(ids(&v), vec![evs[0]["id"].as_str().unwrap()]);
        let next = v["@odata.nextLink"].as_str().unwrap().to_string();
        assert!(next.contains("filter"), "{next}");
        let v = json_of(e.get_abs(&next).await).await;
        assert_eq!(ids(&v), vec![evs[2]["id"].as_str().unwrap()]);
        assert!(v.get("@odata.nextLink").is_none());
        let v = json_of(e.get("/me/events?$orderby=start/dateTime desc").await).await;
        assert_eq!(
            ids(&v),
            vec![
                evs[1]["id"].as_str().unwrap(),
                evs[2]["id"].as_str().unwrap(),
                evs[0]["id"].as_str().unwrap()
            ]
        );
    }

    #[tokio::test]
    async fn select_returns_the_named_properties_with_id_and_etag() {
        let e = env().await;
        three(&e).await;
        let v = json_of(e.get("/me/events?$select=subject,start").await).await;
        for i in v["value"].as_array().unwrap() {
            let mut keys: Vec<&str> = i.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort();
            assert_eq!(keys, vec!["@odata.etag", "id", "start", "subject"]);
        }
    }

    #[tokio::test]
    async fn options_the_emulator_does_not_understand_are_400_not_ignored() {
        let e = env().await;
        three(&e).await;
        for f in [
            "startswith(subject,'Bud')",
            "subject eq 'Budget' or subject eq 'Review'",
            "nosuchproperty eq 'x'",
            "subject eq",
        ] {
            let r = e.get(&format!("/me/events?$filter={f}")).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{f}");
            assert_graph_error(&json_of(r).await, "ErrorInvalidUrlQueryFilter");
        }
        let r = e.get("/me/events?$filter=id eq 'x'").await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_graph_error(&json_of(r).await, "ErrorInvalidProperty");
        for q in [
            "$orderby=body",
            "$orderby=subject upward",
            "$select=subject,nope",
        ] {
            let r = e.get(&format!("/me/events?{q}")).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
            assert_graph_error(&json_of(r).await, "ErrorInvalidUrlQuery");
        }
    }
}

mod drive {
    use super::*;
    use base64::Engine;

    async fn put(e: &Env, path: &str, bytes: &'static [u8]) -> reqwest::Response {
        e.http
            .put(e.url(path))
            .bearer_auth(&e.token)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    fn qxh(bytes: &[u8]) -> String {
        let mut q = quickxorhash::QuickXorHash::new();
        q.update(bytes);
        base64::engine::general_purpose::STANDARD.encode(q.finalize())
    }

    #[tokio::test]
    async fn the_drive_resource_names_its_type_owner_and_quota() {
        let e = env().await;
        let v = json_of(e.get("/me/drive").await).await;
        assert_eq!(v["driveType"], "business");
        assert_eq!(v["owner"]["user"]["displayName"], "Alice");
        assert_eq!(v["quota"]["state"], "normal");
        let root = json_of(e.get("/me/drive/root").await).await;
        assert_eq!(root["root"], json!({}));
        assert!(root.get("cTag").is_none(), "business folders have no cTag");
    }

    #[tokio::test]
    async fn folder_create_honours_conflict_behaviour_fail_and_rename() {
        let e = env().await;
        let r = e
            .post(
                "/me/drive/root/children",
                json!({"name": "Docs", "folder": {}, "@microsoft.graph.conflictBehavior": "fail"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v = json_of(r).await;
        assert_eq!(v["folder"]["childCount"], 0);
        assert_eq!(v["parentReference"]["path"], "/drive/root:");
        let r = e
            .post(
                "/me/drive/root/children",
                json!({"name": "docs", "folder": {}, "@microsoft.graph.conflictBehavior": "fail"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_graph_error(&json_of(r).await, "nameAlreadyExists");
        let r = e.post("/me/drive/root/children", json!({"name": "Docs", "folder": {}, "@microsoft.graph.conflictBehavior": "rename"})).await;
        assert_eq!(json_of(r).await["name"], "Docs 1");
    }

    #[tokio::test]
    async fn a_simple_upload_by_path_creates_a_file_with_its_quick_xor_hash() {
        let e = env().await;
        let r = put(
            &e,
            "/me/drive/root:/Notes/hello.txt:/content",
            b"hello world",
        )
        .await;
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "the parent folder must exist"
        );
        e.post(
            "/me/drive/root/children",
            json!({"name": "Notes", "folder": {}}),
        )
        .await;
        let r = put(
            &e,
            "/me/drive/root:/Notes/hello.txt:/content",
            b"hello world",
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v = json_of(r).await;
        assert_eq!(
            v["file"]["hashes"]["quickXorHash"],
            "aCgDG9jwBhDc4Q1yawMZAAAAAAA="
        );
        assert!(v["file"]["hashes"].get("sha1Hash").is_none());
        assert!(v["file"]["hashes"].get("sha256Hash").is_none());
        assert_eq!(v["size"], 11);
        assert_eq!(v["file"]["mimeType"], "text/plain");
        assert_eq!(v["parentReference"]["path"], "/drive/root:/Notes");
        let again = json_of(e.get("/me/drive/root:/Notes/hello.txt").await).await;
        assert_eq!(again["id"], v["id"]);
    }

    #[tokio::test]
    async fn a_personal_drive_also_reports_sha256() {
        let e = env().await;
        e.em()
            .create_user("pat@outlook.com", "Pat", DriveType::Personal);
        let tok = e.em().mint_token("pat@outlook.com").unwrap();
        let r = e
            .http
            .put(e.url("/me/drive/root:/a.txt:/content"))
            .bearer_auth(&tok)
            .body("abc")
            .send()
            .await
            .unwrap();
        let v = json_of(r).await;
        assert_eq!(v["parentReference"]["driveType"], "personal");
        assert_eq!(
            v["file"]["hashes"]["sha256Hash"],
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
        assert_eq!(v["file"]["hashes"]["quickXorHash"], qxh(b"abc"));
    }

    #[tokio::test]
    async fn percent_encoded_paths_address_names_with_spaces_and_hashes() {
        let e = env().await;
        let r = put(&e, "/me/drive/root:/my%20file%231.txt:/content", b"x").await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v = json_of(r).await;
        assert_eq!(v["name"], "my file#1.txt");
        let root_id = json_of(e.get("/me/drive/root").await).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let by_rel = json_of(
            e.get(&format!("/me/drive/items/{root_id}:/my%20file%231.txt:"))
                .await,
        )
        .await;
        assert_eq!(by_rel["id"], v["id"]);
    }

    #[tokio::test]
    async fn content_changes_move_etag_and_ctag_but_a_rename_moves_only_the_etag() {
        let e = env().await;
        let a = json_of(put(&e, "/me/drive/root:/a.txt:/content", b"one").await).await;
        let id = a["id"].as_str().unwrap().to_string();
        let r = put(&e, &format!("/me/drive/items/{id}/content"), b"two").await;
        assert_eq!(r.status(), StatusCode::OK);
        let b = json_of(r).await;
        assert_ne!(a["eTag"], b["eTag"]);
        assert_ne!(a["cTag"], b["cTag"]);
        let c = json_of(
            e.patch(&format!("/me/drive/items/{id}"), json!({"name": "b.txt"}))
                .await,
        )
        .await;
        assert_eq!(c["name"], "b.txt");
        assert_ne!(c["eTag"], b["eTag"]);
        assert_eq!(c["cTag"], b["cTag"]);
        let stale = a["eTag"].as_str().unwrap();
        let r = e
            .http
            .patch(e.url(&format!("/me/drive/items/{id}")))
            .bearer_auth(&e.token)
            .header("if-match", stale)
            .json(&json!({"name": "c.txt"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
        let r = e
            .http
            .delete(e.url(&format!("/me/drive/items/{id}")))
            .bearer_auth(&e.token)
            .header("if-match", stale)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
        assert_eq!(
            e.get(&format!("/me/drive/items/{id}")).await.status(),
            StatusCode::OK,
            "nothing deleted"
        );
    }

    #[tokio::test]
    async fn a_put_with_conflict_behaviour_fail_on_an_existing_name_is_409() {
        let e = env().await;
        put(&e, "/me/drive/root:/a.txt:/content", b"one").await;
        let r = put(
            &e,
            "/me/drive/root:/a.txt:/content?@microsoft.graph.conflictBehavior=fail",
            b"two",
        )
        .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_graph_error(&json_of(r).await, "nameAlreadyExists");
    }

    #[tokio::test]
    async fn download_redirects_to_a_pre_authenticated_url_that_serves_ranges() {
        let e = env().await;
        let v = json_of(put(&e, "/me/drive/root:/d.txt:/content", b"0123456789").await).await;
        let id = v["id"].as_str().unwrap();
        let r = e.get(&format!("/me/drive/items/{id}/content")).await;
        assert_eq!(r.status(), StatusCode::FOUND);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let body = e
            .http
            .get(&loc)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&body[..], b"0123456789");
        let part = e
            .http
            .get(&loc)
            .header("range", "bytes=2-4")
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.headers()["content-range"], "bytes 2-4/10");
        assert_eq!(&part.bytes().await.unwrap()[..], b"234");
        let r = e
            .http
            .get(e.url(&format!("/me/drive/items/{id}/content")))
            .bearer_auth(&e.token)
            .header("if-none-match", v["eTag"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        e.em().clock().advance(chrono::Duration::hours(2));
        assert_eq!(
            e.http.get(&loc).send().await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "download URLs are short-lived"
        );
    }

    #[tokio::test]
    async fn children_list_and_move_by_patch_with_parent_reference() {
        let e = env().await;
        let f = json_of(
            e.post(
                "/me/drive/root/children",
                json!({"name": "F", "folder": {}}),
            )
            .await,
        )
        .await;
        let file = json_of(put(&e, "/me/drive/root:/x.txt:/content", b"x").await).await;
        let moved = json_of(
            e.patch(
                &format!("/me/drive/items/{}", file["id"].as_str().unwrap()),
                json!({"parentReference": {"id": f["id"]}}),
            )
            .await,
        )
        .await;
        assert_eq!(moved["parentReference"]["id"], f["id"]);
        assert_eq!(moved["parentReference"]["path"], "/drive/root:/F");
        let kids = json_of(
            e.get(&format!(
                "/me/drive/items/{}/children",
                f["id"].as_str().unwrap()
            ))
            .await,
        )
        .await;
        assert_eq!(kids["value"].as_array().unwrap().len(), 1);
        assert_eq!(
            json_of(
                e.get(&format!("/me/drive/items/{}", f["id"].as_str().unwrap()))
                    .await
            )
            .await["folder"]["childCount"],
            1
        );
    }

    #[tokio::test]
    async fn names_and_paths_break_the_rules_with_the_real_error_codes() {
        let e = env().await;
        let r = put(&e, "/me/drive/root:/a%3Fb.txt:/content", b"x").await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let v = json_of(r).await;
        assert_graph_error(&v, "invalidRequest");
        assert_eq!(
            v["error"]["innerError"]["code"],
            "nameContainsInvalidCharacters"
        );
        let r = e
            .post(
                "/me/drive/root/children",
                json!({"name": "CON", "folder": {}}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let long = "a".repeat(200);
        e.post(
            "/me/drive/root/children",
            json!({"name": long, "folder": {}}),
        )
        .await;
        let r = put(
            &e,
            &format!("/me/drive/root:/{long}/{long}.txt:/content"),
            b"x",
        )
        .await;
        assert_graph_error(&json_of(r).await, "pathIsTooLong");
    }

    #[tokio::test]
    async fn a_simple_upload_over_the_limit_is_rejected() {
        let e = env_with(GraphConfig {
            simple_upload_max_bytes: 4,
            ..frozen()
        })
        .await;
        let r = put(&e, "/me/drive/root:/big.bin:/content", b"12345").await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn delta_enumerates_then_reports_changes_deletes_and_latest_tokens() {
        let e = env().await;
        let a = json_of(put(&e, "/me/drive/root:/a.txt:/content", b"a").await).await;
        let b = json_of(put(&e, "/me/drive/root:/b.txt:/content", b"b").await).await;
        let v = json_of(e.get("/me/drive/root/delta").await).await;
        let names: Vec<&str> = v["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["name"].as_str())
            .collect();
        assert_eq!(names, vec!["root", "a.txt", "b.txt"]);
        assert!(v["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["parentReference"].get("path").is_none()));
        assert!(
            v["value"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i.get("cTag").is_none()),
            "business delta omits cTag"
        );
        let link = v["@odata.deltaLink"].as_str().unwrap().to_string();
        let latest = json_of(e.get("/me/drive/root/delta?token=latest").await).await;
        assert_eq!(latest["value"], json!([]));
        let latest_link = latest["@odata.deltaLink"].as_str().unwrap().to_string();
        put(
            &e,
            &format!("/me/drive/items/{}/content", a["id"].as_str().unwrap()),
            b"a2",
        )
        .await;
        assert_eq!(
            e.delete(&format!("/me/drive/items/{}", b["id"].as_str().unwrap()))
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        let v = json_of(e.get_abs(&link).await).await;
        let items = v["value"].as_array().unwrap();
        let gone = items.iter().find(|i| i["id"] == b["id"]).unwrap();
        assert_eq!(gone["deleted"], json!({}));
        assert!(gone.get("name").is_none(), "business deletes omit the name");
        assert!(items.iter().any(|i| i["id"] == a["id"] && i["size"] == 2));
        let v2 = json_of(e.get_abs(&latest_link).await).await;
        assert_eq!(v2["value"].as_array().unwrap().len(), items.len());
        assert_eq!(
            e.get(&format!("/me/drive/items/{}", b["id"].as_str().unwrap()))
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn delta_pages_with_top_and_an_expired_token_is_410_resync_required_with_location() {
        let e = env().await;
        for n in ["1.txt", "2.txt", "3.txt"] {
            put(&e, &format!("/me/drive/root:/{n}:/content"), b"x").await;
        }
        let p1 = json_of(e.get("/me/drive/root/delta?$top=2").await).await;
        assert_eq!(p1["value"].as_array().unwrap().len(), 2);
        let next = p1["@odata.nextLink"].as_str().unwrap().to_string();
        let p2 = json_of(e.get_abs(&format!("{next}&$top=2")).await).await;
        assert_eq!(p2["value"].as_array().unwrap().len(), 2);
        let link = p2["@odata.deltaLink"].as_str().unwrap().to_string();
        e.em()
            .expire_drive_delta_tokens("alice@contoso.com")
            .unwrap();
        let r = e.get_abs(&link).await;
        assert_eq!(r.status(), StatusCode::GONE);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let v = json_of(r).await;
        assert_graph_error(&v, "resyncRequired");
        assert_eq!(
            v["error"]["innerError"]["code"],
            "resyncChangesApplyDifferences"
        );
        let fresh = json_of(e.get_abs(&loc).await).await;
        assert_eq!(fresh["value"].as_array().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn delta_lists_parents_before_children_and_delta_exclude_parent_leaves_them_out() {
        let e = env().await;
        e.post(
            "/me/drive/root/children",
            json!({"name": "A", "folder": {}}),
        )
        .await;
        let x = json_of(
            e.http
                .put(e.url("/me/drive/root:/A/x.txt:/content"))
                .bearer_auth(&e.token)
                .body("1")
                .send()
                .await
                .unwrap(),
        )
        .await;
        let a2 = json_of(
            e.post(
                "/me/drive/root/children",
                json!({"name": "Z", "folder": {}}),
            )
            .await,
        )
        .await;
        let v = json_of(e.get("/me/drive/root/delta").await).await;
        let names: Vec<&str> = v["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["name"].as_str())
            .collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(
            pos("root") < pos("A") && pos("A") < pos("x.txt"),
            "{names:?}"
        );
        assert!(names.contains(&a2["name"].as_str().unwrap()));
        let latest = json_of(e.get("/me/drive/root/delta?token=latest").await).await;
        let link = latest["@odata.deltaLink"].as_str().unwrap().to_string();
        e.http
            .put(e.url(&format!(
                "/me/drive/items/{}/content",
                x["id"].as_str().unwrap()
            )))
            .bearer_auth(&e.token)
            .body("2")
            .send()
            .await
            .unwrap();
        let with = json_of(e.get_abs(&link).await).await;
        let names: Vec<&str> = with["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["name"].as_str())
            .collect();
        assert_eq!(names, vec!["root", "A", "x.txt"]);
        let without = json_of(
            e.http
                .get(&link)
                .bearer_auth(&e.token)
                .header("deltaExcludeParent", "true")
                .send()
                .await
                .unwrap(),
        )
        .await;
        let names: Vec<&str> = without["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["name"].as_str())
            .collect();
        assert_eq!(names, vec!["x.txt"]);
    }

    async fn session(e: &Env, path: &str, body: Value) -> String {
        let r = e.post(path, body).await;
        assert_eq!(r.status(), StatusCode::OK);
        let v = json_of(r).await;
        assert_eq!(v["nextExpectedRanges"], json!(["0-"]));
        v["uploadUrl"].as_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn an_upload_session_takes_ordered_320_kib_fragments_and_commits_the_file() {
        let e = env().await;
        let data: Vec<u8> = (0..(327_680 * 2 + 1000)).map(|i| (i % 251) as u8).collect();
        let total = data.len();
        let url = session(
            &e,
            "/me/drive/root:/big.bin:/createUploadSession",
            json!({"item": {"@microsoft.graph.conflictBehavior": "fail"}}),
        )
        .await;
        let frag = |a: usize, b: usize| {
            e.http
                .put(&url)
                .header("content-range", format!("bytes {a}-{}/{total}", b - 1))
                .body(data[a..b].to_vec())
                .send()
        };
        let r = e
            .http
            .put(&url)
            .bearer_auth(&e.token)
            .header("content-range", format!("bytes 0-327679/{total}"))
            .body(data[..327_680].to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "no Authorization to the upload URL"
        );
        let r = frag(0, 100_000).await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::BAD_REQUEST,
            "not a 320 KiB multiple"
        );
        let r = frag(0, 327_680).await.unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(json_of(r).await["nextExpectedRanges"], json!(["327680-"]));
        let r = frag(0, 327_680).await.unwrap();
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_graph_error(&json_of(r).await, "invalidRange");
        let status = json_of(e.http.get(&url).send().await.unwrap()).await;
        assert_eq!(status["nextExpectedRanges"], json!(["327680-"]));
        assert_eq!(
            frag(327_680, 655_360).await.unwrap().status(),
            StatusCode::ACCEPTED
        );
        let r = frag(655_360, total).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let v = json_of(r).await;
        assert_eq!(v["size"], total);
        assert_eq!(v["file"]["hashes"]["quickXorHash"], qxh(&data));
        assert_eq!(
            e.http.get(&url).send().await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "a finished session is gone"
        );
    }

    #[tokio::test]
    async fn a_deferred_session_creates_the_file_only_when_committed_and_oversize_gets_507() {
        let e = env().await;
        let url = session(
            &e,
            "/me/drive/root:/later.txt:/createUploadSession",
            json!({"deferCommit": true}),
        )
        .await;
        let r = e
            .http
            .put(&url)
            .header("content-range", "bytes 0-2/3")
            .body("abc")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(json_of(r).await["nextExpectedRanges"], json!([]));
        assert_eq!(
            e.get("/me/drive/root:/later.txt").await.status(),
            StatusCode::NOT_FOUND
        );
        let r = e.http.post(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(json_of(r).await["size"], 3);
        assert_eq!(
            e.get("/me/drive/root:/later.txt").await.status(),
            StatusCode::OK
        );
        let r = e
            .post(
                "/me/drive/root:/huge.bin:/createUploadSession",
                json!({"item": {"fileSize": 2u64 << 40}}),
            )
            .await;
        assert_eq!(r.status().as_u16(), 507);
        assert_graph_error(&json_of(r).await, "quotaLimitReached");
    }

    #[tokio::test]
    async fn an_upload_session_name_conflict_is_409_at_the_end_and_delete_or_expiry_ends_a_session()
    {
        let e = env().await;
        put(&e, "/me/drive/root:/taken.txt:/content", b"old").await;
        let url = session(
            &e,
            "/me/drive/root:/taken.txt:/createUploadSession",
            json!({}),
        )
        .await;
        let r = e
            .http
            .put(&url)
            .header("content-range", "bytes 0-2/3")
            .body("new")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_graph_error(&json_of(r).await, "nameAlreadyExists");
        assert_eq!(
            e.http.delete(&url).send().await.unwrap().status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            e.http.get(&url).send().await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
        let url = session(
            &e,
            "/me/drive/root:/other.txt:/createUploadSession",
            json!({}),
        )
        .await;
        e.em().clock().advance(chrono::Duration::days(2));
        let r = e
            .http
            .put(&url)
            .header("content-range", "bytes 0-2/3")
            .body("new")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}

mod identity {
    use super::*;
    use base64::Engine;
    use sha2::Digest;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn challenge() -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(VERIFIER.as_bytes()))
    }

    fn authorize_form(redirect: &str, scope: &str) -> Vec<(&'static str, String)> {
        vec![
            ("client_id", "app-1".into()),
            ("response_type", "code".into()),
            ("redirect_uri", redirect.into()),
            ("scope", scope.into()),
            ("state", "st-42".into()),
            ("code_challenge", challenge()),
            ("code_challenge_method", "S256".into()),
        ]
    }

    /// Signs in through the page as a browser would: GET the page, POST the form.
    async fn sign_in(e: &Env, redirect: &str, scope: &str) -> url::Url {
        let base = format!("{}/common/oauth2/v2.0/authorize", e.g.identity_url);
        let page = e
            .http
            .get(&base)
            .query(&authorize_form(redirect, scope))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("alice@contoso.com"),
            "the page offers the account"
        );
        assert!(
            html.contains("name=\"code_challenge\""),
            "the form carries the request"
        );
        let mut form = authorize_form(redirect, scope);
        form.push(("login", "alice@contoso.com".into()));
        let r = e.http.post(&base).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap()
    }

    fn query(u: &url::Url, k: &str) -> Option<String> {
        u.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    }

    async fn redeem(e: &Env, code: &str, redirect: &str, verifier: &str) -> reqwest::Response {
        e.http
            .post(format!("{}/common/oauth2/v2.0/token", e.g.identity_url))
            .form(&[
                ("client_id", "app-1"),
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_code_flow_with_pkce_signs_in_passes_state_and_tokens_call_graph() {
        let e = env().await;
        let redirect = "http://127.0.0.1:53127/callback";
        let back = sign_in(
            &e,
            redirect,
            "openid offline_access https://graph.microsoft.com/User.Read https://graph.microsoft.com/Calendars.ReadWrite",
        )
        .await;
        assert_eq!(back.port(), Some(53127));
        assert_eq!(back.path(), "/callback");
        assert_eq!(query(&back, "state").as_deref(), Some("st-42"));
        let code = query(&back, "code").unwrap();
        let r = redeem(&e, &code, redirect, VERIFIER).await;
        assert_eq!(r.status(), StatusCode::OK);
        let t = json_of(r).await;
        assert_eq!(t["token_type"], "Bearer");
        let expires = t["expires_in"].as_i64().unwrap();
        assert!((3600..=5400).contains(&expires), "{expires}");
        assert!(t["refresh_token"].is_string());
        assert!(t["id_token"].is_string());
        assert_eq!(t["scope"], "openid User.Read Calendars.ReadWrite");
        let me = e
            .http
            .get(e.url("/me"))
            .bearer_auth(t["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(me).await["mail"], "alice@contoso.com");
        let again = json_of(redeem(&e, &code, redirect, VERIFIER).await).await;
        assert_eq!(again["error"], "invalid_grant");
        assert_eq!(again["error_codes"], json!([54005]));
        assert!(again["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS54005:"));
    }

    #[tokio::test]
    async fn a_token_reaches_only_what_its_scopes_grant() {
        let e = env().await;
        let redirect = "http://127.0.0.1:1/";
        let back = sign_in(&e, redirect, "User.Read Calendars.Read Files.ReadWrite").await;
        let t = json_of(redeem(&e, &query(&back, "code").unwrap(), redirect, VERIFIER).await).await;
        let tok = t["access_token"].as_str().unwrap().to_string();
        let get = |p: &str| e.http.get(e.url(p)).bearer_auth(&tok).send();
        assert_eq!(get("/me").await.unwrap().status(), StatusCode::OK);
        assert_eq!(get("/me/events").await.unwrap().status(), StatusCode::OK);
        let r = e
            .http
            .post(e.url("/me/events"))
            .bearer_auth(&tok)
            .json(&event("x", "2026-03-03T10:00:00", "2026-03-03T11:00:00"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "Calendars.Read can't write"
        );
        assert_graph_error(&json_of(r).await, "ErrorAccessDenied");
        let r = e
            .http
            .put(e.url("/me/drive/root:/a.txt:/content"))
            .bearer_auth(&tok)
            .body("a")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let (_rx, url) = Receiver::start().await;
        let r = e
            .http
            .post(e.url("/subscriptions"))
            .bearer_auth(&tok)
            .json(&json!({"changeType": "updated", "notificationUrl": format!("{url}/n"), "resource": "me/drive/root",
                "expirationDateTime": (e.em().clock().now() + chrono::Duration::hours(2)).to_rfc3339()}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "a business drive subscription needs Files.ReadWrite.All"
        );
        let back = sign_in(&e, redirect, "Calendars.ReadWrite").await;
        let t = json_of(redeem(&e, &query(&back, "code").unwrap(), redirect, VERIFIER).await).await;
        let r = e
            .http
            .get(e.url("/me/drive"))
            .bearer_auth(t["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_graph_error(&json_of(r).await, "accessDenied");
    }

    #[tokio::test]
    async fn a_wrong_code_verifier_is_invalid_grant() {
        let e = env().await;
        let redirect = "http://localhost:9000/";
        let back = sign_in(&e, redirect, "offline_access User.Read").await;
        let r = redeem(
            &e,
            &query(&back, "code").unwrap(),
            redirect,
            "not-the-verifier",
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json_of(r).await["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn loopback_redirects_ignore_the_port_and_a_bare_host_gets_a_trailing_slash() {
        let e = env().await;
        let back = sign_in(&e, "http://localhost:61111", "User.Read").await;
        assert!(
            back.as_str().starts_with("http://localhost:61111/?code="),
            "{back}"
        );
        let r = e
            .http
            .get(format!("{}/common/oauth2/v2.0/authorize", e.g.identity_url))
            .query(&authorize_form("https://evil.example/cb", "User.Read"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.unwrap().contains("AADSTS50011"));
    }

    #[tokio::test]
    async fn without_offline_access_there_is_no_refresh_token() {
        let e = env().await;
        let redirect = "http://127.0.0.1:1/";
        let back = sign_in(&e, redirect, "User.Read").await;
        let t = json_of(redeem(&e, &query(&back, "code").unwrap(), redirect, VERIFIER).await).await;
        assert!(t["access_token"].is_string());
        assert!(t.get("refresh_token").is_none());
        assert!(t.get("id_token").is_none());
    }

    #[tokio::test]
    async fn a_minted_refresh_token_redeems_like_a_signed_in_one() {
        let e = env().await;
        let rt = e
            .em()
            .mint_refresh_token("alice@contoso.com", "app-1", "Calendars.ReadWrite")
            .unwrap();
        let url = format!("{}/common/oauth2/v2.0/token", e.g.identity_url);
        let redeem = |client: &'static str| {
            e.http
                .post(&url)
                .form(&[
                    ("client_id", client),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
        };
        let other = redeem("app-2").await.unwrap();
        assert_eq!(
            other.status(),
            StatusCode::BAD_REQUEST,
            "bound to its client"
        );
        let t = json_of(redeem("app-1").await.unwrap()).await;
        assert!(t["refresh_token"].is_string());
        let me = e
            .http
            .get(e.url("/me/events"))
            .bearer_auth(t["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), StatusCode::OK);
        assert!(e
            .em()
            .mint_refresh_token("nobody@contoso.com", "app-1", "User.Read")
            .is_err());
    }

    #[tokio::test]
    async fn a_refresh_returns_a_new_refresh_token_each_time() {
        let e = env().await;
        let redirect = "http://127.0.0.1:1/";
        let back = sign_in(&e, redirect, "offline_access User.Read").await;
        let t = json_of(redeem(&e, &query(&back, "code").unwrap(), redirect, VERIFIER).await).await;
        let rt = t["refresh_token"].as_str().unwrap().to_string();
        let url = format!("{}/common/oauth2/v2.0/token", e.g.identity_url);
        let r = json_of(
            e.http
                .post(&url)
                .form(&[
                    ("client_id", "app-1"),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        let rt2 = r["refresh_token"].as_str().unwrap();
        assert_ne!(rt2, rt);
        assert_ne!(r["access_token"], t["access_token"]);
        let wider = json_of(
            e.http
                .post(&url)
                .form(&[
                    ("client_id", "app-1"),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt2),
                    ("scope", "Files.ReadWrite.All"),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(wider["error"], "invalid_grant");
        e.em().clock().advance(chrono::Duration::days(91));
        let old = json_of(
            e.http
                .post(&url)
                .form(&[
                    ("client_id", "app-1"),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt2),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(old["error_codes"], json!([700082]));
    }

    #[tokio::test]
    async fn the_access_token_lifetime_is_configurable() {
        let e = env_with(GraphConfig {
            access_token_lifetime_s: Some(30),
            ..frozen()
        })
        .await;
        let redirect = "http://127.0.0.1:1/";
        let back = sign_in(&e, redirect, "User.Read").await;
        let t = json_of(redeem(&e, &query(&back, "code").unwrap(), redirect, VERIFIER).await).await;
        assert_eq!(t["expires_in"], 30);
        let tok = t["access_token"].as_str().unwrap();
        e.em().clock().advance(chrono::Duration::seconds(31));
        assert_eq!(
            e.http
                .get(e.url("/me"))
                .bearer_auth(tok)
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }

    async fn poll(e: &Env, device_code: &str) -> Value {
        json_of(
            e.http
                .post(format!(
                    "{}/organizations/oauth2/v2.0/token",
                    e.g.identity_url
                ))
                .form(&[
                    ("client_id", "app-1"),
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", device_code),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn device(e: &Env) -> Value {
        json_of(
            e.http
                .post(format!(
                    "{}/organizations/oauth2/v2.0/devicecode",
                    e.g.identity_url
                ))
                .form(&[
                    ("client_id", "app-1"),
                    ("scope", "offline_access User.Read"),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    #[tokio::test]
    async fn device_code_polling_answers_pending_slow_down_then_tokens_after_approval() {
        let e = env().await;
        let d = device(&e).await;
        assert_eq!(d["interval"], 5);
        assert_eq!(d["expires_in"], 900);
        assert!(d.get("verification_uri_complete").is_none());
        let dc = d["device_code"].as_str().unwrap();
        assert_eq!(poll(&e, dc).await["error"], "authorization_pending");
        assert_eq!(
            poll(&e, dc).await["error"],
            "slow_down",
            "polled again without waiting"
        );
        e.em().clock().advance(chrono::Duration::seconds(5));
        assert_eq!(poll(&e, dc).await["error_codes"], json!([70016]));
        let r = e
            .http
            .post(format!("{}/devicecodes/approve", e.g.control_url))
            .json(&json!({"userCode": d["user_code"], "user": "alice@contoso.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        e.em().clock().advance(chrono::Duration::seconds(5));
        let t = poll(&e, dc).await;
        assert!(t["access_token"].is_string(), "{t}");
        assert!(t["refresh_token"].is_string());
    }

    #[tokio::test]
    async fn device_codes_expire_and_can_be_declined_and_unknown_ones_are_bad() {
        let e = env().await;
        let d = device(&e).await;
        e.em()
            .decline_device_code(d["user_code"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            poll(&e, d["device_code"].as_str().unwrap()).await["error"],
            "authorization_declined"
        );
        let d = device(&e).await;
        e.em().clock().advance(chrono::Duration::seconds(901));
        assert_eq!(
            poll(&e, d["device_code"].as_str().unwrap()).await["error"],
            "expired_token"
        );
        assert_eq!(poll(&e, "nope").await["error"], "bad_verification_code");
    }

    #[tokio::test]
    async fn the_device_login_page_approves_a_code_like_a_person_would() {
        let e = env().await;
        let d = device(&e).await;
        let page = e
            .http
            .get(d["verification_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert!(page.text().await.unwrap().contains("name=\"otc\""));
        let r = e
            .http
            .post(d["verification_uri"].as_str().unwrap())
            .form(&[
                ("otc", d["user_code"].as_str().unwrap()),
                ("login", "alice@contoso.com"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(poll(&e, d["device_code"].as_str().unwrap()).await["access_token"].is_string());
    }
}

/// A webhook receiver on loopback: echoes validation tokens (unless told not to), records
/// notification bodies, and can fail the first N deliveries.
#[derive(Clone, Default)]
struct Receiver {
    got: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    validations: std::sync::Arc<std::sync::atomic::AtomicU32>,
    refuse_validation: std::sync::Arc<std::sync::atomic::AtomicBool>,
    fail_next: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// Answers this many next deliveries (or validations) only after `stall_ms`.
    stall_next: std::sync::Arc<std::sync::atomic::AtomicU32>,
    stall_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Receiver {
    async fn start() -> (Self, String) {
        use axum::extract::{Query, State};
        use std::collections::HashMap;
        use std::sync::atomic::Ordering;
        async fn hook(
            State(r): State<Receiver>,
            Query(q): Query<HashMap<String, String>>,
            body: axum::body::Bytes,
        ) -> axum::response::Response {
            use axum::response::IntoResponse;
            if r.stall_next.load(Ordering::SeqCst) > 0 {
                r.stall_next.fetch_sub(1, Ordering::SeqCst);
                let ms = r.stall_ms.load(Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            if let Some(t) = q.get("validationToken") {
                r.validations.fetch_add(1, Ordering::SeqCst);
                if r.refuse_validation.load(Ordering::SeqCst) {
                    return (axum::http::StatusCode::OK, "nope").into_response();
                }
                return (
                    axum::http::StatusCode::OK,
                    [("content-type", "text/plain")],
                    t.clone(),
                )
                    .into_response();
            }
            if r.fail_next.load(Ordering::SeqCst) > 0 {
                r.fail_next.fetch_sub(1, Ordering::SeqCst);
                return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                r.got.lock().unwrap().push(v);
            }
            axum::http::StatusCode::ACCEPTED.into_response()
        }
        let r = Receiver::default();
        let app = axum::Router::new()
            .route("/{*p}", axum::routing::post(hook))
            .with_state(r.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        (r, format!("http://{addr}"))
    }

    async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..500 {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.got.lock().unwrap().clone()
    }
}

mod subscriptions {
    use super::*;

    /// Waits until the emulator has logged a successful delivery (it logs after the answer).
    async fn delivered(e: &Env) {
        for _ in 0..500 {
            if e.em().deliveries().iter().any(|d| d.status == Some(202)) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    fn in_minutes(e: &Env, m: i64) -> String {
        (e.em().clock().now() + chrono::Duration::minutes(m)).to_rfc3339()
    }

    async fn subscribe(
        e: &Env,
        url: &str,
        resource: &str,
        change: &str,
        minutes: i64,
    ) -> reqwest::Response {
        e.post(
            "/subscriptions",
            json!({"changeType": change, "notificationUrl": format!("{url}/hook?src=graph"), "lifecycleNotificationUrl": format!("{url}/life"),
                "resource": resource, "expirationDateTime": in_minutes(e, minutes), "clientState": "secret-1"}),
        )
        .await
    }

    #[tokio::test]
    async fn a_subscription_is_validated_then_event_changes_are_delivered_with_client_state() {
        let e = env().await;
        let (rx, url) = Receiver::start().await;
        let r = subscribe(&e, &url, "me/events", "created,updated,deleted", 600).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let sub = json_of(r).await;
        assert_eq!(
            rx.validations.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "notification and lifecycle URLs"
        );
        assert_eq!(sub["changeType"], "created,updated,deleted");
        assert_eq!(sub["clientState"], "secret-1");
        let ev = json_of(
            e.post(
                "/me/events",
                event("Hook", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
            )
            .await,
        )
        .await;
        let got = rx.wait_for(1).await;
        let n = &got[0]["value"][0];
        assert_eq!(n["subscriptionId"], sub["id"]);
        assert_eq!(n["clientState"], "secret-1");
        assert_eq!(n["changeType"], "created");
        assert_eq!(n["resourceData"]["id"], ev["id"]);
        // The version the change left [RD]: what a client compares with the changeKey it
        // holds to tell the echo of its own write.
        assert_eq!(
            n["resourceData"]["@odata.etag"],
            json!(format!("W/\"{}\"", ev["changeKey"].as_str().unwrap()))
        );
        assert!(n["tenantId"].is_string());
        assert!(n["resource"]
            .as_str()
            .unwrap()
            .ends_with(ev["id"].as_str().unwrap()));
        let id = ev["id"].as_str().unwrap();
        let edited = json_of(
            e.patch(&format!("/me/events/{id}"), json!({"subject": "Hook 2"}))
                .await,
        )
        .await;
        assert_ne!(edited["changeKey"], ev["changeKey"]);
        let got = rx.wait_for(2).await;
        let n = &got[1]["value"][0];
        assert_eq!(n["changeType"], "updated");
        assert_eq!(
            n["resourceData"]["@odata.etag"],
            json!(format!("W/\"{}\"", edited["changeKey"].as_str().unwrap()))
        );
        e.delete(&format!("/me/events/{id}")).await;
        let got = rx.wait_for(3).await;
        let n = &got[2]["value"][0];
        assert_eq!(n["changeType"], "deleted");
        assert_eq!(n["resourceData"]["id"], ev["id"]);
        assert!(n["resourceData"].get("@odata.etag").is_none());
    }

    #[tokio::test]
    async fn a_failed_validation_fails_the_create() {
        let e = env().await;
        let (rx, url) = Receiver::start().await;
        rx.refuse_validation
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let r = subscribe(&e, &url, "me/events", "created", 600).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_graph_error(&json_of(r).await, "InvalidRequest");
        let list = json_of(e.get("/subscriptions").await).await;
        assert_eq!(list["value"], json!([]));
        let r = subscribe(&e, "http://127.0.0.1:9", "me/events", "created", 600).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "nobody listening");
    }

    #[tokio::test]
    async fn expiry_limits_duplicates_renewal_and_delete() {
        let e = env().await;
        let (_rx, url) = Receiver::start().await;
        assert_eq!(
            subscribe(&e, &url, "me/events", "created", 10_081)
                .await
                .status(),
            StatusCode::BAD_REQUEST
        );
        let sub = json_of(subscribe(&e, &url, "me/events", "created", 5).await).await;
        let exp = chrono::DateTime::parse_from_rfc3339(sub["expirationDateTime"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            exp.with_timezone(&Utc),
            e.em().clock().now() + chrono::Duration::minutes(45)
        );
        let r = subscribe(&e, &url, "me/events", "created", 60).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(
            subscribe(&e, &url, "me/drive/root", "created", 60)
                .await
                .status(),
            StatusCode::BAD_REQUEST,
            "drive: updated only"
        );
        assert_eq!(
            subscribe(&e, &url, "me/drive/root", "updated", 42_300)
                .await
                .status(),
            StatusCode::CREATED
        );
        let id = sub["id"].as_str().unwrap();
        let r = e
            .patch(
                &format!("/subscriptions/{id}"),
                json!({"expirationDateTime": in_minutes(&e, 3000)}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_ne!(
            json_of(r).await["expirationDateTime"],
            sub["expirationDateTime"]
        );
        let r = e
            .patch(
                &format!("/subscriptions/{id}"),
                json!({"lifecycleNotificationUrl": format!("{url}/x")}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            e.delete(&format!("/subscriptions/{id}")).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            e.get(&format!("/subscriptions/{id}")).await.status(),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn deliveries_are_retried_after_a_failure() {
        let e = env_with(GraphConfig {
            notification_retry_base_ms: 10,
            ..frozen()
        })
        .await;
        let (rx, url) = Receiver::start().await;
        subscribe(&e, &url, "me/events", "created", 600).await;
        rx.fail_next.store(2, std::sync::atomic::Ordering::SeqCst);
        e.post(
            "/me/events",
            event("Retry", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
        )
        .await;
        assert_eq!(rx.wait_for(1).await.len(), 1);
        delivered(&e).await;
        let d: Vec<(u32, Option<u16>)> = e
            .em()
            .deliveries()
            .iter()
            .map(|d| (d.attempt, d.status))
            .collect();
        assert_eq!(d, vec![(1, Some(500)), (2, Some(500)), (3, Some(202))]);
    }

    #[tokio::test]
    async fn a_slow_answer_counts_as_a_failed_delivery_and_is_retried() {
        use std::sync::atomic::Ordering;
        let e = env_with(GraphConfig {
            notification_timeout_ms: 150,
            notification_retry_base_ms: 10,
            ..frozen()
        })
        .await;
        let (rx, url) = Receiver::start().await;
        subscribe(&e, &url, "me/events", "created", 600).await;
        rx.stall_ms.store(600, Ordering::SeqCst);
        rx.stall_next.store(1, Ordering::SeqCst);
        e.post(
            "/me/events",
            event("Slow", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
        )
        .await;
        assert!(!rx.wait_for(1).await.is_empty());
        delivered(&e).await;
        let d: Vec<(u32, Option<u16>)> = e
            .em()
            .deliveries()
            .iter()
            .map(|d| (d.attempt, d.status))
            .collect();
        assert_eq!(d.first(), Some(&(1, None)), "{d:?}");
        assert!(d.contains(&(2, Some(202))), "{d:?}");
    }

    #[tokio::test]
    async fn a_validation_answer_later_than_the_limit_fails_the_create() {
        use std::sync::atomic::Ordering;
        let e = env_with(GraphConfig {
            validation_timeout_ms: 150,
            ..frozen()
        })
        .await;
        let (rx, url) = Receiver::start().await;
        rx.stall_ms.store(600, Ordering::SeqCst);
        rx.stall_next.store(1, Ordering::SeqCst);
        let r = subscribe(&e, &url, "me/events", "created", 600).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_graph_error(&json_of(r).await, "InvalidRequest");
    }

    #[tokio::test]
    async fn changes_made_together_arrive_batched_in_one_post() {
        let e = env().await;
        let (rx, url) = Receiver::start().await;
        subscribe(&e, &url, "me/events", "created", 600).await;
        let batch = json!({"requests": [
            {"id": "1", "method": "POST", "url": "/me/events", "headers": {"Content-Type": "application/json"}, "body": event("A", "2026-03-03T10:00:00", "2026-03-03T11:00:00")},
            {"id": "2", "method": "POST", "url": "/me/events", "headers": {"Content-Type": "application/json"}, "body": event("B", "2026-03-03T12:00:00", "2026-03-03T13:00:00")}]});
        e.post("/$batch", batch).await;
        let got = rx.wait_for(1).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["value"].as_array().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_drive_subscription_gets_updated_notifications_without_item_data() {
        let e = env().await;
        let (rx, url) = Receiver::start().await;
        subscribe(&e, &url, "me/drive/root", "updated", 600).await;
        e.http
            .put(e.url("/me/drive/root:/n.txt:/content"))
            .bearer_auth(&e.token)
            .body("x")
            .send()
            .await
            .unwrap();
        let got = rx.wait_for(1).await;
        let n = &got[0]["value"][0];
        assert_eq!(n["changeType"], "updated");
        assert_eq!(n["resource"], "me/drive/root");
        assert!(n.get("resourceData").is_none());
    }

    #[tokio::test]
    async fn lifecycle_notifications_are_sent_on_demand_and_removal_ends_the_subscription() {
        let e = env().await;
        let (rx, url) = Receiver::start().await;
        let sub = json_of(subscribe(&e, &url, "me/events", "created", 600).await).await;
        let id = sub["id"].as_str().unwrap();
        let r = e
            .http
            .post(format!("{}/subscriptions/{id}/lifecycle", e.g.control_url))
            .json(&json!({"event": "reauthorizationRequired"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let got = rx.wait_for(1).await;
        assert_eq!(
            got[0]["value"][0]["lifecycleEvent"],
            "reauthorizationRequired"
        );
        assert!(got[0]["value"][0].get("resource").is_none());
        e.em().trigger_lifecycle(id, "subscriptionRemoved").unwrap();
        let got = rx.wait_for(2).await;
        assert_eq!(got[1]["value"][0]["lifecycleEvent"], "subscriptionRemoved");
        assert_eq!(
            e.get(&format!("/subscriptions/{id}")).await.status(),
            StatusCode::NOT_FOUND
        );
        assert!(e.em().trigger_lifecycle(id, "missed").is_err());
    }

    /// The socketIo channel itself is tested in `tests/graph_socketio.rs`.
    #[tokio::test]
    async fn the_drive_root_socket_io_endpoint_hands_out_a_socket_io_url() {
        let e = env().await;
        let r = e.get("/me/drive/root/subscriptions/socketIo").await;
        assert_eq!(r.status(), StatusCode::OK);
        let v = json_of(r).await;
        assert!(
            v["notificationUrl"]
                .as_str()
                .is_some_and(|u| u.contains("/callback?")),
            "{v}"
        );
    }
}

mod batch {
    use super::*;

    fn req(id: &str, method: &str, url: &str) -> Value {
        json!({"id": id, "method": method, "url": url})
    }

    #[tokio::test]
    async fn a_batch_answers_each_request_by_id_with_its_own_status() {
        let e = env().await;
        let mut create = req("2", "POST", "/me/events");
        create["headers"] = json!({"Content-Type": "application/json"});
        create["body"] = event("Batched", "2026-03-03T10:00:00", "2026-03-03T11:00:00");
        let r = e.post("/$batch", json!({"requests": [req("1", "GET", "/me"), create, req("3", "GET", "me/events/missing")]})).await;
        assert_eq!(r.status(), StatusCode::OK);
        let v = json_of(r).await;
        let by = |id: &str| {
            v["responses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == id)
                .cloned()
                .unwrap()
        };
        assert_eq!(by("1")["status"], 200);
        assert_eq!(by("1")["body"]["mail"], "alice@contoso.com");
        assert_eq!(by("2")["status"], 201);
        assert_eq!(by("2")["body"]["subject"], "Batched");
        assert_eq!(by("3")["status"], 404);
        assert_eq!(by("3")["body"]["error"]["code"], "ErrorItemNotFound");
    }

    #[tokio::test]
    async fn a_failed_dependency_cascades_424_to_its_dependents() {
        let e = env().await;
        let mut b = req("b", "GET", "/me");
        b["dependsOn"] = json!(["a"]);
        let mut c = req("c", "GET", "/me");
        c["dependsOn"] = json!(["b"]);
        let v = json_of(
            e.post(
                "/$batch",
                json!({"requests": [req("a", "GET", "/me/events/missing"), b, c]}),
            )
            .await,
        )
        .await;
        let by = |id: &str| {
            v["responses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == id)
                .cloned()
                .unwrap()
        };
        assert_eq!(by("a")["status"], 404);
        assert_eq!(by("b")["status"], 424);
        assert_eq!(by("c")["status"], 424);
    }

    #[tokio::test]
    async fn more_than_twenty_requests_is_a_400_batch() {
        let e = env().await;
        let many: Vec<Value> = (0..21).map(|i| req(&i.to_string(), "GET", "/me")).collect();
        let r = e.post("/$batch", json!({"requests": many})).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_graph_error(&json_of(r).await, "BadRequest");
    }

    #[tokio::test]
    async fn a_throttled_sub_request_is_429_with_retry_after_in_its_headers_and_the_batch_is_200() {
        let e = env().await;
        e.em()
            .faults()
            .add(FaultRule::once(Fault::Throttle { retry_after_s: 9 }).on_path("/me/drive"));
        let r = e
            .post(
                "/$batch",
                json!({"requests": [req("1", "GET", "/me"), req("2", "GET", "/me/drive")]}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let v = json_of(r).await;
        let two = v["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == "2")
            .cloned()
            .unwrap();
        assert_eq!(two["status"], 429);
        assert_eq!(two["headers"]["retry-after"], "9");
        // A fresh window of 2: the batch's first two requests fit, the third not. The batch
        // itself is not counted, and a full window is answered inside it, not as a 429 of
        // the whole batch (graph.md §6.4: 200 outer, 429 inner).
        e.em().clock().advance(chrono::Duration::seconds(600));
        let mut limits = e.em().limits();
        limits.requests_per_window = 2;
        e.em().set_limits(limits);
        let three = json!({"requests": [req("1", "GET", "/me"), req("2", "GET", "/me"), req("3", "GET", "/me")]});
        let statuses = |v: &Value| {
            let mut s: Vec<u64> = v["responses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["status"].as_u64().unwrap())
                .collect();
            s.sort();
            s
        };
        let v = json_of(e.post("/$batch", three.clone()).await).await;
        assert_eq!(statuses(&v), [200, 200, 429]);
        // The window is full: the next batch is still a 200, every request in it a 429.
        let r = e.post("/$batch", three).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(statuses(&json_of(r).await), [429, 429, 429]);
    }

    #[tokio::test]
    async fn responses_come_back_in_shuffled_order() {
        let e = env().await;
        let reqs: Vec<Value> = (0..20).map(|i| req(&i.to_string(), "GET", "/me")).collect();
        let v = json_of(e.post("/$batch", json!({"requests": reqs})).await).await;
        let ids: Vec<String> = v["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect();
        let in_order: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        assert_eq!(ids.len(), 20);
        assert_ne!(ids, in_order);
    }
}

/// Every property the emulator emits exists in Microsoft's v1.0 type definitions
/// (`tests/data/graph-v1.0-csdl-subset.xml`, copied from `shared/specs`) with the right type.
mod csdl {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct TypeDef {
        base: Option<String>,
        open: bool,
        props: HashMap<String, (String, bool)>,
    }

    #[derive(Default)]
    struct Schema {
        types: HashMap<String, TypeDef>,
        enums: HashMap<String, Vec<String>>,
    }

    fn attr(line: &str, name: &str) -> Option<String> {
        let key = format!(" {name}=\"");
        let start = line.find(&key)? + key.len();
        let end = line[start..].find('"')? + start;
        Some(line[start..end].to_string())
    }

    fn short(t: &str) -> String {
        t.trim_start_matches("graph.")
            .trim_start_matches("microsoft.graph.")
            .to_string()
    }

    fn load() -> Schema {
        let xml = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/graph-v1.0-csdl-subset.xml"
        ))
        .unwrap();
        let mut s = Schema::default();
        let mut current: Option<String> = None;
        let mut current_enum: Option<String> = None;
        for line in xml.lines().map(str::trim) {
            if line.starts_with("<EntityType ") || line.starts_with("<ComplexType ") {
                let name = attr(line, "Name").unwrap();
                let def = TypeDef {
                    base: attr(line, "BaseType").map(|b| short(&b)),
                    open: attr(line, "OpenType").as_deref() == Some("true"),
                    ..Default::default()
                };
                s.types.insert(name.clone(), def);
                current = (!line.ends_with("/>")).then_some(name);
            } else if line.starts_with("</EntityType") || line.starts_with("</ComplexType") {
                current = None;
            } else if line.starts_with("<Property ") {
                if let (Some(t), Some(n), Some(ty)) =
                    (&current, attr(line, "Name"), attr(line, "Type"))
                {
                    let nullable = attr(line, "Nullable").as_deref() != Some("false");
                    s.types.get_mut(t).unwrap().props.insert(n, (ty, nullable));
                }
            } else if line.starts_with("<EnumType ") {
                let name = attr(line, "Name").unwrap();
                s.enums.insert(name.clone(), Vec::new());
                current_enum = Some(name);
            } else if line.starts_with("</EnumType") {
                current_enum = None;
            } else if line.starts_with("<Member ") {
                if let (Some(e), Some(m)) = (&current_enum, attr(line, "Name")) {
                    s.enums.get_mut(e).unwrap().push(m);
                }
            }
        }
        s
    }

    impl Schema {
        fn prop(&self, ty: &str, name: &str) -> Option<(String, bool)> {
            let mut cur = Some(ty.to_string());
            while let Some(t) = cur {
                let def = self.types.get(&t)?;
                if let Some(p) = def.props.get(name) {
                    return Some(p.clone());
                }
                cur = def.base.clone();
            }
            None
        }

        fn open(&self, ty: &str) -> bool {
            self.types
                .get(ty)
                .is_some_and(|d| d.open && ty != "event" && ty != "driveItem")
        }

        fn check(&self, v: &Value, ty: &str, nullable: bool, path: &str, errs: &mut Vec<String>) {
            if v.is_null() {
                if !nullable {
                    errs.push(format!("{path}: null but {ty} is not nullable"));
                }
                return;
            }
            if let Some(inner) = ty
                .strip_prefix("Collection(")
                .and_then(|t| t.strip_suffix(')'))
            {
                match v.as_array() {
                    Some(a) => a.iter().enumerate().for_each(|(i, x)| {
                        self.check(x, inner, false, &format!("{path}[{i}]"), errs)
                    }),
                    None => errs.push(format!("{path}: expected a collection of {inner}, got {v}")),
                }
                return;
            }
            let ok = match ty {
                "Edm.String" => v.is_string(),
                "Edm.Boolean" => v.is_boolean(),
                "Edm.Int32" | "Edm.Int64" => v.is_i64() || v.is_u64(),
                "Edm.Double" => v.is_number(),
                "Edm.DateTimeOffset" => v
                    .as_str()
                    .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
                "Edm.Date" => v
                    .as_str()
                    .is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
                "Edm.Guid" => v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
                _ => {
                    let t = short(ty);
                    if let Some(members) = self.enums.get(&t) {
                        v.as_str().is_some_and(|s| members.iter().any(|m| m == s))
                    } else if self.types.contains_key(&t) {
                        self.object(v, &t, path, errs);
                        true
                    } else {
                        // A type outside the subset (graph.root, graph.phoneType): not checkable.
                        true
                    }
                }
            };
            if !ok {
                errs.push(format!("{path}: {v} is not a {ty}"));
            }
        }

        fn object(&self, v: &Value, ty: &str, path: &str, errs: &mut Vec<String>) {
            let Some(obj) = v.as_object() else {
                errs.push(format!("{path}: expected a {ty} object, got {v}"));
                return;
            };
            for (k, val) in obj {
                if k.starts_with('@') || k.contains("@odata.") {
                    continue;
                }
                // The subset's `identity` is the externalConnectors type that shares the
                // name; Graph's own identity complex type has `displayName` and `id`.
                if ty == "identity" && k == "displayName" {
                    self.check(val, "Edm.String", true, &format!("{path}.{k}"), errs);
                    continue;
                }
                match self.prop(ty, k) {
                    Some((pt, nullable)) => {
                        self.check(val, &pt, nullable, &format!("{path}.{k}"), errs)
                    }
                    None if self.open(ty) => {}
                    None => errs.push(format!("{path}.{k}: no such property on {ty}")),
                }
            }
        }
    }

    fn assert_conforms(schema: &Schema, ty: &str, items: &[Value]) {
        let mut errs = Vec::new();
        for (i, v) in items.iter().enumerate() {
            schema.object(v, ty, &format!("{ty}#{i}"), &mut errs);
        }
        assert!(errs.is_empty(), "{}", errs.join("\n"));
    }

    #[test]
    fn the_checker_catches_unknown_properties_wrong_types_and_bad_enum_values() {
        let s = load();
        let mut errs = Vec::new();
        s.object(
            &json!({"subject": 3, "showAs": "away", "colour": "red", "isAllDay": true}),
            "event",
            "e",
            &mut errs,
        );
        assert_eq!(errs.len(), 3, "{errs:?}");
    }

    #[tokio::test]
    async fn events_in_every_shape_match_the_event_type() {
        let schema = load();
        let e = env().await;
        let mut full = event("Full", "2026-03-03T10:00:00", "2026-03-03T11:00:00");
        full["attendees"] = json!([{"type": "optional", "emailAddress": {"address": "bob@contoso.com", "name": "Bob"}}]);
        full["location"] = json!({"displayName": "Room 1", "address": {"city": "Brussels", "countryOrRegion": "BE"}});
        full["body"] = json!({"contentType": "text", "content": "Agenda"});
        full["categories"] = json!(["Blue"]);
        full["isOnlineMeeting"] = json!(true);
        full["onlineMeetingProvider"] = json!("teamsForBusiness");
        full["transactionId"] = json!("tx-1");
        let mut series = event("Series", "2026-03-02T09:00:00", "2026-03-02T09:30:00");
        series["recurrence"] = json!({"pattern": {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday"], "index": "first"},
            "range": {"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-06-30"}});
        let mut items = vec![json_of(e.post("/me/events", full).await).await];
        let master = json_of(e.post("/me/events", series).await).await;
        let mid = master["id"].as_str().unwrap().to_string();
        items.push(
            json_of(
                e.get(&format!("/me/events/{mid}?$select=cancelledOccurrences"))
                    .await,
            )
            .await,
        );
        let view = json_of(e.get("/me/calendarView?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-07-01T00:00:00Z&$top=50").await).await;
        let occ = view["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["type"] == "occurrence")
            .unwrap()
            .clone();
        let exc = json_of(
            e.patch(
                &format!("/me/events/{}", occ["id"].as_str().unwrap()),
                json!({"subject": "Moved"}),
            )
            .await,
        )
        .await;
        items.extend([occ, exc]);
        let delta = json_of(e.get("/me/calendarView/delta?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-07-01T00:00:00Z").await).await;
        let page = json_of(e.get_abs(delta["@odata.nextLink"].as_str().unwrap()).await).await;
        items.extend(page["value"].as_array().unwrap().iter().cloned());
        assert!(items.len() >= 8);
        assert_conforms(&schema, "event", &items);
    }

    #[tokio::test]
    async fn drive_items_upload_sessions_and_subscriptions_match_their_types() {
        let schema = load();
        let e = env().await;
        let folder = json_of(
            e.post(
                "/me/drive/root/children",
                json!({"name": "F", "folder": {}}),
            )
            .await,
        )
        .await;
        let file = json_of(
            e.http
                .put(e.url("/me/drive/root:/F/a.txt:/content"))
                .bearer_auth(&e.token)
                .body("abc")
                .send()
                .await
                .unwrap(),
        )
        .await;
        let got = json_of(
            e.get(&format!("/me/drive/items/{}", file["id"].as_str().unwrap()))
                .await,
        )
        .await;
        let kids = json_of(
            e.get(&format!(
                "/me/drive/items/{}/children",
                folder["id"].as_str().unwrap()
            ))
            .await,
        )
        .await;
        let root = json_of(e.get("/me/drive/root").await).await;
        let session = json_of(
            e.post("/me/drive/root:/b.bin:/createUploadSession", json!({}))
                .await,
        )
        .await;
        let done = json_of(
            e.http
                .put(session["uploadUrl"].as_str().unwrap())
                .header("content-range", "bytes 0-1/2")
                .body("xy")
                .send()
                .await
                .unwrap(),
        )
        .await;
        let latest = json_of(e.get("/me/drive/root/delta?token=latest").await).await;
        e.delete(&format!("/me/drive/items/{}", file["id"].as_str().unwrap()))
            .await;
        let changes = json_of(
            e.get_abs(latest["@odata.deltaLink"].as_str().unwrap())
                .await,
        )
        .await;
        assert!(changes["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.get("deleted").is_some()));
        let delta = json_of(e.get("/me/drive/root/delta").await).await;
        let mut items = vec![folder, file, got, root, done];
        items.extend(changes["value"].as_array().unwrap().iter().cloned());
        items.extend(kids["value"].as_array().unwrap().iter().cloned());
        items.extend(delta["value"].as_array().unwrap().iter().cloned());
        assert_conforms(&schema, "driveItem", &items);
        assert_conforms(&schema, "uploadSession", &[session]);

        let (rx, url) = Receiver::start().await;
        let sub = json_of(
            e.post(
                "/subscriptions",
                json!({"changeType": "created", "notificationUrl": format!("{url}/n"), "lifecycleNotificationUrl": format!("{url}/l"),
                    "resource": "me/events", "expirationDateTime": (e.em().clock().now() + chrono::Duration::hours(2)).to_rfc3339(), "clientState": "c"}),
            )
            .await,
        )
        .await;
        assert_conforms(&schema, "subscription", std::slice::from_ref(&sub));
        e.post(
            "/me/events",
            event("N", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
        )
        .await;
        e.em()
            .trigger_lifecycle(sub["id"].as_str().unwrap(), "missed")
            .unwrap();
        let got = rx.wait_for(2).await;
        assert_conforms(&schema, "changeNotificationCollection", &got);
    }
}

mod scenario {
    use super::*;

    #[tokio::test]
    async fn delta_can_be_told_to_replay_items_within_a_round() {
        let e = env_with(GraphConfig {
            delta_duplicate_probability: 1.0,
            ..frozen()
        })
        .await;
        e.post(
            "/me/events",
            event("Twice", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
        )
        .await;
        let first = json_of(e.get("/me/calendarView/delta?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-04-01T00:00:00Z").await).await;
        let page = json_of(e.get_abs(first["@odata.nextLink"].as_str().unwrap()).await).await;
        let ids: Vec<&Value> = page["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| &v["id"])
            .collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0], ids[1]);
    }

    #[tokio::test]
    async fn the_demo_scenario_seeds_users_events_a_series_files_and_a_moved_meeting() {
        let e = env().await;
        let r = e
            .http
            .post(format!("{}/scenario", e.g.control_url))
            .json(&json!({"name": "demo"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let users = e.em().users();
        assert!(users.iter().any(|u| u.mail == odoo365_testkit::demo::BOB));
        let list = json_of(e.get("/me/events?$top=50").await).await;
        let events = list["value"].as_array().unwrap();
        assert_eq!(events.len(), 4);
        assert!(events.iter().any(|v| v["type"] == "seriesMaster"));
        assert!(events.iter().any(|v| v["isAllDay"] == true));
        let meeting = events
            .iter()
            .find(|v| v["subject"] == "Budget review")
            .unwrap();
        assert!(meeting["onlineMeeting"]["joinUrl"].is_string());
        assert_ne!(meeting["createdDateTime"], json!(null));
        assert!(
            e.em()
                .outbox()
                .iter()
                .any(|m| m.reason.starts_with("changed:")),
            "the organizer moved the meeting after inviting"
        );
        let file = json_of(
            e.get("/me/drive/root:/Odoo%20Sync/sale.order/42/quote.pdf")
                .await,
        )
        .await;
        assert_eq!(file["file"]["mimeType"], "application/pdf");
    }
}

mod attendees {
    use super::*;

    #[tokio::test]
    async fn an_invitation_lands_in_an_emulated_attendees_calendar_and_follows_the_organizer() {
        let e = env().await;
        e.em()
            .create_user("bob@contoso.com", "Bob", DriveType::Business);
        let bob = e.em().mint_token("bob@contoso.com").unwrap();
        let bob_events = || async {
            let r = e
                .http
                .get(e.url("/me/events"))
                .bearer_auth(&bob)
                .send()
                .await
                .unwrap();
            json_of(r).await["value"].as_array().unwrap().clone()
        };
        let mut b = event("Review", "2026-03-03T10:00:00", "2026-03-03T11:00:00");
        b["attendees"] = json!([{"emailAddress": {"address": "Bob@contoso.com", "name": "Bob"}}]);
        let org = json_of(e.post("/me/events", b).await).await;
        let copy = bob_events().await[0].clone();
        assert_ne!(copy["id"], org["id"]);
        assert_eq!(copy["isOrganizer"], false);
        assert_eq!(
            copy["organizer"]["emailAddress"]["address"],
            "alice@contoso.com"
        );
        assert_eq!(copy["responseStatus"]["response"], "notResponded");
        let r = e
            .http
            .post(e.url(&format!(
                "/me/events/{}/cancel",
                copy["id"].as_str().unwrap()
            )))
            .bearer_auth(&bob)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::BAD_REQUEST,
            "only the organizer cancels"
        );
        assert!(json_of(r).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("organizer"));
        e.patch(
            &format!("/me/events/{}", org["id"].as_str().unwrap()),
            json!({"subject": "Review v2"}),
        )
        .await;
        let updated = bob_events().await[0].clone();
        assert_eq!(updated["subject"], "Review v2");
        assert_ne!(updated["changeKey"], copy["changeKey"]);
        e.post(
            &format!("/me/events/{}/cancel", org["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
        let cancelled = bob_events().await[0].clone();
        assert_eq!(cancelled["isCancelled"], true);
        assert_eq!(cancelled["subject"], "Canceled: Review v2");
        let before = e.em().outbox().len();
        let r = e
            .http
            .delete(e.url(&format!("/me/events/{}", copy["id"].as_str().unwrap())))
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            e.em().outbox().len(),
            before,
            "an attendee's delete sends nothing"
        );
    }

    #[tokio::test]
    async fn a_change_to_one_occurrence_updates_only_that_occurrence_of_the_attendees_copy() {
        const W: &str = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-04-01T00:00:00Z";
        let e = env().await;
        e.em()
            .create_user("bob@contoso.com", "Bob", DriveType::Business);
        let bob = e.em().mint_token("bob@contoso.com").unwrap();
        let bob_get = |path: String| {
            let r = e.http.get(e.url(&path)).bearer_auth(&bob).send();
            async move { json_of(r.await.unwrap()).await }
        };
        let mut b = event("Sync", "2026-03-02T09:00:00", "2026-03-02T09:30:00");
        b["recurrence"] = json!({"pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 4}});
        b["attendees"] = json!([{"emailAddress": {"address": "bob@contoso.com", "name": "Bob"}}]);
        assert_eq!(e.post("/me/events", b).await.status(), StatusCode::CREATED);
        let copy_before = bob_get("/me/events".into()).await["value"][0].clone();
        let before = bob_get(format!("/me/calendarView?{W}")).await["value"].clone();
        assert_eq!(before.as_array().unwrap().len(), 4);
        let alice = json_of(e.get(&format!("/me/calendarView?{W}")).await).await["value"].clone();
        // Alice moves the second occurrence and renames it.
        let r = e
            .patch(
                &format!("/me/events/{}", alice[1]["id"].as_str().unwrap()),
                json!({"subject": "Sync (later)",
                    "start": {"dateTime": "2026-03-03T11:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": "2026-03-03T11:30:00", "timeZone": "UTC"}}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let after = bob_get(format!("/me/calendarView?{W}")).await["value"].clone();
        assert_eq!(after[1]["id"], before[1]["id"]);
        assert_eq!(after[1]["subject"], "Sync (later)");
        assert_eq!(after[1]["type"], "exception");
        assert_eq!(after[1]["start"]["dateTime"], "2026-03-03T11:00:00.0000000");
        assert_ne!(after[1]["changeKey"], before[1]["changeKey"]);
        for i in [0, 2, 3] {
            assert_eq!(after[i]["id"], before[i]["id"]);
            assert_eq!(
                after[i]["changeKey"], before[i]["changeKey"],
                "occurrence {i}"
            );
            assert_eq!(after[i]["subject"], "Sync");
        }
        let copy = bob_get("/me/events".into()).await["value"][0].clone();
        assert_eq!(
            copy["changeKey"], copy_before["changeKey"],
            "the series copy stays"
        );
        // Alice deletes the third occurrence: it leaves Bob's copy, the others stay as they were.
        assert_eq!(
            e.delete(&format!("/me/events/{}", alice[2]["id"].as_str().unwrap()))
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        let last = bob_get(format!("/me/calendarView?{W}")).await["value"].clone();
        let last = last.as_array().unwrap();
        assert_eq!(last.len(), 3);
        assert!(last.iter().all(|i| i["id"] != before[2]["id"]));
        for (l, a) in last.iter().zip([&after[0], &after[1], &after[3]]) {
            assert_eq!(l["id"], a["id"]);
            assert_eq!(l["changeKey"], a["changeKey"]);
        }
        let copy = bob_get("/me/events".into()).await["value"][0].clone();
        assert_eq!(copy["changeKey"], copy_before["changeKey"]);
    }

    #[tokio::test]
    async fn an_attendee_removed_from_one_occurrence_loses_only_it_and_gets_it_back_when_re_added()
    {
        const W: &str = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-04-01T00:00:00Z";
        let e = env().await;
        e.em()
            .create_user("bob@contoso.com", "Bob", DriveType::Business);
        let bob = e.em().mint_token("bob@contoso.com").unwrap();
        let bob_view = || {
            let r = e
                .http
                .get(e.url(&format!("/me/calendarView?{W}")))
                .bearer_auth(&bob)
                .send();
            async move { json_of(r.await.unwrap()).await["value"].clone() }
        };
        let mut b = event("Sync", "2026-03-02T09:00:00", "2026-03-02T09:30:00");
        b["recurrence"] = json!({"pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3}});
        b["attendees"] = json!([{"emailAddress": {"address": "bob@contoso.com", "name": "Bob"}}]);
        e.post("/me/events", b).await;
        let before = bob_view().await;
        let alice = json_of(e.get(&format!("/me/calendarView?{W}")).await).await["value"].clone();
        let first = format!("/me/events/{}", alice[0]["id"].as_str().unwrap());
        assert_eq!(
            e.patch(&first, json!({"attendees": []})).await.status(),
            StatusCode::OK
        );
        let without = bob_view().await;
        assert_eq!(without.as_array().unwrap().len(), 2);
        assert_eq!(without[0]["changeKey"], before[1]["changeKey"]);
        assert_eq!(without[1]["changeKey"], before[2]["changeKey"]);
        let r = e
            .patch(
                &first,
                json!({"attendees": [{"emailAddress": {"address": "bob@contoso.com", "name": "Bob"}}]}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let back = bob_view().await;
        assert_eq!(back.as_array().unwrap().len(), 3);
        assert_eq!(back[0]["id"], before[0]["id"]);
        assert_eq!(back[0]["type"], "exception");
        assert_eq!(back[1]["changeKey"], before[1]["changeKey"]);
    }

    #[tokio::test]
    async fn an_attendees_response_updates_both_calendars_and_mails_the_organizer() {
        let e = env().await;
        e.em()
            .create_user("bob@contoso.com", "Bob", DriveType::Business);
        let bob = e.em().mint_token("bob@contoso.com").unwrap();
        let mut b = event("Sync", "2026-03-03T10:00:00", "2026-03-03T11:00:00");
        b["attendees"] = json!([{"emailAddress": {"address": "bob@contoso.com"}}]);
        let org = json_of(e.post("/me/events", b).await).await;
        let oid = org["id"].as_str().unwrap();
        let r = e.post(&format!("/me/events/{oid}/accept"), json!({})).await;
        assert_eq!(
            r.status(),
            StatusCode::BAD_REQUEST,
            "the organizer does not respond"
        );
        let copies = json_of(
            e.http
                .get(e.url("/me/events"))
                .bearer_auth(&bob)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let cid = copies["value"][0]["id"].as_str().unwrap().to_string();
        let r = e
            .http
            .post(e.url(&format!("/me/events/{cid}/tentativelyAccept")))
            .bearer_auth(&bob)
            .json(&json!({"comment": "maybe"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let copy = json_of(
            e.http
                .get(e.url(&format!("/me/events/{cid}")))
                .bearer_auth(&bob)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(copy["responseStatus"]["response"], "tentativelyAccepted");
        let after = json_of(e.get(&format!("/me/events/{oid}")).await).await;
        assert_eq!(
            after["attendees"][0]["status"]["response"],
            "tentativelyAccepted"
        );
        assert_ne!(after["changeKey"], org["changeKey"]);
        let last = e.em().outbox().last().cloned().unwrap();
        assert_eq!(format!("{:?}", last.kind), "Response");
        assert_eq!(last.to, vec!["alice@contoso.com".to_string()]);
        assert_eq!(last.comment.as_deref(), Some("maybe"));
        let r = e
            .patch(
                &format!("/me/events/{oid}"),
                json!({"attendees": [{"emailAddress": {"address": "bob@contoso.com"}}, {"emailAddress": {"address": "dan@fabrikam.com"}}]}),
            )
            .await;
        let v = json_of(r).await;
        assert_eq!(
            v["attendees"][0]["status"]["response"], "tentativelyAccepted",
            "a kept attendee keeps the answer"
        );
        assert_eq!(v["attendees"][1]["status"]["response"], "none");
    }

    #[tokio::test]
    async fn the_primary_calendar_is_addressable_by_id_and_no_other_exists() {
        let e = env().await;
        let cals = json_of(e.get("/me/calendars").await).await;
        let id = cals["value"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(cals["value"][0]["isDefaultCalendar"], true);
        let r = e
            .post(
                &format!("/me/calendars/{id}/events"),
                event("Via id", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(
            json_of(e.get("/me/events").await).await["value"][0]["subject"],
            "Via id"
        );
        let r = e.get("/me/calendars/AAMkOther/events").await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}

mod edges {
    use super::*;

    const WINDOW: &str = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-04-01T00:00:00Z";

    async fn series(e: &Env) -> String {
        let mut b = event("Daily", "2026-03-02T09:00:00", "2026-03-02T09:15:00");
        b["recurrence"] = json!({"pattern": {"type": "daily", "interval": 1}, "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3}});
        json_of(e.post("/me/events", b).await).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn deleting_a_series_master_removes_its_occurrences_from_view_and_delta() {
        let e = env().await;
        let master = series(&e).await;
        let first = json_of(e.get(&format!("/me/calendarView/delta?{WINDOW}")).await).await;
        let page = json_of(e.get_abs(first["@odata.nextLink"].as_str().unwrap()).await).await;
        assert_eq!(page["value"].as_array().unwrap().len(), 3);
        let link = page["@odata.deltaLink"].as_str().unwrap().to_string();
        assert_eq!(
            e.delete(&format!("/me/events/{master}")).await.status(),
            StatusCode::NO_CONTENT
        );
        let view = json_of(e.get(&format!("/me/calendarView?{WINDOW}")).await).await;
        assert_eq!(view["value"], json!([]));
        let changes = json_of(e.get_abs(&link).await).await;
        let items = changes["value"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert!(items.iter().all(|i| i["@removed"]["reason"] == "deleted"));
    }

    #[tokio::test]
    async fn a_stale_if_match_on_an_occurrence_is_412_and_bad_ranges_are_400() {
        let e = env().await;
        series(&e).await;
        let view = json_of(e.get(&format!("/me/calendarView?{WINDOW}")).await).await;
        let occ = &view["value"][0];
        let r = e
            .http
            .patch(e.url(&format!("/me/events/{}", occ["id"].as_str().unwrap())))
            .bearer_auth(&e.token)
            .header("If-Match", "W/\"stale\"")
            .json(&json!({"subject": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
        let mut b = event("Bad", "2026-03-02T09:00:00", "2026-03-02T10:00:00");
        b["recurrence"] = json!({"pattern": {"type": "daily", "interval": 1}, "range": {"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-03-01"}});
        assert_eq!(
            e.post("/me/events", b).await.status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[tokio::test]
    async fn calendar_view_pages_follow_next_links() {
        let e = env().await;
        for d in 2..7 {
            e.post(
                "/me/events",
                event(
                    "E",
                    &format!("2026-03-0{d}T09:00:00"),
                    &format!("2026-03-0{d}T10:00:00"),
                ),
            )
            .await;
        }
        let mut v = json_of(e.get(&format!("/me/calendarView?{WINDOW}&$top=2")).await).await;
        let mut n = v["value"].as_array().unwrap().len();
        while let Some(next) = v["@odata.nextLink"].as_str() {
            v = json_of(e.get_abs(next).await).await;
            n += v["value"].as_array().unwrap().len();
        }
        assert_eq!(n, 5);
    }

    #[tokio::test]
    async fn drive_delta_accepts_the_function_token_syntax_and_root_is_protected() {
        let e = env().await;
        let latest = json_of(e.get("/me/drive/root/delta?token=latest").await).await;
        let token = latest["@odata.deltaLink"]
            .as_str()
            .unwrap()
            .split("token=")
            .nth(1)
            .unwrap()
            .to_string();
        e.http
            .put(e.url("/me/drive/root:/f.txt:/content"))
            .bearer_auth(&e.token)
            .body("x")
            .send()
            .await
            .unwrap();
        let v = json_of(
            e.get(&format!("/me/drive/root/delta(token='{token}')"))
                .await,
        )
        .await;
        assert!(v["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "f.txt"));
        let root = json_of(e.get("/me/drive/root").await).await;
        let rid = root["id"].as_str().unwrap();
        assert_eq!(
            e.delete(&format!("/me/drive/items/{rid}")).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            e.patch(&format!("/me/drive/items/{rid}"), json!({"name": "x"}))
                .await
                .status(),
            StatusCode::BAD_REQUEST
        );
        let a = json_of(
            e.post(
                "/me/drive/root/children",
                json!({"name": "A", "folder": {}}),
            )
            .await,
        )
        .await;
        let aid = a["id"].as_str().unwrap();
        let b = json_of(
            e.post(
                &format!("/me/drive/items/{aid}/children"),
                json!({"name": "B", "folder": {}}),
            )
            .await,
        )
        .await;
        let r = e
            .patch(
                &format!("/me/drive/items/{aid}"),
                json!({"parentReference": {"id": b["id"]}}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::BAD_REQUEST,
            "a folder can't move into its own child"
        );
    }

    #[tokio::test]
    async fn a_batch_takes_absolute_graph_urls() {
        let e = env().await;
        let v = json_of(e.post("/$batch", json!({"requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"}]})).await).await;
        assert_eq!(v["responses"][0]["status"], 200);
    }

    #[tokio::test]
    async fn identity_errors_redirect_or_answer_as_documented() {
        let e = env().await;
        let base = format!("{}/common/oauth2/v2.0", e.g.identity_url);
        let q = [
            ("client_id", "app"),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:5000/cb"),
            ("scope", "User.Read"),
            ("state", "s1"),
            ("prompt", "none"),
        ];
        let r = e
            .http
            .get(format!("{base}/authorize"))
            .query(&q)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let pairs: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
        assert_eq!(pairs["error"], "login_required");
        assert_eq!(pairs["state"], "s1");
        let form = [
            ("client_id", "app"),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:5000/cb"),
            ("scope", "User.Read"),
            ("state", "s2"),
            ("cancel", "1"),
        ];
        let r = e
            .http
            .post(format!("{base}/authorize"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        assert!(loc
            .query_pairs()
            .any(|(k, v)| k == "error" && v == "access_denied"));
        let t = json_of(
            e.http
                .post(format!("{base}/token"))
                .form(&[("client_id", "app"), ("grant_type", "password")])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(t["error"], "unsupported_grant_type");
        let t = json_of(
            e.http
                .post(format!("{base}/token"))
                .form(&[
                    ("client_id", "app"),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "nope"),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(t["error"], "invalid_grant");
    }
}

mod determinism {
    use super::*;

    async fn run(seed: u64) -> Vec<String> {
        let e = env_with(GraphConfig { seed, ..frozen() }).await;
        let mut out = vec![
            e.em().users()[0].id.clone(),
            e.em().users()[0].drive_id.clone(),
        ];
        let ev = json_of(
            e.post(
                "/me/events",
                event("Same", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
            )
            .await,
        )
        .await;
        out.push(ev["id"].as_str().unwrap().to_string());
        out.push(ev["changeKey"].as_str().unwrap().to_string());
        let f = json_of(
            e.http
                .put(e.url("/me/drive/root:/s.txt:/content"))
                .bearer_auth(&e.token)
                .body("s")
                .send()
                .await
                .unwrap(),
        )
        .await;
        out.push(f["id"].as_str().unwrap().to_string());
        out
    }

    #[tokio::test]
    async fn the_same_seed_and_requests_give_the_same_ids_and_change_keys() {
        assert_eq!(run(42).await, run(42).await);
        assert_ne!(run(42).await, run(43).await);
    }
}
