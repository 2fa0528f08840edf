#![allow(clippy::unwrap_used)]
//! The Graph client against the Microsoft 365 emulator (`odoo365-testkit`): every retry,
//! throttle, expiry, 412, 410, maybe-applied and resume path, checked on the emulator's
//! state and request log rather than on the client's word alone.
//!
//! The client's clock is bridged to the emulator's virtual clock: a client sleep moves the
//! emulator's time, so `Retry-After`, throttling windows and expiries line up.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use odoo365_graph::models::{ConflictBehavior, DateTimeTimeZone, Event};
use odoo365_graph::runtime::BoxFuture;
use odoo365_graph::{
    quick_xor_hash, BatchRequest, Clock, DeltaLink, GraphClient, GraphConfig, GraphError, Seams,
    StaticToken, UploadSession, UploadTarget,
};
use odoo365_testkit::graph::{DriveType, GraphConfig as EmuConfig, GraphEmulator, Limits};
use odoo365_testkit::{Fault, FaultRule, RequestRecord};
use tokio::io::{AsyncRead, ReadBuf};

const ALICE: &str = "alice@contoso.com";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

/// The client's clock, driving the emulator's: `sleep(d)` is recorded, lets requests already
/// on the wire land (twenty real milliseconds), then moves the emulator's virtual time to at
/// least the wake-up time. Concurrent sleepers do not add up, as with a real clock.
#[derive(Clone)]
struct BridgeClock {
    emu: odoo365_testkit::Clock,
    sleeps: Arc<Mutex<Vec<Duration>>>,
}

impl BridgeClock {
    fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for BridgeClock {
    fn now(&self) -> DateTime<Utc> {
        self.emu.now()
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.sleeps.lock().unwrap().push(duration);
        let emu = self.emu.clone();
        let wake = emu.now() + chrono::Duration::from_std(duration).unwrap();
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if emu.now() < wake {
                emu.set(wake);
            }
        })
    }
}

struct Harness {
    emu: odoo365_testkit::graph::RunningGraph,
    client: GraphClient,
    clock: BridgeClock,
    tokens: Arc<StaticToken>,
    token: String,
}

impl Harness {
    fn log(&self) -> Vec<RequestRecord> {
        self.emu.emulator.request_log().snapshot()
    }

    fn log_since(&self, seq: u64) -> Vec<RequestRecord> {
        self.emu.emulator.request_log().since(seq)
    }

    fn last_seq(&self) -> u64 {
        self.log().last().map(|r| r.seq).unwrap_or(0)
    }

    /// Reads the emulator's state directly (not through the client under test).
    async fn raw_get(&self, path: &str) -> serde_json::Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.emu.graph_url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn events_with_subject(&self, subject: &str) -> Vec<serde_json::Value> {
        let v = self.raw_get("/me/events?$top=1000").await;
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["subject"] == subject)
            .cloned()
            .collect()
    }
}

async fn harness() -> Harness {
    harness_with(|_| {}, |_| {}).await
}

async fn harness_with(
    tweak_emu: impl FnOnce(&mut EmuConfig),
    tweak: impl FnOnce(&mut GraphConfig),
) -> Harness {
    let emu_clock = odoo365_testkit::Clock::frozen(t0());
    let mut emu_config = EmuConfig {
        seed: 7,
        clock: emu_clock.clone(),
        // Long enough for the tests that move the clock by days.
        access_token_lifetime_s: Some(30 * 86_400),
        ..Default::default()
    };
    tweak_emu(&mut emu_config);
    let emu = GraphEmulator::start(emu_config).await.unwrap();
    emu.emulator
        .create_user(ALICE, "Alice", DriveType::Business);
    let token = emu.emulator.mint_token(ALICE).unwrap();
    let mut config = GraphConfig::with_base_url(format!("{}/", emu.graph_url).parse().unwrap());
    config.request_timeout = Duration::from_secs(10);
    config.backoff_base = Duration::from_millis(100);
    tweak(&mut config);
    let clock = BridgeClock {
        emu: emu_clock,
        sleeps: Arc::default(),
    };
    let tokens = Arc::new(StaticToken::new(token.clone()));
    let client = GraphClient::new(
        config,
        Seams {
            tokens: tokens.clone(),
            clock: Arc::new(clock.clone()),
            jitter_seed: 7,
            budget: None,
        },
    )
    .unwrap();
    Harness {
        emu,
        client,
        clock,
        tokens,
        token,
    }
}

fn event(subject: &str, hour: u32) -> Event {
    Event {
        subject: Some(subject.into()),
        start: Some(DateTimeTimeZone {
            date_time: format!("2026-11-24T{hour:02}:00:00"),
            time_zone: Some("UTC".into()),
        }),
        end: Some(DateTimeTimeZone {
            date_time: format!("2026-11-24T{hour:02}:30:00"),
            time_zone: Some("UTC".into()),
        }),
        ..Default::default()
    }
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn statuses(log: &[RequestRecord], method: &str, needle: &str) -> Vec<u16> {
    log.iter()
        .filter(|r| r.method == method && r.path.contains(needle))
        .map(|r| r.status)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Events: maybe applied, throttling, 401, 412
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_maybe_applied_and_the_resend_with_the_same_transaction_id_yields_one_event(
) {
    let h = harness().await;
    h.emu.emulator.faults().add(
        FaultRule::once(Fault::ResetAfterApply)
            .on_path("/events")
            .on_method("POST"),
    );
    let txn = uuid::Uuid::new_v4();
    let first = h.client.create_event(&event("Lost answer", 9), txn).await;
    assert!(
        matches!(first, Err(GraphError::MaybeApplied { .. })),
        "{first:?}"
    );
    // The emulator applied it: one event exists already.
    assert_eq!(h.events_with_subject("Lost answer").await.len(), 1);

    let again = h
        .client
        .create_event(&event("Lost answer", 9), txn)
        .await
        .unwrap();
    let stored = h.events_with_subject("Lost answer").await;
    assert_eq!(stored.len(), 1, "the resend must not duplicate the event");
    assert_eq!(stored[0]["id"], again.id.as_str());
    // One POST dropped (status 0), one answered: exactly two sent.
    let posts = statuses(&h.log(), "POST", "/events");
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[0], 0);
    assert!(posts[1] == 201 || posts[1] == 200, "{posts:?}");
}

#[tokio::test]
async fn a_create_answered_after_the_timeout_is_maybe_applied_and_the_resend_finds_it() {
    let h = harness_with(|_| {}, |c| c.request_timeout = Duration::from_millis(400)).await;
    h.emu.emulator.faults().add(
        FaultRule::once(Fault::Slow { delay_ms: 1_000 })
            .on_path("/events")
            .on_method("POST"),
    );
    let txn = uuid::Uuid::new_v4();
    let first = h.client.create_event(&event("Too slow", 9), txn).await;
    assert!(
        matches!(first, Err(GraphError::MaybeApplied { .. })),
        "{first:?}"
    );
    // Graph goes on with the create after the client gave up (graph.md: transactionId
    // "avoids duplicate events when a timed-out create is retried").
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(h.events_with_subject("Too slow").await.len(), 1);
    h.client
        .create_event(&event("Too slow", 9), txn)
        .await
        .unwrap();
    assert_eq!(h.events_with_subject("Too slow").await.len(), 1);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_exactly_and_the_create_then_succeeds() {
    let h = harness().await;
    h.emu.emulator.faults().add(
        FaultRule::once(Fault::Throttle { retry_after_s: 7 })
            .on_path("/events")
            .on_method("POST"),
    );
    let created = h
        .client
        .create_event(&event("Throttled once", 10), uuid::Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(7)]);
    let posts: Vec<RequestRecord> = h
        .log()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.contains("/events"))
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].status, 429);
    assert_eq!(posts[1].status, 201);
    assert_eq!((posts[1].at - posts[0].at).num_seconds(), 7);
    assert_eq!(h.events_with_subject("Throttled once").await.len(), 1);
    assert!(!created.id.is_empty());
}

#[tokio::test]
async fn a_503_with_retry_after_on_a_read_is_waited_out_and_the_read_succeeds() {
    let h = harness().await;
    let created = h
        .client
        .create_event(&event("Read me", 11), uuid::Uuid::new_v4())
        .await
        .unwrap();
    h.emu.emulator.faults().add(
        FaultRule::once(Fault::Unavailable {
            retry_after_s: Some(4),
        })
        .on_method("GET"),
    );
    let seq = h.last_seq();
    let read = h.client.get_event(&created.id).await.unwrap();
    assert_eq!(read.subject.as_deref(), Some("Read me"));
    let gets = h.log_since(seq);
    assert_eq!(
        gets.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![503, 200]
    );
    assert_eq!((gets[1].at - gets[0].at).num_seconds(), 4);
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(4)]);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_throttled_at_once_without_waiting() {
    let h = harness().await;
    h.emu.emulator.faults().add(
        FaultRule::once(Fault::Throttle {
            retry_after_s: 3_600,
        })
        .on_method("GET"),
    );
    let got = h.client.get_event("any").await;
    match got {
        Err(GraphError::Throttled { retry_after, .. }) => {
            assert_eq!(retry_after, Duration::from_secs(3_600))
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    assert!(h.clock.sleeps().is_empty());
    assert_eq!(statuses(&h.log(), "GET", "/events"), vec![429]);
}

#[tokio::test]
async fn an_expired_token_is_invalidated_once_and_the_request_resent() {
    let h = harness().await;
    h.emu
        .emulator
        .faults()
        .add(FaultRule::once(Fault::ExpiredToken).on_method("POST"));
    h.client
        .create_event(&event("After refresh", 12), uuid::Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!(h.tokens.invalidations(), 1);
    assert_eq!(statuses(&h.log(), "POST", "/events"), vec![401, 201]);
    assert_eq!(h.events_with_subject("After refresh").await.len(), 1);
}

/// Hands out emulator tokens and mints a new one after `invalidate`, as the auth crate's
/// token source refreshes.
struct MintingTokens {
    emu: GraphEmulator,
    current: Mutex<Option<String>>,
    minted: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl odoo365_graph::AccessTokens for MintingTokens {
    async fn token(&self) -> Result<String, odoo365_graph::TokenError> {
        let mut current = self.current.lock().unwrap();
        if current.is_none() {
            self.minted
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            *current = Some(
                self.emu
                    .mint_token_with_lifetime(ALICE, Some(chrono::Duration::hours(1)))
                    .unwrap(),
            );
        }
        Ok(current.clone().unwrap())
    }
    async fn invalidate(&self) {
        *self.current.lock().unwrap() = None;
    }
}

#[tokio::test]
async fn a_token_that_expired_on_the_emulators_clock_is_replaced_after_one_401() {
    let h = harness().await;
    let tokens = Arc::new(MintingTokens {
        emu: h.emu.emulator.clone(),
        current: Mutex::new(None),
        minted: Default::default(),
    });
    let client = GraphClient::new(
        GraphConfig::with_base_url(format!("{}/", h.emu.graph_url).parse().unwrap()),
        Seams {
            tokens: tokens.clone(),
            clock: Arc::new(h.clock.clone()),
            jitter_seed: 7,
            budget: None,
        },
    )
    .unwrap();
    let created = client
        .create_event(&event("Long day", 9), uuid::Uuid::new_v4())
        .await
        .unwrap();
    h.clock.emu.advance(chrono::Duration::hours(2));
    let seq = h.last_seq();
    client.get_event(&created.id).await.unwrap();
    assert_eq!(
        h.log_since(seq)
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        vec![401, 200]
    );
    assert_eq!(tokens.minted.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_token_that_stays_expired_is_unauthorized_after_one_retry() {
    let h = harness().await;
    h.emu
        .emulator
        .faults()
        .add(FaultRule::always(Fault::ExpiredToken).on_method("GET"));
    let got = h.client.get_event("nope").await;
    assert!(
        matches!(got, Err(GraphError::Unauthorized { .. })),
        "{got:?}"
    );
    assert_eq!(h.tokens.invalidations(), 1);
    assert_eq!(statuses(&h.log(), "GET", "/events"), vec![401, 401]);
}

#[tokio::test]
async fn a_patch_under_a_stale_etag_is_precondition_failed_and_changes_nothing() {
    let h = harness().await;
    let created = h
        .client
        .create_event(&event("Versioned", 13), uuid::Uuid::new_v4())
        .await
        .unwrap();
    let stale = created.etag().unwrap();
    h.client
        .update_event(
            &created.id,
            &serde_json::json!({"subject": "Versioned v2"}),
            &stale,
        )
        .await
        .unwrap();
    let got = h
        .client
        .update_event(
            &created.id,
            &serde_json::json!({"subject": "Versioned v3"}),
            &stale,
        )
        .await;
    assert!(
        matches!(got, Err(GraphError::PreconditionFailed { .. })),
        "{got:?}"
    );
    let stored = h.raw_get(&format!("/me/events/{}", created.id)).await;
    assert_eq!(stored["subject"], "Versioned v2");
    assert_eq!(statuses(&h.log(), "PATCH", "/events"), vec![200, 412]);
    // A delete under the stale eTag is refused too.
    let del = h.client.delete_event(&created.id, Some(&stale)).await;
    assert!(
        matches!(del, Err(GraphError::PreconditionFailed { .. })),
        "{del:?}"
    );
    assert_eq!(h.events_with_subject("Versioned v2").await.len(), 1);
}

#[tokio::test]
async fn a_patch_whose_answer_is_lost_is_resent_and_the_resend_is_precondition_failed() {
    let h = harness().await;
    let created = h
        .client
        .create_event(&event("Patched", 14), uuid::Uuid::new_v4())
        .await
        .unwrap();
    h.emu.emulator.faults().add(
        FaultRule::once(Fault::ResetAfterApply)
            .on_path("/events")
            .on_method("PATCH"),
    );
    let got = h
        .client
        .update_event(
            &created.id,
            &serde_json::json!({"subject": "Patched v2"}),
            &created.etag().unwrap(),
        )
        .await;
    assert!(
        matches!(got, Err(GraphError::PreconditionFailed { .. })),
        "{got:?}"
    );
    // Re-reading shows the caller's own change, applied once.
    let stored = h.raw_get(&format!("/me/events/{}", created.id)).await;
    assert_eq!(stored["subject"], "Patched v2");
    assert_eq!(statuses(&h.log(), "PATCH", "/events"), vec![0, 412]);
}

#[tokio::test]
async fn a_delete_whose_answer_is_lost_is_resent_and_the_resend_finds_it_gone() {
    let h = harness().await;
    let created = h
        .client
        .create_event(&event("Deleted", 15), uuid::Uuid::new_v4())
        .await
        .unwrap();
    h.emu.emulator.faults().add(
        FaultRule::once(Fault::ResetAfterApply)
            .on_path("/events")
            .on_method("DELETE"),
    );
    let got = h.client.delete_event(&created.id, None).await;
    assert!(matches!(got, Err(GraphError::NotFound { .. })), "{got:?}");
    assert!(h.events_with_subject("Deleted").await.is_empty());
    assert_eq!(statuses(&h.log(), "DELETE", "/events"), vec![0, 404]);
}

#[tokio::test]
async fn a_500_on_a_read_is_retried_after_a_backoff() {
    let h = harness().await;
    let created = h
        .client
        .create_event(&event("Flaky read", 16), uuid::Uuid::new_v4())
        .await
        .unwrap();
    h.emu
        .emulator
        .faults()
        .add(FaultRule::once(Fault::Internal).on_method("GET"));
    let seq = h.last_seq();
    h.client.get_event(&created.id).await.unwrap();
    assert_eq!(
        h.log_since(seq)
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        vec![500, 200]
    );
    let sleeps = h.clock.sleeps();
    assert_eq!(sleeps.len(), 1, "{sleeps:?}");
    assert!(sleeps[0] > Duration::ZERO && sleeps[0] <= Duration::from_secs(1));
}

#[tokio::test]
async fn a_read_that_times_out_is_retried() {
    let h = harness_with(|_| {}, |c| c.request_timeout = Duration::from_millis(500)).await;
    let created = h
        .client
        .create_event(&event("Slow read", 17), uuid::Uuid::new_v4())
        .await
        .unwrap();
    h.emu
        .emulator
        .faults()
        .add(FaultRule::once(Fault::Timeout { hang_ms: 1_500 }).on_method("GET"));
    let seq = h.last_seq();
    let got = h.client.get_event(&created.id).await.unwrap();
    assert_eq!(got.id, created.id);
    // The emulator does not log a request the client abandoned (its handler is dropped
    // with the connection), so the log shows only the answered retry; the backoff sleep
    // shows there was a first attempt.
    assert_eq!(statuses(&h.log_since(seq), "GET", "/events"), vec![200]);
    assert_eq!(h.clock.sleeps().len(), 1, "{:?}", h.clock.sleeps());
}

#[tokio::test]
async fn an_organizer_cancels_a_meeting_and_the_attendees_get_the_comment() {
    let h = harness().await;
    let mut ev = event("Cancelled meeting", 9);
    ev.attendees = Some(vec![odoo365_graph::models::Attendee {
        email_address: Some(odoo365_graph::models::EmailAddress {
            name: Some("Bob".into()),
            address: Some("bob@fabrikam.com".into()),
        }),
        ..Default::default()
    }]);
    let created = h
        .client
        .create_event(&ev, uuid::Uuid::new_v4())
        .await
        .unwrap();
    h.client
        .cancel_event(&created.id, Some("Moved to Odoo"))
        .await
        .unwrap();
    let outbox = h.emu.emulator.outbox();
    let cancel = outbox
        .iter()
        .find(|m| m.event_id == created.id && m.reason == "cancelled")
        .unwrap_or_else(|| panic!("no cancellation: {outbox:?}"));
    assert_eq!(cancel.comment.as_deref(), Some("Moved to Odoo"));
    assert!(cancel.to.contains(&"bob@fabrikam.com".to_string()));
    assert!(h.events_with_subject("Cancelled meeting").await.is_empty());
}

// ---------------------------------------------------------------------------------------
// Calendar delta
// ---------------------------------------------------------------------------------------

async fn full_calendar_round(h: &Harness) -> (Vec<Event>, u32, DeltaLink) {
    let mut round = h.client.calendar_delta(
        Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap(),
    );
    let mut items = Vec::new();
    while let Some(page) = round.next_page().await.unwrap() {
        items.extend(page);
    }
    let pages = round.pages();
    (items, pages, round.finish().unwrap())
}

#[tokio::test]
async fn calendar_delta_pages_by_maxpagesize_and_the_delta_link_then_shows_only_changes() {
    let h = harness_with(|_| {}, |c| c.page_size_max = 2).await;
    for i in 0..5 {
        h.client
            .create_event(&event(&format!("Delta {i}"), 8 + i), uuid::Uuid::new_v4())
            .await
            .unwrap();
    }
    let seq = h.last_seq();
    let (items, pages, link) = full_calendar_round(&h).await;
    let mut subjects: Vec<_> = items.iter().filter_map(|e| e.subject.clone()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 5, "{subjects:?}");
    assert!(pages >= 3, "pages: {pages}");
    let delta_gets = statuses(&h.log_since(seq), "GET", "delta");
    assert_eq!(delta_gets.len() as u32, pages);
    assert!(delta_gets.iter().all(|s| *s == 200));

    h.client
        .create_event(&event("Delta late", 18), uuid::Uuid::new_v4())
        .await
        .unwrap();
    let mut again = h.client.calendar_delta_resume(&link);
    let mut changed = Vec::new();
    while let Some(page) = again.next_page().await.unwrap() {
        changed.extend(page);
    }
    let next = again.finish().unwrap();
    assert_eq!(changed.len(), 1, "{changed:?}");
    // A round that was not applied (a crash) is replayed from the same link: same change.
    let mut replay = h.client.calendar_delta_resume(&link);
    let mut replayed = Vec::new();
    while let Some(page) = replay.next_page().await.unwrap() {
        replayed.extend(page);
    }
    assert_eq!(replayed.len(), 1, "{replayed:?}");
    assert_eq!(replayed[0].id, changed[0].id);
    assert_eq!(changed[0].subject.as_deref(), Some("Delta late"));
    assert_ne!(next.as_str(), link.as_str());
}

#[tokio::test]
async fn an_expired_calendar_delta_token_is_resync_required() {
    let h = harness().await;
    let (_, _, link) = full_calendar_round(&h).await;
    h.emu.emulator.expire_calendar_delta_tokens(ALICE).unwrap();
    let got = h.client.calendar_delta_resume(&link).next_page().await;
    assert!(
        matches!(got, Err(GraphError::ResyncRequired { .. })),
        "{got:?}"
    );
    let last = h.log().pop().unwrap();
    assert_eq!(last.status, 410);
}

// ---------------------------------------------------------------------------------------
// Drive: delta, uploads, downloads
// ---------------------------------------------------------------------------------------

async fn drain_drive(
    mut round: odoo365_graph::DeltaRound<odoo365_graph::models::DriveItem>,
) -> (Vec<odoo365_graph::models::DriveItem>, DeltaLink) {
    let mut items = Vec::new();
    while let Some(page) = round.next_page().await.unwrap() {
        items.extend(page);
    }
    (items, round.finish().unwrap())
}

async fn upload_bytes(h: &Harness, name: &str, bytes: Vec<u8>) -> odoo365_graph::Uploaded {
    let size = bytes.len() as u64;
    h.client
        .upload(
            &UploadTarget::new_file("root", name, ConflictBehavior::Fail),
            size,
            || {
                let b = bytes.clone();
                async move { Ok(std::io::Cursor::new(b)) }
            },
            |_| {},
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn drive_delta_from_latest_shows_only_later_changes() {
    let h = harness().await;
    upload_bytes(&h, "before.txt", b"old".to_vec()).await;
    let (items, link) = drain_drive(h.client.drive_delta_latest()).await;
    assert!(items.is_empty(), "{items:?}");
    assert!(h
        .log()
        .iter()
        .any(|r| r.path.contains("delta") && r.status == 200));
    upload_bytes(&h, "after.txt", b"new".to_vec()).await;
    let (changed, _) = drain_drive(h.client.drive_delta_resume(&link)).await;
    let names: Vec<_> = changed.iter().filter_map(|i| i.name.clone()).collect();
    assert!(names.contains(&"after.txt".to_string()), "{names:?}");
    assert!(!names.contains(&"before.txt".to_string()), "{names:?}");
}

#[tokio::test]
async fn an_expired_drive_delta_is_resync_required_with_a_location_that_starts_a_new_round() {
    let h = harness().await;
    upload_bytes(&h, "kept.txt", b"kept".to_vec()).await;
    let (_, link) = drain_drive(h.client.drive_delta()).await;
    h.emu.emulator.expire_drive_delta_tokens(ALICE).unwrap();
    let got = h.client.drive_delta_resume(&link).next_page().await;
    let location = match got {
        Err(GraphError::ResyncRequired {
            location: Some(l), ..
        }) => l,
        other => panic!("expected resync with a location, got {other:?}"),
    };
    assert_eq!(h.log().pop().unwrap().status, 410);
    let (items, _) = drain_drive(
        h.client
            .drive_delta_resume(&DeltaLink::from_persisted(location)),
    )
    .await;
    assert!(items.iter().any(|i| i.name.as_deref() == Some("kept.txt")));
}

#[tokio::test]
async fn a_deleted_file_shows_in_the_next_drive_delta_round_as_deleted() {
    let h = harness().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            upload_bytes(&h, &format!("file{i}.txt"), vec![b'x'; i + 1])
                .await
                .item
                .id,
        );
    }
    let (items, link) = drain_drive(h.client.drive_delta()).await;
    for id in &ids {
        assert!(items.iter().any(|i| &i.id == id), "{id} missing");
    }
    h.client.delete_item(&ids[1], None).await.unwrap();
    let (changed, _) = drain_drive(h.client.drive_delta_resume(&link)).await;
    let gone = changed.iter().find(|i| i.id == ids[1]).unwrap();
    assert!(gone.deleted.is_some(), "{gone:?}");
    assert!(!changed.iter().any(|i| i.id == ids[0]), "{changed:?}");
}

#[tokio::test]
async fn replacing_content_under_a_stale_etag_is_precondition_failed_and_keeps_the_file() {
    let h = harness_with(|_| {}, session_config).await;
    let original = content(5_000);
    let up = upload_bytes(&h, "guarded.bin", original.clone()).await;
    let stale = up.item.e_tag.clone().unwrap();
    // Someone else changes the file.
    let theirs = content(6_000);
    let size = theirs.len() as u64;
    h.client
        .upload(
            &UploadTarget::replace(up.item.id.clone(), Some(stale.clone())),
            size,
            || {
                let b = theirs.clone();
                async move { Ok(std::io::Cursor::new(b)) }
            },
            |_| {},
        )
        .await
        .unwrap();
    // Our replacements under the old eTag, small (simple PUT) and large (session), fail.
    for len in [4_000, 2 * UNIT + 7] {
        let ours = content(len);
        let got = h
            .client
            .upload(
                &UploadTarget::replace(up.item.id.clone(), Some(stale.clone())),
                ours.len() as u64,
                || {
                    let b = ours.clone();
                    async move { Ok(std::io::Cursor::new(b)) }
                },
                |_| {},
            )
            .await;
        assert!(
            matches!(got, Err(GraphError::PreconditionFailed { .. })),
            "{len}: {got:?}"
        );
    }
    let stored = h.raw_get(&format!("/me/drive/items/{}", up.item.id)).await;
    assert_eq!(stored["size"], 6_000);
    assert!(statuses(&h.log(), "PUT", "/_upload").is_empty());
}

#[tokio::test]
async fn a_small_file_goes_by_simple_put_and_its_quick_xor_hash_matches_the_emulators() {
    let h = harness().await;
    let bytes = content(10_000);
    let up = upload_bytes(&h, "small.bin", bytes.clone()).await;
    assert!(up.verified);
    assert_eq!(up.quick_xor_hash, quick_xor_hash(&bytes));
    let stored = h.raw_get(&format!("/me/drive/items/{}", up.item.id)).await;
    assert_eq!(
        stored["file"]["hashes"]["quickXorHash"],
        up.quick_xor_hash.as_str()
    );
    assert_eq!(statuses(&h.log(), "PUT", "/content").len(), 1);
    assert!(statuses(&h.log(), "POST", "createUploadSession").is_empty());
}

const UNIT: usize = 327_680;

fn session_config(c: &mut GraphConfig) {
    c.simple_upload_bytes_max = 100_000;
    c.upload_fragment_bytes = UNIT;
}

#[tokio::test]
async fn a_large_file_goes_through_an_upload_session_in_320_kib_fragments_without_the_token() {
    let h = harness_with(|_| {}, session_config).await;
    let bytes = content(3 * UNIT + 12_345);
    let up = upload_bytes(&h, "large.bin", bytes.clone()).await;
    assert!(up.verified);
    let stored = h.raw_get(&format!("/me/drive/items/{}", up.item.id)).await;
    assert_eq!(stored["size"], bytes.len());
    assert_eq!(
        stored["file"]["hashes"]["quickXorHash"],
        quick_xor_hash(&bytes).as_str()
    );
    // The emulator is strict about Authorization on upload URLs: a token would be a 401.
    assert_eq!(
        statuses(&h.log(), "PUT", "/_upload"),
        vec![202, 202, 202, 201]
    );
}

/// Gives `limit` bytes of `data`, then fails like a crashed process.
struct Crashing {
    data: std::io::Cursor<Vec<u8>>,
    limit: u64,
}

impl AsyncRead for Crashing {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.data.position() >= self.limit {
            return Poll::Ready(Err(std::io::Error::other("crash")));
        }
        let room = (self.limit - self.data.position()) as usize;
        let mut small = vec![0u8; room.min(buf.remaining())];
        let n = std::io::Read::read(&mut self.data, &mut small)?;
        buf.put_slice(&small[..n]);
        let _ = cx;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn an_interrupted_upload_resumes_from_the_persisted_url_and_sends_only_the_missing_ranges() {
    let h = harness_with(|_| {}, session_config).await;
    let bytes = content(4 * UNIT + 1000);
    let persisted: Arc<Mutex<Option<String>>> = Arc::default();
    let p = persisted.clone();
    let data = bytes.clone();
    let crashed = h
        .client
        .upload(
            &UploadTarget::new_file("root", "resume.bin", ConflictBehavior::Fail),
            bytes.len() as u64,
            || {
                let d = data.clone();
                async move {
                    Ok(Crashing {
                        data: std::io::Cursor::new(d),
                        limit: (2 * UNIT + 500) as u64,
                    })
                }
            },
            move |s| *p.lock().unwrap() = Some(serde_json::to_string(s).unwrap()),
        )
        .await;
    assert!(crashed.is_err());
    assert_eq!(statuses(&h.log(), "PUT", "/_upload"), vec![202, 202]);

    // "After the restart": the session comes back from storage.
    let session: UploadSession =
        serde_json::from_str(persisted.lock().unwrap().as_deref().unwrap()).unwrap();
    let seq = h.last_seq();
    let up = h
        .client
        .resume_upload(&session, std::io::Cursor::new(bytes.clone()))
        .await
        .unwrap();
    assert!(up.verified);
    let after = h.log_since(seq);
    assert_eq!(statuses(&after, "GET", "/_upload"), vec![200]);
    // Five fragments in all: two before the crash, the three missing ones after.
    assert_eq!(statuses(&after, "PUT", "/_upload"), vec![202, 202, 201]);
    assert!(after.iter().all(|r| r.status != 416), "{after:?}");
    let stored = h.raw_get(&format!("/me/drive/items/{}", up.item.id)).await;
    assert_eq!(
        stored["file"]["hashes"]["quickXorHash"],
        quick_xor_hash(&bytes).as_str()
    );
    assert_eq!(statuses(&h.log(), "POST", "createUploadSession").len(), 1);
}

#[tokio::test]
async fn a_fragment_whose_answer_is_lost_is_realigned_from_the_session_and_not_sent_twice() {
    let h = harness_with(|_| {}, session_config).await;
    let bytes = content(3 * UNIT + 99);
    // The first fragment lands, but its answer is lost.
    h.emu.emulator.faults().add(
        FaultRule::once(Fault::ResetAfterApply)
            .on_path("/_upload")
            .on_method("PUT"),
    );
    let seq = h.last_seq();
    let up = upload_bytes(&h, "lossy.bin", bytes.clone()).await;
    assert!(up.verified);
    let after = h.log_since(seq);
    let uploads: Vec<(String, u16)> = after
        .iter()
        .filter(|r| r.path.contains("/_upload"))
        .map(|r| (r.method.clone(), r.status))
        .collect();
    // Lost; the resend overlaps (416); the session says where it stands; the rest follows.
    let expected: Vec<(String, u16)> = [
        ("PUT", 0),
        ("PUT", 416),
        ("GET", 200),
        ("PUT", 202),
        ("PUT", 202),
        ("PUT", 201),
    ]
    .iter()
    .map(|(m, s)| (m.to_string(), *s))
    .collect();
    assert_eq!(uploads, expected);
    let stored = h.raw_get(&format!("/me/drive/items/{}", up.item.id)).await;
    assert_eq!(
        stored["file"]["hashes"]["quickXorHash"],
        quick_xor_hash(&bytes).as_str()
    );
}

#[tokio::test]
async fn an_expired_upload_session_is_restarted_with_a_new_session() {
    let h = harness_with(|_| {}, session_config).await;
    let bytes = content(2 * UNIT + 10);
    let emu_clock = h.clock.emu.clone();
    let mut sessions = 0;
    let data = bytes.clone();
    let up = h
        .client
        .upload(
            &UploadTarget::new_file("root", "restart.bin", ConflictBehavior::Fail),
            bytes.len() as u64,
            || {
                let d = data.clone();
                async move { Ok(std::io::Cursor::new(d)) }
            },
            |_| {
                sessions += 1;
                if sessions == 1 {
                    // The first session is left lying around for two days.
                    emu_clock.advance(chrono::Duration::days(2));
                }
            },
        )
        .await
        .unwrap();
    assert_eq!(sessions, 2);
    assert!(up.verified);
    let log = h.log();
    assert_eq!(statuses(&log, "POST", "createUploadSession").len(), 2);
    let puts = statuses(&log, "PUT", "/_upload");
    assert_eq!(puts[0], 404, "{puts:?}");
    assert_eq!(&puts[1..], &[202, 202, 201]);
}

#[tokio::test]
async fn an_expired_persisted_session_is_upload_session_expired_on_resume() {
    let h = harness_with(|_| {}, session_config).await;
    let session = h
        .client
        .create_upload_session(
            &UploadTarget::new_file("root", "stale.bin", ConflictBehavior::Fail),
            (2 * UNIT) as u64,
        )
        .await
        .unwrap();
    h.clock.emu.advance(chrono::Duration::days(2));
    let got = h
        .client
        .resume_upload(&session, std::io::Cursor::new(content(2 * UNIT)))
        .await;
    assert!(
        matches!(got, Err(GraphError::UploadSessionExpired)),
        "{got:?}"
    );
    assert_eq!(statuses(&h.log(), "GET", "/_upload"), vec![404]);
    assert!(statuses(&h.log(), "PUT", "/_upload").is_empty());
}

#[tokio::test]
async fn a_download_follows_the_302_without_the_token_and_verifies_the_hash() {
    let h = harness().await;
    let bytes = content(50_000);
    let up = upload_bytes(&h, "down.bin", bytes.clone()).await;
    let seq = h.last_seq();
    let mut sink = Vec::new();
    let got = h
        .client
        .download(&up.item.id, None, &mut sink)
        .await
        .unwrap();
    assert_eq!(sink, bytes);
    assert_eq!(got.quick_xor_hash, quick_xor_hash(&bytes));
    let after = h.log_since(seq);
    assert_eq!(statuses(&after, "GET", "/content"), vec![302]);
    assert_eq!(statuses(&after, "GET", "/_download"), vec![200]);
}

#[tokio::test]
async fn a_download_whose_hash_differs_is_hash_mismatch() {
    let h = harness().await;
    let up = upload_bytes(&h, "wrong.bin", content(1000)).await;
    let other = quick_xor_hash(b"something else");
    let mut sink = Vec::new();
    let got = h
        .client
        .download(&up.item.id, Some(&other), &mut sink)
        .await;
    assert!(
        matches!(got, Err(GraphError::HashMismatch { .. })),
        "{got:?}"
    );
}

// ---------------------------------------------------------------------------------------
// $batch and throttling
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_throttled_batch_sub_request_is_resent_after_its_retry_after() {
    let h = harness().await;
    h.emu.emulator.faults().add(
        FaultRule::once(Fault::Throttle { retry_after_s: 5 })
            .on_path("/events")
            .on_method("POST"),
    );
    let reqs = (0..3)
        .map(|i| {
            BatchRequest::new(format!("{}", i + 1), "POST", "/me/events")
                .json(serde_json::to_value(event(&format!("Batch {i}"), 9 + i)).unwrap())
        })
        .collect();
    let answers = h.client.batch(reqs).await.unwrap();
    assert_eq!(answers.len(), 3);
    assert!(answers.iter().all(|a| a.status == 201), "{answers:?}");
    for i in 0..3 {
        assert_eq!(
            h.events_with_subject(&format!("Batch {i}")).await.len(),
            1,
            "Batch {i}"
        );
    }
    assert_eq!(statuses(&h.log(), "POST", "$batch").len(), 2);
    assert!(h.clock.sleeps().contains(&Duration::from_secs(5)));
}

#[tokio::test]
async fn a_throttled_batch_dependency_is_resent_with_the_dependent_that_failed_424() {
    let h = harness().await;
    h.emu.emulator.faults().add(
        FaultRule::once(Fault::Throttle { retry_after_s: 2 })
            .on_path("/events")
            .on_method("POST"),
    );
    let first = BatchRequest::new("1", "POST", "/me/events")
        .json(serde_json::to_value(event("Dep first", 9)).unwrap());
    let second = BatchRequest::new("2", "POST", "/me/events")
        .json(serde_json::to_value(event("Dep second", 10)).unwrap())
        .depends_on("1");
    let answers = h.client.batch(vec![first, second]).await.unwrap();
    assert_eq!(
        answers
            .iter()
            .map(|a| (a.id.as_str(), a.status))
            .collect::<Vec<_>>(),
        vec![("1", 201), ("2", 201)]
    );
    assert_eq!(h.events_with_subject("Dep first").await.len(), 1);
    assert_eq!(h.events_with_subject("Dep second").await.len(), 1);
    assert_eq!(statuses(&h.log(), "POST", "$batch").len(), 2);
}

#[tokio::test]
async fn a_burst_beyond_the_mailbox_limit_is_governed_instead_of_bouncing_off_429s() {
    let h = harness_with(
        |e| {
            e.limits = Limits {
                requests_per_window: 10,
                window_s: 60,
                concurrent: 4,
                concurrency_retry_after_s: 1,
            }
        },
        |c| {
            c.rate_requests = 10;
            c.rate_window = Duration::from_secs(60);
        },
    )
    .await;
    let created = h
        .client
        .create_event(&event("Hot", 9), uuid::Uuid::new_v4())
        .await
        .unwrap();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..24 {
        let c = h.client.clone();
        let id = created.id.clone();
        set.spawn(async move { c.get_event(&id).await });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    let log = h.log();
    let throttled: Vec<_> = log.iter().filter(|r| r.status == 429).collect();
    assert!(throttled.is_empty(), "429s: {throttled:?}");
    assert_eq!(log.len(), 25);
    // The governor waited for the window instead.
    assert!(!h.clock.sleeps().is_empty());
}

#[tokio::test]
async fn two_clients_sharing_a_mailbox_budget_stay_under_the_concurrency_limit() {
    let h = harness().await;
    let created = h
        .client
        .create_event(&event("Shared", 9), uuid::Uuid::new_v4())
        .await
        .unwrap();
    let budget = Arc::new(odoo365_graph::MailboxBudget::new(
        4,
        10_000,
        Duration::from_secs(600),
    ));
    // Every request is slow, so a fifth concurrent one would be refused by the emulator.
    h.emu
        .emulator
        .faults()
        .add(FaultRule::always(Fault::Slow { delay_ms: 30 }).on_method("GET"));
    let clients: Vec<GraphClient> = (0..2)
        .map(|_| {
            let mut config =
                GraphConfig::with_base_url(format!("{}/", h.emu.graph_url).parse().unwrap());
            config.request_timeout = Duration::from_secs(10);
            GraphClient::new(
                config,
                Seams {
                    tokens: Arc::new(StaticToken::new(h.token.clone())),
                    clock: Arc::new(h.clock.clone()),
                    jitter_seed: 1,
                    budget: Some(budget.clone()),
                },
            )
            .unwrap()
        })
        .collect();
    let seq = h.last_seq();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..16 {
        let c = clients[i % 2].clone();
        let id = created.id.clone();
        set.spawn(async move { c.get_event(&id).await });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    let log = h.log_since(seq);
    assert_eq!(log.len(), 16, "{log:?}");
    assert!(log.iter().all(|r| r.status == 200), "{log:?}");
}

#[tokio::test]
async fn the_demo_world_decodes_whole_through_both_deltas_and_series_masters() {
    let emu_clock = odoo365_testkit::Clock::frozen(t0());
    let emu = GraphEmulator::start(EmuConfig {
        seed: 3,
        clock: emu_clock.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    emu.emulator.seed_demo();
    let token = emu.emulator.mint_token(ALICE).unwrap();
    let client = GraphClient::new(
        GraphConfig::with_base_url(format!("{}/", emu.graph_url).parse().unwrap()),
        Seams {
            tokens: Arc::new(StaticToken::new(token)),
            clock: Arc::new(BridgeClock {
                emu: emu_clock,
                sleeps: Arc::default(),
            }),
            jitter_seed: 3,
            budget: None,
        },
    )
    .unwrap();
    let mut round = client.calendar_delta(t0(), t0() + chrono::Duration::days(90));
    let mut events = Vec::new();
    while let Some(page) = round.next_page().await.unwrap() {
        events.extend(page);
    }
    round.finish().unwrap();
    let weekly: Vec<&Event> = events
        .iter()
        .filter(|e| e.subject.as_deref() == Some("Weekly sync"))
        .collect();
    assert_eq!(weekly.len(), 10, "{weekly:?}");
    let master_id = weekly[0].series_master_id.clone().unwrap();
    let master = client.get_event(&master_id).await.unwrap();
    assert!(master.recurrence.is_some(), "{master:?}");
    let online = events
        .iter()
        .find(|e| e.subject.as_deref() == Some("Budget review"))
        .unwrap();
    assert!(online.join_url().is_some(), "{online:?}");
    assert!(events
        .iter()
        .any(|e| e.subject.as_deref() == Some("Company offsite") && e.is_all_day == Some(true)));

    let (items, _) = drain_drive(client.drive_delta()).await;
    for name in ["quote.pdf", "invoice.pdf", "readme.txt", "Odoo Sync"] {
        assert!(
            items.iter().any(|i| i.name.as_deref() == Some(name)),
            "{name} missing"
        );
    }
    let readme = items
        .iter()
        .find(|i| i.name.as_deref() == Some("readme.txt"))
        .unwrap();
    let mut sink = Vec::new();
    client.download(&readme.id, None, &mut sink).await.unwrap();
    assert_eq!(sink, b"hello world");
}

#[tokio::test]
async fn a_mailbox_window_429_is_waited_out_to_the_next_window() {
    // The service's limit is lower than the client's budget (a tenant under pressure).
    let h = harness_with(
        |e| {
            e.limits = Limits {
                requests_per_window: 5,
                window_s: 60,
                concurrent: 4,
                concurrency_retry_after_s: 1,
            }
        },
        |_| {},
    )
    .await;
    let created = h
        .client
        .create_event(&event("Window", 9), uuid::Uuid::new_v4())
        .await
        .unwrap();
    h.clock.emu.advance(chrono::Duration::seconds(20));
    for _ in 0..6 {
        h.client.get_event(&created.id).await.unwrap();
    }
    let log = h.log();
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![201, 200, 200, 200, 200, 429, 200, 200]
    );
    // Retry-After was the 40 s left in the window that opened with the create.
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(40)]);
    assert_eq!((log[6].at - log[0].at).num_seconds(), 60);
}

// ---------------------------------------------------------------------------------------
// Drive selection, paths, folders, sites; injected transfer corruption
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_sharepoint_library_is_found_through_sites_and_used_by_id_like_the_users_drive() {
    let h = harness().await;
    h.emu
        .emulator
        .create_user("bob@contoso.com", "Bob", DriveType::Business);
    let site = h.emu.emulator.create_site("Sales Team", &[ALICE]).unwrap();
    h.emu
        .emulator
        .create_site("Bob only", &["bob@contoso.com"])
        .unwrap();
    let found = h.client.search_sites("sales").await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].id, site.id);
    assert!(h.client.search_sites("bob").await.unwrap().is_empty());
    let followed = h.client.followed_sites().await.unwrap();
    assert_eq!(
        followed.iter().map(|s| &s.id).collect::<Vec<_>>(),
        vec![&site.id]
    );
    let libraries = h.client.site_drives(&site.id).await.unwrap();
    assert_eq!(libraries.len(), 1);
    assert_eq!(libraries[0].drive_type.as_deref(), Some("documentLibrary"));
    let lib = h.client.with_drive(Some(&libraries[0].id));
    assert_eq!(lib.drive_info().await.unwrap().id, libraries[0].id);
    let folder = lib
        .ensure_folder_path("Odoo Sync/sale.order")
        .await
        .unwrap();
    let up = lib
        .upload(
            &UploadTarget::new_file(&folder.id, "quote.pdf", ConflictBehavior::Fail),
            3,
            || async { Ok(std::io::Cursor::new(b"pdf".to_vec())) },
            |_| {},
        )
        .await
        .unwrap();
    // The file is in the library, not in Alice's OneDrive.
    assert!(h.client.get_item(&up.item.id).await.is_err());
    assert_eq!(
        lib.get_item_by_path("Odoo Sync/sale.order/quote.pdf")
            .await
            .unwrap()
            .id,
        up.item.id
    );
    // Its delta round and the links it hands out stay on the library.
    let (items, link) = drain_drive(lib.drive_delta()).await;
    assert!(items.iter().any(|i| i.id == up.item.id));
    assert!(link.as_str().contains("/drives/"), "{}", link.as_str());
    let (again, _) = drain_drive(lib.drive_delta_resume(&link)).await;
    assert!(again.is_empty(), "{again:?}");
    // A library of a site Alice is not a member of is not found.
    let bobs = h
        .emu
        .emulator
        .create_site("Bob two", &["bob@contoso.com"])
        .unwrap();
    let err = h
        .client
        .with_drive(Some(&bobs.drive_ids[0]))
        .drive_info()
        .await;
    assert!(matches!(err, Err(GraphError::NotFound { .. })), "{err:?}");
}

#[tokio::test]
async fn ensuring_a_folder_path_creates_what_is_missing_once_and_never_renames() {
    let h = harness().await;
    let a = h
        .client
        .ensure_folder_path("Odoo Sync/sale.order/12")
        .await
        .unwrap();
    let seq = h.last_seq();
    let b = h
        .client
        .ensure_folder_path("Odoo Sync/sale.order/12")
        .await
        .unwrap();
    assert_eq!(a.id, b.id);
    // The second call is one look-up by path, no create.
    let after = h.log_since(seq);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].method, "GET");
    // A create that clashes looks the folder up instead of making "12 1".
    let parent = h
        .client
        .get_item_by_path("Odoo Sync/sale.order")
        .await
        .unwrap();
    let c = h.client.ensure_folder(&parent.id, "12").await.unwrap();
    assert_eq!(c.id, a.id);
    let kids = h
        .raw_get(&format!("/me/drive/items/{}/children", parent.id))
        .await;
    assert_eq!(kids["value"].as_array().unwrap().len(), 1);
    assert!(h
        .client
        .get_child(&parent.id, "13")
        .await
        .unwrap()
        .is_none());
    assert!(a.web_url.is_some());
}

#[tokio::test]
async fn a_download_corrupted_in_transit_is_hash_mismatch() {
    let h = harness().await;
    let up = upload_bytes(&h, "c.bin", content(2000)).await;
    h.emu.emulator.corrupt_next_downloads(1);
    let mut sink = Vec::new();
    let got = h.client.download(&up.item.id, None, &mut sink).await;
    assert!(
        matches!(got, Err(GraphError::HashMismatch { .. })),
        "{got:?}"
    );
    // The fault was one transfer: the retry gets the right bytes.
    let mut sink = Vec::new();
    h.client
        .download(&up.item.id, None, &mut sink)
        .await
        .unwrap();
    assert_eq!(sink, content(2000));
}

#[tokio::test]
async fn an_upload_stored_with_other_bytes_is_hash_mismatch_for_simple_and_session_uploads() {
    let h = harness_with(|_| {}, session_config).await;
    h.emu.emulator.corrupt_next_uploads(2);
    for (name, len) in [("small.bin", 1000usize), ("large.bin", 2 * 327_680 + 10)] {
        let bytes = content(len);
        let got = h
            .client
            .upload(
                &UploadTarget::new_file("root", name, ConflictBehavior::Fail),
                len as u64,
                || {
                    let b = bytes.clone();
                    async move { Ok(std::io::Cursor::new(b)) }
                },
                |_| {},
            )
            .await;
        assert!(
            matches!(got, Err(GraphError::HashMismatch { .. })),
            "{name}: {got:?}"
        );
    }
}
