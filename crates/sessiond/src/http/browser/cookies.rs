//! The browser's cookies: the SSO cookie (the session) and the CSRF cookie
//! (the forms). `__Host-` names with `Secure` for an https issuer; for a
//! plain-http issuer (development on loopback) the prefix and `Secure` are
//! dropped, since browsers refuse both over http — the start-up banner says
//! so.
use axum::http::{header, HeaderMap, HeaderValue};

use crate::app::App;

/// The value of cookie `name` in the request, if any.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` for `name=value`: `HttpOnly`, `Path=/`, no `Domain`,
/// `SameSite`, `Secure` when the issuer is https, and `Max-Age` if given
/// (0 deletes it).
pub fn set(app: &App, name: &str, value: &str, same_site: &str, max_age: Option<u64>) -> HeaderValue {
    let policy = &app.config.cookies;
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if policy.secure {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    // Names and values are ours (base64url), so this always parses.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_from_every_header() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; sessiond=abc"));
        h.append(header::COOKIE, HeaderValue::from_static("other=2"));
        assert_eq!(get(&h, "sessiond"), Some("abc"));
        assert_eq!(get(&h, "other"), Some("2"));
        assert_eq!(get(&h, "missing"), None);
    }
}
