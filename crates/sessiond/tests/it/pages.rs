//! The browser pages over plain HTTP, doing what a browser does (its
//! cookies, its `Origin`): what testing in a real browser found, checked on
//! every run without one.
use std::time::Duration;

use reqwest::header::{HeaderMap, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use sessiond::secrets::Secret;

use crate::support::{claims, s, TestApp};

/// A client that keeps redirects for the test to read.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The value of the hidden field `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// `name=value` of every cookie a response sets.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect()
}

/// The login page: its headers, its HTML, its CSRF cookie and form field.
async fn login_form(t: &TestApp) -> (HeaderMap, String, String, String) {
    let page = no_redirects().get(t.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = set_cookies(&page).into_iter().find(|c| c.starts_with("sessiond-csrf=")).expect("a CSRF cookie");
    let headers = page.headers().clone();
    let html = page.text().await.unwrap();
    let field = hidden(&html, "csrf");
    (headers, html, cookie, field)
}

/// Signs `user` in on the login page as a browser does (the CSRF cookie
/// and field, its own `Origin`); returns the cookies to send afterwards.
async fn browser_sign_in(t: &TestApp, user: &str, password: &str) -> String {
    let (_, _, csrf_cookie, field) = login_form(t).await;
    let response = no_redirects()
        .post(t.url("/login"))
        .header(COOKIE, &csrf_cookie)
        .header(ORIGIN, &t.base)
        .form(&[("csrf", field.as_str()), ("request", ""), ("username", user), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/account");
    let session = set_cookies(&response).into_iter().find(|c| c.starts_with("sessiond=")).expect("an SSO cookie");
    format!("{csrf_cookie}; {session}")
}

/// Chromium sends `Origin: null` with every form a page posts when that
/// page's referrer policy is `no-referrer` (Fetch, "append a request
/// `Origin` header"), and the CSRF check rightly refuses `null`: with that
/// policy no form of ours could be submitted from a real browser. The pages
/// use `same-origin`, under which a form posted to its own site carries the
/// site's origin and other sites still get no referrer.
#[tokio::test]
async fn pages_let_browsers_send_their_origin_with_forms() {
    let t = TestApp::spawn().await;
    t.user("alice", "alice password").await;
    let (headers, html, csrf_cookie, field) = login_form(&t).await;
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert!(html.contains(r#"<meta name="referrer" content="same-origin">"#), "{html}");

    // What a browser sends under no-referrer is refused…
    let post = |origin: &str| {
        no_redirects()
            .post(t.url("/login"))
            .header(COOKIE, &csrf_cookie)
            .header(ORIGIN, origin)
            .form(&[("csrf", field.as_str()), ("request", ""), ("username", "alice"), ("password", "alice password")])
            .send()
    };
    assert_eq!(post("null").await.unwrap().status(), StatusCode::FORBIDDEN);
    // …and what it sends under same-origin is accepted.
    let signed_in = post(&t.base).await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()[LOCATION], "/account");
}

/// The admin page lists a user's sessions newest first, like the account
/// page (the store lists them by id, which is random).
#[tokio::test]
async fn admin_page_lists_sessions_newest_first() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    sessiond::accounts::create_user(&t.app, "root", &Secret::new("root password"), true).await.unwrap();
    t.user("alice", "alice password").await;
    let mut sids = Vec::new();
    for _ in 0..6 {
        let tokens = t.sign_in(&client, "alice", "alice password").await;
        sids.push(s(&claims(&s(&tokens, "access_token")), "sid"));
        t.clock.advance(Duration::from_secs(60));
    }
    let cookies = browser_sign_in(&t, "root", "root password").await;
    let page = no_redirects().get(t.url("/admin/users/alice")).header(COOKIE, cookies).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let listed: Vec<String> =
        html.split("data-sid=\"").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect();
    sids.reverse();
    assert_eq!(listed, sids, "newest first");
}
