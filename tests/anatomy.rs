//! The handshake's anatomy: OpenSSL's operation counts measured by callgrind against the counts
//! inferred from the handshake messages, the explanation of a partly measured set of estimates,
//! and the parts' self-checks. Counts and error paths only, never times.

use serde_json::json;
use std::path::Path;
use std::process::Command;
use tlscost::handshake::anatomy::{self, SideProfile};
use tlscost::handshake::count::{apply_measured, measure};
use tlscost::handshake::{Cert, Kind, Pki, Protocol, Scenario, Stack};

fn pki() -> Pki {
    Pki::locate().expect("fixtures load")
}

fn openssl(kind: Kind) -> Scenario {
    Scenario::new(Stack::Openssl, Protocol::Tls12RsaAes128Sha, kind)
}

fn profiled(s: Scenario) -> [SideProfile; 2] {
    let dir = tempfile::tempdir().unwrap();
    let exe = Path::new(env!("CARGO_BIN_EXE_tlscost"));
    anatomy::profile_scenario(exe, s, dir.path()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn callgrind_counts_equal_the_inferred_ones_where_both_exist() {
    for kind in [Kind::Full, Kind::ResumedId] {
        let s = openssl(kind);
        let [client, server] = profiled(s);
        let inferred = measure(s, &pki()).unwrap();
        let (mut c, mut sv) = (inferred.client.clone(), inferred.server.clone());
        apply_measured(&mut c, &client);
        apply_measured(&mut sv, &server);
        let name = s.label();
        // TLS_RSA: one private decrypt on a full server, none on a resumed one; the client
        // encrypts the pre-master once, or not at all when it resumes.
        let full = kind == Kind::Full;
        assert_eq!(sv.private_decrypt, u64::from(full), "{name}");
        assert_eq!(c.public_encrypt, u64::from(full), "{name}");
        for (side, measured, inferred) in [
            ("client", &c, &inferred.client),
            ("server", &sv, &inferred.server),
        ] {
            assert_eq!(
                (
                    measured.private_sign,
                    measured.private_decrypt,
                    measured.public_encrypt,
                    measured.key_exchanges
                ),
                (
                    inferred.private_sign,
                    inferred.private_decrypt,
                    inferred.public_encrypt,
                    inferred.key_exchanges
                ),
                "{name} {side}"
            );
            assert_eq!(
                measured.public_verify, inferred.public_verify,
                "{name} {side}: signature checks"
            );
            assert_eq!(
                measured.chain_signatures, inferred.chain_signatures,
                "{name} {side}: signatures checked in chains"
            );
        }
        // The client verifies the server's chain in a full handshake, not when it resumes;
        // the server (no client certificate) checks no chain signature, but OpenSSL runs its
        // verifier on the server's own certificate to build the chain it sends.
        assert_eq!(c.chain_verifications, Some(u64::from(full)), "{name}");
        assert_eq!(sv.chain_verifications, Some(u64::from(full)), "{name}");
        // One connection object per side, and the TLS 1.2 PRF: master secret, key block and
        // the two Finished on a full handshake; a resumed one has no master secret to make.
        for p in [&client, &server] {
            assert_eq!(p.calls("SSL_new"), 1, "{}", p.bench);
            assert_eq!(
                p.calls("EVP_KDF_derive"),
                if full { 4 } else { 3 },
                "{}",
                p.bench
            );
            assert!(
                p.total_ir > 100_000,
                "{}: {} instructions",
                p.bench,
                p.total_ir
            );
            let b = p.breakdown();
            let sum: f64 = b.by_category.values().sum();
            assert!((sum - b.total).abs() < 1.0, "{}", p.bench);
        }
        // The full server's profile is mostly the RSA private decrypt (the paper's RSA).
        if full {
            let b = server.breakdown();
            assert!(
                b.category(tlscost::profile::Category::Rsa) > 0.5 * b.total,
                "{:?}",
                server.by_category
            );
        }
    }
}

/// OpenSSL signs and checks ECDSA through `ECDSA_sign_ex` and `ECDSA_verify` (its EC signature
/// provider's calls), never RSA: the callgrind counts of a TLS 1.2 ECDHE_ECDSA full handshake
/// equal what its messages imply (the server signs its key exchange once; the client checks the
/// server's chain, one signature, and the key exchange's signature).
///
/// Each side also generates one key share and derives one secret, though libssl calls
/// `EVP_PKEY_derive` twice per secret (length, then secret) and `EVP_PKEY_generate` once more
/// for the peer's key template: the counts are of the calls made once per operation. And the
/// digests inside HMAC (HKDF, the PRF, Finished) are not transcript hashes.
#[test]
fn callgrind_counts_ecdsa_signatures_and_key_exchanges_as_the_messages_imply() {
    for s in [
        Scenario::new(
            Stack::Openssl,
            Protocol::Tls12EcdheEcdsaAes128Gcm,
            Kind::Full,
        ),
        Scenario::new(Stack::Openssl, Protocol::Tls13Aes128Gcm, Kind::Full)
            .with_cert(Some(Cert::EcdsaP256)),
    ] {
        let name = s.label();
        let [client, server] = profiled(s);
        let inferred = measure(s, &pki()).unwrap();
        let (mut c, mut sv) = (inferred.client.clone(), inferred.server.clone());
        apply_measured(&mut c, &client);
        apply_measured(&mut sv, &server);
        assert_eq!(
            server.calls("ECDSA_sign_ex"),
            1,
            "{name}: {:?}",
            server.calls
        );
        assert_eq!(
            client.calls("ECDSA_verify"),
            2,
            "{name}: {:?}",
            client.calls
        );
        for p in [&client, &server] {
            for f in ["RSA_private_encrypt", "RSA_public_decrypt"] {
                assert_eq!(p.calls(f), 0, "{}: {f}", p.bench);
            }
            assert_eq!(p.calls("EVP_PKEY_derive"), 2, "{}", p.bench);
        }
        for (side, measured, inferred) in [
            ("client", &c, &inferred.client),
            ("server", &sv, &inferred.server),
        ] {
            assert_eq!(
                (
                    measured.private_sign,
                    measured.public_verify,
                    measured.chain_signatures,
                    measured.key_exchanges
                ),
                (
                    inferred.private_sign,
                    inferred.public_verify,
                    inferred.chain_signatures,
                    inferred.key_exchanges
                ),
                "{name} {side}"
            );
            assert_eq!(
                (measured.key_exchanges, measured.key_shares),
                (1, Some(1)),
                "{name} {side}"
            );
            // A transcript hash per handshake message at most, not the HMACs' digests.
            let messages = (measured.messages_sent.len() + measured.messages_received.len()) as u64;
            let hashes = measured.hash_outputs.unwrap_or(0);
            assert!(
                hashes > 0 && hashes <= 2 * messages,
                "{name} {side}: {hashes} hash outputs for {messages} messages"
            );
        }
    }
}

fn write_estimate(dir: &Path, id: &str, median_ns: f64) {
    let new = dir.join(id.replace('/', "_")).join("new");
    std::fs::create_dir_all(&new).unwrap();
    let bench = json!({"group_id": id.split('/').next().unwrap(), "function_id": null,
        "value_str": null, "throughput": null, "full_id": id, "directory_name": id});
    let pe = |v: f64| {
        json!({"point_estimate": v, "standard_error": 1.0,
        "confidence_interval": {"confidence_level": 0.95,
            "lower_bound": v * 0.99, "upper_bound": v * 1.01}})
    };
    let est = json!({"mean": pe(median_ns), "median": pe(median_ns),
        "median_abs_dev": pe(1.0), "slope": null, "std_dev": pe(1.0)});
    let sample =
        json!({"sampling_mode": "Linear", "iters": [1.0, 2.0], "times": [median_ns, median_ns]});
    std::fs::write(new.join("benchmark.json"), bench.to_string()).unwrap();
    std::fs::write(new.join("estimates.json"), est.to_string()).unwrap();
    std::fs::write(new.join("sample.json"), sample.to_string()).unwrap();
}

#[test]
fn explain_after_a_model_sized_run_lists_what_is_missing_and_succeeds() {
    // What `make model` leaves: the paper's handshake and RSA-2048, no parts, no profiles.
    let dir = tempfile::tempdir().unwrap();
    for (id, ns) in [
        (
            "handshake/openssl/tls12-rsa-aes128-sha/rsa2048/full/client",
            300_000.0,
        ),
        (
            "handshake/openssl/tls12-rsa-aes128-sha/rsa2048/full/server",
            900_000.0,
        ),
        ("rsa/openssl/decrypt/2048", 700_000.0),
        ("rsa/openssl/encrypt/2048", 20_000.0),
        ("rsa/openssl/verify/2048", 20_000.0),
        ("rsa/openssl/sign/2048", 700_000.0),
        ("record/openssl/aes128-sha/seal/64", 1_000.0),
        ("record/openssl/aes128-sha/open/64", 1_000.0),
    ] {
        write_estimate(dir.path(), id, ns);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tlscost"))
        .args([
            "counts",
            "--explain",
            "--filter",
            "openssl/tls12-rsa-aes128-sha/",
        ])
        .arg("--criterion-dir")
        .arg(dir.path())
        .arg("--anatomy")
        .arg(dir.path().join("no-anatomy.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The measured sides are explained, with the decrypt priced on the server...
    assert!(
        stdout.contains("openssl/tls12-rsa-aes128-sha/rsa2048/full/server"),
        "{stdout}"
    );
    assert!(stdout.contains("RSA private decrypt"), "{stdout}");
    // ...and what is missing is listed with the command that measures it.
    assert!(stdout.contains("Not measured yet"), "{stdout}");
    for want in [
        "handshake/openssl/tls12-rsa-aes128-sha/rsa2048/mutual/client",
        "x509/openssl/parse/rsa-2048",
        "conn/openssl/server/new",
        "cargo bench --bench parts",
        "make anatomy",
    ] {
        assert!(stdout.contains(want), "missing '{want}' in:\n{stdout}");
    }
    // Without a callgrind profile the openssl counts are inferred, and say so.
    assert!(stdout.contains("* inferred"), "{stdout}");
}

#[test]
fn a_corrupt_anatomy_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("anatomy.json");
    std::fs::write(&bad, "{\"kind\": \"something else\"}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tlscost"))
        .args([
            "counts",
            "--filter",
            "openssl/tls12-rsa-aes128-sha/rsa2048/full",
            "--anatomy",
        ])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("anatomy.json") && stderr.contains("not an anatomy file"),
        "{stderr}"
    );
}

#[test]
fn anatomy_without_results_or_with_a_bad_scenario_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tlscost"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let missing = dir.path().join("none.json");
    let (ok, err) = run(&["anatomy", "--show", "--out", missing.to_str().unwrap()]);
    assert!(
        !ok && err.contains("none.json") && err.contains("make anatomy"),
        "{err}"
    );
    let (ok, err) = run(&["anatomy", "--one", "openssl/tls14/full"]);
    assert!(!ok && err.contains("unknown handshake scenario"), "{err}");
    let (ok, err) = run(&[
        "anatomy",
        "--filter",
        "no-such-stack",
        "--out",
        missing.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("no-such-stack"), "{err}");
}
