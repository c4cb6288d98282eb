//! feedgate store adapter (embedded). Being written.
