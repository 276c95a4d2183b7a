//! The instance actor's key pair: one row, made on first start.

use sqlx::Row;

use super::{Store, StoreError, now_ms};

/// The instance actor's keys, as PEM.
#[derive(Clone)]
pub struct DbInstanceKey {
    /// SubjectPublicKeyInfo PEM.
    pub public_key_pem: String,
    /// PKCS#8 PEM.
    pub private_key_pem: String,
}

impl Store {
    /// Stores this instance key unless one exists, and returns the stored one:
    /// when two processes race on first start, both end up with the winner's.
    pub async fn insert_instance_key_if_absent(
        &self,
        public_key_pem: &str,
        private_key_pem: &str,
    ) -> Result<DbInstanceKey, StoreError> {
        sqlx::query(
            "INSERT INTO instance_keys (id, public_key_pem, private_key_pem, created_at) \
             VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(public_key_pem)
        .bind(private_key_pem)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        // Read back through the writer: it has certainly seen its own commit.
        let row =
            sqlx::query("SELECT public_key_pem, private_key_pem FROM instance_keys WHERE id = 1")
                .fetch_one(&self.write)
                .await?;
        Ok(DbInstanceKey {
            public_key_pem: row.try_get(0)?,
            private_key_pem: row.try_get(1)?,
        })
    }

    /// The stored instance key, if there is one yet.
    pub async fn instance_key(&self) -> Result<Option<DbInstanceKey>, StoreError> {
        let row =
            sqlx::query("SELECT public_key_pem, private_key_pem FROM instance_keys WHERE id = 1")
                .fetch_optional(&self.read)
                .await?;
        row.map(|row| {
            Ok(DbInstanceKey {
                public_key_pem: row.try_get(0)?,
                private_key_pem: row.try_get(1)?,
            })
        })
        .transpose()
    }
}
