//! The helper's argument decoders, compiled here from the helper's own
//! sources (read-only, by path), and a generator of argument lists for the
//! targets.
//!
//! `args.rs` needs `crate::consts`; `cstruct.rs`, `seccomp_rules.rs` and
//! `capnames.rs` need `crate::args`; all are included under the same
//! names, so none needs a shim. `cgroup_events.rs` (the parser of cgroup
//! events files a watch reads) stands alone.

#[allow(dead_code)]
#[path = "../../src/consts/mod.rs"]
pub mod consts;

#[allow(dead_code)]
#[path = "../../src/args.rs"]
pub mod args;

#[allow(dead_code)]
#[path = "../../src/cstruct.rs"]
pub mod cstruct;

#[allow(dead_code)]
#[path = "../../src/seccomp_rules.rs"]
pub mod seccomp_rules;
#[path = "../../src/capnames.rs"]
pub mod capnames;
#[path = "../../src/cgroup_events.rs"]
pub mod cgroup_events;

pub mod gen;
