//! The SSO cookie: a high-entropy secret per browser session, stored only
//! as its hash. This is the one place where a browser's session is judged
//! live, on every request that carries the cookie: the session row (shared
//! by every node, so an ending anywhere is seen at once), its revocation
//! index entry, and the user's stored state.
use crate::app::App;
use crate::domain::{Session, User};
use crate::secrets::{sha256, Secret};
use crate::store::StoreError;

/// Longest cookie value looked up (a generated one is 43 characters).
const MAX_COOKIE: usize = 128;

/// A browser's live session and its user.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
}

/// The live session the cookie value names, if any.
pub async fn live_session(app: &App, cookie: &str) -> Result<Option<BrowserSession>, StoreError> {
    if cookie.is_empty() || cookie.len() > MAX_COOKIE {
        return Ok(None);
    }
    let Some(session) = app.store.session_by_cookie(&sha256(cookie)).await? else { return Ok(None) };
    let now = app.clock.now();
    let revoked = app.validator.is_id_revoked(sessiond_guard::RevocationKind::Session, session.id.as_str());
    if !session.is_live(now) || revoked {
        return Ok(None);
    }
    match app.store.user_by_id(&session.user_id).await? {
        Some(user) if user.is_enabled() => Ok(Some(BrowserSession { session, user })),
        _ => Ok(None),
    }
}

/// A new cookie value; only its hash is stored.
pub fn new_cookie() -> Secret {
    Secret::generate()
}
