//! Mirrors of the revocation log for software that cannot follow the feed.
//!
//! The Redis denylist bridge (`redis_url`, off by default) writes every
//! revocation as a key that legacy middleware checks by a token's own
//! claims (`tokens:<jti>:deactivated`, `sessions:<sid>:revoked` …; see
//! [`entry`]), with a TTL that ends when the last token it affects has
//! expired. It is one more follower of the log: it runs in the background,
//! reads the store, and never delays or fails a revocation.
pub mod entry;
mod redis;

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::app::App;

pub use self::redis::POSITION_KEY;

/// Starts the Redis mirror if `redis_url` is set; it runs until the
/// process ends.
pub fn spawn(app: Arc<App>) -> Option<JoinHandle<()>> {
    let url = app.config.redis_url.clone()?;
    tracing::info!("mirroring revocations to Redis");
    Some(tokio::spawn(self::redis::run(app, url)))
}
