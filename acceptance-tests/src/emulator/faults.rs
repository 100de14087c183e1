//! Injected faults for Graph routes (never the token endpoint or `/_emulator/`): latency,
//! throttling, transient 503s, lost responses, the Intune write limit, consistency lag and
//! page sizes. Random decisions come from one seeded RNG so a run can be replayed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Fault settings; also the JSON accepted by `POST /_emulator/faults` (every field optional
/// there; names as the CLI flags with `_` or `-`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSettings {
    /// Delay before each Graph request is handled.
    #[serde(default, alias = "latency-ms")]
    pub latency_ms: u64,
    /// Percentage of Graph requests answered 429 with `Retry-After: 1`.
    #[serde(default, alias = "throttle-percent")]
    pub throttle_percent: u8,
    /// Percentage of Graph requests answered 503 before any change.
    #[serde(default, alias = "error-percent")]
    pub error_percent: u8,
    /// Percentage of Graph requests whose change is committed but whose connection is then
    /// dropped without a response.
    #[serde(default, alias = "lost-response-percent")]
    pub lost_response_percent: u8,
    /// Objects created/changed within this window are invisible (404) or stale to reads.
    #[serde(default, alias = "consistency-lag-ms")]
    pub consistency_lag_ms: u64,
    /// RNG seed for fault decisions and `$batch` response order.
    #[serde(default)]
    pub seed: u64,
    /// Writes per 20 s per app on Intune paths before 429 (None = no limit).
    #[serde(default, alias = "intune-write-limit")]
    pub intune_write_limit: Option<u32>,
    /// Page size override for every collection (None: 100 directory, 1000 Intune).
    #[serde(default, alias = "page-size")]
    pub page_size: Option<usize>,
}

/// Partial update for `POST /_emulator/faults`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPatch {
    #[serde(default, alias = "latency-ms")]
    pub latency_ms: Option<u64>,
    #[serde(default, alias = "throttle-percent")]
    pub throttle_percent: Option<u8>,
    #[serde(default, alias = "error-percent")]
    pub error_percent: Option<u8>,
    #[serde(default, alias = "lost-response-percent")]
    pub lost_response_percent: Option<u8>,
    #[serde(default, alias = "consistency-lag-ms")]
    pub consistency_lag_ms: Option<u64>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// `null` or `0` switches the limit off.
    #[serde(default, alias = "intune-write-limit")]
    pub intune_write_limit: Option<Option<u32>>,
    #[serde(default, alias = "page-size")]
    pub page_size: Option<Option<usize>>,
}

impl FaultSettings {
    /// Applies a partial update; returns an error text for out-of-range values.
    pub fn apply(&mut self, patch: FaultPatch) -> Result<(), String> {
        let mut next = self.clone();
        if let Some(v) = patch.latency_ms {
            next.latency_ms = v;
        }
        if let Some(v) = patch.throttle_percent {
            next.throttle_percent = v;
        }
        if let Some(v) = patch.error_percent {
            next.error_percent = v;
        }
        if let Some(v) = patch.lost_response_percent {
            next.lost_response_percent = v;
        }
        if let Some(v) = patch.consistency_lag_ms {
            next.consistency_lag_ms = v;
        }
        if let Some(v) = patch.seed {
            next.seed = v;
        }
        if let Some(v) = patch.intune_write_limit {
            next.intune_write_limit = v.filter(|n| *n > 0);
        }
        if let Some(v) = patch.page_size {
            next.page_size = v;
        }
        next.validate()?;
        *self = next;
        Ok(())
    }

    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("throttle_percent", self.throttle_percent),
            ("error_percent", self.error_percent),
            ("lost_response_percent", self.lost_response_percent),
        ] {
            if v > 100 {
                return Err(format!("{name} must be between 0 and 100, got {v}"));
            }
        }
        if self.page_size == Some(0) {
            return Err("page_size must be at least 1".into());
        }
        Ok(())
    }

    /// Page size for a family of collections.
    pub fn page_size_for(&self, family: Family) -> usize {
        self.page_size.unwrap_or(match family {
            Family::Directory => 100,
            Family::Intune => 1000,
        })
    }
}

/// Which service a path belongs to (decides error styles, page sizes, write limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Directory,
    Intune,
}

impl Family {
    /// Family of a Graph path (`/v1.0/...` or `/beta/...`).
    pub fn of_path(path: &str) -> Self {
        let rest = path.trim_start_matches('/');
        let rest = rest.split_once('/').map_or("", |(_, r)| r);
        if rest.starts_with("deviceManagement") || rest.starts_with("deviceAppManagement") {
            Family::Intune
        } else {
            Family::Directory
        }
    }
}

/// The pre-handler decision for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    Throttle { retry_after_secs: u64 },
    Unavailable,
}

/// Mutable fault state: settings, RNG, and the Intune write window.
#[derive(Debug)]
pub struct FaultState {
    pub settings: FaultSettings,
    rng: StdRng,
    intune_writes: VecDeque<Instant>,
}

const INTUNE_WINDOW: Duration = Duration::from_secs(20);

impl FaultState {
    pub fn new(settings: FaultSettings) -> Self {
        let rng = StdRng::seed_from_u64(settings.seed);
        Self { settings, rng, intune_writes: VecDeque::new() }
    }

    /// Replaces the settings; reseeds the RNG if the seed changed.
    pub fn update(&mut self, settings: FaultSettings) {
        if settings.seed != self.settings.seed {
            self.rng = StdRng::seed_from_u64(settings.seed);
        }
        self.settings = settings;
    }

    /// Starts over (control `reset`): same settings, fresh RNG and windows.
    pub fn restart(&mut self) {
        self.rng = StdRng::seed_from_u64(self.settings.seed);
        self.intune_writes.clear();
    }

    fn roll(&mut self, percent: u8) -> bool {
        percent > 0 && (percent >= 100 || self.rng.random_range(0..100u8) < percent)
    }

    /// Decides, before the handler runs, whether the request is throttled or fails.
    pub fn before(&mut self, family: Family, is_write: bool, now: Instant) -> Verdict {
        if self.roll(self.settings.throttle_percent) {
            return Verdict::Throttle { retry_after_secs: 1 };
        }
        if let (Family::Intune, true, Some(limit)) = (family, is_write, self.settings.intune_write_limit) {
            while self
                .intune_writes
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= INTUNE_WINDOW)
            {
                self.intune_writes.pop_front();
            }
            if self.intune_writes.len() >= limit as usize {
                let oldest = self.intune_writes.front().copied().unwrap_or(now);
                let wait = INTUNE_WINDOW.saturating_sub(now.saturating_duration_since(oldest));
                return Verdict::Throttle { retry_after_secs: wait.as_secs().max(1) };
            }
            self.intune_writes.push_back(now);
        }
        if self.roll(self.settings.error_percent) {
            return Verdict::Unavailable;
        }
        Verdict::Proceed
    }

    /// Decides, after the handler committed, whether the response is lost.
    pub fn lose_response(&mut self) -> bool {
        let p = self.settings.lost_response_percent;
        self.roll(p)
    }

    /// A random index below `n` (0 if `n` is 0), for `$batch` execution order.
    pub fn pick(&mut self, n: usize) -> usize {
        if n <= 1 { 0 } else { self.rng.random_range(0..n) }
    }

    /// A shuffled order of `n` indices (for `$batch` responses).
    pub fn shuffle(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.rng.random_range(0..=i);
            order.swap(i, j);
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intune_write_limit_opens_again_after_the_window() {
        let mut s = FaultState::new(FaultSettings { intune_write_limit: Some(2), ..Default::default() });
        let t0 = Instant::now();
        assert_eq!(s.before(Family::Intune, true, t0), Verdict::Proceed);
        assert_eq!(s.before(Family::Intune, true, t0), Verdict::Proceed);
        assert_eq!(s.before(Family::Intune, false, t0), Verdict::Proceed, "reads are not limited");
        assert_eq!(s.before(Family::Directory, true, t0), Verdict::Proceed, "directory is not limited");
        assert!(matches!(
            s.before(Family::Intune, true, t0 + Duration::from_secs(5)),
            Verdict::Throttle { retry_after_secs: 15 }
        ));
        assert_eq!(s.before(Family::Intune, true, t0 + INTUNE_WINDOW), Verdict::Proceed);
    }

    #[test]
    fn patch_validates_and_merges() {
        let mut s = FaultSettings::default();
        let patch: FaultPatch =
            serde_json::from_str(r#"{"throttle-percent": 50, "page_size": 3}"#).unwrap_or_default();
        assert!(s.apply(patch).is_ok());
        assert_eq!((s.throttle_percent, s.page_size), (50, Some(3)));
        let bad: FaultPatch = serde_json::from_str(r#"{"error_percent": 101}"#).unwrap_or_default();
        assert!(s.apply(bad).is_err());
        assert_eq!(s.error_percent, 0);
        assert!(serde_json::from_str::<FaultPatch>(r#"{"nope": 1}"#).is_err());
    }
}
