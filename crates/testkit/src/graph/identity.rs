//! Identity platform (placeholder).
use super::{GraphEmulator, GraphError};
use axum::extract::State;
use axum::response::Response;
#[derive(Default)]
pub struct IdentityState;
impl IdentityState {
    pub fn decide_device_code(&mut self, _c: &str, _u: Option<String>) -> Result<(), GraphError> {
        Ok(())
    }
}
pub async fn authorize_page(State(_em): State<GraphEmulator>) -> Response {
    Response::default()
}
pub async fn authorize_submit(State(_em): State<GraphEmulator>) -> Response {
    Response::default()
}
pub async fn token(State(_em): State<GraphEmulator>) -> Response {
    Response::default()
}
pub async fn devicecode(State(_em): State<GraphEmulator>) -> Response {
    Response::default()
}
pub async fn devicelogin_page(State(_em): State<GraphEmulator>) -> Response {
    Response::default()
}
pub async fn devicelogin_submit(State(_em): State<GraphEmulator>) -> Response {
    Response::default()
}
