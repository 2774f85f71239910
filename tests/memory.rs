//! Memory per connection: the heap counter attributes blocks to the side whose step runs and
//! measures exactly what a step keeps; `tlscost memory` reports every stack; a binary that
//! does not interpose the allocator is refused.
//!
//! This test binary interposes the allocator itself, as `tlscost` does.

use std::process::Command;
use tlscost::handshake::{
    drive, EndReport, Endpoint, Group, Kind, Pki, Protocol, Scenario, Side, Stack,
};
use tlscost::memory::{heap, measure, ConnectionMemory};
use tlscost::names::Dimension;
use tlscost::Result;

tlscost::count_heap_allocations!();

/// An end whose single step allocates `keep` bytes it holds, then `temp` bytes it frees again.
struct Toy {
    side: Side,
    keep: usize,
    temp: usize,
    held: Vec<Vec<u8>>,
    stepped: bool,
}

impl Endpoint for Toy {
    fn side(&self) -> Side {
        self.side
    }
    fn step(&mut self) -> Result<()> {
        self.held.push(vec![2u8; self.keep]);
        let t = vec![1u8; self.temp];
        std::hint::black_box(&t);
        drop(t);
        self.stepped = true;
        Ok(())
    }
    fn done(&self) -> bool {
        self.stepped
    }
    fn has_input(&self) -> bool {
        false
    }
    fn send(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }
    fn receive(&mut self) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
    fn report(&self) -> Result<EndReport> {
        Ok(EndReport::default())
    }
    fn after_handshake(&mut self) -> Result<()> {
        Ok(())
    }
    fn wire_bytes(&self) -> (u64, u64) {
        (0, 0)
    }
}

#[test]
fn the_counter_attributes_blocks_to_the_side_that_steps() {
    assert!(heap::installed());
    let toy = |side, keep, temp| Toy {
        side,
        keep,
        temp,
        // Room for the held block, so the step allocates nothing else.
        held: Vec::with_capacity(4),
        stepped: false,
    };
    let mut c = toy(Side::Client, 10_000, 50_000);
    let mut s = toy(Side::Server, 3_000, 0);
    heap::start();
    // The client steps first and nothing is in flight: the server never steps.
    let r = drive(&mut c, &mut s, "toy");
    let [client, server] = heap::stop();
    // Nothing in flight after the client's first step while the server is not done: stalled.
    assert!(r.is_err());
    // glibc rounds a request up to its 16-byte granule (plus at most one granule).
    assert!((10_000..10_040).contains(&client.live), "{client:?}");
    assert!((60_000..60_080).contains(&client.peak), "{client:?}");
    assert_eq!(client.allocations, 2);
    assert_eq!(server, heap::SideHeap::default());
    // Outside a step nothing is counted.
    heap::start();
    let v = vec![0u8; 4096];
    let none = heap::stop();
    drop(v);
    assert_eq!(none, [heap::SideHeap::default(); 2]);
}

#[test]
fn another_threads_stop_leaves_this_threads_count_running() {
    // The harness runs tests on several threads: one measurement ending must not end another.
    let mut c = Toy {
        side: Side::Client,
        keep: 8_000,
        temp: 0,
        held: Vec::with_capacity(4),
        stepped: false,
    };
    let mut s = Toy {
        side: Side::Server,
        keep: 0,
        temp: 0,
        held: Vec::with_capacity(4),
        stepped: false,
    };
    heap::start();
    std::thread::spawn(|| {
        heap::start();
        heap::stop()
    })
    .join()
    .unwrap();
    let _ = drive(&mut c, &mut s, "toy");
    let [client, _] = heap::stop();
    assert!((8_000..8_040).contains(&client.live), "{client:?}");
    assert_eq!(client.allocations, 1);
}

fn pki() -> Pki {
    Pki::locate().unwrap()
}

#[test]
fn every_stack_holds_memory_per_connection() {
    let pki = pki();
    for stack in [Stack::Openssl, Stack::Rustls, Stack::RustlsAwslc] {
        for kind in [Kind::Full, Kind::ResumedTicket] {
            let s = Scenario::new(stack, Protocol::Tls13Aes128Gcm, kind);
            let m = measure(s, &pki, 3).unwrap_or_else(|e| panic!("{}: {e}", s.label()));
            for side in Side::ALL {
                let x = m.side(*side);
                assert!(x.held_bytes > 1024, "{}: {side:?} {x:?}", m.scenario);
                assert!(
                    x.peak_bytes >= x.held_bytes,
                    "{}: {side:?} {x:?}",
                    m.scenario
                );
                assert!(x.allocations > 0, "{}: {side:?} {x:?}", m.scenario);
            }
        }
    }
}

#[test]
fn the_hybrid_key_share_raises_the_peak() {
    let pki = pki();
    let s = Scenario::new(Stack::RustlsAwslc, Protocol::Tls13Aes128Gcm, Kind::Full);
    let pq = s.with_group(Some(Group::X25519Mlkem768));
    let (a, b) = (measure(s, &pki, 3).unwrap(), measure(pq, &pki, 3).unwrap());
    // The client holds its ML-KEM-768 key pair during the handshake: at least the 1,184-byte
    // encapsulation key more than X25519's 32 bytes.
    assert!(
        b.client.peak_bytes > a.client.peak_bytes + 1184,
        "{a:?} vs {b:?}"
    );
}

#[test]
fn tlscost_memory_prints_json_for_each_stack() {
    let out = Command::new(env!("CARGO_BIN_EXE_tlscost"))
        .args([
            "memory",
            "--json",
            "--filter",
            "tls13-aes128-gcm/x25519/rsa2048/full",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<ConnectionMemory> = serde_json::from_value(doc["connections"].clone()).unwrap();
    let mut stacks: Vec<&str> = rows
        .iter()
        .map(|r| r.scenario.split('/').next().unwrap())
        .collect();
    stacks.dedup();
    assert_eq!(stacks, ["openssl", "rustls", "rustls-awslc"]);
    // The filter matches full and full-no-tickets: both are there.
    assert!(rows
        .iter()
        .any(|r| r.scenario.ends_with("/full-no-tickets")));
    assert!(rows.iter().all(|r| r.server.held_bytes > 1024));
}
