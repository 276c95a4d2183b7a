//! Content filters (API v2) and their keywords.
//!
//! A filter's contexts are stored as one comma-separated column
//! (`home,public`): they are read with the filter and never queried alone.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::sql::Sql;
use super::{Store, StoreError, flag};

/// A filter row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbFilter {
    /// Snowflake id.
    pub id: i64,
    /// The owner.
    pub account_id: i64,
    /// Name shown in warnings.
    pub title: String,
    /// Contexts (`home`, `notifications`, `public`, `thread`, `account`).
    pub context: Vec<String>,
    /// `warn`, `hide` or `blur`.
    pub action: String,
    /// When it stops applying, ms; None: never.
    pub expires_at: Option<i64>,
    /// Creation time, ms.
    pub created_at: i64,
}

/// A keyword of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbFilterKeyword {
    /// Snowflake id.
    pub id: i64,
    /// The filter it belongs to.
    pub filter_id: i64,
    /// The phrase to match.
    pub keyword: String,
    /// Whether only whole words match.
    pub whole_word: bool,
}

/// Keyword changes to a filter, applied in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeywordChanges {
    /// New keywords.
    pub add: Vec<DbFilterKeyword>,
    /// Existing keywords with new text or option.
    pub update: Vec<DbFilterKeyword>,
    /// Ids of keywords to delete.
    pub delete: Vec<i64>,
}

const FILTER_COLUMNS: &str =
    "id, account_id, title, context, filter_action, expires_at, created_at";

fn filter_from_row(row: &AnyRow) -> Result<DbFilter, sqlx::Error> {
    let context: String = row.try_get("context")?;
    Ok(DbFilter {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        title: row.try_get("title")?,
        context: context
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        action: row.try_get("filter_action")?,
        expires_at: row.try_get("expires_at")?,
        created_at: row.try_get("created_at")?,
    })
}

fn keyword_from_row(row: &AnyRow) -> Result<DbFilterKeyword, sqlx::Error> {
    Ok(DbFilterKeyword {
        id: row.try_get("id")?,
        filter_id: row.try_get("filter_id")?,
        keyword: row.try_get("keyword")?,
        whole_word: flag(row, "whole_word")?,
    })
}

impl Store {
    /// An account's filters, oldest first; with `active_at`, only those not
    /// expired at that time (ms).
    pub async fn filters_of(
        &self,
        owner: i64,
        active_at: Option<i64>,
    ) -> Result<Vec<DbFilter>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {FILTER_COLUMNS} FROM filters WHERE account_id = "
        ));
        sql.bind(owner);
        if let Some(now) = active_at {
            sql.push(" AND (expires_at IS NULL OR expires_at > ")
                .bind(now)
                .push(")");
        }
        sql.push(" ORDER BY id");
        let rows = sql.query().fetch_all(&self.read).await?;
        Ok(rows.iter().map(filter_from_row).collect::<Result<_, _>>()?)
    }

    /// One filter, only if `owner` owns it.
    pub async fn filter(&self, owner: i64, id: i64) -> Result<Option<DbFilter>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FILTER_COLUMNS} FROM filters WHERE id = $1 AND account_id = $2"
        )))
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.as_ref().map(filter_from_row).transpose()?)
    }

    /// The keywords of these filters, per filter, oldest first.
    pub async fn filter_keywords(
        &self,
        filter_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<DbFilterKeyword>>, StoreError> {
        let mut out: HashMap<i64, Vec<DbFilterKeyword>> = HashMap::new();
        if filter_ids.is_empty() {
            return Ok(out);
        }
        let mut sql = Sql::new(
            "SELECT id, filter_id, keyword, whole_word FROM filter_keywords WHERE filter_id IN (",
        );
        sql.bind_list(filter_ids).push(") ORDER BY id");
        for row in sql.query().fetch_all(&self.read).await? {
            let k = keyword_from_row(&row)?;
            out.entry(k.filter_id).or_default().push(k);
        }
        Ok(out)
    }

    /// One keyword, only if `owner` owns its filter.
    pub async fn filter_keyword(
        &self,
        owner: i64,
        id: i64,
    ) -> Result<Option<DbFilterKeyword>, StoreError> {
        let row = sqlx::query(
            "SELECT k.id, k.filter_id, k.keyword, k.whole_word FROM filter_keywords k \
             JOIN filters f ON f.id = k.filter_id WHERE k.id = $1 AND f.account_id = $2",
        )
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.as_ref().map(keyword_from_row).transpose()?)
    }

    /// Stores a new filter with its keywords.
    pub async fn insert_filter(
        &self,
        filter: &DbFilter,
        keywords: &[DbFilterKeyword],
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO filters (id, account_id, title, context, filter_action, expires_at, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(filter.id)
        .bind(filter.account_id)
        .bind(&filter.title)
        .bind(filter.context.join(","))
        .bind(&filter.action)
        .bind(filter.expires_at)
        .bind(filter.created_at)
        .execute(&mut *tx)
        .await?;
        for k in keywords {
            insert_keyword(&mut tx, k).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Saves a filter's fields and keyword changes atomically. Keyword
    /// updates and deletions only touch keywords of this filter. Returns
    /// whether the owner's filter exists.
    pub async fn update_filter(
        &self,
        filter: &DbFilter,
        changes: &KeywordChanges,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE filters SET title = $1, context = $2, filter_action = $3, expires_at = $4 \
             WHERE id = $5 AND account_id = $6",
        )
        .bind(&filter.title)
        .bind(filter.context.join(","))
        .bind(&filter.action)
        .bind(filter.expires_at)
        .bind(filter.id)
        .bind(filter.account_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        for id in &changes.delete {
            sqlx::query("DELETE FROM filter_keywords WHERE id = $1 AND filter_id = $2")
                .bind(id)
                .bind(filter.id)
                .execute(&mut *tx)
                .await?;
        }
        for k in &changes.update {
            sqlx::query(
                "UPDATE filter_keywords SET keyword = $1, whole_word = $2 \
                 WHERE id = $3 AND filter_id = $4",
            )
            .bind(&k.keyword)
            .bind(k.whole_word)
            .bind(k.id)
            .bind(filter.id)
            .execute(&mut *tx)
            .await?;
        }
        for k in &changes.add {
            insert_keyword(&mut tx, k).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes the owner's filter and its keywords. Returns whether it existed.
    pub async fn delete_filter(&self, owner: i64, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "DELETE FROM filter_keywords WHERE filter_id IN \
             (SELECT id FROM filters WHERE id = $1 AND account_id = $2)",
        )
        .bind(id)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM filters WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Adds one keyword to a filter.
    pub async fn insert_filter_keyword(&self, k: &DbFilterKeyword) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        insert_keyword(&mut tx, k).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Saves one keyword's text and option.
    pub async fn update_filter_keyword(&self, k: &DbFilterKeyword) -> Result<(), StoreError> {
        sqlx::query("UPDATE filter_keywords SET keyword = $1, whole_word = $2 WHERE id = $3")
            .bind(&k.keyword)
            .bind(k.whole_word)
            .bind(k.id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Deletes one keyword.
    pub async fn delete_filter_keyword(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM filter_keywords WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

async fn insert_keyword(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    k: &DbFilterKeyword,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO filter_keywords (id, filter_id, keyword, whole_word) VALUES ($1, $2, $3, $4)",
    )
    .bind(k.id)
    .bind(k.filter_id)
    .bind(&k.keyword)
    .bind(k.whole_word)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
