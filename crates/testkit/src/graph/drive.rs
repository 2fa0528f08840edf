//! OneDrive (placeholder until the drive slice lands).
use super::http::{GReq, GResult};
use super::state::{DriveType, UserInfo};
use super::{GraphEmulator, GraphError};
use axum::extract::{Path, State};
use axum::response::Response;
pub struct Drive;
impl Drive {
    pub fn new(
        _id: String,
        _t: DriveType,
        _u: &UserInfo,
        _root: String,
        _now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Drive
    }
    pub fn expire_tokens(&mut self) {}
}
pub struct UploadSession;
pub struct DownloadTicket;
pub fn handle(_em: &GraphEmulator, _req: &GReq, _path: &str) -> GResult {
    Err(GraphError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "notSupported",
        "not emulated yet",
    ))
}
pub async fn upload_entry(State(_em): State<GraphEmulator>, Path(_id): Path<String>) -> Response {
    Response::default()
}
pub async fn download_entry(State(_em): State<GraphEmulator>, Path(_id): Path<String>) -> Response {
    Response::default()
}
pub fn put_for_seed(_em: &GraphEmulator, _u: &str, _p: &str, _b: &[u8]) -> Result<(), GraphError> {
    Ok(())
}
