//! What an authorization request leads to, given the browser's session:
//! the login page, the consent page, an authorization code, or an error
//! for the client. The rules of OpenID Connect Core §3.1.2.1 (`prompt`,
//! `max_age`) and §3.1.2.4 (consent) live here.
use url::Url;

use super::authorize::{AuthorizeRequest, Redirect};
use super::sso::BrowserSession;
use crate::app::App;
use crate::domain::recent_enough;
use crate::secrets::Secret;
use crate::store::{NewCode, StoreError};

/// How long an authorization code may be redeemed (RFC 6749 §4.1.2: "a
/// maximum authorization code lifetime of 10 minutes is RECOMMENDED"; a
/// browser redirect takes well under one).
pub const CODE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);

/// The next step of a request.
#[derive(Debug)]
pub enum Step {
    /// Ask for the user's name and password.
    Login,
    /// Ask the user to allow the client.
    Consent,
    /// Send the browser here (the code, or an error, for the client).
    Redirect(String),
}

/// Decides the next step. `just_signed_in` is true right after the login
/// form succeeded, which satisfies `prompt=login` and `max_age`.
pub async fn next_step(
    app: &App,
    req: &AuthorizeRequest,
    browser: Option<&BrowserSession>,
    just_signed_in: bool,
) -> Result<Step, StoreError> {
    let now = app.clock.now();
    let needs_login = match browser {
        None => true,
        Some(b) => !just_signed_in && (req.prompt.login || !recent_enough(b.session.created_at, req.max_age, now)),
    };
    let browser = match (needs_login, browser) {
        (false, Some(b)) => b,
        _ if req.prompt.none => return Ok(Step::Redirect(error_url(app, &refusal(req, "login_required")))),
        _ => return Ok(Step::Login),
    };
    if needs_consent(app, req, browser).await? {
        if req.prompt.none {
            return Ok(Step::Redirect(error_url(app, &refusal(req, "consent_required"))));
        }
        return Ok(Step::Consent);
    }
    issue_code(app, req, browser).await.map(Step::Redirect)
}

/// Whether the user must be asked: never for a first-party client;
/// otherwise when asked to (`prompt=consent`) or when what they allowed
/// before does not cover this scope.
async fn needs_consent(app: &App, req: &AuthorizeRequest, browser: &BrowserSession) -> Result<bool, StoreError> {
    if req.client.first_party {
        return Ok(false);
    }
    if req.prompt.consent {
        return Ok(true);
    }
    let allowed = app.store.consent(&browser.user.id, &req.client.id).await?;
    Ok(!allowed.is_some_and(|a| req.scope.is_subset_of(&a)))
}

/// Issues a code in the browser's session and returns where to send the
/// browser: `redirect_uri?code=…&state=…&iss=…` (RFC 6749 §4.1.2, RFC 9207).
pub async fn issue_code(app: &App, req: &AuthorizeRequest, browser: &BrowserSession) -> Result<String, StoreError> {
    let now = app.clock.now();
    let code = Secret::generate();
    app.store
        .create_code(&NewCode {
            hash: code.hash(),
            client_id: req.client.id.clone(),
            session_id: browser.session.id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            scope: req.scope.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            created_at: now,
            expires_at: now.plus(CODE_LIFETIME),
        })
        .await?;
    let mut pairs = vec![("code", code.expose())];
    if let Some(state) = &req.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &app.config.issuer));
    Ok(with_query(&req.redirect_uri, &pairs))
}

/// An error for the client, as a request refused by the user or the rules.
pub fn refusal(req: &AuthorizeRequest, error: &'static str) -> Redirect {
    let description = match error {
        "login_required" => "the user is not signed in",
        "consent_required" => "the user has not allowed this application",
        "access_denied" => "the user did not allow this application",
        _ => "the request was refused",
    };
    Redirect {
        redirect_uri: req.redirect_uri.clone(),
        error,
        description: description.to_owned(),
        state: req.state.clone(),
    }
}

/// The redirect that carries an error (RFC 6749 §4.1.2.1, RFC 9207 `iss`).
pub fn error_url(app: &App, r: &Redirect) -> String {
    let mut pairs = vec![("error", r.error), ("error_description", r.description.as_str())];
    if let Some(state) = &r.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &app.config.issuer));
    with_query(&r.redirect_uri, &pairs)
}

/// `uri` with `pairs` appended to its query, which it may already have
/// (RFC 6749 §3.1.2: the query of a registered URI must be kept). With no
/// pairs, `uri` itself: not even an empty `?` is added.
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return uri.to_owned();
    }
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        // A registered URI always parses (checked at registration).
        Err(_) => uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_appended_and_nothing_is_added_without_pairs() {
        assert_eq!(with_query("https://app.example/cb", &[("state", "a b")]), "https://app.example/cb?state=a+b");
        assert_eq!(with_query("https://app.example/cb?x=1", &[("code", "c")]), "https://app.example/cb?x=1&code=c");
        assert_eq!(with_query("https://app.example/bye", &[]), "https://app.example/bye");
    }
}
