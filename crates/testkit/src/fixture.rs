//! One person's world on both emulators, set up once for every test that runs the app
//! against them (the CLI's end-to-end tests, the desktop's tests, the app's tests, the
//! bench): both emulators started on loopback, Alice with a mailbox and a OneDrive for
//! Business in Microsoft 365 and an internal user with an API key in Odoo, a profile that
//! points the app at them, and a browser that signs her in on the emulator's sign-in page.
//!
//! * [`Emulators::start`]: both emulators (each test picks its own configs: seed, clock,
//!   Odoo version, limits) with Alice in each.
//! * [`Emulators::profile_add_args`]: `odoo365 profile add …` for a profile pointing at them.
//! * [`Emulators::mark`] and [`Emulators::since`]: what a step sent to each service.
//! * [`sign_in_on_page`] and [`write_browser_script`]: the sign-in shim, in process and as
//!   a `$BROWSER` script for the CLI.
//! * [`keychain_available`]: whether the real keychain is here (inside
//!   `scripts/desktop-session.sh`); a missing one skips, under CI it fails.
//! * With the `app` feature, [`app`]: the same profile as the app's `ProfileDraft`, the shim
//!   as the app's `Browser`, and a profile added and signed in on an `App` in one call.
//!
//! The sign-in page takes any account the emulator knows by its `login` form field and
//! redirects to the app's loopback listener with the code (`graph/identity.rs`, README
//! "Identity platform"), so the shim posts the page's own query with `login` added and then
//! follows the redirect itself, as a browser would.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::graph::{DriveType, GraphConfig, GraphEmulator, RunningGraph};
use crate::odoo::{NewApiKey, NewUser, OdooConfig, OdooEmulator, RunningOdoo};
use crate::reqlog::RequestRecord;

/// Alice's address: her Microsoft 365 mailbox and her Odoo login.
pub const ALICE: &str = "alice@contoso.com";
/// Her display name on both sides.
pub const ALICE_NAME: &str = "Alice";
/// The app registration the profiles name (the emulator's identity platform takes any
/// non-empty `client_id`).
pub const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
/// The tenant the profiles sign in to (work or school accounts, as in the app's default).
pub const TENANT: &str = "organizations";
/// The variable [`write_browser_script`]'s script reads the login to sign in with from.
pub const BROWSER_LOGIN_ENV: &str = "ODOO365_TEST_LOGIN";

/// Both emulators running on loopback with Alice in each.
pub struct Emulators {
    pub graph: RunningGraph,
    pub odoo: RunningOdoo,
    /// Alice's Odoo user id.
    pub alice_uid: i64,
    /// Alice's Odoo API key (what a profile stores in the keychain).
    pub alice_key: String,
}

impl std::fmt::Debug for Emulators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of test output.
        f.debug_struct("Emulators")
            .field("graph", &self.graph.graph_url)
            .field("odoo", &self.odoo.url)
            .field("alice_uid", &self.alice_uid)
            .finish_non_exhaustive()
    }
}

impl Emulators {
    /// Starts both emulators with these configs, then adds Alice: her mailbox with a
    /// OneDrive for Business, her internal Odoo user (login and e-mail [`ALICE`]) and an
    /// API key of hers that never expires.
    pub async fn start(graph: GraphConfig, odoo: OdooConfig) -> anyhow::Result<Emulators> {
        let graph = GraphEmulator::start(graph)
            .await
            .context("while starting the Microsoft 365 emulator")?;
        let odoo = OdooEmulator::start(odoo)
            .await
            .context("while starting the Odoo emulator")?;
        graph
            .emulator
            .create_user(ALICE, ALICE_NAME, DriveType::Business);
        let user = odoo
            .emulator
            .create_user(NewUser {
                email: Some(ALICE.into()),
                name: Some(ALICE_NAME.into()),
                ..NewUser::internal(ALICE)
            })
            .context("while adding Alice to the Odoo emulator")?;
        let alice_key = odoo
            .emulator
            .create_api_key(user.uid, NewApiKey::default())
            .context("while making Alice's Odoo API key")?;
        Ok(Emulators {
            graph,
            odoo,
            alice_uid: user.uid,
            alice_key,
        })
    }

    /// Both emulators with their default configs but this seed.
    pub async fn seeded(seed: u64) -> anyhow::Result<Emulators> {
        Emulators::start(
            GraphConfig {
                seed,
                ..GraphConfig::default()
            },
            OdooConfig {
                seed,
                ..OdooConfig::default()
            },
        )
        .await
    }

    /// Where both request logs and Odoo's write counter stand now.
    pub fn mark(&self) -> Mark {
        Mark {
            graph: self.graph.emulator.request_log().len() as u64,
            odoo: self.odoo.emulator.request_log().len() as u64,
            odoo_writes: self.odoo_writes(),
        }
    }

    /// What the emulators received since `mark`.
    pub fn since(&self, mark: Mark) -> Traffic {
        Traffic {
            graph: self
                .graph
                .emulator
                .request_log()
                .since(mark.graph)
                .into_iter()
                .filter(|r| r.path.starts_with("/v1.0/"))
                .collect(),
            odoo: self.odoo.emulator.request_log().since(mark.odoo),
            odoo_writes: self.odoo_writes().saturating_sub(mark.odoo_writes),
        }
    }

    fn odoo_writes(&self) -> u64 {
        self.odoo.emulator.writes()
    }

    /// The Odoo database the profile names.
    pub fn odoo_database(&self) -> &str {
        self.odoo.emulator.database()
    }

    /// The arguments of `odoo365 profile add` for a profile `name` that signs Alice in to
    /// these emulators; the API key follows on stdin (`--api-key-stdin`).
    pub fn profile_add_args(&self, name: &str) -> Vec<String> {
        profile_add_args(
            name,
            &self.odoo.url,
            self.odoo_database(),
            &self.graph.graph_url,
            &self.graph.identity_url,
        )
    }
}

/// Where both request logs and Odoo's write counter stand ([`Emulators::mark`]), to count
/// what a step sent afterwards ([`Emulators::since`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    graph: u64,
    odoo: u64,
    odoo_writes: u64,
}

/// What the emulators received since a [`Mark`].
#[derive(Debug, Clone)]
pub struct Traffic {
    /// Graph API requests (`/v1.0/…`; the identity platform's sign-in and token requests
    /// are left out: they are not the sync's).
    pub graph: Vec<RequestRecord>,
    /// Every Odoo request.
    pub odoo: Vec<RequestRecord>,
    /// Writes Odoo applied, from its own counter (a JSON-RPC read and write share one path
    /// and method, so the log alone cannot tell them apart).
    pub odoo_writes: u64,
}

impl Traffic {
    /// Graph API requests that may change something (any method but GET, HEAD, OPTIONS).
    pub fn graph_writes(&self) -> Vec<&RequestRecord> {
        self.graph.iter().filter(|r| r.is_write()).collect()
    }
}

/// `odoo365 profile add` for a profile `name` of Alice's on these services (the emulators of
/// another process, such as `odoo365-sim`'s); the API key follows on stdin.
pub fn profile_add_args(
    name: &str,
    odoo_url: &str,
    odoo_database: &str,
    graph_url: &str,
    identity_url: &str,
) -> Vec<String> {
    [
        "profile",
        "add",
        name,
        "--client-id",
        CLIENT_ID,
        "--odoo-url",
        odoo_url,
        "--odoo-db",
        odoo_database,
        "--odoo-login",
        ALICE,
        "--graph-url",
        graph_url,
        "--identity-url",
        identity_url,
        "--api-key-stdin",
    ]
    .map(str::to_string)
    .to_vec()
}

/// Plays `login` on the emulator's sign-in page at `url` (what the app opens in a
/// browser): posts the page's form with the account, then follows the redirect to the
/// app's loopback listener, which completes the sign-in.
pub async fn sign_in_on_page(url: &str, login: &str) -> anyhow::Result<()> {
    let page = url::Url::parse(url).with_context(|| format!("the sign-in URL {url:?}"))?;
    let mut form: Vec<(String, String)> = page.query_pairs().into_owned().collect();
    form.push(("login".into(), login.into()));
    let mut action = page.clone();
    action.set_query(None);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let answer = http
        .post(action)
        .form(&form)
        .send()
        .await
        .context("while posting the sign-in form")?;
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_string)
        .with_context(|| {
            format!(
                "the sign-in page answered {} without a redirect",
                answer.status()
            )
        })?;
    http.get(location)
        .send()
        .await
        .context("while following the redirect to the app")?;
    Ok(())
}

/// The same shim for a process that opens `$BROWSER URL` (the CLI): a shell script that
/// posts the form with the login in `$ODOO365_TEST_LOGIN` ([`BROWSER_LOGIN_ENV`]) and
/// follows the redirect with curl. Written as `browser.sh` into `dir`, executable; returns
/// its path.
pub fn write_browser_script(dir: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let script = format!(
        r#"#!/bin/sh
url="$1"
action="${{url%%\?*}}"
query="${{url#*\?}}"
loc=$(curl -s -o /dev/null -w '%{{redirect_url}}' --data "$query&login=${BROWSER_LOGIN_ENV}" "$action")
curl -s -o /dev/null "$loc"
"#
    );
    let path = dir.join("browser.sh");
    std::fs::write(&path, script)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

/// Whether the real keychain is here: inside `scripts/desktop-session.sh`, which sets
/// `ODOO365_DESKTOP_SESSION`. Outside it a test that needs the keychain skips (and says so);
/// under `CI` that is a failure, so CI cannot pass with those tests unrun.
///
/// # Panics
/// Under `CI` outside the desktop session.
pub fn keychain_available() -> bool {
    if std::env::var_os("ODOO365_DESKTOP_SESSION").is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the tests inside scripts/desktop-session.sh"
    );
    eprintln!("skipped: no desktop session (run through scripts/desktop-session.sh)");
    false
}

/// The app-level half: the profile as the app's `ProfileDraft`, the sign-in shim as its
/// `Browser`, and a profile added and signed in on an `App`.
#[cfg(feature = "app")]
pub mod app {
    use odoo365_app::auth::{AuthError, Browser, Secret};
    use odoo365_app::{App, Profile, ProfileDraft, SignIn};

    use super::{Emulators, ALICE, CLIENT_ID, TENANT};

    /// Signs `login` in on the emulator's sign-in page when the app opens it (in the
    /// background, on the caller's tokio runtime, as a browser would while the app waits
    /// at its loopback listener).
    #[derive(Debug, Clone)]
    pub struct EmulatorBrowser {
        pub login: String,
    }

    impl EmulatorBrowser {
        /// Alice's browser.
        pub fn alice() -> EmulatorBrowser {
            EmulatorBrowser {
                login: ALICE.into(),
            }
        }
    }

    impl Browser for EmulatorBrowser {
        fn open(&self, url: &str) -> Result<(), AuthError> {
            // A malformed URL is the app's bug: say so instead of waiting for a redirect.
            url::Url::parse(url).map_err(|e| AuthError::NoBrowser(e.to_string()))?;
            let (url, login) = (url.to_string(), self.login.clone());
            tokio::spawn(async move {
                if let Err(e) = super::sign_in_on_page(&url, &login).await {
                    // The app's sign-in then times out and the test fails with its error.
                    eprintln!("the emulator browser could not sign {login} in: {e:#}");
                }
            });
            Ok(())
        }
    }

    /// A profile `name` of Alice's on these services.
    pub fn profile_draft(
        name: &str,
        odoo_url: &str,
        odoo_database: &str,
        graph_url: &str,
        identity_url: &str,
    ) -> ProfileDraft {
        ProfileDraft {
            name: name.into(),
            tenant: TENANT.into(),
            client_id: CLIENT_ID.into(),
            odoo_url: odoo_url.into(),
            odoo_database: odoo_database.into(),
            odoo_login: ALICE.into(),
            graph_url: Some(graph_url.into()),
            identity_url: Some(identity_url.into()),
        }
    }

    impl Emulators {
        /// A profile `name` of Alice's pointing at these emulators.
        pub fn draft(&self, name: &str) -> ProfileDraft {
            profile_draft(
                name,
                &self.odoo.url,
                self.odoo_database(),
                &self.graph.graph_url,
                &self.graph.identity_url,
            )
        }

        /// Adds the profile `name` to `app` with Alice's API key and signs her in to
        /// Microsoft through the sign-in page. Runs on a tokio runtime (the sign-in page is
        /// played from a task).
        pub async fn add_signed_in_profile(
            &self,
            app: &App,
            name: &str,
        ) -> anyhow::Result<Profile> {
            let profile = app
                .add_profile_with_api_key(self.draft(name), &Secret::new(self.alice_key.clone()))?;
            app.login(name, SignIn::Browser(&EmulatorBrowser::alice()))
                .await?;
            Ok(profile)
        }
    }
}
