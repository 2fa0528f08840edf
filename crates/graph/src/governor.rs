//! Per-mailbox limits: a concurrency cap and a sliding-window request-rate governor, so a
//! profile stays under Outlook's 4 concurrent / 10,000 per 10 minutes instead of bouncing
//! off them. Share one `MailboxBudget` between every client that talks to the same mailbox.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::runtime::Clock;

/// The shared budget of one mailbox.
#[derive(Debug)]
pub struct MailboxBudget {
    permits: Semaphore,
    sent: Mutex<VecDeque<DateTime<Utc>>>,
    rate_requests: usize,
    rate_window: Duration,
}

impl MailboxBudget {
    pub fn new(concurrency_max: usize, rate_requests: usize, rate_window: Duration) -> Self {
        MailboxBudget {
            permits: Semaphore::new(concurrency_max.max(1)),
            sent: Mutex::new(VecDeque::with_capacity(rate_requests.min(16_384))),
            rate_requests: rate_requests.max(1),
            rate_window,
        }
    }

    /// Waits until both the rate window and the concurrency cap allow one more request.
    /// The permit is held while the request is in flight.
    pub async fn admit(&self, clock: &dyn Clock) -> SemaphorePermit<'_> {
        self.admit_n(clock, 1).await
    }

    /// Like `admit`, for a request Graph counts as `cost` requests (a `$batch` of `cost`
    /// items). A cost above the whole window is clamped to it.
    pub async fn admit_n(&self, clock: &dyn Clock, cost: usize) -> SemaphorePermit<'_> {
        let cost = cost.clamp(1, self.rate_requests);
        // The in-flight slot first, the rate slot second: a rate slot taken while queued
        // behind the concurrency cap is recorded long before the request is sent, and
        // requests reserved in one window then land bunched in the next one.
        // The semaphore is never closed, so acquire cannot fail.
        let permit = loop {
            if let Ok(p) = self.permits.acquire().await {
                break p;
            }
            tokio::task::yield_now().await;
        };
        loop {
            match self.reserve(clock.now(), cost) {
                None => return permit,
                Some(wait) => clock.sleep(wait).await,
            }
        }
    }

    /// Records `cost` sends at `now` if the window has room, else says how long to wait.
    fn reserve(&self, now: DateTime<Utc>, cost: usize) -> Option<Duration> {
        let window = chrono::Duration::from_std(self.rate_window).unwrap_or(chrono::Duration::MAX);
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        while sent.front().is_some_and(|t| *t + window <= now) {
            sent.pop_front();
        }
        if sent.len() + cost <= self.rate_requests {
            sent.extend(std::iter::repeat_n(now, cost));
            return None;
        }
        // Wait until enough of the oldest sends leave the window.
        let freed_by = sent.len() + cost - self.rate_requests;
        let oldest = sent.get(freed_by - 1).copied().unwrap_or(now);
        Some(
            (oldest + window - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .max(Duration::from_millis(1)),
        )
    }

    /// Requests that may be in flight at once.
    pub fn available_permits(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ManualClock;

    #[tokio::test]
    async fn the_governor_waits_for_the_window_instead_of_exceeding_the_rate() {
        let clock = ManualClock::starting_at(Utc::now());
        let budget = MailboxBudget::new(4, 3, Duration::from_secs(10));
        for _ in 0..5 {
            drop(budget.admit(&clock).await);
        }
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(10)]);
    }

    #[tokio::test]
    async fn a_batch_counts_as_its_items_against_the_rate() {
        let clock = ManualClock::starting_at(Utc::now());
        let budget = MailboxBudget::new(4, 3, Duration::from_secs(10));
        drop(budget.admit_n(&clock, 3).await);
        assert!(clock.sleeps().is_empty());
        clock.advance(Duration::from_secs(4));
        drop(budget.admit(&clock).await);
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(6)]);
    }

    #[tokio::test]
    async fn a_request_queued_behind_the_cap_takes_its_rate_slot_when_it_is_sent() {
        let clock = ManualClock::starting_at(Utc::now());
        let budget = std::sync::Arc::new(MailboxBudget::new(1, 2, Duration::from_secs(10)));
        let first = budget.admit(&clock).await;
        let queued = {
            let (budget, clock) = (budget.clone(), clock.clone());
            tokio::spawn(async move {
                drop(budget.admit(&clock).await);
                clock.now()
            })
        };
        tokio::task::yield_now().await;
        // The first request is slow: its answer comes ten seconds later.
        clock.advance(Duration::from_secs(10));
        drop(first);
        let queued_sent_at = queued.await.expect("task");
        // The queued one was sent at t+10; one more fits in the window from t+10...
        drop(budget.admit(&clock).await);
        assert!(clock.sleeps().is_empty());
        // ...and a third must wait for that window to end.
        drop(budget.admit(&clock).await);
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(10)]);
        assert_eq!(clock.now() - queued_sent_at, chrono::Duration::seconds(10));
    }

    #[tokio::test]
    async fn no_more_than_the_concurrency_cap_is_in_flight() {
        let clock = ManualClock::starting_at(Utc::now());
        let budget = MailboxBudget::new(4, 100, Duration::from_secs(10));
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(budget.admit(&clock).await);
        }
        assert_eq!(budget.available_permits(), 0);
        let fifth = tokio::time::timeout(Duration::from_millis(50), budget.admit(&clock)).await;
        assert!(fifth.is_err(), "a fifth request must wait");
        held.pop();
        assert!(
            tokio::time::timeout(Duration::from_millis(50), budget.admit(&clock))
                .await
                .is_ok()
        );
    }
}
