//! Node indexes with O(1) updates: a bitset over node ids, and the fit index built on it.
//!
//! Every task start and end changes a node's free resources, and so its place in the indexes; at
//! simulation scale that happens millions of times on tens of thousands of nodes. An ordered tree pays a
//! few cache misses per level for each move. Here a move is a bit flip: the fit index keeps, for each
//! count of free whole GPUs, a bitset of the nodes whose devices are all either free or busy (the common
//! case: whole-GPU jobs), and only nodes with a partly used device in an ordered set. Queries walk the
//! bitsets with a summary word per 64 words, so the next node in order is found in a few word scans.

use std::collections::BTreeSet;
use std::ops::Bound;

use crate::cluster::FitKey;
use crate::spec::NodeId;

/// A set of node ids, ordered, as a two-level bitset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NodeBits {
    words: Vec<u64>,
    /// Bit `i` set when `words[i]` is not zero.
    summary: Vec<u64>,
    len: u32,
}

impl NodeBits {
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Adds `id`; returns whether it was absent.
    #[inline(always)]
    pub fn insert(&mut self, id: NodeId) -> bool {
        let i = id.0 as usize;
        if self.words.len() <= i / 64 {
            self.words.resize(i / 64 + 1, 0);
            self.summary.resize(self.words.len().div_ceil(64), 0);
        }
        let w = &mut self.words[i / 64];
        let bit = 1 << (i % 64);
        if *w & bit != 0 {
            return false;
        }
        *w |= bit;
        self.summary[i / 4096] |= 1 << ((i / 64) % 64);
        self.len += 1;
        true
    }

    /// Removes `id`; returns whether it was present.
    #[inline(always)]
    pub fn remove(&mut self, id: NodeId) -> bool {
        let i = id.0 as usize;
        let Some(w) = self.words.get_mut(i / 64) else {
            return false;
        };
        let bit = 1 << (i % 64);
        if *w & bit == 0 {
            return false;
        }
        *w &= !bit;
        if *w == 0 {
            self.summary[i / 4096] &= !(1 << ((i / 64) % 64));
        }
        self.len -= 1;
        true
    }

    /// The smallest id `>= from`.
    pub fn first_from(&self, from: u32) -> Option<NodeId> {
        let i = from as usize;
        let wi = i / 64;
        let w = *self.words.get(wi)?;
        let masked = w & (u64::MAX << (i % 64));
        if masked != 0 {
            return Some(NodeId((wi * 64) as u32 + masked.trailing_zeros()));
        }
        // The next non-empty word after `wi`, through the summary.
        let next = wi + 1;
        let mut si = next / 64;
        let mut s = self.summary.get(si)? & u64::MAX.checked_shl((next % 64) as u32).unwrap_or(0);
        loop {
            if s != 0 {
                let wj = si * 64 + s.trailing_zeros() as usize;
                return Some(NodeId((wj * 64) as u32 + self.words[wj].trailing_zeros()));
            }
            si += 1;
            s = *self.summary.get(si)?;
        }
    }

    /// The largest id `<= upto`.
    pub fn last_upto(&self, upto: u32) -> Option<NodeId> {
        if self.words.is_empty() {
            return None;
        }
        let i = (upto as usize).min(self.words.len() * 64 - 1);
        let wi = i / 64;
        let masked = self.words[wi] & (u64::MAX >> (63 - i % 64));
        if masked != 0 {
            return Some(NodeId((wi * 64 + 63 - masked.leading_zeros() as usize) as u32));
        }
        if wi == 0 {
            return None;
        }
        let prev = wi - 1;
        let mut si = prev / 64;
        let mut s = self.summary[si] & (u64::MAX >> (63 - prev % 64));
        loop {
            if s != 0 {
                let wj = si * 64 + 63 - s.leading_zeros() as usize;
                return Some(NodeId((wj * 64 + 63 - self.words[wj].leading_zeros() as usize) as u32));
            }
            if si == 0 {
                return None;
            }
            si -= 1;
            s = self.summary[si];
        }
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = NodeId> + '_ {
        let mut next = Some(0u32);
        std::iter::from_fn(move || {
            let id = self.first_from(next?)?;
            next = id.0.checked_add(1);
            Some(id)
        })
    }
}

/// An ordered set of [`FitKey`]s (one pool's schedulable nodes in best-fit order).
#[derive(Clone, Debug, Default)]
pub(crate) struct FitIndex {
    /// `clean[w]`: nodes with `w` free whole devices and no partly used one (`max_partial == 0`).
    clean: Vec<NodeBits>,
    /// Nodes with a partly used device.
    partial: BTreeSet<FitKey>,
}

/// The smallest key above `k`.
fn succ(k: FitKey) -> Option<FitKey> {
    if let Some(node) = k.node.0.checked_add(1) {
        return Some(FitKey {
            node: NodeId(node),
            ..k
        });
    }
    if let Some(p) = k.max_partial.checked_add(1) {
        return Some(FitKey {
            max_partial: p,
            node: NodeId(0),
            ..k
        });
    }
    Some(FitKey {
        free_whole: k.free_whole.checked_add(1)?,
        max_partial: 0,
        node: NodeId(0),
    })
}

/// The largest key below `k`.
fn pred(k: FitKey) -> Option<FitKey> {
    if let Some(node) = k.node.0.checked_sub(1) {
        return Some(FitKey {
            node: NodeId(node),
            ..k
        });
    }
    if let Some(p) = k.max_partial.checked_sub(1) {
        return Some(FitKey {
            max_partial: p,
            node: NodeId(u32::MAX),
            ..k
        });
    }
    Some(FitKey {
        free_whole: k.free_whole.checked_sub(1)?,
        max_partial: u32::MAX,
        node: NodeId(u32::MAX),
    })
}

fn lower(b: Bound<FitKey>) -> Option<FitKey> {
    match b {
        Bound::Included(k) => Some(k),
        Bound::Excluded(k) => succ(k),
        Bound::Unbounded => Some(FitKey {
            free_whole: 0,
            max_partial: 0,
            node: NodeId(0),
        }),
    }
}

/// The largest key.
const MAX_KEY: FitKey = FitKey {
    free_whole: u32::MAX,
    max_partial: u32::MAX,
    node: NodeId(u32::MAX),
};

fn upper(b: Bound<FitKey>) -> Option<FitKey> {
    match b {
        Bound::Included(k) => Some(k),
        Bound::Excluded(k) => pred(k),
        Bound::Unbounded => Some(MAX_KEY),
    }
}

impl FitIndex {
    #[inline(always)]
    pub fn insert(&mut self, k: FitKey) {
        if k.max_partial == 0 {
            let w = k.free_whole as usize;
            if self.clean.len() <= w {
                self.clean.resize_with(w + 1, NodeBits::default);
            }
            self.clean[w].insert(k.node);
        } else {
            self.partial.insert(k);
        }
    }

    #[inline(always)]
    pub fn remove(&mut self, k: FitKey) {
        if k.max_partial == 0 {
            if let Some(bits) = self.clean.get_mut(k.free_whole as usize) {
                bits.remove(k.node);
            }
        } else {
            self.partial.remove(&k);
        }
    }

    /// The smallest key within `[lo, hi]`.
    pub fn first_in(&self, lo: Bound<FitKey>, hi: Bound<FitKey>) -> Option<FitKey> {
        self.end_in(lo, hi, false)
    }

    /// The largest key within `[lo, hi]`.
    pub fn last_in(&self, lo: Bound<FitKey>, hi: Bound<FitKey>) -> Option<FitKey> {
        self.end_in(lo, hi, true)
    }

    /// The smallest (or, `back`, the largest) key within `[lo, hi]`.
    fn end_in(&self, lo: Bound<FitKey>, hi: Bound<FitKey>, back: bool) -> Option<FitKey> {
        let (lo, hi) = (lower(lo)?, upper(hi)?);
        if lo > hi {
            return None;
        }
        if !back && hi == MAX_KEY && lo.max_partial == 0 && self.partial.is_empty() {
            // The common query (best fit with whole GPUs only): the first node at or after `lo`, level by level.
            let mut from = lo.node.0;
            for (w, bits) in self.clean.iter().enumerate().skip(lo.free_whole as usize) {
                if bits.len() > 0 {
                    if let Some(node) = bits.first_from(from) {
                        return Some(FitKey {
                            free_whole: w as u32,
                            max_partial: 0,
                            node,
                        });
                    }
                }
                from = 0;
            }
            return None;
        }
        let p = if self.partial.is_empty() {
            None
        } else {
            let mut range = self.partial.range(lo..=hi);
            if back { range.next_back() } else { range.next() }.copied()
        };
        // The first clean key (w, 0, n) from the chosen end: at lo's level only at or after lo (none if lo has
        // a partial part); at hi's level only up to hi (all of them if hi has a partial part).
        let clean = |w: usize| -> Option<FitKey> {
            let bits = &self.clean[w];
            if bits.len() == 0 {
                return None;
            }
            let node = if back {
                let at_hi = w == hi.free_whole as usize && hi.max_partial == 0;
                bits.last_upto(if at_hi { hi.node.0 } else { u32::MAX })?
            } else if w == lo.free_whole as usize {
                if lo.max_partial > 0 {
                    return None;
                }
                bits.first_from(lo.node.0)?
            } else {
                bits.first_from(0)?
            };
            Some(FitKey {
                free_whole: w as u32,
                max_partial: 0,
                node,
            })
        };
        let mut levels = lo.free_whole as usize..(hi.free_whole as usize + 1).min(self.clean.len());
        let c = if back {
            levels.rev().find_map(clean)
        } else {
            levels.find_map(clean)
        };
        let best = match (c, p) {
            (Some(c), Some(p)) if back => c.max(p),
            (Some(c), Some(p)) => c.min(p),
            (c, p) => c.or(p)?,
        };
        let inside = if back { best >= lo } else { best <= hi };
        inside.then_some(best)
    }

    /// Every key, ascending (for audits).
    pub fn to_set(&self) -> BTreeSet<FitKey> {
        let mut all = self.partial.clone();
        for (w, bits) in self.clean.iter().enumerate() {
            all.extend(bits.iter().map(|node| FitKey {
                free_whole: w as u32,
                max_partial: 0,
                node,
            }));
        }
        all
    }
}

/// The keys of a [`FitIndex`] within a range, from either end.
pub(crate) struct FitRange<'a> {
    index: &'a FitIndex,
    lo: Bound<FitKey>,
    hi: Bound<FitKey>,
}

impl<'a> FitRange<'a> {
    pub fn new(index: &'a FitIndex, lo: Bound<FitKey>, hi: Bound<FitKey>) -> FitRange<'a> {
        FitRange { index, lo, hi }
    }
}

impl Iterator for FitRange<'_> {
    type Item = FitKey;
    fn next(&mut self) -> Option<FitKey> {
        let k = self.index.first_in(self.lo, self.hi)?;
        self.lo = Bound::Excluded(k);
        Some(k)
    }
}

impl DoubleEndedIterator for FitRange<'_> {
    fn next_back(&mut self) -> Option<FitKey> {
        let k = self.index.last_in(self.lo, self.hi)?;
        self.hi = Bound::Excluded(k);
        Some(k)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key(w: u32, p: u32, n: u32) -> FitKey {
        FitKey {
            free_whole: w,
            max_partial: p,
            node: NodeId(n),
        }
    }

    fn bound() -> impl Strategy<Value = Bound<FitKey>> {
        let k = (
            0u32..5,
            prop::sample::select(vec![0u32, 1, 250, 999, u32::MAX]),
            0u32..300,
        )
            .prop_map(|(w, p, n)| key(w, p, n));
        prop_oneof![
            k.clone().prop_map(Bound::Included),
            k.prop_map(Bound::Excluded),
            Just(Bound::Unbounded)
        ]
    }

    proptest! {
        /// The bitset answers like an ordered set of ids.
        #[test]
        fn bits_behave_like_a_set(ops in prop::collection::vec((any::<bool>(), 0u32..9000), 0..300), probe in 0u32..10_000) {
            let mut bits = NodeBits::default();
            let mut model = BTreeSet::new();
            for (ins, n) in ops {
                if ins {
                    prop_assert_eq!(bits.insert(NodeId(n)), model.insert(n));
                } else {
                    prop_assert_eq!(bits.remove(NodeId(n)), model.remove(&n));
                }
                prop_assert_eq!(bits.len() as usize, model.len());
            }
            prop_assert_eq!(bits.first_from(probe).map(|n| n.0), model.range(probe..).next().copied());
            prop_assert_eq!(bits.last_upto(probe).map(|n| n.0), model.range(..=probe).next_back().copied());
            prop_assert_eq!(bits.iter().map(|n| n.0).collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
        }

        /// Ranges of the fit index, walked from both ends, match the same ranges of an ordered set.
        #[test]
        fn fit_ranges_match_an_ordered_set(
            keys in prop::collection::vec((0u32..5, prop::sample::select(vec![0u32, 0, 1, 250, 999]), 0u32..300), 0..80),
            removed in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
            lo in bound(), hi in bound(), from_back in prop::collection::vec(any::<bool>(), 0..100),
            clean_only in any::<bool>(),
        ) {
            let mut index = FitIndex::default();
            let mut model = BTreeSet::new();
            for (w, p, n) in keys {
                // Often no node has a partly used device (whole-GPU workloads; the indexes' fast path).
                let p = if clean_only { 0 } else { p };
                // One key per node, as in the cluster.
                if model.iter().any(|k: &FitKey| k.node == NodeId(n)) {
                    continue;
                }
                index.insert(key(w, p, n));
                model.insert(key(w, p, n));
            }
            for r in removed {
                if model.is_empty() { break; }
                let k = *model.iter().nth(r.index(model.len())).unwrap();
                index.remove(k);
                model.remove(&k);
            }
            prop_assert_eq!(index.to_set(), model.clone());
            let valid = match (lower(lo), upper(hi)) { (Some(l), Some(h)) => l <= h, _ => false };
            let mut want: Vec<FitKey> = if valid { model.range((lo, hi)).copied().collect() } else { Vec::new() };
            let mut got = FitRange::new(&index, lo, hi);
            for back in from_back {
                let (g, w) = if back { (got.next_back(), want.pop()) } else {
                    (got.next(), if want.is_empty() { None } else { Some(want.remove(0)) })
                };
                prop_assert_eq!(g, w);
            }
        }
    }
}

/// Schedulable nodes by (free milli-CPU, id), brought up to date lazily.
///
/// Only CPU-only tasks (and policies that ask) search by free CPU, but every task start and end moves
/// its node's key. So moves are only noted ([`CpuIndex::mark`], O(1)), and applied when the index is
/// next read ([`CpuIndex::sync`]); a workload that never searches by CPU never pays for the tree.
#[derive(Clone, Debug, Default)]
pub(crate) struct CpuIndex {
    set: BTreeSet<(u64, NodeId)>,
    /// The key each node is in `set` under, by node id.
    keyed: Vec<Option<u64>>,
    /// Nodes whose key may have changed since the last sync, each once (`queued`).
    dirty: Vec<NodeId>,
    queued: NodeBits,
}

impl CpuIndex {
    /// Notes that node `id`'s key may have changed.
    pub fn mark(&mut self, id: NodeId) {
        if self.queued.insert(id) {
            self.dirty.push(id);
        }
    }

    /// Applies the noted changes; `key(id)` is a node's current key (`None`: not indexed).
    pub fn sync(&mut self, key: impl Fn(NodeId) -> Option<u64>) {
        for id in std::mem::take(&mut self.dirty) {
            self.queued.remove(id);
            let i = id.0 as usize;
            if self.keyed.len() <= i {
                self.keyed.resize(i + 1, None);
            }
            let new = key(id);
            if self.keyed[i] == new {
                continue;
            }
            if let Some(c) = self.keyed[i] {
                self.set.remove(&(c, id));
            }
            if let Some(c) = new {
                self.set.insert((c, id));
            }
            self.keyed[i] = new;
        }
    }

    pub fn is_synced(&self) -> bool {
        self.dirty.is_empty()
    }

    /// The first (or, `back`, the last) entry within `[lo, hi]` of a synced index.
    pub fn end_in(&self, lo: Bound<(u64, NodeId)>, hi: Bound<(u64, NodeId)>, back: bool) -> Option<(u64, NodeId)> {
        debug_assert!(self.is_synced());
        let empty = match (lo, hi) {
            (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => a > b,
            _ => false,
        };
        if empty {
            return None;
        }
        let mut range = self.set.range((lo, hi));
        if back { range.next_back() } else { range.next() }.copied()
    }

    /// Every entry, ascending (for audits).
    pub fn set(&self) -> &BTreeSet<(u64, NodeId)> {
        &self.set
    }
}
