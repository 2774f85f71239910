//! `tlscost flow check DIR [--json]`: prints [`super::check`]'s report as a table (or JSON)
//! and exits non-zero when the flow cannot be used at all.

use crate::{Error, Result};
use std::path::PathBuf;

/// Arguments of `tlscost flow`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum Command {
    /// Check a call-flow directory (manifest.json + message files, the format of
    /// fixtures/sip): what it can be used for, and each message's TLS record cost.
    Check {
        /// The directory.
        dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn verdict(r: &std::result::Result<(), String>) -> String {
    match r {
        Ok(()) => "yes".into(),
        Err(e) => format!("no: {e}"),
    }
}

/// `tlscost flow ...`.
pub fn run(args: Args) -> Result<()> {
    let Command::Check { dir, json } = args.command;
    let report = super::check(&dir)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))?
        );
    } else {
        println!("call flows in {}", report.dir);
        for f in &report.flows {
            let mut t = comfy_table::Table::new();
            t.set_header(vec![
                "message",
                "bytes",
                "forwarded",
                "UDP",
                "TLS record bytes",
                "seal µs",
                "open µs",
            ]);
            for m in &f.messages {
                t.add_row(vec![
                    m.name.clone(),
                    m.bytes.to_string(),
                    m.forwarded.map_or("-".into(), |b| b.to_string()),
                    if m.udp { "ok" } else { "TCP/TLS only" }.to_string(),
                    m.record_bytes.to_string(),
                    format!("{:.2}", m.seal_us),
                    format!("{:.2}", m.open_us),
                ]);
            }
            println!("\nflow '{}'\n{t}", f.name);
            println!("  base (UDP proxy self-check): {}", verdict(&f.base));
            println!("  UDP:                         {}", verdict(&f.udp));
            let testbed = match &f.testbed {
                Ok(what) => format!("yes, {what}"),
                Err(e) => format!("no: {e}"),
            };
            println!("  testbed:                     {testbed}");
        }
        println!(
            "\nmodel (--flow {}): {}",
            report.dir,
            verdict(&report.model)
        );
        println!("record cost: {}", report.pricing);
    }
    if report.usable() {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{}: not usable: the proxy's self-check fails on a flow (see above)",
            report.dir
        )))
    }
}
