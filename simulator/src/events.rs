//! The engine's queue of completion events: a radix heap with a short look-ahead in front.
//!
//! Simulated time never goes back, so every event pushed is at or after the last time popped; a radix
//! heap exploits that. Events sit in buckets by the highest base-16 digit in which their time differs
//! from the last popped time, and by that digit; a push appends to a bucket, and a pop takes the lowest
//! non-empty bucket (found through a bitmap per level) and, unless it is a bucket of one time, spreads it
//! over the levels below. An event moves at most once per digit (six times for a job of hours), always
//! through memory that is read in order. With tens of thousands of jobs running, a binary heap's sift-down
//! misses the cache at every level; this does not.
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

    /// The earliest event's time. (When nothing is ahead of the heap, its earliest time moves onto the run
    /// unnamed: too late for a hint to help.)
    pub fn next_time(&mut self) -> Option<u64> {
        if self.run.is_empty() && self.early.is_empty() {
            self.look_ahead(1, |_| {});
        }
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
            // Nothing is left ahead of the heap: it may hold the rest of time `t` (events ahead of it are
            // before every event in it).
            if !self.run.is_empty() || !self.early.is_empty() || !self.heap.holds_last(t) {
                return Some(t);
            }
            self.advance(&mut |_| {});
        }
    }
}

/// Digits of 4 bits: 16 levels of 16 buckets cover every `u64` time.
const DIGIT_BITS: u32 = 4;
const BUCKETS: usize = 1 << DIGIT_BITS;
const LEVELS: usize = 64 / DIGIT_BITS as usize;
const DIGIT: u64 = BUCKETS as u64 - 1;

/// The radix heap behind the run, over base-16 digits of the time.
#[derive(Debug)]
struct RadixHeap {
    /// Bucket `level * BUCKETS + d` holds the events whose time agrees with `last` above digit `level` and
    /// has digit `level` equal to `d` (level 0: the events at time `last` with its lowest digit set to `d`).
    buckets: Box<[Vec<Completion>]>,
    /// A bit per non-empty bucket, in bucket order.
    occupied: [u64; LEVELS * BUCKETS / 64],
    /// The last time popped: no event is earlier.
    last: u64,
    len: usize,
}

impl Default for RadixHeap {
    fn default() -> Self {
        RadixHeap {
            buckets: (0..LEVELS * BUCKETS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS * BUCKETS / 64],
            last: 0,
            len: 0,
        }
    }
}

impl RadixHeap {
    /// The bucket of an event at `time`, given the last time popped.
    fn bucket(last: u64, time: u64) -> usize {
        let differ = time ^ last;
        let level = if differ == 0 {
            0
        } else {
            (63 - differ.leading_zeros()) / DIGIT_BITS
        };
        level as usize * BUCKETS + ((time >> (DIGIT_BITS * level)) & DIGIT) as usize
    }

    fn mark(&mut self, b: usize, occupied: bool) {
        let word = &mut self.occupied[b / 64];
        if occupied {
            *word |= 1 << (b % 64);
        } else {
            *word &= !(1 << (b % 64));
        }
    }

    fn put(&mut self, b: usize, e: Completion) {
        if self.buckets[b].is_empty() {
            self.mark(b, true);
        }
        self.buckets[b].push(e);
    }

    fn push(&mut self, time: u64, job: u32, generation: u32) {
        debug_assert!(time >= self.last, "an event in the past");
        self.put(Self::bucket(self.last, time), (time, job, generation));
        self.len += 1;
    }

    /// The lowest non-empty bucket: it holds the earliest events.
    fn lowest(&self) -> Option<usize> {
        let (w, bits) = self.occupied.iter().enumerate().find(|(_, &bits)| bits != 0)?;
        Some(w * 64 + bits.trailing_zeros() as usize)
    }

    /// Whether the heap holds an event at `t`, given that none of its events is before `t` (as for the time
    /// being popped): such an event is at `last`, in the lowest level.
    fn holds_last(&self, t: u64) -> bool {
        debug_assert!(self.next_time().is_none_or(|m| m >= t));
        t == self.last && self.occupied[0] & (1 << (t & DIGIT)) != 0
    }

    fn next_time(&self) -> Option<u64> {
        let b = self.lowest()?;
        if b < BUCKETS {
            return Some(self.last & !DIGIT | b as u64);
        }
        self.buckets[b].iter().map(|e| e.0).min()
    }

    /// Appends every event at the earliest time to `out`, in no particular order.
    fn pop_earliest_into(&mut self, out: &mut Vec<Completion>) {
        let Some(mut b) = self.lowest() else { return };
        if b >= BUCKETS {
            // Every lower level is empty: spread this bucket over the levels below, around its earliest time.
            let mut moved = std::mem::take(&mut self.buckets[b]);
            self.mark(b, false);
            let t = moved.iter().map(|e| e.0).min().expect("occupied buckets are not empty");
            self.last = t;
            for &e in &moved {
                self.put(Self::bucket(t, e.0), e);
            }
            // Keep a small bucket's allocation for later pushes; give a large one back, or every bucket would
            // keep the capacity of its busiest moment and together hold several times the events waiting.
            if moved.capacity() <= 256 {
                moved.clear();
                self.buckets[b] = moved;
            }
            b = (t & DIGIT) as usize;
        }
        self.last = self.last & !DIGIT | b as u64;
        self.mark(b, false);
        self.len -= self.buckets[b].len();
        out.append(&mut self.buckets[b]);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// An event pushed at the time the look-ahead reaches to, but after its last event, waits in the heap; the
    /// pop of that time still takes it with the run's events.
    #[test]
    fn one_time_is_never_split() {
        let mut q = Completions::default();
        q.push(10, 1, 0);
        q.push(20, 0, 0);
        q.look_ahead(1, |_| {});
        q.push(10, 5, 0);
        q.push(10, 0, 3);
        let mut out = Vec::new();
        assert_eq!(q.pop_earliest(&mut out), Some(10));
        assert_eq!(out, [(0, 3), (1, 0), (5, 0)]);
        assert_eq!(q.pop_earliest(&mut out), Some(20));
        assert_eq!(out, [(0, 0)]);
        assert!(q.is_empty());
    }

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
                    // Times far apart and close together, to exercise high and low buckets, and at the time
                    // the look-ahead reaches to (so that one time is split between the run and the heap).
                    let t = match dt % 7 {
                        0 => now + (dt << 20),
                        1 => q.horizon.0.max(now),
                        _ => now + dt % 64,
                    };
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
                let popped = q.pop_earliest(&mut out);
                // Events that moved onto the run only because nothing was ahead of the heap are not named.
                named.extend(q.run.iter().copied());
                if let Some(t) = popped {
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
