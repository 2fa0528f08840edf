#![allow(clippy::unwrap_used)]
//! The harness end to end at a small size, so it cannot rot: 200 events, the no-op
//! cycles, an incremental cycle after 15 edits on each side, two latency edits in each
//! mode (polling, webhooks) and a throttled run scaled to 400 requests per 60 s. Speed
//! targets mean something only in release builds and are not asserted here; what must
//! hold at any speed is.

use std::process::Command;

#[test]
fn a_small_run_measures_every_scenario_and_the_structural_targets_hold() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("results.json");
    let doc = dir.path().join("BENCHMARKS.md");
    std::fs::write(&doc, "# Benchmarks\n\nHand-written notes.\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_odoo365-bench"))
        .args([
            "--events",
            "200",
            "--latency-edits",
            "2",
            "--changed-items",
            // 30 rewrites: past the mass-change guard's 20, which the cycle confirms ahead.
            "15",
            "--interval-ms",
            "1000",
            // Outlook's limit is 10,000 requests per 10 minutes. Scaled down, a window still
            // holds enough to leave room for creates that go 20 to a `$batch`: at 100, a
            // batch that no longer fits waits for the next window, and up to a fifth of the
            // window goes unused.
            "--throttled-limit",
            "400",
            "--throttled-windows",
            "1",
            "--files",
            "30",
            "--big-file-mib",
            "12",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--write")
        .arg(&doc)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for figure in [
        "first sync of 200 events: events/s",
        "Graph requests per event",
        "Odoo requests per event",
        "CPU ms per event",
        "peak RSS under load",
        "first cycle after the first sync, engine",
        "no-op cycle, engine",
        "no-op cycle, `App::sync`",
        "peak RSS idle",
        "under load ÷ idle",
        "throttled: Graph requests accepted",
        "429 answers",
        "incremental cycle after 15 events edited in Odoo and 15 in Outlook",
        "latency, polling every 1000 ms",
        "latency, webhook mode (Outlook pushes, Odoo polled every 1000 ms",
        "Outlook → Odoo latency: polling ÷ webhook",
        "documents first sync of 30 files",
        "documents first sync: requests per file",
        "documents no-op cycle (30 linked files): requests, writes",
        "documents: one 12 MiB file: peak RSS growth over idle",
    ] {
        assert!(stdout.contains(figure), "no row {figure:?} in\n{stdout}");
    }
    // The documents no-op cycle after the first file sync writes nothing anywhere.
    assert!(
        stdout.contains("0 writes, 0 planned"),
        "the documents no-op cycle wrote:\n{stdout}"
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let f = &r["first_sync"];
    assert_eq!(f["events"], 200);
    // The 100 events from Odoo go to Outlook in `$batch`es of 20, not one POST each.
    assert_eq!(f["graph_by_resource"]["graph:POST /v1.0/$batch"], 5, "{f}");
    assert!(f["graph_requests"].as_u64().unwrap() < 100, "{f}");
    assert!(f["cpu_ms_per_event"].as_f64().unwrap() > 0.0, "{f}");
    assert!(f["peak_rss_mib"].as_f64().unwrap() > 1.0, "{f}");
    for cycle in ["echo", "engine", "app"] {
        let c = &r["noop"][cycle];
        assert_eq!(c["graph_writes"], 0, "{c}");
        assert_eq!(c["odoo_writes"], 0, "{c}");
        assert_eq!(c["jobs_done"], 0, "{c}");
    }
    // Once the echo of its own writes is read, a cycle with nothing changed asks each
    // resource once at most.
    for cycle in ["engine", "app"] {
        let c = &r["noop"][cycle];
        assert!(c["max_per_resource"].as_u64().unwrap() <= 1, "{c}");
    }
    // The incremental cycle synced each edit (one job each; the scenario checks both sides).
    let c = &r["changed"];
    assert_eq!(c["jobs_done"], 30, "{c}");
    assert!(c["graph_writes"].as_u64().unwrap() >= 15, "{c}");
    let t = &r["throttled"];
    assert!(t["fraction_of_limit"].as_f64().unwrap() >= 0.9, "{t}");
    assert!(t["throttled_429"].as_u64().unwrap() <= 5, "{t}");
    // Both modes measured the same edits in the one run (the child refuses to measure a
    // webhook daemon that fell back to polling).
    for (mode, webhook) in [("latency", false), ("latency_webhook", true)] {
        let l = &r[mode];
        assert_eq!(l["webhook"], webhook, "{l}");
        assert_eq!(l["odoo_to_outlook_ms"].as_array().unwrap().len(), 1, "{l}");
        assert_eq!(l["outlook_to_odoo_ms"].as_array().unwrap().len(), 1, "{l}");
    }
    let written = std::fs::read_to_string(&doc).unwrap();
    assert!(written.contains("Hand-written notes."), "{written}");
    assert!(written.contains("<!-- bench:begin"), "{written}");
    assert!(written.contains("| first sync of 200 events"), "{written}");
}
