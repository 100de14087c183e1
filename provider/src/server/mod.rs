//! Protocol server.
