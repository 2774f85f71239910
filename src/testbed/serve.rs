//! The testbed's proxy as a server process of its own (`tlscost testbed serve`): it
//! listens on the addresses it is given (UDP, TCP, TLS, mutual TLS; each optionally with
//! SIP auth challenges) and forwards any number of calls, with the signalling logic of
//! [`crate::sip::Proxy`], until it gets SIGTERM or SIGINT. It is the server `tlscost
//! server` measures in the tests, started and stopped like a real one.
//!
//! One thread, one `poll` loop over blocking sockets: a readable socket has a whole SIP
//! message (or TLS record) on its way over loopback. Requests go to the next hop their
//! Route or request URI names (a connection per destination, opened when needed and
//! opened again once the destination closed it); responses go back where their request
//! came from (by the branch of the proxy's Via). As a TLS client it resumes the last
//! session it had with a destination.

use super::tls::{client_context, server_context};
use super::wire::{self, Conn, Framer};
use crate::handshake::Pki;
use crate::model::configs::Transport;
use crate::server::listen::{Entry, EntryKind, Listens};
use crate::sip::{self, Action, Leg, Proxy};
use crate::{Error, Result};
use openssl::ssl::{Ssl, SslContext, SslSession};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Arguments of `tlscost testbed serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// An address to listen on, `KIND=ADDR` (repeat): udp, tcp, tls, tls-mutual, and the
    /// same with `auth-` (INVITEs challenged with a 407), e.g. `--listen tls=127.0.0.1:5061`.
    #[arg(long = "listen", value_name = "KIND=ADDR", required = true)]
    pub listen: Vec<String>,
    /// Write this process's pid here once every address listens (the sign it is ready).
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// How often the loop looks at the stop flag.
const TICK: Duration = Duration::from_millis(200);

/// Where a response goes back to.
#[derive(Debug, Clone, Copy)]
enum Back {
    /// A datagram from this address, on this UDP socket.
    Udp(usize, SocketAddr),
    /// This connection.
    Conn(u64),
}

/// A connection the proxy holds.
struct Link {
    conn: Conn,
    framer: Framer,
    /// The entry it belongs to (the listener it came in on, or that of the request that
    /// opened it).
    entry: usize,
    /// Where it goes, for one the proxy opened.
    dest: Option<SocketAddr>,
}

/// One listening address and the proxy logic answering on it.
struct Endpoint {
    entry: Entry,
    udp: Option<UdpSocket>,
    listener: Option<TcpListener>,
    tls_server: Option<SslContext>,
    proxy: Proxy,
}

/// The proxy process's state.
struct Server {
    endpoints: Vec<Endpoint>,
    links: HashMap<u64, Link>,
    next_id: u64,
    /// Proxy branch -> where the request came from.
    routes: HashMap<String, Back>,
    tls_client: SslContext,
    sessions: HashMap<SocketAddr, SslSession>,
}

fn transport(kind: EntryKind) -> Transport {
    match kind {
        EntryKind::Udp => Transport::Udp,
        EntryKind::Tcp => Transport::Tcp,
        EntryKind::Tls | EntryKind::TlsMutual => Transport::Tls,
    }
}

/// The `host:port` a SIP URI names (`sip:bob@127.0.0.1:5070;transport=tls` ->
/// `127.0.0.1:5070`), as a socket address; the URI must carry an IP address and port.
pub fn uri_addr(uri: &str) -> Result<SocketAddr> {
    let u = uri.trim().trim_start_matches('<');
    let u = u.split('>').next().unwrap_or(u);
    let rest = u
        .strip_prefix("sips:")
        .or_else(|| u.strip_prefix("sip:"))
        .ok_or_else(|| Error::Sip {
            what: format!("'{uri}' is not a sip: URI"),
        })?;
    let host = rest.rsplit('@').next().unwrap_or(rest);
    let host = host.split([';', '?']).next().unwrap_or(host);
    host.parse().map_err(|_| Error::Sip {
        what: format!("'{uri}': the testbed proxy forwards to IP:port URIs only, not '{host}'"),
    })
}

/// Where a request the proxy forwards goes: its top Route (a loose router) or its request URI.
fn next_hop(msg: &[u8]) -> Result<SocketAddr> {
    let m = sip::parse(msg)?;
    if let Some(r) = m.routes().first() {
        return uri_addr(r);
    }
    match m.start {
        sip::StartLine::Request { uri, .. } => uri_addr(uri),
        sip::StartLine::Response { .. } => Err(Error::Sip {
            what: "a response has no next hop".into(),
        }),
    }
}

fn top_branch(msg: &[u8]) -> Option<String> {
    let m = sip::parse(msg).ok()?;
    let v = m.vias().first().copied()?;
    sip::via_branch(v).map(str::to_string)
}

/// Whether the peer of `s` has closed its end (so the connection must not be reused).
fn peer_closed(s: &TcpStream) -> bool {
    let mut p = libc::pollfd {
        fd: s.as_raw_fd(),
        events: libc::POLLIN | libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, count 1, no wait.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    r > 0 && p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
}

impl Server {
    fn new(listens: &Listens, pki: &Pki) -> Result<Server> {
        let mut endpoints = Vec::new();
        for (&entry, &addr) in &listens.0 {
            let t = transport(entry.kind);
            let in_use = |e: std::io::Error| {
                Error::io(
                    format!("testbed serve: listening on {} {addr}", entry.label()),
                    e,
                )
            };
            let (udp, listener) = if t == Transport::Udp {
                (Some(UdpSocket::bind(addr).map_err(in_use)?), None)
            } else {
                (None, Some(TcpListener::bind(addr).map_err(in_use)?))
            };
            let tls_server = match entry.kind {
                EntryKind::Tls => Some(server_context(pki, None, false, true)?),
                EntryKind::TlsMutual => Some(server_context(pki, None, true, true)?),
                _ => None,
            };
            let param = match t {
                Transport::Udp => "",
                Transport::Tcp => ";transport=tcp",
                Transport::Tls => ";transport=tls",
            };
            endpoints.push(Endpoint {
                entry,
                udp,
                listener,
                tls_server,
                // Its Via names the transport it forwards on: the entry's own.
                proxy: Proxy::new(addr.to_string(), format!("sip:{addr}{param}"), entry.auth)
                    .downstream(match t {
                        Transport::Udp => sip::Transport::Udp,
                        Transport::Tcp => sip::Transport::Tcp,
                        Transport::Tls => sip::Transport::Tls,
                    }),
            });
        }
        Ok(Server {
            endpoints,
            links: HashMap::new(),
            next_id: 0,
            routes: HashMap::new(),
            tls_client: client_context(pki, None, true)?,
            sessions: HashMap::new(),
        })
    }

    fn add_link(&mut self, conn: Conn, entry: usize, dest: Option<SocketAddr>) -> u64 {
        self.next_id += 1;
        self.links.insert(
            self.next_id,
            Link {
                conn,
                framer: Framer::default(),
                entry,
                dest,
            },
        );
        self.next_id
    }

    fn accept(&mut self, e: usize) -> Result<()> {
        let l = self.endpoints[e]
            .listener
            .as_ref()
            .expect("a stream endpoint");
        let (tcp, _) = l
            .accept()
            .map_err(|err| Error::io("testbed serve: accepting", err))?;
        wire::prepare(&tcp, "testbed serve")?;
        let conn = match &self.endpoints[e].tls_server {
            None => Conn::Tcp(tcp),
            Some(ctx) => {
                let ssl = Ssl::new(ctx).map_err(|err| tls_err("accept", err))?;
                match ssl.accept(tcp) {
                    Ok(s) => Conn::Tls(Box::new(s)),
                    // A client the server refuses (no certificate on a mutual address) is
                    // the client's failure, not the proxy's.
                    Err(_) => return Ok(()),
                }
            }
        };
        self.add_link(conn, e, None);
        Ok(())
    }

    /// The connection towards `dest` for entry `e`, opened (with a TLS handshake) if none
    /// is alive.
    fn link_to(&mut self, e: usize, dest: SocketAddr) -> Result<u64> {
        let kind = self.endpoints[e].entry.kind;
        let alive = self.links.iter().find_map(|(&id, l)| {
            (l.dest == Some(dest) && self.endpoints[l.entry].entry.kind == kind).then_some(id)
        });
        if let Some(id) = alive {
            if !peer_closed(self.links[&id].conn.tcp()) {
                return Ok(id);
            }
            self.close(id);
        }
        let tcp = TcpStream::connect(dest)
            .map_err(|err| Error::io(format!("testbed serve: connecting to {dest}"), err))?;
        wire::prepare(&tcp, "testbed serve")?;
        let conn = if transport(kind) == Transport::Tls {
            let mut ssl = Ssl::new(&self.tls_client).map_err(|err| tls_err("connect", err))?;
            ssl.set_hostname(wire::HOST)
                .map_err(|err| tls_err("connect", err))?;
            if let Some(s) = self.sessions.get(&dest) {
                // SAFETY: the session comes from a connection of this same context.
                unsafe { ssl.set_session(s) }.map_err(|err| tls_err("connect", err))?;
            }
            let s = ssl.connect(tcp).map_err(|err| tls_err("connect", err))?;
            Conn::Tls(Box::new(s))
        } else {
            Conn::Tcp(tcp)
        };
        Ok(self.add_link(conn, e, Some(dest)))
    }

    fn close(&mut self, id: u64) {
        if let Some(l) = self.links.remove(&id) {
            if let (Some(dest), Conn::Tls(s)) = (l.dest, &l.conn) {
                if let Some(session) = s.ssl().session() {
                    self.sessions.insert(dest, session.to_owned());
                }
            }
            l.conn.close();
        }
    }

    fn send_back(&mut self, back: Back, bytes: &[u8]) -> Result<()> {
        match back {
            Back::Udp(e, addr) => self.endpoints[e]
                .udp
                .as_ref()
                .expect("a UDP endpoint")
                .send_to(bytes, addr)
                .map(|_| ())
                .map_err(|err| Error::io(format!("testbed serve: sending to {addr}"), err)),
            Back::Conn(id) => match self.links.get_mut(&id) {
                Some(l) => wire::send(&mut l.conn, bytes, "testbed serve"),
                // The caller closed its connection: nothing to send the response on.
                None => Ok(()),
            },
        }
    }

    /// Handles one message received on entry `e` from `back`.
    fn handle(&mut self, e: usize, back: Back, msg: &[u8]) -> Result<()> {
        let is_request = sip::parse(msg)?.method().is_some();
        let received_branch = top_branch(msg).unwrap_or_default();
        let final_response = sip::parse(msg)?.status().is_some_and(|s| s >= 200);
        match self.endpoints[e].proxy.handle(msg)? {
            Action::Absorb => Ok(()),
            // The proxy's own answer (407, 483, 420) goes back to the caller.
            Action::Reply(_, out) => self.send_back(back, &out),
            Action::Send(Leg::Uac, out) if is_request => self.send_back(back, &out),
            Action::Send(Leg::Uac, out) => {
                let to = if final_response {
                    self.routes.remove(&received_branch)
                } else {
                    self.routes.get(&received_branch).copied()
                };
                match to {
                    Some(b) => self.send_back(b, &out),
                    // A response to nothing this proxy sent (or sent long ago): drop it.
                    None => Ok(()),
                }
            }
            Action::Send(Leg::Uas, out) => {
                let dest = next_hop(&out)?;
                if let Some(b) = top_branch(&out) {
                    self.routes.insert(b, back);
                }
                if transport(self.endpoints[e].entry.kind) == Transport::Udp {
                    return self.send_back(Back::Udp(e, dest), &out);
                }
                let id = self.link_to(e, dest)?;
                let l = self.links.get_mut(&id).expect("just opened");
                wire::send(&mut l.conn, &out, "testbed serve")
            }
        }
    }

    /// Reads and handles the messages waiting on a connection.
    fn read_link(&mut self, id: u64) -> Result<()> {
        loop {
            let Some(l) = self.links.get_mut(&id) else {
                return Ok(());
            };
            let msg = match l.framer.read_message(&mut l.conn, "testbed serve") {
                Ok(m) => m,
                // Closed, reset, or a broken message: the connection ends, the proxy goes on.
                Err(_) => {
                    self.close(id);
                    return Ok(());
                }
            };
            let e = l.entry;
            if let Err(err) = self.handle(e, Back::Conn(id), &msg) {
                eprintln!("testbed serve: {err}");
            }
            let Some(l) = self.links.get(&id) else {
                return Ok(());
            };
            let pending = match &l.conn {
                Conn::Tls(s) => s.ssl().pending() > 0,
                Conn::Tcp(_) => false,
            };
            if l.framer.is_empty() && !pending {
                return Ok(());
            }
        }
    }

    fn read_udp(&mut self, e: usize) -> Result<()> {
        let mut buf = vec![0u8; sip::MAX_MESSAGE];
        let sock = self.endpoints[e].udp.as_ref().expect("a UDP endpoint");
        let (n, from) = sock
            .recv_from(&mut buf)
            .map_err(|err| Error::io("testbed serve: receiving", err))?;
        if let Err(err) = self.handle(e, Back::Udp(e, from), &buf[..n]) {
            eprintln!("testbed serve: {err}");
        }
        Ok(())
    }

    /// The loop: until SIGTERM or SIGINT.
    fn run(&mut self) -> Result<()> {
        while !STOP.load(Ordering::Relaxed) {
            // What to watch: (fd, what it is).
            let mut watch: Vec<(i32, Watch)> = Vec::new();
            for (i, ep) in self.endpoints.iter().enumerate() {
                if let Some(u) = &ep.udp {
                    watch.push((u.as_raw_fd(), Watch::Udp(i)));
                }
                if let Some(l) = &ep.listener {
                    watch.push((l.as_raw_fd(), Watch::Listener(i)));
                }
            }
            for (&id, l) in &self.links {
                watch.push((l.conn.tcp().as_raw_fd(), Watch::Link(id)));
            }
            let fds: Vec<_> = watch.iter().map(|(fd, _)| *fd).collect();
            let ready =
                wire::readable(&fds, TICK).map_err(|e| Error::io("testbed serve: poll", e))?;
            for &(_, w) in ready.iter().map(|&i| &watch[i]) {
                match w {
                    Watch::Udp(e) => self.read_udp(e)?,
                    Watch::Listener(e) => {
                        if let Err(err) = self.accept(e) {
                            eprintln!("testbed serve: {err}");
                        }
                    }
                    Watch::Link(id) => self.read_link(id)?,
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Watch {
    Udp(usize),
    Listener(usize),
    Link(u64),
}

fn tls_err(op: &str, e: impl std::fmt::Display) -> Error {
    Error::Handshake {
        scenario: format!("testbed serve TLS {op}"),
        what: e.to_string(),
    }
}

/// `tlscost testbed serve`.
pub fn run(args: ServeArgs) -> Result<()> {
    let listens = Listens::parse(&args.listen)?;
    let pki = Pki::locate()?;
    let mut server = Server::new(&listens, &pki)?;
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
    }
    if let Some(p) = &args.pid_file {
        crate::fsutil::write_atomic(p, format!("{}\n", std::process::id()).as_bytes())?;
    }
    eprintln!(
        "testbed serve: pid {}, listening on {}",
        std::process::id(),
        listens.describe()
    );
    let r = server.run();
    if let Some(p) = &args.pid_file {
        let _ = std::fs::remove_file(p);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_hops_of_uris() {
        assert_eq!(
            uri_addr("sip:bob@127.0.0.1:5070;transport=tls").unwrap(),
            "127.0.0.1:5070".parse().unwrap()
        );
        assert_eq!(
            uri_addr("<sip:127.0.0.1:5061;transport=tls;lr>").unwrap(),
            "127.0.0.1:5061".parse().unwrap()
        );
        assert!(uri_addr("sip:bob@example.com").is_err());
        assert!(uri_addr("tel:+123").is_err());
    }
}
