//! `tlscost validate`: the model checked end to end on the testbed, as the paper checks its
//! model on its proxy (Sec. V-B, V-C). Every testbed configuration is run several times
//! (median and spread); the model is calibrated on UDP, TLS persistent (proxy chain) and
//! TLS with a new connection per call (outbound: server side; inbound: client side) (set
//! A), separately on the paper's own subtraction set, which adds TCP (set B), and on set A
//! plus the resumed handshakes of each side, which determines a fixed µs per new TLS
//! connection per side beside the handshake factors (set C); each predicts the
//! configurations it was not fitted on. The local proxy is also predicted the
//! paper's way (Fig. 16: inbound + outbound − proxy chain, from the measured figures), and
//! a leave-one-out fit on every measured configuration is shown beside them.

use super::{plan_for, provenance, run_series, series_table, Bed, Series};
use crate::handshake::Pki;
use crate::model::calibrate::{self, Calibration, ConnectionTerm, Measured};
use crate::model::configs::{ProxyMode, Transport};
use crate::model::{
    default_criterion_dir, default_results_dir, load_estimates, Flows, ModelOptions,
};
use crate::report::svg::{grouped_bars, Group};
use crate::{Error, Result};
use serde::Serialize;
use std::path::PathBuf;

/// The configurations the model is calibrated on (the set: UDP, TLS persistent,
/// TLS with a new connection per call on each side); the rest are predicted.
pub const CALIBRATION_SET: [&str; 4] = [
    "proxy-chain/udp",
    "proxy-chain/tls-aes",
    "outbound/tls",
    "inbound/tls",
];

/// The paper's own subtraction set (Sec. V-A): UDP, TCP and TLS in the proxy chain, and TCP
/// and TLS with a new connection per call on each side; mutual, resumed and local predicted.
pub const PAPER_SET: [&str; 7] = [
    "proxy-chain/udp",
    "proxy-chain/tcp",
    "proxy-chain/tls-aes",
    "outbound/tcp",
    "outbound/tls",
    "inbound/tcp",
    "inbound/tls",
];

/// Set A plus the resumed handshake of each side: full and resumed tell the fixed cost of
/// a new TLS connection (µs, per side) from the handshake's crypto (× bare).
pub const CONNECTION_SET: [&str; 6] = [
    "proxy-chain/udp",
    "proxy-chain/tls-aes",
    "outbound/tls",
    "inbound/tls",
    "outbound/tls-resumed",
    "inbound/tls-resumed",
];

/// The calibration sets, with their labels and whether the per-connection term is fitted.
pub const SETS: [(&str, &[&str], ConnectionTerm); 3] = [
    (
        "A: UDP + TLS chain + TLS per call (factors only)",
        &CALIBRATION_SET,
        ConnectionTerm::Auto,
    ),
    (
        "B: the paper's subtraction set (factors only)",
        &PAPER_SET,
        ConnectionTerm::Auto,
    ),
    (
        "C: A + resumed TLS per call (factors + µs per new TLS connection)",
        &CONNECTION_SET,
        ConnectionTerm::Required,
    ),
];

/// The paper's validation figures.
pub const PAPER_FIG14: &str = "Fig. 14: peak throughput extrapolated from CPU at 50 calls/s, average error under 15% (a few configurations 35-45%)";
/// Fig. 16.
pub const PAPER_FIG16: &str =
    "Fig. 16: local proxy predicted as inbound + outbound vs measured, 3% to 13% apart";

/// Arguments of `tlscost validate`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Measured calls per run.
    #[arg(long, default_value_t = 300)]
    pub calls: u64,
    /// Warm-up calls per run, not measured.
    #[arg(long, default_value_t = 10)]
    pub warmup: u64,
    /// Calls started per second.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Runs per configuration (median and spread are reported).
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Use these testbed figures (a calibration file written by `tlscost testbed`)
    /// instead of running the testbed.
    #[arg(long, value_name = "FILE")]
    pub measured: Option<PathBuf>,
    /// Read the model's estimates from this results file instead of criterion's output.
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// Criterion's output directory (default: target/criterion).
    #[arg(long, value_name = "DIR")]
    pub criterion_dir: Option<PathBuf>,
    /// Directory for the testbed CSV, the validation JSON and the SVG (default: results/).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Write nothing.
    #[arg(long)]
    pub no_save: bool,
}

/// One configuration's prediction under one calibration set.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// In the calibration set (fitted, not predicted).
    pub calibration: bool,
    /// The calibrated model, µs.
    pub predicted_us: Option<f64>,
    /// (predicted − measured) / measured.
    pub error: Option<f64>,
}

/// One configuration in the validation table.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationRow {
    /// Configuration name.
    pub name: String,
    /// Median measured µs per call.
    pub measured_us: f64,
    /// Max − min of the runs (µs), when repeated.
    pub spread_us: Option<f64>,
    /// The bare model (every factor 1), µs.
    pub model_us: Option<f64>,
    /// One cell per calibration set ([`SETS`]).
    pub sets: Vec<Cell>,
    /// Leave-one-out error of a fit on every measured configuration.
    pub loo_error: Option<f64>,
}

/// Fig. 16 on the testbed: a local configuration measured, predicted by the calibrated
/// model, and predicted from the measured inbound + outbound − proxy chain.
#[derive(Debug, Clone, Serialize)]
pub struct LocalRow {
    /// Local configuration.
    pub name: String,
    /// Measured µs.
    pub measured_us: f64,
    /// Calibrated model, µs, per calibration set.
    pub model_us: Vec<Option<f64>>,
    /// Measured inbound + outbound − proxy chain, µs.
    pub composed_us: Option<f64>,
}

/// One calibration set's fit and how well it predicts the rest.
#[derive(Debug, Clone, Serialize)]
pub struct SetResult {
    /// Label.
    pub label: String,
    /// The configurations it is fitted on.
    pub members: Vec<String>,
    /// The fit.
    pub calibration: Calibration,
    /// Mean |error| over the predicted configurations.
    pub mean_abs_error: f64,
    /// Largest |error| over them.
    pub max_abs_error: f64,
    /// How many predicted configurations are within 10%.
    pub within_10: usize,
    /// Within 15%.
    pub within_15: usize,
    /// Predicted configurations.
    pub predicted: usize,
}

/// The whole validation.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// Per configuration.
    pub rows: Vec<ValidationRow>,
    /// Per calibration set ([`SETS`]).
    pub sets: Vec<SetResult>,
    /// The fit on every measured configuration (leave-one-out).
    pub all_fit: Option<Calibration>,
    /// Fig. 16.
    pub local: Vec<LocalRow>,
}

/// Calibrates on each of [`SETS`] and compares every other measured configuration.
pub fn validate(series: &[Series], values: &calibrate::ComponentValues) -> Result<Validation> {
    let measured_of = |names: &[&str]| -> Result<Vec<Measured>> {
        names
            .iter()
            .map(|n| {
                let s = series.iter().find(|s| s.bed.name() == *n).ok_or_else(|| {
                    Error::Usage(format!("validation needs the testbed figure of {n}"))
                })?;
                Ok(Measured {
                    config: s.bed.config(),
                    us: s.median(),
                    spread_us: Some(s.spread()),
                    protocol: None,
                })
            })
            .collect()
    };
    let mut fits = Vec::new();
    for (_, members, term) in SETS {
        fits.push(calibrate::fit_with(&measured_of(members)?, values, term)?);
    }
    let all_names: Vec<String> = series.iter().map(|s| s.bed.name()).collect();
    let all_refs: Vec<&str> = all_names.iter().map(String::as_str).collect();
    let all_fit = calibrate::fit(&measured_of(&all_refs)?, values).ok();

    let mut rows = Vec::new();
    for s in series {
        let name = s.bed.name();
        let m = s.median();
        let cells = SETS
            .iter()
            .zip(&fits)
            .map(|((_, members, _), cal)| {
                let pred = cal
                    .rows
                    .iter()
                    .find(|r| r.name == name)
                    .and_then(|r| r.predicted_us);
                Cell {
                    calibration: members.contains(&name.as_str()),
                    predicted_us: pred,
                    error: pred.map(|p| p / m - 1.0),
                }
            })
            .collect();
        rows.push(ValidationRow {
            measured_us: m,
            spread_us: (s.runs.len() > 1).then(|| s.spread()),
            model_us: fits[0]
                .rows
                .iter()
                .find(|r| r.name == name)
                .and_then(|r| r.model_us),
            sets: cells,
            loo_error: all_fit
                .as_ref()
                .and_then(|f| f.rows.iter().find(|r| r.name == name))
                .and_then(|r| r.loo_error),
            name,
        });
    }
    let sets = SETS
        .iter()
        .zip(fits)
        .enumerate()
        .map(|(i, ((label, members, _), cal))| {
            let errs: Vec<f64> = rows
                .iter()
                .filter(|r| !r.sets[i].calibration)
                .filter_map(|r| r.sets[i].error.map(f64::abs))
                .collect();
            SetResult {
                label: label.to_string(),
                members: members.iter().map(|m| m.to_string()).collect(),
                calibration: cal,
                mean_abs_error: if errs.is_empty() {
                    0.0
                } else {
                    errs.iter().sum::<f64>() / errs.len() as f64
                },
                max_abs_error: errs.iter().copied().fold(0.0, f64::max),
                within_10: errs.iter().filter(|e| **e <= 0.10).count(),
                within_15: errs.iter().filter(|e| **e <= 0.15).count(),
                predicted: errs.len(),
            }
        })
        .collect();
    let median_of = |mode: ProxyMode, s: &Series| {
        series
            .iter()
            .find(|x| {
                x.bed.mode == mode && x.bed.transport == s.bed.transport && {
                    mode == ProxyMode::ProxyChain || x.bed.kind == s.bed.kind
                }
            })
            .map(Series::median)
    };
    let local = series
        .iter()
        .filter(|s| s.bed.mode == ProxyMode::Local)
        .map(|s| {
            let composed = match (
                median_of(ProxyMode::Inbound, s),
                median_of(ProxyMode::Outbound, s),
                median_of(ProxyMode::ProxyChain, s),
            ) {
                (Some(i), Some(o), Some(c)) => Some(i + o - c),
                _ => None,
            };
            let row = rows.iter().find(|r| r.name == s.bed.name());
            LocalRow {
                name: s.bed.name(),
                measured_us: s.median(),
                model_us: row
                    .map(|r| r.sets.iter().map(|c| c.predicted_us).collect())
                    .unwrap_or_default(),
                composed_us: composed,
            }
        })
        .collect();
    Ok(Validation {
        rows,
        sets,
        all_fit,
        local,
    })
}

fn pct(e: Option<f64>) -> String {
    e.map(calibrate::pct).unwrap_or_else(|| "-".into())
}

fn us(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.1}")).unwrap_or_else(|| "-".into())
}

/// The validation as terminal text.
pub fn render(v: &Validation) -> String {
    let mut out = String::new();
    // Factors: one row per factor, one column per fit.
    let mut fits: Vec<(String, &Calibration)> = v
        .sets
        .iter()
        .map(|s| (s.label.clone(), &s.calibration))
        .collect();
    if let Some(a) = &v.all_fit {
        fits.push((format!("all {} measured ({})", a.measured, a.method), a));
    }
    for s in &v.sets {
        out.push_str(&format!(
            "{}: fitted on {} ({})\n",
            s.label,
            s.members.join(", "),
            s.calibration.method
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for (_, cal) in &fits {
        for f in &cal.factors {
            if !names.contains(&f.name) {
                names.push(f.name.clone());
            }
        }
    }
    let mut t = comfy_table::Table::new();
    let mut header = vec!["factor (× bare) / term (µs per new TLS connection)".to_string()];
    header.extend(
        fits.iter()
            .map(|(l, _)| l.split(':').next().unwrap_or(l).to_string()),
    );
    t.set_header(header);
    for n in &names {
        let mut row = vec![n.clone()];
        for (_, cal) in &fits {
            let cell = cal.factors.iter().find(|f| &f.name == n).map(|f| {
                if f.unit == "× bare" {
                    format!(
                        "{:.2}{}",
                        f.value,
                        f.std_error
                            .map(|s| format!(" ± {s:.2}"))
                            .unwrap_or_default()
                    )
                } else {
                    format!(
                        "{:.0} µs{}",
                        f.value,
                        f.std_error
                            .map(|s| format!(" ± {s:.0}"))
                            .unwrap_or_default()
                    )
                }
            });
            row.push(cell.unwrap_or_default());
        }
        t.add_row(row);
    }
    out.push_str(&format!("{t}\n"));
    let mut t = comfy_table::Table::new();
    let mut header = vec![
        "configuration".to_string(),
        "measured µs (median)".into(),
        "spread (± half range)".into(),
        "bare model µs".into(),
    ];
    for (label, _, _) in SETS {
        let short = label.split(':').next().unwrap_or(label);
        header.push(format!("{short}: calibrated µs"));
        header.push(format!("{short}: error"));
    }
    header.push("leave-one-out (all)".into());
    t.set_header(header);
    for r in &v.rows {
        let mut row = vec![
            r.name.clone(),
            format!("{:.1}", r.measured_us),
            r.spread_us
                .map(|s| format!("±{:.1}%", 50.0 * s / r.measured_us))
                .unwrap_or_else(|| "-".into()),
            us(r.model_us),
        ];
        for c in &r.sets {
            row.push(us(c.predicted_us));
            row.push(if c.calibration {
                "(fitted)".into()
            } else {
                pct(c.error)
            });
        }
        row.push(pct(r.loo_error));
        t.add_row(row);
    }
    out.push_str(&format!("{t}\n"));
    for s in &v.sets {
        out.push_str(&format!(
            "{}: predicted configurations mean |error| {:.1}%, largest {:.1}%; {} of {} within 10%, {} of {} within 15%.\n",
            s.label,
            s.mean_abs_error * 100.0,
            s.max_abs_error * 100.0,
            s.within_10,
            s.predicted,
            s.within_15,
            s.predicted
        ));
    }
    out.push_str(&format!("  Paper {PAPER_FIG14}.\n"));
    for s in &v.sets {
        for w in &s.calibration.warnings {
            out.push_str(&format!("Warning ({}): {w}\n", s.label));
        }
    }
    let mut t = comfy_table::Table::new();
    let mut header = vec!["local configuration".to_string(), "measured µs".into()];
    for (label, _, _) in SETS {
        let short = label.split(':').next().unwrap_or(label);
        header.push(format!("{short}: model"));
        header.push("error".into());
    }
    header.push("in + out − chain (measured)".into());
    header.push("error".into());
    t.set_header(header);
    for l in &v.local {
        let e = |p: Option<f64>| pct(p.map(|p| p / l.measured_us - 1.0));
        let mut row = vec![l.name.clone(), format!("{:.1}", l.measured_us)];
        for m in &l.model_us {
            row.push(us(*m));
            row.push(e(*m));
        }
        row.push(us(l.composed_us));
        row.push(e(l.composed_us));
        t.add_row(row);
    }
    out.push_str(&format!("{t}\n  Paper {PAPER_FIG16}.\n"));
    out
}

/// The Fig. 16-like plot: measured vs calibrated model for every configuration, and the
/// local ones also composed from the measured inbound + outbound − proxy chain.
pub fn svg(v: &Validation) -> Result<String> {
    let groups: Vec<Group> = v
        .rows
        .iter()
        .map(|r| {
            let mut values = vec![Some(r.measured_us)];
            values.extend(r.sets.iter().map(|c| c.predicted_us));
            values.push(
                v.local
                    .iter()
                    .find(|l| l.name == r.name)
                    .and_then(|l| l.composed_us),
            );
            Group {
                label: r.name.clone(),
                values,
            }
        })
        .collect();
    let mut series = vec!["measured (median)".to_string()];
    for (label, _, _) in SETS {
        let short = label.split(':').next().unwrap_or(label);
        series.push(format!("model calibrated on set {short}"));
    }
    series.push("inbound + outbound − chain".into());
    let series: Vec<&str> = series.iter().map(String::as_str).collect();
    grouped_bars(
        "Testbed: measured vs calibrated model, µs of proxy CPU per call (cf. Fig. 16)",
        "µs per call",
        &series,
        &groups,
    )
}

/// `tlscost validate`.
pub fn run(args: Args) -> Result<()> {
    // The model first: a missing benchmark stops here, before minutes of testbed runs.
    let opts = ModelOptions::default();
    let criterion_dir = args
        .criterion_dir
        .clone()
        .unwrap_or_else(default_criterion_dir);
    let est = load_estimates(args.results.as_deref(), &criterion_dir)?;
    let flows = Flows::from_fixtures(&crate::fixtures::Fixtures::locate()?)?;
    let (values, missing) = calibrate::component_values(&opts, &flows, &est);
    let beds = Bed::all();
    for b in &beds {
        for id in crate::model::components::ComponentId::compose(&b.config()) {
            if let Some(why) = missing.get(&id) {
                return Err(Error::Usage(format!(
                    "validate: the model lacks component {} for {}: {why}",
                    id.id(),
                    b.name()
                )));
            }
        }
    }
    let out_dir = args.out_dir.clone().unwrap_or_else(default_results_dir);
    let series = match &args.measured {
        Some(file) => calibrate::read_file(file)?
            .into_iter()
            .filter(|m| m.config.transport == Transport::Udp || !m.config.auth)
            .map(|m| {
                Ok(Series {
                    bed: Bed::from_name(&m.config.name())?,
                    runs: vec![m.us],
                })
            })
            .collect::<Result<Vec<_>>>()?,
        None => {
            let plan = plan_for(args.calls, args.warmup, args.rate, args.repeat, beds.len())?;
            let pki = Pki::locate()?;
            let series = run_series(&beds, &plan, &pki, args.repeat)?;
            if !args.no_save {
                let rows: Vec<_> = series.iter().map(Series::measurement).collect();
                let path = out_dir.join("testbed-calibration.csv");
                calibrate::write_csv(&path, &provenance(&plan, args.repeat), &rows)?;
                eprintln!("testbed figures: {}", path.display());
            }
            series
        }
    };
    print!("{}", series_table(&series));
    let v = validate(&series, &values)?;
    print!("{}", render(&v));
    if !args.no_save {
        let svg = svg(&v)?;
        let path = out_dir.join("validate-testbed.svg");
        crate::fsutil::write_atomic(&path, svg.as_bytes())?;
        eprintln!("plot: {}", path.display());
        let json = serde_json::to_vec_pretty(&v).map_err(|e| Error::Results {
            path: out_dir.clone(),
            what: format!("cannot serialise the validation: {e}"),
        })?;
        let path = out_dir.join("validate-testbed.json");
        crate::fsutil::write_atomic(&path, &json)?;
        eprintln!("validation: {}", path.display());
    }
    Ok(())
}
