//! The export service: request arguments, URL handling, public suffixes, networks and
//! collapsing, and the pipeline that turns a selection into lines.

pub mod collapse;
pub mod network;
pub mod psl;
pub mod url;
