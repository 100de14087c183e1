//! Generated protocol code.
