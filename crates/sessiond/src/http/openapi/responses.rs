//! The error answers operations share, as reusable OpenAPI responses: each
//! is the RFC 6749 §5.2 body ([`ErrorBody`]), always with
//! `Cache-Control: no-store`, and the headers that status may carry.
//! (Never built: they exist for the contract.)
#![allow(dead_code)]
use utoipa::ToResponse;

use crate::http::error::ErrorBody;

/// A parameter is missing, repeated, malformed or unknown (`invalid_request`);
/// the token endpoint also answers `invalid_grant`, `unauthorized_client`,
/// `unsupported_grant_type` and `invalid_scope` here, and revocation
/// `unauthorized_client` for another client's token.
#[derive(ToResponse)]
pub struct BadRequest(ErrorBody<'static>);

/// `invalid_client`: client authentication missing or failed. No
/// `WWW-Authenticate: Basic` challenge is sent, on purpose (browsers would
/// prompt for and cache credentials).
#[derive(ToResponse)]
pub struct ClientAuthFailed(ErrorBody<'static>);

/// `invalid_token`: the Bearer token (or session cookie) is missing,
/// malformed, expired or revoked, or its user is disabled (RFC 6750 §3).
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "The RFC 6750 §3 Bearer challenge")))]
pub struct BearerRejected(ErrorBody<'static>);

/// `insufficient_scope`: the credentials are valid but may not do this (a
/// client's token where a user's is needed, a user who is not an
/// administrator, a missing scope, a cookie without an allowed `Origin`).
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "The RFC 6750 §3 Bearer challenge")))]
pub struct Forbidden(ErrorBody<'static>);

/// `not_found`: no such user or session (or none the caller may see).
#[derive(ToResponse)]
pub struct NotFound(ErrorBody<'static>);

/// The request body is over `max_body_bytes`.
#[derive(ToResponse)]
pub struct PayloadTooLarge(ErrorBody<'static>);

/// `temporarily_unavailable`: too many sign-in attempts from this address
/// or for this account (RFC 6585 §4).
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds to wait")))]
pub struct TooManyRequests(ErrorBody<'static>);

/// `temporarily_unavailable`: this node cannot answer safely right now —
/// its revocation index is not confirmed current, the database is
/// unavailable, password checks are saturated, or it is stopping. The
/// same request may succeed in a moment, here or on another node.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds to wait, when known")))]
pub struct Unavailable(ErrorBody<'static>);
