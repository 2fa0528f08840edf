#![allow(clippy::unwrap_used)]
//! The Odoo client against the testkit's Odoo emulator, on 19.0 (JSON-2) and on 17.0
//! (JSON-RPC): every retry, throttle, expiry, maybe-applied and polling path, checked on
//! the emulator's records, outbox and request log rather than on the client's word alone.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use odoo365_odoo::{
    ApiKey, AttachmentUpload, CalendarEvent, ManualClock, MessagePost, OdooClient, OdooConfig,
    OdooError, SearchOptions, Transport, WriteOrigin,
};
use odoo365_testkit::odoo::{
    CreatedUser, NewApiKey, NewUser, OdooConfig as EmuConfig, OdooEmulator, Ret, RunningOdoo,
};
use odoo365_testkit::{Fault, FaultRule, RequestRecord};
use serde_json::{json, Map, Value};

const ADMIN_UID: i64 = 2;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

struct H {
    odoo: RunningOdoo,
    client: OdooClient,
    clock: ManualClock,
    alice: CreatedUser,
    bob: CreatedUser,
    key: String,
    version: &'static str,
}

impl H {
    fn log(&self) -> Vec<RequestRecord> {
        self.odoo.emulator.request_log().snapshot()
    }

    fn last_seq(&self) -> u64 {
        self.log().last().map(|r| r.seq).unwrap_or(0)
    }

    /// Runs a call in the emulator directly (not through the client under test).
    fn emu(&self, uid: i64, model: &str, method: &str, ids: &[i64], kwargs: Value) -> Value {
        let Value::Object(kwargs) = kwargs else {
            panic!("kwargs must be an object")
        };
        match self
            .odoo
            .emulator
            .execute(uid, model, method, ids, kwargs)
            .unwrap()
        {
            Ret::Value(v) => v,
            Ret::Records(ids) | Ret::Created { ids, .. } => json!(ids),
            Ret::One(id) => json!(id),
        }
    }

    fn count(&self, model: &str, domain: Value) -> u64 {
        self.emu(
            ADMIN_UID,
            model,
            "search_count",
            &[],
            json!({"domain": domain, "context": {"active_test": false}}),
        )
        .as_u64()
        .unwrap()
    }

    async fn connect_with(&self, key: &str) -> Result<OdooClient, OdooError> {
        OdooClient::connect(config(&self.odoo, key, &self.clock)).await
    }
}

fn config(odoo: &RunningOdoo, key: &str, clock: &ManualClock) -> OdooConfig {
    let mut cfg = OdooConfig::new(
        odoo.url.parse().unwrap(),
        "alice",
        ApiKey::new(key.to_string()),
    );
    cfg.database = Some("odoo".into());
    cfg.timeout = Duration::from_secs(10);
    // No client-side rate limit in the way: the sleeps recorded are the retries'.
    cfg.requests_per_second = 10_000.0;
    cfg.requests_burst = 10_000;
    cfg.clock = std::sync::Arc::new(clock.clone());
    cfg.jitter_seed = 7;
    cfg
}

async fn harness(version: &'static str) -> H {
    let odoo = OdooEmulator::start(EmuConfig {
        seed: 7,
        clock: odoo365_testkit::Clock::frozen(t0()),
        version: version.into(),
        ..EmuConfig::default()
    })
    .await
    .unwrap();
    let alice = odoo
        .emulator
        .create_user(NewUser {
            email: Some("alice@example.com".into()),
            ..NewUser::internal("alice")
        })
        .unwrap();
    let bob = odoo
        .emulator
        .create_user(NewUser {
            email: Some("bob@example.com".into()),
            ..NewUser::internal("bob")
        })
        .unwrap();
    let key = odoo
        .emulator
        .create_api_key(alice.uid, NewApiKey::default())
        .unwrap();
    let clock = ManualClock::new();
    let client = OdooClient::connect(config(&odoo, &key, &clock))
        .await
        .unwrap();
    H {
        odoo,
        client,
        clock,
        alice,
        bob,
        key,
        version,
    }
}

fn vals(v: Value) -> Map<String, Value> {
    let Value::Object(m) = v else {
        panic!("not an object")
    };
    m
}

/// A future event (the emulator's clock is at `t0`), with Bob as attendee when asked.
fn event(h: &H, name: &str, with_bob: bool) -> Map<String, Value> {
    let mut v = json!({
        "name": name,
        "start": "2026-11-25 10:00:00",
        "stop": "2026-11-25 11:00:00",
    });
    if with_bob {
        v["partner_ids"] = json!([[6, 0, [h.alice.partner_id, h.bob.partner_id]]]);
    }
    vals(v)
}

/// Runs `$body` as two tests: Odoo 19.0 over JSON-2 and Odoo 17.0 over JSON-RPC.
macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn on_19_over_json2() {
                super::$body(super::harness("19.0").await).await;
            }
            #[tokio::test]
            async fn on_17_over_jsonrpc() {
                super::$body(super::harness("17.0").await).await;
            }
        }
    };
}

// ---------------------------------------------------------------------------------------

async fn detects_the_version_and_picks_the_transport(h: H) {
    let expected = if h.version == "19.0" {
        Transport::Json2
    } else {
        Transport::JsonRpc
    };
    assert_eq!(h.client.transport(), expected);
    assert_eq!(h.client.user().id, h.alice.uid);
    let log = h.log();
    let version_get = log.iter().find(|r| r.path == "/web/version").unwrap();
    if h.version == "19.0" {
        assert_eq!(version_get.status, 200);
        assert!(log.iter().any(|r| r.path.starts_with("/json/2/")));
        assert!(!log.iter().any(|r| r.path == "/jsonrpc"));
    } else {
        // No /web/version before 19: the client falls back to version_info.
        assert_eq!(version_get.status, 404);
        assert!(log
            .iter()
            .any(|r| r.path == "/web/webclient/version_info" && r.status == 200));
        assert!(log.iter().any(|r| r.path == "/jsonrpc"));
        assert!(!log.iter().any(|r| r.path.starts_with("/json/2/")));
    }
}
on_both!(
    connecting_detects_the_version_and_picks_the_transport,
    detects_the_version_and_picks_the_transport
);

async fn crud_lands_in_the_emulator(h: H) {
    let id = h
        .client
        .create_one("calendar.event", event(&h, "CRUD", false), WriteOrigin::App)
        .await
        .unwrap();
    assert_eq!(h.count("calendar.event", json!([["name", "=", "CRUD"]])), 1);
    let rows: Vec<CalendarEvent> = h
        .client
        .search_read(
            "calendar.event",
            json!([["id", "=", id]]),
            &["name", "start", "stop"],
            &SearchOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(rows[0].name.as_deref(), Some("CRUD"));
    assert_eq!(
        rows[0].start,
        Some(Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap())
    );
    h.client
        .write(
            "calendar.event",
            &[id],
            vals(json!({"name": "CRUD renamed"})),
            WriteOrigin::App,
        )
        .await
        .unwrap();
    assert_eq!(
        h.count("calendar.event", json!([["name", "=", "CRUD renamed"]])),
        1
    );
    h.client
        .unlink("calendar.event", &[id], WriteOrigin::App)
        .await
        .unwrap();
    assert_eq!(h.count("calendar.event", json!([["id", "=", id]])), 0);
}
on_both!(
    search_read_create_write_and_unlink_land_in_the_emulator,
    crud_lands_in_the_emulator
);

async fn microsoft_writes_send_no_mail(h: H) {
    let id = h
        .client
        .create_one(
            "calendar.event",
            event(&h, "Mirrored", true),
            WriteOrigin::Microsoft,
        )
        .await
        .unwrap();
    h.client
        .write_events(
            &[id],
            vals(json!({"start": "2026-11-25 12:00:00", "stop": "2026-11-25 13:00:00"})),
            odoo365_odoo::RecurrenceUpdate::SelfOnly,
            WriteOrigin::Microsoft,
        )
        .await
        .unwrap();
    assert!(
        h.odoo.emulator.outbox().is_empty(),
        "{:?}",
        h.odoo.emulator.outbox()
    );
    // The same change made as Odoo itself would mail Bob.
    h.client
        .write_events(
            &[id],
            vals(json!({"start": "2026-11-25 14:00:00", "stop": "2026-11-25 15:00:00"})),
            odoo365_odoo::RecurrenceUpdate::SelfOnly,
            WriteOrigin::App,
        )
        .await
        .unwrap();
    let outbox = h.odoo.emulator.outbox();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].kind, "date_changed");
    assert_eq!(outbox[0].res_id, id);
    assert!(outbox[0]
        .recipients
        .contains(&"bob@example.com".to_string()));
}
on_both!(
    a_write_from_microsoft_sends_no_mail_while_an_ordinary_one_does,
    microsoft_writes_send_no_mail
);

async fn late_commit_is_caught_by_the_overlap(h: H) {
    let first = h
        .client
        .create_one(
            "calendar.event",
            event(&h, "Early", false),
            WriteOrigin::App,
        )
        .await
        .unwrap();
    let round: Vec<CalendarEvent> = h
        .client
        .changed_since(None, Duration::ZERO, Value::Null)
        .await
        .unwrap();
    assert!(round.iter().any(|e| e.id == first));
    let cursor = round.iter().filter_map(|e| e.write_date).max().unwrap();

    // Two minutes later a transaction that started three minutes ago commits.
    h.odoo
        .emulator
        .clock()
        .advance(chrono::Duration::minutes(2));
    h.odoo.emulator.late_commit_next(180);
    let late = h
        .client
        .create_one("calendar.event", event(&h, "Late", false), WriteOrigin::App)
        .await
        .unwrap();
    let late_date = h.emu(
        ADMIN_UID,
        "calendar.event",
        "read",
        &[late],
        json!({"fields": ["write_date"]}),
    )[0]["write_date"]
        .clone();
    assert!(
        late_date.as_str().unwrap() < "2026-11-23 08:00:00",
        "{late_date}"
    );

    let without: Vec<CalendarEvent> = h
        .client
        .changed_since(Some(cursor), Duration::ZERO, Value::Null)
        .await
        .unwrap();
    assert!(
        !without.iter().any(|e| e.id == late),
        "without an overlap the late commit is missed"
    );
    let with: Vec<CalendarEvent> = h
        .client
        .changed_since(Some(cursor), Duration::from_secs(300), Value::Null)
        .await
        .unwrap();
    assert!(with.iter().any(|e| e.id == late));
}
on_both!(
    a_late_committing_transaction_is_caught_by_the_polling_overlap,
    late_commit_is_caught_by_the_overlap
);

async fn hard_delete_found_by_existing_ids(h: H) {
    let ids = h
        .client
        .create(
            "calendar.event",
            vec![event(&h, "Keep", false), event(&h, "Gone", false)],
            WriteOrigin::App,
        )
        .await
        .unwrap();
    // Someone deletes one in Odoo.
    h.emu(
        h.alice.uid,
        "calendar.event",
        "unlink",
        &[ids[1]],
        json!({}),
    );
    let existing = h.client.existing_ids("calendar.event", &ids).await.unwrap();
    assert_eq!(existing, vec![ids[0]]);
}
on_both!(
    a_hard_delete_in_odoo_is_found_by_existing_ids,
    hard_delete_found_by_existing_ids
);

async fn revoked_key_is_unauthorized(h: H) {
    let key_id = h
        .odoo
        .emulator
        .api_keys()
        .into_iter()
        .find(|k| k.uid == h.alice.uid)
        .unwrap()
        .id;
    assert!(h.odoo.emulator.revoke_api_key(key_id));
    let got = h
        .client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await;
    assert!(matches!(got, Err(OdooError::Unauthorized(_))), "{got:?}");
    let again = h.connect_with(&h.key).await;
    assert!(
        matches!(again, Err(OdooError::Unauthorized(_))),
        "{again:?}"
    );
}
on_both!(
    a_revoked_api_key_is_unauthorized,
    revoked_key_is_unauthorized
);

async fn expired_key_is_unauthorized(version: &'static str) {
    let h = harness(version).await;
    let key = h
        .odoo
        .emulator
        .create_api_key(
            h.alice.uid,
            NewApiKey {
                expiration_date: Some("2026-11-24 08:00:00".into()),
                ..NewApiKey::default()
            },
        )
        .unwrap();
    let client = h.connect_with(&key).await.unwrap();
    client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await
        .unwrap();
    h.odoo.emulator.clock().advance(chrono::Duration::days(2));
    let got = client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await;
    assert!(matches!(got, Err(OdooError::Unauthorized(_))), "{got:?}");
    if h.client.transport() == Transport::Json2 {
        assert_eq!(h.log().last().unwrap().status, 401);
    }
}

/// The key's expiry is read on connect from the user's own keys: exact with one RPC key,
/// the earliest bound with two, other users' and other scopes' keys left out.
async fn key_expiry_is_learnt_on_connect(version: &'static str) {
    let h = harness(version).await;
    let e = &h.odoo.emulator;
    let expiring = |date: &str, scope: Option<&str>| NewApiKey {
        name: Some("sync".into()),
        scope: scope.map(str::to_string),
        expiration_date: Some(date.into()),
    };
    // Bob's soon-expiring key and Alice's plugin-scoped key are not Alice's RPC key.
    e.create_api_key(h.bob.uid, expiring("2026-11-24 08:00:00", None))
        .unwrap();
    e.create_api_key(
        h.alice.uid,
        expiring("2026-11-25 08:00:00", Some("odoo.plugin.outlook")),
    )
    .unwrap();
    // The harness's key never expires, so it is revoked to leave Alice one RPC key.
    let persistent = e
        .api_keys()
        .iter()
        .find(|k| k.uid == h.alice.uid && k.expiration_date.is_none())
        .unwrap()
        .id;
    let key = e
        .create_api_key(h.alice.uid, expiring("2026-11-28 08:00:00", None))
        .unwrap();
    assert!(e.revoke_api_key(persistent));
    let client = h.connect_with(&key).await.unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap();
    assert_eq!(client.key_expiry(t0()), odoo365_odoo::KeyExpiry::At { at });
    // A second RPC key makes it a bound: Odoo does not say which key is in use.
    e.create_api_key(h.alice.uid, expiring("2026-12-20 08:00:00", Some("rpc")))
        .unwrap();
    let client = h.connect_with(&key).await.unwrap();
    assert_eq!(
        client.key_expiry(t0()),
        odoo365_odoo::KeyExpiry::EarliestOf { at, keys: 2 }
    );
    assert_eq!(client.key_expiry(t0()).expires_at(), Some(at));
}

#[tokio::test]
async fn the_key_expiry_is_read_on_connect_on_19_over_json2() {
    key_expiry_is_learnt_on_connect("19.0").await;
}

#[tokio::test]
async fn the_key_expiry_is_read_on_connect_on_18_over_jsonrpc() {
    key_expiry_is_learnt_on_connect("18.0").await;
}

#[tokio::test]
async fn keys_never_expire_on_17() {
    let h = harness("17.0").await;
    // Asking 17.0 for `expiration_date` would fail and leave the expiry unknown.
    assert_eq!(h.client.key_expiry(t0()), odoo365_odoo::KeyExpiry::Never);
}

#[tokio::test]
async fn an_expired_api_key_is_unauthorized_on_19_over_json2() {
    expired_key_is_unauthorized("19.0").await;
}

#[tokio::test]
async fn an_expired_api_key_is_unauthorized_on_18_over_jsonrpc() {
    expired_key_is_unauthorized("18.0").await;
}

async fn access_and_missing_errors_are_typed(h: H) {
    let got = h
        .client
        .write(
            "res.company",
            &[1],
            vals(json!({"name": "Hijacked"})),
            WriteOrigin::App,
        )
        .await;
    match got {
        Err(OdooError::Access(f)) => assert!(f.name.ends_with("AccessError"), "{f:?}"),
        other => panic!("expected AccessError, got {other:?}"),
    }
    assert_eq!(
        h.count("res.company", json!([["name", "=", "Hijacked"]])),
        0
    );

    let id = h
        .client
        .create_one(
            "calendar.event",
            event(&h, "Short-lived", false),
            WriteOrigin::App,
        )
        .await
        .unwrap();
    h.emu(ADMIN_UID, "calendar.event", "unlink", &[id], json!({}));
    let got = h
        .client
        .write(
            "calendar.event",
            &[id],
            vals(json!({"name": "Too late"})),
            WriteOrigin::App,
        )
        .await;
    match got {
        Err(OdooError::Missing(f)) => assert!(f.name.ends_with("MissingError"), "{f:?}"),
        other => panic!("expected MissingError, got {other:?}"),
    }
}
on_both!(
    access_and_missing_errors_are_typed_with_odoos_message,
    access_and_missing_errors_are_typed
);

async fn throttled_reads_are_retried(h: H) {
    let seq = h.last_seq();
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::Throttle { retry_after_s: 3 }));
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::Unavailable {
            retry_after_s: Some(5),
        }));
    let ids = h
        .client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await
        .unwrap();
    assert!(ids.is_empty());
    let statuses: Vec<u16> = h
        .odoo
        .emulator
        .request_log()
        .since(seq)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![429, 503, 200]);
    let sleeps = h.clock.sleeps();
    assert_eq!(sleeps[0], Duration::from_secs(3));
    assert_eq!(sleeps[1], Duration::from_secs(5));
}
on_both!(
    a_read_throttled_with_429_then_503_is_retried_after_retry_after,
    throttled_reads_are_retried
);

async fn throttled_write_is_resent(h: H) {
    let seq = h.last_seq();
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::Throttle { retry_after_s: 2 }).on_writes());
    h.client
        .create_one(
            "calendar.event",
            event(&h, "Throttled", false),
            WriteOrigin::App,
        )
        .await
        .unwrap();
    assert_eq!(
        h.count("calendar.event", json!([["name", "=", "Throttled"]])),
        1
    );
    let statuses: Vec<u16> = h
        .odoo
        .emulator
        .request_log()
        .since(seq)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![429, 200]);
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(2)]);
}
on_both!(
    a_throttled_create_was_not_applied_and_is_resent_once,
    throttled_write_is_resent
);

async fn lost_create_is_maybe_applied(h: H) {
    let seq = h.last_seq();
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::ResetAfterApply).on_writes());
    let got = h
        .client
        .create_one("calendar.event", event(&h, "Lost", false), WriteOrigin::App)
        .await;
    assert!(
        matches!(got, Err(OdooError::MaybeApplied { .. })),
        "{got:?}"
    );
    assert_eq!(h.count("calendar.event", json!([["name", "=", "Lost"]])), 1);
    let sent = h.odoo.emulator.request_log().since(seq);
    assert_eq!(sent.len(), 1, "a create is never resent blindly: {sent:?}");
    assert_eq!(sent[0].status, 0);
}
on_both!(
    a_create_whose_answer_is_dropped_after_commit_is_maybe_applied,
    lost_create_is_maybe_applied
);

async fn attachments_round_trip(h: H) {
    let id = h
        .client
        .create_one(
            "calendar.event",
            event(&h, "With file", false),
            WriteOrigin::App,
        )
        .await
        .unwrap();
    let content: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let sha1 = {
        use sha1::Digest;
        hex::encode(sha1::Sha1::digest(&content))
    };
    let att = h
        .client
        .attachment_upload(
            &AttachmentUpload {
                name: "agenda.bin".into(),
                res_model: "calendar.event".into(),
                res_id: id,
                mimetype: Some("application/octet-stream".into()),
                content: content.clone().into(),
            },
            WriteOrigin::App,
        )
        .await
        .unwrap();
    assert_eq!(att.checksum.as_deref(), Some(sha1.as_str()));
    let stored = h.emu(
        ADMIN_UID,
        "ir.attachment",
        "read",
        &[att.id],
        json!({"fields": ["checksum", "file_size", "res_id"]}),
    );
    assert_eq!(stored[0]["checksum"], sha1.as_str());
    assert_eq!(stored[0]["file_size"], content.len());
    assert_eq!(stored[0]["res_id"], id);

    let back = h.client.attachment_content(att.id).await.unwrap();
    assert_eq!(&back[..], &content[..]);
    let mut sink = Vec::new();
    let dl = h
        .client
        .attachment_download(att.id, &mut sink)
        .await
        .unwrap();
    assert_eq!(sink, content);
    assert_eq!(dl.sha1_hex, sha1);
    assert!(h
        .log()
        .iter()
        .any(|r| r.path.starts_with(&format!("/web/content/{}", att.id)) && r.status == 200));
}
on_both!(
    an_attachment_is_uploaded_checked_and_downloaded,
    attachments_round_trip
);

async fn message_post_lands(h: H) {
    let id = h
        .client
        .create_one(
            "calendar.event",
            event(&h, "Chatter", false),
            WriteOrigin::App,
        )
        .await
        .unwrap();
    let before = h.count(
        "mail.message",
        json!([["model", "=", "calendar.event"], ["res_id", "=", id]]),
    );
    let msg = h
        .client
        .message_post(
            "calendar.event",
            id,
            &MessagePost {
                body_html: "<p>Room <b>changed</b></p>".into(),
                internal_note: true,
            },
            WriteOrigin::App,
        )
        .await
        .unwrap();
    let rows = h.emu(
        ADMIN_UID,
        "mail.message",
        "read",
        &[msg],
        json!({"fields": ["body", "model", "res_id"]}),
    );
    assert_eq!(rows[0]["res_id"], id);
    assert!(
        rows[0]["body"].as_str().unwrap().contains("<b>changed</b>"),
        "{rows}"
    );
    assert_eq!(
        h.count(
            "mail.message",
            json!([["model", "=", "calendar.event"], ["res_id", "=", id]]),
        ),
        before + 1
    );
    // How the app's `has_note` looks for a note before posting it again (crates/app): the
    // user counts the record's messages by a piece of their body.
    let found = h
        .client
        .search_count(
            "mail.message",
            json!([
                ["model", "=", "calendar.event"],
                ["res_id", "=", id],
                ["body", "ilike", "<b>changed</b>"]
            ]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(found, 1);
}
on_both!(
    message_post_adds_one_html_message_to_the_record,
    message_post_lands
);

#[tokio::test]
async fn message_post_on_16_over_jsonrpc_adds_one_html_message() {
    message_post_lands(harness("16.0").await).await;
}

#[tokio::test]
async fn connecting_to_16_detects_the_version_and_uses_jsonrpc() {
    let h = harness("16.0").await;
    assert_eq!(h.client.transport(), Transport::JsonRpc);
    assert_eq!(h.client.version().major, 16);
}

async fn serialization_failure_on_create_is_resent(h: H) {
    let seq = h.last_seq();
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::Internal).on_writes());
    h.client
        .create_one(
            "calendar.event",
            event(&h, "Conflicted", false),
            WriteOrigin::App,
        )
        .await
        .unwrap();
    assert_eq!(
        h.count("calendar.event", json!([["name", "=", "Conflicted"]])),
        1
    );
    let sent = h.odoo.emulator.request_log().since(seq);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].fault.as_deref(), Some("internal"));
    assert_eq!(h.clock.sleeps().len(), 1);
}
on_both!(
    a_create_rolled_back_by_a_serialization_failure_is_resent_once,
    serialization_failure_on_create_is_resent
);

async fn bad_gateway_read_retried_write_maybe(h: H) {
    let seq = h.last_seq();
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::BadGateway));
    h.client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await
        .unwrap();
    let statuses: Vec<u16> = h
        .odoo
        .emulator
        .request_log()
        .since(seq)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![502, 200]);

    let seq = h.last_seq();
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::BadGateway).on_writes());
    let got = h
        .client
        .create_one(
            "calendar.event",
            event(&h, "Behind proxy", false),
            WriteOrigin::App,
        )
        .await;
    // A proxy page says nothing about whether Odoo committed.
    assert!(
        matches!(got, Err(OdooError::MaybeApplied { .. })),
        "{got:?}"
    );
    assert_eq!(h.odoo.emulator.request_log().since(seq).len(), 1);
}
on_both!(
    a_502_is_retried_on_a_read_and_maybe_applied_on_a_create,
    bad_gateway_read_retried_write_maybe
);

async fn expired_token_fault_is_unauthorized(h: H) {
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::ExpiredToken));
    let got = h
        .client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await;
    assert!(matches!(got, Err(OdooError::Unauthorized(_))), "{got:?}");
    // Not retried: only a new key helps.
    assert_eq!(
        h.log().last().unwrap().fault.as_deref(),
        Some("expired_token")
    );
}
on_both!(
    a_key_refused_as_expired_is_unauthorized_and_not_retried,
    expired_token_fault_is_unauthorized
);

async fn reset_before_apply_is_maybe_applied(h: H) {
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::ResetBeforeApply).on_writes());
    let got = h
        .client
        .create_one(
            "calendar.event",
            event(&h, "Never landed", false),
            WriteOrigin::App,
        )
        .await;
    assert!(
        matches!(got, Err(OdooError::MaybeApplied { .. })),
        "{got:?}"
    );
    // The caller looks before re-creating: nothing there, so it creates again.
    assert_eq!(
        h.count("calendar.event", json!([["name", "=", "Never landed"]])),
        0
    );
    h.client
        .create_one(
            "calendar.event",
            event(&h, "Never landed", false),
            WriteOrigin::App,
        )
        .await
        .unwrap();
    assert_eq!(
        h.count("calendar.event", json!([["name", "=", "Never landed"]])),
        1
    );
}
on_both!(
    a_connection_reset_before_the_create_is_maybe_applied_and_nothing_landed,
    reset_before_apply_is_maybe_applied
);

async fn private_events_of_others_are_masked(h: H) {
    // Bob's private event without Alice, and one where she is invited.
    let private = |name: &str, partners: Vec<i64>| {
        json!({"vals_list": [{
            "name": name, "privacy": "private", "description": "<p>Salary talk</p>",
            "location": "Room 4", "start": "2026-11-26 09:00:00", "stop": "2026-11-26 10:00:00",
            "partner_ids": [[6, 0, partners]],
        }]})
    };
    let hidden = h.emu(
        h.bob.uid,
        "calendar.event",
        "create",
        &[],
        private("Secret", vec![h.bob.partner_id]),
    )[0]
    .as_i64()
    .unwrap();
    let shared = h.emu(
        h.bob.uid,
        "calendar.event",
        "create",
        &[],
        private("Shared", vec![h.bob.partner_id, h.alice.partner_id]),
    )[0]
    .as_i64()
    .unwrap();
    let rows: Vec<CalendarEvent> = h.client.read_existing(&[hidden, shared]).await.unwrap();
    let me = h.client.me();
    let masked = rows.iter().find(|e| e.id == hidden).unwrap();
    assert_eq!(masked.name.as_deref(), Some("Busy"));
    assert!(masked.is_masked_for(me), "{masked:?}");
    let visible = rows.iter().find(|e| e.id == shared).unwrap();
    assert_eq!(visible.name.as_deref(), Some("Shared"));
    assert!(!visible.is_masked_for(me));
    // Writing the masked one is refused and changes nothing.
    let got = h
        .client
        .write(
            "calendar.event",
            &[hidden],
            vals(json!({"name": "Busy"})),
            WriteOrigin::Microsoft,
        )
        .await;
    assert!(matches!(got, Err(OdooError::Access(_))), "{got:?}");
    assert_eq!(
        h.count("calendar.event", json!([["name", "=", "Secret"]])),
        1
    );
}
on_both!(
    another_users_private_event_is_recognised_as_masked_and_not_writable,
    private_events_of_others_are_masked
);

async fn outlook_sync_users_recurrence_is_a_user_error(h: H) {
    h.odoo.emulator.set_outlook_sync(h.alice.uid, true).unwrap();
    let mut v = event(&h, "Weekly", false);
    v.insert("recurrency".into(), json!(true));
    v.insert("rrule_type".into(), json!("weekly"));
    v.insert("count".into(), json!(3));
    v.insert("end_type".into(), json!("count"));
    let got = h
        .client
        .create_one("calendar.event", v, WriteOrigin::Microsoft)
        .await;
    match got {
        Err(OdooError::User(f)) => assert!(f.message.contains("Outlook"), "{f:?}"),
        other => panic!("expected UserError, got {other:?}"),
    }
    assert_eq!(
        h.count("calendar.event", json!([["name", "=", "Weekly"]])),
        0
    );
}
on_both!(
    a_recurrence_for_a_user_of_odoos_own_outlook_sync_is_a_user_error,
    outlook_sync_users_recurrence_is_a_user_error
);

async fn throttle_beyond_limit_is_throttled(h: H) {
    let seq = h.last_seq();
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::Throttle {
            retry_after_s: 3_600,
        }));
    let got = h
        .client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await;
    match got {
        Err(OdooError::Throttled { retry_after }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(3_600)))
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    assert!(h.clock.sleeps().is_empty());
    assert_eq!(h.odoo.emulator.request_log().since(seq).len(), 1);
}
on_both!(
    a_retry_after_beyond_the_limit_is_throttled_without_waiting,
    throttle_beyond_limit_is_throttled
);

#[tokio::test]
async fn the_client_side_rate_limit_spaces_a_burst_of_reads() {
    let h = harness("19.0").await;
    let clock = ManualClock::new();
    let mut cfg = config(&h.odoo, &h.key, &clock);
    cfg.requests_per_second = 1.0;
    cfg.requests_burst = 3;
    let client = OdooClient::connect(cfg).await.unwrap();
    let before = clock.sleeps().len();
    let seq = h.last_seq();
    for _ in 0..6 {
        client
            .search("calendar.event", json!([]), &SearchOptions::default())
            .await
            .unwrap();
    }
    assert_eq!(h.odoo.emulator.request_log().since(seq).len(), 6);
    let waited: Duration = clock.sleeps()[before..].iter().sum();
    // Six reads after the burst was spent on connecting: about a second each.
    assert!(waited >= Duration::from_secs(5), "{waited:?}");
}

/// Waits (up to 5 s of real time) for the emulator to finish work nobody is waiting for.
async fn settle(done: impl Fn() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn timed_out_create_is_maybe_applied(h: H) {
    let clock = ManualClock::new();
    let mut cfg = config(&h.odoo, &h.key, &clock);
    cfg.timeout = Duration::from_millis(400);
    let client = OdooClient::connect(cfg).await.unwrap();
    let seq = h.last_seq();
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::Timeout { hang_ms: 1_000 }).on_writes());
    let got = client
        .create_one("calendar.event", event(&h, "Hung", false), WriteOrigin::App)
        .await;
    assert!(
        matches!(got, Err(OdooError::MaybeApplied { .. })),
        "{got:?}"
    );
    // The emulator logs the hung request (status 0) once it gives up on it.
    settle(|| !h.odoo.emulator.request_log().since(seq).is_empty()).await;
    let sent = h.odoo.emulator.request_log().since(seq);
    assert_eq!(sent.len(), 1, "a create is never resent blindly: {sent:?}");
    assert_eq!(sent[0].status, 0);
    assert_eq!(sent[0].fault.as_deref(), Some("timeout"));
    assert_eq!(h.count("calendar.event", json!([["name", "=", "Hung"]])), 0);

    // A slow answer the client gives up on: Odoo goes on and commits (odoo.md: an unknown
    // outcome after a timeout "may have committed").
    h.odoo
        .emulator
        .faults()
        .add(FaultRule::once(Fault::Slow { delay_ms: 1_000 }).on_writes());
    let got = client
        .create_one("calendar.event", event(&h, "Slow", false), WriteOrigin::App)
        .await;
    assert!(
        matches!(got, Err(OdooError::MaybeApplied { .. })),
        "{got:?}"
    );
    settle(|| h.odoo.emulator.request_log().since(seq).len() >= 2).await;
    let sent = h.odoo.emulator.request_log().since(seq);
    assert_eq!(sent.len(), 2, "not resent: {sent:?}");
    assert_eq!(sent[1].fault.as_deref(), Some("slow"));
    assert_eq!(sent[1].status, 200, "answered, too late: {sent:?}");
    assert_eq!(h.count("calendar.event", json!([["name", "=", "Slow"]])), 1);
}
on_both!(
    a_create_that_times_out_is_maybe_applied_not_resent_and_may_have_committed,
    timed_out_create_is_maybe_applied
);

async fn demo_world_decodes(version: &'static str) {
    let odoo = OdooEmulator::start(EmuConfig {
        seed: 5,
        clock: odoo365_testkit::Clock::frozen(t0()),
        version: version.into(),
        ..EmuConfig::default()
    })
    .await
    .unwrap();
    let seed = odoo.emulator.seed_demo().unwrap();
    let clock = ManualClock::new();
    let mut cfg = config(&odoo, &seed.bob_key, &clock);
    cfg.login = "bob".into();
    let bob = OdooClient::connect(cfg).await.unwrap();
    let events: Vec<CalendarEvent> = bob
        .changed_since(None, Duration::ZERO, Value::Null)
        .await
        .unwrap();
    let weekly = events
        .iter()
        .filter(|e| e.name.as_deref() == Some("Weekly sync"))
        .count();
    assert_eq!(weekly, 6);
    let dentist = events
        .iter()
        .find(|e| seed.events.contains(&e.id) && e.name.as_deref() == Some("Busy"))
        .unwrap_or_else(|| panic!("Alice's private event not masked for Bob: {events:?}"));
    assert!(dentist.is_masked_for(bob.me()));
    let offsite = events
        .iter()
        .find(|e| e.name.as_deref() == Some("Offsite"))
        .unwrap();
    assert!(offsite.allday && offsite.start_date.is_some());
    let recurrences: Vec<odoo365_odoo::CalendarRecurrence> = bob
        .changed_since(None, Duration::ZERO, Value::Null)
        .await
        .unwrap();
    assert_eq!(recurrences.len(), 1);
    let attendees: Vec<odoo365_odoo::CalendarAttendee> = bob
        .changed_since(None, Duration::ZERO, Value::Null)
        .await
        .unwrap();
    assert!(attendees.len() >= 2 * 7, "{}", attendees.len());
    let files: Vec<odoo365_odoo::Attachment> = bob
        .changed_since(None, Duration::ZERO, json!([["res_model", "!=", false]]))
        .await
        .unwrap();
    assert!(!files.is_empty());
    for f in &files {
        let bytes = bob.attachment_content(f.id).await.unwrap();
        assert_eq!(bytes.len() as u64, f.file_size);
    }
}

#[tokio::test]
async fn the_emulators_demo_world_decodes_whole_on_19_over_json2() {
    demo_world_decodes("19.0").await;
}

#[tokio::test]
async fn the_emulators_demo_world_decodes_whole_on_17_over_jsonrpc() {
    demo_world_decodes("17.0").await;
}

async fn deactivated_user_is_unauthorized(h: H) {
    h.odoo.emulator.set_user_active(h.alice.uid, false).unwrap();
    let got = h
        .client
        .search("calendar.event", json!([]), &SearchOptions::default())
        .await;
    assert!(matches!(got, Err(OdooError::Unauthorized(_))), "{got:?}");
}
on_both!(
    the_key_of_a_deactivated_user_is_unauthorized,
    deactivated_user_is_unauthorized
);

async fn coerced_mimetype_is_reread(h: H) {
    let id = h
        .client
        .create_one(
            "calendar.event",
            event(&h, "With page", false),
            WriteOrigin::App,
        )
        .await
        .unwrap();
    let page = b"<html><body><script>alert(1)</script></body></html>".to_vec();
    let att = h
        .client
        .attachment_upload(
            &AttachmentUpload {
                name: "page.html".into(),
                res_model: "calendar.event".into(),
                res_id: id,
                mimetype: Some("text/html".into()),
                content: page.clone().into(),
            },
            WriteOrigin::App,
        )
        .await
        .unwrap();
    // Odoo forces HTML to text/plain for non-admins; the client reports what was stored.
    assert_eq!(att.mimetype.as_deref(), Some("text/plain"));
    let stored = h.emu(
        ADMIN_UID,
        "ir.attachment",
        "read",
        &[att.id],
        json!({"fields": ["mimetype", "file_size"]}),
    );
    assert_eq!(stored[0]["mimetype"], "text/plain");
    assert_eq!(att.file_size, page.len() as u64);
}
on_both!(
    an_upload_whose_mimetype_odoo_coerces_reports_the_stored_one,
    coerced_mimetype_is_reread
);

#[tokio::test]
async fn every_emulated_version_is_detected_and_answers_through_its_transport() {
    for (version, major, minor, saas, transport) in [
        ("16.0", 16, 0, false, Transport::JsonRpc),
        ("17.0+e", 17, 0, false, Transport::JsonRpc),
        ("18.0", 18, 0, false, Transport::JsonRpc),
        ("saas~18.3", 18, 3, true, Transport::JsonRpc),
        ("19.0", 19, 0, false, Transport::Json2),
    ] {
        let h = harness(version).await;
        let v = h.client.version();
        assert_eq!(
            (v.major, v.minor, v.saas),
            (major, minor, saas),
            "{version}"
        );
        assert_eq!(h.client.transport(), transport, "{version}");
        let seq = h.last_seq();
        h.client
            .search("calendar.event", json!([]), &SearchOptions::default())
            .await
            .unwrap();
        let call = &h.odoo.emulator.request_log().since(seq)[0];
        let expected_path = if transport == Transport::Json2 {
            "/json/2/calendar.event/search"
        } else {
            "/jsonrpc"
        };
        assert_eq!(call.path, expected_path, "{version}");
        assert_eq!(call.status, 200, "{version}");
    }
}

async fn streamed_file_upload_and_replace(h: H) {
    let order = h
        .client
        .create_one(
            "sale.order",
            vals(json!({"partner_id": h.alice.partner_id})),
            WriteOrigin::App,
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool");
    // Not a multiple of the 48 KiB chunk, so the last chunk pads.
    let content: Vec<u8> = (0..200_003u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    let sha1 = |b: &[u8]| {
        use sha1::Digest;
        hex::encode(sha1::Sha1::digest(b))
    };
    let att = h
        .client
        .attachment_upload_file(
            &odoo365_odoo::AttachmentFile {
                name: "quote.bin".into(),
                res_model: "sale.order".into(),
                res_id: order,
                mimetype: None,
                path: path.clone(),
            },
            WriteOrigin::Microsoft,
        )
        .await
        .unwrap();
    assert_eq!(att.checksum.as_deref(), Some(sha1(&content).as_str()));
    assert_eq!(att.file_size, content.len() as u64);
    assert_eq!(
        &h.client.attachment_content(att.id).await.unwrap()[..],
        &content[..]
    );
    // Replace with an empty file: a 0-byte attachment keeps a checksum.
    std::fs::write(&path, b"").unwrap();
    let replaced = h
        .client
        .attachment_replace_file(att.id, &path, WriteOrigin::Microsoft)
        .await
        .unwrap();
    assert_eq!(replaced.file_size, 0);
    assert_eq!(replaced.checksum.as_deref(), Some(sha1(b"").as_str()));
    let (bytes, checksum) = h.client.attachment_content_unchecked(att.id).await.unwrap();
    assert!(bytes.is_empty());
    assert_eq!(checksum.as_deref(), Some(sha1(b"").as_str()));
}
on_both!(
    an_attachment_is_created_and_replaced_from_a_streamed_file,
    streamed_file_upload_and_replace
);
