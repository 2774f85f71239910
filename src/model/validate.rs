//! Validation of the per-call model on a server's measured figures, as the paper checks its
//! model on its proxy (Sec. V-B, V-C: Fig. 14 and Fig. 16): the bare model's error per
//! configuration (uncalibrated, with the server's own UDP figure as the base), then the
//! model calibrated on a few measured configurations predicting every other one, a
//! leave-one-out fit on everything measured, and the local proxy predicted as inbound +
//! outbound − proxy chain from the measured figures.
//!
//! The same computation serves the testbed (`tlscost validate`) and a real server's
//! measured file (`tlscost validate --server FILE`); rendering lives in
//! [`crate::report::validation`].

use super::calibrate::{self, key_name, Calibration, ConnectionTerm, Measured, Prices};
use super::components::ComponentId;
use super::configs::{BulkSuite, Config, ProxyMode, TlsKind, Transport};
use crate::handshake::Protocol;
use crate::names::Dimension;
use crate::{Error, Result};
use serde::Serialize;

/// One calibration set: which measured configurations it is fitted on.
#[derive(Debug, Clone, Serialize)]
pub struct SetSpec {
    /// Label, e.g. `A: UDP + TLS chain + TLS per call`.
    pub label: String,
    /// Short name (`A`), for table columns.
    pub short: String,
    /// Configuration keys ([`key_name`]) of its members.
    pub members: Vec<String>,
    /// Whether the per-connection terms must be fitted.
    pub term: ConnectionTerm,
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
    /// Why it is not predicted.
    pub note: Option<String>,
}

/// One measured configuration in the validation table.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationRow {
    /// Configuration key (name, and the protocol when not the model's).
    pub name: String,
    /// Measured µs per call.
    pub measured_us: f64,
    /// Spread of the runs (µs), when known.
    pub spread_us: Option<f64>,
    /// The bare model (every factor 1, no term) with its own UDP base, µs.
    pub model_us: Option<f64>,
    /// The bare model with the measured UDP figure as its base, µs (the uncalibrated model
    /// an operator gets from `tlscost model --base-udp-us`).
    pub uncalibrated_us: Option<f64>,
    /// (uncalibrated − measured) / measured.
    pub uncalibrated_error: Option<f64>,
    /// One cell per calibration set.
    pub sets: Vec<Cell>,
    /// Leave-one-out error of a fit on every measured configuration.
    pub loo_error: Option<f64>,
}

/// Fig. 16: a local configuration measured, predicted by each calibrated model, and
/// composed from the measured inbound + outbound − proxy chain.
#[derive(Debug, Clone, Serialize)]
pub struct LocalRow {
    /// Local configuration key.
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
    /// The set.
    pub spec: SetSpec,
    /// The fit.
    pub calibration: Calibration,
    /// Mean |error| over the predicted measured configurations.
    pub mean_abs_error: f64,
    /// Largest |error| over them.
    pub max_abs_error: f64,
    /// How many predicted configurations are within 10%.
    pub within_10: usize,
    /// Within 15%.
    pub within_15: usize,
    /// Measured configurations it predicts (not fitted on).
    pub predicted: usize,
    /// Measured configurations it does not predict, with the reason.
    pub not_predicted: Vec<(String, String)>,
}

/// The whole validation.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// What was validated (the testbed, or the server's description).
    pub subject: String,
    /// The model's protocol.
    pub protocol: String,
    /// Per measured configuration.
    pub rows: Vec<ValidationRow>,
    /// Mean |uncalibrated error| over the measured configurations that have one.
    pub uncalibrated_mean_abs_error: Option<f64>,
    /// Per calibration set.
    pub sets: Vec<SetResult>,
    /// The fit on every measured configuration the model can price (leave-one-out), when it
    /// can be made.
    pub all_fit: Option<Calibration>,
    /// Measured configurations left out of [`Validation::all_fit`] because the model cannot
    /// price them (e.g. a protocol whose handshakes were not measured), with the reason.
    pub all_fit_left_out: Vec<(String, String)>,
    /// Why there is no [`Validation::all_fit`], when there is none.
    pub all_fit_error: Option<String>,
    /// Fig. 16.
    pub local: Vec<LocalRow>,
}

fn measured_key(m: &Measured, default: Protocol) -> String {
    key_name(&m.config, m.protocol.or(Some(default)), default)
}

/// Calibrates on each set and compares every measured configuration it was not fitted on.
pub fn validate(
    subject: &str,
    measured: &[Measured],
    prices: &Prices,
    sets: &[SetSpec],
) -> Result<Validation> {
    let default = prices.default_protocol();
    let keys: Vec<String> = measured.iter().map(|m| measured_key(m, default)).collect();
    let members_of = |spec: &SetSpec| -> Result<Vec<Measured>> {
        spec.members
            .iter()
            .map(|n| {
                keys.iter()
                    .position(|k| k == n)
                    .map(|i| measured[i].clone())
                    .ok_or_else(|| {
                        Error::Usage(format!(
                            "calibration set {}: {n} was not measured (measured: {})",
                            spec.short,
                            keys.join(", ")
                        ))
                    })
            })
            .collect()
    };
    let mut fits = Vec::new();
    for spec in sets {
        fits.push(calibrate::fit_with(&members_of(spec)?, prices, spec.term)?);
    }
    // Leave-one-out on everything the model can price: a row of a protocol whose handshakes
    // were not measured would otherwise stop the whole fit.
    let mut rows_to_fit = Vec::new();
    let mut all_fit_left_out = Vec::new();
    for (m, key) in measured.iter().zip(&keys) {
        match calibrate::bare_model_us(&m.config, m.protocol, prices) {
            Ok(_) => rows_to_fit.push(m.clone()),
            Err(why) => all_fit_left_out.push((key.clone(), why)),
        }
    }
    let (all_fit, all_fit_error) = match calibrate::fit(&rows_to_fit, prices) {
        Ok(f) => (Some(f), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let udp = measured
        .iter()
        .find(|m| m.config.transport == Transport::Udp && !m.config.auth)
        .map(|m| m.us);
    let own_base = prices
        .values(default)
        .and_then(|v| v.get(&ComponentId::UdpBase))
        .copied();
    let lookup =
        |cal: &Calibration, key: &str| cal.rows.iter().find(|r| r.key(default) == key).cloned();

    let mut rows = Vec::new();
    for (m, key) in measured.iter().zip(&keys) {
        let model_us = calibrate::bare_model_us(&m.config, m.protocol, prices).ok();
        let uncalibrated_us = match (model_us, udp, own_base) {
            (Some(b), Some(u), Some(o)) => Some(b - o + u),
            _ => None,
        };
        let cells = sets
            .iter()
            .zip(&fits)
            .map(|(spec, cal)| {
                let row = lookup(cal, key);
                let pred = row.as_ref().and_then(|r| r.predicted_us);
                Cell {
                    calibration: spec.members.contains(key),
                    predicted_us: pred,
                    error: pred.map(|p| p / m.us - 1.0),
                    note: if pred.is_none() {
                        row.and_then(|r| r.note)
                    } else {
                        None
                    },
                }
            })
            .collect();
        rows.push(ValidationRow {
            name: key.clone(),
            measured_us: m.us,
            spread_us: m.spread_us,
            model_us,
            uncalibrated_us,
            uncalibrated_error: uncalibrated_us.map(|u| u / m.us - 1.0),
            sets: cells,
            loo_error: all_fit
                .as_ref()
                .and_then(|f| lookup(f, key))
                .and_then(|r| r.loo_error),
        });
    }
    let uncal: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.uncalibrated_error.map(f64::abs))
        .collect();
    let set_results = sets
        .iter()
        .zip(fits)
        .enumerate()
        .map(|(i, (spec, cal))| {
            let errs: Vec<f64> = rows
                .iter()
                .filter(|r| !r.sets[i].calibration)
                .filter_map(|r| r.sets[i].error.map(f64::abs))
                .collect();
            let not_predicted = rows
                .iter()
                .filter(|r| !r.sets[i].calibration && r.sets[i].predicted_us.is_none())
                .map(|r| {
                    (
                        r.name.clone(),
                        r.sets[i]
                            .note
                            .clone()
                            .unwrap_or_else(|| "not predicted".into()),
                    )
                })
                .collect();
            SetResult {
                spec: spec.clone(),
                calibration: cal,
                mean_abs_error: mean(&errs).unwrap_or(0.0),
                max_abs_error: errs.iter().copied().fold(0.0, f64::max),
                within_10: errs.iter().filter(|e| **e <= 0.10).count(),
                within_15: errs.iter().filter(|e| **e <= 0.15).count(),
                predicted: errs.len(),
                not_predicted,
            }
        })
        .collect();

    // Fig. 16: local = inbound + outbound − proxy chain, from the measured figures.
    let find = |c: Config, p: Option<Protocol>| {
        measured
            .iter()
            .find(|m| {
                m.config == c
                    && (c.transport != Transport::Tls || m.protocol.or(Some(default)) == p)
            })
            .map(|m| m.us)
    };
    let local = measured
        .iter()
        .zip(&keys)
        .filter(|(m, _)| m.config.mode == ProxyMode::Local)
        .map(|(m, key)| {
            let p = m.protocol.or(Some(default));
            let chain = Config {
                mode: ProxyMode::ProxyChain,
                auth: false,
                transport: m.config.transport,
                kind: TlsKind::Full,
                suite: BulkSuite::Aes,
            };
            let composed = match (
                find(m.config.in_mode(ProxyMode::Inbound, false), p),
                find(m.config.in_mode(ProxyMode::Outbound, m.config.auth), p),
                find(chain, p),
            ) {
                (Some(i), Some(o), Some(c)) => Some(i + o - c),
                _ => None,
            };
            let row = rows.iter().find(|r| &r.name == key);
            LocalRow {
                name: key.clone(),
                measured_us: m.us,
                model_us: row
                    .map(|r| r.sets.iter().map(|c| c.predicted_us).collect())
                    .unwrap_or_default(),
                composed_us: composed,
            }
        })
        .collect();
    Ok(Validation {
        subject: subject.to_string(),
        protocol: default.label().to_string(),
        rows,
        uncalibrated_mean_abs_error: mean(&uncal),
        sets: set_results,
        all_fit,
        all_fit_left_out,
        all_fit_error,
        local,
    })
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The smallest calibration sets an operator would measure on a server, from what its file
/// has: UDP, TLS persistent (proxy chain), TLS with a new connection per call on one side
/// (outbound preferred: the side a server meets most), and, when measured, the resumed
/// handshake of that side, which determines the side's per-connection term beside its
/// handshake factor; then, when measured, the other side's TLS per call (so that side and the
/// local mode are predicted too). Refused, naming what is missing, when the file lacks one of
/// the first three.
pub fn smallest_sets(measured: &[Measured], default: Protocol) -> Result<Vec<SetSpec>> {
    let keys: Vec<String> = measured.iter().map(|m| measured_key(m, default)).collect();
    let has = |n: &str| keys.iter().any(|k| k == n);
    let mut missing = Vec::new();
    for n in ["proxy-chain/udp", "proxy-chain/tls-aes"] {
        if !has(n) {
            missing.push(n.to_string());
        }
    }
    let side = ["outbound", "inbound", "outbound-auth"]
        .into_iter()
        .find(|m| has(&format!("{m}/tls")));
    if side.is_none() {
        missing.push("outbound/tls or inbound/tls".into());
    }
    let Some(side) = side.filter(|_| missing.is_empty()) else {
        return Err(Error::Usage(format!(
            "validate --server: the smallest calibration set needs {} measured (on the model's protocol {}); the file has: {}",
            missing.join(", "),
            default.label(),
            keys.join(", ")
        )));
    };
    let base: Vec<String> = vec![
        "proxy-chain/udp".into(),
        "proxy-chain/tls-aes".into(),
        format!("{side}/tls"),
    ];
    let mut sets = vec![SetSpec {
        label: format!("S: UDP + TLS chain + {side}/tls (one parameter per side)"),
        short: "S".into(),
        members: base.clone(),
        term: ConnectionTerm::Auto,
    }];
    let resumed = format!("{side}/tls-resumed");
    let mut widest = base;
    if has(&resumed) {
        widest.push(resumed.clone());
        sets.push(SetSpec {
            label: format!("S+R: S + {resumed} (handshake factor + µs per new connection)"),
            short: "S+R".into(),
            members: widest.clone(),
            term: ConnectionTerm::Required,
        });
    }
    // The other side's new connections, when measured: the one more figure an operator
    // takes so that the other side's configurations (and the local mode, which opens both)
    // are predicted rather than listed as undetermined.
    let other = if side == "inbound" {
        "outbound"
    } else {
        "inbound"
    };
    let other_tls = format!("{other}/tls");
    if has(&other_tls) {
        // It extends the widest set so far: S+R when measured, else S.
        let base = sets.last().map_or("S", |s| s.short.as_str()).to_string();
        let short = format!("{base}+O");
        widest.push(other_tls.clone());
        sets.push(SetSpec {
            label: format!("{short}: {base} + {other_tls} (both sides)"),
            short,
            // One kind of new connection on the other side fixes its factor, not a term.
            term: ConnectionTerm::Auto,
            members: widest,
        });
    }
    Ok(sets)
}
