#![allow(clippy::unwrap_used)]
//! The documents adapters (`GraphDrive`, `OdooFiles`) against the testkit's Microsoft 365
//! and Odoo emulators, checked on the emulators' state and request logs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use odoo365_app::file_ports::{GraphDrive, OdooFiles};
use odoo365_engine::files::{content_info, Drive, OdooAttachments, UploadProgress, UploadTarget};
use odoo365_engine::ports::PortError;
use odoo365_graph::{GraphClient, GraphConfig, Seams, StaticToken, SystemClock};
use odoo365_odoo::{ApiKey, OdooClient, OdooConfig};
use odoo365_testkit::graph::{
    DriveType, GraphConfig as GraphEmuConfig, GraphEmulator, RunningGraph,
};
use odoo365_testkit::odoo::{
    NewApiKey, NewUser, OdooConfig as OdooEmuConfig, OdooEmulator, Ret, RunningOdoo,
};
use serde_json::{json, Value};

const ALICE: &str = "alice@contoso.com";
const UNIT: usize = 327_680;

async fn graph() -> (RunningGraph, GraphClient) {
    let emu = GraphEmulator::start(GraphEmuConfig {
        seed: 3,
        clock: odoo365_testkit::Clock::frozen(Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()),
        access_token_lifetime_s: Some(86_400),
        ..Default::default()
    })
    .await
    .unwrap();
    emu.emulator
        .create_user(ALICE, "Alice", DriveType::Business);
    let token = emu.emulator.mint_token(ALICE).unwrap();
    let mut config = GraphConfig::with_base_url(format!("{}/", emu.graph_url).parse().unwrap());
    config.request_timeout = Duration::from_secs(10);
    config.upload_fragment_bytes = UNIT;
    let client = GraphClient::new(
        config,
        Seams {
            tokens: Arc::new(StaticToken::new(token)),
            clock: Arc::new(SystemClock),
            jitter_seed: 3,
            budget: None,
        },
    )
    .unwrap();
    (emu, client)
}

fn content(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| ((i * 31 + seed) % 251) as u8)
        .collect()
}

fn spool(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[tokio::test]
async fn the_drive_adapter_creates_the_tree_uploads_finds_downloads_renames_and_scopes_delta_to_the_root(
) {
    let (emu, client) = graph().await;
    let drive = GraphDrive::new(&client, None);
    let dir = tempfile::tempdir().unwrap();
    let root = drive.ensure_root("Odoo Sync").await.unwrap();
    assert!(root.folder);
    assert_eq!(drive.ensure_root("Odoo Sync").await.unwrap().id, root.id);
    let model = drive.ensure_folder(&root.id, "sale.order").await.unwrap();
    let record = drive.ensure_folder(&model.id, "7").await.unwrap();
    assert_eq!(
        drive.ensure_folder(&model.id, "7").await.unwrap().id,
        record.id
    );
    assert!(record.web_url.is_some());

    let bytes = content(5000, 1);
    let src = spool(&dir, "up", &bytes);
    let target = UploadTarget::New {
        parent_id: record.id.clone(),
        name: "quote.pdf".into(),
    };
    let up = drive.upload_small(&target, &src).await.unwrap();
    assert_eq!(
        up.quick_xor.as_deref(),
        Some(content_info(&src).unwrap().quick_xor.as_str())
    );
    // A second create of the same name is refused, not renamed.
    let clash = drive.upload_small(&target, &src).await;
    assert!(
        matches!(&clash, Err(PortError::Rejected { message }) if message.contains("nameAlreadyExists")),
        "{clash:?}"
    );
    assert_eq!(
        drive
            .find_child(&record.id, "quote.pdf")
            .await
            .unwrap()
            .unwrap()
            .id,
        up.id
    );
    assert!(drive
        .find_child(&record.id, "nope.pdf")
        .await
        .unwrap()
        .is_none());

    let dest = dir.path().join("down");
    let got = drive.download(&up.id, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert_eq!(got, content_info(&src).unwrap());

    // A file outside the sync root never shows in its delta.
    let outside = drive
        .upload_small(
            &UploadTarget::New {
                parent_id: "root".into(),
                name: "outside.txt".into(),
            },
            &src,
        )
        .await
        .unwrap();
    let first = drive.delta(&root.id, None).await.unwrap();
    assert!(first.full);
    let ids: Vec<&str> = first.items.iter().map(|i| i.id.as_str()).collect();
    for want in [&root.id, &model.id, &record.id, &up.id] {
        assert!(ids.contains(&want.as_str()), "{want} missing from {ids:?}");
    }
    assert!(!ids.contains(&outside.id.as_str()));

    // Rename under If-Match, then move to another record: the next round shows the file
    // under its new name and parent; a stale eTag is PreconditionFailed.
    let renamed = drive
        .update(&up.id, None, Some("quote v2.pdf"), up.etag.as_deref())
        .await
        .unwrap();
    assert_eq!(renamed.name, "quote v2.pdf");
    let stale = drive
        .update(&up.id, None, Some("x.pdf"), up.etag.as_deref())
        .await;
    assert_eq!(stale, Err(PortError::PreconditionFailed));
    let other = drive.ensure_folder(&model.id, "8").await.unwrap();
    drive
        .update(&up.id, Some(&other.id), None, None)
        .await
        .unwrap();
    let second = drive
        .delta(&root.id, Some(&first.delta_link))
        .await
        .unwrap();
    assert!(!second.full);
    let moved = second.items.iter().rev().find(|i| i.id == up.id).unwrap();
    assert_eq!(moved.parent_id.as_deref(), Some(other.id.as_str()));
    assert_eq!(moved.name, "quote v2.pdf");

    // Delete goes to the recycle bin; delta shows it deleted; a second delete is NotFound.
    drive.delete(&up.id, None).await.unwrap();
    assert_eq!(drive.delete(&up.id, None).await, Err(PortError::NotFound));
    let third = drive
        .delta(&root.id, Some(&second.delta_link))
        .await
        .unwrap();
    assert!(third.items.iter().any(|i| i.id == up.id && i.deleted));
    assert_eq!(drive.get(&up.id).await, Err(PortError::NotFound));

    // An expired link is ResyncRequired; the full round after it has no duplicates.
    emu.emulator.expire_drive_delta_tokens(ALICE).unwrap();
    assert_eq!(
        drive.delta(&root.id, Some(&third.delta_link)).await,
        Err(PortError::ResyncRequired)
    );
    let again = drive.delta(&root.id, None).await.unwrap();
    let mut seen: Vec<&str> = again.items.iter().map(|i| i.id.as_str()).collect();
    seen.sort();
    let n = seen.len();
    seen.dedup();
    assert_eq!(seen.len(), n);
}

#[tokio::test]
async fn a_large_upload_interrupted_by_a_crash_resumes_from_the_session_without_resending_bytes() {
    let (emu, client) = graph().await;
    let dir = tempfile::tempdir().unwrap();
    let size = 3 * UNIT + 1234;
    let bytes = content(size, 9);
    let src = spool(&dir, "big", &bytes);
    let drive = GraphDrive::new(&client, None);
    let root = drive.ensure_root("Odoo Sync").await.unwrap();
    let target = UploadTarget::New {
        parent_id: root.id.clone(),
        name: "big.bin".into(),
    };
    let session = drive
        .create_upload_session(&target, size as u64)
        .await
        .unwrap();
    let p = drive
        .upload_fragment(&session, &src, 0, UNIT as u64)
        .await
        .unwrap();
    assert_eq!(
        p,
        UploadProgress::Next {
            offset: UNIT as u64
        }
    );
    // "Crash": a fresh adapter with only the persisted session asks where it stands.
    let drive = GraphDrive::new(&client, None);
    let mut offset = drive
        .upload_session_offset(&session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(offset, UNIT as u64);
    // Resending the fragment already received is answered with the current offset.
    assert_eq!(
        drive
            .upload_fragment(&session, &src, 0, UNIT as u64)
            .await
            .unwrap(),
        UploadProgress::Next {
            offset: UNIT as u64
        }
    );
    let item = loop {
        let len = (size as u64 - offset).min(UNIT as u64);
        match drive
            .upload_fragment(&session, &src, offset, len)
            .await
            .unwrap()
        {
            UploadProgress::Next { offset: n } => offset = n,
            UploadProgress::Done { item } => break item,
        }
    };
    assert_eq!(item.size, size as u64);
    assert_eq!(item.quick_xor, Some(content_info(&src).unwrap().quick_xor));
    // Four fragments landed (202, 202, 202, 201) plus the one resend (416): byte 0 was
    // never sent a third time.
    let puts: Vec<u16> = emu
        .emulator
        .request_log()
        .snapshot()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/_upload/"))
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, vec![202, 416, 202, 202, 201]);
    // A cancelled session is gone.
    let s2 = drive
        .create_upload_session(
            &UploadTarget::New {
                parent_id: root.id.clone(),
                name: "other.bin".into(),
            },
            size as u64,
        )
        .await
        .unwrap();
    drive.cancel_upload_session(&s2).await.unwrap();
    assert_eq!(
        drive.upload_session_offset(&s2).await,
        Err(PortError::NotFound)
    );
}

#[tokio::test]
async fn injected_corruption_shows_as_a_hash_the_engine_can_compare() {
    let (emu, client) = graph().await;
    let dir = tempfile::tempdir().unwrap();
    let drive = GraphDrive::new(&client, None);
    let root = drive.ensure_root("Odoo Sync").await.unwrap();
    let src = spool(&dir, "f", &content(4000, 2));
    let sent = content_info(&src).unwrap();
    // Upload: Graph stored other bytes, so the item's hash is not the sent one.
    emu.emulator.corrupt_next_uploads(1);
    let up = drive
        .upload_small(
            &UploadTarget::New {
                parent_id: root.id.clone(),
                name: "f.bin".into(),
            },
            &src,
        )
        .await
        .unwrap();
    assert_ne!(up.quick_xor.as_deref(), Some(sent.quick_xor.as_str()));
    // Replace with the right bytes, then a corrupted download differs from the item.
    let fixed = drive
        .upload_small(
            &UploadTarget::Replace {
                item_id: up.id.clone(),
                if_match: None,
            },
            &src,
        )
        .await
        .unwrap();
    assert_eq!(fixed.quick_xor.as_deref(), Some(sent.quick_xor.as_str()));
    emu.emulator.corrupt_next_downloads(1);
    let got = drive.download(&up.id, &dir.path().join("d")).await.unwrap();
    assert_ne!(got.quick_xor, sent.quick_xor);
    let got = drive.download(&up.id, &dir.path().join("d")).await.unwrap();
    assert_eq!(got, sent);
}

#[tokio::test]
async fn a_sharepoint_library_is_a_drive_like_any_other() {
    let (emu, client) = graph().await;
    let site = emu.emulator.create_site("Sales", &[ALICE]).unwrap();
    let drive = GraphDrive::new(&client, Some(&site.drive_ids[0]));
    let root = drive.ensure_root("Odoo Sync/Archive").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = spool(&dir, "f", b"library");
    let f = drive
        .upload_small(
            &UploadTarget::New {
                parent_id: root.id.clone(),
                name: "a.txt".into(),
            },
            &src,
        )
        .await
        .unwrap();
    let round = drive.delta(&root.id, None).await.unwrap();
    assert!(round.items.iter().any(|i| i.id == f.id));
    assert!(round.delta_link.contains("/drives/"));
    // Not in Alice's own OneDrive.
    let mine = GraphDrive::new(&client, None);
    assert_eq!(mine.get(&f.id).await, Err(PortError::NotFound));
}

// ---------------------------------------------------------------------------------------
// Odoo
// ---------------------------------------------------------------------------------------

struct O {
    odoo: RunningOdoo,
    files: OdooFiles,
    alice: i64,
}

impl O {
    fn emu(&self, model: &str, method: &str, ids: &[i64], kwargs: Value) -> Value {
        let Value::Object(kwargs) = kwargs else {
            panic!()
        };
        match self
            .odoo
            .emulator
            .execute(self.alice, model, method, ids, kwargs)
            .unwrap()
        {
            Ret::Value(v) => v,
            Ret::Records(ids) | Ret::Created { ids, .. } => json!(ids),
            Ret::One(id) => json!(id),
        }
    }
    fn create(&self, model: &str, vals: Value) -> i64 {
        self.emu(model, "create", &[], json!({"vals_list": [vals]}))[0]
            .as_i64()
            .unwrap()
    }
}

async fn odoo(version: &str) -> O {
    let odoo = OdooEmulator::start(OdooEmuConfig {
        seed: 5,
        clock: odoo365_testkit::Clock::frozen(Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()),
        version: version.into(),
        ..OdooEmuConfig::default()
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
    let key = odoo
        .emulator
        .create_api_key(alice.uid, NewApiKey::default())
        .unwrap();
    let mut cfg = OdooConfig::new(odoo.url.parse().unwrap(), "alice", ApiKey::new(key));
    cfg.database = Some("odoo".into());
    cfg.timeout = Duration::from_secs(10);
    cfg.requests_per_second = 10_000.0;
    cfg.requests_burst = 10_000;
    let client = OdooClient::connect(cfg).await.unwrap();
    O {
        odoo,
        files: OdooFiles::new(Arc::new(client)),
        alice: alice.uid,
    }
}

async fn odoo_attachment_lifecycle(version: &str) {
    let o = odoo(version).await;
    let partner = o.create("res.partner", json!({"name": "Azure"}));
    let so1 = o.create("sale.order", json!({"partner_id": partner}));
    let so2 = o.create("sale.order", json!({"partner_id": partner}));
    // Left alone: a URL attachment and one on a model not synced.
    o.create("ir.attachment", json!({"name": "link", "type": "url", "url": "https://example.com", "res_model": "sale.order", "res_id": so1}));
    let task = o.create("project.task", json!({"name": "T"}));
    o.create(
        "ir.attachment",
        json!({"name": "t.txt", "datas": "eA==", "res_model": "project.task", "res_id": task}),
    );

    let dir = tempfile::tempdir().unwrap();
    let bytes = content(70_000, 4);
    let src = spool(&dir, "up", &bytes);
    let info = content_info(&src).unwrap();
    let att = o
        .files
        .create("sale.order", so1, "quote.bin", &src)
        .await
        .unwrap();
    assert_eq!(att.checksum.as_deref(), Some(info.sha1.as_str()));
    assert_eq!(att.size, bytes.len() as u64);
    assert_eq!((att.res_model.as_str(), att.res_id), ("sale.order", so1));

    let models = vec!["sale.order".to_string()];
    let changed = o
        .files
        .changed_since(&models, None, chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        changed.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![att.id]
    );
    let later = Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap();
    assert!(o
        .files
        .changed_since(&models, Some(later), chrono::Duration::minutes(5))
        .await
        .unwrap()
        .is_empty());

    // Downloads through datas and through the streamed route give the same bytes.
    let d1 = o
        .files
        .download(att.id, &dir.path().join("d1"))
        .await
        .unwrap();
    assert_eq!(d1, info);
    let mut streaming = o.files.clone();
    streaming.stream_above = 0;
    let d2 = streaming
        .download(att.id, &dir.path().join("d2"))
        .await
        .unwrap();
    assert_eq!(d2, info);
    assert_eq!(std::fs::read(dir.path().join("d2")).unwrap(), bytes);

    let renamed = o.files.rename(att.id, "quote <v2>.bin").await.unwrap();
    assert_eq!(renamed.name, "quote <v2>.bin");
    let moved = o.files.move_to(att.id, "sale.order", so2).await.unwrap();
    assert_eq!(moved.res_id, so2);
    let empty = spool(&dir, "empty", b"");
    let replaced = o.files.replace_content(att.id, &empty).await.unwrap();
    assert_eq!(replaced.size, 0);
    assert_eq!(replaced.checksum, Some(content_info(&empty).unwrap().sha1));
    assert_eq!(
        o.files
            .find("sale.order", so2, "quote <v2>.bin")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(o
        .files
        .find("sale.order", so1, "quote <v2>.bin")
        .await
        .unwrap()
        .is_empty());

    assert_eq!(
        o.files
            .readable_records("sale.order", &[so1, so2, 999_999])
            .await
            .unwrap(),
        vec![so1, so2]
    );

    o.files
        .message_post(
            "sale.order",
            so2,
            "<p>Files: <a href=\"https://x\">OneDrive</a></p>",
        )
        .await
        .unwrap();
    let notes = o.emu(
        "mail.message",
        "search_read",
        &[],
        json!({"domain": [["model", "=", "sale.order"], ["res_id", "=", so2]], "fields": ["body", "subtype_id"]}),
    );
    assert_eq!(notes.as_array().unwrap().len(), 1, "{notes}");

    assert_eq!(
        o.files.existing_ids(&[att.id, 999_999]).await.unwrap(),
        vec![att.id]
    );
    o.files.delete(att.id).await.unwrap();
    assert_eq!(o.files.delete(att.id).await, Err(PortError::NotFound));
    assert!(o.files.read(&[att.id]).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_odoo_adapter_runs_an_attachments_whole_life_on_19_over_json2() {
    odoo_attachment_lifecycle("19.0").await;
}

#[tokio::test]
async fn the_odoo_adapter_runs_an_attachments_whole_life_on_17_over_jsonrpc() {
    odoo_attachment_lifecycle("17.0").await;
}
