//! Where a server listens: an address per kind of entry (UDP, TCP, TLS, mutual TLS, each
//! with or without SIP authentication), given as `--listen KIND=ADDR`. Loopback only.

use crate::{Error, Result};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// What kind of address of the server a configuration connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS, server authenticated only.
    Tls,
    /// SIP over TLS where the server requires and verifies a client certificate.
    TlsMutual,
}

impl EntryKind {
    /// `udp`, `tcp`, `tls`, `tls-mutual`.
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Udp => "udp",
            EntryKind::Tcp => "tcp",
            EntryKind::Tls => "tls",
            EntryKind::TlsMutual => "tls-mutual",
        }
    }
}

/// One address the server listens on: its kind, and whether it authenticates callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entry {
    /// SIP proxy authentication of INVITEs (a 407 challenge, then the digest checked).
    pub auth: bool,
    /// Transport and TLS mode.
    pub kind: EntryKind,
}

impl Entry {
    /// `udp`, `tls-mutual`, `auth-tcp`...
    pub fn label(&self) -> String {
        if self.auth {
            format!("auth-{}", self.kind.label())
        } else {
            self.kind.label().to_string()
        }
    }

    /// Every entry, in label order.
    pub fn all() -> Vec<Entry> {
        let kinds = [
            EntryKind::Udp,
            EntryKind::Tcp,
            EntryKind::Tls,
            EntryKind::TlsMutual,
        ];
        [false, true]
            .iter()
            .flat_map(|&auth| kinds.iter().map(move |&kind| Entry { auth, kind }))
            .collect()
    }
}

/// The server's addresses, by entry. Loopback addresses only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listens(pub BTreeMap<Entry, SocketAddr>);

impl Listens {
    /// Parses `KIND=ADDR` items (`udp=127.0.0.1:5060`, `auth-tls-mutual=127.0.0.1:5072`).
    pub fn parse(items: &[String]) -> Result<Listens> {
        let mut out = BTreeMap::new();
        let valid = || {
            Entry::all()
                .iter()
                .map(Entry::label)
                .collect::<Vec<_>>()
                .join(", ")
        };
        for item in items {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                Error::Usage(format!(
                    "--listen '{item}': expected KIND=ADDRESS, e.g. udp=127.0.0.1:5060 (kinds: {})",
                    valid()
                ))
            })?;
            let entry = Entry::all()
                .into_iter()
                .find(|e| e.label() == k.trim())
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "--listen '{item}': unknown kind '{k}'; expected one of: {}",
                        valid()
                    ))
                })?;
            let addr: SocketAddr = v.trim().parse().map_err(|_| {
                Error::Usage(format!(
                    "--listen '{item}': '{v}' is not an IP address and port (e.g. 127.0.0.1:5060)"
                ))
            })?;
            if !addr.ip().is_loopback() {
                return Err(Error::Usage(format!(
                    "--listen '{item}': {addr} is not a loopback address; tlscost measures servers on this machine's loopback only"
                )));
            }
            if out.insert(entry, addr).is_some() {
                return Err(Error::Usage(format!(
                    "--listen {}: given twice",
                    entry.label()
                )));
            }
        }
        if out.is_empty() {
            return Err(Error::Usage(format!(
                "no --listen address given; expected at least one of: {}",
                valid()
            )));
        }
        Ok(Listens(out))
    }

    /// The address of `entry`, if the server has one.
    pub fn get(&self, entry: Entry) -> Option<SocketAddr> {
        self.0.get(&entry).copied()
    }

    /// `udp=127.0.0.1:5060 tls=...`, for reports.
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|(e, a)| format!("{}={a}", e.label()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
