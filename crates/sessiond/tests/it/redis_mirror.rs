//! The Redis denylist bridge against a real `redis-server`, started by each
//! test on a free loopback port without persistence and stopped by its PID:
//! every kind of revocation appears under its key with a TTL no longer
//! than the life left to what it revokes, the mirror resumes from the
//! position it keeps in Redis, and a Redis that was down (and came back
//! empty) is filled again with everything, while revocations were answered
//! as usual meanwhile.
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use sessiond::clock::Clock;
use sessiond::config::ConfigDuration;
use sessiond::sessions::Actor;

use crate::support::{claims, s, TestApp, TestClient};

/// How long the mirror may take: its poll (1 s) plus a back-off (at most
/// 5 s) after Redis comes back, with room for a slow machine.
const CATCH_UP: Duration = Duration::from_secs(20);

/// A `redis-server` of the test's own, stopped (by its PID) when dropped.
struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

fn find_redis_server() -> PathBuf {
    let in_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("redis-server")).collect::<Vec<_>>())
        .unwrap_or_default();
    in_path
        .into_iter()
        .chain(["/usr/bin/redis-server", "/usr/local/bin/redis-server"].map(PathBuf::from))
        .find(|p| p.is_file())
        .expect("redis-server is required (.ci/run installs it)")
}

impl RedisServer {
    fn start() -> RedisServer {
        let mut server =
            RedisServer { child: None, port: crate::cli::free_port(), dir: tempfile::TempDir::new().unwrap() };
        server.restart();
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts it (again) on the same port, empty: no RDB, no AOF.
    fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(find_redis_server())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on port {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM by PID (SIGKILL if it lingers), and waits for it to go.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    async fn conn(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
    }

    async fn get(&self, key: &str) -> Option<String> {
        redis::cmd("GET").arg(key).query_async(&mut self.conn().await).await.unwrap()
    }

    async fn ttl(&self, key: &str) -> i64 {
        redis::cmd("TTL").arg(key).query_async(&mut self.conn().await).await.unwrap()
    }

    /// Waits for `key` to appear; its value.
    async fn eventually(&self, key: &str) -> String {
        let deadline = Instant::now() + CATCH_UP;
        loop {
            if let Some(value) = self.get(key).await {
                return value;
            }
            assert!(Instant::now() < deadline, "{key} never appeared in Redis");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the mirror's position is the application's log position.
    async fn caught_up_with(&self, t: &TestApp) {
        let deadline = Instant::now() + CATCH_UP;
        loop {
            let position = self.get(sessiond::mirror::POSITION_KEY).await.and_then(|p| p.parse::<i64>().ok());
            if position == Some(t.app.log_position()) && t.app.log_position() > 0 {
                return;
            }
            assert!(Instant::now() < deadline, "mirror at {position:?}, log at {}", t.app.log_position());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn spawn_mirrored(redis: &RedisServer, skew: u64) -> TestApp {
    let url = redis.url();
    TestApp::spawn_with(move |s| sessiond::config::Settings {
        redis_url: Some(url.into()),
        clock_skew: Some(ConfigDuration(Duration::from_secs(skew))),
        // The tests sign one user in many times.
        login_attempts_per_account: Some(0),
        ..s
    })
    .await
}

async fn revoke(t: &TestApp, client: &TestClient, token: &str) {
    let r = t
        .http
        .post(t.url("/oauth2/revoke"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

fn claim(token: &str, name: &str) -> String {
    s(&claims(token), name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server; .ci/run installs it"]
async fn a_revoked_access_token_is_denied_in_redis_until_it_would_have_expired() {
    let redis = RedisServer::start();
    let skew = 7;
    let t = spawn_mirrored(&redis, skew).await;
    let client = t.user_client().await;
    t.user("alice", "alice password").await;
    let token = s(&t.sign_in(&client, "alice", "alice password").await, "access_token");
    let key = format!("tokens:{}:deactivated", claim(&token, "jti"));
    assert_eq!(redis.get(&key).await, None, "nothing is mirrored before a revocation");

    revoke(&t, &client, &token).await;
    assert_eq!(redis.eventually(&key).await, "1");
    let exp = claims(&token)["exp"].as_i64().unwrap();
    let remaining = exp - t.clock.now().0;
    let ttl = redis.ttl(&key).await;
    assert!(ttl > 0 && ttl <= remaining + skew as i64, "TTL {ttl}s, the token had {remaining}s left (+{skew}s)");
    assert!(ttl > remaining - 5, "TTL {ttl}s: the whole remaining life ({remaining}s) plus leeway");
    redis.caught_up_with(&t).await;
    // The token's session lives on: only the token was revoked.
    assert_eq!(redis.get(&format!("sessions:{}:revoked", claim(&token, "sid"))).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server; .ci/run installs it"]
async fn ended_sessions_grants_users_and_clients_appear_under_their_keys() {
    let redis = RedisServer::start();
    let t = spawn_mirrored(&redis, 0).await;
    let client = t.user_client().await;
    for name in ["alice", "bob", "carol"] {
        t.user(name, &format!("{name} password")).await;
    }

    // POST /logout ends the caller's session.
    let alice = s(&t.sign_in(&client, "alice", "alice password").await, "access_token");
    let r = t.bearer(Method::POST, "/logout", &alice).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(redis.eventually(&format!("sessions:{}:revoked", claim(&alice, "sid"))).await, "1");

    // The me API ends another of alice's sessions.
    let first = s(&t.sign_in(&client, "alice", "alice password").await, "access_token");
    let second = s(&t.sign_in(&client, "alice", "alice password").await, "access_token");
    let path = format!("/api/v1/me/sessions/{}", claim(&first, "sid"));
    let r = t.bearer(Method::DELETE, &path, &second).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let key = format!("sessions:{}:revoked", claim(&first, "sid"));
    assert_eq!(redis.eventually(&key).await, "1");
    let ttl = redis.ttl(&key).await;
    assert!(ttl > 0, "a session key expires ({ttl})");
    assert_eq!(redis.get(&format!("sessions:{}:revoked", claim(&second, "sid"))).await, None);

    // Revoking a refresh token revokes its grant (RFC 7009 §2.1).
    let bob = t.sign_in(&client, "bob", "bob password").await;
    revoke(&t, &client, &s(&bob, "refresh_token")).await;
    assert_eq!(redis.eventually(&format!("grants:{}:revoked", claim(&s(&bob, "access_token"), "gid"))).await, "1");

    // Disabling a user: a cut-off no earlier than the tokens it kills.
    let carol = s(&t.sign_in(&client, "carol", "carol password").await, "access_token");
    sessiond::accounts::disable_user(&t.app, "carol", &Actor::cli()).await.unwrap();
    let cutoff: i64 =
        redis.eventually(&format!("users:{}:revoked_before", claim(&carol, "sub"))).await.parse().unwrap();
    assert!(cutoff >= claims(&carol)["iat"].as_i64().unwrap());

    // Removing a client: a cut-off for everything it holds.
    let other = t.user_client().await;
    sessiond::accounts::remove_client(&t.app, &other.id, &Actor::cli()).await.unwrap();
    let cutoff: i64 = redis.eventually(&format!("clients:{}:revoked_before", other.id)).await.parse().unwrap();
    assert!(cutoff >= t.clock.now().0 - 5);
    redis.caught_up_with(&t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server; .ci/run installs it"]
async fn revocations_made_while_redis_is_down_are_answered_and_mirrored_when_it_returns() {
    let mut redis = RedisServer::start();
    let t = spawn_mirrored(&redis, 0).await;
    let client = t.user_client().await;
    t.user("alice", "alice password").await;
    let mut sessions = Vec::new();
    for _ in 0..12 {
        sessions.push(t.sign_in(&client, "alice", "alice password").await);
    }
    let before = s(&sessions[0], "access_token");
    revoke(&t, &client, &before).await;
    let before_key = format!("tokens:{}:deactivated", claim(&before, "jti"));
    redis.eventually(&before_key).await;

    redis.stop();
    let mut expected = Vec::new();
    for session in &sessions[1..7] {
        let token = s(session, "access_token");
        let started = Instant::now();
        revoke(&t, &client, &token).await;
        assert!(started.elapsed() < Duration::from_secs(2), "a revocation does not wait for Redis");
        expected.push(format!("tokens:{}:deactivated", claim(&token, "jti")));
    }
    for session in &sessions[7..10] {
        let token = s(session, "access_token");
        let r = t.bearer(Method::POST, "/logout", &token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        expected.push(format!("sessions:{}:revoked", claim(&token, "sid")));
    }
    for session in &sessions[10..] {
        revoke(&t, &client, &s(session, "refresh_token")).await;
        expected.push(format!("grants:{}:revoked", claim(&s(session, "access_token"), "gid")));
    }
    // Long enough for the mirror to have failed a few times and backed off.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Back, but empty (no persistence): the position went with the keys,
    // so the mirror starts over, and what was mirrored before the outage
    // is written again too.
    redis.restart();
    for key in expected.iter().chain([&before_key]) {
        assert_eq!(redis.eventually(key).await, "1", "{key}");
    }
    redis.caught_up_with(&t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server; .ci/run installs it"]
async fn the_mirror_resumes_from_the_position_it_keeps_in_redis() {
    let redis = RedisServer::start();
    let t = spawn_mirrored(&redis, 0).await;
    let client = t.user_client().await;
    t.user("alice", "alice password").await;
    let token = |body: &serde_json::Value| s(body, "access_token");
    let first = token(&t.sign_in(&client, "alice", "alice password").await);
    revoke(&t, &client, &first).await;
    let first_key = format!("tokens:{}:deactivated", claim(&first, "jti"));
    redis.eventually(&first_key).await;
    redis.caught_up_with(&t).await;
    // Take it away behind the mirror's back: only a mirror that started
    // over from the beginning of the log would write it again.
    let _: i64 = redis::cmd("DEL").arg(&first_key).query_async(&mut redis.conn().await).await.unwrap();

    // Another process on the same data (a restarted node) mirrors into the
    // same Redis, from where the position says.
    let again = TestApp::spawn_on(t.data.clone(), {
        let url = redis.url();
        move |s| sessiond::config::Settings { redis_url: Some(url.into()), ..s }
    })
    .await;
    let second = token(&again.sign_in(&client, "alice", "alice password").await);
    revoke(&again, &client, &second).await;
    redis.eventually(&format!("tokens:{}:deactivated", claim(&second, "jti"))).await;
    redis.caught_up_with(&again).await;
    assert_eq!(redis.get(&first_key).await, None, "entries before the position are not written again");

    // A position past the end of this log belongs to another one (a new
    // database behind an old Redis): the mirror starts over.
    let _: () = redis::cmd("SET")
        .arg(sessiond::mirror::POSITION_KEY)
        .arg(1_000_000)
        .query_async(&mut redis.conn().await)
        .await
        .unwrap();
    assert_eq!(redis.eventually(&first_key).await, "1");
    redis.caught_up_with(&again).await;
}

/// The legacy API of the README's "Redis denylist bridge", in axum: its
/// existing check of `tokens:<jti>:deactivated`, then the two lines that
/// add sessions, grants, users and clients. `full: false` is the API
/// before those two lines.
mod legacy {
    use axum::extract::{Request, State};
    use axum::http::StatusCode;
    use axum::middleware::Next;
    use axum::response::{IntoResponse, Response};
    use redis::AsyncCommands;

    #[derive(Clone)]
    pub struct Api {
        pub redis: redis::aio::MultiplexedConnection,
        pub full: bool,
    }

    /// What the API's own JWT check yields (verification is not the point here).
    struct Claims {
        jti: String,
        sid: Option<String>,
        gid: Option<String>,
        sub: String,
        client_id: String,
        iat: i64,
    }

    fn verify(req: &Request) -> Option<Claims> {
        let token = req.headers().get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")?;
        let c = crate::support::claims(token);
        let text = |k: &str| c[k].as_str().map(str::to_owned);
        Some(Claims {
            jti: text("jti")?,
            sid: text("sid"),
            gid: text("gid"),
            sub: text("sub")?,
            client_id: text("client_id")?,
            iat: c["iat"].as_i64()?,
        })
    }

    fn unauthorized() -> Response {
        (StatusCode::UNAUTHORIZED, [("www-authenticate", "Bearer error=\"invalid_token\"")]).into_response()
    }

    pub async fn require_token(State(st): State<Api>, req: Request, next: Next) -> Response {
        let Some(c) = verify(&req) else { return unauthorized() };
        let mut r = st.redis.clone();
        // The legacy check (fails closed when Redis does not answer).
        let deactivated: bool = r.exists(format!("tokens:{}:deactivated", c.jti)).await.unwrap_or(true);
        if deactivated {
            return unauthorized();
        }
        if st.full {
            // The README's addition: one MGET, one `if`.
            let Ok((sid, gid, user, client)) = r
                .mget::<_, (Option<String>, Option<String>, Option<i64>, Option<i64>)>(&[
                    format!("sessions:{}:revoked", c.sid.as_deref().unwrap_or("")),
                    format!("grants:{}:revoked", c.gid.as_deref().unwrap_or("")),
                    format!("users:{}:revoked_before", c.sub),
                    format!("clients:{}:revoked_before", c.client_id),
                ])
                .await
            else {
                return unauthorized();
            };
            if sid.is_some() || gid.is_some() || user.is_some_and(|t| c.iat <= t) || client.is_some_and(|t| c.iat <= t)
            {
                return unauthorized();
            }
        }
        next.run(req).await
    }
}

/// Serves the legacy API on a free port; its base URL.
async fn legacy_api(redis: &RedisServer, full: bool) -> String {
    let state = legacy::Api { redis: redis.conn().await, full };
    let app = axum::Router::new()
        .route("/whoami", axum::routing::get(|| async { "hello" }))
        .route_layer(axum::middleware::from_fn_with_state(state, legacy::require_token));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server; .ci/run installs it"]
async fn a_legacy_api_checking_the_denylist_refuses_what_sessiond_revoked() {
    let redis = RedisServer::start();
    let t = spawn_mirrored(&redis, 0).await;
    let (old, new) = (legacy_api(&redis, false).await, legacy_api(&redis, true).await);
    let client = t.user_client().await;
    for name in ["alice", "bob", "carol"] {
        t.user(name, &format!("{name} password")).await;
    }
    let status = |base: &str, token: &str| {
        let request = t.http.get(format!("{base}/whoami")).bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    // Until the mirror has the entry: the API may see it a moment later.
    let refused_soon = |base: String, token: String| async move {
        let deadline = Instant::now() + CATCH_UP;
        while status(&base, &token).await != StatusCode::UNAUTHORIZED {
            assert!(Instant::now() < deadline, "{base} still accepts a revoked token");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };

    // A revoked token: the legacy check alone sees it.
    let alice = s(&t.sign_in(&client, "alice", "alice password").await, "access_token");
    assert_eq!(status(&new, &alice).await, StatusCode::OK);
    revoke(&t, &client, &alice).await;
    refused_soon(old.clone(), alice.clone()).await;

    // A logout: only with the two lines.
    let bob = s(&t.sign_in(&client, "bob", "bob password").await, "access_token");
    assert_eq!(t.bearer(Method::POST, "/logout", &bob).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    refused_soon(new.clone(), bob.clone()).await;
    assert_eq!(status(&old, &bob).await, StatusCode::OK, "the legacy check alone misses a logout");

    // A disabled user: refused by the cut-off; a token issued after it is
    // enabled again is not.
    let carol = s(&t.sign_in(&client, "carol", "carol password").await, "access_token");
    sessiond::accounts::disable_user(&t.app, "carol", &Actor::cli()).await.unwrap();
    refused_soon(new.clone(), carol.clone()).await;
    sessiond::accounts::enable_user(&t.app, "carol", &Actor::cli()).await.unwrap();
    t.clock.advance(Duration::from_secs(2));
    let later = s(&t.sign_in(&client, "carol", "carol password").await, "access_token");
    assert_eq!(status(&new, &later).await, StatusCode::OK);
}
