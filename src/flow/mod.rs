//! `tlscost flow check DIR`: whether a call-flow directory (the format of `fixtures/sip`)
//! is usable, for what, and what each of its messages costs to seal and open as TLS
//! records.
//!
//! Every message is parsed by the base's parser when the directory is loaded (a bad one
//! stops the check with the file and the rule it breaks). Then, per flow: the base's
//! self-check (the UDP proxy forwards or answers every message as the flow says, over
//! loopback), each message's size received and as the proxy forwards it, whether UDP can
//! carry it (at most 1,300 bytes, RFC 3261 18.1.1), whether the testbed can run it (every
//! message crosses both legs), and for the model whether flows `basic` and `auth` are
//! there. The record cost is timed here with tlscost's record layer ([`crate::record`]) on
//! the OpenSSL backend, TLS_RSA_WITH_AES_128_CBC_SHA (the paper's suite): the median of
//! [`ROUNDS`] batches of seals and of opens of the message (split into 16 KiB records when
//! larger), the same operation `record/openssl/aes128-sha/{seal,open}/sip-<name>` measures
//! with criterion in `make model`.

pub mod cli;

use crate::crypto::Backend;
use crate::fixtures::{load_dir, Legs, SipCorpus, SipFlow, FLOWS};
use crate::record::{RecordKeys, RecordLayer, Suite, APPLICATION_DATA, MAX_FRAGMENT};
use crate::sip::UDP_LIMIT;
use crate::testbed::wire::thread_cpu_ns;
use crate::transport::{FlowMessage, UdpProxyCall};
use crate::Result;
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// Timed batches per operation (the median is reported).
pub const ROUNDS: usize = 5;

/// How long one batch of seals (or opens) of one message runs, at least.
pub const BATCH: Duration = Duration::from_millis(20);

/// The suite the record cost is priced with.
pub const SUITE: Suite = Suite::Aes128Sha;

/// One message of a flow, checked and priced.
#[derive(Debug, Clone, Serialize)]
pub struct MessageCheck {
    /// Its benchmark name (`sip-<name>`).
    pub name: String,
    /// Bytes as its sender writes it.
    pub bytes: usize,
    /// Bytes as the proxy sends it on (its Via and Record-Route added, or its own Via
    /// removed), `None` when the proxy absorbs or answers it.
    pub forwarded: Option<usize>,
    /// Whether UDP may carry it both ways (at most [`UDP_LIMIT`] bytes).
    pub udp: bool,
    /// Bytes of the TLS record(s) it takes on the wire (AES128-SHA).
    pub record_bytes: usize,
    /// Median µs to seal it into records.
    pub seal_us: f64,
    /// Median µs to open those records.
    pub open_us: f64,
}

/// One flow's verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct FlowCheck {
    /// The manifest's flow name.
    pub name: String,
    /// Every message, in order.
    pub messages: Vec<MessageCheck>,
    /// The base's self-check (`Ok` = the UDP base can measure it).
    pub base: std::result::Result<(), String>,
    /// Whether the testbed can run it, and over which transports.
    pub testbed: std::result::Result<String, String>,
    /// Whether UDP may carry it (RFC 3261 18.1.1); else TCP or TLS only.
    pub udp: std::result::Result<(), String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The directory checked.
    pub dir: String,
    /// Each flow.
    pub flows: Vec<FlowCheck>,
    /// Whether `tlscost model --flow DIR` can use it (flows `basic` and `auth`).
    pub model: std::result::Result<(), String>,
    /// How the record cost was priced.
    pub pricing: String,
}

impl Report {
    /// Whether every flow passes the base's self-check (usable at least by the model's
    /// benches and the TCP/TLS configurations).
    pub fn usable(&self) -> bool {
        self.flows.iter().all(|f| f.base.is_ok())
    }
}

/// Loads `dir` and checks every flow (see the module doc).
pub fn check(dir: &Path) -> Result<Report> {
    let corpus = load_dir(dir)?;
    let mut flows = Vec::new();
    for flow in &corpus.flows {
        flows.push(check_flow(flow)?);
    }
    Ok(Report {
        dir: dir.display().to_string(),
        model: model_verdict(&corpus),
        flows,
        pricing: format!(
            "{} records on the OpenSSL backend (src/record.rs), thread CPU time, median of {ROUNDS} batches of at least {} ms each",
            crate::names::Dimension::label(&SUITE),
            BATCH.as_millis()
        ),
    })
}

fn model_verdict(corpus: &SipCorpus) -> std::result::Result<(), String> {
    let missing: Vec<&str> = FLOWS
        .iter()
        .copied()
        .filter(|n| corpus.flow(n).is_err())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the model needs flows {FLOWS:?} (the call, and the same call with the 407 challenge); missing {missing:?}"
        ))
    }
}

fn check_flow(flow: &SipFlow) -> Result<FlowCheck> {
    let msgs: Vec<FlowMessage> = flow.messages.iter().map(FlowMessage::from).collect();
    let auth = flow.messages.iter().any(|m| m.legs == Legs::Left);
    let base = UdpProxyCall::new(&msgs, auth).and_then(|mut call| {
        call.check(&format!("flow {}", flow.name))?;
        Ok(call.forwarded_sizes())
    });
    let (base, forwarded) = match base {
        Ok(sizes) => (Ok(()), sizes),
        Err(e) => (Err(e.to_string()), Vec::new()),
    };
    let mut messages = Vec::new();
    for m in &flow.messages {
        let fwd = forwarded
            .iter()
            .find(|(n, _)| *n == m.name)
            .and_then(|(_, s)| *s);
        let (seal_us, open_us, record_bytes) = price(&m.bytes)?;
        messages.push(MessageCheck {
            name: format!("sip-{}", m.name),
            bytes: m.bytes.len(),
            forwarded: fwd,
            udp: m.bytes.len() <= UDP_LIMIT && fwd.is_none_or(|f| f <= UDP_LIMIT),
            record_bytes,
            seal_us,
            open_us,
        });
    }
    let too_big: Vec<String> = messages
        .iter()
        .filter(|m| !m.udp)
        .map(|m| {
            format!(
                "{} ({} bytes{})",
                m.name,
                m.bytes,
                m.forwarded
                    .map_or(String::new(), |f| format!(", {f} forwarded"))
            )
        })
        .collect();
    let udp = if too_big.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "over {UDP_LIMIT} bytes: {}; RFC 3261 18.1.1 sends these over TCP or TLS, never as fragmented UDP datagrams, so the UDP configurations cannot carry this flow",
            too_big.join(", ")
        ))
    };
    let left: Vec<&str> = flow
        .messages
        .iter()
        .filter(|m| m.legs == Legs::Left)
        .map(|m| m.name.as_str())
        .collect();
    let testbed = if !left.is_empty() {
        Err(format!(
            "messages {left:?} do not cross the proxy (SIP authentication is not in the testbed)"
        ))
    } else if let Err(e) = &base {
        Err(format!("the proxy cannot run it: {e}"))
    } else if udp.is_err() {
        Ok("its TCP and TLS configurations (it refuses the UDP one, see UDP)".into())
    } else {
        Ok("every configuration".into())
    };
    Ok(FlowCheck {
        name: flow.name.clone(),
        messages,
        base,
        testbed,
        udp,
    })
}

/// Median µs to seal `msg` into AES128-SHA records, and to open them; and the records' size.
fn price(msg: &[u8]) -> Result<(f64, f64, usize)> {
    let keys = RecordKeys::fixed(SUITE);
    let mut sealer = RecordLayer::new(SUITE, Backend::OpenSsl, &keys)?;
    let mut opener = RecordLayer::new(SUITE, Backend::OpenSsl, &keys)?;
    let chunks: Vec<&[u8]> = msg.chunks(MAX_FRAGMENT).collect();
    let record_bytes = chunks.iter().map(|c| SUITE.record_len(c.len())).sum();
    // The records to open, sealed once (and opened once: a check, off the clock).
    let mut records = Vec::new();
    for c in &chunks {
        let mut r = Vec::new();
        sealer.seal_at(0, APPLICATION_DATA, c, &mut r)?;
        records.push(r);
    }
    let mut plain = Vec::new();
    let mut opened = Vec::new();
    for r in &records {
        opener.open_at(0, r, &mut plain)?;
        opened.extend_from_slice(&plain);
    }
    if opened != msg {
        return Err(crate::Error::SelfCheck {
            bench: "flow check".into(),
            what: "a sealed message did not open to itself".into(),
        });
    }
    let mut out = Vec::with_capacity(record_bytes);
    let seal = median_batches(|| {
        for c in &chunks {
            sealer.seal_at(1, APPLICATION_DATA, c, &mut out)?;
        }
        Ok(())
    })?;
    let open = median_batches(|| {
        for r in &records {
            opener.open_at(0, r, &mut plain)?;
        }
        Ok(())
    })?;
    Ok((seal, open, record_bytes))
}

/// Median over [`ROUNDS`] batches of µs per call of `op`, each batch at least [`BATCH`] of
/// wall time; the figure is the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so that a
/// machine shared with other work does not inflate it.
fn median_batches(mut op: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut per_call = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let (mut n, t0, cpu0) = (0u64, Instant::now(), thread_cpu_ns()?);
        while t0.elapsed() < BATCH {
            op()?;
            n += 1;
        }
        per_call.push((thread_cpu_ns()? - cpu0) as f64 / 1e3 / n as f64);
    }
    Ok(crate::testbed::median_min_max(&per_call).0)
}

/// What the model says about the call flows it is computed on: where they come from when
/// not `fixtures/sip`, and which messages keep the UDP configurations from carrying them
/// (over [`UDP_LIMIT`] bytes, RFC 3261 18.1.1).
pub fn model_notes(flows: &[&SipFlow]) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(set) = flows.iter().find_map(|f| f.set.as_deref()) {
        notes.push(format!(
            "Call flow: the '{set}' directory (--flow / ${}), not fixtures/sip; its benches are named sip-{set}-<message> and base/udp-proxy/{set}-call-<flow>.",
            crate::fixtures::FLOW_ENV
        ));
    }
    let mut big: Vec<String> = Vec::new();
    for m in flows.iter().flat_map(|f| &f.messages) {
        let item = format!("sip-{} ({} bytes)", m.name, m.bytes.len());
        if m.bytes.len() > UDP_LIMIT && !big.contains(&item) {
            big.push(item);
        }
    }
    if !big.is_empty() {
        notes.push(format!(
            "UDP: this flow needs TCP or TLS. {} {} over {UDP_LIMIT} bytes, and RFC 3261 18.1.1 sends such a message over a congestion-controlled transport, never as fragmented UDP datagrams: the */udp configurations cannot carry it, and their rows show only what the proxy's per-call work would cost. The UDP base itself is measured on loopback, whose MTU (65,536) carries every message unfragmented.",
            big.join(", "),
            if big.len() == 1 { "is" } else { "are" }
        ));
    }
    notes
}
