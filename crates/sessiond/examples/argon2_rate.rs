//! Password checks a second at the configured Argon2id cost: what bounds the
//! password grant.
//!
//! ```sh
//! cargo run --release -p sessiond --example argon2_rate -- [COUNT] [THREADS]
//! ```
//!
//! Each of THREADS threads (default 1) verifies a password COUNT times
//! (default 50) in working memory it keeps, as each thread of the sign-in
//! gate does (`login::hashing`). The cost is the default one
//! (`PasswordCost::default()`), or `SESSIOND_PASSWORD_MEMORY_KIB`,
//! `SESSIOND_PASSWORD_ITERATIONS`, `SESSIOND_PASSWORD_PARALLELISM` when set.
//! Prints the cost, the milliseconds per check (median and max over every
//! check) and the checks a second per thread and in all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use sessiond::secrets::{HashMemory, PasswordCost, PasswordHasher};

fn env_u32(name: &str) -> Option<u32> {
    std::env::var(name).ok().map(|v| v.parse().expect(name))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(50, |a| a.parse().expect("COUNT"));
    let threads: usize = args.next().map_or(1, |a| a.parse().expect("THREADS"));
    let default = PasswordCost::default();
    let cost = PasswordCost {
        memory_kib: env_u32("SESSIOND_PASSWORD_MEMORY_KIB").unwrap_or(default.memory_kib),
        iterations: env_u32("SESSIOND_PASSWORD_ITERATIONS").unwrap_or(default.iterations),
        parallelism: env_u32("SESSIOND_PASSWORD_PARALLELISM").unwrap_or(default.parallelism),
    };
    let hasher = PasswordHasher::new(cost).expect("cost");
    let stored = hasher.hash("correct horse battery staple").expect("hash");
    let start = Instant::now();
    let mut times: Vec<f64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (hasher, stored) = (&hasher, &stored);
                s.spawn(move || {
                    let mut memory = HashMemory::default();
                    // One check to size the working memory, not timed.
                    assert!(hasher.verify_in("correct horse battery staple", stored, &mut memory));
                    (0..count)
                        .map(|_| {
                            let t = Instant::now();
                            assert!(hasher.verify_in("correct horse battery staple", stored, &mut memory));
                            t.elapsed().as_secs_f64() * 1e3
                        })
                        .collect::<Vec<f64>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let wall = start.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let total = times.len();
    println!(
        "argon2id m={} KiB t={} p={}: {threads} thread(s) x {count} checks: median {:.1} ms, max {:.1} ms; \
         {:.1} checks/s per thread, {:.1} checks/s in all",
        cost.memory_kib,
        cost.iterations,
        cost.parallelism,
        times[total / 2],
        times[total - 1],
        1e3 / times[total / 2],
        total as f64 / wall,
    );
}
