//! The gate's benchmark list and the set-up each gate benchmark runs before it is counted.
//!
//! `benches/gate.rs` is thin: each gungraun bench passes its full name to a `prepare_*`
//! function here (set-up and self-check, outside the counted region) and calls one method
//! of what it gets back (the counted region).

use crate::names::BenchId;

/// RSA modulus size of the gate's RSA benchmarks.
pub const RSA_BITS: u32 = 2048;

/// Every benchmark the gate counts, in report order. `make baseline` refuses a run that
/// lacks one of them.
pub fn all() -> Vec<BenchId> {
    let mut v = Vec::new();
    for backend in ["openssl", "rustcrypto"] {
        for op in ["decrypt", "sign", "verify"] {
            v.push(BenchId::new("rsa", &[backend, op]).with_parameter(RSA_BITS));
        }
    }
    v
}
