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
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: the golden ratio's odd multiplier spreads consecutive ids over
        // the high bits, which the table uses.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A `HashMap` keyed by ids the session or an adapter allocates in order, hashed with
/// [`IdHasher`].
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_ids_spread_over_the_high_bits() {
        let hash = |n: u64| {
            let mut h = IdHasher::default();
            h.write_u64(n);
            h.finish()
        };
        // The top 7 bits (hashbrown's control byte) differ for most neighbours.
        let tops: std::collections::HashSet<u64> = (0..128).map(|n| hash(n) >> 57).collect();
        assert!(tops.len() > 64, "{} distinct", tops.len());
        let mut m: IdMap<u64, u64> = IdMap::default();
        for n in 0..1000 {
            m.insert(n, n * 2);
        }
        assert!((0..1000).all(|n| m[&n] == n * 2));
    }
}
