//! Heap bytes per handshake side, counted at the C allocator.
//!
//! A binary that wants heap counts interposes `malloc` and friends with
//! [`crate::count_heap_allocations!`]: its `malloc`, `calloc`, `realloc`, `free`,
//! `posix_memalign`, `aligned_alloc`, `memalign`, `valloc`, `pvalloc` and `reallocarray` call
//! glibc's own (`__libc_malloc`, ...) and report each block here. Every heap user of the
//! process goes through them: Rust's `System` allocator, libssl and libcrypto (`CRYPTO_malloc`,
//! also in the vendored static build) and aws-lc (`OPENSSL_malloc`), so one mechanism counts
//! OpenSSL, rustls on ring and rustls on aws-lc-rs alike.
//!
//! A block counts for the handshake side whose step runs on this thread when it is allocated
//! or freed ([`crate::handshake::current_side`]), only while this thread counts ([`start`] ..
//! [`stop`]). Sizes are what glibc reserved for the block (`malloc_usable_size`: the request
//! rounded up to glibc's 16-byte granule, chunk headers not included). The counters and the
//! switch that turns them on are thread-local, so other threads' allocations never mix in and
//! another thread's [`stop`] never ends this thread's count (the test harness measures on
//! several threads at once).

use crate::handshake::{current_side, Side};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Threads counting now: while it is zero the interposer returns after one relaxed load.
static COUNTING_THREADS: AtomicUsize = AtomicUsize::new(0);
/// Blocks seen while counting, by any thread and side (to probe that the interposer is there).
static SEEN: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static LIVE: [Cell<i64>; 2] = const { [Cell::new(0), Cell::new(0)] };
    static PEAK: [Cell<i64>; 2] = const { [Cell::new(0), Cell::new(0)] };
    static ALLOCS: [Cell<u64>; 2] = const { [Cell::new(0), Cell::new(0)] };
}

/// What one side's steps did to the heap while counting was on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SideHeap {
    /// Bytes allocated minus bytes freed (what this side still holds).
    pub live: i64,
    /// The largest `live` reached.
    pub peak: i64,
    /// Blocks allocated (including reallocations).
    pub allocations: u64,
}

fn usable(p: *mut libc::c_void) -> i64 {
    // SAFETY: `p` is a live block of glibc's allocator (the interposer passes only those).
    unsafe { libc::malloc_usable_size(p) as i64 }
}

fn record(delta: i64, alloc: bool) {
    SEEN.fetch_add(1, Ordering::Relaxed);
    let Some(side) = current_side() else {
        return;
    };
    let i = side.index();
    LIVE.with(|l| {
        let live = l[i].get() + delta;
        l[i].set(live);
        PEAK.with(|p| {
            if live > p[i].get() {
                p[i].set(live)
            }
        });
    });
    if alloc {
        ALLOCS.with(|a| a[i].set(a[i].get() + 1));
    }
}

/// `EINVAL`, for the interposer's `posix_memalign`.
pub const EINVAL: libc::c_int = libc::EINVAL;
/// `ENOMEM`, for the interposer.
pub const ENOMEM: libc::c_int = libc::ENOMEM;

/// Sets `errno` to `ENOMEM` (the interposer's `reallocarray` on overflow).
pub fn set_enomem() {
    // SAFETY: errno is this thread's.
    unsafe { *libc::__errno_location() = libc::ENOMEM }
}

/// Whether this thread counts now (the global count first, so idle threads touch no TLS).
fn counting() -> bool {
    COUNTING_THREADS.load(Ordering::Relaxed) > 0 && COUNTING.with(|c| c.get())
}

/// Turns this thread's counting on or off.
fn set_counting(on: bool) {
    if COUNTING.with(|c| c.replace(on)) == on {
        return;
    }
    if on {
        COUNTING_THREADS.fetch_add(1, Ordering::SeqCst);
    } else {
        COUNTING_THREADS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Called by the interposer with each block it returns (null: nothing happened).
pub fn allocated(p: *mut libc::c_void) {
    if p.is_null() || !counting() {
        return;
    }
    record(usable(p), true);
}

/// Called by the interposer with each block before it is freed or reallocated.
pub fn freeing(p: *mut libc::c_void) {
    if p.is_null() || !counting() {
        return;
    }
    record(-usable(p), false);
}

/// Zeroes this thread's counters and turns its counting on.
pub fn start() {
    for c in [&LIVE, &PEAK] {
        c.with(|v| v.iter().for_each(|x| x.set(0)));
    }
    ALLOCS.with(|v| v.iter().for_each(|x| x.set(0)));
    set_counting(true);
}

/// Turns this thread's counting off and returns what each side did on this thread since
/// [`start`], `[client, server]`.
pub fn stop() -> [SideHeap; 2] {
    set_counting(false);
    let side = |s: Side| {
        let i = s.index();
        SideHeap {
            live: LIVE.with(|v| v[i].get()),
            peak: PEAK.with(|v| v[i].get()),
            allocations: ALLOCS.with(|v| v[i].get()),
        }
    };
    [side(Side::Client), side(Side::Server)]
}

/// Whether this binary interposes the allocator ([`crate::count_heap_allocations!`]): one
/// allocation made while counting is on must be seen.
pub fn installed() -> bool {
    let before = SEEN.load(Ordering::SeqCst);
    let was = COUNTING.with(|c| c.get());
    set_counting(true);
    let b = std::hint::black_box(Box::new([0u8; 64]));
    drop(b);
    set_counting(was);
    SEEN.load(Ordering::SeqCst) > before
}

/// Interposes the C allocator in the binary that invokes it (once, at the crate root), so
/// that [`crate::memory`] can count heap bytes per handshake side. The functions call glibc's
/// own allocator and report each block to this module; counting costs one relaxed atomic load
/// per call while it is off. Only binaries that measure memory (`tlscost`, its memory tests)
/// invoke it: the benchmarks keep the plain allocator.
#[macro_export]
macro_rules! count_heap_allocations {
    () => {
        mod tlscost_heap_interposer {
            use std::ffi::{c_int, c_void};
            use $crate::memory::heap::{allocated, freeing, set_enomem, EINVAL, ENOMEM};

            extern "C" {
                fn __libc_malloc(size: usize) -> *mut c_void;
                fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
                fn __libc_realloc(p: *mut c_void, size: usize) -> *mut c_void;
                fn __libc_free(p: *mut c_void);
                fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
                fn __libc_valloc(size: usize) -> *mut c_void;
                fn __libc_pvalloc(size: usize) -> *mut c_void;
            }

            /// # Safety
            /// The C `malloc` contract.
            #[no_mangle]
            pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
                let p = __libc_malloc(size);
                allocated(p);
                p
            }

            /// # Safety
            /// The C `calloc` contract.
            #[no_mangle]
            pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
                let p = __libc_calloc(n, size);
                allocated(p);
                p
            }

            /// # Safety
            /// The C `realloc` contract.
            #[no_mangle]
            pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
                freeing(p);
                let q = __libc_realloc(p, size);
                if q.is_null() && size != 0 {
                    // Failed: the old block is still there.
                    allocated(p);
                } else {
                    allocated(q);
                }
                q
            }

            /// # Safety
            /// The C `reallocarray` contract.
            #[no_mangle]
            pub unsafe extern "C" fn reallocarray(
                p: *mut c_void,
                n: usize,
                size: usize,
            ) -> *mut c_void {
                match n.checked_mul(size) {
                    Some(total) => realloc(p, total),
                    None => {
                        set_enomem();
                        std::ptr::null_mut()
                    }
                }
            }

            /// # Safety
            /// The C `free` contract.
            #[no_mangle]
            pub unsafe extern "C" fn free(p: *mut c_void) {
                freeing(p);
                __libc_free(p)
            }

            /// # Safety
            /// The C `posix_memalign` contract.
            #[no_mangle]
            pub unsafe extern "C" fn posix_memalign(
                out: *mut *mut c_void,
                align: usize,
                size: usize,
            ) -> c_int {
                if !align.is_power_of_two() || align % std::mem::size_of::<usize>() != 0 {
                    return EINVAL;
                }
                let p = __libc_memalign(align, size);
                if p.is_null() {
                    return ENOMEM;
                }
                allocated(p);
                *out = p;
                0
            }

            /// # Safety
            /// The C `aligned_alloc` contract.
            #[no_mangle]
            pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
                let p = __libc_memalign(align, size);
                allocated(p);
                p
            }

            /// # Safety
            /// The C `memalign` contract.
            #[no_mangle]
            pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
                let p = __libc_memalign(align, size);
                allocated(p);
                p
            }

            /// # Safety
            /// The C `valloc` contract.
            #[no_mangle]
            pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
                let p = __libc_valloc(size);
                allocated(p);
                p
            }

            /// # Safety
            /// The C `pvalloc` contract.
            #[no_mangle]
            pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
                let p = __libc_pvalloc(size);
                allocated(p);
                p
            }
        }
    };
}
