//! One history's world: both emulators on loopback sharing one virtual clock, the people
//! who edit in Odoo (in-process calls as Alice, as her web client makes them) and in
//! Outlook (Graph calls with her token), and the real engine behind the real app ports
//! and the real Graph and Odoo clients, rebuilt for every cycle as the app does.
//!
//! Faults are armed as one-shot rules of the emulators' seeded fault plans and are live
//! only while the engine runs a cycle, so a person's own call never draws one.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Map, Value};

use odoo365_app::auth::{
    flow, AuthConfig, Keychain, MemoryKeychain, Secret, SecretKind, TokenSource,
};
use odoo365_app::file_ports::{GraphDrive, OdooFiles};
use odoo365_app::ports::{GraphCalendar, OdooEvents};
use odoo365_app::SyncSettings;
use odoo365_engine::files::FileSync;
use odoo365_engine::{Engine, Store};
use odoo365_graph::{AccessTokens, GraphClient, Seams, TokenError};
use odoo365_odoo::{ApiKey, OdooClient};
use odoo365_testkit::graph::{DriveType, GraphConfig, GraphEmulator, OutboxKind, RunningGraph};
use odoo365_testkit::odoo::{NewApiKey, NewUser, OdooConfig, Ret, RunningOdoo};
use odoo365_testkit::{Fault, FaultRule};

use crate::clock::VirtualClock;
use crate::docs::Docs;
use crate::rsvp::{is_bobs, Rsvp};
use crate::Rng;

pub const ALICE: &str = "alice@contoso.com";
pub const BOB: &str = "bob@contoso.com";
pub const CAROL: &str = "carol@example.com";
/// What the harness's reads of Outlook ask for, as Alice's own calls do: UTC, pages of 100.
const PREFER: &str = "outlook.timezone=\"UTC\", odata.maxpagesize=100";
const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
pub const PROFILE: &str = "p1";

pub fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
        .single()
        .expect("a valid test date")
}

/// The auth crate's real token source (refresh over HTTP against the emulator's identity
/// endpoints, rotated refresh tokens back to the keychain), asked with the virtual now.
struct VirtualTokens {
    source: TokenSource,
    clock: VirtualClock,
}

#[async_trait::async_trait]
impl AccessTokens for VirtualTokens {
    async fn token(&self) -> Result<String, TokenError> {
        self.source
            .access_token(self.clock.now())
            .await
            .map(|s| s.expose().to_string())
            .map_err(|e| TokenError(e.to_string()))
    }
    async fn invalidate(&self) {
        self.source.invalidate().await;
    }
}

enum Body {
    Json(Value),
    Raw(Vec<u8>),
}

pub enum Backing {
    Memory(Option<Store>),
    File(tempfile::TempDir),
}

/// Ways the engine touched an item during its cycles, for the journal and audit checks.
#[derive(Default)]
pub struct Touched {
    /// (item, title, location) versions the engine overwrote or deleted.
    pub destroyed: BTreeSet<(String, String, String)>,
    /// Items the engine created, changed or deleted.
    pub written: BTreeSet<String>,
    /// The link each item was ever seen on.
    pub link_of: BTreeMap<String, i64>,
    /// Items the engine created, as first seen.
    pub created: BTreeMap<String, Item>,
    /// Items ever seen as part of a series (Odoo rows, Graph masters).
    pub series_rows: BTreeSet<String>,
}

/// A single event (or series master / Odoo row) as the journal and audit checks see it.
#[derive(Clone, PartialEq, Debug)]
pub struct Item {
    pub raw: Value,
    pub title: String,
    pub location: String,
    /// Part of a recurring series (checked as whole series, not row by row).
    pub recurring: bool,
}

pub type Snapshot = BTreeMap<String, Item>;

/// Which mails the people's own edits entitle Outlook to send when the engine carries
/// them over, by (item, kind); and every mail the engine's cycles caused without one. An
/// item is named by its link (`link:7`, stable across renames on either side) when the
/// engine has linked it, and by its title (`title:E4`) in any case.
#[derive(Default)]
pub struct MailBook {
    pub credits: BTreeMap<(String, &'static str), i64>,
    pub graph_seen: usize,
    pub odoo_seen: usize,
    pub unasked: Vec<String>,
}

impl MailBook {
    pub fn grant(&mut self, keys: &[String], kinds: &[&'static str]) {
        if std::env::var("SIM_SEED").is_ok() {
            eprintln!("mail credit {keys:?} {kinds:?}");
        }
        for key in keys {
            for k in kinds {
                *self.credits.entry((key.clone(), k)).or_default() += 1;
            }
        }
    }

    /// Spends a credit under the first key that has one.
    fn spend(&mut self, keys: &[String], kind: &'static str) -> bool {
        for key in keys {
            if let Some(n) = self.credits.get_mut(&(key.clone(), kind)) {
                if *n > 0 {
                    *n -= 1;
                    return true;
                }
            }
        }
        false
    }
}

pub fn kind_name(k: &OutboxKind) -> &'static str {
    match k {
        OutboxKind::Invitation => "invitation",
        OutboxKind::Update => "update",
        OutboxKind::Cancellation => "cancellation",
        OutboxKind::Response => "response",
    }
}

pub struct World {
    pub seed: u64,
    pub clock: VirtualClock,
    pub graph: RunningGraph,
    pub odoo: RunningOdoo,
    pub alice_uid: i64,
    /// Bob, who organizes the meetings Alice is invited to (`rsvp.rs`).
    pub bob_uid: i64,
    alice_key: String,
    /// Odoo partner id → e-mail, for Alice, Bob and Carol.
    pub partner_mail: BTreeMap<i64, String>,
    pub partner_of: BTreeMap<&'static str, i64>,
    keychain: Arc<MemoryKeychain>,
    store: Backing,
    http: reqwest::Client,
    pub made: u32,
    pub trace: DefaultHasher,
    pub touched: Touched,
    pub mail: MailBook,
    /// Whether Alice may delete (not only archive) one occurrence of an Odoo series.
    pub unlink_occurrences: bool,
    /// The clients of the current cycle: the file cycle runs on the calendar's, as the
    /// app's kept session does.
    session: Option<(GraphClient, Arc<OdooClient>)>,
    /// The file engine's spool directory (never in memory, as in the app).
    spool: tempfile::TempDir,
    /// The documents half of the history (`docs.rs`).
    pub docs: Docs,
    /// Bob's invitations and Alice's answers (`rsvp.rs`).
    pub rsvp: Rsvp,
    /// Whether the history has them (`SIM_RSVP=1` in the main run; `rsvp_seeds`).
    pub rsvp_on: bool,
}

fn ret_value(r: Ret) -> Value {
    // The JSON-2 shapes: lists of ids for recordsets and creates.
    r.json2()
}

fn kwargs(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl World {
    pub async fn new(seed: u64, unlink_occurrences: bool, rsvp_on: bool) -> World {
        let clock = VirtualClock::starting_at(at(22, 12));
        let graph = GraphEmulator::start(GraphConfig {
            seed,
            clock: clock.emulators(),
            ..Default::default()
        })
        .await
        .expect("the Graph emulator starts");
        graph
            .emulator
            .create_user(ALICE, "Alice Martin", DriveType::Business);
        graph
            .emulator
            .create_user(BOB, "Bob Kowalski", DriveType::Business);
        let odoo = odoo365_testkit::odoo::OdooEmulator::start(OdooConfig {
            seed,
            clock: clock.emulators(),
            ..Default::default()
        })
        .await
        .expect("the Odoo emulator starts");
        let alice = odoo
            .emulator
            .create_user(NewUser {
                email: Some(ALICE.into()),
                name: Some("Alice Martin".into()),
                tz: Some("UTC".into()),
                ..NewUser::internal(ALICE)
            })
            .expect("Alice in Odoo");
        let bob = odoo
            .emulator
            .create_user(NewUser {
                email: Some(BOB.into()),
                name: Some("Bob Kowalski".into()),
                ..NewUser::internal(BOB)
            })
            .expect("Bob in Odoo");
        let alice_key = odoo
            .emulator
            .create_api_key(alice.uid, NewApiKey::default())
            .expect("Alice's API key");
        let carol = ret_value(
            odoo.emulator
                .execute(
                    alice.uid,
                    "res.partner",
                    "create",
                    &[],
                    kwargs(json!({"vals_list": [{"name": "Carol Diaz", "email": CAROL}]})),
                )
                .expect("Carol's partner"),
        )[0]
        .as_i64()
        .expect("a partner id");
        let keychain = Arc::new(MemoryKeychain::new());
        let scope = odoo365_app::auth::config::GRAPH_SCOPES.join(" ");
        let rt = graph
            .emulator
            .mint_refresh_token(ALICE, CLIENT_ID, &scope)
            .expect("a refresh token");
        keychain
            .set(PROFILE, SecretKind::MicrosoftRefreshToken, &Secret::new(rt))
            .expect("the keychain takes it");
        let store = if seed.is_multiple_of(10) {
            let dir = tempfile::tempdir().expect("a temp dir");
            Store::open(&dir.path().join("sync.db"))
                .and_then(|s| s.put_profile(PROFILE, "work", "{}", "2026-11-22T00:00:00Z"))
                .expect("a store");
            Backing::File(dir)
        } else {
            let s = Store::open_in_memory().expect("a store");
            s.put_profile(PROFILE, "work", "{}", "2026-11-22T00:00:00Z")
                .expect("a profile");
            Backing::Memory(Some(s))
        };
        let partner_mail = BTreeMap::from([
            (alice.partner_id, ALICE.to_string()),
            (bob.partner_id, BOB.to_string()),
            (carol, CAROL.to_string()),
        ]);
        let partner_of = BTreeMap::from([
            (ALICE, alice.partner_id),
            (BOB, bob.partner_id),
            (CAROL, carol),
        ]);
        World {
            seed,
            clock,
            graph,
            odoo,
            alice_uid: alice.uid,
            bob_uid: bob.uid,
            alice_key,
            partner_mail,
            partner_of,
            keychain,
            store,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("an HTTP client"),
            made: 0,
            trace: DefaultHasher::new(),
            touched: Touched::default(),
            mail: MailBook::default(),
            unlink_occurrences,
            session: None,
            spool: tempfile::tempdir().expect("a spool dir"),
            docs: Docs::new(seed),
            rsvp: Rsvp::new(seed),
            rsvp_on,
        }
    }

    /// Adds a step to the trace hash (and, replaying one seed, to the trace on stderr).
    pub fn note(&mut self, what: impl Hash + std::fmt::Debug) {
        crate::say(|| format!("  = {what:?}"));
        what.hash(&mut self.trace);
    }

    /// Faults fire only while the engine works.
    pub fn faults_live(&self, on: bool) {
        self.graph.emulator.faults().set_enabled(on);
        self.odoo.emulator.faults().set_enabled(on);
    }

    /// A fresh engine on the store with fresh clients, as the app builds them for a cycle
    /// (and as after a restart): the Graph client with the real token refresh, the Odoo
    /// client connected anew, both on the virtual clock with seeded jitter.
    pub async fn engine(&mut self) -> Engine {
        self.faults_live(false);
        let auth = AuthConfig::microsoft(&self.graph.identity_url, "organizations", CLIENT_ID)
            .expect("an authority");
        let tokens = VirtualTokens {
            source: TokenSource::new(
                auth,
                flow::http_client().expect("an HTTP client"),
                self.keychain.clone(),
                PROFILE,
            ),
            clock: self.clock.clone(),
        };
        let graph = GraphClient::new(
            odoo365_graph::GraphConfig::with_base_url(
                self.graph.graph_url.parse().expect("the emulator's URL"),
            ),
            Seams {
                tokens: Arc::new(tokens),
                clock: Arc::new(self.clock.clone()),
                jitter_seed: self.seed,
                budget: None,
            },
        )
        .expect("a Graph client");
        let mut cfg = odoo365_odoo::OdooConfig::new(
            self.odoo.url.parse().expect("the emulator's URL"),
            ALICE,
            ApiKey::new(self.alice_key.clone()),
        );
        cfg.database = Some(self.odoo.emulator.database().to_string());
        cfg.clock = Arc::new(self.clock.clone());
        cfg.jitter_seed = self.seed;
        let odoo = Arc::new(OdooClient::connect(cfg).await.expect("Odoo connects"));
        self.session = Some((graph.clone(), odoo.clone()));
        let store = self.take_store();
        Engine::new(
            store,
            World::settings().engine_config(PROFILE, ALICE),
            Arc::new(GraphCalendar::new(graph)),
            Arc::new(OdooEvents::new(odoo)),
            Arc::new(self.clock.clone()),
        )
        .expect("the engine opens its store")
    }

    fn take_store(&mut self) -> Store {
        match &mut self.store {
            Backing::Memory(s) => s.take().expect("the store is parked between engines"),
            Backing::File(dir) => Store::open(&dir.path().join("sync.db")).expect("the store"),
        }
    }

    /// The settings of Alice's profile: the calendar, and the attachments of sale orders.
    pub fn settings() -> SyncSettings {
        SyncSettings {
            documents: true,
            document_models: vec![crate::docs::MODEL.to_string()],
            ..SyncSettings::default()
        }
    }

    /// The file engine, after the calendar's, on the same clients and store, with the
    /// app's own file configuration (`odoo365_app::files::file_config`) and adapters.
    pub fn file_engine(&mut self) -> FileSync {
        let (graph, odoo) = self
            .session
            .clone()
            .expect("the calendar engine of the cycle made the clients");
        let store = self.take_store();
        let spool = self.spool.path().join(PROFILE);
        std::fs::create_dir_all(&spool).expect("the spool dir");
        FileSync::new(
            store,
            odoo365_app::files::file_config(&World::settings(), PROFILE, spool),
            Arc::new(GraphDrive::new(&graph, None)),
            Arc::new(OdooFiles::new(odoo)),
            Arc::new(self.clock.clone()),
        )
        .expect("the file engine opens its store")
    }

    /// Drops the engine (the in-memory store is kept for the next one).
    pub fn park(&mut self, e: Engine) {
        if let Backing::Memory(s) = &mut self.store {
            *s = Some(e.into_store());
        }
    }

    /// Drops the file engine, likewise.
    pub fn park_files(&mut self, f: FileSync) {
        if let Backing::Memory(s) = &mut self.store {
            *s = Some(f.into_store());
        }
    }

    // ------------------------------------------------------------------ Odoo, as Alice

    pub fn odoo_call(
        &self,
        model: &str,
        method: &str,
        ids: &[i64],
        kw: Value,
    ) -> Result<Value, String> {
        self.odoo
            .emulator
            .execute(self.alice_uid, model, method, ids, kwargs(kw))
            .map(ret_value)
            .map_err(|e| e.to_string())
    }

    /// Alice's active events in Odoo (rows of series included).
    pub fn odoo_rows(&self) -> Vec<Value> {
        let rows = self
            .odoo_call(
                "calendar.event",
                "search_read",
                &[],
                json!({
                    "domain": [],
                    "fields": ["name", "start", "stop", "allday", "start_date", "stop_date",
                               "location", "videocall_location", "partner_ids", "recurrency",
                               "recurrence_id", "write_date"],
                    "order": "id",
                }),
            )
            .expect("Odoo reads");
        rows.as_array().cloned().unwrap_or_default()
    }

    /// Her Odoo rows but Bob's meetings: her calendar steps leave those to `rsvp.rs`.
    fn alices_rows(&self) -> Vec<Value> {
        let mut rows = self.odoo_rows();
        rows.retain(|r| !is_bobs(r["name"].as_str().unwrap_or_default()));
        rows
    }

    // ------------------------------------------------------------ Outlook, as Alice

    pub async fn outlook(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        self.graph_as(ALICE, method, path, body.map(Body::Json))
            .await
    }

    /// A Graph call of Alice's with a raw body (a file's content).
    pub async fn onedrive(
        &self,
        method: reqwest::Method,
        path: &str,
        content: Vec<u8>,
    ) -> Result<Value, String> {
        self.graph_as(ALICE, method, path, Some(Body::Raw(content)))
            .await
    }

    /// A Graph call of Bob's, in his own mailbox.
    pub async fn bob_outlook(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value, String> {
        self.graph_as(BOB, method, path, Some(Body::Json(body)))
            .await
    }

    async fn graph_as(
        &self,
        who: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Body>,
    ) -> Result<Value, String> {
        let token = self
            .graph
            .emulator
            .mint_token(who)
            .map_err(|e| format!("{e:?}"))?;
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}/me/{path}", self.graph.graph_url)
        };
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(token)
            .header("Prefer", "outlook.timezone=\"UTC\", odata.maxpagesize=100");
        match body {
            Some(Body::Json(b)) => req = req.json(&b),
            Some(Body::Raw(b)) => req = req.body(b),
            None => {}
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {text}"));
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    /// Every item of a Graph collection, following `@odata.nextLink`. Read in process
    /// (`RunningGraph::get_as`: the emulator's own handlers and JSON, no socket, no
    /// throttle window, no fault, no log line): these reads are the harness looking, not a
    /// client of the mailbox, and over HTTP they were about a third of a history's CPU.
    pub async fn outlook_list(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = format!("/me/{path}");
        loop {
            let page = self
                .graph
                .get_as(ALICE, &next, Some(PREFER))
                .await
                .expect("Outlook lists");
            out.extend(page["value"].as_array().cloned().unwrap_or_default());
            match page["@odata.nextLink"].as_str() {
                Some(n) => next = n.to_string(),
                None => return out,
            }
        }
    }

    /// Alice's single events and series masters.
    pub async fn graph_events(&self) -> Vec<Value> {
        self.outlook_list("events?$top=100").await
    }

    /// Her Outlook events but Bob's meetings.
    async fn alices_events(&self) -> Vec<Value> {
        let mut events = self.graph_events().await;
        events.retain(|v| !is_bobs(v["subject"].as_str().unwrap_or_default()));
        events
    }

    /// What Alice sees in Outlook in the window: singles, occurrences and exceptions.
    pub async fn graph_view(&self) -> Vec<Value> {
        self.outlook_list(
            "calendarView?startDateTime=2026-10-01T00:00:00Z&endDateTime=2027-03-01T00:00:00Z&$top=100",
        )
        .await
    }

    // ------------------------------------------------------------------- snapshots

    pub async fn snapshot(&self) -> Snapshot {
        let mut out = Snapshot::new();
        for r in self.odoo_rows() {
            out.insert(
                format!("o:{}", r["id"]),
                Item {
                    title: r["name"].as_str().unwrap_or_default().to_owned(),
                    location: r["location"].as_str().unwrap_or_default().to_owned(),
                    recurring: r["recurrency"] == true,
                    raw: r,
                },
            );
        }
        for v in self.graph_events().await {
            out.insert(
                format!("g:{}", v["id"].as_str().unwrap_or_default()),
                Item {
                    title: v["subject"].as_str().unwrap_or_default().to_owned(),
                    location: v["location"]["displayName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    recurring: v["type"] == "seriesMaster",
                    raw: v,
                },
            );
        }
        out
    }

    // ------------------------------------------------------------------ the people

    fn next_title(&mut self) -> String {
        self.made += 1;
        format!("E{}", self.made)
    }

    /// A new event's time: timed on one of the next six days, or (one in four) all day.
    fn when(&self, n: u32) -> (DateTime<Utc>, DateTime<Utc>, bool) {
        let day = 23 + n % 6;
        if n.is_multiple_of(4) {
            (at(day, 0), at(day + 1, 0), true)
        } else {
            (at(day, 8 + n % 9), at(day, 9 + n % 9), false)
        }
    }

    fn attendees_for(&self, rng: &mut Rng) -> Vec<&'static str> {
        match rng.below(4) {
            0 => vec![BOB],
            1 => vec![BOB, CAROL],
            _ => vec![],
        }
    }

    /// Alice creates an event in Odoo (sometimes with attendees, sometimes a series).
    pub fn odoo_create(&mut self, rng: &mut Rng, allow_series: bool) {
        let title = self.next_title();
        let (start, stop, allday) = self.when(self.made);
        let attendees = self.attendees_for(rng);
        let mut partners = vec![self.partner_of[ALICE]];
        partners.extend(attendees.iter().map(|a| self.partner_of[a]));
        let mut vals = json!({
            "name": title,
            "location": format!("O{}", rng.below(1000)),
            "partner_ids": [[6, 0, partners]],
            "allday": allday,
        });
        if allday {
            vals["start_date"] = json!(start.format("%Y-%m-%d").to_string());
            vals["stop_date"] = json!(start.format("%Y-%m-%d").to_string());
        } else {
            vals["start"] = json!(start.format("%Y-%m-%d %H:%M:%S").to_string());
            vals["stop"] = json!(stop.format("%Y-%m-%d %H:%M:%S").to_string());
        }
        if allow_series && !allday && rng.below(4) == 0 {
            vals["recurrency"] = json!(true);
            vals["rrule_type"] = json!("daily");
            vals["interval"] = json!(1);
            vals["end_type"] = json!("count");
            vals["count"] = json!(3);
        }
        let made = self.odoo_call(
            "calendar.event",
            "create",
            &[],
            json!({"vals_list": [vals]}),
        );
        // Guests may be added on either side before the engine carries it over, so any
        // edit of Alice's in Odoo entitles its mail (an empty guest list sends none).
        if made.is_ok() {
            self.mail
                .grant(&[format!("title:{title}")], &["invitation"]);
        }
        self.note(("odoo create", &title, made.is_ok()));
    }

    /// Alice creates an event in Outlook (attendees, Teams, a series now and then).
    pub async fn outlook_create(&mut self, rng: &mut Rng, allow_series: bool) {
        let title = self.next_title();
        let (start, end, allday) = self.when(self.made);
        let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let mut body = json!({
            "subject": title,
            "start": {"dateTime": fmt(start), "timeZone": "UTC"},
            "end": {"dateTime": fmt(end), "timeZone": "UTC"},
            "isAllDay": allday,
            "location": {"displayName": format!("M{}", rng.below(1000))},
            "attendees": self.attendees_for(rng).iter().map(|a| json!({
                "emailAddress": {"address": a}, "type": "required"
            })).collect::<Vec<_>>(),
        });
        if !allday && rng.below(4) == 0 {
            body["isOnlineMeeting"] = json!(true);
            body["onlineMeetingProvider"] = json!("teamsForBusiness");
        }
        if allow_series && !allday && rng.below(4) == 0 {
            body["recurrence"] = json!({
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "numbered", "startDate": start.format("%Y-%m-%d").to_string(),
                          "numberOfOccurrences": 3},
            });
        }
        let made = self
            .outlook(reqwest::Method::POST, "events", Some(body))
            .await;
        self.note(("outlook create", &title, made.is_ok()));
    }

    /// The mail-book keys of an Odoo row titled `title`.
    pub fn odoo_keys(&self, id: i64, title: &str) -> Vec<String> {
        // The row's id too: the link may be made after her edit (a lost create adopted
        // later), and Outlook's mail then names the title she gave it there (seed 1631).
        let mut keys = vec![format!("title:{title}"), format!("odoo:{id}")];
        if let Some(l) = self.touched.link_of.get(&format!("o:{id}")) {
            keys.insert(0, format!("link:{l}"));
        }
        keys
    }

    /// Alice edits an Odoo event: location, rename, move (an hour later), optionally as a
    /// transaction that commits `late_s` seconds after its `write_date`.
    pub fn odoo_edit(&mut self, rng: &mut Rng, late_s: Option<i64>) {
        let rows = self.alices_rows();
        if rows.is_empty() {
            return;
        }
        let row = rows[rng.below(rows.len())].clone();
        let id = row["id"].as_i64().unwrap_or_default();
        let mut title = row["name"].as_str().unwrap_or_default().to_string();
        let mut vals = match rng.below(3) {
            0 => json!({"location": format!("O{}", rng.below(1000))}),
            1 => {
                title = self.next_title();
                json!({"name": title})
            }
            _ if row["allday"] == true => json!({"location": format!("O{}", rng.below(1000))}),
            _ => {
                let shift = |k: &str| {
                    chrono::NaiveDateTime::parse_from_str(
                        row[k].as_str().unwrap_or_default(),
                        "%Y-%m-%d %H:%M:%S",
                    )
                    .map(|t| {
                        (t + Duration::hours(1))
                            .format("%Y-%m-%d %H:%M:%S")
                            .to_string()
                    })
                    .unwrap_or_default()
                };
                json!({"start": shift("start"), "stop": shift("stop")})
            }
        };
        if row["recurrency"] == true {
            // The whole series, as Odoo's "all events" choice.
            vals["recurrence_update"] = json!("all_events");
        }
        if let Some(s) = late_s {
            self.odoo.emulator.late_commit_next(s);
        }
        let done = self.odoo_call("calendar.event", "write", &[id], json!({"vals": vals}));
        if done.is_ok() {
            let keys = self.odoo_keys(id, &title);
            self.mail.grant(&keys, &["update", "invitation"]);
        }
        self.note(("odoo edit", id, &title, late_s, done.is_ok()));
    }

    /// Alice archives or deletes an Odoo event.
    pub fn odoo_remove(&mut self, rng: &mut Rng) {
        let rows = self.alices_rows();
        if rows.is_empty() {
            return;
        }
        let row = rows[rng.below(rows.len())].clone();
        let id = row["id"].as_i64().unwrap_or_default();
        let mut method = if rng.below(2) == 0 {
            "action_archive"
        } else {
            "unlink"
        };
        if row["recurrency"] == true && !self.unlink_occurrences {
            // `SIM_UNLINK_OCCURRENCES=0`: archive only, as the histories did before the
            // engine followed occurrences deleted outright (docs/RELIABILITY.md).
            method = "action_archive";
        }
        let done = self.odoo_call("calendar.event", method, &[id], json!({}));
        if done.is_ok() {
            // One occurrence gone may reach Outlook as that occurrence's cancellation or as
            // the series' new rule (an update): both tell the guests what Alice did. The
            // mail names the series' title, which may not be this row's (she renamed the
            // series since, seed 1384): the series' link is a key too.
            let mut keys = self.odoo_keys(id, row["name"].as_str().unwrap_or_default());
            let rec = |r: &Value| match &r["recurrence_id"] {
                Value::Array(a) => a.first().and_then(Value::as_i64),
                v => v.as_i64(),
            };
            if let Some(rid) = rec(&row) {
                for r in rows.iter().filter(|r| rec(r) == Some(rid)) {
                    let key = r["id"].as_i64().map(|o| format!("o:{o}"));
                    if let Some(l) = key.and_then(|k| self.touched.link_of.get(&k)) {
                        let l = format!("link:{l}");
                        if !keys.contains(&l) {
                            keys.insert(0, l);
                        }
                    }
                }
            }
            self.mail.grant(&keys, &["cancellation", "update"]);
        }
        self.note(("odoo remove", id, method, done.is_ok()));
    }

    /// Alice edits an Outlook event: location, subject, move, Teams, a guest more.
    pub async fn outlook_edit(&mut self, rng: &mut Rng) {
        let events = self.alices_events().await;
        if events.is_empty() {
            return;
        }
        let ev = events[rng.below(events.len())].clone();
        let id = ev["id"].as_str().unwrap_or_default().to_string();
        let patch = match rng.below(5) {
            0 => json!({"location": {"displayName": format!("M{}", rng.below(1000))}}),
            1 => json!({"subject": self.next_title()}),
            2 if ev["isAllDay"] != true && ev["type"] != "seriesMaster" => {
                let shift = |k: &str| {
                    let s = ev[k]["dateTime"].as_str().unwrap_or_default();
                    chrono::NaiveDateTime::parse_from_str(
                        &s[..19.min(s.len())],
                        "%Y-%m-%dT%H:%M:%S",
                    )
                    .map(|t| {
                        (t + Duration::hours(1))
                            .format("%Y-%m-%dT%H:%M:%S")
                            .to_string()
                    })
                    .unwrap_or_default()
                };
                json!({"start": {"dateTime": shift("start"), "timeZone": "UTC"},
                       "end": {"dateTime": shift("end"), "timeZone": "UTC"}})
            }
            3 if ev["isAllDay"] != true => {
                json!({"isOnlineMeeting": true, "onlineMeetingProvider": "teamsForBusiness"})
            }
            _ => {
                let mut attendees = ev["attendees"].as_array().cloned().unwrap_or_default();
                if !attendees
                    .iter()
                    .any(|a| a["emailAddress"]["address"] == CAROL)
                {
                    attendees.push(json!({"emailAddress": {"address": CAROL}, "type": "required"}));
                }
                json!({"attendees": attendees})
            }
        };
        let done = self
            .outlook(reqwest::Method::PATCH, &format!("events/{id}"), Some(patch))
            .await;
        self.note(("outlook edit", done.is_ok()));
    }

    /// Alice deletes an Outlook event (a series whole).
    pub async fn outlook_remove(&mut self, rng: &mut Rng) {
        let events = self.alices_events().await;
        if events.is_empty() {
            return;
        }
        let id = events[rng.below(events.len())]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let done = self
            .outlook(reqwest::Method::DELETE, &format!("events/{id}"), None)
            .await;
        self.note(("outlook remove", done.is_ok()));
    }

    // ------------------------------------------------------------------- faults

    /// Arms one fault for the next cycle (a one-shot rule, or an expired delta link).
    pub fn arm_fault(&mut self, rng: &mut Rng) -> &'static str {
        let g = self.graph.emulator.faults();
        let o = self.odoo.emulator.faults();
        let events = "/events";
        let secs = 1 + rng.below(120) as u64;
        let (what, rule_g, rule_o): (&'static str, Option<FaultRule>, Option<FaultRule>) =
            match rng.below(13) {
                0 => (
                    "graph 429",
                    Some(
                        FaultRule::once(Fault::Throttle {
                            retry_after_s: secs,
                        })
                        .on_path(events)
                        .on_writes(),
                    ),
                    None,
                ),
                1 => (
                    "graph 503",
                    Some(FaultRule::once(Fault::Unavailable {
                        retry_after_s: Some(secs),
                    })),
                    None,
                ),
                2 => (
                    "graph create lost",
                    Some(
                        FaultRule::once(Fault::ResetAfterApply)
                            .on_method("POST")
                            .on_path(events),
                    ),
                    None,
                ),
                3 => (
                    "graph update lost",
                    Some(
                        FaultRule::once(Fault::ResetAfterApply)
                            .on_method("PATCH")
                            .on_path(events),
                    ),
                    None,
                ),
                4 => (
                    "graph delete lost",
                    Some(
                        FaultRule::once(Fault::ResetAfterApply)
                            .on_method("DELETE")
                            .on_path(events),
                    ),
                    None,
                ),
                5 => (
                    "graph reset",
                    Some(FaultRule::once(Fault::ResetBeforeApply)),
                    None,
                ),
                6 => (
                    "graph 412",
                    Some(
                        FaultRule::once(Fault::ConcurrentEdit)
                            .on_method(if rng.below(2) == 0 { "PATCH" } else { "DELETE" })
                            .on_path("/events/"),
                    ),
                    None,
                ),
                7 => (
                    "graph token expired",
                    Some(FaultRule::once(Fault::ExpiredToken)),
                    None,
                ),
                8 => {
                    self.graph
                        .emulator
                        .expire_calendar_delta_tokens(ALICE)
                        .expect("Alice's delta tokens");
                    ("graph 410", None, None)
                }
                9 => (
                    "odoo write lost",
                    None,
                    Some(FaultRule::once(Fault::ResetAfterApply).on_path("calendar.event/write")),
                ),
                10 => (
                    "odoo create lost",
                    None,
                    Some(FaultRule::once(Fault::ResetAfterApply).on_path("calendar.event/create")),
                ),
                11 => (
                    "odoo 429/503",
                    None,
                    Some(FaultRule::once(if rng.below(2) == 0 {
                        Fault::Throttle {
                            retry_after_s: secs,
                        }
                    } else {
                        Fault::Unavailable {
                            retry_after_s: Some(secs),
                        }
                    })),
                ),
                _ => (
                    "odoo reset",
                    None,
                    Some(FaultRule::once(Fault::ResetBeforeApply)),
                ),
            };
        if let Some(r) = rule_g {
            g.add(r);
        }
        if let Some(r) = rule_o {
            o.add(r);
        }
        self.note(what);
        what
    }

    /// Every armed rule, spent or not, goes (before the quiet phase).
    pub fn clear_faults(&self) {
        self.graph.emulator.faults().clear();
        self.odoo.emulator.faults().clear();
    }

    /// New mails since the last look: the people's own (`by_person`) are theirs to send;
    /// those a cycle caused need a credit from a person's Odoo edit, or are unasked.
    pub fn account_mail(&mut self, by_person: bool, during: &str) {
        let graph = self.graph.emulator.outbox();
        let odoo = self.odoo.emulator.outbox();
        let (g_new, o_new) = (
            graph[self.mail.graph_seen.min(graph.len())..].to_vec(),
            odoo[self.mail.odoo_seen.min(odoo.len())..].to_vec(),
        );
        self.mail.graph_seen = graph.len();
        self.mail.odoo_seen = odoo.len();
        self.note((g_new.len(), o_new.len()));
        if by_person {
            return;
        }
        for m in g_new {
            let kind = kind_name(&m.kind);
            crate::say(|| {
                format!(
                    "  Outlook mails {kind} {:?} ({}) to {:?}",
                    m.subject, m.reason, m.to
                )
            });
            // An occurrence's id is its master's with a date mark (graph/calendar.rs).
            let master = m.event_id.split("=OC").next().unwrap_or_default();
            let mut keys = vec![format!("title:{}", m.subject)];
            if let Some(l) = self.touched.link_of.get(&format!("g:{master}")) {
                keys.insert(0, format!("link:{l}"));
                for (k, v) in &self.touched.link_of {
                    if let (Some(o), true) = (k.strip_prefix("o:"), v == l) {
                        keys.push(format!("odoo:{o}"));
                    }
                }
            }
            if !self.mail.spend(&keys, kind) {
                self.mail.unasked.push(format!(
                    "Outlook sent an unasked {kind} for {:?} ({}) to {:?} during {during}",
                    m.subject, m.reason, m.to
                ));
            }
        }
        for m in o_new {
            self.mail.unasked.push(format!(
                "Odoo sent an unasked {} {:?} to {:?} during {during}",
                m.kind, m.subject, m.recipients
            ));
        }
    }
}
