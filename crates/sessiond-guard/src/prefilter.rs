//! A blocked Bloom filter in front of the revocation maps.
//!
//! Almost every token a validator sees is live, and with a million revoked
//! entries each map probe for a live token is a miss in tens of megabytes:
//! one trip to main memory per probe. The filter (16 bits per entry, 2 MB
//! per million) stays in cache and answers "certainly not revoked" for live
//! tokens with one cache line per id; only its rare false positives (about
//! 1 %) and revoked tokens go on to the maps, which give the exact answer.
//! Bloom filters cannot forget, so pruning rebuilds it.

/// Bits per entry: with 6 probes in a 512-bit block, about 1 % false positives.
const BITS_PER_ENTRY: usize = 16;
const PROBES: u32 = 6;
const MIN_BLOCKS: usize = 64;

pub(crate) struct Prefilter {
    blocks: Vec<[u64; 8]>,
    capacity: usize,
    entries: usize,
}

impl Prefilter {
    /// Room for `entries` keys at the target false-positive rate.
    pub(crate) fn with_capacity(entries: usize) -> Self {
        let blocks = (entries.max(1) * BITS_PER_ENTRY / 512).next_power_of_two().max(MIN_BLOCKS);
        Self { blocks: vec![[0; 8]; blocks], capacity: blocks * 512 / BITS_PER_ENTRY, entries: 0 }
    }

    /// The block and the bits of a key: the block from its first half, six
    /// 9-bit positions from its second (keys are uniformly random).
    fn locate(&self, a: u64, b: u64) -> (usize, [(usize, u64); PROBES as usize]) {
        let block = (a as usize) & (self.blocks.len() - 1);
        let mut bits = [(0, 0); PROBES as usize];
        for (i, slot) in bits.iter_mut().enumerate() {
            let pos = (b >> (i * 9)) & 511;
            *slot = ((pos / 64) as usize, 1u64 << (pos % 64));
        }
        (block, bits)
    }

    pub(crate) fn insert(&mut self, a: u64, b: u64) {
        let (block, bits) = self.locate(a, b);
        for (word, bit) in bits {
            self.blocks[block][word] |= bit;
        }
        self.entries += 1;
    }

    pub(crate) fn may_contain(&self, a: u64, b: u64) -> bool {
        let (block, bits) = self.locate(a, b);
        let words = &self.blocks[block];
        bits.iter().all(|&(word, bit)| words[word] & bit != 0)
    }

    /// Whether more entries went in than it was sized for.
    pub(crate) fn is_overfull(&self) -> bool {
        self.entries > self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u64) -> (u64, u64) {
        let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF;
        (x, x.rotate_left(29).wrapping_mul(0xBF58_476D_1CE4_E5B9))
    }

    #[test]
    fn never_a_false_negative_and_few_false_positives() {
        let mut f = Prefilter::with_capacity(10_000);
        for i in 0..10_000 {
            let (a, b) = key(i);
            f.insert(a, b);
        }
        assert!((0..10_000).all(|i| {
            let (a, b) = key(i);
            f.may_contain(a, b)
        }));
        let false_positives = (10_000..110_000)
            .filter(|&i| {
                let (a, b) = key(i);
                f.may_contain(a, b)
            })
            .count();
        assert!(false_positives < 3_000, "{false_positives} false positives in 100 000");
        assert!(!f.is_overfull());
    }
}
