//! `tlscost validate`: the model checked end to end on the testbed, as the paper checks its
//! model on its proxy (Sec. V-B, V-C). Every testbed configuration is run several times
//! (median and spread); the model is calibrated on UDP, TLS persistent (proxy chain) and
//! TLS with a new connection per call (outbound: server side; inbound: client side), and
//! predicts the others; the local proxy is also predicted the paper's way (Fig. 16:
//! inbound + outbound − proxy chain). A leave-one-out fit on every measured configuration
//! is shown beside it.

use super::{plan_for, provenance, run_series, series_table, Bed, Series};
use crate::handshake::Pki;
use crate::model::calibrate::{self, Calibration, Measured};
use crate::model::configs::{ProxyMode, Transport};
use crate::model::{
    default_criterion_dir, default_results_dir, load_estimates, Flows, ModelOptions,
};
use crate::report::svg::{grouped_bars, Group};
use crate::{Error, Result};
use serde::Serialize;
use std::path::PathBuf;

/// The configurations the model is calibrated on (the rest are predicted).
pub const CALIBRATION_SET: [&str; 4] = [
    "proxy-chain/udp",
    "proxy-chain/tls-aes",
    "outbound/tls",
    "inbound/tls",
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

/// One configuration in the validation table.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationRow {
    /// Configuration name.
    pub name: String,
    /// `calibration` or `predicted`.
    pub role: String,
    /// Median measured µs per call.
    pub measured_us: f64,
    /// Max − min of the runs (µs), when repeated.
    pub spread_us: Option<f64>,
    /// The bare model (every factor 1), µs.
    pub model_us: Option<f64>,
    /// The calibrated model, µs.
    pub predicted_us: Option<f64>,
    /// (predicted − measured) / measured.
    pub error: Option<f64>,
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
    /// Calibrated model, µs.
    pub model_us: Option<f64>,
    /// Measured inbound + outbound − proxy chain, µs.
    pub composed_us: Option<f64>,
}

/// The whole validation.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// Per configuration.
    pub rows: Vec<ValidationRow>,
    /// The calibration on [`CALIBRATION_SET`].
    pub calibration: Calibration,
    /// The fit on every measured configuration (leave-one-out).
    pub all_fit: Option<Calibration>,
    /// Fig. 16.
    pub local: Vec<LocalRow>,
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

/// Calibrates on [`CALIBRATION_SET`] and compares every other measured configuration.
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
                })
            })
            .collect()
    };
    let cal = calibrate::fit(&measured_of(&CALIBRATION_SET)?, values)?;
    let all_names: Vec<String> = series.iter().map(|s| s.bed.name()).collect();
    let all_refs: Vec<&str> = all_names.iter().map(String::as_str).collect();
    let all_fit = calibrate::fit(&measured_of(&all_refs)?, values).ok();

    let mut rows = Vec::new();
    for s in series {
        let name = s.bed.name();
        let r = cal.rows.iter().find(|r| r.name == name);
        let pred = r.and_then(|r| r.predicted_us);
        let m = s.median();
        rows.push(ValidationRow {
            role: if CALIBRATION_SET.contains(&name.as_str()) {
                "calibration".into()
            } else {
                "predicted".into()
            },
            measured_us: m,
            spread_us: (s.runs.len() > 1).then(|| s.spread()),
            model_us: r.and_then(|r| r.model_us),
            predicted_us: pred,
            error: pred.map(|p| p / m - 1.0),
            loo_error: all_fit
                .as_ref()
                .and_then(|f| f.rows.iter().find(|r| r.name == name))
                .and_then(|r| r.loo_error),
            name,
        });
    }
    let errs: Vec<f64> = rows
        .iter()
        .filter(|r| r.role == "predicted")
        .filter_map(|r| r.error.map(f64::abs))
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
            LocalRow {
                name: s.bed.name(),
                measured_us: s.median(),
                model_us: rows
                    .iter()
                    .find(|r| r.name == s.bed.name())
                    .and_then(|r| r.predicted_us),
                composed_us: composed,
            }
        })
        .collect();
    Ok(Validation {
        mean_abs_error: if errs.is_empty() {
            0.0
        } else {
            errs.iter().sum::<f64>() / errs.len() as f64
        },
        max_abs_error: errs.iter().copied().fold(0.0, f64::max),
        within_10: errs.iter().filter(|e| **e <= 0.10).count(),
        within_15: errs.iter().filter(|e| **e <= 0.15).count(),
        predicted: errs.len(),
        rows,
        calibration: cal,
        all_fit,
        local,
    })
}

fn pct(e: Option<f64>) -> String {
    e.map(calibrate::pct).unwrap_or_else(|| "-".into())
}

/// The validation as terminal text.
pub fn render(v: &Validation) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Calibrated on {} ({} factors, {}):\n",
        CALIBRATION_SET.join(", "),
        v.calibration.factors.len(),
        v.calibration.method
    ));
    let mut t = comfy_table::Table::new();
    t.set_header(vec![
        "factor",
        "scales",
        "fitted",
        "all-configurations fit ± s.e.",
    ]);
    for f in &v.calibration.factors {
        let all = v
            .all_fit
            .as_ref()
            .map(|a| {
                a.factors
                    .iter()
                    .map(|g| {
                        format!(
                            "{} {:.2}{}",
                            g.name,
                            g.value,
                            g.std_error
                                .map(|s| format!(" ± {s:.2}"))
                                .unwrap_or_default()
                        )
                    })
                    .filter(|s| s.starts_with(&format!("{} ", f.name)))
                    .collect::<Vec<_>>()
                    .join("")
            })
            .unwrap_or_default();
        t.add_row(vec![
            f.name.clone(),
            f.kinds.join(" + "),
            format!("{:.3}", f.value),
            all,
        ]);
    }
    out.push_str(&format!("{t}\n"));
    if let Some(a) = &v.all_fit {
        out.push_str(&format!(
            "Fit on all {} measured configurations: {}\n",
            a.measured,
            a.factors
                .iter()
                .map(|g| format!(
                    "{} {:.2}{}",
                    g.name,
                    g.value,
                    g.std_error
                        .map(|s| format!(" ± {s:.2}"))
                        .unwrap_or_default()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut t = comfy_table::Table::new();
    t.set_header(vec![
        "configuration",
        "role",
        "measured µs (median)",
        "spread",
        "bare model µs",
        "calibrated µs",
        "error",
        "leave-one-out (all)",
    ]);
    for r in &v.rows {
        t.add_row(vec![
            r.name.clone(),
            r.role.clone(),
            format!("{:.1}", r.measured_us),
            r.spread_us
                .map(|s| format!("±{:.1}%", 50.0 * s / r.measured_us))
                .unwrap_or_else(|| "-".into()),
            r.model_us
                .map(|m| format!("{m:.1}"))
                .unwrap_or_else(|| "-".into()),
            r.predicted_us
                .map(|m| format!("{m:.1}"))
                .unwrap_or_else(|| "-".into()),
            pct(r.error),
            pct(r.loo_error),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    out.push_str(&format!(
        "Predicted configurations: mean |error| {:.1}%, largest {:.1}%; {} of {} within 10%, {} of {} within 15%.\n  Paper {PAPER_FIG14}.\n",
        v.mean_abs_error * 100.0,
        v.max_abs_error * 100.0,
        v.within_10,
        v.predicted,
        v.within_15,
        v.predicted
    ));
    let mut t = comfy_table::Table::new();
    t.set_header(vec![
        "local configuration",
        "measured µs",
        "calibrated model",
        "error",
        "in + out − chain (measured)",
        "error",
    ]);
    for l in &v.local {
        let e = |p: Option<f64>| pct(p.map(|p| p / l.measured_us - 1.0));
        t.add_row(vec![
            l.name.clone(),
            format!("{:.1}", l.measured_us),
            l.model_us
                .map(|m| format!("{m:.1}"))
                .unwrap_or_else(|| "-".into()),
            e(l.model_us),
            l.composed_us
                .map(|m| format!("{m:.1}"))
                .unwrap_or_else(|| "-".into()),
            e(l.composed_us),
        ]);
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
        .map(|r| Group {
            label: format!(
                "{}{}",
                r.name,
                if r.role == "calibration" {
                    " (fit)"
                } else {
                    ""
                }
            ),
            values: vec![
                Some(r.measured_us),
                r.predicted_us,
                v.local
                    .iter()
                    .find(|l| l.name == r.name)
                    .and_then(|l| l.composed_us),
            ],
        })
        .collect();
    grouped_bars(
        "Testbed: measured vs calibrated model (µs of proxy CPU per call)",
        "µs per call",
        &["measured", "calibrated model", "inbound + outbound − chain"],
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
