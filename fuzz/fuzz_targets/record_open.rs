//! TLS record open on arbitrary bytes: every input is refused with an error, never a panic.
//! The first byte picks the suite and backend and whether the input is taken as a whole
//! record or as a fragment behind a well-formed header (to get past the header checks).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlscost::crypto::Backend;
use tlscost::record::{RecordKeys, RecordLayer, Suite, TLS12};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let suite = [Suite::Aes128Sha, Suite::TdesSha, Suite::Aes128Gcm][usize::from(pick % 3)];
    let backend = [Backend::OpenSsl, Backend::RustCrypto][usize::from(pick / 3 % 2)];
    let mut layer = RecordLayer::new(suite, backend, &RecordKeys::fixed(suite)).unwrap();
    let record = if pick & 0x80 != 0 && rest.len() <= usize::from(u16::MAX) {
        let mut r = vec![23, TLS12[0], TLS12[1]];
        r.extend_from_slice(&(rest.len() as u16).to_be_bytes());
        r.extend_from_slice(rest);
        r
    } else {
        rest.to_vec()
    };
    let mut out = Vec::new();
    // A forged record that opens would be a 2^-128 (GCM) or 2^-160 (HMAC-SHA1) event.
    assert!(
        layer.open(&record, &mut out).is_err(),
        "{suite:?}/{backend:?} opened fuzz input"
    );
    assert!(out.is_empty(), "a refused record left plaintext behind");
});
