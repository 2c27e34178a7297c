//! Several nodes on one PostgreSQL database agree on every revocation.
//! These tests need PostgreSQL: `SESSIOND_TEST_DATABASE_URL` (CI sets it),
//! and for the restart test the server binaries (it runs one of its own).
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::cli::{cli, json, run, serve, sessiond, Server};
use crate::pg::PrivatePostgres;
use crate::remote::Remote;
use crate::support::{s, TestClient, TestData};

const ISSUER: &str = "http://sessiond.cluster";

/// Why these tests are ignored by default: they need a PostgreSQL server.
/// `.ci/run` runs them with `--include-ignored`; run that way without one,
/// they fail rather than pass without testing anything.
const NEEDS_POSTGRES: &str = "SESSIOND_TEST_DATABASE_URL must name a PostgreSQL server (.ci/run sets it)";

/// Data on the test PostgreSQL server.
async fn cluster_data() -> std::sync::Arc<TestData> {
    let data = TestData::new().await;
    assert!(data.is_postgres(), "{NEEDS_POSTGRES}");
    data
}

fn require_postgres() {
    assert!(std::env::var("SESSIOND_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()), "{NEEDS_POSTGRES}");
}

/// A user and a client, made with the CLI.
fn provision(data: &TestData) -> TestClient {
    assert!(cli(data, &["--issuer", ISSUER, "init"]).status.success());
    let mut add = sessiond(data);
    add.args(["user", "add", "alice", "--password-stdin"]);
    assert!(run(add, Some("alice password\n")).status.success());
    let registered = json(&cli(
        data,
        &["client", "add", "app", "--grant", "client_credentials", "password", "refresh_token", "--json"],
    ));
    TestClient { id: s(&registered, "client_id"), secret: s(&registered, "client_secret") }
}

fn node(data: &TestData) -> Server {
    serve(data, |c: &mut Command| {
        c.args(["--issuer", ISSUER, "--max-revocation-lag", "2s"]);
        // The race tests sign one user in dozens of times a minute.
        c.args(["--login-attempts-per-account", "0"]);
    })
}

/// Waits (bounded) until the token is inactive on `r`.
async fn until_inactive(what: &str, r: &Remote, token: &str) {
    eventually(what, || async { !r.active(token).await }).await;
}

/// Waits (bounded) until `check` holds; the revocation reaches other nodes
/// through NOTIFY within milliseconds, but this is a test, not a benchmark.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (SESSIOND_TEST_DATABASE_URL); .ci/run runs it"]
async fn three_nodes_agree_and_a_restarted_node_is_current_before_it_serves() {
    let data = cluster_data().await;
    let client = provision(&data);
    let mut nodes = [node(&data), node(&data), node(&data)];
    let remotes: Vec<Remote> = nodes.iter().map(|n| Remote::new(&n.base, &client)).collect();
    let (n1, n2, n3) = (&remotes[0], &remotes[1], &remotes[2]);

    let a = n1.sign_in("alice", "alice password").await;
    let b = n2.sign_in("alice", "alice password").await;
    let machine = n3.client_token().await;
    for r in &remotes {
        for token in [s(&a, "access_token"), s(&b, "access_token"), machine.clone()] {
            assert!(r.active(&token).await, "every node accepts every node's tokens");
        }
    }

    // Revoked on node 1: inactive on 2 and 3.
    n1.revoke(&s(&a, "access_token")).await;
    for r in [n2, n3] {
        until_inactive("revocation reaches another node", r, &s(&a, "access_token")).await;
    }
    // Logged out on node 2: inactive on 1 and 3, refresh refused on 3.
    n2.logout(&s(&b, "access_token")).await;
    for r in [n1, n3] {
        until_inactive("logout reaches another node", r, &s(&b, "access_token")).await;
    }
    assert_eq!(n3.refresh(&s(&b, "refresh_token")).await.0, StatusCode::BAD_REQUEST);
    assert!(n2.active(&machine).await, "unrelated tokens live on");

    // Node 2 dies; revocations happen meanwhile; it comes back current.
    let c = n1.sign_in("alice", "alice password").await;
    nodes[1].child.kill().unwrap();
    nodes[1].child.wait().unwrap();
    n1.revoke(&s(&c, "access_token")).await;
    n3.revoke(&machine).await;
    nodes[1] = node(&data);
    let n2 = Remote::new(&nodes[1].base, &client);
    // Its very first answers, with no waiting: it caught up before it served.
    assert!(!n2.active(&s(&c, "access_token")).await);
    assert!(!n2.active(&machine).await);
    assert!(n2.ready().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (SESSIOND_TEST_DATABASE_URL); .ci/run runs it"]
async fn one_refresh_token_raced_on_two_nodes_never_has_two_successors() {
    let data = cluster_data().await;
    let client = provision(&data);
    let nodes = [node(&data), node(&data)];
    let (n1, n2) = (Remote::new(&nodes[0].base, &client), Remote::new(&nodes[1].base, &client));
    for round in 0..30 {
        let tokens = n1.sign_in("alice", "alice password").await;
        let rt = s(&tokens, "refresh_token");
        let results = join_all([n1.refresh(&rt), n2.refresh(&rt), n1.refresh(&rt), n2.refresh(&rt)]).await;
        let winners: Vec<_> = results.iter().filter(|(status, _)| *status == StatusCode::OK).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one successor, got {results:?}");
        // The losers were reuse: the session is over, the successor dead too.
        let (status, _) = n2.refresh(&s(&winners[0].1, "refresh_token")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "round {round}");
        assert!(
            !n1.active(&s(&winners[0].1, "access_token")).await || !n2.active(&s(&winners[0].1, "access_token")).await
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (SESSIOND_TEST_DATABASE_URL); .ci/run runs it"]
async fn nodes_catch_up_after_postgresql_restarts_under_load() {
    require_postgres();
    let pg = PrivatePostgres::start().expect("PostgreSQL server binaries (CI installs them)");
    let data = TestData::on_database(&pg.url());
    let client = provision(&data);
    let nodes = [node(&data), node(&data), node(&data)];
    let remotes: Vec<Remote> = nodes.iter().map(|n| Remote::new(&n.base, &client)).collect();

    let mut revoked = Vec::new();
    let mut live = Vec::new();
    for i in 0..6 {
        let tokens = remotes[i % 3].sign_in("alice", "alice password").await;
        if i % 2 == 0 {
            remotes[(i + 1) % 3].revoke(&s(&tokens, "access_token")).await;
            revoked.push(s(&tokens, "access_token"));
        } else {
            live.push(s(&tokens, "access_token"));
        }
    }
    for r in &remotes {
        for t in &revoked {
            until_inactive("revocations applied before the restart", r, t).await;
        }
    }

    // Load: every node is asked about every revoked token, over and over,
    // while clients keep asking for tokens. No answer may call one active.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (stop, remotes, revoked) = (stop.clone(), remotes.clone(), revoked.clone());
        tokio::spawn(async move {
            let (mut answers, mut refused) = (0u64, 0u64);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for r in &remotes {
                    for t in &revoked {
                        let (status, body) = r.post("/oauth2/introspect", &[("token", t)]).await;
                        match status {
                            StatusCode::OK => {
                                assert_eq!(body["active"], false, "a revoked token came back to life");
                                answers += 1;
                            }
                            // Fail closed while the node cannot confirm it is current.
                            _ => refused += 1,
                        }
                    }
                    let _ = r.post("/oauth2/token", &[("grant_type", "client_credentials")]).await;
                }
            }
            (answers, refused)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A quick restart, within the staleness bound.
    pg.restart();
    for r in &remotes {
        eventually("node ready again after the restart", || r.ready()).await;
    }
    // An outage longer than the bound: every node reports not ready and
    // refuses to validate (fails closed) until it has caught up again.
    pg.stop();
    for r in &remotes {
        eventually("node reports not ready during the outage", || async { !r.ready().await }).await;
        let (status, body) = r.post("/oauth2/introspect", &[("token", &live[0])]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("temporarily_unavailable"))
        );
    }
    pg.start_again();
    for r in &remotes {
        eventually("node ready again after the outage", || r.ready()).await;
    }
    // Revocations made after the restart still reach every node (the change
    // feed reconnected, or the poll caught them).
    let fresh = remotes[0].sign_in("alice", "alice password").await;
    remotes[2].revoke(&s(&fresh, "access_token")).await;
    for r in &remotes {
        until_inactive("post-restart revocation reaches every node", r, &s(&fresh, "access_token")).await;
        for t in &live {
            assert!(r.active(t).await, "unrevoked tokens stay valid");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (answers, refused) = load.await.unwrap();
    eprintln!("postgres_restart: {answers} answers, {refused} refused while not current");
    assert!(answers > 0 && refused > 0, "the load ran through the outage ({answers} answers, {refused} refused)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (SESSIOND_TEST_DATABASE_URL); .ci/run runs it"]
async fn the_session_limit_holds_across_nodes() {
    let data = cluster_data().await;
    let client = provision(&data);
    let limited = |data: &TestData| {
        serve(data, |c: &mut Command| {
            c.args(["--issuer", ISSUER, "--max-sessions-per-user", "3"]);
        })
    };
    let nodes = [limited(&data), limited(&data), limited(&data)];
    let remotes: Vec<Remote> = nodes.iter().map(|n| Remote::new(&n.base, &client)).collect();
    let form = [("grant_type", "password"), ("username", "alice"), ("password", "alice password")];
    let attempts = (0..9).map(|i| remotes[i % 3].post("/oauth2/token", &form));
    let results = join_all(attempts).await;
    let admitted = results.iter().filter(|(status, _)| *status == StatusCode::OK).count();
    assert_eq!(admitted, 3, "three sign-ins admitted across three nodes: {results:?}");
    for (status, body) in results.iter().filter(|(status, _)| *status != StatusCode::OK) {
        assert_eq!((*status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (SESSIOND_TEST_DATABASE_URL); .ci/run runs it"]
async fn postgresql_connections_use_tls_when_the_url_asks() {
    require_postgres();
    let pg = PrivatePostgres::start_with_tls().expect("PostgreSQL server binaries (CI installs them)");
    let verified = format!("{}?sslmode=verify-full&sslrootcert={}", pg.url(), pg.ca_file());
    // A node on a verified TLS connection works, and the server sees TLS.
    let data = TestData::on_database(&verified);
    let client = provision(&data);
    let server = node(&data);
    let token = Remote::new(&server.base, &client).client_token().await;
    assert!(Remote::new(&server.base, &client).active(&token).await);
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&verified).await.unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(ssl, "the connection is encrypted");
    // Without the CA the server's certificate is not trusted: refused, clearly.
    let untrusted = TestData::on_database(&format!("{}?sslmode=verify-full", pg.url()));
    let out = cli(&untrusted, &["user", "list"]);
    assert!(!out.status.success(), "an unverifiable server is refused");
    assert!(!out.stderr.is_empty());
}

/// Group commit under a database failure: PostgreSQL stops and comes back while 32
/// clients revoke. Every write in a batch that could not be committed is
/// answered 503 `temporarily_unavailable` (never a hang, never a dropped
/// connection), and every revocation answered 200 is in the database: a
/// fresh node, rebuilding its index from the log alone, refuses each token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (SESSIOND_TEST_DATABASE_URL); .ci/run runs it"]
async fn a_failed_batch_fails_its_writes_and_loses_nothing_answered() {
    require_postgres();
    let pg = std::sync::Arc::new(PrivatePostgres::start().expect("PostgreSQL server binaries (CI installs them)"));
    let data = TestData::on_database(&pg.url());
    let client = provision(&data);
    let server = node(&data);
    let remote = Remote::new(&server.base, &client);

    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..32 {
        let (remote, answered, refused, stop) = (remote.clone(), answered.clone(), refused.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (status, body) = remote.post("/oauth2/token", &[("grant_type", "client_credentials")]).await;
                if status != StatusCode::OK {
                    // Not current during the outage: issuance fails closed.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                let token = s(&body, "access_token");
                let (status, body) = remote.post("/oauth2/revoke", &[("token", &token)]).await;
                match status {
                    StatusCode::OK => answered.lock().unwrap().push(token),
                    StatusCode::SERVICE_UNAVAILABLE => {
                        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
                        refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    other => panic!("a revocation was answered {other}: {body}"),
                }
            }
        }));
    }
    let count = |answered: &std::sync::Mutex<Vec<String>>| answered.lock().unwrap().len();
    eventually("revocations flow before the restart", || async { count(&answered) > 200 }).await;
    // Hold the revocation log's advisory lock from outside, so that the
    // writer's next batch stops in flight waiting for it; then stop the
    // server under it (fast: transactions are cut) for half a second (within
    // the node's staleness bound, so tokens are still issued meanwhile).
    let mut holder = Command::new("psql")
        .args([pg.url().as_str(), "-q", "-c", "SELECT pg_advisory_lock(1582633168), pg_sleep(600)"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("psql (CI installs it)");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stalled = count(&answered);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(count(&answered), stalled, "the writer did not stop behind the log lock");
    let restarting = pg.clone();
    tokio::task::spawn_blocking(move || {
        restarting.stop();
        std::thread::sleep(Duration::from_millis(500));
        restarting.start_again();
    })
    .await
    .unwrap();
    let _ = holder.kill();
    let _ = holder.wait();
    let after_restart = count(&answered);
    eventually("revocations flow again after the restart", || async { count(&answered) > after_restart + 200 }).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let refused = refused.load(std::sync::atomic::Ordering::Relaxed);
    assert!(refused > 0, "the restart failed no write; it did not hit the load");

    drop(server);
    let fresh = node(&data);
    let remote = Remote::new(&fresh.base, &client);
    let answered = answered.lock().unwrap().clone();
    for token in &answered {
        assert!(!remote.active(token).await, "a revocation answered 200 is not in the database");
    }
    eprintln!("failed batch: {} revocations answered 200, {refused} answered 503", answered.len());
}
