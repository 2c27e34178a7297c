//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the
//! sender that drains the durable outbox the store fills whenever a
//! session ends, for whatever reason. Each delivery is a `POST` of a
//! logout token to the client's `backchannel_logout_uri`, retried with
//! exponential backoff and jitter on failure, time-out or a non-2xx answer,
//! until `backchannel_logout_max_age` after the session ended; then it is
//! marked failed for an administrator to see. Rows survive a restart; nodes
//! share them through short leases.
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::app::App;
use crate::domain::UnixTime;
use crate::store::LogoutDelivery;
use crate::tokens::mint_logout_token;

/// How often the outbox is looked at when nothing wakes the sender.
const POLL: Duration = Duration::from_millis(500);
/// How long a node holds the deliveries it claimed.
const LEASE: Duration = Duration::from_secs(30);
/// Deliveries sent at once.
const BATCH: u32 = 16;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The HTTP client for deliveries: connect and total time-outs, no
/// redirects followed (a logout token goes to the registered URI only),
/// and the answer's body is never read.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Starts the sender; it runs until the process ends (a stopping server
/// aborts it, then makes a `last_pass`).
pub fn spawn_logout_sender(app: Arc<App>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let http = http_client();
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = app.sessions_ended() => {}
            }
            if let Err(e) = send_due(&app, &http).await {
                tracing::warn!(error = %e, "could not read the logout outbox");
            }
        }
    })
}

/// Sends what is due once more, for a server that has answered its last
/// request: sessions ended while it drained are told at once. What fails
/// stays in the outbox for another node or the next start.
pub async fn last_pass(app: &App) {
    if let Err(e) = send_due(app, &http_client()).await {
        tracing::warn!(error = %e, "could not read the logout outbox");
    }
}

/// Sends every delivery due now, a batch at a time; returns how many.
pub async fn send_due(app: &App, http: &reqwest::Client) -> Result<usize, crate::store::StoreError> {
    let mut sent = 0;
    loop {
        let now = app.clock.now();
        let due = app.store.claim_deliveries(now, now.plus(LEASE), BATCH).await?;
        if due.is_empty() {
            return Ok(sent);
        }
        sent += due.len();
        futures_util::future::join_all(due.iter().map(|d| deliver(app, http, d))).await;
    }
}

async fn deliver(app: &App, http: &reqwest::Client, d: &LogoutDelivery) {
    let now = app.clock.now();
    let outcome = match mint_logout_token(&app.keys(), now, &d.client_id, &d.user_id, &d.session_id) {
        Err(e) => Err(format!("could not sign the logout token: {e}")),
        Ok(token) => match http.post(&d.uri).form(&[("logout_token", token.as_str())]).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("answered {}", r.status())),
            Err(e) if e.is_timeout() => Err("timed out".to_owned()),
            Err(e) if e.is_connect() => Err("could not connect".to_owned()),
            Err(_) => Err("the request failed".to_owned()),
        },
    };
    let recorded = match outcome {
        Ok(()) => {
            crate::observe::delivery("sent");
            app.store.delivery_done(d.id, now).await
        }
        Err(error) => {
            let retry = retry_at(app, d, now);
            crate::observe::delivery(if retry.is_some() { "failed" } else { "given_up" });
            if retry.is_none() {
                tracing::warn!(client_id = %d.client_id, attempts = d.attempts + 1, %error, "back-channel logout given up");
            }
            app.store.delivery_failed(d.id, now, &error, retry).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the delivery is tried again.
        tracing::warn!(error = %e, "could not record a back-channel logout attempt");
    }
}

/// When to try again after attempt `d.attempts + 1` failed, or `None` once
/// the delivery is older than `backchannel_logout_max_age`.
fn retry_at(app: &App, d: &LogoutDelivery, now: UnixTime) -> Option<UnixTime> {
    let max_age = app.config.backchannel_logout_max_age;
    let next = now.plus(backoff(u32::try_from(d.attempts).unwrap_or(u32::MAX), jitter()));
    (next < UnixTime(d.created_at).plus(max_age)).then_some(next)
}

/// 1 s, 2 s, 4 s … up to an hour, times a jitter factor in [0.5, 1.5), so
/// that deliveries failing together do not all come back together.
pub fn backoff(failed_attempts: u32, jitter: f64) -> Duration {
    let base = Duration::from_secs(1u64 << failed_attempts.min(12)).min(MAX_BACKOFF);
    base.mul_f64(jitter.clamp(0.5, 1.5)).max(Duration::from_secs(1))
}

fn jitter() -> f64 {
    let raw = crate::secrets::random_token(6);
    let n = raw.bytes().fold(0u32, |acc, b| acc.wrapping_mul(31).wrapping_add(u32::from(b)));
    0.5 + f64::from(n % 1000) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour_with_jitter() {
        assert_eq!(backoff(0, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(3, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(40, 1.0), MAX_BACKOFF);
        assert_eq!(backoff(3, 0.5), Duration::from_secs(4));
        assert!(backoff(3, 1.49) < Duration::from_secs(12));
        let j = jitter();
        assert!((0.5..1.5).contains(&j));
    }
}
