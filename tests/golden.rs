#![allow(clippy::unwrap_used)]
//! Golden scenarios: the `odoo365` binary against both emulators, driven by a tiny scenario
//! language (`tests/golden/*.scn`), with the end state of both calendars, both outboxes,
//! every sync's exit code and outcome and the audit log written to `tests/golden/*.out`.
//! `UPDATE_GOLDEN=1 cargo test -p odoo365 --test golden` rewrites the expected files.
//!
//! The CLI keeps the Odoo API key and the refresh token in the system keychain, so these
//! tests run inside `scripts/desktop-session.sh`; outside it they skip (under `CI` they
//! fail). After every scenario the data directory and the CLI's debug logs are searched for
//! the secrets the run used.
//!
//! The language (one step a line; `#` starts a comment):
//!
//! ```text
//! odoo create "Standup" 2026-11-25T09:00Z 30m [location=...] [videocall=teams]
//! odoo edit "Standup" name="Daily" location="Room 2"
//! odoo delete "Standup"                 # archives, as the engine's deletes do
//! outlook create "Review" 2026-11-25T13:00Z 60m [location=...] [attendees=a@x,b@y] [weekly=N]
//!                                       # (odoo create takes weekly=N too: a series of N)
//! outlook edit "Review" subject="Review v2" location="Berlin"
//! outlook delete "Review"                # a series: the whole series
//! outlook cancel "Review" 2026-12-02     # deletes the series' occurrence on that day
//! odoo edit-series "Standup" name="Daily" # write with recurrence_update=all_events
//! odoo cancel "Standup" 2026-12-01       # archives the series' row on that day
//! odoo split "Standup" 2026-12-08 15:00  # "this and following" from that day, at 15:00 UTC
//! odoo move "Standup" 2026-12-01 15:00   # that day's row only (self_only), at 15:00 UTC
//! outlook move "Review" 2026-12-02 16:00 # that day's occurrence only, at 16:00 UTC
//! outlook expire-delta                  # the next delta answers 410
//! outlook fault expired-token N         # the next N writes to Outlook answer 401
//! wait 1.5s                             # a pause
//! sync [--yes]                          # the CLI; its exit code and summary are recorded
//! crash-sync N [--yes]                  # a sync that dies after its N-th persisted step
//! resolve first --keep odoo|microsoft | resolve first --field NAME=SIDE
//!
//! # documents (the end state then also lists attachments, the OneDrive tree and the
//! # upload-session fragments)
//! set documents=true                    # `odoo365 profile set work KEY=VALUE...`
//! odoo record sale.order S1             # a record, named S1 in the scenario
//! odoo attach S1 "quote.pdf" 5000       # an attachment of 5000 bytes (content from name+size)
//! odoo attach S1 "a.txt" text="hello"   # ...or of this text
//! odoo edit-attachment "quote.pdf" 6000 | odoo rename-attachment "quote.pdf" "new.pdf"
//! odoo move-attachment "quote.pdf" S2 | odoo delete-attachment "quote.pdf"
//! onedrive put S1/notes.txt 1000        # a file in S1's folder (text= works too)
//! onedrive edit S1/notes.txt 2000 | onedrive rename S1/notes.txt new.txt
//! onedrive move S1/notes.txt S2 | onedrive delete S1/notes.txt
//! onedrive put sale.order/drafts/x.pdf 800  # any path below the root (its folders made
//!                                       # as needed; a segment that is a label is its id)
//! onedrive move sale.order/drafts/x.pdf S1 # ...and to a record's folder or such a path
//! onedrive expire-delta                 # the next drive delta answers 410
//! onedrive corrupt downloads=1 uploads=1  # the next transfers flip a byte
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use odoo365_app::auth::{Keychain, OsKeychain, SecretKind};
use odoo365_testkit::faults::{Fault, FaultRule};
use odoo365_testkit::fixture::{
    keychain_available, profile_add_args, write_browser_script, Emulators, ALICE, BROWSER_LOGIN_ENV,
};
use odoo365_testkit::graph::RunningGraph;
use odoo365_testkit::odoo::RunningOdoo;
use serde_json::{json, Value};

struct Run {
    graph: RunningGraph,
    odoo: RunningOdoo,
    odoo_key: String,
    dir: tempfile::TempDir,
    browser: PathBuf,
    log: String,
    out: Vec<String>,
    syncs: usize,
    /// Records named in the scenario: label → (model, id).
    records: BTreeMap<String, (String, i64)>,
    /// The scenario syncs documents: the end state lists them.
    files: bool,
}

impl Run {
    async fn start() -> Run {
        let Emulators {
            graph,
            odoo,
            alice_key: odoo_key,
            ..
        } = Emulators::seeded(7).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        // Plays the person on the emulator's sign-in page: `$BROWSER URL` posts the form
        // with Alice's login and follows the redirect to the CLI's loopback listener.
        let browser = write_browser_script(dir.path()).unwrap();
        Run {
            graph,
            odoo,
            odoo_key,
            dir,
            browser,
            log: String::new(),
            out: Vec::new(),
            syncs: 0,
            records: BTreeMap::new(),
            files: false,
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs the CLI (off the async workers, so the emulators keep answering).
    async fn cli(&mut self, args: &[&str], stdin: &str) -> Output {
        self.cli_env(args, stdin, None).await
    }

    async fn cli_env(&mut self, args: &[&str], stdin: &str, crash_after: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_odoo365"));
        if let Some(n) = crash_after {
            cmd.env(odoo365_app::sync::CRASH_AFTER_ENV, n);
        }
        cmd.arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .env_remove("ODOO365_PROFILE")
            .env("ODOO365_LOG", "debug")
            .env("BROWSER", &self.browser)
            .env(BROWSER_LOGIN_ENV, ALICE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let stdin = stdin.to_string();
        let out = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = cmd.spawn().unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(stdin.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        self.log.push_str(&String::from_utf8_lossy(&out.stderr));
        self.log.push_str(&String::from_utf8_lossy(&out.stdout));
        out
    }

    async fn setup(&mut self) {
        let add = profile_add_args(
            "work",
            &self.odoo.url,
            self.odoo.emulator.database(),
            &self.graph.graph_url,
            &self.graph.identity_url,
        );
        let add: Vec<&str> = add.iter().map(String::as_str).collect();
        let key = format!("{}\n", self.odoo_key);
        let out = self.cli(&add, &key).await;
        assert!(out.status.success(), "{out:?}");
        let out = self.cli(&["login"], "").await;
        assert!(out.status.success(), "{out:?}");
    }

    async fn outlook(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let token = self.graph.emulator.mint_token(ALICE).unwrap();
        let mut req = reqwest::Client::new()
            .request(method, format!("{}/me/{path}", self.graph.graph_url))
            .bearer_auth(token)
            .header("Prefer", "outlook.timezone=\"UTC\"");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "{resp:?}");
        resp.json().await.unwrap_or(Value::Null)
    }

    async fn odoo(&self, model: &str, method: &str, body: Value) -> Value {
        let resp = reqwest::Client::new()
            .post(format!("{}/json/2/{model}/{method}", self.odoo.url))
            .header("Authorization", format!("bearer {}", self.odoo_key))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{status}: {body}");
        body
    }

    async fn outlook_bytes(&self, method: reqwest::Method, path: &str, body: Vec<u8>) -> Value {
        let token = self.graph.emulator.mint_token(ALICE).unwrap();
        let resp = reqwest::Client::new()
            .request(method, format!("{}/me/{path}", self.graph.graph_url))
            .bearer_auth(token)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{resp:?}");
        resp.json().await.unwrap_or(Value::Null)
    }

    async fn attachment_id(&self, name: &str) -> i64 {
        self.odoo(
            "ir.attachment",
            "search",
            json!({"domain": [["name", "=", name], ["res_model", "!=", false]]}),
        )
        .await[0]
            .as_i64()
            .unwrap_or_else(|| panic!("no attachment {name:?}"))
    }

    /// The folders below the sync root and the file name of a scenario path: a record's
    /// folder (`S1/notes.txt` → `sale.order`, `7`, `notes.txt`), or any path below the
    /// root whose segments may name records (`sale.order/drafts/x.pdf`,
    /// `res.partner/P1/card.pdf`). A path ending in `/` names a folder (empty name).
    fn drive_segments(&self, path: &str) -> (Vec<String>, String) {
        let mut segs: Vec<&str> = path.split('/').collect();
        let name = segs.pop().unwrap_or_default().to_string();
        let folders = match segs.as_slice() {
            [label] if self.records.contains_key(*label) => {
                let (model, id) = &self.records[*label];
                vec![model.clone(), id.to_string()]
            }
            _ => segs
                .iter()
                .map(|s| {
                    self.records
                        .get(*s)
                        .map_or_else(|| s.to_string(), |(_, id)| id.to_string())
                })
                .collect(),
        };
        (folders, name)
    }

    /// `S1/notes.txt` → (`Odoo%20Sync/sale.order/7` encoded, `notes.txt`).
    fn drive_path(&self, path: &str) -> (String, String) {
        let (folders, name) = self.drive_segments(path);
        let mut parts = vec!["Odoo%20Sync".to_string()];
        parts.extend(folders.iter().map(|f| enc(f)));
        (parts.join("/"), name)
    }

    /// Creates the folders of a path as a person would (a record's folder exists once a
    /// file synced; other folders are the person's own).
    async fn ensure_folders(&self, path: &str) {
        let (folders, _) = self.drive_segments(path);
        let token = self.graph.emulator.mint_token(ALICE).unwrap();
        let mut parent = "Odoo%20Sync".to_string();
        for f in folders {
            let url = format!("{}/me/drive/root:/{parent}:/children", self.graph.graph_url);
            let resp = reqwest::Client::new()
                .post(url)
                .bearer_auth(&token)
                .json(
                    &json!({"name": f, "folder": {}, "@microsoft.graph.conflictBehavior": "fail"}),
                )
                .send()
                .await
                .unwrap();
            assert!(
                resp.status().is_success() || resp.status() == 409,
                "{resp:?}"
            );
            parent = format!("{parent}/{}", enc(&f));
        }
    }

    async fn drive_item_id(&self, path: &str) -> String {
        let (folder, name) = self.drive_path(path);
        let url = if name.is_empty() {
            format!("drive/root:/{folder}")
        } else {
            format!("drive/root:/{folder}/{}", enc(&name))
        };
        self.outlook(reqwest::Method::GET, &url, None).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The documents' end state: Odoo's attachments, the OneDrive tree below the sync
    /// root, the chatter notes, and every upload-session fragment's answer.
    async fn files_state(&self) -> Vec<String> {
        let label_of = |model: &str, id: i64| -> String {
            self.records
                .iter()
                .find(|(_, (m, i))| m == model && *i == id)
                .map(|(l, _)| l.clone())
                .unwrap_or_else(|| format!("{model}/{id}"))
        };
        let mut lines = Vec::new();
        let atts = self
            .odoo(
                "ir.attachment",
                "search_read",
                json!({"domain": [["res_model", "in", ["sale.order", "account.move", "project.task", "crm.lead", "res.partner"]]],
                       "fields": ["name", "res_model", "res_id", "file_size", "checksum"]}),
            )
            .await;
        let mut rows: Vec<String> = atts
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                format!(
                    "odoo file: {}/{:?} {} bytes sha1 {}",
                    label_of(
                        a["res_model"].as_str().unwrap(),
                        a["res_id"].as_i64().unwrap()
                    ),
                    a["name"].as_str().unwrap_or_default(),
                    a["file_size"],
                    &a["checksum"].as_str().unwrap_or_default()
                        [..8.min(a["checksum"].as_str().unwrap_or_default().len())]
                )
            })
            .collect();
        rows.sort();
        lines.extend(rows);
        let mut rows = Vec::new();
        let mut stack = vec![(
            "Odoo Sync".to_string(),
            "drive/root:/Odoo%20Sync:/children".to_string(),
        )];
        while let Some((path, url)) = stack.pop() {
            let token = self.graph.emulator.mint_token(ALICE).unwrap();
            let resp = reqwest::Client::new()
                .get(format!("{}/me/{url}", self.graph.graph_url))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            if !resp.status().is_success() {
                continue;
            }
            let v: Value = resp.json().await.unwrap();
            for i in v["value"].as_array().into_iter().flatten() {
                let name = i["name"].as_str().unwrap_or_default();
                let mut shown = format!("{path}/{}", conflict_date(name));
                for (label, (m, id)) in &self.records {
                    shown = shown.replace(&format!("/{m}/{id}/"), &format!("/{m}/{label}/"));
                    if shown.ends_with(&format!("/{m}/{id}")) {
                        shown = format!("{}/{label}", shown.trim_end_matches(&format!("/{id}")));
                    }
                }
                if i.get("folder").is_some() {
                    stack.push((
                        format!("{path}/{name}"),
                        format!("drive/items/{}/children", i["id"].as_str().unwrap()),
                    ));
                } else {
                    let qx = i["file"]["hashes"]["quickXorHash"]
                        .as_str()
                        .unwrap_or_default();
                    rows.push(format!(
                        "onedrive file: {shown} {} bytes qxh {}",
                        i["size"],
                        &qx[..8.min(qx.len())]
                    ));
                }
            }
        }
        rows.sort();
        lines.extend(rows);
        let notes = self
            .odoo(
                "mail.message",
                "search_count",
                json!({"domain": [["model", "in", ["sale.order", "account.move", "project.task", "crm.lead", "res.partner"]], ["body", "ilike", "OneDrive"]]}),
            )
            .await;
        lines.push(format!("chatter notes linking OneDrive: {notes}"));
        lines
    }

    async fn odoo_id(&self, title: &str) -> i64 {
        let ids = self
            .odoo(
                "calendar.event",
                "search",
                json!({"domain": [["name", "=", title]]}),
            )
            .await;
        ids[0]
            .as_i64()
            .unwrap_or_else(|| panic!("no Odoo event {title:?}"))
    }

    /// The base event of the series titled `title` (its first row).
    async fn odoo_base_id(&self, title: &str) -> i64 {
        let rows = self
            .odoo(
                "calendar.event",
                "search_read",
                json!({"domain": [["name", "=", title], ["recurrence_id", "!=", false]],
                       "fields": ["recurrence_id"], "order": "start"}),
            )
            .await;
        let rid = rows[0]["recurrence_id"][0]
            .as_i64()
            .unwrap_or_else(|| panic!("no Odoo series {title:?}"));
        let rec = self
            .odoo(
                "calendar.recurrence",
                "read",
                json!({"ids": [rid], "fields": ["base_event_id"]}),
            )
            .await;
        rec[0]["base_event_id"][0].as_i64().unwrap()
    }

    /// The active row titled `title` that starts on `day`.
    async fn odoo_row_on(&self, title: &str, day: &str) -> i64 {
        let rows = self
            .odoo(
                "calendar.event",
                "search_read",
                json!({"domain": [["name", "=", title], ["start", ">=", format!("{day} 00:00:00")],
                                  ["start", "<=", format!("{day} 23:59:59")]],
                       "fields": ["id"]}),
            )
            .await;
        rows[0]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no Odoo event {title:?} on {day}"))
    }

    async fn outlook_id(&self, title: &str) -> String {
        let all = self.outlook(reqwest::Method::GET, "events", None).await;
        all["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["subject"] == title)
            .unwrap_or_else(|| panic!("no Outlook event {title:?}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn step(&mut self, line: &str) {
        let words = split(line);
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let fields = |from: usize| -> BTreeMap<String, String> {
            w[from..]
                .iter()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        match w.as_slice() {
            ["odoo", "create", title, start, minutes, ..] => {
                let (start, stop) = times(start, minutes);
                let mut vals =
                    json!({"name": title, "start": odoo_dt(start), "stop": odoo_dt(stop)});
                for (k, v) in fields(5) {
                    match k.as_str() {
                        "videocall" => vals["videocall_location"] = json!(v),
                        "weekly" => {
                            vals["recurrency"] = json!(true);
                            vals["rrule"] = json!(format!("FREQ=WEEKLY;COUNT={v}"));
                            vals["event_tz"] = json!("UTC");
                        }
                        _ => vals[k] = json!(v),
                    }
                }
                self.odoo("calendar.event", "create", json!({"vals_list": [vals]}))
                    .await;
            }
            ["odoo", "edit", title, ..] => {
                let id = self.odoo_id(title).await;
                let vals: serde_json::Map<String, Value> =
                    fields(3).into_iter().map(|(k, v)| (k, json!(v))).collect();
                self.odoo(
                    "calendar.event",
                    "write",
                    json!({"ids": [id], "vals": vals}),
                )
                .await;
            }
            ["odoo", "edit-series", title, ..] => {
                let id = self.odoo_base_id(title).await;
                let mut vals: serde_json::Map<String, Value> =
                    fields(3).into_iter().map(|(k, v)| (k, json!(v))).collect();
                vals.insert("recurrence_update".into(), json!("all_events"));
                self.odoo(
                    "calendar.event",
                    "write",
                    json!({"ids": [id], "vals": vals}),
                )
                .await;
            }
            ["odoo", "cancel", title, day] => {
                let id = self.odoo_row_on(title, day).await;
                self.odoo(
                    "calendar.event",
                    "write",
                    json!({"ids": [id], "vals": {"active": false}}),
                )
                .await;
            }
            ["odoo", "split", title, day, time] => {
                let id = self.odoo_row_on(title, day).await;
                let row = self
                    .odoo(
                        "calendar.event",
                        "read",
                        json!({"ids": [id], "fields": ["start", "stop"]}),
                    )
                    .await;
                let parse = |k: &str| {
                    chrono::NaiveDateTime::parse_from_str(
                        row[0][k].as_str().unwrap(),
                        "%Y-%m-%d %H:%M:%S",
                    )
                    .unwrap()
                };
                let (start, stop) = (parse("start"), parse("stop"));
                let new_start = chrono::NaiveDateTime::parse_from_str(
                    &format!("{day} {time}:00"),
                    "%Y-%m-%d %H:%M:%S",
                )
                .unwrap();
                let fmt = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
                self.odoo(
                    "calendar.event",
                    "write",
                    json!({"ids": [id], "vals": {"start": fmt(new_start),
                        "stop": fmt(new_start + (stop - start)),
                        "recurrence_update": "future_events"}}),
                )
                .await;
            }
            ["odoo", "move", title, day, time] => {
                let id = self.odoo_row_on(title, day).await;
                let row = self
                    .odoo(
                        "calendar.event",
                        "read",
                        json!({"ids": [id], "fields": ["start", "stop"]}),
                    )
                    .await;
                let parse = |k: &str| {
                    chrono::NaiveDateTime::parse_from_str(
                        row[0][k].as_str().unwrap(),
                        "%Y-%m-%d %H:%M:%S",
                    )
                    .unwrap()
                };
                let (start, stop) = (parse("start"), parse("stop"));
                let new_start = chrono::NaiveDateTime::parse_from_str(
                    &format!("{day} {time}:00"),
                    "%Y-%m-%d %H:%M:%S",
                )
                .unwrap();
                let fmt = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
                self.odoo(
                    "calendar.event",
                    "write",
                    json!({"ids": [id], "vals": {"start": fmt(new_start),
                        "stop": fmt(new_start + (stop - start)),
                        "recurrence_update": "self_only"}}),
                )
                .await;
            }
            ["outlook", "move", title, day, time] => {
                let id = self.outlook_id(title).await;
                let from = format!("{day}T00:00:00Z");
                let to = format!("{day}T23:59:59Z");
                let inst = self
                    .outlook(
                        reqwest::Method::GET,
                        &format!("events/{id}/instances?startDateTime={from}&endDateTime={to}"),
                        None,
                    )
                    .await;
                let occ = &inst["value"][0];
                let parse = |k: &str| {
                    let text: String = occ[k]["dateTime"]
                        .as_str()
                        .unwrap_or_else(|| panic!("no occurrence of {title:?} on {day}"))
                        .chars()
                        .take(19)
                        .collect();
                    chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S").unwrap()
                };
                let (start, end) = (parse("start"), parse("end"));
                let new_start = chrono::NaiveDateTime::parse_from_str(
                    &format!("{day} {time}:00"),
                    "%Y-%m-%d %H:%M:%S",
                )
                .unwrap();
                let fmt = |t: chrono::NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S").to_string();
                let occ_id = occ["id"].as_str().unwrap().to_string();
                self.outlook(
                    reqwest::Method::PATCH,
                    &format!("events/{occ_id}"),
                    Some(json!({
                        "start": {"dateTime": fmt(new_start), "timeZone": "UTC"},
                        "end": {"dateTime": fmt(new_start + (end - start)), "timeZone": "UTC"}})),
                )
                .await;
            }
            ["outlook", "cancel", title, day] => {
                let id = self.outlook_id(title).await;
                let from = format!("{day}T00:00:00Z");
                let to = format!("{day}T23:59:59Z");
                let inst = self
                    .outlook(
                        reqwest::Method::GET,
                        &format!("events/{id}/instances?startDateTime={from}&endDateTime={to}"),
                        None,
                    )
                    .await;
                let occ = inst["value"][0]["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no occurrence of {title:?} on {day}"))
                    .to_string();
                self.outlook(reqwest::Method::DELETE, &format!("events/{occ}"), None)
                    .await;
            }
            ["odoo", "delete", title] => {
                let id = self.odoo_id(title).await;
                self.odoo(
                    "calendar.event",
                    "write",
                    json!({"ids": [id], "vals": {"active": false}}),
                )
                .await;
            }
            ["outlook", "create", title, start, minutes, ..] => {
                let (start, end) = times(start, minutes);
                let mut body = json!({"subject": title,
                    "start": {"dateTime": start.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"},
                    "end": {"dateTime": end.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"}});
                let f = fields(5);
                if let Some(l) = f.get("location") {
                    body["location"] = json!({"displayName": l});
                }
                if let Some(n) = f.get("weekly") {
                    body["recurrence"] = json!({
                        "pattern": {"type": "weekly", "interval": 1,
                                    "daysOfWeek": [start.format("%A").to_string().to_lowercase()]},
                        "range": {"type": "numbered", "startDate": start.format("%Y-%m-%d").to_string(),
                                  "numberOfOccurrences": n.parse::<i64>().unwrap()}});
                }
                if let Some(a) = f.get("attendees") {
                    body["attendees"] = a
                        .split(',')
                        .map(|m| json!({"emailAddress": {"address": m}, "type": "required"}))
                        .collect();
                }
                self.outlook(reqwest::Method::POST, "events", Some(body))
                    .await;
            }
            ["outlook", "edit", title, ..] => {
                let id = self.outlook_id(title).await;
                let mut patch = json!({});
                for (k, v) in fields(3) {
                    if k == "location" {
                        patch["location"] = json!({"displayName": v});
                    } else {
                        patch[k] = json!(v);
                    }
                }
                self.outlook(reqwest::Method::PATCH, &format!("events/{id}"), Some(patch))
                    .await;
            }
            ["outlook", "delete", title] => {
                let id = self.outlook_id(title).await;
                self.outlook(reqwest::Method::DELETE, &format!("events/{id}"), None)
                    .await;
            }
            ["wait", seconds] => {
                let s: f64 = seconds.trim_end_matches('s').parse().unwrap();
                tokio::time::sleep(std::time::Duration::from_secs_f64(s)).await;
            }
            ["outlook", "expire-delta"] => {
                self.graph
                    .emulator
                    .expire_calendar_delta_tokens(ALICE)
                    .unwrap();
            }
            ["outlook", "fault", "expired-token", n] => {
                // Mid-sync: the first write to Outlook, after the cycle has read both sides.
                self.graph.emulator.faults().add(FaultRule {
                    path_contains: Some("/events".into()),
                    writes_only: true,
                    remaining: Some(n.parse().unwrap()),
                    ..FaultRule::always(Fault::ExpiredToken)
                });
            }
            ["sync" | "crash-sync", ..] => {
                self.syncs += 1;
                let (crash, rest) = match w.as_slice() {
                    ["crash-sync", n, rest @ ..] => (Some(*n), rest),
                    [_, rest @ ..] => (None, rest),
                    [] => (None, &[][..]),
                };
                let mut args = vec!["sync", "--json"];
                args.extend(rest);
                let before = self
                    .graph
                    .emulator
                    .request_log()
                    .snapshot()
                    .last()
                    .map_or(0, |r| r.seq);
                let out = self.cli_env(&args, "", crash).await;
                let code = out.status.code().unwrap_or(-1);
                let summary = serde_json::from_slice::<Value>(&out.stdout)
                    .ok()
                    .and_then(|v| v["summary"].as_str().map(str::to_string))
                    .unwrap_or_else(|| {
                        String::from_utf8_lossy(&out.stderr)
                            .lines()
                            .filter(|l| l.starts_with("odoo365:"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    });
                self.out.push(format!(
                    "sync {}: exit {code}: {}",
                    self.syncs,
                    normalise(&summary)
                ));
                // Each upload-session fragment this sync sent, by its answer: a resumed
                // upload shows only the fragments that were missing.
                let fragments: Vec<String> = self
                    .graph
                    .emulator
                    .request_log()
                    .since(before)
                    .iter()
                    .filter(|r| r.method == "PUT" && r.path.contains("/_upload/"))
                    .map(|r| r.status.to_string())
                    .collect();
                if !fragments.is_empty() {
                    self.out.push(format!(
                        "  upload-session fragments: {}",
                        fragments.join(" ")
                    ));
                }
                if let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) {
                    for (item, mail) in v["report"]["mails"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|m| m.as_array().map(|m| (m[0].clone(), m[1].clone())))
                    {
                        self.out.push(format!(
                            "  mail planned: {} {}",
                            normalise(item.as_str().unwrap_or_default()),
                            normalise(&mail.to_string())
                        ));
                    }
                    for f in v["report"]["failed"].as_array().into_iter().flatten() {
                        self.out
                            .push(format!("  failed: {}", normalise(&f.to_string())));
                    }
                    for f in v["files"]["failed"].as_array().into_iter().flatten() {
                        self.out
                            .push(format!("  file failed: {}", normalise(&f.to_string())));
                    }
                    for n in v["files"]["notices"].as_array().into_iter().flatten() {
                        self.out
                            .push(format!("  file notice: {}", normalise(&n.to_string())));
                    }
                    for u in v["files"]["unplaced"].as_array().into_iter().flatten() {
                        self.out
                            .push(format!("  file left alone: {}", normalise(&u.to_string())));
                    }
                    for f in v["report"]["item_errors"].as_array().into_iter().flatten() {
                        self.out
                            .push(format!("  item error: {}", normalise(&f.to_string())));
                    }
                }
            }
            ["resolve", "first", rest @ ..] => {
                let out = self.cli(&["conflicts", "list", "--json"], "").await;
                let list: Value = serde_json::from_slice(&out.stdout).unwrap();
                let Some(id) = list[0]["id"].as_i64().map(|id| id.to_string()) else {
                    self.out.push("resolve: no open conflict".into());
                    return;
                };
                let mut args = vec!["conflicts", "resolve", id.as_str()];
                args.extend(rest);
                let out = self.cli(&args, "").await;
                self.out.push(format!(
                    "resolve {}: exit {}",
                    rest.join(" "),
                    out.status.code().unwrap_or(-1)
                ));
            }
            ["set", kvs @ ..] => {
                let mut args = vec!["profile", "set", "work"];
                args.extend(kvs);
                let out = self.cli(&args, "").await;
                assert!(out.status.success(), "{out:?}");
                if kvs.contains(&"documents=true") {
                    self.files = true;
                }
            }
            ["odoo", "record", model, label] => {
                let partner = self
                    .odoo(
                        "res.partner",
                        "create",
                        json!({"vals_list": [{"name": format!("Customer {label}")}]}),
                    )
                    .await[0]
                    .as_i64()
                    .unwrap();
                let vals = match *model {
                    "sale.order" | "account.move" => json!({"partner_id": partner}),
                    _ => json!({"name": label}),
                };
                let id = self
                    .odoo(model, "create", json!({"vals_list": [vals]}))
                    .await[0]
                    .as_i64()
                    .unwrap();
                self.records
                    .insert(label.to_string(), (model.to_string(), id));
            }
            ["odoo", "attach", label, name, spec] => {
                let (model, id) = self.records[*label].clone();
                let datas = b64(&file_content(name, spec));
                self.odoo(
                    "ir.attachment",
                    "create",
                    json!({"vals_list": [{"name": name, "res_model": model, "res_id": id, "datas": datas}]}),
                )
                .await;
            }
            ["odoo", "edit-attachment", name, spec] => {
                let id = self.attachment_id(name).await;
                let datas = b64(&file_content(&format!("{name}+"), spec));
                self.odoo(
                    "ir.attachment",
                    "write",
                    json!({"ids": [id], "vals": {"datas": datas}}),
                )
                .await;
            }
            ["odoo", "rename-attachment", name, to] => {
                let id = self.attachment_id(name).await;
                self.odoo(
                    "ir.attachment",
                    "write",
                    json!({"ids": [id], "vals": {"name": to}}),
                )
                .await;
            }
            ["odoo", "move-attachment", name, label] => {
                let id = self.attachment_id(name).await;
                let (model, rid) = self.records[*label].clone();
                self.odoo(
                    "ir.attachment",
                    "write",
                    json!({"ids": [id], "vals": {"res_model": model, "res_id": rid}}),
                )
                .await;
            }
            ["odoo", "delete-attachment", name] => {
                let id = self.attachment_id(name).await;
                self.odoo("ir.attachment", "unlink", json!({"ids": [id]}))
                    .await;
            }
            ["onedrive", "put", path, spec] => {
                self.ensure_folders(path).await;
                let (folder, name) = self.drive_path(path);
                let bytes = file_content(&name, spec);
                let url = format!("drive/root:/{}/{}:/content", folder, enc(&name));
                self.outlook_bytes(reqwest::Method::PUT, &url, bytes).await;
            }
            ["onedrive", "edit", path, spec] => {
                let (folder, name) = self.drive_path(path);
                let bytes = file_content(&format!("{name}+"), spec);
                let url = format!("drive/root:/{}/{}:/content", folder, enc(&name));
                self.outlook_bytes(reqwest::Method::PUT, &url, bytes).await;
            }
            ["onedrive", "rename", path, to] => {
                let id = self.drive_item_id(path).await;
                self.outlook(
                    reqwest::Method::PATCH,
                    &format!("drive/items/{id}"),
                    Some(json!({"name": to})),
                )
                .await;
            }
            ["onedrive", "move", path, label] => {
                let id = self.drive_item_id(path).await;
                self.ensure_folders(&format!("{label}/")).await;
                let target = self.drive_item_id(&format!("{label}/")).await;
                self.outlook(
                    reqwest::Method::PATCH,
                    &format!("drive/items/{id}"),
                    Some(json!({"parentReference": {"id": target}})),
                )
                .await;
            }
            ["onedrive", "delete", path] => {
                let id = self.drive_item_id(path).await;
                self.outlook(reqwest::Method::DELETE, &format!("drive/items/{id}"), None)
                    .await;
            }
            ["onedrive", "expire-delta"] => {
                self.graph
                    .emulator
                    .expire_drive_delta_tokens(ALICE)
                    .unwrap();
            }
            ["onedrive", "corrupt", kvs @ ..] => {
                for kv in kvs {
                    match kv.split_once('=') {
                        Some(("downloads", n)) => self
                            .graph
                            .emulator
                            .corrupt_next_downloads(n.parse().unwrap()),
                        Some(("uploads", n)) => {
                            self.graph.emulator.corrupt_next_uploads(n.parse().unwrap())
                        }
                        _ => panic!("onedrive corrupt takes downloads=N uploads=N, not {kv}"),
                    }
                }
            }
            _ => panic!("unknown scenario step: {line}"),
        }
    }

    /// Both calendars, both outboxes and the audit log, with volatile values left out.
    async fn end_state(&mut self) -> Vec<String> {
        let mut lines = std::mem::take(&mut self.out);
        let odoo = self
            .odoo(
                "calendar.event",
                "search_read",
                json!({"domain": [], "fields": ["name", "start", "stop", "location", "videocall_location", "active", "partner_ids"],
                       "context": {"active_test": false}}),
            )
            .await;
        let partners = self
            .odoo(
                "res.partner",
                "search_read",
                json!({"domain": [], "fields": ["email"], "context": {"active_test": false}}),
            )
            .await;
        let email_of: BTreeMap<i64, String> = partners
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| Some((p["id"].as_i64()?, p["email"].as_str()?.to_string())))
            .collect();
        // Guests only: the user's own attendance is not news.
        let guests = |emails: Vec<String>| -> String {
            let mut g: Vec<String> = emails.into_iter().filter(|m| m != ALICE).collect();
            g.sort();
            if g.is_empty() {
                String::new()
            } else {
                format!(" with {}", g.join(", "))
            }
        };
        let mut rows: Vec<String> = odoo
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let video = e["videocall_location"].as_str().unwrap_or_default();
                let emails = e["partner_ids"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|id| email_of.get(&id.as_i64()?).cloned())
                    .collect();
                format!(
                    "odoo: {:?} {} - {}{}{}{}{}",
                    e["name"].as_str().unwrap_or_default(),
                    e["start"].as_str().unwrap_or_default(),
                    e["stop"].as_str().unwrap_or_default(),
                    e["location"]
                        .as_str()
                        .filter(|l| !l.is_empty())
                        .map(|l| format!(" @ {l}"))
                        .unwrap_or_default(),
                    if video.starts_with("http") {
                        " [teams link]"
                    } else if video.is_empty() {
                        ""
                    } else {
                        " [videocall]"
                    },
                    guests(emails),
                    if e["active"] == false {
                        " (archived)"
                    } else {
                        ""
                    },
                )
            })
            .collect();
        rows.sort();
        lines.extend(rows);
        let outlook = self.outlook(reqwest::Method::GET, "events", None).await;
        let mut rows: Vec<String> = outlook["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "outlook: {:?} {} - {}{}{}{}",
                    e["subject"].as_str().unwrap_or_default(),
                    e["start"]["dateTime"]
                        .as_str()
                        .unwrap_or_default()
                        .chars()
                        .take(19)
                        .collect::<String>(),
                    e["end"]["dateTime"]
                        .as_str()
                        .unwrap_or_default()
                        .chars()
                        .take(19)
                        .collect::<String>(),
                    e["location"]["displayName"]
                        .as_str()
                        .filter(|l| !l.is_empty())
                        .map(|l| format!(" @ {l}"))
                        .unwrap_or_default(),
                    if e["isOnlineMeeting"] == true {
                        " [teams]"
                    } else {
                        ""
                    },
                    guests(
                        e["attendees"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|a| a["emailAddress"]["address"].as_str())
                            .map(str::to_lowercase)
                            .collect()
                    ),
                )
            })
            .collect();
        rows.sort();
        lines.extend(rows);
        // A series master stands for its instances: list them (what Outlook shows).
        let mut series: Vec<String> = Vec::new();
        for e in outlook["value"].as_array().unwrap() {
            if e["type"] != "seriesMaster" {
                continue;
            }
            let id = e["id"].as_str().unwrap_or_default();
            let inst = self
                .outlook(
                    reqwest::Method::GET,
                    &format!(
                        "events/{id}/instances?startDateTime=2000-01-01T00:00:00Z&endDateTime=2100-01-01T00:00:00Z"
                    ),
                    None,
                )
                .await;
            let starts: Vec<String> = inst["value"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    i["start"]["dateTime"]
                        .as_str()
                        .unwrap_or_default()
                        .chars()
                        .take(16)
                        .collect::<String>()
                })
                .collect();
            series.push(format!(
                "outlook series: {:?} {} ({})",
                e["subject"].as_str().unwrap_or_default(),
                e["recurrence"]["pattern"]["type"]
                    .as_str()
                    .unwrap_or_default(),
                starts.join(", ")
            ));
        }
        series.sort();
        lines.extend(series);
        let faults: Vec<String> = self
            .graph
            .emulator
            .request_log()
            .snapshot()
            .into_iter()
            .filter_map(|r| {
                r.fault.map(|f| {
                    format!(
                        "{f} on {} {}",
                        r.method,
                        r.path
                            .split('?')
                            .next()
                            .unwrap_or_default()
                            .split('/')
                            .take(4)
                            .collect::<Vec<_>>()
                            .join("/")
                    )
                })
            })
            .collect();
        if !faults.is_empty() {
            lines.push(format!("outlook faults: {}", faults.join("; ")));
        }
        if self.files {
            lines.extend(self.files_state().await);
        }
        lines.push(format!(
            "mails: outlook {}, odoo {}",
            self.graph.emulator.outbox().len(),
            self.odoo
                .emulator
                .outbox()
                .iter()
                .filter(|m| m.kind != "chatter")
                .count()
        ));
        let out = self.cli(&["activity", "--json"], "").await;
        let activity: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut audit: Vec<String> = activity["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                format!(
                    "audit: {} {} (origin {}, rule {})",
                    l["op"].as_str().unwrap_or_default(),
                    normalise(l["item"].as_str().unwrap_or_default()),
                    l["origin"].as_str().unwrap_or_default(),
                    normalise(l["rule"].as_str().unwrap_or_default())
                )
            })
            .collect();
        audit.reverse();
        lines.extend(audit);
        lines
    }

    /// Every secret the run used (the Odoo API key, the refresh token in the keychain, any
    /// access token) is absent from the data directory and from everything the CLI printed.
    fn assert_no_secret_leaked(&self) {
        let profile = odoo365_app::App::open(&self.data_dir())
            .unwrap()
            .profile("work")
            .unwrap();
        let refresh = OsKeychain
            .get(&profile.id, SecretKind::MicrosoftRefreshToken)
            .unwrap()
            .unwrap();
        // Every access token the Microsoft emulator issues starts like a JWT header.
        let secrets = [
            self.odoo_key.clone(),
            refresh.expose().to_string(),
            "eyJ0eXAiOiJKV1Qi".to_string(),
        ];
        for secret in &secrets {
            assert!(
                !self.log.contains(secret.as_str()),
                "a secret is in the CLI's logs"
            );
            let hits = files_containing(&self.data_dir(), secret);
            assert!(hits.is_empty(), "a secret is on disk in {hits:?}");
        }
        assert!(
            self.log.contains("DEBUG"),
            "the logs were captured at debug level"
        );
    }

    async fn finish(self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_odoo365"));
        cmd.arg("--data-dir")
            .arg(self.data_dir())
            .args(["profile", "remove", "work"]);
        let _ = tokio::task::spawn_blocking(move || cmd.output()).await;
    }
}

fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            hits.extend(files_containing(&path, needle));
        } else if String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains(needle) {
            hits.push(path.display().to_string());
        }
    }
    hits
}

/// Volatile values replaced by placeholders: Outlook ids, Odoo ids, link and conflict
/// numbers. Counts and times stay: they are what the scenarios check.
fn normalise(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    // `exc:<series link>:<original start as a timestamp>`: the timestamp moves with the
    // scenario's dates.
    let prefixes = ["ms:", "odoo:", "link:", "conflict ", "exc:"];
    'outer: while !rest.is_empty() {
        for p in prefixes {
            if let Some(tail) = rest.strip_prefix(p) {
                let end = tail
                    .find(|c: char| c.is_whitespace() || "])),;\"".contains(c))
                    .unwrap_or(tail.len());
                let id = &tail[..end];
                let numeric_only = p != "ms:";
                let digits = |c: char| c.is_ascii_digit() || (p == "exc:" && c == ':');
                if !id.is_empty() && (!numeric_only || id.chars().all(digits)) {
                    out.push_str(p);
                    out.push_str("ID");
                    rest = &tail[end..];
                    continue 'outer;
                }
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The day the scenarios' dates are written against. The app's sync window follows the real
/// clock, so each run moves every date by the whole weeks between this day and today (weeks,
/// so weekdays and weekly rules stay the same) and moves the dates in its output back: the
/// checked-in scenarios and expected outputs never go stale.
const SCENARIO_EPOCH: (i32, u32, u32) = (2026, 11, 22);

fn epoch_shift_days() -> i64 {
    let (y, m, d) = SCENARIO_EPOCH;
    let epoch = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let today = chrono::Utc::now().date_naive();
    (today - epoch).num_days().div_euclid(7) * 7
}

/// A kept-both copy is named after the day the app made it (`name (Odoo conflict
/// <today>).ext`), the real day, which whole-week shifts do not bring back to the
/// scenario's week: it reads as `TODAY`.
fn undate_conflict_copies(s: &str) -> String {
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d");
    s.replace(&format!("conflict {today})"), "conflict TODAY)")
}

/// Moves every `YYYY-MM-DD` in `s` by `days`.
fn shift_dates(s: &str, days: i64) -> String {
    if days == 0 {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let candidate = s.get(i..i + 10).filter(|w| {
            let b = &bytes[i..i + 10];
            b.iter().enumerate().all(|(k, c)| {
                if k == 4 || k == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            }) && w.len() == 10
        });
        if let Some(date) =
            candidate.and_then(|w| chrono::NaiveDate::parse_from_str(w, "%Y-%m-%d").ok())
        {
            out.push_str(
                &(date + chrono::Duration::days(days))
                    .format("%Y-%m-%d")
                    .to_string(),
            );
            i += 10;
        } else {
            let c = s[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[test]
fn scenario_dates_move_by_whole_days_and_back() {
    let line = "odoo create \"Standup\" 2026-11-25T09:00Z 30m; odoo start 2026-12-30 09:00:00";
    let moved = shift_dates(line, 14);
    assert_eq!(
        moved,
        "odoo create \"Standup\" 2026-12-09T09:00Z 30m; odoo start 2027-01-13 09:00:00"
    );
    assert_eq!(shift_dates(&moved, -14), line);
    assert_eq!(
        shift_dates("id 12345-67-890 is no date", 7),
        "id 12345-67-890 is no date"
    );
    assert_eq!(epoch_shift_days() % 7, 0, "whole weeks keep weekdays");
}

fn split(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn times(
    start: &str,
    minutes: &str,
) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let start = chrono::DateTime::parse_from_rfc3339(&start.replace('Z', ":00Z"))
        .unwrap()
        .to_utc();
    let minutes: i64 = minutes.trim_end_matches('m').parse().unwrap();
    (start, start + chrono::Duration::minutes(minutes))
}

/// A file's bytes: `text=...` verbatim, or N bytes derived from `seed` (so an edit, seeded
/// differently, changes the content and keeps the size).
fn file_content(seed: &str, spec: &str) -> Vec<u8> {
    if let Some(t) = spec.strip_prefix("text=") {
        return t.as_bytes().to_vec();
    }
    let n: usize = spec
        .parse()
        .unwrap_or_else(|_| panic!("a size or text=, not {spec:?}"));
    let s: u32 = seed.bytes().map(u32::from).sum();
    (0..n as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(s) % 251) as u8)
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `plan (Odoo conflict 2026-11-23).docx` → `plan (Odoo conflict DATE).docx`: the copy is
/// named after the real day the conflict was found.
fn conflict_date(name: &str) -> String {
    match name.find("conflict 20") {
        Some(i) if name.len() >= i + 19 => {
            format!("{}conflict DATE{}", &name[..i], &name[i + 19..])
        }
        _ => name.to_string(),
    }
}

/// Percent-encodes one path segment for a Graph path address.
fn enc(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn odoo_dt(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

async fn scenario(name: &str) {
    if !keychain_available() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let script = std::fs::read_to_string(dir.join(format!("{name}.scn"))).unwrap();
    let shift = epoch_shift_days();
    let mut run = Run::start().await;
    run.setup().await;
    for line in script.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        run.step(&shift_dates(line, shift)).await;
    }
    let actual = shift_dates(
        &undate_conflict_copies(&(run.end_state().await.join("\n") + "\n")),
        -shift,
    );
    run.assert_no_secret_leaked();
    run.finish().await;
    let expected_path = dir.join(format!("{name}.out"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    assert_eq!(
        actual,
        expected,
        "scenario {name} differs from {} (UPDATE_GOLDEN=1 rewrites it)",
        expected_path.display()
    );
}

macro_rules! golden {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            scenario(stringify!($name)).await;
        }
    )*};
}

golden!(
    create_edit_delete_in_odoo,
    create_edit_delete_in_outlook,
    first_sync_with_data_on_both_sides,
    simultaneous_edits,
    edit_vs_delete,
    teams_meeting,
    resync_after_410,
    meeting_with_attendees,
    crash_between_steps_then_restart,
    recurring_series_both_ways,
    recurring_series_split_and_delete,
    recurring_series_exceptions,
    token_expiry_mid_sync,
    files_from_odoo,
    files_from_onedrive,
    files_conflict_both_changed,
    files_names_empty_and_duplicates,
    files_resync_after_410,
    files_hash_mismatch,
    files_large_upload_crash_resume,
    files_in_folders_of_no_readable_record,
);

/// The daemon syncs at once, then waits its interval; Ctrl-C stops it cleanly and `status`
/// shows the last sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_syncs_then_stops_on_ctrl_c() {
    use std::io::BufRead;
    if !keychain_available() {
        return;
    }
    let mut run = Run::start().await;
    run.setup().await;
    let shift = epoch_shift_days();
    run.step(&shift_dates(
        "odoo create \"Standup\" 2026-11-25T09:00Z 30m",
        shift,
    ))
    .await;
    run.step("sync --yes").await;
    run.step(&shift_dates(
        "outlook create \"Review\" 2026-11-25T13:00Z 60m",
        shift,
    ))
    .await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_odoo365"))
        .arg("--data-dir")
        .arg(run.data_dir())
        .args(["daemon", "--interval", "3600"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (first, reader) = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        let mut reader = std::io::BufReader::new(stdout);
        reader.read_line(&mut line).unwrap();
        (line, reader)
    })
    .await
    .unwrap();
    assert!(first.contains("synced: 1 change(s) applied"), "{first}");
    let status = run.cli(&["status", "--json"], "").await;
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(status["next_sync_at"].is_string(), "{status}");
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || {
        drop(reader);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let status = run.cli(&["status", "--json"], "").await;
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(status["next_sync_at"].is_null(), "{status}");
    assert!(status["last_sync_at"].is_string(), "{status}");
    assert_eq!(status["linked_events"], 2);
    run.assert_no_secret_leaked();
    run.finish().await;
}
