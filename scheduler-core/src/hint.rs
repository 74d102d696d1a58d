//! Cache hints: ask the processor to start loading memory that will be read soon.
//!
//! A hint changes nothing a program can observe but its speed: it never faults, whatever the address, and
//! reads no value. The scheduler uses it for [`crate::Scheduler::expect_finish`]; drivers may use it for
//! their own records. On targets other than x86-64 it does nothing.

/// Starts loading the cache lines `*r` spans (at most 4: the hint is for records, not arrays).
#[inline(always)]
pub fn prefetch<T>(r: &T) {
    prefetch_span((r as *const T).cast(), std::mem::size_of::<T>());
}

/// Starts loading the cache lines `s` spans (at most its first 4).
#[inline(always)]
pub fn prefetch_slice<T>(s: &[T]) {
    prefetch_span(s.as_ptr().cast(), std::mem::size_of_val(s));
}

/// Starts loading the cache lines of the first `bytes` bytes of `*r` (at most 4 lines).
#[inline(always)]
pub(crate) fn prefetch_head<T>(r: &T, bytes: usize) {
    prefetch_span((r as *const T).cast(), bytes.min(std::mem::size_of::<T>()));
}

#[inline(always)]
fn prefetch_span(p: *const u8, bytes: usize) {
    if bytes == 0 {
        return;
    }
    let first = p.addr() & !63;
    let lines = (((p.addr() + bytes - 1) & !63) - first) / 64 + 1;
    let base = p.wrapping_sub(p.addr() - first);
    for i in 0..lines.min(4) {
        prefetch_addr(base.wrapping_add(64 * i));
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch_addr(p: *const u8) {
    // SAFETY: PREFETCHT0 is a hint: it does not fault on any address, reads no value into the program and
    // writes nothing; SSE, which it needs, is part of the x86_64 baseline.
    unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast()) }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn prefetch_addr(_: *const u8) {}
