//! The parent side: both emulators in this process on loopback, the people's data seeded
//! through the services' own APIs, the request logs read per phase, and the end state
//! checked (no duplicate, no loss).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

use anyhow::{ensure, Context};
use serde_json::{json, Value};

use odoo365_testkit::fixture::Emulators;
use odoo365_testkit::graph::{GraphConfig, Limits, RunningGraph};
use odoo365_testkit::odoo::{OdooConfig, RunningOdoo};
use odoo365_testkit::{Clock, RequestRecord};

use crate::child::{ChildEnv, ALICE};

/// Limits high enough that the emulator never throttles (the unthrottled scenarios).
pub const UNLIMITED: Limits = Limits {
    requests_per_window: u32::MAX,
    window_s: 600,
    concurrent: 100_000,
    concurrency_retry_after_s: 1,
};

pub struct World {
    pub graph: RunningGraph,
    pub odoo: RunningOdoo,
    pub odoo_key: String,
    token: String,
    http: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub interval_ms: u64,
}

/// Title and times of the `i`-th seeded event: spread over 300 days from tomorrow, a
/// quarter hour apart within a day, all inside the engine's default sync window.
pub fn event_times(i: usize) -> (String, chrono::DateTime<chrono::Utc>) {
    let today = chrono::Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or_else(chrono::Utc::now);
    let start = today
        + chrono::Duration::days(1 + (i % 300) as i64)
        + chrono::Duration::hours(6)
        + chrono::Duration::minutes(15 * (i / 300) as i64);
    (format!("Bench event {i}"), start)
}

fn odoo_dt(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

impl World {
    pub async fn start(limits: Limits, interval_ms: u64) -> anyhow::Result<World> {
        // One clock for both emulators, so the throttled phase can move them together.
        let clock = Clock::real();
        let Emulators {
            graph,
            odoo,
            alice_key: odoo_key,
            ..
        } = Emulators::start(
            GraphConfig {
                seed: 7,
                clock: clock.clone(),
                limits,
                ..Default::default()
            },
            OdooConfig {
                seed: 7,
                clock,
                ..Default::default()
            },
        )
        .await?;
        // A person's own token for seeding and checking; a day, so that the throttled
        // phase's clock jumps do not expire it.
        let token = graph
            .emulator
            .mint_token_with_lifetime(ALICE, Some(chrono::Duration::days(1)))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(World {
            graph,
            odoo,
            odoo_key,
            token,
            http: reqwest::Client::builder().no_proxy().build()?,
            dir: tempfile::tempdir()?,
            interval_ms,
        })
    }

    pub fn child_env(&self) -> ChildEnv {
        ChildEnv {
            data_dir: self.dir.path().join("data"),
            odoo_url: self.odoo.url.clone(),
            graph_url: self.graph.graph_url.clone(),
            identity_url: self.graph.identity_url.clone(),
            odoo_key: self.odoo_key.clone(),
            control_url: self.graph.control_url.clone(),
            interval_ms: self.interval_ms,
        }
    }

    /// An Odoo JSON-2 call as Alice.
    pub async fn odoo_call(&self, model: &str, method: &str, body: Value) -> anyhow::Result<Value> {
        let resp = self
            .http
            .post(format!("{}/json/2/{model}/{method}", self.odoo.url))
            .bearer_auth(&self.odoo_key)
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        ensure!(status.is_success(), "Odoo {model}.{method}: {status}: {v}");
        Ok(v)
    }

    /// A Graph call as Alice in Outlook.
    pub async fn outlook(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = if path_and_query.starts_with("http") {
            path_and_query.to_string()
        } else {
            format!("{}/me/{path_and_query}", self.graph.graph_url)
        };
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(&self.token)
            .header("Prefer", "outlook.timezone=\"UTC\"");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        ensure!(status.is_success(), "Graph {path_and_query}: {status}: {v}");
        Ok(v)
    }

    /// Events `range` where even numbers start in Odoo and odd ones in Outlook (or all in
    /// Odoo when `odoo_only`).
    pub async fn seed(&self, range: std::ops::Range<usize>, odoo_only: bool) -> anyhow::Result<()> {
        let (mut odoo, mut outlook) = (Vec::new(), Vec::new());
        for i in range {
            if odoo_only || i % 2 == 0 {
                odoo.push(i);
            } else {
                outlook.push(i);
            }
        }
        for chunk in odoo.chunks(500) {
            let vals: Vec<Value> = chunk
                .iter()
                .map(|&i| {
                    let (title, start) = event_times(i);
                    json!({"name": title, "start": odoo_dt(start),
                           "stop": odoo_dt(start + chrono::Duration::minutes(30))})
                })
                .collect();
            self.odoo_call("calendar.event", "create", json!({"vals_list": vals}))
                .await?;
        }
        // Outlook has no bulk create: eight at a time.
        let mut tasks = tokio::task::JoinSet::new();
        for lane in 0..8 {
            let mine: Vec<usize> = outlook.iter().copied().skip(lane).step_by(8).collect();
            let (http, url, token) = (
                self.http.clone(),
                format!("{}/me/events", self.graph.graph_url),
                self.token.clone(),
            );
            tasks.spawn(async move {
                for i in mine {
                    let (title, start) = event_times(i);
                    let iso = |t: chrono::DateTime<chrono::Utc>| {
                        t.format("%Y-%m-%dT%H:%M:%S").to_string()
                    };
                    let body = json!({"subject": title,
                        "start": {"dateTime": iso(start), "timeZone": "UTC"},
                        "end": {"dateTime": iso(start + chrono::Duration::minutes(30)), "timeZone": "UTC"}});
                    let r = http.post(&url).bearer_auth(&token).json(&body).send().await?;
                    ensure!(r.status().is_success(), "seeding Outlook: {}", r.status());
                }
                anyhow::Ok(())
            });
        }
        while let Some(r) = tasks.join_next().await {
            r??;
        }
        Ok(())
    }

    /// Marks of both request logs, to read one phase's requests afterwards.
    pub fn mark(&self) -> (u64, u64) {
        (
            self.graph.emulator.request_log().len() as u64,
            self.odoo.emulator.request_log().len() as u64,
        )
    }

    /// Graph API requests (`/v1.0/…`) since a mark; sign-in requests are left out.
    pub fn graph_since(&self, mark: u64) -> Vec<RequestRecord> {
        self.graph
            .emulator
            .request_log()
            .since(mark)
            .into_iter()
            .filter(|r| r.path.starts_with("/v1.0/"))
            .collect()
    }

    pub fn odoo_since(&self, mark: u64) -> Vec<RequestRecord> {
        self.odoo.emulator.request_log().since(mark)
    }

    /// Every Outlook event's subject (paged).
    pub async fn outlook_titles(&self) -> anyhow::Result<Vec<String>> {
        let mut titles = Vec::new();
        let mut next = Some("events?$top=1000&$select=subject".to_string());
        while let Some(url) = next.take() {
            let page = self.outlook(reqwest::Method::GET, &url, None).await?;
            for e in page["value"].as_array().into_iter().flatten() {
                titles.push(e["subject"].as_str().unwrap_or_default().to_string());
            }
            next = page["@odata.nextLink"].as_str().map(str::to_string);
        }
        Ok(titles)
    }

    /// Every active Odoo event's name.
    pub async fn odoo_titles(&self) -> anyhow::Result<Vec<String>> {
        let rows = self
            .odoo_call(
                "calendar.event",
                "search_read",
                json!({"domain": [], "fields": ["name"]}),
            )
            .await?;
        Ok(rows
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["name"].as_str().unwrap_or_default().to_string())
            .collect())
    }

    /// Both calendars hold exactly the events `0..n` by title, each once.
    pub async fn check_no_duplicate_no_loss(&self, n: usize) -> anyhow::Result<()> {
        let expected: Vec<String> = (0..n).map(|i| event_times(i).0).collect();
        for (side, titles) in [
            ("Odoo", self.odoo_titles().await?),
            ("Outlook", self.outlook_titles().await?),
        ] {
            check_titles(side, &titles, &expected)?;
        }
        Ok(())
    }

    /// Runs `odoo365-bench child PHASE` against these emulators.
    pub fn spawn_child(&self, phase: &str, stdin_open: bool) -> anyhow::Result<Child> {
        self.spawn_child_with(phase, stdin_open, &[])
    }

    pub fn spawn_child_with(
        &self,
        phase: &str,
        stdin_open: bool,
        extra_env: &[(&str, String)],
    ) -> anyhow::Result<Child> {
        let exe = std::env::current_exe().context("locating odoo365-bench")?;
        let mut cmd = Command::new(exe);
        cmd.arg("child")
            .arg(phase)
            .envs(self.child_env().to_env())
            .envs(extra_env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(if stdin_open {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        cmd.spawn()
            .with_context(|| format!("starting the {phase} child"))
    }

    /// Runs a child to its end (off the async workers, so the emulators keep answering)
    /// and returns its last JSON line.
    pub async fn run_child(&self, phase: &str) -> anyhow::Result<Value> {
        self.run_child_with(phase, &[]).await
    }

    pub async fn run_child_with(
        &self,
        phase: &str,
        extra_env: &[(&str, String)],
    ) -> anyhow::Result<Value> {
        let child = self.spawn_child_with(phase, false, extra_env)?;
        let phase = phase.to_string();
        tokio::task::spawn_blocking(move || {
            let out = child.wait_with_output()?;
            let text = String::from_utf8_lossy(&out.stdout);
            ensure!(
                out.status.success(),
                "the {phase} child failed: {:?}\n{text}",
                out.status
            );
            let last = text.lines().last().unwrap_or_default();
            serde_json::from_str(last)
                .with_context(|| format!("the {phase} child printed {text:?}"))
        })
        .await?
    }
}

impl World {
    /// Runs a child that prints `{"ready": true}` before its measured part; returns its last
    /// line and the request-log marks taken at "ready".
    pub async fn run_child_from_ready(&self, phase: &str) -> anyhow::Result<(Value, (u64, u64))> {
        let mut child = self.spawn_child(phase, false)?;
        let stdout = child.stdout.take().context("child stdout")?;
        let (glog, olog) = (
            self.graph.emulator.request_log().clone(),
            self.odoo.emulator.request_log(),
        );
        let phase = phase.to_string();
        tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            let mut marks = None;
            let mut last = String::new();
            for line in std::io::BufReader::new(stdout).lines() {
                let line = line?;
                if marks.is_none() && line.contains("\"ready\"") {
                    marks = Some((glog.len() as u64, olog.len() as u64));
                }
                last = line;
            }
            let status = child.wait()?;
            ensure!(
                status.success(),
                "the {phase} child failed: {status:?}\n{last}"
            );
            let marks = marks.with_context(|| format!("the {phase} child never got ready"))?;
            let v: Value = serde_json::from_str(&last)
                .with_context(|| format!("the {phase} child printed {last:?}"))?;
            Ok((v, marks))
        })
        .await?
    }
}

/// `titles` is exactly `expected`, each once.
pub fn check_titles(side: &str, titles: &[String], expected: &[String]) -> anyhow::Result<()> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for t in titles {
        *count.entry(t.as_str()).or_default() += 1;
    }
    let dups: Vec<_> = count.iter().filter(|(_, &n)| n > 1).take(5).collect();
    ensure!(dups.is_empty(), "{side} has duplicates: {dups:?}");
    let missing: Vec<_> = expected
        .iter()
        .filter(|t| !count.contains_key(t.as_str()))
        .take(5)
        .collect();
    ensure!(missing.is_empty(), "{side} lost events: {missing:?} …");
    ensure!(
        titles.len() == expected.len(),
        "{side} holds {} events, expected {}",
        titles.len(),
        expected.len()
    );
    Ok(())
}

/// A request's resource: the Graph path without query and ids (`/v1.0/me/events/{id}` →
/// `/v1.0/me/events/{id}`), the Odoo model for JSON-2 calls, else the path.
pub fn resource(r: &RequestRecord) -> String {
    let path = r.path.split('?').next().unwrap_or_default();
    if let Some(rest) = path.strip_prefix("/json/2/") {
        return format!("odoo:{}", rest.split('/').next().unwrap_or_default());
    }
    if path.starts_with("/v1.0/") {
        let segs: Vec<&str> = path
            .split('/')
            .map(|s| if s.len() > 40 { "{id}" } else { s })
            .collect();
        return format!("graph:{} {}", r.method, segs.join("/"));
    }
    format!("odoo:{}", path)
}

/// Requests grouped by resource.
pub fn by_resource(records: &[RequestRecord]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in records {
        *m.entry(resource(r)).or_default() += 1;
    }
    m
}
