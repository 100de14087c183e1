//! Directory object ids: the only thing this module ever puts into a Graph URL path, so
//! they are checked to be GUIDs and kept in one canonical spelling.

use std::fmt;

/// A directory object id (group, user, service principal, device), lower-case hyphenated.
///
/// Graph answers with lower-case ids; keeping ours the same makes set comparison exact.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(String);

/// A string that is not a directory object id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not a directory object id (expected a GUID such as 00000000-0000-0000-0000-000000000000)"
)]
pub struct InvalidObjectId {
    pub value: String,
}

impl ObjectId {
    /// Accepts the hyphenated GUID form only (any case); Graph ids are never braced or bare hex.
    pub fn parse(value: &str) -> Result<Self, InvalidObjectId> {
        let invalid = || InvalidObjectId { value: value.to_owned() };
        if value.len() != 36 {
            return Err(invalid());
        }
        let guid = uuid::Uuid::try_parse(value).map_err(|_| invalid())?;
        Ok(Self(guid.hyphenated().to_string()))
    }

    /// For compile-time constants already in canonical form (lower-case hyphenated GUID);
    /// a unit test per constant checks it against [`ObjectId::parse`].
    pub(crate) fn from_canonical_literal(value: &'static str) -> Self {
        Self(value.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_lower_case() {
        let id = ObjectId::parse("F1346770-5B25-470B-88BD-D5744AB7952C").unwrap();
        assert_eq!(id.as_str(), "f1346770-5b25-470b-88bd-d5744ab7952c");
        assert_eq!(id, ObjectId::parse("f1346770-5b25-470b-88bd-d5744ab7952c").unwrap());
    }

    #[test]
    fn rejects_non_guids_and_other_guid_spellings() {
        for bad in [
            "",
            "id-value",
            "{f1346770-5b25-470b-88bd-d5744ab7952c}",
            "f13467705b25470b88bdd5744ab7952c",
            "urn:uuid:f1346770-5b25-470b-88bd-d5744ab7952c",
            "f1346770-5b25-470b-88bd-d5744ab7952c/$ref",
            "../groups/f1346770-5b25-470b-88bd-d5744ab7952",
        ] {
            let err = ObjectId::parse(bad).unwrap_err();
            assert_eq!(err.value, bad);
        }
    }
}
