//! `sessiond key …`
use clap::Subcommand;
use serde::Serialize;

use super::output::Format;
use super::CliError;
use crate::app::App;
use crate::tokens::StoredKey;

/// Key subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make a new signing key current; the old one stays published until
    /// the tokens it signed have expired. Use --signing-alg (before the
    /// subcommand) to change algorithm.
    Rotate {
        #[command(flatten)]
        format: Format,
    },
    /// List signing keys.
    List {
        #[command(flatten)]
        format: Format,
    },
}

#[derive(Serialize)]
struct KeyView {
    kid: String,
    alg: &'static str,
    created_at: i64,
    retired_at: Option<i64>,
    publish_until: Option<i64>,
}

impl From<&StoredKey> for KeyView {
    fn from(k: &StoredKey) -> Self {
        Self {
            kid: k.kid.to_string(),
            alg: k.alg.as_str(),
            created_at: k.created_at.0,
            retired_at: k.retired_at.map(|t| t.0),
            publish_until: k.publish_until.map(|t| t.0),
        }
    }
}

/// Runs a key subcommand.
pub async fn run(app: &App, cmd: KeyCommand) -> Result<(), CliError> {
    match cmd {
        KeyCommand::Rotate { format } => {
            let key = app.rotate_key().await.map_err(CliError::from_display)?;
            format.print(&KeyView::from(&key), || format!("new current signing key {} ({})", key.kid, key.alg));
        }
        KeyCommand::List { format } => {
            let keys = app.store.signing_keys().await.map_err(CliError::from_display)?;
            let views: Vec<KeyView> = keys.iter().map(KeyView::from).collect();
            let now = app.clock.now();
            format.print(&views, || {
                let mut out = format!("{:<44} {:<6} STATE", "KID", "ALG");
                for k in &keys {
                    let state = match (k.retired_at, k.is_published(now)) {
                        (None, _) => "current",
                        (Some(_), true) => "retired, published",
                        (Some(_), false) => "retired",
                    };
                    out.push_str(&format!("\n{:<44} {:<6} {state}", k.kid, k.alg));
                }
                out
            });
        }
    }
    Ok(())
}
