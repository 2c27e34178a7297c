//! Cost of issuing an access token, in process and without HTTP:
//!
//! * `mint_access_token/<alg>`: building the claims and signing the JWS.
//! * `client_credentials/<alg>`: the whole `client_credentials` grant after
//!   client authentication (grant and client-kind checks, scope resolution,
//!   minting, the token response).
//!
//! Each algorithm gets its own data directory, and so its own first signing
//! key (`signing_alg`). Neither path touches the store, so the SQLite database
//! only matters during setup.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use sessiond::accounts::register_client;
use sessiond::clock::SystemClock;
use sessiond::config::{Config, Settings};
use sessiond::domain::{Client, ClientKind, GrantType, NewClient, Scope};
use sessiond::grants::client_credentials;
use sessiond::tokens::{mint_access_token, AccessTokenSpec};
use sessiond::App;
use sessiond_guard::SigningAlgorithm;

const ALGORITHMS: [SigningAlgorithm; 3] = [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA, SigningAlgorithm::RS256];

/// An application with one key of `alg` and a confidential
/// `client_credentials` client allowed `api:read`.
struct Fixture {
    app: Arc<App>,
    client: Client,
    // Held so the data directory outlives the application.
    _dir: tempfile::TempDir,
}

fn fixture(rt: &tokio::runtime::Runtime, alg: SigningAlgorithm) -> Fixture {
    let dir = tempfile::TempDir::new().expect("temporary data directory");
    let settings = Settings { data_dir: Some(dir.path().to_path_buf()), signing_alg: Some(alg), ..Default::default() };
    let config = Config::resolve(settings).expect("configuration");
    let (app, client) = rt.block_on(async {
        let app = App::open(config, Arc::new(SystemClock)).await.expect("open app");
        let new = NewClient {
            name: "bench".into(),
            kind: ClientKind::Confidential,
            grant_types: vec![GrantType::ClientCredentials],
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: None,
            scope: Scope::parse("api:read").expect("scope"),
            resource_server: false,
            first_party: false,
            backchannel_logout_session_required: false,
        };
        let registered = register_client(&app, new).await.expect("register client");
        (app, registered.client)
    });
    assert_eq!(app.keys().signing_key().alg(), alg);
    Fixture { app, client, _dir: dir }
}

/// An RS256 signature takes about a millisecond, too long for criterion's
/// default 100 samples in 5 s; give it more time (settings apply to the
/// benchmarks defined after them, and RS256 comes last).
fn slow_for_rsa(group: &mut BenchmarkGroup<'_, WallTime>, alg: SigningAlgorithm) {
    if alg == SigningAlgorithm::RS256 {
        group.measurement_time(Duration::from_secs(10));
    }
}

fn issue(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let fixtures: Vec<(SigningAlgorithm, Fixture)> = ALGORITHMS.into_iter().map(|a| (a, fixture(&rt, a))).collect();

    let mut group = c.benchmark_group("mint_access_token");
    for (alg, f) in &fixtures {
        let (app, client) = (&f.app, &f.client);
        let keys = app.keys();
        let now = app.clock.now();
        let spec = AccessTokenSpec {
            subject: client.id.as_str(),
            client_id: &client.id,
            scope: &client.scope,
            session: None,
            username: None,
            ttl: Duration::from_secs(300),
            not_after: None,
        };
        // Checked once, outside the timed loop.
        let minted = mint_access_token(&keys, now, spec).expect("mint");
        keys.verifier().verify(&minted.token, now.0).expect("minted token verifies");
        slow_for_rsa(&mut group, *alg);
        group.bench_function(alg.as_str(), |b| b.iter(|| mint_access_token(&keys, black_box(now), black_box(spec))));
    }
    group.finish();

    let mut group = c.benchmark_group("client_credentials");
    for (alg, f) in &fixtures {
        let (app, client) = (&f.app, &f.client);
        let response = client_credentials(app, client, None).expect("client_credentials grant");
        assert_eq!(response.scope, "api:read");
        app.keys().verifier().verify(&response.access_token, app.clock.now().0).expect("issued token verifies");
        slow_for_rsa(&mut group, *alg);
        group.bench_function(alg.as_str(), |b| b.iter(|| client_credentials(app, black_box(client), None)));
    }
    group.finish();
}

criterion_group!(benches, issue);
criterion_main!(benches);
