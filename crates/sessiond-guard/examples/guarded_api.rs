//! A tiny API guarded by sessiond: one protected route, `GET /whoami`,
//! answering the `sub`, `sid` and `client_id` of the caller's access token,
//! and an open `GET /healthz`.
//!
//! ```sh
//! sessiond client add my-api --resource-server --grant client_credentials
//! cargo run -p sessiond-guard --example guarded_api --features layer -- \
//!     --issuer http://127.0.0.1:8080 --client-id ID --client-secret SECRET \
//!     --listen 127.0.0.1:3000
//! curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:3000/whoami
//! ```
//!
//! Every flag has an environment variable: `GUARD_ISSUER`,
//! `GUARD_CLIENT_ID`, `GUARD_CLIENT_SECRET`, `GUARD_LISTEN` (default
//! `127.0.0.1:3000`), `GUARD_AUDIENCE` (default: the issuer),
//! `GUARD_STALENESS_BOUND` (seconds, default 10) and `GUARD_FAIL_OPEN`
//! (`1`). It prints `listening on http://ADDR` once it accepts
//! connections (`--listen 127.0.0.1:0` picks a free port).
use std::error::Error;
use std::io::Write;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use sessiond_guard::{Claims, Guard, StalePolicy};

/// The command line, each value falling back to its environment variable.
struct Args {
    issuer: String,
    client_id: String,
    client_secret: String,
    listen: String,
    audience: Option<String>,
    staleness_bound: Duration,
    fail_open: bool,
}

const USAGE: &str = "usage: guarded_api --issuer URL --client-id ID --client-secret SECRET \
                     [--listen ADDR] [--audience AUD] [--staleness-bound SECS] [--fail-open]";

impl Args {
    fn parse() -> Result<Args, String> {
        let mut flags = std::collections::HashMap::new();
        let mut fail_open = std::env::var("GUARD_FAIL_OPEN").is_ok_and(|v| v == "1");
        let mut argv = std::env::args().skip(1);
        while let Some(flag) = argv.next() {
            match flag.as_str() {
                "--fail-open" => fail_open = true,
                "--issuer" | "--client-id" | "--client-secret" | "--listen" | "--audience" | "--staleness-bound" => {
                    let value = argv.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
                    flags.insert(flag, value);
                }
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        let mut value = |flag: &str, env: &str| flags.remove(flag).or_else(|| std::env::var(env).ok());
        let mut required =
            |flag: &str, env: &str| value(flag, env).ok_or_else(|| format!("{flag} or {env} is required\n{USAGE}"));
        let issuer = required("--issuer", "GUARD_ISSUER")?;
        let client_id = required("--client-id", "GUARD_CLIENT_ID")?;
        let client_secret = required("--client-secret", "GUARD_CLIENT_SECRET")?;
        let listen = value("--listen", "GUARD_LISTEN").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let audience = value("--audience", "GUARD_AUDIENCE");
        let staleness_bound = match value("--staleness-bound", "GUARD_STALENESS_BOUND") {
            Some(secs) => {
                Duration::from_secs(secs.parse().map_err(|_| format!("--staleness-bound {secs:?}: seconds"))?)
            }
            None => sessiond_guard::DEFAULT_STALENESS_BOUND,
        };
        Ok(Args { issuer, client_id, client_secret, listen, audience, staleness_bound, fail_open })
    }
}

/// The protected route: who the token says the caller is.
async fn whoami(claims: Claims) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "sub": claims.sub, "sid": claims.sid, "client_id": claims.client_id }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,sessiond_guard=info".to_owned());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let args = match Args::parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };

    let mut builder = Guard::builder(&args.issuer, &args.client_id, &args.client_secret)
        .staleness_bound(args.staleness_bound)
        .on_stale(if args.fail_open { StalePolicy::FailOpen } else { StalePolicy::FailClosed });
    if let Some(audience) = args.audience {
        builder = builder.audience(audience);
    }
    let guard = builder.start()?;
    // Not required (the layer answers 503 until then), but nicer.
    if !guard.wait_until_current(Duration::from_secs(5)).await {
        tracing::warn!("not following sessiond yet; answering 503 until it is reachable");
    }

    let app = Router::new()
        .route("/whoami", get(whoami))
        .route_layer(guard.layer())
        .route("/healthz", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    axum::serve(listener, app).await?;
    Ok(())
}
