//! RSVPs in a history: Bob organizes meetings and invites Alice, in Outlook (the Graph
//! emulator puts her copy in her calendar, `notResponded`, as Exchange delivers an
//! invitation) and in Odoo (as Bob: Alice's attendee line `needsAction`). Alice accepts,
//! declines or answers tentatively in Outlook (`POST …/accept` with `sendResponse`: the
//! organizer gets her response mail) or in Odoo (`do_accept` on her attendee line, as the
//! web client's buttons). The engine may carry her answer only: the checks compare her
//! answer on both sides, that Bob's fields are untouched on his side, that no write other
//! than an answer reached one of her copies of Bob's meetings in Outlook, and (the mail
//! book) that each response mail Outlook sends while the engine works answers one of her
//! own Odoo answers. The steps draw from a random stream of their own, so the calendar and
//! documents halves draw what they drew before; Alice's own calendar steps leave Bob's
//! meetings (titles `B<n>`) alone.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use serde_json::{json, Value};

use crate::world::{at, World, ALICE, BOB, CAROL};
use crate::{say, Rng};

/// Whether a title is one of Bob's meetings.
pub fn is_bobs(title: &str) -> bool {
    title.starts_with('B')
}

pub struct Rsvp {
    rng: Rng,
    made: u32,
    /// Bob's Odoo meetings: id → (name, start, stop, location) as he made them.
    pub in_odoo: BTreeMap<i64, (String, String, String, String)>,
    /// Bob's Outlook meetings: his event id → subject.
    pub in_outlook: BTreeMap<String, String>,
}

impl Rsvp {
    pub fn new(seed: u64) -> Rsvp {
        Rsvp {
            rng: Rng(seed.wrapping_mul(0xA076_1D64_78BD_642F) | 1),
            made: 0,
            in_odoo: BTreeMap::new(),
            in_outlook: BTreeMap::new(),
        }
    }
}

/// Alice's answer as one word on either side.
fn graph_answer(v: &Value) -> &'static str {
    match v["responseStatus"]["response"].as_str().unwrap_or_default() {
        "accepted" => "accepted",
        "tentativelyAccepted" => "tentative",
        "declined" => "declined",
        "organizer" => "organizer",
        _ => "needsAction",
    }
}

impl World {
    fn rdraw(&mut self, n: usize) -> usize {
        self.rsvp.rng.below(n)
    }

    fn bobs_slot(&mut self) -> (String, chrono::DateTime<chrono::Utc>) {
        self.rsvp.made += 1;
        let n = self.rsvp.made;
        (format!("B{n}"), at(23 + n % 5, 14 + n % 3))
    }

    /// Bob invites Alice (and now and then Carol) from Outlook.
    async fn bob_invites_in_outlook(&mut self) {
        let (title, start) = self.bobs_slot();
        let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let mut attendees = vec![json!({"emailAddress": {"address": ALICE}, "type": "required"})];
        if self.rdraw(2) == 0 {
            attendees.push(json!({"emailAddress": {"address": CAROL}, "type": "required"}));
        }
        let made = self
            .bob_outlook(
                reqwest::Method::POST,
                "events",
                json!({
                    "subject": title,
                    "start": {"dateTime": fmt(start), "timeZone": "UTC"},
                    "end": {"dateTime": fmt(start + Duration::hours(1)), "timeZone": "UTC"},
                    "location": {"displayName": format!("Room {}", self.rsvp.made)},
                    "attendees": attendees,
                }),
            )
            .await;
        if let Ok(ev) = &made {
            let id = ev["id"].as_str().unwrap_or_default().to_string();
            self.rsvp.in_outlook.insert(id, title.clone());
        }
        self.note(("bob invites in outlook", &title, made.is_ok()));
    }

    /// Bob invites Alice from Odoo (as himself).
    fn bob_invites_in_odoo(&mut self) {
        let (title, start) = self.bobs_slot();
        let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
        let (s, e) = (fmt(start), fmt(start + Duration::hours(1)));
        let location = format!("Room {}", self.rsvp.made);
        let partners = vec![self.partner_of[BOB], self.partner_of[ALICE]];
        let made = self
            .odoo
            .emulator
            .execute(
                self.bob_uid,
                "calendar.event",
                "create",
                &[],
                match json!({"vals_list": [{"name": title, "start": s, "stop": e,
                    "location": location, "partner_ids": [[6, 0, partners]]}]})
                {
                    Value::Object(m) => m,
                    _ => unreachable!("an object"),
                },
            )
            .map(|r| r.json2());
        if let Some(id) = made.as_ref().ok().and_then(|v| v[0].as_i64()) {
            self.rsvp
                .in_odoo
                .insert(id, (title.clone(), s, e, location));
        }
        self.note(("bob invites in odoo", &title, made.is_ok()));
    }

    /// One meeting of Bob's on each side before the first sync.
    pub async fn rsvp_setup(&mut self) {
        self.bob_invites_in_outlook().await;
        self.bob_invites_in_odoo();
    }

    /// A round's RSVP steps: now and then a new invitation, often an answer of Alice's.
    pub async fn rsvp_steps(&mut self) {
        match self.rdraw(8) {
            0 => self.bob_invites_in_outlook().await,
            1 => self.bob_invites_in_odoo(),
            2..=5 => self.alice_answers().await,
            _ => {}
        }
        self.account_mail(true, "an invitation or an answer");
    }

    /// Alice's attendee lines in Odoo: event id → (attendee id, state).
    pub fn alice_attendance(&self) -> BTreeMap<i64, (i64, String)> {
        let rows = self
            .odoo_call(
                "calendar.attendee",
                "search_read",
                &[],
                json!({"domain": [["partner_id", "=", self.partner_of[ALICE]]],
                       "fields": ["event_id", "state"]}),
            )
            .expect("Odoo reads attendees");
        rows.as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let event = a["event_id"]
                    .as_i64()
                    .or_else(|| a["event_id"][0].as_i64())?;
                Some((
                    event,
                    (
                        a["id"].as_i64()?,
                        a["state"].as_str().unwrap_or_default().to_string(),
                    ),
                ))
            })
            .collect()
    }

    async fn alice_answers(&mut self) {
        let answer = self.rdraw(3);
        if self.rdraw(2) == 0 {
            let copies: Vec<Value> = self
                .graph_events()
                .await
                .into_iter()
                .filter(|v| v["isOrganizer"] == false)
                .collect();
            if copies.is_empty() {
                return;
            }
            let v = copies[self.rdraw(copies.len())].clone();
            let action = ["accept", "tentativelyAccept", "decline"][answer];
            let id = v["id"].as_str().unwrap_or_default();
            let done = self
                .outlook(
                    reqwest::Method::POST,
                    &format!("events/{id}/{action}"),
                    Some(json!({"sendResponse": true})),
                )
                .await;
            say(|| {
                format!(
                    "alice answers {action} in outlook: {:?}",
                    done.as_ref().err()
                )
            });
            self.note(("answer in outlook", action, done.is_ok()));
        } else {
            let attendance = self.alice_attendance();
            let bobs: Vec<(i64, String)> = self
                .odoo_rows()
                .iter()
                .filter_map(|r| {
                    let title = r["name"].as_str()?;
                    is_bobs(title)
                        .then(|| (r["id"].as_i64().unwrap_or_default(), title.to_string()))
                })
                .filter(|(id, _)| attendance.contains_key(id))
                .collect();
            if bobs.is_empty() {
                return;
            }
            let (event, title) = bobs[self.rdraw(bobs.len())].clone();
            let method = ["do_accept", "do_tentative", "do_decline"][answer];
            let attendee = attendance[&event].0;
            let done = self.odoo_call("calendar.attendee", method, &[attendee], json!({}));
            if done.is_ok() {
                // Carried to Outlook as her answer, which mails the organizer: hers.
                let keys = self.odoo_keys(event, &title);
                self.mail.grant(&keys, &["response"]);
            }
            say(|| {
                format!(
                    "alice answers {method} in odoo on {title}: {:?}",
                    done.as_ref().err()
                )
            });
            self.note(("answer in odoo", method, done.is_ok()));
        }
    }

    /// Alice's answer to each of Bob's meetings, per side: `title → answer`. Only where
    /// her Outlook copy is an invitation: a meeting Bob organizes in Odoo reaches Outlook
    /// as her own copy (`isOrganizer`, answer `organizer`), which holds no answer of hers.
    pub async fn answers(&self) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let invitations: BTreeSet<String> = self
            .graph_events()
            .await
            .iter()
            .filter(|v| v["isOrganizer"] == false)
            .filter_map(|v| v["subject"].as_str().map(str::to_string))
            .collect();
        let attendance = self.alice_attendance();
        let odoo: BTreeMap<String, String> = self
            .odoo_rows()
            .iter()
            .filter_map(|r| {
                let title = r["name"].as_str()?;
                let id = r["id"].as_i64()?;
                (is_bobs(title) && invitations.contains(title)).then(|| {
                    let state = attendance
                        .get(&id)
                        .map_or("none".to_string(), |(_, s)| s.clone());
                    (title.to_string(), state)
                })
            })
            .collect();
        let graph: BTreeMap<String, String> = self
            .graph_events()
            .await
            .iter()
            .filter_map(|v| {
                let title = v["subject"].as_str()?;
                (is_bobs(title) && v["isOrganizer"] == false)
                    .then(|| (title.to_string(), graph_answer(v).to_string()))
            })
            .collect();
        (odoo, graph)
    }

    /// The RSVP end checks.
    pub async fn check_rsvps(&mut self, seed: u64) {
        let (odoo, graph) = self.answers().await;
        assert_eq!(
            odoo, graph,
            "seed {seed}: Alice's answers to Bob's meetings differ (Odoo, Outlook)"
        );
        // Bob's fields on his side are his.
        let rows: BTreeMap<i64, Value> = self
            .odoo_rows()
            .into_iter()
            .filter_map(|r| Some((r["id"].as_i64()?, r)))
            .collect();
        for (id, (name, start, stop, location)) in &self.rsvp.in_odoo {
            let Some(r) = rows.get(id) else {
                panic!("seed {seed}: Bob's Odoo meeting {name} ({id}) is gone from Alice's view")
            };
            let now = (
                r["name"].as_str().unwrap_or_default(),
                r["start"].as_str().unwrap_or_default(),
                r["stop"].as_str().unwrap_or_default(),
                r["location"].as_str().unwrap_or_default(),
            );
            assert_eq!(
                now,
                (
                    name.as_str(),
                    start.as_str(),
                    stop.as_str(),
                    location.as_str()
                ),
                "seed {seed}: Bob's Odoo meeting {id} was changed by sync"
            );
        }
        // No write but an answer ever reached one of Alice's copies of Bob's meetings.
        let copies: BTreeSet<String> = self
            .graph_events()
            .await
            .iter()
            .filter(|v| v["isOrganizer"] == false)
            .filter_map(|v| v["id"].as_str().map(str::to_string))
            .collect();
        let answers = ["/accept", "/tentativelyAccept", "/decline"];
        for q in self.graph.emulator.request_log().since(0).iter() {
            if q.method == "GET" || !q.status.to_string().starts_with('2') {
                continue;
            }
            let Some(id) = q
                .path
                .split("/events/")
                .nth(1)
                .map(|r| r.split('/').next().unwrap_or_default().to_string())
            else {
                continue;
            };
            if copies.contains(&id) {
                assert!(
                    answers.iter().any(|a| q.path.ends_with(a)),
                    "seed {seed}: an organizer-only write on Alice's copy of Bob's meeting: {} {}",
                    q.method,
                    q.path
                );
            }
        }
    }
}
