//! Tables for the terminal (UTF-8 borders) and for markdown, from the same rows.

use super::{fmt_opt, fmt_us, Artifact, Exporter};
use crate::model::compare::Comparison;
use crate::model::ModelOutput;
use crate::Result;
use comfy_table::presets::{ASCII_MARKDOWN, UTF8_FULL_CONDENSED};
use comfy_table::{CellAlignment, ContentArrangement, TableStyle};
use std::fmt::Write;

/// A table exporter: terminal or markdown style.
pub struct Table {
    style: TableStyle,
    markdown: bool,
}

impl Table {
    /// UTF-8 tables for a terminal.
    pub fn terminal() -> Table {
        Table {
            style: UTF8_FULL_CONDENSED,
            markdown: false,
        }
    }
    /// Markdown tables.
    pub fn markdown() -> Table {
        Table {
            style: ASCII_MARKDOWN,
            markdown: true,
        }
    }

    fn heading(&self, out: &mut String, text: &str) {
        if self.markdown {
            let _ = writeln!(out, "\n### {text}\n");
        } else {
            let _ = writeln!(out, "\n{text}");
        }
    }

    /// This run's components beside the previous run's, each marked repeated or moved.
    fn repeatability(&self, out: &mut String, r: &crate::model::repeat::RunComparison) {
        self.heading(out, "Repeatability: this run against the previous");
        let _ = writeln!(out, "{}", r.summary());
        let rows = r
            .components
            .iter()
            .map(|c| {
                vec![
                    c.label.clone(),
                    fmt_us(c.previous_us),
                    fmt_us(c.us),
                    crate::model::repeat::fmt_change(c.change),
                    if c.repeated { "repeated" } else { "MOVED" }.into(),
                ]
            })
            .collect();
        let within = format!("within {:.0}%", r.tolerance * 100.0);
        *out += &self.table(
            &["component", "previous µs", "µs", "change", within.as_str()],
            rows,
        );
        if !r.unmatched.is_empty() {
            let _ = writeln!(
                out,
                "Not compared (measured in only one of the two runs, by other benches, or not again): {}",
                r.unmatched.join("; ")
            );
        }
    }

    /// The "today" table: µs per call under each set-up and its ratio to the paper's.
    fn today(&self, out: &mut String, t: &crate::model::today::Today) {
        self.heading(
            out,
            "Today: the paper's TLS configurations beside their modern equivalents (µs per call, x = ratio to the paper's set-up)",
        );
        let mut header = vec!["configuration".to_string()];
        header.extend(
            t.columns
                .iter()
                .map(|c| format!("{} [{}]", c.label, c.stack)),
        );
        let rows = t
            .rows
            .iter()
            .map(|r| {
                let mut row = vec![r.configuration.clone()];
                for (i, (us, x)) in r.us.iter().zip(&r.ratio).enumerate() {
                    row.push(match (us, x) {
                        (Some(u), _) if i == 0 => fmt_us(*u),
                        (Some(u), Some(x)) => format!("{} ({x:.2}x)", fmt_us(*u)),
                        _ => "-".into(),
                    });
                }
                row
            })
            .collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        *out += &self.table(&header, rows);
        for c in t.columns.iter() {
            match &c.missing {
                Some(why) => {
                    let _ = writeln!(out, "- {}: not computed: {why}", c.label);
                }
                None => {
                    let _ = writeln!(out, "- {}: handshakes {}", c.label, c.scenario);
                }
            }
        }
    }

    fn table(&self, header: &[&str], rows: Vec<Vec<String>>) -> String {
        let mut t = comfy_table::Table::new();
        t.load_style(self.style)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header.to_vec());
        for r in rows {
            t.add_row(r);
        }
        // Numbers right-aligned: every column but the first.
        for i in 1..header.len() {
            if let Some(c) = t.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        format!("{t}\n")
    }
}

fn ratio_of(ours: Option<f64>, paper: Option<f64>) -> String {
    match (ours, paper) {
        (Some(o), Some(p)) if p != 0.0 => format!("{:.2}", o / p),
        _ => "-".into(),
    }
}

impl Exporter for Table {
    fn format(&self) -> &'static str {
        if self.markdown {
            "markdown"
        } else {
            "table"
        }
    }

    fn model(&self, m: &ModelOutput) -> Result<Vec<Artifact>> {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "tlscost model: records {}, handshakes {} {}, base {} µs per call (= 1.0 unit); estimates from {}",
            m.options.backend,
            m.options.stack,
            m.protocol,
            fmt_us(m.base_us),
            m.source
        );

        self.heading(
            &mut out,
            "Components per call (Fig. 13), ours beside the paper's",
        );
        let rows = m
            .components
            .iter()
            .map(|c| {
                let (us, ci) = match &c.measured {
                    Some(x) => (
                        fmt_us(x.us),
                        format!("{}..{}", fmt_us(x.lower_us), fmt_us(x.upper_us)),
                    ),
                    None => ("not measured".into(), "-".into()),
                };
                vec![
                    c.label.clone(),
                    us,
                    ci,
                    fmt_opt(c.units, 2),
                    fmt_opt(c.paper_units, 2),
                    ratio_of(c.units, c.paper_units),
                ]
            })
            .collect();
        out += &self.table(
            &[
                "component",
                "µs",
                "µs interval",
                "units",
                "paper units",
                "ours/paper",
            ],
            rows,
        );

        if !m.reconstructed.is_empty() {
            self.heading(
                &mut out,
                "Handshake components rebuilt from their measured parts (tlscost counts --explain; by time: the parts and the handshake as last measured, which may be sessions apart; by instructions: callgrind, after make anatomy)",
            );
            let rows = m
                .reconstructed
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        fmt_us(r.measured_us),
                        fmt_us(r.reconstructed_us),
                        format!("{:.0}%", 100.0 * r.fraction),
                        r.fraction_instructions
                            .map(|f| format!("{:.0}%", 100.0 * f))
                            .unwrap_or_else(|| "-".into()),
                        r.residual.join(", "),
                    ]
                })
                .collect();
            out += &self.table(
                &[
                    "component",
                    "measured µs",
                    "reconstructed µs",
                    "explained (time)",
                    "explained (instructions)",
                    "rest (profile)",
                ],
                rows,
            );
        }

        self.heading(
            &mut out,
            &format!(
                "Configurations per call ({} listed; the paper states {})",
                m.paper_count.listed, m.paper_count.stated
            ),
        );
        let rows = m
            .configurations
            .iter()
            .map(|c| {
                let paper_events = c
                    .paper_events_units
                    .map(|v| format!("{}{v:.2}", if c.paper_events_derived { "~" } else { "" }));
                let (to, ours_r, paper_r) = match &c.ratio {
                    Some(r) => (r.to.clone(), format!("{:.2}", r.ours), fmt_opt(r.paper, 2)),
                    None => ("-".into(), "-".into(), "-".into()),
                };
                let mut row = vec![
                    c.name.clone(),
                    fmt_us(c.us),
                    format!("{:.2}", c.units),
                    format!("{:.0}", c.calls_per_s),
                ];
                if let Some(k) = c.calls_per_s_cores {
                    row.push(format!("{k:.0}"));
                }
                row.extend([
                    paper_events.unwrap_or_else(|| "-".into()),
                    fmt_opt(c.paper_model_units, 2),
                    to,
                    ours_r,
                    paper_r,
                ]);
                row
            })
            .collect();
        let cores_header = m
            .multicore
            .as_ref()
            .map(|mc| format!("calls/s ({} cores)", mc.cores));
        out += &self.table(
            &[
                &["configuration", "µs/call", "units", "calls/s (1 core)"][..],
                &cores_header.as_deref().into_iter().collect::<Vec<_>>(),
                &[
                    "paper events",
                    "paper model",
                    "throughput vs",
                    "ours",
                    "paper",
                ][..],
            ]
            .concat(),
            rows,
        );

        self.heading(
            &mut out,
            "Local proxy (Fig. 16): direct vs inbound + outbound - proxy chain, units (ours agree by construction: the model composes every configuration from per-side components; the paper measured both; `tlscost validate` tests the composition on a real proxy)",
        );
        let rows = m
            .local_prediction
            .iter()
            .map(|l| {
                vec![
                    l.name.clone(),
                    format!("{:.2}", l.ours_direct),
                    format!("{:.2}", l.ours_predicted),
                    fmt_opt(l.paper_measured, 2),
                    fmt_opt(l.paper_predicted, 2),
                ]
            })
            .collect();
        out += &self.table(
            &[
                "configuration",
                "ours direct",
                "ours predicted",
                "paper measured",
                "paper predicted",
            ],
            rows,
        );

        if let Some(mem) = &m.memory {
            self.heading(
                &mut out,
                &format!(
                    "Memory of {} persistent connections ({}, heap held per idle connection)",
                    mem.connections, mem.scenario
                ),
            );
            let kib = |b: i64| format!("{:.1}", b as f64 / 1024.0);
            out += &self.table(
                &["proxy side", "KiB per connection", "MiB in all"],
                vec![
                    vec![
                        "TLS server (accepts)".into(),
                        kib(mem.server_bytes),
                        format!("{:.1}", mem.server_mib),
                    ],
                    vec![
                        "TLS client (connects)".into(),
                        kib(mem.client_bytes),
                        format!("{:.1}", mem.client_mib),
                    ],
                ],
            );
        }
        if let Some(t) = &m.today {
            self.today(&mut out, t);
        }
        if let Some(r) = &m.repeatability {
            self.repeatability(&mut out, r);
        }

        self.heading(&mut out, "Notes");
        for n in m.notes.iter().chain(std::iter::once(&m.paper_count.note)) {
            let _ = writeln!(out, "- {n}");
        }
        if !m.warnings.is_empty() {
            self.heading(&mut out, "Warnings");
            for w in &m.warnings {
                let _ = writeln!(out, "- {w}");
            }
        }
        Ok(vec![Artifact {
            name: if self.markdown {
                "model.md"
            } else {
                "model.txt"
            }
            .into(),
            bytes: out.into_bytes(),
        }])
    }

    fn comparison(&self, cmp: &[Comparison]) -> Result<Vec<Artifact>> {
        let mut out = String::new();
        for c in cmp {
            self.heading(
                &mut out,
                &format!("{} (µs; ratio to {})", c.title, c.baseline),
            );
            let mut header: Vec<String> = vec![c.key_header.clone()];
            for col in &c.columns {
                header.push(col.clone());
            }
            for col in &c.columns {
                if *col != c.baseline {
                    // Two columns (two files): the title names the baseline, and the file
                    // names twice over would make the column wider than the table.
                    header.push(if c.columns.len() == 2 {
                        "ratio".into()
                    } else {
                        format!("{col}/{}", c.baseline)
                    });
                }
            }
            let rows = c
                .rows
                .iter()
                .map(|r| {
                    let mut row = vec![r.key.clone()];
                    row.extend(
                        r.values
                            .iter()
                            .map(|v| v.map_or("-".into(), |ns| fmt_us(ns / 1e3))),
                    );
                    for (col, ratio) in c.columns.iter().zip(&r.ratios) {
                        if *col != c.baseline {
                            row.push(fmt_opt(*ratio, 2));
                        }
                    }
                    row
                })
                .collect();
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            out += &self.table(&header, rows);
        }
        Ok(vec![Artifact {
            name: if self.markdown {
                "compare.md"
            } else {
                "compare.txt"
            }
            .into(),
            bytes: out.into_bytes(),
        }])
    }
}
