//! The paper's published figures (`results/paper.json`), loaded and checked, so every
//! report can stand the paper's number beside ours.

use super::components::ComponentId;
use super::configs::Config;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The schema tag `results/paper.json` must carry.
pub const PAPER_SCHEMA: &str = "tlscost-paper/1";

/// One number of the paper: a value or a range, marked when the text says "about".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The value (the midpoint for a range, when one is given).
    #[serde(default)]
    pub value: Option<f64>,
    /// Lower end of a range.
    #[serde(default)]
    pub low: Option<f64>,
    /// Upper end of a range.
    #[serde(default)]
    pub high: Option<f64>,
    /// The text says "about", "roughly" or "around".
    #[serde(default)]
    pub about: bool,
    /// Where in the paper.
    #[serde(default)]
    pub source: Option<String>,
    /// Why the value is ambiguous, when it is.
    #[serde(default)]
    pub note: Option<String>,
}

/// A ratio of one configuration to another (`value` = this / `to`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    /// The configuration it is relative to.
    pub to: String,
    /// The ratio.
    pub value: f64,
    /// The text says "about".
    #[serde(default)]
    pub about: bool,
    /// Where in the paper.
    #[serde(default)]
    pub source: Option<String>,
}

/// One configuration the paper reports, with its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperConfig {
    /// The name as the model prints it (see [`Config::name`]).
    pub name: String,
    /// CPU events at 50 calls/s (thousands), when the text gives them.
    #[serde(default)]
    pub events_k: Option<Figure>,
    /// Events as a ratio to another configuration, when only that is given.
    #[serde(default)]
    pub events_ratio: Option<Ratio>,
    /// Peak-throughput ratio to another configuration.
    #[serde(default)]
    pub throughput_ratio: Option<Ratio>,
}

/// The configuration list with the paper's count and the note on its mismatch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configurations {
    /// The count the paper states (18).
    pub count_stated: usize,
    /// How many the text actually reports.
    pub count_listed: usize,
    /// The explanation of the mismatch.
    pub note: String,
    /// Every configuration.
    pub list: Vec<PaperConfig>,
}

/// One Fig. 13 component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperComponent {
    /// Identifier, as [`ComponentId::id`].
    pub id: String,
    /// Label.
    pub label: String,
    /// Cost normalized to the UDP base = 1.0.
    pub units: Figure,
}

#[derive(Debug, Clone, Deserialize)]
struct ComponentList {
    list: Vec<PaperComponent>,
}

#[derive(Debug, Clone, Deserialize)]
struct PaperJson {
    schema: String,
    configurations: Configurations,
    components: ComponentList,
}

/// `results/paper.json`, loaded and checked.
#[derive(Debug, Clone)]
pub struct Paper {
    /// Where it was read from.
    pub path: PathBuf,
    /// The configurations the paper reports.
    pub configurations: Configurations,
    /// The Fig. 13 components.
    pub components: Vec<PaperComponent>,
    /// The whole file, for the figures the model does not use directly.
    pub raw: serde_json::Value,
}

/// CPU events (thousands at 50 calls/s) of the paper's base configuration, `proxy-chain/udp`.
pub const BASE_CONFIG: &str = "proxy-chain/udp";

impl Paper {
    /// `$TLSCOST_PAPER` if set, else `<crate>/results/paper.json`.
    pub fn default_path() -> PathBuf {
        std::env::var_os("TLSCOST_PAPER")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("results/paper.json"))
    }

    /// Loads the default file.
    pub fn locate() -> Result<Paper> {
        Paper::load(&Paper::default_path())
    }

    /// Loads and checks `path`: the schema tag, every configuration name known to the
    /// model and every configuration the model knows listed, ratios referring to listed
    /// configurations, every Fig. 13 component present.
    pub fn load(path: &Path) -> Result<Paper> {
        let bad = |what: String| Error::Results {
            path: path.to_path_buf(),
            what,
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            bad(format!(
                "cannot read the paper's figures ({e}); expected results/paper.json from the repository"
            ))
        })?;
        let raw: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| bad(format!("not valid JSON (truncated or corrupt?): {e}")))?;
        let parsed: PaperJson = serde_json::from_value(raw.clone())
            .map_err(|e| bad(format!("not a paper-figures file: {e}")))?;
        if parsed.schema != PAPER_SCHEMA {
            return Err(bad(format!(
                "schema '{}', expected '{PAPER_SCHEMA}'",
                parsed.schema
            )));
        }
        let names: Vec<&str> = parsed
            .configurations
            .list
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        for c in &parsed.configurations.list {
            Config::from_name(&c.name).map_err(|e| bad(e.to_string()))?;
            for r in [&c.events_ratio, &c.throughput_ratio].into_iter().flatten() {
                if !names.contains(&r.to.as_str()) {
                    return Err(bad(format!(
                        "configuration {} refers to unlisted configuration {}",
                        c.name, r.to
                    )));
                }
            }
        }
        for c in Config::all() {
            if !names.contains(&c.name().as_str()) {
                return Err(bad(format!("configuration {} is missing", c.name())));
            }
        }
        if parsed.configurations.list.len() != parsed.configurations.count_listed {
            return Err(bad(format!(
                "count_listed is {} but {} configurations are listed",
                parsed.configurations.count_listed,
                parsed.configurations.list.len()
            )));
        }
        let paper = Paper {
            path: path.to_path_buf(),
            configurations: parsed.configurations,
            components: parsed.components.list,
            raw,
        };
        for id in ComponentId::table() {
            if let Some(pid) = id.paper_id() {
                if paper.component(&id).is_none() {
                    return Err(bad(format!("Fig. 13 component {pid} is missing")));
                }
            }
        }
        Ok(paper)
    }

    /// The paper's figure for a component (normalized units).
    pub fn component(&self, id: &ComponentId) -> Option<&PaperComponent> {
        let key = id.paper_id()?;
        self.components.iter().find(|c| c.id == key)
    }

    /// The paper's entry for a configuration.
    pub fn config(&self, name: &str) -> Option<&PaperConfig> {
        self.configurations.list.iter().find(|c| c.name == name)
    }

    /// A configuration's CPU events (thousands), directly or through its events ratio.
    /// The flag is true when derived from a ratio rather than printed.
    pub fn events_k(&self, name: &str) -> Option<(f64, bool)> {
        let c = self.config(name)?;
        if let Some(v) = c.events_k.as_ref().and_then(|f| f.value) {
            return Some((v, false));
        }
        let r = c.events_ratio.as_ref()?;
        // Ratios chain to a printed figure in two steps at most; guard against loops anyway.
        if r.to == name {
            return None;
        }
        self.events_k(&r.to).map(|(v, _)| (v * r.value, true))
    }

    /// A configuration's CPU events normalized to the paper's base (`proxy-chain/udp` = 1.0).
    pub fn events_units(&self, name: &str) -> Option<(f64, bool)> {
        let (base, _) = self.events_k(BASE_CONFIG)?;
        self.events_k(name).map(|(v, d)| (v / base, d))
    }

    /// The paper's own Fig. 13 components composed as the model composes ours.
    pub fn model_units(&self, config: &Config) -> Option<f64> {
        ComponentId::compose(config)
            .iter()
            // The paper's handshake figures are whole connections (oprofile deltas): they
            // hold what ours splits off as connection handling on sockets.
            .filter(|id| !matches!(id, ComponentId::TlsConnection(..)))
            .map(|id| {
                let id = match id {
                    // The paper gives one auth-over-TLS figure, measured with AES.
                    ComponentId::Auth(t, _) => {
                        ComponentId::Auth(*t, super::configs::BulkSuite::Aes)
                    }
                    other => *other,
                };
                self.component(&id).and_then(|c| c.units.value)
            })
            .sum()
    }
}
