//! SharePoint sites and their document libraries, as far as a sync client choosing a
//! target library needs them: `GET /sites?search=`, `GET /sites/{id}`,
//! `GET /sites/{id}/drives`, `GET /me/followedSites`, and `/drives/{id}` for a library the
//! user can reach (the drive itself is served by `drive.rs`).
//!
//! Facts, with sources (see the crate README):
//! * a site id is `{hostname},{site-collection guid},{web guid}` [SITE-FOLLOWED];
//! * `followedSites` is work or school only and needs `Sites.Read.All` (or
//!   `Sites.ReadWrite.All`); search and `/drives` need the same or `Files.Read.All`
//!   [SITE-FOLLOWED][SITE-SEARCH][DRIVE-LIST];
//! * a library is a drive with `driveType: documentLibrary` [CSDL].

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::http::{GReq, GResp, GResult};
use super::state::{DriveType, World};
use super::time::offset_string;
use super::{drive, GraphEmulator, GraphError};

/// One site with its libraries and who may reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteInfo {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub web_url: String,
    /// Document libraries, the first being "Documents".
    pub drive_ids: Vec<String>,
    /// User ids that can open the site (and write its libraries).
    pub members: Vec<String>,
    /// User ids following the site (`/me/followedSites`).
    pub followers: Vec<String>,
    pub created: DateTime<Utc>,
}

impl World {
    /// A team site with one library "Documents"; `members` (ids or mails) can reach it
    /// and follow it.
    pub fn create_site(
        &mut self,
        display_name: &str,
        members: &[String],
        now: DateTime<Utc>,
    ) -> Result<SiteInfo, GraphError> {
        let member_ids: Vec<String> = members
            .iter()
            .map(|m| self.resolve_user(m))
            .collect::<Result<_, _>>()?;
        let Some(owner) = member_ids
            .first()
            .and_then(|id| self.users.get(id))
            .cloned()
        else {
            return Err(GraphError::bad_request(
                "invalidRequest",
                "a site needs at least one member",
            ));
        };
        let domain = owner.mail.rsplit('@').next().unwrap_or("contoso.com");
        let tenant = domain.split('.').next().unwrap_or("contoso");
        let host = format!("{tenant}.sharepoint.com");
        let name: String = display_name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let id = format!(
            "{host},{},{}",
            self.uuid().to_ascii_uppercase(),
            self.uuid().to_ascii_uppercase()
        );
        let drive_id = format!("b!{}", self.opaque(48));
        let root_id = self.drive_item_id(DriveType::Business, &drive_id);
        let mut library =
            drive::Drive::new(drive_id.clone(), DriveType::Business, &owner, root_id, now);
        library.library = Some("Documents".into());
        self.drives.insert(drive_id.clone(), library);
        let site = SiteInfo {
            id: id.clone(),
            web_url: format!("https://{host}/sites/{name}"),
            name,
            display_name: display_name.to_string(),
            drive_ids: vec![drive_id],
            followers: member_ids.clone(),
            members: member_ids,
            created: now,
        };
        self.sites.insert(id, site.clone());
        Ok(site)
    }

    /// True when `user_id` may open drive `drive_id`: their own, or a library of a site
    /// they are a member of.
    pub fn can_reach_drive(&self, user_id: &str, drive_id: &str) -> bool {
        self.users
            .get(user_id)
            .is_some_and(|u| u.drive_id == drive_id)
            || self.sites.values().any(|s| {
                s.drive_ids.iter().any(|d| d == drive_id) && s.members.iter().any(|m| m == user_id)
            })
    }
}

fn site_json(s: &SiteInfo) -> Value {
    let mut parts = s.id.split(',');
    let _host = parts.next();
    let site_guid = parts.next().unwrap_or_default();
    let web_guid = parts.next().unwrap_or_default();
    json!({
        "id": s.id,
        "name": s.name,
        "displayName": s.display_name,
        "webUrl": s.web_url,
        "createdDateTime": offset_string(s.created),
        "lastModifiedDateTime": offset_string(s.created),
        "sharepointIds": {"siteId": site_guid, "webId": web_guid, "siteUrl": s.web_url},
        "siteCollection": {"hostname": s.id.split(',').next().unwrap_or_default()},
    })
}

fn needs_sites_scope(req: &GReq) -> Result<(), GraphError> {
    let ok = req.scopes.split_whitespace().any(|s| {
        let s = s.trim_start_matches("https://graph.microsoft.com/");
        [
            "Sites.Read.All",
            "Sites.ReadWrite.All",
            "Sites.Manage.All",
            "Sites.FullControl.All",
        ]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(s))
    });
    if ok {
        Ok(())
    } else {
        Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "accessDenied",
            "Access denied",
        ))
    }
}

fn only_get(req: &GReq) -> Result<(), GraphError> {
    if req.method == Method::GET {
        Ok(())
    } else {
        Err(GraphError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalidRequest",
            "The HTTP method is not allowed for this resource.",
        ))
    }
}

/// `GET /me/followedSites`: the sites the user follows; personal accounts get 400
/// (the API is OneDrive for Business only [SITE-FOLLOWED]).
pub fn followed(em: &GraphEmulator, req: &GReq) -> GResult {
    only_get(req)?;
    needs_sites_scope(req)?;
    let world = em.world();
    let user = world.user(&req.user_id)?;
    if user.drive_type == DriveType::Personal {
        return Err(GraphError::bad_request(
            "invalidRequest",
            "This API is only supported for OneDrive for Business.",
        ));
    }
    let value: Vec<Value> = world
        .sites
        .values()
        .filter(|s| s.followers.contains(&req.user_id))
        .map(site_json)
        .collect();
    Ok(GResp::ok(json!({
        "@odata.context": format!("{}/$metadata#sites", req.base()),
        "value": value,
    })))
}

/// `/sites?search=`, `/sites/{id}`, `/sites/{id}/drives`.
pub fn handle(em: &GraphEmulator, req: &GReq, rest: &[&str]) -> GResult {
    only_get(req)?;
    needs_sites_scope(req)?;
    let world = em.world();
    let reachable = |s: &&SiteInfo| s.members.contains(&req.user_id);
    match rest {
        [] => {
            // Search matches names and titles, case-insensitively; without `search`
            // the tenant-wide listing is refused as on the service for delegated calls
            // without a query (the client always sends one) [SITE-SEARCH].
            let Some(q) = req.query("search") else {
                return Err(GraphError::bad_request(
                    "invalidRequest",
                    "The search query parameter is required.",
                ));
            };
            let q = q.trim().trim_matches('"').to_lowercase();
            let value: Vec<Value> = world
                .sites
                .values()
                .filter(reachable)
                .filter(|s| {
                    q.is_empty()
                        || q == "*"
                        || s.display_name.to_lowercase().contains(&q)
                        || s.name.to_lowercase().contains(&q)
                })
                .map(site_json)
                .collect();
            Ok(GResp::ok(json!({
                "@odata.context": format!("{}/$metadata#sites", req.base()),
                "value": value,
            })))
        }
        [id, tail @ ..] => {
            let id = super::http::percent_decode(id);
            let site = world
                .sites
                .get(&id)
                .filter(|s| s.members.contains(&req.user_id))
                .ok_or_else(GraphError::item_not_found)?;
            match tail {
                [] => Ok(GResp::ok(site_json(site))),
                ["drives"] => {
                    let value: Vec<Value> = site
                        .drive_ids
                        .iter()
                        .filter_map(|d| world.drives.get(d))
                        .map(|d| drive::drive_json(d, req))
                        .collect();
                    Ok(GResp::ok(json!({
                        "@odata.context": format!("{}/$metadata#drives", req.base()),
                        "value": value,
                    })))
                }
                [first, ..] => Err(GraphError::unsupported_segment(first)),
            }
        }
    }
}
