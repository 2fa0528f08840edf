//! `GraphClient`: the typed operations, on top of the transport.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::GraphConfig;
use crate::delta::{DeltaLink, DeltaRound};
use crate::error::{decode, GraphError};
use crate::models::{DriveInfo, DriveItem, Event, SiteInfo, SocketIoEndpoint, Subscription};
use crate::requests::Requests;
use crate::transport::{GraphRequest, GraphResponse, Seams, Transport};

/// Pages read from one collection (sites, libraries) before giving up on a runaway server.
const COLLECTION_PAGES_MAX: usize = 1_000;

/// A Graph client for one mailbox and drive. Cheap to clone; clones share the transport,
/// the mailbox budget and the jitter RNG.
#[derive(Clone)]
pub struct GraphClient {
    pub(crate) transport: Arc<Transport>,
    pub(crate) requests: Requests,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("base_url", &self.transport.config.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    /// Checks the configuration (TLS unless loopback, fragment sizes, limits) and builds
    /// the client.
    pub fn new(config: GraphConfig, seams: Seams) -> Result<Self, GraphError> {
        let requests = Requests::new(&config);
        Ok(GraphClient {
            transport: Arc::new(Transport::new(config, seams)?),
            requests,
        })
    }

    pub fn config(&self) -> &GraphConfig {
        &self.transport.config
    }

    /// "Now" on the clock the client runs on (its `Seams`): the wall clock in the app, the
    /// virtual one in tests, so that what a caller computes from it (a lookback window)
    /// agrees with the times the service stamps.
    pub fn now(&self) -> DateTime<Utc> {
        self.transport.clock.now()
    }

    /// The request builders this client uses, for inspection and for `$batch` items.
    pub fn requests(&self) -> &Requests {
        &self.requests
    }

    /// Sends any request through the full pipeline (governor, token, retries), for calls
    /// this crate has no typed method for.
    pub async fn send(&self, req: &GraphRequest) -> Result<GraphResponse, GraphError> {
        self.transport.send(req).await
    }

    /// Like `send`, but hands back the response with its body unread (large downloads).
    pub async fn send_streaming(
        &self,
        req: &GraphRequest,
    ) -> Result<reqwest::Response, GraphError> {
        self.transport.send_streaming(req).await
    }

    pub(crate) async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        req: &GraphRequest,
        what: &'static str,
    ) -> Result<T, GraphError> {
        let resp = self.transport.send(req).await?;
        decode(what, &resp.body)
    }

    // ---- calendar ----

    /// Starts a calendarView delta round over `[start, end)`.
    pub fn calendar_delta(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> DeltaRound<Event> {
        DeltaRound::new(
            self.clone(),
            Ok(self.requests.calendar_delta_first(start, end)),
            crate::delta::LinkKind::Calendar,
        )
    }

    /// Continues from the deltaLink the caller persisted after the last applied round.
    pub fn calendar_delta_resume(&self, link: &DeltaLink) -> DeltaRound<Event> {
        DeltaRound::new(
            self.clone(),
            self.requests.calendar_delta_follow(link.as_str()),
            crate::delta::LinkKind::Calendar,
        )
    }

    pub async fn get_event(&self, id: &str) -> Result<Event, GraphError> {
        self.send_json(&self.requests.get_event(id), "event").await
    }

    /// Creates an event. `transaction_id` is chosen (and recorded) by the caller before the
    /// first attempt, so a resend after `MaybeApplied` reuses it and Graph de-duplicates.
    pub async fn create_event(
        &self,
        event: &Event,
        transaction_id: uuid::Uuid,
    ) -> Result<Event, GraphError> {
        self.send_json(&self.requests.create_event(event, transaction_id)?, "event")
            .await
    }

    /// Updates changed properties under `If-Match`; a stale eTag is `PreconditionFailed`.
    pub async fn update_event<P: serde::Serialize + ?Sized>(
        &self,
        id: &str,
        patch: &P,
        if_match: &str,
    ) -> Result<Event, GraphError> {
        self.send_json(&self.requests.update_event(id, patch, if_match)?, "event")
            .await
    }

    /// Deletes an event (an organizer's delete notifies attendees without a message; use
    /// `cancel_event` to send one).
    pub async fn delete_event(&self, id: &str, if_match: Option<&str>) -> Result<(), GraphError> {
        self.send(&self.requests.delete_event(id, if_match))
            .await
            .map(drop)
    }

    /// Cancels a meeting the user organizes, sending `comment` to the attendees.
    pub async fn cancel_event(&self, id: &str, comment: Option<&str>) -> Result<(), GraphError> {
        self.send(&self.requests.cancel_event(id, comment)?)
            .await
            .map(drop)
    }

    // ---- drive ----

    /// Starts a drive delta round enumerating everything.
    pub fn drive_delta(&self) -> DeltaRound<DriveItem> {
        DeltaRound::new(
            self.clone(),
            Ok(self.requests.drive_delta_first(None)),
            crate::delta::LinkKind::Drive,
        )
    }

    /// A round that returns no items, only a deltaLink for "from now on".
    pub fn drive_delta_latest(&self) -> DeltaRound<DriveItem> {
        DeltaRound::new(
            self.clone(),
            Ok(self.requests.drive_delta_first(Some("latest"))),
            crate::delta::LinkKind::Drive,
        )
    }

    /// Continues from a persisted deltaLink, or from the `Location` of a
    /// `ResyncRequired` (which starts a fresh enumeration).
    pub fn drive_delta_resume(&self, link: &DeltaLink) -> DeltaRound<DriveItem> {
        DeltaRound::new(
            self.clone(),
            self.requests.drive_delta_follow(link.as_str()),
            crate::delta::LinkKind::Drive,
        )
    }

    pub async fn get_item(&self, item_id: &str) -> Result<DriveItem, GraphError> {
        self.send_json(&self.requests.get_item(item_id), "driveItem")
            .await
    }

    /// Creates a folder; with `ConflictBehavior::Fail` a clash is `Rejected { status: 409 }`.
    pub async fn create_folder(
        &self,
        parent_id: &str,
        name: &str,
        conflict: crate::models::ConflictBehavior,
    ) -> Result<DriveItem, GraphError> {
        crate::names::check_name(name)?;
        self.send_json(
            &self.requests.create_folder(parent_id, name, conflict)?,
            "driveItem",
        )
        .await
    }

    /// Renames or moves an item; a stale `if_match` is `PreconditionFailed`.
    pub async fn update_item<P: serde::Serialize + ?Sized>(
        &self,
        item_id: &str,
        patch: &P,
        if_match: Option<&str>,
    ) -> Result<DriveItem, GraphError> {
        self.send_json(
            &self.requests.update_item(item_id, patch, if_match)?,
            "driveItem",
        )
        .await
    }

    /// Moves an item to the recycle bin; a stale `if_match` is `PreconditionFailed`.
    pub async fn delete_item(
        &self,
        item_id: &str,
        if_match: Option<&str>,
    ) -> Result<(), GraphError> {
        self.send(&self.requests.delete_item(item_id, if_match))
            .await
            .map(drop)
    }

    // ---- drive selection, paths, folders ----

    /// The same client (shared transport and budget) aimed at another drive: `Some(id)` →
    /// `/drives/{id}` (a SharePoint document library), `None` → the user's OneDrive.
    pub fn with_drive(&self, drive_id: Option<&str>) -> GraphClient {
        GraphClient {
            transport: self.transport.clone(),
            requests: self.requests.for_drive(drive_id),
        }
    }

    /// The drive this client targets.
    pub async fn drive_info(&self) -> Result<DriveInfo, GraphError> {
        self.send_json(&self.requests.get_drive(), "drive").await
    }

    /// An item by its path from the drive root (`NotFound` when absent).
    pub async fn get_item_by_path(&self, path: &str) -> Result<DriveItem, GraphError> {
        self.send_json(&self.requests.get_by_path(path), "driveItem")
            .await
    }

    /// The child `name` of `parent_id`, or `None`.
    pub async fn get_child(
        &self,
        parent_id: &str,
        name: &str,
    ) -> Result<Option<DriveItem>, GraphError> {
        match self
            .send_json(&self.requests.get_child(parent_id, name), "driveItem")
            .await
        {
            Ok(item) => Ok(Some(item)),
            Err(GraphError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The folder `name` under `parent_id`, created when missing. Never renames: the
    /// create says `fail`, and a clash (409 `nameAlreadyExists`) or a lost answer is
    /// answered by looking the folder up. A *file* of that name is `Rejected`.
    pub async fn ensure_folder(
        &self,
        parent_id: &str,
        name: &str,
    ) -> Result<DriveItem, GraphError> {
        let looked_up = |found: Option<DriveItem>| match found {
            Some(item) if item.is_folder() => Ok(item),
            Some(_) => Err(GraphError::Rejected {
                status: 409,
                code: "nameAlreadyExists".into(),
                message: format!("{name:?} exists and is a file, not a folder"),
                request_id: None,
            }),
            None => Err(GraphError::Invalid(format!(
                "folder {name:?} was reported as existing but cannot be found"
            ))),
        };
        match self
            .create_folder(parent_id, name, crate::models::ConflictBehavior::Fail)
            .await
        {
            Ok(item) => Ok(item),
            Err(GraphError::Rejected { status: 409, .. }) => {
                looked_up(self.get_child(parent_id, name).await?)
            }
            Err(GraphError::MaybeApplied { reason }) => {
                match self.get_child(parent_id, name).await? {
                    Some(found) => looked_up(Some(found)),
                    None => Err(GraphError::MaybeApplied { reason }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The folder at `path` (segments separated by `/`) from the drive root, creating
    /// what is missing; one look-up when it all exists.
    pub async fn ensure_folder_path(&self, path: &str) -> Result<DriveItem, GraphError> {
        match self.get_item_by_path(path).await {
            Ok(item) if item.is_folder() => return Ok(item),
            Ok(_) => {
                return Err(GraphError::Rejected {
                    status: 409,
                    code: "nameAlreadyExists".into(),
                    message: format!("{path:?} is a file, not a folder"),
                    request_id: None,
                })
            }
            Err(GraphError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let mut current = self.get_item_by_path("").await?;
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            current = self.ensure_folder(&current.id, seg).await?;
        }
        Ok(current)
    }

    // ---- sites and libraries ----

    /// Reads every page of a collection (bounded by `COLLECTION_PAGES_MAX`).
    async fn collect<T: serde::de::DeserializeOwned>(
        &self,
        first: GraphRequest,
        what: &'static str,
    ) -> Result<Vec<T>, GraphError> {
        let mut out = Vec::new();
        let mut req = first;
        for _ in 0..COLLECTION_PAGES_MAX {
            let page: crate::models::Page<T> = self.send_json(&req, what).await?;
            out.extend(page.value);
            match page.next_link {
                Some(next) => req = self.requests.follow(&next)?,
                None => return Ok(out),
            }
        }
        Err(GraphError::Invalid(format!(
            "{what} ran past {COLLECTION_PAGES_MAX} pages"
        )))
    }

    /// Sites the user can reach whose name matches `query` (`/sites?search=`).
    pub async fn search_sites(&self, query: &str) -> Result<Vec<SiteInfo>, GraphError> {
        self.collect(self.requests.search_sites(query), "sites")
            .await
    }

    /// Sites the user follows (`/me/followedSites`; work or school accounts only).
    pub async fn followed_sites(&self) -> Result<Vec<SiteInfo>, GraphError> {
        self.collect(self.requests.followed_sites(), "sites").await
    }

    /// A site's document libraries (`/sites/{id}/drives`).
    pub async fn site_drives(&self, site_id: &str) -> Result<Vec<DriveInfo>, GraphError> {
        self.collect(self.requests.site_drives(site_id), "drives")
            .await
    }

    // ---- subscriptions ----

    /// The drive's socketIo notification endpoint (`GET {drive}/root/subscriptions/socketIo`;
    /// delegated access only, `Files.Read` at least). Each call hands out a new endpoint.
    pub async fn socket_io_endpoint(&self) -> Result<SocketIoEndpoint, GraphError> {
        self.send_json(&self.requests.socket_io_endpoint(), "socketIo endpoint")
            .await
    }

    pub async fn reauthorize_subscription(&self, id: &str) -> Result<(), GraphError> {
        self.send(&self.requests.reauthorize_subscription(id))
            .await
            .map(drop)
    }

    pub async fn create_subscription(
        &self,
        sub: &Subscription,
    ) -> Result<Subscription, GraphError> {
        self.send_json(&self.requests.create_subscription(sub)?, "subscription")
            .await
    }

    pub async fn renew_subscription(
        &self,
        id: &str,
        expiration: DateTime<Utc>,
    ) -> Result<Subscription, GraphError> {
        self.send_json(
            &self.requests.renew_subscription(id, expiration)?,
            "subscription",
        )
        .await
    }

    pub async fn delete_subscription(&self, id: &str) -> Result<(), GraphError> {
        self.send(&self.requests.delete_subscription(id))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{StaticToken, SystemClock};

    fn is_send<T: Send>(_: &T) {}

    #[test]
    fn the_client_and_its_futures_can_move_between_threads() {
        let client = GraphClient::new(
            GraphConfig::microsoft(),
            Seams {
                tokens: Arc::new(StaticToken::new("t")),
                clock: Arc::new(SystemClock),
                jitter_seed: 0,
                budget: None,
            },
        )
        .unwrap();
        is_send(&client);
        is_send(&client.get_event("e"));
        is_send(&client.batch(Vec::new()));
        let mut round = client.calendar_delta(Utc::now(), Utc::now());
        is_send(&round.next_page());
        let target = crate::files::UploadTarget::replace("i", None);
        is_send(&client.upload(
            &target,
            1,
            || std::future::ready(Ok(std::io::Cursor::new(vec![0u8]))),
            |_| {},
        ));
        is_send(&client.download("i", None, tokio::io::sink()));
    }
}
