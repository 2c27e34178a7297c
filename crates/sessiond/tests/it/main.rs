//! Integration tests: the real server on a random loopback port over a fresh
//! SQLite file per test, driven over HTTP; and the real binary for the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod cli;
mod cluster;
mod crash;
mod errors;
mod grants;
mod interop;
mod keys;
mod pg;
mod remote;
mod revocation;
mod sessions;
mod support;
mod throttle;
