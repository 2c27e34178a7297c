//! CSRF protection for the browser's forms: a signed double-submit token.
//! Every form page sets (or reuses) a random CSRF cookie and puts into the
//! form the HMAC of that cookie under the browser key (derived from the
//! master key, so every node accepts it). A forged cross-site form cannot
//! read the cookie and so cannot produce the field; a `SameSite` cookie and
//! the `Origin` check add to it.
use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The form field for a CSRF cookie value.
pub fn token(key: &[u8; 32], cookie: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    URL_SAFE_NO_PAD.encode(hmac::sign(&key, format!("csrf|{cookie}").as_bytes()))
}

/// Whether `field` is the token of `cookie` (constant-time).
pub fn verify(key: &[u8; 32], cookie: &str, field: &str) -> bool {
    if cookie.is_empty() || cookie.len() > 128 {
        return false;
    }
    let Ok(tag) = URL_SAFE_NO_PAD.decode(field) else { return false };
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::verify(&key, format!("csrf|{cookie}").as_bytes(), &tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_the_cookie_and_the_key() {
        let key = [7u8; 32];
        let t = token(&key, "cookie-a");
        assert!(verify(&key, "cookie-a", &t));
        assert!(!verify(&key, "cookie-b", &t));
        assert!(!verify(&[8u8; 32], "cookie-a", &t));
        assert!(!verify(&key, "", &token(&key, "")));
        assert!(!verify(&key, "cookie-a", "garbage!"));
    }
}
