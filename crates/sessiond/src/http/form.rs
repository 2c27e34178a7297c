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
}

impl OAuthForm {
    /// Parses a body. RFC 6749 §3.1: "Parameters sent without a value MUST
    /// be treated as if they were omitted from the request."
    pub fn parse(body: &[u8]) -> Self {
        let pairs = form_urlencoded::parse(body)
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self { pairs }
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
        Ok(Self::parse(&body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_absent_and_repeats_are_refused() {
        let f = OAuthForm::parse(b"a=1&b=&c=2&c=3&d=x%20y+z");
        assert_eq!(f.one("a").unwrap(), Some("1"));
        assert_eq!(f.one("b").unwrap(), None);
        assert!(f.one("c").is_err());
        assert_eq!(f.one("d").unwrap(), Some("x y z"));
        assert!(f.required("missing").is_err());
    }
}
