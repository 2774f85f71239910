//! `tlscost server`: the CPU accounting on synthetic `/proc` data, the checks of a run,
//! and a short real run against the testbed's proxy started as a server process of its own
//! (`tlscost testbed serve`), stopped by its pid.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use tlscost::handshake::Protocol;
use tlscost::model::calibrate;
use tlscost::model::calibrate::config_from_name;
use tlscost::server::cpu::{self, Processes, Source};
use tlscost::server::file::ServerFile;
use tlscost::server::measure::{check_run, Entry, EntryKind, Listens, Target};
use tlscost::testbed::load::LoadReport;

const BIN: &str = env!("CARGO_BIN_EXE_tlscost");

// --- CPU accounting on synthetic /proc --------------------------------------------------------

/// Writes `/proc/<pid>/stat` (with its parent) and one schedstat per thread.
fn process(root: &Path, pid: u32, ppid: u32, threads: &[(u32, u64)]) {
    let dir = root.join(pid.to_string());
    std::fs::create_dir_all(&dir).unwrap();
    // A command name with a space and a parenthesis, as /proc allows.
    std::fs::write(
        dir.join("stat"),
        format!(
            "{pid} (kam ilio) S {ppid} {pid} {pid} 0 -1 4194560 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0\n"
        ),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(dir.join("task"));
    for (tid, ns) in threads {
        let t = dir.join("task").join(tid.to_string());
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("schedstat"), format!("{ns} 1234 56\n")).unwrap();
    }
}

#[test]
fn cpu_is_summed_over_every_thread_of_the_server_and_its_children() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    process(root, 100, 1, &[(100, 1_000_000), (101, 2_000_000)]);
    process(root, 200, 100, &[(200, 5_000_000)]);
    process(root, 300, 200, &[(300, 1_000)]);
    process(root, 400, 1, &[(400, 9_000_000)]); // not the server's
    let with = Processes::new(root, &[100], true).unwrap();
    assert_eq!(
        with.pids().unwrap().into_iter().collect::<Vec<_>>(),
        vec![100, 200, 300]
    );
    let without = Processes::new(root, &[100], false).unwrap();
    assert_eq!(without.pids().unwrap().len(), 1);

    let a = with.sample().unwrap();
    assert_eq!(a.total_ns(), 8_001_000);
    assert_eq!(a.source, Source::Schedstat);
    // 10 ms later: thread 101 used 3 ms more, child 200 used 1 ms; thread 102 started and
    // used 0.5 ms.
    process(
        root,
        100,
        1,
        &[(100, 1_000_000), (101, 5_000_000), (102, 500_000)],
    );
    process(root, 200, 100, &[(200, 6_000_000)]);
    let mut b = with.sample().unwrap();
    b.at = a.at + Duration::from_millis(10);
    let used = cpu::used(&a, &b).unwrap();
    assert_eq!(used.ns, 4_500_000);
    assert_eq!(used.exited_threads, 0);
    assert_eq!(used.wall, Duration::from_millis(10));

    // Idle subtraction and per-call division: 4,500 µs used in 10 ms, idle 50,000 µs/s is
    // 500 µs of it; 4,000 µs over 8 calls.
    let us = cpu::per_call_us(&used, 50_000.0, 8).unwrap();
    assert!((us - 500.0).abs() < 1e-9, "{us}");
    assert!((cpu::idle_us_per_s(&used) - 450_000.0).abs() < 1e-6);
    // Idle larger than what was used, or no calls: an error, not a figure.
    assert!(cpu::per_call_us(&used, 1_000_000.0, 8).is_err());
    assert!(cpu::per_call_us(&used, 0.0, 0).is_err());

    // A thread that ended is counted as lost; a server process that ended is an error.
    process(root, 100, 1, &[(100, 1_000_000), (102, 600_000)]);
    let c = with.sample().unwrap();
    assert_eq!(cpu::used(&b, &c).unwrap().exited_threads, 1);
    std::fs::remove_dir_all(root.join("200")).unwrap();
    let d = with.sample().unwrap();
    let e = cpu::used(&b, &d).unwrap_err().to_string();
    assert!(e.contains("200") && e.contains("ended"), "{e}");
    std::fs::remove_dir_all(root.join("100")).unwrap();
    let e = with.sample().unwrap_err().to_string();
    assert!(e.contains("100") && e.contains("no longer running"), "{e}");
}

#[test]
fn a_pid_that_is_not_running_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let e = Processes::new(tmp.path(), &[4242], true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("4242") && e.contains("not running"), "{e}");
    assert!(Processes::new(tmp.path(), &[], true).is_err());
}

#[test]
fn without_schedstat_the_ticks_of_stat_are_used() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = root.join("7").join("task").join("7");
    std::fs::create_dir_all(&dir).unwrap();
    let stat = "7 (x) S 1 7 7 0 -1 0 0 0 0 0 12 8 0 0 20 0 1 0 1 0 0\n";
    std::fs::write(root.join("7").join("stat"), stat).unwrap();
    std::fs::write(dir.join("stat"), stat).unwrap();
    assert_eq!(cpu::parse_ticks(stat), Some(20));
    assert_eq!(cpu::parse_ppid(stat), Some(1));
    let s = Processes::new(root, &[7], false).unwrap().sample().unwrap();
    assert_eq!(s.source, Source::Ticks);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    assert_eq!(s.total_ns(), 20 * 1_000_000_000 / hz);
}

#[test]
fn pid_files_are_read_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("k.pid");
    std::fs::write(&p, "1234\n").unwrap();
    assert_eq!(cpu::read_pid_file(&p).unwrap(), 1234);
    std::fs::write(&p, "kamailio\n").unwrap();
    let e = cpu::read_pid_file(&p).unwrap_err().to_string();
    assert!(e.contains("k.pid") && e.contains("not a process id"), "{e}");
}

// --- The checks of a run -----------------------------------------------------------------------

fn target(name: &str) -> Target {
    let config = config_from_name(name).unwrap();
    let protocol = (config.transport == tlscost::model::configs::Transport::Tls)
        .then_some(Protocol::Tls12RsaAes128Sha);
    Target { config, protocol }
}

fn report(
    completed: u64,
    connections: u64,
    handshakes: u64,
    resumed: u64,
    certs: u64,
) -> LoadReport {
    LoadReport {
        completed,
        handshakes,
        resumed,
        client_certificates: certs,
        connections,
        retransmissions: 0,
    }
}

#[test]
fn a_run_is_checked_against_what_its_configuration_says() {
    // Inbound: the server must open a new connection towards the UAS for every call.
    let t = target("inbound/tcp");
    assert!(
        check_run(&t, 20, &report(20, 1, 0, 0, 0), &report(20, 20, 0, 0, 0), 8)
            .unwrap()
            .is_none()
    );
    let e = check_run(&t, 20, &report(20, 1, 0, 0, 0), &report(20, 3, 0, 0, 0), 8)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("3 connections towards the UAS for 20 calls"),
        "{e}"
    );
    // A call that did not complete.
    let e = check_run(&t, 20, &report(19, 1, 0, 0, 0), &report(20, 20, 0, 0, 0), 8)
        .unwrap_err()
        .to_string();
    assert!(e.contains("19 of 20"), "{e}");
    // Mutual: every handshake carried a client certificate.
    let t = target("outbound/tls-mutual");
    let e = check_run(
        &t,
        10,
        &report(10, 10, 10, 0, 9),
        &report(10, 1, 1, 0, 1),
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("9 of 10 handshakes carried a client certificate"),
        "{e}"
    );
    // Full handshakes must not resume.
    let t = target("outbound/tls");
    assert!(check_run(
        &t,
        10,
        &report(10, 10, 10, 2, 0),
        &report(10, 1, 1, 0, 0),
        1
    )
    .is_err());
    // Resumed: a server that does not resume is reported as not measured, with the side.
    let t = target("outbound/tls-resumed");
    assert!(check_run(
        &t,
        10,
        &report(10, 10, 10, 9, 0),
        &report(10, 1, 1, 0, 0),
        1
    )
    .unwrap()
    .is_none());
    let why = check_run(
        &t,
        10,
        &report(10, 10, 10, 0, 0),
        &report(10, 1, 1, 0, 0),
        1,
    )
    .unwrap()
    .unwrap();
    assert!(
        why.contains("towards the UAC") && why.contains("0 of 10"),
        "{why}"
    );
    let t = target("local/tls-resumed");
    let why = check_run(
        &t,
        20,
        &report(20, 20, 20, 19, 0),
        &report(20, 20, 20, 0, 0),
        8,
    )
    .unwrap()
    .unwrap();
    assert!(
        why.contains("towards the UAS") && !why.contains("towards the UAC"),
        "{why}"
    );
    // The first handshake with each UAS address is a full one.
    assert!(check_run(
        &t,
        20,
        &report(20, 20, 20, 19, 0),
        &report(20, 20, 20, 12, 0),
        8
    )
    .unwrap()
    .is_none());
}

#[test]
fn listen_addresses_are_parsed_and_checked() {
    let l = Listens::parse(&[
        "udp=127.0.0.1:5060".into(),
        "auth-tls-mutual=127.0.0.1:5065".into(),
    ])
    .unwrap();
    assert_eq!(
        l.get(Entry {
            auth: true,
            kind: EntryKind::TlsMutual
        }),
        Some("127.0.0.1:5065".parse().unwrap())
    );
    for (bad, says) in [
        ("udp=192.0.2.1:5060", "not a loopback"),
        ("smtp=127.0.0.1:25", "unknown kind"),
        ("udp127.0.0.1:5060", "KIND=ADDRESS"),
        ("tls=127.0.0.1", "not an IP address and port"),
    ] {
        let e = Listens::parse(&[bad.into()]).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
    let e = Listens::parse(&["udp=127.0.0.1:1".into(), "udp=127.0.0.1:2".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("twice"), "{e}");
}

#[test]
fn every_measured_configuration_is_a_calibration_name() {
    let all = Target::all(
        &tlscost::server::cli::rsa_protocols(),
        &[Protocol::Tls12RsaAes128Sha],
    );
    // UDP, TCP and four TLS protocols in proxy chain; TCP and three protocols × three kinds
    // in three modes; with auth: proxy chain UDP, TCP, TLS and two modes of TCP + three kinds.
    assert_eq!(all.len(), 2 + 4 + 3 * (1 + 3 * 3) + 3 + 2 * (1 + 3));
    for t in &all {
        config_from_name(&t.config.name()).unwrap_or_else(|e| panic!("{}: {e}", t.label()));
    }
    let mut labels: Vec<String> = all.iter().map(Target::label).collect();
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), all.len(), "labels are unique");
}

// --- A real run against the testbed's proxy as a server process --------------------------------

/// `tlscost testbed serve` on free loopback ports, stopped (by its pid) when dropped.
struct Serve {
    child: Child,
    pid_file: PathBuf,
    listen: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Serve {
    fn start() -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let ports = tlscost::server::process::free_ports(4).unwrap();
        let listen = vec![
            format!("udp=127.0.0.1:{}", ports[0]),
            format!("tcp=127.0.0.1:{}", ports[0]),
            format!("tls=127.0.0.1:{}", ports[1]),
            format!("tls-mutual=127.0.0.1:{}", ports[2]),
            format!("auth-udp=127.0.0.1:{}", ports[3]),
        ];
        let pid_file = dir.path().join("serve.pid");
        let mut cmd = Command::new(BIN);
        cmd.args(["testbed", "serve", "--pid-file"]).arg(&pid_file);
        for l in &listen {
            cmd.args(["--listen", l]);
        }
        let child = cmd.spawn().expect("tlscost testbed serve starts");
        let t0 = Instant::now();
        while !pid_file.exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "serve did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Serve {
            child,
            pid_file,
            listen,
            _dir: dir,
        }
    }

    fn measure(&self, extra: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(BIN);
        cmd.args(["server", "measure", "--name", "testbed", "--pid-file"])
            .arg(&self.pid_file);
        for l in &self.listen {
            cmd.args(["--listen", l]);
        }
        cmd.args(extra).env_remove("RUST_BACKTRACE");
        cmd.output().expect("tlscost runs")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SAFETY: SIGTERM to the process this test started, by its pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

#[test]
fn a_short_run_against_the_testbed_proxy_as_a_server_process() {
    let serve = Serve::start();
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("testbed.json");
    let o = serve.measure(&[
        "--configs",
        "proxy-chain/udp,proxy-chain/tcp,proxy-chain/tls-aes,proxy-chain/tls-3des,inbound/tls-mutual,outbound/tls-resumed,local/tls,proxy-chain-auth/udp,outbound-auth/tls",
        "--protocols",
        "tls12-rsa-aes128-sha,tls13-aes128-gcm,tls12-rsa-3des-sha",
        "--calls",
        "12",
        "--warmup",
        "2",
        "--rate",
        "400",
        "--repeat",
        "2",
        "--idle-s",
        "0.2",
        "--settle-ms",
        "50",
        "--peak-configs",
        "proxy-chain/udp",
        "--peak-trials",
        "2",
        "--peak-lanes",
        "8",
        "--out",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("proxy-chain/udp") && stdout.contains("peak"),
        "{stdout}"
    );
    // The server was stopped by nobody: it must still be running after the measurement.
    drop(serve);

    let f = ServerFile::read(&json).unwrap();
    assert_eq!(f.server.name, "testbed");
    assert!(
        f.server.start_line.contains("testbed serve"),
        "{}",
        f.server.start_line
    );
    let row = |name: &str, protocol: Option<&str>| {
        f.measurements
            .iter()
            .find(|m| m.configuration == name && m.protocol.as_deref() == protocol)
            .unwrap_or_else(|| panic!("{name} {protocol:?} measured: {:?}", f.not_measured))
    };
    for (name, protocol) in [
        ("proxy-chain/udp", None),
        ("proxy-chain/tcp", None),
        ("proxy-chain/tls-aes", Some("tls12-rsa-aes128-sha")),
        ("proxy-chain/tls-aes", Some("tls13-aes128-gcm")),
        ("inbound/tls-mutual", Some("tls13-aes128-gcm")),
        ("outbound/tls-resumed", Some("tls12-rsa-aes128-sha")),
        ("outbound/tls-resumed", Some("tls13-aes128-gcm")),
        ("local/tls", Some("tls12-rsa-aes128-sha")),
        ("proxy-chain-auth/udp", None),
    ] {
        let m = row(name, protocol);
        assert_eq!(m.runs_us.len(), 2, "{name}");
        assert!(
            m.us_per_call > 0.0 && m.generator_us_per_call > 0.0,
            "{m:?}"
        );
    }
    // A new connection per call towards the UAS, proven by the UAS's count (14 calls).
    let inbound = row("inbound/tls-mutual", Some("tls12-rsa-aes128-sha"));
    assert!(
        inbound
            .details
            .iter()
            .any(|d| d.contains("the server opened 14 towards the UAS")),
        "{:?}",
        inbound.details
    );
    assert!(inbound
        .details
        .iter()
        .any(|d| d.contains("without a certificate was refused")));
    // What could not run says why.
    let not = |name: &str| f.not_measured.iter().find(|n| n.configuration == name);
    let auth_tls = not("outbound-auth/tls").expect("no auth-tls address");
    assert!(auth_tls.reason.contains("auth-tls"), "{}", auth_tls.reason);
    let vendored = tlscost::handshake::openssl::has_3des_suite().is_ok();
    assert_eq!(
        not("proxy-chain/tls-3des").is_none(),
        vendored,
        "{:?}",
        f.not_measured
    );
    // The peak search ran its two trials.
    assert_eq!(f.peaks.len(), 1);
    assert_eq!(f.peaks[0].trials.len(), 2);
    assert!(f.peaks[0].projected_calls_per_s > 0.0);
    // The calibration CSV beside it says the same.
    let csv = calibrate::read_file(&json.with_extension("csv")).unwrap();
    let from_json = calibrate::read_file(&json).unwrap();
    assert_eq!(csv.len(), f.measurements.len());
    assert_eq!(from_json.len(), csv.len());
}
