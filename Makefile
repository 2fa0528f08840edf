# Odoo365 Sync — the user entry points. `make test` is the one test command (CI runs it).
SHELL := /bin/bash
.DEFAULT_GOAL := help
export CARGO_TERM_COLOR ?= never
ARTIFACTS ?= $(CURDIR)/target/desktop
DESKTOP := ARTIFACTS=$(ARTIFACTS) scripts/desktop-session.sh

.PHONY: help bootstrap ui run demo test test-rust test-sim test-ui test-fuzz lint bench crash-test screenshot bundle clean fuzz soak

help:
	@echo "make run        build and launch the tray app (under Xvfb when there is no display)"
	@echo "make test       every check CI runs: fmt, clippy, Rust tests in a headless desktop, UI tests"
	@echo "make demo       the app wired to the built-in Microsoft 365 and Odoo emulators"
	@echo "make bench      benchmarks; one table, also written to docs/BENCHMARKS.md"
	@echo "make crash-test kill -9 the CLI 50 times during a first sync of 1,000 events and 200 files (docs/RELIABILITY.md)"
	@echo "make fuzz       every fuzz target for FUZZ_SECONDS (default 60) each"
	@echo "make soak       the seeded simulation over SEEDS=N seeds (default 20000) on every core;"
	@echo "               HARNESS=emulators runs the emulator-backed one (tests/sim), HARNESS=both both"
	@echo "make screenshot the running app under Xvfb, saved to docs/screenshots/"

bootstrap:
	@bash scripts/bootstrap.sh

# Tauri embeds ui/dist at compile time, so it is built before any Rust that links the shell.
ui: bootstrap
	@npm --prefix ui run build --silent

run: ui
	cargo build -p odoo365-desktop
	@if [ -n "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
	  target/debug/odoo365-desktop; \
	else \
	  echo "make run: no display here; running in a headless desktop (Xvfb) with a tray host."; \
	  echo "make run: see it with 'make screenshot'; stop with Ctrl-C."; \
	  WITH_TRAY_HOST=1 $(DESKTOP) target/debug/odoo365-desktop; \
	fi

# The emulators (odoo365-sim --scenario demo) and the app with a signed-in profile on them.
demo: ui
	@bash scripts/demo.sh

# The Rust suite runs last so its summary closes the output; the two seeded simulations
# (test-sim, optimised build) run before it and the `ci` nextest profile leaves them out.
test: ui lint test-ui test-fuzz test-sim test-rust

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# One cargo invocation builds the app binary, every unit test and the UI tests together
# (building them separately compiles the Tauri stack twice).
test-rust: ui
	WITH_TAURI_DRIVER=1 $(DESKTOP) cargo nextest run --workspace --profile ci --no-tests=fail

# The two seeded simulations, at least 2,000 seeds each, built in cargo's optimised `sim` profile
# (Cargo.toml, into target/sim): tests/sim (the real engine, app ports and clients against
# both emulators) and crates/engine/tests/simulation.rs (the engine against its fakes),
# with their replay and regression tests. Part of `make test`; build time and seed rates
# in docs/RELIABILITY.md, "Simulation speed".
# 2,100 seeds from 1, of which the open ones (`OPEN` in tests/sim/main.rs, none now)
# are skipped: at least 2,000 histories run.
SIM_SEEDS ?= 2100
test-sim: bootstrap
	SIM_SEEDS=$(SIM_SEEDS) cargo nextest run --cargo-profile sim --profile sim --no-tests=fail \
	  -p odoo365 -p odoo365-engine --features odoo365-engine/testing --test sim --test simulation

test-ui: bootstrap
	npm --prefix ui run check --silent
	npm --prefix ui test --silent

# Fuzzing (docs/RELIABILITY.md): cargo-fuzz on the stable toolchain (RUSTC_BOOTSTRAP=1).
# New inputs go to fuzz/target/corpus/<target>; the checked-in seeds in fuzz/corpus stay
# as they are. A crash stops the run and leaves its input in fuzz/artifacts/<target>/.
FUZZ_SECONDS ?= 60
FUZZ_RSS_MB ?= 2048
FUZZ_TARGETS := graph_decode odoo_decode rrule_parse html_normalize sync_core_mapping onedrive_names webhook_request
fuzz: bootstrap
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz build -O
	@cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p target/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run -O $$t target/corpus/$$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=$(FUZZ_RSS_MB) -malloc_limit_mb=$(FUZZ_RSS_MB) \
	    -max_len=65536 -timeout=10 -print_final_stats=1 2>&1 | grep -E '^(stat::number_of_executed_units|stat::new_units_added|==|SUMMARY|Done|INFO: Running)|panicked|Crash|crash-' ; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || { echo "fuzz: $$t FAILED (input in fuzz/artifacts/$$t/)"; exit 1; }; \
	done

# In `make test`: each target briefly (7 x 10 s).
FUZZ_TEST_SECONDS ?= 10
test-fuzz:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_TEST_SECONDS)

# The seeded simulations over any number of seeds, spread over every core, in release mode;
# each prints every failing seed and how to replay it. HARNESS=fakes (default) runs the
# engine against its in-memory fakes (crates/engine/tests/simulation.rs), HARNESS=emulators
# the real engine, app ports and clients against both emulators (tests/sim), HARNESS=both
# one after the other.
SEEDS ?= 20000
SEED_FROM ?= 1
HARNESS ?= fakes
soak:
	@case "$(HARNESS)" in fakes|emulators|both) ;; \
	  *) echo "make soak: HARNESS must be fakes, emulators or both, not '$(HARNESS)'"; exit 2;; esac
	@if [ "$(HARNESS)" != emulators ]; then \
	  SEEDS=$(SEEDS) SEED_FROM=$(SEED_FROM) cargo test --release -p odoo365-engine --features testing \
	    --test simulation random_histories -- --nocapture; fi
	@if [ "$(HARNESS)" != fakes ]; then \
	  SIM_SEEDS=$(SEEDS) SIM_SEED_FROM=$(SEED_FROM) cargo test --release -p odoo365 --test sim \
	    histories_against_both_emulators -- --nocapture; fi

# The emulators' own figures first (their output joins the table), then the engine
# scenarios (crates/bench); BENCH_ARGS passes options, e.g. BENCH_ARGS="--events 2000".
BENCH_ARGS ?=
bench: bootstrap
	@mkdir -p target/bench
	set -o pipefail; cargo bench -p odoo365-testkit 2>&1 | tee target/bench/emulators.txt
	cargo run --release -p odoo365-bench -- --emulator-figures target/bench/emulators.txt \
	  --write docs/BENCHMARKS.md --json target/bench/results.json $(BENCH_ARGS)

# The real-binary crash test in full (tests/crash.rs; `make test` runs 10 kills, 200 events,
# 40 files).
CRASH_KILLS ?= 50
CRASH_EVENTS ?= 1000
CRASH_FILES ?= 200
crash-test: bootstrap
	cargo build --release -p odoo365-testkit --bin odoo365-sim
	CRASH_KILLS=$(CRASH_KILLS) CRASH_EVENTS=$(CRASH_EVENTS) CRASH_FILES=$(CRASH_FILES) $(DESKTOP) \
	  cargo test --release -p odoo365 --test crash -- --nocapture

# The tray menu over the demo (a screen grab with a tray host), then every view from the
# WebDriver tests over the demo world, each saved by the test that passes through it.
screenshot: ui
	cargo build -p odoo365-desktop
	cargo build -p odoo365-testkit --bin odoo365-sim
	@mkdir -p docs/screenshots
	WITH_TRAY_HOST=1 TRAY_OUT=docs/screenshots/tray-menu.png $(DESKTOP) scripts/screenshot.sh target/debug/odoo365-desktop docs/screenshots/main-window.png --demo
	SCREENSHOTS=$(CURDIR)/docs/screenshots WITH_TAURI_DRIVER=1 $(DESKTOP) cargo nextest run -p odoo365-desktop --test e2e_demo

bundle: ui
	cd src-tauri && npx --prefix ../ui tauri build --bundles deb --config '{"bundle":{"active":true}}'

clean:
	cargo clean
	rm -rf ui/dist ui/node_modules
