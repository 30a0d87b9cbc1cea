//! Hash maps keyed by the ids the session allocates itself ([`RequestId`](crate::RequestId),
//! [`ExchangeId`](crate::ExchangeId), an adapter's own counters).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hashes the ids the session allocates itself (in order, never chosen by a server, so no
/// flooding of one bucket): one multiplication, where the default SipHash costs tens of
/// instructions per lookup; and no random keys, so the core draws no randomness.
///
/// Not for keys a peer chooses (a server's JSON-RPC ids, header names): those want SipHash.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // The low bits, where a `HashMap` (hashbrown) places an entry, are the id's own: ids
        // made one after the other sit side by side, so a table walked or emptied in id order
        // (a session failing every request, an adapter then every call) reads its memory in
        // order, not at random. The top 7 bits, hashbrown's tag of an entry, are mixed by the
        // golden ratio's odd multiplier (Fibonacci hashing): neighbours' tags differ, and a
        // probe rarely compares a key in vain. (A multiplication alone would place entries no
        // better against ids a stride of a power of two apart: where it places an id depends
        // on the id's low bits only, as here.) The price: ids answered out of order inside a
        // run of neighbours leave tombstones, which the table clears by rehashing in place
        // now and then (about 350 instructions a call at 64 in flight, issue 15's load bench,
        // against failing 100,000 requests in 9-12 ms instead of 16-19).
        const TAG: u64 = 0x7f << 57;
        self.0 ^ (self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) & TAG)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(5) ^ n;
    }
}

/// A `HashMap` keyed by ids the session or an adapter allocates in order, hashed with
/// [`IdHasher`].
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// An id allocated in order from a counter.
pub(crate) trait Serial: Copy + Eq + std::hash::Hash + Ord {
    fn serial(self) -> u64;
    fn from_serial(n: u64) -> Self;
}

impl Serial for crate::RequestId {
    fn serial(self) -> u64 {
        self.0
    }
    fn from_serial(n: u64) -> Self {
        crate::RequestId(n)
    }
}

impl Serial for crate::ExchangeId {
    fn serial(self) -> u64 {
        self.0
    }
    fn from_serial(n: u64) -> Self {
        crate::ExchangeId(n)
    }
}

/// The keys of `map` whose values `pick` picks, with what it picked, in ascending order;
/// `next` is the counter's next value (every key is below it). See [`for_each_ascending`].
pub(crate) fn ascending<K: Serial, V, T>(
    map: &IdMap<K, V>,
    next: u64,
    pick: impl FnMut(&V) -> Option<T>,
) -> Vec<(K, T)> {
    let mut picked = Vec::new();
    for_each_ascending(map, next, pick, |k, t| picked.push((k, t)));
    picked
}

/// Calls `each` with the keys of `map` whose values `pick` picks, and what it picked, in
/// ascending order; `next` is the counter's next value (every key is below it). When the
/// keys fill most of the range from the oldest to `next` (the usual case: ids end roughly in
/// the order they began), each is placed by its id in one pass over the table in its memory
/// order, and the range read in order (no sorting, no lookup per id); else they are sorted.
pub(crate) fn for_each_ascending<K: Serial, V, T>(
    map: &IdMap<K, V>,
    next: u64,
    mut pick: impl FnMut(&V) -> Option<T>,
    mut each: impl FnMut(K, T),
) {
    let Some(oldest) = map.keys().map(|k| k.serial()).min() else {
        return;
    };
    let range = next.saturating_sub(oldest);
    if range <= 2 * map.len() as u64 + 64 {
        let mut slots: Vec<Option<T>> = (0..range).map(|_| None).collect();
        for (k, v) in map {
            if let Some(slot) = slots.get_mut((k.serial() - oldest) as usize) {
                *slot = pick(v);
            }
        }
        for (i, t) in slots.into_iter().enumerate() {
            if let Some(t) = t {
                each(K::from_serial(oldest + i as u64), t);
            }
        }
        return;
    }
    let mut picked: Vec<(K, T)> = map
        .iter()
        .filter_map(|(k, v)| pick(v).map(|t| (*k, t)))
        .collect();
    picked.sort_unstable_by_key(|(k, _)| *k);
    for (k, t) in picked {
        each(k, t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_ids_sit_side_by_side_with_tags_that_differ() {
        let hash = |n: u64| {
            let mut h = IdHasher::default();
            h.write_u64(n);
            h.finish()
        };
        // Where an entry goes (the low bits) is the id itself.
        let low = (1u64 << 57) - 1;
        assert!([0, 1, 2, 1000, 123_456_789, low]
            .iter()
            .all(|&n| hash(n) & low == n));
        // The top 7 bits (hashbrown's control byte) differ for most neighbours.
        let tops: std::collections::HashSet<u64> = (0..128).map(|n| hash(n) >> 57).collect();
        assert!(tops.len() > 64, "{} distinct", tops.len());
        let mut m: IdMap<u64, u64> = IdMap::default();
        for n in 0..1000 {
            m.insert(n, n * 2);
        }
        assert!((0..1000).all(|n| m[&n] == n * 2));
    }

    #[test]
    fn keys_come_in_ascending_order_dense_or_sparse() {
        use crate::RequestId;
        for step in [1u64, 3, 1000] {
            let mut m: IdMap<RequestId, u64> = IdMap::default();
            let ids: Vec<u64> = (0..300).map(|n| 5 + n * step).collect();
            for &n in ids.iter().rev() {
                m.insert(RequestId(n), n);
            }
            let next = ids.last().unwrap() + 1;
            let all: Vec<u64> = ascending(&m, next, |v| Some(*v))
                .iter()
                .map(|(k, v)| {
                    assert_eq!(k.0, *v);
                    k.0
                })
                .collect();
            assert_eq!(all, ids, "step {step}");
            let even: Vec<u64> = ascending(&m, next, |v| (v % 2 == 0).then_some(()))
                .iter()
                .map(|(k, _)| k.0)
                .collect();
            let expected: Vec<u64> = ids.iter().copied().filter(|n| n % 2 == 0).collect();
            assert_eq!(even, expected, "step {step}");
        }
    }
}
