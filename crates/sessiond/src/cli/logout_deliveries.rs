//! `sessiond logout-deliveries …`: the back-channel logout outbox.
use clap::Subcommand;

use super::output::Format;
use super::CliError;
use crate::app::App;

/// Logout-delivery subcommands.
#[derive(Debug, Subcommand)]
pub enum LogoutDeliveriesCommand {
    /// Back-channel logouts not yet delivered (with --failed: given up on).
    List {
        /// Those given up on after `backchannel_logout_max_age`.
        #[arg(long)]
        failed: bool,
        #[command(flatten)]
        format: Format,
    },
}

/// Runs a logout-delivery subcommand.
pub async fn run(app: &App, cmd: LogoutDeliveriesCommand) -> Result<(), CliError> {
    match cmd {
        LogoutDeliveriesCommand::List { failed, format } => {
            let list = app.store.deliveries(failed, 1000).await.map_err(CliError::from_display)?;
            format.print(&list, || {
                if list.is_empty() {
                    return "none".to_owned();
                }
                list.iter()
                    .map(|d| {
                        format!(
                            "{}  client {}  session {}  attempts {}  {}",
                            d.id,
                            d.client_id,
                            d.session_id,
                            d.attempts,
                            d.last_error.as_deref().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}
