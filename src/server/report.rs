//! The terminal table of a measured-server file: µs per call, its spread, the ratio to UDP
//! (the paper's Fig. 13 normalisation), the load generators' own CPU, and what was not
//! measured with the reason.

use super::file::ServerFile;
use crate::model::calibrate::config_from_name;
use crate::model::configs::Transport;
use crate::profile::Category;

/// The UDP figure a row is compared with: UDP with the same SIP-auth setting, else UDP.
fn udp_of(f: &ServerFile, auth: bool) -> Option<f64> {
    let name = if auth {
        "proxy-chain-auth/udp"
    } else {
        "proxy-chain/udp"
    };
    f.measurements
        .iter()
        .find(|m| m.configuration == name)
        .or_else(|| {
            f.measurements
                .iter()
                .find(|m| m.configuration == "proxy-chain/udp")
        })
        .map(|m| m.us_per_call)
}

/// The table of every measured row and every configuration not measured.
pub fn table(f: &ServerFile) -> String {
    let mut t = comfy_table::Table::new();
    t.set_header(vec![
        "configuration",
        "protocol",
        "µs/call",
        "spread (max-min)",
        "runs",
        "× UDP",
        "generators µs/call",
    ]);
    for m in &f.measurements {
        let auth = config_from_name(&m.configuration).is_ok_and(|c| c.auth);
        let is_udp =
            config_from_name(&m.configuration).is_ok_and(|c| c.transport == Transport::Udp);
        let ratio = match udp_of(f, auth) {
            Some(u) if u > 0.0 && !is_udp => format!("{:.2}", m.us_per_call / u),
            Some(_) if is_udp => "1.00".into(),
            _ => "-".into(),
        };
        t.add_row(vec![
            m.configuration.clone(),
            m.protocol.clone().unwrap_or_default(),
            format!("{:.1}", m.us_per_call),
            format!(
                "{:.1} ({:.0}%)",
                m.spread_us,
                100.0 * m.spread_us / m.us_per_call.max(1e-9)
            ),
            m.runs_us.len().to_string(),
            ratio,
            format!("{:.1}", m.generator_us_per_call),
        ]);
    }
    let mut out = format!("{}\n{t}\n", f.describe());
    if !f.not_measured.is_empty() {
        out.push_str("not measured:\n");
        for n in &f.not_measured {
            let p = n
                .protocol
                .as_deref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default();
            out.push_str(&format!("  {}{p}: {}\n", n.configuration, n.reason));
        }
    }
    for note in &f.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

/// The peak rates beside the projections (1e6 / µs per call).
pub fn peaks_table(f: &ServerFile) -> String {
    if f.peaks.is_empty() {
        return String::new();
    }
    let mut t = comfy_table::Table::new();
    t.set_header(vec![
        "configuration",
        "protocol",
        "peak calls/s (every call completed)",
        "projected 1e6/µs",
        "peak / projected",
        "server cores at peak",
        "µs/call at peak (at the fixed rate)",
        "trials",
    ]);
    for p in &f.peaks {
        let fixed = f
            .measurements
            .iter()
            .find(|m| m.configuration == p.configuration && m.protocol == p.protocol)
            .map(|m| format!(" ({:.0})", m.us_per_call))
            .unwrap_or_default();
        t.add_row(vec![
            p.configuration.clone(),
            p.protocol.clone().unwrap_or_default(),
            format!("{:.0}", p.peak_calls_per_s),
            format!("{:.0}", p.projected_calls_per_s),
            format!("{:.2}", p.ratio),
            format!("{:.2}", p.server_cores_at_peak),
            format!("{:.0}{fixed}", p.us_per_call_at_peak),
            p.trials.len().to_string(),
        ]);
    }
    let mut out = format!(
        "peak throughput (RFC 7502 session establishment rate, server on one core):\n{t}\n"
    );
    let mut notes: Vec<&String> = f.peaks.iter().flat_map(|p| &p.notes).collect();
    notes.dedup();
    for n in notes {
        out.push_str(&format!("  {n}\n"));
    }
    out
}

/// The categories shown: every one but 3DES, in the paper's order.
fn shown() -> Vec<Category> {
    Category::ALL
        .iter()
        .copied()
        .filter(|c| *c != Category::TripleDes)
        .collect()
}

/// Per-call profiles by the paper's categories, then the deltas beside the paper's.
pub fn breakdown(f: &ServerFile, paper: Option<&serde_json::Value>) -> String {
    if f.profiles.is_empty() {
        return String::new();
    }
    let mut t = comfy_table::Table::new();
    let mut header = vec!["profile (µs/call)".to_string(), "total".into()];
    header.extend(shown().iter().map(|c| c.label().to_string()));
    header.push("of all: allocation".into());
    t.set_header(header);
    for p in &f.profiles {
        let b = p.breakdown();
        let mut row = vec![
            match &p.protocol {
                Some(pr) => format!("{} {pr}", p.configuration),
                None => p.configuration.clone(),
            },
            format!("{:.0}", b.total),
        ];
        row.extend(shown().iter().map(|c| format!("{:.0}", b.category(*c))));
        row.push(format!("{:.0}", b.part(crate::profile::Part::Allocation)));
        t.add_row(row);
    }
    let approx = f
        .profiles
        .iter()
        .map(|p| p.approximated_share)
        .fold(0.0f64, f64::max);
    let mut out = format!(
        "profile breakdown (perf, the paper's Appendix C categories; 'allocation' is the finer view's memory allocation across all of them):\n{t}\n  {}; at most {:.0}% of a profile's libcrypto/libssl samples were named that way\n",
        super::perf::METHOD,
        100.0 * approx
    );
    let ds = super::perf::deltas(&f.profiles, paper);
    if ds.is_empty() {
        return out;
    }
    out.push_str("deltas beside the paper's (ours: µs per call and share of the delta; paper: thousand CPU events at 50 calls/s):\n");
    for d in &ds {
        let share = |v: f64, total: f64| {
            if total.abs() > 1e-9 {
                format!("{:.0}%", 100.0 * v / total)
            } else {
                "-".into()
            }
        };
        let ours: Vec<String> = shown()
            .iter()
            .filter(|c| d.ours.category(**c).abs() >= 0.5)
            .map(|c| {
                let v = d.ours.category(*c);
                format!("{} {v:+.0} ({})", c.label(), share(v, d.ours.total))
            })
            .collect();
        out.push_str(&format!(
            "  {} {}{}: ours {:+.0} µs = {}\n",
            d.mode,
            d.step,
            d.protocol
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default(),
            d.ours.total,
            ours.join(", ")
        ));
        match &d.paper {
            Some((delta, parts)) => {
                let total = delta.unwrap_or(f64::NAN);
                // In the order of the categories, as ours.
                let mut keys: Vec<&String> = parts.keys().collect();
                let order = shown();
                keys.sort_by_key(|k| {
                    order
                        .iter()
                        .position(|c| c.label() == k.as_str())
                        .unwrap_or(order.len())
                });
                let p: Vec<String> = keys
                    .into_iter()
                    .map(|k| format!("{k} {:+.0} ({})", parts[k], share(parts[k], total)))
                    .collect();
                out.push_str(&format!(
                    "  {:width$}  paper {} = {}\n",
                    "",
                    delta.map_or("(no total)".to_string(), |x| format!("{x:+.0}K")),
                    p.join(", "),
                    width = d.mode.len() + d.step.len() + 1
                ));
            }
            None => out.push_str("      (the paper printed no breakdown of this step)\n"),
        }
    }
    out
}
