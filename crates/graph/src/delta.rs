//! Delta rounds. A round is followed page by page; its deltaLink is only handed out once the
//! last page has been read, and the caller persists it only after applying the whole round.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::client::GraphClient;
use crate::error::{decode, GraphError};
use crate::models::Page;
use crate::transport::GraphRequest;

/// An opaque deltaLink to persist between rounds. Never parse or edit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeltaLink(String);

impl DeltaLink {
    /// A link read back from storage (or a resync `Location`).
    pub fn from_persisted(link: impl Into<String>) -> Self {
        DeltaLink(link.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum LinkKind {
    Calendar,
    Drive,
}

/// Safety valve against a server that never ends a round.
pub const DELTA_PAGES_MAX: u32 = 100_000;

/// One delta round in progress.
///
/// ```text
/// let mut round = client.calendar_delta(start, end);
/// while let Some(page) = round.next_page().await? { apply(page)?; }
/// store.save(round.finish()?);   // only now
/// ```
#[derive(Debug)]
pub struct DeltaRound<T> {
    client: GraphClient,
    next: Option<Result<GraphRequest, GraphError>>,
    delta_link: Option<DeltaLink>,
    kind: LinkKind,
    pages: u32,
    _items: PhantomData<fn() -> T>,
}

impl<T: serde::de::DeserializeOwned> DeltaRound<T> {
    pub(crate) fn new(
        client: GraphClient,
        first: Result<GraphRequest, GraphError>,
        kind: LinkKind,
    ) -> Self {
        DeltaRound {
            client,
            next: Some(first),
            delta_link: None,
            kind,
            pages: 0,
            _items: PhantomData,
        }
    }

    /// The next page's items (possibly empty), or `None` once the round is complete.
    /// On an error the same page can be requested again by calling this again.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, GraphError> {
        let req = match self.next.take() {
            None => return Ok(None),
            Some(Err(e)) => return Err(e),
            Some(Ok(req)) => req,
        };
        if self.pages >= DELTA_PAGES_MAX {
            return Err(GraphError::Invalid(format!(
                "delta round exceeded {DELTA_PAGES_MAX} pages"
            )));
        }
        let resp = match self.client.send(&req).await {
            Ok(r) => r,
            Err(e) => {
                if !matches!(e, GraphError::ResyncRequired { .. }) {
                    self.next = Some(Ok(req));
                }
                return Err(e);
            }
        };
        let page: Page<T> = match decode("delta page", &resp.body) {
            Ok(p) => p,
            Err(e) => {
                self.next = Some(Ok(req));
                return Err(e);
            }
        };
        self.pages += 1;
        match (page.next_link, page.delta_link) {
            (Some(next), _) => {
                self.next = Some(match self.kind {
                    LinkKind::Calendar => self.client.requests().calendar_delta_follow(&next),
                    LinkKind::Drive => self.client.requests().drive_delta_follow(&next),
                });
            }
            (None, Some(delta)) => self.delta_link = Some(DeltaLink(delta)),
            (None, None) => {
                return Err(GraphError::Decode {
                    what: "delta page",
                    path: "@odata.nextLink".into(),
                    message: "a delta page carried neither nextLink nor deltaLink".into(),
                })
            }
        }
        Ok(Some(page.value))
    }

    /// True once the last page (the one with the deltaLink) has been read.
    pub fn is_complete(&self) -> bool {
        self.delta_link.is_some()
    }

    /// Pages read so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// The link for the next round; an error if the round is not complete, so a half-read
    /// round can never be committed.
    pub fn finish(self) -> Result<DeltaLink, GraphError> {
        self.delta_link.ok_or_else(|| {
            GraphError::Invalid("delta round not complete: keep calling next_page".into())
        })
    }
}
