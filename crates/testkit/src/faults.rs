//! Seeded fault injection shared by the emulators.
//!
//! A [`FaultPlan`] holds rules ("503 with Retry-After on 10 % of writes to /me/events",
//! "drop the connection after the write is applied, once") and one seeded RNG, so the
//! same seed and the same request sequence draw the same faults every run.

use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What can go wrong with one request. Emulators decide how each looks on the wire in
/// their own protocol (Graph error JSON, Odoo error object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// 429 Too Many Requests with `Retry-After` in seconds.
    Throttle { retry_after_s: u64 },
    /// 503 Service Unavailable, with `Retry-After` when given.
    Unavailable { retry_after_s: Option<u64> },
    /// 500 Internal Server Error.
    Internal,
    /// 502 Bad Gateway.
    BadGateway,
    /// 504 Gateway Timeout.
    GatewayTimeout,
    /// The answer is delayed by this long, then given normally.
    Slow { delay_ms: u64 },
    /// The request is never answered within `hang_ms`; the connection then closes unanswered.
    Timeout { hang_ms: u64 },
    /// The connection is dropped before the request is applied: nothing changed.
    ResetBeforeApply,
    /// The request is applied, then the connection is dropped unanswered: the client cannot
    /// know that its write landed.
    ResetAfterApply,
    /// The caller's access token is treated as expired (401).
    ExpiredToken,
    /// Someone else edits the target between the client's read and this write: on Graph,
    /// the addressed event gets a new change key (an edit of a property the sync does not
    /// carry, as another Outlook dismissing the reminder) before the request is applied, so
    /// a request with the old `If-Match` is refused with 412 and one without goes through.
    /// Odoo has no change keys: there it changes nothing.
    ConcurrentEdit,
}

impl Fault {
    /// A short stable name for logs and counters.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Throttle { .. } => "throttle",
            Fault::Unavailable { .. } => "unavailable",
            Fault::Internal => "internal",
            Fault::BadGateway => "bad_gateway",
            Fault::GatewayTimeout => "gateway_timeout",
            Fault::Slow { .. } => "slow",
            Fault::Timeout { .. } => "timeout",
            Fault::ResetBeforeApply => "reset_before_apply",
            Fault::ResetAfterApply => "reset_after_apply",
            Fault::ExpiredToken => "expired_token",
            Fault::ConcurrentEdit => "concurrent_edit",
        }
    }
}

/// When a rule applies and how often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    pub fault: Fault,
    /// Chance per matching request, 0.0 to 1.0.
    #[serde(default = "one")]
    pub probability: f64,
    /// Only requests with this HTTP method (`"POST"`); any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose path contains this text; any when absent.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Only requests that can change state (not GET/HEAD).
    #[serde(default)]
    pub writes_only: bool,
    /// How many more times the rule may fire; unlimited when absent.
    #[serde(default)]
    pub remaining: Option<u32>,
}

fn one() -> f64 {
    1.0
}

impl FaultRule {
    /// A rule that always fires for every request.
    pub fn always(fault: Fault) -> Self {
        Self {
            fault,
            probability: 1.0,
            method: None,
            path_contains: None,
            writes_only: false,
            remaining: None,
        }
    }

    /// Fires on the next matching request only.
    pub fn once(fault: Fault) -> Self {
        Self {
            remaining: Some(1),
            ..Self::always(fault)
        }
    }

    pub fn with_probability(mut self, p: f64) -> Self {
        self.probability = p.clamp(0.0, 1.0);
        self
    }

    pub fn on_path(mut self, needle: impl Into<String>) -> Self {
        self.path_contains = Some(needle.into());
        self
    }

    pub fn on_method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into().to_ascii_uppercase());
        self
    }

    pub fn on_writes(mut self) -> Self {
        self.writes_only = true;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let is_write = !matches!(method, "GET" | "HEAD" | "OPTIONS");
        self.remaining != Some(0)
            && (!self.writes_only || is_write)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

#[derive(Debug)]
struct PlanState {
    rng: ChaCha8Rng,
    rules: Vec<FaultRule>,
    enabled: bool,
}

/// The rules and the seeded RNG; clones share both.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    state: Arc<Mutex<PlanState>>,
}

impl FaultPlan {
    pub fn new(seed: u64) -> Self {
        Self {
            state: Arc::new(Mutex::new(PlanState {
                rng: ChaCha8Rng::seed_from_u64(seed),
                rules: Vec::new(),
                enabled: true,
            })),
        }
    }

    pub fn add(&self, rule: FaultRule) {
        self.lock().rules.push(rule);
    }

    pub fn set_rules(&self, rules: Vec<FaultRule>) {
        self.lock().rules = rules;
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.lock().rules.clone()
    }

    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Turns every rule off (or on again) without forgetting them: "sync until quiet".
    pub fn set_enabled(&self, enabled: bool) {
        self.lock().enabled = enabled;
    }

    /// Reseeds the RNG, so a test can replay a run from a known point.
    pub fn reseed(&self, seed: u64) {
        self.lock().rng = ChaCha8Rng::seed_from_u64(seed);
    }

    /// The fault for this request, if one fires. Rules are tried in order; the first that
    /// matches and wins its draw fires. Every matching rule draws, so the RNG sequence does
    /// not depend on which rule fired.
    pub fn draw(&self, method: &str, path: &str) -> Option<Fault> {
        let mut state = self.lock();
        if !state.enabled {
            return None;
        }
        let method = method.to_ascii_uppercase();
        let mut fired: Option<usize> = None;
        for i in 0..state.rules.len() {
            if !state.rules[i].matches(&method, path) {
                continue;
            }
            let p = state.rules[i].probability;
            let hit = state.rng.random_bool(p.clamp(0.0, 1.0));
            if hit && fired.is_none() {
                fired = Some(i);
            }
        }
        let i = fired?;
        let rule = &mut state.rules[i];
        if let Some(n) = rule.remaining.as_mut() {
            *n = n.saturating_sub(1);
        }
        Some(rule.fault.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PlanState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(seed: u64) -> Vec<Option<Fault>> {
        let plan = FaultPlan::new(seed);
        plan.add(FaultRule::always(Fault::Internal).with_probability(0.3));
        (0..200)
            .map(|_| plan.draw("GET", "/v1.0/me/events"))
            .collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        let fired = draws(7).iter().filter(|f| f.is_some()).count();
        assert!(
            (30..90).contains(&fired),
            "30 % of 200 should fire, got {fired}"
        );
    }

    #[test]
    fn once_rules_fire_once_and_filters_apply() {
        let plan = FaultPlan::new(1);
        plan.add(
            FaultRule::once(Fault::ResetAfterApply)
                .on_writes()
                .on_path("/events"),
        );
        assert_eq!(
            plan.draw("GET", "/v1.0/me/events"),
            None,
            "reads are not writes"
        );
        assert_eq!(plan.draw("POST", "/v1.0/me/drive"), None, "path filter");
        assert_eq!(
            plan.draw("POST", "/v1.0/me/events"),
            Some(Fault::ResetAfterApply)
        );
        assert_eq!(
            plan.draw("POST", "/v1.0/me/events"),
            None,
            "fired once already"
        );
    }

    #[test]
    fn a_disabled_plan_injects_nothing() {
        let plan = FaultPlan::new(1);
        plan.add(FaultRule::always(Fault::Internal));
        plan.set_enabled(false);
        assert_eq!(plan.draw("GET", "/"), None);
        plan.set_enabled(true);
        assert_eq!(plan.draw("GET", "/"), Some(Fault::Internal));
    }

    #[test]
    fn rules_round_trip_through_the_control_api_json() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"fault":{"kind":"throttle","retry_after_s":3},"probability":0.5,"method":"PATCH"}"#,
        )
        .unwrap();
        assert_eq!(rule.fault, Fault::Throttle { retry_after_s: 3 });
        assert_eq!(rule.method.as_deref(), Some("PATCH"));
        assert!(!rule.writes_only);
    }
}
