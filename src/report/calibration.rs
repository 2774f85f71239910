//! The calibration (`tlscost model --calibrate`) as terminal text: the fitted factors and
//! terms, then every configuration, measured or predicted, and the ones not predicted with
//! the reason.

use crate::model::calibrate::{pct, Calibration};
use crate::report::fmt_us;
use comfy_table::Table;
use std::collections::BTreeMap;

/// The calibration as terminal text.
pub fn render(cal: &Calibration) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Calibration: {} measured configurations, {} parameters, {} (model protocol {})\n",
        cal.measured,
        cal.factors.len(),
        if cal.method == "exact" {
            "exact solve (the paper's subtraction method; no residual left to estimate an uncertainty)".to_string()
        } else {
            format!(
                "least squares on relative errors (rms residual {})",
                cal.rms_residual
                    .map(|r| format!("{:.1}%", r * 100.0))
                    .unwrap_or_default()
            )
        },
        cal.protocol
    ));
    let mut t = Table::new();
    t.set_header(vec![
        "factor / term",
        "applies to",
        "fitted",
        "unit",
        "± std. error",
        "",
    ]);
    for f in &cal.factors {
        t.add_row(vec![
            f.name.clone(),
            f.kinds.join(" + "),
            format!("{:.3}", f.value),
            f.unit.clone(),
            f.std_error
                .map(|s| format!("{s:.3}"))
                .unwrap_or_else(|| "-".into()),
            if f.plausible { "" } else { "IMPLAUSIBLE" }.to_string(),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    let mut t = Table::new();
    t.set_header(vec![
        "configuration",
        "",
        "measured µs",
        "bare model µs",
        "calibrated µs",
        "fit error",
        "leave-one-out",
        "note",
    ]);
    let opt = |v: Option<f64>| v.map(fmt_us).unwrap_or_else(|| "-".into());
    let default = crate::model::calibrate::protocol_from_label(&cal.protocol).ok();
    let key = |r: &crate::model::calibrate::Row| match default {
        Some(p) => r.key(p),
        None => r.name.clone(),
    };
    // Configurations that cannot be predicted are listed once per reason, not row by row.
    let mut unpredicted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &cal.rows {
        if !r.measured && r.predicted_us.is_none() {
            let why = r.note.clone().unwrap_or_else(|| "not predicted".into());
            unpredicted.entry(why).or_default().push(key(r));
            continue;
        }
        t.add_row(vec![
            key(r),
            if r.measured {
                "measured".into()
            } else {
                "predicted".into()
            },
            opt(r.measured_us),
            opt(r.model_us),
            opt(r.predicted_us),
            r.fit_error.map(pct).unwrap_or_else(|| "-".into()),
            r.loo_error.map(pct).unwrap_or_else(|| "-".into()),
            r.note.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    for (why, names) in unpredicted {
        out.push_str(&format!("{why}: {}\n", names.join(", ")));
    }
    for n in &cal.notes {
        out.push_str(&format!("Note: {n}\n"));
    }
    for w in &cal.warnings {
        out.push_str(&format!("Warning: {w}\n"));
    }
    out
}
