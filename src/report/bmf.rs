//! Bencher Metric Format: `{"name": {"latency": {"value", "lower_value", "upper_value"}}}`
//! in nanoseconds, the format continuous-benchmarking services read.

use super::{Artifact, Exporter};
use crate::model::ModelOutput;
use crate::results::criterion::Estimate;
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Bencher Metric Format exporter.
pub struct Bmf;

fn latency(value: f64, lower: f64, upper: f64) -> Value {
    json!({ "latency": { "value": value, "lower_value": lower, "upper_value": upper } })
}

/// BMF of benchmark estimates, by their full names.
pub fn estimates(est: &BTreeMap<String, Estimate>) -> Map<String, Value> {
    est.iter()
        .map(|(id, e)| (id.clone(), latency(e.median_ns, e.lower_ns, e.upper_ns)))
        .collect()
}

fn to_bytes(map: Map<String, Value>) -> Result<Vec<Artifact>> {
    let mut text = serde_json::to_string_pretty(&Value::Object(map))
        .map_err(|e| Error::Usage(format!("cannot render Bencher Metric Format: {e}")))?;
    text.push('\n');
    Ok(vec![Artifact {
        name: "bmf.json".into(),
        bytes: text.into_bytes(),
    }])
}

impl Exporter for Bmf {
    fn format(&self) -> &'static str {
        "bmf"
    }
    /// Every estimate the model used, each component (`model/component/<id>`) and each
    /// configuration (`model/config/<name>`), per call, in ns.
    fn model(&self, model: &ModelOutput) -> Result<Vec<Artifact>> {
        let mut map = estimates(&model.estimates);
        for c in &model.components {
            if let Some(m) = &c.measured {
                map.insert(
                    format!("model/component/{}", c.id),
                    latency(m.us * 1e3, m.lower_us * 1e3, m.upper_us * 1e3),
                );
            }
        }
        for c in &model.configurations {
            map.insert(
                format!("model/config/{}", c.name),
                latency(c.us * 1e3, c.lower_us * 1e3, c.upper_us * 1e3),
            );
        }
        to_bytes(map)
    }
}
