//! The worker of a paired A/B comparison: one process per build, which the controller
//! ([`super`]) drives through its standard input, one command a line, one JSON answer a
//! line on its standard output:
//!
//! - `info` → `{"openssl": "...", "openssl_build": "system"}`: what this build links;
//! - `list` → `["rsa/openssl/decrypt/2048", ...]`: every bench this build can run;
//! - `time <bench> <seconds>` → `{"ns_per_op": 123.4, "ops": 5000}`: the bench run for
//!   about that much CPU time of this thread, or `{"error": "..."}`.
//!
//! A bench is set up and self-checked the first time it is named (the same set-up as the
//! criterion benches and the gate: [`crate::gate::bench`]), then kept for the next samples.
//!
//! `tlscost ab-worker --count <bench> --iters N` instead runs the bench N times inside
//! [`counted`], for callgrind to count (see [`super::count`]).

use crate::crypto::cases::{self, Case, Group};
use crate::fixtures::Fixtures;
use crate::handshake::{HandshakeBench, Scenario, Side};
use crate::names::Dimension;
use crate::{cputime, Error, Result};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::time::Duration;

/// One bench, ready to run.
pub enum Job {
    /// A primitive case (`rsa/`, `cipher/`, `mac/`, `record/`).
    Primitive(Box<dyn Case>),
    /// One side of a handshake scenario (both sides run; the side's steps are timed).
    Handshake(Box<HandshakeBench>, Side),
}

impl Job {
    /// Sets up and self-checks the bench named `name`.
    pub fn build(name: &str) -> Result<Job> {
        if name.starts_with("handshake/") {
            let (bench, side) = crate::gate::bench::handshake_case(name)?;
            Ok(Job::Handshake(Box::new(bench), side))
        } else {
            Ok(Job::Primitive(crate::gate::bench::primitive_case(name)?))
        }
    }

    /// Thread CPU time of `iters` iterations (for a handshake: of the side's steps).
    pub fn timed(&mut self, iters: u64) -> Result<Duration> {
        match self {
            Job::Primitive(case) if case.batched() => case.timed(iters),
            Job::Primitive(case) => cputime::measure(iters, || case.run()),
            Job::Handshake(bench, side) => cputime::sum(iters, || bench.run_once(*side)),
        }
    }

    /// One untimed iteration.
    fn once(&mut self) -> Result<()> {
        match self {
            Job::Primitive(case) => case.run(),
            Job::Handshake(bench, side) => bench.run_once(*side).map(|_| ()),
        }
    }
}

/// Every bench this build can run: the primitive cases of every group and both sides of
/// every handshake scenario it supports.
pub fn available() -> Result<Vec<String>> {
    let fx = Fixtures::locate()?;
    let mut v = Vec::new();
    for group in Group::ALL {
        v.extend(cases::plan(*group, &fx)?.cases.iter().map(|c| c.id.full()));
    }
    for s in Scenario::ALL.iter().filter(|s| s.available().is_ok()) {
        for side in Side::ALL {
            v.push(s.id(*side).full());
        }
    }
    Ok(v)
}

/// Runs `job` in doubling batches until `budget` of thread CPU time is spent; returns
/// (ns per iteration, iterations).
pub fn sample(job: &mut Job, budget: Duration) -> Result<(f64, u64)> {
    let (mut spent, mut ops, mut batch) = (Duration::ZERO, 0u64, 1u64);
    while spent < budget {
        spent += job.timed(batch)?;
        ops += batch;
        batch = (batch * 2).min(1 << 16);
    }
    Ok((spent.as_nanos() as f64 / ops as f64, ops))
}

/// The counted region of `--count`: `iters` iterations of the job. Callgrind collects from
/// the entry of this function (`--toggle-collect=*tlscost::ab::worker::counted*`) or, for a
/// handshake, zeroes its counts here and collects only in the side's step function.
#[inline(never)]
pub fn counted(job: &mut Job, iters: u64) -> Result<()> {
    for _ in 0..iters {
        job.once()?;
    }
    Ok(())
}

/// `tlscost ab-worker`.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Run this bench `--iters` times for callgrind to count, then exit.
    #[arg(long, value_name = "BENCH")]
    count: Option<String>,
    /// Iterations of `--count`.
    #[arg(long, default_value_t = 3)]
    iters: u64,
}

/// Runs the worker: `--count`, or the command loop on standard input.
pub fn run(args: WorkerArgs) -> Result<()> {
    if let Some(name) = args.count {
        let mut job = Job::build(&name)?;
        job.once()?;
        return counted(&mut job, args.iters);
    }
    let mut jobs: BTreeMap<String, Job> = BTreeMap::new();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| Error::io("reading the A/B controller's command", e))?;
        let answer = match answer(&line, &mut jobs) {
            Ok(v) => v,
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
        writeln!(out, "{answer}")
            .and_then(|_| out.flush())
            .map_err(|e| Error::io("answering the A/B controller", e))?;
    }
    Ok(())
}

fn answer(line: &str, jobs: &mut BTreeMap<String, Job>) -> Result<serde_json::Value> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words[..] {
        ["info"] => {
            let m = crate::machine::Machine::current();
            Ok(serde_json::json!({ "openssl": m.openssl, "openssl_build": m.openssl_build }))
        }
        ["list"] => Ok(serde_json::json!(available()?)),
        ["time", name, seconds] => {
            let budget = seconds
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .ok_or_else(|| Error::Usage(format!("bad seconds '{seconds}'")))?;
            if !jobs.contains_key(name) {
                jobs.insert(name.to_string(), Job::build(name)?);
            }
            let job = jobs.get_mut(name).expect("inserted above");
            let (ns, ops) = sample(job, Duration::from_secs_f64(budget))?;
            Ok(serde_json::json!({ "ns_per_op": ns, "ops": ops }))
        }
        _ => Err(Error::Usage(format!("unknown worker command '{line}'"))),
    }
}
