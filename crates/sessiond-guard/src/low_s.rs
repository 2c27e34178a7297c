//! ES256 signatures in low-S form, so that a token has one accepted text.
//!
//! ECDSA is malleable: if `(r, s)` is a valid signature, so is `(r, n − s)`,
//! with `n` the order of the curve's group (SEC 1 v2 §4.1.4 accepts any `s`
//! in `[1, n − 1]`, and negating `s` negates the recovered point's `y`,
//! which verification never looks at). A second valid text of one token
//! would miss the verified-token cache and slip past any denylist keyed by
//! token text. sessiond therefore signs with the smaller of `s` and `n − s`
//! (the "low-S" rule of Bitcoin's BIP 62 / BIP 146) and its verifier refuses
//! the other one.
//!
//! Scalars are 32-byte big-endian arrays, as in the fixed-width `r ‖ s`
//! JWS form (RFC 7518 §3.4). The arithmetic needed is one compare and one
//! subtraction, written here rather than pulling in a bignum crate. None of
//! it is secret (`s` is published in the token), so it need not be
//! constant-time.

/// Length of an ES256 signature: `r ‖ s`, 32 bytes each (RFC 7518 §3.4).
pub const SIGNATURE_LEN: usize = 64;

/// Order `n` of the P-256 group (FIPS 186-4 §D.1.2.3, SEC 2 §2.4.2),
/// big-endian.
pub const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, //
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `⌊n / 2⌋`, the largest low `s`, big-endian. (`n` is odd, so exactly one
/// of `s` and `n − s` is at most this, for every `s` in `[1, n − 1]`.)
pub const P256_HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, //
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// Whether the scalar `s` is above `⌊n / 2⌋`.
pub fn is_high(s: &[u8; 32]) -> bool {
    // Arrays compare lexicographically, byte by byte from the first; for
    // big-endian numbers of equal width that is numeric order.
    *s > P256_HALF_ORDER
}

/// `n − s`, for `s` in `[1, n − 1]` (where the result is in the same range).
/// Other inputs give a meaningless value; callers only pass a valid `s`.
pub fn order_minus(s: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0u16;
    // Schoolbook subtraction from the least significant (last) byte up.
    for i in (0..32).rev() {
        let minuend = u16::from(P256_ORDER[i]);
        let subtrahend = u16::from(s[i]) + borrow;
        if minuend >= subtrahend {
            out[i] = (minuend - subtrahend) as u8;
            borrow = 0;
        } else {
            out[i] = (minuend + 0x100 - subtrahend) as u8;
            borrow = 1;
        }
    }
    out
}

/// The `s` half of a fixed-width `r ‖ s` signature.
fn s_of(signature: &[u8; SIGNATURE_LEN]) -> [u8; 32] {
    let mut s = [0u8; 32];
    s.copy_from_slice(&signature[32..]);
    s
}

/// Whether a raw ES256 signature is `SIGNATURE_LEN` bytes with `s ≤ ⌊n / 2⌋`.
pub fn is_low_s(signature: &[u8]) -> bool {
    <&[u8; SIGNATURE_LEN]>::try_from(signature).is_ok_and(|sig| !is_high(&s_of(sig)))
}

/// Rewrites a signature to its low-S twin if it is high-S; returns whether
/// it changed. The result verifies exactly when the input did.
pub fn normalize(signature: &mut [u8; SIGNATURE_LEN]) -> bool {
    let s = s_of(signature);
    if !is_high(&s) {
        return false;
    }
    signature[32..].copy_from_slice(&order_minus(&s));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a + b` on 32-byte big-endian numbers, with the carry out.
    fn add(a: &[u8; 32], b: &[u8; 32]) -> ([u8; 32], bool) {
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for i in (0..32).rev() {
            let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
            out[i] = sum as u8;
            carry = sum >> 8;
        }
        (out, carry == 1)
    }

    fn plus_one(a: &[u8; 32]) -> [u8; 32] {
        let mut one = [0u8; 32];
        one[31] = 1;
        add(a, &one).0
    }

    #[test]
    fn half_order_is_the_floor_of_n_over_two() {
        // 2·⌊n/2⌋ + 1 = n, since n is odd.
        let (twice, carry) = add(&P256_HALF_ORDER, &P256_HALF_ORDER);
        assert!(!carry);
        assert_eq!(plus_one(&twice), P256_ORDER);
    }

    #[test]
    fn exactly_half_is_low_and_one_more_is_high() {
        assert!(!is_high(&P256_HALF_ORDER));
        let above = plus_one(&P256_HALF_ORDER);
        assert!(is_high(&above));
        // The two are each other's twin: n − (⌊n/2⌋ + 1) = ⌊n/2⌋.
        assert_eq!(order_minus(&above), P256_HALF_ORDER);
        assert_eq!(order_minus(&P256_HALF_ORDER), above);
    }

    #[test]
    fn extremes() {
        let mut one = [0u8; 32];
        one[31] = 1;
        assert!(!is_high(&one));
        let n_minus_one = order_minus(&one);
        assert!(is_high(&n_minus_one));
        assert_eq!(add(&n_minus_one, &one), (P256_ORDER, false));
        assert!(is_high(&[0xff; 32]), "a value past n is never low");
    }

    #[test]
    fn n_minus_s_round_trips_and_adds_up_to_n() {
        // A spread of values: bytes that force borrows across every position.
        let samples: [[u8; 32]; 4] = [
            [0x01; 32],
            [0x7f; 32],
            {
                let mut s = P256_ORDER;
                s[31] -= 2; // n − 2
                s
            },
            core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11) & 0x7f),
        ];
        for s in samples {
            let twin = order_minus(&s);
            assert_eq!(order_minus(&twin), s, "n − (n − s) = s");
            assert_eq!(add(&s, &twin), (P256_ORDER, false), "s + (n − s) = n");
            assert_ne!(is_high(&s), is_high(&twin), "exactly one of s and n − s is low");
        }
    }

    #[test]
    fn normalize_keeps_r_and_leaves_low_s_alone() {
        let mut sig = [0u8; SIGNATURE_LEN];
        sig[..32].copy_from_slice(&[0xaa; 32]);
        sig[32..].copy_from_slice(&plus_one(&P256_HALF_ORDER));
        assert!(!is_low_s(&sig));
        assert!(normalize(&mut sig));
        assert_eq!(&sig[..32], &[0xaa; 32]);
        assert_eq!(&sig[32..], &P256_HALF_ORDER);
        assert!(is_low_s(&sig));
        assert!(!normalize(&mut sig), "already low");
        assert!(!is_low_s(&sig[..63]), "wrong length");
    }
}
