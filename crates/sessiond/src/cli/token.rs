//! `sessiond token …`: introspect and revoke tokens directly on the data,
//! with the same code the endpoints use.
use clap::Subcommand;

use super::output::Format;
use super::CliError;
use crate::app::App;
use crate::revocation::{introspect, revoke, Asker, RevokeOutcome};
use crate::sessions::Actor;

/// Token subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Show whether a token is active and what it carries (RFC 7662 fields).
    Introspect {
        /// An access token or a refresh token.
        token: String,
        #[command(flatten)]
        format: Format,
    },
    /// Revoke a token: an access token alone, or a refresh token with its
    /// whole grant.
    Revoke {
        /// An access token or a refresh token.
        token: String,
        #[command(flatten)]
        format: Format,
    },
}

/// Runs a token subcommand.
pub async fn run(app: &App, cmd: TokenCommand) -> Result<(), CliError> {
    match cmd {
        TokenCommand::Introspect { token, format } => {
            let answer = introspect(app, &token, Asker::Operator).await.map_err(CliError::from_display)?;
            format.print(&answer, || serde_json::to_string_pretty(&answer).unwrap_or_default());
        }
        TokenCommand::Revoke { token, format } => {
            let outcome = revoke(app, &token, None, &Actor::cli()).await.map_err(CliError::from_display)?;
            let revoked = outcome == RevokeOutcome::Revoked;
            format.print(&serde_json::json!({ "revoked": revoked }), || "revoked".to_owned());
            if !revoked {
                // A command that did nothing must not look like success.
                return Err(CliError(
                    "nothing revoked: the token is not signed by this store's keys, has expired, or was already \
                     revoked"
                        .into(),
                ));
            }
        }
    }
    Ok(())
}
