//! Property tests of the parsers that take outside bytes, with bounded case counts so they
//! run in `make test` in seconds (cargo-fuzz needs a nightly toolchain; see README):
//!
//! * TLS record open (`src/record.rs`): random records and mutated sealed records are
//!   refused with an error, never a panic; records forged to fail exactly one check are
//!   refused by that check; random plaintexts round-trip, across backends.
//! * The SIP parser and proxy of the base measurement (`src/sip.rs`): random bytes and
//!   mutated fixture messages never panic; the fixtures themselves parse.
//! * The results-file, criterion-output, gate-baseline and gungraun-summary readers: random
//!   and mutated JSON never panic; a truncated file is always refused.
//!
//! Each property states what must hold for every input, not for chosen examples.

use proptest::prelude::*;
use proptest::test_runner::Config;
use std::collections::BTreeMap;
use std::path::Path;
use tempfile::TempDir;
use tlscost::crypto::Backend;
use tlscost::fixtures::Fixtures;
use tlscost::machine::Machine;
use tlscost::names::Dimension;
use tlscost::record::fault::{Fault, Forger};
use tlscost::record::{
    RecordKeys, RecordLayer, Suite, APPLICATION_DATA, CONTENT_TYPES, HEADER_LEN, TLS12,
};
use tlscost::results::criterion::Estimate;
use tlscost::results::ResultsFile;

/// Bounded case counts: enough to walk every branch of these parsers many times, small
/// enough to keep `make test` fast. `PROPTEST_CASES=N` runs N cases of each property instead
/// (a deeper search, by hand).
fn cases(n: u32) -> Config {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    Config {
        cases: n,
        ..Config::default()
    }
}

/// Every (suite, backend) this build can protect records with.
fn layers() -> Vec<(Suite, Backend)> {
    let mut out = Vec::new();
    for &suite in Suite::ALL {
        for &backend in Backend::SYMMETRIC {
            if tlscost::record::supports(suite, backend).is_ok() {
                out.push((suite, backend));
            }
        }
    }
    assert!(
        out.len() >= 6,
        "expected at least 6 record layers, got {out:?}"
    );
    out
}

fn layer(suite: Suite, backend: Backend) -> RecordLayer {
    RecordLayer::new(suite, backend, &RecordKeys::fixed(suite)).expect("record layer")
}

/// A record with a well-formed header around `fragment`, so the checks past the header
/// (length, decrypt, padding, MAC or tag) are the ones exercised.
fn framed(content_type: u8, fragment: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, TLS12[0], TLS12[1]];
    r.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
    r.extend_from_slice(fragment);
    r
}

proptest! {
    #![proptest_config(cases(128))]

    /// Any bytes at all: refused, never a panic.
    #[test]
    fn record_open_refuses_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        for (suite, backend) in layers() {
            let mut l = layer(suite, backend);
            let mut out = Vec::new();
            prop_assert!(l.open(&bytes, &mut out).is_err(), "{suite:?}/{backend:?} opened random bytes");
            prop_assert_eq!(l.read_seq(), 0, "a refused record moved the sequence number");
        }
    }

    /// A correct header and a random fragment whose length is a whole number of blocks:
    /// reaches the decryption, the padding check and the MAC (or the GCM tag).
    #[test]
    fn record_open_refuses_random_fragments(blocks in 0usize..80, seed in any::<u64>(), ty in prop::sample::select(CONTENT_TYPES.to_vec())) {
        for (suite, backend) in layers() {
            let bs = match suite { Suite::TdesSha => 8, _ => 16 };
            let mut rng = seed;
            let fragment: Vec<u8> = (0..blocks * bs)
                .map(|_| { rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (rng >> 56) as u8 })
                .collect();
            let mut l = layer(suite, backend);
            let mut out = Vec::new();
            prop_assert!(l.open(&framed(ty, &fragment), &mut out).is_err(),
                "{suite:?}/{backend:?} opened a random fragment of {} bytes", fragment.len());
        }
    }

    /// A sealed record with one byte changed anywhere (header included) is refused.
    #[test]
    fn record_open_refuses_a_changed_byte(
        plaintext in proptest::collection::vec(any::<u8>(), 0..600),
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        for (suite, backend) in layers() {
            let (mut w, mut r) = (layer(suite, backend), layer(suite, backend));
            let mut rec = Vec::new();
            w.seal(APPLICATION_DATA, &plaintext, &mut rec).unwrap();
            let i = at.index(rec.len());
            rec[i] ^= mask;
            let mut out = Vec::new();
            prop_assert!(r.open(&rec, &mut out).is_err(),
                "{suite:?}/{backend:?}: byte {i} of {} xor {mask:#04x} was accepted", rec.len());
            prop_assert!(out.is_empty(), "a refused record left plaintext in the output");
        }
    }

    /// A sealed record cut short, or with bytes appended (header length fixed up or not),
    /// is refused.
    #[test]
    fn record_open_refuses_truncated_or_extended_records(
        plaintext in proptest::collection::vec(any::<u8>(), 0..300),
        cut in any::<prop::sample::Index>(),
        extra in proptest::collection::vec(any::<u8>(), 1..40),
        fix_length in any::<bool>(),
    ) {
        for (suite, backend) in layers() {
            let mut w = layer(suite, backend);
            let mut rec = Vec::new();
            w.seal(APPLICATION_DATA, &plaintext, &mut rec).unwrap();
            let mut short = rec[..cut.index(rec.len())].to_vec();
            let mut long = [rec.as_slice(), extra.as_slice()].concat();
            for r in [&mut short, &mut long] {
                if fix_length && r.len() >= HEADER_LEN {
                    let n = (r.len() - HEADER_LEN) as u16;
                    r[3..5].copy_from_slice(&n.to_be_bytes());
                }
                let mut out = Vec::new();
                prop_assert!(layer(suite, backend).open(r, &mut out).is_err(),
                    "{suite:?}/{backend:?}: a record of {} bytes (sealed {}) was accepted", r.len(), rec.len());
            }
        }
    }

    /// A record sealed under one sequence number does not open under another (replay,
    /// reordering).
    #[test]
    fn record_open_refuses_another_sequence_number(
        plaintext in proptest::collection::vec(any::<u8>(), 0..200),
        seq in any::<u64>(),
        delta in 1u64..1000,
    ) {
        for (suite, backend) in layers() {
            let mut l = layer(suite, backend);
            let mut rec = Vec::new();
            l.seal_at(seq, APPLICATION_DATA, &plaintext, &mut rec).unwrap();
            let mut out = Vec::new();
            prop_assert!(l.open_at(seq.wrapping_add(delta), &rec, &mut out).is_err());
            prop_assert_eq!(l.open_at(seq, &rec, &mut out).unwrap(), APPLICATION_DATA);
            prop_assert_eq!(&out, &plaintext);
        }
    }

    /// A record built by hand to fail exactly one check of `open` (any fault and variant,
    /// any sequence number and plaintext, forged with one backend's primitives and opened
    /// by another's) is refused for that check's reason, and the forger's correct record at
    /// the same sequence number opens: each check refuses on its own.
    #[test]
    fn single_fault_records_are_refused_by_their_check(
        plaintext in proptest::collection::vec(any::<u8>(), 0..400),
        fault in prop::sample::select(Fault::ALL.to_vec()),
        pick in 0usize..256,
        seq in 0u64..u64::MAX - 4,
        forger_at in any::<prop::sample::Index>(),
        opener_at in any::<prop::sample::Index>(),
    ) {
        for &suite in Suite::ALL {
            if !fault.applies(suite) {
                continue;
            }
            let backends: Vec<Backend> = Backend::SYMMETRIC.iter().copied()
                .filter(|&b| tlscost::record::supports(suite, b).is_ok()).collect();
            let (fb, ob) = (*forger_at.get(&backends), *opener_at.get(&backends));
            let mut forger = Forger::new(suite, fb, &RecordKeys::fixed(suite)).unwrap();
            let mut r = layer(suite, ob);
            let mut out = Vec::new();
            let good = forger.valid(seq, &plaintext).unwrap();
            prop_assert_eq!(r.open_at(seq, &good, &mut out).ok(), Some(APPLICATION_DATA));
            prop_assert_eq!(&out, &plaintext);
            let bad = forger.forge(fault, seq, &plaintext, pick).unwrap();
            match r.open_at(seq, &bad, &mut out) {
                Ok(_) => prop_assert!(false, "{suite:?} {fb:?}->{ob:?}: {fault:?} (pick {pick}) accepted"),
                Err(e) => prop_assert!(fault.is_reason(suite, &e),
                    "{suite:?} {fb:?}->{ob:?}: {fault:?} (pick {pick}) refused for another reason: {e}"),
            }
        }
    }

    /// Random plaintexts round-trip: sealed by one backend, opened by every other (the
    /// record format is the standard's, not a backend's), sequence numbers advancing.
    #[test]
    fn records_round_trip_across_backends(
        plaintexts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..1500), 1..4),
        ty in prop::sample::select(CONTENT_TYPES.to_vec()),
    ) {
        for &suite in Suite::ALL {
            let backends: Vec<Backend> = Backend::SYMMETRIC.iter().copied()
                .filter(|&b| tlscost::record::supports(suite, b).is_ok()).collect();
            for &sealer in &backends {
                for &opener in &backends {
                    let (mut w, mut r) = (layer(suite, sealer), layer(suite, opener));
                    for (n, p) in plaintexts.iter().enumerate() {
                        let mut rec = Vec::new();
                        w.seal(ty, p, &mut rec).unwrap();
                        prop_assert_eq!(rec.len(), suite.record_len(p.len()));
                        let mut out = Vec::new();
                        let got = r.open(&rec, &mut out);
                        prop_assert!(got.is_ok(), "{suite:?} {sealer:?}->{opener:?} record {n}: {got:?}");
                        prop_assert_eq!(got.unwrap(), ty);
                        prop_assert_eq!(&out, p);
                    }
                    prop_assert_eq!(r.read_seq(), plaintexts.len() as u64);
                }
            }
        }
    }
}

#[test]
fn the_largest_fragment_round_trips_and_one_byte_more_is_refused() {
    for (suite, backend) in layers() {
        let (mut w, mut r) = (layer(suite, backend), layer(suite, backend));
        let p = vec![0xa5; tlscost::record::MAX_FRAGMENT];
        let mut rec = Vec::new();
        w.seal(APPLICATION_DATA, &p, &mut rec).unwrap();
        let mut out = Vec::new();
        assert_eq!(r.open(&rec, &mut out).unwrap(), APPLICATION_DATA);
        assert_eq!(out, p);
        let too_big = vec![0; tlscost::record::MAX_FRAGMENT + 1];
        assert!(w.seal(APPLICATION_DATA, &too_big, &mut rec).is_err());
    }
}

// ---------------------------------------------------------------------------------------
// SIP

/// The fixture messages (as the proxy receives them).
fn sip_messages() -> Vec<Vec<u8>> {
    let fx = Fixtures::at(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"));
    let corpus = fx.sip().expect("fixtures/sip loads");
    corpus
        .unique_messages()
        .iter()
        .map(|m| m.bytes.clone())
        .collect()
}

/// One edit of a message: a byte changed, a range cut out, bytes inserted, or the end cut.
#[derive(Debug, Clone)]
enum Edit {
    Set(prop::sample::Index, u8),
    Delete(prop::sample::Index, usize),
    Insert(prop::sample::Index, Vec<u8>),
    Truncate(prop::sample::Index),
    /// Duplicate a line (two Content-Lengths, two Max-Forwards, ...).
    DuplicateLine(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Insertions favour the bytes SIP's grammar turns on.
    let special = prop::sample::select(vec![
        b"\r\n".to_vec(),
        b"\r\n\r\n".to_vec(),
        b":".to_vec(),
        b";".to_vec(),
        b",".to_vec(),
        b" ".to_vec(),
        b"\t".to_vec(),
        b"\r\n ".to_vec(),
        b"\xff\xfe".to_vec(),
        b"Content-Length: 99999999999999999999\r\n".to_vec(),
        b"Max-Forwards: 0\r\n".to_vec(),
        b"Via: SIP/2.0/UDP\r\n".to_vec(),
        b"v: ,,,\r\n".to_vec(),
        b"Route: <sip:proxy.tlscost.test;lr>\r\n".to_vec(),
    ]);
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<prop::sample::Index>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<prop::sample::Index>(), special).prop_map(|(i, s)| Edit::Insert(i, s)),
        (
            any::<prop::sample::Index>(),
            proptest::collection::vec(any::<u8>(), 1..8)
        )
            .prop_map(|(i, s)| Edit::Insert(i, s)),
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
        any::<prop::sample::Index>().prop_map(Edit::DuplicateLine),
    ]
}

fn apply(mut m: Vec<u8>, e: &Edit) -> Vec<u8> {
    if m.is_empty() {
        return m;
    }
    match e {
        Edit::Set(i, b) => {
            let i = i.index(m.len());
            m[i] = *b;
        }
        Edit::Delete(i, n) => {
            let i = i.index(m.len());
            let end = (i + n).min(m.len());
            m.drain(i..end);
        }
        Edit::Insert(i, s) => {
            let i = i.index(m.len() + 1);
            m.splice(i..i, s.iter().copied());
        }
        Edit::Truncate(i) => m.truncate(i.index(m.len())),
        Edit::DuplicateLine(i) => {
            let lines: Vec<&[u8]> = m.split_inclusive(|&b| b == b'\n').collect();
            let k = i.index(lines.len());
            let mut out = Vec::with_capacity(m.len() + lines[k].len());
            for (j, l) in lines.iter().enumerate() {
                out.extend_from_slice(l);
                if j == k {
                    out.extend_from_slice(l);
                }
            }
            m = out;
        }
    }
    m
}

/// What a proxy does with outside bytes: parse, then handle (rewrite) as both a proxy with
/// and without SIP authentication. Only panics matter here; errors are expected.
fn handle_everywhere(bytes: &[u8]) {
    if let Ok(m) = tlscost::sip::parse(bytes) {
        // Every accessor on whatever parsed.
        let _ = (m.method(), m.status(), m.vias(), m.max_forwards());
        let _ = (m.record_routes(), m.routes(), m.header("call-id"));
        for v in m.vias() {
            let _ = tlscost::sip::via_sent_by(v);
            let _ = tlscost::sip::via_branch(v);
        }
    }
    for auth in [false, true] {
        let mut p = tlscost::sip::Proxy::new(
            "proxy.tlscost.test:5060",
            "sip:proxy.tlscost.test:5060",
            auth,
        );
        let _ = p.handle(bytes);
        // Twice: the second time the proxy has state (a challenged branch).
        let _ = p.handle(bytes);
    }
}

#[test]
fn every_fixture_message_parses() {
    let msgs = sip_messages();
    assert!(
        msgs.len() >= 8,
        "expected the SIP corpus, got {} messages",
        msgs.len()
    );
    for m in &msgs {
        let parsed = tlscost::sip::parse(m);
        assert!(
            parsed.is_ok(),
            "{:?}: {parsed:?}",
            String::from_utf8_lossy(&m[..40.min(m.len())])
        );
    }
}

proptest! {
    #![proptest_config(cases(1024))]

    /// Random bytes: never a panic (almost all are refused).
    #[test]
    fn sip_parser_survives_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        handle_everywhere(&bytes);
    }

    /// Random bytes after a plausible start line and an empty line, so the header and
    /// body code is reached rather than the start-line check.
    #[test]
    fn sip_parser_survives_random_headers(
        start in prop::sample::select(vec!["INVITE sip:bob@b.test SIP/2.0", "SIP/2.0 200 OK", "ACK sip:x SIP/2.0"]),
        head in "[ -~\t\r\n]{0,400}",
        body in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let mut bytes = format!("{start}\r\n{head}\r\n\r\n").into_bytes();
        bytes.extend_from_slice(&body);
        handle_everywhere(&bytes);
    }

    /// The fixture messages with up to four edits each: never a panic.
    #[test]
    fn sip_parser_survives_mutated_messages(
        which in any::<prop::sample::Index>(),
        edits in proptest::collection::vec(edit(), 1..5),
    ) {
        let msgs = sip_messages();
        let mut m = msgs[which.index(msgs.len())].clone();
        for e in &edits {
            m = apply(m, e);
        }
        handle_everywhere(&m);
    }
}

// ---------------------------------------------------------------------------------------
// Results, criterion output, gate baseline, gungraun summaries

/// A valid results file's text (made-up estimates: only its shape matters here).
fn results_text() -> String {
    let mut est = BTreeMap::new();
    for (i, id) in [
        "rsa/openssl/decrypt/2048",
        "record/openssl/aes128-sha/open/sip-invite",
        "base/udp-proxy/call-basic",
    ]
    .iter()
    .enumerate()
    {
        let ns = 1000.0 * (i + 1) as f64;
        let e = Estimate {
            id: id.to_string(),
            median_ns: ns,
            lower_ns: ns * 0.9,
            upper_ns: ns * 1.1,
            samples: 20,
            bytes: Some(100),
        };
        est.insert(id.to_string(), e);
    }
    let dir = TempDir::new().unwrap();
    let p = dir.path().join("r.json");
    ResultsFile::new(Machine::current(), &est)
        .write(&p)
        .unwrap();
    std::fs::read_to_string(p).unwrap()
}

/// Byte-level mutations of a text: JSON's structure characters favoured.
fn mutate_text(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        b = apply(b, e);
    }
    b
}

fn json_edit() -> impl Strategy<Value = Edit> {
    let special = prop::sample::select(vec![
        b"{".to_vec(),
        b"}".to_vec(),
        b"[".to_vec(),
        b"]".to_vec(),
        b",".to_vec(),
        b":".to_vec(),
        b"\"".to_vec(),
        b"null".to_vec(),
        b"-1".to_vec(),
        b"1e400".to_vec(),
        b"18446744073709551616".to_vec(),
        b"\\u0000".to_vec(),
        b"\xc3".to_vec(),
    ]);
    prop_oneof![
        3 => edit(),
        2 => (any::<prop::sample::Index>(), special).prop_map(|(i, s)| Edit::Insert(i, s)),
    ]
}

/// A value tree of JSON (structure-aware random input for the readers).
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z_/0-9.-]{0,12}".prop_map(Value::String),
        Just(Value::from("ns")),
        Just(Value::from("tlscost-results")),
        Just(Value::from(1)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop::sample::select(vec![
                    "schema_version",
                    "kind",
                    "date",
                    "machine",
                    "busy",
                    "estimates",
                    "median",
                    "lower",
                    "upper",
                    "samples",
                    "unit",
                    "bytes",
                    "model",
                    "host",
                    "x",
                ])
                .prop_map(String::from),
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(cases(256))]

    /// The results-file reader on a mutated valid file: an error or a file, never a panic;
    /// whatever it accepts holds only finite figures in nanoseconds.
    #[test]
    fn results_reader_survives_mutated_files(edits in proptest::collection::vec(json_edit(), 1..5)) {
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, mutate_text(&results_text(), &edits)).unwrap();
        if let Ok(f) = ResultsFile::read(&p) {
            for m in f.estimates.values() {
                prop_assert_eq!(&m.unit, "ns");
                prop_assert!(m.median.is_finite() && m.lower.is_finite() && m.upper.is_finite());
            }
        }
    }

    /// A results file cut anywhere short of its end is refused (a half-written file must
    /// never be read as a complete one).
    #[test]
    fn results_reader_refuses_every_truncation(cut in any::<prop::sample::Index>()) {
        let text = results_text();
        // Cutting only the trailing newline (or whitespace) leaves a whole file.
        let body = text.trim_end().len();
        let n = cut.index(body);
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, &text.as_bytes()[..n]).unwrap();
        prop_assert!(ResultsFile::read(&p).is_err(), "accepted the first {n} of {body} bytes");
    }

    /// Structure-aware random JSON: never a panic from the results reader or the gate's
    /// baseline and summary readers.
    #[test]
    fn json_readers_survive_random_documents(v in json_value(), as_results in any::<bool>()) {
        let mut v = v;
        if as_results {
            // Past the kind and version checks, into the typed part.
            if let serde_json::Value::Object(m) = &mut v {
                m.insert("kind".into(), "tlscost-results".into());
                m.insert("schema_version".into(), 1.into());
            }
        }
        let text = v.to_string();
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("doc.json");
        std::fs::write(&p, &text).unwrap();
        let _ = ResultsFile::read(&p);
        let _ = tlscost::gate::baseline::Baseline::load(&p);
        let names = vec!["rsa/openssl/sign/2048".to_string()];
        let _ = tlscost::gate::counts::parse_summary(&p, &text, &names);
    }

    /// Criterion's output with one of its files mutated: an error or estimates, never a
    /// panic.
    #[test]
    fn criterion_reader_survives_mutated_output(
        which in 0usize..3,
        edits in proptest::collection::vec(json_edit(), 1..4),
    ) {
        let dir = TempDir::new().unwrap();
        let new = dir.path().join("rsa/openssl_decrypt/2048/new");
        std::fs::create_dir_all(&new).unwrap();
        let files = [
            ("benchmark.json", r#"{"group_id":"rsa","function_id":"openssl/decrypt","value_str":"2048","throughput":{"Bytes":48},"full_id":"rsa/openssl/decrypt/2048","directory_name":"rsa/openssl_decrypt/2048"}"#),
            ("estimates.json", r#"{"mean":{"point_estimate":2.0,"standard_error":0.1,"confidence_interval":{"confidence_level":0.95,"lower_bound":1.9,"upper_bound":2.1}},"median":{"point_estimate":2.0,"standard_error":0.1,"confidence_interval":{"confidence_level":0.95,"lower_bound":1.9,"upper_bound":2.1}},"median_abs_dev":null,"slope":null,"std_dev":null}"#),
            ("sample.json", r#"{"sampling_mode":"Linear","iters":[1.0,2.0,3.0],"times":[2.0,4.0,6.0]}"#),
        ];
        for (i, (name, text)) in files.iter().enumerate() {
            let bytes = if i == which { mutate_text(text, &edits) } else { text.as_bytes().to_vec() };
            std::fs::write(new.join(name), bytes).unwrap();
        }
        let _ = tlscost::results::criterion::load(dir.path());
    }
}

#[test]
fn the_unmutated_results_file_reads_back() {
    // The control of the properties above: the valid file they mutate is accepted.
    let dir = TempDir::new().unwrap();
    let p = dir.path().join("r.json");
    std::fs::write(&p, results_text()).unwrap();
    let f = ResultsFile::read(&p).expect("valid results file");
    assert_eq!(f.estimates.len(), 3);
}
