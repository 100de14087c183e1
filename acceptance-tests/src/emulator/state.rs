//! Shared emulator state: configuration, the tenant store, fault state, request log and
//! issued tokens. Each part has its own lock; no lock is held across an `.await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use serde_json::Value;

use super::auth::{Credentials, DEFAULT_ROLES, Grant};
use super::conformance::Violation;
use super::faults::{FaultSettings, FaultState};
use super::fixtures;
use super::request_log::RequestLog;
use super::store::{Clock, Store};

/// Everything needed to build the emulator's state (no network settings).
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    pub credentials: Credentials,
    /// Application permissions of the app; `None` = every role in [`DEFAULT_ROLES`].
    pub roles: Option<Vec<String>>,
    pub faults: FaultSettings,
    /// Extra fixtures (`{"collection": [objects...]}`), loaded after the built-in ones.
    pub extra_fixtures: Option<Value>,
    pub clock: Clock,
    /// Absolute base URL (`https://127.0.0.1:port`); `start` sets the real one.
    pub base_url: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            credentials: Credentials {
                tenant_id: DEFAULT_TENANT_ID.into(),
                client_id: DEFAULT_CLIENT_ID.into(),
                client_secret: DEFAULT_CLIENT_SECRET.into(),
                client_certificates: Vec::new(),
            },
            roles: None,
            faults: FaultSettings::default(),
            extra_fixtures: None,
            clock: Clock::system(),
            base_url: "https://graph.emulator.invalid".into(),
        }
    }
}

/// Default tenant id.
pub const DEFAULT_TENANT_ID: &str = "00000000-0000-0000-0000-0000000000aa";
/// Default client (application) id.
pub const DEFAULT_CLIENT_ID: &str = "00000000-0000-0000-0000-0000000000bb";
/// Default client secret.
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";

struct Inner {
    credentials: Credentials,
    roles: Mutex<Vec<String>>,
    extra_fixtures: Option<Value>,
    clock: Clock,
    base_url: RwLock<String>,
    store: Mutex<Store>,
    faults: Mutex<FaultState>,
    log: Mutex<RequestLog>,
    tokens: Mutex<HashMap<String, Grant>>,
    /// Every access token issued and every client assertion received, in order (secret scans).
    issued: Mutex<IssuedSecrets>,
    violations: Mutex<Vec<Violation>>,
}

/// Credentials that crossed the token endpoint, kept so tests can scan outputs for them.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct IssuedSecrets {
    pub access_tokens: Vec<String>,
    pub client_assertions: Vec<String>,
}

/// Cheaply clonable handle to the emulator state (axum router state).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("base_url", &self.base_url()).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a handler must not wedge the emulator for the rest of a test run.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AppState {
    /// Builds the state and loads fixtures. Fails on invalid fault settings or fixtures.
    pub fn new(config: EmulatorConfig) -> Result<Self, String> {
        config.faults.validate()?;
        let mut store = Store::new(config.clock.clone());
        store.set_lag(Duration::from_millis(config.faults.consistency_lag_ms));
        fixtures::load(&mut store, config.extra_fixtures.as_ref())?;
        let roles =
            config.roles.clone().unwrap_or_else(|| DEFAULT_ROLES.iter().map(|r| (*r).to_owned()).collect());
        Ok(Self(Arc::new(Inner {
            credentials: config.credentials,
            roles: Mutex::new(roles),
            extra_fixtures: config.extra_fixtures,
            clock: config.clock,
            base_url: RwLock::new(config.base_url),
            store: Mutex::new(store),
            faults: Mutex::new(FaultState::new(config.faults)),
            log: Mutex::new(RequestLog::default()),
            tokens: Mutex::new(HashMap::new()),
            issued: Mutex::new(IssuedSecrets::default()),
            violations: Mutex::new(Vec::new()),
        })))
    }

    pub fn credentials(&self) -> &Credentials {
        &self.0.credentials
    }

    /// Roles put into newly issued tokens.
    pub fn roles(&self) -> Vec<String> {
        lock(&self.0.roles).clone()
    }

    /// Replaces the app's roles for new tokens and for tokens already issued (as if the admin
    /// changed the grant and every client refreshed its token).
    pub fn set_roles(&self, roles: Vec<String>) {
        let set: std::collections::BTreeSet<String> = roles.iter().cloned().collect();
        for grant in lock(&self.0.tokens).values_mut() {
            grant.caller.roles = set.clone();
        }
        *lock(&self.0.roles) = roles;
    }

    pub fn clock(&self) -> &Clock {
        &self.0.clock
    }

    /// `https://host:port` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.0.base_url.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn set_base_url(&self, url: String) {
        *self.0.base_url.write().unwrap_or_else(PoisonError::into_inner) = url;
    }

    /// The tenant store (one lock for all collections).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.0.store)
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultState> {
        lock(&self.0.faults)
    }

    pub fn log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.0.log)
    }

    pub fn token_grant(&self, token: &str) -> Option<Grant> {
        lock(&self.0.tokens).get(token).cloned()
    }

    pub fn store_grant(&self, token: String, grant: Grant) {
        lock(&self.0.issued).access_tokens.push(token.clone());
        lock(&self.0.tokens).insert(token, grant);
    }

    /// Remembers a client assertion (certificate JWT or OIDC token) the token endpoint accepted.
    pub fn record_assertion(&self, assertion: &str) {
        lock(&self.0.issued).client_assertions.push(assertion.to_owned());
    }

    /// Access tokens issued and client assertions received so far (never reset).
    pub fn issued_secrets(&self) -> IssuedSecrets {
        lock(&self.0.issued).clone()
    }

    /// Records request-body conformance violations.
    pub fn record_violations(&self, found: &[Violation]) {
        lock(&self.0.violations).extend_from_slice(found);
    }

    /// Conformance violations so far (kept across `reset`, so a test sees a whole flow's).
    pub fn violations(&self) -> Vec<Violation> {
        lock(&self.0.violations).clone()
    }

    /// Applies new fault settings (including the store's consistency lag).
    pub fn set_faults(&self, settings: FaultSettings) {
        self.store().set_lag(Duration::from_millis(settings.consistency_lag_ms));
        self.faults().update(settings);
    }

    /// Back to fixtures, empty log; fault settings and issued tokens are kept.
    pub fn reset(&self) -> Result<(), String> {
        {
            let mut store = self.store();
            store.clear();
            fixtures::load(&mut store, self.0.extra_fixtures.as_ref())?;
        }
        self.faults().restart();
        self.log().clear();
        Ok(())
    }
}
