//! Errors in the formats the specs prescribe: RFC 6749 §5.2 for the token
//! endpoint (and RFC 7009 / RFC 7662, which reuse it), RFC 6750 §3 for
//! Bearer-protected resources. Every error response carries
//! `Cache-Control: no-store`. A server failure keeps its cause (with its
//! chain of sources) on the response, for the request log to record once
//! (`http::trace`); the client learns nothing internal.
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Error codes (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Missing, repeated or malformed parameter.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// Grant, credentials or refresh token invalid.
    InvalidGrant,
    /// Client not allowed this grant type.
    UnauthorizedClient,
    /// Unknown grant type.
    UnsupportedGrantType,
    /// Scope not allowed.
    InvalidScope,
    /// Bearer token missing, invalid, expired or revoked.
    InvalidToken,
    /// The token lacks a needed privilege.
    InsufficientScope,
    /// No such resource.
    NotFound,
    /// The server failed.
    ServerError,
    /// The server cannot answer safely right now (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// Every code (the contract lists them: `openapi::schemas`).
    pub const ALL: [ErrorCode; 11] = [
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidGrant,
        Self::UnauthorizedClient,
        Self::UnsupportedGrantType,
        Self::InvalidScope,
        Self::InvalidToken,
        Self::InsufficientScope,
        Self::NotFound,
        Self::ServerError,
        Self::TemporarilyUnavailable,
    ];

    /// The `error` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::NotFound => "not_found",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The status a code is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// The body of every error answer (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody<'a> {
    /// The error code.
    #[schema(value_type = ErrorCode)]
    pub error: &'static str,
    /// What went wrong, for a person reading logs; never anything internal.
    pub error_description: &'a str,
}

/// A cause of a failure, boxed.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// The cause of a 5xx, attached to the response for the request log.
#[derive(Debug, Clone)]
pub struct FailureCause(pub Arc<Cause>);

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    description: String,
    challenge: Option<HeaderValue>,
    cause: Option<Cause>,
    /// `Retry-After`, in seconds.
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with the code's usual status.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            code,
            description: description.into(),
            challenge: None,
            cause: None,
            retry_after: None,
        }
    }

    /// 401 for a Bearer-protected resource, with the RFC 6750 §3 challenge.
    /// Without a token at all, the challenge carries no error code (§3.1).
    pub fn bearer(token_present: bool, description: &str) -> Self {
        let challenge = if token_present {
            format!(r#"Bearer realm="sessiond", error="invalid_token", error_description="{description}""#)
        } else {
            r#"Bearer realm="sessiond""#.to_owned()
        };
        Self { challenge: HeaderValue::from_str(&challenge).ok(), ..Self::new(ErrorCode::InvalidToken, description) }
    }

    /// 403 for a valid token that may not do this (RFC 6750 §3.1).
    pub fn forbidden(description: impl Into<String>) -> Self {
        let description = description.into();
        let challenge =
            format!(r#"Bearer realm="sessiond", error="insufficient_scope", error_description="{description}""#);
        Self {
            challenge: HeaderValue::from_str(&challenge).ok(),
            ..Self::new(ErrorCode::InsufficientScope, description)
        }
    }

    /// 404.
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, description)
    }

    /// The same error with another status (413 for an oversized body).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_client`. RFC 6749 §5.2 asks for a `WWW-Authenticate` header
    /// naming the scheme the client used; sessiond sends none, because a
    /// `Basic` challenge makes browsers prompt for and cache credentials
    /// (design invariant 8).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// A server failure. Its cause is kept for the request log (which
    /// records it once, in the request's span); the client learns nothing
    /// internal.
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self { cause: Some(cause.into()), ..Self::new(ErrorCode::ServerError, "internal error") }
    }

    /// A store failure: 503 `temporarily_unavailable` when the database
    /// could not be reached or a write's batch was not committed (nothing
    /// was done; the same request may succeed in a moment), else 500.
    pub fn store(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            Self {
                cause: Some(e.into()),
                retry_after: Some(1),
                ..Self::new(ErrorCode::TemporarilyUnavailable, "the database is unavailable; try again")
            }
        } else {
            Self::internal(e)
        }
    }

    /// 503: this node cannot confirm its revocation index is current, so it
    /// refuses to validate rather than accept a token that may be revoked.
    pub fn not_current() -> Self {
        Self::new(ErrorCode::TemporarilyUnavailable, "revocation state is not current; try again")
    }

    /// 429: too many password attempts from this address or for this
    /// account (RFC 6585 §4), with `Retry-After`.
    ///
    /// The code is `temporarily_unavailable`, not `invalid_request`: the
    /// request is well-formed and the same request will succeed later, which
    /// is what `temporarily_unavailable` tells a client (RFC 6749 §4.1.2.1;
    /// the token endpoint's §5.2 list has no code for it), whereas
    /// `invalid_request` says the request itself must change. Nor is it
    /// `invalid_grant`, which would tell the client the password was wrong
    /// when it was never checked.
    pub fn throttled(retry_after: std::time::Duration) -> Self {
        Self {
            retry_after: Some(whole_seconds(retry_after)),
            ..Self::new(ErrorCode::TemporarilyUnavailable, "too many sign-in attempts; try again later")
        }
        .with_status(StatusCode::TOO_MANY_REQUESTS)
    }

    /// 503: every permit to check a password stayed taken for the queue
    /// wait; the client may retry after `Retry-After`.
    pub fn overloaded(retry_after: std::time::Duration) -> Self {
        Self {
            retry_after: Some(whole_seconds(retry_after)),
            ..Self::new(ErrorCode::TemporarilyUnavailable, "too many sign-ins at once; try again shortly")
        }
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: self.code.as_str(), error_description: &self.description };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(challenge) = self.challenge {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(FailureCause(Arc::new(cause)));
        }
        response
    }
}

/// `Retry-After` is whole seconds (RFC 9110 §10.2.3): rounded up, at least 1.
fn whole_seconds(d: std::time::Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

impl From<crate::grants::GrantError> for ApiError {
    fn from(e: crate::grants::GrantError) -> Self {
        use crate::grants::GrantError as G;
        match e {
            G::InvalidRequest(d) => Self::invalid_request(d),
            G::InvalidGrant(d) => Self::new(ErrorCode::InvalidGrant, d),
            // One answer whatever the reason (unknown name, wrong password,
            // disabled account): the reason is for the audit trail.
            G::BadCredentials(_) => Self::new(ErrorCode::InvalidGrant, crate::grants::BAD_CREDENTIALS),
            G::Throttled { retry_after } => Self::throttled(retry_after),
            G::Overloaded { retry_after } => Self::overloaded(retry_after),
            G::UnauthorizedClient(_) => Self::new(ErrorCode::UnauthorizedClient, e.to_string()),
            G::InvalidScope => Self::new(ErrorCode::InvalidScope, e.to_string()),
            G::ClientRemoved => Self::invalid_client(e.to_string()),
            G::Store(store) if store.is_unavailable() => Self::store(store),
            G::Store(_) | G::Signing(_) | G::Hashing(_) => Self::internal(e),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::store(e)
    }
}

impl From<crate::grants::ClientAuthError> for ApiError {
    fn from(e: crate::grants::ClientAuthError) -> Self {
        use crate::grants::ClientAuthError as C;
        match e {
            C::Store(cause) => Self::store(cause),
            // One answer for every failure, so callers cannot probe which
            // client ids exist.
            _ => Self::invalid_client("client authentication failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_the_statuses_the_specs_give() {
        use ErrorCode::*;
        let table = [
            (InvalidRequest, 400),
            (InvalidClient, 401),
            (InvalidGrant, 400),
            (UnauthorizedClient, 400),
            (UnsupportedGrantType, 400),
            (InvalidScope, 400),
            (InvalidToken, 401),
            (InsufficientScope, 403),
            (NotFound, 404),
            (ServerError, 500),
            (TemporarilyUnavailable, 503),
        ];
        for (code, status) in table {
            assert_eq!(code.status().as_u16(), status, "{}", code.as_str());
        }
        assert_eq!(ErrorCode::ALL.len(), table.len(), "ALL lists every code");
        assert!(table.iter().all(|(code, _)| ErrorCode::ALL.contains(code)));
    }

    #[test]
    fn responses_are_json_and_never_cached() {
        let r = ApiError::invalid_client("x").into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn bearer_errors_carry_rfc_6750_challenges() {
        let r = ApiError::bearer(false, "missing").into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], r#"Bearer realm="sessiond""#);
        let r = ApiError::bearer(true, "revoked").into_response();
        let challenge = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Bearer ") && challenge.contains(r#"error="invalid_token""#));
        let r = ApiError::forbidden("admins only").into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().contains("insufficient_scope"));
    }

    #[test]
    fn grant_errors_map_to_oauth_codes() {
        use crate::grants::{GrantError as G, Refusal};
        assert_eq!(ApiError::from(G::InvalidGrant("x")).code(), ErrorCode::InvalidGrant);
        assert_eq!(ApiError::from(G::InvalidScope).code(), ErrorCode::InvalidScope);
        assert_eq!(
            ApiError::from(G::UnauthorizedClient(crate::domain::GrantType::Password)).code(),
            ErrorCode::UnauthorizedClient
        );
        // A store failure other than an unavailable database keeps the
        // grant's error, with the store's as its source.
        let failed = ApiError::from(G::Store(crate::store::StoreError::Corrupt("db down".into())));
        assert_eq!(failed.code(), ErrorCode::ServerError);
        let response = failed.into_response();
        let cause = response.extensions().get::<FailureCause>().expect("the cause travels with the response");
        assert!(cause.0.to_string().contains("storage failed"), "{}", cause.0);
        let source = std::error::Error::source(&**cause.0).map(ToString::to_string).unwrap_or_default();
        assert!(source.contains("db down"), "{source}");
        // An unavailable database is 503, retried.
        let down = ApiError::from(G::Store(crate::store::StoreError::NotCommitted("gone".into())));
        assert_eq!(down.code(), ErrorCode::TemporarilyUnavailable);
        // Any other failure keeps the grant's error, with its source.
        let failed = ApiError::from(G::Hashing(crate::login::HashingError::Failed("thread died".into())));
        assert_eq!(failed.code(), ErrorCode::ServerError);
        let response = failed.into_response();
        let cause = response.extensions().get::<FailureCause>().expect("the cause travels with the response");
        assert!(cause.0.to_string().contains("password hashing failed"), "{}", cause.0);
        assert!(std::error::Error::source(&**cause.0).is_some(), "with its source");
        for refusal in [Refusal::UnknownUser, Refusal::WrongPassword, Refusal::Disabled] {
            let e = ApiError::from(G::BadCredentials(refusal));
            assert_eq!((e.code(), e.description.as_str()), (ErrorCode::InvalidGrant, crate::grants::BAD_CREDENTIALS));
        }
    }

    #[test]
    fn shedding_load_says_when_to_come_back() {
        use std::time::Duration;
        let r = ApiError::throttled(Duration::from_millis(5_200)).into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "6");
        let r = ApiError::overloaded(Duration::ZERO).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    }
}
