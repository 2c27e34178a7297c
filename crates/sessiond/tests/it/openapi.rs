//! The API contract (`GET /api/openapi.json`) against the router: every
//! route is documented or is one of the browser pages left out on purpose,
//! and every documented operation is routed. Both sides come from the code:
//! the routes from `http::route_table` (the calls that build the router),
//! the operations from the generated document.
use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;
use sessiond::http::{self, openapi};
use utoipa::OpenApi;

use crate::support::TestApp;

/// The browser pages: HTML in, HTML out, forms with CSRF tokens; not part
/// of the JSON contract (README "Pages"). A new page goes here; a new API
/// goes into the contract.
const HTML_ROUTES: &[(&str, &str)] = &[
    // The authorization endpoint: the code flow's login and consent pages.
    ("GET", "/oauth2/authorize"),
    ("POST", "/oauth2/authorize"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/consent"),
    // RP-Initiated Logout: a confirmation page, then a redirect.
    ("GET", "/oauth2/logout"),
    ("POST", "/oauth2/logout"),
    // The account page and its forms.
    ("GET", "/account"),
    ("POST", "/account/sessions/{sid}/end"),
    ("POST", "/account/sessions/end-others"),
    ("POST", "/account/sessions/end-all"),
    ("POST", "/account/password"),
    ("POST", "/account/consents/{client_id}/revoke"),
    // The admin pages and their forms.
    ("GET", "/admin"),
    ("GET", "/admin/users/{name}"),
    ("POST", "/admin/users/{name}/sessions/{sid}/end"),
    ("POST", "/admin/users/{name}/sessions/end-all"),
    ("POST", "/admin/users/{name}/disable"),
    ("POST", "/admin/users/{name}/enable"),
    // The pages' stylesheet.
    ("GET", "/static/sessiond.css"),
];

fn pairs<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>) -> BTreeSet<(String, String)> {
    items.into_iter().map(|(m, p)| (m.to_owned(), p.to_owned())).collect()
}

#[test]
fn every_route_is_in_the_contract_or_is_a_page_and_every_operation_is_routed() {
    let table = http::route_table();
    let routed = pairs(table.iter().map(|r| (r.method.as_str(), r.path)));
    assert_eq!(routed.len(), table.len(), "a route is added twice");
    let documented: BTreeSet<(String, String)> =
        openapi::operations_of(&openapi::ApiDoc::openapi()).into_iter().collect();
    let pages = pairs(HTML_ROUTES.iter().copied());

    let undocumented: Vec<_> = routed.difference(&documented).filter(|r| !pages.contains(*r)).collect();
    assert!(undocumented.is_empty(), "routes neither in the contract nor listed as pages: {undocumented:?}");
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(unrouted.is_empty(), "operations in the contract with no route: {unrouted:?}");
    let stale: Vec<_> = pages.difference(&routed).collect();
    assert!(stale.is_empty(), "pages listed that are not routed: {stale:?}");
    let both: Vec<_> = pages.intersection(&documented).collect();
    assert!(both.is_empty(), "pages that are in the contract after all: {both:?}");
}

#[tokio::test]
async fn the_contract_is_served_for_this_server() {
    let t = TestApp::spawn().await;
    let r = t.http.get(t.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert_eq!(doc["servers"][0]["url"], t.base.as_str());
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["client_secret_basic"]["scheme"], "basic");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    // A plain-http issuer's cookie has no `__Host-` prefix.
    assert_eq!(schemes["sso_cookie"]["name"], t.app.config.cookies.session.as_str());

    // Operation ids are unique, and every operation says what it answers.
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path}: no success answer");
        }
    }
    // Error answers share the RFC 6749 §5.2 body.
    let bad_request = &doc["components"]["responses"]["BadRequest"]["content"]["application/json"]["schema"];
    assert_eq!(bad_request["$ref"], "#/components/schemas/ErrorBody");
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    assert!(codes.as_array().unwrap().iter().any(|c| c == "invalid_request"), "{codes}");
}
