//! The process's open-file limit (`RLIMIT_NOFILE`) and the default cap on
//! concurrent connections that follows from it.
//!
//! Every connection costs a descriptor. Accepting until `accept` fails with
//! "too many open files" leaves none for the database, the data directory
//! or the next health check, so the server stops well short of the limit.

/// Descriptors kept back for the database pool, files and the listener.
pub const RESERVED: u64 = 128;
/// The default cap when the limit is high or unknown.
const MAX_DEFAULT: u64 = 4096;
/// The default cap never goes below this, however low the limit.
const MIN_DEFAULT: u64 = 16;

/// Raises the soft open-file limit to the hard limit where the system
/// allows it, and returns the soft limit now in force (`None` when unknown).
pub fn raise_soft_limit() -> Option<u64> {
    imp::raise_soft_limit()
}

/// The default connection cap for a soft limit of `soft` descriptors:
/// min(4096, soft − 128), at least 16.
pub fn default_cap(soft: Option<u64>) -> usize {
    let cap = soft.map_or(MAX_DEFAULT, |soft| soft.saturating_sub(RESERVED).clamp(MIN_DEFAULT, MAX_DEFAULT));
    usize::try_from(cap).unwrap_or(usize::MAX)
}

#[cfg(unix)]
mod imp {
    /// `rlim_t` is `u64` on most targets but not all (32-bit Linux, FreeBSD).
    #[allow(clippy::useless_conversion)]
    fn to_u64(v: libc::rlim_t) -> u64 {
        u64::try_from(v).unwrap_or(u64::MAX)
    }

    fn get() -> Option<libc::rlimit> {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes one `rlimit` through a valid pointer.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
        ok.then_some(limit)
    }

    pub(super) fn raise_soft_limit() -> Option<u64> {
        let limit = get()?;
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            // SAFETY: setrlimit reads one `rlimit` through a valid pointer.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
                // Refused (macOS refuses an infinite hard limit): keep the soft one.
                tracing::debug!(error = %std::io::Error::last_os_error(), "cannot raise the open-file limit");
            }
        }
        get().map(|now| to_u64(now.rlim_cur))
    }
}

#[cfg(not(unix))]
mod imp {
    pub(super) fn raise_soft_limit() -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_room_and_stays_within_bounds() {
        assert_eq!(default_cap(Some(256)), 128);
        assert_eq!(default_cap(Some(1024)), 896);
        assert_eq!(default_cap(Some(1_048_576)), 4096);
        assert_eq!(default_cap(Some(100)), 16, "never below 16");
        assert_eq!(default_cap(None), 4096);
    }

    #[cfg(unix)]
    #[test]
    fn the_soft_limit_is_known_and_not_lowered() {
        let before = imp::raise_soft_limit().unwrap();
        assert!(raise_soft_limit().unwrap() >= before);
    }
}
