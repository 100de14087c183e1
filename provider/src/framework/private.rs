//! Private state: bytes Terraform keeps beside a resource's state and hands back on the
//! next plan/apply/read. We store a JSON object so several keys can share it.

use serde_json::{Map, Value as Json};

use super::codec::DecodeError;

/// Encode a private-state map; an empty map is stored as no bytes.
pub fn encode(map: &Map<String, Json>) -> Vec<u8> {
    if map.is_empty() {
        return Vec::new();
    }
    Json::Object(map.clone()).to_string().into_bytes()
}

/// Decode private state written by [`encode`]; no bytes is an empty map.
pub fn decode(bytes: &[u8]) -> Result<Map<String, Json>, DecodeError> {
    if bytes.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(bytes) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(DecodeError::Invalid("private state is not a JSON object".into())),
        Err(e) => Err(DecodeError::Invalid(format!("private state is not valid JSON: {e}"))),
    }
}

/// The value stored under `key`, if the private state holds one.
pub fn get(bytes: &[u8], key: &str) -> Option<Json> {
    decode(bytes).ok()?.remove(key)
}

/// `bytes` with `key` set to `value` (unreadable private state is replaced).
pub fn set(bytes: &[u8], key: &str, value: Json) -> Vec<u8> {
    let mut map = decode(bytes).unwrap_or_default();
    map.insert(key.to_owned(), value);
    encode(&map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_state_table() {
        let cases: &[(&str, &[u8], Result<usize, ()>)] = &[
            ("empty", b"", Ok(0)),
            ("object", br#"{"a":1,"b":"x"}"#, Ok(2)),
            ("array", b"[1]", Err(())),
            ("garbage", b"{", Err(())),
        ];
        for (name, bytes, want) in cases {
            assert_eq!(decode(bytes).map(|m| m.len()).map_err(|_| ()), *want, "case {name}");
        }
        assert_eq!(encode(&Map::new()), Vec::<u8>::new());
        let bytes = set(b"", "etag", Json::from("W/1"));
        assert_eq!(get(&bytes, "etag"), Some(Json::from("W/1")));
        assert_eq!(get(&bytes, "other"), None);
        assert_eq!(decode(&encode(&decode(&bytes).unwrap_or_default())).ok(), decode(&bytes).ok());
    }
}
