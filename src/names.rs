//! Benchmark names, composed in one place.
//!
//! A benchmark is `group/function[/parameter]`, e.g.
//! `handshake/openssl/tls12-rsa-aes128-sha/resumed-ticket/server` or
//! `record/openssl/aes128-sha/seal/1024`. Criterion reports the same string as
//! `full_id` in `target/criterion/**/new/benchmark.json`, gungraun and the
//! model use it as the key, so a component is named identically everywhere.

use std::fmt;

/// A scenario dimension (backend, stack, kind, side, ...): a closed list of values with labels.
pub trait Dimension: Copy + Sized + 'static {
    /// Every value, in report order.
    const ALL: &'static [Self];
    /// The short, lowercase, dash-separated label used in benchmark names.
    fn label(&self) -> &'static str;

    /// Parses a label back into a value; the error lists the valid labels.
    fn from_label(what: &str, s: &str) -> crate::Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.label() == s)
            .ok_or_else(|| {
                let valid: Vec<&str> = Self::ALL.iter().map(|v| v.label()).collect();
                crate::Error::Usage(format!(
                    "unknown {what} '{s}'; expected one of: {}",
                    valid.join(", ")
                ))
            })
    }
}

/// The name of one benchmark: criterion group, function id, optional parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BenchId {
    /// Criterion group = cost component (`rsa`, `cipher`, `mac`, `record`, `handshake`, ...).
    pub group: &'static str,
    /// Function id inside the group, labels joined by `/`.
    pub function: String,
    /// Parameter (a size, usually), if any.
    pub parameter: Option<String>,
}

impl BenchId {
    /// A name from a group and the labels of the function id.
    pub fn new(group: &'static str, labels: &[&str]) -> Self {
        BenchId {
            group,
            function: labels.join("/"),
            parameter: None,
        }
    }

    /// The same name with a parameter (a size in bytes or bits).
    pub fn with_parameter(mut self, parameter: impl fmt::Display) -> Self {
        self.parameter = Some(parameter.to_string());
        self
    }

    /// The full name, as criterion's `full_id`.
    pub fn full(&self) -> String {
        match &self.parameter {
            Some(p) => format!("{}/{}/{}", self.group, self.function, p),
            None => format!("{}/{}", self.group, self.function),
        }
    }
}

impl fmt::Display for BenchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full())
    }
}
