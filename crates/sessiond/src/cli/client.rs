//! `sessiond client …`
use clap::Subcommand;
use serde::Serialize;

use super::output::Format;
use super::CliError;
use crate::accounts::{self, RegisteredClient};
use crate::app::App;
use crate::domain::{Client, ClientKind, GrantType, NewClient, Scope};
use crate::sessions::Actor;

/// Client subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its client_id and, once, its client_secret.
    Add(AddClient),
    /// List clients.
    List {
        #[command(flatten)]
        format: Format,
    },
    /// Remove a client.
    Remove {
        /// The client_id.
        client_id: String,
        #[command(flatten)]
        format: Format,
    },
}

/// `client add` arguments.
#[derive(Debug, clap::Args)]
pub struct AddClient {
    /// Human-readable name.
    name: String,
    /// A server-side application that can keep a secret (the default).
    #[arg(long, conflicts_with = "public")]
    confidential: bool,
    /// A browser or native application: no secret.
    #[arg(long)]
    public: bool,
    /// Grant types [default: client_credentials for confidential clients,
    /// authorization_code and refresh_token for public ones].
    #[arg(long = "grant", value_name = "GRANT", num_args = 1.., value_parser = parse_grant)]
    grants: Vec<GrantType>,
    /// Redirect URI for the code flow (repeatable).
    #[arg(long = "redirect-uri", value_name = "URI", num_args = 1..)]
    redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser (repeatable).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI", num_args = 1..)]
    post_logout_redirect_uris: Vec<String>,
    /// Back-channel logout endpoint.
    #[arg(long, value_name = "URI")]
    backchannel_logout_uri: Option<String>,
    /// Scopes the client may ask for (space-separated or repeated).
    #[arg(long = "scope", value_name = "SCOPE", num_args = 1..)]
    scopes: Vec<String>,
    /// A resource server: may introspect tokens issued to other clients
    /// (RFC 7662 §4); other clients see only their own.
    #[arg(long)]
    resource_server: bool,
    /// First-party: an application of whoever runs this server; users are
    /// not asked for consent.
    #[arg(long)]
    first_party: bool,
    /// The back-channel logout endpoint needs the `sid` claim (always sent).
    #[arg(long)]
    backchannel_logout_session_required: bool,
    #[command(flatten)]
    format: Format,
}

fn parse_grant(raw: &str) -> Result<GrantType, String> {
    GrantType::parse(raw).ok_or_else(|| {
        let names: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
        format!("unknown grant type {raw:?} (one of {})", names.join(", "))
    })
}

/// A client as printed.
#[derive(Serialize)]
struct ClientView {
    client_id: String,
    name: String,
    kind: &'static str,
    grant_types: Vec<&'static str>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    scope: String,
    resource_server: bool,
    first_party: bool,
    backchannel_logout_session_required: bool,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

impl ClientView {
    fn new(c: &Client, secret: Option<String>) -> Self {
        Self {
            client_id: c.id.to_string(),
            name: c.name.clone(),
            kind: c.kind.as_str(),
            grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            scope: c.scope.to_string(),
            resource_server: c.resource_server,
            first_party: c.first_party,
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            created_at: c.created_at.0,
            client_secret: secret,
        }
    }
}

impl AddClient {
    fn into_new_client(self) -> Result<(NewClient, Format), CliError> {
        let kind = if self.public { ClientKind::Public } else { ClientKind::Confidential };
        let mut grants = self.grants;
        if grants.is_empty() {
            grants = match kind {
                ClientKind::Confidential => vec![GrantType::ClientCredentials],
                ClientKind::Public => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            };
        }
        grants.sort();
        grants.dedup();
        let scope = Scope::parse(&self.scopes.join(" ")).map_err(CliError::from_display)?;
        let new = NewClient {
            name: self.name,
            kind,
            grant_types: grants,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            backchannel_logout_uri: self.backchannel_logout_uri,
            scope,
            resource_server: self.resource_server,
            first_party: self.first_party,
            backchannel_logout_session_required: self.backchannel_logout_session_required,
        };
        Ok((new, self.format))
    }
}

/// Registers a client and returns what to print about it.
pub async fn add(app: &App, new: NewClient) -> Result<RegisteredClient, CliError> {
    accounts::register_client(app, new).await.map_err(CliError::from_display)
}

/// Runs a client subcommand.
pub async fn run(app: &App, cmd: ClientCommand) -> Result<(), CliError> {
    match cmd {
        ClientCommand::Add(args) => {
            let (new, format) = args.into_new_client()?;
            let RegisteredClient { client, secret } = add(app, new).await?;
            let secret = secret.map(|s| s.expose().to_owned());
            let view = ClientView::new(&client, secret.clone());
            format.print(&view, || {
                let mut out =
                    format!("registered {} client {:?}\nclient_id: {}", client.kind.as_str(), client.name, client.id);
                if let Some(s) = &secret {
                    out.push_str(&format!(
                        "\nclient_secret: {s}\n(the secret is shown only now; only its hash is kept)"
                    ));
                }
                out
            });
        }
        ClientCommand::List { format } => {
            let clients = app.store.list_clients().await.map_err(CliError::from_display)?;
            let views: Vec<ClientView> = clients.iter().map(|c| ClientView::new(c, None)).collect();
            format.print(&views, || {
                let mut out = format!("{:<24} {:<13} {:<24} GRANTS", "CLIENT_ID", "KIND", "NAME");
                for c in &clients {
                    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
                    out.push_str(&format!(
                        "\n{:<24} {:<13} {:<24} {}",
                        c.id,
                        c.kind.as_str(),
                        c.name,
                        grants.join(",")
                    ));
                }
                out
            });
        }
        ClientCommand::Remove { client_id, format } => {
            accounts::remove_client(app, &client_id, &Actor::cli()).await.map_err(CliError::from_display)?;
            let value = serde_json::json!({ "client_id": client_id, "removed": true });
            format.print(&value, || format!("removed client {client_id}"));
        }
    }
    Ok(())
}
