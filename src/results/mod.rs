//! Measurement files: what was measured, where, and how precisely.
//!
//! `criterion` reads criterion's output; the measurement-file format (schema version,
//! machine, per-component estimates, atomic writes) lives here too.

pub mod criterion;

use crate::fsutil::write_atomic;
use crate::machine::Machine;
use crate::{Error, Result};
use criterion::Estimate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of the measurement-file format; a file of another version is refused.
pub const SCHEMA_VERSION: u32 = 1;

/// The `kind` tag of a measurement file.
pub const KIND: &str = "tlscost-results";

/// One benchmark's measurement, with its unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    /// Median per iteration.
    pub median: f64,
    /// Lower bound of the median's confidence interval.
    pub lower: f64,
    /// Upper bound of the median's confidence interval.
    pub upper: f64,
    /// Samples taken.
    pub samples: usize,
    /// Unit of median, lower and upper (always `ns` in files this version writes).
    pub unit: String,
    /// Bytes per iteration, when the bench declared a byte throughput.
    pub bytes: Option<u64>,
}

/// How busy the machine was when the file was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Busy {
    /// 1-minute load average.
    pub load_average: Option<f64>,
    /// Share of CPU time stolen by the hypervisor since boot.
    pub steal_share: Option<f64>,
}

/// A measurement file: `results/<host>-<date>-<time>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsFile {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// [`KIND`].
    pub kind: String,
    /// When it was written (UTC, RFC 3339).
    pub date: String,
    /// Machine and software.
    pub machine: Machine,
    /// Load and steal at writing time.
    pub busy: Busy,
    /// When the newest of its measurements finished (UTC, RFC 3339): names the file, so that
    /// every run of the benches keeps its own file and re-reading one run rewrites the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<String>,
    /// Every measurement, by full benchmark name.
    pub estimates: BTreeMap<String, Measurement>,
    /// The model computed from them (`tlscost model --json`), when written by `tlscost model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<serde_json::Value>,
    /// Heap memory per connection of every handshake scenario this build ran
    /// (`tlscost memory --json`'s connections), when written by `tlscost model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<serde_json::Value>,
}

impl ResultsFile {
    /// A file of `estimates` taken on `machine`, dated now.
    pub fn new(machine: Machine, estimates: &BTreeMap<String, Estimate>) -> ResultsFile {
        let (load_average, steal_share) = crate::machine::busy_signals();
        ResultsFile {
            schema_version: SCHEMA_VERSION,
            kind: KIND.to_string(),
            date: utc_now(),
            machine,
            busy: Busy {
                load_average,
                steal_share,
            },
            measured: None,
            estimates: estimates
                .iter()
                .map(|(id, e)| {
                    let m = Measurement {
                        median: e.median_ns,
                        lower: e.lower_ns,
                        upper: e.upper_ns,
                        samples: e.samples,
                        unit: "ns".to_string(),
                        bytes: e.bytes,
                    };
                    (id.clone(), m)
                })
                .collect(),
            model: None,
            memory: None,
        }
    }

    /// The measurements as estimates (ns), as criterion's reader gives them.
    pub fn estimates(&self) -> BTreeMap<String, Estimate> {
        self.estimates
            .iter()
            .map(|(id, m)| {
                let e = Estimate {
                    id: id.clone(),
                    median_ns: m.median,
                    lower_ns: m.lower,
                    upper_ns: m.upper,
                    samples: m.samples,
                    bytes: m.bytes,
                };
                (id.clone(), e)
            })
            .collect()
    }

    /// `<dir>/<host>-<YYYY-MM-DD>-<HHMMSS>.json`, the UTC time the newest measurement finished
    /// (else the time of writing); `...-vendored.json` for a vendored-OpenSSL run.
    pub fn default_path(&self, dir: &Path) -> PathBuf {
        let host: String = self
            .machine
            .host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let at = file_stamp(self.measured.as_deref().unwrap_or(&self.date));
        // A vendored-OpenSSL run beside a system one the same day must not overwrite it.
        let build = match self.machine.openssl_build.as_str() {
            "system" | "" => String::new(),
            other => format!("-{other}"),
        };
        dir.join(format!("{host}-{at}{build}.json"))
    }

    /// Writes the file atomically (never half-written).
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::Results {
            path: path.to_path_buf(),
            what: format!("cannot serialise: {e}"),
        })?;
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }

    /// Reads and checks a file: JSON, the right kind, this schema version, units in ns.
    pub fn read(path: &Path) -> Result<ResultsFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading results file {}", path.display()), e))?;
        ResultsFile::parse(path, &text)
    }

    /// Checks `text`, read from `path`, as [`ResultsFile::read`] does.
    pub fn parse(path: &Path, text: &str) -> Result<ResultsFile> {
        let bad = |what: String| Error::Results {
            path: path.to_path_buf(),
            what,
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "not valid JSON, truncated or corrupt ({e}); expected a file written by `tlscost model`"
            ))
        })?;
        match value.get("kind").and_then(|k| k.as_str()) {
            Some(KIND) => {}
            Some(other) => {
                return Err(bad(format!(
                    "kind is \"{other}\", expected \"{KIND}\": not a tlscost results file"
                )))
            }
            None => {
                return Err(bad(format!(
                    "no kind field, expected \"{KIND}\": not a tlscost results file"
                )))
            }
        }
        match value.get("schema_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(bad(format!(
                    "schema version {v}; this tlscost reads version {SCHEMA_VERSION} only (re-run `make model` to write a current file)"
                )))
            }
            None => return Err(bad("no schema_version field".into())),
        }
        let file: ResultsFile = serde_json::from_value(value)
            .map_err(|e| bad(format!("malformed results file: {e}")))?;
        for (id, m) in &file.estimates {
            if m.unit != "ns" {
                return Err(bad(format!("{id}: unit '{}', expected 'ns'", m.unit)));
            }
            if !(m.median.is_finite() && m.lower.is_finite() && m.upper.is_finite()) {
                return Err(bad(format!(
                    "{id}: median and bounds must be finite numbers"
                )));
            }
        }
        Ok(file)
    }
}

/// The machine a results file was measured on, as far as mixing files goes: its host and
/// its CPU signature (model and the flags that select crypto code paths).
pub fn machine_id(m: &Machine) -> String {
    format!("{} ({})", m.host, m.cpu_signature())
}

/// Reads several results files and merges their estimates. Files measured on different
/// machines are refused unless `allow_mixed`, and then the notes returned say which file came
/// from which machine, for the output to show. A benchmark found in two files is refused:
/// which figure to take would be a guess.
pub fn read_merged(
    paths: &[PathBuf],
    allow_mixed: bool,
) -> Result<(BTreeMap<String, Estimate>, Vec<String>)> {
    let mut map = BTreeMap::new();
    let mut from: BTreeMap<String, &PathBuf> = BTreeMap::new();
    let mut machines: Vec<(String, &PathBuf)> = Vec::new();
    for path in paths {
        let file = ResultsFile::read(path)?;
        let id = machine_id(&file.machine);
        if !machines.iter().any(|(m, _)| *m == id) {
            machines.push((id, path));
        }
        for (bench, e) in file.estimates() {
            if let Some(first) = from.insert(bench.clone(), path) {
                return Err(Error::Results {
                    path: path.clone(),
                    what: format!(
                        "{bench} is also in {}: give each benchmark once",
                        first.display()
                    ),
                });
            }
            map.insert(bench, e);
        }
    }
    let mut notes = Vec::new();
    if machines.len() > 1 {
        let list: Vec<String> = machines
            .iter()
            .map(|(m, p)| format!("{} on {m}", p.display()))
            .collect();
        if !allow_mixed {
            return Err(Error::Results {
                path: machines[1].1.clone(),
                what: format!(
                    "measured on another machine than {}: {}; figures of different machines do not add up to one machine's cost (--allow-mixed combines them anyway, and says so)",
                    machines[0].1.display(),
                    list.join("; ")
                ),
            });
        }
        notes.push(format!(
            "MIXED MACHINES (--allow-mixed): the estimates come from {}; each per-call cost adds figures measured on different machines.",
            list.join("; ")
        ));
    }
    Ok((map, notes))
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, whole seconds).
pub fn utc_now() -> String {
    utc_rfc3339(std::time::SystemTime::now())
}

/// An RFC 3339 time (`YYYY-MM-DDTHH:MM:SSZ`) as it goes into a file name, `YYYY-MM-DD-HHMMSS`
/// (`undated` when it is not one).
pub fn file_stamp(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..19)) {
        (Some(day), Some(time)) => format!("{day}-{}", time.replace(':', "")),
        _ => "undated".into(),
    }
}

/// `at` in UTC as `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, whole seconds).
pub fn utc_rfc3339(at: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}
