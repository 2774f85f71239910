//! Measuring an external SIP server: an address plus the processes whose CPU is counted.
//!
//! The testbed's UAC and UAS load generators drive the server at a fixed call rate; the
//! server's CPU per call comes from `/proc` (every process and thread of it), its idle CPU
//! subtracted. [`file`] is the one measured-server file format that `tlscost model
//! --calibrate` and `tlscost validate --server` read.

pub mod cli;
pub mod cpu;
pub mod database;
pub mod file;
pub mod kamailio;
pub mod listen;
pub mod measure;
pub mod process;
pub mod report;
