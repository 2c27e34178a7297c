//! Encryption of signing-key material at rest (AES-256-GCM under a master
//! key from configuration), so that a copy of the database alone does not
//! yield the keys that sign tokens.
//!
//! Sealed form: `b"SK1"` ‖ 12-byte random nonce ‖ ciphertext ‖ 16-byte tag.
//! The key id is the additional authenticated data, so a sealed key cannot
//! be moved to another row.
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

const MAGIC: &[u8] = b"SK1";

/// Sealing failed or a sealed value is damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SealError(pub String);

/// The master key.
pub struct Sealer {
    key: LessSafeKey,
    derivation: aws_lc_rs::hmac::Key,
    rng: SystemRandom,
}

impl Sealer {
    /// A sealer from 32 raw bytes.
    pub fn new(raw: &[u8]) -> Result<Self, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, raw).map_err(|_| SealError("a master key is 32 bytes".into()))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            derivation: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, raw),
            rng: SystemRandom::new(),
        })
    }

    /// A sealer from the configured text form: 32 bytes in base64
    /// (standard or URL-safe, padding optional).
    pub fn from_text(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let raw = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| SealError("the master key is not base64".into()))?;
        Self::new(&raw)
    }

    /// A new random master key in its text form.
    pub fn generate_text() -> Result<String, SealError> {
        let mut raw = [0u8; 32];
        SystemRandom::new().fill(&mut raw).map_err(|_| SealError("no randomness".into()))?;
        Ok(STANDARD.encode(raw))
    }

    /// A key for another purpose, derived from the master key and `label`
    /// (HMAC-SHA256, as HKDF-Expand does for one block): the same on every
    /// node, independent of the sealing key and of every other label.
    pub fn derive_key(&self, label: &str) -> [u8; 32] {
        let tag = aws_lc_rs::hmac::sign(&self.derivation, label.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Seals `plain`, bound to `kid`.
    pub fn seal(&self, kid: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SealError("no randomness".into()))?;
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(kid.as_bytes()), &mut buf)
            .map_err(|_| SealError("sealing failed".into()))?;
        Ok([MAGIC, &nonce, &buf].concat())
    }

    /// Opens a sealed value for `kid`.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let body = sealed.strip_prefix(MAGIC).ok_or_else(|| SealError(format!("key {kid} is not sealed")))?;
        if body.len() < NONCE_LEN {
            return Err(SealError(format!("key {kid}: sealed value too short")));
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError("bad nonce".into()))?;
        let mut buf = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buf)
            .map_err(|_| SealError(format!("key {kid} does not open with this master key")))?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_bound_to_the_key_id() {
        let sealer = Sealer::from_text(&Sealer::generate_text().unwrap()).unwrap();
        let sealed = sealer.seal("kid1", b"secret key material").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"), "no plaintext at rest");
        assert_eq!(sealer.open("kid1", &sealed).unwrap(), b"secret key material");
        assert!(sealer.open("kid2", &sealed).is_err(), "bound to its kid");
        let other = Sealer::from_text(&Sealer::generate_text().unwrap()).unwrap();
        assert!(other.open("kid1", &sealed).is_err(), "needs the same master key");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(sealer.open("kid1", &tampered).is_err());
        assert!(Sealer::from_text("too short").is_err());
    }
}
