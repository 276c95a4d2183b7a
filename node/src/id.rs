//! Time-ordered 64-bit ids, Snowflake style, as Mastodon makes them.
//!
//! `id = unix_ms << 16 | low16`. Sorting by id sorts by creation time, so
//! timelines page by id alone. The low 16 bits start at a random value per
//! generator and count up, so two processes on one database are unlikely to
//! collide within the same millisecond; within one generator ids are strictly
//! increasing even if the clock steps back. Clients receive ids as strings.

use std::sync::atomic::{AtomicI64, Ordering};

/// Makes ids. One per [`crate::app::App`]; no global state.
#[derive(Debug)]
pub struct IdGenerator {
    /// The last id handed out, so the next one is always larger.
    last: AtomicI64,
}

impl Default for IdGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl IdGenerator {
    /// A generator whose low bits start at a random point.
    pub fn new() -> Self {
        let mut seed = [0u8; 2];
        // Randomness only spreads processes apart; a failure just means 0.
        let _ = aws_lc_rs::rand::fill(&mut seed);
        IdGenerator {
            last: AtomicI64::new(i64::from(u16::from_le_bytes(seed))),
        }
    }

    /// The next id: at least `now_ms << 16`, and above every id handed out.
    pub fn next(&self) -> i64 {
        let floor = crate::store::now_ms() << 16;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = if floor > last {
                floor | (last & 0xffff)
            } else {
                last + 1
            };
            match self.last.compare_exchange_weak(
                last,
                candidate,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return candidate,
                Err(seen) => last = seen,
            }
        }
    }
}

/// The smallest id that could have been made at `unix_ms`: for "since this
/// time" queries on id-ordered tables.
pub fn id_at(unix_ms: i64) -> i64 {
    unix_ms << 16
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_increase_and_encode_the_time() {
        let ids = IdGenerator::new();
        let before = crate::store::now_ms();
        let made: Vec<i64> = (0..10_000).map(|_| ids.next()).collect();
        assert!(made.windows(2).all(|w| w[0] < w[1]));
        assert!(made[0] >= id_at(before));
        assert!(made[0] >> 16 <= crate::store::now_ms());
    }

    #[test]
    fn concurrent_callers_never_share_an_id() {
        let ids = std::sync::Arc::new(IdGenerator::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let ids = ids.clone();
                std::thread::spawn(move || (0..5_000).map(|_| ids.next()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = HashSet::new();
        for t in threads {
            for id in t.join().unwrap() {
                assert!(all.insert(id), "duplicate id {id}");
            }
        }
    }
}
