#![allow(clippy::unwrap_used)]
//! The client against wiremock servers that answer as Odoo 19 (JSON-2) and Odoo 16-18
//! (JSON-RPC) do, per shared/specs/odoo.md. Time is a `ManualClock`, so retries and
//! throttling are checked without sleeping.

use std::sync::Arc;
use std::time::Duration;

use odoo365_odoo::{
    ApiKey, Attachment, AttachmentUpload, CalendarAttendee, CalendarEvent, CalendarRecurrence,
    ManualClock, MessagePost, OdooClient, OdooConfig, OdooError, Record, SearchOptions, Transport,
    User, WriteOrigin,
};
use serde_json::{json, Map, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "0123456789abcdef0123456789abcdef01234567";

fn fields_map(fields: &[&str]) -> Value {
    let mut m = Map::new();
    for f in fields {
        m.insert((*f).to_string(), json!({"type": "char"}));
    }
    Value::Object(m)
}

fn user_row() -> Value {
    json!([{"id": 2, "login": "me@example.com", "name": "Me", "tz": "Europe/Brussels",
            "lang": "fr_BE", "partner_id": [3, "Me"], "company_id": [1, "Acme"],
            "company_ids": [1, 2], "share": false}])
}

fn models() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        (CalendarEvent::MODEL, CalendarEvent::FIELDS),
        (CalendarAttendee::MODEL, CalendarAttendee::FIELDS),
        (CalendarRecurrence::MODEL, CalendarRecurrence::FIELDS),
        (Attachment::MODEL, Attachment::FIELDS),
        (User::MODEL, User::FIELDS),
    ]
}

fn config(server: &MockServer, clock: &ManualClock) -> OdooConfig {
    let mut cfg = OdooConfig::new(
        server.uri().parse().unwrap(),
        "me@example.com",
        ApiKey::new(KEY),
    );
    cfg.clock = Arc::new(clock.clone());
    cfg.requests_burst = 1000;
    cfg.requests_per_second = 1000.0;
    cfg.timeout = Duration::from_millis(500);
    cfg
}

/// An Odoo 19 server: `/web/version`, then JSON-2 with the bearer key.
async fn odoo19(version: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/web/version"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"version": version, "version_info": [19, 0, 0, "final", 0, ""]}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/context_get"))
        .and(header("authorization", format!("bearer {KEY}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"uid": 2, "tz": "Europe/Brussels", "lang": "fr_BE"})),
        )
        .mount(&server)
        .await;
    for (model, fields) in models() {
        Mock::given(method("POST"))
            .and(path(format!("/json/2/{model}/fields_get")))
            .respond_with(ResponseTemplate::new(200).set_body_json(fields_map(fields)))
            .with_priority(10)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_row()))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

/// Matches a JSON-RPC call: `service.method`, and for `object.execute_kw` the model and
/// method, with the API key as the password.
struct Rpc {
    service: &'static str,
    method: &'static str,
    target: Option<(&'static str, &'static str)>,
}

impl Match for Rpc {
    fn matches(&self, req: &Request) -> bool {
        let Ok(v) = serde_json::from_slice::<Value>(&req.body) else {
            return false;
        };
        let p = &v["params"];
        if p["service"] != self.service || p["method"] != self.method {
            return false;
        }
        match self.target {
            None => true,
            Some((model, m)) => p["args"][2] == KEY && p["args"][3] == model && p["args"][4] == m,
        }
    }
}

fn object(model: &'static str, m: &'static str) -> Rpc {
    Rpc {
        service: "object",
        method: "execute_kw",
        target: Some((model, m)),
    }
}

fn rpc_ok(result: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"jsonrpc": "2.0", "id": 1, "result": result}))
}

fn rpc_err(name: &str, message: &str, code: i64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"jsonrpc": "2.0", "id": 1, "error": {
        "code": code, "message": "Odoo Server Error",
        "data": {"name": name, "message": message, "arguments": [message], "context": {}, "debug": "Traceback..."}}}))
}

/// An Odoo 16-18 server: no `/web/version`, `version_info` over JSON-RPC, then
/// `common.authenticate` and `object.execute_kw`.
async fn odoo_rpc(version: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/web/webclient/version_info"))
        .respond_with(rpc_ok(
            json!({"server_version": version, "protocol_version": 1}),
        ))
        .mount(&server)
        .await;
    mount_rpc_session(&server).await;
    server
}

/// `common.authenticate`, `context_get`, `fields_get` and the user over JSON-RPC.
async fn mount_rpc_session(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(Rpc {
            service: "common",
            method: "authenticate",
            target: None,
        })
        .respond_with(rpc_ok(json!(2)))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("res.users", "context_get"))
        .respond_with(rpc_ok(
            json!({"uid": 2, "tz": "Europe/Brussels", "lang": "fr_BE"}),
        ))
        .mount(server)
        .await;
    for (model, fields) in models() {
        let fields = fields_map(fields);
        Mock::given(method("POST"))
            .and(path("/jsonrpc"))
            .and(object(model, "fields_get"))
            .respond_with(rpc_ok(fields))
            .with_priority(10)
            .mount(server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("res.users", "read"))
        .respond_with(rpc_ok(user_row()))
        .with_priority(10)
        .mount(server)
        .await;
}

fn with_db(mut cfg: OdooConfig) -> OdooConfig {
    cfg.database = Some("acme".into());
    cfg
}

async fn bodies(server: &MockServer, p: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn rpc_bodies(server: &MockServer, model: &str, m: &str) -> Vec<Value> {
    bodies(server, "/jsonrpc")
        .await
        .into_iter()
        .filter(|b| b["params"]["args"][3] == model && b["params"]["args"][4] == m)
        .collect()
}

// ---- version detection and transports ---------------------------------------------

#[tokio::test]
async fn an_odoo_19_server_is_spoken_to_over_json2_with_the_bearer_key_and_database_header() {
    let server = odoo19("19.0").await;
    let clock = ManualClock::new();
    let client = OdooClient::connect(with_db(config(&server, &clock)))
        .await
        .unwrap();
    assert_eq!(client.transport(), Transport::Json2);
    assert_eq!(client.user().tz.as_deref(), Some("Europe/Brussels"));
    assert_eq!(client.me().partner_id, 3);
    let reqs = server.received_requests().await.unwrap();
    let json2: Vec<_> = reqs
        .iter()
        .filter(|r| r.url.path().starts_with("/json/2/"))
        .collect();
    assert!(!json2.is_empty());
    for r in json2 {
        assert_eq!(
            r.headers.get("authorization").unwrap(),
            &format!("bearer {KEY}")
        );
        assert_eq!(r.headers.get("x-odoo-database").unwrap(), "acme");
    }
    assert!(reqs.iter().all(|r| r.url.path() != "/jsonrpc"));
}

#[tokio::test]
async fn without_a_configured_database_json2_sends_no_database_header() {
    let server = odoo19("19.0+e").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    assert_eq!(client.transport(), Transport::Json2);
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs
        .iter()
        .all(|r| r.headers.get("x-odoo-database").is_none()));
}

#[tokio::test]
async fn an_odoo_17_server_without_web_version_falls_back_to_version_info_and_json_rpc() {
    let server = odoo_rpc("17.0+e").await;
    let client = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap();
    assert_eq!(client.transport(), Transport::JsonRpc);
    assert_eq!(client.version().major, 17);
    let auth: Vec<Value> = bodies(&server, "/jsonrpc")
        .await
        .into_iter()
        .filter(|b| b["params"]["method"] == "authenticate")
        .collect();
    assert_eq!(
        auth[0]["params"]["args"],
        json!(["acme", "me@example.com", KEY, {}])
    );
    let ctx = rpc_bodies(&server, "res.users", "context_get").await;
    assert_eq!(ctx[0]["params"]["args"][0], "acme");
    assert_eq!(ctx[0]["params"]["args"][1], 2, "the uid from authenticate");
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs.iter().all(|r| !r.url.path().starts_with("/json/2")));
}

#[tokio::test]
async fn a_saas_version_from_jsonrpc_common_version_is_detected_when_every_other_route_fails() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(Rpc {
            service: "common",
            method: "version",
            target: None,
        })
        .respond_with(rpc_ok(json!({"server_version": "saas~18.3+e",
            "server_version_info": ["saas~18", 3, 0, "final", 0, "e"]})))
        .mount(&server)
        .await;
    mount_rpc_session(&server).await;
    let client = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap();
    assert_eq!(client.version().to_string(), "saas~18.3");
    assert_eq!(client.transport(), Transport::JsonRpc);
    let reqs = server.received_requests().await.unwrap();
    let paths: Vec<_> = reqs.iter().map(|r| r.url.path().to_string()).collect();
    assert_eq!(
        &paths[..4],
        &[
            "/web/version",
            "/json/version",
            "/web/webclient/version_info",
            "/jsonrpc"
        ]
    );
}

#[tokio::test]
async fn a_saas_19_server_answering_only_json_version_gets_json2() {
    // /web/version 404s; /json/version answers a saas string.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/json/version"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"version": "saas~19.1+e", "version_info": ["saas~19", 1, 0, "final", 0, "e"]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/context_get"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"uid": 2})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_row()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex("^/json/2/.*/fields_get$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": {"type": "integer"}})))
        .mount(&server)
        .await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    assert_eq!(client.transport(), Transport::Json2);
    assert_eq!(client.version().to_string(), "saas~19.1");
}

#[tokio::test]
async fn a_server_that_is_not_odoo_is_refused_naming_every_route_tried() {
    let server = MockServer::start().await;
    let err = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap_err();
    match err {
        OdooError::Version(text) => {
            assert!(
                text.contains("/web/version") && text.contains("/jsonrpc"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_odoo_older_than_16_is_refused() {
    let server = odoo_rpc("15.0").await;
    let err = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OdooError::Version(ref t) if t.contains("16.0")),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut cfg = OdooConfig::new(
        format!("http://127.0.0.1:{port}").parse().unwrap(),
        "me",
        ApiKey::new(KEY),
    );
    cfg.clock = Arc::new(ManualClock::new());
    let err = OdooClient::connect(cfg).await.unwrap_err();
    assert!(matches!(err, OdooError::NotSent { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_context_get_without_uid_uses_the_uid_from_authenticate() {
    let server = odoo_rpc("16.0").await;
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("res.users", "context_get"))
        .respond_with(rpc_ok(json!({"tz": "UTC", "lang": "en_US"})))
        .with_priority(1)
        .mount(&server)
        .await;
    let client = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap();
    assert_eq!(client.me().uid, 2);
    let read = &rpc_bodies(&server, "res.users", "read").await[0];
    assert_eq!(read["params"]["args"][5], json!([[2]]));
}

#[tokio::test]
async fn json_rpc_authenticate_answering_false_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/web/webclient/version_info"))
        .respond_with(rpc_ok(json!({"server_version": "16.0"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .respond_with(rpc_ok(json!(false)))
        .mount(&server)
        .await;
    let err = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap_err();
    assert!(matches!(err, OdooError::Unauthorized(_)), "{err:?}");
    assert!(err.to_string().contains("create a new API key"));
}

#[tokio::test]
async fn json_rpc_without_a_database_name_uses_the_only_database_listed() {
    let server = odoo_rpc("18.0").await;
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(Rpc {
            service: "db",
            method: "list",
            target: None,
        })
        .respond_with(rpc_ok(json!(["acme-prod"])))
        .mount(&server)
        .await;
    OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    let ctx = rpc_bodies(&server, "res.users", "context_get").await;
    assert_eq!(ctx[0]["params"]["args"][0], "acme-prod");
}

// ---- errors -------------------------------------------------------------------------

/// A model to call, Odoo's answer, and the variant expected.
type ErrorCase = (&'static str, ResponseTemplate, fn(&OdooError) -> bool);

fn json2_err(status: u16, name: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"name": name, "message": message,
        "arguments": [message], "context": {}, "debug": "Traceback..."}))
}

#[tokio::test]
async fn json2_errors_become_typed_variants_that_keep_odoos_name_and_message() {
    let server = odoo19("19.0").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    let cases: Vec<ErrorCase> = vec![
        (
            "x.unauthorized",
            json2_err(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey")
                .insert_header("WWW-Authenticate", "bearer"),
            |e| matches!(e, OdooError::Unauthorized(_)),
        ),
        (
            "x.denied",
            json2_err(403, "odoo.exceptions.AccessDenied", "Access Denied"),
            |e| matches!(e, OdooError::Unauthorized(_)),
        ),
        (
            "x.access",
            json2_err(403, "odoo.exceptions.AccessError", "You are not allowed"),
            |e| matches!(e, OdooError::Access(_)),
        ),
        (
            "x.missing",
            json2_err(404, "odoo.exceptions.MissingError", "Record does not exist"),
            |e| matches!(e, OdooError::Missing(_)),
        ),
        (
            "x.validation",
            json2_err(
                422,
                "odoo.exceptions.ValidationError",
                "The ending date must be later",
            ),
            |e| matches!(e, OdooError::Validation(_)),
        ),
        (
            "x.user",
            json2_err(
                422,
                "odoo.exceptions.UserError",
                "Unable to save the recurrence",
            ),
            |e| matches!(e, OdooError::User(_)),
        ),
        (
            "x.notfound",
            json2_err(
                404,
                "werkzeug.exceptions.NotFound",
                "the model 'x.notfound' does not exist",
            ),
            |e| matches!(e, OdooError::Rejected(_)),
        ),
        ("x.bug", json2_err(500, "builtins.KeyError", "'foo'"), |e| {
            matches!(e, OdooError::Server(_))
        }),
        (
            "x.legacy",
            ResponseTemplate::new(401).set_body_json(json!("Invalid apikey")),
            |e| matches!(e, OdooError::Unauthorized(f) if f.message == "Invalid apikey"),
        ),
        (
            "x.media",
            ResponseTemplate::new(415).set_body_string("Please verify the Content-Type"),
            |e| matches!(e, OdooError::Rejected(f) if f.message.contains("Content-Type")),
        ),
    ];
    for (model, response, check) in cases {
        Mock::given(method("POST"))
            .and(path(format!("/json/2/{model}/unlink")))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let err = client
            .unlink(model, &[1], WriteOrigin::App)
            .await
            .unwrap_err();
        assert!(check(&err), "{model}: {err:?}");
        if let Some(f) = err.fault() {
            assert!(!f.message.is_empty(), "{model}");
            if model != "x.legacy" && model != "x.media" {
                assert!(f.name.contains('.'), "{model} keeps the exception name");
                assert!(f.http_status.is_some());
            }
        }
        // Each answer was requested once (`expect(1)`): no write is retried blindly.
        assert_eq!(err.is_retryable(), model == "x.bug", "{model}");
    }
}

#[tokio::test]
async fn json_rpc_errors_under_http_200_are_typed_by_their_data_name() {
    let server = odoo_rpc("17.0").await;
    let client = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap();
    let cases: Vec<ErrorCase> = vec![
        (
            "x.denied",
            rpc_err("odoo.exceptions.AccessDenied", "Access Denied", 200),
            |e| matches!(e, OdooError::Unauthorized(_)),
        ),
        (
            "x.access",
            rpc_err("odoo.exceptions.AccessError", "You are not allowed", 200),
            |e| matches!(e, OdooError::Access(f) if f.message == "You are not allowed" && f.http_status.is_none()),
        ),
        (
            "x.missing",
            rpc_err("odoo.exceptions.MissingError", "Record does not exist", 0),
            |e| matches!(e, OdooError::Missing(_)),
        ),
        (
            "x.validation",
            rpc_err("odoo.exceptions.ValidationError", "bad dates", 200),
            |e| matches!(e, OdooError::Validation(_)),
        ),
        (
            "x.user",
            rpc_err("odoo.exceptions.UserError", "no", 200),
            |e| matches!(e, OdooError::User(_)),
        ),
        (
            "x.expired",
            rpc_err("odoo.http.SessionExpiredException", "Session expired", 100),
            |e| matches!(e, OdooError::Unauthorized(_)),
        ),
        (
            "x.notfound",
            rpc_err("werkzeug.exceptions.NotFound", "404: Not Found", 404),
            |e| matches!(e, OdooError::Rejected(_)),
        ),
    ];
    for (model, response, check) in cases {
        Mock::given(method("POST"))
            .and(path("/jsonrpc"))
            .and(object(model, "unlink"))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let err = client
            .unlink(model, &[1], WriteOrigin::App)
            .await
            .unwrap_err();
        assert!(check(&err), "{model}: {err:?}");
        assert!(err.fault().is_some_and(|f| f.name.contains('.')), "{model}");
    }
}

#[tokio::test]
async fn a_decode_error_names_the_json_path_of_the_bad_value() {
    let server = odoo19("19.0").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search_read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 1, "name": "ok", "start": "2025-01-06 08:00:00"},
            {"id": 2, "name": "bad", "user_id": ["two", "Marc"]},
        ])))
        .mount(&server)
        .await;
    let err = client
        .search_records::<CalendarEvent>(json!([]), &SearchOptions::default())
        .await
        .unwrap_err();
    match err {
        OdooError::Decode { path, what, .. } => {
            assert_eq!(path, "[1].user_id");
            assert_eq!(what, "calendar.event.search_read");
        }
        other => panic!("{other:?}"),
    }
}

// ---- retries, throttling, maybe applied -----------------------------------------------

#[tokio::test]
async fn a_429_on_a_read_waits_exactly_retry_after_then_succeeds() {
    let server = odoo19("19.0").await;
    let clock = ManualClock::new();
    let client = OdooClient::connect(config(&server, &clock)).await.unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([4, 5])))
        .mount(&server)
        .await;
    let ids = client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await
        .unwrap();
    assert_eq!(ids, vec![4, 5]);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(7)]);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_handed_to_the_caller_instead_of_slept() {
    let server = odoo19("19.0").await;
    let clock = ManualClock::new();
    let client = OdooClient::connect(config(&server, &clock)).await.unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OdooError::Throttled { retry_after: Some(d) } if d == Duration::from_secs(3600)),
        "{err:?}"
    );
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn gateway_errors_on_a_read_are_retried_with_growing_backoff_until_the_limit() {
    let server = odoo19("19.0").await;
    let clock = ManualClock::new();
    let client = OdooClient::connect(config(&server, &clock)).await.unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search_count"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .expect(4)
        .mount(&server)
        .await;
    let err = client
        .search_count("calendar.event", json!([]), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OdooError::Unavailable { status: 502 }),
        "{err:?}"
    );
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3);
    assert!(sleeps[0] < sleeps[2], "{sleeps:?}");
}

#[tokio::test]
async fn a_concurrency_error_is_retried_because_odoo_rolled_it_back() {
    let server = odoo_rpc("18.0").await;
    let clock = ManualClock::new();
    let client = OdooClient::connect(with_db(config(&server, &clock)))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("calendar.event", "write"))
        .respond_with(rpc_err(
            "psycopg2.errors.SerializationFailure",
            "could not serialize access due to concurrent update",
            200,
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("calendar.event", "write"))
        .respond_with(rpc_ok(json!(true)))
        .mount(&server)
        .await;
    let mut vals = Map::new();
    vals.insert("name".into(), json!("x"));
    client
        .write("calendar.event", &[9], vals, WriteOrigin::App)
        .await
        .unwrap();
    assert_eq!(
        rpc_bodies(&server, "calendar.event", "write").await.len(),
        2
    );
    assert_eq!(clock.sleeps().len(), 1);
}

#[tokio::test]
async fn a_create_whose_answer_comes_after_the_timeout_is_maybe_applied_and_not_resent() {
    let server = odoo19("19.0").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/create"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([41]))
                .set_delay(Duration::from_secs(2)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut vals = Map::new();
    vals.insert("name".into(), json!("Weekly sync"));
    let err = client
        .create("calendar.event", vec![vals], WriteOrigin::Microsoft)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OdooError::MaybeApplied { ref model, ref method, .. } if model == "calendar.event" && method == "create"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("check before retrying"));
}

#[tokio::test]
async fn a_read_whose_answer_comes_after_the_timeout_is_retried_then_reported_as_network() {
    let server = odoo19("19.0").await;
    let clock = ManualClock::new();
    let client = OdooClient::connect(config(&server, &clock)).await.unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([1]))
                .set_delay(Duration::from_secs(2)),
        )
        .expect(4)
        .mount(&server)
        .await;
    let err = client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, OdooError::Network { .. }), "{err:?}");
    assert_eq!(clock.sleeps().len(), 3);
}

#[tokio::test]
async fn a_gateway_error_on_a_write_is_maybe_applied_and_not_retried() {
    let server = odoo_rpc("17.0").await;
    let client = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("calendar.event", "create"))
        .respond_with(ResponseTemplate::new(504).set_body_string("Gateway Timeout"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .create("calendar.event", vec![Map::new()], WriteOrigin::App)
        .await
        .unwrap_err();
    assert!(matches!(err, OdooError::MaybeApplied { .. }), "{err:?}");
}

#[tokio::test]
async fn a_429_on_a_write_is_retried_because_odoo_did_not_take_it() {
    let server = odoo19("19.0").await;
    let clock = ManualClock::new();
    let client = OdooClient::connect(config(&server, &clock)).await.unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/create"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/create"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([7, 8])))
        .mount(&server)
        .await;
    let ids = client
        .create(
            "calendar.event",
            vec![Map::new(), Map::new()],
            WriteOrigin::App,
        )
        .await
        .unwrap();
    assert_eq!(ids, vec![7, 8]);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(2)]);
}

#[tokio::test]
async fn the_client_side_rate_limit_spaces_requests_after_the_burst() {
    let server = odoo19("19.0").await;
    let clock = ManualClock::new();
    let mut cfg = config(&server, &clock);
    cfg.requests_per_second = 1.0;
    cfg.requests_burst = 9;
    let client = OdooClient::connect(cfg).await.unwrap();
    // connect used 8 requests' worth of tokens (context_get, 5 fields_get, the user, the
    // user's API keys).
    assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    for _ in 0..3 {
        client
            .search("calendar.event", json!([]), &SearchOptions::default())
            .await
            .unwrap();
    }
    assert_eq!(clock.sleeps().len(), 2, "{:?}", clock.sleeps());
    assert!(clock.sleeps().iter().all(|d| *d <= Duration::from_secs(1)));
}

// ---- context -------------------------------------------------------------------------

#[tokio::test]
async fn microsoft_origin_writes_carry_no_mail_to_attendees_on_both_transports() {
    let server = odoo19("19.0").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(
            "^/json/2/calendar.event/(write|create|unlink)$",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([5])))
        .mount(&server)
        .await;
    let mut vals = Map::new();
    vals.insert("name".into(), json!("From Outlook"));
    client
        .create("calendar.event", vec![vals.clone()], WriteOrigin::Microsoft)
        .await
        .unwrap();
    client
        .write("calendar.event", &[5], vals.clone(), WriteOrigin::Microsoft)
        .await
        .unwrap();
    client
        .unlink("calendar.event", &[5], WriteOrigin::Microsoft)
        .await
        .unwrap();
    client
        .write("calendar.event", &[5], vals.clone(), WriteOrigin::App)
        .await
        .unwrap();
    let mut sent = Vec::new();
    for m in ["create", "write", "unlink"] {
        sent.extend(bodies(&server, &format!("/json/2/calendar.event/{m}")).await);
    }
    let flags: Vec<Value> = sent
        .iter()
        .map(|b| {
            b["context"]
                .get("no_mail_to_attendees")
                .cloned()
                .unwrap_or(Value::Null)
        })
        .collect();
    // create, write (Microsoft), write (App), unlink (Microsoft): grouped by method above.
    assert_eq!(
        flags,
        vec![json!(true), json!(true), Value::Null, json!(true)]
    );
    assert_eq!(sent[0]["context"]["tz"], "Europe/Brussels");
    assert_eq!(sent[0]["context"]["lang"], "fr_BE");

    let server = odoo_rpc("17.0").await;
    let client = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("calendar.event", "write"))
        .respond_with(rpc_ok(json!(true)))
        .mount(&server)
        .await;
    client
        .write("calendar.event", &[5], vals, WriteOrigin::Microsoft)
        .await
        .unwrap();
    let w = rpc_bodies(&server, "calendar.event", "write").await;
    let args = &w[0]["params"]["args"];
    assert_eq!(
        args[5],
        json!([[5], {"name": "From Outlook"}]),
        "ids then vals, positionally"
    );
    assert_eq!(args[6]["context"]["no_mail_to_attendees"], true);
}

#[tokio::test]
async fn allowed_companies_must_be_the_users_and_are_sent_in_the_context() {
    let server = odoo19("19.0").await;
    let mut cfg = config(&server, &ManualClock::new());
    cfg.allowed_company_ids = vec![5];
    let err = OdooClient::connect(cfg).await.unwrap_err();
    assert!(
        matches!(err, OdooError::Invalid(ref t) if t.contains("company 5")),
        "{err}"
    );

    let mut cfg = config(&server, &ManualClock::new());
    cfg.allowed_company_ids = vec![2, 1];
    let client = OdooClient::connect(cfg).await.unwrap();
    assert_eq!(
        client.session_context()["allowed_company_ids"],
        json!([2, 1])
    );
}

#[tokio::test]
async fn fields_the_server_lacks_are_not_requested_and_active_test_is_passed() {
    let server = odoo19("19.0").await;
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/fields_get"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fields_map(&["id", "name", "start", "stop"])),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    assert!(!client.has_field("calendar.event", "videocall_location"));
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search_read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 1, "name": "a"}])))
        .mount(&server)
        .await;
    let opts = SearchOptions {
        order: Some("write_date asc, id asc".into()),
        limit: Some(50),
        offset: 0,
        active_test: Some(false),
    };
    let rows = client
        .search_records::<CalendarEvent>(
            json!([["write_date", ">=", "2025-01-01 00:00:00"]]),
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(rows[0].name.as_deref(), Some("a"));
    let b = &bodies(&server, "/json/2/calendar.event/search_read").await[0];
    assert_eq!(b["fields"], json!(["id", "name", "start", "stop"]));
    assert_eq!(b["order"], "write_date asc, id asc");
    assert_eq!(b["limit"], 50);
    assert_eq!(b["context"]["active_test"], false);
}

#[tokio::test]
async fn search_records_all_searches_ids_then_reads_them_in_pages() {
    let server = odoo19("19.0").await;
    let mut cfg = config(&server, &ManualClock::new());
    cfg.page_len = 2;
    let client = OdooClient::connect(cfg).await.unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.attendee/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([1, 2, 3])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.attendee/search_read"))
        .and(wiremock::matchers::body_partial_json(
            json!({"domain": [["id", "in", [1, 2]]]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 2}, {"id": 1}])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.attendee/search_read"))
        .and(wiremock::matchers::body_partial_json(
            json!({"domain": [["id", "in", [3]]]}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": 3, "state": "accepted"}])),
        )
        .mount(&server)
        .await;
    let rows: Vec<CalendarAttendee> = client
        .search_records_all(json!([]), "write_date asc, id asc", Some(false))
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![1, 2, 3],
        "in the search's order"
    );
    assert_eq!(
        bodies(&server, "/json/2/calendar.attendee/search_read")
            .await
            .len(),
        2
    );
    let search = &bodies(&server, "/json/2/calendar.attendee/search").await[0];
    assert_eq!(search["order"], "write_date asc, id asc");
    assert_eq!(search["context"]["active_test"], false);
}

#[tokio::test]
async fn message_post_sends_body_is_html_from_17_and_omits_it_on_16() {
    let note = MessagePost {
        body_html: "<p>Synced from Outlook</p>".into(),
        internal_note: true,
    };
    let server = odoo19("19.0").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/message_post"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([77])))
        .mount(&server)
        .await;
    let id = client
        .message_post("calendar.event", 5, &note, WriteOrigin::App)
        .await
        .unwrap();
    assert_eq!(id, 77);
    let b = &bodies(&server, "/json/2/calendar.event/message_post").await[0];
    assert_eq!(b["ids"], json!([5]));
    assert_eq!(b["body_is_html"], true);
    assert_eq!(b["subtype_xmlid"], "mail.mt_note");
    assert_eq!(b["message_type"], "comment");

    let server = odoo_rpc("16.0").await;
    let client = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("calendar.event", "message_post"))
        .respond_with(rpc_ok(json!(78)))
        .mount(&server)
        .await;
    let id = client
        .message_post("calendar.event", 5, &note, WriteOrigin::App)
        .await
        .unwrap();
    assert_eq!(id, 78);
    let b = &rpc_bodies(&server, "calendar.event", "message_post").await[0];
    assert!(b["params"]["args"][6].get("body_is_html").is_none());
    assert_eq!(b["params"]["args"][5], json!([[5]]));
}

#[tokio::test]
async fn name_search_sends_its_domain_positionally_over_json_rpc_whatever_its_name() {
    let server = odoo_rpc("17.0").await;
    let client = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("res.partner", "name_search"))
        .respond_with(rpc_ok(json!([[3, "Me"]])))
        .mount(&server)
        .await;
    let hits = client
        .name_search("res.partner", "Me", json!([]), 5)
        .await
        .unwrap();
    assert_eq!(hits, vec![(3, "Me".to_string())]);
    let b = &rpc_bodies(&server, "res.partner", "name_search").await[0];
    assert_eq!(
        b["params"]["args"][5],
        json!(["Me", []]),
        "name and domain positionally"
    );
    assert_eq!(b["params"]["args"][6]["limit"], 5);
}

// ---- attachments ----------------------------------------------------------------------

#[tokio::test]
async fn an_upload_sends_base64_with_the_mimetype_and_returns_what_odoo_stored() {
    let server = odoo19("19.0").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/ir.attachment/create"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([12])))
        .expect(1)
        .mount(&server)
        .await;
    // Odoo resized the image: the stored checksum and size differ from the upload.
    Mock::given(method("POST"))
        .and(path("/json/2/ir.attachment/read"))
        .and(wiremock::matchers::body_partial_json(json!({"ids": [12]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!([{"id": 12, "name": "photo.jpg",
            "res_model": "calendar.event", "res_id": 5, "type": "binary", "file_size": 3,
            "checksum": "0000000000000000000000000000000000000000", "mimetype": "image/jpeg"}]),
        ))
        .mount(&server)
        .await;
    let up = AttachmentUpload {
        name: "photo.jpg".into(),
        res_model: "calendar.event".into(),
        res_id: 5,
        mimetype: Some("image/jpeg".into()),
        content: bytes::Bytes::from_static(b"hello"),
    };
    let stored = client
        .attachment_upload(&up, WriteOrigin::Microsoft)
        .await
        .unwrap();
    assert_eq!(stored.file_size, 3);
    assert_eq!(
        stored.checksum.as_deref(),
        Some("0000000000000000000000000000000000000000")
    );
    let b = &bodies(&server, "/json/2/ir.attachment/create").await[0];
    assert_eq!(b["vals_list"][0]["datas"], "aGVsbG8=");
    assert_eq!(b["vals_list"][0]["mimetype"], "image/jpeg");
    assert_eq!(b["context"]["no_mail_to_attendees"], true);
    let read = &bodies(&server, "/json/2/ir.attachment/read").await[0];
    assert!(read["fields"]
        .as_array()
        .unwrap()
        .contains(&json!("checksum")));
    assert!(!read["fields"].as_array().unwrap().contains(&json!("datas")));
}

#[tokio::test]
async fn an_upload_above_the_limit_is_refused_before_anything_is_sent() {
    let server = odoo19("19.0").await;
    let mut cfg = config(&server, &ManualClock::new());
    cfg.upload_len_max = 4;
    let client = OdooClient::connect(cfg).await.unwrap();
    let before = server.received_requests().await.unwrap().len();
    let up = AttachmentUpload {
        name: "big.bin".into(),
        res_model: "calendar.event".into(),
        res_id: 5,
        mimetype: None,
        content: bytes::Bytes::from_static(b"hello"),
    };
    let err = client
        .attachment_upload(&up, WriteOrigin::App)
        .await
        .unwrap_err();
    assert!(matches!(err, OdooError::Invalid(_)), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}

#[tokio::test]
async fn content_read_through_datas_is_checked_against_the_checksum() {
    let server = odoo19("19.0").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    // sha1("hello") = aaf4c61d...
    Mock::given(method("POST"))
        .and(path("/json/2/ir.attachment/read"))
        .and(wiremock::matchers::body_partial_json(json!({"ids": [1]})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": 1, "datas": "aGVsbG8=",
            "checksum": "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/ir.attachment/read"))
        .and(wiremock::matchers::body_partial_json(json!({"ids": [2]})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": 2, "datas": "aGVsbA==",
            "checksum": "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"}])),
        )
        .mount(&server)
        .await;
    assert_eq!(&client.attachment_content(1).await.unwrap()[..], b"hello");
    let err = client.attachment_content(2).await.unwrap_err();
    assert!(
        matches!(err, OdooError::ChecksumMismatch { id: 2, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_streamed_download_uses_an_access_token_and_checks_the_checksum() {
    let server = odoo19("19.0").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/ir.attachment/read"))
        .and(wiremock::matchers::body_partial_json(json!({"ids": [9]})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": 9, "name": "a.txt",
            "checksum": "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d", "file_size": 5}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/ir.attachment/generate_access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(["tok-123"])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/web/content/9"))
        .and(wiremock::matchers::query_param("access_token", "tok-123"))
        .and(wiremock::matchers::query_param("download", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"hello".to_vec()))
        .mount(&server)
        .await;
    let mut sink = Vec::new();
    let d = client.attachment_download(9, &mut sink).await.unwrap();
    assert_eq!(sink, b"hello");
    assert_eq!(d.len, 5);
    let reqs = server.received_requests().await.unwrap();
    let get = reqs
        .iter()
        .find(|r| r.url.path() == "/web/content/9")
        .unwrap();
    assert!(
        get.headers.get("authorization").is_none(),
        "/web/content takes no bearer"
    );
}

#[tokio::test]
async fn the_api_key_never_appears_in_debug_output() {
    let server = odoo19("19.0").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    let text = format!("{client:?}");
    assert!(!text.contains(KEY));
    assert!(text.contains("ApiKey(***)"));
}

// ---- polling helpers, redirects, missing apps ------------------------------------------

#[tokio::test]
async fn changed_since_searches_with_the_overlap_then_reads_the_ids_skipping_deleted_ones() {
    let server = odoo19("19.0").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([5, 3, 9])))
        .mount(&server)
        .await;
    // 9 was deleted between the search and the read.
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search_read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 3, "name": "c", "write_date": "2025-01-01 10:01:00", "active": false},
            {"id": 5, "name": "e", "write_date": "2025-01-01 10:00:00"},
        ])))
        .mount(&server)
        .await;
    let since = odoo365_odoo::values::parse_odoo_datetime("2025-01-01 10:05:00").unwrap();
    let rows: Vec<CalendarEvent> = client
        .changed_since(
            Some(since),
            Duration::from_secs(300),
            json!([["user_id", "=", 2]]),
        )
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![5, 3]);
    assert!(!rows[1].active);
    let search = &bodies(&server, "/json/2/calendar.event/search").await[0];
    assert_eq!(
        search["domain"],
        json!([
            ["write_date", ">=", "2025-01-01 10:00:00"],
            ["user_id", "=", 2]
        ])
    );
    assert_eq!(search["order"], "write_date asc, id asc");
    assert_eq!(search["context"]["active_test"], false);
    let read = &bodies(&server, "/json/2/calendar.event/search_read").await[0];
    assert_eq!(read["domain"], json!([["id", "in", [5, 3, 9]]]));
    assert_eq!(read["context"]["active_test"], false);
}

#[tokio::test]
async fn existing_ids_reports_which_records_survive_including_archived_ones() {
    let server = odoo_rpc("18.0").await;
    let client = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("ir.attachment", "search"))
        .respond_with(rpc_ok(json!([1, 3])))
        .mount(&server)
        .await;
    let alive = client
        .existing_ids("ir.attachment", &[1, 2, 3])
        .await
        .unwrap();
    assert_eq!(alive, vec![1, 3]);
    let b = &rpc_bodies(&server, "ir.attachment", "search").await[0];
    assert_eq!(
        b["params"]["args"][5],
        json!([[["id", "in", [1, 2, 3]]]]),
        "the domain positionally: 16 calls it `args`, 17+ `domain`"
    );
    assert!(b["params"]["args"][6].get("domain").is_none());
    assert_eq!(b["params"]["args"][6]["context"]["active_test"], false);
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_names_the_address_to_configure() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/web/version"))
        .respond_with(
            ResponseTemplate::new(301)
                .insert_header("Location", "https://acme.odoo.com/web/version"),
        )
        .mount(&server)
        .await;
    let err = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OdooError::Invalid(ref t) if t.contains("https://acme.odoo.com")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_throttled_version_check_is_throttled_not_a_foreign_server() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/web/version"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .mount(&server)
        .await;
    let err = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OdooError::Throttled { retry_after: Some(d) } if d == Duration::from_secs(30)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_server_without_the_calendar_app_connects_and_reports_it_on_calendar_reads() {
    let server = odoo_rpc("16.0").await;
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("calendar.event", "fields_get"))
        .respond_with(rpc_err(
            "odoo.exceptions.UserError",
            "Object calendar.event doesn't exist",
            200,
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    let client = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap();
    let err = client
        .search_records::<CalendarEvent>(json!([]), &SearchOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OdooError::Invalid(ref t) if t.contains("calendar.event")),
        "{err:?}"
    );
    assert!(client.has_field("ir.attachment", "checksum"));
}

#[tokio::test]
async fn event_writes_always_state_recurrence_update_and_create_one_returns_the_id() {
    let server = odoo_rpc("17.0").await;
    let client = OdooClient::connect(with_db(config(&server, &ManualClock::new())))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("calendar.event", "write"))
        .respond_with(rpc_ok(json!(true)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("calendar.event", "create"))
        .respond_with(rpc_ok(json!([41])))
        .mount(&server)
        .await;
    let vals = odoo365_odoo::EventValues {
        name: Some("Moved".into()),
        ..Default::default()
    }
    .to_vals();
    client
        .write_events(
            &[4],
            vals.clone(),
            odoo365_odoo::RecurrenceUpdate::FutureEvents,
            WriteOrigin::Microsoft,
        )
        .await
        .unwrap();
    let w = &rpc_bodies(&server, "calendar.event", "write").await[0];
    assert_eq!(
        w["params"]["args"][5],
        json!([[4], {"name": "Moved", "recurrence_update": "future_events"}])
    );
    let id = client
        .create_one("calendar.event", vals, WriteOrigin::Microsoft)
        .await
        .unwrap();
    assert_eq!(id, 41);
    let c = &rpc_bodies(&server, "calendar.event", "create").await[0];
    assert_eq!(
        c["params"]["args"][5],
        json!([[{"name": "Moved"}]]),
        "vals_list positionally"
    );
}

#[tokio::test]
async fn a_failed_streamed_download_does_not_reveal_the_access_token() {
    let server = odoo19("19.0").await;
    let client = OdooClient::connect(config(&server, &ManualClock::new()))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/ir.attachment/read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 9}])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/ir.attachment/generate_access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(["secret-token-42"])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/web/content/9"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let mut sink = Vec::new();
    let err = client.attachment_download(9, &mut sink).await.unwrap_err();
    assert!(matches!(err, OdooError::Network { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("secret-token-42"));
}

#[test]
fn client_futures_can_be_spawned_on_a_multithreaded_runtime() {
    fn assert_send<T: Send>(_: &T) {}
    fn check(client: &OdooClient) {
        assert_send(&client.search("calendar.event", json!([]), &SearchOptions::default()));
        assert_send(&client.create("calendar.event", Vec::new(), WriteOrigin::App));
        assert_send(&client.search_records_all::<CalendarEvent>(json!([]), "id", None));
        let mut sink = Vec::new();
        assert_send(&client.attachment_download(1, &mut sink));
    }
    let _ = check;
}

#[tokio::test]
async fn a_503_on_a_write_is_retried_because_the_request_was_not_taken() {
    let server = odoo19("19.0").await;
    let clock = ManualClock::new();
    let client = OdooClient::connect(config(&server, &clock)).await.unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/unlink"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/unlink"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(true)))
        .mount(&server)
        .await;
    client
        .unlink("calendar.event", &[3], WriteOrigin::App)
        .await
        .unwrap();
    assert_eq!(
        bodies(&server, "/json/2/calendar.event/unlink").await.len(),
        2
    );
    assert_eq!(clock.sleeps().len(), 1);
}

#[tokio::test]
async fn an_upload_gets_a_timeout_that_grows_with_its_size() {
    let server = odoo19("19.0").await;
    let mut cfg = config(&server, &ManualClock::new());
    // 500 ms for any call, plus one second per base64 byte for uploads: "hey" is 4 bytes.
    cfg.upload_bytes_per_second_min = 1;
    let client = OdooClient::connect(cfg).await.unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/ir.attachment/create"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([12]))
                .set_delay(Duration::from_millis(1200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/ir.attachment/read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 12, "file_size": 3}])))
        .mount(&server)
        .await;
    let up = AttachmentUpload {
        name: "a.txt".into(),
        res_model: "calendar.event".into(),
        res_id: 5,
        mimetype: Some("text/plain".into()),
        content: bytes::Bytes::from_static(b"hey"),
    };
    let stored = client
        .attachment_upload(&up, WriteOrigin::App)
        .await
        .unwrap();
    assert_eq!(stored.id, 12);
}

#[tokio::test]
async fn json_rpc_honours_http_throttling_and_reports_lost_write_answers_as_maybe_applied() {
    let server = odoo_rpc("18.0").await;
    let clock = ManualClock::new();
    let client = OdooClient::connect(with_db(config(&server, &clock)))
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("calendar.event", "search"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "4"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("calendar.event", "search"))
        .respond_with(rpc_ok(json!([8])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/jsonrpc"))
        .and(object("calendar.event", "create"))
        .respond_with(rpc_ok(json!([9])).set_delay(Duration::from_secs(2)))
        .expect(1)
        .mount(&server)
        .await;
    let ids = client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await
        .unwrap();
    assert_eq!(ids, vec![8]);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(4)]);
    let err = client
        .create("calendar.event", vec![Map::new()], WriteOrigin::Microsoft)
        .await
        .unwrap_err();
    assert!(matches!(err, OdooError::MaybeApplied { .. }), "{err:?}");
}

#[tokio::test]
async fn a_database_outage_on_a_read_is_retried_and_recovers() {
    let server = odoo19("19.0").await;
    let clock = ManualClock::new();
    let client = OdooClient::connect(config(&server, &clock)).await.unwrap();
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search_count"))
        .respond_with(json2_err(
            500,
            "psycopg2.OperationalError",
            "server closed the connection unexpectedly",
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/calendar.event/search_count"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(12)))
        .mount(&server)
        .await;
    let n = client
        .search_count("calendar.event", json!([]), Some(false))
        .await
        .unwrap();
    assert_eq!(n, 12);
    assert_eq!(clock.sleeps().len(), 1);
}
