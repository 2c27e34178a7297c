//! Rules of the authorization code flow that need no I/O: which redirect
//! URI a request may use, PKCE, and whether a sign-in is recent enough.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::UnixTime;

/// Whether `requested` is one of the `registered` redirect URIs.
///
/// RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: compared as exact strings, so no
/// prefix, path, userinfo or fragment trick can redirect elsewhere. The one
/// allowance is RFC 8252 §7.3: a native application listening on a loopback
/// address (`http://127.0.0.1` or `http://[::1]`, not `localhost`) gets an
/// ephemeral port, so for those the port may differ and everything else must
/// match exactly.
pub fn redirect_uri_allowed(registered: &[String], requested: &str) -> bool {
    if registered.iter().any(|r| r == requested) {
        return true;
    }
    let Some(requested) = loopback_without_port(requested) else { return false };
    registered.iter().filter_map(|r| loopback_without_port(r)).any(|r| r == requested)
}

/// An `http` loopback-IP URI with its port removed; `None` for any other URI.
fn loopback_without_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("http://")?;
    let (host, tail) = if let Some(v6) = rest.strip_prefix("[::1]") {
        ("[::1]", v6)
    } else {
        ("127.0.0.1", rest.strip_prefix("127.0.0.1")?)
    };
    // After the host: an optional `:port` of digits, then the path.
    let tail = match tail.strip_prefix(':') {
        Some(port_and_path) => {
            let digits = port_and_path.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 5 {
                return None;
            }
            &port_and_path[digits..]
        }
        None => tail,
    };
    if !(tail.is_empty() || tail.starts_with('/') || tail.starts_with('?')) {
        return None;
    }
    Some(format!("http://{host}{tail}"))
}

/// RFC 7636 §4.1: a code verifier is 43 to 128 characters of
/// `[A-Za-z0-9-._~]`.
pub fn valid_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.2: an S256 challenge is the base64url (no padding) SHA-256
/// of the verifier: 43 characters.
pub fn valid_code_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && URL_SAFE_NO_PAD.decode(challenge).is_ok_and(|raw| raw.len() == 32)
}

/// RFC 7636 §4.6: whether `verifier` matches the S256 `challenge`, compared
/// in constant time.
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    if !valid_code_verifier(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    subtle::ConstantTimeEq::ct_eq(computed.as_bytes(), challenge.as_bytes()).into()
}

/// OpenID Connect Core §3.1.2.1 `max_age`: whether a sign-in at
/// `auth_time` is still recent enough at `now`.
pub fn recent_enough(auth_time: UnixTime, max_age: Option<u64>, now: UnixTime) -> bool {
    match max_age {
        None => true,
        Some(max) => now.0.saturating_sub(auth_time.0) <= i64::try_from(max).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(uris: &[&str]) -> Vec<String> {
        uris.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let r = reg(&["https://app.example/cb", "https://app.example/cb?x=1"]);
        assert!(redirect_uri_allowed(&r, "https://app.example/cb"));
        assert!(redirect_uri_allowed(&r, "https://app.example/cb?x=1"));
        for bad in [
            "https://app.example/cb/",
            "https://app.example/cb/../evil",
            "https://app.example/cbx",
            "https://app.example/cb#frag",
            "https://app.example/cb?x=2",
            "https://evil@app.example/cb",
            "https://app.example@evil.example/cb",
            "https://app.example:443/cb",
            "https://app.example:8443/cb",
            "HTTPS://app.example/cb",
            "https://app.example.evil.example/cb",
            "",
        ] {
            assert!(!redirect_uri_allowed(&r, bad), "{bad}");
        }
    }

    #[test]
    fn loopback_redirects_may_change_only_the_port() {
        let r = reg(&["http://127.0.0.1/callback", "http://[::1]:8000/cb"]);
        assert!(redirect_uri_allowed(&r, "http://127.0.0.1:51004/callback"));
        assert!(redirect_uri_allowed(&r, "http://127.0.0.1/callback"));
        assert!(redirect_uri_allowed(&r, "http://[::1]:1/cb"));
        for bad in [
            "http://127.0.0.1:51004/other",
            "http://127.0.0.1:51004@evil.example/callback",
            "http://127.0.0.1.evil.example/callback",
            "http://localhost:51004/callback",
            "https://127.0.0.1:51004/callback",
            "http://127.0.0.1:/callback",
            "http://127.0.0.1:999999/callback",
        ] {
            assert!(!redirect_uri_allowed(&r, bad), "{bad}");
        }
        // A non-loopback registration never gets the allowance.
        assert!(!redirect_uri_allowed(&reg(&["http://app.example/cb"]), "http://app.example:81/cb"));
    }

    #[test]
    fn pkce_s256_follows_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_code_challenge(challenge));
        assert!(pkce_matches(challenge, verifier));
        assert!(!pkce_matches(challenge, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX"));
        assert!(!pkce_matches(challenge, "short"));
        assert!(!valid_code_challenge("plain-challenge"));
        assert!(!valid_code_verifier(&"a".repeat(129)));
        assert!(!valid_code_verifier(&format!("{}!", "a".repeat(50))));
    }

    #[test]
    fn max_age_bounds_the_age_of_a_sign_in() {
        assert!(recent_enough(UnixTime(100), None, UnixTime(1_000_000)));
        assert!(recent_enough(UnixTime(100), Some(60), UnixTime(160)));
        assert!(!recent_enough(UnixTime(100), Some(60), UnixTime(161)));
        assert!(!recent_enough(UnixTime(100), Some(0), UnixTime(101)));
    }
}
