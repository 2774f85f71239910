//! `tlscost memory`: heap bytes per established connection and the peak during its
//! handshake, per scenario and side, as a table or JSON.

use super::{measure_all, ConnectionMemory, HANDSHAKES};
use crate::handshake::{Pki, Scenario, Side};
use crate::names::Dimension;
use crate::{Error, Result};
use comfy_table::{CellAlignment, Table};
use std::path::PathBuf;

/// Arguments of `tlscost memory`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only scenarios whose `<stack>/<protocol>[/<group>][/<cert>]/<kind>` label contains this
    /// text (default: the full and mutual handshakes and the paper's resumption kinds).
    #[arg(long)]
    pub filter: Option<String>,
    /// Every scenario (the default leaves out `full-no-tickets` and `resumed-psk-ke`).
    #[arg(long, conflicts_with = "filter")]
    pub all: bool,
    /// Measured handshakes per scenario (the median is reported).
    #[arg(long, default_value_t = HANDSHAKES)]
    pub handshakes: usize,
    /// Fixtures directory (default: $TLSCOST_FIXTURES, else the crate's fixtures/).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
}

/// Kilobytes (1,024 bytes) with one decimal.
fn kib(bytes: i64) -> String {
    format!("{:.1}", bytes as f64 / 1024.0)
}

/// The memory table: one row per scenario, held and peak KiB per side.
pub fn table(rows: &[ConnectionMemory]) -> Table {
    let mut t = Table::new();
    t.set_header(vec![
        "scenario",
        "client held KiB",
        "client peak KiB",
        "server held KiB",
        "server peak KiB",
        "server allocs",
    ]);
    for r in rows {
        let mut row = vec![r.scenario.clone()];
        for side in Side::ALL {
            let m = r.side(*side);
            row.push(kib(m.held_bytes));
            row.push(kib(m.peak_bytes));
        }
        row.push(r.server.allocations.to_string());
        t.add_row(row);
    }
    for i in 1..6 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// What the table's numbers are.
pub const EXPLANATION: &str = "held = heap bytes one established, idle connection keeps on \
that side (connection object, buffers, keys, the peer's certificates, the session-cache entries \
its handshake added); peak = the most that side held during the handshake. Counted at the C \
allocator (glibc usable sizes, every library: Rust, libssl/libcrypto, aws-lc), median of the \
measured handshakes; contexts, configurations and keys are shared by all connections and not \
counted.";

/// Runs `tlscost memory`.
pub fn run(args: Args) -> Result<()> {
    let pki = Pki::from_dir(args.fixtures.as_deref())?;
    let scenarios: Vec<Scenario> = Scenario::ALL
        .iter()
        .copied()
        .filter(|s| match &args.filter {
            Some(f) => s.label().contains(f.as_str()),
            None => args.all || crate::handshake::Kind::PAPER.contains(&s.kind),
        })
        .collect();
    if scenarios.is_empty() {
        return Err(Error::Usage(format!(
            "no handshake scenario matches '{}'",
            args.filter.as_deref().unwrap_or("")
        )));
    }
    let mut skipped = Vec::new();
    let rows = measure_all(&scenarios, &pki, args.handshakes, |e| {
        skipped.push(e.to_string())
    })?;
    // Say each reason once (one line per distinct cause, as the benches do).
    let mut reasons: Vec<String> = skipped
        .iter()
        .map(|s| s.split_once(": ").map_or(s.clone(), |(_, r)| r.to_string()))
        .collect();
    reasons.dedup();
    for r in &reasons {
        eprintln!("skipped: {r}");
    }
    if rows.is_empty() {
        return Err(Error::Unsupported {
            backend: "tlscost",
            what: format!(
                "no scenario matching '{}' runs in this build ({} skipped)",
                args.filter.as_deref().unwrap_or(""),
                skipped.len()
            ),
        });
    }
    if args.json {
        let doc = serde_json::json!({
            "about": EXPLANATION,
            "openssl": openssl::version::version(),
            "connections": rows,
        });
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::Usage(format!("serialising the memory table: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    println!("{}", table(&rows));
    println!("{EXPLANATION}");
    println!("OpenSSL: {}.", openssl::version::version());
    for r in rows.iter().filter(|r| r.spread.is_some()) {
        println!(
            "note: {}: runs differed ({})",
            r.scenario,
            r.spread.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
