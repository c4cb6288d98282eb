//! Credential decisions.
