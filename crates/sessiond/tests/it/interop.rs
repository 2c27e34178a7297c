//! Standard clients work unchanged: Python Authlib drives every grant,
//! introspection and revocation (tests/interop/authlib_client.py), and the
//! browser sign-in with PKCE, ID token validation and logout
//! (tests/interop/authlib_code_flow.py).
use std::process::Command;

use sessiond::domain::{ClientKind, GrantType};

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 with authlib and requests; .ci/run installs them and runs it"]
async fn authlib_drives_grants_introspection_and_revocation() {
    // Run explicitly without Authlib, this fails rather than pass untested.
    let has_authlib =
        Command::new("python3").args(["-c", "import authlib, requests"]).status().is_ok_and(|s| s.success());
    assert!(has_authlib, "python3 with authlib and requests is required (.ci/run installs them)");
    let t = TestApp::spawn().await;
    let client =
        t.client(&[GrantType::ClientCredentials, GrantType::Password, GrantType::RefreshToken], "api:read").await;
    t.user("alice", "alice password").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/authlib_client.py");
    let (base, id, secret) = (t.base.clone(), client.id.clone(), client.secret.clone());
    // The script blocks; the server runs on the other worker.
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3").arg(script).args([&base, &id, &secret, "alice", "alice password"]).output().unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "authlib interop failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("authlib interop: ok"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 with authlib and requests; .ci/run installs them and runs it"]
async fn authlib_drives_the_code_flow_with_pkce_and_logout() {
    let has_authlib =
        Command::new("python3").args(["-c", "import authlib, requests"]).status().is_ok_and(|s| s.success());
    assert!(has_authlib, "python3 with authlib and requests is required (.ci/run installs them)");
    let t = TestApp::spawn().await;
    t.user("alice", "alice password").await;
    let (callback, signed_out) = ("https://rp.example.com/callback", "https://rp.example.com/signed-out");
    let rp = t.code_flow_client("Authlib web app", ClientKind::Confidential, &[callback], &[signed_out]).await;
    let app = t.code_flow_client("Authlib native app", ClientKind::Public, &[callback], &[signed_out]).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/authlib_code_flow.py");
    let args =
        [&t.base, callback, signed_out, "alice", "alice password", &rp.id, &rp.secret, &app.id].map(str::to_owned);
    let out = tokio::task::spawn_blocking(move || Command::new("python3").arg(script).args(args).output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "authlib code flow failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("authlib code flow: ok"), "{stdout}");
}
