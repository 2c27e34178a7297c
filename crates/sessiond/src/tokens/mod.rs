//! Signing keys, the key ring, and minting of access and ID tokens.
//!
//! Verification lives in `sessiond-guard` so that the server and every
//! resource server share one code path; this module only signs.
mod access;
mod id_token;
mod jws;
mod keygen;
mod keyring;
mod logout_token;
mod signing_key;

pub use access::{mint_access_token, AccessTokenSpec, MintedAccessToken};
pub use id_token::{at_hash, mint_id_token, verify_id_token_hint, IdClaims, IdTokenSpec, ID_TOKEN_TYPE};
pub use keygen::{generate_key, GeneratedKey};
pub use keyring::{KeyRing, KeyRingError, StoredKey, TokenAudience};
pub use logout_token::{mint_logout_token, BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_LIFETIME, LOGOUT_TOKEN_TYPE};
pub use signing_key::{SigningKey, SigningKeyError};
