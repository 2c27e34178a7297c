//! Embedded schema migrations, one folder per backend with identical names.
use sqlx::AnyPool;

use super::StoreError;

/// One migration file.
pub struct Migration {
    /// Version, the number the file name starts with.
    pub version: i64,
    /// File name.
    pub name: &'static str,
    /// Its SQL.
    pub sql: &'static str,
}

macro_rules! migrations {
    ($backend:literal: $($version:literal => $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../migrations/", $backend, "/", $name)),
        }),*]
    };
}

/// The SQLite migrations.
pub const SQLITE: &[Migration] = migrations!("sqlite": 1 => "0001_init.sql", 2 => "0002_revocation_log.sql", 3 => "0003_token_settings.sql", 4 => "0004_browser_sign_in.sql", 5 => "0005_logout_deliveries.sql", 6 => "0006_sessions_by_absolute_expiry.sql", 7 => "0007_refresh_tokens_by_expiry.sql");

/// The PostgreSQL migrations: the same files, PostgreSQL types.
pub const POSTGRES: &[Migration] = migrations!("postgres": 1 => "0001_init.sql", 2 => "0002_revocation_log.sql", 3 => "0003_token_settings.sql", 4 => "0004_browser_sign_in.sql", 5 => "0005_logout_deliveries.sql", 6 => "0006_sessions_by_absolute_expiry.sql", 7 => "0007_refresh_tokens_by_expiry.sql");

/// Applies every migration not yet applied. Each runs in its own
/// transaction that first claims its version row: a second process starting
/// at the same moment waits on that row and then skips the migration.
pub async fn run(pool: &AnyPool, migrations: &[Migration]) -> Result<(), StoreError> {
    // In a transaction of its own, like every write (see `SqlStore::write`).
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL
        )",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    for m in migrations {
        let mut tx = pool.begin().await?;
        let claimed =
            sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(m.version)
                .bind(m.name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if claimed == 1 {
            sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
            tx.commit().await?;
            tracing::info!(migration = m.name, "applied migration");
        } else {
            // Roll back now: a dropped transaction would keep SQLite's write
            // lock until its connection is used again.
            tx.rollback().await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(backend: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn both_backends_have_the_same_migrations_file_for_file() {
        let (sqlite, postgres) = (files("sqlite"), files("postgres"));
        assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres differ");
        let listed = |m: &[Migration]| m.iter().map(|m| m.name.to_owned()).collect::<Vec<_>>();
        assert_eq!(listed(SQLITE), sqlite, "every SQLite file is embedded, in order");
        assert_eq!(listed(POSTGRES), postgres, "every PostgreSQL file is embedded, in order");
        for (i, m) in SQLITE.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)), "{} is numbered {}", m.name, m.version);
        }
    }
}
