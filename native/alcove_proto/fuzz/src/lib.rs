//! Shared by the fuzz targets: a global allocator that tracks the peak of
//! live heap bytes, so a target can check that a decoder allocates in
//! proportion to its input and not to the lengths written in it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

pub struct Tracking;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(n: usize) {
    let live = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(live, Relaxed);
}

fn shrink(n: usize) {
    LIVE.fetch_sub(n, Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters are only bookkeeping.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size > layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        p
    }
}

/// Run `f` and return its result with the peak of heap bytes it had live
/// at once (beyond what was live before it started).
pub fn peak_alloc<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let result = f();
    (result, PEAK.load(Relaxed).saturating_sub(base))
}

/// How many heap bytes per input byte a decoder may hold at once before a
/// target reports it. A decoded `Value` legitimately takes more room than
/// its encoding (a 2-byte empty atom becomes a whole `Value`), so the bound
/// is a multiple of the input, set with `ALCOVE_FUZZ_ALLOC_FACTOR`
/// (default 32; 0 turns the check off).
pub fn alloc_factor() -> usize {
    static FACTOR: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *FACTOR.get_or_init(|| {
        std::env::var("ALCOVE_FUZZ_ALLOC_FACTOR").ok().and_then(|v| v.parse().ok()).unwrap_or(32)
    })
}

/// Panic (so libFuzzer records the input) when `peak` is over the bound for
/// an input of `len` bytes.
pub fn check_alloc(what: &str, len: usize, peak: usize) {
    let factor = alloc_factor();
    if factor > 0 && peak > factor * len + 4096 {
        panic!("{what}: {peak} heap bytes live at once for {len} input bytes (bound {factor} x len + 4096)");
    }
}
