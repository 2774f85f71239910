//! The results-file and gate-baseline readers on arbitrary bytes (they read from a path, so
//! each input goes through one scratch file per process): errors are expected, panics are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn scratch() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| std::env::temp_dir().join(format!("tlscost-fuzz-{}.json", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let p = scratch();
    std::fs::write(p, data).unwrap();
    if let Ok(f) = tlscost::results::ResultsFile::read(p) {
        for m in f.estimates.values() {
            assert!(m.median.is_finite() && m.unit == "ns");
        }
    }
    let _ = tlscost::gate::baseline::Baseline::load(p);
    if let Ok(text) = std::str::from_utf8(data) {
        let names = vec!["rsa/openssl/sign/2048".to_string()];
        let _ = tlscost::gate::counts::parse_summary(p, text, &names);
    }
});
