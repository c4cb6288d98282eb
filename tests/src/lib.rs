//! Helpers shared by the cross-crate tests.
pub mod export_vectors;
pub mod http_client;
pub mod http_vectors;
pub mod moto;
pub mod store_contract;
