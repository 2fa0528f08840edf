//! The emulators' wall clock: real time shifted by an offset that tests move, or frozen.
//!
//! Tests move time forward to expire tokens, delta links and upload sessions without
//! sleeping; the same clock is shared by both emulators so their timestamps agree.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Real time plus an offset.
    Running { offset: Duration },
    /// Stands still at one instant until moved.
    Frozen { at: DateTime<Utc> },
}

/// A cheaply clonable handle; all clones see the same time.
#[derive(Debug, Clone)]
pub struct Clock {
    mode: Arc<Mutex<Mode>>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::real()
    }
}

impl Clock {
    /// Follows real time (until moved).
    pub fn real() -> Self {
        Self {
            mode: Arc::new(Mutex::new(Mode::Running {
                offset: Duration::zero(),
            })),
        }
    }

    /// Stands still at `at` until advanced.
    pub fn frozen(at: DateTime<Utc>) -> Self {
        Self {
            mode: Arc::new(Mutex::new(Mode::Frozen { at })),
        }
    }

    /// The emulated now.
    pub fn now(&self) -> DateTime<Utc> {
        match *self.lock() {
            // The emulators play remote services, which have real clocks; the offset lets
            // tests move them.
            Mode::Running { offset } => Utc::now() + offset,
            Mode::Frozen { at } => at,
        }
    }

    /// Moves time forward (or back, with a negative duration: a server clock that skews).
    pub fn advance(&self, by: Duration) {
        let mut mode = self.lock();
        *mode = match *mode {
            Mode::Running { offset } => Mode::Running {
                offset: offset + by,
            },
            Mode::Frozen { at } => Mode::Frozen { at: at + by },
        };
    }

    /// Jumps to `to`, keeping the current mode (a running clock keeps running from there).
    pub fn set(&self, to: DateTime<Utc>) {
        let mut mode = self.lock();
        *mode = match *mode {
            Mode::Running { .. } => Mode::Running {
                offset: to - Utc::now(),
            },
            Mode::Frozen { .. } => Mode::Frozen { at: to },
        };
    }

    /// Stops time at the current instant.
    pub fn freeze(&self) {
        let now = self.now();
        *self.lock() = Mode::Frozen { at: now };
    }

    /// Whether time stands still.
    pub fn is_frozen(&self) -> bool {
        matches!(*self.lock(), Mode::Frozen { .. })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mode> {
        // A poisoned clock only means a test thread panicked mid-update of a Copy value.
        self.mode.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_frozen_clock_moves_only_when_advanced_and_clones_share_it() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).unwrap();
        let clock = Clock::frozen(t0);
        let other = clock.clone();
        assert_eq!(clock.now(), t0);
        other.advance(Duration::seconds(3600));
        assert_eq!(clock.now(), t0 + Duration::hours(1));
        clock.set(t0);
        assert_eq!(other.now(), t0);
    }

    #[test]
    fn a_running_clock_keeps_its_offset() {
        let clock = Clock::real();
        clock.advance(Duration::days(2));
        let ahead = clock.now() - Utc::now();
        assert!(
            ahead > Duration::hours(47) && ahead < Duration::hours(49),
            "{ahead}"
        );
        clock.freeze();
        assert!(clock.is_frozen());
    }
}
