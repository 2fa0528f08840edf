//! Time, sleep and jitter as seams (STYLE.md: time and sleep are injected). The client
//! reads time only through [`Clock`]; [`TokioClock`] holds the one real clock call, and
//! [`ManualClock`] lets tests (and the emulator harness) drive time and see every sleep.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A boxed future as the clock returns it.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Monotonic time and sleeping, as the client uses them for rate limits and backoff.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Time since an arbitrary origin fixed for this clock.
    fn now(&self) -> Duration;
    /// Waits `d`.
    fn sleep(&self, d: Duration) -> SleepFuture;
}

/// The real clock: tokio's monotonic time.
#[derive(Debug, Clone)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl Default for TokioClock {
    fn default() -> Self {
        // The only real clock read in this crate.
        TokioClock {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.origin)
    }
    fn sleep(&self, d: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A virtual clock: `sleep` returns at once after advancing `now`, and every sleep is
/// recorded so a test can assert that a `Retry-After` was honoured exactly.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualInner>>,
}

#[derive(Debug, Default)]
struct ManualInner {
    now: Duration,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock::default()
    }
    /// Moves time forward without sleeping.
    pub fn advance(&self, d: Duration) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.now += d;
    }
    /// Every sleep asked for, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.sleeps.clone()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).now
    }
    fn sleep(&self, d: Duration) -> SleepFuture {
        {
            let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            g.now += d;
            g.sleeps.push(d);
        }
        Box::pin(std::future::ready(()))
    }
}

/// A source of jitter in `[0, 1)`; seeded so a run can be repeated.
#[derive(Debug)]
pub struct Jitter {
    rng: Mutex<rand::rngs::StdRng>,
}

impl Jitter {
    pub fn seeded(seed: u64) -> Jitter {
        use rand::SeedableRng;
        Jitter {
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
        }
    }
    /// A fraction in `[0, 1)`.
    pub fn fraction(&self) -> f64 {
        use rand::Rng;
        let mut g = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        g.random::<f64>()
    }
}

/// A token bucket: `burst` requests at once, then `per_second` sustained (odoo.md §7:
/// about one request a second, small bursts).
#[derive(Debug)]
pub struct RateLimit {
    per_second: f64,
    burst: f64,
    state: tokio::sync::Mutex<(f64, Option<Duration>)>,
}

impl RateLimit {
    pub fn new(per_second: f64, burst: u32) -> RateLimit {
        let burst = f64::from(burst.max(1));
        RateLimit {
            per_second: per_second.max(0.001),
            burst,
            state: tokio::sync::Mutex::new((burst, None)),
        }
    }

    /// Waits until a request may go. Holding the lock while sleeping queues callers
    /// fairly: each waits its turn instead of all waking at once.
    pub async fn acquire(&self, clock: &dyn Clock) {
        let mut g = self.state.lock().await;
        let now = clock.now();
        let (tokens, last) = &mut *g;
        if let Some(last) = *last {
            let elapsed = now.saturating_sub(last).as_secs_f64();
            *tokens = (*tokens + elapsed * self.per_second).min(self.burst);
        }
        *last = Some(now);
        if *tokens < 1.0 {
            let wait = Duration::from_secs_f64((1.0 - *tokens) / self.per_second);
            clock.sleep(wait).await;
            *tokens = 1.0;
            *last = Some(clock.now());
        }
        *tokens -= 1.0;
    }
}

/// Exponential backoff with full jitter, bounded attempts (every limit explicit).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts_max: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A `Retry-After` longer than this is handed to the caller instead of slept.
    pub retry_after_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts_max: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            retry_after_max: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1): half the exponential
    /// step fixed, half jittered, so waits grow even with an unlucky RNG.
    pub fn backoff(&self, attempt: u32, jitter: &Jitter) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.backoff_max);
        cap / 2 + cap.mul_f64(0.5 * jitter.fraction())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_rate_limit_lets_a_burst_through_then_spaces_requests() {
        let clock = ManualClock::new();
        let limit = RateLimit::new(2.0, 3);
        for _ in 0..3 {
            limit.acquire(&clock).await;
        }
        assert!(clock.sleeps().is_empty());
        limit.acquire(&clock).await;
        limit.acquire(&clock).await;
        assert_eq!(
            clock.sleeps(),
            vec![Duration::from_millis(500), Duration::from_millis(500)]
        );
        clock.advance(Duration::from_secs(10));
        limit.acquire(&clock).await;
        assert_eq!(clock.sleeps().len(), 2, "a rested bucket refills");
    }

    #[test]
    fn backoff_grows_and_stays_under_its_cap() {
        let p = RetryPolicy::default();
        let j = Jitter::seeded(7);
        let b1 = p.backoff(1, &j);
        let b3 = p.backoff(3, &j);
        assert!(b1 >= Duration::from_millis(250) && b1 < Duration::from_millis(500));
        assert!(b3 >= Duration::from_secs(1) && b3 < Duration::from_secs(2));
        assert!(p.backoff(30, &j) <= p.backoff_max);
    }
}
