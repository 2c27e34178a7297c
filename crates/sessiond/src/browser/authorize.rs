//! An authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect
//! Core §3.1.2.1), validated in the order the specs require: the client and
//! redirect URI first — an error there is shown to the user and never
//! redirected (§4.1.2.1), because the redirect URI cannot be trusted — then
//! everything else, whose errors go back to the client.
use std::sync::Arc;

use crate::app::App;
use crate::domain::{redirect_uri_allowed, valid_code_challenge, Client, ClientId, ClientKind, GrantType, Scope};

/// The parameters as received (each at most once).
#[derive(Debug, Default, Clone)]
pub struct AuthorizeParams {
    /// `response_type`.
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
    /// `max_age`.
    pub max_age: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `response_mode`.
    pub response_mode: Option<String>,
    /// `request` or `request_uri` was sent (not supported).
    pub request_object: bool,
}

/// `prompt` values (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: no page may be shown.
    pub none: bool,
    /// `login`: ask for the password even with a live session.
    pub login: bool,
    /// `consent`: ask for consent even if given before.
    pub consent: bool,
}

/// A valid authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The client.
    pub client: Arc<Client>,
    /// Where to send the answer: one of the client's registered URIs.
    pub redirect_uri: String,
    /// The scope asked for (within the client's).
    pub scope: Scope,
    /// `state`, returned unchanged.
    pub state: Option<String>,
    /// `nonce`, put in the ID token.
    pub nonce: Option<String>,
    /// The S256 challenge, if any.
    pub code_challenge: Option<String>,
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age` in seconds.
    pub max_age: Option<u64>,
    /// `login_hint`: fills the user name field.
    pub login_hint: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone)]
pub enum AuthorizeError {
    /// The client or redirect URI is not valid: shown on a page, never
    /// redirected (RFC 6749 §4.1.2.1; RFC 9700 §4.1: no open redirector).
    Page(String),
    /// Anything else: sent back to the (valid) redirect URI.
    Redirect(Redirect),
}

/// An error for the client, at its redirect URI (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// The error code.
    pub error: &'static str,
    /// What went wrong.
    pub description: String,
    /// The request's `state`.
    pub state: Option<String>,
}

/// Longest `state` and `nonce` accepted: they are echoed back and stored.
const MAX_ECHOED: usize = 512;
/// Longest `login_hint` used.
const MAX_LOGIN_HINT: usize = 256;

/// Validates an authorization request.
pub async fn validate(app: &App, p: AuthorizeParams) -> Result<AuthorizeRequest, AuthorizeError> {
    let page = |m: &str| AuthorizeError::Page(m.to_owned());
    let client_id = p.client_id.as_deref().ok_or_else(|| page("The request names no application (client_id)."))?;
    let client = app
        .clients
        .get(app, &ClientId::new(client_id))
        .await
        .map_err(|_| page("The server could not look up the application; try again."))?
        .ok_or_else(|| page("The application that sent you here is not registered."))?;
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(page("This application may not sign people in through the browser."));
    }
    // OpenID Connect Core §3.1.2.1: redirect_uri is required; RFC 6749 §4.1.1
    // would let a client with one registered URI omit it, but requiring it
    // is what every OpenID Connect client sends and leaves nothing implied.
    let redirect_uri = p.redirect_uri.clone().ok_or_else(|| page("The request has no redirect_uri."))?;
    if !redirect_uri_allowed(&client.redirect_uris, &redirect_uri) {
        return Err(page("The redirect_uri is not one this application registered."));
    }
    let state = p.state.clone();
    let fail = |error: &'static str, description: &str| {
        AuthorizeError::Redirect(Redirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: state.clone(),
        })
    };
    if state.as_ref().is_some_and(|s| s.len() > MAX_ECHOED) || p.nonce.as_ref().is_some_and(|n| n.len() > MAX_ECHOED) {
        return Err(fail("invalid_request", "state and nonce are at most 512 bytes"));
    }
    if p.request_object {
        // OpenID Connect Core §6: request objects are optional.
        return Err(fail("request_not_supported", "request objects are not supported"));
    }
    match p.response_mode.as_deref() {
        None | Some("query") => {}
        Some(_) => return Err(fail("invalid_request", "only response_mode=query is supported")),
    }
    match p.response_type.as_deref() {
        Some("code") => {}
        None => return Err(fail("invalid_request", "response_type is required")),
        Some(_) => return Err(fail("unsupported_response_type", "only response_type=code is supported")),
    }
    let scope = match p.scope.as_deref() {
        None => return Err(fail("invalid_scope", "scope is required")),
        Some(raw) => Scope::parse(raw).map_err(|_| fail("invalid_scope", "malformed scope"))?,
    };
    if !scope.iter().all(|s| client.scope.contains(s) || STANDARD_SCOPES.contains(&s)) {
        return Err(fail("invalid_scope", "the application may not ask for this scope"));
    }
    let code_challenge = match (p.code_challenge.as_deref(), p.code_challenge_method.as_deref()) {
        (None, None) if client.kind == ClientKind::Public => {
            // RFC 9700 §2.1.1: public clients must use PKCE.
            return Err(fail("invalid_request", "PKCE (code_challenge, S256) is required for this application"));
        }
        (None, None) => None,
        (Some(c), Some("S256")) if valid_code_challenge(c) => Some(c.to_owned()),
        (Some(_), Some("S256")) => return Err(fail("invalid_request", "malformed code_challenge")),
        (Some(_), None | Some("plain")) => {
            // RFC 9700 §2.1.1: plain must not be used.
            return Err(fail("invalid_request", "code_challenge_method must be S256"));
        }
        _ => return Err(fail("invalid_request", "code_challenge_method must be S256, with a code_challenge")),
    };
    let prompt = parse_prompt(p.prompt.as_deref()).ok_or_else(|| fail("invalid_request", "unknown prompt value"))?;
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(fail("invalid_request", "prompt=none cannot be combined with other values"));
    }
    let max_age = match p.max_age.as_deref() {
        None => None,
        Some(raw) => Some(raw.parse::<u64>().map_err(|_| fail("invalid_request", "max_age must be a number"))?),
    };
    let login_hint = p.login_hint.filter(|h| h.len() <= MAX_LOGIN_HINT && !h.chars().any(char::is_control));
    Ok(AuthorizeRequest {
        client,
        redirect_uri,
        scope,
        state,
        nonce: p.nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint,
    })
}

/// Scopes every client may ask for: OpenID Connect's own.
pub const STANDARD_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

fn parse_prompt(raw: Option<&str>) -> Option<Prompt> {
    let mut prompt = Prompt::default();
    for value in raw.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            // §3.1.2.1: select_account is a hint a server may treat as
            // satisfied by the current session.
            "select_account" => {}
            _ => return None,
        }
    }
    Some(prompt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values() {
        assert_eq!(parse_prompt(None), Some(Prompt::default()));
        assert_eq!(parse_prompt(Some("login consent")), Some(Prompt { none: false, login: true, consent: true }));
        assert_eq!(parse_prompt(Some("none")), Some(Prompt { none: true, ..Prompt::default() }));
        assert_eq!(parse_prompt(Some("nonsense")), None);
    }
}
