//! `make demo`: the app wired to `odoo365-sim --scenario demo`. The sim prints one JSON line
//! with its URLs and the demo people's Odoo keys; [`prepare`] turns that into a signed-in
//! profile whose first plan is applied, so the app starts with data flowing.
//!
//! The sign-in is the real device-code flow against the emulator's identity platform; the
//! person's "I entered the code" is the emulator's control API (`/graph/devicecodes/approve`),
//! the same non-interactive path the tests use. The Odoo API key and the refresh token go
//! to the OS keychain like any profile's: with no Secret Service the demo stops with a
//! sentence saying so, before anything is saved.

use std::time::Duration;

use odoo365_app::auth::Secret;
use odoo365_app::{App, AppError, ErrorCode, Profile, ProfileDraft, SignIn, SyncSettings};
use serde::Deserialize;

/// The demo profile's name.
pub const PROFILE: &str = "Demo";
/// How often the demo wakes its profile while the scripted changes happen (the shortest
/// polling interval a profile may have is a minute, too slow to show a conflict at once).
pub const PACE: Duration = Duration::from_secs(10);
/// For how long after start the demo wakes its profile every [`PACE`].
pub const PACED_FOR: Duration = Duration::from_secs(180);

/// The sim's JSON line (crates/testkit/src/bin/odoo365-sim.rs).
#[derive(Debug, Clone, Deserialize)]
pub struct SimLine {
    pub graph: String,
    pub identity: String,
    pub odoo: String,
    pub control: String,
    pub demo: SimDemo,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SimDemo {
    pub odoo_database: String,
    pub microsoft_user: String,
    pub odoo_users: Vec<SimOdooUser>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SimOdooUser {
    pub login: String,
    pub email: String,
    pub api_key: String,
}

impl SimLine {
    /// Reads the line; a sim started without `--scenario demo` has no `demo` part.
    pub fn parse(line: &str) -> Result<SimLine, AppError> {
        serde_json::from_str(line.trim()).map_err(|e| {
            AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "not the JSON line of `odoo365-sim --scenario demo` ({e}); start the sim \
                     with --scenario demo and pass the file holding its first line"
                ),
            )
        })
    }

    /// The Odoo user who is the Microsoft user too.
    fn organizer(&self) -> Result<&SimOdooUser, AppError> {
        self.demo
            .odoo_users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(&self.demo.microsoft_user))
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidInput,
                    format!(
                        "the sim has no Odoo user with the mail {}",
                        self.demo.microsoft_user
                    ),
                )
            })
    }
}

/// Creates the demo profile (or finds the one made earlier for the same sim), signs it in,
/// applies its first plan and makes it poll every minute.
pub async fn prepare(app: &App, sim: &SimLine) -> Result<Profile, AppError> {
    let user = sim.organizer()?;
    if let Ok(p) = app.profile(PROFILE) {
        if p.odoo_url == sim.odoo && p.graph_url == sim.graph {
            return Ok(p);
        }
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!(
                "the data directory {} already has a {PROFILE:?} profile for another sim; \
                 use a new directory for each demo",
                app.data_dir().display()
            ),
        ));
    }
    let draft = ProfileDraft {
        name: PROFILE.into(),
        tenant: "organizations".into(),
        client_id: "0d0365de-0000-4000-8000-000000000001".into(),
        odoo_url: sim.odoo.clone(),
        odoo_database: sim.demo.odoo_database.clone(),
        odoo_login: user.login.clone(),
        graph_url: Some(sim.graph.clone()),
        identity_url: Some(sim.identity.clone()),
    };
    let profile = app
        .add_profile_with_api_key(draft, &Secret::new(user.api_key.clone()))
        .map_err(keychain_sentence)?;
    let profile = app.set_sync_settings(
        &profile.id,
        SyncSettings {
            poll_interval_minutes: 1,
            ..SyncSettings::default()
        },
    )?;
    let control = sim.control.clone();
    let mail = sim.demo.microsoft_user.clone();
    let show = move |prompt: &odoo365_app::DeviceCodePrompt| {
        let code = prompt.user_code.clone();
        // The person entering the code on another device.
        tokio::spawn(async move {
            let approved = reqwest::Client::new()
                .post(format!("{control}/graph/devicecodes/approve"))
                .json(&serde_json::json!({"userCode": code, "user": mail}))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status);
            if let Err(e) = approved {
                tracing::error!(error = %e, "the demo could not approve its device code");
            }
        });
    };
    app.login(&profile.id, SignIn::DeviceCode(Box::new(show)))
        .await
        .map_err(keychain_sentence)?;
    // The person asked for the demo: its first plan is applied without a preview.
    app.sync(&profile.id, false, true).await?;
    Ok(profile)
}

/// A keychain failure says what the demo needs.
fn keychain_sentence(e: AppError) -> AppError {
    if e.code != ErrorCode::Keychain {
        return e;
    }
    AppError::new(
        ErrorCode::Keychain,
        format!(
            "make demo keeps the demo's Odoo API key and Microsoft sign-in in the desktop \
             keychain, and none could be used ({}). Start a Secret Service (GNOME Keyring, \
             KWallet) and unlock it, or run the demo headless with `make demo` on a machine \
             without a display, where it brings its own.",
            e.message
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use odoo365_app::auth::{Keychain, KeychainError, OsKeychain, SecretKind};
    use odoo365_testkit::demo as people;
    use odoo365_testkit::graph::{GraphConfig, GraphEmulator};
    use odoo365_testkit::odoo::{OdooConfig, OdooEmulator};
    use std::sync::Arc;

    /// The sim's demo scenario, in-process: the same servers, line and timeline as
    /// `odoo365-sim --scenario demo`.
    async fn sim(after_first_sync: Duration) -> (SimLine, GraphEmulator, OdooEmulator) {
        let graph = GraphEmulator::new(GraphConfig {
            device_code_interval_s: 1,
            ..GraphConfig::default()
        });
        let odoo = OdooEmulator::new(OdooConfig::default());
        graph.seed_demo();
        let seed = odoo.seed_demo().unwrap();
        let served = odoo365_testkit::sim::serve(
            graph.clone(),
            odoo.clone(),
            Some(odoo365_testkit::sim::DemoRun {
                seed,
                odoo_database: OdooConfig::default().database,
                after_first_sync,
            }),
            Arc::new(|s: &str| eprintln!("{s}")),
        )
        .await
        .unwrap();
        let line = SimLine::parse(&served.line.to_string()).unwrap();
        (line, graph, odoo)
    }

    fn outlook_subjects(
        graph: &GraphEmulator,
        rt: &tokio::runtime::Runtime,
        url: &str,
    ) -> Vec<String> {
        let token = graph.mint_token(people::ALICE).unwrap();
        let all: serde_json::Value = rt.block_on(async {
            reqwest::Client::new()
                .get(format!("{url}/me/events?$top=200"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        all["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["subject"].as_str().map(str::to_string))
            .collect()
    }

    fn odoo_names(rt: &tokio::runtime::Runtime, sim: &SimLine) -> Vec<String> {
        let alice = sim.organizer().unwrap();
        let uid = sim
            .demo
            .odoo_users
            .iter()
            .position(|u| u.login == alice.login);
        assert!(uid.is_some());
        let read: serde_json::Value = rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{}/json/2/calendar.event/search_read", sim.odoo))
                .header("Authorization", format!("bearer {}", alice.api_key))
                .json(&serde_json::json!({"domain": [], "fields": ["name"]}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        read.as_array()
            .unwrap_or_else(|| panic!("{read}"))
            .iter()
            .filter_map(|e| e["name"].as_str().map(str::to_string))
            .collect()
    }

    /// `make demo` without the window: the sim's demo, the profile prepared from its line
    /// with the secrets in the session's keychain, then cycles as the app's worker runs
    /// them, until the timeline's edits on both sides meet as a conflict.
    #[test]
    fn the_demo_signs_in_syncs_both_ways_and_ends_in_a_conflict() {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            assert!(
                std::env::var_os("CI").is_none()
                    && std::env::var_os("ODOO365_DESKTOP_SESSION").is_none(),
                "the demo keeps its secrets in the desktop keychain: run inside scripts/desktop-session.sh"
            );
            eprintln!("skipped: no session bus (run inside scripts/desktop-session.sh)");
            return;
        }
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (line, graph, _odoo) = rt.block_on(sim(Duration::from_secs(1)));
        let dir = tempfile::tempdir().unwrap();
        let app = App::open_with(
            dir.path(),
            Arc::new(OsKeychain),
            Arc::new(odoo365_engine::SystemClock),
        )
        .unwrap();
        let profile = rt.block_on(prepare(&app, &line)).unwrap();
        assert_eq!(profile.name, PROFILE);
        assert_eq!(profile.settings.poll_interval_minutes, 1);
        let key = OsKeychain.get(&profile.id, SecretKind::OdooApiKey).unwrap();
        assert_eq!(
            key.map(|k| k.expose().to_string()),
            Some(line.organizer().unwrap().api_key.clone()),
            "the API key is in the session's keychain"
        );
        let status = app.status(&profile.id).unwrap();
        assert!(
            status.signed_in && status.last_sync_at.is_some(),
            "{status:?}"
        );

        // The first plan was applied: each side has the other's demo events.
        let outlook = outlook_subjects(&graph, &rt, &line.graph);
        assert!(
            outlook.iter().any(|s| s == people::CONFLICT_EVENT),
            "{outlook:?}"
        );
        let odoo = odoo_names(&rt, &line);
        assert!(odoo.iter().any(|s| s == "Budget review"), "{odoo:?}");

        // The worker's cycles, every demo pace, until the conflict shows.
        let mut conflicts = Vec::new();
        for _ in 0..30 {
            std::thread::sleep(Duration::from_secs(1));
            let _ = rt.block_on(app.sync(&profile.id, false, false));
            conflicts = app.conflicts(&profile.id).unwrap();
            if !conflicts.is_empty() {
                break;
            }
        }
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(
            conflicts[0].fields,
            vec!["location".to_string()],
            "{:?}",
            conflicts[0]
        );
        let outlook = outlook_subjects(&graph, &rt, &line.graph);
        assert!(
            outlook.iter().any(|s| s == people::NEW_IN_ODOO),
            "{outlook:?}"
        );
        let odoo = odoo_names(&rt, &line);
        assert!(odoo.iter().any(|s| s == people::NEW_IN_OUTLOOK), "{odoo:?}");
        // A second launch over the same data dir and sim finds the profile again.
        let again = rt.block_on(prepare(&app, &line)).unwrap();
        assert_eq!(again.id, profile.id);
        app.remove_profile(&profile.id).unwrap();
    }

    struct NoKeychain;
    impl Keychain for NoKeychain {
        fn get(&self, _: &str, _: SecretKind) -> Result<Option<Secret>, KeychainError> {
            Err(KeychainError::Unavailable)
        }
        fn set(&self, _: &str, _: SecretKind, _: &Secret) -> Result<(), KeychainError> {
            Err(KeychainError::Unavailable)
        }
        fn delete(&self, _: &str, _: SecretKind) -> Result<(), KeychainError> {
            Err(KeychainError::Unavailable)
        }
    }

    #[test]
    fn without_a_keychain_the_demo_says_what_it_needs_and_saves_nothing() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (line, _graph, _odoo) = rt.block_on(sim(Duration::from_secs(3600)));
        let dir = tempfile::tempdir().unwrap();
        let app = App::open_with(
            dir.path(),
            Arc::new(NoKeychain),
            Arc::new(odoo365_engine::SystemClock),
        )
        .unwrap();
        let e = rt.block_on(prepare(&app, &line)).unwrap_err();
        assert_eq!(e.code, ErrorCode::Keychain);
        assert!(e.message.contains("Secret Service"), "{e}");
        assert!(app.profiles().unwrap().is_empty());
    }

    #[test]
    fn a_line_without_the_demo_part_is_refused_with_what_to_do() {
        let e =
            SimLine::parse(r#"{"graph":"g","identity":"i","odoo":"o","control":"c"}"#).unwrap_err();
        assert!(e.message.contains("--scenario demo"), "{e}");
    }
}
