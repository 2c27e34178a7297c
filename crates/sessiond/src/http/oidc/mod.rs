//! OpenID Connect and authorization-server metadata endpoints.
pub mod discovery;
pub mod jwks;
pub mod userinfo;
