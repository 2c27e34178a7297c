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
pub const SQLITE: &[Migration] = migrations!("sqlite": 1 => "0001_init.sql", 2 => "0002_revocation_log.sql");

/// The PostgreSQL migrations: the same files, PostgreSQL types.
pub const POSTGRES: &[Migration] = migrations!("postgres": 1 => "0001_init.sql", 2 => "0002_revocation_log.sql");

/// Applies every migration not yet applied. Each runs in its own
/// transaction that first claims its version row: a second process starting
/// at the same moment waits on that row and then skips the migration.
pub async fn run(pool: &AnyPool, migrations: &[Migration]) -> Result<(), StoreError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL
        )",
    )
    .execute(pool)
    .await?;
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
        }
    }
    Ok(())
}
