//! The `sessiond` command line: `serve`, and management of users, clients
//! and keys. Every subcommand works directly on the store, whether or not a
//! server is running on the same data.
mod bootstrap;
mod client;
mod json_lines;
mod key;
mod logging;
mod logout_deliveries;
mod output;
mod serve;
mod session;
mod token;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tracing_subscriber::fmt::format::JsonFields;

use crate::app::App;
use crate::clock::SystemClock;
use crate::config::{check_env_names, Config, LogFormat, Settings};

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "sessiond", version, about = "OAuth 2.0 / OpenID Connect sessions and tokens that really end")]
pub struct Cli {
    /// TOML configuration file (keys as the long flags, with underscores).
    #[arg(long, env = "SESSIOND_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Settings; each overrides the file and its environment variable.
    #[command(flatten)]
    pub settings: Settings,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (creating the data on first start).
    Serve,
    /// Create the data (database, master key, signing key, token settings,
    /// an admin user and a demo client) without serving.
    Init,
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// List and end sessions.
    #[command(subcommand)]
    Session(session::SessionCommand),
    /// Introspect and revoke tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Back-channel logouts waiting to be delivered, or given up on.
    #[command(subcommand)]
    LogoutDeliveries(logout_deliveries::LogoutDeliveriesCommand),
}

/// A command failed; the message says what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

impl CliError {
    fn from_display(e: impl std::fmt::Display) -> Self {
        Self(e.to_string())
    }
}

/// Parses the command line, runs the command, and maps failure to an exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let logs = init_tracing(matches!(cli.command, Command::Serve), log_format(&cli));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(execute(cli));
    // Every log line written out before the last word.
    drop(logs);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> Result<(), CliError> {
    let (config, explicit) = load_config(&cli)?;
    let clock = Arc::new(SystemClock);
    let app = match cli.command {
        // These two issue tokens: they create the data and record the
        // settings tokens are issued with.
        Command::Serve | Command::Init => App::open(config, clock).await,
        // The rest use existing data and the settings the server recorded.
        _ => App::open_existing(config, &explicit, clock).await,
    }
    .map_err(CliError::from_display)?;
    match cli.command {
        Command::Serve => serve::serve(app).await,
        Command::Init => bootstrap::init(&app).await,
        Command::User(cmd) => user::run(&app, cmd).await,
        Command::Client(cmd) => client::run(&app, cmd).await,
        Command::Key(cmd) => key::run(&app, cmd).await,
        Command::Session(cmd) => session::run(&app, cmd).await,
        Command::Token(cmd) => token::run(&app, cmd).await,
        Command::LogoutDeliveries(cmd) => logout_deliveries::run(&app, cmd).await,
    }
}

/// Layers the configuration: flags and env (already merged by clap) over
/// the TOML file over defaults. Returns the configuration and the settings
/// that were given explicitly (in any layer).
fn load_config(cli: &Cli) -> Result<(Config, Settings), CliError> {
    check_env_names(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok())).map_err(CliError::from_display)?;
    let file = match &cli.config {
        Some(path) => Settings::from_toml_file(path).map_err(CliError::from_display)?,
        None => Settings::default(),
    };
    let explicit = cli.settings.clone().over(file);
    let config = Config::resolve(explicit.clone()).map_err(CliError::from_display)?;
    Ok((config, explicit))
}

/// The log format, known before the configuration is resolved (logging
/// starts first): from the flag or environment, else the TOML file (whose
/// errors `load` reports), else text.
fn log_format(cli: &Cli) -> LogFormat {
    let from_file = || cli.config.as_deref().and_then(|p| Settings::from_toml_file(p).ok()).and_then(|s| s.log_format);
    cli.settings.log_format.or_else(from_file).unwrap_or_default()
}

/// Logs go to stderr, filtered by `SESSIOND_LOG` (default `info` for the
/// server, `warn` for management commands): human-readable, or one JSON
/// object a line (`json_lines.rs`) with the current span's fields beside
/// each event's.
///
/// Lines are written through a buffer (`logging.rs`), many to
/// a system call, and flushed at least every 100 ms and when the returned
/// guard is dropped.
fn init_tracing(serving: bool, format: LogFormat) -> logging::FlushOnDrop {
    let default = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SESSIOND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let (writer, guard) = logging::start();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.fmt_fields(JsonFields::new()).event_format(json_lines::JsonLines).try_init(),
    };
    guard
}
