//! The revocation feed, for validators in other processes (resource
//! servers embedding `sessiond-guard`, proxies): `GET /api/v1/revocations`
//! answers every still-relevant entry after a position in the log, and
//! `GET /api/v1/revocations/stream` streams new ones as Server-Sent Events
//! (`id:` is the entry's position; a reconnecting client sends it back as
//! `Last-Event-ID` and misses nothing), with a heartbeat comment every few
//! seconds so a follower can tell a quiet stream from a dead one.
//!
//! An entry carries exactly what an index needs — kind, id, cut-off,
//! expiry — so a follower's index answers as this server's does. Only
//! clients registered as resource servers may read it.
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::Stream;
use serde::Serialize;
use sessiond_guard::Revocation;
use tokio::sync::broadcast::error::RecvError;

use super::client_auth::parse_basic_header;
use super::error::ApiError;
use super::openapi::responses::{BadRequest, ClientAuthFailed, Forbidden, Unavailable};
use super::params::QueryParams;
use crate::app::App;
use crate::domain::ClientKind;
use crate::grants::{authenticate_client, PresentedClient};
use crate::store::StoreError;

/// The heartbeat interval of the stream.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// Entries read from the store per query.
const PAGE: u32 = 1000;

/// One entry as the feed sends it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedEntry<'a> {
    /// Position in the log.
    pub seq: i64,
    /// `token`, `grant`, `session`, `user` or `client`.
    pub kind: &'static str,
    /// The `jti`, `gid`, `sid`, user id or client id.
    pub id: &'a str,
    /// For `user` and `client`: tokens issued at or before this die.
    pub cutoff: Option<i64>,
    /// No token the entry covers is valid after this (plus leeway).
    pub expires_at: i64,
}

impl<'a> From<&'a Revocation> for FeedEntry<'a> {
    fn from(r: &'a Revocation) -> Self {
        Self { seq: r.seq, kind: r.kind.as_str(), id: &r.subject, cutoff: r.cutoff, expires_at: r.expires_at }
    }
}

/// A confidential client registered as a resource server, authenticated
/// by `client_secret_basic` (these are GET requests, without a body).
pub struct FeedReader;

impl FromRequestParts<Arc<App>> for FeedReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let (id, secret) = parse_basic_header(&parts.headers)?
            .ok_or_else(|| ApiError::invalid_client("client authentication (Basic) required"))?;
        let client = authenticate_client(app, &PresentedClient::Secret { id, secret }).await?;
        if client.kind != ClientKind::Confidential || !client.resource_server {
            return Err(ApiError::forbidden("only resource servers may read the revocation feed"));
        }
        Ok(FeedReader)
    }
}

/// Every entry after `since`, in order.
async fn entries_after(app: &App, since: i64) -> Result<Vec<Revocation>, StoreError> {
    let mut out = Vec::new();
    let mut after = since;
    loop {
        let page = app.store.revocations_after(after, PAGE).await?;
        let full = page.len() == PAGE as usize;
        if let Some(last) = page.last() {
            after = last.seq;
        }
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

/// The snapshot: entries after a position, and the position it is current to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedSnapshot<'a> {
    /// Pass it back as `since` next time.
    pub position: i64,
    /// The entries, in log order.
    pub entries: Vec<FeedEntry<'a>>,
}

/// One event of the stream, as Server-Sent Events carry it (for the
/// contract; `event` writes it). A heartbeat is a comment, not an event.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Never built: it documents what `event` writes.
pub struct RevocationEvent {
    /// The event type.
    event: RevocationEventType,
    /// The entry's `seq`: send it back as `Last-Event-ID` to resume after it.
    #[schema(pattern = "^[0-9]+$")]
    id: String,
    /// The entry: a `FeedEntry`, as JSON.
    #[schema(content_media_type = "application/json")]
    data: String,
}

/// The event type of the stream's events.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Documentation only.
pub enum RevocationEventType {
    /// A revocation-log entry.
    Revocation,
}

/// The query of the feed.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Never built: it documents what the feed handlers read.
pub struct FeedQuery {
    /// A `position` (or an event id) from an earlier answer; 0 or absent: from the start.
    since: Option<i64>,
}

/// `GET /api/v1/revocations?since=SEQ`: every still-relevant entry after
/// `since` (0, or absent: all of them — the snapshot), and `position`, the
/// place in the log the answer is current to; the next call passes it back
/// as `since`. Entries deleted from the log had expired, so nothing a
/// follower needs is ever missing, however old `since` is.
#[utoipa::path(
    get,
    path = "/api/v1/revocations",
    tag = "feed",
    summary = "Revocation feed: snapshot",
    description = "Every still-relevant revocation after `since`, for validators in other processes \
        (resource servers). Only confidential clients registered as resource servers, by \
        `client_secret_basic`.",
    params(FeedQuery),
    security(("client_secret_basic" = [])),
    responses(
        (status = 200, description = "The entries after `since`", body = FeedSnapshot),
        (status = 400, response = BadRequest),
        (status = 401, response = ClientAuthFailed),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn snapshot(State(app): State<Arc<App>>, _: FeedReader, query: QueryParams) -> Result<Response, ApiError> {
    let since = query.only(&["since"])?.optional_number("since")?.unwrap_or(0).max(0);
    let entries = entries_after(&app, since).await?;
    let position = entries.last().map_or(since.max(app.log_position()), |r| r.seq);
    let entries: Vec<FeedEntry<'_>> = entries.iter().map(FeedEntry::from).collect();
    // Serialized here, while the entries it borrows are alive.
    Ok(Json(FeedSnapshot { position, entries }).into_response())
}

/// `GET /api/v1/revocations/stream` (`Last-Event-ID` or `?since=`).
#[utoipa::path(
    get,
    path = "/api/v1/revocations/stream",
    tag = "feed",
    summary = "Revocation feed: live stream",
    description = "The same entries as Server-Sent Events, live: each event is `event: revocation`, \
        `id:` its `seq`, `data:` one `FeedEntry` as JSON; a `:heartbeat` comment every 5 s while the \
        server's own view of the log is current. Reconnect with `Last-Event-ID`. The stream does \
        not end while the server runs.",
    params(
        FeedQuery,
        ("Last-Event-ID" = Option<String>, Header,
            description = "The last event id received; wins over `since` (a value that is not a number is ignored)"),
    ),
    security(("client_secret_basic" = [])),
    responses(
        (status = 200, description = "The event stream; the schema is each event's", content_type = "text/event-stream", body = RevocationEvent),
        (status = 400, response = BadRequest),
        (status = 401, response = ClientAuthFailed),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn stream(
    State(app): State<Arc<App>>,
    _: FeedReader,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // The query is checked even when the header wins over it, so a
    // malformed or unknown parameter is refused either way.
    let from_query = query.only(&["since"])?.optional_number("since")?;
    let from_header = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let since = from_header.or(from_query).unwrap_or(0);
    if app.is_draining() {
        // Stopping: a stream opened now would end at once.
        return Err(ApiError::not_current());
    }
    // Subscribe before reading the backlog, so nothing falls between them.
    let live = app.subscribe_log();
    let backlog = entries_after(&app, since).await?;
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = StreamState { app, live, pending: backlog.into(), last: since, beat };
    let events = futures_util::stream::unfold(state, |mut s| async move {
        let item = s.next().await?;
        Some((Ok(item), s))
    });
    Ok(Sse::new(events))
}

fn event(r: &Revocation) -> Event {
    let data = serde_json::to_string(&FeedEntry::from(r)).unwrap_or_default();
    Event::default().id(r.seq.to_string()).event("revocation").data(data)
}

struct StreamState {
    app: Arc<App>,
    live: tokio::sync::broadcast::Receiver<Revocation>,
    pending: std::collections::VecDeque<Revocation>,
    last: i64,
    beat: tokio::time::Interval,
}

impl StreamState {
    /// The next event: an entry after `last` (from the backlog, then as
    /// the log is read; a subscriber that fell behind reads the store
    /// again), or a heartbeat. A heartbeat is sent only while this server
    /// can vouch that its own view of the log is current: a follower that
    /// hears none for its staleness bound fails closed rather than trust a
    /// server cut off from the log. `None` ends the stream (the server is
    /// going away, or the store failed: the client reconnects with
    /// `Last-Event-ID`).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                if r.seq > self.last {
                    self.last = r.seq;
                    return Some(event(&r));
                }
                continue;
            }
            let received = tokio::select! {
                received = self.live.recv() => received,
                // Stopping: the follower reconnects (to another node) and
                // resumes from its last event id.
                () = self.app.drained() => return None,
                _ = self.beat.tick() => {
                    if self.app.is_current() {
                        return Some(Event::default().comment("heartbeat"));
                    }
                    continue;
                }
            };
            match received {
                Ok(r) => self.pending.push_back(r),
                Err(RecvError::Lagged(_)) => match entries_after(&self.app, self.last).await {
                    Ok(missed) => self.pending.extend(missed),
                    Err(e) => {
                        tracing::warn!(error = %e, "revocation stream could not catch up");
                        return None;
                    }
                },
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
