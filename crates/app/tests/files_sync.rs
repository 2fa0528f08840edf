#![allow(clippy::unwrap_used)]
//! `App::sync` with documents on, as the CLI and the desktop run it: the profile's real
//! clients (its Graph client, its paced Odoo client, the `GraphDrive` and `OdooFiles`
//! adapters) against both emulators in this process. The first cycle pauses on the
//! first-file-sync guard, the confirmed one uploads, a OneDrive-side edit comes back into
//! Odoo, status and activity show the files, and a further cycle writes nothing.

use std::sync::Arc;

use odoo365_app::auth::{MemoryKeychain, Secret};
use odoo365_app::{App, SignIn, SyncSettings};
use odoo365_engine::files::content_info_of;
use odoo365_testkit::fixture::app::EmulatorBrowser;
use odoo365_testkit::fixture::{Emulators, ALICE};
use odoo365_testkit::odoo::Ret;
use serde_json::{json, Value};

struct World {
    e: Emulators,
    _dir: tempfile::TempDir,
    app: App,
}

impl World {
    async fn start() -> World {
        let e = Emulators::seeded(11).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let app = App::open_with(
            dir.path(),
            Arc::new(MemoryKeychain::new()),
            Arc::new(odoo365_engine::SystemClock),
        )
        .unwrap();
        let settings = SyncSettings {
            documents: true,
            ..SyncSettings::default()
        };
        app.add_profile_with_settings(e.draft("work"), &Secret::new(e.alice_key.clone()), settings)
            .unwrap();
        app.login("work", SignIn::Browser(&EmulatorBrowser::alice()))
            .await
            .unwrap();
        World { e, _dir: dir, app }
    }

    /// Alice in Odoo (the emulator's ORM, as her).
    fn odoo(&self, model: &str, method: &str, kwargs: Value) -> Value {
        let Value::Object(k) = kwargs else {
            panic!("kwargs must be an object")
        };
        match self
            .e
            .odoo
            .emulator
            .execute(self.e.alice_uid, model, method, &[], k)
            .unwrap()
        {
            Ret::Value(v) => v,
            Ret::Records(ids) | Ret::Created { ids, .. } => json!(ids),
            Ret::One(id) => json!(id),
        }
    }

    /// Alice in OneDrive (Graph with her token).
    async fn graph(&self, method: reqwest::Method, path: &str, body: Option<Vec<u8>>) -> Value {
        let token = self.e.graph.emulator.mint_token(ALICE).unwrap();
        let mut req = reqwest::Client::new()
            .request(method, format!("{}/me/{path}", self.e.graph.graph_url))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap_or(Value::Null)
    }

    /// The files below a record's folder: name → QuickXorHash (empty when the folder is
    /// not there).
    async fn onedrive_files(&self, record: i64) -> Vec<(String, String)> {
        let token = self.e.graph.emulator.mint_token(ALICE).unwrap();
        let resp = reqwest::Client::new()
            .get(format!(
                "{}/me/drive/root:/Odoo%20Sync/sale.order/{record}:/children",
                self.e.graph.graph_url
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Vec::new();
        }
        let v: Value = resp.json().await.unwrap();
        let mut files: Vec<(String, String)> = v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().to_string(),
                    i["file"]["hashes"]["quickXorHash"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        files.sort();
        files
    }

    /// The record's attachments: name → SHA-1 checksum.
    fn attachments(&self, record: i64) -> Vec<(String, String)> {
        let rows = self.odoo(
            "ir.attachment",
            "search_read",
            json!({"domain": [["res_model", "=", "sale.order"], ["res_id", "=", record]],
                   "fields": ["name", "checksum"]}),
        );
        let mut atts: Vec<(String, String)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["name"].as_str().unwrap().to_string(),
                    a["checksum"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        atts.sort();
        atts
    }
}

fn bytes(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 9) as u8)
        .collect()
}

fn b64(b: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_sync_with_documents_uploads_brings_a_onedrive_edit_back_and_then_writes_nothing() {
    let w = World::start().await;
    let partner = w.odoo(
        "res.partner",
        "create",
        json!({"vals_list": [{"name": "Contoso"}]}),
    )[0]
    .as_i64()
    .unwrap();
    let order = w.odoo(
        "sale.order",
        "create",
        json!({"vals_list": [{"partner_id": partner}]}),
    )[0]
    .as_i64()
    .unwrap();
    let quote = bytes(5_000, 1);
    let notes = b"first notes".to_vec();
    w.odoo(
        "ir.attachment",
        "create",
        json!({"vals_list": [
            {"name": "quote.pdf", "res_model": "sale.order", "res_id": order, "datas": b64(&quote)},
            {"name": "notes.txt", "res_model": "sale.order", "res_id": order, "datas": b64(&notes)},
        ]}),
    );

    // The first file sync asks first: paused, both uploads planned, no file written.
    let r = w.app.sync("work", false, false).await.unwrap();
    assert_eq!(r.outcome, "paused", "{}", r.summary);
    let files = r.files.as_ref().unwrap();
    let mut planned: Vec<&str> = files.planned.iter().map(|p| p.item.as_str()).collect();
    planned.sort_unstable();
    assert_eq!(
        planned,
        [
            format!("sale.order/{order}/notes.txt"),
            format!("sale.order/{order}/quote.pdf")
        ]
    );
    assert!(r.needs_person().is_some());
    assert!(w.onedrive_files(order).await.is_empty());
    assert_eq!(w.attachments(order).len(), 2);

    // Confirmed: both files in the record's folder, with their content.
    let r = w.app.sync("work", false, true).await.unwrap();
    assert_eq!(r.outcome, "synced", "{}", r.summary);
    let files = r.files.as_ref().unwrap();
    assert_eq!(files.jobs_done, 2, "{}", r.summary);
    assert!(files.failed.is_empty(), "{:?}", files.failed);
    assert!(
        r.summary.contains("files: 2 change(s) applied"),
        "{}",
        r.summary
    );
    assert_eq!(
        w.onedrive_files(order).await,
        vec![
            ("notes.txt".to_string(), content_info_of(&notes).quick_xor),
            ("quote.pdf".to_string(), content_info_of(&quote).quick_xor),
        ]
    );

    let status = w.app.status("work").unwrap();
    assert_eq!(status.linked_files, 2);
    assert_eq!(status.pending_transfers, 0);
    assert_eq!(status.file_errors, 0);
    assert!(
        status
            .last_outcome
            .as_deref()
            .is_some_and(|o| o.contains("files: 2 change(s) applied")),
        "{status:?}"
    );
    let activity = w.app.activity("work", None).unwrap();
    for name in ["quote.pdf", "notes.txt"] {
        let item = format!("sale.order/{order}/{name}");
        assert!(
            activity
                .lines
                .iter()
                .any(|l| l.op == "upload" && l.item == item && l.origin == "odoo"),
            "no upload of {item} in {:?}",
            activity.lines
        );
    }

    // Alice edits the notes in OneDrive: the next cycle brings the edit into Odoo.
    let edited = b"notes, edited in Word".to_vec();
    w.graph(
        reqwest::Method::PUT,
        &format!("drive/root:/Odoo%20Sync/sale.order/{order}/notes.txt:/content"),
        Some(edited.clone()),
    )
    .await;
    let r = w.app.sync("work", false, false).await.unwrap();
    let files = r.files.as_ref().unwrap();
    assert_eq!(files.jobs_done, 1, "{}", r.summary);
    assert_eq!(
        w.attachments(order),
        vec![
            ("notes.txt".to_string(), content_info_of(&edited).sha1),
            ("quote.pdf".to_string(), content_info_of(&quote).sha1),
        ]
    );
    let activity = w.app.activity("work", None).unwrap();
    assert!(
        activity.lines.iter().any(|l| l.op == "update_attachment"
            && l.item == format!("sale.order/{order}/notes.txt")
            && l.origin == "microsoft"),
        "{:?}",
        activity.lines
    );
    assert_eq!(w.app.status("work").unwrap().linked_files, 2);

    // Nothing changed since: a further cycle writes nothing on either side.
    let mark = w.e.mark();
    let r = w.app.sync("work", false, false).await.unwrap();
    let files = r.files.as_ref().unwrap();
    assert_eq!(
        (r.report.jobs_done, files.jobs_done, files.planned.len()),
        (0, 0, 0),
        "{}",
        r.summary
    );
    let sent = w.e.since(mark);
    assert_eq!(
        (sent.graph_writes().len(), sent.odoo_writes),
        (0, 0),
        "a quiet cycle wrote: {:?}",
        sent.graph_writes()
    );
}
