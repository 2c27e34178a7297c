//! Query-string parameters, parsed like form bodies so that a malformed or
//! repeated parameter gets the same JSON error as anywhere else, and path
//! segments with a JSON error on rejection.
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::error::ApiError;
use super::form::OAuthForm;

/// The query string.
pub struct QueryParams(pub OAuthForm);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(OAuthForm::parse(parts.uri.query().unwrap_or("").as_bytes())?))
    }
}

impl QueryParams {
    /// Refuses parameters other than `allowed`: a misspelt filter or page
    /// size is an error, never silently ignored.
    pub fn only(&self, allowed: &[&str]) -> Result<&Self, ApiError> {
        match self.0.names().find(|name| !allowed.contains(name)) {
            None => Ok(self),
            Some(name) => {
                let shown: String = name.chars().take(64).collect();
                let expected = if allowed.is_empty() { "none".to_owned() } else { allowed.join(", ") };
                Err(ApiError::invalid_request(format!("unknown query parameter {shown:?} (expected: {expected})")))
            }
        }
    }

    /// A page request: `limit` (1 to 1000, default 100) and `after`, the
    /// last id of the previous page.
    pub fn page(&self) -> Result<(u32, Option<String>), ApiError> {
        let limit = u32::try_from(self.number("limit", 100, 1..=1000)?).unwrap_or(100);
        Ok((limit, self.0.one("after")?.map(str::to_owned)))
    }
    /// A numeric parameter within `range`, or `default` when absent.
    pub fn number(&self, name: &str, default: i64, range: std::ops::RangeInclusive<i64>) -> Result<i64, ApiError> {
        match self.0.one(name)? {
            None => Ok(default),
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| ApiError::invalid_request(format!("{name} must be a number in {range:?}"))),
        }
    }

    /// An optional numeric parameter.
    pub fn optional_number(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.0
            .one(name)?
            .map(|raw| raw.parse::<i64>().map_err(|_| ApiError::invalid_request(format!("{name} must be a number"))))
            .transpose()
    }

    /// A boolean parameter (`true`/`false`), `false` when absent.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.0.one(name)? {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::invalid_request(format!("{name} must be true or false"))),
        }
    }
}

/// The query of a paged list, for the contract ([`QueryParams::page`]
/// reads it).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Never built: it documents what `page` reads.
pub struct PageQuery {
    /// Most items in the page.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
    /// `next` of the previous page.
    after: Option<String>,
}

/// A request that takes no query parameters: any is refused.
pub struct NoQuery;

impl<S: Send + Sync> FromRequestParts<S> for NoQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        QueryParams::from_request_parts(parts, state).await?.only(&[])?;
        Ok(Self)
    }
}

/// A session id in the path, for the contract ([`Segment`] reads it).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Never built: it documents what `Segment` reads.
pub struct SidPath {
    /// The session's id; no control characters.
    #[param(pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$")]
    sid: String,
}

/// A user name in the path, for the contract ([`Segment`] reads it).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Never built: it documents what `Segment` reads.
pub struct NamePath {
    /// The user's sign-in name; no control characters.
    #[param(pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$")]
    name: String,
}

/// One path segment.
pub struct Segment(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(value) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::invalid_request("malformed path segment"))?;
        // Ids and names never hold control characters (and PostgreSQL cannot
        // store a NUL): refuse them before any look-up.
        if value.chars().any(char::is_control) {
            return Err(ApiError::invalid_request("malformed path segment"));
        }
        Ok(Self(value))
    }
}
