//! feedgate on AWS Lambda: the layer between API Gateway and the library's request path.
//!
//! - [`event`]: REST API proxy events (production) and HTTP API v2 events (`cargo lambda
//!   watch`) to the library's `Request`, responses back in the same shape;
//! - [`response`]: proxy responses in the shape of the event, and their exact size;
//! - [`route`]: the instance from `/xsoar/instance/execute/{instance}[/{rest}]` and
//!   `/instance/execute/{instance}[/{rest}]`;
//! - [`instances`]: instance configuration and credentials from the store, cached briefly;
//! - [`handler`]: [`Function`], the handler of `export`, `webhook` and `publish-list`;
//! - [`authorizer`]: [`Authorizer`], the API Gateway REQUEST authorizer;
//! - [`auth`]: the credential check both run, and how its outcome travels between them;
//! - [`gzip`]: compression for clients that accept it;
//! - [`config`], [`aws`]: the `FEEDGATE_*` variables and start-up.
//!
//! Every rule lives in the `feedgate` library; this crate only adapts.

pub mod auth;
pub mod authorizer;
pub mod aws;
pub mod config;
pub mod event;
pub mod gzip;
pub mod handler;
pub mod instances;
pub mod response;
pub mod route;
pub mod serve;

pub use authorizer::Authorizer;
pub use handler::Function;
