//! Sessions under concurrency: rotation and the session limit hold when
//! requests race.
use futures_util::future::join_all;
use reqwest::StatusCode;
use sessiond::clock::Clock;

use crate::support::{s, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_presentations_of_one_refresh_token_yield_one_successor() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("alice", "correct horse").await;
    for _ in 0..10 {
        let tokens = t.sign_in(&client, "alice", "correct horse").await;
        let rt = s(&tokens, "refresh_token");
        let results = join_all((0..4).map(|_| t.refresh(&client, &rt))).await;
        let winners: Vec<_> = results.iter().filter(|(status, _)| *status == StatusCode::OK).collect();
        assert_eq!(winners.len(), 1, "exactly one successor: {results:?}");
        // The losers count as reuse, so the winner's successor is dead too.
        let (status, _) = t.refresh(&client, &s(&winners[0].1, "refresh_token")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ins_respect_the_session_limit() {
    let t = TestApp::spawn_with(|s| sessiond::config::Settings { max_sessions_per_user: Some(3), ..s }).await;
    let client = t.user_client().await;
    t.user("alice", "correct horse").await;
    let form = [("grant_type", "password"), ("username", "alice"), ("password", "correct horse")];
    let results = join_all((0..8).map(|_| t.token(&client, &form))).await;
    let admitted = results.iter().filter(|(status, _)| *status == StatusCode::OK).count();
    assert_eq!(admitted, 3, "{results:?}");
    let user = t.app.store.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(t.app.store.live_sessions_of_user(&user.id, t.clock.now()).await.unwrap().len(), 3);
}
