//! Printing results: a human-readable line or JSON (`--json`).
use std::io::Write;

use serde::Serialize;

/// Writes a line to stdout. Unlike `println!`, a closed stdout (a pipe into
/// `head`, a supervisor that stopped reading) is not a reason to panic.
pub fn print_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// The `--json` flag every subcommand takes.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Format {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl Format {
    /// Prints `value` as JSON, or `text` for people.
    pub fn print<T: Serialize>(self, value: &T, text: impl FnOnce() -> String) {
        if self.json {
            print_line(&serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into()));
        } else {
            print_line(&text());
        }
    }
}
