//! The terminal table of a measured-server file: µs per call, its spread, the ratio to UDP
//! (the paper's Fig. 13 normalisation), the load generators' own CPU, and what was not
//! measured with the reason.

use super::file::ServerFile;
use crate::model::calibrate::config_from_name;
use crate::model::configs::Transport;

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
