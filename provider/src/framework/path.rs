//! Attribute paths, as Terraform uses them to point a diagnostic at a place in the config.

use std::fmt;

use super::value::Value;

/// One step of an attribute path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Attribute(String),
    /// Map key.
    Key(String),
    /// List or tuple index.
    Index(i64),
    /// A set element, identified by its value.
    SetElement(Value),
}

/// A path such as `target.group_id` or `devices[3].serial_number`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttributePath {
    pub steps: Vec<Step>,
}

impl AttributePath {
    /// The empty path (the whole object / resource).
    pub fn root() -> Self {
        Self::default()
    }

    /// A path starting at a top-level attribute.
    pub fn new(attribute: impl Into<String>) -> Self {
        Self { steps: vec![Step::Attribute(attribute.into())] }
    }

    #[must_use]
    pub fn attr(mut self, name: impl Into<String>) -> Self {
        self.steps.push(Step::Attribute(name.into()));
        self
    }

    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.steps.push(Step::Key(key.into()));
        self
    }

    #[must_use]
    pub fn index(mut self, index: i64) -> Self {
        self.steps.push(Step::Index(index));
        self
    }

    #[must_use]
    pub fn set_element(mut self, value: Value) -> Self {
        self.steps.push(Step::SetElement(value));
        self
    }

    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Attribute(a) if i == 0 => write!(f, "{a}")?,
                Step::Attribute(a) => write!(f, ".{a}")?,
                Step::Key(k) => write!(f, "[{k:?}]")?,
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::SetElement(_) => write!(f, "[*]")?,
            }
        }
        Ok(())
    }
}
