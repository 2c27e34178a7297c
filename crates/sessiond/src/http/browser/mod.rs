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

use crate::http::oidc::discovery::{AUTHORIZE_PATH, END_SESSION_PATH};
use crate::http::routes::Routes;

/// Every browser route.
pub fn routes() -> Routes {
    Routes::new()
        .get(AUTHORIZE_PATH, authorize::authorize_get)
        .post(AUTHORIZE_PATH, authorize::authorize_post)
        .get("/login", login::login_page)
        .post("/login", login::login)
        .post("/consent", login::consent)
        .get(END_SESSION_PATH, end_session::end_session_get)
        .post(END_SESSION_PATH, end_session::end_session_post)
        .get("/account", account::account)
        .post("/account/sessions/{sid}/end", account::end_one)
        .post("/account/sessions/end-others", account::end_others)
        .post("/account/sessions/end-all", account::end_all)
        .post("/account/password", account::change_password)
        .post("/account/consents/{client_id}/revoke", account::revoke_consent)
        .get("/admin", admin::admin)
        .get("/admin/users/{name}", admin::user)
        .post("/admin/users/{name}/sessions/{sid}/end", admin::end_one)
        .post("/admin/users/{name}/sessions/end-all", admin::end_all)
        .post("/admin/users/{name}/disable", admin::disable)
        .post("/admin/users/{name}/enable", admin::enable)
        .get("/static/sessiond.css", pages::stylesheet)
}
