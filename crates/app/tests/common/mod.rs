//! Setup shared by the app's tests against both emulators.
#![allow(dead_code, clippy::unwrap_used)]

use odoo365_app::auth::{AuthError, Browser};
use odoo365_testkit::graph::{DriveType, RunningGraph};
use odoo365_testkit::odoo::{NewApiKey, NewUser, RunningOdoo};

pub const ALICE: &str = "alice@contoso.com";

/// Plays Alice on the Microsoft emulator's sign-in page: posts the form, then follows the
/// redirect to the app's loopback listener.
#[derive(Debug)]
pub struct AliceSignsIn;

impl Browser for AliceSignsIn {
    fn open(&self, url: &str) -> Result<(), AuthError> {
        let url = reqwest::Url::parse(url).map_err(|e| AuthError::NoBrowser(e.to_string()))?;
        let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        form.push(("login".into(), ALICE.into()));
        let mut action = url.clone();
        action.set_query(None);
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let answer = http.post(action).form(&form).send().await.unwrap();
            let location = answer.headers()["location"].to_str().unwrap().to_string();
            http.get(location).send().await.unwrap();
        });
        Ok(())
    }
}

/// Alice in both emulators: her mailbox and OneDrive, her Odoo user and an API key.
/// Returns her Odoo uid and the key.
pub fn alice_in(graph: &RunningGraph, odoo: &RunningOdoo) -> (i64, String) {
    graph
        .emulator
        .create_user(ALICE, "Alice", DriveType::Business);
    let user = odoo
        .emulator
        .create_user(NewUser {
            email: Some(ALICE.into()),
            name: Some("Alice".into()),
            ..NewUser::internal(ALICE)
        })
        .unwrap();
    let key = odoo
        .emulator
        .create_api_key(user.uid, NewApiKey::default())
        .unwrap();
    (user.uid, key)
}
