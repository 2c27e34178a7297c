//! [`GuardLayer`]: a tower layer that lets a request through only with a
//! good access token, and answers the others itself.
//!
//! * No token (no `Authorization` header, or another scheme): 401 with
//!   `WWW-Authenticate: Bearer` and no error code, as RFC 6750 §3.1 asks of
//!   a request that lacks any authentication information.
//! * A token that is malformed, badly signed, for another issuer or
//!   audience, expired or revoked: 401 with
//!   `WWW-Authenticate: Bearer error="invalid_token", error_description=…`
//!   (RFC 6750 §3, §3.1) and the same as JSON.
//! * The guard cannot vouch for any token now (index stale and failing
//!   closed, or keys not loaded yet): 503 with
//!   `{"error":"temporarily_unavailable","error_description":…}` and
//!   `Retry-After: 1`. The code is RFC 6749's for "try again later"
//!   (§4.1.2.1); a 401 would tell the client to get a new token, which
//!   would not help.
//! * A good token: the request goes on with its [`Claims`] in the
//!   extensions.
//!
//! Every answer of the layer's own carries `Cache-Control: no-store`.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::{Claims, Denial, Guard};
use crate::Rejection;

/// Wraps a service so that it only sees requests with a good sessiond
/// access token.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{routing::get, Router};
/// use sessiond_guard::{Claims, Guard};
///
/// let guard = Guard::builder("https://id.example.com", "my-api", "its-secret").start()?;
/// let app: Router = Router::new()
///     .route("/me", get(|claims: Claims| async move { claims.sub.clone() }))
///     .layer(guard.layer());
/// # Ok(()) }
/// ```
///
/// The wrapped service's response body must be buildable from a `String`
/// (axum's `Body` and `http_body_util::Full<Bytes>` are), for the layer's
/// own answers.
#[derive(Debug, Clone)]
pub struct GuardLayer {
    guard: Guard,
}

impl GuardLayer {
    /// A layer checking tokens with `guard`.
    pub fn new(guard: Guard) -> Self {
        Self { guard }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> GuardService<S> {
        GuardService { inner, guard: self.guard.clone() }
    }
}

/// The service [`GuardLayer`] makes.
#[derive(Debug, Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
}

/// The future of [`GuardService`].
type ResponseFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GuardService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: From<String> + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<Response<ResBody>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The service that was polled ready serves this request; a clone
        // stays for the next (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        Box::pin(async move {
            let Some(token) = bearer_token(request.headers()) else { return Ok(no_token()) };
            match guard.check(&token).await {
                Ok(claims) => {
                    request.extensions_mut().insert(Claims(claims));
                    inner.call(request).await
                }
                Err(denial) => Ok(denied(&denial)),
            }
        })
    }
}

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1; the
/// scheme is case-insensitive, RFC 9110 §11.1). Another scheme, an empty
/// token or an unreadable header count as no token, as sessiond's own
/// endpoints treat them.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// 401 for a request without a token: the bare challenge (RFC 6750 §3.1).
fn no_token<B: From<String>>() -> Response<B> {
    let mut response = Response::new(B::from(String::new()));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    let headers = response.headers_mut();
    headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer to a token the guard did not accept.
pub(crate) fn denied<B: From<String>>(denial: &Denial) -> Response<B> {
    let (status, code, description) = match denial {
        Denial::Rejected(Rejection::Revoked) => {
            (StatusCode::UNAUTHORIZED, "invalid_token", "the token has been revoked".to_owned())
        }
        Denial::Rejected(Rejection::Invalid(e)) => {
            (StatusCode::UNAUTHORIZED, "invalid_token", format!("the token is not valid ({e})"))
        }
        Denial::NotCurrent => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "revocation state is not current; try again".to_owned(),
        ),
        Denial::NoKeys => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the issuer's keys are not loaded yet; try again".to_owned(),
        ),
    };
    let body = serde_json::json!({ "error": code, "error_description": description }).to_string();
    let mut response = Response::new(B::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        // The descriptions are fixed texts without quotes or backslashes,
        // so they sit in a quoted-string as they are (RFC 6750 §3).
        let challenge = format!(r#"Bearer error="{code}", error_description="{description}""#);
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
    } else {
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::future::{poll_fn, ready, Ready};

    use super::*;
    use crate::guard::testing::{guard, token};
    use crate::guard::StalePolicy;
    use crate::{Revocation, RevocationKind};

    /// An inner service that answers 200 with the `sub` of the claims the
    /// layer put on the request (or says there were none).
    #[derive(Clone)]
    struct Echo;

    impl Service<Request<()>> for Echo {
        type Response = Response<String>;
        type Error = Infallible;
        type Future = Ready<Result<Response<String>, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<()>) -> Self::Future {
            let sub = request.extensions().get::<Claims>().map_or("none".to_owned(), |c| c.sub.clone());
            ready(Ok(Response::new(sub)))
        }
    }

    async fn send(guard: &Guard, authorization: Option<&str>) -> Response<String> {
        let mut service = guard.layer().layer(Echo);
        let mut request = Request::new(());
        if let Some(value) = authorization {
            request.headers_mut().insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        poll_fn(|cx| service.poll_ready(cx)).await.unwrap();
        service.call(request).await.unwrap()
    }

    fn challenge(r: &Response<String>) -> &str {
        r.headers().get(WWW_AUTHENTICATE).map_or("", |v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn a_good_token_passes_with_its_claims() {
        let (guard, key) = guard(true, StalePolicy::FailClosed);
        let r = send(&guard, Some(&format!("Bearer {}", token(&key, "j1")))).await;
        assert_eq!((r.status(), r.body().as_str()), (StatusCode::OK, "u1"));
        let r = send(&guard, Some(&format!("bearer   {}", token(&key, "j2")))).await;
        assert_eq!(r.status(), StatusCode::OK, "the scheme is case-insensitive");
    }

    #[tokio::test]
    async fn no_token_gets_the_bare_challenge() {
        let (guard, _) = guard(true, StalePolicy::FailClosed);
        for authorization in [None, Some("Basic cnM6c2VjcmV0"), Some("Bearer "), Some("Bearer")] {
            let r = send(&guard, authorization).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{authorization:?}");
            assert_eq!(challenge(&r), "Bearer", "{authorization:?}: no error code (RFC 6750 §3.1)");
            assert_eq!(r.body(), "");
        }
    }

    #[tokio::test]
    async fn a_bad_or_revoked_token_is_invalid_token() {
        let (guard, key) = guard(true, StalePolicy::FailClosed);
        let r = send(&guard, Some("Bearer not.a.token")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(&r).starts_with(r#"Bearer error="invalid_token", error_description=""#), "{}", challenge(&r));
        let body: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(body["error"], "invalid_token");

        let live = token(&key, "j1");
        guard.validator().apply(&[Revocation {
            seq: 1,
            kind: RevocationKind::Token,
            subject: "j1".into(),
            cutoff: None,
            expires_at: i64::MAX,
        }]);
        let r = send(&guard, Some(&format!("Bearer {live}"))).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(&r).contains("revoked"), "{}", challenge(&r));
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    }

    #[tokio::test]
    async fn a_stale_guard_answers_503_temporarily_unavailable() {
        let (guard, key) = guard(false, StalePolicy::FailClosed);
        let r = send(&guard, Some(&format!("Bearer {}", token(&key, "j1")))).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
        assert_eq!(r.headers()[RETRY_AFTER], "1");
        assert!(r.headers().get(WWW_AUTHENTICATE).is_none(), "not the token's fault");
    }
}
