//! Processes the harness starts (a SIP server, its database, `perf`): started with their
//! output in a log file, waited for until ready, and stopped by their own pid (SIGTERM,
//! then SIGKILL), with every process they forked, whether the run ends well or not.

use crate::{Error, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process the harness started; stopped when dropped.
pub struct Started {
    name: String,
    child: Option<Child>,
    log: PathBuf,
    /// Processes it forked, as last seen (stopped by pid too).
    descendants: BTreeSet<u32>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("name", &self.name)
            .field("pid", &self.pid())
            .finish()
    }
}

/// The last `n` lines of a log file, for an error message.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: sends a signal to one process by its pid.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

impl Started {
    /// Starts `cmd` (its stdout and stderr to `log`); `name` names it in errors.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Started> {
        let out = std::fs::File::create(log)
            .map_err(|e| Error::io(format!("creating {}", log.display()), e))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::io(format!("opening {}", log.display()), e))?;
        let program = cmd.get_program().to_string_lossy().into_owned();
        // If tlscost itself is killed (Ctrl-C, SIGTERM, a CI timeout) before it can stop
        // what it started, the kernel sends the child SIGTERM: nothing it started outlives it.
        // SAFETY: prctl is async-signal-safe; it runs in the child between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::io(format!("starting {name} ({program})"), e))?;
        Ok(Started {
            name: name.to_string(),
            child: Some(child),
            log: log.to_path_buf(),
            descendants: BTreeSet::new(),
        })
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Its log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Remembers the processes it forked (to stop each by its pid at the end).
    pub fn note_descendants(&mut self, pids: impl IntoIterator<Item = u32>) {
        let me = self.pid();
        self.descendants
            .extend(pids.into_iter().filter(|&p| p != me));
    }

    /// An error if it has exited, with the end of its log.
    pub fn check_running(&mut self) -> Result<()> {
        let Some(child) = self.child.as_mut() else {
            return Err(Error::Usage(format!("{} was stopped", self.name)));
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(Error::Usage(format!(
                "{} exited ({status}); the end of its log {}:\n{}",
                self.name,
                self.log.display(),
                log_tail(&self.log, 15)
            ))),
            Err(e) => Err(Error::io(format!("waiting for {}", self.name), e)),
        }
    }

    /// Waits until `ready()` says so, at most `timeout`; an error if the process exits
    /// first or the time runs out (naming `what` it waited for).
    pub fn wait_ready(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<()> {
        let t0 = Instant::now();
        loop {
            self.check_running()?;
            if ready() {
                return Ok(());
            }
            if t0.elapsed() > timeout {
                return Err(Error::Usage(format!(
                    "{} did not become ready ({what}) within {} s; the end of its log {}:\n{}",
                    self.name,
                    timeout.as_secs(),
                    self.log.display(),
                    log_tail(&self.log, 15)
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it: SIGTERM to its pid, up to `grace` for it to exit, then SIGKILL; then every
    /// process it forked that is still there, by its pid. Returns what had to be killed.
    pub fn stop(&mut self, grace: Duration) -> Vec<String> {
        let mut forced = Vec::new();
        if let Some(mut child) = self.child.take() {
            let pid = child.id();
            if matches!(child.try_wait(), Ok(None)) {
                signal(pid, libc::SIGTERM);
                let t0 = Instant::now();
                while matches!(child.try_wait(), Ok(None)) && t0.elapsed() < grace {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if matches!(child.try_wait(), Ok(None)) {
                    let _ = child.kill();
                    forced.push(format!("{} (pid {pid})", self.name));
                }
                let _ = child.wait();
            }
        }
        let t0 = Instant::now();
        for &p in &self.descendants {
            while alive(p) && t0.elapsed() < grace {
                std::thread::sleep(Duration::from_millis(20));
            }
            if alive(p) {
                signal(p, libc::SIGKILL);
                forced.push(format!("{} child pid {p}", self.name));
            }
        }
        self.descendants.clear();
        forced
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let forced = self.stop(Duration::from_secs(5));
        if !forced.is_empty() {
            eprintln!("stopped with SIGKILL: {}", forced.join(", "));
        }
    }
}

/// Whether something listens on TCP `addr` (a connection is accepted).
pub fn tcp_listening(addr: std::net::SocketAddr) -> bool {
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Checks that `addr` is free for a server to listen on (TCP and UDP); the error names it.
pub fn check_free(addr: std::net::SocketAddr, what: &str) -> Result<()> {
    let busy = |e: std::io::Error| {
        Error::io(
            format!(
                "{what}: port {} on {} is already in use",
                addr.port(),
                addr.ip()
            ),
            e,
        )
    };
    std::net::TcpListener::bind(addr).map_err(busy)?;
    std::net::UdpSocket::bind(addr).map_err(busy)?;
    Ok(())
}

/// `n` consecutive ports on 127.0.0.1, free for TCP and UDP right now (the first one
/// picked by the kernel). Once, right after `make model` (whose connection benches open
/// thousands of loopback connections), 50 quick attempts all failed and a minute later the
/// first one succeeded: it keeps trying, with short pauses, for up to 30 s before it gives up.
pub fn free_ports(n: u16) -> Result<Vec<u16>> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for attempt in 0.. {
        if attempt > 0 && attempt % 50 == 0 {
            if std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let l = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error::io("finding a free port on 127.0.0.1", e))?;
        let base = l
            .local_addr()
            .map_err(|e| Error::io("finding a free port", e))?
            .port();
        drop(l);
        if base.checked_add(n).is_none() {
            continue;
        }
        let ports: Vec<u16> = (0..n).map(|i| base + i).collect();
        if ports
            .iter()
            .all(|&p| check_free(std::net::SocketAddr::from(([127, 0, 0, 1], p)), "probe").is_ok())
        {
            return Ok(ports);
        }
    }
    Err(Error::Usage(format!(
        "no {n} consecutive free ports on 127.0.0.1 found in 30 s (`ss -tan` shows what holds them)"
    )))
}
