//! Large arrays of per-job state, backed by huge pages where the system allows it.
//!
//! The engine keeps a record per workload job: over a hundred megabytes for a million jobs, accessed at random
//! while jobs finish. With 4 KiB pages most of those accesses also miss the TLB, and filling the array takes
//! tens of thousands of page faults. On Linux with transparent huge pages in `madvise` mode, the engine asks
//! for 2 MiB pages for such arrays (about 8 % off the 1M-job benchmark); under `always` they are used anyway,
//! under `never` the request is ignored. It changes nothing but speed.

/// Below this many bytes the request is not worth a system call.
const HUGE_MIN: usize = 8 << 20;

/// An empty vector with room for `n` elements, asking the system to back it with huge pages when large.
pub fn huge_vec<T>(n: usize) -> Vec<T> {
    let v: Vec<T> = Vec::with_capacity(n);
    // `with_capacity` has checked that the allocation's size fits in `isize`; zero-sized elements allocate nothing.
    advise_huge(v.as_ptr().cast(), v.capacity() * std::mem::size_of::<T>());
    v
}

/// Huge pages form only on ranges aligned to their size (2 MiB on x86-64 and on arm64 with 4 KiB pages).
const HUGE_PAGE: usize = 2 << 20;

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn advise_huge(p: *const u8, bytes: usize) {
    if bytes < HUGE_MIN {
        return;
    }
    // Advise only the whole huge-page-aligned ranges inside the allocation: aligned for every base page size,
    // and the part that could be backed by huge pages anyway.
    let start = p.addr().next_multiple_of(HUGE_PAGE);
    let end = (p.addr() + bytes) & !(HUGE_PAGE - 1);
    if end <= start {
        return;
    }
    // SAFETY: `[start, end)` lies inside this process's own live allocation of `bytes` bytes at `p`, and is
    // aligned to a multiple of every base page size, so the kernel rounds nothing outward. MADV_HUGEPAGE is advice
    // only: it changes how the kernel backs the pages, never their contents or their validity. A failure (e.g. a
    // kernel without transparent huge pages) leaves the pages as they were, which is correct, so it is ignored.
    unsafe {
        libc::madvise(
            p.wrapping_add(start - p.addr()).cast_mut().cast(),
            end - start,
            libc::MADV_HUGEPAGE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_: *const u8, _: usize) {}
