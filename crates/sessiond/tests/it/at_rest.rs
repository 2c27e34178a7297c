//! Data at rest in the embedded default: signing keys are opened only from
//! their sealed form, and the data directory and its files are readable by
//! their owner only. These tests look at (and write) the SQLite file
//! directly, so they always run on SQLite, whatever backend the rest of the
//! suite uses.
use std::path::Path;
use std::sync::Arc;

use sessiond::clock::SystemClock;
use sessiond::config::{Config, Settings};
use sessiond::tokens::generate_key;
use sessiond::App;
use sessiond_guard::SigningAlgorithm;
use sqlx::Connection;
use tempfile::TempDir;

/// Settings for the embedded default (SQLite and a generated master key)
/// in `dir`, with a cheap password hash.
fn sqlite_settings(dir: &Path) -> Settings {
    Settings {
        data_dir: Some(dir.to_path_buf()),
        password_memory_kib: Some(256),
        password_iterations: Some(1),
        ..Settings::default()
    }
}

async fn open(dir: &Path) -> Result<Arc<App>, sessiond::app::AppError> {
    App::open(Config::resolve(sqlite_settings(dir)).unwrap(), Arc::new(SystemClock)).await
}

async fn open_err(dir: &Path) -> String {
    match open(dir).await {
        Ok(_) => panic!("the application opened"),
        Err(e) => e.to_string(),
    }
}

async fn sqlite(dir: &Path) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", dir.join("sessiond.db").display())).await.unwrap()
}

/// Inserts a signing key row as a hand (or an attacker) with write access
/// to the database would: newest, not retired, so it would sign next.
async fn insert_key(dir: &Path, kid: &str, jwk: &str, private_key: &[u8]) {
    let mut conn = sqlite(dir).await;
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at, retired_at, publish_until)
         VALUES ($1, 'ES256', $2, $3, $4, NULL, NULL)",
    )
    .bind(kid)
    .bind(private_key)
    .bind(jwk)
    .bind(i64::MAX / 2)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_signing_key_stored_unsealed_stops_the_app_instead_of_signing() {
    let dir = TempDir::new().unwrap();
    drop(open(dir.path()).await.unwrap());
    drop(open(dir.path()).await.expect("reopening untouched data works"));

    // Plain PKCS#8 DER, as keys were once stored (first byte 0x30).
    let planted = generate_key(SigningAlgorithm::ES256).unwrap();
    assert_eq!(planted.private_der[0], 0x30);
    let jwk = serde_json::to_string(&planted.jwk).unwrap();
    insert_key(dir.path(), &planted.jwk.kid, &jwk, &planted.private_der).await;

    let err = open_err(dir.path()).await;
    assert!(err.contains("not sealed under the configured master key"), "{err}");
    assert!(err.contains(&planted.jwk.kid), "names the key: {err}");
}

#[tokio::test]
async fn a_sealed_key_copied_to_another_row_does_not_open() {
    let dir = TempDir::new().unwrap();
    let app = open(dir.path()).await.unwrap();
    let kid = app.keys().signing_key().kid().to_string();
    drop(app);

    let mut conn = sqlite(dir.path()).await;
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT private_key FROM signing_keys WHERE kid = $1")
        .bind(&kid)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert!(sealed.starts_with(b"SK1"), "stored sealed");

    // The sealed blob of one key under another kid: the kid is the AEAD's
    // associated data, so it no longer authenticates.
    let other = generate_key(SigningAlgorithm::ES256).unwrap();
    let jwk = serde_json::to_string(&other.jwk).unwrap();
    insert_key(dir.path(), &other.jwk.kid, &jwk, &sealed).await;

    let err = open_err(dir.path()).await;
    assert!(err.contains("not sealed under the configured master key"), "{err}");
    assert!(err.contains(&other.jwk.kid), "names the moved key: {err}");
}

/// The permission bits of a file, in octal as `ls` and `chmod` write them.
#[cfg(unix)]
fn mode(path: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("{:o}", meta.permissions().mode() & 0o777)
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_its_files_are_owner_only() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("data");
    assert!(!dir.exists());
    let app = open(&dir).await.unwrap();
    // A write, so SQLite has its write-ahead log and shared-memory index.
    sessiond::accounts::create_user(&app, "alice", &sessiond::secrets::Secret::new("alice password"), false)
        .await
        .unwrap();
    assert_eq!(mode(&dir), "700", "data directory");
    for name in ["sessiond.db", "sessiond.db-wal", "sessiond.db-shm", "master.key"] {
        assert_eq!(mode(&dir.join(name)), "600", "{name}");
    }
    drop(app);
}

#[cfg(unix)]
#[tokio::test]
async fn a_database_file_open_to_others_is_tightened_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    drop(open(dir.path()).await.unwrap());
    let db = dir.path().join("sessiond.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let app = open(dir.path()).await.unwrap();
    assert_eq!(mode(&db), "600");
    assert_eq!(app.store.signing_keys().await.unwrap().len(), 1, "same data, untouched");
}
