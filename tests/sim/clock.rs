//! One virtual time for everything in a history: both emulators (a frozen
//! `odoo365_testkit::Clock`), the engine, the Graph client (its `Retry-After` waits, backoff
//! and rate governor) and the Odoo client (its pacing and backoff). A client that sleeps
//! moves the time at once, so a 120 s `Retry-After` or the Odoo client's one request a
//! second cost no wall time, and the emulators see the time the client waited.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct VirtualClock {
    shared: odoo365_testkit::Clock,
    origin: DateTime<Utc>,
    /// Every client sleep, for the trace.
    slept: Arc<Mutex<Duration>>,
}

impl VirtualClock {
    pub fn starting_at(at: DateTime<Utc>) -> VirtualClock {
        VirtualClock {
            shared: odoo365_testkit::Clock::frozen(at),
            origin: at,
            slept: Arc::default(),
        }
    }

    /// The clock the emulators share.
    pub fn emulators(&self) -> odoo365_testkit::Clock {
        self.shared.clone()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.shared.now()
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.shared.advance(by);
    }

    /// The clients' sleeps so far, all together.
    pub fn slept(&self) -> Duration {
        *self.slept.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sleep_now(&self, d: Duration) {
        *self.slept.lock().unwrap_or_else(|p| p.into_inner()) += d;
        self.shared
            .advance(chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX));
    }
}

impl odoo365_engine::Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        self.shared.now()
    }
}

impl odoo365_graph::Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        self.shared.now()
    }
    fn sleep(&self, duration: Duration) -> odoo365_graph::runtime::BoxFuture<'static, ()> {
        self.sleep_now(duration);
        // Yield once so other tasks of the run get their turn, as after a real sleep.
        Box::pin(tokio::task::yield_now())
    }
}

impl odoo365_odoo::Clock for VirtualClock {
    fn now(&self) -> Duration {
        (self.shared.now() - self.origin)
            .to_std()
            .unwrap_or_default()
    }
    fn sleep(&self, d: Duration) -> odoo365_odoo::clock::SleepFuture {
        self.sleep_now(d);
        Box::pin(tokio::task::yield_now())
    }
}
