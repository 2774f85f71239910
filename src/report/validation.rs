//! The validation of the model (`tlscost validate`, `tlscost validate --server FILE`) as
//! terminal tables and as an SVG plot like the paper's Fig. 14 (measured vs the model per
//! configuration) with the local proxy composed as in its Fig. 16.

use crate::model::calibrate::{pct, Calibration};
use crate::model::validate::Validation;
use crate::report::svg::{grouped_bars, Group};
use crate::Result;

/// The paper's validation figures.
pub const PAPER_FIG14: &str = "Fig. 14: peak throughput extrapolated from CPU at 50 calls/s, average error under 15% (a few configurations 35-45%)";
/// Fig. 16.
pub const PAPER_FIG16: &str =
    "Fig. 16: local proxy predicted as inbound + outbound vs measured, 3% to 13% apart";

fn opct(e: Option<f64>) -> String {
    e.map(pct).unwrap_or_else(|| "-".into())
}

fn us(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.1}")).unwrap_or_else(|| "-".into())
}

fn new_table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    t
}

/// `(name, reason)` pairs grouped once per reason, in first-seen order.
fn by_reason<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, why) in pairs {
        match out.iter_mut().find(|(w, _)| *w == why) {
            Some((_, names)) => names.push(name),
            None => out.push((why, vec![name])),
        }
    }
    out
}

/// `(name, reason)` pairs as string slices, for [`by_reason`].
fn pairs(v: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    v.iter().map(|(n, w)| (n.as_str(), w.as_str()))
}

/// The validation as terminal text: the fitted parameters per set, every measured
/// configuration against the uncalibrated and each calibrated model, the summary lines, and
/// the local proxy (Fig. 16).
pub fn render(v: &Validation) -> String {
    let mut out = format!(
        "Validation of the model on {} (model protocol {})\n",
        v.subject, v.protocol
    );
    // (short name, column header, fit)
    let mut fits: Vec<(&str, String, &Calibration)> = v
        .sets
        .iter()
        .map(|s| (s.spec.short.as_str(), s.spec.short.clone(), &s.calibration))
        .collect();
    if let Some(a) = &v.all_fit {
        fits.push((
            "all",
            format!("all ({} measured, {})", a.measured, a.method),
            a,
        ));
    }
    for s in &v.sets {
        out.push_str(&format!(
            "{}: fitted on {} ({})\n",
            s.spec.label,
            s.spec.members.join(", "),
            s.calibration.method
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for (_, _, cal) in &fits {
        for f in &cal.factors {
            if !names.contains(&f.name) {
                names.push(f.name.clone());
            }
        }
    }
    let mut t = new_table();
    let mut header = vec!["factor (× bare) / term (µs per new connection)".to_string()];
    header.extend(fits.iter().map(|(_, l, _)| l.clone()));
    t.set_header(header);
    for n in &names {
        let mut row = vec![n.clone()];
        for (_, _, cal) in &fits {
            let cell = cal.factors.iter().find(|f| &f.name == n).map(|f| {
                let se = |d: usize| {
                    f.std_error
                        .map(|s| format!(" ± {s:.d$}"))
                        .unwrap_or_default()
                };
                let flag = if f.plausible { "" } else { " (implausible)" };
                if f.unit == "× bare" {
                    format!("{:.2}{}{flag}", f.value, se(2))
                } else {
                    format!("{:.0} µs{}{flag}", f.value, se(0))
                }
            });
            row.push(cell.unwrap_or_default());
        }
        t.add_row(row);
    }
    out.push_str(&format!("{t}\n"));

    let mut t = new_table();
    let mut header = vec![
        "configuration".to_string(),
        "measured µs".into(),
        "spread (± half range)".into(),
        "uncalibrated µs".into(),
        "error".into(),
    ];
    for s in &v.sets {
        header.push(format!("{}: calibrated µs", s.spec.short));
        header.push(format!("{}: error", s.spec.short));
    }
    header.push("all: leave-one-out".into());
    t.set_header(header);
    for r in &v.rows {
        let mut row = vec![
            r.name.clone(),
            format!("{:.1}", r.measured_us),
            r.spread_us
                .map(|s| format!("±{:.1}%", 50.0 * s / r.measured_us))
                .unwrap_or_else(|| "-".into()),
            us(r.uncalibrated_us),
            opct(r.uncalibrated_error),
        ];
        for c in &r.sets {
            row.push(us(c.predicted_us));
            row.push(if c.calibration {
                "(fitted)".into()
            } else if c.predicted_us.is_none() {
                "not predicted".into()
            } else {
                opct(c.error)
            });
        }
        row.push(opct(r.loo_error));
        t.add_row(row);
    }
    out.push_str(&format!("{t}\n"));
    if let Some(u) = v.uncalibrated_mean_abs_error {
        out.push_str(&format!(
            "Uncalibrated (bare components, the measured UDP figure as base): mean |error| {:.1}% over {} configurations.\n",
            u * 100.0,
            v.rows.iter().filter(|r| r.uncalibrated_error.is_some()).count()
        ));
    }
    for s in &v.sets {
        out.push_str(&format!(
            "{}: predicted configurations mean |error| {:.1}%, largest {:.1}%; {} of {} within 10%, {} of {} within 15%.\n",
            s.spec.label,
            s.mean_abs_error * 100.0,
            s.max_abs_error * 100.0,
            s.within_10,
            s.predicted,
            s.within_15,
            s.predicted
        ));
        for (why, names) in by_reason(pairs(&s.not_predicted)) {
            out.push_str(&format!(
                "  {} does not predict {}: {why}\n",
                s.spec.short,
                names.join(", ")
            ));
        }
    }
    let loo: Vec<f64> = v
        .rows
        .iter()
        .filter_map(|r| r.loo_error.map(f64::abs))
        .collect();
    if !loo.is_empty() {
        out.push_str(&format!(
            "Leave-one-out (fit on every other priced configuration, predict the one left out): mean |error| {:.1}% over {}, largest {:.1}%.\n",
            100.0 * loo.iter().sum::<f64>() / loo.len() as f64,
            loo.len(),
            100.0 * loo.iter().copied().fold(0.0, f64::max)
        ));
    }
    if let Some(why) = &v.all_fit_error {
        out.push_str(&format!(
            "Leave-one-out: no fit on all measured configurations: {why}\n"
        ));
    }
    for (why, names) in by_reason(pairs(&v.all_fit_left_out)) {
        out.push_str(&format!(
            "  Leave-one-out leaves out {}: {why}\n",
            names.join(", ")
        ));
    }
    out.push_str(&format!("  Paper {PAPER_FIG14}.\n"));
    // Each note and warning once, with the fits it applies to.
    for kind in ["Note", "Warning"] {
        let said = fits.iter().flat_map(|(short, _, cal)| {
            let texts = if kind == "Note" {
                &cal.notes
            } else {
                &cal.warnings
            };
            texts.iter().map(move |t| (*short, t.as_str()))
        });
        for (text, fits) in by_reason(said) {
            out.push_str(&format!("{kind} ({}): {text}\n", fits.join(", ")));
        }
    }
    if !v.local.is_empty() {
        let mut t = new_table();
        let mut header = vec!["local configuration".to_string(), "measured µs".into()];
        for s in &v.sets {
            header.push(format!("{}: model", s.spec.short));
            header.push("error".into());
        }
        header.push("in + out − chain (measured)".into());
        header.push("error".into());
        t.set_header(header);
        for l in &v.local {
            let e = |p: Option<f64>| opct(p.map(|p| p / l.measured_us - 1.0));
            let mut row = vec![l.name.clone(), format!("{:.1}", l.measured_us)];
            for m in &l.model_us {
                row.push(us(*m));
                row.push(e(*m));
            }
            row.push(us(l.composed_us));
            row.push(e(l.composed_us));
            t.add_row(row);
        }
        out.push_str(&format!("{t}\n"));
    }
    out.push_str(&format!("  Paper {PAPER_FIG16}.\n"));
    out
}

/// The Fig. 14-like plot: measured vs the uncalibrated and every calibrated model for each
/// configuration, and the local ones also composed from measured inbound + outbound − chain.
pub fn svg(v: &Validation) -> Result<String> {
    let groups: Vec<Group> = v
        .rows
        .iter()
        .map(|r| {
            let mut values = vec![Some(r.measured_us), r.uncalibrated_us];
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
    let mut series = vec!["measured".to_string(), "uncalibrated model".to_string()];
    for s in &v.sets {
        series.push(format!("model calibrated on {}", s.spec.short));
    }
    series.push("inbound + outbound − chain".into());
    let series: Vec<&str> = series.iter().map(String::as_str).collect();
    grouped_bars(
        &format!(
            "{}: measured vs model, µs of CPU per call (cf. Fig. 14, Fig. 16)",
            v.subject
        ),
        "µs per call",
        &series,
        &groups,
    )
}
