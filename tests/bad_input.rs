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
            } else if id.starts_with("handshake/") && id.contains("/resumed") {
                90_000.0
            } else if id.starts_with("handshake/") || id.starts_with("eventloop/") {
                500_000.0
            } else if id.starts_with("connection/openssl/") && id.contains("/resumed") {
                160_000.0
            } else if id.starts_with("connection/openssl/") {
                600_000.0
            } else if id.starts_with("connection/") {
                30_000.0
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

// ---------------------------------------------------------------------------------------
// Results files (`tlscost model --results`, `tlscost compare --a --b`)

/// A results file of this machine, rewritten by `edit` (as JSON) to `dir/name`.
fn edited_results(dir: &Path, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let good = results_file(dir, &format!("source-{name}"));
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    edit(&mut v);
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    path
}

fn model_on<'a>(input: &'a str, results: &Path) -> Case<'a> {
    Case::new(input, &["model", "--no-save", "--results"])
        .arg(results)
        .watch(results.parent().unwrap())
}

#[test]
fn results_file_missing() {
    let tmp = TempDir::new().unwrap();
    model_on("results file missing", &tmp.path().join("gone.json"))
        .says(&["gone.json", "No such file"])
        .refused();
}

#[test]
fn results_file_empty() {
    let tmp = TempDir::new().unwrap();
    let p = tmp.path().join("empty.json");
    std::fs::write(&p, b"").unwrap();
    model_on("results file empty", &p)
        .says(&["empty.json", "expected a file written by `tlscost model`"])
        .refused();
}

#[test]
fn results_file_truncated() {
    let tmp = TempDir::new().unwrap();
    let good = results_file(tmp.path(), "good.json");
    let bytes = std::fs::read(&good).unwrap();
    let p = tmp.path().join("truncated.json");
    std::fs::write(&p, &bytes[..bytes.len() * 2 / 3]).unwrap();
    model_on("results file truncated (2/3)", &p)
        .says(&["truncated.json", "truncated"])
        .refused();
}

#[test]
fn results_file_of_another_schema_version() {
    let tmp = TempDir::new().unwrap();
    let p = edited_results(tmp.path(), "v2.json", |v| v["schema_version"] = 2.into());
    model_on("results file of schema version 2", &p)
        .says(&["v2.json", "schema version 2", "version 1"])
        .refused();
}

#[test]
fn results_file_of_another_kind() {
    // The paper's figures are JSON too, but not measurements.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/paper.json");
    Case::new(
        "paper.json given as a results file",
        &["model", "--no-save", "--results"],
    )
    .arg(&p)
    .says(&["paper.json", "expected \"tlscost-results\""])
    .refused();
}

#[test]
fn previous_run_missing_or_without_a_model() {
    // `tlscost model --previous FILE`: the run to compare the components with.
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "now.json");
    Case::new(
        "--previous: file missing",
        &["model", "--no-save", "--results"],
    )
    .arg(&res)
    .arg("--previous")
    .arg(tmp.path().join("gone.json"))
    .watch(tmp.path())
    .says(&["gone.json", "No such file"])
    .refused();
    // A results file of `tlscost model --results` keeps no model: nothing to compare with.
    Case::new(
        "--previous: results file without a model",
        &["model", "--no-save", "--results"],
    )
    .arg(&res)
    .arg("--previous")
    .arg(&res)
    .watch(tmp.path())
    .says(&["now.json", "no model in it", "written by `tlscost model`"])
    .refused();
}

#[test]
fn results_file_in_another_unit() {
    let tmp = TempDir::new().unwrap();
    let p = edited_results(tmp.path(), "ms.json", |v| {
        for (_, m) in v["estimates"].as_object_mut().unwrap() {
            m["unit"] = "ms".into();
        }
    });
    model_on("results file with unit 'ms'", &p)
        .says(&["ms.json", "expected 'ns'"])
        .refused();
}

#[test]
fn results_file_missing_a_benchmark() {
    let tmp = TempDir::new().unwrap();
    let p = edited_results(tmp.path(), "partial.json", |v| {
        v["estimates"]
            .as_object_mut()
            .unwrap()
            .remove("base/udp-proxy/call-basic");
    });
    model_on("results file without base/udp-proxy/call-basic", &p)
        .says(&[
            "partial.json",
            "base/udp-proxy/call-basic",
            "cargo bench",
            "without --results",
        ])
        .refused();
}

#[test]
fn results_file_with_a_negative_median() {
    let tmp = TempDir::new().unwrap();
    let p = edited_results(tmp.path(), "negative.json", |v| {
        v["estimates"]["base/udp-proxy/call-basic"]["median"] = (-5.0).into();
    });
    model_on("results file with a negative base median", &p)
        .says(&["negative.json", "must be positive"])
        .refused();
}

#[test]
fn compare_with_a_truncated_second_file() {
    let tmp = TempDir::new().unwrap();
    let a = results_file(tmp.path(), "a.json");
    let bytes = std::fs::read(&a).unwrap();
    let b = tmp.path().join("b.json");
    std::fs::write(&b, &bytes[..bytes.len() / 2]).unwrap();
    Case::new(
        "compare: second results file truncated",
        &["compare", "--a"],
    )
    .arg(&a)
    .arg("--b")
    .arg(&b)
    .watch(tmp.path())
    .says(&["b.json", "truncated"])
    .refused();
}

/// Writes one estimate in criterion's file format into `new` (a `.../new` directory);
/// the reader goes by `full_id`, not by the path.
fn write_criterion_estimate(new: &Path, e: &Estimate) {
    std::fs::create_dir_all(new).unwrap();
    let bench = serde_json::json!({"group_id": "g", "function_id": null, "value_str": null,
        "throughput": null, "full_id": e.id, "directory_name": e.id});
    let pe = |v: f64, lo: f64, hi: f64| {
        serde_json::json!({"point_estimate": v, "standard_error": 1.0,
        "confidence_interval": {"confidence_level": 0.95, "lower_bound": lo, "upper_bound": hi}})
    };
    let m = pe(e.median_ns, e.lower_ns, e.upper_ns);
    let est = serde_json::json!({"mean": m, "median": m, "median_abs_dev": m,
        "slope": null, "std_dev": m});
    let (iters, times) = (vec![1.0; 20], vec![e.median_ns; 20]);
    let sample = serde_json::json!({"sampling_mode": "Linear", "iters": iters, "times": times});
    std::fs::write(new.join("benchmark.json"), bench.to_string()).unwrap();
    std::fs::write(new.join("estimates.json"), est.to_string()).unwrap();
    std::fs::write(new.join("sample.json"), sample.to_string()).unwrap();
}

/// A criterion output directory holding every benchmark the model reads.
fn criterion_dir(root: &Path) -> PathBuf {
    let dir = root.join("criterion");
    for e in synthetic_estimates().values() {
        write_criterion_estimate(&dir.join(e.id.replace('/', "_")).join("new"), e);
    }
    dir
}

#[test]
fn criterion_layout_with_a_group_named_base_is_read() {
    // Not bad input: the control that criterion's real layout, `<group>/<function>_<param>/new`,
    // is read, including the group `base` (criterion also names its saved baseline `base/`).
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("criterion");
    for e in synthetic_estimates().values() {
        let (group, rest) = e.id.split_once('/').unwrap();
        let new = dir.join(group).join(rest.replace('/', "_")).join("new");
        write_criterion_estimate(&new, e);
    }
    let out = Command::new(BIN)
        .args(["model", "--no-save", "--criterion-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "model on criterion's layout failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn criterion_output_corrupt() {
    let tmp = TempDir::new().unwrap();
    let dir = criterion_dir(tmp.path());
    let est = dir.join("base_udp-proxy_call-basic/new/estimates.json");
    std::fs::write(&est, b"{\"median\": {\"point_es").unwrap();
    Case::new(
        "criterion estimates.json truncated",
        &["model", "--no-save", "--criterion-dir"],
    )
    .arg(&dir)
    .watch(tmp.path())
    .says(&["estimates.json", "not a criterion output file"])
    .refused();
}

// ---------------------------------------------------------------------------------------
// Unwritable output places: a directory path that runs through a regular file

/// A regular file, and a path "under" it (which no one can create).
fn blocked(tmp: &Path) -> PathBuf {
    let file = tmp.join("a-regular-file");
    std::fs::write(&file, b"not a directory").unwrap();
    file.join("out")
}

#[test]
fn results_directory_unwritable() {
    let tmp = TempDir::new().unwrap();
    let crit = criterion_dir(tmp.path());
    let plots = tmp.path().join("plots");
    let out_dir = blocked(tmp.path());
    let stderr = Case::new(
        "model: results directory under a regular file",
        &["model", "--criterion-dir"],
    )
    .arg(&crit)
    .arg("--plots")
    .arg(&plots)
    .arg("--out-dir")
    .arg(&out_dir)
    .says(&["a-regular-file/out"])
    .refused();
    // The plots written before the failure are whole files; no temp file is left anywhere.
    for f in listing(tmp.path()) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.contains(".tmp"),
            "temp file {} left behind",
            f.display()
        );
    }
    assert!(stderr.contains("error"), "{stderr}");
}

#[test]
fn plots_directory_unwritable() {
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "r.json");
    let plots = blocked(tmp.path());
    Case::new(
        "model: plots directory under a regular file",
        &["model", "--results"],
    )
    .arg(&res)
    .arg("--plots")
    .arg(&plots)
    .watch(tmp.path())
    .says(&["a-regular-file/out"])
    .refused();
}

#[test]
fn bmf_file_unwritable() {
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "r.json");
    let bmf = blocked(tmp.path()).join("bmf.json");
    Case::new(
        "model: --bmf file under a regular file",
        &["model", "--no-save", "--results"],
    )
    .arg(&res)
    .arg("--bmf")
    .arg(&bmf)
    .watch(tmp.path())
    .says(&["a-regular-file/out"])
    .refused();
}

#[test]
fn eventloop_report_unwritable() {
    let tmp = TempDir::new().unwrap();
    let out = blocked(tmp.path()).join("eventloop.json");
    Case::new(
        "eventloop: --out under a regular file",
        &[
            "eventloop",
            "--handshakes",
            "1",
            "--protocol",
            "tls13-aes128-gcm",
            "--kind",
            "full",
            "--delay",
            "0ms",
            "--out",
        ],
    )
    .arg(&out)
    .watch(tmp.path())
    .says(&["a-regular-file/out"])
    .refused();
}

#[test]
fn fixtures_output_unwritable() {
    let tmp = TempDir::new().unwrap();
    let out = blocked(tmp.path());
    Case::new(
        "fixtures: --out under a regular file",
        &["fixtures", "--part", "sip", "--out"],
    )
    .arg(&out)
    .watch(tmp.path())
    .says(&["a-regular-file/out"])
    .refused();
}

#[test]
fn fixtures_refuse_to_overwrite() {
    // A complete, usable set is kept (exit 0); a damaged one must not be overwritten silently.
    let fx = fixture_copy();
    std::fs::write(fx.path().join("pki/client.key.pem"), b"not a key").unwrap();
    Case::new(
        "fixtures: --out an existing, damaged set, no --force",
        &["fixtures", "--out"],
    )
    .arg(fx.path())
    .watch(fx.path())
    .says(&["--force"])
    .refused();
}

// ---------------------------------------------------------------------------------------
// The gate's baseline

fn gate_check<'a>(input: &'a str, baseline: &Path) -> Case<'a> {
    Case::new(input, &["gate", "check", "--baseline"])
        .arg(baseline)
        .watch(baseline.parent().unwrap())
}

#[test]
fn gate_baseline_missing() {
    let tmp = TempDir::new().unwrap();
    gate_check("gate baseline missing", &tmp.path().join("gate.json"))
        .says(&["gate.json", "not found", "make baseline"])
        .refused();
}

#[test]
fn gate_baseline_empty() {
    let tmp = TempDir::new().unwrap();
    let p = tmp.path().join("gate.json");
    std::fs::write(&p, b"").unwrap();
    gate_check("gate baseline empty", &p)
        .says(&["gate.json", "corrupt gate baseline"])
        .refused();
}

/// A well-formed baseline of two benches, edited by `edit`.
fn baseline_file(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut v = serde_json::json!({
        "kind": "tlscost-gate-baseline", "schema": 1, "date": "2026-11-25T00:00:00Z",
        "cpu_signature": Machine::current().cpu_signature(), "gungraun": "0.20.0",
        "valgrind": "valgrind-3.19.0",
        "benches": {"rsa/openssl/decrypt/2048": 6000000, "rsa/openssl/sign/2048": 6100000}
    });
    edit(&mut v);
    let p = dir.join("gate.json");
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    p
}

#[test]
fn gate_baseline_truncated() {
    let tmp = TempDir::new().unwrap();
    let p = baseline_file(tmp.path(), |_| {});
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    gate_check("gate baseline truncated (half)", &p)
        .says(&["gate.json", "corrupt gate baseline"])
        .refused();
}

#[test]
fn gate_baseline_of_another_schema() {
    let tmp = TempDir::new().unwrap();
    let p = baseline_file(tmp.path(), |v| v["schema"] = 7.into());
    gate_check("gate baseline of schema 7", &p)
        .says(&["gate.json", "schema 7", "make baseline"])
        .refused();
}

#[test]
fn gate_baseline_of_another_kind() {
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "r.json");
    let p = tmp.path().join("gate.json");
    std::fs::copy(&res, &p).unwrap();
    gate_check("a results file as the gate baseline", &p)
        .says(&["gate.json", "not a gate baseline", "tlscost-gate-baseline"])
        .refused();
}

#[test]
fn gate_baseline_with_a_zero_count() {
    let tmp = TempDir::new().unwrap();
    let p = baseline_file(tmp.path(), |v| {
        v["benches"]["rsa/openssl/sign/2048"] = 0.into()
    });
    gate_check("gate baseline with 0 instructions for a bench", &p)
        .says(&["gate.json", "0 instructions", "rsa/openssl/sign/2048"])
        .refused();
}

#[test]
fn gate_baseline_with_a_negative_count() {
    let tmp = TempDir::new().unwrap();
    let p = baseline_file(tmp.path(), |v| {
        v["benches"]["rsa/openssl/sign/2048"] = (-3).into()
    });
    gate_check("gate baseline with a negative count", &p)
        .says(&["gate.json", "corrupt gate baseline"])
        .refused();
}

#[test]
fn gate_summaries_missing() {
    let tmp = TempDir::new().unwrap();
    let p = baseline_file(tmp.path(), |_| {});
    gate_check("gate run directory missing", &p)
        .arg("--summaries")
        .arg(tmp.path().join("no-run"))
        .says(&["no-run"])
        .refused();
}

// ---------------------------------------------------------------------------------------
// Unknown names, flags and impossible figures

#[test]
fn unknown_subcommand() {
    Case::new("unknown subcommand", &["benchmark-everything"])
        .says(&["unrecognized subcommand", "benchmark-everything"])
        .refused();
}

#[test]
fn unknown_flag() {
    Case::new("unknown flag", &["model", "--fast"])
        .says(&["unexpected argument", "--fast"])
        .refused();
}

#[test]
fn unknown_backend() {
    Case::new(
        "unknown backend",
        &["model", "--no-save", "--backend", "gnutls"],
    )
    .says(&["gnutls", "backend", "expected one of", "openssl"])
    .refused();
}

#[test]
fn backend_without_records() {
    Case::new(
        "backend with no TLS records",
        &["model", "--no-save", "--backend", "textbook-crt"],
    )
    .says(&["--backend textbook-crt", "openssl"])
    .refused();
}

#[test]
fn unknown_stack() {
    Case::new(
        "unknown stack",
        &["model", "--no-save", "--stack", "boringssl"],
    )
    .says(&["boringssl", "stack", "expected one of"])
    .refused();
}

#[test]
fn unknown_resumption() {
    Case::new(
        "unknown resumption",
        &["model", "--no-save", "--resumed", "full"],
    )
    .says(&["--resumed full", "resumed-id"])
    .refused();
}

#[test]
fn unknown_protocol_scenario() {
    Case::new(
        "unknown protocol scenario",
        &["eventloop", "--no-write", "--protocol", "tls14"],
    )
    .says(&["tls14", "protocol", "expected one of"])
    .refused();
}

#[test]
fn unknown_handshake_kind_scenario() {
    Case::new(
        "unknown handshake kind",
        &["eventloop", "--no-write", "--kind", "half-open"],
    )
    .says(&["half-open", "kind", "expected one of"])
    .refused();
}

#[test]
fn unknown_delay_scenario() {
    Case::new(
        "unknown server delay",
        &["eventloop", "--no-write", "--delay", "3ms"],
    )
    .says(&["3ms", "delay", "expected one of"])
    .refused();
}

#[test]
fn zero_handshakes() {
    Case::new(
        "zero handshakes",
        &["eventloop", "--no-write", "--handshakes", "0"],
    )
    .says(&["handshakes", "1..="])
    .refused();
}

#[test]
fn base_udp_us_negative_with_equals() {
    Case::new(
        "--base-udp-us=-5",
        &["model", "--no-save", "--base-udp-us=-5"],
    )
    .says(&["--base-udp-us", "-5", "positive"])
    .refused();
}

#[test]
fn base_udp_us_negative_as_separate_word() {
    Case::new(
        "--base-udp-us -5",
        &["model", "--no-save", "--base-udp-us", "-5"],
    )
    .says(&["--base-udp-us", "-5"])
    .refused();
}

#[test]
fn base_udp_us_absurd() {
    Case::new(
        "--base-udp-us 1e300",
        &["model", "--no-save", "--base-udp-us", "1e300"],
    )
    .says(&["--base-udp-us", "at most"])
    .refused();
}

#[test]
fn base_udp_us_zero() {
    Case::new(
        "--base-udp-us 0",
        &["model", "--no-save", "--base-udp-us", "0"],
    )
    .says(&["--base-udp-us", "positive"])
    .refused();
}

#[test]
fn base_udp_us_not_a_number() {
    for v in ["NaN", "inf"] {
        Case::new(
            "--base-udp-us NaN / inf",
            &["model", "--no-save", "--base-udp-us", v],
        )
        .says(&["--base-udp-us", "finite"])
        .refused();
    }
    Case::new(
        "--base-udp-us abc",
        &["model", "--no-save", "--base-udp-us", "abc"],
    )
    .says(&["--base-udp-us", "abc"])
    .refused();
}

#[test]
fn auth_us_negative() {
    Case::new("--auth-us=-1", &["model", "--no-save", "--auth-us=-1"])
        .says(&["--auth-us", "non-negative"])
        .refused();
}

#[test]
fn gate_threshold_not_positive() {
    Case::new("gate --threshold 0", &["gate", "check", "--threshold", "0"])
        .says(&["threshold", "positive"])
        .refused();
}

// ---------------------------------------------------------------------------------------
// Operator figures: the calibration file of `tlscost model --calibrate` and
// `tlscost validate --measured`

/// `tlscost model --calibrate <file>` on a valid results file, in a temp dir.
fn calibrate_case<'a>(input: &'a str, dir: &Path, text: &[u8]) -> Case<'a> {
    let res = results_file(dir, "r.json");
    let cal = dir.join("calibration.csv");
    std::fs::write(&cal, text).unwrap();
    Case::new(input, &["model", "--no-save", "--results"])
        .arg(res)
        .arg("--calibrate")
        .arg(cal)
        .watch(dir)
}

#[test]
fn calibration_file_missing() {
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "r.json");
    Case::new(
        "calibration file missing",
        &["model", "--no-save", "--results"],
    )
    .arg(res)
    .arg("--calibrate")
    .arg(tmp.path().join("mine.csv"))
    .watch(tmp.path())
    .says(&["mine.csv", "No such file"])
    .refused();
}

#[test]
fn calibration_file_empty() {
    let tmp = TempDir::new().unwrap();
    calibrate_case("calibration file empty", tmp.path(), b"")
        .says(&["calibration.csv"])
        .refused();
}

#[test]
fn calibration_file_truncated() {
    let tmp = TempDir::new().unwrap();
    let text = b"configuration,us_per_call\nproxy-chain/udp,60\noutbound/tl";
    calibrate_case("calibration file truncated mid-line", tmp.path(), text)
        .says(&["calibration.csv"])
        .refused();
}

#[test]
fn calibration_file_of_another_kind() {
    let tmp = TempDir::new().unwrap();
    let pem = std::fs::read(fixtures_dir().join("pki/ca.cert.pem")).unwrap();
    calibrate_case(
        "a PEM certificate as the calibration file",
        tmp.path(),
        &pem,
    )
    .says(&["calibration.csv"])
    .refused();
}

#[test]
fn calibration_file_naming_an_unknown_configuration() {
    let tmp = TempDir::new().unwrap();
    let text = b"configuration,us_per_call\nproxy-chain/udp,60\nnowhere/tls,100\n";
    calibrate_case("calibration: unknown configuration", tmp.path(), text)
        .says(&["calibration.csv", "nowhere/tls"])
        .refused();
}

#[test]
fn calibration_file_with_a_negative_figure() {
    let tmp = TempDir::new().unwrap();
    let text = b"configuration,us_per_call\nproxy-chain/udp,-60\noutbound/tls,1500\n";
    calibrate_case("calibration: negative µs per call", tmp.path(), text)
        .says(&["calibration.csv", "-60"])
        .refused();
}

#[test]
fn calibration_file_with_nan() {
    let tmp = TempDir::new().unwrap();
    let text = b"configuration,us_per_call\nproxy-chain/udp,NaN\noutbound/tls,1500\n";
    calibrate_case("calibration: NaN µs per call", tmp.path(), text)
        .says(&["calibration.csv", "NaN"])
        .refused();
}

#[test]
fn calibration_file_with_a_configuration_twice() {
    let tmp = TempDir::new().unwrap();
    let text = b"configuration,us_per_call\nproxy-chain/udp,60\nproxy-chain/udp,70\n";
    calibrate_case("calibration: a configuration twice", tmp.path(), text)
        .says(&["calibration.csv", "proxy-chain/udp"])
        .refused();
}

#[test]
fn validate_measured_file_truncated() {
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "r.json");
    let m = tmp.path().join("testbed.csv");
    std::fs::write(
        &m,
        b"configuration,us_per_call,spread_us\nproxy-chain/udp,6",
    )
    .unwrap();
    Case::new(
        "validate: testbed figures truncated",
        &["validate", "--no-save", "--results"],
    )
    .arg(res)
    .arg("--measured")
    .arg(&m)
    .watch(tmp.path())
    .says(&["testbed.csv"])
    .refused();
}

#[test]
fn model_unknown_protocol() {
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "r.json");
    Case::new(
        "model: unknown --protocol",
        &[
            "model",
            "--no-save",
            "--protocol",
            "tls14-magic",
            "--results",
        ],
    )
    .arg(res)
    .says(&["tls14-magic", "expected one of"])
    .refused();
}

#[test]
fn model_protocol_the_stack_lacks() {
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "r.json");
    Case::new(
        "model: rustls with RSA key transport",
        &[
            "model",
            "--no-save",
            "--stack",
            "rustls",
            "--protocol",
            "tls12-rsa-aes128-sha",
            "--results",
        ],
    )
    .arg(res)
    .says(&["--protocol", "RSA key transport"])
    .refused();
}

#[test]
fn model_protocol_not_measured_names_the_command() {
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "r.json");
    Case::new(
        "model: --protocol whose benches are missing",
        &[
            "model",
            "--no-save",
            "--protocol",
            "tls13-aes128-gcm",
            "--results",
        ],
    )
    .arg(res)
    .says(&["no estimate", "cargo bench --bench"])
    .refused();
}

/// The control of the `validate --server` cases: a measured-server file with the smallest
/// set (and a TLS 1.3 row the synthetic estimates cannot price) validates, and says what it
/// could not predict.
#[test]
fn validate_server_runs_on_a_measured_server_file() {
    use tlscost::server::file::{
        LoadInfo, ServerFile, ServerInfo, ServerMeasurement, KIND, SCHEMA_VERSION,
    };
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "r.json");
    let row = |c: &str, us: f64, protocol: Option<&str>| ServerMeasurement {
        configuration: c.into(),
        protocol: protocol.map(String::from),
        us_per_call: us,
        spread_us: us * 0.02,
        runs_us: vec![us],
        idle_us_per_s: 0.0,
        generator_us_per_call: 0.0,
        details: vec![],
    };
    let file = ServerFile {
        kind: KIND.into(),
        schema_version: SCHEMA_VERSION,
        date: "2026-11-30T00:00:00Z".into(),
        machine: Machine::current(),
        server: ServerInfo {
            name: "toy".into(),
            version: "1".into(),
            start_line: "toy".into(),
            memory_manager: None,
            tls_library: None,
            database: None,
        },
        load: LoadInfo {
            flow: "basic".into(),
            rate: 50.0,
            calls: 100,
            warmup: 10,
            repeat: 1,
        },
        measurements: vec![
            row("proxy-chain/udp", 300.0, None),
            row("proxy-chain/tcp", 360.0, None),
            row("proxy-chain/tls-aes", 420.0, Some("tls12-rsa-aes128-sha")),
            row("outbound/tls", 2000.0, Some("tls12-rsa-aes128-sha")),
            row("outbound/tls-resumed", 900.0, Some("tls12-rsa-aes128-sha")),
            row("outbound/tls", 2100.0, Some("tls13-aes128-gcm")),
        ],
        not_measured: vec![],
        notes: vec![],
        peaks: vec![],
        profiles: vec![],
    };
    let path = tmp.path().join("toy.json");
    file.write(&path).unwrap();
    let out = Command::new(BIN)
        .args(["validate", "--no-save", "--results"])
        .arg(&res)
        .arg("--server")
        .arg(&path)
        .env("TLSCOST_FIXTURES", fixtures_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "validate --server failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in ["toy 1", "uncalibrated", "S+R", "proxy-chain/tcp", "Fig. 16"] {
        assert!(text.contains(want), "no '{want}' in:\n{text}");
    }
}

#[test]
fn validate_server_file_missing_or_of_another_kind() {
    let tmp = TempDir::new().unwrap();
    let res = results_file(tmp.path(), "r.json");
    let missing = tmp.path().join("kamailio.json");
    Case::new(
        "validate --server: file missing",
        &["validate", "--no-save", "--results"],
    )
    .arg(&res)
    .arg("--server")
    .arg(&missing)
    .says(&["kamailio.json"])
    .refused();
    let csv = tmp.path().join("cal.csv");
    std::fs::write(&csv, b"configuration,us_per_call\nproxy-chain/udp,60\n").unwrap();
    Case::new(
        "validate --server: a calibration CSV, not a measured-server file",
        &["validate", "--no-save", "--results"],
    )
    .arg(&res)
    .arg("--server")
    .arg(&csv)
    .watch(tmp.path())
    .says(&["cal.csv", "tlscost server"])
    .refused();
}

// ---------------------------------------------------------------------------------------
// The testbed, the operation counts and the parity check

#[test]
fn testbed_unknown_configuration() {
    Case::new(
        "testbed: unknown configuration",
        &["testbed", "--no-save", "--configs", "nosuch/udp"],
    )
    .says(&["nosuch/udp", "expected one of"])
    .refused();
}

#[test]
fn testbed_impossible_load() {
    for (flag, v) in [("--calls", "0"), ("--rate", "0"), ("--rate", "1e9")] {
        Case::new(
            "testbed: --calls 0 / --rate 0 / --rate 1e9",
            &["testbed", "--no-save", flag, v],
        )
        .says(&[flag, "expected 1..="])
        .refused();
    }
}

#[test]
fn testbed_negative_rate() {
    Case::new(
        "testbed: --rate -5",
        &["testbed", "--no-save", "--rate", "-5"],
    )
    .says(&["--rate", "-5"])
    .refused();
}

#[test]
fn testbed_output_unwritable() {
    let tmp = TempDir::new().unwrap();
    let out = blocked(tmp.path()).join("testbed.csv");
    Case::new(
        "testbed: --out under a regular file",
        &[
            "testbed",
            "--configs",
            "proxy-chain/udp",
            "--calls",
            "2",
            "--warmup",
            "0",
            "--rate",
            "1000",
            "--out",
        ],
    )
    .arg(&out)
    .watch(tmp.path())
    .says(&["a-regular-file/out"])
    .refused();
}

#[test]
fn counts_with_a_corrupt_client_certificate() {
    let fx = fixture_copy();
    let p = fx.path().join("pki/client.cert.pem");
    let pem = std::fs::read(&p).unwrap();
    std::fs::write(&p, &pem[..pem.len() - 30]).unwrap();
    Case::new(
        "counts: client certificate truncated",
        &["counts", "--fixtures"],
    )
    .arg(fx.path())
    .watch(fx.path())
    .says(&["client.cert.pem", "truncated"])
    .refused();
}

#[test]
fn counts_unknown_filter() {
    Case::new(
        "counts: filter matching no scenario",
        &["counts", "--filter", "tls14"],
    )
    .says(&["tls14", "no handshake scenario"])
    .refused();
}

#[test]
fn counts_unknown_price_backend() {
    let tmp = TempDir::new().unwrap();
    let crit = criterion_dir(tmp.path());
    Case::new(
        "counts: unknown --price-backend",
        &[
            "counts",
            "--explain",
            "--price-backend",
            "gnutls",
            "--criterion-dir",
        ],
    )
    .arg(&crit)
    .says(&["gnutls", "expected one of"])
    .refused();
}

/// Whether an `openssl` command runs here (`tlscost parity` drives it).
fn openssl_cli() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn parity_with_an_rsa_key_of_the_wrong_size() {
    if !openssl_cli() {
        eprintln!("no `openssl` command here: parity's key case not run");
        return;
    }
    let fx = fixture_copy();
    std::fs::copy(
        fixtures_dir().join("pki/rsa-4096.key.pem"),
        fx.path().join("pki/rsa-2048.key.pem"),
    )
    .unwrap();
    Case::new(
        "parity: RSA-4096 key in rsa-2048.key.pem",
        &["parity", "--seconds", "1", "--rounds", "1"],
    )
    .fixtures(fx.path())
    .watch(fx.path())
    .says(&["rsa-2048.key.pem", "expected an RSA-2048 key", "RSA-4096"])
    .refused();
}

#[test]
fn parity_without_the_openssl_command() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("no-openssl-here");
    Case::new(
        "parity: --openssl names a missing command",
        &["parity", "--seconds", "1", "--rounds", "1", "--openssl"],
    )
    .arg(&missing)
    .says(&["no-openssl-here", "--openssl"])
    .refused();
}

// ---------------------------------------------------------------------------------------
// Results integrity: files of different machines are not mixed unless asked to

/// The synthetic estimates split over two results files; the second one says it was measured
/// on `second_host` (this machine when `None`).
fn split_results(dir: &Path, second_host: Option<&str>) -> (PathBuf, PathBuf) {
    let all = synthetic_estimates();
    let (a, b): (BTreeMap<_, _>, BTreeMap<_, _>) = all
        .into_iter()
        .partition(|(id, _)| id.starts_with("record/") || id.starts_with("base/"));
    let (pa, pb) = (dir.join("part-a.json"), dir.join("part-b.json"));
    ResultsFile::new(Machine::current(), &a).write(&pa).unwrap();
    let mut m = Machine::current();
    if let Some(h) = second_host {
        m.host = h.to_string();
        m.cpu_model = format!("{} (another box)", m.cpu_model);
    }
    ResultsFile::new(m, &b).write(&pb).unwrap();
    (pa, pb)
}

#[test]
fn results_files_of_one_machine_combine() {
    // The control: two files of this machine give one complete set of estimates.
    let tmp = TempDir::new().unwrap();
    let (a, b) = split_results(tmp.path(), None);
    let out = Command::new(BIN)
        .args(["model", "--no-save", "--results"])
        .arg(&a)
        .arg("--results")
        .arg(&b)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("MIXED"));
}

#[test]
fn results_files_of_two_machines_are_refused() {
    let tmp = TempDir::new().unwrap();
    let (a, b) = split_results(tmp.path(), Some("elsewhere"));
    Case::new(
        "results files from two machines",
        &["model", "--no-save", "--results"],
    )
    .arg(&a)
    .arg("--results")
    .arg(&b)
    .watch(tmp.path())
    .says(&[
        "part-b.json",
        "elsewhere",
        "another machine",
        "--allow-mixed",
    ])
    .refused();
}

#[test]
fn allow_mixed_says_so_in_the_output() {
    let tmp = TempDir::new().unwrap();
    let (a, b) = split_results(tmp.path(), Some("elsewhere"));
    for format in ["--markdown", "--json"] {
        let out = Command::new(BIN)
            .args(["model", "--no-save", "--allow-mixed", format, "--results"])
            .arg(&a)
            .arg("--results")
            .arg(&b)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{stderr}");
        // In the tables (and in the JSON document, and on stderr beside it).
        let said = |t: &str| t.contains("MIXED MACHINES") && t.contains("elsewhere");
        assert!(
            said(&stdout) && (format == "--markdown" || said(&stderr)),
            "{format}: the mix is not said:\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
    }
}

#[test]
fn a_benchmark_in_two_results_files_is_refused() {
    let tmp = TempDir::new().unwrap();
    let a = results_file(tmp.path(), "one.json");
    let b = results_file(tmp.path(), "two.json");
    Case::new(
        "the same benchmark in two results files",
        &["model", "--no-save", "--results"],
    )
    .arg(&a)
    .arg("--results")
    .arg(&b)
    .watch(tmp.path())
    .says(&["two.json", "one.json", "once"])
    .refused();
}

#[test]
fn memory_unknown_filter() {
    Case::new(
        "memory: filter matching no scenario",
        &["memory", "--filter", "tls14"],
    )
    .says(&["tls14", "no handshake scenario"])
    .refused();
}

#[test]
fn memory_zero_handshakes() {
    Case::new(
        "memory: zero handshakes",
        &[
            "memory",
            "--filter",
            "openssl/tls12-rsa-aes128-sha/rsa2048/full",
            "--handshakes",
            "0",
        ],
    )
    .says(&["--handshakes", "at least 1"])
    .refused();
}

#[test]
fn memory_ecdsa_client_missing() {
    let fx = fixture_copy();
    std::fs::remove_file(fx.path().join("pki/ecdsa-client.key.pem")).unwrap();
    Case::new(
        "memory: ECDSA client key missing",
        &["memory", "--fixtures"],
    )
    .arg(fx.path())
    .watch(fx.path())
    .says(&["ecdsa-client.key.pem", "missing"])
    .refused();
}

#[test]
fn model_unknown_group() {
    Case::new(
        "model: unknown --group",
        &["model", "--group", "x448", "--no-save"],
    )
    .says(&["x448", "x25519mlkem768"])
    .refused();
}

#[test]
fn model_group_of_key_transport() {
    Case::new(
        "model: --group with RSA key transport",
        &[
            "model",
            "--protocol",
            "tls12-rsa-aes128-sha",
            "--group",
            "p256",
            "--no-save",
        ],
    )
    .says(&["--group p256", "no key-exchange group"])
    .refused();
}

#[test]
fn model_hybrid_on_ring() {
    Case::new(
        "model: the ML-KEM hybrid on rustls with ring",
        &[
            "model",
            "--stack",
            "rustls",
            "--protocol",
            "tls13-aes128-gcm",
            "--group",
            "x25519mlkem768",
            "--no-save",
        ],
    )
    .says(&["x25519mlkem768", "rustls-awslc"])
    .refused();
}

#[test]
fn model_ecdsa_certificate_with_an_rsa_suite() {
    Case::new(
        "model: --cert ecdsa-p256 with ECDHE_RSA",
        &[
            "model",
            "--protocol",
            "tls12-ecdhe-rsa-aes128-gcm",
            "--cert",
            "ecdsa-p256",
            "--no-save",
        ],
    )
    .says(&["ecdsa-p256", "TLS_ECDHE_RSA_* need RSA"])
    .refused();
}

#[test]
fn model_zero_connections() {
    Case::new(
        "model: --connections 0",
        &["model", "--connections", "0", "--no-save"],
    )
    .says(&["--connections 0", "at least 1"])
    .refused();
}

#[test]
fn eventloop_ecdsa_protocol() {
    Case::new(
        "eventloop: a protocol that needs ECDSA certificates",
        &[
            "eventloop",
            "--no-write",
            "--protocol",
            "tls12-ecdhe-ecdsa-aes128-gcm",
        ],
    )
    .says(&["tls12-ecdhe-ecdsa-aes128-gcm", "RSA certificates"])
    .refused();
}

/// A copy of the committed WebRTC call flow in a temp dir, to break one file of.
fn flow_copy() -> TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/webrtc");
    let tmp = TempDir::new().unwrap();
    let dst = tmp.path().join("myflow");
    std::fs::create_dir(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    tmp
}

#[test]
fn flow_directory_missing() {
    let tmp = TempDir::new().unwrap();
    Case::new("call-flow dir missing (flow check)", &["flow", "check"])
        .arg(tmp.path().join("no-such-flow"))
        .watch(tmp.path())
        .says(&["no-such-flow", "call-flow directory"])
        .refused();
    Case::new("call-flow dir missing (--flow)", &["--flow"])
        .arg(tmp.path().join("no-such-flow"))
        .arg("testbed")
        .watch(tmp.path())
        .says(&["no-such-flow"])
        .refused();
}

#[test]
fn flow_message_with_a_plus_sign_length() {
    let tmp = flow_copy();
    let bye = tmp.path().join("myflow/bye.sip");
    let text = std::fs::read_to_string(&bye).unwrap();
    std::fs::write(
        &bye,
        text.replace("Content-Length: 0", "Content-Length: +0"),
    )
    .unwrap();
    Case::new(
        "call-flow message with Content-Length +0",
        &["flow", "check"],
    )
    .arg(tmp.path().join("myflow"))
    .watch(tmp.path())
    .says(&["bye.sip", "Content-Length '+0' is not digits only"])
    .refused();
}

#[test]
fn flow_manifest_of_another_kind() {
    let tmp = flow_copy();
    std::fs::write(tmp.path().join("myflow/manifest.json"), b"{\"flows\": 3}").unwrap();
    Case::new("call-flow manifest of another kind", &["flow", "check"])
        .arg(tmp.path().join("myflow"))
        .watch(tmp.path())
        .says(&["manifest.json", "not a valid SIP manifest"])
        .refused();
}

#[test]
fn webrtc_flow_on_the_udp_testbed() {
    let flow = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/webrtc");
    Case::new("WebRTC flow on UDP (testbed)", &["--flow"])
        .arg(&flow)
        .arg("testbed")
        .arg("--configs")
        .arg("proxy-chain/udp")
        .arg("--no-save")
        .says(&[
            "proxy-chain/udp",
            "webrtc-invite",
            "RFC 3261 18.1.1",
            "TCP or TLS",
        ])
        .refused();
}

// --- tlscost server: a server that is not there, not running, or answers with errors ------

/// A free loopback port (nothing listens on it).
fn free_port() -> u16 {
    tlscost::server::process::free_ports(1).unwrap()[0]
}

fn server_case<'a>(input: &'a str, out: &Path, listen: &[String], pid: &[&str]) -> Case<'a> {
    let mut c = Case::new(
        input,
        &[
            "server",
            "measure",
            "--calls",
            "3",
            "--warmup",
            "0",
            "--repeat",
            "1",
            "--idle-s",
            "0.1",
            "--timeout-ms",
            "500",
            "--auth-protocols",
            "none",
            "--protocols",
            "tls12-rsa-aes128-sha",
            "--out",
        ],
    )
    .arg(out.join("server.json"))
    .watch(out);
    for l in listen {
        c = c.arg("--listen").arg(l);
    }
    for p in pid {
        c = c.arg(p);
    }
    c
}

/// A stand-in server process with no children: the test harness's own pid would do, but
/// its children (other tests' processes) come and go, which a measurement rightly refuses.
/// Ended by its pid when dropped.
struct StandIn(std::process::Child);

impl StandIn {
    fn start() -> StandIn {
        StandIn(
            std::process::Command::new("sleep")
                .arg("120")
                .spawn()
                .expect("spawn sleep"),
        )
    }
    fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn server_address_where_nothing_listens() {
    let tmp = TempDir::new().unwrap();
    let server = StandIn::start();
    let me = server.pid();
    for kind in ["udp", "tcp"] {
        let addr = format!("127.0.0.1:{}", free_port());
        let config = format!("proxy-chain/{kind}");
        server_case(
            "a server address nothing listens on",
            tmp.path(),
            &[format!("{kind}={addr}")],
            &["--pid", &me, "--configs", &config],
        )
        .says(&[&addr])
        .refused();
    }
}

#[test]
fn server_pid_not_running_and_bad_pid_file() {
    let tmp = TempDir::new().unwrap();
    let listen = [format!("udp=127.0.0.1:{}", free_port())];
    server_case(
        "a server pid that is not running",
        tmp.path(),
        &listen,
        &["--pid", "999999999"],
    )
    .says(&["999999999", "not running"])
    .refused();
    let pid_file = tmp.path().join("kamailio.pid");
    std::fs::write(&pid_file, "not-a-pid\n").unwrap();
    server_case(
        "a pid file without a pid",
        tmp.path(),
        &listen,
        &["--pid-file"],
    )
    .arg(&pid_file)
    .says(&["kamailio.pid", "not a process id"])
    .refused();
}

#[test]
fn server_listen_flags_that_are_wrong() {
    let tmp = TempDir::new().unwrap();
    let server = StandIn::start();
    let me = server.pid();
    for (input, listen, needles) in [
        (
            "a server address off loopback",
            "udp=192.0.2.7:5060",
            vec!["192.0.2.7:5060", "loopback"],
        ),
        (
            "an unknown kind of address",
            "sctp=127.0.0.1:5060",
            vec!["sctp", "expected one of"],
        ),
    ] {
        server_case(input, tmp.path(), &[listen.to_string()], &["--pid", &me])
            .says(&needles)
            .refused();
    }
    server_case(
        "an unknown configuration",
        tmp.path(),
        &[format!("udp=127.0.0.1:{}", free_port())],
        &["--pid", &me, "--configs", "proxy-chain/carrier-pigeon"],
    )
    .says(&["proxy-chain/carrier-pigeon", "expected one of"])
    .refused();
}

/// `tlscost testbed serve` on `listen`, stopped by its pid when dropped.
struct Serving(std::process::Child);

impl Serving {
    fn start(listen: &[String], pid_file: &Path) -> Serving {
        let mut cmd = Command::new(BIN);
        cmd.args(["testbed", "serve", "--pid-file"]).arg(pid_file);
        for l in listen {
            cmd.args(["--listen", l]);
        }
        cmd.stderr(std::process::Stdio::null());
        let child = cmd.spawn().unwrap();
        let t0 = std::time::Instant::now();
        while !pid_file.exists() {
            assert!(t0.elapsed().as_secs() < 20, "testbed serve did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Serving(child)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        // SAFETY: SIGTERM to the process this test started, by its pid.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

#[test]
fn server_that_answers_with_errors() {
    // The testbed proxy challenges every INVITE on an auth address; measured as a plain
    // UDP address, each call gets a 407 where the flow expects 100 Trying.
    let tmp = TempDir::new().unwrap();
    let port = free_port();
    let run = TempDir::new().unwrap();
    let pid_file = run.path().join("serve.pid");
    let _serving = Serving::start(&[format!("auth-udp=127.0.0.1:{port}")], &pid_file);
    server_case(
        "a server that answers with errors (407 to every INVITE)",
        tmp.path(),
        &[format!("udp=127.0.0.1:{port}")],
        &["--configs", "proxy-chain/udp", "--pid-file"],
    )
    .arg(&pid_file)
    .says(&["expected 100", "407 Proxy Authentication Required"])
    .refused();
}

#[test]
fn server_port_already_in_use() {
    let busy = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let run = TempDir::new().unwrap();
    Case::new("a port already in use", &["testbed", "serve", "--listen"])
        .arg(format!("udp={addr}"))
        .arg("--pid-file")
        .arg(run.path().join("serve.pid"))
        .watch(run.path())
        .says(&[&addr, "in use"])
        .refused();
}

// ---- tlscost scale, ab, model --cores / --scaling ----

#[test]
fn scale_with_no_threads() {
    Case::new("scale --threads 0", &["scale", "--threads", "0"])
        .says(&["--threads 0", "at least 1"])
        .refused();
}

#[test]
fn scale_unknown_scenario() {
    Case::new(
        "scale --scenario of no stack",
        &["scale", "--scenario", "gnutls/tls13-aes128-gcm/full"],
    )
    .says(&["unknown handshake scenario", "gnutls"])
    .refused();
}

#[test]
fn ab_with_one_round() {
    Case::new("ab --rounds 1", &["ab", "--rounds", "1"])
        .says(&["--rounds", "at least 2"])
        .refused();
}

#[test]
fn ab_with_a_missing_binary() {
    Case::new(
        "ab --b of a missing build",
        &["ab", "--b", "/nonexistent/target-vendored/release/tlscost"],
    )
    .says(&[
        "/nonexistent/target-vendored/release/tlscost",
        "no such tlscost binary",
    ])
    .refused();
}

#[test]
fn ab_with_a_bad_rename() {
    Case::new("ab --b-rename without =", &["ab", "--b-rename", "openssl"])
        .says(&["--b-rename 'openssl'", "FROM=TO"])
        .refused();
}

#[test]
fn model_cores_without_a_scale_file() {
    let dir = TempDir::new().unwrap();
    let results = results_file(dir.path(), "r.json");
    let crit = dir.path().join("target").join("criterion");
    model_on("model --cores without tlscost scale", &results)
        .arg("--criterion-dir")
        .arg(&crit)
        .arg("--cores")
        .arg("8")
        .says(&["--cores 8", "tlscost scale"])
        .refused();
}

#[test]
fn model_scaling_file_corrupt() {
    let dir = TempDir::new().unwrap();
    let results = results_file(dir.path(), "r.json");
    let scale = dir.path().join("scale.json");
    std::fs::write(&scale, "{\"kind\": \"tlscost-scale\"").unwrap();
    model_on("model --scaling truncated", &results)
        .arg("--scaling")
        .arg(&scale)
        .says(&["scale.json", "not a scale file"])
        .refused();
}
