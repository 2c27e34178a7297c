//! `sessiond session …`
use clap::Subcommand;

use super::output::Format;
use super::CliError;
use crate::app::App;
use crate::domain::{EndReason, Session, SessionId};
use crate::sessions::{end_session, Actor, SessionView};

/// Session subcommands.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List live sessions.
    List {
        /// Only this user's.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// End a session: its tokens stop working at once, here and in every
    /// server following this data.
    End {
        /// The session id (`sid`).
        sid: String,
        #[command(flatten)]
        format: Format,
    },
}

/// Runs a session subcommand.
pub async fn run(app: &App, cmd: SessionCommand) -> Result<(), CliError> {
    let now = app.clock.now();
    match cmd {
        SessionCommand::List { user, format } => {
            let sessions = match user {
                Some(name) => {
                    let user = app
                        .store
                        .user_by_name(&name)
                        .await
                        .map_err(CliError::from_display)?
                        .ok_or_else(|| CliError(format!("user {name} not found")))?;
                    app.store.live_sessions_of_user(&user.id, now).await.map_err(CliError::from_display)?
                }
                None => all_live(app).await?,
            };
            let views: Vec<SessionView> = sessions.iter().map(|s| SessionView::new(s, None)).collect();
            format.print(&views, || {
                let mut out = format!("{:<24} {:<24} {:<24} {:<16} USER_AGENT", "SID", "USER_ID", "CLIENT_ID", "IP");
                for s in &sessions {
                    let ip = s.context.ip.as_deref().unwrap_or("-");
                    let ua = s.context.user_agent.as_deref().unwrap_or("-");
                    out.push_str(&format!("\n{:<24} {:<24} {:<24} {:<16} {ua}", s.id, s.user_id, s.client_id, ip));
                }
                out
            });
        }
        SessionCommand::End { sid, format } => {
            let id = SessionId::new(sid.as_str());
            if app.store.session(&id).await.map_err(CliError::from_display)?.is_none() {
                return Err(CliError(format!("session {sid} not found")));
            }
            let ended = end_session(app, &id, EndReason::Admin, &Actor::cli()).await.map_err(CliError::from_display)?;
            let value = serde_json::json!({ "sid": sid, "ended": ended.is_some() });
            format.print(&value, || match ended {
                Some(_) => format!("ended session {sid}"),
                None => format!("session {sid} had already ended"),
            });
        }
    }
    Ok(())
}

async fn all_live(app: &App) -> Result<Vec<Session>, CliError> {
    let mut all = Vec::new();
    let mut after: Option<SessionId> = None;
    loop {
        let page = app
            .store
            .live_sessions(None, after.as_ref(), 1000, app.clock.now())
            .await
            .map_err(CliError::from_display)?;
        let done = page.len() < 1000;
        after = page.last().map(|s| s.id.clone());
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}
