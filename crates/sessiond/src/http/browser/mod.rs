//! The pages a person meets in a browser: the authorization endpoint with
//! its login and consent pages, RP-Initiated Logout, the account page and
//! the admin pages. HTML in, HTML out: errors here are pages, never JSON,
//! and never a `WWW-Authenticate` challenge.
// Helpers here return the page that refuses a request as their error; a
// `Response` is large, but it is built once per refused request, on a path
// that renders HTML anyway.
#![allow(clippy::result_large_err)]
mod account;
mod admin;
mod authorize;
pub mod cookies;
mod end_session;
mod forms;
pub use forms::issuer_origin;
mod login;
pub mod pages;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::app::App;
use crate::http::oidc::discovery::{AUTHORIZE_PATH, END_SESSION_PATH};

/// Every browser route.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize::authorize_get).post(authorize::authorize_post))
        .route("/login", get(login::login_page).post(login::login))
        .route("/consent", post(login::consent))
        .route(END_SESSION_PATH, get(end_session::end_session_get).post(end_session::end_session_post))
        .route("/account", get(account::account))
        .route("/account/sessions/{sid}/end", post(account::end_one))
        .route("/account/sessions/end-others", post(account::end_others))
        .route("/account/sessions/end-all", post(account::end_all))
        .route("/account/password", post(account::change_password))
        .route("/account/consents/{client_id}/revoke", post(account::revoke_consent))
        .route("/admin", get(admin::admin))
        .route("/admin/users/{name}", get(admin::user))
        .route("/admin/users/{name}/sessions/{sid}/end", post(admin::end_one))
        .route("/admin/users/{name}/sessions/end-all", post(admin::end_all))
        .route("/admin/users/{name}/disable", post(admin::disable))
        .route("/admin/users/{name}/enable", post(admin::enable))
        .route("/static/sessiond.css", get(pages::stylesheet))
}
