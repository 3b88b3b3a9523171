//! Watches on a fake cgroup tree: a temporary directory of regular files,
//! whose writes raise IN_MODIFY as cgroupfs does for its events files.

use super::*;
use std::path::PathBuf;

struct FakeCgroup(PathBuf);

impl FakeCgroup {
    fn new(name: &str, files: &[(&str, &str)]) -> FakeCgroup {
        let dir =
            std::env::temp_dir().join(format!("alcove-cgwatch-{}-{name}", nix::unistd::getpid()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        for (file, text) in files {
            std::fs::write(dir.join(file), text).unwrap();
        }
        FakeCgroup(dir)
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.0.join(file), text).unwrap();
    }

    fn bytes(&self) -> Vec<u8> {
        self.0.as_os_str().as_bytes().to_vec()
    }
}

impl Drop for FakeCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ev(name: &str, dir: &[u8], value: Value) -> Value {
    Value::tuple2(
        Value::atom("cgroup"),
        Value::Tuple(vec![Value::atom(name), Value::Bin(dir.to_vec()), value]),
    )
}

/// Wait (poll, bounded) for the inotify fd, then collect the events.
fn next_events(watches: &mut Watches) -> Vec<Value> {
    let (fd, _) = watches.poll_fds().next().unwrap();
    assert!(crate::child_io::poll_one(fd, libc::POLLIN, 5000));
    watches.on_inotify()
}

#[test]
fn fake_tree_changes_become_events() {
    let fake = FakeCgroup::new(
        "changes",
        &[
            ("cgroup.events", "populated 0\nfrozen 0\n"),
            ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
            ("pids.events", "max 0\n"),
        ],
    );
    let dir = fake.bytes();
    let mut watches = Watches::default();
    let id = watches.add(&dir).unwrap();
    fake.write("cgroup.events", "populated 1\nfrozen 0\n");
    assert_eq!(
        next_events(&mut watches),
        [ev("populated", &dir, Value::atom("true"))]
    );
    fake.write("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    assert_eq!(
        next_events(&mut watches),
        [
            ev("oom", &dir, Value::Int(1)),
            ev("oom_kill", &dir, Value::Int(1))
        ]
    );
    fake.write("pids.events", "max 2\n");
    assert_eq!(
        next_events(&mut watches),
        [ev("pids_max", &dir, Value::Int(2))]
    );
    fake.write("cgroup.events", "populated 0\nfrozen 1\n");
    assert_eq!(
        next_events(&mut watches),
        [
            ev("populated", &dir, Value::atom("false")),
            ev("frozen", &dir, Value::atom("true"))
        ]
    );
    // Rewriting the same content is no event.
    fake.write("pids.events", "max 2\n");
    assert_eq!(next_events(&mut watches), []);
    watches.remove(id).unwrap();
    assert_eq!(watches.remove(id), Err(libc::EINVAL));
    assert_eq!(watches.poll_fds().count(), 0);
    assert!(
        watches.inotify.is_none(),
        "the last unwatch closes the inotify fd"
    );
}

#[test]
fn two_watches_on_one_dir_share_inotify_descriptors() {
    let fake = FakeCgroup::new("shared", &[("pids.events", "max 0\n")]);
    let dir = fake.bytes();
    let mut watches = Watches::default();
    let first = watches.add(&dir).unwrap();
    let second = watches.add(&dir).unwrap();
    assert_ne!(first, second);
    fake.write("pids.events", "max 1\n");
    assert_eq!(next_events(&mut watches).len(), 2);
    // Removing one leaves the other's inotify watch in place.
    watches.remove(first).unwrap();
    fake.write("pids.events", "max 2\n");
    assert_eq!(
        next_events(&mut watches),
        [ev("pids_max", &dir, Value::Int(2))]
    );
    watches.remove(second).unwrap();
}

#[test]
fn bad_directories_are_refused() {
    let mut watches = Watches::default();
    assert_eq!(
        watches.add(b"/nonexistent/alcove-cgwatch"),
        Err(libc::ENOENT)
    );
    let empty = FakeCgroup::new("empty", &[]);
    assert_eq!(watches.add(&empty.bytes()), Err(libc::EINVAL));
    let file = FakeCgroup::new("file", &[("pids.events", "max 0\n")]);
    let path = [file.bytes(), b"/pids.events".to_vec()].concat();
    assert_eq!(watches.add(&path), Err(libc::ENOTDIR));
    assert_eq!(watches.len(), 0);
}

#[test]
fn watches_are_capped() {
    let fake = FakeCgroup::new("cap", &[("cgroup.events", "populated 0\n")]);
    let mut watches = Watches::default();
    let ids: Vec<u64> = (0..WATCH_MAX)
        .map(|_| watches.add(&fake.bytes()).unwrap())
        .collect();
    assert_eq!(watches.add(&fake.bytes()), Err(libc::EMFILE));
    watches.remove(ids[0]).unwrap();
    assert!(watches.add(&fake.bytes()).is_ok());
}

#[test]
fn a_fifo_in_a_fake_tree_does_not_block() {
    let fake = FakeCgroup::new("fifo", &[("pids.events", "max 0\n")]);
    nix::unistd::mkfifo(
        &fake.0.join("cgroup.events"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let mut watches = Watches::default();
    // The FIFO is not a regular file: not watched, never opened blocking.
    assert!(watches.add(&fake.bytes()).is_ok());
    fake.write("pids.events", "max 1\n");
    assert_eq!(next_events(&mut watches).len(), 1);
}

#[test]
fn fake_v1_memory_cgroup_reports_oom_kills() {
    let fake = FakeCgroup::new(
        "v1memory",
        &[
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
            ),
            ("cgroup.event_control", ""),
        ],
    );
    let dir = fake.bytes();
    let mut watches = Watches::default();
    watches.add(&dir).unwrap();
    // The inotify fd and the eventfd registered (here with a plain file).
    assert_eq!(watches.poll_fds().count(), 2);
    fake.write(
        "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    );
    assert_eq!(
        next_events(&mut watches),
        [ev("oom_kill", &dir, Value::Int(2))]
    );
    // Without cgroup.event_control there is no eventfd, and no file is made.
    let bare = FakeCgroup::new("v1bare", &[("memory.oom_control", "oom_kill 0\n")]);
    watches.add(&bare.bytes()).unwrap();
    assert!(!bare.0.join("cgroup.event_control").exists());
    assert_eq!(watches.poll_fds().count(), 2);
}

#[test]
fn v1_pids_events_are_read_on_a_timer() {
    // v1 cgroupfs: cgroup.procs and pids.events, no cgroup.events.
    let v1 = FakeCgroup::new(
        "v1pids",
        &[("cgroup.procs", ""), ("pids.events", "max 0\n")],
    );
    // A v2 directory (cgroup.events present) is notified: no timer.
    let v2 = FakeCgroup::new(
        "v2pids",
        &[
            ("cgroup.procs", ""),
            ("cgroup.events", "populated 0\n"),
            ("pids.events", "max 0\n"),
        ],
    );
    let mut watches = Watches::default();
    let v2_id = watches.add(&v2.bytes()).unwrap();
    assert_eq!(watches.timeout_ms(), -1);
    let v1_id = watches.add(&v1.bytes()).unwrap();
    let timeout = watches.timeout_ms();
    assert!(
        timeout > 0 && timeout <= PIDS_POLL_MS as i32 + 1,
        "{timeout}"
    );
    // The re-read finds what changed, once.
    v1.write("pids.events", "max 2\n");
    assert_eq!(
        watches.poll_pids(),
        vec![ev("pids_max", &v1.bytes(), Value::Int(2))]
    );
    assert_eq!(watches.poll_pids(), vec![]);
    // Without a v1 pids watch left, no timer.
    watches.remove(v1_id).unwrap();
    assert_eq!(watches.timeout_ms(), -1);
    watches.remove(v2_id).unwrap();
}
