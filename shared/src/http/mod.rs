//! HTTP glue.
