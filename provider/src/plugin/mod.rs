//! go-plugin shell.
