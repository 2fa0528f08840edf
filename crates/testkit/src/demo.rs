//! The `demo` scenario's people and its timeline: what "someone" does in Outlook and in Odoo
//! once the app has synced for the first time, so that a new user of `make demo` sees
//! changes flow both ways and a conflict within a minute.
//!
//! The timeline acts through the services' own APIs (Graph with Alice's token, Odoo's
//! JSON-RPC with her API key), exactly as a person's Outlook or Odoo client would; it never
//! reaches into the emulators' state, so what the app sees is what it would see for real.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::graph::GraphEmulator;

/// The demo's organizer: the same mail on both sides (Graph user, Odoo user's e-mail).
pub const ALICE: &str = "alice@contoso.com";
pub const ALICE_NAME: &str = "Alice Martin";
/// Her Odoo login.
pub const ALICE_LOGIN: &str = "alice";
/// Her colleague, an attendee of the demo meetings on both sides.
pub const BOB: &str = "bob@contoso.com";
pub const BOB_NAME: &str = "Bob Kowalski";
pub const BOB_LOGIN: &str = "bob";

/// The Odoo demo event that both sides edit: it comes from Odoo and reaches Outlook on the
/// first sync.
pub const CONFLICT_EVENT: &str = "Kick-off with Bob";
/// The event the timeline creates in Odoo after the first sync.
pub const NEW_IN_ODOO: &str = "Lunch with Bob (new in Odoo)";
/// The event the timeline creates in Outlook after the first sync.
pub const NEW_IN_OUTLOOK: &str = "Call with Carol (new in Outlook)";
/// The two different locations the conflict is about.
pub const LOCATION_IN_ODOO: &str = "Room 2 (changed in Odoo)";
pub const LOCATION_IN_OUTLOOK: &str = "Room 3 (changed in Outlook)";

/// Where the timeline acts, and as whom.
#[derive(Debug, Clone)]
pub struct DemoTimeline {
    pub graph: GraphEmulator,
    /// Graph base URL, ending in `/v1.0`.
    pub graph_url: String,
    pub odoo_url: String,
    pub odoo_database: String,
    /// Alice's Odoo user id and API key.
    pub odoo_uid: i64,
    pub odoo_key: String,
    /// How long after the first sync the changes are made.
    pub after_first_sync: Duration,
    /// How long to wait for the first sync before giving up.
    pub patience: Duration,
}

/// What one step of the timeline did, for the sim's log.
pub type Say<'a> = &'a (dyn Fn(&str) + Send + Sync);

impl DemoTimeline {
    /// Waits until the Odoo event [`CONFLICT_EVENT`] shows in Alice's Outlook (the app
    /// synced once), then creates one event on each side and edits the location of that
    /// event differently on both sides.
    pub async fn run(&self, say: Say<'_>) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let started = tokio::time::Instant::now();
        let outlook_id = loop {
            if let Some(id) = self.outlook_event(&http, CONFLICT_EVENT).await? {
                break id;
            }
            if started.elapsed() > self.patience {
                bail!(
                    "the app did not sync {CONFLICT_EVENT:?} to Outlook within {} s",
                    self.patience.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        say(&format!(
            "demo: the first sync is done; changes on both sides in {} s",
            self.after_first_sync.as_secs()
        ));
        tokio::time::sleep(self.after_first_sync).await;

        let day = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
        let odoo_time = |h: u32| format!("{} {h:02}:00:00", day.format("%Y-%m-%d"));
        self.odoo(
            &http,
            "create",
            json!([[{"name": NEW_IN_ODOO, "start": odoo_time(11), "stop": odoo_time(12),
                "location": "Canteen"}]]),
        )
        .await?;
        say(&format!("demo: created {NEW_IN_ODOO:?} in Odoo"));
        let graph_time =
            |h: u32| json!({"dateTime": format!("{day}T{h:02}:00:00"), "timeZone": "UTC"});
        self.outlook(
            &http,
            reqwest::Method::POST,
            "events",
            Some(
                json!({"subject": NEW_IN_OUTLOOK, "start": graph_time(16), "end": graph_time(17)}),
            ),
        )
        .await?;
        say(&format!("demo: created {NEW_IN_OUTLOOK:?} in Outlook"));

        let ids = self
            .odoo(&http, "search", json!([[["name", "=", CONFLICT_EVENT]]]))
            .await?;
        let odoo_id = ids
            .get(0)
            .and_then(Value::as_i64)
            .with_context(|| format!("no Odoo event {CONFLICT_EVENT:?}"))?;
        self.odoo(
            &http,
            "write",
            json!([[odoo_id], {"location": LOCATION_IN_ODOO}]),
        )
        .await?;
        self.outlook(
            &http,
            reqwest::Method::PATCH,
            &format!("events/{outlook_id}"),
            Some(json!({"location": {"displayName": LOCATION_IN_OUTLOOK}})),
        )
        .await?;
        say(&format!(
            "demo: moved {CONFLICT_EVENT:?} to {LOCATION_IN_ODOO:?} in Odoo and to \
             {LOCATION_IN_OUTLOOK:?} in Outlook: the next sync asks you which one wins"
        ));
        Ok(())
    }

    async fn outlook(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let token = self
            .graph
            .mint_token(ALICE)
            .map_err(|e| anyhow::anyhow!("a token for {ALICE}: {e:?}"))?;
        let mut req = http
            .request(method, format!("{}/me/{path}", self.graph_url))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.context("calling Graph")?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("Graph answered {status}: {body}");
        }
        Ok(body)
    }

    async fn outlook_event(
        &self,
        http: &reqwest::Client,
        subject: &str,
    ) -> anyhow::Result<Option<String>> {
        let mut page = self
            .outlook(http, reqwest::Method::GET, "events?$top=100", None)
            .await?;
        loop {
            let found = page["value"].as_array().and_then(|all| {
                all.iter()
                    .find(|e| e["subject"] == subject)
                    .and_then(|e| e["id"].as_str().map(str::to_string))
            });
            if found.is_some() {
                return Ok(found);
            }
            let Some(next) = page["@odata.nextLink"].as_str() else {
                return Ok(None);
            };
            let path = next
                .split_once("/me/")
                .map(|(_, p)| p.to_string())
                .context("a nextLink outside /me")?;
            page = self
                .outlook(http, reqwest::Method::GET, &path, None)
                .await?;
        }
    }

    async fn odoo(
        &self,
        http: &reqwest::Client,
        method: &str,
        args: Value,
    ) -> anyhow::Result<Value> {
        let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
            "service": "object", "method": "execute_kw",
            "args": [self.odoo_database, self.odoo_uid, self.odoo_key, "calendar.event", method, args, {}]}});
        let resp: Value = http
            .post(format!("{}/jsonrpc", self.odoo_url))
            .json(&body)
            .send()
            .await
            .context("calling Odoo")?
            .json()
            .await
            .context("reading Odoo's answer")?;
        if let Some(e) = resp.get("error") {
            bail!("Odoo refused calendar.event.{method}: {e}");
        }
        Ok(resp["result"].clone())
    }
}
