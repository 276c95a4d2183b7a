//! The `starling` command line: `serve`, `migrate`, and `admin` commands.
//!
//! Every failure prints one `error: …` line to stderr and exits non-zero.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use crate::app::{self, App};
use crate::config::{Config, DatabaseUrl, Role};
use crate::error::chain;
use crate::service::accounts::{CreateUserError, NewUser, create_local_user};
use crate::store::Store;

/// A federated, Mastodon-compatible social node.
#[derive(Debug, Parser)]
#[command(name = "starling", version, about)]
struct Cli {
    /// TOML configuration file; `STARLING_*` environment variables override it.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the node (applies pending migrations first).
    Serve {
        /// What this process runs: `web` (HTTP only), `worker` (the job
        /// queue and maintenance, no HTTP) or `all` (both). Overrides
        /// `role` / `STARLING_ROLE`; default `all`.
        #[arg(long, value_parser = Role::parse)]
        role: Option<Role>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administer accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a local user with a fresh key pair.
    CreateUser {
        /// Username: letters, digits, '_', '.', '-' (at most 30).
        username: String,
        /// Email address (the login in Mastodon apps).
        #[arg(long)]
        email: String,
        /// Password (8 to 72 characters).
        #[arg(long)]
        password: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List local users.
    ListUsers,
    /// Delete a local user: `Delete` goes to the servers of its followers and
    /// of those it follows (sent by the running server's queue), then its
    /// posts, follows and sign-in data are removed. The username stays taken.
    DeleteUser {
        /// The user's username.
        username: String,
    },
}

/// Parses arguments, runs the command, and maps failure to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = !matches!(cli.command, Command::Serve { .. });
    init_logging(quiet);
    let config = match Config::load(cli.config.as_deref(), |k| std::env::var(k).ok()) {
        Ok(mut c) => {
            // The flag beats the file and the environment.
            if let Command::Serve { role: Some(role) } = cli.command {
                c.role = role;
            }
            c
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(quiet: bool) {
    let default = if quiet { "warn" } else { "info,sqlx=warn" };
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| default.parse().unwrap_or_default());
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(filter)
        .try_init();
}

fn describe(db: &DatabaseUrl) -> String {
    match db {
        DatabaseUrl::Sqlite(path) => format!("SQLite at {}", path.display()),
        DatabaseUrl::Postgres(_) => "PostgreSQL".into(),
    }
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    match command {
        Command::Serve { .. } => serve(config).await,
        Command::Migrate => {
            let store = Store::connect(&config.database)
                .await
                .map_err(|e| chain(&e))?;
            let applied = store.migrate().await.map_err(|e| chain(&e))?;
            println!(
                "applied {applied} migration(s) to {}",
                describe(&config.database)
            );
            store.close().await;
            Ok(())
        }
        Command::Admin { command } => {
            let app = App::build(config).await.map_err(|e| chain(&e))?;
            let result = admin(&app, command).await;
            app.store().close().await;
            result
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let bind = config.bind;
    let role = config.role;
    let database = describe(&config.database);
    if role != Role::All && matches!(config.database, DatabaseUrl::Sqlite(_)) {
        tracing::warn!(
            "role {role} on SQLite: splitting roles across processes is meant for PostgreSQL; \
             make sure a process with role worker or all runs, or nothing is delivered"
        );
    }
    let app = App::build(config).await.map_err(|e| chain(&e))?;
    let dev = if app.config().dev { ", dev mode" } else { "" };
    let listener = if role.serves_http() {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        // With port 0 the OS picks; report the address really bound.
        let bound = listener.local_addr().unwrap_or(bind);
        tracing::info!(
            "Starling {} serving {} on http://{bound} ({database}{dev}, role {role})",
            env!("CARGO_PKG_VERSION"),
            app.urls().base(),
        );
        Some(listener)
    } else {
        tracing::info!(
            "Starling {} running queue workers for {} ({database}{dev}, role worker, no HTTP)",
            env!("CARGO_PKG_VERSION"),
            app.urls().base(),
        );
        None
    };
    app::run_role(app, role, listener, app::shutdown_signal())
        .await
        .map_err(|e| format!("server failed: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

async fn admin(app: &App, command: AdminCommand) -> Result<(), String> {
    match command {
        AdminCommand::CreateUser {
            username,
            email,
            password,
            admin,
        } => {
            let new = NewUser {
                username,
                email,
                password,
                admin,
            };
            let user = create_local_user(app, new).await.map_err(|e| match e {
                CreateUserError::Internal(e) => chain(&e),
                other => other.to_string(),
            })?;
            println!(
                "created {}user {} ({}) at {}",
                if user.admin { "admin " } else { "" },
                user.account.username,
                user.email,
                app.urls().actor(&user.account.username)
            );
            Ok(())
        }
        AdminCommand::DeleteUser { username } => {
            use crate::service::ServiceError;
            let told = crate::service::people::delete_local_user(app, &username)
                .await
                .map_err(|e| match e {
                    ServiceError::Internal(e) => chain(&e),
                    other => other.to_string(),
                })?;
            println!(
                "deleted user {username}; {told} remote inbox(es) will be told by the server's queue"
            );
            Ok(())
        }
        AdminCommand::ListUsers => {
            let users = app.store().local_users().await.map_err(|e| chain(&e))?;
            println!(
                "{:<20} {:<30} {:<32} {:<6} created",
                "id", "username", "email", "admin"
            );
            for u in users {
                println!(
                    "{:<20} {:<30} {:<32} {:<6} {}",
                    u.account.id,
                    u.account.username,
                    u.email,
                    if u.admin { "yes" } else { "no" },
                    starling_protocol::datetime::iso8601_seconds(u.account.created_at)
                );
            }
            Ok(())
        }
    }
}
