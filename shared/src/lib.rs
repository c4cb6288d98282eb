//! feedgate core: every rule of the indicator export service, the query language, the list
//! formats and the credential decisions. No I/O happens here except in the store adapters and
//! the HTTP glue; everything else is pure and testable with plain values.

pub mod auth;
pub mod blob;
pub mod dataset;
pub mod export;
pub mod format;
pub mod http;
pub mod import;
pub mod indicator;
pub mod instant;
pub mod lists;
pub mod query;
pub mod sample;
pub mod store;
pub mod webhook;

pub use dataset::Dataset;
pub use indicator::{Indicator, IndicatorType};
