//! What `/api/v2/search` looks up in the database: accounts by name prefix,
//! hashtags by name prefix, and accounts and statuses by URL.
//!
//! Prefix matches compare `lower()` of both sides inside SQL, so the column
//! and the pattern are folded by the same function on either engine.

use sqlx::Row;

use super::sql::Sql;
use super::statuses::{COLUMNS, DbStatus, status_from_row};
use super::{Store, StoreError};

/// An account search.
#[derive(Debug, Clone, Default)]
pub struct AccountQuery<'a> {
    /// Username or display-name prefix (the part before any `@`).
    pub term: &'a str,
    /// Which accounts: `None` any, `Some(None)` local only, `Some(Some(d))`
    /// those on a domain starting with `d`.
    pub domain: Option<Option<&'a str>>,
    /// The searcher: accounts blocking them or blocked by them are left out.
    pub viewer: Option<i64>,
    /// Only accounts the viewer follows.
    pub following: bool,
    /// Page size.
    pub limit: i64,
    /// Results to skip.
    pub offset: i64,
}

/// A hashtag found by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbTag {
    /// Tag id.
    pub id: i64,
    /// Name as first written, without `#`.
    pub name: String,
}

/// `text%` for LIKE, with LIKE's own characters escaped (`ESCAPE '\'`).
fn prefix_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Store {
    /// Account ids matching `q`: an exact username first, then by followers.
    pub async fn search_accounts(&self, q: &AccountQuery<'_>) -> Result<Vec<i64>, StoreError> {
        let mut sql = Sql::new("SELECT a.id FROM accounts a WHERE a.deleted_at IS NULL");
        let pattern = sql.arg(prefix_pattern(q.term));
        sql.push(&format!(
            " AND (lower(a.username) LIKE lower({pattern}) ESCAPE '\\' \
             OR lower(a.display_name) LIKE lower({pattern}) ESCAPE '\\')"
        ));
        match q.domain {
            None => {}
            Some(None) => {
                sql.push(" AND a.domain IS NULL");
            }
            Some(Some(domain)) => {
                sql.push(" AND lower(a.domain) LIKE lower(")
                    .bind(prefix_pattern(domain))
                    .push(") ESCAPE '\\'");
            }
        }
        if let Some(viewer) = q.viewer {
            let v = sql.arg(viewer);
            sql.push(&format!(
                " AND a.id NOT IN (SELECT target_account_id FROM blocks WHERE account_id = {v}) \
                 AND a.id NOT IN (SELECT account_id FROM blocks WHERE target_account_id = {v})"
            ));
            if q.following {
                sql.push(&format!(
                    " AND a.id IN (SELECT target_account_id FROM follows WHERE account_id = {v})"
                ));
            }
        }
        sql.push(" ORDER BY CASE WHEN lower(a.username) = lower(")
            .bind(q.term)
            .push(") THEN 0 ELSE 1 END, a.followers_count DESC, a.id LIMIT ")
            .bind(q.limit)
            .push(" OFFSET ")
            .bind(q.offset);
        let rows = sql.query().fetch_all(&self.read).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Hashtags whose name starts with `term`: the exact name first, then
    /// shorter names first.
    pub async fn search_tags(
        &self,
        term: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<DbTag>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name FROM tags WHERE lower(name) LIKE lower($1) ESCAPE '\\' \
             ORDER BY CASE WHEN lower(name) = lower($2) THEN 0 ELSE 1 END, length(name), name \
             LIMIT $3 OFFSET $4",
        )
        .bind(prefix_pattern(term))
        .bind(term)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DbTag {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                })
            })
            .collect()
    }

    /// A remote account by its actor id or its profile URL.
    pub async fn remote_account_by_url(&self, url: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM accounts WHERE (uri = $1 OR url = $1) AND domain IS NOT NULL \
             AND deleted_at IS NULL ORDER BY CASE WHEN uri = $1 THEN 0 ELSE 1 END LIMIT 1",
        )
        .bind(url)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// A remote status by its ActivityPub id or its web URL.
    pub async fn remote_status_by_url(&self, url: &str) -> Result<Option<DbStatus>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM statuses s WHERE (s.uri = $1 OR s.url = $1) \
             AND s.local = $2 AND s.reblog_of_id IS NULL AND s.deleted_at IS NULL \
             ORDER BY CASE WHEN s.uri = $1 THEN 0 ELSE 1 END LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(url)
            .bind(false)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(status_from_row).transpose()?)
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_pattern;

    #[test]
    fn like_characters_match_only_themselves() {
        assert_eq!(prefix_pattern("bob"), "bob%");
        assert_eq!(prefix_pattern("50%_a\\b"), "50\\%\\_a\\\\b%");
    }
}
