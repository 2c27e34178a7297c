//! Client authentication for the OAuth endpoints (RFC 6749 §2.3.1): the
//! credentials come from the `Authorization: Basic` header
//! (`client_secret_basic`) or the body (`client_secret_post`), never both,
//! and [`ClientRequest`] authenticates them once for every endpoint that
//! needs a client (token, revocation, introspection).
use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::error::ApiError;
use super::form::OAuthForm;
use crate::app::App;
use crate::domain::{Client, ClientId};
use crate::grants::{authenticate_client, PresentedClient};
use crate::secrets::Secret;

/// A form request from an authenticated client: the body, parsed once, and
/// the client it authenticated as. Without credentials, or with wrong ones,
/// the request is refused with `invalid_client` (never with a `Basic`
/// challenge: see `ApiError::invalid_client`).
pub struct ClientRequest {
    /// The authenticated client.
    pub client: Arc<Client>,
    /// The request's parameters.
    pub form: OAuthForm,
}

impl FromRequest<Arc<App>> for ClientRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let mut headers = HeaderMap::new();
        if let Some(value) = req.headers().get(header::AUTHORIZATION) {
            headers.insert(header::AUTHORIZATION, value.clone());
        }
        let actors = super::trace::Actors::of(req.extensions());
        let form = OAuthForm::from_request(req, app).await?;
        let presented = presented_client(&headers, &form)?
            .ok_or_else(|| ApiError::invalid_client("client authentication required"))?;
        let client = authenticate_client(app, &presented).await?;
        if let Some(actors) = actors {
            actors.client(client.id.as_str());
        }
        Ok(Self { client, form })
    }
}

/// The credentials in a request; `None` if it carries none.
pub fn presented_client(headers: &HeaderMap, form: &OAuthForm) -> Result<Option<PresentedClient>, ApiError> {
    let body_id = form.one("client_id")?;
    let body_secret = form.one("client_secret")?;
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let (id, secret) = parse_basic(value.as_bytes())?;
        // §2.3: "The client MUST NOT use more than one authentication method
        // in each request."
        if body_secret.is_some() {
            return Err(ApiError::invalid_request("more than one client authentication method"));
        }
        if body_id.is_some_and(|b| b != id) {
            return Err(ApiError::invalid_request("client_id does not match the Authorization header"));
        }
        return Ok(Some(PresentedClient::Secret { id: ClientId::new(id), secret: Secret::new(secret) }));
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => {
            Ok(Some(PresentedClient::Secret { id: ClientId::new(id), secret: Secret::new(secret) }))
        }
        (Some(id), None) => Ok(Some(PresentedClient::IdOnly { id: ClientId::new(id) })),
        (None, Some(_)) => Err(ApiError::invalid_request("client_secret without client_id")),
        (None, None) => Ok(None),
    }
}

/// The id and secret of an `Authorization: Basic` header, if there is one.
pub fn parse_basic_header(headers: &HeaderMap) -> Result<Option<(ClientId, Secret)>, ApiError> {
    match headers.get(header::AUTHORIZATION) {
        None => Ok(None),
        Some(value) => {
            let (id, secret) = parse_basic(value.as_bytes())?;
            Ok(Some((ClientId::new(id), Secret::new(secret))))
        }
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`; §2.3.1 has both
/// parts form-urlencoded before they are joined.
fn parse_basic(value: &[u8]) -> Result<(String, String), ApiError> {
    let malformed = || ApiError::invalid_client("malformed Basic credentials");
    let value = std::str::from_utf8(value).map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::invalid_client("unsupported client authentication scheme"));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
    };
    let (id, secret) = (unescape(id), unescape(secret));
    if id.is_empty() {
        return Err(malformed());
    }
    Ok((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn basic(raw: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw))).unwrap());
        h
    }

    #[test]
    fn basic_credentials_are_url_decoded() {
        let got = presented_client(&basic("my%20app:s%3Acret"), &OAuthForm::default()).unwrap();
        match got {
            Some(PresentedClient::Secret { id, secret }) => {
                assert_eq!(id.as_str(), "my app");
                assert_eq!(secret.expose(), "s:cret");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn two_methods_or_garbage_are_refused() {
        let form = OAuthForm::parse(b"client_secret=x").unwrap();
        assert!(presented_client(&basic("a:b"), &form).is_err());
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert!(presented_client(&h, &OAuthForm::default()).is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert!(presented_client(&h, &OAuthForm::default()).is_err());
        assert!(presented_client(&HeaderMap::new(), &OAuthForm::parse(b"client_secret=x").unwrap()).is_err());
    }

    #[test]
    fn body_credentials_and_public_clients() {
        let none = HeaderMap::new();
        assert!(matches!(
            presented_client(&none, &OAuthForm::parse(b"client_id=a&client_secret=b").unwrap()).unwrap(),
            Some(PresentedClient::Secret { .. })
        ));
        assert!(matches!(
            presented_client(&none, &OAuthForm::parse(b"client_id=a").unwrap()).unwrap(),
            Some(PresentedClient::IdOnly { .. })
        ));
        assert!(presented_client(&none, &OAuthForm::default()).unwrap().is_none());
    }
}
