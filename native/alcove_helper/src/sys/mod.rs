//! One module per call family; each function names its man page.

pub mod constants;
pub mod env;
pub mod exec;
pub mod fd;
pub mod filter;
pub mod fs;
pub mod host;
pub mod ids;
pub mod limits;
pub mod mount;
pub mod net;
pub mod opts;
pub mod process;
pub mod ptr;
pub mod signal;
