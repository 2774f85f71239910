//! Reads criterion's own output (`target/criterion/**/new/`), keyed by the benchmark's
//! full name (see [`crate::names::BenchId`]).

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One benchmark's estimate, in nanoseconds per iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Full benchmark name, `group/function[/parameter]`.
    pub id: String,
    /// Median time per iteration (ns).
    pub median_ns: f64,
    /// Lower bound of the median's confidence interval (ns).
    pub lower_ns: f64,
    /// Upper bound of the median's confidence interval (ns).
    pub upper_ns: f64,
    /// Number of samples criterion took.
    pub samples: usize,
    /// Bytes per iteration when the bench declared a byte throughput.
    pub bytes: Option<u64>,
}

impl Estimate {
    /// An estimate of `median_us` µs with no spread, over `samples` samples: a synthetic
    /// input (tests, worked examples), never a measurement.
    pub fn exact(id: &str, median_us: f64, samples: usize) -> Estimate {
        Estimate {
            id: id.to_string(),
            median_ns: median_us * 1e3,
            lower_ns: median_us * 1e3,
            upper_ns: median_us * 1e3,
            samples,
            bytes: None,
        }
    }

    /// Median in microseconds.
    pub fn median_us(&self) -> f64 {
        self.median_ns / 1000.0
    }
    /// Half-width of the confidence interval relative to the median (0.05 = ±5%).
    pub fn relative_ci(&self) -> f64 {
        if self.median_ns > 0.0 {
            (self.upper_ns - self.lower_ns) / 2.0 / self.median_ns
        } else {
            0.0
        }
    }
}

#[derive(Deserialize)]
struct BenchmarkJson {
    full_id: String,
    /// `{"Bytes": n}`, `{"Elements": n}`, ... or null.
    throughput: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Deserialize)]
struct PointEstimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct EstimatesJson {
    median: PointEstimate,
}

#[derive(Deserialize)]
struct SampleJson {
    iters: Vec<f64>,
}

/// Every estimate under `dir` (usually `target/criterion`), by full benchmark name.
/// A missing directory gives an empty map; a corrupt file is an error naming it.
pub fn load(dir: &Path) -> Result<BTreeMap<String, Estimate>> {
    let mut out = BTreeMap::new();
    for new_dir in new_dirs(dir)? {
        let est = read_one(&new_dir)?;
        out.insert(est.id.clone(), est);
    }
    Ok(out)
}

/// When criterion finished each benchmark under `dir`: the modification time of its
/// `new/estimates.json`, in seconds since the Unix epoch, by full benchmark name.
pub fn finished_at(dir: &Path) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for new_dir in new_dirs(dir)? {
        let bench: BenchmarkJson = read_json(new_dir.join("benchmark.json"))?;
        let at = std::fs::metadata(new_dir.join("estimates.json"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        if let Some(at) = at {
            out.insert(bench.full_id, at.as_secs_f64());
        }
    }
    Ok(out)
}

/// Every benchmark's `new/` directory under `dir` (none when `dir` does not exist).
fn new_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| Error::io(format!("reading {}", d.display()), e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") && path.join("benchmark.json").exists()
            {
                out.push(path);
            } else if !is_criterion_own(&path) {
                stack.push(path);
            }
        }
    }
    Ok(out)
}

/// Criterion's own `base/` (the previous run) and `report/` directories, as opposed to a
/// benchmark group of that name (the `base` group holds no `benchmark.json` or `index.html`).
fn is_criterion_own(path: &Path) -> bool {
    match path.file_name().and_then(|n| n.to_str()) {
        Some("base") => path.join("benchmark.json").exists(),
        Some("report") => path.join("index.html").exists(),
        _ => false,
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: PathBuf) -> Result<T> {
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    serde_json::from_str(&text).map_err(|e| Error::Results {
        path,
        what: format!("not a criterion output file: {e}"),
    })
}

fn read_one(new_dir: &Path) -> Result<Estimate> {
    let bench: BenchmarkJson = read_json(new_dir.join("benchmark.json"))?;
    let est: EstimatesJson = read_json(new_dir.join("estimates.json"))?;
    let samples = read_json::<SampleJson>(new_dir.join("sample.json"))
        .map(|s| s.iters.len())
        .unwrap_or(0);
    let bytes = bench.throughput.as_ref().and_then(|t| {
        t.get("Bytes")
            .or_else(|| t.get("BytesDecimal"))
            .and_then(|n| n.as_u64())
    });
    Ok(Estimate {
        id: bench.full_id,
        median_ns: est.median.point_estimate,
        lower_ns: est.median.confidence_interval.lower_bound,
        upper_ns: est.median.confidence_interval.upper_bound,
        samples,
        bytes,
    })
}
