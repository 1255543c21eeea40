//! A small tmpfs mounted in a temporary directory, for running a store out of space;
//! unmounted on drop, also when the test fails.

use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

/// A mounted tmpfs of a fixed size.
pub struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount` spells it: `3m`); `Err` says why it cannot
    /// (not root, no mount permission in this container), for the test to skip with.
    pub fn mount(size: &str) -> Result<Self, String> {
        if !running_as_root() {
            return Err("not running as root".into());
        }
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        run_mount(&["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"], dir.path())?;
        Ok(Self { dir })
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Changes its size in place; the files on it stay.
    pub fn resize(&self, size: &str) {
        run_mount(&["-o", &format!("remount,size={size}")], self.path()).expect("remounting the tmpfs");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily, so a process still holding a file there cannot keep it mounted.
        let status = Command::new("umount").arg("-l").arg(self.path()).status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("could not unmount the tmpfs at {}: {status:?}", self.path().display());
        }
    }
}

fn run_mount(args: &[&str], dir: &Path) -> Result<(), String> {
    let out = Command::new("mount")
        .args(args)
        .arg(dir)
        .output()
        .map_err(|e| format!("running mount: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mount {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:").map(str::to_string)))
        .and_then(|uids| uids.split_whitespace().nth(1).map(|effective| effective == "0"))
        .unwrap_or(false)
}
