//! A counting allocator for the tests that bound what decoding allocates. A test binary
//! installs it with `#[global_allocator] static ALLOCATOR: Counting = Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting on each thread the largest single request and the bytes in
/// flight (each test, and each proptest run, stays on one thread).
pub struct Counting;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note_request(size: usize) {
    // `try_with`: the thread-locals may already be gone while a thread exits.
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

fn note_live(delta: isize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + delta);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_request(layout.size());
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            note_live(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_request(layout.size());
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            note_live(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note_live(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_request(new_size);
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Counted as a copy, both blocks live at once: an upper bound on the peak.
            note_live(new_size as isize);
            note_live(-(layout.size() as isize));
        }
        new
    }
}

/// What `f` asked of the allocator on this thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// The largest single allocation or reallocation requested, in bytes.
    pub largest: usize,
    /// The most bytes in flight at once, above what was live before (the result included).
    pub peak: usize,
}

pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let start = LIVE.with(Cell::get);
    LARGEST.with(|largest| largest.set(0));
    PEAK.with(|peak| peak.set(start));
    let result = f();
    let usage = Usage {
        largest: LARGEST.with(Cell::get),
        peak: (PEAK.with(Cell::get) - start).max(0) as usize,
    };
    (result, usage)
}
