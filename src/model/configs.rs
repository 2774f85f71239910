//! The paper's configurations: proxy mode (Table I), transport, TLS handshake kind, cipher
//! suite and SIP proxy authentication, and the list the paper reports (Sec. III, IV).

use crate::names::Dimension;
use crate::{Error, Result};
use serde::Serialize;

/// Who opens connections per call (the paper's Table I).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyMode {
    /// One persistent connection on each side: no per-call handshake.
    ProxyChain,
    /// A new connection per call from the callers (left): the proxy is the TCP/TLS server.
    Outbound,
    /// A new connection per call towards the callees (right): the proxy is the TCP/TLS client.
    Inbound,
    /// New connections on both sides: the proxy is server on the left and client on the right.
    Local,
}

impl Dimension for ProxyMode {
    const ALL: &'static [Self] = &[
        ProxyMode::ProxyChain,
        ProxyMode::Outbound,
        ProxyMode::Inbound,
        ProxyMode::Local,
    ];
    fn label(&self) -> &'static str {
        match self {
            ProxyMode::ProxyChain => "proxy-chain",
            ProxyMode::Outbound => "outbound",
            ProxyMode::Inbound => "inbound",
            ProxyMode::Local => "local",
        }
    }
}

impl ProxyMode {
    /// The proxy accepts a new connection per call on its left (UAC) side: server handshake.
    pub fn new_left(self) -> bool {
        matches!(self, ProxyMode::Outbound | ProxyMode::Local)
    }
    /// The proxy opens a new connection per call on its right (UAS) side: client handshake.
    pub fn new_right(self) -> bool {
        matches!(self, ProxyMode::Inbound | ProxyMode::Local)
    }
}

/// The SIP transport of both legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// SIP over UDP: no connections.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS over TCP.
    Tls,
}

/// The kind of TLS handshake a new connection makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsKind {
    /// Full handshake, server authenticated only.
    Full,
    /// Full handshake with client certificate (mutual authentication).
    Mutual,
    /// Abbreviated handshake resuming an earlier session.
    Resumed,
}

impl TlsKind {
    /// Every kind, in report order.
    pub const ALL: [TlsKind; 3] = [TlsKind::Full, TlsKind::Mutual, TlsKind::Resumed];
    /// Short label (`full`, `mutual`, `resumed`).
    pub fn label(self) -> &'static str {
        match self {
            TlsKind::Full => "full",
            TlsKind::Mutual => "mutual",
            TlsKind::Resumed => "resumed",
        }
    }
}

/// The TLS cipher suite of the bulk records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BulkSuite {
    /// TLS_RSA_WITH_AES_128_CBC_SHA (SIP's mandatory suite).
    Aes,
    /// TLS_RSA_WITH_3DES_EDE_CBC_SHA (proxy chain only in the paper).
    TripleDes,
}

impl BulkSuite {
    /// Both suites, in report order.
    pub const ALL: [BulkSuite; 2] = [BulkSuite::Aes, BulkSuite::TripleDes];
    /// The record-bench suite label (`aes128-sha`, `3des-sha`).
    pub fn record_label(self) -> &'static str {
        match self {
            BulkSuite::Aes => "aes128-sha",
            BulkSuite::TripleDes => "3des-sha",
        }
    }
    /// Short label used in configuration names (`aes`, `3des`).
    pub fn label(self) -> &'static str {
        match self {
            BulkSuite::Aes => "aes",
            BulkSuite::TripleDes => "3des",
        }
    }
}

/// One configuration of the paper: mode, auth, transport and, for TLS, kind and suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Config {
    /// Proxy mode (irrelevant for UDP, which has no connections).
    pub mode: ProxyMode,
    /// SIP proxy (digest) authentication of the caller.
    pub auth: bool,
    /// Transport of both legs.
    pub transport: Transport,
    /// TLS handshake kind (TLS only; `Full` otherwise).
    pub kind: TlsKind,
    /// Bulk cipher suite (TLS only; `Aes` otherwise).
    pub suite: BulkSuite,
}

impl Config {
    fn new(mode: ProxyMode, auth: bool, transport: Transport) -> Config {
        Config {
            mode,
            auth,
            transport,
            kind: TlsKind::Full,
            suite: BulkSuite::Aes,
        }
    }

    /// The name the model prints, e.g. `proxy-chain/tls-3des`, `outbound-auth/tls-mutual`.
    /// Proxy chain names its suite (the paper varies it there); other modes name the kind.
    pub fn name(&self) -> String {
        let mode = if self.auth {
            format!("{}-auth", self.mode.label())
        } else {
            self.mode.label().to_string()
        };
        let what = match self.transport {
            Transport::Udp => "udp".to_string(),
            Transport::Tcp => "tcp".to_string(),
            Transport::Tls if self.mode == ProxyMode::ProxyChain => {
                format!("tls-{}", self.suite.label())
            }
            Transport::Tls => match self.kind {
                TlsKind::Full => "tls".to_string(),
                k => format!("tls-{}", k.label()),
            },
        };
        format!("{mode}/{what}")
    }

    /// Parses a name printed by [`Config::name`]; the error lists the valid names.
    pub fn from_name(name: &str) -> Result<Config> {
        let all = Config::all();
        all.iter()
            .copied()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                let valid: Vec<String> = all.iter().map(|c| c.name()).collect();
                Error::Usage(format!(
                    "unknown configuration '{name}'; expected one of: {}",
                    valid.join(", ")
                ))
            })
    }

    /// Every configuration the paper reports, in its order (Sec. III narrowing rules plus
    /// the proxy-chain runs with SIP auth of Sec. IV-A): 2 UDP + 18 TCP/TLS. The paper
    /// states 18 in all; `results/paper.json` notes the mismatch.
    pub fn all() -> Vec<Config> {
        use ProxyMode::*;
        use Transport::*;
        let mut out = Vec::new();
        // Proxy chain, without then with auth: UDP, TCP, TLS-AES, TLS-3DES (Fig. 5).
        for auth in [false, true] {
            out.push(Config::new(ProxyChain, auth, Udp));
            out.push(Config::new(ProxyChain, auth, Tcp));
            for suite in BulkSuite::ALL {
                out.push(Config {
                    suite,
                    ..Config::new(ProxyChain, auth, Tls)
                });
            }
        }
        // Outbound (auth), inbound (no auth), local (auth): TCP, TLS full / mutual / resumed.
        for (mode, auth) in [(Outbound, true), (Inbound, false), (Local, true)] {
            out.push(Config::new(mode, auth, Tcp));
            for kind in TlsKind::ALL {
                out.push(Config {
                    kind,
                    ..Config::new(mode, auth, Tls)
                });
            }
        }
        out
    }

    /// The configuration the paper compares this one with in its throughput ratios
    /// (TCP vs UDP, TLS vs TCP, mutual/resumed vs TLS), if any.
    pub fn reference(&self) -> Option<Config> {
        let udp = Config::new(ProxyMode::ProxyChain, self.auth, Transport::Udp);
        match self.transport {
            Transport::Udp => None,
            Transport::Tcp => Some(udp),
            Transport::Tls if self.mode == ProxyMode::ProxyChain || self.kind == TlsKind::Full => {
                Some(Config::new(self.mode, self.auth, Transport::Tcp))
            }
            Transport::Tls => Some(Config::new(self.mode, self.auth, Transport::Tls)),
        }
    }

    /// The same transport, kind and suite in another mode and auth setting (for the
    /// local = inbound + outbound - proxy chain identity of Fig. 16).
    pub fn in_mode(&self, mode: ProxyMode, auth: bool) -> Config {
        Config {
            mode,
            auth,
            ..*self
        }
    }
}
