//! The committed baseline of the gate: `results/baseline/gate.json`.
//!
//! It holds each benchmark's instruction count and what the counts depend on: the CPU
//! valgrind presented to the counted program ([`super::cpu::EmulatedCpu`], schema 2), the
//! host's CPU signature (model and the flags that select crypto code paths), the valgrind
//! and gungraun versions, and when it was taken.

use super::counts::Counts;
use super::cpu::EmulatedCpu;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The baseline schema this build writes (2: with the emulated CPU).
pub const SCHEMA: u32 = 2;
/// The schemas this build reads: 1 had no emulated CPU (the gate then compares host
/// signatures, as it did then).
pub const READABLE_SCHEMAS: [u32; 2] = [1, 2];
/// What the `kind` field of a baseline file says.
pub const KIND: &str = "tlscost-gate-baseline";
/// Where `make baseline` writes the baseline and `make gate` reads it.
pub const DEFAULT_PATH: &str = "results/baseline/gate.json";
/// The baseline of the vendored OpenSSL build (`make gate OPENSSL=vendored`).
pub const VENDORED_PATH: &str = "results/baseline/gate-vendored.json";

/// The baseline path of this build: [`VENDORED_PATH`] when built with the
/// `vendored-openssl` feature, else [`DEFAULT_PATH`].
pub fn default_path() -> &'static str {
    if cfg!(feature = "vendored-openssl") {
        VENDORED_PATH
    } else {
        DEFAULT_PATH
    }
}

/// A gate baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Always [`KIND`]: a guard against passing some other JSON file.
    pub kind: String,
    /// [`SCHEMA`].
    pub schema: u32,
    /// When the counted run started (RFC 3339, UTC).
    pub date: String,
    /// `Machine::cpu_signature()` of the machine the counts were taken on (the host CPU).
    pub cpu_signature: String,
    /// The CPU valgrind presented to the counted program (absent in schema 1 files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emulated_cpu: Option<EmulatedCpu>,
    /// Which OpenSSL the counted build linked: `system` or `vendored` (absent in schema 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openssl_build: Option<String>,
    /// `gungraun-runner --version` of the run.
    pub gungraun: String,
    /// `valgrind --version` of the run.
    pub valgrind: String,
    /// Instruction count (callgrind `Ir`) by full benchmark name.
    pub benches: Counts,
}

impl Baseline {
    /// Reads and checks a baseline file; every problem is an error naming the file.
    pub fn load(path: &Path) -> Result<Baseline> {
        let bad = |what: String| Error::Results {
            path: path.to_path_buf(),
            what,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(bad(
                    "gate baseline not found; record one with `make baseline`".into(),
                ))
            }
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| bad(format!("corrupt gate baseline (invalid JSON: {e})")))?;
        if value["kind"] != KIND {
            return Err(bad(format!(
                "not a gate baseline: `kind` is {}, expected \"{KIND}\"",
                value["kind"]
            )));
        }
        if !READABLE_SCHEMAS
            .iter()
            .any(|s| value["schema"] == serde_json::json!(s))
        {
            return Err(bad(format!(
                "gate baseline schema {}, this build reads schemas {READABLE_SCHEMAS:?}; re-record it with `make baseline`",
                value["schema"]
            )));
        }
        let b: Baseline = serde_json::from_value(value)
            .map_err(|e| bad(format!("corrupt gate baseline: {e}")))?;
        if b.benches.is_empty() {
            return Err(bad("gate baseline lists no benchmarks".into()));
        }
        if let Some((name, _)) = b.benches.iter().find(|(_, &ir)| ir == 0) {
            return Err(bad(format!("gate baseline has 0 instructions for {name}")));
        }
        Ok(b)
    }

    /// Writes the baseline atomically (never a half-written file).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::Results {
            path: path.to_path_buf(),
            what: format!("cannot serialise baseline: {e}"),
        })?;
        text.push('\n');
        crate::fsutil::write_atomic(path, text.as_bytes())
    }
}
