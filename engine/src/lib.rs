//! The feedgate engine: every configured instance on its own port, served by the library's
//! handlers, on the embedded store (or DynamoDB).

pub mod app;
pub mod config;
pub mod metrics;
pub mod server;
