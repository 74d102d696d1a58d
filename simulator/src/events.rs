//! The engine's queue of completion events: a radix heap with a short look-ahead in front.
//!
//! Simulated time never goes back, so every event pushed is at or after the last time popped; a radix
//! heap exploits that. Events sit in buckets by the highest bit in which their time differs from the last
//! popped time; a push appends to a bucket, and a pop empties the lowest non-empty bucket into lower ones,
//! so each event moves a few times at most, always through memory that is read in order. With tens of
//! thousands of jobs running, a binary heap's sift-down misses the cache at every level; this does not.
//!
//! Events of one time come out together, ordered by (job, generation): the same order as a binary heap
//! of `(time, job, generation)` tuples.
//!
//! In front of the heap sits a short sorted run of the earliest events, filled from the radix heap a time
//! at a time by [`Completions::look_ahead`], which names each event as it enters: the engine uses that to
//! have a job's records brought into the cache a few events before it finishes the job. An event pushed
//! earlier than the run's end (rare: most jobs run far longer than the run reaches) waits in a small binary
//! heap beside it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A completion: (time in ms, job index, generation of the run it ends).
pub type Completion = (u64, u32, u32);

/// Completion events, popped a time at a time.
#[derive(Debug, Default)]
pub struct Completions {
    /// Events taken from `heap`, in order.
    run: VecDeque<Completion>,
    /// Events pushed before `horizon`.
    early: BinaryHeap<Reverse<Completion>>,
    /// The latest event taken from `heap`: no event in `heap` is before it.
    horizon: Completion,
    heap: RadixHeap,
    /// Reused buffer: the events of one time leaving `heap`.
    batch: Vec<Completion>,
}

impl Completions {
    /// Adds an event; `time` must not be before the last time popped.
    pub fn push(&mut self, time: u64, job: u32, generation: u32) {
        let e = (time, job, generation);
        if e < self.horizon {
            self.early.push(Reverse(e));
        } else {
            self.heap.push(time, job, generation);
        }
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.run.len() + self.early.len() + self.heap.len
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves the heap's earliest time onto the run, naming each event to `entered`.
    fn advance(&mut self, entered: &mut impl FnMut(Completion)) {
        self.heap.pop_earliest_into(&mut self.batch);
        self.batch.sort_unstable();
        for e in self.batch.drain(..) {
            entered(e);
            self.run.push_back(e);
            self.horizon = e;
        }
    }

    /// Brings events onto the run, a time at a time, until it holds at least `n` (or none is left), naming
    /// each event as it enters. An event pushed before the run's end is never named.
    pub fn look_ahead(&mut self, n: usize, mut entered: impl FnMut(Completion)) {
        while self.run.len() < n && self.heap.len > 0 {
            self.advance(&mut entered);
        }
    }

    /// The earliest event.
    fn front(&self) -> Option<Completion> {
        match (self.run.front(), self.early.peek()) {
            (Some(&a), Some(&Reverse(b))) => Some(a.min(b)),
            (a, b) => a.copied().or(b.map(|r| r.0)),
        }
    }

    /// The earliest event's time.
    pub fn next_time(&mut self) -> Option<u64> {
        self.look_ahead(1, |_| {});
        self.front().map(|e| e.0)
    }

    /// Moves every event at the earliest time into `out` (cleared first), in (job, generation) order;
    /// returns that time.
    pub fn pop_earliest(&mut self, out: &mut Vec<(u32, u32)>) -> Option<u64> {
        out.clear();
        let t = self.next_time()?;
        loop {
            while let Some(e) = self.front().filter(|e| e.0 == t) {
                out.push((e.1, e.2));
                if self.run.front() == Some(&e) {
                    self.run.pop_front();
                } else {
                    self.early.pop();
                }
            }
            // The run ended inside time `t`: the heap may hold the rest of it.
            if !self.run.is_empty() || self.heap.next_time() != Some(t) {
                return Some(t);
            }
            self.advance(&mut |_| {});
        }
    }
}

/// The radix heap behind the run.
#[derive(Debug)]
struct RadixHeap {
    /// `buckets[0]`: events at `last`; `buckets[b]`: events whose time first differs from `last` in
    /// bit `b - 1`.
    buckets: [Vec<Completion>; 65],
    /// The last time popped: no event is earlier.
    last: u64,
    len: usize,
    /// The earliest event's time, when known.
    min: Option<u64>,
}

impl Default for RadixHeap {
    fn default() -> Self {
        RadixHeap {
            buckets: std::array::from_fn(|_| Vec::new()),
            last: 0,
            len: 0,
            min: None,
        }
    }
}

impl RadixHeap {
    fn bucket(last: u64, time: u64) -> usize {
        (u64::BITS - (time ^ last).leading_zeros()) as usize
    }

    fn push(&mut self, time: u64, job: u32, generation: u32) {
        debug_assert!(time >= self.last, "an event in the past");
        self.buckets[Self::bucket(self.last, time)].push((time, job, generation));
        self.min = match self.min {
            Some(m) => Some(m.min(time)),
            None if self.len == 0 => Some(time),
            None => None,
        };
        self.len += 1;
    }

    fn next_time(&mut self) -> Option<u64> {
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

    /// Appends every event at the earliest time to `out`, in no particular order.
    fn pop_earliest_into(&mut self, out: &mut Vec<Completion>) {
        let Some(t) = self.next_time() else { return };
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
        let now = &mut self.buckets[0];
        self.len -= now.len();
        out.append(now);
        self.min = None;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Interleaved pushes (never before the current time), look-aheads and pops give exactly the binary
        /// heap's order of (time, job, generation), and never split the events of one time.
        #[test]
        fn pops_like_a_binary_heap(steps in prop::collection::vec(
            (prop::collection::vec((0u64..5000, 0u32..50, 0u32..3), 0..10), 0usize..48), 1..60)) {
            let mut q = Completions::default();
            let mut heap = BinaryHeap::new();
            let mut now = 0u64;
            let mut out = Vec::new();
            let mut named = std::collections::BTreeSet::new();
            let mut seen = std::collections::BTreeSet::new();
            for (pushes, ahead) in steps {
                for (dt, job, gen) in pushes {
                    // Times far apart and close together, to exercise high and low buckets.
                    let t = now + if dt % 7 == 0 { dt << 20 } else { dt % 64 };
                    if !seen.insert((t, job, gen)) {
                        continue; // The engine never pushes one event twice.
                    }
                    if (t, job, gen) < q.horizon {
                        // Enters the look-ahead directly, unnamed by design.
                        named.insert((t, job, gen));
                    }
                    q.push(t, job, gen);
                    heap.push(Reverse((t, job, gen)));
                }
                prop_assert_eq!(q.len(), heap.len());
                let mut entered = Vec::new();
                q.look_ahead(ahead, |e| entered.push(e));
                // What enters is the earliest events not named before, each once.
                let pending: Vec<_> = heap.clone().into_sorted_vec().into_iter().rev().map(|Reverse(e)| e).collect();
                for e in &entered {
                    prop_assert!(pending.contains(e) && named.insert(*e), "{e:?} named twice or not pending");
                }
                let known = pending.iter().take_while(|e| named.contains(e)).count();
                prop_assert!(known >= ahead.min(pending.len()), "look_ahead({}) left the earliest events unnamed", ahead);
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
