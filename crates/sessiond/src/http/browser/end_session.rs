//! RP-Initiated Logout 1.0 (`end_session_endpoint`, `GET`/`POST
//! /oauth2/logout`): the application sends the browser here to sign out.
//! When the request is tied to this browser's session (an `id_token_hint`
//! naming it), the session ends at once; otherwise the user confirms on a
//! page (§2: the OP should ask when it cannot tell the request is genuine).
//! Ending the session revokes every token of it through the usual path.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use minijinja::context;

use super::cookies;
use super::forms::{browser_session, check_csrf, csrf_field, see_other, with_cookies, PageForm};
use super::pages::{error_page, page};
use crate::app::App;
use crate::browser::with_query;
use crate::domain::{Client, ClientId, EndReason, SessionId};
use crate::http::context::RequestContext;
use crate::http::form::OAuthForm;
use crate::sessions::{end_session, Actor};
use crate::tokens::verify_id_token_hint;

/// The parameters of §2 that are passed through the confirmation page.
const PASSED_ON: [&str; 5] = ["id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"];

/// `GET`: parameters in the query string.
pub async fn end_session_get(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RequestContext(context): RequestContext,
    uri: Uri,
) -> Response {
    let form = match OAuthForm::parse(uri.query().unwrap_or("").as_bytes()) {
        Ok(form) => form,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "Cannot sign out", "The request is malformed."),
    };
    logout(&app, &headers, context, &form, false).await
}

/// `POST`: a form (an application's, or our confirmation page's).
pub async fn end_session_post(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RequestContext(context): RequestContext,
    PageForm(form): PageForm,
) -> Response {
    logout(&app, &headers, context, &form, true).await
}

async fn logout(
    app: &App,
    headers: &HeaderMap,
    context: crate::domain::SignInContext,
    form: &OAuthForm,
    posted: bool,
) -> Response {
    let bad = |m: &str| error_page(StatusCode::BAD_REQUEST, "Cannot sign out", m);
    let one = |name| form.one(name).ok().flatten();
    let client_id = one("client_id").map(ClientId::new);
    // §2: accepted even when expired; the signature must be one of ours.
    let hint = match one("id_token_hint") {
        None => None,
        Some(token) => match verify_id_token_hint(&app.keys(), token, client_id.as_ref()) {
            Ok(claims) => Some(claims),
            Err(_) => return bad("The id_token_hint is not an ID token this server issued (to this application)."),
        },
    };
    let client_id = client_id.or_else(|| hint.as_ref().map(|h| ClientId::new(h.aud.as_str())));
    let client = match &client_id {
        None => None,
        Some(id) => match app.clients.get(app, id).await {
            Ok(Some(client)) => Some(client),
            Ok(None) => return bad("The application that sent you here is not registered."),
            Err(e) => return super::authorize::unavailable(&e),
        },
    };
    // §3: only a registered post-logout URI, compared exactly; anything
    // else is refused rather than followed (no open redirector).
    let back = match one("post_logout_redirect_uri") {
        None => None,
        Some(uri) => match &client {
            Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => Some(uri.to_owned()),
            _ => return bad("The post_logout_redirect_uri is not one this application registered."),
        },
    };
    let browser = browser_session(app, headers).await;
    let tied = match (&hint, &browser) {
        (Some(h), Some(b)) => h.sid == b.session.id.as_str(),
        _ => false,
    };
    // `confirm=yes` comes only from our confirmation page's form: like every
    // form of ours, one without its CSRF token (or from another origin) is
    // forged and refused with 403, not shown the page again.
    let confirmed = posted && one("confirm") == Some("yes");
    if confirmed {
        if let Err(forged) = check_csrf(app, headers, form) {
            return forged;
        }
    }
    if !tied && !confirmed {
        return confirmation_page(app, headers, form, client.as_deref());
    }
    if let Some(b) = &browser {
        let actor = Actor { name: Some(b.user.name.clone()), ip: context.ip, user_agent: context.user_agent };
        if let Err(e) = end_session(app, &b.session.id, EndReason::Logout, &actor).await {
            return super::authorize::unavailable(&e);
        }
        // A re-authentication in this browser (prompt=login, max_age) opened
        // a new session and left the earlier one live, and the application
        // may hold tokens of that one: the session the hint names ends too
        // when it is this same user's (ending is idempotent).
        if let Some(h) = hint.as_ref().filter(|h| h.sid != b.session.id.as_str() && h.sub == b.user.id.as_str()) {
            if let Err(e) = end_session(app, &SessionId::new(h.sid.as_str()), EndReason::Logout, &actor).await {
                return super::authorize::unavailable(&e);
            }
        }
    }
    let clear = cookies::set(app, &app.config.cookies.session, "", "Lax", Some(0));
    let response = match back {
        Some(uri) => {
            let state = one("state");
            let pairs: Vec<(&str, &str)> = state.map(|s| ("state", s)).into_iter().collect();
            see_other(&with_query(&uri, &pairs))
        }
        None => page(StatusCode::OK, "signed_out.html", context! {}),
    };
    with_cookies(response, [clear])
}

fn confirmation_page(app: &App, headers: &HeaderMap, form: &OAuthForm, client: Option<&Client>) -> Response {
    let (csrf, set) = csrf_field(app, headers);
    let params: Vec<(&str, &str)> =
        PASSED_ON.iter().filter_map(|name| form.one(name).ok().flatten().map(|v| (*name, v))).collect();
    let client_name = client.map(|c| c.name.clone());
    with_cookies(page(StatusCode::OK, "logout.html", context! { csrf, params, client_name }), set)
}
