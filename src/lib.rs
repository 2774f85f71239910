//! tlscost: measures what TLS costs a SIP server, one cost component at a time, and
//! rebuilds the per-call cost model of "The Impact of TLS on SIP Server Performance"
//! from those measured components.
//!
//! A component is defined once here and used by the criterion benches, the gungraun
//! gate, the tests and the CLI alike. See `DESIGN.md` for the layout.

pub mod ab;
pub mod connection;
pub mod cputime;
pub mod crypto;
pub mod error;
pub mod eventloop;
pub mod fixtures;
pub mod flow;
pub mod fsutil;
pub mod gate;
pub mod handshake;
pub mod interleave;
pub mod machine;
pub mod memory;
pub mod model;
pub mod names;
pub mod parity;
pub mod parity_handshake;
pub mod profile;
pub mod quiet;
pub mod record;
pub mod report;
pub mod results;
pub mod scale;
pub mod server;
pub mod sip;
pub mod testbed;
pub mod transport;

pub use error::{Error, Result};
