//! The instruction-count regression gate (gungraun, callgrind `Ir`). Run by `make gate`,
//! which compares the counts with `results/baseline/gate.json`; never by `make test`.
//!
//! Each bench is one process under callgrind. Its only argument is its full benchmark name
//! (the same `BenchId` name as the criterion bench); the gungraun id is that name with `/`
//! and `-` turned into `_`. The bench function hands its job back to the teardown, so
//! dropping it (freeing a case's buffers can cost more than the operation) is not counted. Set-up and checks live in `tlscost::gate::bench`, which builds
//! the same `crypto::cases` and `handshake::HandshakeBench` the criterion benches use, and
//! run outside the counted region: gungraun's `setup` (before) and `teardown` (after).
//!
//! What is counted, per bench:
//! - `rsa/<openssl|rustcrypto>/<decrypt|sign|verify>/2048`: exactly one iteration of the
//!   shared RSA case (the whole benchmark function, gungraun's default entry point):
//!   decrypt = PKCS#1 v1.5 private decrypt of a 48-byte pre-master; sign = SHA-256 hash +
//!   PKCS#1 v1.5 signature of 128 bytes; verify = hash + verification of that signature.
//!   Not counted: parsing the key, the warm-up private operations on the same key object,
//!   the self-check (decrypt gives back the pre-master, a signature verifies and a flipped
//!   bit does not), the check of the counted result.
//! - `record/<openssl|rustcrypto>/<aes128-sha|3des-sha>/<seal|open>/sip-invite`: one TLS 1.2
//!   CBC record of the fixtures' INVITE: seal = random explicit IV, HMAC-SHA1, padding, CBC
//!   encrypt, header; open = header checks, CBC decrypt, padding and MAC check. Not counted:
//!   building the key schedules and the HMAC key, the self-check (the record opens to the
//!   INVITE, a record with a flipped bit is refused).
//! - `handshake/<stack>/<protocol>[/<group>][/<cert>]/<kind>/<client|server>`: one whole in-memory handshake
//!   runs, but callgrind counts only inside the measured side's step function
//!   (`--toggle-collect=*tlscost::handshake::*client_step*` or `*server_step*`): creating
//!   that side's connection object, all its handshake calls, reading and writing its end of
//!   the in-memory wire. Not counted: the other side, building configurations and loading
//!   keys, the warm-up/priming handshake and the checked handshake of the set-up (callgrind
//!   zeroes its counters when the benchmark function starts, `--zero-before`), the
//!   resumption check after the counted handshake. A zero count is an error of the gate.
//!
//! Variation between runs: see docs/gate.md, "Variation between runs". In short: the set-up consumes
//! random numbers the same way in every process, the counted code's instruction count does
//! not depend on the random values (IVs, blinding factors, ephemeral keys) in practice, so
//! the counts were identical run after run here; the 2% threshold stays far above that.

use gungraun::{
    library_benchmark, library_benchmark_group, main, Callgrind, EntryPoint, LibraryBenchmarkConfig,
};
use std::hint::black_box;
use tlscost::gate::bench::{self as gate, HandshakeJob, PrimitiveJob};

/// A set-up or check that failed stops the bench with the error (it names the bench).
fn ready<T>(name: &str, r: tlscost::Result<T>) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("gate bench {name}: {e}");
        std::process::exit(1)
    })
}

fn primitive_setup(name: &'static str) -> (&'static str, PrimitiveJob) {
    (name, ready(name, gate::prepare_primitive(name)))
}

/// Teardown, not counted: checks the counted call's result and drops the job (freeing a
/// case's buffers costs more than sealing a record, so the drop must not be counted).
fn check<J>((name, job, result): (&'static str, J, tlscost::Result<()>)) {
    ready(name, result);
    drop(job);
}

#[library_benchmark(setup = primitive_setup, teardown = check)]
#[bench::rsa_openssl_decrypt_2048("rsa/openssl/decrypt/2048")]
#[bench::rsa_openssl_sign_2048("rsa/openssl/sign/2048")]
#[bench::rsa_openssl_verify_2048("rsa/openssl/verify/2048")]
#[bench::rsa_rustcrypto_decrypt_2048("rsa/rustcrypto/decrypt/2048")]
#[bench::rsa_rustcrypto_sign_2048("rsa/rustcrypto/sign/2048")]
#[bench::rsa_rustcrypto_verify_2048("rsa/rustcrypto/verify/2048")]
fn rsa(
    (name, mut job): (&'static str, PrimitiveJob),
) -> (&'static str, PrimitiveJob, tlscost::Result<()>) {
    let result = black_box(job.run());
    (name, job, result)
}

#[library_benchmark(setup = primitive_setup, teardown = check)]
#[bench::record_openssl_aes128_sha_seal_sip_invite("record/openssl/aes128-sha/seal/sip-invite")]
#[bench::record_openssl_aes128_sha_open_sip_invite("record/openssl/aes128-sha/open/sip-invite")]
#[bench::record_openssl_3des_sha_seal_sip_invite("record/openssl/3des-sha/seal/sip-invite")]
#[bench::record_openssl_3des_sha_open_sip_invite("record/openssl/3des-sha/open/sip-invite")]
#[bench::record_rustcrypto_aes128_sha_seal_sip_invite(
    "record/rustcrypto/aes128-sha/seal/sip-invite"
)]
#[bench::record_rustcrypto_aes128_sha_open_sip_invite(
    "record/rustcrypto/aes128-sha/open/sip-invite"
)]
#[bench::record_rustcrypto_3des_sha_seal_sip_invite("record/rustcrypto/3des-sha/seal/sip-invite")]
#[bench::record_rustcrypto_3des_sha_open_sip_invite("record/rustcrypto/3des-sha/open/sip-invite")]
fn record(
    (name, mut job): (&'static str, PrimitiveJob),
) -> (&'static str, PrimitiveJob, tlscost::Result<()>) {
    let result = black_box(job.run());
    (name, job, result)
}

/// Counts only inside one side's step function, from the start of the benchmark function.
fn side_config(step: &str) -> LibraryBenchmarkConfig {
    let mut config = LibraryBenchmarkConfig::default();
    config.tool(
        Callgrind::with_args([
            "--collect-atstart=no".to_string(),
            format!("--toggle-collect=*tlscost::handshake::*{step}*"),
            // The set-up's handshakes also ran the step functions: forget their counts.
            "--zero-before=*::__gungraun_wrapper_mod::*".to_string(),
        ])
        .entry_point(EntryPoint::None),
    );
    config
}

fn handshake_setup(name: &'static str) -> (&'static str, HandshakeJob) {
    (name, ready(name, gate::prepare_handshake(name)))
}

#[library_benchmark(
    setup = handshake_setup,
    teardown = check,
    config = side_config("client_step")
)]
#[bench::handshake_openssl_tls12_rsa_aes128_sha_rsa2048_full_client(
    "handshake/openssl/tls12-rsa-aes128-sha/rsa2048/full/client"
)]
#[bench::handshake_openssl_tls12_rsa_aes128_sha_rsa2048_mutual_client(
    "handshake/openssl/tls12-rsa-aes128-sha/rsa2048/mutual/client"
)]
#[bench::handshake_openssl_tls12_rsa_aes128_sha_resumed_id_client(
    "handshake/openssl/tls12-rsa-aes128-sha/resumed-id/client"
)]
#[bench::handshake_openssl_tls12_rsa_aes128_sha_resumed_ticket_client(
    "handshake/openssl/tls12-rsa-aes128-sha/resumed-ticket/client"
)]
#[bench::handshake_rustls_tls13_aes128_gcm_x25519_rsa2048_full_client(
    "handshake/rustls/tls13-aes128-gcm/x25519/rsa2048/full/client"
)]
#[bench::handshake_rustls_tls13_aes128_gcm_x25519_rsa2048_mutual_client(
    "handshake/rustls/tls13-aes128-gcm/x25519/rsa2048/mutual/client"
)]
#[bench::handshake_rustls_tls13_aes128_gcm_x25519_resumed_ticket_client(
    "handshake/rustls/tls13-aes128-gcm/x25519/resumed-ticket/client"
)]
fn handshake_client(
    (name, mut job): (&'static str, HandshakeJob),
) -> (&'static str, HandshakeJob, tlscost::Result<()>) {
    let result = black_box(job.run());
    (name, job, result)
}

#[library_benchmark(
    setup = handshake_setup,
    teardown = check,
    config = side_config("server_step")
)]
#[bench::handshake_openssl_tls12_rsa_aes128_sha_rsa2048_full_server(
    "handshake/openssl/tls12-rsa-aes128-sha/rsa2048/full/server"
)]
#[bench::handshake_openssl_tls12_rsa_aes128_sha_rsa2048_mutual_server(
    "handshake/openssl/tls12-rsa-aes128-sha/rsa2048/mutual/server"
)]
#[bench::handshake_openssl_tls12_rsa_aes128_sha_resumed_id_server(
    "handshake/openssl/tls12-rsa-aes128-sha/resumed-id/server"
)]
#[bench::handshake_openssl_tls12_rsa_aes128_sha_resumed_ticket_server(
    "handshake/openssl/tls12-rsa-aes128-sha/resumed-ticket/server"
)]
#[bench::handshake_rustls_tls13_aes128_gcm_x25519_rsa2048_full_server(
    "handshake/rustls/tls13-aes128-gcm/x25519/rsa2048/full/server"
)]
#[bench::handshake_rustls_tls13_aes128_gcm_x25519_rsa2048_mutual_server(
    "handshake/rustls/tls13-aes128-gcm/x25519/rsa2048/mutual/server"
)]
#[bench::handshake_rustls_tls13_aes128_gcm_x25519_resumed_ticket_server(
    "handshake/rustls/tls13-aes128-gcm/x25519/resumed-ticket/server"
)]
fn handshake_server(
    (name, mut job): (&'static str, HandshakeJob),
) -> (&'static str, HandshakeJob, tlscost::Result<()>) {
    let result = black_box(job.run());
    (name, job, result)
}

library_benchmark_group!(name = rsa_2048; benchmarks = rsa);
library_benchmark_group!(name = record_sip; benchmarks = record);
library_benchmark_group!(name = handshake; benchmarks = handshake_client, handshake_server);

main!(
    config = LibraryBenchmarkConfig::default()
        .tool(Callgrind::with_args(["--cache-sim=no"]));
    library_benchmark_groups = rsa_2048, record_sip, handshake
);
