//! The export service: request arguments, URL handling, public suffixes, networks and
//! collapsing, and rendering a selection into a list.

pub mod args;
pub mod collapse;
pub mod network;
pub mod psl;
pub mod render;
pub mod url;
