//! The contents of cgroup events files, and what changed between two
//! readings of one. Pure functions (no system calls), shared with the fuzz
//! targets: the files are the kernel's, or anyone's in a fake tree.
//!
//! - `cgroup.events` (v2): `populated 0|1`, `frozen 0|1`;
//! - `memory.events` (v2): `oom N`, `oom_kill N` (others ignored);
//! - `pids.events` (v1 and v2): `max N`;
//! - `memory.oom_control` (v1): `oom_kill N` (others ignored).

/// Largest prefix of an events file read; the kernel's are a few lines.
pub const READ_MAX: usize = 4096;

/// Which events file a reading comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum File {
    CgroupEvents,
    MemoryEvents,
    PidsEvents,
    OomControl,
}

impl File {
    /// The inotify-watched files, by name.
    pub const WATCHED: [File; 3] = [File::CgroupEvents, File::MemoryEvents, File::PidsEvents];

    pub fn name(self) -> &'static str {
        match self {
            File::CgroupEvents => "cgroup.events",
            File::MemoryEvents => "memory.events",
            File::PidsEvents => "pids.events",
            File::OomControl => "memory.oom_control",
        }
    }
}

/// What a watch remembers of a cgroup: each field `None` until a reading
/// has shown it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub populated: Option<bool>,
    pub frozen: Option<bool>,
    pub oom: Option<u64>,
    pub oom_kill: Option<u64>,
    pub pids_max: Option<u64>,
}

/// A change worth an event: `{cgroup, {Name, Dir, Value}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Flag(&'static str, bool),
    Count(&'static str, u64),
}

/// The value of `key` in `text` ("key value" lines), if a line has it
/// and the value is a decimal u64. The first such line counts.
pub fn field(text: &[u8], key: &str) -> Option<u64> {
    text.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(key.as_bytes())?.strip_prefix(b" ")?;
        let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
        if rest.is_empty() || rest.len() > 20 || !rest.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(rest).ok()?.parse().ok()
    })
}

fn flag(text: &[u8], key: &str) -> Option<bool> {
    match field(text, key)? {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

/// What one reading of `file` says: only the fields that file carries
/// (and that parse) are set.
pub fn parse(file: File, text: &[u8]) -> Snapshot {
    let text = &text[..text.len().min(READ_MAX)];
    let mut found = Snapshot::default();
    match file {
        File::CgroupEvents => {
            found.populated = flag(text, "populated");
            found.frozen = flag(text, "frozen");
        }
        File::MemoryEvents => {
            found.oom = field(text, "oom");
            found.oom_kill = field(text, "oom_kill");
        }
        File::PidsEvents => found.pids_max = field(text, "max"),
        File::OomControl => found.oom_kill = field(text, "oom_kill"),
    }
    found
}

/// Merge a reading into `seen`, returning the changes in a fixed order.
/// A field the reading lacks (a file caught half rewritten) keeps its
/// value; a flag changes either way; a counter is reported when it grows
/// (from 0 when first seen), and a smaller one (a fake tree rewritten) is
/// taken as the new base without an event.
pub fn merge(seen: &mut Snapshot, found: &Snapshot) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut flag = |name, old: &mut Option<bool>, new: Option<bool>| {
        if let Some(new) = new {
            if *old != Some(new) {
                changes.push(Change::Flag(name, new));
            }
            *old = Some(new);
        }
    };
    flag("populated", &mut seen.populated, found.populated);
    flag("frozen", &mut seen.frozen, found.frozen);
    let mut count = |name, old: &mut Option<u64>, new: Option<u64>| {
        if let Some(new) = new {
            if new > old.unwrap_or(0) {
                changes.push(Change::Count(name, new));
            }
            *old = Some(new);
        }
    };
    count("oom", &mut seen.oom, found.oom);
    count("oom_kill", &mut seen.oom_kill, found.oom_kill);
    count("pids_max", &mut seen.pids_max, found.pids_max);
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v2_cgroup_events() {
        let s = parse(File::CgroupEvents, b"populated 1\nfrozen 0\n");
        assert_eq!(s.populated, Some(true));
        assert_eq!(s.frozen, Some(false));
        assert_eq!(s.oom, None);
    }

    #[test]
    fn parses_memory_events_without_confusing_oom_and_oom_kill() {
        let text = b"low 0\nhigh 3\nmax 9\noom 2\noom_kill 1\noom_group_kill 0\n";
        let s = parse(File::MemoryEvents, text);
        assert_eq!((s.oom, s.oom_kill, s.pids_max), (Some(2), Some(1), None));
        let s = parse(File::MemoryEvents, b"oom_kill 4\noom 5\n");
        assert_eq!((s.oom, s.oom_kill), (Some(5), Some(4)));
    }

    #[test]
    fn parses_pids_events_and_oom_control() {
        assert_eq!(parse(File::PidsEvents, b"max 7\n").pids_max, Some(7));
        let v1 = b"oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(parse(File::OomControl, v1).oom_kill, Some(3));
    }

    #[test]
    fn garbage_is_ignored() {
        for text in [
            &b""[..],
            b"populated\n",
            b"populated 2\n",
            b"populated -1\n",
            b"populated  1\n",
            b"populatedx 1\n",
            b"populated 99999999999999999999999\n",
            b"\xff\xfe populated 1",
        ] {
            assert_eq!(
                parse(File::CgroupEvents, text),
                Snapshot::default(),
                "{text:?}"
            );
        }
        let huge = format!("max {}\n", u64::MAX);
        assert_eq!(
            parse(File::PidsEvents, huge.as_bytes()).pids_max,
            Some(u64::MAX)
        );
        let over = b"max 18446744073709551616\n";
        assert_eq!(parse(File::PidsEvents, over).pids_max, None);
    }

    #[test]
    fn only_the_first_read_max_bytes_count() {
        let mut text = vec![b'\n'; READ_MAX];
        text.extend_from_slice(b"max 1\n");
        assert_eq!(parse(File::PidsEvents, &text).pids_max, None);
    }

    #[test]
    fn merge_reports_flag_changes_and_counter_growth() {
        let mut seen = parse(File::CgroupEvents, b"populated 0\nfrozen 0\n");
        seen.oom_kill = Some(0);
        assert!(merge(
            &mut seen,
            &parse(File::CgroupEvents, b"populated 0\nfrozen 0\n")
        )
        .is_empty());
        let changes = merge(
            &mut seen,
            &parse(File::CgroupEvents, b"populated 1\nfrozen 1\n"),
        );
        assert_eq!(
            changes,
            [
                Change::Flag("populated", true),
                Change::Flag("frozen", true)
            ]
        );
        let changes = merge(&mut seen, &parse(File::CgroupEvents, b"populated 0\n"));
        assert_eq!(changes, [Change::Flag("populated", false)]);
        assert_eq!(seen.frozen, Some(true), "a missing field keeps its value");
        let changes = merge(
            &mut seen,
            &parse(File::MemoryEvents, b"oom 1\noom_kill 1\n"),
        );
        assert_eq!(
            changes,
            [Change::Count("oom", 1), Change::Count("oom_kill", 1)]
        );
        assert!(merge(
            &mut seen,
            &parse(File::MemoryEvents, b"oom 1\noom_kill 1\n")
        )
        .is_empty());
        // A smaller counter is a new base, not an event; growth from it is.
        assert!(merge(&mut seen, &parse(File::MemoryEvents, b"oom 0\n")).is_empty());
        let changes = merge(&mut seen, &parse(File::MemoryEvents, b"oom 1\n"));
        assert_eq!(changes, [Change::Count("oom", 1)]);
    }

    #[test]
    fn first_sight_of_a_counter_counts_from_zero() {
        let mut seen = Snapshot::default();
        assert!(merge(&mut seen, &parse(File::PidsEvents, b"max 0\n")).is_empty());
        let mut seen = Snapshot::default();
        let changes = merge(&mut seen, &parse(File::PidsEvents, b"max 2\n"));
        assert_eq!(changes, [Change::Count("pids_max", 2)]);
    }
}
