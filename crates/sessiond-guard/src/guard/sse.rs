//! A Server-Sent Events parser, as the HTML standard's "interpreting an
//! event stream" (WHATWG HTML §9.2.6) describes it, over bytes as they
//! arrive in chunks of any size.
//!
//! Lines end in LF or CRLF; a lone CR, which the standard also allows, is
//! not a line end here (sessiond never sends one). Comments (lines that
//! start with `:`) are reported too: sessiond's heartbeat is one, and a
//! follower needs it as proof that the stream is alive. Lines and events
//! are bounded so that a broken peer cannot grow the buffers without end.

/// Longest line accepted, in bytes.
pub(crate) const MAX_LINE: usize = 64 * 1024;
/// Longest `data` of one event, in bytes.
pub(crate) const MAX_DATA: usize = 64 * 1024;

/// What one complete piece of the stream was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SseItem {
    /// A dispatched event.
    Event {
        /// The last event id at dispatch (the `id:` field, which persists
        /// from event to event as the standard says).
        id: Option<String>,
        /// The event type; `message` when the event named none.
        event: String,
        /// Its `data` lines joined with LF.
        data: String,
    },
    /// A comment line.
    Comment,
}

/// The stream broke a bound; the connection should be dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SseError {
    /// A line longer than [`MAX_LINE`].
    #[error("event stream line longer than {MAX_LINE} bytes")]
    LineTooLong,
    /// An event's data longer than [`MAX_DATA`].
    #[error("event data longer than {MAX_DATA} bytes")]
    DataTooLong,
}

/// Parser state between chunks.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    event: Option<String>,
    /// Every `data` value so far, each followed by LF (as the standard
    /// keeps it: empty means no data line at all).
    data: String,
    last_id: Option<String>,
    seen_first_byte: bool,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk; complete items are appended to `out`.
    pub(crate) fn push(&mut self, mut bytes: &[u8], out: &mut Vec<SseItem>) -> Result<(), SseError> {
        if !self.seen_first_byte && !bytes.is_empty() {
            self.seen_first_byte = true;
            // §9.2.6: one leading U+FEFF BOM is skipped.
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.extend_line(&bytes[..end])?;
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.line_done(&String::from_utf8_lossy(&line), out)?;
            bytes = &bytes[end + 1..];
        }
        self.extend_line(bytes)
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + bytes.len() > MAX_LINE {
            return Err(SseError::LineTooLong);
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn line_done(&mut self, line: &str, out: &mut Vec<SseItem>) -> Result<(), SseError> {
        if line.is_empty() {
            // A blank line dispatches; without data there is no event.
            let event = self.event.take();
            let mut data = std::mem::take(&mut self.data);
            if data.pop().is_some() {
                let event = event.unwrap_or_else(|| "message".to_owned());
                out.push(SseItem::Event { id: self.last_id.clone(), event, data });
            }
            return Ok(());
        }
        if line.starts_with(':') {
            out.push(SseItem::Comment);
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.data.len() + value.len() + 1 > MAX_DATA {
                    return Err(SseError::DataTooLong);
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
            // An id containing NUL is ignored (§9.2.6).
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            // `retry` and unknown fields: the follower has its own back-off.
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Result<Vec<SseItem>, SseError> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.push(chunk, &mut out)?;
        }
        Ok(out)
    }

    fn event(id: &str, data: &str) -> SseItem {
        SseItem::Event { id: Some(id.into()), event: "revocation".into(), data: data.into() }
    }

    #[test]
    fn sessiond_events_and_heartbeats_parse_whole() {
        let stream =
            b"id: 7\nevent: revocation\ndata: {\"seq\":7}\n\n: heartbeat\n\nid: 8\nevent: revocation\ndata: {}\n\n";
        let items = parse_chunks(&[stream]).unwrap();
        assert_eq!(items, vec![event("7", "{\"seq\":7}"), SseItem::Comment, event("8", "{}")]);
    }

    #[test]
    fn any_split_of_the_bytes_gives_the_same_items() {
        let stream: &[u8] = b"id: 7\r\nevent: revocation\r\ndata: {\"seq\":7}\r\n\r\n: heartbeat\n\n";
        let whole = parse_chunks(&[stream]).unwrap();
        assert_eq!(whole.len(), 2);
        for at in 0..stream.len() {
            let (a, b) = stream.split_at(at);
            assert_eq!(parse_chunks(&[a, b]).unwrap(), whole, "split at {at}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(parse_chunks(&bytes).unwrap(), whole);
    }

    #[test]
    fn the_standard_field_rules_hold() {
        // No event name: `message`; several data lines joined with LF; one
        // space after the colon removed, not two; a field without a colon;
        // unknown fields and `retry` ignored; no data, no event.
        let stream = b"data:a\ndata:  b\nretry: 10\nfoo: bar\n\nevent: x\n\ndata\n\n";
        let items = parse_chunks(&[b"\xEF\xBB\xBF", stream]).unwrap();
        assert_eq!(
            items,
            vec![
                SseItem::Event { id: None, event: "message".into(), data: "a\n b".into() },
                SseItem::Event { id: None, event: "message".into(), data: String::new() },
            ]
        );
    }

    #[test]
    fn the_last_id_persists_and_an_id_with_nul_is_ignored() {
        let stream = b"id: 3\ndata: a\n\ndata: b\n\nid: 4\x00\ndata: c\n\n";
        let ids: Vec<Option<String>> = parse_chunks(&[stream])
            .unwrap()
            .into_iter()
            .map(|i| match i {
                SseItem::Event { id, .. } => id,
                SseItem::Comment => None,
            })
            .collect();
        assert_eq!(ids, vec![Some("3".into()), Some("3".into()), Some("3".into())]);
    }

    #[test]
    fn unbounded_lines_and_data_are_refused() {
        let long = vec![b'a'; MAX_LINE + 1];
        assert_eq!(parse_chunks(&[&long]), Err(SseError::LineTooLong));
        let half = vec![b'a'; MAX_LINE / 2 + 1];
        assert_eq!(parse_chunks(&[&half, &half]), Err(SseError::LineTooLong), "across chunks too");
        let line = format!("data: {}\n", "x".repeat(MAX_DATA / 2));
        assert_eq!(parse_chunks(&[line.as_bytes(), line.as_bytes(), line.as_bytes()]), Err(SseError::DataTooLong));
    }
}
