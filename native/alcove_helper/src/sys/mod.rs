//! One module per call family; each function names its man page.

pub mod exec;
pub mod fs;
pub mod host;
pub mod opts;
pub mod process;
pub mod signal;
