//! JSON log lines (`log_format = json`): one object a line, of the shape
//! tracing-subscriber's own JSON format writes — `timestamp`, `level`,
//! `fields` (the event's, `message` among them), `target`, and `span` (the
//! current span's fields and its `name`) — formatted straight into a byte
//! buffer.
//!
//! tracing-subscriber's formatter hands serde_json an adaptor that checks
//! every fragment serde_json writes (a quote, a colon, a key) as UTF-8 and
//! passes it on through `fmt::Write`: at one line a request, that adaptor
//! cost more than everything else the line does (callgrind, BENCHMARKS.md
//! "What metrics and logs cost"). Here the line is built in a byte buffer
//! kept by each thread, only a string holding something to escape goes
//! through serde_json, and the finished line is checked and handed over
//! once.
use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter; pair it with `JsonFields` as the field formatter,
/// so that a span's stored fields are a JSON object.
pub struct JsonLines;

thread_local! {
    /// Each thread's line buffer, kept between lines.
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let span = event.parent().and_then(|id| ctx.span(id)).or_else(|| ctx.lookup_current());
        let extensions = span.as_ref().map(|span| span.extensions());
        let span = span.as_ref().zip(extensions.as_ref()).map(|(span, extensions)| {
            (span.name(), extensions.get::<FormattedFields<N>>().map_or("", |f| f.fields.as_str()))
        });
        let mut format = |line: &mut Vec<u8>| {
            line.clear();
            write_line(line, event, span);
            let text = std::str::from_utf8(line).map_err(|_| fmt::Error)?;
            writer.write_str(text)
        };
        // A value whose formatting logs on this thread finds the buffer
        // taken and gets one of its own.
        LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => format(&mut line),
            Err(_) => format(&mut Vec::new()),
        })
    }
}

/// `{"timestamp":…,"level":…,"fields":{…},"target":…,"span":{…,"name":…}}\n`
/// (writing into a `Vec` cannot fail).
fn write_line(line: &mut Vec<u8>, event: &Event<'_>, span: Option<(&str, &str)>) {
    let meta = event.metadata();
    // RFC 3339 in UTC to the microsecond, as tracing-subscriber writes it
    // (humantime writes it in one piece, where a `write!` of each part took
    // a fifth of the line). A line's time is when it was written, not the
    // service's clock, which tests move.
    #[allow(clippy::disallowed_methods)]
    let now = humantime::format_rfc3339_micros(std::time::SystemTime::now());
    let _ = write!(line, "{{\"timestamp\":\"{now}\",\"level\":\"{}\",\"fields\":{{", meta.level().as_str());
    event.record(&mut Fields { line, first: true, scratch: String::new() });
    line.extend_from_slice(b"},\"target\":");
    string(line, meta.target());
    if let Some((name, fields)) = span {
        // The span's fields, stored by `JsonFields` as a JSON object, go in
        // as they are, with the span's name after them.
        let inner = fields.trim().strip_prefix('{').and_then(|f| f.strip_suffix('}')).unwrap_or("").trim();
        line.extend_from_slice(b",\"span\":{");
        if !inner.is_empty() {
            line.extend_from_slice(inner.as_bytes());
            line.push(b',');
        }
        line.extend_from_slice(b"\"name\":");
        string(line, name);
        line.push(b'}');
    }
    line.extend_from_slice(b"}\n");
}

/// A JSON string, escaped by serde_json when it holds anything to escape.
fn string(line: &mut Vec<u8>, value: &str) {
    // Most values (keys, routes, ids, targets) hold nothing to escape; they
    // go in as they are.
    let plain = !value.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
    if plain {
        line.push(b'"');
        line.extend_from_slice(value.as_bytes());
        line.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *line, value);
    }
}

/// An event's fields as JSON members.
struct Fields<'a> {
    line: &'a mut Vec<u8>,
    first: bool,
    /// Where values only `Debug` or `Display` can format are formatted
    /// before they are escaped.
    scratch: String,
}

impl Fields<'_> {
    fn key(&mut self, field: &Field) {
        if !self.first {
            self.line.push(b',');
        }
        self.first = false;
        string(self.line, field.name());
        self.line.push(b':');
    }

    fn number(&mut self, field: &Field, value: impl serde::Serialize) {
        self.key(field);
        // Non-finite floats come out as `null`.
        let _ = serde_json::to_writer(&mut *self.line, &value);
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        string(self.line, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.number(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.number(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.scratch.clear();
        let _ = write!(self.scratch, "{value:?}");
        self.key(field);
        string(self.line, &self.scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::format::JsonFields;
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl MakeWriter<'_> for Captured {
        type Writer = Captured;
        fn make_writer(&self) -> Captured {
            self.clone()
        }
    }

    fn lines(log: impl FnOnce()) -> Vec<serde_json::Value> {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .with_writer(out.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let text =
            String::from_utf8(out.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()).expect("UTF-8");
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
    }

    #[test]
    fn each_event_is_one_json_object_with_its_fields_and_span() {
        let got = lines(|| {
            let span = tracing::info_span!("request", route = "/oauth2/token", client_id = tracing::field::Empty);
            let _in = span.enter();
            span.record("client_id", "c-1");
            tracing::info!(status = 200u16, latency_ms = 0.25, ok = true, delta = -3i64, what = %"a \"quoted\"\nline", "request");
        });
        assert_eq!(got.len(), 1, "{got:?}");
        let line = &got[0];
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["fields"]["message"], "request");
        assert_eq!(line["fields"]["status"], 200);
        assert_eq!(line["fields"]["latency_ms"], 0.25);
        assert_eq!(line["fields"]["ok"], true);
        assert_eq!(line["fields"]["delta"], -3);
        assert_eq!(line["fields"]["what"], "a \"quoted\"\nline");
        assert!(line["target"].as_str().is_some_and(|t| t.ends_with("json_lines::tests")), "{line}");
        assert_eq!(line["span"]["name"], "request");
        assert_eq!(line["span"]["route"], "/oauth2/token");
        assert_eq!(line["span"]["client_id"], "c-1");
        assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z') && t.contains('T')), "{line}");
    }

    #[test]
    fn an_event_outside_a_span_has_no_span_and_odd_values_stay_valid_json() {
        let got = lines(|| tracing::warn!(ratio = f64::NAN, path = "C:\\a\tb", "no span\u{0}"));
        assert_eq!(got.len(), 1);
        assert!(got[0].get("span").is_none(), "{}", got[0]);
        assert_eq!(got[0]["fields"]["ratio"], serde_json::Value::Null);
        assert_eq!(got[0]["fields"]["message"], "no span\u{0}");
        assert_eq!(got[0]["fields"]["path"], "C:\\a\tb");
    }
}
