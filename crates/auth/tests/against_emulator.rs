#![allow(clippy::unwrap_used)]
//! Sign-in against the Microsoft 365 emulator's identity platform: a scripted browser fills
//! in the emulator's sign-in page as a person would, the emulator checks PKCE, refresh
//! tokens rotate, device codes are approved through the control API, and an expired or
//! unknown refresh token means "sign-in needed". Checked on the emulator's request log and
//! on Graph itself (the tokens must work there).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use odoo365_auth::{
    refresh, sign_in_with_browser, sign_in_with_device_code, AuthConfig, AuthError, Browser,
    Keychain, MemoryKeychain, Secret, SecretKind, TokenSource,
};
use odoo365_testkit::graph::{DriveType, GraphConfig, GraphEmulator, RunningGraph};
use odoo365_testkit::RequestRecord;

const ALICE: &str = "alice@contoso.com";
const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

async fn emulator() -> RunningGraph {
    let g = GraphEmulator::start(GraphConfig {
        seed: 11,
        clock: odoo365_testkit::Clock::frozen(t0()),
        access_token_lifetime_s: Some(3600),
        ..Default::default()
    })
    .await
    .unwrap();
    g.emulator.create_user(ALICE, "Alice", DriveType::Business);
    g
}

fn config(g: &RunningGraph) -> AuthConfig {
    AuthConfig::microsoft(&g.identity_url, "organizations", CLIENT_ID).unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn identity_log(g: &RunningGraph, endpoint: &str) -> Vec<RequestRecord> {
    g.emulator
        .request_log()
        .snapshot()
        .into_iter()
        .filter(|r| r.path.ends_with(&format!("/oauth2/v2.0/{endpoint}")))
        .collect()
}

/// Whether Graph accepts the token (GET /me).
async fn graph_accepts(g: &RunningGraph, token: &Secret) -> bool {
    reqwest::Client::new()
        .get(format!("{}/me", g.graph_url))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap()
        .status()
        .is_success()
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of `attr="…"` inside one tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[start..].find('"')? + start;
    Some(html_unescape(&tag[start..end]))
}

/// Plays the person in the browser: opens the page, types the address into the e-mail field,
/// clicks "Sign in", and lets the browser follow the redirect to the app's loopback page.
/// `tamper` may rewrite the sign-in URL first (an attacker swapping the PKCE challenge).
#[derive(Clone)]
struct ScriptedBrowser {
    login: String,
    tamper: Option<fn(&str) -> String>,
    opened: Arc<Mutex<Vec<String>>>,
    finished: Arc<Mutex<Option<String>>>,
}

impl ScriptedBrowser {
    fn new(login: &str) -> Self {
        ScriptedBrowser {
            login: login.into(),
            tamper: None,
            opened: Arc::default(),
            finished: Arc::default(),
        }
    }
}

impl Browser for ScriptedBrowser {
    fn open(&self, url: &str) -> Result<(), AuthError> {
        self.opened.lock().unwrap().push(url.to_string());
        let url = match self.tamper {
            Some(f) => f(url),
            None => url.to_string(),
        };
        let login = self.login.clone();
        let finished = self.finished.clone();
        tokio::spawn(async move {
            let http = http();
            let page = http.get(&url).send().await.unwrap();
            assert_eq!(page.status(), 200);
            let html = page.text().await.unwrap();
            // The first form: the e-mail field and the Sign in button.
            let form_start = html.find("<form").unwrap();
            let form_end = html[form_start..].find("</form>").unwrap() + form_start;
            let form = &html[form_start..form_end];
            let action = attr(&form[..form.find('>').unwrap()], "action").unwrap();
            let mut fields: Vec<(String, String)> = Vec::new();
            for tag in form.split("<input").skip(1) {
                let tag = &tag[..tag.find('>').unwrap()];
                let name = attr(tag, "name").unwrap();
                if attr(tag, "type").as_deref() == Some("hidden") {
                    fields.push((name, attr(tag, "value").unwrap_or_default()));
                } else if attr(tag, "id").as_deref() == Some("login") {
                    fields.push((name, login.clone()));
                }
            }
            assert!(form.contains("id=\"next\""), "no Sign in button: {form}");
            let origin = url::Url::parse(&url).unwrap();
            let submit = origin.join(&action).unwrap();
            let answer = http.post(submit).form(&fields).send().await.unwrap();
            assert_eq!(answer.status(), 302, "{}", answer.text().await.unwrap());
            let location = answer.headers()["location"].to_str().unwrap().to_string();
            // The browser follows the redirect to the app's loopback listener.
            let done = reqwest::get(&location).await.unwrap();
            *finished.lock().unwrap() = Some(done.text().await.unwrap());
        });
        Ok(())
    }
}

fn emulator_now(g: &RunningGraph) -> impl Fn() -> DateTime<Utc> + Send + Sync + 'static {
    let clock = g.emulator.clock().clone();
    move || clock.now()
}

async fn browser_sign_in(g: &RunningGraph) -> (odoo365_auth::TokenSet, ScriptedBrowser) {
    let browser = ScriptedBrowser::new(ALICE);
    let tokens = sign_in_with_browser(
        &config(g),
        &http(),
        &browser,
        Duration::from_secs(20),
        emulator_now(g),
    )
    .await
    .unwrap();
    (tokens, browser)
}

#[tokio::test]
async fn a_person_signs_in_on_the_emulators_page_and_the_tokens_work_at_graph() {
    let g = emulator().await;
    let (tokens, browser) = browser_sign_in(&g).await;

    let opened = browser.opened.lock().unwrap()[0].clone();
    let url = url::Url::parse(&opened).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["redirect_uri"].starts_with("http://localhost:"));
    assert!(q["scope"].contains("offline_access"));
    // The browser shows the app's answer page (it may still be reading it).
    let mut page = None;
    for _ in 0..200 {
        page = browser.finished.lock().unwrap().clone();
        if page.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let page = page.unwrap();
    assert!(page.to_lowercase().contains("close"), "{page}");

    assert!(tokens.refresh_token.is_some());
    assert_eq!(tokens.expires_at, t0() + chrono::Duration::seconds(3600));
    assert!(graph_accepts(&g, &tokens.access_token).await);
    let posts: Vec<u16> = identity_log(&g, "authorize")
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.status)
        .collect();
    assert_eq!(posts, vec![302]);
    let token_calls: Vec<u16> = identity_log(&g, "token").iter().map(|r| r.status).collect();
    assert_eq!(token_calls, vec![200]);
}

#[tokio::test]
async fn the_emulator_refuses_the_code_when_the_pkce_challenge_was_swapped() {
    let g = emulator().await;
    let mut browser = ScriptedBrowser::new(ALICE);
    // Someone swaps the challenge on the way: the app's verifier no longer matches.
    browser.tamper = Some(|u| {
        let mut url = url::Url::parse(u).unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .map(|(k, v)| {
                if k == "code_challenge" {
                    (k, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string())
                } else {
                    (k, v)
                }
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        url.to_string()
    });
    let got = sign_in_with_browser(
        &config(&g),
        &http(),
        &browser,
        Duration::from_secs(20),
        emulator_now(&g),
    )
    .await;
    assert!(
        matches!(got, Err(AuthError::SignInNeeded { .. })),
        "{got:?}"
    );
    let token_calls: Vec<u16> = identity_log(&g, "token").iter().map(|r| r.status).collect();
    assert_eq!(token_calls, vec![400]);
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_the_rotated_refresh_token_kept() {
    let g = emulator().await;
    let (tokens, _) = browser_sign_in(&g).await;
    let keychain = Arc::new(MemoryKeychain::new());
    let source = TokenSource::new(config(&g), http(), keychain.clone(), "p1");
    source.store(&tokens).await.unwrap();
    let first_rt = keychain
        .get("p1", SecretKind::MicrosoftRefreshToken)
        .unwrap()
        .unwrap();

    // Still fresh: no call to the identity platform.
    let cached = source.access_token(g.emulator.clock().now()).await.unwrap();
    assert_eq!(cached.expose(), tokens.access_token.expose());
    assert_eq!(identity_log(&g, "token").len(), 1);

    // An hour later the access token is dead at Graph; the source refreshes.
    g.emulator.clock().advance(chrono::Duration::minutes(61));
    assert!(!graph_accepts(&g, &tokens.access_token).await);
    let fresh = source.access_token(g.emulator.clock().now()).await.unwrap();
    assert_ne!(fresh.expose(), tokens.access_token.expose());
    assert!(graph_accepts(&g, &fresh).await);
    let rotated = keychain
        .get("p1", SecretKind::MicrosoftRefreshToken)
        .unwrap()
        .unwrap();
    assert_ne!(
        rotated.expose(),
        first_rt.expose(),
        "rotation not persisted"
    );
    let token_calls: Vec<u16> = identity_log(&g, "token").iter().map(|r| r.status).collect();
    assert_eq!(token_calls, vec![200, 200]);

    // A 401 from Graph: invalidate, and the next call refreshes once more.
    source.invalidate().await;
    let again = source.access_token(g.emulator.clock().now()).await.unwrap();
    assert_ne!(again.expose(), fresh.expose());
    assert_eq!(identity_log(&g, "token").len(), 3);
}

#[tokio::test]
async fn device_code_sign_in_completes_once_approved_through_the_control_api() {
    let g = emulator().await;
    let code: Arc<Mutex<Option<String>>> = Arc::default();
    let sleeps: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let shown = code.clone();
    let (code_for_sleep, sleeps_rec, clock) =
        (code.clone(), sleeps.clone(), g.emulator.clock().clone());
    let control = g.control_url.clone();
    let tokens = sign_in_with_device_code(
        &config(&g),
        &http(),
        move |prompt| {
            assert!(prompt.verification_uri.ends_with("/devicelogin"));
            *shown.lock().unwrap() = Some(prompt.user_code.clone());
        },
        move |d| {
            let (code, sleeps, clock, control) = (
                code_for_sleep.clone(),
                sleeps_rec.clone(),
                clock.clone(),
                control.clone(),
            );
            async move {
                let n = {
                    let mut s = sleeps.lock().unwrap();
                    s.push(d);
                    s.len()
                };
                // The person approves on their phone while the app waits its second interval.
                if n == 2 {
                    let user_code = code.lock().unwrap().clone().unwrap();
                    let r = reqwest::Client::new()
                        .post(format!("{control}/devicecodes/approve"))
                        .json(&serde_json::json!({"userCode": user_code, "user": ALICE}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 204);
                }
                clock.advance(chrono::Duration::from_std(d).unwrap());
            }
        },
        emulator_now(&g),
    )
    .await
    .unwrap();
    assert!(graph_accepts(&g, &tokens.access_token).await);
    assert!(tokens.refresh_token.is_some());
    // Polled at the interval the emulator asked for, never too fast.
    let waits = sleeps.lock().unwrap().clone();
    assert!(
        waits.iter().all(|d| *d >= Duration::from_secs(5)),
        "{waits:?}"
    );
    let polls: Vec<u16> = identity_log(&g, "token").iter().map(|r| r.status).collect();
    assert_eq!(polls.last(), Some(&200));
    assert!(
        polls[..polls.len() - 1].iter().all(|s| *s == 400),
        "{polls:?}"
    );
    assert!(polls.len() >= 2, "{polls:?}");
}

#[tokio::test]
async fn an_expired_refresh_token_means_sign_in_needed() {
    let g = emulator().await;
    let (tokens, _) = browser_sign_in(&g).await;
    let keychain = Arc::new(MemoryKeychain::new());
    let source = TokenSource::new(config(&g), http(), keychain, "p1");
    source.store(&tokens).await.unwrap();
    // 91 days without use: the refresh token has expired.
    g.emulator.clock().advance(chrono::Duration::days(91));
    let got = source.access_token(g.emulator.clock().now()).await;
    match got {
        Err(AuthError::SignInNeeded { reason }) => {
            assert!(
                reason.contains("700082") || reason.contains("expired"),
                "{reason}"
            )
        }
        other => panic!("expected SignInNeeded, got {other:?}"),
    }
    let last = identity_log(&g, "token").pop().unwrap();
    assert_eq!(last.status, 400);
}

#[tokio::test]
async fn an_unknown_or_revoked_refresh_token_means_sign_in_needed() {
    let g = emulator().await;
    let got = refresh(
        &config(&g),
        &http(),
        &Secret::new("0.Arevoked-or-never-issued"),
        g.emulator.clock().now(),
    )
    .await;
    assert!(
        matches!(got, Err(AuthError::SignInNeeded { .. })),
        "{got:?}"
    );
    assert_eq!(identity_log(&g, "token").pop().unwrap().status, 400);
}

/// Device-code sign-in where `on_sleep(n, d, user_code)` plays the person and says how far
/// the emulator's clock moves during the app's n-th wait of `d`.
async fn device_flow(
    g: &RunningGraph,
    on_sleep: impl Fn(usize, Duration, &str, &GraphEmulator) -> Duration + Send + Sync + 'static,
) -> (Result<odoo365_auth::TokenSet, AuthError>, Vec<Duration>) {
    let code: Arc<Mutex<Option<String>>> = Arc::default();
    let sleeps: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let shown = code.clone();
    let on_sleep = Arc::new(on_sleep);
    let (sleeps_rec, emu) = (sleeps.clone(), g.emulator.clone());
    let got = sign_in_with_device_code(
        &config(g),
        &http(),
        move |prompt| *shown.lock().unwrap() = Some(prompt.user_code.clone()),
        move |d| {
            let n = {
                let mut s = sleeps_rec.lock().unwrap();
                s.push(d);
                s.len()
            };
            let user_code = code.lock().unwrap().clone().unwrap();
            let moved = on_sleep(n, d, &user_code, &emu);
            emu.clock()
                .advance(chrono::Duration::from_std(moved).unwrap());
            async {}
        },
        emulator_now(g),
    )
    .await;
    let sleeps = sleeps.lock().unwrap().clone();
    (got, sleeps)
}

#[tokio::test]
async fn a_device_code_poll_answered_slow_down_waits_five_seconds_more() {
    let g = emulator().await;
    let (got, sleeps) = device_flow(&g, |n, d, code, emu| {
        if n == 3 {
            emu.approve_device_code(code, ALICE).unwrap();
        }
        // The first wait is a little short by the server's clock: it says slow_down.
        if n == 1 {
            d - Duration::from_secs(1)
        } else {
            d
        }
    })
    .await;
    let tokens = got.unwrap();
    assert!(graph_accepts(&g, &tokens.access_token).await);
    assert_eq!(sleeps[0], Duration::from_secs(5));
    assert_eq!(sleeps[1], Duration::from_secs(10), "{sleeps:?}");
}

#[tokio::test]
async fn a_declined_device_code_is_declined() {
    let g = emulator().await;
    let (got, _) = device_flow(&g, |_, d, code, emu| {
        let _ = emu.decline_device_code(code);
        d
    })
    .await;
    assert!(matches!(got, Err(AuthError::Declined(_))), "{got:?}");
}

#[tokio::test]
async fn a_device_code_nobody_enters_times_out() {
    let g = emulator().await;
    let (got, sleeps) = device_flow(&g, |_, d, _, _| d + Duration::from_secs(300)).await;
    assert!(
        matches!(got, Err(AuthError::TimedOut(_))),
        "{got:?} after {sleeps:?}"
    );
    assert!(sleeps.len() <= 4, "{sleeps:?}");
}

#[tokio::test]
async fn an_access_token_is_refreshed_five_minutes_before_it_expires() {
    let g = emulator().await;
    let (tokens, _) = browser_sign_in(&g).await;
    let source = TokenSource::new(config(&g), http(), Arc::new(MemoryKeychain::new()), "p1");
    source.store(&tokens).await.unwrap();
    g.emulator.clock().advance(chrono::Duration::minutes(54));
    let same = source.access_token(g.emulator.clock().now()).await.unwrap();
    assert_eq!(same.expose(), tokens.access_token.expose());
    assert_eq!(identity_log(&g, "token").len(), 1);
    // Four minutes left: still valid at Graph, but too close to use.
    g.emulator.clock().advance(chrono::Duration::minutes(2));
    assert!(graph_accepts(&g, &tokens.access_token).await);
    let fresh = source.access_token(g.emulator.clock().now()).await.unwrap();
    assert_ne!(fresh.expose(), tokens.access_token.expose());
    assert_eq!(identity_log(&g, "token").len(), 2);
}
