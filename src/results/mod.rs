//! Measurement files: what was measured, where, and how precisely.
//!
//! `criterion` reads criterion's output; the measurement-file format (schema version,
//! machine, per-component estimates, atomic writes) lives here too.

pub mod criterion;
