//! `sessiond user …`
use std::io::BufRead;

use clap::Subcommand;
use serde::Serialize;

use super::output::Format;
use super::CliError;
use crate::accounts::{self, KeepSessions};
use crate::app::App;
use crate::domain::User;
use crate::secrets::{self, Secret};
use crate::sessions::Actor;

/// User subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. Without --password-stdin a random password is generated and printed once.
    Add {
        /// Sign-in name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Allow the user to manage every user's sessions.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        format: Format,
    },
    /// List users.
    List {
        #[command(flatten)]
        format: Format,
    },
    /// Disable a user: no sign-in, no refresh, every session ended.
    Disable {
        /// Sign-in name.
        name: String,
        #[command(flatten)]
        format: Format,
    },
    /// Enable a disabled user.
    Enable {
        /// Sign-in name.
        name: String,
        #[command(flatten)]
        format: Format,
    },
    /// Set a user's password (random and printed once without --password-stdin).
    Passwd {
        /// Sign-in name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Keep the user's sessions (by default every one ends).
        #[arg(long)]
        keep_sessions: bool,
        #[command(flatten)]
        format: Format,
    },
}

/// A user as printed.
#[derive(Serialize)]
pub struct UserView {
    id: String,
    name: String,
    is_admin: bool,
    disabled: bool,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

impl UserView {
    fn new(user: &User, generated: Option<&Secret>) -> Self {
        Self {
            id: user.id.to_string(),
            name: user.name.clone(),
            is_admin: user.is_admin,
            disabled: !user.is_enabled(),
            created_at: user.created_at.0,
            password: generated.map(|p| p.expose().to_owned()),
        }
    }
}

/// A password from stdin, or a generated one (returned so it can be shown).
fn obtain_password(from_stdin: bool) -> Result<(Secret, bool), CliError> {
    if !from_stdin {
        return Ok((Secret::new(secrets::random_token(15)), true));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(CliError::from_display)?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(CliError("no password on standard input".into()));
    }
    Ok((Secret::new(password), false))
}

/// Runs a user subcommand.
pub async fn run(app: &App, cmd: UserCommand) -> Result<(), CliError> {
    match cmd {
        UserCommand::Add { name, password_stdin, admin, format } => {
            let (password, generated) = obtain_password(password_stdin)?;
            let user = accounts::create_user(app, &name, &password, admin).await.map_err(CliError::from_display)?;
            let shown = generated.then_some(&password);
            format.print(&UserView::new(&user, shown), || match shown {
                Some(p) => format!("added user {} (id {})\npassword: {}", user.name, user.id, p.expose()),
                None => format!("added user {} (id {})", user.name, user.id),
            });
        }
        UserCommand::List { format } => {
            let users = app.store.list_users().await.map_err(CliError::from_display)?;
            let views: Vec<UserView> = users.iter().map(|u| UserView::new(u, None)).collect();
            format.print(&views, || {
                let mut out = format!("{:<24} {:<6} {:<9} ID", "NAME", "ADMIN", "STATUS");
                for u in &users {
                    let status = if u.is_enabled() { "enabled" } else { "disabled" };
                    out.push_str(&format!("\n{:<24} {:<6} {:<9} {}", u.name, u.is_admin, status, u.id));
                }
                out
            });
        }
        UserCommand::Disable { name, format } => {
            let ended = accounts::disable_user(app, &name, &Actor::cli()).await.map_err(CliError::from_display)?;
            let value = serde_json::json!({ "name": name, "disabled": true, "sessions_ended": ended });
            format.print(&value, || format!("disabled user {name}; ended {ended} session(s)"));
        }
        UserCommand::Enable { name, format } => {
            accounts::enable_user(app, &name, &Actor::cli()).await.map_err(CliError::from_display)?;
            let value = serde_json::json!({ "name": name, "disabled": false });
            format.print(&value, || format!("enabled user {name}"));
        }
        UserCommand::Passwd { name, password_stdin, keep_sessions, format } => {
            let (password, generated) = obtain_password(password_stdin)?;
            let keep = if keep_sessions { KeepSessions::All } else { KeepSessions::AllBut(None) };
            let ended = accounts::set_password(app, &name, &password, keep, &Actor::cli())
                .await
                .map_err(CliError::from_display)?;
            let shown = generated.then(|| password.expose().to_owned());
            let value = serde_json::json!({ "name": name, "password": shown, "sessions_ended": ended });
            format.print(&value, || match &shown {
                Some(p) => format!("new password for {name}: {p}; ended {ended} session(s)"),
                None => format!("password of {name} changed; ended {ended} session(s)"),
            });
        }
    }
    Ok(())
}
