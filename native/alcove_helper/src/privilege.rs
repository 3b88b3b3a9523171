//! A helper started with privileges its caller does not have (installed
//! setuid or setgid, or with file capabilities: the kernel then sets
//! `AT_SECURE`) trusts nothing the caller handed it. Before anything else
//! it clears the environment, closes stray fds, makes sure 0, 1 and 2 are
//! open, and resets signal dispositions; then it serves only a caller that
//! a root-owned configuration file allows, and only if neither that file
//! nor the helper binary can be changed by anyone but root.
//!
//! The file's path is fixed when the helper is built
//! (`ALCOVE_HELPER_CONFIG`, default [`DEFAULT_CONFIG`]); its lines are
//! `user NAME|UID` and `group NAME|GID`, `#` starts a comment. A helper
//! run by root, or through sudo (no `AT_SECURE`), does not read it: sudo's
//! own rules decided.

use nix::sys::stat::{fstat, lstat, FileStat};
use nix::unistd::{getgroups, getresgid, getresuid, Gid, Uid};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

pub const DEFAULT_CONFIG: &str = "/etc/alcove/helper.conf";

/// The configuration file this helper reads when privileged.
pub const CONFIG: &str = match option_env!("ALCOVE_HELPER_CONFIG") {
    Some(path) => path,
    None => DEFAULT_CONFIG,
};

/// Exit status of a refusal (sysexits' EX_NOPERM).
pub const REFUSED: i32 = 77;

/// Largest configuration file read, and most entries taken from it.
const MAX_CONFIG: u64 = 64 * 1024;
const MAX_ENTRIES: usize = 1024;

/// The environment variable a re-executed helper is handed its state in
/// (checked by `reexec`: it must name a memfd).
const REEXEC_VAR: &str = "ALCOVE_REEXEC_FD";

/// The PATH a privileged helper and what it execs start with.
const SAFE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// True when the kernel marked this exec as crossing a privilege boundary.
pub fn is_secure() -> bool {
    // SAFETY: getauxval reads the auxiliary vector; no pointers involved.
    // nix has no wrapper for it.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// Clear the environment (a re-exec handoff variable excepted), close
/// every fd but the standard ones, the control channel and the handoff,
/// and make sure 0, 1 and 2 are open, so that nothing the caller set up
/// steers the helper.
pub fn sanitise(control_fd: i32) {
    let handoff = std::env::var(REEXEC_VAR)
        .ok()
        .filter(|v| v.len() < 12 && v.bytes().all(|b| b.is_ascii_digit()));
    let keys: Vec<_> = std::env::vars_os().map(|(k, _)| k).collect();
    for key in keys {
        std::env::remove_var(key);
    }
    std::env::set_var("PATH", SAFE_PATH);
    let mut keep = vec![0, 1, 2];
    if let Some(fd) = handoff.as_deref().and_then(|v| v.parse::<i32>().ok()) {
        std::env::set_var(REEXEC_VAR, fd.to_string());
        keep.push(control_fd);
        keep.push(fd);
    }
    crate::fdio::close_all_except(&keep);
    for fd in 0..=2 {
        // SAFETY: F_GETFD only asks whether the number is open. (nix's
        // fcntl wants a borrowed fd, which a closed number cannot be.)
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            // A closed standard fd would be taken by the next open: a file
            // the helper writes would get its error messages. Lower ones
            // are open by now, so /dev/null lands on exactly this number.
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                Ok(null) => {
                    use std::os::fd::IntoRawFd;
                    let _ = null.into_raw_fd();
                }
                Err(_) => std::process::exit(REFUSED),
            }
        }
    }
}

/// Why a caller is refused.
#[derive(Debug)]
pub enum Refusal {
    Binary(String),
    Config(String),
    NotAllowed { uid: u32 },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Binary(why) => write!(f, "the helper binary {why}"),
            Refusal::Config(why) => write!(f, "{CONFIG}: {why}"),
            Refusal::NotAllowed { uid } => write!(
                f,
                "uid {uid} is not allowed to use this helper (neither it nor its groups are listed in {CONFIG})"
            ),
        }
    }
}

/// Serve this caller? Checked before the first request is read.
pub fn authorise() -> Result<(), Refusal> {
    let exe = std::fs::File::open("/proc/self/exe")
        .map_err(|e| Refusal::Binary(format!("cannot be checked ({e})")))?;
    let st = fstat(&exe).map_err(|e| Refusal::Binary(format!("cannot be checked ({e})")))?;
    if let Some(why) = unsafe_owner(&st) {
        return Err(Refusal::Binary(why));
    }
    let ids = getresuid().map_err(|e| Refusal::Binary(format!("getresuid: {e}")))?;
    if ids.real.is_root() {
        return Ok(());
    }
    let rules = read_config().map_err(Refusal::Config)?;
    let gids = caller_groups();
    if rules.allows(ids.real, &gids) {
        Ok(())
    } else {
        Err(Refusal::NotAllowed {
            uid: ids.real.as_raw(),
        })
    }
}

/// The caller's real gid and supplementary groups (setuid changes neither).
fn caller_groups() -> Vec<Gid> {
    let mut gids = getgroups().unwrap_or_default();
    if let Ok(ids) = getresgid() {
        gids.push(ids.real);
    }
    gids
}

/// Why a file or directory someone other than root could change is not
/// to be trusted; None when it is root's alone.
fn unsafe_owner(st: &FileStat) -> Option<String> {
    if st.st_uid != 0 {
        return Some(format!("is owned by uid {}, not root", st.st_uid));
    }
    if st.st_mode & 0o022 != 0 {
        return Some(format!(
            "is writable by group or others (mode {:o})",
            st.st_mode & 0o7777
        ));
    }
    None
}

fn read_config() -> Result<Rules, String> {
    if !CONFIG.starts_with('/') {
        return Err("not an absolute path".into());
    }
    // Every directory on the way must be root's alone, or the file could
    // be swapped for another; symbolic links are not followed.
    let mut dir = std::path::PathBuf::from("/");
    let components: Vec<_> = std::path::Path::new(CONFIG).components().skip(1).collect();
    for (i, part) in components.iter().enumerate() {
        let st = lstat(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return Err(format!("{} is not a directory", dir.display()));
        }
        if let Some(why) = unsafe_owner(&st) {
            return Err(format!("directory {} {why}", dir.display()));
        }
        if i + 1 < components.len() {
            dir.push(part);
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(CONFIG)
        .map_err(|e| format!("cannot be read ({e})"))?;
    let st = fstat(&file).map_err(|e| e.to_string())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err("is not a regular file".into());
    }
    if let Some(why) = unsafe_owner(&st) {
        return Err(why);
    }
    let mut text = String::new();
    (&mut file)
        .take(MAX_CONFIG + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot be read ({e})"))?;
    if text.len() as u64 > MAX_CONFIG {
        return Err(format!("is over {MAX_CONFIG} bytes"));
    }
    Rules::parse(&text, &Names)
}

/// Who may use the helper.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
}

/// Name lookups, separate so the parser can be tested without the system's
/// user database.
pub trait Lookup {
    fn uid(&self, name: &str) -> Option<u32>;
    fn gid(&self, name: &str) -> Option<u32>;
}

struct Names;

/// A dynamically linked helper asks the C library (NSS: files, then any
/// directory service the system lists).
#[cfg(not(target_feature = "crt-static"))]
impl Lookup for Names {
    fn uid(&self, name: &str) -> Option<u32> {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw())
    }
    fn gid(&self, name: &str) -> Option<u32> {
        nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
    }
}

/// A statically linked helper reads /etc/passwd and /etc/group itself: the
/// static C library would load any other NSS module (systemd's, LDAP's)
/// from the system's shared C library into this process, which crashes it
/// unless both are the same build. A name only a directory service knows
/// is not found, and skipped like any unknown name.
#[cfg(target_feature = "crt-static")]
impl Lookup for Names {
    fn uid(&self, name: &str) -> Option<u32> {
        id_in_file("/etc/passwd", name)
    }
    fn gid(&self, name: &str) -> Option<u32> {
        id_in_file("/etc/group", name)
    }
}

/// Largest /etc/passwd or /etc/group read.
#[cfg(target_feature = "crt-static")]
const MAX_ACCOUNTS_FILE: u64 = 4 << 20;

#[cfg(target_feature = "crt-static")]
fn id_in_file(path: &str, name: &str) -> Option<u32> {
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(MAX_ACCOUNTS_FILE)
        .read_to_string(&mut text)
        .ok()?;
    id_in_accounts(&text, name)
}

/// The id (third field) of the entry `name` in the text of /etc/passwd or
/// /etc/group (`name:password:id:...`), as the C library's files lookup
/// reads them: the first entry of that name wins; NIS `+`/`-` lines and
/// malformed ones are skipped.
#[cfg(any(target_feature = "crt-static", test))]
fn id_in_accounts(text: &str, name: &str) -> Option<u32> {
    if name.is_empty() || name.starts_with(['+', '-']) {
        return None;
    }
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let (Some(entry), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next())
            else {
                return None;
            };
            (entry == name).then(|| id.parse::<u32>().ok()).flatten()
        })
        .next()
}

impl Rules {
    /// Parse the file. Anything not understood refuses everyone: a typo
    /// must not open the helper up, nor silently shut someone out. A name
    /// that does not exist is skipped (a group may be created later).
    pub fn parse(text: &str, names: &dyn Lookup) -> Result<Rules, String> {
        let mut rules = Rules::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(kind), Some(who), None) = (words.next(), words.next(), words.next()) else {
                return Err(format!(
                    "line {}: expected `user NAME` or `group NAME`",
                    n + 1
                ));
            };
            let id = who.parse::<u32>().ok();
            match kind {
                "user" => rules.uids.extend(id.or_else(|| names.uid(who))),
                "group" => rules.gids.extend(id.or_else(|| names.gid(who))),
                _ => return Err(format!("line {}: unknown keyword {kind:?}", n + 1)),
            }
            if rules.uids.len() + rules.gids.len() > MAX_ENTRIES {
                return Err(format!("more than {MAX_ENTRIES} entries"));
            }
        }
        Ok(rules)
    }

    pub fn allows(&self, uid: Uid, gids: &[Gid]) -> bool {
        self.uids.contains(&uid.as_raw()) || gids.iter().any(|g| self.gids.contains(&g.as_raw()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    impl Lookup for Fake {
        fn uid(&self, name: &str) -> Option<u32> {
            (name == "alice").then_some(1001)
        }
        fn gid(&self, name: &str) -> Option<u32> {
            (name == "alcove").then_some(2001)
        }
    }

    #[test]
    fn parses_names_numbers_and_comments() {
        let text = "# who may\nuser alice\n\n  group alcove # the group\nuser 1500\ngroup 7\nuser nobody-here\n";
        let rules = Rules::parse(text, &Fake).unwrap();
        assert_eq!(rules.uids, vec![1001, 1500]);
        assert_eq!(rules.gids, vec![2001, 7]);
        assert!(rules.allows(Uid::from_raw(1001), &[]));
        assert!(rules.allows(Uid::from_raw(42), &[Gid::from_raw(3), Gid::from_raw(2001)]));
        assert!(!rules.allows(Uid::from_raw(42), &[Gid::from_raw(3)]));
    }

    #[test]
    fn ids_from_accounts_files() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      +nis::::::\n\
                      broken line\n\
                      alice:x:1001:1001::/home/alice:/bin/sh\n\
                      bad:x:notanumber:1::/:/bin/sh\n\
                      alice:x:1002:1002::/:/bin/sh\n\
                      big:x:4294967296:1::/:/bin/sh\n";
        assert_eq!(id_in_accounts(passwd, "root"), Some(0));
        // The first well-formed entry of a name, as the C library's files
        // lookup.
        assert_eq!(id_in_accounts(passwd, "alice"), Some(1001));
        assert_eq!(id_in_accounts("bad:x:y:1\nbad:x:5:1\n", "bad"), Some(5));
        for missing in [
            "bob",
            "",
            "+nis",
            "broken line",
            "bad",
            "big",
            "alic",
            "alice:x",
        ] {
            assert_eq!(id_in_accounts(passwd, missing), None, "{missing:?}");
        }
        let group = "root:x:0:\nalcove:x:2001:alice,bob\nempty::7:\n";
        assert_eq!(id_in_accounts(group, "alcove"), Some(2001));
        assert_eq!(id_in_accounts(group, "empty"), Some(7));
        assert_eq!(id_in_accounts("", "root"), None);
    }

    #[test]
    fn anything_unclear_is_an_error() {
        for bad in [
            "users alice",
            "user",
            "user alice bob",
            "group\tx y",
            "allow all",
        ] {
            assert!(Rules::parse(bad, &Fake).is_err(), "{bad:?} accepted");
        }
        assert_eq!(Rules::parse("", &Fake).unwrap(), Rules::default());
        let many = "user 1\n".repeat(MAX_ENTRIES + 1);
        assert!(Rules::parse(&many, &Fake).is_err());
    }

    #[test]
    fn empty_rules_allow_nobody() {
        let rules = Rules::default();
        assert!(!rules.allows(Uid::from_raw(0), &[Gid::from_raw(0)]));
    }
}
