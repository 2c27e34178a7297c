//! The first start: with no users yet, create an admin and a demo client and
//! show their credentials once, with commands to try.
use super::CliError;
use crate::accounts;
use crate::app::App;
use crate::domain::{ClientKind, GrantType, NewClient, Scope};
use crate::secrets::{self, Secret};

/// What the first start created.
pub struct FirstStart {
    admin_password: Secret,
    client_id: String,
    client_secret: Secret,
}

/// Creates the admin user and demo client if the store has no user.
pub async fn first_start(app: &App) -> Result<Option<FirstStart>, CliError> {
    if app.store.count_users().await.map_err(CliError::from_display)? > 0 {
        return Ok(None);
    }
    let admin_password = Secret::new(secrets::random_token(15));
    match accounts::create_user(app, "admin", &admin_password, true).await {
        Ok(_) => {}
        // Another node starting on the same database at the same moment
        // bootstrapped first; its banner shows the credentials.
        Err(accounts::AccountError::Exists(_)) => return Ok(None),
        Err(e) => return Err(CliError::from_display(e)),
    }
    let demo = NewClient {
        name: "demo".into(),
        kind: ClientKind::Confidential,
        grant_types: vec![GrantType::ClientCredentials, GrantType::Password, GrantType::RefreshToken],
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        scope: Scope::parse("api:read api:write").map_err(CliError::from_display)?,
        resource_server: false,
        first_party: false,
        backchannel_logout_session_required: false,
    };
    let registered = accounts::register_client(app, demo).await.map_err(CliError::from_display)?;
    let client_secret = registered.secret.ok_or_else(|| CliError("demo client has no secret".into()))?;
    Ok(Some(FirstStart { admin_password, client_id: registered.client.id.to_string(), client_secret }))
}

/// `sessiond init`: the data exists now (opening it created it); create the
/// first credentials if there are none and say what was done.
pub async fn init(app: &App) -> Result<(), CliError> {
    let first = first_start(app).await?;
    let mut out = format!("sessiond data is ready; issuer {}\n", app.config.issuer);
    match &first {
        None => out.push_str("  users already exist: nothing else to create\n"),
        Some(f) => out.push_str(&format!("\nFirst start: {}", credentials(f))),
    }
    out.push_str("  start the server with `sessiond serve`\n");
    super::output::print_line(&out);
    Ok(())
}

fn credentials(f: &FirstStart) -> String {
    format!(
        "created these credentials. They are shown this once and stored only hashed.\n\
         \x20 admin user:   admin / {}\n\
         \x20 demo client:  client_id {}\n\
         \x20               client_secret {}\n",
        f.admin_password.expose(),
        f.client_id,
        f.client_secret.expose()
    )
}

/// The text printed when the server starts.
pub fn banner(issuer: &str, secure_cookies: bool, first: Option<&FirstStart>) -> String {
    let mut out = format!(
        "sessiond is listening; issuer {issuer}\n  discovery: {issuer}/.well-known/openid-configuration\n  keys:      {issuer}/jwks.json\n  sign in:   {issuer}/account\n"
    );
    if !secure_cookies {
        out.push_str(
            "  note: the issuer is plain http, so the browser's session cookie is `sessiond` without `Secure` or the\n\
             \x20       __Host- prefix (browsers refuse both over http). For development only: use an https issuer.\n",
        );
    }
    match first {
        None => out.push_str("  manage users and clients with `sessiond user …` and `sessiond client …`\n"),
        Some(f) => {
            let (id, secret, pw) = (&f.client_id, f.client_secret.expose(), f.admin_password.expose());
            out.push_str(&format!("\nFirst start: {}", credentials(f)));
            out.push_str(&format!(
                "\nTry it:\n\
                 \x20 # a token for the client itself\n\
                 \x20 curl -s -u '{id}:{secret}' -d grant_type=client_credentials {issuer}/oauth2/token\n\
                 \x20 # sign in as admin: a session, an access token and a refresh token\n\
                 \x20 curl -s -u '{id}:{secret}' -d grant_type=password -d username=admin -d 'password={pw}' {issuer}/oauth2/token\n\
                 \x20 # log out with that access token (AT): the session and every token of it end at once\n\
                 \x20 curl -s -X POST -H \"Authorization: Bearer $AT\" {issuer}/logout\n\
                 \x20 curl -s -u '{id}:{secret}' -d \"token=$AT\" {issuer}/oauth2/introspect   # {{\"active\":false}}\n"
            ));
        }
    }
    out
}
