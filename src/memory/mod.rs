//! Memory per TLS connection: heap bytes one established, idle connection holds, and the
//! peak during its handshake, per stack, scenario and side.
//!
//! What limits a SIP registrar that keeps one TLS connection per phone is memory more than
//! CPU. For one scenario ([`measure`]): the configurations are built and primed as for the
//! benchmarks, then each measured handshake runs with the heap counted per side
//! ([`heap`]): every block a side's steps allocate and free (its connection object, buffers,
//! keys, certificates, the peer's certificate chain, session-cache entries the handshake adds).
//! `held` is what the side still holds when the handshake is over and nothing is in flight
//! (the TLS 1.3 client has read its tickets), `peak` the most it held during the handshake.
//! Set-up (contexts, configurations, keys) is shared by every connection and not counted. The
//! in-memory wire is given its full size beforehand, so its buffers are not counted either.
//!
//! The heap is counted at the C allocator, so the binary must interpose it
//! ([`crate::count_heap_allocations!`]); `tlscost` does.

pub mod cli;
pub mod heap;

use crate::handshake::{HandshakeBench, Pki, Scenario, Side, Wire};
use crate::names::Dimension;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Bytes each way the in-memory wire holds without growing: more than any handshake here sends.
pub const WIRE_CAPACITY: usize = 64 * 1024;

/// Measured handshakes per scenario by default (after the priming and checked ones).
pub const HANDSHAKES: usize = 5;

/// The memory of one side of one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideMemory {
    /// Heap bytes the established, idle connection holds on this side (median of the runs),
    /// with the stack's connection object where it is a value rather than a heap block.
    pub held_bytes: i64,
    /// The most this side held during the handshake (median of the runs).
    pub peak_bytes: i64,
    /// Heap blocks this side allocated during the handshake (median of the runs).
    pub allocations: u64,
}

/// The memory of one scenario's connection, both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionMemory {
    /// `<stack>/<protocol>[/<group>][/<cert>]/<kind>`.
    pub scenario: String,
    /// The client side.
    pub client: SideMemory,
    /// The server side.
    pub server: SideMemory,
    /// Handshakes measured.
    pub handshakes: usize,
    /// Held bytes differed between the runs by more than 1% or 256 bytes (min..max, per side).
    pub spread: Option<String>,
}

impl ConnectionMemory {
    /// One side.
    pub fn side(&self, side: Side) -> &SideMemory {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }
}

/// The error when this binary does not interpose the allocator.
fn not_counting() -> Error {
    Error::Usage(
        "this binary does not count heap allocations (it does not invoke \
         tlscost::count_heap_allocations!): run `tlscost memory`"
            .to_string(),
    )
}

fn median<T: Copy + Ord>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

/// Measures the memory of `handshakes` connections of `scenario` (after the priming and the
/// checked handshake), each checked to resume exactly when the scenario says so.
/// Errors: the scenario's own ([`Error::Unsupported`], [`Error::SelfCheck`], ...); a binary
/// that does not count the heap; a wire that had to grow.
pub fn measure(scenario: Scenario, pki: &Pki, handshakes: usize) -> Result<ConnectionMemory> {
    if !heap::installed() {
        return Err(not_counting());
    }
    if handshakes == 0 {
        return Err(Error::Usage("--handshakes must be at least 1".into()));
    }
    let mut bench = HandshakeBench::new(scenario, pki)?;
    bench.check()?;
    let name = format!("memory/{}", scenario.label());
    let mut runs: Vec<[heap::SideHeap; 2]> = Vec::new();
    let mut inline = [0usize; 2];
    for _ in 0..handshakes {
        let wire = Wire::with_capacity(WIRE_CAPACITY);
        let capacity = wire.capacity();
        heap::start();
        let r = bench.connect(&wire);
        let counted = heap::stop();
        let conn = r?;
        bench.still_resumes(&conn.outcome.facts, &name)?;
        if wire.capacity() != capacity {
            return Err(Error::SelfCheck {
                bench: name,
                what: format!(
                    "the in-memory wire grew beyond {WIRE_CAPACITY} bytes: its buffers would count as connection memory"
                ),
            });
        }
        inline = [
            conn.client.inline_connection_bytes(),
            conn.server.inline_connection_bytes(),
        ];
        runs.push(counted);
        // The connection lives until here: what it held was counted while it was idle.
        drop(conn);
    }
    let side = |i: usize| SideMemory {
        held_bytes: median(runs.iter().map(|r| r[i].live).collect()) + inline[i] as i64,
        peak_bytes: median(runs.iter().map(|r| r[i].peak).collect()) + inline[i] as i64,
        allocations: median(runs.iter().map(|r| r[i].allocations).collect()),
    };
    let spread: Vec<String> = Side::ALL
        .iter()
        .filter_map(|s| {
            let held: Vec<i64> = runs.iter().map(|r| r[s.index()].live).collect();
            let (lo, hi) = (held.iter().min()?, held.iter().max()?);
            // A few heap granules either way are the allocator's, not the connection's.
            (hi - lo > (hi / 100).max(256)).then(|| format!("{} held {lo}..{hi} B", s.label()))
        })
        .collect();
    Ok(ConnectionMemory {
        scenario: scenario.label(),
        client: side(0),
        server: side(1),
        handshakes,
        spread: (!spread.is_empty()).then(|| spread.join(", ")),
    })
}

/// The memory of every scenario `scenarios` lists that this build can run; `skipped` gets the
/// one-line reason of each it cannot run.
pub fn measure_all(
    scenarios: &[Scenario],
    pki: &Pki,
    handshakes: usize,
    mut skipped: impl FnMut(&Error),
) -> Result<Vec<ConnectionMemory>> {
    let mut out = Vec::new();
    for s in scenarios {
        match s.available() {
            Ok(()) => out.push(measure(*s, pki, handshakes)?),
            Err(e @ Error::Unsupported { .. }) => skipped(&e),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
