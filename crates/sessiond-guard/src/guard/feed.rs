//! sessiond's revocation feed on the wire: the snapshot
//! (`GET /api/v1/revocations?since=`) and the events of the stream
//! (`GET /api/v1/revocations/stream`), turned into the [`Revocation`]s the
//! index applies.
//!
//! An entry carries exactly what [`crate::RevocationIndex::apply`] needs:
//! `{"seq", "kind", "id", "cutoff", "expires_at"}`. A kind this crate does
//! not know is an error, not something to skip: a follower that dropped a
//! revocation it cannot read would go on vouching for a token that is dead.
use serde::Deserialize;

use super::sse::SseItem;
use crate::{Revocation, RevocationKind};

/// The event type of a revocation on the stream.
pub(crate) const REVOCATION_EVENT: &str = "revocation";

/// Why the feed's answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FeedError {
    /// Not JSON of the expected shape.
    #[error("malformed revocation feed: {0}")]
    Malformed(String),
    /// A kind of revocation this crate does not know.
    #[error("unknown revocation kind {0:?}")]
    UnknownKind(String),
    /// The event's `id:` is not its entry's `seq`.
    #[error("event id {id:?} does not match entry seq {seq}")]
    IdMismatch {
        /// The `id:` field.
        id: String,
        /// The entry's `seq`.
        seq: i64,
    },
}

#[derive(Deserialize)]
struct WireEntry {
    seq: i64,
    kind: String,
    id: String,
    #[serde(default)]
    cutoff: Option<i64>,
    expires_at: i64,
}

impl TryFrom<WireEntry> for Revocation {
    type Error = FeedError;

    fn try_from(e: WireEntry) -> Result<Self, FeedError> {
        let kind = RevocationKind::parse(&e.kind).ok_or(FeedError::UnknownKind(e.kind))?;
        Ok(Revocation { seq: e.seq, kind, subject: e.id, cutoff: e.cutoff, expires_at: e.expires_at })
    }
}

#[derive(Deserialize)]
struct WireSnapshot {
    position: i64,
    entries: Vec<WireEntry>,
}

/// A snapshot: every entry after the position asked for, and the position
/// the answer is current to (the next `since`, or `Last-Event-ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) position: i64,
    pub(crate) entries: Vec<Revocation>,
}

/// Parses a snapshot body.
pub(crate) fn parse_snapshot(body: &[u8]) -> Result<Snapshot, FeedError> {
    let wire: WireSnapshot = serde_json::from_slice(body).map_err(|e| FeedError::Malformed(e.to_string()))?;
    let entries = wire.entries.into_iter().map(Revocation::try_from).collect::<Result<Vec<_>, _>>()?;
    // The position is never behind an entry the answer carried.
    let position = entries.iter().map(|r| r.seq).fold(wire.position, i64::max);
    Ok(Snapshot { position, entries })
}

/// Parses one entry (the `data` of a stream event).
pub(crate) fn parse_entry(data: &str) -> Result<Revocation, FeedError> {
    let wire: WireEntry = serde_json::from_str(data).map_err(|e| FeedError::Malformed(e.to_string()))?;
    Revocation::try_from(wire)
}

/// What an item of the stream means to a follower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamItem {
    /// A revocation, in log order.
    Revocation(Revocation),
    /// A heartbeat (any comment) or an event of another type: the stream
    /// is alive and has nothing new.
    Alive,
}

/// Interprets one parsed SSE item.
pub(crate) fn stream_item(item: SseItem) -> Result<StreamItem, FeedError> {
    match item {
        SseItem::Event { id, event, data } if event == REVOCATION_EVENT => {
            let entry = parse_entry(&data)?;
            // `id:` is what a reconnect sends back as Last-Event-ID; it must
            // be the entry's place in the log or resuming would skip or
            // repeat.
            match id {
                Some(id) if id.trim().parse::<i64>() != Ok(entry.seq) => {
                    Err(FeedError::IdMismatch { id, seq: entry.seq })
                }
                _ => Ok(StreamItem::Revocation(entry)),
            }
        }
        SseItem::Event { .. } | SseItem::Comment => Ok(StreamItem::Alive),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_as_sessiond_sends_it_becomes_index_entries() {
        let body = br#"{"position": 12, "entries": [
            {"seq": 10, "kind": "token", "id": "j1", "cutoff": null, "expires_at": 1700000300},
            {"seq": 11, "kind": "session", "id": "s1", "cutoff": null, "expires_at": 1700003600},
            {"seq": 12, "kind": "user", "id": "u1", "cutoff": 1700000000, "expires_at": 1700003660}
        ]}"#;
        let snapshot = parse_snapshot(body).unwrap();
        assert_eq!(snapshot.position, 12);
        assert_eq!(
            snapshot.entries,
            vec![
                Revocation {
                    seq: 10,
                    kind: RevocationKind::Token,
                    subject: "j1".into(),
                    cutoff: None,
                    expires_at: 1_700_000_300
                },
                Revocation {
                    seq: 11,
                    kind: RevocationKind::Session,
                    subject: "s1".into(),
                    cutoff: None,
                    expires_at: 1_700_003_600
                },
                Revocation {
                    seq: 12,
                    kind: RevocationKind::User,
                    subject: "u1".into(),
                    cutoff: Some(1_700_000_000),
                    expires_at: 1_700_003_660
                },
            ]
        );
    }

    #[test]
    fn an_empty_snapshot_keeps_its_position_and_a_lagging_position_is_raised() {
        assert_eq!(parse_snapshot(br#"{"position": 40, "entries": []}"#).unwrap().position, 40);
        let body = br#"{"position": 3, "entries": [{"seq": 9, "kind": "grant", "id": "g", "expires_at": 5}]}"#;
        assert_eq!(parse_snapshot(body).unwrap().position, 9);
    }

    #[test]
    fn unknown_kinds_and_malformed_answers_are_errors() {
        let unknown = br#"{"position": 1, "entries": [{"seq": 1, "kind": "device", "id": "d", "expires_at": 5}]}"#;
        assert_eq!(parse_snapshot(unknown), Err(FeedError::UnknownKind("device".into())));
        assert!(matches!(parse_snapshot(b"<html>"), Err(FeedError::Malformed(_))));
        assert!(matches!(parse_snapshot(br#"{"entries": []}"#), Err(FeedError::Malformed(_))), "no position");
        assert!(matches!(parse_entry(r#"{"seq": 1, "kind": "token", "id": "j"}"#), Err(FeedError::Malformed(_))));
    }

    #[test]
    fn stream_events_carry_revocations_and_comments_prove_life() {
        let data = r#"{"seq":7,"kind":"client","id":"c1","cutoff":1700000000,"expires_at":1700003660}"#;
        let event = |id: Option<&str>, event: &str| SseItem::Event {
            id: id.map(Into::into),
            event: event.into(),
            data: data.into(),
        };
        let Ok(StreamItem::Revocation(r)) = stream_item(event(Some("7"), "revocation")) else { panic!("no entry") };
        assert_eq!(
            (r.seq, r.kind, r.subject.as_str(), r.cutoff),
            (7, RevocationKind::Client, "c1", Some(1_700_000_000))
        );
        assert_eq!(stream_item(SseItem::Comment), Ok(StreamItem::Alive));
        assert_eq!(stream_item(event(Some("7"), "something-else")), Ok(StreamItem::Alive));
        assert_eq!(stream_item(event(Some("6"), "revocation")), Err(FeedError::IdMismatch { id: "6".into(), seq: 7 }));
    }
}
