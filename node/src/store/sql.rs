//! A small dynamic-SQL builder that numbers placeholders `$1, $2, …` (sqlx's
//! own `QueryBuilder` writes `?` for the `Any` driver, which PostgreSQL
//! rejects), plus Mastodon-style id pagination.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};

/// A bound value.
#[derive(Debug, Clone)]
pub enum Arg {
    /// An integer (ids, times, counts).
    I64(i64),
    /// A nullable integer.
    OptI64(Option<i64>),
    /// Text.
    Text(String),
    /// A flag.
    Bool(bool),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// SQL text with its arguments.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    /// Starts with a fragment.
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    /// Appends raw SQL (never user input).
    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Sql {
        self.args.push(value.into());
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    /// Appends `$a, $b, …` for a list of ids (an empty list becomes `NULL`,
    /// so `IN (NULL)` matches nothing).
    pub fn bind_list(&mut self, ids: &[i64]) -> &mut Sql {
        if ids.is_empty() {
            return self.push("NULL");
        }
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(*id);
        }
        self
    }

    /// Registers an argument without writing it, returning its placeholder
    /// (`$n`) to write once or several times.
    pub fn arg(&mut self, value: impl Into<Arg>) -> String {
        self.args.push(value.into());
        format!("${}", self.args.len())
    }

    /// The query, ready to run.
    pub fn query(&self) -> Query<'static, Any, AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text.clone()));
        for arg in &self.args {
            q = match arg.clone() {
                Arg::I64(v) => q.bind(v),
                Arg::OptI64(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
            };
        }
        q
    }
}

/// Mastodon's pagination parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Page {
    /// Only items with an id below this.
    pub max_id: Option<i64>,
    /// Only items with an id above this (newest first).
    pub since_id: Option<i64>,
    /// Only items with an id above this, oldest first (then reversed back).
    pub min_id: Option<i64>,
    /// How many.
    pub limit: i64,
}

impl Page {
    /// Appends ` AND col < max AND col > since/min ORDER BY col … LIMIT n`.
    /// With `min_id` the rows come oldest first; callers use
    /// [`Page::reverses`] to put them back newest first.
    pub fn apply(&self, sql: &mut Sql, column: &str) {
        if let Some(max) = self.max_id {
            sql.push(&format!(" AND {column} < ")).bind(max);
        }
        if let Some(since) = self.since_id {
            sql.push(&format!(" AND {column} > ")).bind(since);
        }
        if let Some(min) = self.min_id {
            sql.push(&format!(" AND {column} > ")).bind(min);
        }
        let order = if self.min_id.is_some() { "ASC" } else { "DESC" };
        // The limit is written into the statement, not bound: with `LIMIT $n`
        // PostgreSQL's generic plan assumes a tenth of the rows come back, so
        // it never wins over a custom plan, and every execution of a prepared
        // statement is planned afresh (half of PostgreSQL's CPU on the home
        // timeline). An integer cannot carry SQL, and clients use few values.
        sql.push(&format!(" ORDER BY {column} {order} LIMIT {}", self.limit));
    }

    /// Whether results of [`Page::apply`] come oldest first.
    pub fn reverses(&self) -> bool {
        self.min_id.is_some()
    }
}
