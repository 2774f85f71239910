//! The dimensions of a handshake scenario and the list of every scenario.
//!
//! One enum per dimension ([`Stack`], [`Protocol`], [`Group`], [`Cert`], [`Kind`], [`Side`]),
//! each with `ALL` and a `label()`. A [`Scenario`] is one value of each; its name is composed in
//! one place ([`Scenario::id`]) and lists the dimensions the handshake has:
//! `handshake/<stack>/<protocol>[/<group>][/<cert>]/<kind>/<side>`. A handshake without a key
//! exchange (TLS_RSA key transport, a TLS 1.2 abbreviated handshake, TLS 1.3 psk_ke
//! resumption) has no group; a resumed handshake authenticates with the resumed secret and has
//! no certificate type. [`Scenario::ALL`] is generated from the dimensions, keeping exactly the
//! combinations [`Scenario::supported`] accepts; what a given build cannot run (3DES, ML-KEM
//! and psk_ke preference on the system OpenSSL, rustls-awslc without the `awslc` feature) is
//! refused at run time by [`Scenario::available`], with one line saying why.

use super::openssl;
use crate::names::{BenchId, Dimension};
use crate::{Error, Result};

/// A TLS implementation with its crypto provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stack {
    /// OpenSSL through the `openssl` crate (the system library, or the vendored build).
    Openssl,
    /// rustls with its `ring` crypto provider.
    Rustls,
    /// rustls with its `aws-lc-rs` crypto provider (the same aws-lc-rs as the `awslc` backend).
    RustlsAwslc,
}

impl Dimension for Stack {
    const ALL: &'static [Self] = &[Stack::Openssl, Stack::Rustls, Stack::RustlsAwslc];
    fn label(&self) -> &'static str {
        match self {
            Stack::Openssl => "openssl",
            Stack::Rustls => "rustls",
            Stack::RustlsAwslc => "rustls-awslc",
        }
    }
}

impl Stack {
    /// Whether this is rustls (on either provider).
    pub const fn is_rustls(self) -> bool {
        matches!(self, Stack::Rustls | Stack::RustlsAwslc)
    }
}

/// Protocol version and cipher suite of a handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TLS 1.2, RSA key transport, AES-128-CBC with HMAC-SHA1 (`TLS_RSA_WITH_AES_128_CBC_SHA`):
    /// the paper's suite.
    Tls12RsaAes128Sha,
    /// TLS 1.2, RSA key transport, 3DES-EDE-CBC with HMAC-SHA1 (`TLS_RSA_WITH_3DES_EDE_CBC_SHA`):
    /// the paper's proxy-chain 3DES suite. Only an OpenSSL built with its weak ciphers has it
    /// (the vendored build, `OPENSSL=vendored`); see [`NO_3DES_SUITE`].
    Tls12Rsa3desSha,
    /// TLS 1.2, ECDHE with RSA signatures, AES-128-GCM (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`).
    Tls12EcdheRsaAes128Gcm,
    /// TLS 1.2, ECDHE with ECDSA signatures, AES-128-GCM
    /// (`TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`): needs an ECDSA certificate.
    Tls12EcdheEcdsaAes128Gcm,
    /// TLS 1.3, `TLS_AES_128_GCM_SHA256` ((EC)DHE key share; RSA or ECDSA signature).
    Tls13Aes128Gcm,
}

impl Dimension for Protocol {
    const ALL: &'static [Self] = &[
        Protocol::Tls12RsaAes128Sha,
        Protocol::Tls12Rsa3desSha,
        Protocol::Tls12EcdheRsaAes128Gcm,
        Protocol::Tls12EcdheEcdsaAes128Gcm,
        Protocol::Tls13Aes128Gcm,
    ];
    fn label(&self) -> &'static str {
        match self {
            Protocol::Tls12RsaAes128Sha => "tls12-rsa-aes128-sha",
            Protocol::Tls12Rsa3desSha => "tls12-rsa-3des-sha",
            Protocol::Tls12EcdheRsaAes128Gcm => "tls12-ecdhe-rsa-aes128-gcm",
            Protocol::Tls12EcdheEcdsaAes128Gcm => "tls12-ecdhe-ecdsa-aes128-gcm",
            Protocol::Tls13Aes128Gcm => "tls13-aes128-gcm",
        }
    }
}

impl Protocol {
    /// The protocol version, as "TLSv1.2" / "TLSv1.3".
    pub fn version(&self) -> &'static str {
        if self.tls13() {
            "TLSv1.3"
        } else {
            "TLSv1.2"
        }
    }
    /// Whether this is TLS 1.3.
    pub const fn tls13(&self) -> bool {
        matches!(self, Protocol::Tls13Aes128Gcm)
    }
    /// The IANA name of the cipher suite the handshake must negotiate.
    pub fn iana_suite(&self) -> &'static str {
        match self {
            Protocol::Tls12RsaAes128Sha => "TLS_RSA_WITH_AES_128_CBC_SHA",
            Protocol::Tls12Rsa3desSha => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            Protocol::Tls12EcdheRsaAes128Gcm => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            Protocol::Tls12EcdheEcdsaAes128Gcm => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            Protocol::Tls13Aes128Gcm => "TLS_AES_128_GCM_SHA256",
        }
    }
    /// Whether the key exchange is RSA key transport (the client encrypts the pre-master).
    pub const fn rsa_key_transport(&self) -> bool {
        matches!(
            self,
            Protocol::Tls12RsaAes128Sha | Protocol::Tls12Rsa3desSha
        )
    }
    /// The record protection suite label of the `record/...` benches for this protocol.
    pub fn record_suite(&self) -> &'static str {
        match self {
            Protocol::Tls12RsaAes128Sha => "aes128-sha",
            Protocol::Tls12Rsa3desSha => "3des-sha",
            _ => "aes128-gcm",
        }
    }
    /// Whether a certificate of type `cert` can authenticate this protocol's server: a TLS 1.2
    /// suite names its signature algorithm (TLS_RSA and ECDHE_RSA: RSA; ECDHE_ECDSA: ECDSA),
    /// TLS 1.3 takes either.
    pub const fn takes_cert(&self, cert: Cert) -> bool {
        match self {
            Protocol::Tls13Aes128Gcm => true,
            Protocol::Tls12EcdheEcdsaAes128Gcm => matches!(cert, Cert::EcdsaP256),
            _ => matches!(cert, Cert::Rsa2048),
        }
    }
    /// The certificate type the suite is named for (RSA, except ECDHE_ECDSA; RSA for TLS 1.3,
    /// as in the paper): the one a resumed scenario's priming handshake uses.
    pub const fn default_cert(&self) -> Cert {
        match self {
            Protocol::Tls12EcdheEcdsaAes128Gcm => Cert::EcdsaP256,
            _ => Cert::Rsa2048,
        }
    }
}

/// The key-exchange group of an (EC)DHE handshake (IANA TLS Supported Groups registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// X25519 (RFC 7748, RFC 8446 code point 0x001d): the default of both stacks.
    X25519,
    /// NIST P-256, `secp256r1` (code point 0x0017).
    P256,
    /// The post-quantum hybrid X25519 + ML-KEM-768 (draft-ietf-tls-ecdhe-mlkem, code point
    /// 0x11ec), TLS 1.3 only: rustls on aws-lc-rs, OpenSSL 3.5 and later (its default there).
    X25519Mlkem768,
}

impl Dimension for Group {
    const ALL: &'static [Self] = &[Group::X25519, Group::P256, Group::X25519Mlkem768];
    fn label(&self) -> &'static str {
        match self {
            Group::X25519 => "x25519",
            Group::P256 => "p256",
            Group::X25519Mlkem768 => "x25519mlkem768",
        }
    }
}

impl Group {
    /// The group's TLS code point (IANA TLS Supported Groups).
    pub const fn code_point(&self) -> u16 {
        match self {
            Group::X25519 => 0x001d,
            Group::P256 => 0x0017,
            Group::X25519Mlkem768 => 0x11ec,
        }
    }
    /// The name OpenSSL's group lists take (`SSL_CTX_set1_groups_list`).
    pub fn openssl_name(&self) -> &'static str {
        match self {
            Group::X25519 => "X25519",
            Group::P256 => "P-256",
            Group::X25519Mlkem768 => "X25519MLKEM768",
        }
    }
    /// The group with this TLS code point, if it is one of ours.
    pub fn from_code_point(code: u16) -> Option<Group> {
        Group::ALL.iter().copied().find(|g| g.code_point() == code)
    }
}

/// The type of the certificates (server, and client in a mutual handshake) and their keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cert {
    /// RSA-2048 keys, certificates signed by the RSA CA (the paper's kind).
    Rsa2048,
    /// ECDSA P-256 keys, certificates signed by the ECDSA P-256 CA (fixtures/pki/ecdsa-*).
    EcdsaP256,
}

impl Dimension for Cert {
    const ALL: &'static [Self] = &[Cert::Rsa2048, Cert::EcdsaP256];
    fn label(&self) -> &'static str {
        match self {
            Cert::Rsa2048 => "rsa2048",
            Cert::EcdsaP256 => "ecdsa-p256",
        }
    }
}

/// How many session tickets a TLS 1.3 server sends after a full handshake unless told
/// otherwise: OpenSSL's default (`SSL_CTX_set_num_tickets`) and rustls's
/// (`ServerConfig::send_tls13_tickets`), both 2. The full and mutual scenarios set it
/// explicitly, so a change of either default cannot change what they measure.
pub const TLS13_TICKETS: u32 = 2;

/// What kind of handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Full handshake, server authenticated only. TLS 1.3: the server also sends
    /// [`TLS13_TICKETS`] session tickets, inside the timed handshake (both stacks' default).
    Full,
    /// TLS 1.3 full handshake whose server sends no session ticket: beside `full`, it shows
    /// what issuing the tickets costs.
    FullNoTickets,
    /// Full handshake, and the server requires and verifies a client certificate (TLS 1.3:
    /// with [`TLS13_TICKETS`] tickets).
    Mutual,
    /// Abbreviated handshake resuming a session from the server's session cache: TLS 1.2 by
    /// session id (tickets off); TLS 1.3 by a stateful ticket, a PSK identity that only names
    /// the cache entry (OpenSSL with `SSL_OP_NO_TICKET`, rustls with a session store and no
    /// ticketer), psk_dhe_ke.
    ResumedId,
    /// Abbreviated handshake resuming from a stateless ticket, no server-side cache (TLS 1.3:
    /// psk_dhe_ke, a fresh (EC)DHE exchange with the PSK).
    ResumedTicket,
    /// TLS 1.3 resumption from a stateless ticket without (EC)DHE (psk_ke, RFC 8446 4.2.9): no
    /// key exchange and no forward secrecy. OpenSSL 3.3+ (`SSL_OP_PREFER_NO_DHE_KEX`); rustls
    /// does not implement it.
    ResumedPskKe,
}

impl Dimension for Kind {
    const ALL: &'static [Self] = &[
        Kind::Full,
        Kind::FullNoTickets,
        Kind::Mutual,
        Kind::ResumedId,
        Kind::ResumedTicket,
        Kind::ResumedPskKe,
    ];
    fn label(&self) -> &'static str {
        match self {
            Kind::Full => "full",
            Kind::FullNoTickets => "full-no-tickets",
            Kind::Mutual => "mutual",
            Kind::ResumedId => "resumed-id",
            Kind::ResumedTicket => "resumed-ticket",
            Kind::ResumedPskKe => "resumed-psk-ke",
        }
    }
}

impl Kind {
    /// The paper's kinds (full, mutual, resumed by session id and by ticket), which every
    /// protocol has.
    pub const PAPER: &'static [Kind] = &[
        Kind::Full,
        Kind::Mutual,
        Kind::ResumedId,
        Kind::ResumedTicket,
    ];
    /// Whether a handshake of this kind must resume a session.
    pub const fn resumes(&self) -> bool {
        matches!(
            self,
            Kind::ResumedId | Kind::ResumedTicket | Kind::ResumedPskKe
        )
    }
}

/// Which end of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The side that connects (`SSL_connect`, `ClientConnection`).
    Client,
    /// The side that accepts (`SSL_accept`, `ServerConnection`).
    Server,
}

impl Dimension for Side {
    const ALL: &'static [Self] = &[Side::Client, Side::Server];
    fn label(&self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

impl Side {
    /// 0 for the client, 1 for the server (index into per-side arrays).
    pub fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
}

/// One handshake scenario: a stack, a protocol, its key-exchange group and certificate type
/// where it has them, and a kind (timed for each [`Side`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scenario {
    /// The TLS implementation (both ends use it).
    pub stack: Stack,
    /// Version and cipher suite.
    pub protocol: Protocol,
    /// The key-exchange group; `None` when the handshake does no (EC)DHE.
    pub group: Option<Group>,
    /// The certificate type; `None` for a resumed handshake (no certificate is sent).
    pub cert: Option<Cert>,
    /// Full, mutual or resumed.
    pub kind: Kind,
}

/// One line saying which combination is absent and why (printed by `counts` and the bench).
pub const RUSTLS_NO_RSA_KX: &str = "rustls has no RSA key transport (no TLS_RSA_* suites): \
     handshake/rustls/tls12-rsa-aes128-sha/* does not exist; the paper's suite is measured on openssl only";

/// Why the 3DES scenarios cannot run on an OpenSSL without its weak ciphers (the system one).
pub const NO_3DES_SUITE: &str = "this OpenSSL has no 3DES TLS suite at any security level \
     (DES-CBC3-SHA: no cipher match; distributions build OpenSSL without its weak ciphers): \
     handshake/openssl/tls12-rsa-3des-sha/* and record/libssl/3des-sha/* need the vendored \
     OpenSSL, built with weak-crypto: run with OPENSSL=vendored (`make model OPENSSL=vendored`, or any make target with \
     it; cargo feature vendored-openssl)";

/// Why the post-quantum hybrid cannot run on an OpenSSL before 3.5 (the system 3.0).
pub const NO_MLKEM_GROUP: &str = "this OpenSSL has no X25519MLKEM768 group (ML-KEM arrived \
     in OpenSSL 3.5): handshake/openssl/tls13-aes128-gcm/x25519mlkem768/* needs the vendored \
     OpenSSL: run with OPENSSL=vendored; rustls-awslc runs the hybrid in every build";

/// Why psk_ke resumption cannot be measured between two OpenSSL 3.0-3.2 ends.
pub const NO_PSK_KE: &str = "this OpenSSL cannot resume with psk_ke: its client always \
     offers psk_dhe_ke beside psk_ke (SSL_OP_ALLOW_NO_DHE_KEX) and a server before 3.3 always \
     takes psk_dhe_ke when offered; SSL_OP_PREFER_NO_DHE_KEX (OpenSSL 3.3+) makes the server \
     choose psk_ke: handshake/openssl/tls13-aes128-gcm/resumed-psk-ke/* needs the vendored \
     OpenSSL: run with OPENSSL=vendored";

/// Why rustls-awslc is absent from a build without the `awslc` feature.
pub const NO_AWSLC_PROVIDER: &str = "this build has no aws-lc-rs (cargo feature awslc, on by \
     default): handshake/rustls-awslc/* needs it";

/// Why a combination does not exist.
mod why {
    pub const NO_GROUP_KEY_TRANSPORT: &str = "TLS_RSA key transport has no key-exchange group: \
         the client encrypts the pre-master secret to the server's RSA key";
    pub const NO_GROUP_TLS12_RESUMED: &str =
        "a TLS 1.2 abbreviated handshake does no key exchange: it has no group";
    pub const NO_GROUP_PSK_KE: &str = "psk_ke resumption does no key exchange: it has no group";
    pub const NEEDS_GROUP: &str = "an (EC)DHE handshake names its key-exchange group";
    pub const HYBRID_TLS13_ONLY: &str =
        "X25519MLKEM768 is a TLS 1.3 group: TLS 1.2 has no hybrid key exchange";
    pub const RING_NO_MLKEM: &str = "rustls's ring provider has no ML-KEM: the post-quantum \
         hybrid runs on rustls-awslc";
    pub const NO_CERT_RESUMED: &str = "a resumed handshake authenticates with the resumed \
         secret, not a certificate: it has no certificate type";
    pub const NEEDS_CERT: &str = "a full handshake names its certificate type";
    pub const CERT_OF_SUITE: &str = "a TLS 1.2 suite names its certificate type: TLS_RSA_* and \
         TLS_ECDHE_RSA_* need RSA, TLS_ECDHE_ECDSA_* needs ECDSA";
    pub const TLS12_NO_TICKETS_ALREADY: &str = "TLS 1.2 full handshakes here issue no ticket \
         already (tickets off): full-no-tickets is the TLS 1.3 variant of full";
    pub const PSK_KE_TLS13_ONLY: &str = "psk_ke is a TLS 1.3 resumption mode";
    pub const RUSTLS_NO_PSK_KE: &str = "rustls implements only psk_dhe_ke resumption (no psk_ke, \
         which has no forward secrecy)";
}

/// The most scenarios the dimensions can combine into (the size of the generator's buffer).
const COMBINATIONS: usize = 3 * 5 * 4 * 3 * 6;
/// Group options in report order (`None` last: handshakes without a key exchange).
const GROUP_OPTIONS: [Option<Group>; 4] = [
    Some(Group::X25519),
    Some(Group::P256),
    Some(Group::X25519Mlkem768),
    None,
];
/// Certificate options in report order (`None` last: resumed handshakes).
const CERT_OPTIONS: [Option<Cert>; 3] = [Some(Cert::Rsa2048), Some(Cert::EcdsaP256), None];

/// Every supported combination, in report order, and how many there are.
const fn generate() -> ([Scenario; COMBINATIONS], usize) {
    let filler = Scenario::new(Stack::Openssl, Protocol::Tls12RsaAes128Sha, Kind::Full);
    let mut out = [filler; COMBINATIONS];
    let mut n = 0;
    let mut a = 0;
    while a < Stack::ALL.len() {
        let mut b = 0;
        while b < Protocol::ALL.len() {
            let mut c = 0;
            while c < GROUP_OPTIONS.len() {
                let mut d = 0;
                while d < CERT_OPTIONS.len() {
                    let mut e = 0;
                    while e < Kind::ALL.len() {
                        let s = Scenario {
                            stack: Stack::ALL[a],
                            protocol: Protocol::ALL[b],
                            group: GROUP_OPTIONS[c],
                            cert: CERT_OPTIONS[d],
                            kind: Kind::ALL[e],
                        };
                        if s.supported().is_ok() {
                            out[n] = s;
                            n += 1;
                        }
                        e += 1;
                    }
                    d += 1;
                }
                c += 1;
            }
            b += 1;
        }
        a += 1;
    }
    (out, n)
}

const GENERATED: ([Scenario; COMBINATIONS], usize) = generate();
const GENERATED_LIST: [Scenario; COMBINATIONS] = GENERATED.0;

impl Scenario {
    /// Every supported scenario, in report order (stack, protocol, group, certificate, kind);
    /// see [`Scenario::supported`] for what is left out.
    pub const ALL: &'static [Scenario] = {
        let all: &'static [Scenario; COMBINATIONS] = &GENERATED_LIST;
        all.split_at(GENERATED.1).0
    };

    /// The scenario of `stack`, `protocol` and `kind` with the usual group and certificate:
    /// X25519 where the handshake has a key exchange, the certificate the suite is named for
    /// (RSA-2048 for TLS 1.3, as in the paper) where it has a certificate.
    pub const fn new(stack: Stack, protocol: Protocol, kind: Kind) -> Scenario {
        let mut s = Scenario {
            stack,
            protocol,
            group: None,
            cert: None,
            kind,
        };
        if s.has_key_exchange() {
            s.group = Some(Group::X25519);
        }
        if !kind.resumes() {
            s.cert = Some(protocol.default_cert());
        }
        s
    }

    /// The same scenario with another group (`None`: no key exchange).
    pub const fn with_group(self, group: Option<Group>) -> Scenario {
        Scenario { group, ..self }
    }

    /// The same scenario with another certificate type.
    pub const fn with_cert(self, cert: Option<Cert>) -> Scenario {
        Scenario { cert, ..self }
    }

    /// Whether this handshake does an (EC)DHE key exchange (and so names a group): not under
    /// RSA key transport, not in a TLS 1.2 abbreviated handshake, not in psk_ke resumption.
    pub const fn has_key_exchange(&self) -> bool {
        !(self.protocol.rsa_key_transport()
            || (!self.protocol.tls13() && self.kind.resumes())
            || matches!(self.kind, Kind::ResumedPskKe))
    }

    /// The groups both ends offer, in preference order (empty: the stack's default list).
    /// The scenario's group first. A TLS 1.2 ECDSA handshake also lists P-256, the curve of its
    /// certificates: a TLS 1.2 peer may only use an ECDSA certificate on a curve the other end
    /// lists (RFC 8422 5.1; OpenSSL enforces it). A TLS 1.3 scenario without a group (psk_ke)
    /// primes its session with X25519.
    pub fn offered_groups(&self) -> Vec<Group> {
        match self.group {
            Some(g) => {
                let mut v = vec![g];
                if !self.protocol.tls13() && self.cert_type() == Cert::EcdsaP256 && g != Group::P256
                {
                    v.push(Group::P256);
                }
                v
            }
            None if self.protocol.tls13() => vec![Group::X25519],
            None => Vec::new(),
        }
    }

    /// The certificate type the handshake (or, for a resumed one, its priming handshake) uses.
    pub const fn cert_type(&self) -> Cert {
        match self.cert {
            Some(c) => c,
            None => self.protocol.default_cert(),
        }
    }

    /// Whether the combination exists, and if not, why not (in any build; see
    /// [`Scenario::available`] for what this build can run).
    pub const fn supported(&self) -> std::result::Result<(), &'static str> {
        let (p, k) = (self.protocol, self.kind);
        if self.stack.is_rustls() && p.rsa_key_transport() {
            return Err(RUSTLS_NO_RSA_KX);
        }
        if !p.tls13() && matches!(k, Kind::FullNoTickets) {
            return Err(why::TLS12_NO_TICKETS_ALREADY);
        }
        if matches!(k, Kind::ResumedPskKe) {
            if !p.tls13() {
                return Err(why::PSK_KE_TLS13_ONLY);
            }
            if self.stack.is_rustls() {
                return Err(why::RUSTLS_NO_PSK_KE);
            }
        }
        match (self.group, self.has_key_exchange()) {
            (Some(_), false) => {
                return Err(if p.rsa_key_transport() {
                    why::NO_GROUP_KEY_TRANSPORT
                } else if matches!(k, Kind::ResumedPskKe) {
                    why::NO_GROUP_PSK_KE
                } else {
                    why::NO_GROUP_TLS12_RESUMED
                })
            }
            (None, true) => return Err(why::NEEDS_GROUP),
            (Some(Group::X25519Mlkem768), true) => {
                if !p.tls13() {
                    return Err(why::HYBRID_TLS13_ONLY);
                }
                if matches!(self.stack, Stack::Rustls) {
                    return Err(why::RING_NO_MLKEM);
                }
            }
            _ => {}
        }
        match (self.cert, k.resumes()) {
            (Some(_), true) => return Err(why::NO_CERT_RESUMED),
            (None, false) => return Err(why::NEEDS_CERT),
            (Some(c), false) if !p.takes_cert(c) => return Err(why::CERT_OF_SUITE),
            _ => {}
        }
        Ok(())
    }

    /// Whether this build can run the scenario: [`Scenario::supported`], and what depends on
    /// the linked libraries, probed on them: the 3DES suite ([`NO_3DES_SUITE`]), the ML-KEM
    /// hybrid ([`NO_MLKEM_GROUP`]) and psk_ke ([`NO_PSK_KE`]) on OpenSSL, aws-lc-rs for
    /// rustls-awslc ([`NO_AWSLC_PROVIDER`]).
    /// Error: [`Error::Unsupported`] saying why and what to do.
    pub fn available(&self) -> Result<()> {
        let unsupported = |what: &str| Error::Unsupported {
            backend: self.stack.label(),
            what: format!("{}: {what}", self.label()),
        };
        self.supported().map_err(unsupported)?;
        if self.stack == Stack::RustlsAwslc && !cfg!(feature = "awslc") {
            return Err(unsupported(NO_AWSLC_PROVIDER));
        }
        if self.stack != Stack::Openssl {
            return Ok(());
        }
        let probe = |r: Result<()>| {
            r.map_err(|e| match e {
                Error::Unsupported { backend, what } => Error::Unsupported {
                    backend,
                    what: format!("{}: {what}", self.label()),
                },
                other => other,
            })
        };
        if self.protocol == Protocol::Tls12Rsa3desSha {
            probe(openssl::has_3des_suite())?;
        }
        if let Some(g) = self.group {
            probe(openssl::has_group(g))?;
        }
        if self.kind == Kind::ResumedPskKe {
            probe(openssl::can_prefer_psk_ke())?;
        }
        Ok(())
    }

    /// `<stack>/<protocol>[/<group>][/<cert>]/<kind>`: the dimensions this handshake has.
    pub fn labels(&self) -> Vec<&'static str> {
        let mut l = vec![self.stack.label(), self.protocol.label()];
        l.extend(self.group.map(|g| g.label()));
        l.extend(self.cert.map(|c| c.label()));
        l.push(self.kind.label());
        l
    }

    /// The benchmark name of one side:
    /// `handshake/<stack>/<protocol>[/<group>][/<cert>]/<kind>/<side>`.
    pub fn id(&self, side: Side) -> BenchId {
        let mut l = self.labels();
        l.push(side.label());
        BenchId::new("handshake", &l)
    }

    /// `<stack>/<protocol>[/<group>][/<cert>]/<kind>`, for messages.
    pub fn label(&self) -> String {
        self.labels().join("/")
    }

    /// Finds a scenario by its label (with or without `handshake/`).
    pub fn from_label(s: &str) -> Result<Scenario> {
        let s = s.strip_prefix("handshake/").unwrap_or(s);
        Scenario::ALL
            .iter()
            .copied()
            .find(|sc| sc.label() == s)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "unknown handshake scenario '{s}'; see `cargo bench --bench handshakes -- --list`"
                ))
            })
    }

    /// Finds the scenario of a benchmark name `handshake/<scenario label>/<side>`.
    pub fn from_bench_id(name: &str) -> Result<(Scenario, Side)> {
        let bad = || {
            Error::Usage(format!(
                "'{name}' is not a handshake benchmark name (handshake/<stack>/<protocol>[/<group>][/<cert>]/<kind>/<side>)"
            ))
        };
        let rest = name.strip_prefix("handshake/").ok_or_else(bad)?;
        let (label, side) = rest.rsplit_once('/').ok_or_else(bad)?;
        let side = Side::from_label("side", side)?;
        Ok((Scenario::from_label(label)?, side))
    }
}
