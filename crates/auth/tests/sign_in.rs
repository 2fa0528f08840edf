//! Sign-in against OAuth servers nobody on this project wrote: `oauth2-mock-server` (npm,
//! started on loopback) for authorization code + PKCE + refresh, and wiremock for the
//! device-code polling answers of graph.md §8.5.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use odoo365_auth::flow::http_client;
use odoo365_auth::{
    refresh, sign_in_with_browser, sign_in_with_device_code, AuthConfig, AuthError, Browser,
    Keychain, MemoryKeychain, SecretKind, TokenSource,
};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// oauth2-mock-server in a child process; killed on drop.
struct OAuthMock {
    child: Child,
    url: String,
}

impl OAuthMock {
    fn start() -> OAuthMock {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oauth-mock");
        assert!(
            std::path::Path::new(dir)
                .join("node_modules/oauth2-mock-server")
                .exists(),
            "oauth2-mock-server is not installed: run scripts/bootstrap.sh"
        );
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).expect("the mock prints its URL");
        OAuthMock {
            child,
            url: v["url"].as_str().unwrap().to_string(),
        }
    }

    fn config(&self) -> AuthConfig {
        let mut c = AuthConfig::custom(
            &format!("{}/authorize", self.url),
            &format!("{}/token", self.url),
            &format!("{}/devicecode", self.url),
            "odoo365-test-client",
            &["openid", "offline_access", "Calendars.ReadWrite"],
        )
        .unwrap();
        c.redirect_host = "127.0.0.1".into();
        c
    }
}

impl Drop for OAuthMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Plays the person's browser: follows the authorize redirect to our loopback listener,
/// optionally tampering with the redirect on the way.
struct ScriptedBrowser {
    tamper: fn(String) -> String,
    log: Arc<Mutex<Vec<String>>>,
}

impl ScriptedBrowser {
    fn honest() -> Self {
        ScriptedBrowser {
            tamper: |s| s,
            log: Default::default(),
        }
    }
}

impl Browser for ScriptedBrowser {
    fn open(&self, url: &str) -> Result<(), AuthError> {
        self.log.lock().unwrap().push(url.to_string());
        let (url, tamper) = (url.to_string(), self.tamper);
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let res = http.get(&url).send().await.unwrap();
            let location = res.headers()["location"].to_str().unwrap().to_string();
            http.get(tamper(location)).send().await.unwrap();
        });
        Ok(())
    }
}

#[tokio::test]
async fn browser_sign_in_with_pkce_returns_tokens_and_refresh_rotates_them() {
    let mock = OAuthMock::start();
    let cfg = mock.config();
    let http = http_client().unwrap();
    let browser = ScriptedBrowser::honest();
    let tokens = sign_in_with_browser(&cfg, &http, &browser, Duration::from_secs(10), Utc::now)
        .await
        .unwrap();
    let opened = browser.log.lock().unwrap()[0].clone();
    assert!(opened.contains("code_challenge_method=S256"), "{opened}");
    assert!(
        opened.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{opened}"
    );
    assert!(!tokens.access_token.expose().is_empty());
    let first_refresh = tokens
        .refresh_token
        .clone()
        .expect("offline_access gives a refresh token");
    assert!(tokens.expires_at > Utc::now());

    let renewed = refresh(&cfg, &http, &first_refresh, Utc::now())
        .await
        .unwrap();
    let second_refresh = renewed.refresh_token.expect("a rotated refresh token");
    assert_ne!(
        second_refresh, first_refresh,
        "refresh tokens rotate on every use"
    );
}

#[tokio::test]
async fn the_mock_server_enforces_pkce_so_the_sign_in_test_means_something() {
    let mock = OAuthMock::start();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let authorize = format!(
        "{}/authorize?client_id=c&response_type=code&redirect_uri=http://127.0.0.1:9/&scope=openid&state=s&code_challenge={challenge}&code_challenge_method=S256",
        mock.url
    );
    let location = http.get(&authorize).send().await.unwrap().headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .to_string();
    let res = http
        .post(format!("{}/token", mock.url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/"),
            ("client_id", "c"),
            (
                "code_verifier",
                "a-wrong-verifier-that-is-long-enough-to-be-valid-000000",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_client_error(),
        "a wrong verifier must be refused, got {}",
        res.status()
    );
}

#[tokio::test]
async fn a_redirect_carrying_another_state_is_refused() {
    let mock = OAuthMock::start();
    let browser = ScriptedBrowser {
        tamper: |loc| {
            let mut url = url::Url::parse(&loc).unwrap();
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        if k == "state" {
                            "forged".to_string()
                        } else {
                            v.to_string()
                        },
                    )
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
            url.to_string()
        },
        log: Default::default(),
    };
    let err = sign_in_with_browser(
        &mock.config(),
        &http_client().unwrap(),
        &browser,
        Duration::from_secs(10),
        Utc::now,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AuthError::StateMismatch), "{err:?}");
}

#[tokio::test]
async fn the_token_source_refreshes_before_expiry_and_keeps_the_rotated_refresh_token() {
    let mock = OAuthMock::start();
    let cfg = mock.config();
    let http = http_client().unwrap();
    let tokens = sign_in_with_browser(
        &cfg,
        &http,
        &ScriptedBrowser::honest(),
        Duration::from_secs(10),
        Utc::now,
    )
    .await
    .unwrap();
    let keychain = Arc::new(MemoryKeychain::new());
    let source = TokenSource::new(cfg, http, keychain.clone(), "profile-1");
    source.store(&tokens).await.unwrap();
    let saved = keychain
        .get("profile-1", SecretKind::MicrosoftRefreshToken)
        .unwrap();
    assert_eq!(saved, tokens.refresh_token);

    // Well before expiry: the cached token, no request.
    let now = Utc::now();
    assert_eq!(source.access_token(now).await.unwrap(), tokens.access_token);
    let saved_now = || {
        keychain
            .get("profile-1", SecretKind::MicrosoftRefreshToken)
            .unwrap()
    };
    assert_eq!(saved_now(), tokens.refresh_token, "no refresh happened");
    // Within the refresh margin: a refresh, and the rotated refresh token is saved. (The
    // mock's JWTs are equal within one second, so the rotation is what proves the refresh.)
    let late = tokens.expires_at - chrono::Duration::minutes(1);
    source.access_token(late).await.unwrap();
    let rotated = saved_now();
    assert!(rotated.is_some() && rotated != tokens.refresh_token);
    // A later call within the fresh token's life is served from the cache.
    source.access_token(late).await.unwrap();
    assert_eq!(saved_now(), rotated);
    // After a 401 the cache is dropped and the next call refreshes again.
    source.invalidate().await;
    source.access_token(now).await.unwrap();
    assert!(saved_now() != rotated, "a 401 forces one refresh");
}

#[tokio::test]
async fn a_profile_without_a_saved_sign_in_needs_sign_in() {
    let cfg = AuthConfig::microsoft("http://127.0.0.1:9", "common", "c").unwrap();
    let source = TokenSource::new(
        cfg,
        http_client().unwrap(),
        Arc::new(MemoryKeychain::new()),
        "p",
    );
    let err = source.access_token(Utc::now()).await.unwrap_err();
    assert!(matches!(err, AuthError::SignInNeeded { .. }), "{err:?}");
}

fn device_code_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "device_code": "dev-123", "user_code": "ABCD-EFGH",
        "verification_uri": "https://microsoft.com/devicelogin",
        "expires_in": 900, "interval": 5,
        "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate."
    }))
}

fn token_error(error: &str, code: u32) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(serde_json::json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {error}.\r\nTrace ID: 0\r\nCorrelation ID: 0\r\nTimestamp: 2026-11-22 00:00:00Z"),
        "error_codes": [code]
    }))
}

async fn device_server() -> (MockServer, AuthConfig) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/common/oauth2/v2.0/devicecode"))
        .respond_with(device_code_answer())
        .mount(&server)
        .await;
    let cfg = AuthConfig::microsoft(&server.uri(), "common", "client-1").unwrap();
    (server, cfg)
}

fn recording_sleep(log: Arc<Mutex<Vec<Duration>>>) -> impl Fn(Duration) -> std::future::Ready<()> {
    move |d| {
        log.lock().unwrap().push(d);
        std::future::ready(())
    }
}

#[tokio::test]
async fn device_code_polling_waits_the_interval_slows_down_and_then_signs_in() {
    let (server, cfg) = device_server().await;
    let token = || path("/common/oauth2/v2.0/token");
    let grant = || {
        body_string_contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code")
    };
    Mock::given(method("POST"))
        .and(token())
        .and(grant())
        .respond_with(token_error("authorization_pending", 70016))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(token())
        .and(grant())
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "slow_down"})),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(token())
        .and(grant())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599, "scope": "Calendars.ReadWrite",
            "access_token": "at-1", "refresh_token": "rt-1"
        })))
        .with_priority(3)
        .mount(&server)
        .await;

    let slept = Arc::new(Mutex::new(Vec::new()));
    let shown = Arc::new(Mutex::new(None));
    let shown2 = shown.clone();
    let tokens = sign_in_with_device_code(
        &cfg,
        &http_client().unwrap(),
        move |p| *shown2.lock().unwrap() = Some(p.clone()),
        recording_sleep(slept.clone()),
        Utc::now,
    )
    .await
    .unwrap();
    assert_eq!(tokens.access_token.expose(), "at-1");
    let prompt = shown.lock().unwrap().clone().unwrap();
    assert_eq!(prompt.user_code, "ABCD-EFGH");
    assert!(prompt.message.unwrap().contains("ABCD-EFGH"));
    assert_eq!(
        *slept.lock().unwrap(),
        vec![Duration::from_secs(5), Duration::from_secs(10)],
        "interval, then interval + 5 s after slow_down"
    );
}

#[tokio::test]
async fn a_declined_device_code_stops_polling() {
    let (server, cfg) = device_server().await;
    Mock::given(method("POST"))
        .and(path("/common/oauth2/v2.0/token"))
        .respond_with(token_error("authorization_declined", 70015))
        .mount(&server)
        .await;
    let slept = Arc::new(Mutex::new(Vec::new()));
    let err = sign_in_with_device_code(
        &cfg,
        &http_client().unwrap(),
        |_| {},
        recording_sleep(slept.clone()),
        Utc::now,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AuthError::Declined(_)), "{err:?}");
    assert!(
        slept.lock().unwrap().is_empty(),
        "no second poll after a decline"
    );
}

#[tokio::test]
async fn an_expired_device_code_times_out() {
    let (server, cfg) = device_server().await;
    Mock::given(method("POST"))
        .and(path("/common/oauth2/v2.0/token"))
        .respond_with(token_error("expired_token", 70019))
        .mount(&server)
        .await;
    let err = sign_in_with_device_code(
        &cfg,
        &http_client().unwrap(),
        |_| {},
        recording_sleep(Default::default()),
        Utc::now,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AuthError::TimedOut(_)), "{err:?}");
}

#[tokio::test]
async fn an_expired_refresh_token_means_sign_in_needed_and_the_message_has_no_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/token"))
        .respond_with(token_error("invalid_grant", 70008))
        .mount(&server)
        .await;
    let cfg = AuthConfig::microsoft(&server.uri(), "organizations", "client-1").unwrap();
    let secret = odoo365_auth::Secret::new("rt-very-secret-value-0123456789");
    let err = refresh(&cfg, &http_client().unwrap(), &secret, Utc::now())
        .await
        .unwrap_err();
    match &err {
        AuthError::SignInNeeded { reason } => assert!(reason.contains("AADSTS70008"), "{reason}"),
        other => panic!("expected SignInNeeded, got {other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("rt-very-secret"));
}
