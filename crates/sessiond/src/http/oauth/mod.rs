//! OAuth 2.0 endpoints.
pub mod token;
