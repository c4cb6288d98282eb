//! The five list formats. Each turns the selection into body bytes; text builds in memory
//! (it must see every earlier line to drop repeats), the others write into any `io::Write`.

pub mod csv;
pub mod fields;
pub mod json;
pub mod lines;
pub mod mwg;
pub mod proxysg;
pub mod text;

/// `# Empty List`: the body of an empty text, CSV, MWG or ProxySG list when `ce` is on.
pub const EMPTY_LIST_COMMENT: &str = "# Empty List";
