//! Injected faults for Graph routes (never the token endpoint or `/_emulator/`): latency,
//! throttling, transient 503s, lost responses, the Intune write limit, consistency lag and
//! page sizes. Random decisions come from one seeded RNG so a run can be replayed.
//! One deterministic switch, `fail_write_at`, fails exactly the N-th write (for fault sweeps).

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
    /// Extra random delay (0..=N ms, from the seeded RNG) added to `latency_ms`.
    #[serde(default, alias = "latency-jitter-ms")]
    pub latency_jitter_ms: u64,
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
    /// Fail exactly the N-th write (1-based; None = off). A write is a Graph request other than
    /// GET/HEAD that reaches its handler (after throttling and random errors), `$batch` inner
    /// requests included and the envelope itself excluded; only writes matching
    /// `fail_write_match` are counted. Fires once; the count restarts on reset or when any
    /// `fail_write_*` setting changes.
    #[serde(default, alias = "fail-write-at")]
    pub fail_write_at: Option<u32>,
    /// How the N-th write fails.
    #[serde(default, alias = "fail-write-mode")]
    pub fail_write_mode: WriteFaultMode,
    /// Only writes whose label equals this are counted: `"METHOD /version/path"`, query
    /// dropped, every GUID-shaped path segment written `{id}` (see [`request_label`]), e.g.
    /// `"POST /v1.0/groups"` or `"POST /beta/deviceAppManagement/mobileApps/{id}/assignments"`.
    #[serde(default, alias = "fail-write-match")]
    pub fail_write_match: Option<String>,
    /// Collection pages carry their `@odata.nextLink` on this host, optionally with a port
    /// (e.g. `evil.example`, `127.0.0.1:9`), over https, instead of the emulator's, as a
    /// hostile or misrouted service would: a client must not follow it (and so send its token
    /// there).
    #[serde(default, alias = "next-link-host")]
    pub next_link_host: Option<String>,
}

/// How the write chosen by `fail_write_at` fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteFaultMode {
    /// 503 before any change.
    #[default]
    Error,
    /// The change is committed, then the connection is dropped without a response.
    LostResponse,
}

/// Partial update for `POST /_emulator/faults`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPatch {
    #[serde(default, alias = "latency-ms")]
    pub latency_ms: Option<u64>,
    #[serde(default, alias = "latency-jitter-ms")]
    pub latency_jitter_ms: Option<u64>,
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
    #[serde(default, alias = "intune-write-limit", deserialize_with = "present")]
    pub intune_write_limit: Option<Option<u32>>,
    #[serde(default, alias = "page-size", deserialize_with = "present")]
    pub page_size: Option<Option<usize>>,
    /// `null` or `0` switches the write fault off.
    #[serde(default, alias = "fail-write-at", deserialize_with = "present")]
    pub fail_write_at: Option<Option<u32>>,
    #[serde(default, alias = "fail-write-mode")]
    pub fail_write_mode: Option<WriteFaultMode>,
    /// `null` counts every write.
    #[serde(default, alias = "fail-write-match", deserialize_with = "present")]
    pub fail_write_match: Option<Option<String>>,
    /// `null` gives next links back their own host.
    #[serde(default, alias = "next-link-host", deserialize_with = "present")]
    pub next_link_host: Option<Option<String>>,
}

/// A field that is present (even as `null`) is `Some`: `null` must switch a setting off,
/// not be mistaken for "keep it".
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl FaultSettings {
    /// Applies a partial update; returns an error text for out-of-range values.
    pub fn apply(&mut self, patch: FaultPatch) -> Result<(), String> {
        let mut next = self.clone();
        if let Some(v) = patch.latency_ms {
            next.latency_ms = v;
        }
        if let Some(v) = patch.latency_jitter_ms {
            next.latency_jitter_ms = v;
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
        if let Some(v) = patch.fail_write_at {
            next.fail_write_at = v.filter(|n| *n > 0);
        }
        if let Some(v) = patch.fail_write_mode {
            next.fail_write_mode = v;
        }
        if let Some(v) = patch.fail_write_match {
            next.fail_write_match = v;
        }
        if let Some(v) = patch.next_link_host {
            next.next_link_host = v;
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
        if self.fail_write_at == Some(0) {
            return Err("fail_write_at counts from 1".into());
        }
        if let Some(host) = &self.next_link_host
            && (host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        {
            return Err(format!("next_link_host must be a host, optionally with a port, got {host:?}"));
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

/// Mutable fault state: settings, RNG, the Intune write window and the write count.
#[derive(Debug)]
pub struct FaultState {
    pub settings: FaultSettings,
    rng: StdRng,
    intune_writes: VecDeque<Instant>,
    /// Writes counted toward `fail_write_at`.
    writes_counted: u32,
}

const INTUNE_WINDOW: Duration = Duration::from_secs(20);

impl FaultState {
    pub fn new(settings: FaultSettings) -> Self {
        let rng = StdRng::seed_from_u64(settings.seed);
        Self { settings, rng, intune_writes: VecDeque::new(), writes_counted: 0 }
    }

    /// Replaces the settings; reseeds the RNG if the seed changed.
    pub fn update(&mut self, settings: FaultSettings) {
        if settings.seed != self.settings.seed {
            self.rng = StdRng::seed_from_u64(settings.seed);
        }
        let s = &self.settings;
        if (s.fail_write_at, s.fail_write_mode, &s.fail_write_match)
            != (settings.fail_write_at, settings.fail_write_mode, &settings.fail_write_match)
        {
            self.writes_counted = 0;
        }
        self.settings = settings;
    }

    /// Starts over (control `reset`): same settings, fresh RNG and windows.
    pub fn restart(&mut self) {
        self.rng = StdRng::seed_from_u64(self.settings.seed);
        self.intune_writes.clear();
        self.writes_counted = 0;
    }

    /// Counts a write that is about to be handled and says whether it is the one
    /// `fail_write_at` chose, and how it fails.
    pub fn write_fault(&mut self, method: &str, path: &str) -> Option<WriteFaultMode> {
        let at = self.settings.fail_write_at?;
        if let Some(wanted) = self.settings.fail_write_match.as_deref()
            && request_label(method, path) != wanted
        {
            return None;
        }
        self.writes_counted = self.writes_counted.saturating_add(1);
        (self.writes_counted == at).then_some(self.settings.fail_write_mode)
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
                // Whole seconds, rounded up: a client that waits what it is told must find
                // the window open (rounding down sent it back into another 429).
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Verdict::Throttle { retry_after_secs: secs.max(1) };
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

    /// The delay before handling one request: `latency_ms` plus the seeded jitter.
    pub fn latency(&mut self) -> Duration {
        let jitter = self.settings.latency_jitter_ms;
        let extra = if jitter == 0 { 0 } else { self.rng.random_range(0..=jitter) };
        Duration::from_millis(self.settings.latency_ms.saturating_add(extra))
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

/// `METHOD /path` without the query and with every GUID-shaped path segment (also
/// `{guid}_suffix` assignment ids) written `{id}`: the same call gets the same label in every run.
pub fn request_label(method: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path
        .split('/')
        .map(|seg| {
            let head = seg.split('_').next().unwrap_or(seg);
            let guid = head.len() == 36 && head.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if guid { "{id}" } else { seg }
        })
        .collect();
    format!("{method} {}", segments.join("/"))
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
        assert!(
            matches!(
                s.before(Family::Intune, true, t0 + Duration::from_millis(18_100)),
                Verdict::Throttle { retry_after_secs: 2 }
            ),
            "1.9 s left: rounded up"
        );
        assert_eq!(s.before(Family::Intune, true, t0 + INTUNE_WINDOW), Verdict::Proceed);
    }

    #[test]
    fn fail_write_at_fires_once_on_the_nth_matching_write() {
        let mut s = FaultState::new(FaultSettings::default());
        assert_eq!(s.write_fault("POST", "/v1.0/groups"), None, "off by default");
        let mut settings = FaultSettings::default();
        let patch: FaultPatch = serde_json::from_str(
            r#"{"fail_write_at": 2, "fail_write_mode": "lost_response", "fail_write_match": "POST /v1.0/groups"}"#,
        )
        .unwrap_or_default();
        assert!(settings.apply(patch).is_ok());
        s.update(settings.clone());
        let got: Vec<_> = [
            ("POST", "/v1.0/groups"),
            ("POST", "/v1.0/groups/3b35f0cb-3c9a-4fa7-89d1-8bbec2106058/members/$ref"),
            ("PATCH", "/beta/deviceManagement/x"),
            ("POST", "/v1.0/groups?$select=id"),
            ("POST", "/v1.0/groups"),
        ]
        .iter()
        .map(|(m, p)| s.write_fault(m, p))
        .collect();
        assert_eq!(got, [None, None, None, Some(WriteFaultMode::LostResponse), None]);
        s.restart();
        assert_eq!(
            (s.write_fault("POST", "/v1.0/groups"), s.write_fault("POST", "/v1.0/groups")),
            (None, Some(WriteFaultMode::LostResponse)),
            "reset restarts the count"
        );
        let off: FaultPatch = serde_json::from_str(r#"{"fail_write_at": null}"#).unwrap_or_default();
        assert!(settings.apply(off).is_ok());
        assert_eq!(settings.fail_write_at, None);
        assert!(serde_json::from_str::<FaultPatch>(r#"{"fail_write_mode": "sometimes"}"#).is_err());
    }

    #[test]
    fn labels_hide_ids_and_queries() {
        assert_eq!(
            request_label(
                "DELETE",
                "/beta/deviceAppManagement/mobileApps/c3000000-0000-4000-8000-000000000001/assignments/3b35f0cb-3c9a-4fa7-89d1-8bbec2106058_1_0?x=1"
            ),
            "DELETE /beta/deviceAppManagement/mobileApps/{id}/assignments/{id}"
        );
        assert_eq!(
            request_label("PUT", "/beta/policies/deviceRegistrationPolicy"),
            "PUT /beta/policies/deviceRegistrationPolicy"
        );
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
