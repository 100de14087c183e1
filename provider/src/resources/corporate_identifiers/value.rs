//! Terraform values of a device object `{ manufacturer, model, serial_number, description }`:
//! the element type of `autopilot_corporate_identifiers.devices` and of the list
//! `parse_corporate_identifiers` returns, so the two always agree.

use std::collections::BTreeMap;

use super::identity::{DeviceIdentity, Field};
use crate::framework::{Type, Value};

/// The object type of one device.
pub fn device_type() -> Type {
    Type::Object {
        attributes: [Field::Manufacturer, Field::Model, Field::SerialNumber, Field::Description]
            .into_iter()
            .map(|f| (f.attribute_name().to_owned(), Type::String))
            .collect(),
        optional: Vec::new(),
    }
}

/// One device as an object value of [`device_type`] (`description` null when unset).
pub fn device_to_value(device: &DeviceIdentity) -> Value {
    Value::Object(BTreeMap::from([
        (Field::Manufacturer.attribute_name().to_owned(), Value::from(device.manufacturer.as_str())),
        (Field::Model.attribute_name().to_owned(), Value::from(device.model.as_str())),
        (Field::SerialNumber.attribute_name().to_owned(), Value::from(device.serial_number.as_str())),
        (Field::Description.attribute_name().to_owned(), Value::from(device.description.clone())),
    ]))
}

/// Why an object value is not a device.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeviceValueError {
    #[error("expected an object with manufacturer, model, serial_number and description")]
    NotAnObject,
    #[error("{0} must be set")]
    Missing(Field),
    #[error("{0} must be a string")]
    NotAString(Field),
}

/// Read a device object. `Ok(None)` when any attribute is still unknown (plan time):
/// nothing can be validated yet. The rules of [`DeviceIdentity::problems`] are not
/// applied here, so validators can report each attribute at its own path.
pub fn device_from_value(value: &Value) -> Result<Option<DeviceIdentity>, DeviceValueError> {
    let value = match value {
        Value::Dynamic(_, inner) => inner.as_ref(),
        other => other,
    };
    if value.is_unknown() {
        return Ok(None);
    }
    let Value::Object(attributes) = value else {
        return Err(DeviceValueError::NotAnObject);
    };
    if attributes.values().any(Value::is_unknown) {
        return Ok(None);
    }
    let text = |field: Field| -> Result<Option<String>, DeviceValueError> {
        match attributes.get(field.attribute_name()) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(DeviceValueError::NotAString(field)),
        }
    };
    let required = |field: Field| text(field)?.ok_or(DeviceValueError::Missing(field));
    Ok(Some(DeviceIdentity {
        manufacturer: required(Field::Manufacturer)?,
        model: required(Field::Model)?,
        serial_number: required(Field::SerialNumber)?,
        description: text(Field::Description)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lenovo(description: Option<&str>) -> DeviceIdentity {
        DeviceIdentity {
            manufacturer: "Lenovo".into(),
            model: "ThinkPad T14".into(),
            serial_number: "PF0ABC12".into(),
            description: description.map(str::to_owned),
        }
    }

    #[test]
    fn type_has_the_four_string_attributes() {
        let Type::Object { attributes, optional } = device_type() else { panic!("not an object type") };
        assert!(optional.is_empty());
        assert_eq!(
            attributes.keys().map(String::as_str).collect::<Vec<_>>(),
            ["description", "manufacturer", "model", "serial_number"]
        );
        assert!(attributes.values().all(|t| *t == Type::String));
    }

    #[test]
    fn round_trip() {
        for device in [lenovo(None), lenovo(Some("Desk 12"))] {
            let value = device_to_value(&device);
            assert_eq!(device_from_value(&value), Ok(Some(device)));
        }
        assert_eq!(device_to_value(&lenovo(None)).attr("description"), Some(&Value::Null));
    }

    #[test]
    fn unknowns_defer_validation() {
        let mut value = device_to_value(&lenovo(None));
        if let Value::Object(m) = &mut value {
            m.insert("serial_number".into(), Value::unknown());
        }
        assert_eq!(device_from_value(&value), Ok(None));
        assert_eq!(device_from_value(&Value::unknown()), Ok(None));
    }

    #[test]
    fn malformed_objects() {
        let with = |name: &str, v: Value| {
            let mut value = device_to_value(&lenovo(None));
            if let Value::Object(m) = &mut value {
                m.insert(name.into(), v);
            }
            value
        };
        assert_eq!(device_from_value(&Value::from("x")), Err(DeviceValueError::NotAnObject));
        assert_eq!(
            device_from_value(&with("model", Value::Null)),
            Err(DeviceValueError::Missing(Field::Model))
        );
        assert_eq!(
            device_from_value(&with("description", Value::Bool(true))),
            Err(DeviceValueError::NotAString(Field::Description))
        );
    }
}
