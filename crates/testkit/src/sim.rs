//! What `odoo365-sim` serves, as a library: both emulators and their control APIs on
//! loopback, the JSON line that names them, and (for the demo scenario) the timeline. The
//! binary prints the line; tests (the desktop's `make demo` test) run the same thing
//! in-process.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::demo::{self, DemoTimeline};
use crate::graph::GraphEmulator;
use crate::odoo::{DemoSeed, OdooEmulator};

/// The demo part of a run: what was seeded, and when the timeline acts.
#[derive(Debug, Clone)]
pub struct DemoRun {
    pub seed: DemoSeed,
    pub odoo_database: String,
    pub after_first_sync: Duration,
}

/// A running sim: its line, and the task serving it (ends only on error).
#[derive(Debug)]
pub struct Served {
    /// `{"graph", "identity", "odoo", "control"[, "demo"]}`.
    pub line: serde_json::Value,
    pub serving: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Binds three loopback listeners (Graph + identity, Odoo, control) and serves until the
/// runtime ends; the control listener serves the Graph control API under `/graph` and the
/// Odoo one under `/odoo`. With a demo, the timeline runs beside and `say`s what it does.
pub async fn serve(
    graph: GraphEmulator,
    odoo: OdooEmulator,
    demo: Option<DemoRun>,
    say: Arc<dyn Fn(&str) + Send + Sync>,
) -> anyhow::Result<Served> {
    let bind = || tokio::net::TcpListener::bind(("127.0.0.1", 0));
    let (g, o, c) = (bind().await?, bind().await?, bind().await?);
    let base = |l: &tokio::net::TcpListener| -> anyhow::Result<String> {
        Ok(format!(
            "http://{}",
            l.local_addr().context("reading a bound address")?
        ))
    };
    let (graph_base, odoo_base, control_base) = (base(&g)?, base(&o)?, base(&c)?);
    let control = axum::Router::new()
        .nest("/graph", graph.control_router())
        .nest("/odoo", odoo.control_router());
    let mut line = serde_json::json!({
        "graph": format!("{graph_base}/v1.0"),
        "identity": graph_base,
        "odoo": odoo_base,
        "control": control_base,
    });
    if let Some(d) = &demo {
        line["demo"] = serde_json::json!({
            "odoo_database": d.odoo_database,
            "microsoft_user": demo::ALICE,
            "odoo_users": [
                {"uid": d.seed.alice.uid, "login": demo::ALICE_LOGIN, "email": demo::ALICE,
                 "api_key": d.seed.alice_key},
                {"uid": d.seed.bob.uid, "login": demo::BOB_LOGIN, "email": demo::BOB,
                 "api_key": d.seed.bob_key},
            ],
        });
        let timeline = DemoTimeline {
            graph: graph.clone(),
            graph_url: format!("{graph_base}/v1.0"),
            odoo_url: odoo_base.clone(),
            odoo_database: d.odoo_database.clone(),
            odoo_uid: d.seed.alice.uid,
            odoo_key: d.seed.alice_key.clone(),
            after_first_sync: d.after_first_sync,
            patience: Duration::from_secs(3600),
        };
        tokio::spawn(async move {
            if let Err(e) = timeline.run(&*say).await {
                say(&format!("demo: the timeline stopped: {e:#}"));
            }
        });
    }
    let serving = tokio::spawn(async move {
        // The Odoo emulator serves its own connections so a fault can drop one unanswered;
        // it stops when this sender is dropped, i.e. never before the task ends.
        let (_odoo_stop, odoo_stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::try_join!(
            async {
                axum::serve(g, graph.router())
                    .await
                    .context("Graph emulator")
            },
            async {
                crate::odoo::serve(o, odoo.router(), odoo_stopped).await;
                anyhow::Ok(())
            },
            async { axum::serve(c, control).await.context("control API") },
        )?;
        Ok(())
    });
    Ok(Served { line, serving })
}
