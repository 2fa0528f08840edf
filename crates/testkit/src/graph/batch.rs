//! $batch (placeholder).
use super::http::{GReq, GResult};
use super::{GraphEmulator, GraphError};
pub async fn handle(_em: &GraphEmulator, _req: &GReq) -> GResult {
    Err(GraphError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "notSupported",
        "not emulated yet",
    ))
}
