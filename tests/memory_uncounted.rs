//! A binary that does not interpose the allocator cannot measure memory, and says so.

use tlscost::handshake::{Kind, Pki, Protocol, Scenario, Stack};

#[test]
fn measuring_without_the_interposer_is_refused() {
    assert!(!tlscost::memory::heap::installed());
    let s = Scenario::new(Stack::Openssl, Protocol::Tls13Aes128Gcm, Kind::Full);
    let e = tlscost::memory::measure(s, &Pki::locate().unwrap(), 1).unwrap_err();
    assert!(e.to_string().contains("count_heap_allocations"), "{e}");
}
