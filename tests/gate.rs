//! Tests of the instruction-count gate's comparator, on synthetic gungraun summaries and
//! baselines (no valgrind needed), through the library and through the `tlscost gate` CLI.

use std::path::{Path, PathBuf};
use std::process::Command;
use tlscost::gate::baseline::{Baseline, KIND, SCHEMA};
use tlscost::gate::compare::{Comparability, Comparison, HereCpu, Status};
use tlscost::gate::counts::{ident, read_run, Counts};
use tlscost::gate::cpu::{CpuView, EmulatedCpu};
use tlscost::Error;

const CPU: &str = "Test CPU [aes avx2]";

/// What valgrind 3.19 presents on an AVX2 host (AVX-512 hidden).
fn emulated(features: &[&str]) -> EmulatedCpu {
    EmulatedCpu {
        valgrind: "valgrind-3.19.0".into(),
        view: CpuView {
            vendor: "GenuineIntel".into(),
            brand: "Test".into(),
            signature: "6-85-7".into(),
            features: features.iter().map(|f| f.to_string()).collect(),
        },
    }
}

const AVX2: &[&str] = &[
    "aes",
    "avx",
    "avx2",
    "bmi2",
    "pclmulqdq",
    "sse2",
    "xcr0:avx",
];

/// The machine running the gate: `host` signature, valgrind presenting `features`.
fn here(host: &str, features: &[&str]) -> HereCpu {
    HereCpu {
        host_signature: host.into(),
        emulated: Ok(emulated(features)),
    }
}

fn counts(entries: &[(&str, u64)]) -> Counts {
    entries.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

fn baseline(entries: &[(&str, u64)], cpu: &str) -> Baseline {
    Baseline {
        kind: KIND.into(),
        schema: SCHEMA,
        date: "2026-11-25T04:00:00Z".into(),
        cpu_signature: cpu.into(),
        emulated_cpu: Some(emulated(AVX2)),
        openssl_build: None,
        gungraun: "gungraun-runner 0.20.0".into(),
        valgrind: "valgrind-3.19.0".into(),
        benches: counts(entries),
    }
}

/// A summary.json as gungraun 0.20 writes it (only the fields the gate reads, plus a few).
fn write_summary(dir: &Path, name: &str, ir: u64) {
    write_summary_as(dir, &ident(name), &format!("(setup(\"{name}\"))"), ir)
}

fn write_summary_as(dir: &Path, id: &str, description: &str, ir: u64) {
    let out = dir.join("group").join(format!("f.{id}"));
    std::fs::create_dir_all(&out).unwrap();
    let json = serde_json::json!({
        "baselines": [null, null],
        "description": description,
        "function_name": "f",
        "group": "group",
        "id": id,
        "kind": "LibraryBenchmark",
        "module_path": "gate::group::f",
        "started_at": "2026-11-25T04:00:00.0Z",
        "version": "7",
        "profiles": [{
            "tool": "Callgrind",
            "data": {
                "parts": [],
                "total": { "metrics": { "Ir": { "values": { "new": ir } } }, "regressions": [] }
            }
        }]
    });
    std::fs::write(out.join("summary.json"), json.to_string()).unwrap();
}

const A: &str = "rsa/openssl/decrypt/2048";
const B: &str = "handshake/openssl/tls12-rsa-aes128-sha/rsa2048/full/server";

fn names() -> Vec<String> {
    vec![A.to_string(), B.to_string()]
}

#[test]
fn three_percent_above_baseline_fails_and_names_the_bench() {
    let base = baseline(&[(A, 1_000_000), (B, 2_000_000)], CPU);
    let now = counts(&[(A, 1_030_000), (B, 2_000_000)]);
    let cmp = Comparison::new(&base, &now, &here(CPU, AVX2), 2.0);
    let table = cmp.table();
    assert!(table.contains(A) && table.contains(B), "{table}");
    assert!(table.contains("REGRESSED"), "{table}");
    assert!(table.contains("+3.000%"), "{table}");
    match cmp.verdict() {
        Err(Error::Regression { what }) => {
            assert!(what.contains(A), "{what}");
            assert!(!what.contains(B), "{what}");
        }
        other => panic!("expected a regression, got {other:?}"),
    }
    // The same run passes with a threshold above the change.
    assert!(Comparison::new(&base, &now, &here(CPU, AVX2), 5.0)
        .verdict()
        .is_ok());
}

#[test]
fn unchanged_run_passes() {
    let base = baseline(&[(A, 1_000_000), (B, 2_000_000)], CPU);
    let cmp = Comparison::new(&base, &base.benches, &here(CPU, AVX2), 2.0);
    assert!(cmp.verdict().is_ok());
    assert!(cmp.rows.iter().all(|r| r.status == Status::Ok));
    assert!(cmp
        .report()
        .contains("largest absolute change: +0 instructions"));
}

#[test]
fn small_growth_and_big_drop_pass() {
    let base = baseline(&[(A, 1_000_000), (B, 2_000_000)], CPU);
    let now = counts(&[(A, 1_019_000), (B, 1_000_000)]);
    let cmp = Comparison::new(&base, &now, &here(CPU, AVX2), 2.0);
    assert!(cmp.verdict().is_ok());
    let status = |name: &str| cmp.rows.iter().find(|r| r.name == name).unwrap().status;
    assert_eq!(status(A), Status::Ok);
    assert_eq!(status(B), Status::Improved);
    assert_eq!(cmp.largest_change().unwrap().name, B);
}

/// The issue's CI machine: another host CPU (with AVX-512), but valgrind presents the
/// baseline's CPU, so the counts compare and a 3% growth fails.
#[test]
fn other_host_same_emulated_cpu_fails_on_a_regression() {
    let base = baseline(&[(A, 1_000_000), (B, 2_000_000)], "Other CPU [aes avx2]");
    let now = counts(&[(A, 1_030_000), (B, 2_000_000)]);
    let cmp = Comparison::new(
        &base,
        &now,
        &here("Xeon [aes avx2 avx512f avx512ifma]", AVX2),
        2.0,
    );
    assert_eq!(cmp.comparability, Comparability::SameEmulatedCpu);
    let err = cmp.verdict().unwrap_err().to_string();
    assert!(err.contains(A), "{err}");
    let report = cmp.report();
    assert!(
        report.contains("valgrind presents the baseline's CPU")
            && report.contains("host CPUs differ"),
        "{report}"
    );
}

#[test]
fn other_emulated_cpu_reports_which_features_differ_without_failing() {
    let base = baseline(&[(A, 1_000_000)], CPU);
    let now = counts(&[(A, 1_500_000)]);
    let mut features = AVX2.to_vec();
    features.retain(|f| *f != "bmi2");
    features.push("sha_ni");
    // Same host signature: what valgrind presents decides, not the host.
    let cmp = Comparison::new(&base, &now, &here(CPU, &features), 2.0);
    assert_eq!(cmp.rows[0].status, Status::Regressed);
    assert!(cmp.verdict().is_ok());
    let report = cmp.report();
    assert!(
        report.contains("only in the baseline: bmi2") && report.contains("only here: sha_ni"),
        "{report}"
    );
    assert!(report.contains("CPUID"), "{report}");
}

/// A schema 1 baseline has no emulated CPU: the host signatures decide, as before.
#[test]
fn baseline_without_emulated_cpu_compares_host_signatures() {
    let mut base = baseline(&[(A, 1_000_000)], "Other CPU [aes]");
    base.emulated_cpu = None;
    let now = counts(&[(A, 1_500_000)]);
    let cmp = Comparison::new(&base, &now, &here(CPU, AVX2), 2.0);
    assert!(cmp.verdict().is_ok());
    let report = cmp.report();
    assert!(
        report.contains("no emulated CPU") && report.contains("Other CPU [aes]"),
        "{report}"
    );
    let cmp = Comparison::new(&base, &now, &here("Other CPU [aes]", AVX2), 2.0);
    assert!(matches!(cmp.comparability, Comparability::SameHost { .. }));
    assert!(cmp.verdict().is_err());
    // The probe failing here falls back the same way.
    let base = baseline(&[(A, 1_000_000)], CPU);
    let failed = HereCpu {
        host_signature: CPU.into(),
        emulated: Err("valgrind: not found".into()),
    };
    let cmp = Comparison::new(&base, &now, &failed, 2.0);
    assert!(cmp.verdict().is_err());
    assert!(
        cmp.report().contains("could not be probed"),
        "{}",
        cmp.report()
    );
}

#[test]
fn bench_missing_from_run_fails_new_bench_does_not() {
    let base = baseline(&[(A, 1_000_000), (B, 2_000_000)], CPU);
    let now = counts(&[(A, 1_000_000), ("rsa/rustcrypto/sign/2048", 5)]);
    let cmp = Comparison::new(&base, &now, &here(CPU, AVX2), 2.0);
    let err = cmp.verdict().unwrap_err().to_string();
    assert!(err.contains(B), "{err}");
    assert!(!err.contains("rustcrypto"), "{err}");
}

#[test]
fn missing_baseline_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.json");
    let err = Baseline::load(&path).unwrap_err();
    assert!(matches!(err, Error::Results { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("gate.json") && msg.contains("make baseline"),
        "{msg}"
    );
}

#[test]
fn corrupt_baselines_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = serde_json::to_string(&baseline(&[(A, 1)], CPU)).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "truncated",
            good[..good.len() / 2].to_string(),
            "invalid JSON",
        ),
        (
            "other-kind",
            r#"{"kind": "x", "schema": 1}"#.into(),
            "not a gate baseline",
        ),
        (
            "other-schema",
            good.replace(&format!("\"schema\":{SCHEMA}"), "\"schema\":99"),
            "schema 99",
        ),
        (
            "no-benches",
            serde_json::to_string(&baseline(&[], CPU)).unwrap(),
            "no benchmarks",
        ),
        (
            "zero-count",
            serde_json::to_string(&baseline(&[(A, 0)], CPU)).unwrap(),
            "0 instructions",
        ),
        (
            "wrong-type",
            good.replace("\"benches\":{", "\"benches\":{\"x\":\"many\","),
            "corrupt",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, text).unwrap();
        let err = Baseline::load(&path).unwrap_err().to_string();
        assert!(err.contains(&format!("{name}.json")), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
    }
}

#[test]
fn baseline_round_trips_through_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("gate.json");
    let b = baseline(&[(A, 123), (B, 456)], CPU);
    b.save(&path).unwrap();
    assert_eq!(Baseline::load(&path).unwrap(), b);
}

#[test]
fn reads_counts_from_gungraun_summaries() {
    let dir = tempfile::tempdir().unwrap();
    write_summary(dir.path(), A, 6_300_000);
    write_summary(dir.path(), B, 9_000_000);
    let run = read_run(dir.path(), &names()).unwrap();
    assert_eq!(run.counts, counts(&[(A, 6_300_000), (B, 9_000_000)]));
    assert_eq!(run.started_at.as_deref(), Some("2026-11-25T04:00:00.0Z"));
}

#[test]
fn a_zero_count_is_an_error() {
    // A toggle on a function the compiler merged with another counts nothing.
    let dir = tempfile::tempdir().unwrap();
    write_summary(dir.path(), B, 0);
    let err = read_run(dir.path(), &names()).unwrap_err().to_string();
    assert!(err.contains(B) && err.contains("0 instructions"), "{err}");
}

#[test]
fn bad_summaries_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    assert!(read_run(&dir.path().join("absent"), &names())
        .unwrap_err()
        .to_string()
        .contains("absent"));
    let err = read_run(dir.path(), &names()).unwrap_err().to_string();
    assert!(err.contains("no summary.json"), "{err}");

    write_summary(dir.path(), A, 10);
    let file: PathBuf = dir
        .path()
        .join("group")
        .join(format!("f.{}", ident(A)))
        .join("summary.json");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace(&ident(A), "some_other_id")).unwrap();
    let err = read_run(dir.path(), &names()).unwrap_err().to_string();
    assert!(
        err.contains("summary.json") && err.contains("not one of the gate's benches"),
        "{err}"
    );
    std::fs::write(&file, "{").unwrap();
    let err = read_run(dir.path(), &names()).unwrap_err().to_string();
    assert!(err.contains("invalid JSON"), "{err}");
}

#[test]
fn a_bench_id_whose_argument_names_another_bench_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // gungraun shortens long argument texts with "...": the visible prefix must still match.
    write_summary_as(
        dir.path(),
        &ident(B),
        "(setup(\"handshake/openssl/tls12-rsa-aes1...",
        5,
    );
    assert_eq!(
        read_run(dir.path(), &names()).unwrap().counts,
        counts(&[(B, 5)])
    );
    write_summary_as(dir.path(), &ident(A), &format!("(setup(\"{B}\"))"), 5);
    let err = read_run(dir.path(), &names()).unwrap_err().to_string();
    assert!(err.contains("does not match its argument"), "{err}");
}

#[test]
fn gate_bench_names_are_unique_identifiers() {
    let all = tlscost::gate::bench::all();
    let mut idents: Vec<String> = all.iter().map(|b| ident(&b.full())).collect();
    idents.sort();
    idents.dedup();
    assert_eq!(idents.len(), all.len());
}

/// The committed baseline covers every gate bench with a non-zero count (a handshake side
/// toggled on a function the compiler merged away would count 0).
#[test]
fn committed_baseline_covers_every_gate_bench() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(tlscost::gate::baseline::DEFAULT_PATH);
    let b = Baseline::load(&path).unwrap();
    for id in tlscost::gate::bench::all() {
        let ir = b.benches.get(&id.full()).copied().unwrap_or(0);
        assert!(ir > 0, "{} has no count in {}", id, path.display());
    }
}

fn cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tlscost"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// The CPU valgrind presents on this machine, from the real probe (`tlscost gate probe`
/// runs this binary under `valgrind --tool=none`; `make test` installs valgrind).
fn probed_emulated_cpu() -> EmulatedCpu {
    let (code, text) = cli(&["gate", "probe"]);
    assert_eq!(
        code, 0,
        "the CPU probe needs valgrind (`make setup`): {text}"
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("probe prints JSON");
    serde_json::from_value(v["emulated"].clone()).expect("an emulated CPU")
}

#[test]
fn probe_under_valgrind_reports_its_cpu() {
    let e = probed_emulated_cpu();
    assert!(e.valgrind.starts_with("valgrind-"), "{e:?}");
    assert!(e.view.features.iter().any(|f| f == "sse2"), "{e:?}");
    // Valgrind (3.19 to 3.2x) emulates no AVX-512, whatever the host has.
    assert!(
        !e.view.features.iter().any(|f| f.starts_with("avx512")),
        "{e:?}"
    );
}

/// `tlscost gate check` on this machine against a baseline whose host CPU is another one
/// (as on a CI runner of another kind) but whose emulated CPU is what valgrind presents
/// here: a bench 3% above the baseline fails the gate.
#[test]
fn cli_gate_check_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let sums = dir.path().join("summaries");
    write_summary(&sums, A, 1_030_000);
    write_summary(&sums, B, 2_000_000);
    let base_path = dir.path().join("gate.json");
    let mut base = baseline(
        &[(A, 1_000_000), (B, 2_000_000)],
        "Some other host CPU [aes avx2 avx512f avx512ifma]",
    );
    base.emulated_cpu = Some(probed_emulated_cpu());
    base.save(&base_path).unwrap();
    let s = sums.to_str().unwrap();
    let b = base_path.to_str().unwrap();

    let (code, text) = cli(&["gate", "check", "--summaries", s, "--baseline", b]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("REGRESSED") && text.contains(A), "{text}");
    assert!(
        text.contains("valgrind presents the baseline's CPU") && text.contains("host CPUs differ"),
        "{text}"
    );

    let (code, text) = cli(&[
        "gate",
        "check",
        "--summaries",
        s,
        "--baseline",
        b,
        "--threshold",
        "3.5",
    ]);
    assert_eq!(code, 0, "{text}");

    let bmf = dir.path().join("bmf.json");
    let (code, text) = cli(&[
        "gate",
        "check",
        "--summaries",
        s,
        "--baseline",
        b,
        "--threshold",
        "5%",
        "--bmf",
        bmf.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bmf).unwrap()).unwrap();
    assert_eq!(v[A]["instructions"]["value"], 1_030_000);

    let (code, text) = cli(&[
        "gate",
        "check",
        "--summaries",
        s,
        "--baseline",
        "/nonexistent/gate.json",
    ]);
    assert_ne!(code, 0);
    assert!(text.contains("/nonexistent/gate.json"), "{text}");

    let (code, text) = cli(&["gate", "check", "--threshold=-3"]);
    assert_ne!(code, 0);
    assert!(text.contains("positive"), "{text}");
}

#[test]
fn cli_gate_record_refuses_a_partial_run() {
    let dir = tempfile::tempdir().unwrap();
    let sums = dir.path().join("summaries");
    write_summary(&sums, A, 1_000);
    let out = dir.path().join("gate.json");
    let (code, text) = cli(&[
        "gate",
        "record",
        "--summaries",
        sums.to_str().unwrap(),
        "--baseline",
        out.to_str().unwrap(),
    ]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("partial baseline"), "{text}");
    assert!(!out.exists());
}

/// A baseline recorded from the other OpenSSL build is refused, naming the right file.
#[test]
fn cli_gate_check_refuses_the_other_builds_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let sums = dir.path().join("summaries");
    write_summary(&sums, A, 1_000_000);
    let other = if cfg!(feature = "vendored-openssl") {
        "system"
    } else {
        "vendored"
    };
    let mut base = baseline(&[(A, 1_000_000)], CPU);
    base.openssl_build = Some(other.into());
    let path = dir.path().join("gate.json");
    base.save(&path).unwrap();
    let (code, text) = cli(&[
        "gate",
        "check",
        "--summaries",
        sums.to_str().unwrap(),
        "--baseline",
        path.to_str().unwrap(),
    ]);
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains(&format!("counts the {other} OpenSSL build"))
            && text.contains(tlscost::gate::baseline::default_path()),
        "{text}"
    );
}

/// Without --summaries the gate reads the run of its own target directory
/// ($CARGO_TARGET_DIR: target-vendored/ for the vendored build).
#[test]
fn cli_gate_reads_summaries_of_its_target_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tlscost"))
        .args(["gate", "record", "--baseline"])
        .arg(dir.path().join("gate.json"))
        .env("CARGO_TARGET_DIR", dir.path().join("target-vendored"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        text.contains("target-vendored/gungraun/tlscost/gate"),
        "{text}"
    );
}

/// `make gate OPENSSL=vendored` builds the gate bench with the vendored feature, in
/// target-vendored/, reads its summaries there and compares with the vendored baseline;
/// `make baseline OPENSSL=vendored` records that baseline.
#[test]
fn make_gate_vendored_uses_the_vendored_build_and_baseline() {
    let make = |args: &[&str]| -> String {
        let out = Command::new("make")
            .arg("-n")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .expect("make runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // One logical command per line.
        String::from_utf8_lossy(&out.stdout).replace("\\\n", " ")
    };
    let gate_line = |text: &str, what: &str| -> String {
        text.lines()
            .filter(|l| l.contains(what))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for target in ["gate", "baseline"] {
        let text = make(&[target, "OPENSSL=vendored"]);
        let bench = gate_line(&text, "--bench gate");
        assert!(
            bench.contains("--features vendored-openssl")
                && bench.contains("target-vendored/gungraun/tlscost/gate"),
            "{target}: {text}"
        );
        let tool = gate_line(&text, "-- gate ");
        assert!(
            tool.contains("--features vendored-openssl")
                && tool.contains("results/baseline/gate-vendored.json")
                && tool.contains("--summaries")
                && tool.contains("target-vendored/gungraun/tlscost/gate"),
            "{target}: {text}"
        );
        let text = make(&[target]);
        let tool = gate_line(&text, "-- gate ");
        assert!(
            !text.contains("vendored")
                && tool.contains("results/baseline/gate.json")
                && tool.contains("target/gungraun/tlscost/gate"),
            "{target}: {text}"
        );
    }
}
