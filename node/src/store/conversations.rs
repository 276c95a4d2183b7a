//! Conversations: threads of direct statuses, and each local participant's
//! view of one (Mastodon's `conversations` and `account_conversations`).
//!
//! A direct status is placed in its parent's conversation, or starts one.
//! Every local participant has one row per conversation holding the other
//! participants, the newest status of the thread they may see, and whether
//! they have read it. Deleting a status moves `last_status_id` back to the
//! newest remaining one, or drops rows left with nothing to show.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::sql::{Page, Sql};
use super::{Store, StoreError, flag};

/// One account's view of a conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbAccountConversation {
    /// Snowflake id: the `id` clients see.
    pub id: i64,
    /// The local account whose view this is.
    pub account_id: i64,
    /// The thread.
    pub conversation_id: i64,
    /// The other participants, ascending.
    pub participants: Vec<i64>,
    /// Newest status of the thread this account may see.
    pub last_status_id: Option<i64>,
    /// Whether something arrived since the account last read it.
    pub unread: bool,
}

const COLUMNS: &str =
    "id, account_id, conversation_id, participant_account_ids, last_status_id, unread";

fn from_row(row: &AnyRow) -> Result<DbAccountConversation, sqlx::Error> {
    let participants: String = row.try_get("participant_account_ids")?;
    Ok(DbAccountConversation {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        conversation_id: row.try_get("conversation_id")?,
        participants: parse_ids(&participants),
        last_status_id: row.try_get("last_status_id")?,
        unread: flag(row, "unread")?,
    })
}

fn parse_ids(text: &str) -> Vec<i64> {
    text.split(',').filter_map(|s| s.parse().ok()).collect()
}

fn format_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// A direct status arriving in a conversation, for one local participant.
#[derive(Debug, Clone)]
pub struct ConversationUpdate {
    /// Id for the row if it has to be created.
    pub new_id: i64,
    /// The participant.
    pub account_id: i64,
    /// The thread.
    pub conversation_id: i64,
    /// The status's other participants (merged into the row's).
    pub participants: Vec<i64>,
    /// The status.
    pub status_id: i64,
    /// Whether it is unread for this participant (false for its author).
    pub unread: bool,
}

impl Store {
    /// The conversation a status was placed in, if any.
    pub async fn conversation_of(&self, status_id: i64) -> Result<Option<i64>, StoreError> {
        let row =
            sqlx::query("SELECT conversation_id FROM conversation_statuses WHERE status_id = $1")
                .bind(status_id)
                .fetch_optional(&self.write)
                .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Places each of `status_ids` in `conversation` (created as `new_id`
    /// when None) unless already placed. Returns the conversation of the
    /// first status: a concurrent placement may have won.
    pub async fn place_in_conversation(
        &self,
        status_ids: &[i64],
        conversation: Option<i64>,
        new_id: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write.begin().await?;
        let conversation = match conversation {
            Some(id) => id,
            None => {
                sqlx::query("INSERT INTO conversations (id, created_at) VALUES ($1, $2)")
                    .bind(new_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                new_id
            }
        };
        for id in status_ids {
            sqlx::query(
                "INSERT INTO conversation_statuses (status_id, conversation_id) VALUES ($1, $2) \
                 ON CONFLICT (status_id) DO NOTHING",
            )
            .bind(id)
            .bind(conversation)
            .execute(&mut *tx)
            .await?;
        }
        let first = status_ids.first().copied().unwrap_or_default();
        let row =
            sqlx::query("SELECT conversation_id FROM conversation_statuses WHERE status_id = $1")
                .bind(first)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => conversation,
        })
    }

    /// Adds a status to one participant's row (creating it): merges the
    /// participants, and when the status is the newest there, makes it
    /// `last_status_id` and sets `unread`. Idempotent, so a retried job
    /// never marks a read conversation unread again. Returns the row id.
    pub async fn add_to_conversation(&self, u: &ConversationUpdate) -> Result<i64, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM account_conversations WHERE account_id = "
        ));
        sql.bind(u.account_id)
            .push(" AND conversation_id = ")
            .bind(u.conversation_id);
        let existing = sql
            .query()
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| from_row(&r))
            .transpose()?;
        let id = match existing {
            None => {
                sqlx::query(
                    "INSERT INTO account_conversations (id, account_id, conversation_id, \
                     participant_account_ids, last_status_id, unread) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(u.new_id)
                .bind(u.account_id)
                .bind(u.conversation_id)
                .bind(format_ids(&sorted(&u.participants)))
                .bind(u.status_id)
                .bind(u.unread)
                .execute(&mut *tx)
                .await?;
                u.new_id
            }
            Some(row) => {
                let mut all = row.participants.clone();
                all.extend(&u.participants);
                let newest = row.last_status_id.is_none_or(|last| u.status_id > last);
                sqlx::query(
                    "UPDATE account_conversations SET participant_account_ids = $1, \
                     last_status_id = $2, unread = $3 WHERE id = $4",
                )
                .bind(format_ids(&sorted(&all)))
                .bind(if newest {
                    Some(u.status_id)
                } else {
                    row.last_status_id
                })
                .bind(if newest { u.unread } else { row.unread })
                .bind(row.id)
                .execute(&mut *tx)
                .await?;
                row.id
            }
        };
        tx.commit().await?;
        Ok(id)
    }

    /// A page of an account's conversations, newest activity first; the
    /// page is over `last_status_id`, as Mastodon pages them.
    pub async fn account_conversations(
        &self,
        account_id: i64,
        page: Page,
    ) -> Result<Vec<DbAccountConversation>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM account_conversations \
             WHERE last_status_id IS NOT NULL AND account_id = "
        ));
        sql.bind(account_id);
        page.apply(&mut sql, "last_status_id");
        let rows = sql.query().fetch_all(&self.read).await?;
        let mut out = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        if page.reverses() {
            out.reverse();
        }
        Ok(out)
    }

    /// One of an account's conversations by its id.
    pub async fn account_conversation(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<DbAccountConversation>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM account_conversations WHERE id = "
        ));
        sql.bind(id).push(" AND account_id = ").bind(account_id);
        let row = sql.query().fetch_optional(&self.write).await?;
        Ok(row.map(|r| from_row(&r)).transpose()?)
    }

    /// Marks one of an account's conversations read. Returns whether it exists.
    pub async fn mark_conversation_read(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE account_conversations SET unread = $1 WHERE id = $2 AND account_id = $3",
        )
        .bind(false)
        .bind(id)
        .bind(account_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes one of an account's conversations (for that account only).
    /// Returns whether it existed.
    pub async fn remove_conversation(&self, account_id: i64, id: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM account_conversations WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account_id)
                .execute(&self.write)
                .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// `UPDATE` moving rows whose newest status is in the set `$tail` selects
/// back to the newest remaining status each participant may see (authored
/// or mentioned in); NULL when none is left.
macro_rules! repoint {
    ($tail:literal) => {
        concat!(
            "UPDATE account_conversations SET last_status_id = (",
            "SELECT max(s.id) FROM conversation_statuses cs JOIN statuses s ON s.id = cs.status_id ",
            "WHERE cs.conversation_id = account_conversations.conversation_id ",
            "AND s.deleted_at IS NULL ",
            "AND (s.account_id = account_conversations.account_id OR EXISTS (",
            "SELECT 1 FROM mentions m WHERE m.status_id = s.id ",
            "AND m.account_id = account_conversations.account_id))) ",
            "WHERE last_status_id IN ",
            $tail
        )
    };
}

/// Rows left with nothing to show go.
const DROP_EMPTY: &str = "DELETE FROM account_conversations WHERE last_status_id IS NULL";

/// After a status is soft-deleted (in the deleting transaction): rows whose
/// newest status it was show the one before, or go when none is left.
pub(crate) async fn forget_status(
    conn: &mut sqlx::AnyConnection,
    status_id: i64,
) -> Result<(), StoreError> {
    sqlx::query(repoint!("($1)"))
        .bind(status_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(DROP_EMPTY).execute(&mut *conn).await?;
    Ok(())
}

/// After an account's statuses are soft-deleted (account removal, in its
/// transaction): its own conversations go, and others' rows whose newest
/// status was one of its show the one before.
pub(crate) async fn forget_account(
    conn: &mut sqlx::AnyConnection,
    account_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM account_conversations WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(repoint!("(SELECT id FROM statuses WHERE account_id = $1)"))
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(DROP_EMPTY).execute(&mut *conn).await?;
    Ok(())
}

fn sorted(ids: &[i64]) -> Vec<i64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participant_lists_round_trip() {
        assert_eq!(parse_ids(&format_ids(&sorted(&[3, 1, 3]))), vec![1, 3]);
        assert_eq!(parse_ids(""), Vec::<i64>::new());
    }
}
