//! "Today": the paper's TLS configurations beside their modern equivalents.
//!
//! The paper measured SIP over TLS_RSA_WITH_AES_128_CBC_SHA with RSA certificates and
//! session-id resumption (2009). A SIP operator deploying today uses ECDHE or TLS 1.3,
//! often ECDSA certificates, from OpenSSL 3.5 on a post-quantum hybrid key exchange, and
//! ticket resumption. [`today`] computes the per-call model once per [`VARIANTS`] entry (the
//! paper's set-up first) from the same estimates and sets every TLS configuration of the
//! paper (AES; 3DES has no modern equivalent) beside its modern equivalents, with the
//! ratio to the paper's set-up.

use super::components::Estimates;
use super::configs::{BulkSuite, Transport};
use super::paper::Paper;
use super::{build, Flows, ModelOptions};
use crate::handshake::{Cert, Group, Kind, Protocol, Stack};
use crate::names::Dimension;
use crate::Result;
use serde::Serialize;

/// One set-up of the "today" table.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// Column label.
    pub label: &'static str,
    /// The handshake protocol (its records for the AES configurations).
    pub protocol: Protocol,
    /// Key-exchange group (`None`: RSA key transport).
    pub group: Option<Group>,
    /// Certificate type.
    pub cert: Cert,
    /// Resumption of the resumed configurations.
    pub resumed: Kind,
}

/// The paper's set-up, then its modern equivalents, one change at a time.
pub const VARIANTS: [Variant; 5] = [
    Variant {
        label: "paper: TLS_RSA AES128-SHA, RSA, session ids",
        protocol: Protocol::Tls12RsaAes128Sha,
        group: None,
        cert: Cert::Rsa2048,
        resumed: Kind::ResumedId,
    },
    Variant {
        label: "TLS 1.2 ECDHE-RSA AES128-GCM, X25519, tickets",
        protocol: Protocol::Tls12EcdheRsaAes128Gcm,
        group: Some(Group::X25519),
        cert: Cert::Rsa2048,
        resumed: Kind::ResumedTicket,
    },
    Variant {
        label: "TLS 1.3, X25519, RSA, tickets",
        protocol: Protocol::Tls13Aes128Gcm,
        group: Some(Group::X25519),
        cert: Cert::Rsa2048,
        resumed: Kind::ResumedTicket,
    },
    Variant {
        label: "TLS 1.3, X25519, ECDSA P-256, tickets",
        protocol: Protocol::Tls13Aes128Gcm,
        group: Some(Group::X25519),
        cert: Cert::EcdsaP256,
        resumed: Kind::ResumedTicket,
    },
    Variant {
        label: "TLS 1.3, X25519MLKEM768, ECDSA P-256, tickets",
        protocol: Protocol::Tls13Aes128Gcm,
        group: Some(Group::X25519Mlkem768),
        cert: Cert::EcdsaP256,
        resumed: Kind::ResumedTicket,
    },
];

/// One column of the table: a variant on a stack, or why it could not be computed.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// The variant's label.
    pub label: String,
    /// The stack its handshakes ran on.
    pub stack: String,
    /// The full handshake's scenario (`<stack>/<protocol>[/<group>]/<cert>/full`).
    pub scenario: String,
    /// Why this column has no numbers (a scenario this build cannot run, a bench not measured).
    pub missing: Option<String>,
}

/// One configuration across the variants.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The configuration (`outbound-auth/tls-mutual`, ...).
    pub configuration: String,
    /// µs per call under each variant (column order; `None` where the column is missing).
    pub us: Vec<Option<f64>>,
    /// Each variant's µs over the paper set-up's.
    pub ratio: Vec<Option<f64>>,
}

/// The "today" table.
#[derive(Debug, Clone, Serialize)]
pub struct Today {
    /// The columns, the paper's set-up first.
    pub columns: Vec<Column>,
    /// Every TLS (AES) configuration of the paper.
    pub rows: Vec<Row>,
}

/// The options of one variant: `base`'s backend, base and auth inputs; the paper's set-up on
/// OpenSSL (the only stack with RSA key transport), the modern ones on `base.stack`.
pub fn options(base: &ModelOptions, v: &Variant) -> ModelOptions {
    ModelOptions {
        stack: if v.protocol.rsa_key_transport() {
            Stack::Openssl
        } else {
            base.stack
        },
        protocol: Some(v.protocol),
        group: v.group,
        cert: Some(v.cert),
        resumed: v.resumed,
        connections: None,
        ..base.clone()
    }
}

/// Computes the table from `est`. A variant this build cannot run or whose benches were not
/// measured becomes a column that says why; the paper's set-up must be there (error otherwise).
pub fn today(base: &ModelOptions, flows: &Flows, est: &Estimates, paper: &Paper) -> Result<Today> {
    let mut columns = Vec::new();
    let mut models = Vec::new();
    for (i, v) in VARIANTS.iter().enumerate() {
        let opts = options(base, v);
        let scenario = opts.scenario(Kind::Full);
        let model = opts
            .validate()
            .and_then(|()| {
                [Kind::Full, Kind::Mutual, opts.resumed]
                    .iter()
                    .try_for_each(|k| opts.scenario(*k).available())
            })
            .and_then(|()| build(&opts, flows, est, paper));
        let (model, missing) = match model {
            Ok(m) => (Some(m), None),
            Err(e) if i == 0 => return Err(e),
            Err(e) => (None, Some(e.to_string())),
        };
        columns.push(Column {
            label: v.label.to_string(),
            stack: opts.stack.label().to_string(),
            scenario: scenario.label(),
            missing,
        });
        models.push(model);
    }
    let configs: Vec<String> = models[0]
        .as_ref()
        .map(|m| {
            m.configurations
                .iter()
                .filter(|c| {
                    c.config.transport == Transport::Tls && c.config.suite == BulkSuite::Aes
                })
                .map(|c| c.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let rows = configs
        .into_iter()
        .map(|name| {
            let us: Vec<Option<f64>> = models
                .iter()
                .map(|m| {
                    m.as_ref().and_then(|m| {
                        m.configurations
                            .iter()
                            .find(|c| c.name == name)
                            .map(|c| c.us)
                    })
                })
                .collect();
            let ratio = us
                .iter()
                .map(|u| match (u, us[0]) {
                    (Some(u), Some(p)) if p > 0.0 => Some(u / p),
                    _ => None,
                })
                .collect();
            Row {
                configuration: name,
                us,
                ratio,
            }
        })
        .collect();
    Ok(Today { columns, rows })
}
