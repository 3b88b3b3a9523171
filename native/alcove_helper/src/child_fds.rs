//! The fds made for a new child: its stdio pipes (or a pseudo-terminal)
//! and, for a forked helper, its control channel.

use crate::fdio;
use std::os::unix::io::RawFd;

/// The fds made for one child: (parent end, child end) of each.
pub struct ChildFds {
    pub ctl: (RawFd, RawFd),
    pub stdin: (RawFd, RawFd),
    pub stdout: (RawFd, RawFd),
    pub stderr: (RawFd, RawFd),
}

impl ChildFds {
    /// `ctl`: with a control channel (a forked helper); without, -1s
    /// (a program exec'd at once).
    pub fn new(pty: bool, ctl: bool) -> Result<ChildFds, i32> {
        let mut made: Vec<RawFd> = Vec::new();
        let result = (|| {
            let ctl = if ctl { fdio::socketpair()? } else { (-1, -1) };
            made.extend([ctl.0, ctl.1]);
            if pty {
                // The master is read as stdout and written as stdin (two
                // copies, closed apart); the slave is all three stdio fds.
                let (master, slave) = crate::pty::open_pair()?;
                made.extend([master, slave]);
                let master_out = crate::pty::dup(master)?;
                made.push(master_out);
                let slave_out = crate::pty::dup(slave)?;
                return Ok(ChildFds {
                    ctl,
                    stdin: (master, slave),
                    stdout: (master_out, slave_out),
                    stderr: (-1, -1),
                });
            }
            let (stdin_read, stdin_write) = fdio::pipe()?;
            made.extend([stdin_read, stdin_write]);
            let (stdout_read, stdout_write) = fdio::pipe()?;
            made.extend([stdout_read, stdout_write]);
            let (stderr_read, stderr_write) = fdio::pipe()?;
            Ok(ChildFds {
                ctl,
                stdin: (stdin_write, stdin_read),
                stdout: (stdout_read, stdout_write),
                stderr: (stderr_read, stderr_write),
            })
        })();
        if result.is_err() {
            made.into_iter().for_each(fdio::close);
        }
        result
    }

    pub fn parent_ends(&self) -> [RawFd; 4] {
        [self.ctl.0, self.stdin.0, self.stdout.0, self.stderr.0]
    }

    pub fn child_ends(&self) -> [RawFd; 4] {
        [self.ctl.1, self.stdin.1, self.stdout.1, self.stderr.1]
    }
}
