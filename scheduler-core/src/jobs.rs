//! The table of known jobs: a slab of records found by [`JobId`] through an open-addressing index.
//!
//! The scheduler looks a job up several times in its life (submit, start, finish), and at simulation
//! scale the table holds tens of thousands of jobs: an ordered map pays a cache miss per tree level for
//! each of those lookups. Here a lookup is one probe of a flat index (ids hashed with a fixed
//! multiplicative hash, linear probing) and one slab access; freed slots are reused, so the memory is
//! proportional to the jobs in the table, not to all jobs ever seen.
//!
//! Determinism: the hash has no random state, and [`JobTable::iter`] walks the index in bucket order,
//! which depends only on the sequence of inserts and removals. Callers that need an order among jobs sort.

use crate::spec::JobId;

const EMPTY: u32 = u32::MAX;

/// A job's place in a [`JobTable`]: its index bucket and slot.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    bucket: usize,
    slot: u32,
}

/// Jobs by id.
#[derive(Clone, Debug)]
pub(crate) struct JobTable<T> {
    /// Records; `None` for a free slot (listed in `free`).
    slots: Vec<Option<T>>,
    free: Vec<u32>,
    /// `(id, slot)`, `slot == EMPTY` for an empty bucket. Length a power of two, at most 3/4 full.
    index: Box<[(u64, u32)]>,
    len: usize,
}

impl<T> Default for JobTable<T> {
    fn default() -> Self {
        JobTable {
            slots: Vec::new(),
            free: Vec::new(),
            index: vec![(0, EMPTY); 16].into_boxed_slice(),
            len: 0,
        }
    }
}

impl<T> JobTable<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.index.len() - 1
    }

    fn home(&self, id: JobId) -> usize {
        // Fibonacci hashing: the top bits of the product spread dense and strided ids alike.
        let bits = self.index.len().trailing_zeros();
        (id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// The index bucket holding `id`, if present.
    fn bucket(&self, id: JobId) -> Option<usize> {
        let mask = self.mask();
        let mut b = self.home(id);
        loop {
            let (key, slot) = self.index[b];
            if slot == EMPTY {
                return None;
            }
            if key == id.0 {
                return Some(b);
            }
            b = (b + 1) & mask;
        }
    }

    /// Where job `id` is, for several accesses with one lookup (valid until the table next changes).
    pub fn find(&self, id: &JobId) -> Option<Found> {
        let bucket = self.bucket(*id)?;
        Some(Found {
            bucket,
            slot: self.index[bucket].1,
        })
    }

    /// Cache hint: `id` will be looked up soon (loads its home bucket of the index).
    pub fn prefetch_bucket(&self, id: JobId) {
        crate::hint::prefetch(&self.index[self.home(id)]);
    }

    /// Cache hint: `id`'s record will be read soon (looks `id` up, so best after
    /// [`JobTable::prefetch_bucket`] had time to load the bucket). Returns the record's slot, for
    /// [`JobTable::in_slot`].
    pub fn prefetch_record(&self, id: JobId) -> Option<u32> {
        let f = self.find(&id)?;
        crate::hint::prefetch(&self.slots[f.slot as usize]);
        Some(f.slot)
    }

    /// The record in `slot`, if the slot is in use (by whichever job holds it now).
    pub fn in_slot(&self, slot: u32) -> Option<&T> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    pub fn at(&self, f: Found) -> &T {
        self.slots[f.slot as usize].as_ref().expect("found slots are used")
    }

    pub fn at_mut(&mut self, f: Found) -> &mut T {
        self.slots[f.slot as usize].as_mut().expect("found slots are used")
    }

    pub fn contains_key(&self, id: &JobId) -> bool {
        self.bucket(*id).is_some()
    }

    pub fn get(&self, id: &JobId) -> Option<&T> {
        let slot = self.index[self.bucket(*id)?].1;
        self.slots[slot as usize].as_ref()
    }

    pub fn get_mut(&mut self, id: &JobId) -> Option<&mut T> {
        let slot = self.index[self.bucket(*id)?].1;
        self.slots[slot as usize].as_mut()
    }

    /// Inserts a job whose id is not in the table.
    pub fn insert(&mut self, id: JobId, value: T) {
        debug_assert!(!self.contains_key(&id), "{id} is already in the table");
        if (self.len + 1) * 4 > self.index.len() * 3 {
            self.grow();
        }
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(value);
                s
            }
            None => {
                // Grow by a quarter, not double: the table is most of the scheduler's memory per job.
                if self.slots.len() == self.slots.capacity() {
                    self.slots.reserve_exact((self.slots.len() / 4).max(16));
                }
                self.slots.push(Some(value));
                (self.slots.len() - 1) as u32
            }
        };
        self.place(id.0, slot);
        self.len += 1;
    }

    fn place(&mut self, key: u64, slot: u32) {
        let mask = self.mask();
        let mut b = self.home(JobId(key));
        while self.index[b].1 != EMPTY {
            b = (b + 1) & mask;
        }
        self.index[b] = (key, slot);
    }

    fn grow(&mut self) {
        let bigger = vec![(0, EMPTY); self.index.len() * 2].into_boxed_slice();
        let old = std::mem::replace(&mut self.index, bigger);
        for (key, slot) in old.iter().copied().filter(|(_, s)| *s != EMPTY) {
            self.place(key, slot);
        }
    }

    pub fn remove(&mut self, id: &JobId) -> Option<T> {
        let found = self.find(id)?;
        Some(self.remove_at(found))
    }

    /// Removes the job at `f` (from [`JobTable::find`], with no change to the table since).
    pub fn remove_at(&mut self, f: Found) -> T {
        let (b, slot) = (f.bucket, f.slot);
        // Backward-shift deletion: pull later entries of the probe run into the hole when their home
        // allows, so that no lookup ever stops early at it.
        let mask = self.mask();
        let mut hole = b;
        let mut j = b;
        loop {
            j = (j + 1) & mask;
            let (key, s) = self.index[j];
            if s == EMPTY {
                break;
            }
            let home = self.home(JobId(key));
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.index[hole] = self.index[j];
                hole = j;
            }
        }
        self.index[hole] = (0, EMPTY);
        self.len -= 1;
        self.free.push(slot);
        self.slots[slot as usize].take().expect("found slots are used")
    }

    /// Every job, in index order (deterministic, but not meaningful: sort for an order).
    pub fn iter(&self) -> impl Iterator<Item = (JobId, &T)> {
        self.index.iter().filter(|(_, s)| *s != EMPTY).map(|&(id, s)| {
            (
                JobId(id),
                self.slots[s as usize].as_ref().expect("indexed slots are used"),
            )
        })
    }
}

impl<T> std::ops::Index<&JobId> for JobTable<T> {
    type Output = T;
    fn index(&self, id: &JobId) -> &T {
        self.get(id).expect("the job is in the table")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The table answers exactly like an ordered map under any sequence of inserts and removals.
        #[test]
        fn behaves_like_a_map(ops in prop::collection::vec((any::<bool>(), 0u64..64, any::<u8>()), 0..400),
                              stride in prop::sample::select(vec![1u64, 8, 1 << 20, 0x9E37_79B9])) {
            let mut table = JobTable::default();
            let mut model = BTreeMap::new();
            for (insert, k, v) in ops {
                let id = JobId(k.wrapping_mul(stride));
                if insert && !model.contains_key(&id) {
                    table.insert(id, v);
                    model.insert(id, v);
                } else if !insert {
                    prop_assert_eq!(table.remove(&id), model.remove(&id));
                }
                prop_assert_eq!(table.len(), model.len());
            }
            for k in 0..64u64 {
                let id = JobId(k.wrapping_mul(stride));
                prop_assert_eq!(table.get(&id), model.get(&id));
            }
            let mut all: Vec<_> = table.iter().map(|(id, v)| (id, *v)).collect();
            all.sort();
            prop_assert_eq!(all, model.into_iter().collect::<Vec<_>>());
        }
    }
}
