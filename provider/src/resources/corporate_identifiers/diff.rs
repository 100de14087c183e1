//! The authoritative-set diff behind `autopilot_corporate_identifiers`: which configured
//! devices Intune lacks, which Intune rows are not configured, and which rows only need a
//! new description. Also the `max_deletions` guard checked at plan time.
//!
//! Rows are matched by [`IdentityKey`] (case-insensitive identifier), in O(n) with hashing.
//! Ordering of every output list is deterministic: configured order for imports and
//! updates, Graph order for deletions.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::identity::{DeviceIdentity, IdentityKey};

/// A `manufacturerModelSerial` row as Graph returned it. Callers pass only rows of that
/// type: IMEI and serial-number identifiers belong to other platforms and are not ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExistingIdentity {
    /// Graph `id`, used to delete the row.
    pub id: String,
    /// Graph `importedDeviceIdentifier`, as stored (not necessarily in our normal form).
    pub identifier: String,
    /// Graph `description`; `None` and `Some("")` both mean "none".
    pub description: Option<String>,
}

/// A configured device that already exists in Intune.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    /// Graph `id` of the existing row.
    pub id: String,
    /// The configured device it matches.
    pub desired: DeviceIdentity,
    /// The identifier as Intune stores it (may differ from the configured one in case).
    pub existing_identifier: String,
}

/// The changes that make Intune's Windows corporate identifiers equal the configured set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetDiff {
    /// Configured devices Intune lacks.
    pub to_import: Vec<DeviceIdentity>,
    /// Existing rows whose description differs from the configured one. They keep their
    /// identifier; only the description changes.
    pub to_update: Vec<Kept>,
    /// Existing rows that are not configured, including extra copies of a configured
    /// identifier (the set keeps one row per identifier).
    pub to_delete: Vec<ExistingIdentity>,
    /// Existing rows that match a configured device and need no change.
    pub unchanged: Vec<Kept>,
}

/// Why a diff cannot be computed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// Two configured devices are the same to Intune. Plan-time validation normally
    /// rejects this first; the diff refuses it too rather than import one of them at random.
    #[error(
        "devices[{first}] and devices[{second}] are the same corporate identifier {identifier:?} \
         (Intune compares identifiers case-insensitively)"
    )]
    DuplicateDesired { first: usize, second: usize, identifier: String },
}

/// Plan-time refusal: the change would delete more existing identifiers than allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "this change would delete {planned} of {existing} existing Windows corporate identifiers, \
     more than max_deletions = {max}. Devices whose identifier is deleted are marked personal \
     at their next enrollment. If this is intended, raise max_deletions"
)]
pub struct TooManyDeletions {
    pub planned: usize,
    pub max: u64,
    pub existing: usize,
}

impl SetDiff {
    /// Compare the configured devices with the rows Graph returned.
    pub fn compute(desired: &[DeviceIdentity], existing: &[ExistingIdentity]) -> Result<Self, DiffError> {
        let mut wanted: HashMap<IdentityKey, usize> = HashMap::with_capacity(desired.len());
        for (index, device) in desired.iter().enumerate() {
            match wanted.entry(device.key()) {
                Entry::Occupied(first) => {
                    return Err(DiffError::DuplicateDesired {
                        first: *first.get(),
                        second: index,
                        identifier: device.identifier(),
                    });
                }
                Entry::Vacant(slot) => {
                    slot.insert(index);
                }
            }
        }

        // For each configured device, the first existing row that matches it.
        let mut matched: Vec<Option<&ExistingIdentity>> = vec![None; desired.len()];
        let mut to_delete = Vec::new();
        for row in existing {
            let key = IdentityKey::from_identifier(&row.identifier);
            match wanted.get(&key) {
                Some(&index) if matched[index].is_none() => matched[index] = Some(row),
                _ => to_delete.push(row.clone()),
            }
        }

        let mut diff = SetDiff { to_delete, ..SetDiff::default() };
        for (device, found) in desired.iter().zip(matched) {
            let Some(row) = found else {
                diff.to_import.push(device.clone());
                continue;
            };
            let kept = Kept {
                id: row.id.clone(),
                desired: device.clone(),
                existing_identifier: row.identifier.clone(),
            };
            if same_description(device.description.as_deref(), row.description.as_deref()) {
                diff.unchanged.push(kept);
            } else {
                diff.to_update.push(kept);
            }
        }
        Ok(diff)
    }

    /// True when Intune already matches the configuration.
    pub fn is_empty(&self) -> bool {
        self.to_import.is_empty() && self.to_update.is_empty() && self.to_delete.is_empty()
    }

    /// The `max_deletions` guard: refuse a plan deleting more than `max` rows.
    /// `existing` is the number of Windows corporate identifiers in Intune now.
    pub fn check_max_deletions(&self, max: u64, existing: usize) -> Result<(), TooManyDeletions> {
        let planned = self.to_delete.len();
        if u64::try_from(planned).map_or(true, |n| n > max) {
            Err(TooManyDeletions { planned, max, existing })
        } else {
            Ok(())
        }
    }
}

fn same_description(desired: Option<&str>, existing: Option<&str>) -> bool {
    desired.filter(|d| !d.is_empty()) == existing.filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(serial: &str, description: Option<&str>) -> DeviceIdentity {
        DeviceIdentity {
            manufacturer: "Lenovo".into(),
            model: "ThinkPad T14".into(),
            serial_number: serial.into(),
            description: description.map(str::to_owned),
        }
    }

    fn row(id: &str, identifier: &str, description: Option<&str>) -> ExistingIdentity {
        ExistingIdentity {
            id: id.into(),
            identifier: identifier.into(),
            description: description.map(str::to_owned),
        }
    }

    #[test]
    fn empty_inputs_give_an_empty_diff() {
        let diff = SetDiff::compute(&[], &[]).unwrap();
        assert!(diff.is_empty());
        assert_eq!(diff, SetDiff::default());
    }

    #[test]
    fn imports_deletes_updates_and_keeps() {
        let desired = [
            device("A1", None),         // exists, same
            device("B2", Some("desk")), // exists, new description
            device("C3", None),         // missing
            device("D4", Some("x")),    // exists with same description
        ];
        let existing = [
            row("id-a", "Lenovo,ThinkPad T14,A1", None),
            row("id-b", "Lenovo,ThinkPad T14,B2", Some("old")),
            row("id-z", "Lenovo,ThinkPad T14,Z9", None),
            row("id-d", "Lenovo,ThinkPad T14,D4", Some("x")),
        ];
        let diff = SetDiff::compute(&desired, &existing).unwrap();
        assert_eq!(diff.to_import, [device("C3", None)]);
        assert_eq!(diff.to_delete, [row("id-z", "Lenovo,ThinkPad T14,Z9", None)]);
        assert_eq!(diff.to_update.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), ["id-b"]);
        assert_eq!(diff.to_update[0].desired, device("B2", Some("desk")));
        assert_eq!(diff.unchanged.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), ["id-a", "id-d"]);
        assert!(!diff.is_empty());
    }

    #[test]
    fn matching_ignores_case_and_reports_the_stored_identifier() {
        let diff =
            SetDiff::compute(&[device("ab1", None)], &[row("id", "LENOVO,THINKPAD T14,AB1", None)]).unwrap();
        assert!(diff.is_empty());
        assert_eq!(diff.unchanged[0].existing_identifier, "LENOVO,THINKPAD T14,AB1");
    }

    #[test]
    fn empty_and_null_descriptions_are_the_same() {
        let diff = SetDiff::compute(&[device("A1", None)], &[row("id", "Lenovo,ThinkPad T14,A1", Some(""))])
            .unwrap();
        assert!(diff.is_empty());
        let diff = SetDiff::compute(&[device("A1", None)], &[row("id", "Lenovo,ThinkPad T14,A1", Some("x"))])
            .unwrap();
        assert_eq!(diff.to_update.len(), 1, "removing a description is an update");
    }

    #[test]
    fn extra_copies_of_an_identifier_are_deleted() {
        let existing =
            [row("first", "Lenovo,ThinkPad T14,A1", None), row("second", "lenovo,thinkpad t14,a1", None)];
        let diff = SetDiff::compute(&[device("A1", None)], &existing).unwrap();
        assert_eq!(diff.unchanged[0].id, "first");
        assert_eq!(diff.to_delete, [existing[1].clone()]);
    }

    #[test]
    fn unparseable_existing_rows_are_deleted_not_fatal() {
        let diff = SetDiff::compute(&[], &[row("odd", "no commas here", None)]).unwrap();
        assert_eq!(diff.to_delete.len(), 1);
    }

    #[test]
    fn duplicate_desired_devices_are_refused() {
        let desired = [device("A1", None), device("B2", None), device("a1", Some("x"))];
        assert_eq!(
            SetDiff::compute(&desired, &[]),
            Err(DiffError::DuplicateDesired {
                first: 0,
                second: 2,
                identifier: "Lenovo,ThinkPad T14,a1".into()
            })
        );
    }

    #[test]
    fn max_deletions_guard() {
        let existing: Vec<_> =
            (0..5).map(|i| row(&format!("id{i}"), &format!("Lenovo,ThinkPad T14,S{i}"), None)).collect();
        let diff = SetDiff::compute(&[device("S0", None)], &existing).unwrap();
        assert_eq!(diff.to_delete.len(), 4);
        assert_eq!(diff.check_max_deletions(4, existing.len()), Ok(()));
        assert_eq!(diff.check_max_deletions(u64::MAX, existing.len()), Ok(()));
        let err = diff.check_max_deletions(3, existing.len()).unwrap_err();
        assert_eq!(err, TooManyDeletions { planned: 4, max: 3, existing: 5 });
        let message = err.to_string();
        assert!(message.contains("delete 4 of 5") && message.contains("max_deletions = 3"), "{message}");
        assert_eq!(SetDiff::default().check_max_deletions(0, 0), Ok(()));
    }

    #[test]
    fn five_thousand_rows_each_side() {
        // 5,000 configured (the portal's per-file cap), 5,000 existing, half overlapping.
        let desired: Vec<_> = (0..5_000).map(|i| device(&format!("SN{i:05}"), None)).collect();
        let existing: Vec<_> = (2_500..7_500)
            .map(|i| row(&format!("id{i}"), &format!("LENOVO,THINKPAD T14,sn{i:05}"), None))
            .collect();
        let diff = SetDiff::compute(&desired, &existing).unwrap();
        assert_eq!(diff.to_import.len(), 2_500);
        assert_eq!(diff.unchanged.len(), 2_500);
        assert_eq!(diff.to_delete.len(), 2_500);
        assert!(diff.to_update.is_empty());
        assert_eq!(diff.to_import[0].serial_number, "SN00000");
        assert_eq!(diff.to_import[2_499].serial_number, "SN02499");
        assert_eq!(diff.to_delete[0].id, "id5000");
        assert_eq!(diff.unchanged[0].id, "id2500");
        assert_eq!(
            diff.check_max_deletions(100, existing.len()),
            Err(TooManyDeletions { planned: 2_500, max: 100, existing: 5_000 })
        );
    }
}
