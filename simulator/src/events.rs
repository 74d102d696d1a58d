//! The engine's queue of completion events: a radix heap.
//!
//! Simulated time never goes back, so every event pushed is at or after the last time popped; a radix
//! heap exploits that. Events sit in buckets by the highest bit in which their time differs from the last
//! popped time; a push appends to a bucket, and a pop empties the lowest non-empty bucket into lower ones,
//! so each event moves a few times at most, always through memory that is read in order. With tens of
//! thousands of jobs running, a binary heap's sift-down misses the cache at every level; this does not.
//!
//! Events of one time come out together, ordered by (job, generation): the same order as a binary heap
//! of `(time, job, generation)` tuples.

/// A completion: (time in ms, job index, generation of the run it ends).
pub type Completion = (u64, u32, u32);

/// Completion events, popped a time at a time.
#[derive(Debug)]
pub struct Completions {
    /// `buckets[0]`: events at `last`; `buckets[b]`: events whose time first differs from `last` in
    /// bit `b - 1`.
    buckets: [Vec<Completion>; 65],
    /// The last time popped: no event is earlier.
    last: u64,
    len: usize,
    /// The earliest event's time, when known.
    min: Option<u64>,
}

impl Default for Completions {
    fn default() -> Self {
        Completions {
            buckets: std::array::from_fn(|_| Vec::new()),
            last: 0,
            len: 0,
            min: None,
        }
    }
}

impl Completions {
    fn bucket(last: u64, time: u64) -> usize {
        (u64::BITS - (time ^ last).leading_zeros()) as usize
    }

    /// Adds an event; `time` must not be before the last time popped.
    pub fn push(&mut self, time: u64, job: u32, generation: u32) {
        debug_assert!(time >= self.last, "an event in the past");
        self.buckets[Self::bucket(self.last, time)].push((time, job, generation));
        self.min = match self.min {
            Some(m) => Some(m.min(time)),
            None if self.len == 0 => Some(time),
            None => None,
        };
        self.len += 1;
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The earliest event's time.
    pub fn next_time(&mut self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        if self.min.is_none() {
            // The earliest event is in the lowest non-empty bucket.
            let b = self.buckets.iter().position(|b| !b.is_empty()).expect("len > 0");
            self.min = self.buckets[b].iter().map(|e| e.0).min();
        }
        self.min
    }

    /// Moves every event at the earliest time into `out` (cleared first), in (job, generation) order;
    /// returns that time.
    pub fn pop_earliest(&mut self, out: &mut Vec<(u32, u32)>) -> Option<u64> {
        out.clear();
        let t = self.next_time()?;
        if self.buckets[0].is_empty() {
            let b = self.buckets.iter().position(|b| !b.is_empty()).expect("len > 0");
            self.last = t;
            let moved = std::mem::take(&mut self.buckets[b]);
            for &e in &moved {
                self.buckets[Self::bucket(t, e.0)].push(e);
            }
            // Keep a small bucket's allocation for later pushes; give a large one back, or every bucket would
            // keep the capacity of its busiest moment and together hold several times the events waiting.
            let mut moved = moved;
            if moved.capacity() <= 256 && self.buckets[b].is_empty() {
                moved.clear();
                self.buckets[b] = moved;
            }
        }
        debug_assert_eq!(self.last, t);
        out.extend(self.buckets[0].drain(..).map(|(_, j, g)| (j, g)));
        out.sort_unstable();
        self.len -= out.len();
        self.min = None;
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Interleaved pushes (never before the current time) and pops give exactly the binary heap's
        /// order of (time, job, generation).
        #[test]
        fn pops_like_a_binary_heap(steps in prop::collection::vec(
            prop::collection::vec((0u64..5000, 0u32..50, 0u32..3), 0..6), 1..60)) {
            let mut q = Completions::default();
            let mut heap = BinaryHeap::new();
            let mut now = 0u64;
            let mut out = Vec::new();
            for pushes in steps {
                for (dt, job, gen) in pushes {
                    // Times far apart and close together, to exercise high and low buckets.
                    let t = now + if dt % 7 == 0 { dt << 20 } else { dt };
                    q.push(t, job, gen);
                    heap.push(Reverse((t, job, gen)));
                }
                prop_assert_eq!(q.len(), heap.len());
                prop_assert_eq!(q.next_time(), heap.peek().map(|Reverse(e)| e.0));
                if let Some(t) = q.pop_earliest(&mut out) {
                    now = t;
                    let mut want = Vec::new();
                    while heap.peek().is_some_and(|Reverse(e)| e.0 == t) {
                        let Reverse((_, j, g)) = heap.pop().unwrap();
                        want.push((j, g));
                    }
                    prop_assert_eq!(&out, &want);
                }
            }
        }
    }
}
