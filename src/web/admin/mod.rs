//! The administration under `/admin`: sign-in, the poles' profiles, members and
//! publications, followers, replies, follows between instances and the delivery queue.

pub mod session;

use axum::Router;

use super::AppState;

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
}
