//! Kamailio, the first real server: the Debian package (installed by `make kamailio`),
//! started by the harness from the configuration shipped in `servers/kamailio/` (filled in
//! with free loopback ports, the fixtures' PKI and the database), in the foreground, with
//! its data in a temporary directory; measured; stopped by its own pid with every process
//! it forked.
//!
//! Kamailio's memory manager changes its CPU per call a lot (Debian builds it with memory
//! debugging, `DBG_SR_MEMORY`, which makes its default q_malloc slow): it is chosen with
//! `--memory` and named in every output.

use super::cli::{self, LoadArgs};
use super::database::{self, Database, DatabaseKind};
use super::file::ServerInfo;
use super::listen::{Entry, EntryKind, Listens};
use super::measure::Server;
use super::process::{self, Started};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Kamailio's memory managers (`-x` for shared, `-X` for private memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MemoryManager {
    /// q_malloc, Kamailio's default (with Debian's memory debugging).
    #[value(name = "q_malloc")]
    QMalloc,
    /// f_malloc, the fast one.
    #[value(name = "f_malloc")]
    FMalloc,
    /// TLSF.
    #[value(name = "tlsf")]
    Tlsf,
}

impl MemoryManager {
    /// The name Kamailio's `-x`/`-X` take.
    pub fn flag(self) -> &'static str {
        match self {
            MemoryManager::QMalloc => "qm",
            MemoryManager::FMalloc => "fm",
            MemoryManager::Tlsf => "tlsf",
        }
    }
    /// The name in outputs.
    pub fn label(self) -> &'static str {
        match self {
            MemoryManager::QMalloc => "q_malloc",
            MemoryManager::FMalloc => "f_malloc",
            MemoryManager::Tlsf => "tlsf",
        }
    }
}

/// Arguments of `tlscost server kamailio`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Kamailio's memory manager, for shared and private memory.
    #[arg(long, value_enum, default_value = "q_malloc")]
    pub memory: MemoryManager,
    /// The credential database of the SIP-auth configurations (`none`: no SIP auth).
    #[arg(long, value_enum, default_value = "mariadb")]
    pub database: DatabaseKind,
    /// UDP worker processes per address.
    #[arg(long, default_value_t = 2)]
    pub children: u32,
    /// First of the six consecutive loopback ports Kamailio listens on (default: free
    /// ports the kernel picks).
    #[arg(long)]
    pub port: Option<u16>,
    /// The configuration directory (kamailio.cfg and tls.cfg templates).
    #[arg(long, value_name = "DIR")]
    pub config: Option<PathBuf>,
    /// How the runs go.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Peak throughput and profiles (default: the configurations below).
    #[command(flatten)]
    pub extra: cli::ExtraArgs,
    /// No peak-throughput search.
    #[arg(long)]
    pub no_peak: bool,
    /// No perf profiles.
    #[arg(long)]
    pub no_profile: bool,
}

/// The peak searches of `make kamailio`: UDP, TLS on one persistent connection, TLS with a
/// new connection per call (the paper's Fig. 14 check).
pub const PEAK_CONFIGS: &str = "proxy-chain/udp,proxy-chain/tls-aes,outbound/tls";

/// The profiles of `make kamailio`: the paper's (Sec. IV) TCP, TLS, mutual and resumed per
/// mode, with SIP auth where the paper had it.
pub const PROFILE_CONFIGS: &str = "proxy-chain/tcp,proxy-chain/tls-aes,outbound-auth/tcp,outbound-auth/tls,outbound-auth/tls-mutual,outbound-auth/tls-resumed,inbound/tcp,inbound/tls,inbound/tls-mutual,local-auth/tcp,local-auth/tls,local-auth/tls-mutual";

/// The same without SIP auth (no database).
pub const PROFILE_CONFIGS_NO_AUTH: &str = "proxy-chain/tcp,proxy-chain/tls-aes,outbound/tcp,outbound/tls,outbound/tls-mutual,outbound/tls-resumed,inbound/tcp,inbound/tls,inbound/tls-mutual,local/tcp,local/tls,local/tls-mutual";

/// Where Kamailio's modules are on Debian.
pub const MODULES: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules";

/// A temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `/tmp/tlscost-<what>-<pid>-<random>`.
    pub fn new(what: &str) -> Result<TempDir> {
        let p = std::env::temp_dir().join(format!(
            "tlscost-{what}-{}-{}",
            std::process::id(),
            crate::testbed::load::run_id()
        ));
        std::fs::create_dir_all(&p)
            .map_err(|e| Error::io(format!("creating {}", p.display()), e))?;
        Ok(TempDir(p))
    }
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The six ports: plain UDP/TCP, TLS, mutual TLS, and the same with SIP auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// The first; the others follow it.
    pub base: u16,
}

impl Ports {
    fn names(self) -> [(&'static str, u16); 6] {
        let b = self.base;
        [
            ("PORT_PLAIN", b),
            ("PORT_TLS", b + 1),
            ("PORT_TLS_MUTUAL", b + 2),
            ("PORT_AUTH", b + 3),
            ("PORT_AUTH_TLS", b + 4),
            ("PORT_AUTH_TLS_MUTUAL", b + 5),
        ]
    }

    /// The server's addresses (the auth ones only with a database).
    pub fn listens(self, auth: bool) -> Listens {
        let a = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        let b = self.base;
        let mut m = BTreeMap::new();
        for (auth_, off) in [(false, 0u16), (true, 3)] {
            if auth_ && !auth {
                continue;
            }
            let e = |kind| Entry { auth: auth_, kind };
            m.insert(e(EntryKind::Udp), a(b + off));
            m.insert(e(EntryKind::Tcp), a(b + off));
            m.insert(e(EntryKind::Tls), a(b + off + 1));
            m.insert(e(EntryKind::TlsMutual), a(b + off + 2));
        }
        Listens(m)
    }
}

/// Fills in a template: every `@NAME@` of `values`; the block between `# BEGIN WITH_AUTH`
/// and `# END WITH_AUTH` kept only when `auth`. A placeholder left unfilled is an error.
pub fn render(template: &str, values: &[(&str, String)], auth: bool) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut skipping = false;
    for line in template.lines() {
        if line.starts_with("# BEGIN WITH_AUTH") {
            skipping = !auth;
            continue;
        }
        if line.starts_with("# END WITH_AUTH") {
            skipping = false;
            continue;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    for (k, v) in values {
        out = out.replace(&format!("@{k}@"), v);
    }
    let names: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
    for line in out.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if let Some(start) = line.find('@') {
            let rest = &line[start + 1..];
            if let Some(end) = rest.find('@') {
                let name = &rest[..end];
                if !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    && !names.contains(&name)
                {
                    return Err(Error::Usage(format!(
                        "template placeholder @{name}@ has no value (line '{line}')"
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// The first line of `kamailio -v` (`version: kamailio 5.6.3 (x86_64/linux)`), or an
/// error saying how to install it.
pub fn version() -> Result<String> {
    let out = Command::new("kamailio").arg("-v").output().map_err(|e| {
        Error::io(
            "running kamailio -v (is Kamailio installed? `make kamailio` installs the Debian packages kamailio and kamailio-tls-modules)",
            e,
        )
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("").trim();
    Ok(first
        .strip_prefix("version:")
        .unwrap_or(first)
        .trim()
        .to_string())
}

/// The OpenSSL version string inside the libcrypto Kamailio's TLS module links
/// (`OpenSSL 3.0.19 27 Jan 2026`), found through `ldd`.
pub fn tls_library() -> Result<String> {
    let module = Path::new(MODULES).join("tls.so");
    if !module.exists() {
        return Err(Error::Usage(format!(
            "{} is missing: Kamailio's TLS module is the package kamailio-tls-modules (`make kamailio` installs it)",
            module.display()
        )));
    }
    let out = Command::new("ldd")
        .arg(&module)
        .output()
        .map_err(|e| Error::io("running ldd on Kamailio's tls.so", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let lib = text
        .lines()
        .find(|l| l.contains("libcrypto.so"))
        .and_then(|l| l.split("=>").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .ok_or_else(|| Error::Usage(format!("{}: links no libcrypto", module.display())))?;
    let bytes = std::fs::read(lib).map_err(|e| Error::io(format!("reading {lib}"), e))?;
    let needle = b"OpenSSL 3.";
    let found = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| {
            let end = bytes[i..]
                .iter()
                .position(|&b| b == 0)
                .map(|n| i + n)
                .unwrap_or(i);
            String::from_utf8_lossy(&bytes[i..end]).into_owned()
        });
    Ok(format!(
        "{} ({lib})",
        found.unwrap_or_else(|| "OpenSSL (version unknown)".into())
    ))
}

/// Whether the server at `addr` answers an OPTIONS to itself with 200 over UDP.
pub fn answers_options(addr: SocketAddr) -> bool {
    let Ok(s) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let Ok(local) = s.local_addr() else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let msg = format!(
        "OPTIONS sip:{addr} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-ready-{}\r\nMax-Forwards: 70\r\nFrom: <sip:tlscost@{local}>;tag=ready\r\nTo: <sip:{addr}>\r\nCall-ID: ready-{}@tlscost.test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        local.port(),
        local.port()
    );
    if s.send_to(msg.as_bytes(), addr).is_err() {
        return false;
    }
    let mut buf = [0u8; 2048];
    matches!(s.recv_from(&mut buf), Ok((n, _)) if buf[..n].starts_with(b"SIP/2.0 200"))
}

/// A running Kamailio: its process, its directory, how it was started.
pub struct Kamailio {
    /// The process (stopped when dropped).
    pub process: Started,
    /// Where it listens.
    pub listens: Listens,
    /// The command line.
    pub start_line: String,
}

/// Renders the configuration into `dir` and starts Kamailio; returns once it answers.
#[allow(clippy::too_many_arguments)]
pub fn start(
    config: &Path,
    dir: &Path,
    ports: Ports,
    memory: MemoryManager,
    children: u32,
    db: Option<&Database>,
) -> Result<Kamailio> {
    let pki = crate::fixtures::Fixtures::locate()?.root().join("pki");
    let read = |name: &str| {
        let p = config.join(name);
        std::fs::read_to_string(&p).map_err(|e| {
            Error::io(
                format!(
                    "reading the Kamailio configuration template {} (expected servers/kamailio/{name})",
                    p.display()
                ),
                e,
            )
        })
    };
    let mut values: Vec<(&str, String)> = ports
        .names()
        .iter()
        .map(|(k, v)| (*k, v.to_string()))
        .collect();
    values.push(("CHILDREN", children.to_string()));
    values.push(("MODULES", MODULES.to_string()));
    values.push(("DIR", dir.display().to_string()));
    values.push(("PKI", pki.display().to_string()));
    values.push((
        "DB_URL",
        db.map(|d| d.url.clone()).unwrap_or_else(|| "none".into()),
    ));
    let auth = db.is_some();
    let cfg = dir.join("kamailio.cfg");
    for (name, path) in [("kamailio.cfg", &cfg), ("tls.cfg", &dir.join("tls.cfg"))] {
        let text = render(&read(name)?, &values, auth)?;
        std::fs::write(path, text)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    let mut cmd = Command::new("kamailio");
    cmd.arg("-DD")
        .arg("-E")
        .arg("-f")
        .arg(&cfg)
        .args(["-x", memory.flag(), "-X", memory.flag()])
        .args(["-m", "1024", "-M", "16"])
        .arg("-Y")
        .arg(dir)
        .arg("-w")
        .arg(dir)
        .arg("--atexit=no");
    if let Some(d) = db {
        cmd.args(["-A", "WITH_AUTH", "-A", d.kind.define()]);
    }
    let start_line = format!(
        "kamailio {}",
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut process = Started::spawn("kamailio", cmd, &dir.join("kamailio.log"))?;
    let listens = ports.listens(auth);
    let udp = listens
        .get(Entry {
            auth: false,
            kind: EntryKind::Udp,
        })
        .expect("plain UDP");
    let streams: Vec<SocketAddr> = listens
        .0
        .iter()
        .filter(|(e, _)| e.kind != EntryKind::Udp)
        .map(|(_, a)| *a)
        .collect();
    process.wait_ready(
        "answering OPTIONS and accepting connections",
        Duration::from_secs(30),
        || answers_options(udp) && streams.iter().all(|a| process::tcp_listening(*a)),
    )?;
    let pids = super::cpu::Processes::live(&[process.pid()], true)?.pids()?;
    process.note_descendants(pids);
    Ok(Kamailio {
        process,
        listens,
        start_line,
    })
}

/// The configuration directory: `--config`, else `servers/kamailio` of this checkout.
pub fn config_dir(arg: Option<&Path>) -> PathBuf {
    arg.map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("servers/kamailio"))
}

/// `tlscost server kamailio`.
pub fn run(args: Args) -> Result<()> {
    let version = version()?;
    let tls_library = tls_library()?;
    let config = config_dir(args.config.as_deref());
    let mut targets = cli::targets(&args.load)?;
    if args.database == DatabaseKind::None {
        targets.retain(|t| !t.config.auth);
    }
    let settings = cli::settings(&args.load, targets.len())?;
    let ports = match args.port {
        Some(base) => {
            let p = Ports { base };
            for (name, port) in p.names() {
                process::check_free(
                    SocketAddr::from(([127, 0, 0, 1], port)),
                    &format!("Kamailio's {name} (--port {base})"),
                )?;
            }
            p
        }
        None => Ports {
            base: process::free_ports(6)?[0],
        },
    };
    let dir = TempDir::new("kamailio")?;
    let db = if targets.iter().any(|t| t.config.auth) {
        Some(database::start(
            args.database,
            dir.path(),
            &args.load.auth_user,
            &args.load.auth_password,
        )?)
    } else {
        None
    };
    let mut kam = start(
        &config,
        dir.path(),
        ports,
        args.memory,
        args.children,
        db.as_ref(),
    )?;
    eprintln!(
        "kamailio: {version}, {}, pid {} ({} processes), listening on {}",
        args.memory.label(),
        kam.process.pid(),
        super::cpu::Processes::live(&[kam.process.pid()], true)?
            .pids()?
            .len(),
        kam.listens.describe()
    );
    // The database's CPU counts with the server's: an authenticated call costs its lookup
    // (the paper's profiles held the MySQL work too).
    let mut counted = vec![kam.process.pid()];
    if let Some(p) = db.as_ref().and_then(|d| d.process.as_ref()) {
        counted.push(p.pid());
    }
    let server = Server {
        info: ServerInfo {
            name: "kamailio".into(),
            version,
            start_line: kam.start_line.clone(),
            memory_manager: Some(args.memory.label().into()),
            tls_library: Some(tls_library),
            database: db.as_ref().map(|d| d.describe()),
        },
        listens: kam.listens.clone(),
        processes: super::cpu::Processes::live(&counted, true)?,
        unsupported: vec![(
            crate::handshake::Protocol::Tls12Rsa3desSha,
            "Kamailio's TLS profiles offer no 3DES suite: it links the system OpenSSL, which Debian builds without the weak ciphers (DES-CBC3-SHA)".into(),
        )],
    };
    let mut notes = vec![
        format!(
            "Kamailio runs with {} (-x {m} -X {m}); its memory manager changes the CPU per call a lot: compare figures of one manager only",
            args.memory.label(),
            m = args.memory.flag()
        ),
        "Kamailio runs one TCP/TLS worker (tcp_children=1): every process has its own OpenSSL context, session cache and ticket keys, so with more workers resumption would depend on which worker a connection reached".into(),
    ];
    if let Some(d) = &db {
        notes.push(format!(
            "SIP auth: Kamailio's auth_db against {}; the database server's CPU is counted with Kamailio's",
            d.describe()
        ));
    }
    let mut extra = args.extra.clone();
    if !args.no_peak && extra.peak_configs.is_none() {
        extra.peak_configs = Some(PEAK_CONFIGS.into());
    }
    if args.no_peak {
        extra.peak_configs = None;
    }
    if !args.no_profile && extra.profile_configs.is_none() {
        extra.profile_configs = Some(
            if db.is_some() {
                PROFILE_CONFIGS
            } else {
                PROFILE_CONFIGS_NO_AUTH
            }
            .into(),
        );
    }
    if args.no_profile {
        extra.profile_configs = None;
    }
    let result = cli::measure_server(&server, &targets, &settings, notes).and_then(|mut f| {
        cli::run_extras(&mut f, &server, &settings, &extra, dir.path())?;
        Ok(f)
    });
    // Everything started is stopped before anything is written.
    kam.process.check_running()?;
    let forced = kam.process.stop(Duration::from_secs(10));
    drop(db);
    let f = result?;
    if !forced.is_empty() {
        eprintln!("kamailio: had to be killed: {}", forced.join(", "));
    }
    cli::finish(&f, &args.load)
}
