//! The committed fixtures load, are what they claim (key sizes, certificate chains accepted
//! by OpenSSL and by rustls/webpki, a rogue client refused, a consistent SIP call flow), and
//! every kind of damage to them gives an `Error::Fixture` naming the damaged file.

use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509StoreContext, X509};
use rustls::client::danger::ServerCertVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tlscost::fixtures::{
    Args, Ca, Direction, Fixtures, Identity, Legs, Part, SipCorpus, SipMessage, RSA_BITS,
};
use tlscost::Error;

fn committed() -> Fixtures {
    Fixtures::at(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"))
}

// ---------------------------------------------------------------- PKI

#[test]
fn every_rsa_key_has_its_size() {
    let fx = committed();
    for bits in RSA_BITS {
        let key = fx.rsa_key(bits).unwrap();
        assert_eq!(key.bits, bits);
        assert!(key.pem.starts_with(b"-----BEGIN PRIVATE KEY-----"));
        let pkey = openssl::pkey::PKey::private_key_from_pem(&key.pem).unwrap();
        assert_eq!(pkey.rsa().unwrap().size() * 8, bits);
        assert!(key.path.ends_with(format!("pki/rsa-{bits}.key.pem")));
    }
}

#[test]
fn rsa_key_of_an_unlisted_size_is_a_usage_error() {
    let e = committed().rsa_key(512).unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert!(e.to_string().contains("2048"), "{e}");
}

#[test]
fn identities_and_cas_load() {
    let fx = committed();
    for who in Identity::ALL {
        let ck = fx.identity(who).unwrap();
        let want_bits = if matches!(who, Identity::EcdsaServer | Identity::EcdsaClient) {
            256
        } else {
            2048
        };
        assert_eq!(ck.key.bits, want_bits, "{who:?}");
        assert!(ck.cert.pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
    }
    for ca in Ca::ALL {
        fx.ca(ca).unwrap();
    }
}

fn x509(pem: &[u8]) -> X509 {
    X509::from_pem(pem).unwrap()
}

/// OpenSSL's own chain verification of `leaf` against the single trusted `ca`.
fn openssl_verifies(ca: &X509, leaf: &X509) -> bool {
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(ca.clone()).unwrap();
    let store = store.build();
    let mut ctx = X509StoreContext::new().unwrap();
    ctx.init(&store, leaf, &Stack::new().unwrap(), |c| c.verify_cert())
        .unwrap()
}

#[test]
fn openssl_accepts_the_chains_and_refuses_the_rogue_client() {
    let fx = committed();
    let ca = x509(&fx.ca(Ca::Main).unwrap().pem);
    let rogue_ca = x509(&fx.ca(Ca::Rogue).unwrap().pem);
    let ecdsa_ca = x509(&fx.ca(Ca::Ecdsa).unwrap().pem);
    let leaf = |who| x509(&fx.identity(who).unwrap().cert.pem);

    assert!(openssl_verifies(&ca, &leaf(Identity::Server)));
    assert!(openssl_verifies(&ca, &leaf(Identity::Client)));
    assert!(openssl_verifies(&rogue_ca, &leaf(Identity::RogueClient)));
    assert!(openssl_verifies(&ecdsa_ca, &leaf(Identity::EcdsaServer)));
    assert!(openssl_verifies(&ecdsa_ca, &leaf(Identity::EcdsaClient)));
    assert!(!openssl_verifies(&ca, &leaf(Identity::EcdsaClient)));
    // The point of the rogue set: same names, other CA.
    assert!(!openssl_verifies(&ca, &leaf(Identity::RogueClient)));
    assert!(!openssl_verifies(&ca, &leaf(Identity::EcdsaServer)));
    assert!(!openssl_verifies(&rogue_ca, &leaf(Identity::Client)));
}

#[test]
fn server_certificates_carry_the_names_clients_connect_to() {
    let fx = committed();
    for who in [Identity::Server, Identity::EcdsaServer] {
        let cert = x509(&fx.identity(who).unwrap().cert.pem);
        let sans = cert.subject_alt_names().expect("server cert has a SAN");
        let dns: Vec<&str> = sans.iter().filter_map(|n| n.dnsname()).collect();
        let ips: Vec<&[u8]> = sans.iter().filter_map(|n| n.ipaddress()).collect();
        assert_eq!(dns, ["localhost", "sip.tlscost.test"], "{who:?}");
        assert_eq!(ips, [&[127u8, 0, 0, 1][..]], "{who:?}");
    }
}

fn der(pem: &[u8]) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem).unwrap()
}

fn roots(ca_pem: &[u8]) -> Arc<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der(ca_pem)).unwrap();
    Arc::new(roots)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[test]
fn rustls_webpki_accepts_the_server_certificates_for_every_name() {
    let fx = committed();
    for (who, ca) in [
        (Identity::Server, Ca::Main),
        (Identity::EcdsaServer, Ca::Ecdsa),
    ] {
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            roots(&fx.ca(ca).unwrap().pem),
            provider(),
        )
        .build()
        .unwrap();
        let leaf = der(&fx.identity(who).unwrap().cert.pem);
        for name in ["localhost", "sip.tlscost.test", "127.0.0.1"] {
            let name = ServerName::try_from(name).unwrap();
            verifier
                .verify_server_cert(&leaf, &[], &name, &[], UnixTime::now())
                .unwrap_or_else(|e| panic!("{who:?} for {name:?}: {e}"));
        }
        let wrong = ServerName::try_from("other.tlscost.test").unwrap();
        assert!(verifier
            .verify_server_cert(&leaf, &[], &wrong, &[], UnixTime::now())
            .is_err());
    }
}

#[test]
fn rustls_webpki_accepts_the_client_and_refuses_the_rogue_client() {
    let fx = committed();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        roots(&fx.ca(Ca::Main).unwrap().pem),
        provider(),
    )
    .build()
    .unwrap();
    let client = der(&fx.identity(Identity::Client).unwrap().cert.pem);
    verifier
        .verify_client_cert(&client, &[], UnixTime::now())
        .unwrap();
    let rogue = der(&fx.identity(Identity::RogueClient).unwrap().cert.pem);
    assert!(verifier
        .verify_client_cert(&rogue, &[], UnixTime::now())
        .is_err());
    // A server certificate (EKU serverAuth only) is no client certificate.
    let server = der(&fx.identity(Identity::Server).unwrap().cert.pem);
    assert!(verifier
        .verify_client_cert(&server, &[], UnixTime::now())
        .is_err());
    // The ECDSA client under the ECDSA CA.
    let ecdsa = rustls::server::WebPkiClientVerifier::builder_with_provider(
        roots(&fx.ca(Ca::Ecdsa).unwrap().pem),
        provider(),
    )
    .build()
    .unwrap();
    let client = der(&fx.identity(Identity::EcdsaClient).unwrap().cert.pem);
    ecdsa
        .verify_client_cert(&client, &[], UnixTime::now())
        .unwrap();
}

/// An identity added to the set later (the ECDSA client) is issued by its existing CA when
/// both its files are missing; every other file stays byte for byte; the set is then complete.
#[test]
fn a_missing_identity_is_issued_by_its_existing_ca() {
    let (dir, fx) = copy();
    let pki = dir.path().join("pki");
    let before: Vec<(String, Vec<u8>)> = std::fs::read_dir(&pki)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .filter(|(n, _)| !n.starts_with("ecdsa-client."))
        .collect();
    for f in ["ecdsa-client.cert.pem", "ecdsa-client.key.pem"] {
        std::fs::remove_file(pki.join(f)).unwrap();
    }
    let run = || {
        tlscost::fixtures::run(Args {
            out: dir.path().to_path_buf(),
            part: Part::Pki,
            force: false,
        })
    };
    run().unwrap();
    for (name, bytes) in &before {
        assert_eq!(
            &std::fs::read(pki.join(name)).unwrap(),
            bytes,
            "{name} changed"
        );
    }
    let new = fx.identity(Identity::EcdsaClient).unwrap();
    assert_ne!(
        new.key.pem,
        committed().identity(Identity::EcdsaClient).unwrap().key.pem,
        "a fresh key"
    );
    let ecdsa_ca = x509(&fx.ca(Ca::Ecdsa).unwrap().pem);
    assert!(openssl_verifies(&ecdsa_ca, &x509(&new.cert.pem)));
    // Complete now: a second run keeps everything.
    run().unwrap();
    assert_eq!(
        fx.identity(Identity::EcdsaClient).unwrap().key.pem,
        new.key.pem
    );
    // Half an identity missing is still a partial set that is refused.
    std::fs::remove_file(pki.join("ecdsa-client.key.pem")).unwrap();
    let e = run().unwrap_err().to_string();
    assert!(
        e.contains("partial") && e.contains("ecdsa-client.key.pem"),
        "{e}"
    );
    // So is a missing CA with its leaf.
    for f in [
        "ecdsa-client.cert.pem",
        "ecdsa-ca.cert.pem",
        "ecdsa-ca.key.pem",
    ] {
        let _ = std::fs::remove_file(pki.join(f));
    }
    assert!(run().unwrap_err().to_string().contains("partial"));
}

// ---------------------------------------------------------------- SIP

const BASIC: [&str; 7] = [
    "invite",
    "100-trying",
    "180-ringing",
    "200-ok-invite",
    "ack",
    "bye",
    "200-ok-bye",
];

fn names(corpus: &SipCorpus, flow: &str) -> Vec<String> {
    let f = corpus.flow(flow).unwrap();
    f.messages.iter().map(|m| m.name.clone()).collect()
}

#[test]
fn sip_flows_are_in_call_order() {
    let corpus = committed().sip().unwrap();
    let flows: Vec<&str> = corpus.flows.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(flows, ["basic", "auth"]);
    assert_eq!(names(&corpus, "basic"), BASIC);
    let mut auth = vec![
        "invite-challenged",
        "407-proxy-auth",
        "ack-407",
        "invite-auth",
    ];
    auth.extend(&BASIC[1..]);
    assert_eq!(names(&corpus, "auth"), auth);

    // Only the exchange with the challenging proxy stays on the caller's leg.
    for m in &corpus.flow("auth").unwrap().messages {
        let left = ["invite-challenged", "407-proxy-auth", "ack-407"].contains(&m.name.as_str());
        assert_eq!(m.legs == Legs::Left, left, "{}", m.name);
    }
    assert!(corpus
        .flow("basic")
        .unwrap()
        .messages
        .iter()
        .all(|m| m.legs == Legs::Both));

    let unique: Vec<&str> = corpus
        .unique_messages()
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(unique.len(), 11, "{unique:?}");
    assert_eq!(&unique[..7], BASIC);
}

#[test]
fn unknown_flow_lists_the_flows() {
    let corpus = committed().sip().unwrap();
    let e = corpus.flow("transfer").unwrap_err().to_string();
    assert!(
        e.contains("transfer") && e.contains("basic") && e.contains("auth"),
        "{e}"
    );
}

/// Header values named `name` (case-insensitive), in order.
fn headers<'a>(m: &'a SipMessage, name: &str) -> Vec<&'a str> {
    let text = std::str::from_utf8(&m.bytes).unwrap();
    let head = text.split("\r\n\r\n").next().unwrap();
    head.split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

fn start_line(m: &SipMessage) -> &str {
    std::str::from_utf8(&m.bytes)
        .unwrap()
        .split("\r\n")
        .next()
        .unwrap()
}

fn branch(via: &str) -> &str {
    via.split(';')
        .find_map(|p| p.strip_prefix("branch="))
        .unwrap()
}

#[test]
fn sip_messages_are_wire_format_with_matching_content_length() {
    let corpus = committed().sip().unwrap();
    for m in corpus.unique_messages() {
        let len = m.bytes.len();
        assert!((300..1300).contains(&len), "{}: {len} bytes", m.name);
        let split = m.bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let body = &m.bytes[split + 4..];
        let cl: Vec<&str> = headers(m, "Content-Length");
        assert_eq!(cl, [body.len().to_string()], "{}", m.name);
        // CRLF everywhere: no LF without its CR.
        for (i, b) in m.bytes.iter().enumerate() {
            if *b == b'\n' {
                assert_eq!(m.bytes[i - 1], b'\r', "{}: bare LF at {i}", m.name);
            }
        }
        for h in ["From", "To", "Call-ID", "CSeq"] {
            assert_eq!(headers(m, h).len(), 1, "{}: {h}", m.name);
        }
        let vias = headers(m, "Via");
        assert!(!vias.is_empty(), "{}", m.name);
        for v in &vias {
            assert!(v.starts_with("SIP/2.0/TLS "), "{}: {v}", m.name);
            assert!(branch(v).starts_with("z9hG4bK"), "{}: {v}", m.name);
        }
        if !body.is_empty() {
            assert_eq!(
                headers(m, "Content-Type"),
                ["application/sdp"],
                "{}",
                m.name
            );
        }
    }
}

#[test]
fn sip_flows_are_consistent_dialogs() {
    let corpus = committed().sip().unwrap();
    for flow in &corpus.flows {
        let call_ids: Vec<&str> = flow
            .messages
            .iter()
            .map(|m| headers(m, "Call-ID")[0])
            .collect();
        assert!(call_ids.windows(2).all(|w| w[0] == w[1]), "{}", flow.name);
        // Each response answers the latest request with its CSeq, in the same transaction.
        let mut requests: Vec<&SipMessage> = Vec::new();
        for m in &flow.messages {
            let start = start_line(m);
            let cseq = headers(m, "CSeq")[0];
            if let Some(status) = start.strip_prefix("SIP/2.0 ") {
                assert_eq!(m.direction, Direction::UasToUac, "{}", m.name);
                let req = requests
                    .iter()
                    .rev()
                    .find(|r| headers(r, "CSeq")[0] == cseq)
                    .unwrap_or_else(|| panic!("{}: no request for CSeq {cseq}", m.name));
                let caller_via = *headers(m, "Via").last().unwrap();
                assert_eq!(
                    branch(caller_via),
                    branch(headers(req, "Via")[0]),
                    "{} answers {}",
                    m.name,
                    req.name
                );
                // Provisional and final responses of the INVITE that was let through.
                if status.starts_with("180")
                    || cseq.ends_with("INVITE") && status.starts_with("200")
                {
                    assert_eq!(headers(m, "Record-Route").len(), 1, "{}", m.name);
                }
            } else {
                let method = start.split(' ').next().unwrap();
                assert!(cseq.ends_with(&format!(" {method}")), "{}: {cseq}", m.name);
                assert_eq!(m.direction, Direction::UacToUas, "{}", m.name);
                assert!(!headers(m, "Max-Forwards").is_empty(), "{}", m.name);
                requests.push(m);
            }
        }
    }
    let auth = corpus.flow("auth").unwrap();
    let credentials = |name: &str| {
        let m = auth.messages.iter().find(|m| m.name == name).unwrap();
        headers(m, "Proxy-Authorization").len()
    };
    assert_eq!(credentials("invite-challenged"), 0);
    assert_eq!(credentials("invite-auth"), 1);
    let challenge = &auth.messages[1];
    assert_eq!(
        start_line(challenge),
        "SIP/2.0 407 Proxy Authentication Required"
    );
    assert!(headers(challenge, "Proxy-Authenticate")[0].starts_with("Digest "));
}

// ---------------------------------------------------------------- generator

#[test]
fn generator_reproduces_the_committed_sip_corpus_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let args = |force| Args {
        out: dir.path().to_path_buf(),
        part: Part::Sip,
        force,
    };
    tlscost::fixtures::run(args(false)).unwrap();
    let committed_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sip");
    for entry in std::fs::read_dir(&committed_dir).unwrap() {
        let path = entry.unwrap().path();
        let fresh = dir.path().join("sip").join(path.file_name().unwrap());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&fresh).unwrap(),
            "{} differs from what `tlscost fixtures` writes",
            path.display()
        );
    }
    // A second run keeps the complete, usable set and touches nothing.
    let before = std::fs::metadata(dir.path().join("sip/bye.sip"))
        .unwrap()
        .modified()
        .unwrap();
    tlscost::fixtures::run(args(false)).unwrap();
    let after = std::fs::metadata(dir.path().join("sip/bye.sip"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "a usable set must not be rewritten");
    // A damaged set is refused, touching nothing, and the message names the damage.
    let marker = dir.path().join("sip/bye.sip");
    std::fs::write(&marker, b"edited").unwrap();
    let e = tlscost::fixtures::run(args(false)).unwrap_err().to_string();
    assert!(e.contains("bye.sip") && e.contains("--force"), "{e}");
    assert_eq!(std::fs::read(&marker).unwrap(), b"edited");
    std::fs::remove_file(dir.path().join("sip/ack.sip")).unwrap();
    let e = tlscost::fixtures::run(args(false)).unwrap_err().to_string();
    assert!(e.contains("partial") && e.contains("ack.sip"), "{e}");
    assert!(!dir.path().join("sip/ack.sip").exists());
    tlscost::fixtures::run(args(true)).unwrap();
    assert_ne!(std::fs::read(&marker).unwrap(), b"edited");
    assert!(dir.path().join("sip/ack.sip").exists());
}

#[test]
fn generated_pki_loads_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    tlscost::fixtures::run(Args {
        out: dir.path().to_path_buf(),
        part: Part::Pki,
        force: false,
    })
    .unwrap();
    let fx = Fixtures::at(dir.path());
    let ca = x509(&fx.ca(Ca::Main).unwrap().pem);
    assert!(openssl_verifies(
        &ca,
        &x509(&fx.identity(Identity::Server).unwrap().cert.pem)
    ));
    assert!(!openssl_verifies(
        &ca,
        &x509(&fx.identity(Identity::RogueClient).unwrap().cert.pem)
    ));
    // Fresh keys, not copies of the committed ones.
    assert_ne!(
        fx.rsa_key(2048).unwrap().pem,
        committed().rsa_key(2048).unwrap().pem
    );
    // Running again keeps the keys, valid or damaged: only --force replaces them.
    let before = fx.rsa_key(2048).unwrap().pem;
    let again = |force| {
        tlscost::fixtures::run(Args {
            out: dir.path().to_path_buf(),
            part: Part::Pki,
            force,
        })
    };
    again(false).unwrap();
    assert_eq!(fx.rsa_key(2048).unwrap().pem, before);
    std::fs::write(dir.path().join("pki/client.key.pem"), b"").unwrap();
    let e = again(false).unwrap_err().to_string();
    assert!(
        e.contains("client.key.pem") && e.contains("not usable"),
        "{e}"
    );
    assert_eq!(fx.rsa_key(2048).unwrap().pem, before);
    again(true).unwrap();
    assert_ne!(fx.rsa_key(2048).unwrap().pem, before);
    fx.identity(Identity::Client).unwrap();
}

// ---------------------------------------------------------------- damaged fixtures

/// A private copy of the committed fixtures to damage.
fn copy() -> (tempfile::TempDir, Fixtures) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for sub in ["pki", "sip"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(src.join(sub)).unwrap() {
            let p = entry.unwrap().path();
            std::fs::copy(&p, dir.path().join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
    let fx = Fixtures::at(dir.path());
    (dir, fx)
}

fn path(fx: &Fixtures, rel: &str) -> PathBuf {
    fx.root().join(rel)
}

/// Asserts a fixture error that names `file` and says `what`.
fn assert_fixture_error<T: std::fmt::Debug>(r: tlscost::Result<T>, file: &str, what: &str) {
    let e = r.unwrap_err();
    let msg = e.to_string();
    match &e {
        Error::Fixture { path, .. } => {
            assert!(path.ends_with(file), "{msg}: path should end in {file}")
        }
        other => panic!("expected Error::Fixture for {file}, got {other:?}"),
    }
    assert!(msg.contains(file), "message should name {file}: {msg}");
    assert!(msg.contains(what), "message should say '{what}': {msg}");
}

/// Overwrites 8 base64 characters of a PEM body, `at` = fraction of the file (0.0 = first body line).
fn scramble_pem(p: &Path, at: f64) {
    let mut text = std::fs::read_to_string(p).unwrap();
    let body_start = text.find('\n').unwrap() + 1;
    let pos = body_start + ((text.len() - body_start) as f64 * at) as usize;
    let pos = if text[pos..pos + 8].contains('\n') {
        pos + 10
    } else {
        pos
    };
    text.replace_range(pos..pos + 8, "AAAAAAAA");
    std::fs::write(p, text).unwrap();
}

#[test]
fn missing_key_is_named() {
    let (_d, fx) = copy();
    std::fs::remove_file(path(&fx, "pki/rsa-2048.key.pem")).unwrap();
    assert_fixture_error(fx.rsa_key(2048), "rsa-2048.key.pem", "missing");
}

#[test]
fn unreadable_certificate_is_named() {
    let (_d, fx) = copy();
    // A directory where the file should be: reading fails for root too.
    let p = path(&fx, "pki/ca.cert.pem");
    std::fs::remove_file(&p).unwrap();
    std::fs::create_dir(&p).unwrap();
    assert_fixture_error(fx.ca(Ca::Main), "ca.cert.pem", "cannot read");
}

#[test]
fn empty_key_is_named() {
    let (_d, fx) = copy();
    std::fs::write(path(&fx, "pki/server.key.pem"), b"").unwrap();
    assert_fixture_error(fx.identity(Identity::Server), "server.key.pem", "empty");
}

#[test]
fn non_pem_certificate_is_named() {
    let (_d, fx) = copy();
    std::fs::write(
        path(&fx, "pki/rogue-ca.cert.pem"),
        b"hello, not a certificate\n",
    )
    .unwrap();
    assert_fixture_error(fx.ca(Ca::Rogue), "rogue-ca.cert.pem", "not PEM");
}

#[test]
fn certificate_where_a_key_belongs_is_named() {
    let (_d, fx) = copy();
    std::fs::copy(
        path(&fx, "pki/server.cert.pem"),
        path(&fx, "pki/rsa-1024.key.pem"),
    )
    .unwrap();
    assert_fixture_error(
        fx.rsa_key(1024),
        "rsa-1024.key.pem",
        "label is 'CERTIFICATE', expected 'PRIVATE KEY'",
    );
}

#[test]
fn key_that_does_not_parse_is_named() {
    let (_d, fx) = copy();
    scramble_pem(&path(&fx, "pki/rsa-3072.key.pem"), 0.0);
    assert_fixture_error(fx.rsa_key(3072), "rsa-3072.key.pem", "does not parse");
}

#[test]
fn key_that_parses_but_is_corrupted_is_named() {
    // Bytes changed inside a big number: the DER still parses, the arithmetic does not hold.
    for (bits, at) in [(1024, 0.3), (2048, 0.5), (4096, 0.8)] {
        let (_d, fx) = copy();
        let file = format!("rsa-{bits}.key.pem");
        scramble_pem(&path(&fx, &format!("pki/{file}")), at);
        assert_fixture_error(fx.rsa_key(bits), &file, "RSA key is inconsistent");
    }
}

#[test]
fn rsa_key_of_the_wrong_size_is_named() {
    let (_d, fx) = copy();
    std::fs::copy(
        path(&fx, "pki/rsa-1024.key.pem"),
        path(&fx, "pki/rsa-4096.key.pem"),
    )
    .unwrap();
    assert_fixture_error(fx.rsa_key(4096), "rsa-4096.key.pem", "found RSA-1024");
}

#[test]
fn ec_key_where_rsa_belongs_is_named() {
    let (_d, fx) = copy();
    std::fs::copy(
        path(&fx, "pki/ecdsa-server.key.pem"),
        path(&fx, "pki/rsa-2048.key.pem"),
    )
    .unwrap();
    assert_fixture_error(
        fx.rsa_key(2048),
        "rsa-2048.key.pem",
        "expected an RSA-2048 key",
    );
}

#[test]
fn rsa_key_where_ec_belongs_is_named() {
    let (_d, fx) = copy();
    std::fs::copy(
        path(&fx, "pki/server.key.pem"),
        path(&fx, "pki/ecdsa-server.key.pem"),
    )
    .unwrap();
    assert_fixture_error(
        fx.identity(Identity::EcdsaServer),
        "ecdsa-server.key.pem",
        "expected an EC P-256 key",
    );
}

#[test]
fn key_of_another_certificate_is_named() {
    let (_d, fx) = copy();
    std::fs::copy(
        path(&fx, "pki/client.key.pem"),
        path(&fx, "pki/server.key.pem"),
    )
    .unwrap();
    assert_fixture_error(
        fx.identity(Identity::Server),
        "server.key.pem",
        "does not match the certificate",
    );
}

#[test]
fn certificate_that_does_not_parse_is_named() {
    let (_d, fx) = copy();
    scramble_pem(&path(&fx, "pki/client.cert.pem"), 0.0);
    assert_fixture_error(
        fx.identity(Identity::Client),
        "client.cert.pem",
        "certificate does not parse",
    );
}

#[test]
fn certificate_that_parses_but_is_corrupted_is_named() {
    let (_d, fx) = copy();
    scramble_pem(&path(&fx, "pki/server.cert.pem"), 0.5);
    assert_fixture_error(
        fx.identity(Identity::Server),
        "server.cert.pem",
        "signature does not verify with",
    );
    scramble_pem(&path(&fx, "pki/ca.cert.pem"), 0.5);
    assert_fixture_error(
        fx.ca(Ca::Main),
        "ca.cert.pem",
        "self-signature does not verify",
    );
}

#[test]
fn certificate_of_another_ca_is_named() {
    let (_d, fx) = copy();
    std::fs::copy(
        path(&fx, "pki/rogue-client.cert.pem"),
        path(&fx, "pki/client.cert.pem"),
    )
    .unwrap();
    assert_fixture_error(
        fx.identity(Identity::Client),
        "client.cert.pem",
        "issued by another CA",
    );
}

#[test]
fn truncated_certificate_is_named() {
    let (_d, fx) = copy();
    let p = path(&fx, "pki/ecdsa-ca.cert.pem");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, &text[..text.len() / 2]).unwrap();
    assert_fixture_error(
        fx.ca(Ca::Ecdsa),
        "ecdsa-ca.cert.pem",
        "no -----END CERTIFICATE-----",
    );
}

#[test]
fn manifest_that_is_not_json_is_named() {
    let (_d, fx) = copy();
    std::fs::write(path(&fx, "sip/manifest.json"), b"{ \"flows\": [").unwrap();
    assert_fixture_error(fx.sip(), "manifest.json", "not a valid SIP manifest");
}

#[test]
fn manifest_with_an_unknown_direction_is_named() {
    let (_d, fx) = copy();
    let p = path(&fx, "sip/manifest.json");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replacen("\"uas-to-uac\"", "\"sideways\"", 1)).unwrap();
    assert_fixture_error(fx.sip(), "manifest.json", "sideways");
}

#[test]
fn manifest_with_an_unknown_field_is_named() {
    let (_d, fx) = copy();
    let p = path(&fx, "sip/manifest.json");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replacen("\"legs\"", "\"leg\"", 1)).unwrap();
    assert_fixture_error(fx.sip(), "manifest.json", "unknown field `leg`");
}

#[test]
fn manifest_without_a_flow_is_named() {
    let (_d, fx) = copy();
    let p = path(&fx, "sip/manifest.json");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replacen("\"auth\"", "\"register\"", 1)).unwrap();
    assert_fixture_error(fx.sip(), "manifest.json", "expected flows");
}

#[test]
fn manifest_file_outside_the_directory_is_refused() {
    let (_d, fx) = copy();
    let p = path(&fx, "sip/manifest.json");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replacen("\"bye.sip\"", "\"../pki/ca.key.pem\"", 1)).unwrap();
    assert_fixture_error(fx.sip(), "manifest.json", "../pki/ca.key.pem");
}

#[test]
fn missing_sip_message_is_named() {
    let (_d, fx) = copy();
    std::fs::remove_file(path(&fx, "sip/ack.sip")).unwrap();
    assert_fixture_error(fx.sip(), "ack.sip", "missing");
}

#[test]
fn sip_message_with_a_bad_start_line_is_named() {
    let (_d, fx) = copy();
    let p = path(&fx, "sip/bye.sip");
    let text = std::fs::read_to_string(&p).unwrap();
    let rest = text.split_once("\r\n").unwrap().1;
    std::fs::write(&p, format!("HTTP/1.1 200 OK\r\n{rest}")).unwrap();
    assert_fixture_error(fx.sip(), "bye.sip", "start line 'HTTP/1.1 200 OK'");
}

#[test]
fn sip_message_whose_content_length_is_wrong_is_named() {
    let (_d, fx) = copy();
    let p = path(&fx, "sip/200-ok-invite.sip");
    let mut bytes = std::fs::read(&p).unwrap();
    bytes.extend_from_slice(b"a=x\r\n");
    std::fs::write(&p, bytes).unwrap();
    assert_fixture_error(fx.sip(), "200-ok-invite.sip", "Content-Length is");
}

#[test]
fn sip_message_with_lf_line_endings_is_named() {
    let (_d, fx) = copy();
    let p = path(&fx, "sip/100-trying.sip");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replace("\r\n", "\n")).unwrap();
    assert_fixture_error(fx.sip(), "100-trying.sip", "CRLF");
}

#[test]
fn empty_sip_message_is_named() {
    let (_d, fx) = copy();
    std::fs::write(path(&fx, "sip/invite-auth.sip"), b"").unwrap();
    assert_fixture_error(fx.sip(), "invite-auth.sip", "empty");
}

#[test]
fn locate_honours_the_environment_variable() {
    // The only test that touches TLSCOST_FIXTURES; the others use Fixtures::at.
    std::env::remove_var("TLSCOST_FIXTURES");
    let fx = Fixtures::locate().unwrap();
    assert!(fx.root().join("pki/ca.cert.pem").is_file());
    let missing = std::env::temp_dir().join("tlscost-no-such-fixtures-dir");
    std::env::set_var("TLSCOST_FIXTURES", &missing);
    let r = Fixtures::locate();
    std::env::remove_var("TLSCOST_FIXTURES");
    assert_fixture_error(r, "tlscost-no-such-fixtures-dir", "TLSCOST_FIXTURES");
}
