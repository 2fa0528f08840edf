//! Subscriptions (placeholder).
use super::http::{GReq, GResult};
use super::{GraphEmulator, GraphError};
pub struct Subscription;
pub async fn handle(_em: &GraphEmulator, _req: &GReq, _segs: &[&str]) -> GResult {
    Err(GraphError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "notSupported",
        "not emulated yet",
    ))
}
pub fn notify_event(_em: &GraphEmulator, _user: &str, _id: &str, _change: &str) {}
pub fn trigger_lifecycle(_em: &GraphEmulator, _id: &str, _ev: &str) -> Result<(), GraphError> {
    Ok(())
}
pub fn notify_drive(_em: &GraphEmulator, _user: &str) {}
