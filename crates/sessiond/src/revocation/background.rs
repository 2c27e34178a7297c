//! Background work of a serving process: follow the revocation log (entries
//! written by other processes — the CLI, other nodes), re-read signing keys,
//! and prune what has expired (including the sign-in limiters' idle keys).
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::app::App;
use crate::domain::{AuditKind, EndReason, Session};
use crate::sessions::{ended_event, Actor};
use crate::store::{self, Change, PruneCounts, StoreError};

/// How often the log is polled for entries written by other processes.
/// Entries written by this process reach its index before the request that
/// made them is answered.
pub const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);
/// How often signing keys are re-read.
const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(10);
/// How often expired entries, sessions and rows are pruned.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Starts the background tasks; they run until the process ends. Pruning
/// runs in a task of its own: a long pass (a large store) must never hold
/// up reading the log, or the node would fail closed meanwhile.
pub fn spawn_background(app: Arc<App>) -> JoinHandle<()> {
    let pruner = Arc::clone(&app);
    tokio::spawn(async move {
        let mut prune = tokio::time::interval(PRUNE_INTERVAL);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            prune.tick().await;
            match prune_once(&pruner).await {
                Ok(counts) => tracing::debug!(?counts, "pruned"),
                Err(e) => tracing::warn!(error = %e, "prune failed"),
            }
        }
    });
    tokio::spawn(async move {
        let mut follow = tokio::time::interval(FOLLOW_INTERVAL);
        let mut keys = tokio::time::interval(KEY_RELOAD_INTERVAL);
        for tick in [&mut follow, &mut keys] {
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        // Other nodes announce their writes (PostgreSQL); the poll above is
        // the safety net and the heartbeat that keeps `/readyz` honest.
        let mut feed = app.store.change_feed();
        loop {
            tokio::select! {
                _ = follow.tick() => follow_log(&app).await,
                () = app.log_written() => follow_log(&app).await,
                change = next_change(&mut feed) => {
                    if change == Some(Change::Keys) {
                        if let Err(e) = app.reload_keys().await {
                            tracing::warn!(error = %e, "could not reload signing keys");
                        }
                    }
                    follow_log(&app).await;
                }
                _ = keys.tick() => {
                    if let Err(e) = app.reload_keys().await {
                        tracing::warn!(error = %e, "could not reload signing keys");
                    }
                }
            }
        }
    })
}

async fn follow_log(app: &App) {
    if let Err(e) = app.catch_up().await {
        tracing::warn!(error = %e, "could not read the revocation log");
    }
}

/// The next announced change; never, without a feed.
async fn next_change(feed: &mut Option<tokio::sync::mpsc::Receiver<Change>>) -> Option<Change> {
    match feed {
        Some(rx) => match rx.recv().await {
            Some(change) => Some(change),
            None => {
                *feed = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}

/// One pruning pass: index entries past their horizon, limiter keys with
/// no recent attempt, sessions past a timeout (marked ended, reason
/// `expired`), and rows past retention.
pub async fn prune_once(app: &App) -> Result<PruneCounts, StoreError> {
    let now = app.clock.now();
    app.prune_index(now);
    app.throttle.prune();
    let base = Actor { name: Some("sessiond".into()), ..Actor::default() }.event(app, AuditKind::SessionEnded);
    let audit = store::audit(move |expired: &Vec<Session>| {
        expired.iter().map(|s| ended_event(&base, s, EndReason::Expired)).collect()
    });
    let expired = app.store.expire_sessions(now, audit).await?;
    crate::observe::sessions_ended(EndReason::Expired, expired.len());
    let config = &app.config;
    app.store.prune(now, now.minus(config.session_retention), now.minus(config.audit_retention)).await
}
