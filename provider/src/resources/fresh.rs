//! The private-state stamp of a create: for a few minutes after it, a refresh that finds the
//! object missing waits a bounded time for it to replicate instead of reporting it deleted
//! (which would plan a duplicate). Creates trust Graph's answer instead of reading back, so
//! the first refresh after an apply can be the first read of the object.

/// Private-state key: when the resource created its object (Unix seconds).
const CREATED_AT: &str = "created_at";
/// How long after the create a 404 is taken for replication lag.
const RECENT_CREATE_SECS: u64 = 300;

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `private` with the create time set to now.
pub fn stamp_created(private: &[u8]) -> Vec<u8> {
    crate::framework::private::set(private, CREATED_AT, serde_json::Value::from(unix_now()))
}

/// Whether the private state records a create within the last few minutes.
pub fn recently_created(private: &[u8]) -> bool {
    crate::framework::private::get(private, CREATED_AT)
        .and_then(|v| v.as_u64())
        .is_some_and(|t| unix_now().saturating_sub(t) < RECENT_CREATE_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_recent_keeps_other_keys_and_expires() {
        assert!(!recently_created(&[]));
        let other = crate::framework::private::set(&[], "etag", serde_json::Value::from("W/1"));
        let stamped = stamp_created(&other);
        assert!(recently_created(&stamped));
        assert_eq!(crate::framework::private::get(&stamped, "etag"), Some(serde_json::Value::from("W/1")));
        let old = crate::framework::private::set(
            &[],
            CREATED_AT,
            serde_json::Value::from(unix_now() - RECENT_CREATE_SECS - 1),
        );
        assert!(!recently_created(&old));
    }
}
