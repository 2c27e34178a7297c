//! Signing keys, the key ring, and minting of access tokens.
//!
//! Verification lives in `sessiond-guard` so that the server and every
//! resource server share one code path; this module only signs.
mod access;
mod jws;
mod keygen;
mod keyring;
mod signing_key;

pub use access::{mint_access_token, AccessTokenSpec, MintedAccessToken};
pub use keygen::{generate_key, GeneratedKey};
pub use keyring::{KeyRing, KeyRingError, StoredKey, TokenAudience};
pub use signing_key::{SigningKey, SigningKeyError};
