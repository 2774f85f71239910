//! Output formats, one exporter per format behind one trait (as hyperfine's `src/export/`):
//! terminal table, markdown, JSON, Bencher Metric Format and SVG plots.

pub mod bmf;
pub mod calibration;
pub mod json;
pub mod svg;
pub mod table;
pub mod validation;

use crate::model::compare::Comparison;
use crate::model::ModelOutput;
use crate::{Error, Result};
use std::path::Path;

/// One produced output: a suggested file name and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    /// File name to write it under (e.g. `model-components.svg`).
    pub name: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// A report format.
pub trait Exporter {
    /// The format's name (`table`, `markdown`, `json`, `bmf`, `svg`).
    fn format(&self) -> &'static str;

    /// Renders the per-call model.
    fn model(&self, model: &ModelOutput) -> Result<Vec<Artifact>>;

    /// Renders backend or file comparisons. Formats that cannot say so.
    fn comparison(&self, cmp: &[Comparison]) -> Result<Vec<Artifact>> {
        let _ = cmp;
        Err(Error::Unsupported {
            backend: self.format(),
            what: "comparisons (use the table, markdown or JSON output)".into(),
        })
    }
}

/// Writes the single artifact of a one-file format to `path`, atomically.
pub fn write_artifacts_to(artifacts: &[Artifact], path: &Path) -> Result<()> {
    match artifacts {
        [one] => crate::fsutil::write_atomic(path, &one.bytes),
        _ => Err(Error::Usage(format!(
            "{}: this format makes {} files, expected one",
            path.display(),
            artifacts.len()
        ))),
    }
}

/// `us` with a precision that suits its size.
pub fn fmt_us(us: f64) -> String {
    if us.abs() >= 100.0 {
        format!("{us:.0}")
    } else if us.abs() >= 10.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.2}")
    }
}

/// An optional number, or `-`.
pub fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

/// The exporter for standard output that the `--json` / `--markdown` flags select
/// (the terminal table otherwise).
pub fn stdout_exporter(json: bool, markdown: bool) -> Box<dyn Exporter> {
    if json {
        Box::new(json::Json)
    } else if markdown {
        Box::new(table::Table::markdown())
    } else {
        Box::new(table::Table::terminal())
    }
}
