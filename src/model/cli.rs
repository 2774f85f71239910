//! `tlscost model`: arguments and the run (estimates -> model -> table, JSON, results file,
//! plots, Bencher Metric Format).

use super::components::Estimates;
use super::paper::Paper;
use super::{
    build, default_criterion_dir, default_results_dir, load_estimates, Flows, ModelOptions,
    ModelOutput,
};
use crate::crypto::Backend;
use crate::fixtures::Fixtures;
use crate::handshake::{Cert, Group, Kind, Protocol, Stack};
use crate::machine::Machine;
use crate::names::Dimension;
use crate::report::{self, Exporter};
use crate::results::ResultsFile;
use crate::{Error, Result};
use std::path::PathBuf;

/// Arguments of `tlscost model`.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Crypto backend of the TLS records: openssl, rustcrypto, awslc.
    #[arg(long, default_value = "openssl")]
    pub backend: String,
    /// TLS stack of the handshakes: openssl, rustls, rustls-awslc (rustls on aws-lc-rs); the
    /// rustls stacks have ECDHE only (no RSA key transport).
    #[arg(long, default_value = "openssl")]
    pub stack: String,
    /// Resumption of the "resumed" configurations: resumed-id or resumed-ticket (TLS 1.3:
    /// always by ticket).
    #[arg(long, default_value = "resumed-id")]
    pub resumed: String,
    /// Handshake protocol of the TLS configurations (records of its suite): openssl:
    /// tls12-rsa-aes128-sha (default: the paper's), tls12-ecdhe-rsa-aes128-gcm,
    /// tls12-ecdhe-ecdsa-aes128-gcm, tls13-aes128-gcm; rustls and rustls-awslc: the last
    /// three (default: tls12-ecdhe-rsa-aes128-gcm).
    #[arg(long, value_name = "P")]
    pub protocol: Option<String>,
    /// Your proxy's measured UDP cost per call (µs), in place of the measured base.
    #[arg(long, value_name = "US", allow_negative_numbers = true)]
    pub base_udp_us: Option<f64>,
    /// Your SIP auth credential lookup per call (µs); cannot be measured here.
    #[arg(
        long,
        value_name = "US",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub auth_us: f64,
    /// Read the estimates from this results file instead of criterion's output; repeat to
    /// combine files (of one machine, unless --allow-mixed).
    #[arg(long, value_name = "FILE")]
    pub results: Vec<PathBuf>,
    /// Combine results files measured on different machines (the output then says so).
    #[arg(long)]
    pub allow_mixed: bool,
    /// Criterion's output directory (default: target/criterion).
    #[arg(long, value_name = "DIR")]
    pub criterion_dir: Option<PathBuf>,
    /// The paper's figures (default: results/paper.json).
    #[arg(long, value_name = "FILE")]
    pub paper: Option<PathBuf>,
    /// Print the model as JSON on stdout instead of tables.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the tables as markdown.
    #[arg(long)]
    pub markdown: bool,
    /// Also write Bencher Metric Format JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub bmf: Option<PathBuf>,
    /// Directory for the SVG plots (default: results/).
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Directory for the results file <host>-<date>-<HHMMSS>.json (default: results/).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Write neither the results file nor the plots.
    #[arg(long)]
    pub no_save: bool,
    /// Compare the components with this earlier results file (default, for a fresh
    /// measurement: the newest earlier results file of this machine and these options in the
    /// results directory).
    #[arg(long, value_name = "FILE")]
    pub previous: Option<PathBuf>,
    /// When this measurement started (Unix seconds; `make model` passes it): the results
    /// file keeps only estimates criterion finished since, and each component that read an
    /// older one is named in a warning.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub since: Option<u64>,
    /// Project peak calls/s on this many cores with the handshakes' measured scaling
    /// efficiency (`tlscost scale`; default: this machine's cores when that file exists).
    #[arg(long, value_name = "K")]
    pub cores: Option<usize>,
    /// The `tlscost scale` file (default: scale.json beside the criterion directory).
    #[arg(long, value_name = "FILE")]
    pub scaling: Option<PathBuf>,
    /// Key-exchange group: x25519, p256, x25519mlkem768 (default x25519 where there is one).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Certificate type: rsa2048, ecdsa-p256 (default: the suite's; rsa2048 for TLS 1.3).
    #[arg(long, value_name = "CERT")]
    pub cert: Option<String>,
    /// Also state the heap memory of N persistent connections (measured now, in this process).
    #[arg(long, value_name = "N")]
    pub connections: Option<u64>,
    /// Also print the paper's TLS configurations beside their modern equivalents (TLS 1.2
    /// ECDHE, TLS 1.3, ECDSA, the post-quantum hybrid, ticket resumption), with ratios.
    #[arg(long)]
    pub today: bool,
    /// Calibrate on your proxy's measured µs per call (CSV `configuration,us_per_call` or
    /// JSON; see fixtures/calibration-example.csv) and predict the other configurations.
    #[arg(long, value_name = "FILE")]
    pub calibrate: Option<PathBuf>,
}

impl ModelArgs {
    /// The model options these arguments ask for, checked.
    pub fn options(&self) -> Result<ModelOptions> {
        let opts = ModelOptions {
            backend: Backend::from_label("backend", &self.backend)?,
            stack: Stack::from_label("stack", &self.stack)?,
            resumed: Kind::from_label("resumption", &self.resumed)?,
            base_udp_us: self.base_udp_us,
            auth_us: self.auth_us,
            protocol: self
                .protocol
                .as_deref()
                .map(|p| Protocol::from_label("protocol", p))
                .transpose()?,
            group: self
                .group
                .as_deref()
                .map(|g| Group::from_label("group", g))
                .transpose()?,
            cert: self
                .cert
                .as_deref()
                .map(|c| Cert::from_label("certificate type", c))
                .transpose()?,
            connections: self.connections,
        };
        opts.validate()?;
        Ok(opts)
    }
}

/// Computes the model for `args` without writing anything.
pub fn compute(args: &ModelArgs) -> Result<ModelOutput> {
    let opts = args.options()?;
    let paper = match &args.paper {
        Some(p) => Paper::load(p)?,
        None => Paper::locate()?,
    };
    let (est, mixed) = estimates(args)?;
    let flows = Flows::from_fixtures(&Fixtures::locate()?)?;
    // The handshake this build cannot run is named before any estimate is looked up.
    for kind in [Kind::Full, Kind::Mutual, opts.resumed] {
        opts.scenario(kind).available()?;
    }
    let mut model = build(&opts, &flows, &est, &paper)?;
    // Files of different machines (--allow-mixed): every output says so.
    model.warnings.extend(mixed);
    model.reconstructed = reconstructed(&opts, &est);
    if args.today {
        model.today = Some(super::today::today(&opts, &flows, &est, &paper)?);
    }
    if let Some(n) = opts.connections {
        model.memory = Some(persistent_memory(&opts, n)?);
    }
    Ok(model)
}

/// Each TLS handshake component beside the sum of its priced parts, where the handshake side
/// was measured (`tlscost counts --explain` explains them in full). Best effort: a problem
/// (no fixtures, an unreadable anatomy file) leaves the list empty and says why on stderr.
fn reconstructed(opts: &ModelOptions, est: &Estimates) -> Vec<super::Reconstructed> {
    use super::components::ComponentId;
    let pki = match crate::handshake::Pki::locate() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("note: handshakes not rebuilt from their parts: {e}");
            return Vec::new();
        }
    };
    // Once for every handshake; a stale or unreadable file leaves the counts inferred.
    let anatomy =
        crate::handshake::anatomy::AnatomyFile::load(&crate::handshake::anatomy::default_path())
            .unwrap_or_else(|e| {
                eprintln!("note: handshakes rebuilt from counts inferred from the messages: {e}");
                None
            });
    let mut out = Vec::new();
    for id in ComponentId::table() {
        let ComponentId::TlsHandshake(side, kind) = id else {
            continue;
        };
        let bench = super::handshake_bench(opts, side, kind);
        let backend = opts.record_backend(super::configs::BulkSuite::Aes);
        let rebuilt = crate::handshake::explain::reconstruct(
            &bench,
            &est.map,
            &pki,
            backend.label(),
            anatomy.as_ref(),
        );
        match rebuilt {
            Ok(Some(x)) => out.push(super::Reconstructed {
                id: id.id(),
                bench,
                measured_us: x.measured_us,
                reconstructed_us: x.explained_us,
                fraction: x.fraction,
                fraction_instructions: x.fraction_instructions,
                residual: x.residual,
            }),
            Ok(None) => {}
            Err(e) => eprintln!("note: {bench} not rebuilt from its parts: {e}"),
        }
    }
    out
}

/// The estimates `args` name: the results files, merged (refused when they come from
/// different machines, unless --allow-mixed: then with the warnings that say so), or
/// criterion's output.
pub fn estimates(args: &ModelArgs) -> Result<(Estimates, Vec<String>)> {
    if args.results.is_empty() {
        let criterion_dir = args
            .criterion_dir
            .clone()
            .unwrap_or_else(default_criterion_dir);
        return Ok((load_estimates(None, &criterion_dir)?, Vec::new()));
    }
    let (map, mixed) = crate::results::read_merged(&args.results, args.allow_mixed)?;
    let source = args.results[0].clone();
    Ok((Estimates { map, source }, mixed))
}

/// `tlscost model`.
pub fn run(args: ModelArgs) -> Result<()> {
    if let Some(file) = &args.calibrate {
        return run_calibration(&args, file);
    }
    let mut model = compute(&args)?;
    multicore(&mut model, &args)?;
    // Fresh criterion output was taken on this machine just now: say if it is busy, and
    // which components were measured while it was noisy (`make model`'s monitor); it is
    // saved under the time it finished, and the previous run is the newest other file of
    // this machine and these options.
    let out_dir = args.out_dir.clone().unwrap_or_else(default_results_dir);
    let mut file = None;
    if args.results.is_empty() {
        let criterion_dir = args
            .criterion_dir
            .clone()
            .unwrap_or_else(default_criterion_dir);
        let watched = crate::quiet::conditions(&criterion_dir, &component_benches(&model))?;
        // The monitor's samples leave our own benches out; the load average now counts them
        // (a run that was quiet by the monitor read "load 1.8" here), so it speaks only when
        // nobody watched.
        if watched.is_empty() {
            model.warnings.extend(busy_warnings());
        }
        model.warnings.extend(watched);
        file = Some(fresh_results_file(&criterion_dir, args.since, &mut model)?);
    }
    let previous = match (&args.previous, &file) {
        (Some(path), _) => Some(super::repeat::PreviousRun::read(path)?),
        (None, Some(f)) => {
            let (found, notes) = super::repeat::find_previous(
                &out_dir,
                &f.machine.host,
                &f.machine.openssl_build,
                &model,
                &f.default_path(&out_dir),
            );
            for n in notes {
                eprintln!("note: {n}");
            }
            found
        }
        (None, None) => None,
    };
    if previous.is_none() && file.is_some() {
        eprintln!(
            "note: no earlier run of this machine and these options in {}: the next run will be compared with this one",
            out_dir.display()
        );
    }
    if let Some(p) = previous {
        let differs = p.machine_differences(&Machine::current());
        if !differs.is_empty() {
            model.warnings.push(format!(
                "{} was measured elsewhere ({}): its components differ by more than noise",
                p.path().display(),
                differs.join(", ")
            ));
        }
        if !p.matches(&model) {
            model.warnings.push(format!(
                "{} was computed with other model options or another protocol: its components may come from other benches",
                p.path().display()
            ));
        }
        let cmp = super::repeat::compare(&p, &model.components);
        model.warnings.extend(cmp.warning());
        model.repeatability = Some(cmp);
    }
    // The tables list the warnings themselves; JSON on stdout gets them on stderr too.
    if args.json {
        for w in &model.warnings {
            eprintln!("Warning: {w}");
        }
    }
    let exporter = report::stdout_exporter(args.json, args.markdown);
    for a in exporter.model(&model)? {
        print!("{}", String::from_utf8_lossy(&a.bytes));
    }
    if let Some(path) = &args.bmf {
        report::write_artifacts_to(&report::bmf::Bmf.model(&model)?, path)?;
    }
    if args.no_save {
        return Ok(());
    }
    let plots_dir = args.plots.clone().unwrap_or_else(default_results_dir);
    for a in report::svg::Svg.model(&model)? {
        let path = plots_dir.join(&a.name);
        crate::fsutil::write_atomic(&path, &a.bytes)?;
        eprintln!("plot: {}", path.display());
    }
    if let Some(file) = &mut file {
        file.model = Some(serde_json::to_value(&model).map_err(|e| Error::Results {
            path: out_dir.clone(),
            what: format!("cannot serialise the model: {e}"),
        })?);
        file.memory = memory_table()?;
        let path = file.default_path(&out_dir);
        file.write(&path)?;
        eprintln!("results: {}", path.display());
    }
    Ok(())
}

/// The results file of a fresh measurement in `criterion_dir`, named by the time its newest
/// estimate finished. With `since` (Unix seconds): only the estimates finished since, and a
/// `STALE` warning in `model` naming each component that read an older one.
fn fresh_results_file(
    criterion_dir: &std::path::Path,
    since: Option<u64>,
    model: &mut ModelOutput,
) -> Result<ResultsFile> {
    let mut file = ResultsFile::new(
        Machine::current(),
        &crate::results::criterion::load(criterion_dir)?,
    );
    let finished = crate::results::criterion::finished_at(criterion_dir)?;
    file.measured = finished.values().copied().reduce(f64::max).map(|s| {
        crate::results::utc_rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(s))
    });
    let Some(since) = since else {
        return Ok(file);
    };
    let this_run = |bench: &str| finished.get(bench).is_some_and(|&t| t >= since as f64);
    file.estimates.retain(|id, _| this_run(id));
    let stale: Vec<String> = component_benches(model)
        .into_iter()
        .filter_map(|(label, benches)| {
            let old: Vec<String> = benches.into_iter().filter(|b| !this_run(b)).collect();
            (!old.is_empty()).then(|| format!("{label} ({})", old.join(", ")))
        })
        .collect();
    if !stale.is_empty() {
        model.warnings.push(format!(
            "STALE: {} components read estimates measured before this run (a bench that failed or was not selected leaves criterion's previous estimate in place): {}",
            stale.len(),
            stale.join("; ")
        ));
    }
    Ok(file)
}

/// Applies `tlscost scale`'s efficiencies to the peak calls/s on K cores: the file named by
/// --scaling, else (estimates from criterion) the one beside the criterion directory if it
/// exists. --cores without a file is an error saying how to make one.
fn multicore(model: &mut ModelOutput, args: &ModelArgs) -> Result<()> {
    let beside_criterion = || {
        let dir = args
            .criterion_dir
            .clone()
            .unwrap_or_else(default_criterion_dir);
        dir.parent()
            .map(|d| d.join("scale.json"))
            .unwrap_or_default()
    };
    let path = match &args.scaling {
        Some(p) => p.clone(),
        // Fresh criterion output: the scale file measured beside it, if any.
        None if args.results.is_empty() && beside_criterion().is_file() => beside_criterion(),
        None => {
            return match args.cores {
                Some(k) => Err(Error::Usage(format!(
                    "--cores {k}: no scaling measured: run `tlscost scale` first (it writes {}), or name its file with --scaling",
                    beside_criterion().display()
                ))),
                None => Ok(()),
            }
        }
    };
    let file = crate::scale::ScaleFile::read(&path)?;
    let opts = args.options()?;
    let scenario = |kind: &str| {
        Kind::from_label("kind", kind)
            .map(|k| opts.scenario(k).label())
            .unwrap_or_else(|_| kind.to_string())
    };
    crate::scale::apply(model, &file, args.cores, &path, &scenario)
}

/// Each measured component's label and benchmarks.
fn component_benches(model: &ModelOutput) -> Vec<(String, Vec<String>)> {
    model
        .components
        .iter()
        .filter_map(|c| {
            let m = c.measured.as_ref()?;
            Some((
                c.label.clone(),
                m.benches.iter().map(|b| b.0.clone()).collect(),
            ))
        })
        .collect()
}

/// The memory per connection of every scenario of the paper's kinds this build can run, for
/// the results file (`None` in a binary that does not count the heap).
fn memory_table() -> Result<Option<serde_json::Value>> {
    if !crate::memory::heap::installed() {
        return Ok(None);
    }
    eprintln!(
        "memory: measuring the heap per connection of every handshake scenario for the results file (`tlscost memory` prints it)"
    );
    let pki = crate::handshake::Pki::locate()?;
    let scenarios: Vec<_> = crate::handshake::Scenario::ALL
        .iter()
        .copied()
        .filter(|s| Kind::PAPER.contains(&s.kind))
        .collect();
    let rows = crate::memory::measure_all(&scenarios, &pki, crate::memory::HANDSHAKES, |_| {})?;
    serde_json::to_value(rows)
        .map(Some)
        .map_err(|e| Error::Usage(format!("serialising memory: {e}")))
}

/// The memory of `n` persistent connections of the model's full handshake, measured now.
fn persistent_memory(opts: &ModelOptions, n: u64) -> Result<super::PersistentMemory> {
    let scenario = opts.scenario(Kind::Full);
    let pki = crate::handshake::Pki::locate()?;
    let m = crate::memory::measure(scenario, &pki, crate::memory::HANDSHAKES)?;
    let mib = |b: i64| b as f64 * n as f64 / (1024.0 * 1024.0);
    Ok(super::PersistentMemory {
        connections: n,
        scenario: m.scenario,
        server_bytes: m.server.held_bytes,
        client_bytes: m.client.held_bytes,
        server_mib: mib(m.server.held_bytes),
        client_mib: mib(m.client.held_bytes),
    })
}

/// Hyperfine-style warnings when the machine is busy now.
pub fn busy_warnings() -> Vec<String> {
    let (load, steal) = crate::machine::busy_signals();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let mut w = Vec::new();
    if let Some(l) = load {
        if l > 0.5 * cores {
            w.push(format!(
                "the 1-minute load average is {l:.2} on {cores} cores: other work may have slowed the benchmarks"
            ));
        }
    }
    if let Some(s) = steal {
        if s > 0.02 {
            w.push(format!(
                "{:.1}% of CPU time was stolen by the hypervisor since boot: timings on this VM are noisy",
                s * 100.0
            ));
        }
    }
    w
}

/// `tlscost model --calibrate FILE`: the model's components, calibrated on FILE.
fn run_calibration(args: &ModelArgs, file: &std::path::Path) -> Result<()> {
    let opts = args.options()?;
    let (est, mixed) = estimates(args)?;
    mixed.iter().for_each(|w| eprintln!("Warning: {w}"));
    let flows = Flows::from_fixtures(&Fixtures::locate()?)?;
    let measured = super::calibrate::read_file(file)?;
    let prices = super::calibrate::prices(&opts, &flows, &est);
    let cal = super::calibrate::fit(&measured, &prices)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&cal).map_err(|e| Error::Results {
                path: PathBuf::from(file),
                what: format!("cannot serialise the calibration: {e}"),
            })?
        );
    } else {
        print!("{}", report::calibration::render(&cal));
    }
    Ok(())
}

/// `tlscost compare`: the comparison, printed in the format `--json` / `--markdown` selects.
pub fn run_compare(args: super::compare::CompareArgs) -> Result<()> {
    let cmp = super::compare::compute(&args)?;
    let exporter = report::stdout_exporter(args.json, args.markdown);
    for a in exporter.comparison(&cmp)? {
        print!("{}", String::from_utf8_lossy(&a.bytes));
    }
    Ok(())
}
