//! The revocation index: cost of "is this token dead?" with a million live
//! entries, and the memory those entries take.
//!
//! `cargo bench -p sessiond-guard --bench index`
#![allow(clippy::expect_used, clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{black_box, Criterion};
use sessiond_guard::{AccessClaims, Revocation, RevocationIndex, RevocationKind};

const ENTRIES: usize = 1_000_000;

/// Deterministic 128-bit ids in sessiond's form (22 base64url characters).
struct Ids(u64);

impl Ids {
    fn next(&mut self) -> String {
        let mut bytes = [0u8; 16];
        for chunk in bytes.chunks_mut(8) {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            chunk.copy_from_slice(&self.0.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

fn claims(ids: &mut Ids) -> AccessClaims {
    AccessClaims {
        iss: "https://id.example".into(),
        sub: ids.next(),
        aud: "https://api.example".into(),
        exp: 2_000_000_300,
        iat: 2_000_000_000,
        jti: ids.next(),
        client_id: ids.next(),
        scope: Some("api:read".into()),
        sid: Some(ids.next()),
        gid: Some(ids.next()),
        username: Some("alice".into()),
    }
}

/// An index with `n` entries as a busy server would hold them: mostly
/// revoked tokens and ended sessions, some grants, and a thousand user and a
/// hundred client cut-offs (users disabled, clients removed are rare).
fn index_with(n: usize, ids: &mut Ids) -> (RevocationIndex, Vec<String>) {
    let mut index = RevocationIndex::new();
    let mut jtis = Vec::new();
    for seq in 0..n {
        let kind = match seq {
            _ if seq < 1_000 => RevocationKind::User,
            _ if seq < 1_100 => RevocationKind::Client,
            _ => match seq % 20 {
                0..=11 => RevocationKind::Token,
                12..=16 => RevocationKind::Session,
                _ => RevocationKind::Grant,
            },
        };
        let subject = ids.next();
        if kind == RevocationKind::Token {
            jtis.push(subject.clone());
        }
        let cutoff = matches!(kind, RevocationKind::User | RevocationKind::Client).then_some(1_999_999_000);
        index.apply(&Revocation { seq: seq as i64, kind, subject, cutoff, expires_at: 2_000_000_400 });
    }
    (index, jtis)
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn report_memory() {
    let mut ids = Ids(0x1234_5678_9abc_def1);
    let before = resident_bytes();
    let (index, jtis) = index_with(ENTRIES, &mut ids);
    drop(jtis);
    let after = resident_bytes();
    println!(
        "index memory: {} entries, resident set grew by {:.1} MB ({:.0} bytes/entry)",
        index.len(),
        (after - before) as f64 / 1e6,
        (after - before) as f64 / index.len() as f64
    );
    drop(index);
}

fn bench(c: &mut Criterion) {
    let mut ids = Ids(0x0dd_ba11_cafe_f00d);
    let (index, jtis) = index_with(ENTRIES, &mut ids);
    let live = claims(&mut ids);
    let mut revoked = claims(&mut ids);
    revoked.jti = jtis[jtis.len() / 2].clone();
    assert!(!index.is_revoked(&live));
    assert!(index.is_revoked(&revoked));

    let mut group = c.benchmark_group("index_1M");
    group.bench_function("check_live_token", |b| b.iter(|| index.is_revoked(black_box(&live))));
    group.bench_function("check_revoked_token", |b| b.iter(|| index.is_revoked(black_box(&revoked))));
    // Many different live tokens: look-ups that miss the CPU cache.
    let many: Vec<AccessClaims> = (0..4096).map(|_| claims(&mut ids)).collect();
    let mut i = 0;
    group.bench_function("check_live_token_cold", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            index.is_revoked(black_box(&many[i]))
        })
    });
    group.finish();
}

fn main() {
    report_memory();
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
