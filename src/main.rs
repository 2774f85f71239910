//! The `tlscost` command line. Each subcommand's arguments and work live in the library
//! module it belongs to; this file only dispatches and turns errors into a message and an
//! exit status (never a panic trace).

use clap::{Parser, Subcommand};
use std::process::ExitCode;

// Heap bytes per connection (`tlscost memory`, the model's persistent connections) are
// counted at the C allocator: this binary interposes it (the benchmarks do not).
tlscost::count_heap_allocations!();

#[derive(Parser)]
#[command(
    name = "tlscost",
    version,
    about = "What TLS costs a SIP server, component by component"
)]
struct Cli {
    /// A call-flow directory (manifest.json + message files, the format of fixtures/sip) to
    /// use instead of fixtures/sip, for every command that reads the call flow (model,
    /// testbed, validate); the same as TLSCOST_FLOW=DIR.
    #[arg(long, global = true, value_name = "DIR")]
    flow: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the machine signature results are recorded with.
    Machine,
    /// Generate the fixtures (PKI and SIP corpus); refuses to overwrite without --force.
    Fixtures(tlscost::fixtures::Args),
    /// The instruction-count regression gate: compare a gungraun run with the baseline.
    Gate(tlscost::gate::Args),
    /// The per-call cost model of every paper configuration from the measured components.
    Model(Box<tlscost::model::ModelArgs>),
    /// Every component across crypto backends and TLS stacks, or two results files.
    Compare(tlscost::model::compare::CompareArgs),
    /// `openssl speed` against the suite's OpenSSL backend on the same operations, with ratios.
    Parity(tlscost::parity::Args),
    /// The paper's Appendix D: client handshake steps, wake-ups and CPU, faulty vs fixed event loop.
    Eventloop(tlscost::eventloop::Args),
    /// A loopback SIP proxy with UAC/UAS load: the proxy's CPU per call, as a calibration file.
    Testbed(tlscost::testbed::Args),
    /// Measure a real SIP server's CPU per call (Kamailio, or yours at its address), as a
    /// measured-server file and a calibration CSV.
    Server(Box<tlscost::server::cli::Args>),
    /// Run the testbed, calibrate the model on part of it and predict the rest (Fig. 14, 16).
    Validate(tlscost::testbed::validate::Args),
    /// Measured operation counts of every handshake scenario and side (--explain: against the
    /// measured handshake times).
    Counts(tlscost::handshake::cli::Args),
    /// Heap bytes per established TLS connection and the peak during its handshake, per
    /// stack, scenario and side.
    Memory(tlscost::memory::cli::Args),
    /// Call flows as data: `flow check DIR` says whether a flow directory is usable, and what
    /// each message costs to seal and open.
    Flow(tlscost::flow::cli::Args),
    /// Callgrind profiles of every handshake side: measured OpenSSL operation counts and the
    /// paper's profile categories (needs valgrind).
    Anatomy(tlscost::handshake::cli::AnatomyArgs),
    /// Paired A/B comparison of two builds (or backends): the same benches alternately, the
    /// ratio B/A with its spread over the pairs, and (--count) the instruction counts.
    Ab(tlscost::ab::Args),
    /// The worker process `tlscost ab` drives (one per build).
    #[command(hide = true)]
    AbWorker(tlscost::ab::WorkerArgs),
    /// Handshakes/s and CPU per handshake with 1..N threads sharing one context: the scaling
    /// efficiency the model's multi-core peak uses.
    Scale(tlscost::scale::Args),
    /// Wait for a quiet machine before measuring, or monitor it during a run.
    Quiet(tlscost::quiet::Args),
}

fn run(cli: Cli) -> tlscost::Result<()> {
    if let Some(dir) = &cli.flow {
        // One place decides which flow everything reads (benches read the same variable).
        tlscost::fixtures::load_dir(dir)?;
        std::env::set_var(tlscost::fixtures::FLOW_ENV, dir);
    }
    match cli.command {
        Command::Machine => {
            let m = tlscost::machine::Machine::current();
            println!(
                "{}",
                serde_json::to_string_pretty(&m).expect("machine serialises")
            );
            Ok(())
        }
        Command::Fixtures(args) => tlscost::fixtures::run(args),
        Command::Gate(args) => tlscost::gate::run(args),
        Command::Model(args) => tlscost::model::run(*args),
        Command::Compare(args) => tlscost::model::run_compare(args),
        Command::Parity(args) => tlscost::parity::run(args),
        Command::Eventloop(args) => tlscost::eventloop::run(args),
        Command::Testbed(args) => tlscost::testbed::run(args),
        Command::Server(args) => tlscost::server::cli::run(*args),
        Command::Validate(args) => tlscost::testbed::validate::run(args),
        Command::Counts(args) => tlscost::handshake::cli::run(args),
        Command::Memory(args) => tlscost::memory::cli::run(args),
        Command::Flow(args) => tlscost::flow::cli::run(args),
        Command::Anatomy(args) => tlscost::handshake::cli::run_anatomy(args),
        Command::Ab(args) => tlscost::ab::run(args),
        Command::AbWorker(args) => tlscost::ab::run_worker(args),
        Command::Scale(args) => tlscost::scale::run(args),
        Command::Quiet(args) => tlscost::quiet::run(args),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            // Most messages already end with their cause; print only what they don't say.
            let shown = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                let text = s.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                }
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
