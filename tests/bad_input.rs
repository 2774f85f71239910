//! The bad-input matrix: every case runs the real `tlscost` binary on one broken input
//! (a missing, empty, truncated or wrong-kind fixture; a bad results or baseline file; an
//! unknown backend, scenario or flag; an impossible figure; an unwritable output place)
//! and checks what a user sees:
//!
//! * a non-zero exit status,
//! * stderr naming the input and saying what was expected,
//! * no panic trace (`panicked at`, `RUST_BACKTRACE`),
//! * no partial file left behind in any directory the case could write to.
//!
//! Each case prints one `MATRIX | input | message` line; `cargo test --release --test
//! bad_input -- --nocapture --test-threads=1 | grep '^MATRIX'` gives the table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;
use tlscost::fixtures::Fixtures;
use tlscost::machine::Machine;
use tlscost::model::components::ComponentId;
use tlscost::model::{component_sum, Flows, ModelOptions};
use tlscost::results::criterion::Estimate;
use tlscost::results::ResultsFile;

const BIN: &str = env!("CARGO_BIN_EXE_tlscost");

/// The crate's committed fixtures.
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every file under `dir` (relative paths), to see what a failed run left behind.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    out.sort();
    out
}

/// One matrix case: a command line, its environment and what its message must say.
struct Case<'a> {
    /// What is wrong, for the table.
    input: &'a str,
    args: Vec<String>,
    env: Vec<(&'a str, PathBuf)>,
    /// Directories the run could write to: nothing may appear in them.
    watched: Vec<PathBuf>,
    /// Texts stderr must contain: the input's name and what was expected.
    needles: Vec<&'a str>,
}

impl<'a> Case<'a> {
    fn new(input: &'a str, args: &[&str]) -> Self {
        Case {
            input,
            args: args.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            watched: Vec::new(),
            needles: Vec::new(),
        }
    }

    fn arg(mut self, a: impl AsRef<Path>) -> Self {
        self.args.push(a.as_ref().display().to_string());
        self
    }

    fn fixtures(mut self, dir: &Path) -> Self {
        self.env.push(("TLSCOST_FIXTURES", dir.to_path_buf()));
        self
    }

    fn watch(mut self, dir: &Path) -> Self {
        self.watched.push(dir.to_path_buf());
        self
    }

    fn says(mut self, needles: &[&'a str]) -> Self {
        self.needles.extend_from_slice(needles);
        self
    }

    /// Runs the case and checks the refusal; returns stderr.
    fn refused(self) -> String {
        let before: Vec<Vec<PathBuf>> = self.watched.iter().map(|d| listing(d)).collect();
        let mut cmd = Command::new(BIN);
        cmd.args(&self.args).env_remove("RUST_BACKTRACE");
        // Outside the crate, so a relative default path cannot touch the repository.
        let cwd = TempDir::new().unwrap();
        cmd.current_dir(cwd.path());
        if !self.env.iter().any(|(k, _)| *k == "TLSCOST_FIXTURES") {
            cmd.env_remove("TLSCOST_FIXTURES");
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("tlscost runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let shown = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or_else(|| stderr.lines().next().unwrap_or(""))
            .to_string();
        println!("MATRIX | {} | {} |", self.input, shown.replace('|', "\\|"));
        let ctx = format!(
            "case '{}': tlscost {}\nstderr:\n{stderr}",
            self.input,
            self.args.join(" ")
        );
        assert!(!out.status.success(), "exit status 0 for {ctx}");
        for bad in ["panicked at", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(!stderr.contains(bad), "panic trace ({bad}) for {ctx}");
        }
        for n in &self.needles {
            assert!(
                stderr.to_lowercase().contains(&n.to_lowercase()),
                "stderr does not say '{n}' for {ctx}"
            );
        }
        for (dir, was) in self.watched.iter().zip(&before) {
            assert_eq!(
                &listing(dir),
                was,
                "files appeared or vanished in {} for {ctx}",
                dir.display()
            );
        }
        assert!(
            listing(cwd.path()).is_empty(),
            "files left in the working directory for {ctx}"
        );
        stderr
    }
}

/// A copy of the fixtures in a temp dir, to corrupt one file of.
fn fixture_copy() -> TempDir {
    let tmp = TempDir::new().unwrap();
    for sub in ["pki", "sip"] {
        let to = tmp.path().join(sub);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(fixtures_dir().join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    tmp
}

/// `tlscost eventloop` on one mutual TLS 1.2 handshake: it loads the server identity, the
/// client identity and the CA, so it is the CLI's quickest reader of the PKI fixtures.
fn eventloop_case<'a>(input: &'a str, fx: &Path) -> Case<'a> {
    Case::new(
        input,
        &[
            "eventloop",
            "--handshakes",
            "1",
            "--protocol",
            "tls12-rsa-aes128-sha",
            "--kind",
            "mutual",
            "--delay",
            "0ms",
            "--no-write",
        ],
    )
    .fixtures(fx)
    .watch(fx)
}

// ---------------------------------------------------------------------------------------
// PKI fixtures

#[test]
fn fixtures_directory_missing() {
    let tmp = TempDir::new().unwrap();
    let gone = tmp.path().join("no-such-fixtures");
    eventloop_case("fixtures dir missing ($TLSCOST_FIXTURES)", &gone)
        .watch(tmp.path())
        .says(&["no-such-fixtures", "does not exist", "make fixtures"])
        .refused();
}

#[test]
fn server_key_missing() {
    let fx = fixture_copy();
    std::fs::remove_file(fx.path().join("pki/server.key.pem")).unwrap();
    eventloop_case("server key missing", fx.path())
        .says(&["server.key.pem", "missing"])
        .refused();
}

#[test]
fn server_certificate_empty() {
    let fx = fixture_copy();
    std::fs::write(fx.path().join("pki/server.cert.pem"), b"").unwrap();
    eventloop_case("server certificate empty", fx.path())
        .says(&["server.cert.pem", "empty"])
        .refused();
}

#[test]
fn client_key_truncated() {
    let fx = fixture_copy();
    let p = fx.path().join("pki/client.key.pem");
    let pem = std::fs::read(&p).unwrap();
    std::fs::write(&p, &pem[..pem.len() / 2]).unwrap();
    eventloop_case("client key truncated (half the PEM)", fx.path())
        .says(&["client.key.pem", "truncated"])
        .refused();
}

#[test]
fn client_key_with_its_body_cut() {
    // The END line is kept, the base64 body cut short: a PEM that frames but does not parse.
    let fx = fixture_copy();
    let p = fx.path().join("pki/client.key.pem");
    let pem = std::fs::read_to_string(&p).unwrap();
    let lines: Vec<&str> = pem.lines().collect();
    let cut = [&lines[..lines.len() / 2], &lines[lines.len() - 1..]].concat();
    std::fs::write(&p, cut.join("\n") + "\n").unwrap();
    eventloop_case("client key body cut (END line kept)", fx.path())
        .says(&["client.key.pem"])
        .refused();
}

#[test]
fn certificate_in_the_key_file() {
    let fx = fixture_copy();
    std::fs::copy(
        fixtures_dir().join("pki/client.cert.pem"),
        fx.path().join("pki/client.key.pem"),
    )
    .unwrap();
    eventloop_case("certificate in the client key file", fx.path())
        .says(&["client.key.pem", "CERTIFICATE", "expected", "PRIVATE KEY"])
        .refused();
}

#[test]
fn key_in_the_ca_certificate_file() {
    let fx = fixture_copy();
    std::fs::copy(
        fixtures_dir().join("pki/ca.key.pem"),
        fx.path().join("pki/ca.cert.pem"),
    )
    .unwrap();
    eventloop_case("private key in the CA certificate file", fx.path())
        .says(&["ca.cert.pem", "expected", "CERTIFICATE"])
        .refused();
}

#[test]
fn server_key_of_the_wrong_size() {
    let fx = fixture_copy();
    std::fs::copy(
        fixtures_dir().join("pki/rsa-1024.key.pem"),
        fx.path().join("pki/server.key.pem"),
    )
    .unwrap();
    eventloop_case("RSA-1024 key as the server key", fx.path())
        .says(&["server.key.pem", "expected an RSA-2048 key", "RSA-1024"])
        .refused();
}

#[test]
fn server_key_of_another_certificate() {
    let fx = fixture_copy();
    std::fs::copy(
        fixtures_dir().join("pki/rsa-2048.key.pem"),
        fx.path().join("pki/server.key.pem"),
    )
    .unwrap();
    eventloop_case("server key not matching its certificate", fx.path())
        .says(&["server.key.pem", "does not match", "server.cert.pem"])
        .refused();
}

#[test]
fn ca_replaced_by_another_ca() {
    let fx = fixture_copy();
    std::fs::copy(
        fixtures_dir().join("pki/rogue-ca.cert.pem"),
        fx.path().join("pki/ca.cert.pem"),
    )
    .unwrap();
    eventloop_case("another CA in place of the main CA", fx.path())
        .says(&["server.cert.pem", "does not verify", "ca.cert.pem"])
        .refused();
}

#[test]
fn certificate_with_a_flipped_byte() {
    let fx = fixture_copy();
    let p = fx.path().join("pki/server.cert.pem");
    let mut pem = std::fs::read(&p).unwrap();
    // A byte in the middle of the base64 body: a certificate that no longer verifies or parses.
    let i = pem.len() / 2;
    pem[i] = if pem[i] == b'A' { b'B' } else { b'A' };
    std::fs::write(&p, pem).unwrap();
    eventloop_case("server certificate with one base64 char changed", fx.path())
        .says(&["server.cert.pem"])
        .refused();
}

// ---------------------------------------------------------------------------------------
// SIP fixtures, read by `tlscost model` (given a complete synthetic results file)

/// The benchmarks the model reads with default options: every component's terms.
fn model_benches() -> Vec<String> {
    let flows = Flows::from_fixtures(&Fixtures::at(fixtures_dir())).expect("fixtures load");
    let opts = ModelOptions::default();
    let mut names: Vec<String> = ComponentId::table()
        .iter()
        .flat_map(|id| component_sum(id, &opts, &flows).terms)
        .map(|(bench, _)| bench)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Made-up estimates (ns) for every benchmark the model reads: the figures are not the
/// point, only that the file is complete and valid (TCP costs more than UDP, the
/// authenticated call more than the basic one, so no component comes out negative).
fn synthetic_estimates() -> BTreeMap<String, Estimate> {
    model_benches()
        .into_iter()
        .map(|id| {
            let ns = if id.starts_with("transport/tcp/send-recv") {
                5_000.0
            } else if id.starts_with("transport/udp/send-recv") {
                2_000.0
            } else if id == "base/udp-proxy/call-auth" {
                140_000.0
            } else if id.starts_with("base/") {
                100_000.0
            } else if id.starts_with("handshake/") || id.starts_with("eventloop/") {
                500_000.0
            } else {
                1_000.0
            };
            let e = Estimate {
                id: id.clone(),
                median_ns: ns,
                lower_ns: ns * 0.99,
                upper_ns: ns * 1.01,
                samples: 20,
                bytes: None,
            };
            (id, e)
        })
        .collect()
}

/// A valid results file of this machine, written to `dir/name`.
fn results_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    ResultsFile::new(Machine::current(), &synthetic_estimates())
        .write(&path)
        .unwrap();
    path
}

/// `tlscost model --results <valid file> --no-save` with the fixtures at `fx`.
fn model_case<'a>(input: &'a str, fx: &Path, results: &Path) -> Case<'a> {
    Case::new(input, &["model", "--no-save", "--results"])
        .arg(results)
        .fixtures(fx)
        .watch(fx)
}

#[test]
fn the_synthetic_results_file_is_accepted() {
    // The control of the SIP and results cases: with nothing broken the model runs.
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "good.json");
    let out = Command::new(BIN)
        .args(["model", "--no-save", "--json", "--results"])
        .arg(&res)
        .env("TLSCOST_FIXTURES", fixtures_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "model on the synthetic results file failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sip_message_missing() {
    let (fx, tmp) = (fixture_copy(), TempDir::new().unwrap());
    let res = results_file(tmp.path(), "r.json");
    std::fs::remove_file(fx.path().join("sip/invite.sip")).unwrap();
    model_case("SIP message file missing", fx.path(), &res)
        .says(&["invite.sip", "missing"])
        .refused();
}

#[test]
fn sip_message_empty() {
    let (fx, tmp) = (fixture_copy(), TempDir::new().unwrap());
    let res = results_file(tmp.path(), "r.json");
    std::fs::write(fx.path().join("sip/bye.sip"), b"").unwrap();
    model_case("SIP message file empty", fx.path(), &res)
        .says(&["bye.sip", "empty"])
        .refused();
}

#[test]
fn sip_message_truncated() {
    let (fx, tmp) = (fixture_copy(), TempDir::new().unwrap());
    let res = results_file(tmp.path(), "r.json");
    let p = fx.path().join("sip/200-ok-invite.sip");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 40]).unwrap();
    model_case("SIP message truncated (last 40 bytes cut)", fx.path(), &res)
        .says(&["200-ok-invite.sip"])
        .refused();
}

#[test]
fn sip_message_of_the_wrong_kind() {
    let (fx, tmp) = (fixture_copy(), TempDir::new().unwrap());
    let res = results_file(tmp.path(), "r.json");
    std::fs::copy(
        fixtures_dir().join("pki/server.cert.pem"),
        fx.path().join("sip/ack.sip"),
    )
    .unwrap();
    model_case("a PEM certificate as a SIP message", fx.path(), &res)
        .says(&["ack.sip"])
        .refused();
}

#[test]
fn sip_manifest_missing() {
    let (fx, tmp) = (fixture_copy(), TempDir::new().unwrap());
    let res = results_file(tmp.path(), "r.json");
    std::fs::remove_file(fx.path().join("sip/manifest.json")).unwrap();
    model_case("SIP manifest missing", fx.path(), &res)
        .says(&["manifest.json", "missing"])
        .refused();
}

#[test]
fn sip_manifest_empty() {
    let (fx, tmp) = (fixture_copy(), TempDir::new().unwrap());
    let res = results_file(tmp.path(), "r.json");
    std::fs::write(fx.path().join("sip/manifest.json"), b"").unwrap();
    model_case("SIP manifest empty", fx.path(), &res)
        .says(&["manifest.json", "empty"])
        .refused();
}

#[test]
fn sip_manifest_truncated() {
    let (fx, tmp) = (fixture_copy(), TempDir::new().unwrap());
    let res = results_file(tmp.path(), "r.json");
    let p = fx.path().join("sip/manifest.json");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    model_case("SIP manifest truncated (half)", fx.path(), &res)
        .says(&["manifest.json"])
        .refused();
}

#[test]
fn sip_manifest_of_the_wrong_kind() {
    let (fx, tmp) = (fixture_copy(), TempDir::new().unwrap());
    let res = results_file(tmp.path(), "r.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("results/paper.json"),
        fx.path().join("sip/manifest.json"),
    )
    .unwrap();
    model_case("paper.json as the SIP manifest", fx.path(), &res)
        .says(&["manifest.json"])
        .refused();
}

#[test]
fn sip_manifest_naming_a_file_outside() {
    let (fx, tmp) = (fixture_copy(), TempDir::new().unwrap());
    let res = results_file(tmp.path(), "r.json");
    let p = fx.path().join("sip/manifest.json");
    let text = std::fs::read_to_string(&p).unwrap();
    let text = text.replacen("\"invite.sip\"", "\"../pki/ca.key.pem\"", 1);
    std::fs::write(&p, text).unwrap();
    model_case("SIP manifest naming ../pki/ca.key.pem", fx.path(), &res)
        .says(&["manifest.json"])
        .refused();
}
