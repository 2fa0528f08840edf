#![allow(clippy::unwrap_used)]
//! The app API against wiremock servers shaped like the Microsoft identity platform and
//! Odoo 19: sign-in keeps the refresh token in the keychain only, the Graph adapter
//! refreshes and rotates it, the Odoo connection test names the version and the user.
//! (End-to-end runs against the emulators live in the root `tests/`.)

use std::sync::Arc;

use odoo365_app::auth::{Keychain, MemoryKeychain, Secret, SecretKind};
use odoo365_app::{App, Browser, ErrorCode, ProfileDraft, SignIn};
use odoo365_graph::AccessTokens;
use odoo365_odoo::{Attachment, CalendarAttendee, CalendarEvent, CalendarRecurrence, Record, User};
use serde_json::{json, Map, Value};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ODOO_KEY: &str = "odoo-key-0123456789abcdef0123456789abcdef";
const RT1: &str = "refresh-token-one-0123456789";
const RT2: &str = "refresh-token-two-9876543210";
const AT1: &str = "access-token-one-abcdefabcdef";
const AT2: &str = "access-token-two-fedcbafedcba";

fn draft(identity: Option<String>, odoo: &str) -> ProfileDraft {
    ProfileDraft {
        name: "work".into(),
        tenant: "organizations".into(),
        client_id: "11111111-2222-3333-4444-555555555555".into(),
        odoo_url: odoo.into(),
        odoo_database: "acme".into(),
        odoo_login: "me@example.com".into(),
        // The identity mock answers Graph's `GET /me` too (the sign-in asks who signed in).
        graph_url: identity.clone(),
        identity_url: identity,
    }
}

/// Plays the person in the browser: approves at once by following the redirect with a code.
struct ApprovingBrowser;

impl Browser for ApprovingBrowser {
    fn open(&self, url: &str) -> Result<(), odoo365_app::auth::AuthError> {
        let url = url::Url::parse(url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        let redirect = format!(
            "{}?code=the-code&state={}",
            q["redirect_uri"],
            url::form_urlencoded::byte_serialize(q["state"].as_bytes()).collect::<String>()
        );
        tokio::spawn(async move {
            reqwest::get(redirect).await.unwrap();
        });
        Ok(())
    }
}

fn token_answer(at: &str, rt: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer", "expires_in": 3600, "access_token": at, "refresh_token": rt,
        "scope": "https://graph.microsoft.com/Calendars.ReadWrite offline_access"
    }))
}

async fn identity() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code_verifier="))
        .respond_with(token_answer(AT1, RT1))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(RT1))
        .respond_with(token_answer(AT2, RT2))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(RT2))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "AADSTS70008: The refresh token has expired."
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/me"))
        .and(header("authorization", format!("Bearer {AT1}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"mail": "Me@Example.com", "userPrincipalName": "me@example.com"}),
        ))
        .mount(&server)
        .await;
    server
}

fn files_contain(dir: &std::path::Path, secret: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            hits.extend(files_contain(&path, secret));
        } else if String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains(secret) {
            hits.push(path.display().to_string());
        }
    }
    hits
}

#[tokio::test]
async fn browser_sign_in_keeps_the_refresh_token_in_the_keychain_only_and_rotations_follow() {
    let idp = identity().await;
    let dir = tempfile::tempdir().unwrap();
    let keychain = Arc::new(MemoryKeychain::new());
    let app = App::open_with(
        dir.path(),
        keychain.clone(),
        Arc::new(odoo365_engine::SystemClock),
    )
    .unwrap();
    let p = app
        .add_profile_with_api_key(
            draft(Some(idp.uri()), "https://acme.odoo.com"),
            &Secret::new(ODOO_KEY),
        )
        .unwrap();
    assert!(app.status("work").unwrap().sign_in_needed);

    let done = app
        .login("work", SignIn::Browser(&ApprovingBrowser))
        .await
        .unwrap();
    assert_eq!(done.profile, "work");
    assert_eq!(
        keychain
            .get(&p.id, SecretKind::MicrosoftRefreshToken)
            .unwrap(),
        Some(Secret::new(RT1))
    );
    let s = app.status("work").unwrap();
    assert!(s.signed_in && !s.sign_in_needed, "{s:?}");

    // The Graph client's token source: a fresh process refreshes, and the rotated
    // refresh token replaces the old one in the keychain at once.
    let tokens = odoo365_app::connect::GraphTokens(
        odoo365_app::connect::token_source(&p, keychain.clone()).unwrap(),
    );
    assert_eq!(tokens.token().await.unwrap(), AT2);
    assert_eq!(
        keychain
            .get(&p.id, SecretKind::MicrosoftRefreshToken)
            .unwrap(),
        Some(Secret::new(RT2))
    );
    // An expired refresh token is "sign-in needed", and says so.
    tokens.invalidate().await;
    let e = tokens.token().await.unwrap_err();
    assert!(e.0.contains("sign-in needed"), "{e}");

    // Bound to the mailbox that signed in (lower case): sign-out names it for the next
    // sign-in, and takes the refresh token out of the keychain.
    let out = app.sign_out("work").await.unwrap();
    assert_eq!(out.mailbox.as_deref(), Some("me@example.com"));
    assert_eq!(
        keychain
            .get(&p.id, SecretKind::MicrosoftRefreshToken)
            .unwrap(),
        None
    );
    assert!(app.status("work").unwrap().sign_in_needed);

    drop(app);
    for secret in [ODOO_KEY, RT1, RT2, AT1, AT2] {
        assert_eq!(
            files_contain(dir.path(), secret),
            Vec::<String>::new(),
            "{secret}"
        );
    }
}

#[tokio::test]
async fn a_declined_browser_sign_in_saves_nothing_and_says_sign_in_is_still_needed() {
    struct Declining;
    impl Browser for Declining {
        fn open(&self, url: &str) -> Result<(), odoo365_app::auth::AuthError> {
            let url = url::Url::parse(url).unwrap();
            let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
            let redirect = format!(
                "{}?error=access_denied&error_description=declined&state={}",
                q["redirect_uri"],
                url::form_urlencoded::byte_serialize(q["state"].as_bytes()).collect::<String>()
            );
            tokio::spawn(async move {
                reqwest::get(redirect).await.unwrap();
            });
            Ok(())
        }
    }
    let idp = identity().await;
    let dir = tempfile::tempdir().unwrap();
    let keychain = Arc::new(MemoryKeychain::new());
    let app = App::open_with(
        dir.path(),
        keychain.clone(),
        Arc::new(odoo365_engine::SystemClock),
    )
    .unwrap();
    let p = app
        .add_profile(draft(Some(idp.uri()), "https://acme.odoo.com"))
        .unwrap();
    let e = app
        .login("work", SignIn::Browser(&Declining))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::SignInNeeded, "{e:?}");
    assert!(e.message.contains("odoo365 login"), "{}", e.message);
    assert_eq!(
        keychain
            .get(&p.id, SecretKind::MicrosoftRefreshToken)
            .unwrap(),
        None
    );
}

fn fields_map(fields: &[&str]) -> Value {
    let mut m = Map::new();
    for f in fields {
        m.insert((*f).to_string(), json!({"type": "char"}));
    }
    Value::Object(m)
}

/// An Odoo 19 server (JSON-2, bearer key) that knows one user.
async fn odoo19() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/web/version"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"version": "19.0", "version_info": [19, 0, 0, "final", 0, ""]}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/context_get"))
        .and(header(
            "authorization",
            format!("bearer {ODOO_KEY}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"uid": 2, "tz": "Europe/Brussels", "lang": "en_US"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/context_get"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "name": "werkzeug.exceptions.Unauthorized",
            "message": "Invalid apikey", "arguments": ["Invalid apikey", 401], "context": {}, "debug": ""
        })))
        .with_priority(10)
        .mount(&server)
        .await;
    for (model, fields) in [
        (CalendarEvent::MODEL, CalendarEvent::FIELDS),
        (CalendarAttendee::MODEL, CalendarAttendee::FIELDS),
        (CalendarRecurrence::MODEL, CalendarRecurrence::FIELDS),
        (Attachment::MODEL, Attachment::FIELDS),
        (User::MODEL, User::FIELDS),
    ] {
        Mock::given(method("POST"))
            .and(path(format!("/json/2/{model}/fields_get")))
            .respond_with(ResponseTemplate::new(200).set_body_json(fields_map(fields)))
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/json/2/res.users/read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": 2, "login": "me@example.com", "name": "Alice Martin", "tz": "Europe/Brussels",
            "lang": "en_US", "partner_id": [3, "Alice Martin"], "company_id": [1, "Acme"],
            "company_ids": [1], "share": false
        }])))
        .mount(&server)
        .await;
    // The user's own keys (the domain names the user: an administrator would see all):
    // the one in use expires in five days, a plugin-scoped key sooner.
    let in_days = |d: i64| {
        (chrono::Utc::now() + chrono::Duration::days(d))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    Mock::given(method("POST"))
        .and(path("/json/2/res.users.apikeys/search_read"))
        .and(body_string_contains(r#"[["user_id","=",2]]"#))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 4, "name": "sync", "scope": false, "expiration_date": in_days(5)},
            {"id": 5, "name": "outlook", "scope": "odoo.plugin.outlook", "expiration_date": in_days(1)},
        ])))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn the_odoo_connection_test_names_the_version_and_the_user_and_a_bad_key_says_what_to_do() {
    let odoo = odoo19().await;
    let check = App::check_odoo_draft(draft(None, &odoo.uri()), &Secret::new(ODOO_KEY))
        .await
        .unwrap();
    assert_eq!(check.version, "19.0");
    assert_eq!(check.transport, "json-2");
    assert_eq!(check.user_name.as_deref(), Some("Alice Martin"));
    let expires = check.key_expiry.expires_at().unwrap();
    assert!(matches!(
        check.key_expiry,
        odoo365_odoo::KeyExpiry::At { .. }
    ));
    assert_eq!(
        check.summary(),
        format!(
            "Connected to Odoo 19.0 (json-2) as Alice Martin; the API key expires on {}",
            expires.format("%Y-%m-%d")
        )
    );

    let dir = tempfile::tempdir().unwrap();
    let app = App::open_with(
        dir.path(),
        Arc::new(MemoryKeychain::new()),
        Arc::new(odoo365_engine::SystemClock),
    )
    .unwrap();
    app.add_profile_with_api_key(draft(None, &odoo.uri()), &Secret::new("wrong-key"))
        .unwrap();
    let e = app.check_odoo("work").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::OdooKeyRefused, "{e:?}");
    assert!(e.message.contains("create a new API key"), "{}", e.message);
    assert!(!e.message.contains("wrong-key"));
    app.set_odoo_api_key("work", &Secret::new(ODOO_KEY))
        .unwrap();
    assert_eq!(app.status("work").unwrap().odoo_key_expiry, None);
    assert_eq!(app.check_odoo("work").await.unwrap(), check);
    // The check keeps the expiry for the status: five days is within the warning.
    let status = app.status("work").unwrap();
    assert_eq!(status.odoo_key_expiry, Some(check.key_expiry.clone()));
    assert!(status.odoo_key_expires_soon);
    assert!(
        status
            .attention()
            .iter()
            .any(|l| l.starts_with("the Odoo API key expires on")),
        "{:?}",
        status.attention()
    );
    // A new key forgets the old one's expiry until the next connection.
    app.set_odoo_api_key("work", &Secret::new(ODOO_KEY))
        .unwrap();
    let status = app.status("work").unwrap();
    assert!(status.odoo_key_expiry.is_none() && !status.odoo_key_expires_soon);
}

mod over_the_engine {
    //! The app driving the engine over its in-memory fake calendars: sync, status,
    //! conflicts resolved through the app, activity with `why`, reset.

    use std::sync::Arc;

    use chrono::{Duration, TimeZone, Utc};
    use odoo365_app::{App, ErrorCode, KeepSide, Profile, Resolution, SyncResult};
    use odoo365_engine::testing::{FakeGraph, FakeOdoo};
    use odoo365_engine::ManualClock;
    use odoo365_sync_core::Event;
    use serde_json::json;

    const ME: &str = "me@example.com";

    struct World {
        app: App,
        profile: Profile,
        graph: FakeGraph,
        odoo: FakeOdoo,
        clock: ManualClock,
        _dir: tempfile::TempDir,
    }

    impl World {
        fn new() -> World {
            let dir = tempfile::tempdir().unwrap();
            let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());
            let app = App::open_with(
                dir.path(),
                Arc::new(odoo365_app::auth::MemoryKeychain::new()),
                Arc::new(clock.clone()),
            )
            .unwrap();
            let profile = app
                .add_profile(super::draft(None, "https://acme.odoo.com"))
                .unwrap();
            World {
                app,
                profile,
                graph: FakeGraph::new(ME),
                odoo: FakeOdoo::new(ME),
                clock,
                _dir: dir,
            }
        }

        async fn sync(&self, confirm: bool) -> SyncResult {
            self.clock.advance(Duration::seconds(10));
            let engine = self
                .app
                .engine_with(
                    &self.profile,
                    ME,
                    Arc::new(self.graph.clone()),
                    Arc::new(self.odoo.clone()),
                )
                .unwrap();
            self.app
                .sync_with(&self.profile, engine, false, confirm)
                .await
                .unwrap()
        }
    }

    fn event(title: &str, day: u32) -> Event {
        Event::timed(
            title,
            Utc.with_ymd_and_hms(2026, 11, day, 10, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, day, 11, 0, 0).unwrap(),
        )
        .normalized()
    }

    /// A reset abandons queued work as *cancelled* (not done, not failed), with a line per
    /// job in the activity, and none of it runs afterwards.
    #[tokio::test]
    async fn a_reset_cancels_queued_jobs_visibly_and_they_never_run() {
        let w = World::new();
        w.sync(true).await;
        w.odoo.user_create(&event("Waiting", 25));
        w.graph.fail_next(
            "create",
            odoo365_engine::PortError::Throttled {
                retry_after: Some(std::time::Duration::from_secs(3600)),
            },
        );
        w.sync(true).await;
        assert_eq!(w.app.status("work").unwrap().pending_jobs, 1);

        let reset = w.app.reset_sync_state("work").unwrap();
        assert_eq!(reset.jobs_cancelled, 1);
        let status = w.app.status("work").unwrap();
        assert_eq!(status.pending_jobs, 0);
        assert!(status.failed_jobs.is_empty());
        let activity = w.app.activity("work", None).unwrap();
        let line = activity
            .lines
            .iter()
            .find(|l| l.op == "job_cancelled")
            .expect("the cancelled job is in the activity");
        assert_eq!(line.item, "odoo:1");
        assert!(line.rule.contains("reset"), "{}", line.rule);

        // Past its retry time the cancelled create does not run; the next (first) sync
        // plans the event afresh and pauses to show it.
        w.clock.advance(Duration::hours(2));
        let r = w.sync(false).await;
        assert_eq!(r.outcome, "paused", "{}", r.summary);
        assert!(w.graph.titled("Waiting").is_empty());
    }

    #[tokio::test]
    async fn a_conflict_resolved_through_the_app_reaches_both_sides_and_why_tells_the_story() {
        let w = World::new();
        let oid = w.odoo.user_create(&event("Board", 25));
        let first = w.sync(false).await;
        assert_eq!(first.outcome, "paused");
        assert_eq!(first.needs_person().unwrap().code, ErrorCode::GuardTripped);
        assert!(first.summary.contains("--yes"), "{}", first.summary);
        assert!(
            w.graph.titled("Board").is_empty(),
            "nothing written before confirming"
        );

        let done = w.sync(true).await;
        assert_eq!(done.outcome, "synced", "{}", done.summary);
        assert_eq!(w.graph.titled("Board").len(), 1);
        let gid = w.graph.titled("Board")[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let status = w.app.status("work").unwrap();
        assert_eq!(status.linked_events, 1);
        assert!(!status.plan_waiting_for_confirmation);
        assert!(status.last_sync_at.is_some());

        w.odoo.user_write(oid, &json!({"location": "Paris"}));
        w.graph
            .user_edit(&gid, |v| v["location"] = json!({"displayName": "Berlin"}));
        let r = w.sync(false).await;
        assert_eq!(r.open_conflicts, 1);
        assert_eq!(r.needs_person().unwrap().code, ErrorCode::ConflictsPending);
        let c = &w.app.conflicts("work").unwrap()[0];
        assert_eq!(c.fields, ["location"]);
        assert_eq!(w.app.status("work").unwrap().open_conflicts, 1);

        let keep = Resolution::Fields([("location".into(), KeepSide::Microsoft)].into());
        w.app.resolve_conflict("work", c.id, &keep).unwrap();
        assert!(w.app.conflicts("work").unwrap().is_empty());
        let r = w.sync(false).await;
        assert!(r.needs_person().is_none(), "{}", r.summary);
        assert_eq!(w.odoo.record(oid).unwrap()["location"], "Berlin");

        let why = w
            .app
            .activity("work", Some(&format!("odoo:{oid}")))
            .unwrap();
        assert!(
            why.lines.iter().any(|l| l.op == "conflict_resolved"),
            "{why:#?}"
        );
        assert!(why.lines.iter().any(|l| l.origin == "odoo"), "{why:#?}");

        // Odoo's "Paris" was overwritten by the resolution: it is in the journal and comes
        // back on request; the next sync carries it to Outlook as an Odoo edit.
        let journal = w.app.journal("work", 10).unwrap();
        let paris = journal
            .iter()
            .find(|j| j.side == "odoo" && j.reason == "overwritten")
            .unwrap_or_else(|| panic!("{journal:#?}"));
        assert_eq!(paris.title.as_deref(), Some("Board"));
        let restored = w
            .app
            .restore_with(
                &w.profile,
                paris.entry,
                Arc::new(w.graph.clone()),
                Arc::new(w.odoo.clone()),
            )
            .await
            .unwrap();
        assert_eq!(restored.side, "odoo");
        assert_eq!(w.odoo.record(oid).unwrap()["location"], "Paris");
        w.sync(false).await;
        assert_eq!(
            w.graph.event(&gid).unwrap()["location"]["displayName"],
            "Paris"
        );
        let again = w
            .app
            .restore_with(
                &w.profile,
                paris.entry,
                Arc::new(w.graph.clone()),
                Arc::new(w.odoo.clone()),
            )
            .await
            .unwrap_err();
        assert!(
            again.message.contains("already restored"),
            "{}",
            again.message
        );

        // Reset: the pairs are forgotten, the next sync pairs again and duplicates nothing.
        let reset = w.app.reset_sync_state("work").unwrap();
        assert_eq!(reset.links_forgotten, 1);
        assert_eq!(w.app.status("work").unwrap().linked_events, 0);
        let before = (w.odoo.writes(), w.graph.writes());
        let again = w.sync(false).await;
        assert_eq!(
            again.outcome, "synced",
            "pairing alone writes nothing: {}",
            again.summary
        );
        assert_eq!((w.odoo.writes(), w.graph.writes()), before);
        assert_eq!(w.graph.titled("Board").len(), 1);
        assert_eq!(w.odoo.titled("Board").len(), 1);
        assert_eq!(w.app.status("work").unwrap().linked_events, 1);
    }

    #[tokio::test]
    async fn an_outlook_event_sync_deleted_comes_back_on_request_without_mailing_its_attendees() {
        let w = World::new();
        let mut board = event("Board", 26);
        board.attendees = vec![odoo365_sync_core::canonical::Attendee {
            email: "bob@example.com".into(),
            response: odoo365_sync_core::canonical::Response::NeedsAction,
        }];
        let oid = w.odoo.user_create(&board);
        w.sync(false).await;
        assert_eq!(w.sync(true).await.outcome, "synced");
        assert_eq!(w.graph.titled("Board").len(), 1);

        // Archived in Odoo: sync deletes the Outlook copy and journals it.
        w.odoo.user_archive(oid);
        let r = w.sync(true).await;
        assert!(r.needs_person().is_none(), "{}", r.summary);
        assert!(w.graph.titled("Board").is_empty());
        let journal = w.app.journal("work", 10).unwrap();
        let deleted = journal
            .iter()
            .find(|j| j.side == "microsoft" && j.reason == "deleted")
            .unwrap_or_else(|| panic!("{journal:#?}"));

        // The first attempt's answer is lost after the event was made: the retry finds it.
        w.graph.lose_answer_of_next("create");
        let mails_before = w.graph.mails().len();
        let restored = w
            .app
            .restore_with(
                &w.profile,
                deleted.entry,
                Arc::new(w.graph.clone()),
                Arc::new(w.odoo.clone()),
            )
            .await
            .unwrap();
        assert_eq!(restored.side, "microsoft");
        let note = restored.note.expect("the attendees are mentioned");
        assert!(note.contains("1 attendee"), "{note}");
        let back = w.graph.titled("Board");
        assert_eq!(back.len(), 1, "one event, not two: {back:#?}");
        assert_eq!(w.graph.mails().len(), mails_before, "nobody was invited");

        // The next sync carries it to Odoo once, and then all is quiet.
        let r = w.sync(true).await;
        assert!(r.needs_person().is_none(), "{}", r.summary);
        assert_eq!(
            w.odoo
                .titled("Board")
                .iter()
                .filter(|e| e["active"] != false)
                .count(),
            1
        );
        let before = (w.odoo.writes(), w.graph.writes());
        w.sync(false).await;
        assert_eq!((w.odoo.writes(), w.graph.writes()), before);
        let why = w.app.activity("work", Some("Board")).unwrap();
        assert!(
            why.lines.iter().any(|l| l.op == "restore microsoft"),
            "{why:#?}"
        );
    }

    #[tokio::test]
    async fn a_change_that_gave_up_runs_again_on_retry_and_only_failed_ones_can_be() {
        let w = World::new();
        w.sync(false).await;
        w.sync(true).await;
        w.graph.user_create(&event("Offsite", 27), None);
        w.odoo.fail_next(
            "create",
            odoo365_engine::PortError::Rejected {
                message: "a required field is missing".into(),
            },
        );
        let r = w.sync(true).await;
        let failed = w.app.status("work").unwrap().failed_jobs;
        assert_eq!(failed.len(), 1, "{failed:?} {}", r.summary);
        assert!(w.odoo.titled("Offsite").is_empty());
        let job = failed[0].id;

        // Nothing happens to it by itself…
        w.sync(false).await;
        assert!(w.odoo.titled("Offsite").is_empty());
        // …until the person retries it.
        w.app.retry_job("work", job).unwrap();
        let e = w.app.retry_job("work", job).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound, "queued already: {}", e.message);
        let r = w.sync(false).await;
        assert!(r.needs_person().is_none(), "{}", r.summary);
        assert_eq!(w.odoo.titled("Offsite").len(), 1);
        assert!(w.app.status("work").unwrap().failed_jobs.is_empty());
        assert_eq!(
            w.app.retry_job("work", 999_999).unwrap_err().code,
            ErrorCode::NotFound
        );
    }
}
