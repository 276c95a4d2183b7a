//! Failures that are nobody's fault but ours: they become 500s (or a non-zero
//! exit in the CLI) with the whole cause chain logged.

/// An internal failure with its cause.
#[derive(Debug, thiserror::Error)]
pub enum Internal {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Key generation, key parsing or password hashing failed.
    #[error("crypto failure: {0}")]
    Crypto(String),
    /// A queued job could not run (bad payload, timed out waiting).
    #[error("job failure: {0}")]
    Job(String),
    /// Stored data did not parse (a bug or a hand-edited database).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A response could not be serialised.
    #[error("cannot serialise a response: {0}")]
    Serialize(String),
}

/// `error: cause: cause…` on one line, for logs and the CLI.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}
