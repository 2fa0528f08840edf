//! The Odoo emulator over loopback, as the sync client sees it: JSON-2, JSON-RPC, the
//! version routes and `/web/content`, with the ORM, calendar, attachment and mail rules
//! behind them, plus the control API.

// Helpers outside #[test] functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use chrono::TimeZone;
use odoo365_testkit::odoo::{
    CreatedUser, NewApiKey, NewUser, OdooConfig, OdooEmulator, RunningOdoo,
};
use odoo365_testkit::{Clock, Fault, FaultRule};
use serde_json::{json, Value};

/// A started emulator with two companies, Alice (both companies), Bob (main company only)
/// and Carol (portal), each with a password, Alice and Bob with API keys.
struct World {
    odoo: RunningOdoo,
    http: reqwest::Client,
    second: i64,
    alice: CreatedUser,
    bob: CreatedUser,
    carol: CreatedUser,
    alice_key: String,
    bob_key: String,
}

/// Monday 2026-03-02 09:00:00 UTC, frozen.
fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

async fn world(version: &str) -> World {
    let odoo = OdooEmulator::start(OdooConfig {
        seed: 7,
        clock: Clock::frozen(t0()),
        version: version.into(),
        ..OdooConfig::default()
    })
    .await
    .unwrap();
    let e = &odoo.emulator;
    let second = e.create_company("Second Company");
    let alice = e
        .create_user(NewUser {
            name: Some("Alice".into()),
            email: Some("alice@example.com".into()),
            password: Some("alice-pw".into()),
            tz: Some("Europe/Brussels".into()),
            company_ids: Some(vec![1, second]),
            ..NewUser::internal("alice")
        })
        .unwrap();
    let bob = e
        .create_user(NewUser {
            name: Some("Bob".into()),
            email: Some("bob@example.com".into()),
            password: Some("bob-pw".into()),
            ..NewUser::internal("bob")
        })
        .unwrap();
    let carol = e
        .create_user(NewUser {
            name: Some("Carol".into()),
            email: Some("carol@example.org".into()),
            password: Some("carol-pw".into()),
            ..NewUser::portal("carol")
        })
        .unwrap();
    let alice_key = e.create_api_key(alice.uid, NewApiKey::default()).unwrap();
    let bob_key = e.create_api_key(bob.uid, NewApiKey::default()).unwrap();
    World {
        odoo,
        http: reqwest::Client::new(),
        second,
        alice,
        bob,
        carol,
        alice_key,
        bob_key,
    }
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl World {
    fn emu(&self) -> &OdooEmulator {
        &self.odoo.emulator
    }

    async fn j2(&self, key: &str, model: &str, method: &str, body: Value) -> Answer {
        let resp = self
            .http
            .post(format!("{}/json/2/{model}/{method}", self.odoo.url))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    /// JSON-2 as Alice, expecting success.
    async fn a(&self, model: &str, method: &str, body: Value) -> Value {
        let r = self.j2(&self.alice_key, model, method, body).await;
        assert_eq!(r.status, 200, "{model}.{method}: {}", r.body);
        r.body
    }

    async fn b(&self, model: &str, method: &str, body: Value) -> Value {
        let r = self.j2(&self.bob_key, model, method, body).await;
        assert_eq!(r.status, 200, "{model}.{method}: {}", r.body);
        r.body
    }

    async fn rpc(&self, service: &str, method: &str, args: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/jsonrpc", self.odoo.url))
            .json(&json!({"jsonrpc": "2.0", "method": "call", "id": 9, "params": {"service": service, "method": method, "args": args}}))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    async fn execute_kw(
        &self,
        uid: i64,
        password: &str,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Value,
    ) -> Value {
        self.rpc(
            "object",
            "execute_kw",
            json!(["odoo", uid, password, model, method, args, kwargs]),
        )
        .await
        .1
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.odoo.control_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    /// Creates one event as Alice and returns its id.
    async fn event(&self, vals: Value) -> i64 {
        self.a("calendar.event", "create", json!({"vals_list": [vals]}))
            .await[0]
            .as_i64()
            .unwrap()
    }

    /// The recurrence of the series `base` belongs to and its rows, earliest first.
    async fn series_rows(&self, base: i64) -> (i64, Vec<i64>) {
        let rec = self
            .read1("calendar.event", base, json!(["recurrence_id"]))
            .await["recurrence_id"][0]
            .as_i64()
            .unwrap();
        let ids = self
            .a(
                "calendar.event",
                "search",
                json!({"domain": [["recurrence_id", "=", rec]], "order": "start asc"}),
            )
            .await;
        let ids = ids
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        (rec, ids)
    }

    async fn read1(&self, model: &str, id: i64, fields: Value) -> Value {
        self.a(
            model,
            "read",
            json!({"ids": [id], "fields": fields, "context": {"active_test": false}}),
        )
        .await[0]
            .clone()
    }
}

mod json2 {
    use super::*;

    #[tokio::test]
    async fn search_read_gives_false_for_empty_values_and_id_name_pairs_for_many2one() {
        let w = world("19.0").await;
        let id = w.event(json!({"name": "Plain", "start": "2026-03-03 10:00:00", "stop": "2026-03-03 11:00:00"})).await;
        let rows = w
            .a("calendar.event", "search_read", json!({"domain": [["id", "=", id]], "fields": ["name", "location", "user_id", "partner_ids", "start"]}))
            .await;
        let row = &rows[0];
        assert_eq!(row["location"], json!(false));
        assert_eq!(row["user_id"], json!([w.alice.uid, "Alice"]));
        assert_eq!(row["partner_ids"], json!([w.alice.partner_id]));
        assert_eq!(row["start"], json!("2026-03-03 10:00:00"));
        let bare = w
            .a(
                "calendar.event",
                "read",
                json!({"ids": [id], "fields": ["user_id"], "load": null}),
            )
            .await;
        assert_eq!(bare[0]["user_id"], json!(w.alice.uid));
    }

    #[tokio::test]
    async fn create_answers_a_list_of_ids_even_for_one_record() {
        let w = world("19.0").await;
        let one = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": {"name": "Solo"}}),
            )
            .await;
        assert!(one.as_array().is_some_and(|a| a.len() == 1), "{one}");
        let two = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "A"}, {"name": "B"}]}),
            )
            .await;
        assert_eq!(two.as_array().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_missing_key_is_401_with_www_authenticate_and_the_error_object() {
        let w = world("19.0").await;
        let resp = w
            .http
            .post(format!("{}/json/2/res.partner/search", w.odoo.url))
            .json(&json!({"domain": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(resp.headers()["www-authenticate"], "bearer");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["name"], "werkzeug.exceptions.Unauthorized");
        assert_eq!(
            body["message"],
            "User not authenticated, use an API Key with a Bearer Authorization header."
        );
        assert_eq!(body["arguments"][1], 401);
        for k in ["context", "debug"] {
            assert!(body.get(k).is_some(), "{k} missing from {body}");
        }
    }

    #[tokio::test]
    async fn wrong_revoked_expired_and_deactivated_keys_are_invalid_apikey() {
        let w = world("19.0").await;
        let wrong = w
            .j2(
                &"0".repeat(40),
                "res.partner",
                "search",
                json!({"domain": []}),
            )
            .await;
        assert_eq!(
            (wrong.status, wrong.body["message"].clone()),
            (401, json!("Invalid apikey"))
        );

        let e = w.emu();
        let expiring = e
            .create_api_key(
                w.alice.uid,
                NewApiKey {
                    expiration_date: Some("2026-03-02 10:00:00".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            w.j2(&expiring, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            200
        );
        e.clock().advance(chrono::Duration::hours(2));
        assert_eq!(
            w.j2(&expiring, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            401
        );

        let key_id = e.api_keys().iter().find(|k| k.uid == w.bob.uid).unwrap().id;
        assert!(e.revoke_api_key(key_id));
        assert_eq!(
            w.j2(&w.bob_key, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            401
        );

        e.set_user_active(w.alice.uid, false).unwrap();
        let r = w
            .j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.headers["www-authenticate"], "bearer");
    }

    #[tokio::test]
    async fn a_key_scoped_to_something_else_than_rpc_is_refused() {
        let w = world("19.0").await;
        let k = w
            .emu()
            .create_api_key(
                w.alice.uid,
                NewApiKey {
                    scope: Some("odoo.plugin.outlook".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            w.j2(&k, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            401
        );
        let rpc = w
            .emu()
            .create_api_key(
                w.alice.uid,
                NewApiKey {
                    scope: Some("rpc".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            w.j2(&rpc, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            200
        );
    }

    #[tokio::test]
    async fn unknown_models_and_methods_are_404_and_private_methods_403() {
        let w = world("19.0").await;
        let r = w.j2(&w.alice_key, "no.such", "search", json!({})).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["name"], "werkzeug.exceptions.NotFound");
        assert_eq!(r.body["message"], "the model 'no.such' does not exist");
        let r = w
            .j2(&w.alice_key, "res.partner", "frobnicate", json!({}))
            .await;
        assert_eq!(r.status, 404);
        let r = w.j2(&w.alice_key, "res.partner", "_read", json!({})).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.body["name"], "odoo.exceptions.AccessError");
        assert!(r.body["message"]
            .as_str()
            .unwrap()
            .contains("Private methods (such as 'res.partner._read')"));
    }

    #[tokio::test]
    async fn ids_on_a_model_method_and_unknown_arguments_are_422() {
        let w = world("19.0").await;
        let r = w
            .j2(
                &w.alice_key,
                "res.partner",
                "search",
                json!({"ids": [1], "domain": []}),
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.body["message"], "cannot call res.partner.search with ids");
        let r = w
            .j2(
                &w.alice_key,
                "res.partner",
                "search",
                json!({"domain": [], "badparameter": 1}),
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.body["name"], "werkzeug.exceptions.UnprocessableEntity");
        assert!(r.body["message"]
            .as_str()
            .unwrap()
            .contains("got an unexpected keyword argument 'badparameter'"));
        let r = w
            .j2(&w.alice_key, "res.partner", "write", json!({"ids": [1]}))
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
    }

    #[tokio::test]
    async fn get_requests_are_told_to_post_and_other_content_types_are_415() {
        let w = world("19.0").await;
        let resp = w
            .http
            .get(format!("{}/json/2/res.partner/search", w.odoo.url))
            .bearer_auth(&w.alice_key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["message"],
            "Did you mean POST /json/2/<model>/<method>?"
        );
        let resp = w
            .http
            .post(format!("{}/json/2/res.partner/search", w.odoo.url))
            .bearer_auth(&w.alice_key)
            .header("content-type", "text/plain")
            .body("{\"domain\": []}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 415);
        assert_eq!(resp.headers()["accept"], "application/json");
        assert!(resp.text().await.unwrap().contains("is type='json2'"));
    }

    #[tokio::test]
    async fn malformed_json_is_400_and_a_bad_domain_is_a_500_value_error() {
        let w = world("19.0").await;
        let resp = w
            .http
            .post(format!("{}/json/2/res.partner/search", w.odoo.url))
            .bearer_auth(&w.alice_key)
            .header("content-type", "application/json")
            .body("{nope")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["name"], "werkzeug.exceptions.BadRequest");
        let r = w
            .j2(
                &w.alice_key,
                "res.partner",
                "search",
                json!({"domain": [["name", "~~", 1]]}),
            )
            .await;
        assert_eq!(r.status, 500);
        assert_eq!(r.body["name"], "builtins.ValueError");
    }

    #[tokio::test]
    async fn json2_does_not_exist_before_19() {
        let w = world("18.0").await;
        let r = w
            .j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
            .await;
        assert_eq!(r.status, 404);
        assert!(r.body.as_str().unwrap().contains("Not Found"));
        w.emu().set_version("19.0").unwrap();
        assert_eq!(
            w.j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            200
        );
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413() {
        let w = world("19.0").await;
        w.emu().set_body_limit(1024);
        let big = "x".repeat(4096);
        let r = w
            .j2(
                &w.alice_key,
                "res.partner",
                "create",
                json!({"vals_list": [{"name": big}]}),
            )
            .await;
        assert_eq!(r.status, 413);
        assert_eq!(r.body["name"], "werkzeug.exceptions.RequestEntityTooLarge");
        w.emu()
            .set_body_limit(odoo365_testkit::odoo::DEFAULT_BODY_LIMIT);
        assert_eq!(
            w.a(
                "res.partner",
                "search_count",
                json!({"domain": [["name", "=", big]]})
            )
            .await,
            json!(0)
        );
    }

    #[tokio::test]
    async fn the_database_header_must_name_the_database() {
        let w = world("19.0").await;
        let send = |db: &'static str| {
            w.http
                .post(format!("{}/json/2/res.partner/search", w.odoo.url))
                .bearer_auth(&w.alice_key)
                .header("X-Odoo-Database", db)
                .json(&json!({"domain": []}))
                .send()
        };
        assert_eq!(send("odoo").await.unwrap().status(), 200);
        assert_eq!(send("other").await.unwrap().status(), 404);
    }

    #[tokio::test]
    async fn context_get_names_the_key_owner() {
        let w = world("19.0").await;
        let c = w.a("res.users", "context_get", json!({})).await;
        assert_eq!(
            c,
            json!({"lang": "en_US", "tz": "Europe/Brussels", "uid": w.alice.uid})
        );
        let me = w.a("res.users", "read", json!({"ids": [w.alice.uid], "fields": ["tz", "lang", "partner_id", "company_id", "company_ids", "group_ids", "share"]})).await;
        assert_eq!(me[0]["company_ids"], json!([1, w.second]));
        assert_eq!(me[0]["share"], json!(false));
        assert!(me[0]["group_ids"].is_array());
    }

    #[tokio::test]
    async fn write_on_no_ids_answers_true_and_changes_nothing() {
        let w = world("19.0").await;
        assert_eq!(
            w.a("res.partner", "write", json!({"vals": {"name": "Nobody"}}))
                .await,
            json!(true)
        );
        assert_eq!(
            w.a(
                "res.partner",
                "search_count",
                json!({"domain": [["name", "=", "Nobody"]]})
            )
            .await,
            json!(0)
        );
    }
}

mod jsonrpc {
    use super::*;

    #[tokio::test]
    async fn version_authenticate_and_execute_kw_work_with_a_password_or_a_key() {
        let w = world("17.0").await;
        let (_, v) = w.rpc("common", "version", json!([])).await;
        assert_eq!(
            v["result"]["server_version_info"],
            json!([17, 0, 0, "final", 0, ""])
        );
        assert_eq!(v["result"]["protocol_version"], 1);
        let (_, a) = w
            .rpc(
                "common",
                "authenticate",
                json!(["odoo", "alice", "alice-pw", {}]),
            )
            .await;
        assert_eq!(a["result"], json!(w.alice.uid));
        let (_, a) = w
            .rpc(
                "common",
                "authenticate",
                json!(["odoo", "alice", w.alice_key, {}]),
            )
            .await;
        assert_eq!(a["result"], json!(w.alice.uid));
        let (_, bad) = w
            .rpc(
                "common",
                "authenticate",
                json!(["odoo", "alice", "nope", {}]),
            )
            .await;
        assert_eq!(bad["result"], json!(false));
        let one = w
            .execute_kw(
                w.alice.uid,
                &w.alice_key,
                "res.partner",
                "create",
                json!([{"name": "Via RPC"}]),
                json!({}),
            )
            .await;
        assert!(one["result"].is_i64(), "{one}");
        let many = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "res.partner",
                "create",
                json!([[{"name": "A"}, {"name": "B"}]]),
                json!({}),
            )
            .await;
        assert_eq!(many["result"].as_array().unwrap().len(), 2);
        let id = one["result"].as_i64().unwrap();
        let read = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "res.partner",
                "read",
                json!([[id], ["name"]]),
                json!({}),
            )
            .await;
        assert_eq!(read["result"][0]["name"], "Via RPC");
    }

    #[tokio::test]
    async fn a_bad_password_is_access_denied_in_the_body_under_http_200() {
        for (version, code) in [("17.0", 200), ("19.0", 0), ("saas~18.2", 0)] {
            let w = world(version).await;
            let (status, r) = w
                .rpc(
                    "object",
                    "execute_kw",
                    json!([
                        "odoo",
                        w.alice.uid,
                        "wrong",
                        "res.partner",
                        "search",
                        [[]],
                        {}
                    ]),
                )
                .await;
            assert_eq!(status, 200);
            assert_eq!(r["error"]["code"], code, "{version}");
            assert_eq!(r["error"]["message"], "Odoo Server Error");
            assert_eq!(r["error"]["data"]["name"], "odoo.exceptions.AccessDenied");
            assert_eq!(r["id"], 9);
        }
    }

    #[tokio::test]
    async fn key_expiry_exists_from_18_only() {
        for (version, works_after_expiry) in [("17.0", true), ("18.0", false)] {
            let w = world(version).await;
            let key = w
                .emu()
                .create_api_key(
                    w.alice.uid,
                    NewApiKey {
                        expiration_date: Some("2026-03-02 09:30:00".into()),
                        ..Default::default()
                    },
                )
                .unwrap();
            w.emu().clock().advance(chrono::Duration::hours(1));
            let r = w
                .execute_kw(
                    w.alice.uid,
                    &key,
                    "res.partner",
                    "search_count",
                    json!([[]]),
                    json!({}),
                )
                .await;
            assert_eq!(
                r.get("result").is_some(),
                works_after_expiry,
                "{version}: {r}"
            );
        }
    }

    #[tokio::test]
    async fn business_errors_carry_their_class_name() {
        let w = world("18.0").await;
        let r = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "res.partner",
                "read",
                json!([[999999], ["name"]]),
                json!({}),
            )
            .await;
        assert_eq!(r["error"]["data"]["name"], "odoo.exceptions.MissingError");
        assert_eq!(r["error"]["code"], 200);
        let r = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "res.partner",
                "nope",
                json!([]),
                json!({}),
            )
            .await;
        assert_eq!(r["error"]["code"], 404);
        assert_eq!(r["error"]["message"], "404: Not Found");
        let r = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "res.partner",
                "search",
                json!([]),
                json!({"bogus": 1}),
            )
            .await;
        assert_eq!(r["error"]["data"]["name"], "builtins.TypeError");
    }

    #[tokio::test]
    async fn a_portal_user_gets_access_errors_on_both_transports() {
        let w = world("19.0").await;
        let r = w
            .execute_kw(
                w.carol.uid,
                "carol-pw",
                "calendar.event",
                "search_read",
                json!([[]]),
                json!({"fields": ["name"]}),
            )
            .await;
        assert_eq!(r["error"]["data"]["name"], "odoo.exceptions.AccessError");
        let key = w
            .emu()
            .create_api_key(w.carol.uid, NewApiKey::default())
            .unwrap();
        let r = w
            .j2(&key, "calendar.event", "search_read", json!({"domain": []}))
            .await;
        assert_eq!(r.status, 403);
        assert_eq!(r.body["name"], "odoo.exceptions.AccessError");
    }

    #[tokio::test]
    async fn a_malformed_body_is_400_and_rpc_can_be_switched_off() {
        let w = world("19.0").await;
        let resp = w
            .http
            .post(format!("{}/jsonrpc", w.odoo.url))
            .header("content-type", "application/json")
            .body("[")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        w.emu().set_rpc_disabled(true);
        let (status, _) = (
            w.http
                .post(format!("{}/jsonrpc", w.odoo.url))
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            (),
        );
        assert_eq!(status, 404);
    }

    #[tokio::test]
    async fn the_version_routes_follow_the_profile() {
        let w = world("saas~18.3").await;
        assert_eq!(
            w.http
                .get(format!("{}/web/version", w.odoo.url))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        let r: Value = w
            .http
            .post(format!("{}/web/webclient/version_info", w.odoo.url))
            .json(&json!({"jsonrpc": "2.0", "method": "call", "params": {}, "id": 1}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["result"]["server_version_info"][0], "saas~18");
        assert_eq!(r["result"]["server_serie"], "saas~18.3");
        w.emu().set_version("19.0").unwrap();
        for path in ["/web/version", "/json/version"] {
            let v: Value = w
                .http
                .get(format!("{}{path}", w.odoo.url))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(
                v,
                json!({"version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"})
            );
        }
    }
}

mod orm {
    use super::*;

    async fn partners(w: &World) -> (i64, i64, i64) {
        let ids = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [
                    {"name": "Azure Interior", "email": "info@azure.example", "is_company": true},
                    {"name": "Brandon Freeman", "email": "brandon@azure.example"},
                    {"name": "Deco Addict", "email": "deco@addict.example", "is_company": true}
                ]}),
            )
            .await;
        let (azure, brandon, deco) = (
            ids[0].as_i64().unwrap(),
            ids[1].as_i64().unwrap(),
            ids[2].as_i64().unwrap(),
        );
        w.a(
            "res.partner",
            "write",
            json!({"ids": [brandon], "vals": {"parent_id": azure}}),
        )
        .await;
        (azure, brandon, deco)
    }

    /// Names among the three test partners (and their company) matching `domain`.
    async fn names(w: &World, domain: Value) -> Vec<String> {
        let mut full = vec![json!(["email", "=ilike", "%.example"])];
        full.extend(domain.as_array().unwrap().iter().cloned());
        let rows = w
            .a(
                "res.partner",
                "search_read",
                json!({"domain": full, "fields": ["name"], "order": "name asc"}),
            )
            .await;
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[tokio::test]
    async fn domains_combine_prefix_operators_patterns_sets_hierarchies_and_paths() {
        let w = world("19.0").await;
        let (azure, _, deco) = partners(&w).await;
        assert_eq!(
            names(&w, json!([["name", "ilike", "azure"]])).await,
            vec!["Azure Interior"]
        );
        assert_eq!(
            names(&w, json!([["name", "like", "azure"]])).await,
            Vec::<String>::new()
        );
        assert_eq!(
            names(&w, json!([["name", "=like", "B%"]])).await,
            vec!["Brandon Freeman"]
        );
        assert_eq!(
            names(
                &w,
                json!([
                    "|",
                    ["name", "=", "Deco Addict"],
                    ["email", "ilike", "brandon"]
                ])
            )
            .await,
            vec!["Brandon Freeman", "Deco Addict"]
        );
        assert_eq!(
            names(
                &w,
                json!([
                    "&",
                    ["email", "ilike", "example"],
                    "!",
                    ["is_company", "=", true]
                ])
            )
            .await,
            vec!["Brandon Freeman"]
        );
        assert_eq!(
            names(&w, json!([["id", "in", [azure, deco]]])).await,
            vec!["Azure Interior", "Deco Addict"]
        );
        assert_eq!(
            names(&w, json!([["id", "child_of", azure]])).await,
            vec!["Azure Interior", "Brandon Freeman"]
        );
        assert_eq!(
            names(&w, json!([["parent_id.email", "=", "info@azure.example"]])).await,
            vec!["Brandon Freeman"]
        );
        assert_eq!(
            names(&w, json!([["parent_id", "=", "Azure Interior"]])).await,
            vec!["Brandon Freeman"]
        );
        assert_eq!(
            names(
                &w,
                json!([["parent_id", "any", [["is_company", "=", true]]]])
            )
            .await,
            vec!["Brandon Freeman"]
        );
        let unset: Vec<String> = names(
            &w,
            json!([["email", "ilike", "example"], ["parent_id", "=?", false]]),
        )
        .await;
        assert_eq!(unset.len(), 3, "=? with False is no constraint");
        assert!(
            !names(&w, json!([["email", "not in", ["info@azure.example"]]]))
                .await
                .contains(&"Azure Interior".to_string())
        );
    }

    #[tokio::test]
    async fn order_offset_and_limit_page_through_results_and_search_count_honours_limit() {
        let w = world("19.0").await;
        partners(&w).await;
        let dom = json!([["email", "=ilike", "%.EXAMPLE"]]);
        let desc = w.a("res.partner", "search_read", json!({"domain": dom, "fields": ["name"], "order": "name desc", "offset": 1, "limit": 1})).await;
        assert_eq!(desc[0]["name"], "Brandon Freeman");
        assert_eq!(
            w.a(
                "res.partner",
                "search_count",
                json!({"domain": dom, "limit": 2})
            )
            .await,
            json!(2)
        );
        let r = w
            .j2(
                &w.alice_key,
                "res.partner",
                "search",
                json!({"domain": [], "order": "nope desc"}),
            )
            .await;
        assert_eq!(r.status, 500);
    }

    #[tokio::test]
    async fn archived_records_are_hidden_unless_active_test_is_false() {
        let w = world("19.0").await;
        let id = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "Old"}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        w.a("res.partner", "action_archive", json!({"ids": [id]}))
            .await;
        assert_eq!(
            w.a(
                "res.partner",
                "search",
                json!({"domain": [["name", "=", "Old"]]})
            )
            .await,
            json!([])
        );
        assert_eq!(
            w.a(
                "res.partner",
                "search",
                json!({"domain": [["name", "=", "Old"]], "context": {"active_test": false}})
            )
            .await,
            json!([id])
        );
        assert_eq!(
            w.a(
                "res.partner",
                "search",
                json!({"domain": [["name", "=", "Old"], ["active", "=", false]]})
            )
            .await,
            json!([id])
        );
    }

    #[tokio::test]
    async fn allowed_company_ids_limits_what_is_seen_and_refuses_foreign_companies() {
        let w = world("19.0").await;
        let cust = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "Customer"}]}),
            )
            .await[0]
            .clone();
        let so = w
            .a("sale.order", "create", json!({"vals_list": [{"partner_id": cust}], "context": {"allowed_company_ids": [w.second, 1]}}))
            .await[0]
            .as_i64()
            .unwrap();
        let row = w
            .read1("sale.order", so, json!(["company_id", "name"]))
            .await;
        assert_eq!(row["company_id"][0], json!(w.second));
        assert_eq!(
            w.a(
                "sale.order",
                "search",
                json!({"domain": [], "context": {"allowed_company_ids": [1]}})
            )
            .await,
            json!([])
        );
        assert_eq!(
            w.a("sale.order", "search", json!({"domain": []})).await,
            json!([so])
        );
        let r = w
            .j2(
                &w.bob_key,
                "sale.order",
                "search",
                json!({"domain": [], "context": {"allowed_company_ids": [w.second]}}),
            )
            .await;
        assert_eq!(r.status, 403);
        assert_eq!(
            r.body["message"],
            "Access to unauthorized or invalid companies."
        );
        let r = w
            .j2(
                &w.bob_key,
                "sale.order",
                "read",
                json!({"ids": [so], "fields": ["name"]}),
            )
            .await;
        assert_eq!(r.status, 403);
        assert_eq!(r.body["name"], "odoo.exceptions.AccessError");
    }

    #[tokio::test]
    async fn deleted_records_are_missing_errors_and_search_simply_omits_them() {
        let w = world("19.0").await;
        let id = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "Gone"}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        w.a("res.partner", "unlink", json!({"ids": [id]})).await;
        let r = w
            .j2(
                &w.alice_key,
                "res.partner",
                "read",
                json!({"ids": [id], "fields": ["name"]}),
            )
            .await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["name"], "odoo.exceptions.MissingError");
        assert!(r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Record does not exist or has been deleted."));
        let r = w
            .j2(
                &w.alice_key,
                "res.partner",
                "write",
                json!({"ids": [id], "vals": {"name": "x"}}),
            )
            .await;
        assert_eq!(r.status, 404);
        assert_eq!(
            w.a(
                "res.partner",
                "search",
                json!({"domain": [["id", "in", [id]]], "context": {"active_test": false}})
            )
            .await,
            json!([])
        );
    }

    #[tokio::test]
    async fn fields_get_and_name_search_describe_and_find_records() {
        let w = world("19.0").await;
        partners(&w).await;
        let f = w
            .a(
                "calendar.event",
                "fields_get",
                json!({"attributes": ["type", "relation", "required"]}),
            )
            .await;
        assert_eq!(f["description"]["type"], "html");
        assert_eq!(
            f["partner_ids"],
            json!({"type": "many2many", "relation": "res.partner", "required": false})
        );
        assert_eq!(f["start"]["required"], true);
        assert!(f["recurrence_update"].is_object());
        let found = w
            .a(
                "res.partner",
                "name_search",
                json!({"name": "deco", "limit": 5}),
            )
            .await;
        assert_eq!(found[0][1], "Deco Addict");
    }

    #[tokio::test]
    async fn unknown_fields_are_refused_and_log_fields_cannot_be_written() {
        let w = world("19.0").await;
        let r = w
            .j2(
                &w.alice_key,
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "X", "nope": 1}]}),
            )
            .await;
        assert_eq!(r.status, 500);
        assert_eq!(
            r.body["message"],
            "Invalid field 'nope' on model 'res.partner'"
        );
        let id = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "X", "write_date": "2001-01-01 00:00:00"}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        let row = w
            .read1("res.partner", id, json!(["write_date", "create_uid"]))
            .await;
        assert_eq!(row["write_date"], "2026-03-02 09:00:00");
        assert_eq!(row["create_uid"][0], json!(w.alice.uid));
    }

    #[tokio::test]
    async fn a_failed_call_leaves_no_trace() {
        let w = world("19.0").await;
        let before = w
            .a("res.partner", "search_count", json!({"domain": []}))
            .await;
        let r = w
            .j2(
                &w.alice_key,
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "Fine"}, {"name": "Bad", "nope": 1}]}),
            )
            .await;
        assert_eq!(r.status, 500);
        assert_eq!(
            w.a("res.partner", "search_count", json!({"domain": []}))
                .await,
            before
        );
    }

    #[tokio::test]
    async fn web_search_read_reads_nested_specifications() {
        let w = world("19.0").await;
        let id = w.event(json!({"name": "Nested", "start": "2026-03-03 10:00:00", "stop": "2026-03-03 11:00:00", "partner_ids": [w.alice.partner_id, w.bob.partner_id]})).await;
        let r = w
            .a(
                "calendar.event",
                "web_search_read",
                json!({"domain": [["id", "=", id]], "specification": {"name": {}, "attendee_ids": {"fields": {"state": {}, "partner_id": {"fields": {"email": {}}}}}}}),
            )
            .await;
        assert_eq!(r["length"], 1);
        let att = r["records"][0]["attendee_ids"].as_array().unwrap();
        assert_eq!(att.len(), 2);
        assert!(att
            .iter()
            .any(|a| a["partner_id"]["email"] == "bob@example.com"));
    }
}

mod write_date {
    use super::*;

    #[tokio::test]
    async fn one_call_shares_one_write_date_that_reads_to_the_second() {
        let w = world("19.0").await;
        w.emu()
            .clock()
            .set(t0() + chrono::Duration::milliseconds(400));
        let ids = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "A"}, {"name": "B"}]}),
            )
            .await;
        let rows = w
            .a(
                "res.partner",
                "read",
                json!({"ids": ids, "fields": ["write_date"]}),
            )
            .await;
        assert_eq!(rows[0]["write_date"], "2026-03-02 09:00:00");
        assert_eq!(rows[0]["write_date"], rows[1]["write_date"]);
        // Stored with microseconds: a cursor at the same second still matches with '>'.
        let later = w.a("res.partner", "search", json!({"domain": [["write_date", ">", "2026-03-02 09:00:00"], ["name", "in", ["A", "B"]]]})).await;
        assert_eq!(later.as_array().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn child_changes_do_not_bump_the_event() {
        let w = world("19.0").await;
        let ev = w.event(json!({"name": "Parent", "start": "2026-03-05 10:00:00", "stop": "2026-03-05 11:00:00", "partner_ids": [w.alice.partner_id, w.bob.partner_id]})).await;
        w.emu().clock().advance(chrono::Duration::minutes(5));
        w.b(
            "calendar.event",
            "change_attendee_status",
            json!({"ids": [ev], "status": "accepted", "recurrence_update_setting": "self_only"}),
        )
        .await;
        w.a("ir.attachment", "create", json!({"vals_list": [{"name": "a.txt", "raw": "hi", "res_model": "calendar.event", "res_id": ev}]})).await;
        w.a("calendar.event", "message_post", json!({"ids": [ev], "body": "<p>note</p>", "body_is_html": true, "message_type": "comment", "subtype_xmlid": "mail.mt_note"})).await;
        let row = w.read1("calendar.event", ev, json!(["write_date"])).await;
        assert_eq!(row["write_date"], "2026-03-02 09:00:00");
        let att = w.a("calendar.attendee", "search_read", json!({"domain": [["event_id", "=", ev], ["partner_id", "=", w.bob.partner_id]], "fields": ["state", "write_date"]})).await;
        assert_eq!(att[0]["state"], "accepted");
        assert_eq!(att[0]["write_date"], "2026-03-02 09:05:00");
    }

    #[tokio::test]
    async fn a_late_commit_shows_an_old_write_date_and_skew_moves_the_servers_clock() {
        let w = world("19.0").await;
        w.emu().late_commit_next(30);
        let late = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "Late"}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        assert_eq!(
            w.read1("res.partner", late, json!(["write_date"])).await["write_date"],
            "2026-03-02 08:59:30"
        );
        let next = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "Next"}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        assert_eq!(
            w.read1("res.partner", next, json!(["write_date"])).await["write_date"],
            "2026-03-02 09:00:00"
        );
        w.emu().set_clock_skew(-90);
        let skewed = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "Skewed"}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        assert_eq!(
            w.read1("res.partner", skewed, json!(["write_date"])).await["write_date"],
            "2026-03-02 08:58:30"
        );
    }
}

mod calendar {
    use super::*;

    #[tokio::test]
    async fn all_day_events_run_from_eight_to_eighteen_with_inclusive_stop_dates() {
        let w = world("19.0").await;
        let id = w.event(json!({"name": "Offsite", "allday": true, "start_date": "2026-03-10", "stop_date": "2026-03-11"})).await;
        let r = w
            .read1(
                "calendar.event",
                id,
                json!([
                    "start",
                    "stop",
                    "start_date",
                    "stop_date",
                    "duration",
                    "allday"
                ]),
            )
            .await;
        assert_eq!(r["start"], "2026-03-10 08:00:00");
        assert_eq!(r["stop"], "2026-03-11 18:00:00");
        assert_eq!(r["stop_date"], "2026-03-11");
        assert_eq!(r["duration"], json!(34.0));
        let r = w.j2(&w.alice_key, "calendar.event", "create", json!({"vals_list": [{"name": "Backwards", "allday": true, "start_date": "2026-03-10", "stop_date": "2026-03-09"}]})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.body["name"], "odoo.exceptions.ValidationError");
    }

    #[tokio::test]
    async fn stop_follows_start_and_duration_and_may_not_precede_start() {
        let w = world("19.0").await;
        let id = w
            .event(json!({"name": "Ninety", "start": "2026-03-04 10:00:00", "duration": 1.5}))
            .await;
        let r = w
            .read1("calendar.event", id, json!(["stop", "start_date"]))
            .await;
        assert_eq!(r["stop"], "2026-03-04 11:30:00");
        assert_eq!(r["start_date"], json!(false));
        w.a(
            "calendar.event",
            "write",
            json!({"ids": [id], "vals": {"start": "2026-03-04 12:00:00"}}),
        )
        .await;
        assert_eq!(
            w.read1("calendar.event", id, json!(["stop"])).await["stop"],
            "2026-03-04 13:30:00"
        );
        let r = w
            .j2(
                &w.alice_key,
                "calendar.event",
                "write",
                json!({"ids": [id], "vals": {"stop": "2026-03-04 09:00:00"}}),
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.body["message"]
            .as_str()
            .unwrap()
            .contains("cannot be earlier than the starting date"));
    }

    #[tokio::test]
    async fn attendees_follow_partner_ids_and_the_organizer_has_accepted() {
        let w = world("19.0").await;
        let id = w.event(json!({"name": "Meet", "start": "2026-03-04 10:00:00", "stop": "2026-03-04 11:00:00", "partner_ids": [[6, 0, [w.alice.partner_id, w.bob.partner_id]]]})).await;
        let states = |rows: Value| -> Vec<(i64, String)> {
            let mut v: Vec<(i64, String)> = rows
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["partner_id"][0].as_i64().unwrap(),
                        r["state"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            v.sort();
            v
        };
        let rows = w
            .a(
                "calendar.attendee",
                "search_read",
                json!({"domain": [["event_id", "=", id]], "fields": ["partner_id", "state"]}),
            )
            .await;
        assert_eq!(
            states(rows),
            vec![
                (w.alice.partner_id, "accepted".to_string()),
                (w.bob.partner_id, "needsAction".to_string())
            ]
        );
        w.a("calendar.event", "write", json!({"ids": [id], "vals": {"partner_ids": [[3, w.bob.partner_id], [4, w.carol.partner_id]]}})).await;
        let rows = w
            .a(
                "calendar.attendee",
                "search_read",
                json!({"domain": [["event_id", "=", id]], "fields": ["partner_id", "state"]}),
            )
            .await;
        assert_eq!(
            states(rows),
            vec![
                (w.alice.partner_id, "accepted".to_string()),
                (w.carol.partner_id, "needsAction".to_string())
            ]
        );
        let counts = w
            .read1(
                "calendar.event",
                id,
                json!(["attendees_count", "accepted_count", "awaiting_count"]),
            )
            .await;
        assert_eq!(
            (
                counts["attendees_count"].clone(),
                counts["accepted_count"].clone(),
                counts["awaiting_count"].clone()
            ),
            (json!(2), json!(1), json!(1))
        );
        let r = w
            .j2(
                &w.alice_key,
                "calendar.event",
                "write",
                json!({"ids": [id], "vals": {"partner_ids": [[0, 0, {"name": "New"}]]}}),
            )
            .await;
        assert_eq!(r.status, 500, "command 0 is not supported on partner_ids");
    }

    async fn series(w: &World, count: i64) -> (i64, Vec<i64>) {
        let base = w
            .event(json!({"name": "Weekly", "start": "2026-03-02 09:00:00", "stop": "2026-03-02 10:00:00", "recurrency": true, "rrule_type": "weekly", "mon": true, "interval": 1, "end_type": "count", "count": count, "event_tz": "Europe/Brussels", "partner_ids": [w.alice.partner_id, w.bob.partner_id]}))
            .await;
        w.series_rows(base).await
    }

    #[tokio::test]
    async fn recurrences_expand_into_real_rows_capped_at_720() {
        let w = world("19.0").await;
        let (rec, ids) = series(&w, 5).await;
        assert_eq!(ids.len(), 5);
        let rows = w.a("calendar.event", "read", json!({"ids": ids, "fields": ["start", "follow_recurrence", "rrule", "rrule_type"]})).await;
        assert_eq!(
            rows[4]["start"], "2026-03-30 08:00:00",
            "09:00 Brussels stays 09:00 after DST"
        );
        assert_eq!(rows[1]["follow_recurrence"], true);
        assert_eq!(rows[0]["rrule_type"], "weekly");
        let r = w
            .read1(
                "calendar.recurrence",
                rec,
                json!(["name", "count", "calendar_event_ids"]),
            )
            .await;
        assert_eq!(r["calendar_event_ids"].as_array().unwrap().len(), 5);
        let forever = w
            .event(json!({"name": "Daily", "start": "2026-03-02 07:00:00", "stop": "2026-03-02 07:15:00", "rrule": "FREQ=DAILY", "recurrency": true}))
            .await;
        let rec2 = w
            .read1("calendar.event", forever, json!(["recurrence_id"]))
            .await["recurrence_id"][0]
            .clone();
        assert_eq!(
            w.a(
                "calendar.event",
                "search_count",
                json!({"domain": [["recurrence_id", "=", rec2]]})
            )
            .await,
            json!(720)
        );
    }

    /// The recurrence's base event id and `count`.
    async fn base_and_count(w: &World, rec: i64) -> (Value, Value) {
        let r = w
            .read1(
                "calendar.recurrence",
                rec,
                json!(["base_event_id", "count"]),
            )
            .await;
        (r["base_event_id"][0].clone(), r["count"].clone())
    }

    #[tokio::test]
    async fn archiving_or_deleting_the_base_event_names_the_next_occurrence_the_base() {
        // `_select_new_base_event` from `write(active=False)` and `unlink`; the rule and
        // its count stay as they were.
        let w = world("19.0").await;
        let (rec, ids) = series(&w, 4).await;
        // (base, count) after `method` on row `id`.
        let after = |method: &'static str, id: i64| {
            let w = &w;
            async move {
                w.a("calendar.event", method, json!({"ids": [id]})).await;
                base_and_count(w, rec).await
            }
        };
        assert_eq!(
            after("action_archive", ids[0]).await,
            (json!(ids[1]), json!(4))
        );
        assert_eq!(after("unlink", ids[1]).await, (json!(ids[2]), json!(4)));
        // Archiving a row that is not the base changes nothing.
        assert_eq!(
            after("action_archive", ids[3]).await,
            (json!(ids[2]), json!(4))
        );
        // No active occurrence left: no base.
        w.a("calendar.event", "action_archive", json!({"ids": [ids[2]]}))
            .await;
        let r = w
            .read1("calendar.recurrence", rec, json!(["base_event_id"]))
            .await;
        assert_eq!(r["base_event_id"], json!(false));
    }

    #[tokio::test]
    async fn a_series_created_off_its_rule_is_rebased_on_its_first_occurrence() {
        // Every Monday from Tuesday 2026-03-03: `_apply_recurrence` detaches the created
        // base (its start is no range of the rule), `create` archives it, and that archive
        // re-bases the recurrence on the first Monday.
        let w = world("19.0").await;
        let created = w
            .event(json!({"name": "Off rule", "start": "2026-03-03 09:00:00", "stop": "2026-03-03 10:00:00", "recurrency": true, "rrule_type": "weekly", "mon": true, "interval": 1, "end_type": "count", "count": 3, "event_tz": "Europe/Brussels"}))
            .await;
        let row = w
            .a(
                "calendar.event",
                "read",
                json!({"ids": [created], "fields": ["active", "recurrence_id", "recurrency"]}),
            )
            .await[0]
            .clone();
        assert_eq!(
            (
                row["active"].clone(),
                row["recurrence_id"].clone(),
                row["recurrency"].clone()
            ),
            (json!(false), json!(false), json!(false)),
            "the created base is archived and detached"
        );
        let rows = w
            .a("calendar.event", "search_read", json!({"domain": [["name", "=", "Off rule"]], "fields": ["start", "recurrence_id"], "order": "start"}))
            .await;
        let rows = rows.as_array().unwrap();
        let starts: Vec<&str> = rows.iter().map(|r| r["start"].as_str().unwrap()).collect();
        assert_eq!(
            starts,
            [
                "2026-03-09 09:00:00",
                "2026-03-16 09:00:00",
                "2026-03-23 09:00:00"
            ]
        );
        let rec = rows[0]["recurrence_id"][0].as_i64().unwrap();
        assert_eq!(
            base_and_count(&w, rec).await,
            (rows[0]["id"].clone(), json!(3))
        );
    }

    #[tokio::test]
    async fn editing_one_occurrence_makes_an_exception_and_rule_changes_need_more_than_this_event()
    {
        let w = world("19.0").await;
        let (_, ids) = series(&w, 3).await;
        w.a("calendar.event", "write", json!({"ids": [ids[1]], "vals": {"start": "2026-03-09 12:00:00", "stop": "2026-03-09 13:00:00", "recurrence_update": "self_only"}})).await;
        assert_eq!(
            w.read1("calendar.event", ids[1], json!(["follow_recurrence"]))
                .await["follow_recurrence"],
            false
        );
        assert_eq!(
            w.read1("calendar.event", ids[2], json!(["follow_recurrence"]))
                .await["follow_recurrence"],
            true
        );
        let r = w
            .j2(
                &w.alice_key,
                "calendar.event",
                "write",
                json!({"ids": [ids[1]], "vals": {"interval": 2}}),
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.body["name"], "odoo.exceptions.UserError");
    }

    #[tokio::test]
    async fn this_and_following_archives_the_rest_and_recreates_them_with_new_ids() {
        let w = world("19.0").await;
        let (rec, ids) = series(&w, 4).await;
        w.a("calendar.event", "write", json!({"ids": [ids[2]], "vals": {"name": "Weekly (moved)", "start": "2026-03-16 10:00:00", "stop": "2026-03-16 11:00:00", "recurrence_update": "future_events"}})).await;
        let old = w
            .read1("calendar.recurrence", rec, json!(["end_type", "until"]))
            .await;
        assert_eq!(
            (old["end_type"].clone(), old["until"].clone()),
            (json!("end_date"), json!("2026-03-15"))
        );
        let kept = w
            .a(
                "calendar.event",
                "search",
                json!({"domain": [["recurrence_id", "=", rec]], "order": "start asc"}),
            )
            .await;
        assert_eq!(kept, json!([ids[0], ids[1]]));
        assert_eq!(
            w.read1("calendar.event", ids[3], json!(["active"])).await["active"],
            false
        );
        let edited = w
            .read1(
                "calendar.event",
                ids[2],
                json!(["recurrence_id", "name", "active"]),
            )
            .await;
        assert_eq!(edited["active"], true);
        let new_rec = edited["recurrence_id"][0].as_i64().unwrap();
        assert_ne!(new_rec, rec);
        let new_ids = w.a("calendar.event", "search_read", json!({"domain": [["recurrence_id", "=", new_rec]], "fields": ["name", "start"], "order": "start asc"})).await;
        let new_ids = new_ids.as_array().unwrap();
        assert_eq!(new_ids.len(), 2);
        assert_eq!(new_ids[0]["id"], json!(ids[2]));
        assert!(new_ids[1]["id"].as_i64().unwrap() > ids[3]);
        assert_eq!(new_ids[1]["start"], "2026-03-23 10:00:00");
        assert_eq!(new_ids[1]["name"], "Weekly (moved)");
    }

    #[tokio::test]
    async fn all_events_rewrites_the_series_on_time_changes_and_writes_in_place_otherwise() {
        let w = world("19.0").await;
        let (rec, ids) = series(&w, 3).await;
        w.a("calendar.event", "write", json!({"ids": [ids[1]], "vals": {"location": "Room 2", "recurrence_update": "all_events"}})).await;
        let rows = w
            .a(
                "calendar.event",
                "search_read",
                json!({"domain": [["recurrence_id", "=", rec]], "fields": ["location"]}),
            )
            .await;
        assert!(rows
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["location"] == "Room 2"));
        assert_eq!(rows.as_array().unwrap().len(), 3);
        w.a("calendar.event", "write", json!({"ids": [ids[1]], "vals": {"start": "2026-03-09 09:30:00", "stop": "2026-03-09 10:30:00", "recurrence_update": "all_events"}})).await;
        let active = w.a("calendar.event", "search_read", json!({"domain": [["name", "=", "Weekly"]], "fields": ["start", "recurrence_id"], "order": "start asc"})).await;
        let active = active.as_array().unwrap();
        assert_eq!(active.len(), 3);
        assert_eq!(
            active[0]["id"],
            json!(ids[0]),
            "the base event keeps its id"
        );
        assert_eq!(
            active[0]["start"], "2026-03-02 09:30:00",
            "shifted by what the edited occurrence moved"
        );
        assert!(
            active[1]["id"].as_i64().unwrap() > ids[2],
            "other occurrences get new ids"
        );
        assert_eq!(
            w.read1("calendar.event", ids[2], json!(["active"])).await["active"],
            false
        );
        let r = w
            .j2(
                &w.alice_key,
                "calendar.recurrence",
                "read",
                json!({"ids": [rec], "fields": ["name"]}),
            )
            .await;
        assert_eq!(r.status, 404, "the old recurrence is deleted");
    }

    #[tokio::test]
    async fn others_private_events_read_as_busy_and_cannot_be_written() {
        let w = world("19.0").await;
        let id = w.event(json!({"name": "Dentist", "description": "<p>tooth</p>", "location": "Downtown", "privacy": "private", "start": "2026-03-04 15:00:00", "stop": "2026-03-04 16:00:00"})).await;
        let r = w.b("calendar.event", "read", json!({"ids": [id], "fields": ["name", "description", "location", "start", "privacy", "display_name"]})).await;
        assert_eq!(r[0]["name"], "Busy");
        assert_eq!(r[0]["display_name"], "Busy");
        assert_eq!(r[0]["description"], json!(false));
        assert_eq!(r[0]["location"], json!(false));
        assert_eq!(r[0]["start"], "2026-03-04 15:00:00");
        assert_eq!(r[0]["privacy"], "private");
        let own = w.read1("calendar.event", id, json!(["name"])).await;
        assert_eq!(own["name"], "Dentist");
        let denied = w
            .j2(
                &w.bob_key,
                "calendar.event",
                "write",
                json!({"ids": [id], "vals": {"name": "Mine"}}),
            )
            .await;
        assert_eq!(denied.status, 403);
        assert_eq!(denied.body["name"], "odoo.exceptions.AccessError");
    }

    #[tokio::test]
    async fn privacy_defaults_to_public_before_17_3_and_may_be_empty_after() {
        let w = world("17.0").await;
        let id = w.execute_kw(w.alice.uid, "alice-pw", "calendar.event", "create", json!([{"name": "P", "start": "2026-03-04 15:00:00", "stop": "2026-03-04 16:00:00"}]), json!({})).await["result"].as_i64().unwrap();
        let r = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "calendar.event",
                "read",
                json!([[id], ["privacy"]]),
                json!({}),
            )
            .await;
        assert_eq!(r["result"][0]["privacy"], "public");
        let w = world("18.0").await;
        let id = w.emu().execute(w.alice.uid, "calendar.event", "create", &[], serde_json::from_value(json!({"vals_list": [{"name": "P", "start": "2026-03-04 15:00:00", "stop": "2026-03-04 16:00:00"}]})).unwrap()).unwrap();
        let id = match id {
            odoo365_testkit::odoo::Ret::Created { ids, .. } => ids[0],
            other => panic!("{other:?}"),
        };
        let r = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "calendar.event",
                "read",
                json!([[id], ["privacy"]]),
                json!({}),
            )
            .await;
        assert_eq!(r["result"][0]["privacy"], json!(false));
    }
}

mod mail {
    use super::*;

    #[tokio::test]
    async fn invitations_go_to_attendees_but_not_the_organizer_unless_suppressed() {
        let w = world("19.0").await;
        let e = w.emu();
        w.event(json!({"name": "Invite", "start": "2026-03-04 10:00:00", "stop": "2026-03-04 11:00:00", "partner_ids": [w.alice.partner_id, w.bob.partner_id]})).await;
        let out = e.outbox();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "invitation");
        assert_eq!(out[0].recipients, vec!["bob@example.com".to_string()]);
        w.a("calendar.event", "create", json!({"vals_list": [{"name": "Quiet", "start": "2026-03-04 12:00:00", "stop": "2026-03-04 13:00:00", "partner_ids": [w.alice.partner_id, w.bob.partner_id]}], "context": {"no_mail_to_attendees": true}})).await;
        assert_eq!(e.outbox().len(), 1);
        e.set_param("calendar.block_mail", "True");
        w.event(json!({"name": "Blocked", "start": "2026-03-04 14:00:00", "stop": "2026-03-04 15:00:00", "partner_ids": [w.alice.partner_id, w.bob.partner_id]})).await;
        assert_eq!(e.outbox().len(), 1);
        w.event(json!({"name": "Past", "start": "2026-03-01 14:00:00", "stop": "2026-03-01 15:00:00", "partner_ids": [w.alice.partner_id, w.bob.partner_id]})).await;
        assert_eq!(e.outbox().len(), 1);
    }

    #[tokio::test]
    async fn date_changes_new_attendees_and_deletions_are_mailed() {
        let w = world("19.0").await;
        let e = w.emu();
        let id = w.event(json!({"name": "Moving", "start": "2026-03-04 10:00:00", "stop": "2026-03-04 11:00:00", "partner_ids": [w.alice.partner_id, w.bob.partner_id]})).await;
        e.clear_outbox();
        w.a("calendar.event", "write", json!({"ids": [id], "vals": {"start": "2026-03-05 10:00:00", "stop": "2026-03-05 11:00:00"}})).await;
        w.a(
            "calendar.event",
            "write",
            json!({"ids": [id], "vals": {"partner_ids": [[4, w.carol.partner_id]]}}),
        )
        .await;
        w.a(
            "calendar.event",
            "write",
            json!({"ids": [id], "vals": {"location": "Room 3"}}),
        )
        .await;
        w.a("calendar.event", "unlink", json!({"ids": [id]})).await;
        let kinds: Vec<(String, Vec<String>)> = e
            .outbox()
            .into_iter()
            .map(|m| (m.kind, m.recipients))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (
                    "date_changed".to_string(),
                    vec!["bob@example.com".to_string()]
                ),
                (
                    "invitation".to_string(),
                    vec!["carol@example.org".to_string()]
                ),
                (
                    "cancellation".to_string(),
                    vec![
                        "bob@example.com".to_string(),
                        "carol@example.org".to_string()
                    ]
                ),
            ]
        );
    }

    #[tokio::test]
    async fn discussions_notify_followers_while_notes_stay_internal() {
        let w = world("19.0").await;
        let e = w.emu();
        let id = w.a("calendar.event", "create", json!({"vals_list": [{"name": "Chat", "start": "2026-03-04 10:00:00", "stop": "2026-03-04 11:00:00", "partner_ids": [w.alice.partner_id, w.bob.partner_id]}], "context": {"no_mail_to_attendees": true}})).await[0].as_i64().unwrap();
        let note = w.a("calendar.event", "message_post", json!({"ids": [id], "body": "<p>internal</p>", "body_is_html": true, "message_type": "comment", "subtype_xmlid": "mail.mt_note"})).await;
        assert!(
            note.as_array().is_some_and(|a| a.len() == 1),
            "JSON-2 answers [message_id]: {note}"
        );
        assert!(e.outbox().is_empty());
        w.a("calendar.event", "message_post", json!({"ids": [id], "body": "hello <b>all</b>", "message_type": "comment", "subtype_xmlid": "mail.mt_comment"})).await;
        let out = e.outbox();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "chatter");
        assert_eq!(out[0].recipients, vec!["bob@example.com".to_string()]);
        let msgs = w.a("mail.message", "search_read", json!({"domain": [["model", "=", "calendar.event"], ["res_id", "=", id]], "fields": ["body", "subtype_id", "message_type"], "order": "id asc"})).await;
        assert_eq!(msgs[0]["body"], "<p>internal</p>");
        assert_eq!(msgs[0]["subtype_id"][1], "Note");
        assert_eq!(
            msgs[1]["body"], "hello &lt;b&gt;all&lt;/b&gt;",
            "a plain body is escaped from 17"
        );
    }

    #[tokio::test]
    async fn body_is_html_does_not_exist_on_16_where_bodies_are_html() {
        let w = world("16.0").await;
        let id = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "res.partner",
                "create",
                json!([{"name": "P"}]),
                json!({}),
            )
            .await["result"]
            .as_i64()
            .unwrap();
        let ok = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "res.partner",
                "message_post",
                json!([[id]]),
                json!({"body": "<b>hi</b>", "message_type": "comment"}),
            )
            .await;
        let mid = ok["result"]
            .as_i64()
            .expect("JSON-RPC answers the message id");
        let body = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "mail.message",
                "read",
                json!([[mid], ["body"]]),
                json!({}),
            )
            .await;
        assert_eq!(body["result"][0]["body"], "<b>hi</b>");
        let bad = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "res.partner",
                "message_post",
                json!([[id]]),
                json!({"body": "x", "body_is_html": true}),
            )
            .await;
        assert_eq!(bad["error"]["data"]["name"], "builtins.ValueError");
    }
}

mod attachments {
    use super::*;
    use base64::Engine as _;

    fn b64(s: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[tokio::test]
    async fn content_is_base64_with_sha1_checksum_size_and_mimetype() {
        let w = world("19.0").await;
        let task = w
            .a(
                "project.task",
                "create",
                json!({"vals_list": [{"name": "T"}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        let id = w
            .a("ir.attachment", "create", json!({"vals_list": [{"name": "report.pdf", "datas": b64(b"%PDF-1.7 hello"), "res_model": "project.task", "res_id": task, "checksum": "forged", "file_size": 1}]}))
            .await[0]
            .as_i64()
            .unwrap();
        let r = w
            .read1(
                "ir.attachment",
                id,
                json!(["datas", "checksum", "file_size", "mimetype", "res_name"]),
            )
            .await;
        assert_eq!(r["datas"], b64(b"%PDF-1.7 hello"));
        assert_eq!(r["checksum"], sha1_hex(b"%PDF-1.7 hello"));
        assert_eq!(r["file_size"], 14);
        assert_eq!(r["mimetype"], "application/pdf");
        assert_eq!(r["res_name"], "T");
        let sized = w
            .a(
                "ir.attachment",
                "read",
                json!({"ids": [id], "fields": ["datas"], "context": {"bin_size": true}}),
            )
            .await;
        assert_eq!(sized[0]["datas"], "14.00 bytes");
    }

    fn sha1_hex(b: &[u8]) -> String {
        use sha1::Digest;
        sha1::Sha1::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    }

    #[tokio::test]
    async fn field_attachments_are_hidden_and_unlinked_ones_belong_to_their_creator() {
        let w = world("19.0").await;
        let ids = w
            .a("ir.attachment", "create", json!({"vals_list": [
                {"name": "doc.txt", "raw": "doc", "res_model": "res.partner", "res_id": w.bob.partner_id},
                {"name": "image_1920", "raw": "img", "res_model": "res.partner", "res_id": w.bob.partner_id, "res_field": "image_1920"},
                {"name": "loose.txt", "raw": "loose"}
            ]}))
            .await;
        let listed = w.a("ir.attachment", "search", json!({"domain": [["res_model", "=", "res.partner"], ["res_id", "=", w.bob.partner_id]]})).await;
        assert_eq!(listed, json!([ids[0]]));
        let with_field = w
            .a(
                "ir.attachment",
                "search",
                json!({"domain": [["res_field", "=", "image_1920"]]}),
            )
            .await;
        assert_eq!(with_field, json!([ids[1]]));
        let bob_sees = w
            .b(
                "ir.attachment",
                "search",
                json!({"domain": [["name", "=", "loose.txt"]]}),
            )
            .await;
        assert_eq!(bob_sees, json!([]));
        let r = w
            .j2(
                &w.bob_key,
                "ir.attachment",
                "read",
                json!({"ids": [ids[2]], "fields": ["name"]}),
            )
            .await;
        assert_eq!(r.status, 403);
    }

    #[tokio::test]
    async fn access_follows_the_linked_record_and_deletes_are_hard() {
        let w = world("19.0").await;
        let cust = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "C"}]}),
            )
            .await[0]
            .clone();
        let so = w.a("sale.order", "create", json!({"vals_list": [{"partner_id": cust}], "context": {"allowed_company_ids": [w.second]}})).await[0].as_i64().unwrap();
        let att = w.a("ir.attachment", "create", json!({"vals_list": [{"name": "q.txt", "raw": "quote", "res_model": "sale.order", "res_id": so}]})).await[0].as_i64().unwrap();
        let r = w
            .j2(
                &w.bob_key,
                "ir.attachment",
                "read",
                json!({"ids": [att], "fields": ["name"]}),
            )
            .await;
        assert_eq!(r.status, 403, "Bob cannot read the second company's order");
        let r = w.j2(&w.bob_key, "ir.attachment", "create", json!({"vals_list": [{"name": "x.txt", "raw": "x", "res_model": "sale.order", "res_id": so}]})).await;
        assert_eq!(r.status, 403);
        w.a("ir.attachment", "unlink", json!({"ids": [att]})).await;
        let r = w
            .j2(
                &w.alice_key,
                "ir.attachment",
                "read",
                json!({"ids": [att], "fields": ["name"]}),
            )
            .await;
        assert_eq!(r.status, 404);
        let att2 = w.a("ir.attachment", "create", json!({"vals_list": [{"name": "q2.txt", "raw": "quote", "res_model": "sale.order", "res_id": so}]})).await[0].as_i64().unwrap();
        w.a("sale.order", "unlink", json!({"ids": [so]})).await;
        assert_eq!(
            w.j2(
                &w.alice_key,
                "ir.attachment",
                "read",
                json!({"ids": [att2]})
            )
            .await
            .status,
            404,
            "a record's attachments go with it"
        );
    }

    #[tokio::test]
    async fn xml_like_uploads_become_text_for_non_admins() {
        let w = world("19.0").await;
        let id = w
            .a(
                "ir.attachment",
                "create",
                json!({"vals_list": [{"name": "page.html", "raw": "<p>x</p>"}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        assert_eq!(
            w.read1("ir.attachment", id, json!(["mimetype"])).await["mimetype"],
            "text/plain"
        );
        let id = w
            .a(
                "ir.attachment",
                "create",
                json!({"vals_list": [{"name": "sheet.xlsx", "raw": "PK"}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        assert!(
            w.read1("ir.attachment", id, json!(["mimetype"])).await["mimetype"]
                .as_str()
                .unwrap()
                .contains("openxmlformats")
        );
    }

    #[tokio::test]
    async fn web_content_streams_with_an_access_token_and_the_checksum_as_etag() {
        let w = world("19.0").await;
        let id = w.a("ir.attachment", "create", json!({"vals_list": [{"name": "notes.txt", "raw": "streamed bytes", "res_model": "res.partner", "res_id": w.alice.partner_id}]})).await[0].as_i64().unwrap();
        let url = format!("{}/web/content/{id}", w.odoo.url);
        assert_eq!(w.http.get(&url).send().await.unwrap().status(), 403);
        let tokens = w
            .a(
                "ir.attachment",
                "generate_access_token",
                json!({"ids": [id]}),
            )
            .await;
        let token = tokens[0].as_str().unwrap();
        let again = w
            .a(
                "ir.attachment",
                "generate_access_token",
                json!({"ids": [id]}),
            )
            .await;
        assert_eq!(again[0], tokens[0], "the token persists");
        let resp = w
            .http
            .get(format!("{url}?access_token={token}&download=true"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let etag = resp.headers()["etag"].to_str().unwrap().to_string();
        assert_eq!(etag, format!("\"{}\"", sha1_hex(b"streamed bytes")));
        assert!(resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert_eq!(resp.bytes().await.unwrap().as_ref(), b"streamed bytes");
        let cached = w
            .http
            .get(format!("{url}?access_token={token}"))
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(cached.status(), 304);
        assert_eq!(
            w.http
                .get(format!("{url}?access_token=wrong"))
                .send()
                .await
                .unwrap()
                .status(),
            403
        );
        assert_eq!(
            w.http
                .get(format!(
                    "{}/web/content/99999?access_token={token}",
                    w.odoo.url
                ))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
    }
}

mod faults {
    use super::*;

    #[tokio::test]
    async fn proxy_errors_come_with_retry_after_and_concurrency_errors_with_their_name() {
        let w = world("19.0").await;
        let plan = w.emu().faults();
        plan.add(FaultRule::once(Fault::Unavailable {
            retry_after_s: Some(5),
        }));
        let r = w
            .j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
            .await;
        assert_eq!(r.status, 503);
        assert_eq!(r.headers["retry-after"], "5");
        plan.add(FaultRule::once(Fault::Throttle { retry_after_s: 2 }));
        assert_eq!(
            w.j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            429
        );
        plan.add(FaultRule::once(Fault::BadGateway));
        assert_eq!(
            w.j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            502
        );
        plan.add(FaultRule::once(Fault::GatewayTimeout));
        assert_eq!(
            w.j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            504
        );
        plan.add(FaultRule::once(Fault::Internal));
        let r = w
            .j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
            .await;
        assert_eq!(r.status, 500);
        assert_eq!(r.body["name"], "psycopg2.errors.SerializationFailure");
        plan.add(FaultRule::once(Fault::Internal).on_path("/jsonrpc"));
        let (status, body) = w.rpc("common", "version", json!([])).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["error"]["data"]["name"],
            "psycopg2.errors.SerializationFailure"
        );
        assert_eq!(
            w.j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            200
        );
        let counters = w.emu().counters();
        assert_eq!(counters.get("faults.internal"), Some(&2));
    }

    #[tokio::test]
    async fn a_response_lost_after_commit_leaves_the_record_created() {
        let w = world("19.0").await;
        w.emu()
            .faults()
            .add(FaultRule::once(Fault::ResetAfterApply).on_path("/create"));
        let sent = w
            .http
            .post(format!("{}/json/2/res.partner/create", w.odoo.url))
            .bearer_auth(&w.alice_key)
            .json(&json!({"vals_list": [{"name": "Maybe"}]}))
            .send()
            .await;
        assert!(sent.is_err(), "the connection closes unanswered");
        assert_eq!(
            w.a(
                "res.partner",
                "search_count",
                json!({"domain": [["name", "=", "Maybe"]]})
            )
            .await,
            json!(1)
        );
        let log = w.emu().request_log().snapshot();
        let lost = log
            .iter()
            .find(|r| r.fault.as_deref() == Some("reset_after_apply"))
            .unwrap();
        assert_eq!(lost.status, 0);
    }

    #[tokio::test]
    async fn a_reset_before_apply_changes_nothing_and_slow_answers_arrive_late() {
        let w = world("19.0").await;
        w.emu()
            .faults()
            .add(FaultRule::once(Fault::ResetBeforeApply).on_writes());
        let sent = w
            .http
            .post(format!("{}/json/2/res.partner/create", w.odoo.url))
            .bearer_auth(&w.alice_key)
            .json(&json!({"vals_list": [{"name": "Never"}]}))
            .send()
            .await;
        assert!(sent.is_err());
        assert_eq!(
            w.a(
                "res.partner",
                "search_count",
                json!({"domain": [["name", "=", "Never"]]})
            )
            .await,
            json!(0)
        );
        w.emu()
            .faults()
            .add(FaultRule::once(Fault::Slow { delay_ms: 300 }));
        let started = std::time::Instant::now();
        w.a("res.partner", "search_count", json!({"domain": []}))
            .await;
        assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    }
}

mod control {
    use super::*;
    use reqwest::Method;

    #[tokio::test]
    async fn the_control_api_creates_people_keys_and_companies_and_reads_the_logs() {
        let w = world("19.0").await;
        let (s, c) = w
            .control(Method::POST, "/companies", json!({"name": "Third"}))
            .await;
        assert_eq!(s, 200);
        let company = c["id"].as_i64().unwrap();
        let (s, u) = w.control(Method::POST, "/users", json!({"login": "dave", "name": "Dave", "company_ids": [company], "kind": "internal"})).await;
        assert_eq!(s, 200, "{u}");
        let (s, k) = w
            .control(
                Method::POST,
                "/api_keys",
                json!({"login": "dave", "scope": "rpc"}),
            )
            .await;
        assert_eq!(s, 200);
        let key = k["key"].as_str().unwrap().to_string();
        assert_eq!(key.len(), 40);
        assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
        let me = w.j2(&key, "res.users", "context_get", json!({})).await;
        assert_eq!(me.body["uid"], u["id"]);
        let (s, _) = w
            .control(Method::POST, "/users", json!({"login": "dave"}))
            .await;
        assert_eq!(s, 400, "logins are unique");
        let (_, reqs) = w.control(Method::GET, "/requests", json!(null)).await;
        let last = reqs.as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["user"], "dave");
        assert_eq!(last["status"], 200);
        let (_, counters) = w.control(Method::GET, "/counters", json!(null)).await;
        assert!(counters["calls.res.users.context_get"].as_u64().unwrap() >= 1);
        let (s, _) = w
            .control(
                Method::DELETE,
                &format!("/api_keys/{}", k["id"]),
                json!(null),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            w.j2(&key, "res.users", "context_get", json!({}))
                .await
                .status,
            401
        );
    }

    #[tokio::test]
    async fn the_control_api_switches_versions_faults_clock_and_reads_the_outbox() {
        let w = world("19.0").await;
        let (s, _) = w
            .control(Method::PUT, "/version", json!({"version": "17.0"}))
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            w.j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            404
        );
        let (s, _) = w
            .control(Method::PUT, "/version", json!({"version": "seventeen"}))
            .await;
        assert_eq!(s, 400);
        w.control(Method::PUT, "/version", json!({"version": "19.0"}))
            .await;
        let (s, _) = w
            .control(
                Method::PUT,
                "/faults",
                json!({"rules": [{"fault": {"kind": "bad_gateway"}, "remaining": 1}]}),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            w.j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            502
        );
        let (_, clock) = w
            .control(Method::POST, "/clock/advance", json!({"seconds": 3600}))
            .await;
        assert_eq!(clock["now"], "2026-03-02T10:00:00+00:00");
        w.event(json!({"name": "Mail me", "start": "2026-03-04 10:00:00", "stop": "2026-03-04 11:00:00", "partner_ids": [w.alice.partner_id, w.bob.partner_id]})).await;
        let (_, out) = w.control(Method::GET, "/outbox", json!(null)).await;
        assert_eq!(out[0]["kind"], "invitation");
        assert_eq!(out[0]["at"], "2026-03-02 10:00:00");
        let (s, _) = w.control(Method::DELETE, "/outbox", json!(null)).await;
        assert_eq!(s, 200);
        assert!(w.emu().outbox().is_empty());
    }

    #[tokio::test]
    async fn the_demo_seed_builds_a_world_the_sync_can_read() {
        let odoo = OdooEmulator::start(OdooConfig {
            clock: Clock::frozen(t0()),
            ..OdooConfig::default()
        })
        .await
        .unwrap();
        let http = reqwest::Client::new();
        let resp = http
            .post(format!("{}/seed_demo", odoo.control_url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let seed: Value = resp.json().await.unwrap();
        let w = World {
            http,
            ..world("19.0").await
        };
        let w = World { odoo, ..w };
        let key = seed["alice_key"].as_str().unwrap();
        let events = w
            .j2(
                key,
                "calendar.event",
                "search_read",
                json!({"domain": [], "fields": ["name", "recurrence_id", "privacy"]}),
            )
            .await;
        let names: Vec<&str> = events
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.iter().filter(|n| **n == "Weekly sync").count(), 6);
        assert!(names.contains(&"Offsite") && names.contains(&"Dentist"));
        let files = w.j2(key, "ir.attachment", "search_count", json!({"domain": [["res_model", "in", ["sale.order", "project.task", "crm.lead", "account.move"]]]})).await;
        assert_eq!(files.body, json!(4));
        let bob = seed["bob_key"].as_str().unwrap();
        let dentist = w
            .j2(
                bob,
                "calendar.event",
                "search_read",
                json!({"domain": [["privacy", "=", "private"]], "fields": ["name"]}),
            )
            .await;
        assert_eq!(dentist.body[0]["name"], "Busy");
    }
}

mod xmlrpc {
    use super::*;

    fn call(method: &str, params: &[&str]) -> String {
        let ps: String = params
            .iter()
            .map(|p| format!("<param><value>{p}</value></param>"))
            .collect();
        format!("<?xml version='1.0'?><methodCall><methodName>{method}</methodName><params>{ps}</params></methodCall>")
    }

    async fn post(w: &World, service: &str, body: String) -> String {
        let resp = w
            .http
            .post(format!("{}/xmlrpc/2/{service}", w.odoo.url))
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    }

    fn fault_code(xml: &str) -> Option<i64> {
        let at = xml.find("<name>faultCode</name>")?;
        let rest = &xml[at..];
        let start = rest.find("<int>")? + 5;
        let end = rest.find("</int>")?;
        rest[start..end].parse().ok()
    }

    #[tokio::test]
    async fn common_answers_version_and_authenticate_without_raising() {
        let w = world("18.0").await;
        let v = post(&w, "common", call("version", &[])).await;
        assert!(
            v.contains("<name>server_version</name>") && v.contains("<string>18.0</string>"),
            "{v}"
        );
        let uid = post(
            &w,
            "common",
            call(
                "authenticate",
                &[
                    "<string>odoo</string>",
                    "<string>alice</string>",
                    "<string>alice-pw</string>",
                    "<struct></struct>",
                ],
            ),
        )
        .await;
        assert!(
            uid.contains(&format!("<int>{}</int>", w.alice.uid)),
            "{uid}"
        );
        let bad = post(
            &w,
            "common",
            call(
                "authenticate",
                &[
                    "<string>odoo</string>",
                    "<string>alice</string>",
                    "<string>x</string>",
                    "<struct></struct>",
                ],
            ),
        )
        .await;
        assert!(bad.contains("<boolean>0</boolean>"), "{bad}");
    }

    #[tokio::test]
    async fn execute_kw_returns_an_int_for_one_dict_and_faults_carry_odoos_codes() {
        let w = world("19.0").await;
        let auth = |pw: &str| {
            vec![
                "<string>odoo</string>".to_string(),
                format!("<int>{}</int>", w.alice.uid),
                format!("<string>{pw}</string>"),
            ]
        };
        let with = |pw: &str, rest: &[&str]| {
            let mut p = auth(pw);
            p.extend(rest.iter().map(|s| s.to_string()));
            p
        };
        let create = with(&w.alice_key, &["<string>res.partner</string>", "<string>create</string>", "<array><data><value><struct><member><name>name</name><value><string>X &amp; Y</string></value></member></struct></value></data></array>"]);
        let r = post(
            &w,
            "object",
            call(
                "execute_kw",
                &create.iter().map(String::as_str).collect::<Vec<_>>(),
            ),
        )
        .await;
        let id: i64 = r
            .split("<int>")
            .nth(1)
            .and_then(|s| s.split("</int>").next())
            .and_then(|s| s.parse().ok())
            .expect(&r);
        let read = with("alice-pw", &["<string>res.partner</string>", "<string>read</string>", &format!("<array><data><value><array><data><value><int>{id}</int></value></data></array></value><value><array><data><value><string>name</string></value></data></array></value></data></array>")]);
        let r = post(
            &w,
            "object",
            call(
                "execute_kw",
                &read.iter().map(String::as_str).collect::<Vec<_>>(),
            ),
        )
        .await;
        assert!(r.contains("<string>X &amp; Y</string>"), "{r}");

        let denied = with(
            "wrong",
            &[
                "<string>res.partner</string>",
                "<string>search</string>",
                "<array><data><value><array><data></data></array></value></data></array>",
            ],
        );
        assert_eq!(
            fault_code(
                &post(
                    &w,
                    "object",
                    call(
                        "execute_kw",
                        &denied.iter().map(String::as_str).collect::<Vec<_>>()
                    )
                )
                .await
            ),
            Some(3)
        );
        let missing = with("alice-pw", &["<string>res.partner</string>", "<string>read</string>", "<array><data><value><array><data><value><int>99999</int></value></data></array></value></data></array>"]);
        assert_eq!(
            fault_code(
                &post(
                    &w,
                    "object",
                    call(
                        "execute_kw",
                        &missing.iter().map(String::as_str).collect::<Vec<_>>()
                    )
                )
                .await
            ),
            Some(2)
        );
        let mut private = vec![
            "<string>odoo</string>".to_string(),
            format!("<int>{}</int>", w.carol.uid),
            "<string>carol-pw</string>".to_string(),
        ];
        private.extend([
            "<string>calendar.event</string>".to_string(),
            "<string>search</string>".to_string(),
            "<array><data><value><array><data></data></array></value></data></array>".to_string(),
        ]);
        assert_eq!(
            fault_code(
                &post(
                    &w,
                    "object",
                    call(
                        "execute_kw",
                        &private.iter().map(String::as_str).collect::<Vec<_>>()
                    )
                )
                .await
            ),
            Some(4)
        );
        let broken = post(&w, "object", "<methodCall><methodName>execute_kw".into()).await;
        assert_eq!(fault_code(&broken), Some(1));
    }

    #[tokio::test]
    async fn xmlrpc_goes_away_with_rpc() {
        let w = world("19.0").await;
        w.emu().set_rpc_disabled(true);
        let resp = w
            .http
            .post(format!("{}/xmlrpc/2/common", w.odoo.url))
            .body(call("version", &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
    }
}

mod attendees {
    use super::*;

    #[tokio::test]
    async fn attendee_answers_need_write_access_on_the_event() {
        let w = world("19.0").await;
        let ev = w.event(json!({"name": "Secret", "privacy": "private", "start": "2026-03-04 15:00:00", "stop": "2026-03-04 16:00:00"})).await;
        let att = w
            .a(
                "calendar.attendee",
                "search",
                json!({"domain": [["event_id", "=", ev]]}),
            )
            .await;
        let r = w
            .j2(
                &w.bob_key,
                "calendar.attendee",
                "write",
                json!({"ids": att, "vals": {"state": "declined"}}),
            )
            .await;
        assert_eq!(r.status, 403);
        let open = w.event(json!({"name": "Open", "start": "2026-03-04 15:00:00", "stop": "2026-03-04 16:00:00", "partner_ids": [w.alice.partner_id, w.bob.partner_id]})).await;
        let bobs = w
            .b(
                "calendar.attendee",
                "search",
                json!({"domain": [["event_id", "=", open], ["partner_id", "=", w.bob.partner_id]]}),
            )
            .await;
        w.b("calendar.attendee", "do_tentative", json!({"ids": bobs}))
            .await;
        let me = w
            .b(
                "calendar.event",
                "read",
                json!({"ids": [open], "fields": ["current_status", "tentative_count"]}),
            )
            .await;
        assert_eq!(
            (
                me[0]["current_status"].clone(),
                me[0]["tentative_count"].clone()
            ),
            (json!("tentative"), json!(1))
        );
        let msgs = w.a("mail.message", "search_read", json!({"domain": [["model", "=", "calendar.event"], ["res_id", "=", open]], "fields": ["body", "subtype_id"]})).await;
        assert_eq!(
            msgs[0]["body"],
            "<p>Bob has tentatively accepted the invitation</p>"
        );
        assert_eq!(msgs[0]["subtype_id"][1], "Invitation");
    }
}

mod hostile {
    use super::*;

    #[tokio::test]
    async fn hostile_values_get_odoo_errors_and_never_kill_the_server() {
        let w = world("19.0").await;
        let cases = [
            (
                "calendar.event",
                "create",
                json!({"vals_list": [{"name": "x", "start": "2026-03-04 10:00:00", "duration": 1e30}]}),
            ),
            (
                "calendar.event",
                "create",
                json!({"vals_list": [{"name": "x", "start": "99999-01-01 10:00:00"}]}),
            ),
            (
                "calendar.event",
                "create",
                json!({"vals_list": [{"name": "x", "start": "2026-03-04 10:00:00", "recurrency": true, "rrule_type": "daily", "interval": 1_000_000_000_000_000i64, "end_type": "forever"}]}),
            ),
            (
                "calendar.event",
                "create",
                json!({"vals_list": [{"name": "x", "start": "2026-03-04 10:00:00", "recurrency": true, "rrule": "FREQ=WEEKLY;BYDAY=é"}]}),
            ),
            (
                "calendar.event",
                "create",
                json!({"vals_list": [{"name": "x", "start": "2026-03-04 10:00:00", "recurrency": true, "rrule_type": "monthly", "month_by": "day", "byday": "9", "weekday": "XXX"}]}),
            ),
            (
                "ir.attachment",
                "create",
                json!({"vals_list": [{"name": "x", "datas": "=="}]}),
            ),
            (
                "res.partner",
                "search",
                json!({"domain": [["name", "ilike"]]}),
            ),
            (
                "res.partner",
                "search",
                json!({"domain": [["parent_id.name.nope", "=", 1]]}),
            ),
            (
                "res.partner",
                "search",
                json!({"domain": [["name", "in", {"a": 1}]], "limit": -3}),
            ),
            ("res.partner", "read", json!({"ids": ["a"]})),
            ("res.partner", "create", json!({"vals_list": "nope"})),
            ("res.partner", "write", json!({"ids": [1], "vals": [1, 2]})),
            (
                "calendar.event",
                "write",
                json!({"ids": [1], "vals": {"recurrence_update": "sometimes"}}),
            ),
        ];
        for (model, method, body) in cases {
            let r = w.j2(&w.alice_key, model, method, body.clone()).await;
            assert!(
                r.body.get("name").is_some() || r.status == 200,
                "{model}.{method} {body}: {} {}",
                r.status,
                r.body
            );
        }
        let (status, _) = w
            .rpc(
                "object",
                "execute_kw",
                json!(["odoo", "not-a-uid", {}, 5, null, "x", 3]),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            w.a(
                "res.partner",
                "search_count",
                json!({"domain": [["name", "=", "x"]]})
            )
            .await,
            json!(0)
        );
    }
}

mod later_versions {
    use super::*;

    #[tokio::test]
    async fn date_part_domains_work_from_18_in_the_context_time_zone() {
        let w = world("19.0").await;
        let id = w.event(json!({"name": "Late", "start": "2026-03-05 23:30:00", "stop": "2026-03-06 00:30:00"})).await;
        let utc = w.a("calendar.event", "search", json!({"domain": [["name", "=", "Late"], ["start.day_of_month", "=", 5], ["start.month_number", "=", 3]]})).await;
        assert_eq!(utc, json!([id]));
        let brussels = w.a("calendar.event", "search", json!({"domain": [["name", "=", "Late"], ["start.day_of_month", "=", 6], ["start.day_of_week", "=", 5]], "context": {"tz": "Europe/Brussels"}})).await;
        assert_eq!(brussels, json!([id]), "00:30 on Friday the 6th in Brussels");
        let r = w
            .j2(
                &w.alice_key,
                "calendar.event",
                "search",
                json!({"domain": [["start.fortnight", "=", 1]]}),
            )
            .await;
        assert_eq!(r.status, 500);
        let w = world("17.0").await;
        let r = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "calendar.event",
                "search",
                json!([[["start.month_number", "=", 3]]]),
                json!({}),
            )
            .await;
        assert_eq!(r["error"]["data"]["name"], "builtins.ValueError");
    }

    #[tokio::test]
    async fn users_running_odoos_outlook_sync_cannot_create_or_edit_recurrences() {
        let w = world("19.0").await;
        let (s, _) = w
            .control(
                reqwest::Method::PUT,
                &format!("/users/{}/outlook_sync", w.alice.uid),
                json!({"active": true}),
            )
            .await;
        assert_eq!(s, 200);
        let r = w.j2(&w.alice_key, "calendar.event", "create", json!({"vals_list": [{"name": "R", "start": "2026-03-04 10:00:00", "recurrency": true, "rrule_type": "daily", "count": 2}]})).await;
        assert_eq!(r.status, 422);
        assert!(r.body["message"]
            .as_str()
            .unwrap()
            .contains("Outlook Calendar limitation"));
        let single = w
            .event(json!({"name": "Single", "start": "2026-03-04 10:00:00"}))
            .await;
        let r = w
            .j2(
                &w.alice_key,
                "calendar.event",
                "write",
                json!({"ids": [single], "vals": {"recurrency": true, "rrule_type": "daily"}}),
            )
            .await;
        assert_eq!(r.status, 422);
        w.emu().set_outlook_sync(w.alice.uid, false).unwrap();
        w.a("calendar.event", "write", json!({"ids": [single], "vals": {"recurrency": true, "rrule_type": "daily", "count": 2}})).await;
        assert_eq!(
            w.a(
                "calendar.event",
                "search_count",
                json!({"domain": [["name", "=", "Single"]]})
            )
            .await,
            json!(2)
        );
    }
}

mod event_fields {
    use super::*;

    #[tokio::test]
    async fn calendar_event_has_every_field_of_the_fact_sheet() {
        let w = world("19.0").await;
        let f = w
            .a(
                "calendar.event",
                "fields_get",
                json!({"attributes": ["type"]}),
            )
            .await;
        let wanted = [
            "name",
            "description",
            "user_id",
            "partner_id",
            "location",
            "videocall_location",
            "videocall_source",
            "videocall_channel_id",
            "access_token",
            "privacy",
            "show_as",
            "active",
            "categ_ids",
            "start",
            "stop",
            "allday",
            "start_date",
            "stop_date",
            "duration",
            "display_time",
            "res_model_id",
            "res_model",
            "res_id",
            "opportunity_id",
            "activity_ids",
            "partner_ids",
            "attendee_ids",
            "current_attendee",
            "current_status",
            "attendees_count",
            "accepted_count",
            "declined_count",
            "tentative_count",
            "awaiting_count",
            "alarm_ids",
            "recurrency",
            "recurrence_id",
            "follow_recurrence",
            "recurrence_update",
            "rrule",
            "rrule_type",
            "rrule_type_ui",
            "event_tz",
            "end_type",
            "interval",
            "count",
            "mon",
            "tue",
            "wed",
            "thu",
            "fri",
            "sat",
            "sun",
            "month_by",
            "day",
            "weekday",
            "byday",
            "until",
            "create_date",
            "write_date",
            "create_uid",
            "write_uid",
        ];
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|n| f.get(*n).is_none())
            .collect();
        assert!(missing.is_empty(), "missing: {missing:?}");
        assert_eq!(f["description"]["type"], "html");
        assert_eq!(f["videocall_channel_id"]["type"], "many2one");
        let w16 = world("16.0").await;
        let r = w16
            .execute_kw(
                w16.alice.uid,
                "alice-pw",
                "calendar.event",
                "fields_get",
                json!([["videocall_channel_id"]]),
                json!({"attributes": ["relation"]}),
            )
            .await;
        assert_eq!(
            r["result"]["videocall_channel_id"]["relation"],
            "mail.channel"
        );
    }

    #[tokio::test]
    async fn an_event_linked_to_a_record_puts_a_meeting_activity_on_it() {
        let w = world("19.0").await;
        let cust = w
            .a(
                "res.partner",
                "create",
                json!({"vals_list": [{"name": "Lead contact"}]}),
            )
            .await[0]
            .clone();
        let lead = w
            .a(
                "crm.lead",
                "create",
                json!({"vals_list": [{"name": "Big deal", "partner_id": cust}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        let ev = w
            .event(json!({"name": "Demo call", "start": "2026-03-06 14:00:00", "stop": "2026-03-06 15:00:00", "res_model": "crm.lead", "res_id": lead, "opportunity_id": lead, "videocall_location": "https://meet.example/abc"}))
            .await;
        let row = w
            .read1(
                "calendar.event",
                ev,
                json!([
                    "activity_ids",
                    "res_model_id",
                    "videocall_source",
                    "rrule_type_ui"
                ]),
            )
            .await;
        assert_eq!(row["videocall_source"], "custom");
        assert_eq!(row["res_model_id"][1], "Lead/Opportunity");
        assert_eq!(row["rrule_type_ui"], json!(false));
        let acts = w.a("mail.activity", "search_read", json!({"domain": [["res_model", "=", "crm.lead"], ["res_id", "=", lead]], "fields": ["summary", "activity_type_id", "date_deadline", "calendar_event_id"]})).await;
        assert_eq!(acts[0]["summary"], "Demo call");
        assert_eq!(acts[0]["activity_type_id"][1], "Meeting");
        assert_eq!(acts[0]["date_deadline"], "2026-03-06");
        assert_eq!(row["activity_ids"], json!([acts[0]["id"]]));
    }

    #[tokio::test]
    async fn validation_and_access_errors_have_their_names_on_json_rpc_too() {
        let w = world("18.0").await;
        let r = w.execute_kw(w.alice.uid, "alice-pw", "calendar.event", "create", json!([{"name": "Bad", "start": "2026-03-04 10:00:00", "stop": "2026-03-04 09:00:00"}]), json!({})).await;
        assert_eq!(
            r["error"]["data"]["name"],
            "odoo.exceptions.ValidationError"
        );
        assert_eq!(r["error"]["code"], 200);
        let r = w
            .execute_kw(
                w.bob.uid,
                "bob-pw",
                "res.users",
                "create",
                json!([{"login": "eve", "name": "Eve"}]),
                json!({}),
            )
            .await;
        assert_eq!(r["error"]["data"]["name"], "odoo.exceptions.AccessError");
        let r = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "res.partner",
                "search",
                json!([[]]),
                json!({"context": {"allowed_company_ids": [999]}}),
            )
            .await;
        assert_eq!(
            r["error"]["data"]["message"],
            "Access to unauthorized or invalid companies."
        );
    }
}

mod series_helpers {
    use super::*;

    async fn weekly(w: &World, count: i64) -> (i64, Vec<i64>) {
        let base = w
            .a("calendar.event", "create", json!({"vals_list": [{"name": "Standup", "start": "2026-03-02 09:00:00", "stop": "2026-03-02 09:15:00", "recurrency": true, "rrule_type": "weekly", "end_type": "count", "count": count, "partner_ids": [w.alice.partner_id, w.bob.partner_id]}], "context": {"no_mail_to_attendees": true}}))
            .await[0]
            .as_i64()
            .unwrap();
        w.series_rows(base).await
    }

    #[tokio::test]
    async fn mass_archive_takes_this_the_following_or_all_occurrences() {
        let w = world("19.0").await;
        let (rec, ids) = weekly(&w, 4).await;
        w.a(
            "calendar.event",
            "action_mass_archive",
            json!({"ids": [ids[2]], "recurrence_update_setting": "future_events"}),
        )
        .await;
        assert_eq!(
            w.a(
                "calendar.event",
                "search",
                json!({"domain": [["recurrence_id", "=", rec]], "order": "start asc"})
            )
            .await,
            json!([ids[0], ids[1]])
        );
        assert_eq!(
            w.read1("calendar.recurrence", rec, json!(["until"])).await["until"],
            "2026-03-15"
        );
        w.a(
            "calendar.event",
            "action_mass_deletion",
            json!({"ids": [ids[0]], "recurrence_update_setting": "all_events"}),
        )
        .await;
        assert_eq!(
            w.j2(
                &w.alice_key,
                "calendar.event",
                "read",
                json!({"ids": [ids[1]]})
            )
            .await
            .status,
            404
        );
        let r = w
            .j2(
                &w.alice_key,
                "calendar.event",
                "action_mass_archive",
                json!({"ids": [ids[3]], "recurrence_update_setting": "sometimes"}),
            )
            .await;
        assert_eq!(r.status, 500);
    }

    #[tokio::test]
    async fn adding_an_attendee_to_all_events_sends_one_invitation() {
        let w = world("19.0").await;
        let (rec, ids) = weekly(&w, 3).await;
        w.a("calendar.event", "write", json!({"ids": [ids[1]], "vals": {"partner_ids": [[4, w.carol.partner_id]], "recurrence_update": "all_events"}})).await;
        let out = w.emu().outbox();
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].recipients, vec!["carol@example.org".to_string()]);
        let carol_rows = w.a("calendar.attendee", "search_count", json!({"domain": [["partner_id", "=", w.carol.partner_id], ["event_id.recurrence_id", "=", rec]]})).await;
        assert_eq!(carol_rows, json!(3));
    }

    #[tokio::test]
    async fn xml_rpc_requests_are_logged_with_their_user() {
        let w = world("19.0").await;
        let body = format!("<methodCall><methodName>execute_kw</methodName><params><param><value>odoo</value></param><param><value><int>{}</int></value></param><param><value>bob-pw</value></param><param><value>res.partner</value></param><param><value>search_count</value></param><param><value><array><data><value><array><data></data></array></value></data></array></value></param></params></methodCall>", w.bob.uid);
        let text = w
            .http
            .post(format!("{}/xmlrpc/2/object", w.odoo.url))
            .body(body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("<int>"), "{text}");
        let last = w.emu().request_log().snapshot().pop().unwrap();
        assert_eq!(last.user.as_deref(), Some("bob"));
        assert_eq!(last.path, "/xmlrpc/2/object");
    }
}

mod more_http {
    use super::*;

    #[tokio::test]
    async fn web_content_honours_byte_ranges() {
        let w = world("19.0").await;
        let id = w
            .a(
                "ir.attachment",
                "create",
                json!({"vals_list": [{"name": "r.txt", "raw": "0123456789", "public": true}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        let url = format!("{}/web/content/{id}", w.odoo.url);
        let resp = w
            .http
            .get(&url)
            .header("Range", "bytes=2-5")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 206);
        assert_eq!(resp.headers()["content-range"], "bytes 2-5/10");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), b"2345");
        let tail = w
            .http
            .get(&url)
            .header("Range", "bytes=-3")
            .send()
            .await
            .unwrap();
        assert_eq!(tail.bytes().await.unwrap().as_ref(), b"789");
        let bad = w
            .http
            .get(&url)
            .header("Range", "bytes=20-30")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 416);
        let whole = w.http.get(&url).send().await.unwrap();
        assert_eq!(whole.headers()["accept-ranges"], "bytes");
        assert_eq!(whole.bytes().await.unwrap().len(), 10);
    }

    #[tokio::test]
    async fn the_upload_limit_system_parameter_overrides_the_default_from_18() {
        let w = world("19.0").await;
        w.emu().set_param("web.max_file_upload_size", "2048");
        let r = w
            .j2(
                &w.alice_key,
                "ir.attachment",
                "create",
                json!({"vals_list": [{"name": "big.txt", "raw": "y".repeat(4096)}]}),
            )
            .await;
        assert_eq!(r.status, 413);
        w.emu().set_version("17.0").unwrap();
        assert_eq!(
            w.emu().body_limit(),
            odoo365_testkit::odoo::DEFAULT_BODY_LIMIT
        );
    }

    #[tokio::test]
    async fn search_still_counts_on_16() {
        let w = world("16.0").await;
        let r = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "res.users",
                "search",
                json!([[["share", "=", false]]]),
                json!({"count": true}),
            )
            .await;
        assert_eq!(r["result"], json!(3), "admin, alice, bob");
        let w = world("17.0").await;
        let r = w
            .execute_kw(
                w.alice.uid,
                "alice-pw",
                "res.users",
                "search",
                json!([[]]),
                json!({"count": true}),
            )
            .await;
        assert_eq!(r["error"]["data"]["name"], "builtins.TypeError");
    }
}

mod attendee_commands {
    use super::*;

    #[tokio::test]
    async fn attendee_ids_commands_on_the_event_update_the_attendee_rows() {
        let w = world("19.0").await;
        let ev = w.event(json!({"name": "Cmd", "start": "2026-03-04 10:00:00", "stop": "2026-03-04 11:00:00", "partner_ids": [w.alice.partner_id, w.bob.partner_id]})).await;
        let bob_att = w
            .a(
                "calendar.attendee",
                "search",
                json!({"domain": [["event_id", "=", ev], ["partner_id", "=", w.bob.partner_id]]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        w.a(
            "calendar.event",
            "write",
            json!({"ids": [ev], "vals": {"attendee_ids": [[1, bob_att, {"state": "declined"}]]}}),
        )
        .await;
        let row = w
            .read1("calendar.attendee", bob_att, json!(["state"]))
            .await;
        assert_eq!(row["state"], "declined");
        assert_eq!(
            w.read1("calendar.event", ev, json!(["declined_count"]))
                .await["declined_count"],
            1
        );
    }
}

mod tracking {
    use super::*;

    #[tokio::test]
    async fn tracked_event_fields_log_old_and_new_values_unless_mail_notrack() {
        let w = world("19.0").await;
        let ev = w.event(json!({"name": "Tracked", "location": "Room 1", "start": "2026-03-04 10:00:00", "stop": "2026-03-04 11:00:00"})).await;
        w.a(
            "calendar.event",
            "write",
            json!({"ids": [ev], "vals": {"location": "Room 2", "name": "Renamed"}}),
        )
        .await;
        let msgs = w.a("mail.message", "search_read", json!({"domain": [["model", "=", "calendar.event"], ["res_id", "=", ev]], "fields": ["tracking_value_ids", "message_type"]})).await;
        assert_eq!(msgs.as_array().unwrap().len(), 1);
        let vals = w.a("mail.tracking.value", "read", json!({"ids": msgs[0]["tracking_value_ids"], "fields": ["field_id", "old_value_char", "new_value_char"]})).await;
        assert_eq!(vals[0]["field_id"][1], "Location");
        assert_eq!(
            (
                vals[0]["old_value_char"].clone(),
                vals[0]["new_value_char"].clone()
            ),
            (json!("Room 1"), json!("Room 2"))
        );
        w.a(
            "calendar.event",
            "write",
            json!({"ids": [ev], "vals": {"start": "2026-03-04 12:00:00"}}),
        )
        .await;
        let msgs = w.a("mail.message", "search_read", json!({"domain": [["model", "=", "calendar.event"], ["res_id", "=", ev]], "fields": ["tracking_value_ids"], "order": "id desc"})).await;
        assert_eq!(
            msgs[0]["tracking_value_ids"].as_array().unwrap().len(),
            2,
            "start and stop moved"
        );
        w.a(
            "calendar.event",
            "write",
            json!({"ids": [ev], "vals": {"location": "Room 3"}, "context": {"mail_notrack": true}}),
        )
        .await;
        assert_eq!(
            w.a(
                "mail.message",
                "search_count",
                json!({"domain": [["model", "=", "calendar.event"], ["res_id", "=", ev]]})
            )
            .await,
            json!(2)
        );
    }
}

mod webhooks {
    use super::*;
    use odoo365_testkit::odoo::WebhookRule;
    use std::sync::{Arc, Mutex};

    /// A receiver on loopback that keeps every JSON body it gets.
    async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
                let sink = sink.clone();
                async move {
                    sink.lock().unwrap().push(v);
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, got)
    }

    async fn settle(w: &World, n: usize) -> Vec<odoo365_testkit::odoo::WebhookDelivery> {
        for _ in 0..100 {
            let d = w.emu().webhook_deliveries();
            if d.len() >= n {
                return d;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        w.emu().webhook_deliveries()
    }

    fn rule(url: &str, trigger: &str) -> WebhookRule {
        WebhookRule {
            id: 0,
            name: "Notify sync".into(),
            model: "calendar.event".into(),
            trigger: trigger.into(),
            url: url.into(),
            fields: vec![
                "name".into(),
                "start".into(),
                "write_date".into(),
                "user_id".into(),
                "partner_ids".into(),
                "location".into(),
            ],
        }
    }

    #[tokio::test]
    async fn changes_post_the_chosen_fields_with_python_str_datetimes() {
        let w = world("19.0").await;
        let (url, got) = receiver().await;
        w.emu()
            .clock()
            .set(t0() + chrono::Duration::milliseconds(250));
        let rid = w
            .emu()
            .add_webhook(rule(&url, "on_create_or_write"))
            .unwrap();
        let ev = w.event(json!({"name": "Hooked", "start": "2026-03-04 10:00:00", "stop": "2026-03-04 11:00:00"})).await;
        let d = settle(&w, 1).await;
        assert_eq!(d[0].status, Some(200));
        assert!(d[0].committed);
        let body = got.lock().unwrap()[0].clone();
        assert_eq!(body["_model"], "calendar.event");
        assert_eq!(body["_id"], ev);
        assert_eq!(body["_action"], format!("Notify sync(#{rid})"));
        assert_eq!(body["user_id"], json!(w.alice.uid), "many2one as a bare id");
        assert_eq!(body["partner_ids"], json!([w.alice.partner_id]));
        assert_eq!(body["location"], json!(false));
        assert_eq!(body["start"], "2026-03-04 10:00:00");
        assert_eq!(
            body["write_date"], "2026-03-02 09:00:00.250000",
            "str() keeps microseconds"
        );
    }

    #[tokio::test]
    async fn a_rolled_back_change_is_announced_up_to_18_only() {
        for (version, announced) in [("18.0", true), ("19.0", false)] {
            let w = world(version).await;
            let (url, _got) = receiver().await;
            w.emu().add_webhook(rule(&url, "on_create")).unwrap();
            let r = w.execute_kw(w.alice.uid, "alice-pw", "calendar.event", "create", json!([[{"name": "ok", "start": "2026-03-04 10:00:00", "stop": "2026-03-04 11:00:00"}, {"name": "bad", "start": "2026-03-04 10:00:00", "stop": "2026-03-04 09:00:00"}]]), json!({})).await;
            assert_eq!(
                r["error"]["data"]["name"],
                "odoo.exceptions.ValidationError"
            );
            let d = settle(&w, 1).await;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert_eq!(!d.is_empty(), announced, "{version}: {d:?}");
            if announced {
                assert!(!d[0].committed);
            }
        }
    }

    #[tokio::test]
    async fn unlink_and_archive_rules_fire_with_the_record_still_readable() {
        let w = world("19.0").await;
        let (url, got) = receiver().await;
        w.emu().add_webhook(rule(&url, "on_unlink")).unwrap();
        w.emu().add_webhook(rule(&url, "on_archive")).unwrap();
        let a = w
            .event(json!({"name": "Archive me", "start": "2026-03-04 10:00:00"}))
            .await;
        let b = w
            .event(json!({"name": "Delete me", "start": "2026-03-04 12:00:00"}))
            .await;
        w.a(
            "calendar.event",
            "write",
            json!({"ids": [a], "vals": {"active": false}}),
        )
        .await;
        w.a("calendar.event", "unlink", json!({"ids": [b]})).await;
        settle(&w, 2).await;
        let bodies = got.lock().unwrap().clone();
        let mut names: Vec<&str> = bodies.iter().map(|b| b["name"].as_str().unwrap()).collect();
        names.sort_unstable();
        assert_eq!(names, vec!["Archive me", "Delete me"]);
        assert!(w
            .emu()
            .add_webhook(WebhookRule {
                trigger: "on_tuesday".into(),
                ..rule(&url, "")
            })
            .is_err());
    }
}

mod prototype {
    use super::*;

    #[tokio::test]
    async fn the_saas_18_prototype_answers_errors_as_bare_strings() {
        let w = world("saas~18.3").await;
        assert_eq!(
            w.j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
                .await
                .status,
            404
        );
        let (s, _) = w
            .control(
                reqwest::Method::PUT,
                "/json2_prototype",
                json!({"on": true}),
            )
            .await;
        assert_eq!(s, 200);
        let ok = w
            .j2(&w.alice_key, "res.users", "context_get", json!({}))
            .await;
        assert_eq!(ok.body["uid"], json!(w.alice.uid));
        let bad = w
            .j2("nope", "res.partner", "search", json!({"domain": []}))
            .await;
        assert_eq!(bad.status, 401);
        assert_eq!(bad.body, json!("Invalid apikey"));
        let missing = w
            .j2(&w.alice_key, "res.partner", "read", json!({"ids": [99999]}))
            .await;
        assert_eq!(missing.status, 404);
        assert!(missing
            .body
            .as_str()
            .unwrap()
            .starts_with("Record does not exist"));
        w.emu().set_version("18.0").unwrap();
        assert_eq!(
            w.j2(&w.alice_key, "res.users", "context_get", json!({}))
                .await
                .status,
            404,
            "only saas~18.x had it"
        );
    }
}

mod more_faults {
    use super::*;

    #[tokio::test]
    async fn an_expired_token_fault_is_401_on_json2_and_access_denied_on_rpc() {
        let w = world("19.0").await;
        w.emu()
            .faults()
            .add(FaultRule::once(Fault::ExpiredToken).on_path("/json/2"));
        let r = w
            .j2(&w.alice_key, "res.partner", "search", json!({"domain": []}))
            .await;
        assert_eq!(
            (r.status, r.body["message"].clone()),
            (401, json!("Invalid apikey"))
        );
        w.emu()
            .faults()
            .add(FaultRule::once(Fault::ExpiredToken).on_path("/jsonrpc"));
        let (status, body) = w.rpc("common", "version", json!([])).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["error"]["data"]["name"],
            "odoo.exceptions.AccessDenied"
        );
    }

    #[tokio::test]
    async fn a_timeout_fault_hangs_then_closes_without_an_answer() {
        let w = world("19.0").await;
        w.emu()
            .faults()
            .add(FaultRule::once(Fault::Timeout { hang_ms: 200 }));
        let started = std::time::Instant::now();
        let sent = w
            .http
            .post(format!("{}/json/2/res.partner/search", w.odoo.url))
            .bearer_auth(&w.alice_key)
            .json(&json!({"domain": []}))
            .send()
            .await;
        assert!(sent.is_err());
        assert!(started.elapsed() >= std::time::Duration::from_millis(200));
        let log = w.emu().request_log().snapshot();
        assert_eq!(log.last().unwrap().fault.as_deref(), Some("timeout"));
    }

    #[tokio::test]
    async fn the_same_seed_draws_the_same_faults_across_emulators() {
        let mut runs = Vec::new();
        for _ in 0..2 {
            let w = world("19.0").await;
            w.emu()
                .faults()
                .add(FaultRule::always(Fault::BadGateway).with_probability(0.5));
            let mut statuses = Vec::new();
            for _ in 0..20 {
                statuses.push(
                    w.j2(&w.alice_key, "res.users", "context_get", json!({}))
                        .await
                        .status,
                );
            }
            runs.push(statuses);
        }
        assert_eq!(runs[0], runs[1]);
        assert!(runs[0].contains(&502) && runs[0].contains(&200));
    }
}

mod images {
    use super::*;
    use base64::Engine as _;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    fn sha1_hex(b: &[u8]) -> String {
        use sha1::Digest;
        sha1::Sha1::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    }

    #[tokio::test]
    async fn large_images_are_scaled_to_1920_so_the_checksum_changes() {
        let w = world("19.0").await;
        let b64 = base64::engine::general_purpose::STANDARD;
        let big = png(2000, 100);
        let id = w
            .a(
                "ir.attachment",
                "create",
                json!({"vals_list": [{"name": "wide.png", "datas": b64.encode(&big)}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        let r = w
            .read1(
                "ir.attachment",
                id,
                json!(["checksum", "datas", "mimetype", "file_size"]),
            )
            .await;
        assert_eq!(r["mimetype"], "image/png");
        assert_ne!(r["checksum"], json!(sha1_hex(&big)));
        let stored = b64.decode(r["datas"].as_str().unwrap()).unwrap();
        assert_eq!(r["checksum"], json!(sha1_hex(&stored)));
        let img = image::load_from_memory(&stored).unwrap();
        assert_eq!((img.width(), img.height()), (1920, 96));
        let kept = w.a("ir.attachment", "create", json!({"vals_list": [{"name": "wide.png", "datas": b64.encode(&big)}], "context": {"image_no_postprocess": true}})).await[0].as_i64().unwrap();
        assert_eq!(
            w.read1("ir.attachment", kept, json!(["checksum"])).await["checksum"],
            json!(sha1_hex(&big))
        );
        let small = png(40, 30);
        let s = w
            .a(
                "ir.attachment",
                "create",
                json!({"vals_list": [{"name": "small.png", "datas": b64.encode(&small)}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        assert_eq!(
            w.read1("ir.attachment", s, json!(["checksum"])).await["checksum"],
            json!(sha1_hex(&small))
        );
        let junk = w
            .a(
                "ir.attachment",
                "create",
                json!({"vals_list": [{"name": "junk.png", "raw": "not really a png"}]}),
            )
            .await[0]
            .as_i64()
            .unwrap();
        assert_eq!(
            w.read1("ir.attachment", junk, json!(["checksum"])).await["checksum"],
            json!(sha1_hex(b"not really a png"))
        );
    }
}

mod legacy_xmlrpc {
    use super::*;

    #[tokio::test]
    async fn the_historical_route_puts_the_class_in_a_string_fault_code() {
        let w = world("17.0").await;
        let call = |pw: &str, method: &str, args: &str| {
            format!(
                "<methodCall><methodName>execute_kw</methodName><params><param><value>odoo</value></param><param><value><int>{}</int></value></param><param><value>{pw}</value></param><param><value>res.partner</value></param><param><value>{method}</value></param><param><value>{args}</value></param></params></methodCall>",
                w.alice.uid
            )
        };
        let post = |body: String| {
            let http = w.http.clone();
            let url = format!("{}/xmlrpc/object", w.odoo.url);
            async move {
                http.post(url)
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        let denied = post(call(
            "wrong",
            "search",
            "<array><data><value><array><data></data></array></value></data></array>",
        ))
        .await;
        assert!(denied.contains("<string>AccessDenied</string>"), "{denied}");
        let missing = post(call("alice-pw", "read", "<array><data><value><array><data><value><int>99999</int></value></data></array></value></data></array>")).await;
        assert!(
            missing.contains("<string>warning -- MissingError\n\nRecord does not exist"),
            "{missing}"
        );
        let ok = post(call(
            "alice-pw",
            "search_count",
            "<array><data><value><array><data></data></array></value></data></array>",
        ))
        .await;
        assert!(ok.contains("<params>"), "{ok}");
    }
}

mod startup {
    use super::*;

    #[tokio::test]
    async fn start_refuses_a_version_it_cannot_parse() {
        let r = OdooEmulator::start(OdooConfig {
            version: "nineteen".into(),
            ..OdooConfig::default()
        })
        .await;
        assert!(r.is_err());
        let odoo = OdooEmulator::start(OdooConfig {
            version: "saas~18.2+e".into(),
            ..OdooConfig::default()
        })
        .await
        .unwrap();
        assert_eq!(odoo.emulator.version().version_info()[5], "e");
    }
}

mod programmatic_keys {
    use super::*;

    #[tokio::test]
    async fn keys_rotate_through_generate_and_revoke_within_odoos_limits() {
        let w = world("19.0").await;
        let gen = |key: &str, exp: Value| json!({"key": key, "scope": null, "name": "rotated", "expiration_date": exp});
        let r = w
            .j2(
                &w.alice_key,
                "res.users.apikeys",
                "generate",
                gen(&w.alice_key, json!("2026-04-01 00:00:00")),
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.body["message"], "Programmatic API keys are not enabled");
        w.emu()
            .set_param("base.enable_programmatic_api_keys", "True");
        for (exp, why) in [
            (json!(null), "no expiry"),
            (json!("2026-03-01 00:00:00"), "past"),
            (json!("2026-12-31 00:00:00"), "over 90 days"),
        ] {
            let r = w
                .j2(
                    &w.alice_key,
                    "res.users.apikeys",
                    "generate",
                    gen(&w.alice_key, exp),
                )
                .await;
            assert_eq!(r.status, 422, "{why}: {}", r.body);
        }
        let r = w
            .j2(
                &w.alice_key,
                "res.users.apikeys",
                "generate",
                gen(&w.bob_key, json!("2026-04-01 00:00:00")),
            )
            .await;
        assert_eq!(
            r.body["message"],
            "The provided API key is invalid or does not belong to the current user."
        );
        let new_key = w
            .a(
                "res.users.apikeys",
                "generate",
                gen(&w.alice_key, json!("2026-04-01 00:00:00")),
            )
            .await;
        let new_key = new_key.as_str().unwrap().to_string();
        assert_eq!(new_key.len(), 40);
        assert_eq!(
            w.j2(&new_key, "res.users", "context_get", json!({}))
                .await
                .body["uid"],
            json!(w.alice.uid)
        );
        w.emu().set_param("base.programmatic_api_keys_limit", "3");
        w.a(
            "res.users.apikeys",
            "generate",
            gen(&new_key, json!("2026-04-01 00:00:00")),
        )
        .await;
        let r = w
            .j2(
                &new_key,
                "res.users.apikeys",
                "generate",
                gen(&new_key, json!("2026-04-01 00:00:00")),
            )
            .await;
        assert_eq!(
            (r.status, r.body["message"].clone()),
            (
                422,
                json!("Limit of 3 API keys is reached for programmatic creation")
            )
        );
        assert_eq!(
            w.a("res.users.apikeys", "revoke", json!({"key": new_key}))
                .await,
            json!(true)
        );
        assert_eq!(
            w.j2(&new_key, "res.users", "context_get", json!({}))
                .await
                .status,
            401
        );
        let r = w
            .j2(
                &w.alice_key,
                "res.users.apikeys",
                "revoke",
                json!({"key": new_key}),
            )
            .await;
        assert_eq!(r.status, 403);
        let r = w
            .j2(
                &w.alice_key,
                "res.users.apikeys",
                "revoke",
                json!({"key": w.bob_key}),
            )
            .await;
        assert_eq!(r.status, 403, "someone else's key");
    }

    #[tokio::test]
    async fn admins_may_make_persistent_keys_and_18_has_no_programmatic_keys() {
        let w = world("19.0").await;
        let admin_key = w.emu().create_api_key(2, NewApiKey::default()).unwrap();
        let k = w
            .j2(
                &admin_key,
                "res.users.apikeys",
                "generate",
                json!({"key": admin_key, "scope": "rpc", "name": "bot", "expiration_date": false}),
            )
            .await;
        assert_eq!(k.status, 200, "{}", k.body);
        let w18 = world("18.0").await;
        let r = w18
            .execute_kw(
                w18.alice.uid,
                &w18.alice_key,
                "res.users.apikeys",
                "generate",
                json!([w18.alice_key, null, "x", false]),
                json!({}),
            )
            .await;
        assert_eq!(r["error"]["code"], 404);
    }
}

mod alarms {
    use super::*;

    #[tokio::test]
    async fn the_standard_reminders_exist_and_events_take_them() {
        let w = world("19.0").await;
        let alarms = w.a("calendar.alarm", "search_read", json!({"domain": [["alarm_type", "=", "notification"]], "fields": ["name", "duration_minutes"], "order": "id asc"})).await;
        assert_eq!(alarms[0]["duration_minutes"], 15);
        assert_eq!(alarms[4]["duration_minutes"], 1440);
        let id = alarms[1]["id"].as_i64().unwrap();
        let ev = w.event(json!({"name": "Remind me", "start": "2026-03-04 10:00:00", "alarm_ids": [[6, 0, [id]]]})).await;
        assert_eq!(
            w.read1("calendar.event", ev, json!(["alarm_ids"])).await["alarm_ids"],
            json!([id])
        );
    }
}

mod one2many {
    use super::*;

    #[tokio::test]
    async fn one2many_commands_create_link_and_delete_children() {
        let w = world("19.0").await;
        let parent = w.a("res.partner", "create", json!({"vals_list": [{"name": "Parent Co", "is_company": true, "child_ids": [[0, 0, {"name": "First child"}], [0, 0, {"name": "Second child"}]]}]})).await[0].as_i64().unwrap();
        let kids = w.read1("res.partner", parent, json!(["child_ids"])).await["child_ids"].clone();
        assert_eq!(kids.as_array().unwrap().len(), 2);
        let first = kids[0].as_i64().unwrap();
        assert_eq!(
            w.read1("res.partner", first, json!(["parent_id"])).await["parent_id"][0],
            json!(parent)
        );
        w.a(
            "res.partner",
            "write",
            json!({"ids": [parent], "vals": {"child_ids": [[2, first]]}}),
        )
        .await;
        assert_eq!(
            w.j2(&w.alice_key, "res.partner", "read", json!({"ids": [first]}))
                .await
                .status,
            404
        );
        let r = w
            .j2(
                &w.alice_key,
                "res.partner",
                "write",
                json!({"ids": [parent], "vals": {"child_ids": [[9, 1]]}}),
            )
            .await;
        assert_eq!(r.status, 500, "unknown command");
    }
}

mod moving_series {
    use super::*;

    async fn mondays(w: &World) -> Vec<i64> {
        let base = w
            .a("calendar.event", "create", json!({"vals_list": [{"name": "Mondays", "start": "2026-03-02 08:00:00", "stop": "2026-03-02 09:00:00", "recurrency": true, "rrule_type": "weekly", "mon": true, "end_type": "count", "count": 3, "event_tz": "Europe/Brussels"}], "context": {"no_mail_to_attendees": true}}))
            .await[0]
            .as_i64()
            .unwrap();
        let rec = w
            .read1("calendar.event", base, json!(["recurrence_id"]))
            .await["recurrence_id"][0]
            .as_i64()
            .unwrap();
        let ids = w
            .a(
                "calendar.event",
                "search",
                json!({"domain": [["recurrence_id", "=", rec]], "order": "start asc"}),
            )
            .await;
        ids.as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect()
    }

    async fn active_starts(w: &World) -> Vec<(i64, String)> {
        let rows = w.a("calendar.event", "search_read", json!({"domain": [["name", "=", "Mondays"]], "fields": ["start"], "order": "start asc"})).await;
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_i64().unwrap(),
                    r["start"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn moving_all_events_to_another_weekday_moves_the_rule_with_them() {
        let w = world("19.0").await;
        let ids = mondays(&w).await;
        w.a("calendar.event", "write", json!({"ids": [ids[1]], "vals": {"start": "2026-03-10 08:00:00", "stop": "2026-03-10 09:00:00", "recurrence_update": "all_events"}})).await;
        let got = active_starts(&w).await;
        let starts: Vec<&str> = got.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            starts,
            vec![
                "2026-03-03 08:00:00",
                "2026-03-10 08:00:00",
                "2026-03-17 08:00:00"
            ]
        );
        assert_eq!(got[0].0, ids[0]);
    }

    #[tokio::test]
    async fn moving_this_and_following_to_another_weekday_starts_a_series_on_that_day() {
        let w = world("19.0").await;
        let ids = mondays(&w).await;
        w.a("calendar.event", "write", json!({"ids": [ids[1]], "vals": {"start": "2026-03-11 08:00:00", "stop": "2026-03-11 09:00:00", "recurrence_update": "future_events"}})).await;
        let got = active_starts(&w).await;
        let starts: Vec<&str> = got.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            starts,
            vec![
                "2026-03-02 08:00:00",
                "2026-03-11 08:00:00",
                "2026-03-18 08:00:00"
            ]
        );
        assert_eq!(got[1].0, ids[1], "the edited event starts the new series");
    }
}

mod key_expiry_reads {
    use super::*;

    fn names(v: &Value) -> Vec<String> {
        let mut out: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        out.sort();
        out
    }

    #[tokio::test]
    async fn a_user_reads_the_expiry_of_their_own_keys_only_and_cannot_change_them() {
        let w = world("19.0").await;
        let e = w.emu();
        e.create_api_key(
            w.alice.uid,
            NewApiKey {
                name: Some("sync".into()),
                expiration_date: Some("2026-03-05 09:00:00".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let fields = json!(["name", "user_id", "scope", "expiration_date"]);
        let mine = w
            .a(
                "res.users.apikeys",
                "search_read",
                json!({"domain": [], "fields": fields}),
            )
            .await;
        assert_eq!(names(&mine), vec!["sync", "test key"], "{mine}");
        let sync = mine
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "sync")
            .unwrap();
        assert_eq!(sync["expiration_date"], "2026-03-05 09:00:00");
        assert_eq!(sync["scope"], false);
        assert_eq!(sync["user_id"][0], w.alice.uid);
        // Bob's key is hidden from Alice: not in a search, and a read is refused.
        let bobs = e.api_keys().iter().find(|k| k.uid == w.bob.uid).unwrap().id;
        let by_domain = w
            .a(
                "res.users.apikeys",
                "search",
                json!({"domain": [["user_id", "=", w.bob.uid]]}),
            )
            .await;
        assert_eq!(by_domain, json!([]));
        let r = w
            .j2(
                &w.alice_key,
                "res.users.apikeys",
                "read",
                json!({"ids": [bobs], "fields": ["expiration_date"]}),
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        // Readonly for every group: no write, no unlink, no create through the ORM.
        let own = sync["id"].as_i64().unwrap();
        for (method, body) in [
            (
                "write",
                json!({"ids": [own], "vals": {"expiration_date": "2027-01-01 00:00:00"}}),
            ),
            ("unlink", json!({"ids": [own]})),
            ("create", json!({"vals_list": [{"name": "x"}]})),
        ] {
            let r = w.j2(&w.alice_key, "res.users.apikeys", method, body).await;
            assert_eq!(r.status, 403, "{method}: {}", r.body);
        }
        // An administrator sees every key (to revoke them).
        let admin_key = e.create_api_key(2, NewApiKey::default()).unwrap();
        let all = w
            .j2(
                &admin_key,
                "res.users.apikeys",
                "search_count",
                json!({"domain": []}),
            )
            .await;
        assert_eq!(all.body, json!(e.api_keys().len()));
        // A revoked key disappears from the reads too.
        assert!(e.revoke_api_key(own));
        let mine = w
            .a(
                "res.users.apikeys",
                "search_read",
                json!({"domain": [], "fields": ["name"]}),
            )
            .await;
        assert_eq!(names(&mine), vec!["test key"]);
    }

    #[tokio::test]
    async fn before_18_keys_have_no_expiration_date_field() {
        let w = world("17.0").await;
        let r = w
            .execute_kw(
                w.alice.uid,
                &w.alice_key,
                "res.users.apikeys",
                "search_read",
                json!([[["user_id", "=", w.alice.uid]]]),
                json!({"fields": ["name", "expiration_date"]}),
            )
            .await;
        assert!(
            r["error"]["data"]["message"]
                .as_str()
                .unwrap()
                .contains("expiration_date"),
            "{r}"
        );
        let r = w
            .execute_kw(
                w.alice.uid,
                &w.alice_key,
                "res.users.apikeys",
                "search_read",
                json!([[["user_id", "=", w.alice.uid]]]),
                json!({"fields": ["name", "scope"]}),
            )
            .await;
        assert_eq!(names(&r["result"]), vec!["test key"], "{r}");
    }
}
