//! SVG plots of the model: the components like the paper's Fig. 13 (ours beside the
//! paper's) and the local proxy computed directly vs predicted from inbound + outbound,
//! like Fig. 16.

use super::{Artifact, Exporter};
use crate::model::ModelOutput;
use crate::{Error, Result};
use plotters::prelude::*;

/// The SVG plot exporter.
pub struct Svg;

/// One bar group: a label and one optional value per series.
pub struct Group {
    /// Category label.
    pub label: String,
    /// Values, one per series (missing bars are left out).
    pub values: Vec<Option<f64>>,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(214, 39, 40),
];

/// Horizontal grouped bars, first group at the top.
pub fn grouped_bars(
    title: &str,
    x_desc: &str,
    series: &[&str],
    groups: &[Group],
) -> Result<String> {
    let fail = |e: String| Error::Results {
        path: title.into(),
        what: format!("cannot draw the plot: {e}"),
    };
    let n = groups.len().max(1);
    let xmax = groups
        .iter()
        .flat_map(|g| g.values.iter().flatten())
        .fold(1.0f64, |a, &b| a.max(b))
        // Room on the right for the legend.
        * 1.45;
    let height = 140 + n as u32 * (14 * series.len() as u32 + 10);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1100, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(390)
            .build_cartesian_2d(0f64..xmax, -0.5f64..(n as f64 - 0.5))
            .map_err(|e| fail(e.to_string()))?;
        let label_of = |y: &f64| {
            let i = y.round();
            if (y - i).abs() > 0.01 || i < 0.0 || i as usize >= n {
                return String::new();
            }
            groups[n - 1 - i as usize].label.clone()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n + 1)
            .y_label_formatter(&label_of)
            .x_desc(x_desc)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| fail(e.to_string()))?;
        let band = 0.8 / series.len() as f64;
        for (s, name) in series.iter().enumerate() {
            let color = COLORS[s % COLORS.len()];
            let bars = groups.iter().enumerate().filter_map(|(i, g)| {
                let v = g.values.get(s).copied().flatten()?;
                // The first series on top, as in the legend.
                let y0 = (n - 1 - i) as f64 + 0.4 - (s + 1) as f64 * band;
                Some(Rectangle::new(
                    [(0.0, y0), (v.max(0.0), y0 + band * 0.9)],
                    color.filled(),
                ))
            });
            chart
                .draw_series(bars)
                .map_err(|e| fail(e.to_string()))?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| fail(e.to_string()))?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    Ok(buf)
}

impl Exporter for Svg {
    fn format(&self) -> &'static str {
        "svg"
    }

    /// `model-components.svg` (Fig. 13) and `model-local.svg` (Fig. 16).
    fn model(&self, m: &ModelOutput) -> Result<Vec<Artifact>> {
        let comps: Vec<Group> = m
            .components
            .iter()
            .filter(|c| c.units.is_some() || c.paper_units.is_some())
            .map(|c| Group {
                label: c.label.clone(),
                values: vec![c.units, c.paper_units],
            })
            .collect();
        let fig13 = grouped_bars(
            &format!(
                "Per-call components (Fig. 13): UDP base = 1.0 = {:.1} µs here",
                m.base_us
            ),
            "cost per call, normalized to the UDP base",
            &["this machine", "paper (Fig. 13)"],
            &comps,
        )?;
        let local: Vec<Group> = m
            .local_prediction
            .iter()
            .map(|l| Group {
                label: l.name.clone(),
                values: vec![
                    Some(l.ours_direct),
                    Some(l.ours_predicted),
                    l.paper_measured,
                    l.paper_predicted,
                ],
            })
            .collect();
        let fig16 = grouped_bars(
            "Local proxy (Fig. 16): direct vs inbound + outbound - proxy chain",
            "cost per call, normalized to the UDP base",
            &[
                "ours, direct",
                "ours, inbound + outbound",
                "paper, measured events",
                "paper, inbound + outbound events",
            ],
            &local,
        )?;
        Ok(vec![
            Artifact {
                name: "model-components.svg".into(),
                bytes: fig13.into_bytes(),
            },
            Artifact {
                name: "model-local.svg".into(),
                bytes: fig16.into_bytes(),
            },
        ])
    }
}
