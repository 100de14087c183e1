//! Graph emulator and acceptance harness.
