//! Server-rendered pages: templates from `templates/` (minijinja, every
//! value HTML-escaped), served with the headers every page with personal
//! data needs — never cached, never framed, no inline script allowed, no
//! referrer leaked to another site.
use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

/// Every page's Content-Security-Policy: nothing but our own stylesheet;
/// no script at all; no framing (clickjacking); forms only to ourselves or
/// wherever a redirect after them leads (so not restricted here: browsers
/// apply `form-action` to the redirect that sends a user back to the
/// application).
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

const TEMPLATES: [(&str, &str); 9] = [
    ("base.html", include_str!("../../../templates/base.html")),
    ("login.html", include_str!("../../../templates/login.html")),
    ("consent.html", include_str!("../../../templates/consent.html")),
    ("error.html", include_str!("../../../templates/error.html")),
    ("logout.html", include_str!("../../../templates/logout.html")),
    ("signed_out.html", include_str!("../../../templates/signed_out.html")),
    ("account.html", include_str!("../../../templates/account.html")),
    ("admin.html", include_str!("../../../templates/admin.html")),
    ("admin_user.html", include_str!("../../../templates/admin_user.html")),
];

/// The stylesheet, served at `/static/sessiond.css`.
pub const STYLESHEET: &str = include_str!("../../../static/sessiond.css");

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // The templates are part of the binary and parsed by a test;
            // one that failed to parse would render as an error page.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        env
    })
}

/// Renders `template` with `context` as a page with `status`.
pub fn page(status: StatusCode, template: &str, context: impl Serialize) -> Response {
    let body = environment().get_template(template).and_then(|t| t.render(context));
    match body {
        Ok(html) => with_page_headers((status, Html(html)).into_response()),
        Err(e) => {
            tracing::error!(template, error = %e, "page did not render");
            let html = "<!doctype html><title>Error</title><p>The page could not be shown.</p>";
            with_page_headers((StatusCode::INTERNAL_SERVER_ERROR, Html(html)).into_response())
        }
    }
}

/// An error page: the request cannot go on, and nobody is redirected.
pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    page(status, "error.html", minijinja::context! { heading, message })
}

/// The headers of every page.
pub fn with_page_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send
    // `Origin: null` with every form a page posts (Fetch, "append a request
    // `Origin` header"), and the CSRF check refuses it. Other sites still
    // get no referrer (base.html's meta tag says the same).
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// `GET /static/sessiond.css`.
pub async fn stylesheet() -> Response {
    let mut r = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_escapes() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let html = env
            .get_template("error.html")
            .unwrap()
            .render(minijinja::context! { heading => "<b>x</b>", message => "\"><script>alert(1)</script>" })
            .unwrap();
        assert!(!html.contains("<script>alert"), "values are escaped");
        assert!(html.contains("&lt;b&gt;x"), "{html}");
    }
}
