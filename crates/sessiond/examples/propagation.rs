//! Cross-node revocation latency: revoke an access token on one node, then
//! ask another node until it says the token is inactive.
//!
//! Run by `bench/propagation.sh`, which starts the nodes. Environment:
//! `REVOKE_NODE`, `CHECK_NODE` (base URLs), `CLIENT_ID`, `CLIENT_SECRET`,
//! `COUNT` (default 1000). Prints p50/p90/p99/max in milliseconds, measured
//! from the moment the revoking node acknowledged (the revocation is durable)
//! to the first inactive answer from the other node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::Value;

struct Node {
    base: String,
    http: reqwest::Client,
    id: String,
    secret: String,
}

impl Node {
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.id, Some(&self.secret))
            .form(form)
            .send()
            .await
            .expect("request");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    async fn active(&self, token: &str) -> bool {
        self.post("/oauth2/introspect", &[("token", token)]).await["active"].as_bool().expect("active")
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is required"));
    let count: usize = std::env::var("COUNT").ok().and_then(|c| c.parse().ok()).unwrap_or(1000);
    let node =
        |base: String| Node { base, http: reqwest::Client::new(), id: env("CLIENT_ID"), secret: env("CLIENT_SECRET") };
    let (revoker, checker) = (node(env("REVOKE_NODE")), node(env("CHECK_NODE")));

    let mut latencies = Vec::with_capacity(count);
    let mut polls = 0u64;
    for _ in 0..count {
        let token = revoker.post("/oauth2/token", &[("grant_type", "client_credentials")]).await["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        assert!(checker.active(&token).await, "the other node accepts the fresh token");
        revoker.post("/oauth2/revoke", &[("token", &token)]).await;
        let acknowledged = Instant::now();
        loop {
            polls += 1;
            if !checker.active(&token).await {
                break;
            }
            assert!(acknowledged.elapsed() < Duration::from_secs(10), "revocation never reached the other node");
        }
        latencies.push(acknowledged.elapsed());
    }
    latencies.sort();
    println!(
        "propagation over {count} revocations: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({:.1} polls per revocation)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        polls as f64 / count as f64
    );
}
