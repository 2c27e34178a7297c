//! Verification of sessiond access tokens, for resource servers and for
//! sessiond itself.
//!
//! sessiond issues access tokens as JWTs in the RFC 9068 profile
//! (`typ: at+jwt`). Every party that accepts them — the server's own
//! introspection and forward-auth endpoints, and any resource server that
//! embeds this crate — verifies them with the same code:
//!
//! * [`Jwk`] and [`KeySet`]: the published signing keys (`/jwks.json`), each
//!   pinned to one algorithm so that a token cannot pick a weaker one
//!   ("algorithm confusion").
//! * [`Verifier`]: signature, `typ`, `iss`, `aud` and lifetime checks, with
//!   the current time passed in by the caller so tests never sleep.
//! * [`AccessClaims`]: the claims sessiond puts in every access token; every
//!   user-bound token names its session in `sid`.
//! * [`RevocationIndex`]: which tokens, grants, sessions, users and clients
//!   are revoked, answered with hash look-ups.
//! * [`Validator`]: the one validation path — signature (cached per exact
//!   token), lifetime, revocation — used by sessiond's introspection and by
//!   resource servers alike.
//! * [`low_s`]: the one ES256 signature form accepted, and the arithmetic
//!   that signers use to produce it.
//!
//! With the `layer` feature, a resource server gets the rest too:
//!
//! * `Guard`: fetches sessiond's keys, follows its revocation feed into
//!   the validator's index, and fails closed when it cannot confirm the
//!   index is current.
//! * `GuardLayer`: a tower layer (for axum or any tower service) that
//!   answers RFC 6750 challenges itself and hands good requests on with
//!   their `Claims`, which axum handlers take as an argument.
//!
//! The core crate has no HTTP client; everything that talks to sessiond is
//! behind that feature.
//!
//! ```
//! use sessiond_guard::{KeySet, Verifier};
//! let jwks = r#"{"keys":[]}"#;
//! let keys = KeySet::from_jwks_json(jwks).unwrap();
//! let verifier = Verifier::new(keys, "https://id.example", "https://api.example");
//! assert!(verifier.verify("not-a-jwt", 1_700_000_000).is_err());
//! ```
#![deny(missing_docs)]

mod cache;
mod claims;
#[cfg(feature = "layer")]
mod guard;
mod index;
mod jwk;
pub mod low_s;
mod prefilter;
mod validator;
mod verify;

pub use cache::VerifiedCache;
pub use claims::AccessClaims;
#[cfg(feature = "layer")]
pub use guard::{
    Claims, Denial, Guard, GuardBuilder, GuardError, GuardLayer, GuardService, MissingClaims, StalePolicy,
    DEFAULT_JWKS_MIN_REFETCH, DEFAULT_JWKS_REFRESH, DEFAULT_LEEWAY, DEFAULT_STALENESS_BOUND,
};
pub use index::{Revocation, RevocationIndex, RevocationKind};
pub use jwk::{Jwk, JwkError, KeySet, SigningAlgorithm};
pub use validator::{Rejection, Validator, DEFAULT_CACHE_CAPACITY};
pub use verify::{Verifier, VerifyError, ACCESS_TOKEN_TYPE, MAX_TOKEN_BYTES};
