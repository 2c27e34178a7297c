//! Integration tests: the real server on a random loopback port over a fresh
//! SQLite file per test, driven over HTTP; and the real binary for the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod at_rest;
mod authorize_errors;
mod backchannel;
mod browser;
mod cli;
mod cli_settings;
mod cluster;
mod crash;
mod errors;
mod feed;
mod forward_auth;
mod grants;
mod guard;
mod hardening;
mod interop;
mod keys;
mod lapse;
mod nginx;
mod oidc_rp;
mod openapi;
mod pages;
mod pg;
mod remote;
mod revocation;
mod sessions;
mod shutdown;
mod signatures;
mod slow_clients;
mod support;
mod throttle;
