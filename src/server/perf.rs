//! The paper's profile breakdown of a real server: `perf record` on every process of the
//! server during the measured calls of one configuration (the `cpu-clock` software event,
//! which works in a VM, one sample per [`PERIOD_NS`] of CPU), each sample attributed to a
//! function and object and classified by [`crate::profile`] into the paper's categories
//! (Appendix C) and the finer parts, per call. The deltas between configurations (TCP to
//! TLS, TLS to mutual, TLS to resumed) stand beside the paper's.
//!
//! Recording is switched on and off through perf's control FIFO exactly when the UAC
//! starts and ends its measured calls, so the samples belong to those calls.
//!
//! Debian's libcrypto and libssl carry only their exported symbols: the hot internal code
//! (bignum and RSAZ assembly, AES-NI, SHA blocks, the default provider) shows as bare
//! addresses. Each is attributed to the nearest exported symbol below it (code of one
//! source directory is linked together, so its prefix, `BN_`, `EVP_MD`, `AES_`, names the
//! neighbourhood): an approximation, counted and reported as such.

use super::measure::{check_run, drive, generators, plan_for, Server, Settings, Target};
use super::process::Started;
use crate::handshake::Pki;
use crate::names::Dimension;
use crate::profile::{Breakdown, Category, Objects, Part};
use crate::testbed::load::Phase;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// CPU time per sample (ns): `perf record -e cpu-clock -c 250000`.
pub const PERIOD_NS: u64 = 250_000;

/// How the libcrypto and libssl samples were named, for every output.
pub const METHOD: &str = "perf record -e cpu-clock (one sample per 250 µs of CPU) on every server process during the measured calls; Debian's libcrypto/libssl export only their API, so an address without a symbol is attributed to the nearest exported symbol below it (an approximation: see approximated_share)";

/// One configuration's profile, per call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Configuration name.
    pub configuration: String,
    /// Handshake protocol (TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Calls profiled.
    pub calls: u64,
    /// Samples taken.
    pub samples: u64,
    /// Sampled CPU µs per call, in all.
    pub total_us: f64,
    /// µs per call by the paper's category (`rsa`, `mac`, `other-libcrypto`...).
    pub categories: BTreeMap<String, f64>,
    /// µs per call by finer part (`rsa-op`, `allocation`...).
    pub parts: BTreeMap<String, f64>,
    /// Share of the libcrypto and libssl samples named by the nearest exported symbol.
    pub approximated_share: f64,
    /// The functions with the most samples: (function in object, µs per call).
    pub top: Vec<(String, f64)>,
}

impl Profile {
    /// The categories as a [`Breakdown`] (parts included), µs per call.
    pub fn breakdown(&self) -> Breakdown {
        let mut b = Breakdown::default();
        for c in Category::ALL {
            if let Some(v) = self.categories.get(c.label()) {
                b.by_category.insert(*c, *v);
            }
        }
        for p in Part::ALL {
            if let Some(v) = self.parts.get(p.label()) {
                b.by_part.insert(*p, *v);
            }
        }
        b.total = self.total_us;
        b
    }
}

// --- perf record under control ---------------------------------------------------------------

fn mkfifo(p: &Path) -> Result<()> {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::Usage(format!("{}: a path with a NUL byte", p.display())))?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(Error::io(
            format!("creating the FIFO {}", p.display()),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

fn open_rw(p: &Path) -> Result<File> {
    // Read-write, so opening a FIFO never waits for its other end.
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(p)
        .map_err(|e| Error::io(format!("opening {}", p.display()), e))
}

/// A `perf record` of some processes, started with its events off.
pub struct Recorder {
    process: Started,
    ctl: File,
    ack: File,
    data: PathBuf,
}

/// Whether `perf` is installed.
pub fn check_perf() -> Result<()> {
    Command::new("perf")
        .arg("--version")
        .output()
        .map(|_| ())
        .map_err(|e| {
            Error::io(
                "running perf (Debian package linux-perf; `make kamailio` installs it)",
                e,
            )
        })
}

impl Recorder {
    /// Starts `perf record` on `pids` (all their threads) writing `dir/<name>.data`.
    pub fn start(pids: &[u32], dir: &Path, name: &str) -> Result<Recorder> {
        check_perf()?;
        let data = dir.join(format!("{name}.data"));
        let (ctl_p, ack_p) = (
            dir.join(format!("{name}.ctl")),
            dir.join(format!("{name}.ack")),
        );
        mkfifo(&ctl_p)?;
        mkfifo(&ack_p)?;
        let (ctl, ack) = (open_rw(&ctl_p)?, open_rw(&ack_p)?);
        let list: Vec<String> = pids.iter().map(u32::to_string).collect();
        let mut cmd = Command::new("perf");
        cmd.args([
            "record",
            "-q",
            "-e",
            "cpu-clock",
            "-c",
            &PERIOD_NS.to_string(),
        ])
        .args(["-p", &list.join(",")])
        .arg("-o")
        .arg(&data)
        .arg(format!(
            "--control=fifo:{},{}",
            ctl_p.display(),
            ack_p.display()
        ))
        .args(["-D", "-1"]);
        let process = Started::spawn("perf record", cmd, &dir.join(format!("{name}.log")))?;
        let mut r = Recorder {
            process,
            ctl,
            ack,
            data,
        };
        // perf answers a ping once it is set up and listening on its control FIFO.
        r.command("ping")?;
        Ok(r)
    }

    fn command(&mut self, cmd: &str) -> Result<()> {
        use std::os::fd::AsRawFd;
        self.ctl
            .write_all(format!("{cmd}\n").as_bytes())
            .map_err(|e| Error::io("writing to perf's control FIFO", e))?;
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        // perf writes "ack\n" with its terminating NUL.
        while !got.windows(4).any(|w| w == b"ack\n") {
            self.process.check_running()?;
            if std::time::Instant::now() > deadline {
                return Err(Error::Usage(format!(
                    "perf did not acknowledge '{cmd}' within 20 s (its log: {})",
                    self.process.log().display()
                )));
            }
            let mut p = libc::pollfd {
                fd: self.ack.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut p, 1, 100) } > 0 {
                let mut b = [0u8; 64];
                let n = self
                    .ack
                    .read(&mut b)
                    .map_err(|e| Error::io("reading perf's acknowledgement", e))?;
                got.extend_from_slice(&b[..n]);
            }
        }
        Ok(())
    }

    /// Samples from now on.
    pub fn enable(&mut self) -> Result<()> {
        self.command("enable")
    }

    /// No samples from now on.
    pub fn disable(&mut self) -> Result<()> {
        self.command("disable")
    }

    /// Stops perf (it writes its data) and returns the data file.
    pub fn finish(mut self) -> Result<PathBuf> {
        self.process.check_running()?;
        let forced = self.process.stop(Duration::from_secs(60));
        if !forced.is_empty() || !self.data.exists() {
            return Err(Error::Usage(format!(
                "perf record did not finish writing {} (its log: {})",
                self.data.display(),
                self.process.log().display()
            )));
        }
        Ok(self.data.clone())
    }
}

// --- Reading a profile ---------------------------------------------------------------------

/// One line of `perf report --sort dso,sym`: samples, object, symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Samples.
    pub samples: u64,
    /// Object, as perf names it (`libcrypto.so.3`, `[kernel.kallsyms]`).
    pub dso: String,
    /// Symbol, or `0x...` (the address within the object) when it has none.
    pub symbol: String,
}

/// Parses `perf report --stdio -q --no-children --sort dso,sym -F sample,dso,sym` output.
pub fn parse_report(text: &str) -> Vec<Row> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(n), Some(dso), Some(kind)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let Ok(samples) = n.parse::<u64>() else {
            continue;
        };
        if !(kind.starts_with('[') && kind.ends_with(']')) {
            continue;
        }
        let symbol = it.collect::<Vec<_>>().join(" ");
        out.push(Row {
            samples,
            dso: dso.to_string(),
            symbol,
        });
    }
    out
}

/// Parses `perf buildid-list --with-hits`: object file name -> full path.
pub fn parse_buildids(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|path| {
            let name = path.rsplit('/').next().unwrap_or(path).to_string();
            (name, path.to_string())
        })
        .collect()
}

/// The exported functions of a shared object (`nm -D --defined-only`), sorted by address.
pub fn parse_nm(text: &str) -> Vec<(u64, String)> {
    let mut v: Vec<(u64, String)> = text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let addr = u64::from_str_radix(it.next()?, 16).ok()?;
            let kind = it.next()?;
            if !matches!(kind, "T" | "t" | "W" | "i") {
                return None;
            }
            let name = it.next()?.split('@').next()?.to_string();
            Some((addr, name))
        })
        .collect();
    v.sort();
    v
}

/// The nearest symbol at or below `addr`, if any.
pub fn nearest_below(symbols: &[(u64, String)], addr: u64) -> Option<&str> {
    let i = symbols.partition_point(|(a, _)| *a <= addr);
    i.checked_sub(1).map(|i| symbols[i].1.as_str())
}

fn tool(cmd: &mut Command, what: &str) -> Result<String> {
    let out = cmd
        .output()
        .map_err(|e| Error::io(format!("running {what}"), e))?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads a perf data file: its rows, and the full path of every object with samples.
pub fn read(data: &Path) -> Result<(Vec<Row>, HashMap<String, String>)> {
    let report = tool(
        Command::new("perf")
            .args([
                "report",
                "--stdio",
                "-q",
                "--no-children",
                "--sort",
                "dso,sym",
            ])
            .args(["-F", "sample,dso,sym", "-i"])
            .arg(data),
        "perf report",
    )?;
    let ids = tool(
        Command::new("perf")
            .args(["buildid-list", "--with-hits", "-i"])
            .arg(data),
        "perf buildid-list",
    )?;
    Ok((parse_report(&report), parse_buildids(&ids)))
}

/// Builds the per-call profile of `rows` (`calls` calls; `paths` maps object names to
/// paths; `exported` gives the exported symbols of an object path).
pub fn profile_of(
    target: &Target,
    rows: &[Row],
    paths: &HashMap<String, String>,
    calls: u64,
    objects: &Objects,
    exported: &mut dyn FnMut(&str) -> Vec<(u64, String)>,
) -> Profile {
    let us = PERIOD_NS as f64 / 1000.0;
    let mut b = Breakdown::default();
    let mut symbols: HashMap<String, Vec<(u64, String)>> = HashMap::new();
    let (mut crypto_samples, mut approximated) = (0u64, 0u64);
    let mut per_function: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows {
        let path = paths.get(&r.dso).cloned().unwrap_or_else(|| r.dso.clone());
        let is_crypto = r.dso.starts_with("libcrypto") || r.dso.starts_with("libssl");
        let mut symbol = r.symbol.clone();
        if is_crypto {
            crypto_samples += r.samples;
            if let Some(addr) = symbol
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
            {
                let table = symbols
                    .entry(path.clone())
                    .or_insert_with(|| exported(&path));
                if let Some(name) = nearest_below(table, addr) {
                    symbol = name.to_string();
                    approximated += r.samples;
                }
            }
        }
        b.add(&symbol, &path, objects, r.samples as f64 * us);
        *per_function
            .entry(format!("{symbol} ({})", r.dso))
            .or_default() += r.samples;
    }
    let samples: u64 = rows.iter().map(|r| r.samples).sum();
    let per = b.per(calls as f64);
    let mut top: Vec<(String, u64)> = per_function.into_iter().collect();
    top.sort_by_key(|t| std::cmp::Reverse(t.1));
    Profile {
        configuration: target.config.name(),
        protocol: target.protocol.map(|p| p.label().to_string()),
        calls,
        samples,
        total_us: per.total,
        categories: per
            .by_category
            .iter()
            .map(|(c, v)| (c.label().to_string(), *v))
            .collect(),
        parts: per
            .by_part
            .iter()
            .map(|(p, v)| (p.label().to_string(), *v))
            .collect(),
        approximated_share: if crypto_samples > 0 {
            approximated as f64 / crypto_samples as f64
        } else {
            0.0
        },
        top: top
            .into_iter()
            .take(12)
            .map(|(f, n)| (f, n as f64 * us / calls.max(1) as f64))
            .collect(),
    }
}

/// Whether an executable is a database server (counted with the server, classified apart).
fn is_database(path: &str) -> bool {
    ["mariadbd", "mysqld"].iter().any(|d| path.ends_with(d))
}

/// `nm -D --defined-only` of a shared object (empty when it cannot be read).
pub fn exported_symbols(path: &str) -> Vec<(u64, String)> {
    tool(
        Command::new("nm").args(["-D", "--defined-only", path]),
        "nm",
    )
    .map(|t| parse_nm(&t))
    .unwrap_or_default()
}

/// Profiles one configuration: a run with perf recording its measured calls.
pub fn profile_target(
    target: &Target,
    server: &Server,
    s: &Settings,
    pki: &Pki,
    dir: &Path,
) -> Result<Profile> {
    let addr = server.address_of(target)?;
    let plan = plan_for(target, s)?;
    let g = generators(target, addr, s, pki, 1)?;
    let pids: Vec<u32> = server.processes.pids()?.into_iter().collect();
    let name = target.label().replace(['/', ' '], "_");
    let mut rec = Recorder::start(&pids, dir, &name)?;
    let (uac, uas) = drive(&g, &plan, &mut |phase| match phase {
        Phase::Measure => rec.enable(),
        Phase::Done => rec.disable(),
    })?;
    if let Some(reason) = check_run(target, plan.total_calls(), &uac, &uas, g.uas.addresses())? {
        return Err(Error::Usage(format!(
            "profile of {}: {reason}",
            target.label()
        )));
    }
    let data = rec.finish()?;
    let (rows, paths) = read(&data)?;
    let _ = std::fs::remove_file(&data);
    // The server's own executables are its code, whatever they are called.
    let objects = Objects {
        server: server
            .processes
            .roots()
            .iter()
            .filter_map(|p| std::fs::read_link(format!("/proc/{p}/exe")).ok())
            .map(|p| p.display().to_string())
            .filter(|p| !is_database(p))
            .collect(),
        database: Vec::new(),
    };
    Ok(profile_of(
        target,
        &rows,
        &paths,
        plan.calls,
        &objects,
        &mut exported_symbols,
    ))
}

// --- The paper's deltas --------------------------------------------------------------------

/// One step between two profiled configurations (TCP to TLS...), beside the paper's.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    /// The mode as named in our configurations (`outbound-auth`).
    pub mode: String,
    /// The step, as the paper names it (`tcp->tls`, `tls->tls-mutual`, `tls->tls-resumed`).
    pub step: String,
    /// Handshake protocol of the TLS side.
    pub protocol: Option<String>,
    /// µs per call, `to - from`, by category.
    pub ours: Breakdown,
    /// The paper's delta (thousand CPU events at 50 calls/s) and its parts, by our
    /// category labels, when it printed one.
    pub paper: Option<(Option<f64>, BTreeMap<String, f64>)>,
}

/// The paper's label of a part of a breakdown, as one of our category labels.
fn paper_part(label: &str) -> String {
    match label {
        "other_libcrypto" => "other-libcrypto".into(),
        "opensips_core" | "opensips" | "opensips_core_and_module" => "server".into(),
        "libc_and_other" => "libc".into(),
        other => other.replace('_', "-"),
    }
}

/// The paper's breakdown of `step` in `mode` (from `results/paper.json`'s
/// `profiles.breakdowns`), if it printed one.
pub fn paper_delta(
    paper: &serde_json::Value,
    mode: &str,
    step: &str,
) -> Option<(Option<f64>, BTreeMap<String, f64>)> {
    let list = paper.get("profiles")?.get("breakdowns")?.as_array()?;
    let b = list.iter().find(|b| {
        b.get("mode").and_then(|m| m.as_str()) == Some(mode)
            && b.get("step").and_then(|s| s.as_str()) == Some(step)
    })?;
    let delta = b.get("delta").and_then(|d| d.as_f64());
    let mut parts: BTreeMap<String, f64> = b
        .get("parts")
        .and_then(|p| p.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((paper_part(k), v.as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    // "RSA falls from 233K to 10K" is printed as a before and an after: its delta.
    if let (Some(before), Some(after)) = (parts.remove("rsa-before"), parts.remove("rsa-after")) {
        parts.insert("rsa".into(), after - before);
    }
    Some((delta, parts))
}

/// The paper's steps between the profiles there are: per mode, TCP to TLS, TLS to mutual,
/// TLS to resumed (same SIP-auth setting and protocol on both ends of a step).
pub fn deltas(profiles: &[Profile], paper: Option<&serde_json::Value>) -> Vec<Delta> {
    let find = |name: &str, protocol: Option<&str>| {
        profiles
            .iter()
            .find(|p| p.configuration == name && p.protocol.as_deref() == protocol)
    };
    let mut out = Vec::new();
    for p in profiles {
        let Some((mode, what)) = p.configuration.split_once('/') else {
            continue;
        };
        let paper_mode = mode.trim_end_matches("-auth");
        let tls = if paper_mode == "proxy-chain" {
            "tls-aes"
        } else {
            "tls"
        };
        let (from, step) = match what {
            w if w == tls => ("tcp".to_string(), format!("tcp->{tls}")),
            "tls-mutual" => (tls.to_string(), "tls->tls-mutual".to_string()),
            "tls-resumed" => (tls.to_string(), "tls->tls-resumed".to_string()),
            _ => continue,
        };
        let from_protocol = if from == "tcp" {
            None
        } else {
            p.protocol.as_deref()
        };
        let Some(base) = find(&format!("{mode}/{from}"), from_protocol) else {
            continue;
        };
        out.push(Delta {
            mode: mode.to_string(),
            step: step.clone(),
            protocol: p.protocol.clone(),
            ours: p.breakdown().minus(&base.breakdown()),
            paper: paper.and_then(|v| paper_delta(v, paper_mode, &step)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_buildids_and_nm_parse() {
        let rows = parse_report(
            "          1355  kamailio           [.] qm_malloc\n  17  libcrypto.so.3     [.] 0x000000000022f927\n   3  [kernel.kallsyms]  [k] __tcp_transmit_skb\n\n# comment\n",
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].samples, 1355);
        assert_eq!(rows[1].symbol, "0x000000000022f927");
        assert_eq!(rows[2].dso, "[kernel.kallsyms]");
        let ids = parse_buildids(
            "3f2a /usr/lib/x86_64-linux-gnu/libcrypto.so.3\n9c1b /usr/sbin/kamailio\n",
        );
        assert_eq!(
            ids["libcrypto.so.3"],
            "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"
        );
        let nm = parse_nm(
            "0000000000127250 T BN_X931_generate_prime_ex@@OPENSSL_3.0.0\n0000000000126c10 T BN_add_word@@OPENSSL_3.0.0\n                 U malloc\n0000000000400000 D some_data\n",
        );
        assert_eq!(nm.len(), 2);
        assert_eq!(
            nearest_below(&nm, 0x1298bb),
            Some("BN_X931_generate_prime_ex")
        );
        assert_eq!(nearest_below(&nm, 0x126c10), Some("BN_add_word"));
        assert_eq!(nearest_below(&nm, 0x10), None);
    }

    fn prof(name: &str, protocol: Option<&str>, rsa: f64, kernel: f64) -> Profile {
        Profile {
            configuration: name.into(),
            protocol: protocol.map(String::from),
            calls: 100,
            samples: 1000,
            total_us: rsa + kernel,
            categories: [("rsa".to_string(), rsa), ("kernel".to_string(), kernel)]
                .into_iter()
                .collect(),
            parts: BTreeMap::new(),
            approximated_share: 0.0,
            top: vec![],
        }
    }

    #[test]
    fn deltas_pair_the_papers_steps_and_carry_its_breakdown() {
        let p = Some("tls12-rsa-aes128-sha");
        let profiles = vec![
            prof("outbound-auth/tcp", None, 0.0, 100.0),
            prof("outbound-auth/tls", p, 300.0, 150.0),
            prof("outbound-auth/tls-mutual", p, 500.0, 160.0),
            prof("outbound-auth/tls-resumed", p, 20.0, 140.0),
            // Another protocol's mutual has no TLS of its own protocol to compare with.
            prof(
                "outbound-auth/tls-mutual",
                Some("tls13-aes128-gcm"),
                1.0,
                1.0,
            ),
        ];
        let paper: serde_json::Value = serde_json::json!({"profiles": {"breakdowns": [
            {"mode": "outbound", "step": "tcp->tls", "delta": 630,
             "parts": {"rsa": 233, "mac": 65, "other_libcrypto": 36, "libssl": 34}}
        ]}});
        let d = deltas(&profiles, Some(&paper));
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].step, "tcp->tls");
        assert_eq!(d[0].ours.category(Category::Rsa), 300.0);
        assert_eq!(d[0].ours.category(Category::Kernel), 50.0);
        assert_eq!(d[0].ours.total, 350.0);
        let (delta, parts) = d[0].paper.clone().unwrap();
        assert_eq!(delta, Some(630.0));
        assert_eq!(parts["other-libcrypto"], 36.0);
        assert_eq!(d[1].step, "tls->tls-mutual");
        assert_eq!(d[1].ours.category(Category::Rsa), 200.0);
        assert!(d[1].paper.is_none());
        assert_eq!(d[2].step, "tls->tls-resumed");
        assert_eq!(d[2].ours.category(Category::Rsa), -280.0);
        // The paper's "RSA falls from 233K to 10K" is its delta.
        let paper: serde_json::Value = serde_json::json!({"profiles": {"breakdowns": [
            {"mode": "outbound", "step": "tls->tls-resumed", "delta": -200,
             "parts": {"rsa_after": 10, "rsa_before": 233}}
        ]}});
        let (_, parts) = paper_delta(&paper, "outbound", "tls->tls-resumed").unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts["rsa"], -223.0);
    }
}
