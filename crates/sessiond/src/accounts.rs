//! Managing users and clients: the operations behind the CLI (and the admin
//! API), each a parse of its inputs plus one store call.
use crate::app::App;
use crate::domain::{
    AuditEvent, AuditKind, Client, ClientId, ClientKind, EndReason, GrantType, NewClient, SessionId, User, UserId,
    UserName,
};
use crate::secrets::{self, Secret};
use crate::sessions::{self, Actor};
use crate::store::StoreError;

/// Shortest password accepted (NIST SP 800-63B §5.1.1.2).
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password accepted, bounding the work a request can cause.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// A management operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The input is not acceptable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// No such user or client.
    #[error("{0} not found")]
    NotFound(String),
    /// The name or id is taken.
    #[error("{0} already exists")]
    Exists(String),
    /// Storage failed.
    #[error("storage failed: {0}")]
    Store(#[source] StoreError),
    /// Password hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(#[from] crate::secrets::PasswordHashError),
    /// The hashing gate failed or was saturated.
    #[error("password hashing failed: {0}")]
    Hashing(#[from] crate::login::HashingError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => AccountError::Exists(what.to_owned()),
            other => AccountError::Store(other),
        }
    }
}

fn check_password(password: &str) -> Result<(), AccountError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN || password.len() > MAX_PASSWORD_LEN {
        return Err(AccountError::Invalid(format!(
            "a password is {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} bytes long"
        )));
    }
    Ok(())
}

/// Through the same gate as sign-ins, so setting passwords cannot take
/// hashing past its memory bound either.
async fn hash_password(app: &App, password: &Secret) -> Result<String, AccountError> {
    Ok(app.hashing.hash(password.clone()).await?)
}

/// Creates a user.
pub async fn create_user(app: &App, name: &str, password: &Secret, is_admin: bool) -> Result<User, AccountError> {
    let name = UserName::parse(name).map_err(|e| AccountError::Invalid(e.to_string()))?;
    check_password(password.expose())?;
    let user = User {
        id: UserId::new(secrets::new_id()),
        name: name.as_str().to_owned(),
        password_hash: hash_password(app, password).await?,
        is_admin,
        disabled_at: None,
        created_at: app.clock.now(),
    };
    app.store.create_user(&user).await.map_err(|e| match e {
        StoreError::Conflict(_) => AccountError::Exists(format!("user {}", user.name)),
        other => other.into(),
    })?;
    Ok(user)
}

/// Replaces a user's password.
///
/// Unless `keep` says otherwise, every session of the user other than
/// `keep`'s ends (reason `logout`): a changed password usually means the old
/// one leaked, and sessions opened with it must not survive (OWASP ASVS 5.0
/// V7, session termination). Returns how many sessions ended.
pub async fn set_password(
    app: &App,
    name: &str,
    password: &Secret,
    keep: KeepSessions<'_>,
    actor: &Actor,
) -> Result<usize, AccountError> {
    check_password(password.expose())?;
    let hash = hash_password(app, password).await?;
    if !app.store.set_password_hash(name, &hash).await? {
        return Err(AccountError::NotFound(format!("user {name}")));
    }
    let user = app.store.user_by_name(name).await?.ok_or_else(|| AccountError::NotFound(format!("user {name}")))?;
    app.audit(AuditEvent {
        user_id: Some(user.id.to_string()),
        user_name: Some(user.name.clone()),
        ..actor.event(app, AuditKind::PasswordChanged)
    })
    .await;
    let ended = match keep {
        KeepSessions::All => return Ok(0),
        KeepSessions::AllBut(except) => {
            sessions::end_user_sessions(app, &user.id, except, EndReason::Logout, actor).await?
        }
    };
    Ok(ended.len())
}

/// Which sessions survive a password change.
#[derive(Debug, Clone, Copy)]
pub enum KeepSessions<'a> {
    /// Every one (opt-out of ending them).
    All,
    /// None but this one (the session making the change, if any).
    AllBut(Option<&'a SessionId>),
}

/// Disables a user: every session ended, every token revoked. Returns how
/// many sessions ended.
pub async fn disable_user(app: &App, name: &str, actor: &Actor) -> Result<usize, AccountError> {
    match sessions::disable_user(app, name, actor).await? {
        Some((_, ended)) => Ok(ended.len()),
        None => Err(AccountError::NotFound(format!("user {name}"))),
    }
}

/// Enables a user again. Ended sessions stay ended.
pub async fn enable_user(app: &App, name: &str, actor: &Actor) -> Result<(), AccountError> {
    if !app.store.enable_user(name).await? {
        return Err(AccountError::NotFound(format!("user {name}")));
    }
    app.audit(AuditEvent { user_name: Some(name.to_owned()), ..actor.event(app, AuditKind::UserEnabled) }).await;
    Ok(())
}

/// A registered client and, for confidential clients, its secret: shown
/// once, stored only as a hash.
#[derive(Debug)]
pub struct RegisteredClient {
    /// The client.
    pub client: Client,
    /// The secret, if confidential.
    pub secret: Option<Secret>,
}

/// A random client id that does not start with `-`, so that it can be
/// given to a command line (`client remove ID`) without being read as a flag.
fn new_client_id() -> ClientId {
    loop {
        let id = secrets::random_token(16);
        if !id.starts_with('-') {
            return ClientId::new(id);
        }
    }
}

/// Registers a client after checking that its registration makes sense.
pub async fn register_client(app: &App, new: NewClient) -> Result<RegisteredClient, AccountError> {
    validate_client(&new)?;
    let secret = (new.kind == ClientKind::Confidential).then(Secret::generate);
    let client = Client {
        id: new_client_id(),
        name: new.name,
        kind: new.kind,
        secret_hash: secret.as_ref().map(Secret::hash),
        grant_types: new.grant_types,
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        backchannel_logout_uri: new.backchannel_logout_uri,
        scope: new.scope,
        resource_server: new.resource_server,
        first_party: new.first_party,
        backchannel_logout_session_required: new.backchannel_logout_session_required,
        created_at: app.clock.now(),
    };
    app.store.create_client(&client).await?;
    Ok(RegisteredClient { client, secret })
}

fn validate_client(new: &NewClient) -> Result<(), AccountError> {
    let invalid = |m: &str| Err(AccountError::Invalid(m.to_owned()));
    if new.name.trim().is_empty() || new.name.len() > 128 {
        return invalid("a client name is 1 to 128 characters");
    }
    if new.grant_types.is_empty() {
        return invalid("a client needs at least one grant type");
    }
    // RFC 6749 §4.4: client_credentials is for confidential clients only.
    if new.kind == ClientKind::Public && new.grant_types.contains(&GrantType::ClientCredentials) {
        return invalid("a public client cannot use client_credentials");
    }
    if new.grant_types.contains(&GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
        return invalid("authorization_code needs at least one --redirect-uri");
    }
    for uri in new.redirect_uris.iter().chain(&new.post_logout_redirect_uris).chain(&new.backchannel_logout_uri) {
        check_uri(uri)?;
    }
    Ok(())
}

/// RFC 6749 §3.1.2: an absolute URI without a fragment.
fn check_uri(raw: &str) -> Result<(), AccountError> {
    match url::Url::parse(raw) {
        Ok(u) if u.fragment().is_none() && !raw.contains(' ') => Ok(()),
        _ => Err(AccountError::Invalid(format!("{raw:?} is not an absolute URI without a fragment"))),
    }
}

/// Removes a client: it can no longer authenticate, its grants are revoked
/// and every token it holds dies at once.
pub async fn remove_client(app: &App, id: &str, actor: &Actor) -> Result<(), AccountError> {
    let now = app.clock.now();
    let client_id = ClientId::new(id);
    let removed = AuditEvent { client_id: Some(id.to_owned()), ..actor.event(app, AuditKind::ClientRemoved) };
    let audit = crate::store::audit(move |outcome: &Option<_>| outcome.iter().map(|_| removed.clone()).collect());
    let Some(revocations) = app.store.remove_client(&client_id, now, audit).await? else {
        return Err(AccountError::NotFound(format!("client {id}")));
    };
    app.apply_revocations(&revocations);
    Ok(())
}
