//! The one error type of tlscost. Every variant names the thing that failed
//! (a file, a backend, a benchmark, a field) and what was expected, so a user
//! never has to read a panic trace to know what to fix.

use std::path::PathBuf;

/// Everything that can go wrong in tlscost.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A fixture file is missing, unreadable or not what it should be.
    #[error("fixture {}: {what}", path.display())]
    Fixture { path: PathBuf, what: String },

    /// An I/O operation on a named file or socket failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// A crypto backend refused or failed an operation.
    #[error("{backend}: {op} failed: {detail}")]
    Crypto {
        backend: &'static str,
        op: &'static str,
        detail: String,
    },

    /// A backend or stack does not offer this primitive, suite or protocol.
    #[error("{backend} does not support {what}")]
    Unsupported { backend: &'static str, what: String },

    /// A benchmark's check before timing found that it does not do what its name says.
    #[error("self-check of {bench} failed: {what}")]
    SelfCheck { bench: String, what: String },

    /// A TLS handshake scenario could not be driven to completion.
    #[error("handshake {scenario}: {what}")]
    Handshake { scenario: String, what: String },

    /// A results, baseline or paper file is missing, corrupt or of the wrong kind.
    #[error("results {}: {what}", path.display())]
    Results { path: PathBuf, what: String },

    /// A SIP message is malformed, or not what the proxy can handle (outside bytes: never a panic).
    #[error("SIP message: {what}")]
    Sip { what: String },

    /// The instruction-count gate found benchmarks above the threshold, or missing from the run.
    #[error("instruction-count gate failed: {what}")]
    Regression { what: String },

    /// The user asked for something that does not exist (backend, scenario, value).
    #[error("{0}")]
    Usage(String),
}

/// Result with tlscost's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::Io`] with a context naming what was being done to what.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// How a benchmark stops when its set-up or self-check fails: prints `error: …` (the
/// message names the benchmark or input) and exits with status 1, never a panic trace.
pub fn stop(e: impl std::fmt::Display) -> ! {
    eprintln!("error: {e}");
    std::process::exit(1)
}

/// The value, or [`stop`] with the error.
pub fn or_stop<T>(r: Result<T>) -> T {
    r.unwrap_or_else(|e| stop(e))
}
