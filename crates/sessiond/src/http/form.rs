//! The `application/x-www-form-urlencoded` bodies of the OAuth endpoints,
//! read under the body limit and checked for repeated parameters.
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};

use super::error::ApiError;

/// A parsed form body.
#[derive(Debug, Default)]
pub struct OAuthForm {
    pairs: Vec<(String, String)>,
    /// Every parameter name, with or without a value.
    names: Vec<String>,
}

impl OAuthForm {
    /// Parses a body. RFC 6749 §3.1: "Parameters sent without a value MUST
    /// be treated as if they were omitted from the request." A NUL byte
    /// anywhere is refused: no parameter legitimately holds one, and
    /// PostgreSQL cannot store it, so it must never reach the store.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let mut form = Self::default();
        for (k, v) in form_urlencoded::parse(body) {
            if k.contains('\0') || v.contains('\0') {
                return Err(ApiError::invalid_request("parameters may not contain NUL characters"));
            }
            if !v.is_empty() {
                form.pairs.push((k.clone().into_owned(), v.into_owned()));
            }
            form.names.push(k.into_owned());
        }
        Ok(form)
    }

    /// The value of a parameter that may appear at most once (RFC 6749 §3.1:
    /// "Request and response parameters MUST NOT be included more than once").
    pub fn one(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::invalid_request(format!("parameter {name} is repeated")));
        }
        Ok(first)
    }

    /// Every value of a parameter that may repeat.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The parameters (those with a value) encoded again as a query string.
    pub fn encode(&self) -> String {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.pairs).finish()
    }

    /// The names of the parameters present, empty ones included.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The value of a required parameter.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.one(name)?.ok_or_else(|| ApiError::invalid_request(format!("parameter {name} is required")))
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(ApiError::invalid_request("Content-Type must be application/x-www-form-urlencoded"));
        }
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::invalid_request("request body too large").with_status(StatusCode::PAYLOAD_TOO_LARGE)
            } else {
                ApiError::invalid_request("could not read the request body")
            }
        })?;
        Self::parse(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_absent_and_repeats_are_refused() {
        let f = OAuthForm::parse(b"a=1&b=&c=2&c=3&d=x%20y+z").unwrap();
        assert_eq!(f.one("a").unwrap(), Some("1"));
        assert_eq!(f.one("b").unwrap(), None);
        assert!(f.one("c").is_err());
        assert_eq!(f.one("d").unwrap(), Some("x y z"));
        assert!(f.required("missing").is_err());
        assert_eq!(f.names().collect::<Vec<_>>(), ["a", "b", "c", "c", "d"]);
    }

    #[test]
    fn nul_characters_are_refused() {
        assert!(OAuthForm::parse(b"username=a%00b").is_err());
        assert!(OAuthForm::parse(b"a%00=b").is_err());
    }
}
