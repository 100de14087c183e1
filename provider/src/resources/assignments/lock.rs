//! Per-key async locks, so every write to one app's (or one script's) assignments from this
//! provider process is serialised — two `autopilot_app_assignment` resources on one app run
//! read → merge → `/assign` one after the other instead of overwriting each other.
//!
//! Entries are kept as `Weak` references and pruned on every `lock`, so the registry holds only
//! keys that are locked or waited for and does not grow with the number of apps ever touched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A registry of async mutexes, one per key.
#[derive(Debug, Default)]
pub struct KeyedLocks {
    entries: Mutex<HashMap<String, Weak<AsyncMutex<()>>>>,
}

/// Holds the lock of one key until dropped.
#[derive(Debug)]
pub struct KeyedGuard {
    key: String,
    _guard: OwnedMutexGuard<()>,
}

impl KeyedGuard {
    /// The (normalised) key held.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl KeyedLocks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Wait for, then hold, the lock of `key`. Keys are object ids, compared without ASCII case
    /// (Graph GUIDs may come back in another case than configured).
    pub async fn lock(&self, key: &str) -> KeyedGuard {
        let key = key.to_ascii_lowercase();
        let mutex = {
            // Poisoning cannot leave the map inconsistent (every operation is a single insert
            // or retain), so a poisoned lock is used as is.
            let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            entries.retain(|_, weak| weak.strong_count() > 0);
            match entries.get(&key).and_then(Weak::upgrade) {
                Some(existing) => existing,
                None => {
                    let fresh = Arc::new(AsyncMutex::new(()));
                    entries.insert(key.clone(), Arc::downgrade(&fresh));
                    fresh
                }
            }
        };
        let guard = mutex.lock_owned().await;
        KeyedGuard { key, _guard: guard }
    }

    /// Keys currently locked or waited for (entries whose lock is gone are not counted).
    pub fn active_keys(&self) -> usize {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.values().filter(|weak| weak.strong_count() > 0).count()
    }

    /// Entries physically held by the registry, including dead ones not yet pruned.
    pub fn stored_entries(&self) -> usize {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::FutureExt;

    use super::*;

    #[tokio::test]
    async fn same_key_excludes_other_keys_do_not() {
        let locks = KeyedLocks::new();
        let held = locks.lock("App-1").await;
        assert_eq!(held.key(), "app-1");
        // Same key, any case: not available while held.
        assert!(locks.lock("app-1").now_or_never().is_none());
        assert!(locks.lock("APP-1").now_or_never().is_none());
        // Another key: immediately available.
        let other = locks.lock("app-2").now_or_never();
        assert!(other.is_some());
        drop(other);
        drop(held);
        assert!(locks.lock("app-1").now_or_never().is_some());
    }

    #[tokio::test]
    async fn registry_does_not_grow() {
        let locks = KeyedLocks::new();
        for i in 0..100 {
            let _g = locks.lock(&format!("app-{i}")).await;
            assert_eq!(locks.active_keys(), 1);
        }
        // The last entry is pruned on the next call.
        assert!(locks.stored_entries() <= 1);
        let _g = locks.lock("another").await;
        assert_eq!(locks.stored_entries(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_on_one_key_never_overlap() {
        let locks = Arc::new(KeyedLocks::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let max_inside = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (locks, inside, max_inside, done) =
                (locks.clone(), inside.clone(), max_inside.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..25 {
                    let _g = locks.lock("app").await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    max_inside.fetch_max(now, Ordering::SeqCst);
                    // Give other tasks every chance to barge in while the lock is held.
                    tokio::task::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(max_inside.load(Ordering::SeqCst), 1);
        assert_eq!(done.load(Ordering::SeqCst), 200);
        assert_eq!(locks.active_keys(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn different_keys_run_in_parallel() {
        // Task A holds key a and waits for B to signal while holding key b: only possible if the
        // keys do not exclude each other (otherwise this test deadlocks and the harness hangs,
        // so it is bounded by a generous timeout that only matters on failure).
        let locks = Arc::new(KeyedLocks::new());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let a = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _a = locks.lock("a").await;
                rx.await.unwrap();
            })
        };
        let b = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _b = locks.lock("b").await;
                tx.send(()).unwrap();
            })
        };
        let both = async {
            a.await.unwrap();
            b.await.unwrap();
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), both).await.unwrap();
    }
}
