//! The `starling` binary as a child process: a command with a clean
//! environment, a temporary working directory, and a running server that is
//! killed (SIGKILL) if the test ends without stopping it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{TestDb, unique};

/// A `starling` command in `dir` with no inherited `STARLING_*` settings.
pub fn starling(dir: &Path, db: Option<&TestDb>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_starling"));
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("STARLING_") {
            cmd.env_remove(key);
        }
    }
    if let Some(db) =
        db.filter(|db| matches!(db.url, starling_node::config::DatabaseUrl::Postgres(_)))
    {
        cmd.env("STARLING_DATABASE_URL", db.url_string());
    }
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run starling")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A temporary working directory, removed on drop.
pub struct WorkDir(pub std::path::PathBuf);

impl WorkDir {
    pub fn new() -> WorkDir {
        let dir = std::env::temp_dir().join(unique("starling_cli"));
        std::fs::create_dir_all(&dir).unwrap();
        WorkDir(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `starling serve` child; killed if the test fails before stopping it.
pub struct Server {
    pub child: Child,
    /// The HTTP port (0 for a `worker`, which serves no HTTP).
    pub port: u16,
    /// The child's stderr lines not read yet.
    pub log: std::sync::mpsc::Receiver<String>,
}

impl Server {
    /// Starts `starling serve` on an OS-chosen port and waits until it listens.
    pub fn start(cmd: Command) -> Server {
        Self::start_with(cmd, &[])
    }

    /// Starts `starling serve {flags}` with an HTTP listener (role `all`
    /// or `web`) and waits until it listens.
    pub fn start_with(cmd: Command, flags: &[&str]) -> Server {
        Self::start_until(cmd, flags, " on http://127.0.0.1:")
    }

    /// Starts `starling serve --role worker` and waits until its workers run.
    pub fn start_worker(cmd: Command) -> Server {
        Self::start_until(cmd, &["--role", "worker"], "running queue workers")
    }

    /// Starts `serve` and waits for a log line containing `ready`; for an
    /// HTTP listener, reads the port from it.
    fn start_until(mut cmd: Command, flags: &[&str], ready: &str) -> Server {
        let child = cmd
            .arg("serve")
            .args(flags)
            .env("STARLING_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let (tx, rx) = std::sync::mpsc::channel();
        // Owned by `Server` from here on, so Drop reaps it even if we panic.
        let mut server = Server {
            child,
            port: 0,
            log: rx,
        };
        let stderr = server.child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let line = server
                .log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("serve said it was ready in time");
            if !line.contains(ready) {
                continue;
            }
            if let Some(rest) = line.split(" on http://127.0.0.1:").nth(1) {
                let port = rest
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap_or("");
                server.port = port.parse().expect("a port number");
            }
            return server;
        }
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the process ends at once, whatever it was doing.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
