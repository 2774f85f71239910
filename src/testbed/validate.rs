//! `tlscost validate`: the model checked end to end, as the paper checks its model on its
//! proxy (Sec. V-B, V-C), on the testbed or on a real server's measured file (`--server`).
//!
//! Testbed: every configuration is run several times (median and spread); the model is
//! calibrated on UDP, TLS persistent (proxy chain) and TLS with a new connection per call
//! on each side (set A: one parameter per side), separately on the paper's own subtraction
//! set, which adds TCP (set B), and on set A plus the resumed handshakes of each side
//! (set C: handshake factor and µs per new connection on each side); each predicts the
//! configurations it was not fitted on.
//!
//! Server: the smallest sets an operator would measure ([`validate::smallest_sets`]).
//!
//! Both: the bare model's error with the measured UDP figure as base, a leave-one-out fit
//! on every measured configuration, and the local proxy predicted the paper's way (Fig. 16:
//! inbound + outbound − proxy chain, from the measured figures). The computation is
//! [`crate::model::validate`], the tables and the plot [`crate::report::validation`].

use super::{plan_for, provenance, run_series, series_table, Bed, Series};
use crate::handshake::{Pki, Protocol};
use crate::model::calibrate::{self, ConnectionTerm, Measured};
use crate::model::configs::Transport;
use crate::model::validate::{self, SetSpec, Validation};
use crate::model::{
    default_criterion_dir, default_results_dir, load_estimates, Flows, ModelOptions,
};
use crate::names::Dimension;
use crate::report::validation::{render, svg};
use crate::server::file::ServerFile;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The configurations the model is calibrated on (UDP, TLS persistent, TLS with a new
/// connection per call on each side); the rest are predicted.
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
/// a new connection (µs, per side) from the handshake's crypto (× bare).
pub const CONNECTION_SET: [&str; 6] = [
    "proxy-chain/udp",
    "proxy-chain/tls-aes",
    "outbound/tls",
    "inbound/tls",
    "outbound/tls-resumed",
    "inbound/tls-resumed",
];

/// The testbed's calibration sets: label, members, whether the per-connection terms must
/// be fitted.
pub const SETS: [(&str, &str, &[&str], ConnectionTerm); 3] = [
    (
        "A",
        "A: UDP + TLS chain + TLS per call (one parameter per side)",
        &CALIBRATION_SET,
        ConnectionTerm::Auto,
    ),
    (
        "B",
        "B: the paper's subtraction set (TCP and TLS per call: TCP set-up and handshake factors per side)",
        &PAPER_SET,
        ConnectionTerm::Auto,
    ),
    (
        "C",
        "C: A + resumed TLS per call (handshake factor + µs per new connection per side)",
        &CONNECTION_SET,
        ConnectionTerm::Required,
    ),
];

/// The testbed's sets as [`SetSpec`]s.
pub fn testbed_sets() -> Vec<SetSpec> {
    SETS.iter()
        .map(|(short, label, members, term)| SetSpec {
            label: label.to_string(),
            short: short.to_string(),
            members: members.iter().map(|m| m.to_string()).collect(),
            term: *term,
        })
        .collect()
}

/// Arguments of `tlscost validate`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Testbed runs only: measured calls per run.
    #[arg(long, default_value_t = 300)]
    pub calls: u64,
    /// Testbed runs only: warm-up calls per run, not measured.
    #[arg(long, default_value_t = 10)]
    pub warmup: u64,
    /// Testbed runs only: calls started per second.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Testbed runs only: runs per configuration (median and spread are reported).
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
    /// Validate on a real server's measured file (written by `tlscost server`) instead of
    /// the testbed: uncalibrated error, the smallest calibration sets, leave-one-out, Fig. 16.
    #[arg(long, value_name = "FILE", conflicts_with = "measured")]
    pub server: Option<PathBuf>,
    /// Handshake protocol of the model (as `tlscost model --protocol`); rows measured on
    /// another protocol are priced on theirs.
    #[arg(long, value_name = "P")]
    pub protocol: Option<String>,
}

/// The testbed validation of measured series (median per configuration).
pub fn validate_testbed(series: &[Series], prices: &calibrate::Prices) -> Result<Validation> {
    let measured: Vec<Measured> = series
        .iter()
        .map(|s| Measured {
            config: s.bed.config(),
            us: s.median(),
            spread_us: Some(s.spread()),
            protocol: None,
        })
        .collect();
    validate::validate("the testbed", &measured, prices, &testbed_sets())
}

fn save(v: &Validation, out_dir: &Path, stem: &str) -> Result<()> {
    let path = out_dir.join(format!("{stem}.svg"));
    crate::fsutil::write_atomic(&path, svg(v)?.as_bytes())?;
    eprintln!("plot: {}", path.display());
    let json = serde_json::to_vec_pretty(v).map_err(|e| Error::Results {
        path: out_dir.to_path_buf(),
        what: format!("cannot serialise the validation: {e}"),
    })?;
    let path = out_dir.join(format!("{stem}.json"));
    crate::fsutil::write_atomic(&path, &json)?;
    eprintln!("validation: {}", path.display());
    Ok(())
}

/// `tlscost validate`.
pub fn run(args: Args) -> Result<()> {
    // The model first: a missing benchmark stops here, before minutes of testbed runs.
    let opts = ModelOptions {
        protocol: args
            .protocol
            .as_deref()
            .map(|p| Protocol::from_label("protocol", p))
            .transpose()?,
        ..ModelOptions::default()
    };
    opts.validate()?;
    let criterion_dir = args
        .criterion_dir
        .clone()
        .unwrap_or_else(default_criterion_dir);
    let est = load_estimates(args.results.as_deref(), &criterion_dir)?;
    let flows = Flows::from_fixtures(&crate::fixtures::Fixtures::locate()?)?;
    let prices = calibrate::prices(&opts, &flows, &est);
    let out_dir = args.out_dir.clone().unwrap_or_else(default_results_dir);
    if let Some(file) = &args.server {
        let server = ServerFile::read(file)?;
        let measured = calibrate::read_file(file)?;
        let sets = validate::smallest_sets(&measured, opts.protocol())?;
        let v = validate::validate(&server.describe(), &measured, &prices, &sets)?;
        print!("{}", render(&v));
        if !args.no_save {
            let name: String = server
                .server
                .name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let stem = format!("validate-{name}");
            save(&v, &out_dir, &stem)?;
        }
        return Ok(());
    }
    let beds = Bed::all();
    let missing = &prices.missing[&opts.protocol()];
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
    let v = validate_testbed(&series, &prices)?;
    print!("{}", render(&v));
    if !args.no_save {
        save(&v, &out_dir, "validate-testbed")?;
    }
    Ok(())
}
