//! Printing results: a human-readable line or JSON (`--json`).
use serde::Serialize;

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
            println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into()));
        } else {
            println!("{}", text());
        }
    }
}
