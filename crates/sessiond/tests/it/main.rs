//! Integration tests: the real server on a random loopback port over a fresh
//! SQLite file per test, driven over HTTP; and the real binary for the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod at_rest;
mod browser;
mod cli;
mod cli_settings;
mod cluster;
mod crash;
mod errors;
mod grants;
mod hardening;
mod interop;
mod keys;
mod lapse;
mod pages;
mod pg;
mod remote;
mod revocation;
mod sessions;
mod signatures;
mod slow_clients;
mod support;
mod throttle;
