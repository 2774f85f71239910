//! `tlscost counts`: the measured operation counts of every handshake scenario, as a table or
//! JSON, and with `--explain` how much of each measured handshake side they explain.

use super::anatomy;
use super::count::{self, How, OpCounts, SideCounts};
use super::explain::{self, Explanation};
use super::{Pki, Scenario, Side, RUSTLS_NO_RSA_KX};
use crate::fixtures::Fixtures;
use crate::names::Dimension;
use crate::{Error, Result};
use comfy_table::Table;
use std::path::PathBuf;

/// Arguments of `tlscost counts`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also explain each measured handshake side with counts × primitive costs (needs the
    /// criterion results of the `primitives` and `handshakes` benches).
    #[arg(long)]
    pub explain: bool,
    /// Only scenarios whose `<stack>/<protocol>/<kind>` label contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Where criterion wrote its results.
    #[arg(long, default_value = "target/criterion")]
    pub criterion_dir: PathBuf,
    /// Whose primitive benches price OpenSSL's RSA and records (`rsa/<backend>/...`,
    /// `record/<backend>/...`) and rustls-on-ring's records; every other part is priced on the
    /// stack's own implementation (rustls: ring and webpki; rustls-awslc: aws-lc-rs and webpki).
    #[arg(long, default_value = "openssl")]
    pub price_backend: String,
    /// Fixtures directory (default: $TLSCOST_FIXTURES, else the crate's fixtures/).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// The callgrind profiles of `tlscost anatomy` (default: target/anatomy/anatomy.json):
    /// OpenSSL's counts are read from it when it has the scenario.
    #[arg(long, value_name = "FILE")]
    pub anatomy: Option<PathBuf>,
}

/// Runs `tlscost counts`.
pub fn run(args: Args) -> Result<()> {
    // The pricing backend must have both RSA and record benches; check it before any work.
    let price = crate::crypto::Backend::from_label("price backend", &args.price_backend)?;
    if !crate::crypto::Backend::SYMMETRIC.contains(&price) {
        let valid: Vec<&str> = crate::crypto::Backend::SYMMETRIC
            .iter()
            .map(|b| b.label())
            .collect();
        return Err(Error::Usage(format!(
            "--price-backend {}: handshakes are priced with RSA and record benches, which exist \
             for {} only",
            args.price_backend,
            valid.join(", ")
        )));
    }
    let fixtures = match &args.fixtures {
        Some(p) => Fixtures::at(p),
        None => Fixtures::locate()?,
    };
    let pki = Pki::load(&fixtures)?;
    let scenarios: Vec<Scenario> = Scenario::ALL
        .iter()
        .copied()
        .filter(|s| args.filter.as_deref().is_none_or(|f| s.label().contains(f)))
        .collect();
    // Scenarios this build cannot run (3DES on the system OpenSSL) are skipped with the reason;
    // if nothing else is left, the reason is the error.
    let mut unavailable = None;
    let scenarios: Vec<Scenario> = scenarios
        .into_iter()
        .filter(|s| match s.available() {
            Ok(()) => true,
            Err(e) => {
                eprintln!("skipped: {e}");
                unavailable.get_or_insert(e);
                false
            }
        })
        .collect();
    if let (true, Some(e)) = (scenarios.is_empty(), unavailable) {
        return Err(e);
    }
    if scenarios.is_empty() {
        return Err(Error::Usage(format!(
            "no handshake scenario matches '{}'",
            args.filter.as_deref().unwrap_or("")
        )));
    }
    let anatomy_path = args.anatomy.clone().unwrap_or_else(anatomy::default_path);
    let anatomy = anatomy::AnatomyFile::load(&anatomy_path)?;
    let counts = scenarios
        .iter()
        .map(|s| count::measure_with(*s, &pki, anatomy.as_ref()))
        .collect::<Result<Vec<_>>>()?;
    let report = if args.explain {
        let est = crate::results::criterion::load(&args.criterion_dir)?;
        Some(explain::explain_all(
            &counts,
            &est,
            &args.price_backend,
            anatomy.as_ref(),
        )?)
    } else {
        None
    };
    if args.json {
        let doc = serde_json::json!({
            "absent": [RUSTLS_NO_RSA_KX],
            "counts": counts,
            "explanations": report.as_ref().map(|r| &r.explanations),
            "missing": report.as_ref().map(|r| &r.missing),
            "summary": report.as_ref().map(|r| &r.summary),
        });
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::Usage(format!("serialising counts: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    println!("{}", counts_table(&counts));
    let measured = counts.iter().any(|c| c.pk_counts == How::Callgrind);
    if counts.iter().any(|c| c.pk_counts == How::Inferred) {
        println!(
            "* inferred from the handshake messages: no callgrind profile of this scenario in {} (`make anatomy` counts openssl's calls).",
            anatomy_path.display()
        );
    }
    if measured {
        println!("openssl: RSA, key-share, derive, X.509, KDF and digest counts are calls counted by callgrind on the side's steps ({}).", anatomy_path.display());
    }
    println!(
        "† rustls: certificate parses and chain verifications follow the scenario (its verifier is not wrapped): one chain per certificate message received, one leaf parse per handshake signature checked."
    );
    println!(
        "  n/a: not observed on this stack. Records: protected records and their ciphertext bytes. Tickets: stateless session tickets the server encrypted/decrypted (rustls's ticketer; n/a on openssl, which seals them inside libssl)."
    );
    println!("Absent: {RUSTLS_NO_RSA_KX}.");
    if let Some(report) = report {
        println!();
        println!("{}", explain_table(&report.explanations));
        for stack in crate::handshake::Stack::ALL {
            println!(
                "{}: priced on {}.",
                stack.label(),
                explain::Pricing::of(*stack, &args.price_backend).describe()
            );
        }
        println!("Shares are of the measured side; parts and residual make 100%.");
        let sum = report.summary;
        println!(
            "Done condition ({:.0}% inside priced parts, by instructions where profiled, else by time; below it, a residual named by the profile): {} sides: {} explained, {} named residual, {} neither.",
            100.0 * explain::EXPLAINED,
            report.explanations.len(),
            sum.explained,
            sum.named_residual,
            sum.unexplained
        );
        for e in report
            .explanations
            .iter()
            .filter(|e| e.verdict == explain::Verdict::Unexplained)
        {
            println!(
                "- neither: {} ({:.0}% by time, no profile: `make anatomy` profiles it)",
                e.bench.trim_start_matches("handshake/"),
                100.0 * e.fraction
            );
        }
        // Timings taken on a busy machine do not add up: say so, as the model does.
        let (load, _) = crate::machine::busy_signals();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        if let Some(l) = load.filter(|l| *l > 0.5 * cores) {
            println!(
                "Warning: the 1-minute load average is {l:.2} on {cores} cores: the timed fractions mix medians taken under different load; the instruction fractions (callgrind) do not depend on it."
            );
        }
        if !report.missing.is_empty() {
            println!();
            println!("Not measured yet (left in the residual or not explained):");
            for m in &report.missing {
                println!("- {}: {}", m.what, m.run);
            }
        }
    }
    Ok(())
}

fn cell(n: u64, how: How) -> String {
    match how {
        How::Observed | How::Callgrind => n.to_string(),
        How::Inferred => format!("{n}*"),
    }
}

fn x509_cell(n: Option<u64>, stack_rustls: bool, how: How) -> String {
    match n {
        None => "n/a".to_string(),
        Some(n) if stack_rustls => format!("{n}†"),
        Some(n) => cell(n, how),
    }
}

fn opt(n: Option<u64>) -> String {
    n.map_or_else(|| "n/a".to_string(), |n| n.to_string())
}

/// The counts as a table, one row per scenario and side.
pub fn counts_table(counts: &[OpCounts]) -> Table {
    let mut t = Table::new();
    t.set_header(vec![
        "scenario",
        "side",
        "priv sign",
        "priv decrypt",
        "pub verify",
        "pub encrypt",
        "key shares",
        "kx",
        "cert parses",
        "chains",
        "PRF/HKDF",
        "hashes",
        "sealed (B)",
        "opened (B)",
        "rec MACs",
        "tickets sealed/opened",
        "wire out/in (B)",
    ]);
    for c in counts {
        for side in Side::ALL {
            let s: &SideCounts = c.side(*side);
            let h = c.pk_counts;
            let rustls = c.scenario.starts_with("rustls/");
            t.add_row(vec![
                c.scenario.clone(),
                side.label().to_string(),
                cell(s.private_sign, h),
                cell(s.private_decrypt, h),
                cell(s.public_verify, h),
                cell(s.public_encrypt, h),
                s.key_shares
                    .map_or_else(|| "n/a".to_string(), |n| cell(n, h)),
                cell(s.key_exchanges, h),
                x509_cell(s.cert_parses, rustls, c.x509_counts),
                x509_cell(s.chain_verifications, rustls, c.x509_counts),
                opt(s.kdf_calls),
                opt(s.hash_outputs),
                format!("{} ({})", s.records_sealed, s.sealed_bytes),
                format!("{} ({})", s.records_opened, s.opened_bytes),
                cell(s.record_macs, h),
                format!("{}/{}", opt(s.tickets_sealed), opt(s.tickets_opened)),
                format!("{}/{}", s.wire_bytes_sent, s.wire_bytes_received),
            ]);
        }
    }
    t
}

/// The explanations as a table, one row per scenario and side: the measured side, what its
/// parts explain, each part (count × what = µs, share), and the residual named.
pub fn explain_table(ex: &[Explanation]) -> Table {
    let mut t = Table::new();
    t.set_header(vec![
        "handshake side",
        "measured µs",
        "explained (time / instr.)",
        "verdict",
        "parts: count × what = µs (share)",
        "residual µs (share): what it is",
    ]);
    for e in ex {
        let parts: Vec<String> = e
            .parts
            .iter()
            .filter(|p| p.total_us >= 0.05)
            .map(|p| {
                let n = if p.count.fract() == 0.0 {
                    format!("{}", p.count)
                } else {
                    format!("{:.0} B", p.count)
                };
                format!(
                    "{n} × {} = {:.1} ({:.0}%)",
                    p.what,
                    p.total_us,
                    100.0 * p.share
                )
            })
            .collect();
        let mut residual = format!(
            "{:.1} ({:.0}%)",
            e.residual_us,
            if e.measured_us > 0.0 {
                100.0 * e.residual_us / e.measured_us
            } else {
                0.0
            }
        );
        if !e.residual.is_empty() {
            residual.push_str(": ");
            residual.push_str(&e.residual.join(", "));
        }
        if !e.unpriced.is_empty() {
            residual.push_str("; unpriced: ");
            residual.push_str(&e.unpriced.join(", "));
        }
        t.add_row(vec![
            e.bench.trim_start_matches("handshake/").to_string(),
            format!("{:.1}", e.measured_us),
            match e.fraction_instructions {
                Some(f) => format!("{:.0}% / {:.0}%", e.fraction * 100.0, f * 100.0),
                None => format!("{:.0}% / -", e.fraction * 100.0),
            },
            e.verdict.label().to_string(),
            parts.join("\n"),
            residual,
        ]);
    }
    t
}

/// Arguments of `tlscost anatomy`.
#[derive(Debug, clap::Args)]
pub struct AnatomyArgs {
    /// Only scenarios whose `<stack>/<protocol>/<kind>` label contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Where to write the profiles (default: target/anatomy/anatomy.json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Only print the table of an existing results file (no profiling).
    #[arg(long)]
    pub show: bool,
    /// Run one scenario's counted handshake (what runs under callgrind; not for direct use).
    #[arg(long, value_name = "SCENARIO", hide = true)]
    pub one: Option<String>,
}

/// Runs `tlscost anatomy`: every available scenario's sides under callgrind, then the table.
pub fn run_anatomy(args: AnatomyArgs) -> Result<()> {
    if let Some(bench) = &args.one {
        return anatomy::run_one(bench, &Pki::locate()?);
    }
    let path = args.out.clone().unwrap_or_else(anatomy::default_path);
    let file = if args.show {
        anatomy::AnatomyFile::load(&path)?.ok_or_else(|| Error::Results {
            path: path.clone(),
            what: "no anatomy results here: run `make anatomy` (or `tlscost anatomy`)".into(),
        })?
    } else {
        profile_all(&args, &path)?
    };
    if args.json {
        let text = serde_json::to_string_pretty(&file)
            .map_err(|e| Error::Usage(format!("serialising profiles: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    println!("{}", profile_table(&file));
    println!("{}", paper_rows_note());
    Ok(())
}

fn profile_all(args: &AnatomyArgs, path: &std::path::Path) -> Result<anatomy::AnatomyFile> {
    let valgrind = anatomy::valgrind_version()?;
    // Checked before any work: the fixtures the child processes will load.
    Pki::locate()?;
    let exe = std::env::current_exe().map_err(|e| Error::io("locating tlscost itself", e))?;
    let scenarios = anatomy::scenarios(args.filter.as_deref());
    if scenarios.is_empty() {
        return Err(Error::Usage(format!(
            "no available handshake scenario matches '{}'",
            args.filter.as_deref().unwrap_or("")
        )));
    }
    let work = path
        .parent()
        .map(|p| p.join("callgrind"))
        .unwrap_or_else(|| PathBuf::from("callgrind"));
    let total = scenarios.len();
    let mut sides = Vec::new();
    let start = std::time::Instant::now();
    for (i, scenario) in scenarios.iter().enumerate() {
        eprint!(
            "[{}/{total}] {} under callgrind ... ",
            i + 1,
            scenario.label()
        );
        let [c, s] = anatomy::profile_scenario(&exe, *scenario, &work)?;
        eprintln!(
            "client {:.2} M, server {:.2} M instructions ({:.0} s so far)",
            c.total_ir as f64 / 1e6,
            s.total_ir as f64 / 1e6,
            start.elapsed().as_secs_f64()
        );
        sides.push(c);
        sides.push(s);
    }
    let file = anatomy::AnatomyFile {
        kind: anatomy::KIND.into(),
        schema: anatomy::SCHEMA,
        openssl: openssl::version::version().to_string(),
        valgrind,
        sides,
    };
    // Profiles of other scenarios from an earlier run are kept (a filtered run adds to them).
    let mut merged = anatomy::AnatomyFile::load(path)
        .ok()
        .flatten()
        .unwrap_or(file.clone());
    for s in &file.sides {
        match merged.sides.iter_mut().find(|m| m.bench == s.bench) {
            Some(m) => *m = s.clone(),
            None => merged.sides.push(s.clone()),
        }
    }
    merged.openssl = file.openssl.clone();
    merged.valgrind = file.valgrind.clone();
    merged.save(path)?;
    eprintln!("profiles: {}", path.display());
    Ok(merged)
}

/// The profile table: per handshake side, its instructions and their shares in the paper's
/// categories, and the finer parts beside them.
pub fn profile_table(file: &anatomy::AnatomyFile) -> Table {
    let cats = anatomy::table_categories();
    let mut t = Table::new();
    let mut header = vec!["handshake side".to_string(), "M instr".to_string()];
    header.extend(cats.iter().map(|c| format!("{c} %")));
    header.push("finer view (largest parts, %)".to_string());
    t.set_header(header);
    for s in &file.sides {
        let b = s.breakdown();
        let total = b.total.max(1.0);
        let mut row = vec![
            s.bench.trim_start_matches("handshake/").to_string(),
            format!("{:.2}", s.total_ir as f64 / 1e6),
        ];
        for c in &cats {
            let v = s.by_category.get(*c).copied().unwrap_or(0.0);
            row.push(format!("{:.0}", 100.0 * v / total));
        }
        let mut parts: Vec<(&String, &f64)> = s.by_part.iter().collect();
        parts.sort_by(|a, b| b.1.total_cmp(a.1));
        let finer: Vec<String> = parts
            .iter()
            .take(5)
            .map(|(p, v)| format!("{p} {:.0}", 100.0 * **v / total))
            .collect();
        row.push(finer.join(", "));
        t.add_row(row);
    }
    t
}

/// The paper's handshake breakdowns, as shares, to read beside the table.
fn paper_rows_note() -> String {
    "Paper (App. C categories; oprofile events, OpenSSL 0.9.8g, RSA-1024 era hardware): \
     outbound TCP->TLS (server handshake + records + kernel, +630K): RSA 37%, MAC 10%, other \
     libcrypto 6%, libssl 5%; inbound TCP->TLS (client side, +921K): RSA 23%, other libcrypto \
     19%, MAC 10%, libssl 5%, AES 2%; App. D HTTPS pair, libcrypto of connection set-up: \
     client RSA 150 of 270 (56%), server RSA 300 of 400 (75%). Ours count one side's \
     instructions only (no kernel, no SIP work): shares of the handshake itself."
        .to_string()
}
