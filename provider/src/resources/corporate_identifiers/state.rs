//! Between Graph rows and Terraform values of the bulk resource: the `devices` set built from
//! the rows Intune holds (keeping the configured spelling where Intune only differs in
//! case), and the rows remembered in private state so an apply needs no fresh listing.

use std::collections::{HashMap, HashSet};

use serde_json::{Value as Json, json};

use super::diff::ExistingIdentity;
use super::identity::{DeviceIdentity, IdentityKey};
use super::value::{device_from_value, device_to_value};
use crate::framework::Value;
use crate::framework::private;

/// Private-state key of the rows: `[[id, identifier, description|null], ...]`.
const ROWS_KEY: &str = "rows";

/// The device a row stands for. `preferred` maps keys to configured (or previously stored)
/// devices: when a row matches one case-insensitively and has the same description, that
/// spelling is kept, so Intune's casing never shows as drift. Otherwise the identifier is
/// split at its first two commas (a malformed row still gets a value, which the next plan
/// then deletes since no valid configuration can hold it).
pub fn device_of_row(
    row: &ExistingIdentity,
    preferred: &HashMap<IdentityKey, DeviceIdentity>,
) -> DeviceIdentity {
    let description = row.description.clone().filter(|d| !d.is_empty());
    if let Some(known) = preferred.get(&IdentityKey::from_identifier(&row.identifier))
        && known.description == description
    {
        return known.clone();
    }
    let mut parts = row.identifier.splitn(3, ',');
    let mut next = || parts.next().unwrap_or_default().to_owned();
    DeviceIdentity { manufacturer: next(), model: next(), serial_number: next(), description }
}

/// The `devices` set for `rows` (exact duplicates collapse: a set cannot hold them).
pub fn devices_value(rows: &[ExistingIdentity], preferred: &HashMap<IdentityKey, DeviceIdentity>) -> Value {
    let mut seen = HashSet::with_capacity(rows.len());
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let device = device_of_row(row, preferred);
        let fingerprint = (device.identifier(), device.description.clone());
        if seen.insert(fingerprint) {
            out.push(device_to_value(&device));
        }
    }
    Value::Set(out)
}

/// The devices of a `devices` value (state or configuration); `None` while any is unknown.
pub fn devices_of(value: Option<&Value>) -> Option<Vec<DeviceIdentity>> {
    match value {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Set(items) | Value::List(items)) => {
            items.iter().map(|v| device_from_value(v).ok().flatten()).collect()
        }
        Some(_) => None,
    }
}

/// Keyed lookup of devices, for [`device_of_row`].
pub fn by_key(devices: &[DeviceIdentity]) -> HashMap<IdentityKey, DeviceIdentity> {
    devices.iter().map(|d| (d.key(), d.clone())).collect()
}

/// Private state holding `rows`.
pub fn encode_rows(rows: &[ExistingIdentity]) -> Vec<u8> {
    let list: Vec<Json> = rows.iter().map(|r| json!([r.id, r.identifier, r.description])).collect();
    private::set(&[], ROWS_KEY, Json::Array(list))
}

/// The rows stored by [`encode_rows`]; `None` when absent or unreadable.
pub fn decode_rows(bytes: &[u8]) -> Option<Vec<ExistingIdentity>> {
    let Json::Array(list) = private::get(bytes, ROWS_KEY)? else { return None };
    list.iter()
        .map(|item| {
            let [id, identifier, description] = item.as_array()?.as_slice() else { return None };
            Some(ExistingIdentity {
                id: id.as_str()?.to_owned(),
                identifier: identifier.as_str()?.to_owned(),
                description: description.as_str().map(str::to_owned),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, identifier: &str, description: Option<&str>) -> ExistingIdentity {
        ExistingIdentity {
            id: id.into(),
            identifier: identifier.into(),
            description: description.map(Into::into),
        }
    }

    fn device(m: &str, mo: &str, s: &str, d: Option<&str>) -> DeviceIdentity {
        DeviceIdentity {
            manufacturer: m.into(),
            model: mo.into(),
            serial_number: s.into(),
            description: d.map(Into::into),
        }
    }

    #[test]
    fn rows_become_devices_keeping_the_preferred_spelling() {
        let preferred = by_key(&[device("Lenovo", "T14", "ab1", None), device("HP", "X", "1", Some("desk"))]);
        assert_eq!(
            device_of_row(&row("a", "LENOVO,T14,AB1", None), &preferred),
            device("Lenovo", "T14", "ab1", None)
        );
        // Same key, other description: Intune's value wins (that is drift to show).
        assert_eq!(
            device_of_row(&row("b", "HP,X,1", Some("other")), &preferred),
            device("HP", "X", "1", Some("other"))
        );
        assert_eq!(
            device_of_row(&row("c", "Dell,Y,2", Some("")), &preferred),
            device("Dell", "Y", "2", None)
        );
        assert_eq!(device_of_row(&row("d", "odd", None), &preferred), device("odd", "", "", None));
        assert_eq!(device_of_row(&row("e", "a,b,c,d", None), &preferred), device("a", "b", "c,d", None));
    }

    #[test]
    fn devices_value_collapses_exact_duplicates_only() {
        let rows = [row("1", "A,B,C", None), row("2", "A,B,C", None), row("3", "a,b,c", None)];
        let Value::Set(items) = devices_value(&rows, &HashMap::new()) else { panic!("not a set") };
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn devices_of_values() {
        let d = device("A", "B", "C", None);
        assert_eq!(devices_of(Some(&Value::Set(vec![device_to_value(&d)]))), Some(vec![d.clone()]));
        assert_eq!(devices_of(Some(&Value::List(vec![device_to_value(&d)]))), Some(vec![d]));
        assert_eq!(devices_of(None), Some(vec![]));
        assert_eq!(devices_of(Some(&Value::unknown())), None);
        assert_eq!(devices_of(Some(&Value::Set(vec![Value::unknown()]))), None);
    }

    #[test]
    fn private_rows_round_trip() {
        let rows = vec![row("1", "A,B,C", None), row("2", "D,E,F", Some("x"))];
        assert_eq!(decode_rows(&encode_rows(&rows)), Some(rows));
        assert_eq!(decode_rows(&[]), None);
        assert_eq!(decode_rows(b"{\"rows\":[[1,2,3]]}"), None);
        assert_eq!(decode_rows(&encode_rows(&[])), Some(vec![]));
    }
}
