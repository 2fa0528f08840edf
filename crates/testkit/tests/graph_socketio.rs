//! OneDrive's socketIo channel on the Graph emulator, driven at the protocol level by a raw
//! websocket client: the endpoint on both drive paths, Engine.IO's open packet, the
//! namespace handshake, a pushed `notification` per drive change, refusals, expiry and a
//! dropped connection.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use odoo365_testkit::graph::{DriveType, GraphConfig, GraphEmulator, RunningGraph};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const ALICE: &str = "alice@contoso.com";

async fn start(config: GraphConfig) -> (RunningGraph, String) {
    let g = GraphEmulator::start(config).await.unwrap();
    g.emulator.create_user(ALICE, "Alice", DriveType::Business);
    g.emulator
        .create_user("bob@contoso.com", "Bob", DriveType::Business);
    let token = g.emulator.mint_token(ALICE).unwrap();
    (g, token)
}

async fn get(g: &RunningGraph, token: Option<&str>, path: &str) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().get(format!("{}/{path}", g.graph_url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Alice creates a folder in her drive root.
async fn change_drive(g: &RunningGraph, token: &str, name: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/me/drive/root/children", g.graph_url))
        .bearer_auth(token)
        .json(&json!({"name": name, "folder": {}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{r:?}");
}

/// Splits a notification URL as Microsoft's page says: before `/callback?` the endpoint
/// (its path the namespace), after it the handshake query.
fn split(url: &str) -> (String, String, String) {
    let (endpoint, query) = url.split_once("/callback?").unwrap();
    let u = url::Url::parse(endpoint).unwrap();
    let ws = format!(
        "ws://{}:{}/socket.io/?EIO=4&transport=websocket&{query}",
        u.host_str().unwrap(),
        u.port().unwrap()
    );
    (ws, u.path().to_string(), query.to_string())
}

async fn next_text(ws: &mut Ws) -> String {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the server said nothing for 10 s")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            let t = t.as_str().to_string();
            // Engine.IO v4: the server pings, the client answers.
            if t == "2" {
                ws.send(Message::text("3")).await.unwrap();
                continue;
            }
            return t;
        }
    }
}

/// Opens the websocket, reads the open packet, joins `ns`; returns the socket and the
/// server's answer to the join.
async fn join(ws_url: &str, ns: &str) -> (Ws, String) {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let open = next_text(&mut ws).await;
    let meta: Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
    assert!(
        meta["sid"].is_string() && meta["pingInterval"].is_u64(),
        "{open}"
    );
    ws.send(Message::text(format!("40{ns},"))).await.unwrap();
    let answer = next_text(&mut ws).await;
    (ws, answer)
}

#[tokio::test]
async fn the_endpoint_is_served_on_both_drive_paths_with_auth_and_refusals() {
    let (g, token) = start(GraphConfig::default()).await;
    let (s, v) = get(&g, Some(&token), "me/drive/root/subscriptions/socketIo").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let url = v["notificationUrl"].as_str().unwrap();
    assert!(url.contains("/callback?snthgk="), "{url}");
    assert!(
        v["id"].is_string() && v["expirationDateTime"].is_string(),
        "{v}"
    );
    let drive = get(&g, Some(&token), "me/drive").await.1["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, by_id) = get(
        &g,
        Some(&token),
        &format!("drives/{drive}/root/subscriptions/socketIo"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(by_id["id"], v["id"], "every call hands out a new channel");

    let (s, _) = get(&g, None, "me/drive/root/subscriptions/socketIo").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let bob_drive = {
        let bob = g.emulator.mint_token("bob@contoso.com").unwrap();
        get(&g, Some(&bob), "me/drive").await.1["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (s, e) = get(
        &g,
        Some(&token),
        &format!("drives/{bob_drive}/root/subscriptions/socketIo"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another user's drive: {e}");
    g.emulator.set_socketio_supported(false);
    let (s, e) = get(&g, Some(&token), "me/drive/root/subscriptions/socketIo").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["code"], "notSupported");
}

#[tokio::test]
async fn a_connected_client_is_pushed_one_notification_per_drive_change() {
    let (g, token) = start(GraphConfig::default()).await;
    let (_, v) = get(&g, Some(&token), "me/drive/root/subscriptions/socketIo").await;
    let (ws_url, ns, query) = split(v["notificationUrl"].as_str().unwrap());
    let (mut ws, joined) = join(&ws_url, &ns).await;
    assert!(joined.starts_with(&format!("40{ns},")), "{joined}");
    assert_eq!(g.emulator.socketio_clients(), 1);

    change_drive(&g, &token, "Reports").await;
    let event = next_text(&mut ws).await;
    let payload = event
        .strip_prefix(&format!("42{ns},"))
        .unwrap_or_else(|| panic!("not an event of the namespace: {event}"));
    let v: Value = serde_json::from_str(payload).unwrap();
    assert_eq!(v[0], "notification");
    assert_eq!(v[1]["value"][0]["changeType"], "updated");

    // A wrong token is refused with CONNECT_ERROR.
    let wrong = ws_url.replace(&query, "snthgk=forged");
    let (_ws2, refused) = join(&wrong, &ns).await;
    assert!(refused.starts_with(&format!("44{ns},")), "{refused}");

    // A dropped connection: the server leaves the namespace.
    assert_eq!(g.emulator.drop_socketio_connections(), 1);
    assert_eq!(next_text(&mut ws).await, format!("41{ns},"));
}

#[tokio::test]
async fn a_channel_ends_at_its_expiry_and_refuses_connections_after_it() {
    let (g, token) = start(GraphConfig {
        socketio_lifetime_s: 2,
        ..Default::default()
    })
    .await;
    let (_, v) = get(&g, Some(&token), "me/drive/root/subscriptions/socketIo").await;
    let (ws_url, ns, _) = split(v["notificationUrl"].as_str().unwrap());
    let (mut ws, joined) = join(&ws_url, &ns).await;
    assert!(joined.starts_with("40"), "{joined}");
    // Disconnected from the namespace once the 2 s are over.
    assert_eq!(next_text(&mut ws).await, format!("41{ns},"));
    let (_ws, refused) = join(&ws_url, &ns).await;
    assert!(
        refused.starts_with(&format!("44{ns},")) && refused.contains("expired"),
        "{refused}"
    );
}
