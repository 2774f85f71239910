//! The SIP parser and the proxy logic of the base measurement on arbitrary bytes: errors are
//! expected, panics are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = tlscost::sip::parse(data) {
        let _ = (
            m.method(),
            m.status(),
            m.max_forwards(),
            m.routes(),
            m.record_routes(),
        );
        for v in m.vias() {
            let _ = (tlscost::sip::via_sent_by(v), tlscost::sip::via_branch(v));
        }
    }
    for auth in [false, true] {
        let mut p = tlscost::sip::Proxy::new(
            "proxy.tlscost.test:5060",
            "sip:proxy.tlscost.test:5060",
            auth,
        );
        let _ = p.handle(data);
        let _ = p.handle(data);
    }
});
