//! One module per call family; each function names its man page.

pub mod caps;
pub mod cgroup;
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
pub mod seccomp_named;
pub mod signal;
pub mod spawn;

impl From<nix::errno::Errno> for crate::args::CallError {
    /// `{error, Errno}` for the errno a nix call failed with: the same value
    /// the libc call would have left in errno.
    fn from(errno: nix::errno::Errno) -> Self {
        crate::args::CallError::Errno(errno as i32)
    }
}
