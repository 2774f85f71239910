//! JSON output: the model or the comparisons, pretty-printed.

use super::{Artifact, Exporter};
use crate::model::compare::Comparison;
use crate::model::ModelOutput;
use crate::{Error, Result};
use serde::Serialize;

/// Pretty JSON (the model's is described by `results/model.schema.json`).
pub struct Json;

fn render<T: Serialize>(name: &str, v: &T) -> Result<Vec<Artifact>> {
    let mut text = serde_json::to_string_pretty(v)
        .map_err(|e| Error::Usage(format!("cannot render {name} as JSON: {e}")))?;
    text.push('\n');
    Ok(vec![Artifact {
        name: name.to_string(),
        bytes: text.into_bytes(),
    }])
}

impl Exporter for Json {
    fn format(&self) -> &'static str {
        "json"
    }
    fn model(&self, model: &ModelOutput) -> Result<Vec<Artifact>> {
        render("model.json", model)
    }
    fn comparison(&self, cmp: &[Comparison]) -> Result<Vec<Artifact>> {
        render("compare.json", &cmp)
    }
}
