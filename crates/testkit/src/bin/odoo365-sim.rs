//! `odoo365-sim`: starts the Microsoft 365 emulator and the Odoo emulator together on
//! loopback, prints one JSON line with their base URLs, and serves until killed.
//!
//! ```text
//! {"graph": "http://127.0.0.1:PORT/v1.0", "identity": "http://127.0.0.1:PORT",
//!  "odoo": "http://127.0.0.1:PORT", "control": "http://127.0.0.1:PORT"}
//! ```
//! The control listener serves the Graph emulator's control API under `/graph` and the
//! Odoo emulator's under `/odoo` (see crates/testkit/README.md).

use std::io::Write;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use odoo365_testkit::graph::{GraphConfig, GraphEmulator};
use odoo365_testkit::odoo::{OdooConfig, OdooEmulator};
use odoo365_testkit::{Clock, Fault, FaultRule};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    /// No users, no data: tests create what they need through the control API.
    Empty,
    /// A few users, events, a recurring series, files, and one conflict-prone pair; after
    /// the first sync, a timeline creates an event on each side and edits one event
    /// differently on both (a conflict).
    Demo,
}

#[derive(Debug, Parser)]
#[command(
    name = "odoo365-sim",
    version,
    about = "Microsoft 365 and Odoo emulators on loopback"
)]
struct Args {
    /// Seed for everything random (faults, ids): the same seed replays the same run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Scenario::Empty)]
    scenario: Scenario,
    /// Odoo version to emulate: 16.0, 17.0, 18.0, saas~18.3, 19.0 ...
    #[arg(long, default_value = "19.0")]
    odoo_version: String,
    /// Chance (0-1) that any Graph request is throttled with 429 + Retry-After.
    #[arg(long, default_value_t = 0.0)]
    graph_throttle: f64,
    /// Chance (0-1) that any request to either service fails with 503 + Retry-After.
    #[arg(long, default_value_t = 0.0)]
    unavailable: f64,
    /// Chance (0-1) that a write is applied and its answer dropped.
    #[arg(long, default_value_t = 0.0)]
    reset_after_apply: f64,
    /// Demo: seconds between the first sync and the timeline's changes on both sides.
    #[arg(long, default_value_t = 5)]
    demo_after_first_sync: u64,
}

fn fault_rules(args: &Args) -> Vec<FaultRule> {
    let mut rules = Vec::new();
    if args.unavailable > 0.0 {
        rules.push(
            FaultRule::always(Fault::Unavailable {
                retry_after_s: Some(1),
            })
            .with_probability(args.unavailable),
        );
    }
    if args.reset_after_apply > 0.0 {
        rules.push(
            FaultRule::always(Fault::ResetAfterApply)
                .on_writes()
                .with_probability(args.reset_after_apply),
        );
    }
    rules
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    for (name, p) in [
        ("--graph-throttle", args.graph_throttle),
        ("--unavailable", args.unavailable),
        ("--reset-after-apply", args.reset_after_apply),
    ] {
        anyhow::ensure!(
            (0.0..=1.0).contains(&p),
            "{name} is a probability from 0 to 1, got {p}"
        );
    }
    let clock = Clock::real();
    let graph = GraphEmulator::new(GraphConfig {
        seed: args.seed,
        clock: clock.clone(),
        // The demo signs in by device code, approved at once through the control API.
        device_code_interval_s: 1,
        ..GraphConfig::default()
    });
    odoo365_testkit::odoo::VersionProfile::parse(&args.odoo_version)
        .with_context(|| format!("--odoo-version {:?}", args.odoo_version))?;
    let odoo = OdooEmulator::new(OdooConfig {
        seed: args.seed,
        clock: clock.clone(),
        version: args.odoo_version.clone(),
        ..OdooConfig::default()
    });
    for rule in fault_rules(&args) {
        graph.faults().add(rule.clone());
        odoo.faults().add(rule);
    }
    if args.graph_throttle > 0.0 {
        graph.faults().add(
            FaultRule::always(Fault::Throttle { retry_after_s: 1 })
                .with_probability(args.graph_throttle),
        );
    }
    let database = OdooConfig::default().database;
    let demo = match args.scenario {
        Scenario::Empty => None,
        Scenario::Demo => {
            graph.seed_demo();
            let seed = odoo
                .seed_demo()
                .map_err(|e| anyhow::anyhow!("seeding the Odoo demo: {e}"))?;
            Some(seed)
        }
    };

    let served = odoo365_testkit::sim::serve(
        graph,
        odoo,
        demo.map(|seed| odoo365_testkit::sim::DemoRun {
            seed,
            odoo_database: database,
            after_first_sync: std::time::Duration::from_secs(args.demo_after_first_sync),
        }),
        std::sync::Arc::new(|s: &str| eprintln!("{s}")),
    )
    .await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", served.line)?;
    out.flush()?;
    drop(out);
    served.serving.await.context("the sim's servers")??;
    Ok(())
}
