//! Stable hashing and a seeded random generator. Feature keys are stored in model files and
//! near-duplicate sketches are compared across runs, so the hash must never depend on the
//! process (unlike std's `RandomState`) or on the Rust version (unlike `DefaultHasher`).

/// The splitmix64 finalizer: a cheap bijective mix with good avalanche.
pub(crate) fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a over bytes, then mixed; `seed` separates hash families.
pub(crate) fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = 0xCBF2_9CE4_8422_2325u64 ^ seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    mix64(h)
}

/// Hash of a short sequence of units (characters or unit codes).
pub(crate) fn hash_units(seed: u64, units: &[u32]) -> u64 {
    let mut h = mix64(seed ^ 0x9E37_79B9_7F4A_7C15);
    for &u in units {
        h = mix64(h ^ u64::from(u));
    }
    h
}

/// Bits reserved for the namespace in a feature key.
const NAMESPACE_SHIFT: u32 = 56;

/// A feature key: namespace in the top byte, hash below, so that a key tells which block of
/// the feature vector it belongs to.
pub(crate) fn feature_key(namespace: u8, hash: u64) -> u64 {
    (u64::from(namespace) << NAMESPACE_SHIFT) | (hash & ((1u64 << NAMESPACE_SHIFT) - 1))
}

pub(crate) fn key_namespace(key: u64) -> u8 {
    (key >> NAMESPACE_SHIFT) as u8
}

/// A hasher for keys that are already well-mixed 64-bit hashes: passes them through, which
/// saves the cost of SipHash on the hot path of feature extraction.
#[derive(Default, Clone, Copy)]
pub(crate) struct PremixedHasher(u64);

impl std::hash::Hasher for PremixedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix64(self.0 ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }

    /// 32-bit keys are hashes cut to 32 bits: mixed to spread them over 64 (the hash table
    /// takes its control bits from the top).
    fn write_u32(&mut self, value: u32) {
        self.0 = mix64(u64::from(value));
    }
}

/// Map from pre-mixed hash keys.
pub(crate) type KeyMap<V> =
    std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<PremixedHasher>>;

/// Map from 32-bit hash keys (the clusterer's terms).
pub(crate) type TermMap<V> =
    std::collections::HashMap<u32, V, std::hash::BuildHasherDefault<PremixedHasher>>;

/// splitmix64 as a random generator: deterministic given the seed, good enough for
/// shuffling training order and fold assignment.
pub(crate) struct SeededRng(u64);

impl SeededRng {
    pub(crate) fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in 0..bound (bound > 0); the modulo bias is irrelevant at these sizes.
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_across_versions() {
        // Pinned values: changing them silently breaks every saved model.
        assert_eq!(hash_bytes(0, b"abc"), hash_bytes(0, b"abc"));
        assert_ne!(hash_bytes(0, b"abc"), hash_bytes(1, b"abc"));
        assert_eq!(mix64(1), 6_238_072_747_940_578_789);
        assert_eq!(hash_units(2, &[1, 2]), hash_units(2, &[1, 2]));
        let key = feature_key(7, u64::MAX);
        assert_eq!(key_namespace(key), 7);
    }
}
