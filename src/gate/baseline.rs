//! The committed baseline of the gate: `results/baseline/gate.json`.
//!
//! It holds each benchmark's instruction count and what the counts depend on: the CPU
//! signature (model and the flags that select crypto code paths), the valgrind and
//! gungraun versions, and when it was taken.

use super::counts::Counts;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The only baseline schema this build reads and writes.
pub const SCHEMA: u32 = 1;
/// What the `kind` field of a baseline file says.
pub const KIND: &str = "tlscost-gate-baseline";
/// Where `make baseline` writes the baseline and `make gate` reads it.
pub const DEFAULT_PATH: &str = "results/baseline/gate.json";

/// A gate baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Always [`KIND`]: a guard against passing some other JSON file.
    pub kind: String,
    /// [`SCHEMA`].
    pub schema: u32,
    /// When the counted run started (RFC 3339, UTC).
    pub date: String,
    /// `Machine::cpu_signature()` of the machine the counts were taken on.
    pub cpu_signature: String,
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
        if value["schema"] != SCHEMA {
            return Err(bad(format!(
                "gate baseline schema {}, this build reads schema {SCHEMA}; re-record it with `make baseline`",
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
