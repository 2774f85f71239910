//! The gate's benchmark list and the set-up each gate benchmark runs before it is counted.
//!
//! `benches/gate.rs` is thin: each gungraun bench passes its full name to a `prepare_*`
//! function here (set-up and self-check, outside the counted region) and calls one method
//! of what it gets back (the counted region). A name is parsed back with the same
//! [`Dimension`] labels that composed it, so a bench cannot count something other than
//! what its name says.

use crate::crypto::cases::{self, Case, Group};
use crate::crypto::{Backend, RsaOp};
use crate::fixtures::Fixtures;
use crate::handshake::{HandshakeBench, Kind, Pki, Protocol, Scenario, Side, Stack};
use crate::names::{BenchId, Dimension};
use crate::record::{RecordOp, Suite};
use crate::{Error, Result};

/// RSA modulus size of the gate's RSA benchmarks.
pub const RSA_BITS: u32 = 2048;
/// Backends of the gate's RSA and record benchmarks.
pub const BACKENDS: [Backend; 2] = [Backend::OpenSsl, Backend::RustCrypto];
/// Operations of the gate's RSA benchmarks.
pub const RSA_OPS: [RsaOp; 3] = [RsaOp::Decrypt, RsaOp::Sign, RsaOp::Verify];
/// Record suites of the gate's record benchmarks (the paper's two CBC suites).
pub const RECORD_SUITES: [Suite; 2] = [Suite::Aes128Sha, Suite::TdesSha];
/// The SIP message the record benchmarks protect: the INVITE of fixtures/sip.
pub const RECORD_PAYLOAD: &str = "sip-invite";
/// Handshake scenarios of the gate: the paper's suite on OpenSSL and TLS 1.3 on rustls,
/// every kind of the paper each supports (X25519, RSA-2048 certificates).
pub const HANDSHAKES: [Scenario; 7] = [
    Scenario::new(Stack::Openssl, Protocol::Tls12RsaAes128Sha, Kind::Full),
    Scenario::new(Stack::Openssl, Protocol::Tls12RsaAes128Sha, Kind::Mutual),
    Scenario::new(Stack::Openssl, Protocol::Tls12RsaAes128Sha, Kind::ResumedId),
    Scenario::new(
        Stack::Openssl,
        Protocol::Tls12RsaAes128Sha,
        Kind::ResumedTicket,
    ),
    Scenario::new(Stack::Rustls, Protocol::Tls13Aes128Gcm, Kind::Full),
    Scenario::new(Stack::Rustls, Protocol::Tls13Aes128Gcm, Kind::Mutual),
    Scenario::new(Stack::Rustls, Protocol::Tls13Aes128Gcm, Kind::ResumedTicket),
];

/// Every benchmark the gate counts, in report order. `make baseline` refuses a run that
/// lacks one of them.
pub fn all() -> Vec<BenchId> {
    let mut v = Vec::new();
    for backend in BACKENDS {
        for op in RSA_OPS {
            v.push(BenchId::new("rsa", &[backend.label(), op.label()]).with_parameter(RSA_BITS));
        }
    }
    for backend in BACKENDS {
        for suite in RECORD_SUITES {
            for op in RecordOp::ALL {
                v.push(
                    BenchId::new("record", &[backend.label(), suite.label(), op.label()])
                        .with_parameter(RECORD_PAYLOAD),
                );
            }
        }
    }
    for scenario in HANDSHAKES {
        for side in Side::ALL {
            v.push(scenario.id(*side));
        }
    }
    v
}

/// The labels of a full name after its group, checking the group and the label count.
#[cfg(test)]
fn labels<'a>(name: &'a str, group: &str, count: usize) -> Result<Vec<&'a str>> {
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() != count + 1 || parts[0] != group {
        return Err(Error::Usage(format!(
            "gate bench name '{name}' is not {group}/<{count} labels>"
        )));
    }
    Ok(parts[1..].to_vec())
}

/// Whether `name` is one of the gate's benches (the error says so otherwise).
fn gated(name: &str) -> Result<()> {
    if all().iter().any(|id| id.full() == name) {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{name} is not one of the gate's benches"
        )))
    }
}

/// One primitive case (`rsa/...` or `record/...`), set up and self-checked by the same
/// [`cases`] definition the criterion bench uses.
pub struct PrimitiveJob {
    case: Box<dyn Case>,
}

/// Set-up of a primitive bench: builds its case from the fixtures, which warms the key
/// (one private operation on the key object the bench then uses) and runs the case's
/// self-check (decrypt gives back the pre-master; a signature verifies and a flipped bit
/// does not; a sealed record opens to its plaintext and a tampered one is refused).
pub fn prepare_primitive(name: &str) -> Result<PrimitiveJob> {
    gated(name)?;
    let mut case = primitive_case(name)?;
    // One uncounted iteration last: the counted one then finds the allocator in the state
    // its own previous run left (the set-up's allocations otherwise decide which malloc
    // paths it takes; rustcrypto verify moved by 2% with an unrelated set-up change).
    case.run()?;
    Ok(PrimitiveJob { case })
}

/// Any primitive case by its full name (`rsa/...`, `cipher/...`, `mac/...`, `record/...`),
/// built from the fixtures and self-checked ([`CaseSpec::build`](cases::CaseSpec::build)).
pub fn primitive_case(name: &str) -> Result<Box<dyn Case>> {
    let group_label = name.split('/').next().unwrap_or_default();
    let group = Group::from_label("benchmark group", group_label)?;
    let plan = cases::plan(group, &Fixtures::locate()?)?;
    let spec = plan
        .cases
        .iter()
        .find(|c| c.id.full() == name)
        .ok_or_else(|| Error::Usage(format!("no {group_label} case named {name}")))?;
    spec.build()
}

/// Any handshake side by its full name (`handshake/<stack>/<protocol>/<kind>/<side>`):
/// configurations built, keys warm, and one handshake checked to be what the name says.
pub fn handshake_case(name: &str) -> Result<(HandshakeBench, Side)> {
    let (scenario, side) = Scenario::from_bench_id(name)?;
    let mut bench = HandshakeBench::new(scenario, &Pki::locate()?)?;
    bench.check()?;
    Ok((bench, side))
}

impl PrimitiveJob {
    /// The counted operation: one iteration of the case.
    #[inline(never)]
    pub fn run(&mut self) -> Result<()> {
        self.case.run()
    }
}

/// One handshake of a scenario, one side of which is counted.
pub struct HandshakeJob {
    bench: HandshakeBench,
    side: Side,
}

/// Set-up of `handshake/<stack>/<protocol>[/<group>][/<cert>]/<kind>/<side>`: builds the configurations, runs
/// the warm-up/priming handshake and a checked one (resumed really resumed, full did not,
/// mutual verified the client certificate). Those handshakes also pass through the counted
/// step functions; the gate bench zeroes the counters when the benchmark function starts.
pub fn prepare_handshake(name: &str) -> Result<HandshakeJob> {
    gated(name)?;
    let (bench, side) = handshake_case(name)?;
    Ok(HandshakeJob { bench, side })
}

impl HandshakeJob {
    /// One whole handshake (both sides run; the gate counts only the side's step function).
    /// Fails if it did not resume exactly when the scenario says so.
    pub fn run(&mut self) -> Result<()> {
        self.bench.run_once(self.side).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gate_name_parses_back() {
        for id in all() {
            let name = id.full();
            let ok = match id.group {
                "rsa" => labels(&name, "rsa", 3).is_ok(),
                "record" => labels(&name, "record", 4).is_ok(),
                "handshake" => Scenario::from_bench_id(&name).is_ok(),
                _ => false,
            };
            assert!(ok, "{name}");
        }
        assert!(labels("rsa/openssl/sign", "rsa", 3).is_err());
        assert!(labels("cipher/openssl/a/b", "rsa", 3).is_err());
    }
}
