//! Building a node ([`App::build`]) and running its HTTP server until a
//! shutdown signal ([`serve`]).
//!
//! Architecture invariant: everything a request needs hangs off [`App`]; there
//! is no global state, so several nodes run side by side in one test process.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::{Config, Role};
use crate::error::Internal;
use crate::id::IdGenerator;
use crate::store::Store;
use crate::store::instance::DbInstanceKey;
use crate::urls::Urls;

/// A running node's shared state. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    /// The configuration the node was started with.
    config: Config,
    /// URL builder on the configured domain.
    urls: Urls,
    /// The database.
    store: Store,
    /// Snowflake ids.
    ids: IdGenerator,
    /// The instance actor's keys (signs server-to-server fetches).
    instance_key: DbInstanceKey,
    /// Wakes this process's queue workers when a job is enqueued here.
    job_signal: tokio::sync::Notify,
    /// Client API rate-limit counters.
    rate_limiter: crate::http::rate_limit::RateLimiter,
    /// The one outbound HTTP client (SSRF-safe).
    fetcher: starling_federation::fetch::Fetcher,
    /// Rendered entities, checked against row versions on every use.
    caches: crate::service::cache::Caches,
    /// Deliveries in flight from this process, per host and in all.
    delivery_slots: Arc<crate::queue::slots::DeliverySlots>,
    /// Streaming API events for this process's open streams.
    streams: crate::stream::Bus,
}

impl App {
    /// Connects to the database, runs pending migrations, and makes sure the
    /// instance actor has a key.
    pub async fn build(config: Config) -> Result<App, Internal> {
        let store = Store::connect(&config.database).await?;
        store.migrate().await?;
        Self::with_store(config, store).await
    }

    /// Like [`App::build`] on an already connected and migrated store.
    pub async fn with_store(config: Config, store: Store) -> Result<App, Internal> {
        let instance_key = match store.instance_key().await? {
            Some(key) => key,
            None => {
                let key = tokio::task::spawn_blocking(starling_federation::keys::generate_rsa_2048)
                    .await
                    .map_err(|e| Internal::Crypto(e.to_string()))?
                    .map_err(|e| Internal::Crypto(e.to_string()))?;
                store
                    .insert_instance_key_if_absent(&key.public_pem, &key.private_pem)
                    .await?
            }
        };
        let urls = Urls::new(config.base_url());
        let policy = if config.dev {
            starling_federation::net::AddressPolicy::AllowLoopback
        } else {
            starling_federation::net::AddressPolicy::GlobalOnly
        };
        let user_agent = format!("Starling/{} (+{})", env!("CARGO_PKG_VERSION"), urls.base());
        let fetcher = starling_federation::fetch::Fetcher::new(
            starling_federation::fetch::Limits::new(policy),
            &user_agent,
        )
        .map_err(|e| Internal::Crypto(format!("cannot build the HTTP client: {e}")))?
        // Every fetch is signed by the instance actor, so servers in
        // authorized-fetch mode answer it.
        .signing_gets(starling_federation::fetch::GetSigner {
            key_id: format!("{}#main-key", urls.instance_actor()),
            key: starling_federation::keys::parse_private_pem(&instance_key.private_key_pem)
                .map_err(|e| Internal::Crypto(format!("the instance key is unreadable: {e}")))?,
        });
        let delivery_slots = crate::queue::slots::DeliverySlots::new(config.delivery.per_host);
        Ok(App {
            inner: Arc::new(Inner {
                delivery_slots,
                config,
                urls,
                store,
                ids: IdGenerator::new(),
                instance_key,
                job_signal: tokio::sync::Notify::new(),
                rate_limiter: Default::default(),
                fetcher,
                caches: Default::default(),
                streams: Default::default(),
            }),
        })
    }

    /// The node's configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// URLs on this node's domain.
    pub fn urls(&self) -> &Urls {
        &self.inner.urls
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The id generator.
    pub fn ids(&self) -> &IdGenerator {
        &self.inner.ids
    }

    /// This process's entity caches.
    pub fn caches(&self) -> &crate::service::cache::Caches {
        &self.inner.caches
    }

    /// The instance actor's keys.
    pub fn instance_key(&self) -> &DbInstanceKey {
        &self.inner.instance_key
    }

    /// Notified after this process enqueues a job.
    pub fn job_signal(&self) -> &tokio::sync::Notify {
        &self.inner.job_signal
    }

    /// The outbound HTTP client.
    pub fn fetcher(&self) -> &starling_federation::fetch::Fetcher {
        &self.inner.fetcher
    }

    /// Deliveries in flight from this process.
    pub fn delivery_slots(&self) -> &Arc<crate::queue::slots::DeliverySlots> {
        &self.inner.delivery_slots
    }

    /// The streaming API's event bus of this process.
    pub fn streams(&self) -> &crate::stream::Bus {
        &self.inner.streams
    }

    /// The client API's rate-limit counters.
    pub fn rate_limiter(&self) -> &crate::http::rate_limit::RateLimiter {
        &self.inner.rate_limiter
    }

    /// Tells the local workers that a job is waiting.
    pub fn jobs_enqueued(&self) {
        self.inner.job_signal.notify_waiters();
    }
}

/// Serves HTTP on `listener` and runs the queue workers (role `all`) until
/// `shutdown` completes, then stops accepting, lets in-flight requests
/// finish, and closes the database.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run(app, Some(listener), true, shutdown).await
}

/// Runs what `role` asks for until `shutdown` completes: HTTP on `listener`
/// (required unless the role is `worker`, which binds nothing), the queue
/// workers, or both.
pub async fn run_role(
    app: App,
    role: Role,
    listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = if role.serves_http() {
        let listener = listener.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("role {role} serves HTTP and needs a listener"),
            )
        })?;
        Some(listener)
    } else {
        None
    };
    run(app, listener, role.runs_jobs(), shutdown).await
}

async fn run(
    app: App,
    listener: Option<TcpListener>,
    workers: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_workers, stopped) = tokio::sync::watch::channel(false);
    let worker = workers.then(|| tokio::spawn(crate::queue::work(app.clone(), stopped)));
    let served = match listener {
        Some(listener) => {
            // On PostgreSQL, streams hear events from every process through
            // LISTEN; wait (briefly) for it so none raised after start is lost.
            if let crate::config::DatabaseUrl::Postgres(url) = &app.config().database {
                tokio::spawn(crate::stream::Bus::listen(app.clone(), url.clone()));
                if !app
                    .streams()
                    .wait_listening(std::time::Duration::from_secs(5))
                    .await
                {
                    tracing::warn!("stream listener not ready; streams may miss events");
                }
            }
            // Open streams never end on their own: close them first, or the
            // graceful shutdown would wait on them forever.
            let bus = app.clone();
            let shutdown = async move {
                shutdown.await;
                bus.streams().close();
            };
            let service = crate::http::service(app.clone());
            let service =
                axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                    std::net::SocketAddr,
                >(service);
            axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            shutdown.await;
            Ok(())
        }
    };
    app.streams().close();
    // Let the worker finish the job in hand; unfinished leases come back later.
    let _ = stop_workers.send(true);
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    app.store().close().await;
    served?;
    Ok(())
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
