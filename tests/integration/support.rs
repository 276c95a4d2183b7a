//! Test harness: [`TestNode::spawn`] starts a node on port 0 with domain
//! `localhost:{port}`, a fresh database and dev mode on; [`db_test!`] runs a
//! test body once per database backend.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::StatusCode;
use serde_json::Value;
use starling_node::app::{self, App};
use starling_node::config::{Config, DatabaseUrl};
use starling_node::service::accounts::{NewUser, create_local_user};
use starling_node::store::accounts::DbUser;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs `async fn $name(db: Db)` as two tests, `$name::sqlite` and
/// `$name::postgres`.
#[macro_export]
macro_rules! db_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Db::Postgres).await
            }
        }
    };
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique name for this process and call.
pub fn unique(prefix: &str) -> String {
    let mut r = [0u8; 4];
    let _ = aws_lc_rs::rand::fill(&mut r);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        u32::from_le_bytes(r)
    )
}

/// The PostgreSQL server URL the PostgreSQL half of the suite uses.
pub fn postgres_admin_url() -> String {
    std::env::var("STARLING_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database: a temporary SQLite file, or a new PostgreSQL
/// database. Removed when dropped.
pub struct TestDb {
    pub url: DatabaseUrl,
    /// The temporary directory (SQLite) to delete.
    dir: Option<PathBuf>,
    /// The PostgreSQL database to drop.
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(db: Db) -> Arc<TestDb> {
        match db {
            Db::Sqlite => {
                let dir = std::env::temp_dir().join(unique("starling_test"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                Arc::new(TestDb {
                    url: DatabaseUrl::Sqlite(dir.join("starling.db")),
                    dir: Some(dir),
                    pg_name: None,
                })
            }
            Db::Postgres => {
                let name = unique("starling_test");
                let admin = postgres_admin_url();
                pg_admin(&admin, &format!("CREATE DATABASE {name}")).await;
                let mut url = url::Url::parse(&admin).expect("STARLING_TEST_POSTGRES is a URL");
                url.set_path(&format!("/{name}"));
                Arc::new(TestDb {
                    url: DatabaseUrl::Postgres(url.to_string()),
                    dir: None,
                    pg_name: Some(name),
                })
            }
        }
    }
}

impl TestDb {
    /// `sqlx`'s URL for this database.
    pub fn url_string(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    /// Runs SQL directly, behind the node's back (to set up odd states).
    pub async fn execute(&self, sql: &str) {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url_string())
            .await
            .expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
    }
}

async fn pg_admin(admin_url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the PostgreSQL half of the suite needs a server at {admin_url} \
             (set STARLING_TEST_POSTGRES; .ci/run starts one): {e}"
            )
        });
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = self.pg_name.take() {
            // Drop may run inside a runtime; do the async work on a thread of
            // its own. FORCE ends connections a stopped node left behind.
            let admin = postgres_admin_url();
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(pg_admin(
                        &admin,
                        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    ));
                }
            })
            .join();
        }
    }
}

/// A running node on a loopback port.
pub struct TestNode {
    pub app: App,
    /// `http://localhost:{port}`.
    pub base: String,
    /// `localhost:{port}`.
    pub domain: String,
    pub db: Arc<TestDb>,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestNode {
    /// A node on a fresh database of the given kind.
    pub async fn spawn(db: Db) -> TestNode {
        Self::spawn_on(TestDb::new(db).await).await
    }

    /// A node on an existing database (to test restarts).
    pub async fn spawn_on(db: Arc<TestDb>) -> TestNode {
        Self::spawn_with(db, |_| {}).await
    }

    /// A node whose configuration `tweak` adjusts before it starts.
    pub async fn spawn_with(db: Arc<TestDb>, tweak: impl FnOnce(&mut Config)) -> TestNode {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let domain = format!("localhost:{}", addr.port());
        let mut config = Config::dev(domain.clone(), addr, db.url.clone());
        tweak(&mut config);
        let app = App::build(config).await.expect("node starts");
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(app::serve(app.clone(), listener, async {
            let _ = rx.await;
        }));
        TestNode {
            app,
            base: format!("http://{domain}"),
            domain,
            db,
            http: reqwest::Client::new(),
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Stops the node gracefully and hands back its database.
    pub async fn stop(mut self) -> Arc<TestDb> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
        self.db.clone()
    }

    /// Creates a local user `name` with email `name@example.com` and
    /// password `password-of-{name}`.
    pub async fn create_user(&self, name: &str) -> DbUser {
        create_local_user(
            &self.app,
            NewUser {
                username: name.into(),
                email: format!("{name}@example.com"),
                password: format!("password-of-{name}"),
                admin: false,
            },
        )
        .await
        .expect("create user")
    }

    /// `GET {base}{path}` with an Accept header.
    pub async fn get(&self, path: &str, accept: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("accept", accept)
            .send()
            .await
            .expect("request")
    }

    /// `GET` and parse JSON, returning the status too.
    pub async fn get_json(&self, path: &str, accept: &str) -> (StatusCode, Value) {
        let response = self.get(path, accept).await;
        let status = response.status();
        let body = response.text().await.expect("body");
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: {status} not JSON ({e}): {body}"));
        (status, json)
    }
}

impl TestNode {
    /// An access token for `user` with these scopes (registered through the
    /// same service the API uses; the OAuth flows have their own tests).
    pub async fn token(&self, user: &DbUser, scopes: &str) -> String {
        let client = starling_node::service::apps::register_app(
            &self.app,
            "test client",
            &["urn:ietf:wg:oauth:2.0:oob".to_owned()],
            "read write follow push",
            None,
        )
        .await
        .expect("register app");
        let scopes = starling_node::service::oauth::Scopes::parse(scopes).expect("scopes");
        starling_node::service::apps::issue_token(&self.app, &client.app, Some(user.id), scopes)
            .await
            .expect("token")
            .token
    }

    /// A user and a `read write follow` token for it.
    pub async fn user_with_token(&self, name: &str) -> (DbUser, String) {
        let user = self.create_user(name).await;
        let token = self.token(&user, "read write follow").await;
        (user, token)
    }

    /// An API call with a bearer token and an optional JSON body; returns the
    /// status and the parsed JSON (`Value::Null` for an empty body).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{method} {path}: {status} not JSON ({e}): {text}"))
        };
        (status, json)
    }

    /// `GET` with a token.
    pub async fn api_get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.api(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// `POST` a JSON body with a token.
    pub async fn api_post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.api(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    /// Runs queued jobs until none is due (the worker's own step function).
    pub async fn drain(&self) {
        starling_node::queue::drain(&self.app)
            .await
            .expect("drain the queue");
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

pub const AS_JSON: &str = "application/activity+json";
