//! What the ActivityPub collections of a local account list: its followers,
//! the accounts it follows, and the public replies to a status. Paged by
//! the Snowflake ids of the rows (follows, statuses), newest first.

use sqlx::Row;

use super::sql::{Page, Sql};
use super::statuses::{COLUMNS, DbStatus};
use super::{Store, StoreError};

/// One account in a followers or following collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbMember {
    /// The follow row's id (the page cursor).
    pub follow_id: i64,
    /// The actor URI of a remote account; None for a local one.
    pub uri: Option<String>,
    /// The username (to derive a local account's URI).
    pub username: String,
}

impl Store {
    /// A page of the accounts following `account_id` (`followers = true`) or
    /// followed by it, by follow id.
    pub async fn follow_members(
        &self,
        account_id: i64,
        followers: bool,
        page: Page,
    ) -> Result<Vec<DbMember>, StoreError> {
        let (other, this) = if followers {
            ("account_id", "target_account_id")
        } else {
            ("target_account_id", "account_id")
        };
        let mut sql = Sql::new(&format!(
            "SELECT f.id, a.uri, a.username FROM follows f JOIN accounts a ON a.id = f.{other} \
             WHERE f.{this} = "
        ));
        sql.bind(account_id);
        page.apply(&mut sql, "f.id");
        let rows = sql.query().fetch_all(&self.read).await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(DbMember {
                    follow_id: r.try_get(0)?,
                    uri: r.try_get(1)?,
                    username: r.try_get(2)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if page.reverses() {
            out.reverse();
        }
        Ok(out)
    }

    /// A page of the public and unlisted replies to a status, by id.
    pub async fn public_replies(
        &self,
        status_id: i64,
        page: Page,
    ) -> Result<Vec<DbStatus>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM statuses s WHERE s.in_reply_to_id = "
        ));
        sql.bind(status_id).push(
            " AND s.deleted_at IS NULL AND s.reblog_of_id IS NULL \
             AND s.visibility IN ('public', 'unlisted')",
        );
        page.apply(&mut sql, "s.id");
        self.fetch_statuses(sql, page).await
    }
}
