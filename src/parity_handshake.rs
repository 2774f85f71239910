//! The handshake part of `tlscost parity`: `openssl s_time` (the client, a new connection
//! per handshake, `-new` or `-reuse`) against `openssl s_server` on loopback, each
//! process's CPU per connection, beside tlscost's per-connection components on sockets
//! ([`crate::connection`]) and its in-memory handshakes ([`crate::handshake`]), of the same
//! suite (TLS 1.2 `AES128-SHA`, RSA key transport: the paper's) and kind, in one session.
//!
//! The socket components are what should match the reference: they pay, like s_time and
//! s_server, the system calls and round trips of a connection; the in-memory handshake
//! pays only the TLS work and is shown for what it leaves out.
//!
//! CPU: s_server's process CPU clock (`clock_getcpuclockid`, user + system) read before and
//! after each s_time run, over the connections s_time reports; s_time's own user + system
//! time from `wait4`, as the difference of a long and a short run over the difference of
//! their connections, so its start-up (configuration, loading the CA) cancels out. tlscost:
//! each side's thread CPU time.

use crate::connection::{self, Scenario as ConnScenario};
use crate::fixtures::{Fixtures, Identity};
use crate::handshake::{HandshakeBench, Kind, Protocol, Scenario, Side, Stack};
use crate::names::Dimension;
use crate::{Error, Result};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A handshake kind compared: s_time's mode and the kind tlscost runs for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `s_time -new`: a full handshake per connection.
    New,
    /// `s_time -reuse` against `s_server -no_ticket`: session-id resumption.
    Reuse,
}

impl Mode {
    /// Both, in table order.
    pub const ALL: [Mode; 2] = [Mode::New, Mode::Reuse];

    /// tlscost's kind for it.
    pub fn kind(self) -> Kind {
        match self {
            Mode::New => Kind::Full,
            Mode::Reuse => Kind::ResumedId,
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Mode::New => "-new",
            Mode::Reuse => "-reuse",
        }
    }
}

/// One compared pair: a side of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The kind.
    pub mode: Mode,
    /// The side.
    pub side: Side,
    /// s_time (client) or s_server (server) CPU per connection, seconds.
    pub openssl_s: f64,
    /// tlscost's connection on sockets, seconds per connection.
    pub socket_s: f64,
    /// tlscost's in-memory handshake, seconds per handshake.
    pub memory_s: f64,
    /// Connections s_time made in the measured run.
    pub connections: u64,
}

impl Row {
    /// Label, e.g. `TLS_RSA full, server (s_server)`.
    pub fn label(&self) -> String {
        format!(
            "{} {}, {} ({})",
            Protocol::Tls12RsaAes128Sha.label(),
            self.mode.kind().label(),
            self.side.label(),
            match self.side {
                Side::Client => "s_time",
                Side::Server => "s_server",
            }
        )
    }

    /// Socket component over the reference.
    pub fn socket_ratio(&self) -> f64 {
        self.socket_s / self.openssl_s
    }

    /// In-memory handshake over the reference.
    pub fn memory_ratio(&self) -> f64 {
        self.memory_s / self.openssl_s
    }
}

/// The cipher string both OpenSSL commands get: the paper's suite, at security level 0 so
/// the legacy suite exists whatever the system default.
const CIPHER: &str = "AES128-SHA:@SECLEVEL=0";

/// Both tools without the system's default CA file, directory and store: with them, every
/// handshake looks the peer's (and for the server its own chain's) issuer up in
/// `/etc/ssl/certs`, which cost each side about 0.7-0.9 ms per connection here, more than
/// the RSA operation; tlscost's ends trust only the fixtures' CA, as a SIP server
/// configured with its own CA list does.
pub const NO_DEFAULT_CA: [&str; 3] = ["-no-CAfile", "-no-CApath", "-no-CAstore"];

fn free_port() -> Result<u16> {
    let l = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .map_err(|e| Error::io("finding a free loopback port", e))?;
    Ok(l.local_addr()
        .map_err(|e| Error::io("free loopback port", e))?
        .port())
}

/// `openssl s_server`, ended by its own pid when dropped.
struct SServer {
    child: Child,
    clock: libc::clockid_t,
    port: u16,
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SServer {
    fn start(openssl: &Path, fx: &Fixtures, mode: Mode) -> Result<SServer> {
        let id = fx.identity(Identity::Server)?;
        let port = free_port()?;
        let mut cmd = Command::new(openssl);
        cmd.arg("s_server")
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&id.cert.path)
            .arg("-key")
            .arg(&id.key.path)
            .args(["-tls1_2", "-cipher", CIPHER, "-quiet"])
            .args(NO_DEFAULT_CA);
        if mode == Mode::Reuse {
            cmd.arg("-no_ticket");
        }
        // Standard input is a pipe nobody writes to (s_server watches it for commands; a
        // closed one would wake it up on every loop).
        let child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                Error::io(
                    format!("starting `{} s_server` (is the openssl command installed? --openssl names another)", openssl.display()),
                    e,
                )
            })?;
        let mut clock: libc::clockid_t = 0;
        // SAFETY: a valid pid of our child and a valid out-pointer.
        let rc = unsafe { libc::clock_getcpuclockid(child.id() as libc::pid_t, &mut clock) };
        let mut s = SServer { child, clock, port };
        if rc != 0 {
            return Err(Error::io(
                "the CPU clock of s_server",
                std::io::Error::from_raw_os_error(rc),
            ));
        }
        // Ready when it listens (a bare TCP connection it then drops; measured before the
        // first CPU reading).
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(st)) = s.child.try_wait() {
                return Err(Error::Usage(format!(
                    "openssl s_server exited at start ({st}): does this OpenSSL have {CIPHER}?"
                )));
            }
            if t0.elapsed() > Duration::from_secs(10) {
                return Err(Error::Usage(format!(
                    "openssl s_server does not listen on 127.0.0.1:{port} after 10 s"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(50));
        Ok(s)
    }

    fn cpu(&self) -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a clock id from clock_getcpuclockid and a valid out-pointer.
        unsafe { libc::clock_gettime(self.clock, &mut ts) };
        Duration::new(
            ts.tv_sec.max(0) as u64,
            ts.tv_nsec.clamp(0, 999_999_999) as u32,
        )
    }
}

/// Parses s_time's "N connections in X.XXs;" line: the number of connections.
pub fn parse_s_time(out: &str) -> Result<u64> {
    out.lines()
        .filter_map(|l| {
            let (n, rest) = l.trim().split_once(' ')?;
            if rest.starts_with("connections in ") && rest.contains("s;") {
                n.parse::<u64>().ok()
            } else {
                None
            }
        })
        .next_back()
        .ok_or_else(|| Error::Crypto {
            backend: "openssl s_time",
            op: "parse",
            detail: format!(
                "no 'N connections in Xs;' line in its output: {}",
                out.trim()
            ),
        })
}

/// Runs s_time for `seconds`; its connections and its own CPU time (user + system).
fn s_time(openssl: &Path, port: u16, mode: Mode, seconds: u32) -> Result<(u64, Duration)> {
    let child = Command::new(openssl)
        .arg("s_time")
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .arg(mode.flag())
        .args(["-time", &seconds.to_string(), "-cipher", CIPHER])
        .args(NO_DEFAULT_CA)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::io(format!("starting `{} s_time`", openssl.display()), e))?;
    let pid = child.id() as libc::pid_t;
    let mut stdout = child
        .stdout
        .ok_or_else(|| Error::Usage("s_time: no stdout".into()))?;
    let mut out = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut out)
        .map_err(|e| Error::io("reading s_time's output", e))?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: our own child's pid, valid out-pointers; the child is reaped here, once.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if rc != pid {
        return Err(Error::io(
            "waiting for s_time",
            std::io::Error::last_os_error(),
        ));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(Error::Usage(format!(
            "openssl s_time failed (status {status}): {}",
            out.trim()
        )));
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok((parse_s_time(&out)?, tv(ru.ru_utime) + tv(ru.ru_stime)))
}

/// tlscost's socket components for `kind`: (client, server) seconds per connection, over
/// at least `seconds` of wall time.
fn tlscost_sockets(pki: &crate::eventloop::Pki, kind: Kind, seconds: u32) -> Result<(f64, f64)> {
    let s = ConnScenario::tls(Protocol::Tls12RsaAes128Sha, kind)?;
    let t0 = Instant::now();
    let mut total = connection::Tally::default();
    while t0.elapsed() < Duration::from_secs(seconds.into()) || total.connections == 0 {
        let t = connection::run(pki, &s, 50)?;
        total.connections += t.connections;
        total.client += t.client;
        total.server += t.server;
    }
    Ok((
        total.us_per_connection(Side::Client) / 1e6,
        total.us_per_connection(Side::Server) / 1e6,
    ))
}

/// tlscost's in-memory handshake for `kind`: seconds per handshake of `side`.
fn tlscost_memory(
    pki: &crate::handshake::Pki,
    kind: Kind,
    side: Side,
    seconds: u32,
) -> Result<f64> {
    let mut b = HandshakeBench::new(
        Scenario::new(Stack::Openssl, Protocol::Tls12RsaAes128Sha, kind),
        pki,
    )?;
    b.check()?;
    let t0 = Instant::now();
    let (mut n, mut spent) = (0u64, Duration::ZERO);
    while t0.elapsed() < Duration::from_secs(seconds.into()) || n == 0 {
        spent += b.run_once(side)?;
        n += 1;
    }
    Ok(spent.as_secs_f64() / n as f64)
}

/// Measures every pair: per kind, s_server with a short and a long s_time run, then
/// tlscost's sockets and in-memory handshakes for as long, in `rounds` alternating rounds
/// (the fastest round of each kept).
pub fn measure(openssl: &Path, seconds: u32, rounds: u32) -> Result<Vec<Row>> {
    let fx = Fixtures::locate()?;
    let conn_pki = crate::eventloop::Pki::load(&fx)?;
    let hs_pki = crate::handshake::Pki::load(&fx)?;
    let mut rows: Vec<Row> = Vec::new();
    for mode in Mode::ALL {
        let mut best: [Option<Row>; 2] = [None, None];
        for round in 1..=rounds {
            eprintln!(
                "parity: round {round}/{rounds}: handshakes, s_time {} against s_server ...",
                mode.flag()
            );
            let server = SServer::start(openssl, &fx, mode)?;
            let (n1, c1) = s_time(openssl, server.port, mode, 1)?;
            let cpu0 = server.cpu();
            let (n2, c2) = s_time(openssl, server.port, mode, seconds + 1)?;
            let server_cpu = server.cpu().saturating_sub(cpu0);
            drop(server);
            if n2 <= n1 || n2 == 0 {
                return Err(Error::Usage(format!(
                    "s_time made {n2} connections in {} s and {n1} in 1 s: the machine is too busy to compare",
                    seconds + 1
                )));
            }
            let client_s = c2.saturating_sub(c1).as_secs_f64() / (n2 - n1) as f64;
            let server_s = server_cpu.as_secs_f64() / n2 as f64;
            eprintln!(
                "parity: round {round}/{rounds}: handshakes, tlscost sockets and in memory ..."
            );
            let (sock_c, sock_s) = tlscost_sockets(&conn_pki, mode.kind(), seconds)?;
            for (i, side) in [Side::Client, Side::Server].into_iter().enumerate() {
                let row = Row {
                    mode,
                    side,
                    openssl_s: if side == Side::Client {
                        client_s
                    } else {
                        server_s
                    },
                    socket_s: if side == Side::Client { sock_c } else { sock_s },
                    memory_s: tlscost_memory(&hs_pki, mode.kind(), side, seconds.div_ceil(2))?,
                    connections: n2,
                };
                best[i] = Some(match best[i].take() {
                    None => row,
                    Some(b) => Row {
                        openssl_s: b.openssl_s.min(row.openssl_s),
                        socket_s: b.socket_s.min(row.socket_s),
                        memory_s: b.memory_s.min(row.memory_s),
                        connections: b.connections.max(row.connections),
                        ..b
                    },
                });
            }
        }
        rows.extend(best.into_iter().flatten());
    }
    Ok(rows)
}

/// What still differs between the two sides of each pair, printed under the table.
pub const DIFFERENCES: &str = "Both OpenSSL tools run with -no-CAfile -no-CApath -no-CAstore (see NO_DEFAULT_CA: the system store would add a look-up in /etc/ssl/certs to every handshake). s_time connects and handshakes with blocking calls, then closes without close_notify; s_server (blocking, select() on its socket and stdin) handshakes, waits for the client's close, and prints nothing (-quiet). tlscost's connections are non-blocking with an epoll loop on both ends, the server writes one byte of application data and both ends exchange close_notify. The in-memory handshake has no sockets at all.";

/// The handshake table.
pub fn render(rows: &[Row], band: (f64, f64)) -> String {
    use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "handshake, side (reference)",
        "openssl µs/conn",
        "tlscost sockets µs",
        "ratio",
        "",
        "tlscost in memory µs",
        "ratio",
    ]);
    let r = |v: f64| Cell::new(format!("{:.1}", v * 1e6)).set_alignment(CellAlignment::Right);
    for row in rows {
        let ok = (band.0..=band.1).contains(&row.socket_ratio());
        t.add_row(vec![
            Cell::new(row.label()),
            r(row.openssl_s),
            r(row.socket_s),
            Cell::new(format!("{:.3}", row.socket_ratio())).set_alignment(CellAlignment::Right),
            Cell::new(if ok { "ok" } else { "OUTSIDE" }),
            r(row.memory_s),
            Cell::new(format!("{:.3}", row.memory_ratio())).set_alignment(CellAlignment::Right),
        ]);
    }
    format!(
        "{t}\nratio = tlscost / openssl (CPU per connection; s_time: user + system of the process, start-up cancelled; s_server: its process CPU clock; tlscost: each side's thread CPU time; fastest of the rounds). The socket components should sit within {:.2}..{:.2}; the in-memory handshake is shown for what it leaves out.\n- {DIFFERENCES}\n",
        band.0, band.1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s_time_output_gives_its_connections() {
        let out = "Collecting connection statistics for 3 seconds\n*****\n\n150 connections in 0.16s; 937.50 connections/user sec, bytes read 0\n150 connections in 4 real seconds, 0 bytes read per connection\n";
        assert_eq!(parse_s_time(out).unwrap(), 150);
        let e = parse_s_time("ERROR\nconnect:errno=111\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("connections in"), "{e}");
    }
}
