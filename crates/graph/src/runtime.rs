//! The seams through which this crate sees time, sleeps and tokens, so tests (and the
//! simulation) own them.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A boxed future, for object-safe async seams.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Wall-clock time and sleeping. The governor, `Retry-After` dates and backoff all go
/// through this, never through the system clock directly.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real clock: `Utc::now` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // The one real clock call in this crate.
        Utc::now()
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that only moves when someone sleeps on it: each sleep returns at once, advances
/// the time and is recorded. For tests and simulations that assert exact waits.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    now: DateTime<Utc>,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    pub fn starting_at(now: DateTime<Utc>) -> Self {
        ManualClock {
            inner: Arc::new(Mutex::new(ManualState {
                now,
                sleeps: Vec::new(),
            })),
        }
    }

    /// Every sleep requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    /// Moves time forward without a sleep.
    pub fn advance(&self, by: Duration) {
        let mut s = self.lock();
        s.now += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // A poisoned lock only means another test thread panicked; the state is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.lock().now
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        {
            let mut s = self.lock();
            s.sleeps.push(duration);
            s.now += chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
        }
        Box::pin(async { tokio::task::yield_now().await })
    }
}

/// Why no access token could be had.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no access token: {0}")]
pub struct TokenError(pub String);

/// Where access tokens come from. The app adapts `odoo365_auth::TokenSource` to this; this
/// crate never depends on the auth crate.
#[async_trait::async_trait]
pub trait AccessTokens: Send + Sync + 'static {
    /// A bearer token that is fresh now.
    async fn token(&self) -> Result<String, TokenError>;
    /// The last token was refused (401): forget it, so the next `token()` refreshes.
    async fn invalidate(&self);
}

/// A fixed token, for tests and the emulator; `invalidate` only counts calls.
#[derive(Debug, Default)]
pub struct StaticToken {
    token: String,
    invalidations: std::sync::atomic::AtomicUsize,
}

impl StaticToken {
    pub fn new(token: impl Into<String>) -> Self {
        StaticToken {
            token: token.into(),
            invalidations: Default::default(),
        }
    }
    pub fn invalidations(&self) -> usize {
        self.invalidations.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl AccessTokens for StaticToken {
    async fn token(&self) -> Result<String, TokenError> {
        Ok(self.token.clone())
    }
    async fn invalidate(&self) {
        self.invalidations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}
