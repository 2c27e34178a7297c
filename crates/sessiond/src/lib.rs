//! sessiond: an OAuth 2.0 / OpenID Connect session-and-token authority where
//! every token belongs to a session, and ending a session ends its tokens.
//!
//! The binary (`main.rs`) only calls [`cli::run`]; tests build an [`App`]
//! and its [`http::router`] directly.
pub mod accounts;
pub mod app;
pub mod browser;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod grants;
pub mod http;
pub mod login;
pub mod mirror;
pub mod notify;
pub mod observe;
pub mod revocation;
pub mod secrets;
pub mod sessions;
pub mod store;
pub mod tokens;

pub use app::App;
