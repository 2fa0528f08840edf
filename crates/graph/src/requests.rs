//! Request builders as plain data: every Graph call this crate makes is built here first,
//! so tests can check method, URL, headers and body without a network.

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use url::Url;

use crate::config::GraphConfig;
use crate::models::{ConflictBehavior, Subscription};
use crate::transport::GraphRequest;
use crate::GraphError;

/// The `Prefer` values sent on every calendar call, so ids and times never change form
/// between calls.
pub const PREFER_OUTLOOK: &str = r#"outlook.timezone="UTC", IdType="ImmutableId""#;

/// Builds requests against one Graph root and mailbox.
#[derive(Debug, Clone)]
pub struct Requests {
    base_url: Url,
    mailbox_path: String,
    page_size_max: u32,
    /// `None`: the user's OneDrive (`{mailbox}/drive`); `Some(id)`: `drives/{id}` (a
    /// SharePoint document library, or any drive by id).
    drive_id: Option<String>,
}

impl Requests {
    pub fn new(config: &GraphConfig) -> Self {
        Requests {
            base_url: config.base_url.clone(),
            mailbox_path: config.mailbox_path.trim_matches('/').to_string(),
            page_size_max: config.page_size_max,
            drive_id: None,
        }
    }

    /// The same builders aimed at another drive: `Some(id)` → `/drives/{id}`, `None` →
    /// the user's own `/{mailbox}/drive`.
    pub fn for_drive(&self, drive_id: Option<&str>) -> Requests {
        Requests {
            drive_id: drive_id.map(str::to_string),
            ..self.clone()
        }
    }

    /// The drive this builder targets (`None`: the user's own).
    pub fn drive_id(&self) -> Option<&str> {
        self.drive_id.as_deref()
    }

    /// `{base}/{mailbox}/drive/{segments...}` or `{base}/drives/{id}/{segments...}`.
    pub fn drive_url(&self, segments: &[&str]) -> Url {
        match &self.drive_id {
            None => {
                let mut all = vec!["drive"];
                all.extend_from_slice(segments);
                self.mailbox_url(&all)
            }
            Some(id) => {
                let mut all = vec!["drives", id.as_str()];
                all.extend_from_slice(segments);
                self.root_url(&all)
            }
        }
    }

    /// `{base}/{mailbox}/{segments...}`, each segment percent-encoded on its own.
    pub fn mailbox_url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(self.mailbox_path.split('/'));
            path.extend(segments);
        }
        url
    }

    /// The mailbox URL of `segments` relative to the Graph root, as a `$batch`
    /// sub-request names it (`/me/events`, graph.md §6.4).
    pub fn mailbox_batch_url(&self, segments: &[&str]) -> String {
        let full = self.mailbox_url(segments);
        let root = self.base_url.path().trim_end_matches('/');
        full.path()
            .strip_prefix(root)
            .unwrap_or(full.path())
            .to_string()
    }

    /// `{base}/{segments...}` (for `$batch`, `subscriptions`).
    pub fn root_url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    fn outlook(&self, req: GraphRequest) -> GraphRequest {
        req.header("Prefer", PREFER_OUTLOOK)
    }

    fn outlook_paged(&self, req: GraphRequest) -> GraphRequest {
        req.header(
            "Prefer",
            format!("{PREFER_OUTLOOK}, odata.maxpagesize={}", self.page_size_max),
        )
    }

    // ---- calendar ----

    /// The first call of a calendarView delta round: the only one that carries the window.
    pub fn calendar_delta_first(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> GraphRequest {
        let mut url = self.mailbox_url(&["calendarView", "delta"]);
        url.query_pairs_mut()
            .append_pair(
                "startDateTime",
                &start.to_rfc3339_opts(SecondsFormat::Secs, true),
            )
            .append_pair(
                "endDateTime",
                &end.to_rfc3339_opts(SecondsFormat::Secs, true),
            );
        self.outlook_paged(GraphRequest::new(Method::GET, url))
    }

    /// A nextLink or deltaLink of a calendar round, followed verbatim.
    pub fn calendar_delta_follow(&self, link: &str) -> Result<GraphRequest, GraphError> {
        Ok(self.outlook_paged(GraphRequest::new(Method::GET, parse_link(link)?)))
    }

    pub fn get_event(&self, id: &str) -> GraphRequest {
        self.outlook(GraphRequest::new(
            Method::GET,
            self.mailbox_url(&["events", id]),
        ))
    }

    /// `POST /events` with the caller's `transactionId`, so a resend after *maybe applied*
    /// cannot create a second event.
    pub fn create_event(
        &self,
        event: &crate::models::Event,
        transaction_id: uuid::Uuid,
    ) -> Result<GraphRequest, GraphError> {
        let mut body = event.clone();
        body.transaction_id = Some(transaction_id.to_string());
        self.outlook(GraphRequest::new(
            Method::POST,
            self.mailbox_url(&["events"]),
        ))
        .json(&body)
    }

    /// `PATCH /events/{id}` with `If-Match`; `patch` holds only the changed properties
    /// (a `serde_json::Value` can also set properties to null).
    pub fn update_event<P: serde::Serialize + ?Sized>(
        &self,
        id: &str,
        patch: &P,
        if_match: &str,
    ) -> Result<GraphRequest, GraphError> {
        self.outlook(GraphRequest::new(
            Method::PATCH,
            self.mailbox_url(&["events", id]),
        ))
        .header("If-Match", if_match)
        .json(patch)
    }

    pub fn delete_event(&self, id: &str, if_match: Option<&str>) -> GraphRequest {
        let req = self.outlook(GraphRequest::new(
            Method::DELETE,
            self.mailbox_url(&["events", id]),
        ));
        match if_match {
            Some(tag) => req.header("If-Match", tag),
            None => req,
        }
    }

    /// `POST /events/{id}/cancel`: organizer only; attendees get the comment.
    pub fn cancel_event(
        &self,
        id: &str,
        comment: Option<&str>,
    ) -> Result<GraphRequest, GraphError> {
        let body = match comment {
            Some(c) => serde_json::json!({ "comment": c }),
            None => serde_json::json!({}),
        };
        self.outlook(GraphRequest::new(
            Method::POST,
            self.mailbox_url(&["events", id, "cancel"]),
        ))
        .json(&body)
    }

    // ---- drive ----

    /// The first call of a drive delta round; `token` is `None` (everything) or `latest`.
    pub fn drive_delta_first(&self, token: Option<&str>) -> GraphRequest {
        let mut url = self.drive_url(&["root", "delta"]);
        if let Some(t) = token {
            url.query_pairs_mut().append_pair("token", t);
        }
        GraphRequest::new(Method::GET, url)
    }

    pub fn drive_delta_follow(&self, link: &str) -> Result<GraphRequest, GraphError> {
        Ok(GraphRequest::new(Method::GET, parse_link(link)?))
    }

    pub fn get_item(&self, item_id: &str) -> GraphRequest {
        GraphRequest::new(Method::GET, self.drive_url(&["items", item_id]))
    }

    /// `PUT /drive/items/{parent}:/{name}:/content` with the conflict behaviour in the query.
    pub fn simple_upload(
        &self,
        parent_id: &str,
        name: &str,
        content: Bytes,
        conflict: ConflictBehavior,
    ) -> GraphRequest {
        let mut url = self.drive_url(&[
            "items",
            &format!("{parent_id}:"),
            &format!("{name}:"),
            "content",
        ]);
        url.query_pairs_mut()
            .append_pair("@microsoft.graph.conflictBehavior", conflict.as_str());
        // A PUT, but a new file's upload is not idempotent unless it replaces: resent after
        // a lost answer it meets its own first copy and gets 409 (`fail`) or lands a second
        // copy as "name (2)" (`rename`). The caller looks before resending instead.
        GraphRequest::new(Method::PUT, url)
            .header("Content-Type", "application/octet-stream")
            .bytes(content)
            .idempotent(conflict == ConflictBehavior::Replace)
    }

    /// `POST /drive/items/{parent}:/{name}:/createUploadSession`.
    pub fn create_upload_session(
        &self,
        parent_id: &str,
        name: &str,
        size: u64,
        conflict: ConflictBehavior,
    ) -> Result<GraphRequest, GraphError> {
        let url = self.drive_url(&[
            "items",
            &format!("{parent_id}:"),
            &format!("{name}:"),
            "createUploadSession",
        ]);
        let body = serde_json::json!({
            "item": {
                "@microsoft.graph.conflictBehavior": conflict.as_str(),
                "name": name,
                "fileSize": size,
            }
        });
        // Creating a session twice only leaves an unused session behind, which expires.
        Ok(GraphRequest::new(Method::POST, url)
            .json(&body)?
            .idempotent(true))
    }

    /// The simple upload for either kind of target.
    pub fn upload_content(
        &self,
        target: &crate::files::UploadTarget,
        content: Bytes,
    ) -> GraphRequest {
        use crate::files::UploadTarget;
        match target {
            UploadTarget::New {
                parent_id,
                name,
                conflict,
            } => self.simple_upload(parent_id, name, content, *conflict),
            UploadTarget::Replace { item_id, if_match } => {
                // Held to an eTag, a replace is not resent after a lost answer: its own first
                // write changed the eTag, so the resend gets 412 and the file looks edited by
                // someone else (then "changed on both sides": a needless conflict). The
                // caller resends without the condition once it knows the answer was lost.
                let req =
                    GraphRequest::new(Method::PUT, self.drive_url(&["items", item_id, "content"]))
                        .header("Content-Type", "application/octet-stream")
                        .bytes(content)
                        .idempotent(if_match.is_none());
                match if_match {
                    Some(tag) => req.header("If-Match", tag.as_str()),
                    None => req,
                }
            }
        }
    }

    /// The upload session for either kind of target.
    pub fn upload_session_for(
        &self,
        target: &crate::files::UploadTarget,
        size: u64,
    ) -> Result<GraphRequest, GraphError> {
        use crate::files::UploadTarget;
        match target {
            UploadTarget::New {
                parent_id,
                name,
                conflict,
            } => self.create_upload_session(parent_id, name, size, *conflict),
            UploadTarget::Replace { item_id, if_match } => {
                let req = GraphRequest::new(
                    Method::POST,
                    self.drive_url(&["items", item_id, "createUploadSession"]),
                )
                .json(&serde_json::json!({
                    "item": { "@microsoft.graph.conflictBehavior": "replace", "fileSize": size }
                }))?
                .idempotent(true);
                Ok(match if_match {
                    Some(tag) => req.header("If-Match", tag.as_str()),
                    None => req,
                })
            }
        }
    }

    /// One fragment to the upload URL: no `Authorization`, explicit `Content-Range`.
    pub fn upload_fragment(
        &self,
        upload_url: &str,
        start: u64,
        fragment: Bytes,
        total: u64,
    ) -> Result<GraphRequest, GraphError> {
        let end = start + fragment.len() as u64 - 1;
        Ok(GraphRequest::new(Method::PUT, parse_link(upload_url)?)
            .without_auth()
            .header("Content-Range", format!("bytes {start}-{end}/{total}"))
            .bytes(fragment))
    }

    /// `GET {uploadUrl}`: the ranges the session still expects.
    pub fn upload_status(&self, upload_url: &str) -> Result<GraphRequest, GraphError> {
        Ok(GraphRequest::new(Method::GET, parse_link(upload_url)?).without_auth())
    }

    /// `DELETE {uploadUrl}`: abandon a session.
    pub fn cancel_upload(&self, upload_url: &str) -> Result<GraphRequest, GraphError> {
        Ok(GraphRequest::new(Method::DELETE, parse_link(upload_url)?).without_auth())
    }

    /// `GET /drive/items/{id}/content`: answered by a 302 to a pre-authenticated URL.
    pub fn download(&self, item_id: &str) -> GraphRequest {
        GraphRequest::new(Method::GET, self.drive_url(&["items", item_id, "content"]))
    }

    /// `POST /drive/items/{parent}/children` creating a folder, conflict behaviour explicit.
    pub fn create_folder(
        &self,
        parent_id: &str,
        name: &str,
        conflict: ConflictBehavior,
    ) -> Result<GraphRequest, GraphError> {
        GraphRequest::new(
            Method::POST,
            self.drive_url(&["items", parent_id, "children"]),
        )
        .json(&serde_json::json!({
            "name": name,
            "folder": {},
            "@microsoft.graph.conflictBehavior": conflict.as_str(),
        }))
    }

    /// `PATCH /drive/items/{id}`: rename and/or move (`parentReference.id`), under
    /// `If-Match` when given.
    pub fn update_item<P: serde::Serialize + ?Sized>(
        &self,
        item_id: &str,
        patch: &P,
        if_match: Option<&str>,
    ) -> Result<GraphRequest, GraphError> {
        let req = GraphRequest::new(Method::PATCH, self.drive_url(&["items", item_id]));
        match if_match {
            Some(tag) => req.header("If-Match", tag),
            None => req,
        }
        .json(patch)
    }

    /// `DELETE /drive/items/{id}` (to the recycle bin), under `If-Match` when given.
    pub fn delete_item(&self, item_id: &str, if_match: Option<&str>) -> GraphRequest {
        let req = GraphRequest::new(Method::DELETE, self.drive_url(&["items", item_id]));
        match if_match {
            Some(tag) => req.header("If-Match", tag),
            None => req,
        }
    }

    /// `GET` the drive resource (`id`, `driveType`, `webUrl`, `quota`).
    pub fn get_drive(&self) -> GraphRequest {
        GraphRequest::new(Method::GET, self.drive_url(&[]))
    }

    /// `GET /drive/root:/{path}:` — an item by its path from the drive root, each segment
    /// percent-encoded on its own [ADDR]. An empty path is the root itself.
    pub fn get_by_path(&self, path: &str) -> GraphRequest {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segs.is_empty() {
            return GraphRequest::new(Method::GET, self.drive_url(&["root"]));
        }
        let last = format!("{}:", segs[segs.len() - 1]);
        let mut all: Vec<&str> = vec!["root:"];
        all.extend_from_slice(&segs[..segs.len() - 1]);
        all.push(&last);
        GraphRequest::new(Method::GET, self.drive_url(&all))
    }

    /// `GET /drive/items/{parent}:/{name}:` — one child by name.
    pub fn get_child(&self, parent_id: &str, name: &str) -> GraphRequest {
        GraphRequest::new(
            Method::GET,
            self.drive_url(&["items", &format!("{parent_id}:"), &format!("{name}:")]),
        )
    }

    /// `GET /sites?search={query}`: sites the user can reach whose name matches.
    pub fn search_sites(&self, query: &str) -> GraphRequest {
        let mut url = self.root_url(&["sites"]);
        url.query_pairs_mut().append_pair("search", query);
        GraphRequest::new(Method::GET, url)
    }

    /// `GET /me/followedSites` (work or school accounts only).
    pub fn followed_sites(&self) -> GraphRequest {
        GraphRequest::new(Method::GET, self.mailbox_url(&["followedSites"]))
    }

    /// `GET /sites/{id}/drives`: the site's document libraries.
    pub fn site_drives(&self, site_id: &str) -> GraphRequest {
        GraphRequest::new(Method::GET, self.root_url(&["sites", site_id, "drives"]))
    }

    /// A collection's `@odata.nextLink`, followed verbatim.
    pub fn follow(&self, link: &str) -> Result<GraphRequest, GraphError> {
        Ok(GraphRequest::new(Method::GET, parse_link(link)?))
    }

    // ---- subscriptions ----

    /// `GET {drive}/root/subscriptions/socketIo`: the drive's Socket.IO notification endpoint
    /// (`/me/drive/…` or `/drives/{id}/…`, as [`Requests::for_drive`] aims).
    pub fn socket_io_endpoint(&self) -> GraphRequest {
        GraphRequest::new(
            Method::GET,
            self.drive_url(&["root", "subscriptions", "socketIo"]),
        )
    }

    /// `POST /subscriptions/{id}/reauthorize` (answer to `reauthorizationRequired`).
    pub fn reauthorize_subscription(&self, id: &str) -> GraphRequest {
        GraphRequest::new(
            Method::POST,
            self.root_url(&["subscriptions", id, "reauthorize"]),
        )
        .idempotent(true)
    }

    pub fn create_subscription(&self, sub: &Subscription) -> Result<GraphRequest, GraphError> {
        GraphRequest::new(Method::POST, self.root_url(&["subscriptions"])).json(sub)
    }

    pub fn renew_subscription(
        &self,
        id: &str,
        expiration: DateTime<Utc>,
    ) -> Result<GraphRequest, GraphError> {
        GraphRequest::new(Method::PATCH, self.root_url(&["subscriptions", id])).json(
            &serde_json::json!({
                "expirationDateTime": expiration.to_rfc3339_opts(SecondsFormat::Secs, true)
            }),
        )
    }

    pub fn delete_subscription(&self, id: &str) -> GraphRequest {
        GraphRequest::new(Method::DELETE, self.root_url(&["subscriptions", id]))
    }

    /// `POST /$batch` with at most 20 requests.
    pub fn batch(&self, body: &crate::batch::BatchBody) -> Result<GraphRequest, GraphError> {
        // A batch of reads and idempotent writes may be resent; one with a POST may not.
        let idempotent = body.requests.iter().all(|r| r.method != "POST");
        let mut req = GraphRequest::new(Method::POST, self.root_url(&["$batch"]))
            .json(body)?
            .idempotent(idempotent);
        req.cost = body.requests.len();
        Ok(req)
    }
}

fn parse_link(link: &str) -> Result<Url, GraphError> {
    Url::parse(link).map_err(|e| GraphError::Invalid(format!("bad link {link:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn requests() -> Requests {
        Requests::new(&GraphConfig::microsoft())
    }

    #[test]
    fn the_first_calendar_delta_call_carries_the_window_and_every_prefer() {
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap();
        let req = requests().calendar_delta_first(start, end);
        assert_eq!(req.method, Method::GET);
        assert_eq!(
            req.url.as_str(),
            "https://graph.microsoft.com/v1.0/me/calendarView/delta?startDateTime=2026-11-01T00%3A00%3A00Z&endDateTime=2027-02-01T00%3A00%3A00Z"
        );
        assert_eq!(
            req.header_value("prefer"),
            Some(r#"outlook.timezone="UTC", IdType="ImmutableId", odata.maxpagesize=1000"#)
        );
    }

    #[test]
    fn a_followed_link_is_used_verbatim_without_the_window() {
        let link = "https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=R0us%2Bmc";
        let req = requests().calendar_delta_follow(link).unwrap();
        assert_eq!(req.url.as_str(), link);
        assert!(!req.url.as_str().contains("startDateTime"));
        assert!(req.header_value("prefer").unwrap().contains("ImmutableId"));
    }

    #[test]
    fn a_new_files_upload_is_resent_only_when_it_replaces() {
        // Found by the emulator simulation (tests/sim, seed 6): the client resent an upload
        // whose answer was lost, met its own first copy and the file failed with 409.
        for (conflict, idempotent) in [
            (ConflictBehavior::Fail, false),
            (ConflictBehavior::Rename, false),
            (ConflictBehavior::Replace, true),
        ] {
            let req = requests().simple_upload("P", "a.pdf", Bytes::from_static(b"x"), conflict);
            assert_eq!(req.method, Method::PUT);
            assert_eq!(req.idempotent, idempotent, "{conflict:?}");
        }
        let replace = requests().upload_content(
            &crate::files::UploadTarget::replace("I", None),
            Bytes::from_static(b"x"),
        );
        assert!(replace.idempotent, "a content replace may be resent");
        // Found by the emulator simulation (seed 27): resent, a replace held to an eTag met
        // its own first write's eTag, got 412, and the file turned into a conflict.
        let held = requests().upload_content(
            &crate::files::UploadTarget::replace("I", Some("\"{E},2\"".into())),
            Bytes::from_static(b"x"),
        );
        assert!(!held.idempotent, "a replace held to an eTag is not resent");
    }

    #[test]
    fn an_event_create_carries_the_callers_transaction_id_and_is_not_idempotent() {
        let txn = uuid::Uuid::parse_str("6f1c2b4e-3f43-4c1d-9b0e-2f1f5f0f6a11").unwrap();
        let event = crate::models::Event {
            subject: Some("Review".into()),
            ..Default::default()
        };
        let req = requests().create_event(&event, txn).unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.url.path(), "/v1.0/me/events");
        assert!(!req.idempotent);
        let body = req.json_body().unwrap();
        assert_eq!(body["transactionId"], txn.to_string());
        assert_eq!(body["subject"], "Review");
        assert!(body.get("@odata.etag").is_none());
    }

    #[test]
    fn patch_and_delete_send_if_match_and_ids_are_percent_encoded() {
        let r = requests();
        let req = r
            .update_event(
                "AAMk/a+b=",
                &serde_json::json!({"subject":"x"}),
                "W/\"ck1\"",
            )
            .unwrap();
        assert_eq!(req.url.path(), "/v1.0/me/events/AAMk%2Fa+b=");
        assert_eq!(req.header_value("If-Match"), Some("W/\"ck1\""));
        let del = r.delete_event("id1", Some("W/\"ck2\""));
        assert_eq!(del.method, Method::DELETE);
        assert_eq!(del.header_value("if-match"), Some("W/\"ck2\""));
    }

    #[test]
    fn cancel_posts_the_comment_to_the_cancel_action() {
        let req = requests()
            .cancel_event("e1", Some("Moved to Odoo"))
            .unwrap();
        assert_eq!(req.url.path(), "/v1.0/me/events/e1/cancel");
        assert_eq!(req.json_body().unwrap()["comment"], "Moved to Odoo");
    }

    #[test]
    fn uploads_address_the_parent_by_id_and_name_with_explicit_conflict_behaviour() {
        let req = requests().simple_upload(
            "PARENT",
            "my file #1.pdf",
            Bytes::from_static(b"x"),
            ConflictBehavior::Replace,
        );
        assert_eq!(req.method, Method::PUT);
        assert_eq!(
            req.url.as_str(),
            "https://graph.microsoft.com/v1.0/me/drive/items/PARENT:/my%20file%20%231.pdf:/content?%40microsoft.graph.conflictBehavior=replace"
        );
        let s = requests()
            .create_upload_session("PARENT", "big.bin", 1_000_000, ConflictBehavior::Fail)
            .unwrap();
        assert!(s.url.path().ends_with("/big.bin:/createUploadSession"));
        let body = s.json_body().unwrap();
        assert_eq!(body["item"]["@microsoft.graph.conflictBehavior"], "fail");
        assert_eq!(body["item"]["fileSize"], 1_000_000);
    }

    #[test]
    fn folder_create_move_and_delete_are_built_with_conflict_behaviour_and_if_match() {
        let r = requests();
        let f = r
            .create_folder("P1", "Odoo", ConflictBehavior::Fail)
            .unwrap();
        assert_eq!(f.url.path(), "/v1.0/me/drive/items/P1/children");
        let body = f.json_body().unwrap();
        assert_eq!(body["@microsoft.graph.conflictBehavior"], "fail");
        assert_eq!(body["folder"], serde_json::json!({}));
        let m = r
            .update_item(
                "I1",
                &serde_json::json!({"parentReference": {"id": "P2"}, "name": "b.txt"}),
                Some("\"e1\""),
            )
            .unwrap();
        assert_eq!(m.method, Method::PATCH);
        assert_eq!(m.header_value("If-Match"), Some("\"e1\""));
        let d = r.delete_item("I1", None);
        assert_eq!(d.method, Method::DELETE);
        assert!(d.header_value("If-Match").is_none());
    }

    #[test]
    fn replacing_content_addresses_the_item_by_id_under_if_match() {
        let t = crate::files::UploadTarget::replace("I9", Some("\"c7\"".into()));
        let put = requests().upload_content(&t, Bytes::from_static(b"x"));
        assert_eq!(put.method, Method::PUT);
        assert_eq!(put.url.path(), "/v1.0/me/drive/items/I9/content");
        assert_eq!(put.header_value("If-Match"), Some("\"c7\""));
        let s = requests().upload_session_for(&t, 9_000_000).unwrap();
        assert_eq!(s.url.path(), "/v1.0/me/drive/items/I9/createUploadSession");
        assert_eq!(s.header_value("If-Match"), Some("\"c7\""));
        assert_eq!(s.json_body().unwrap()["item"]["fileSize"], 9_000_000);
    }

    #[test]
    fn an_upload_fragment_has_no_token_and_a_byte_range() {
        let req = requests()
            .upload_fragment(
                "https://tenant.sharepoint.com/up/xyz?guid=1",
                327_680,
                Bytes::from(vec![0u8; 100]),
                327_780,
            )
            .unwrap();
        assert!(!req.auth);
        assert_eq!(
            req.header_value("Content-Range"),
            Some("bytes 327680-327779/327780")
        );
    }

    #[test]
    fn a_library_is_addressed_as_drives_by_id_and_paths_are_encoded_per_segment() {
        let r = requests().for_drive(Some("b!abc"));
        assert_eq!(
            r.get_item("I1").url.as_str(),
            "https://graph.microsoft.com/v1.0/drives/b!abc/items/I1"
        );
        assert_eq!(
            r.drive_delta_first(None).url.path(),
            "/v1.0/drives/b!abc/root/delta"
        );
        assert_eq!(
            r.get_by_path("Odoo Sync/sale.order/12").url.as_str(),
            "https://graph.microsoft.com/v1.0/drives/b!abc/root:/Odoo%20Sync/sale.order/12:"
        );
        assert_eq!(r.get_by_path("").url.path(), "/v1.0/drives/b!abc/root");
        let mine = r.for_drive(None);
        assert_eq!(
            mine.get_child("P", "a #1.pdf").url.as_str(),
            "https://graph.microsoft.com/v1.0/me/drive/items/P:/a%20%231.pdf:"
        );
        assert_eq!(
            mine.search_sites("sales team").url.as_str(),
            "https://graph.microsoft.com/v1.0/sites?search=sales+team"
        );
        assert_eq!(mine.followed_sites().url.path(), "/v1.0/me/followedSites");
        assert_eq!(
            mine.site_drives("h.sharepoint.com,A,B").url.path(),
            "/v1.0/sites/h.sharepoint.com,A,B/drives"
        );
    }

    #[test]
    fn a_national_cloud_and_another_mailbox_change_only_the_root_and_prefix() {
        let mut c =
            GraphConfig::with_base_url(Url::parse("https://graph.microsoft.us/v1.0").unwrap());
        c.mailbox_path = "users/ann@example.com".into();
        let req = Requests::new(&c).get_event("e1");
        assert_eq!(
            req.url.as_str(),
            "https://graph.microsoft.us/v1.0/users/ann@example.com/events/e1"
        );
        assert_eq!(
            Requests::new(&c).mailbox_batch_url(&["events"]),
            "/users/ann@example.com/events"
        );
        let me = GraphConfig::with_base_url(Url::parse("http://127.0.0.1:9/v1.0/").unwrap());
        assert_eq!(
            Requests::new(&me).mailbox_batch_url(&["events"]),
            "/me/events"
        );
    }
}
