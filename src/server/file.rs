//! The measured-server file: what a real SIP server spent per call, per configuration,
//! with the server, the load and the machine it was measured with.
//!
//! One JSON document (`results/<server>-<host>-<date>.json`), written atomically:
//!
//! ```json
//! {
//!   "kind": "tlscost-server", "schema_version": 1, "date": "2026-11-30T12:00:00Z",
//!   "machine": { ... see crate::machine::Machine ... },
//!   "server": { "name": "kamailio", "version": "5.6.3", "start_line": "kamailio -DD -E ...",
//!               "memory_manager": "q_malloc", "tls_library": "OpenSSL 3.0.19", "database": "mariadb 10.11" },
//!   "load": { "flow": "basic", "rate": 100.0, "calls": 300, "warmup": 20, "repeat": 3 },
//!   "measurements": [
//!     { "configuration": "outbound/tls-resumed", "protocol": "tls12-rsa-aes128-sha",
//!       "us_per_call": 812.5, "spread_us": 20.1, "runs_us": [800.0, 812.5, 820.1],
//!       "idle_us_per_s": 350.0, "generator_us_per_call": 900.0 }
//!   ],
//!   "not_measured": [ { "configuration": "inbound/tls-resumed", "reason": "..." } ]
//! }
//! ```
//!
//! Its `measurements` are calibration rows ([`crate::model::calibrate::Measurement`]), so
//! `tlscost model --calibrate FILE` reads this file as it reads a calibration CSV or JSON.
//! Configuration names are those `tlscost model` prints; `protocol` is a handshake protocol
//! label ([`crate::handshake::Protocol`]) and is absent for UDP and TCP (and means the paper's
//! `tls12-rsa-aes128-sha` when absent on a TLS configuration).

use crate::machine::Machine;
use crate::model::calibrate::Measurement;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `kind` tag of a measured-server file.
pub const KIND: &str = "tlscost-server";

/// Version of the format; a file of another version is refused.
pub const SCHEMA_VERSION: u32 = 1;

/// A measured-server file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerFile {
    /// [`KIND`].
    pub kind: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the measurement ended (UTC, RFC 3339).
    pub date: String,
    /// The machine server and load generators ran on.
    pub machine: Machine,
    /// The server measured.
    pub server: ServerInfo,
    /// The load it was measured under.
    pub load: LoadInfo,
    /// One row per measured configuration (and protocol).
    pub measurements: Vec<ServerMeasurement>,
    /// Configurations the server could not run, each with the reason (never a silent hole).
    #[serde(default)]
    pub not_measured: Vec<NotMeasured>,
    /// Free-text notes every reader should see (e.g. "SIP auth against SQLite, not MariaDB").
    #[serde(default)]
    pub notes: Vec<String>,
    /// Peak call rates with the server on one core, beside the projection from CPU per call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peaks: Vec<super::peak::Peak>,
    /// Profiles per call by the paper's categories (perf).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<super::perf::Profile>,
}

/// The server that was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Short name (`kamailio`, `testbed`, or what the user calls theirs).
    pub name: String,
    /// Its version as it reports itself (e.g. `kamailio -v`'s first line), or "unknown".
    pub version: String,
    /// The command line it was started with (or, for a server started elsewhere, the
    /// `/proc/<pid>/cmdline` of its main process).
    pub start_line: String,
    /// Its memory manager where it has a choice (Kamailio: `q_malloc`, `f_malloc`, `tlsf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_manager: Option<String>,
    /// The TLS library it uses, with version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_library: Option<String>,
    /// The credential database of SIP auth configurations (e.g. `mariadb 10.11.6`, `sqlite`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// The load a measurement ran under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadInfo {
    /// Call flow name (from the flow's manifest).
    pub flow: String,
    /// Calls started per second.
    pub rate: f64,
    /// Measured calls per run.
    pub calls: u64,
    /// Unmeasured calls before each run.
    pub warmup: u64,
    /// Runs per configuration (the figure is their median).
    pub repeat: usize,
}

/// One measured configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerMeasurement {
    /// Configuration name as `tlscost model` prints it (e.g. `outbound/tls-resumed`).
    pub configuration: String,
    /// Handshake protocol label for TLS configurations (e.g. `tls13-aes128-gcm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The server's CPU µs per call: median over runs, idle CPU subtracted.
    pub us_per_call: f64,
    /// Spread of the runs (max - min), µs per call.
    pub spread_us: f64,
    /// Each run's µs per call, in run order.
    pub runs_us: Vec<f64>,
    /// The server's idle CPU measured before the runs, µs of CPU per second of wall time.
    pub idle_us_per_s: f64,
    /// The load generators' own CPU µs per call (UAC + UAS), median over runs.
    pub generator_us_per_call: f64,
    /// Anything else a reader should know about this row (connection counts, handshake
    /// checks), as `name: value` lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// A configuration the server could not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotMeasured {
    /// Configuration name.
    pub configuration: String,
    /// Handshake protocol label, when it is one protocol that is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Why not (e.g. "Kamailio does not resume TLS sessions on its client side").
    pub reason: String,
}

fn bad(path: &Path, what: impl Into<String>) -> Error {
    Error::Results {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

impl ServerFile {
    /// Whether `text` looks like a measured-server file (a JSON object with this `kind`).
    pub fn is_server_file(text: &str) -> bool {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(|k| k == KIND))
            .unwrap_or(false)
    }

    /// Parses a measured-server file; `path` names it in errors. Refuses another kind or
    /// schema version, and a file without measurements.
    pub fn parse(text: &str, path: &Path) -> Result<ServerFile> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            bad(
                path,
                format!("not valid JSON ({e}); expected a file written by tlscost server"),
            )
        })?;
        match v.get("kind").and_then(|k| k.as_str()) {
            Some(KIND) => {}
            other => {
                return Err(bad(
                    path,
                    format!(
                        "kind {other:?}, expected \"{KIND}\" (a file written by tlscost server)"
                    ),
                ))
            }
        }
        match v.get("schema_version").and_then(|s| s.as_u64()) {
            Some(n) if n == u64::from(SCHEMA_VERSION) => {}
            other => {
                return Err(bad(
                    path,
                    format!(
                        "schema version {other:?}; this tlscost reads version {SCHEMA_VERSION} only"
                    ),
                ))
            }
        }
        let f: ServerFile = serde_json::from_value(v)
            .map_err(|e| bad(path, format!("not a measured-server file: {e}")))?;
        if f.measurements.is_empty() {
            return Err(bad(
                path,
                "no measurements; expected at least one configuration",
            ));
        }
        Ok(f)
    }

    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<ServerFile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::io(
                format!("reading measured-server file {}", path.display()),
                e,
            )
        })?;
        ServerFile::parse(&text, path)
    }

    /// Writes the file atomically (pretty JSON).
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("a server file serialises");
        crate::fsutil::write_atomic(path, json.as_bytes())
    }

    /// The measurements as calibration rows (what `model --calibrate` fits on).
    pub fn calibration_rows(&self) -> Vec<Measurement> {
        self.measurements
            .iter()
            .map(|m| Measurement {
                configuration: m.configuration.clone(),
                us_per_call: m.us_per_call,
                spread_us: Some(m.spread_us),
                protocol: m.protocol.clone(),
            })
            .collect()
    }

    /// One line naming the server for report headers:
    /// `kamailio 5.6.3 (q_malloc, OpenSSL 3.0.19) on <host>, <date>`.
    pub fn describe(&self) -> String {
        let extra: Vec<&str> = [
            self.server.memory_manager.as_deref(),
            self.server.tls_library.as_deref(),
            self.server.database.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(" ({})", extra.join(", "))
        };
        // Servers often print their name in their version string ("kamailio 5.6.3 ...").
        let name_version = if self.server.version.starts_with(&self.server.name) {
            self.server.version.clone()
        } else {
            format!("{} {}", self.server.name, self.server.version)
        };
        format!(
            "{name_version}{extra} on {}, {}",
            self.machine.host, self.date
        )
    }
}
