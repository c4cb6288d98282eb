//! feedgate store adapter (dynamo). Being written.
