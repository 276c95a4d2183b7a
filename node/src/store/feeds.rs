//! Favourites, bookmarks, pins, notifications and the timelines built from
//! them.

use std::collections::{HashMap, HashSet};

use sqlx::{AssertSqlSafe, Row};

use super::social::{ViewerContext, big_followed_sql, hidden_accounts_sql};
use super::sql::{Page, Sql};
use super::statuses::{COLUMNS, DbStatus, HEADS, ViewerFlags, push_visibilities};
use super::{Store, StoreError, now_ms};

/// See [`Store::home_page`].
#[derive(Debug, Default)]
pub struct HomePage {
    /// The page, newest first.
    pub statuses: Vec<DbStatus>,
    /// The viewer's flags on them (absent: none set).
    pub flags: HashMap<i64, ViewerFlags>,
    /// The statuses whose flags `flags` answers for.
    pub flagged: HashSet<i64>,
    /// The viewer's context.
    pub context: ViewerContext,
    /// Set when the access token the read was asked to confirm is revoked
    /// or gone (the page must then not be served).
    pub token_refused: bool,
}

/// A per-account marker on a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// `favourites`.
    Favourite,
    /// `bookmarks`.
    Bookmark,
    /// `status_pins`.
    Pin,
}

impl Mark {
    fn table(self) -> &'static str {
        match self {
            Mark::Favourite => "favourites",
            Mark::Bookmark => "bookmarks",
            Mark::Pin => "status_pins",
        }
    }
}

/// A notification row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbNotification {
    /// Snowflake id.
    pub id: i64,
    /// Who is notified.
    pub account_id: i64,
    /// Who caused it.
    pub from_account_id: i64,
    /// Mastodon type name (`mention`, `favourite`, …).
    pub kind: String,
    /// The status concerned.
    pub status_id: Option<i64>,
    /// When, ms.
    pub created_at: i64,
}

impl Store {
    /// Recomputes a status's favourite count after a favourite came or went.
    async fn recount_favourites(&self, status_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE statuses SET favourites_count = \
             (SELECT count(*) FROM favourites WHERE status_id = $1) WHERE id = $1",
        )
        .bind(status_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Marks a status (idempotent). Returns whether it is new.
    pub async fn mark(
        &self,
        mark: Mark,
        id: i64,
        account_id: i64,
        status_id: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO {} (id, account_id, status_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            mark.table()
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .bind(status_id)
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        if mark == Mark::Favourite && done.rows_affected() > 0 {
            self.recount_favourites(status_id).await?;
        }
        Ok(done.rows_affected() > 0)
    }

    /// Unmarks a status. Returns whether it was marked.
    pub async fn unmark(
        &self,
        mark: Mark,
        account_id: i64,
        status_id: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "DELETE FROM {} WHERE account_id = $1 AND status_id = $2",
            mark.table()
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(status_id)
            .execute(&self.write)
            .await?;
        if mark == Mark::Favourite && done.rows_affected() > 0 {
            self.recount_favourites(status_id).await?;
        }
        Ok(done.rows_affected() > 0)
    }

    /// The statuses an account marked, newest mark first, paged by mark id.
    /// Returns (mark id, status).
    pub async fn marked_statuses(
        &self,
        mark: Mark,
        account_id: i64,
        page: Page,
    ) -> Result<Vec<(i64, DbStatus)>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT m.id AS mark_id, {COLUMNS} FROM {} m JOIN statuses s ON s.id = m.status_id \
             WHERE s.deleted_at IS NULL AND m.account_id = ",
            mark.table()
        ));
        sql.bind(account_id);
        page.apply(&mut sql, "m.id");
        let rows = sql.query().fetch_all(&self.read).await?;
        let mut out = Vec::new();
        for row in &rows {
            let mark_id: i64 = row.try_get("mark_id")?;
            let status = self.statuses(&[row.try_get("id")?]).await?.pop();
            if let Some(s) = status {
                out.push((mark_id, s));
            }
        }
        if page.reverses() {
            out.reverse();
        }
        Ok(out)
    }

    /// Accounts that marked a status (favourited_by), paged by mark id.
    pub async fn marking_accounts(
        &self,
        mark: Mark,
        status_id: i64,
        page: Page,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT m.id, m.account_id FROM {} m WHERE m.status_id = ",
            mark.table()
        ));
        sql.bind(status_id);
        page.apply(&mut sql, "m.id");
        self.fetch_pairs(sql, page).await
    }

    /// Accounts that boosted a status, paged by the boost's id.
    pub async fn reblogging_accounts(
        &self,
        status_id: i64,
        page: Page,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut sql = Sql::new(
            "SELECT s.id, s.account_id FROM statuses s WHERE s.deleted_at IS NULL AND s.reblog_of_id = ",
        );
        sql.bind(status_id);
        page.apply(&mut sql, "s.id");
        self.fetch_pairs(sql, page).await
    }

    /// Fans a status out to the home feeds of the author's local followers
    /// (`followers`) and of the given local accounts, in one statement each.
    /// Returns how many feed rows were added. Idempotent.
    pub async fn fan_out(
        &self,
        status_id: i64,
        author_id: i64,
        followers: bool,
        boost: bool,
        extra: &[i64],
    ) -> Result<u64, StoreError> {
        let mut added = 0;
        if followers {
            added += self
                .fan_out_to_followers(status_id, author_id, boost)
                .await?;
        }
        for account in extra {
            added += sqlx::query(
                "INSERT INTO home_feed (account_id, status_id) SELECT id, $1 FROM accounts \
                 WHERE id = $2 AND domain IS NULL ON CONFLICT DO NOTHING",
            )
            .bind(status_id)
            .bind(account)
            .execute(&self.write)
            .await?
            .rows_affected();
        }
        Ok(added)
    }

    /// The followers' part of [`Store::fan_out`]: one plain `INSERT … SELECT`
    /// from `follows` (`follows_local_followers` covers it, so no `accounts`
    /// row is read).
    ///
    /// Plain, not `ON CONFLICT DO NOTHING`: on PostgreSQL that clause is a
    /// speculative insertion, with an extra index probe, a lock and a WAL
    /// record per row, and it doubled the statement's time (docs/PERFORMANCE.md,
    /// "Fan-out"). A row can only be there already if this job ran before
    /// (its rows committed, then the worker died before deleting the job) or
    /// runs twice at once; the statement is atomic, so its conflict added
    /// nothing, and the tolerant form then does the whole fan-out again.
    async fn fan_out_to_followers(
        &self,
        status_id: i64,
        author_id: i64,
        boost: bool,
    ) -> Result<u64, StoreError> {
        // Boosts skip followers who turned boosts off for the booster.
        let plain = format!(
            "INSERT INTO home_feed (account_id, status_id) \
             SELECT f.account_id, $1 FROM follows f \
             WHERE f.target_account_id = $2 AND f.local_follower{}",
            if boost { " AND f.show_reblogs" } else { "" }
        );
        let tolerant = format!("{plain} ON CONFLICT DO NOTHING");
        let first = sqlx::query(AssertSqlSafe(plain))
            .bind(status_id)
            .bind(author_id)
            .execute(&self.write)
            .await;
        match first {
            Ok(done) => Ok(done.rows_affected()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Ok(sqlx::query(AssertSqlSafe(tolerant))
                    .bind(status_id)
                    .bind(author_id)
                    .execute(&self.write)
                    .await?
                    .rows_affected())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A home timeline page.
    pub async fn home_timeline(
        &self,
        account_id: i64,
        page: Page,
    ) -> Result<Vec<DbStatus>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {HEADS} FROM home_feed h JOIN statuses s ON s.id = h.status_id \
             WHERE s.deleted_at IS NULL AND h.account_id = "
        ));
        sql.bind(account_id);
        page.apply(&mut sql, "h.status_id");
        self.fetch_statuses(sql, page).await
    }

    /// A home timeline page with everything the request needs about its
    /// viewer, in one statement: the fanned-out rows, the viewer's flags on
    /// them (range scans over the page's ids), and the viewer's context
    /// (hidden accounts, followed big accounts, whether filters exist), as
    /// uncorrelated subqueries the database evaluates once, not per row
    /// (per-row `EXISTS` probes cost PostgreSQL more than the page itself).
    /// The hottest endpoint thus costs one round trip, the token check
    /// included, and an empty page still answers for the context.
    ///
    /// `confirm_token`: an access token row to check in the same statement
    /// (still there, not revoked), for a token taken from memory
    /// ([`crate::http::auth::PendingAuth`]).
    pub async fn home_page(
        &self,
        viewer: i64,
        big_threshold: i64,
        page: Page,
        confirm_token: Option<i64>,
    ) -> Result<HomePage, StoreError> {
        let (agg, cast) = match self.backend() {
            super::Backend::Sqlite => ("group_concat", ""),
            super::Backend::Postgres => ("string_agg", "::text"),
        };
        let mut sql = Sql::new("");
        let v = sql.arg(viewer);
        // The page first (a materialised CTE); then, once each, the
        // viewer's favourites, boosts, bookmarks and pins within the page's
        // id range and the viewer's context, as lists the caller splits.
        sql.push(&format!(
            "WITH page AS MATERIALIZED (SELECT {HEADS} FROM home_feed h \
             JOIN statuses s ON s.id = h.status_id \
             WHERE s.deleted_at IS NULL AND h.account_id = {v}"
        ));
        page.apply(&mut sql, "h.status_id");
        let range = |column: &str| {
            format!(
                "{column} >= (SELECT min(id) FROM page) AND {column} <= (SELECT max(id) FROM page)"
            )
        };
        let token = match confirm_token {
            Some(id) => {
                let t = sql.arg(id);
                format!(
                    "(SELECT count(*) FROM oauth_tokens t WHERE t.id = {t} AND t.revoked_at IS NULL)"
                )
            }
            None => "1".to_owned(),
        };
        // One row, whatever the page holds: the page's heads as one list
        // (`id:version:author_version,…`; forty rows of the same context
        // columns cost PostgreSQL and sqlx's `Any` conversion more than the
        // page itself), then the flags, the context and the token check.
        sql.push(&format!(
            ") SELECT (SELECT {agg}(p.id{cast} || ':' || p.version{cast} || ':' || \
              coalesce(p.author_version, 0){cast}, ',') FROM page p) AS heads, \
             (SELECT {agg}(f.status_id{cast}, ',') FROM favourites f \
              WHERE f.account_id = {v} AND {fav}) AS favourited, \
             (SELECT {agg}(r.reblog_of_id{cast}, ',') FROM statuses r \
              WHERE r.account_id = {v} AND {reb} AND r.deleted_at IS NULL) AS reblogged, \
             (SELECT {agg}(b.status_id{cast}, ',') FROM bookmarks b \
              WHERE b.account_id = {v} AND {bm}) AS bookmarked, \
             (SELECT {agg}(pn.status_id{cast}, ',') FROM status_pins pn \
              WHERE pn.account_id = {v} AND {pin}) AS pinned, \
             (SELECT {agg}(u.x{cast}, ',') FROM ({hidden}) u) AS hidden, \
             (SELECT {agg}(b.id{cast}, ',') FROM ({big}) b) AS big, \
             (SELECT count(*) FROM filters fl WHERE fl.account_id = {v}) AS filters, \
             {token} AS token_live",
            fav = range("f.status_id"),
            reb = range("r.reblog_of_id"),
            bm = range("b.status_id"),
            pin = range("pn.status_id"),
            hidden = hidden_accounts_sql(&v),
            big = big_followed_sql(&v, big_threshold),
        ));
        let row = sql.query().fetch_one(&self.read).await?;
        if row.try_get::<i64, _>("token_live")? == 0 {
            return Ok(HomePage {
                token_refused: true,
                ..HomePage::default()
            });
        }
        let list = |column: &str| -> Result<String, sqlx::Error> {
            Ok(row
                .try_get::<Option<String>, _>(column)?
                .unwrap_or_default())
        };
        let ids = |column: &str| -> Result<Vec<i64>, sqlx::Error> {
            Ok(list(column)?
                .split(',')
                .filter_map(|id| id.trim().parse().ok())
                .collect())
        };
        let context = ViewerContext {
            hidden: ids("hidden")?.into_iter().collect(),
            big_followed: ids("big")?,
            has_filters: row.try_get::<i64, _>("filters")? > 0,
        };
        let mut heads = list("heads")?
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|head| {
                let mut parts = head.split(':').map(|n| n.trim().parse::<i64>());
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(Ok(id)), Some(Ok(version)), Some(Ok(author))) => {
                        Ok((id, version, author))
                    }
                    _ => Err(sqlx::Error::Decode(
                        format!("home page head {head:?}").into(),
                    )),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The list's order is the database's: put the page back in order.
        heads.sort_unstable_by_key(|h| h.0);
        if !page.reverses() {
            heads.reverse();
        }
        let on_page: HashSet<i64> = heads.iter().map(|h| h.0).collect();
        let mut flags: HashMap<i64, ViewerFlags> = HashMap::new();
        for (column, set) in [
            (
                "favourited",
                (|f: &mut ViewerFlags| f.favourited = true) as fn(&mut ViewerFlags),
            ),
            ("reblogged", |f| f.reblogged = true),
            ("bookmarked", |f| f.bookmarked = true),
            ("pinned", |f| f.pinned = true),
        ] {
            for id in ids(column)?.into_iter().filter(|id| on_page.contains(id)) {
                set(flags.entry(id).or_default());
            }
        }
        Ok(HomePage {
            flagged: on_page,
            statuses: self.resolve_heads(&heads, page).await?,
            flags,
            context,
            token_refused: false,
        })
    }

    /// The public timeline: public posts (and boosts excluded, as Mastodon),
    /// optionally only local or only remote.
    pub async fn public_timeline(
        &self,
        local: Option<bool>,
        page: Page,
    ) -> Result<Vec<DbStatus>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {HEADS} FROM statuses s WHERE s.deleted_at IS NULL AND s.reblog_of_id IS NULL"
        ));
        push_visibilities(&mut sql, &["public"]);
        if let Some(local) = local {
            sql.push(" AND s.local = ").bind(local);
        }
        page.apply(&mut sql, "s.id");
        self.fetch_statuses(sql, page).await
    }

    /// Public posts carrying a hashtag.
    pub async fn tag_timeline(
        &self,
        tag: &str,
        local: Option<bool>,
        page: Page,
    ) -> Result<Vec<DbStatus>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {HEADS} FROM statuses s JOIN status_tags st ON st.status_id = s.id \
             JOIN tags t ON t.id = st.tag_id WHERE s.deleted_at IS NULL AND s.reblog_of_id IS NULL \
             AND lower(t.name) = lower("
        ));
        sql.bind(tag).push(")");
        push_visibilities(&mut sql, &["public"]);
        if let Some(local) = local {
            sql.push(" AND s.local = ").bind(local);
        }
        page.apply(&mut sql, "s.id");
        self.fetch_statuses(sql, page).await
    }

    /// Records a notification.
    pub async fn notify(&self, n: &DbNotification) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO notifications (id, account_id, from_account_id, type, status_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(n.id)
        .bind(n.account_id)
        .bind(n.from_account_id)
        .bind(&n.kind)
        .bind(n.status_id)
        .bind(n.created_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Removes the notification of an undone action.
    pub async fn unnotify(
        &self,
        account_id: i64,
        from: i64,
        kind: &str,
        status_id: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM notifications WHERE account_id = $1 AND from_account_id = $2 AND type = $3 \
             AND (status_id = $4 OR ($4 IS NULL AND status_id IS NULL))",
        )
        .bind(account_id)
        .bind(from)
        .bind(kind)
        .bind(status_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A page of notifications, optionally restricted to or excluding types.
    pub async fn notifications(
        &self,
        account_id: i64,
        types: &[String],
        exclude: &[String],
        page: Page,
    ) -> Result<Vec<DbNotification>, StoreError> {
        let mut sql = Sql::new(
            "SELECT n.id, n.account_id, n.from_account_id, n.type, n.status_id, n.created_at \
             FROM notifications n WHERE n.account_id = ",
        );
        sql.bind(account_id);
        for (list, op) in [(types, "IN"), (exclude, "NOT IN")] {
            if !list.is_empty() {
                sql.push(&format!(" AND n.type {op} ("));
                for (i, t) in list.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.bind(t.as_str());
                }
                sql.push(")");
            }
        }
        page.apply(&mut sql, "n.id");
        let rows = sql.query().fetch_all(&self.read).await?;
        let mut out: Vec<DbNotification> = rows
            .iter()
            .map(|r| {
                Ok(DbNotification {
                    id: r.try_get(0)?,
                    account_id: r.try_get(1)?,
                    from_account_id: r.try_get(2)?,
                    kind: r.try_get(3)?,
                    status_id: r.try_get(4)?,
                    created_at: r.try_get(5)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        if page.reverses() {
            out.reverse();
        }
        Ok(out)
    }

    /// Deletes one notification (or all when `id` is None) of an account.
    pub async fn dismiss_notifications(
        &self,
        account_id: i64,
        id: Option<i64>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM notifications WHERE account_id = $1 AND ($2 IS NULL OR id = $2)",
        )
        .bind(account_id)
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }
}

impl Store {
    /// Removes `author`'s posts (and boosts) from `account`'s home feed.
    pub async fn unmerge_home(&self, account: i64, author: i64) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM home_feed WHERE account_id = $1 \
             AND status_id IN (SELECT id FROM statuses WHERE account_id = $2)",
        )
        .bind(account)
        .bind(author)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

/// How many entries each home feed keeps (Mastodon keeps 800 in Redis).
pub const HOME_FEED_CAP: i64 = 1000;

impl Store {
    /// Trims every home feed to its newest [`HOME_FEED_CAP`] entries, and
    /// removes the entries of deleted statuses (left by `delete_status`,
    /// which cannot find them without scanning every feed). Feeds are never
    /// dropped whole, however long their owner was away. Returns how many
    /// rows went.
    pub async fn trim_home_feeds(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM home_feed WHERE (account_id, status_id) IN (\
             SELECT account_id, status_id FROM (SELECT h.account_id, h.status_id, \
             s.deleted_at, row_number() OVER \
             (PARTITION BY h.account_id ORDER BY h.status_id DESC) AS n FROM home_feed h \
             LEFT JOIN statuses s ON s.id = h.status_id) ranked \
             WHERE n > $1 OR deleted_at IS NOT NULL)",
        )
        .bind(HOME_FEED_CAP)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }
}

impl Store {
    /// A page of posts and boosts by these (followed) accounts, as they would
    /// appear in a follower's home feed: no direct messages.
    pub async fn big_account_statuses(
        &self,
        authors: &[i64],
        page: Page,
    ) -> Result<Vec<DbStatus>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {HEADS} FROM statuses s WHERE s.deleted_at IS NULL AND s.account_id IN ("
        ));
        sql.bind_list(authors).push(")");
        push_visibilities(&mut sql, &["public", "unlisted", "private"]);
        page.apply(&mut sql, "s.id");
        self.fetch_statuses(sql, page).await
    }
}
