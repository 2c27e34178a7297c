//! Revocation latency to a resource server in another process: revoke an
//! access token at sessiond, then call an API guarded by `sessiond-guard`
//! (the `guarded_api` example) until it refuses the token.
//!
//! Run by `bench/guard-propagation.sh`, which starts both. Environment:
//! `SESSIOND` and `GUARD` (base URLs), `CLIENT_ID`, `CLIENT_SECRET` (a
//! `client_credentials` client), `COUNT` (default 1000). Prints p50/p90/p99/
//! max in milliseconds, from the moment sessiond acknowledged the
//! revocation (it is durable) to the guard's first 401.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is required"));
    let count: usize = std::env::var("COUNT").ok().and_then(|c| c.parse().ok()).unwrap_or(1000);
    let (sessiond, guard) = (env("SESSIOND"), env("GUARD"));
    let (id, secret) = (env("CLIENT_ID"), env("CLIENT_SECRET"));
    let http = reqwest::Client::new();
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        http.post(format!("{sessiond}{path}")).basic_auth(&id, Some(&secret)).form(&form).send()
    };
    let whoami = |token: &str| http.get(format!("{guard}/whoami")).bearer_auth(token).send();

    let mut latencies = Vec::with_capacity(count);
    let mut polls = 0u64;
    for _ in 0..count {
        let r = post("/oauth2/token", vec![("grant_type", "client_credentials".into())]).await.expect("token");
        let body: serde_json::Value = r.json().await.expect("token body");
        let token = body["access_token"].as_str().expect("access_token").to_owned();
        assert_eq!(whoami(&token).await.expect("guard").status(), 200, "the guard accepts the fresh token");
        let revoked = post("/oauth2/revoke", vec![("token", token.clone())]).await.expect("revoke");
        assert!(revoked.status().is_success());
        let acknowledged = Instant::now();
        loop {
            polls += 1;
            if whoami(&token).await.expect("guard").status() == 401 {
                break;
            }
            assert!(acknowledged.elapsed() < Duration::from_secs(10), "the revocation never reached the guard");
        }
        latencies.push(acknowledged.elapsed());
    }
    latencies.sort();
    println!(
        "guard propagation over {count} revocations: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({:.1} polls per revocation)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        polls as f64 / count as f64
    );
}
