//! What free text the audit trail keeps: every string field of an
//! [`AuditEvent`] capped to a short length, with control characters
//! replaced, whatever a request put into it.
//!
//! Much of an event comes from the request — a user name, a User-Agent, a
//! reason quoting input — and a failed sign-in used to store the whole
//! attacker-supplied name, up to the 64 KiB body limit (173 MB of database in
//! 20 s). Control characters are replaced because the trail is read in
//! terminals and admin pages, where escape sequences and bidirectional
//! overrides could make one entry look like another.
use super::AuditEvent;

/// User and actor names (`UserName` allows 64 characters).
const NAME_CHARS: usize = 64;
/// Ids (sessiond's are 22 characters) and addresses (an IPv6 address with a
/// zone fits).
const ID_CHARS: usize = 64;
/// User-Agent and detail.
const TEXT_CHARS: usize = 256;
/// Characters of a name kept when it is no user's.
const HINT_CHARS: usize = 3;

/// Marks text that was cut, and a name shown only by its start.
const ELLIPSIS: char = '…';
/// Stands in for a control character.
const REPLACEMENT: char = char::REPLACEMENT_CHARACTER;

impl AuditEvent {
    /// The event as it may be stored: each text field capped and cleaned.
    pub fn bounded(&self) -> AuditEvent {
        let cap = |field: &Option<String>, max: usize| field.as_deref().map(|text| bounded_text(text, max));
        AuditEvent {
            seq: self.seq,
            at: self.at,
            kind: self.kind,
            actor: cap(&self.actor, NAME_CHARS),
            user_id: cap(&self.user_id, ID_CHARS),
            user_name: cap(&self.user_name, NAME_CHARS),
            client_id: cap(&self.client_id, ID_CHARS),
            session_id: cap(&self.session_id, ID_CHARS),
            ip: cap(&self.ip, ID_CHARS),
            user_agent: cap(&self.user_agent, TEXT_CHARS),
            detail: cap(&self.detail, TEXT_CHARS),
        }
    }
}

/// The first few characters of a name that belongs to no user, then `…`.
/// Enough to tell attempts apart; not enough to hold a password typed into
/// the name field by mistake.
pub fn name_hint(name: &str) -> String {
    let mut hint: String = name.chars().take(HINT_CHARS).map(clean).collect();
    hint.push(ELLIPSIS);
    hint
}

/// At most `max` characters of `text`, the last an ellipsis if it was cut,
/// with control characters replaced.
fn bounded_text(text: &str, max: usize) -> String {
    if text.chars().nth(max).is_none() {
        return text.chars().map(clean).collect();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).map(clean).collect();
    out.push(ELLIPSIS);
    out
}

/// C0 and C1 controls and DEL (terminal escapes, new lines that forge
/// entries), and the bidirectional embeddings, overrides and isolates that
/// reorder how text is shown (Unicode TR #9 §2).
fn clean(c: char) -> char {
    if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
        REPLACEMENT
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuditKind, UnixTime};

    #[test]
    fn every_text_field_is_capped() {
        let long = "x".repeat(70_000);
        let event = AuditEvent {
            actor: Some(long.clone()),
            user_id: Some(long.clone()),
            user_name: Some(long.clone()),
            client_id: Some(long.clone()),
            session_id: Some(long.clone()),
            ip: Some(long.clone()),
            user_agent: Some(long.clone()),
            detail: Some(long.clone()),
            ..AuditEvent::new(AuditKind::SignInFailed, UnixTime(7))
        }
        .bounded();
        let len = |f: &Option<String>| f.as_deref().unwrap().chars().count();
        for short in [&event.actor, &event.user_id, &event.user_name, &event.client_id, &event.session_id, &event.ip] {
            assert_eq!(len(short), 64);
            assert!(short.as_deref().unwrap().ends_with('…'));
        }
        assert_eq!((len(&event.user_agent), len(&event.detail)), (256, 256));
        assert_eq!((event.at, event.kind), (UnixTime(7), Some(AuditKind::SignInFailed)));
    }

    #[test]
    fn short_text_is_kept_and_controls_are_replaced() {
        assert_eq!(bounded_text("alice", 64), "alice");
        assert_eq!(bounded_text(&"y".repeat(64), 64), "y".repeat(64), "exactly at the cap: not cut");
        assert_eq!(bounded_text("a\nb\u{1b}[31mc\u{7f}\u{9b}", 64), "a\u{fffd}b\u{fffd}[31mc\u{fffd}\u{fffd}");
        assert_eq!(bounded_text("evil\u{202E}gnp.exe", 64), "evil\u{fffd}gnp.exe");
        assert_eq!(bounded_text("ünïcödé", 64), "ünïcödé");
    }

    #[test]
    fn a_name_hint_keeps_three_characters() {
        assert_eq!(name_hint("hunter2-typed-as-a-name"), "hun…");
        assert_eq!(name_hint("ab"), "ab…");
        assert_eq!(name_hint("\u{1b}[2J"), "\u{fffd}[2…");
        assert_eq!(name_hint("日本語の名前"), "日本語…");
    }
}
