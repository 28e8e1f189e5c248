//! Small file-system helpers shared by the cgroup actuators: every error
//! carries its path; kernel files are opened for writing without create;
//! cgroup directories are recognised by their file system (statfs magic),
//! emptied by cgroup membership and removed with a short retry.
//!
//! The unit tests run the actuators against fake trees: plain directories
//! registered with [`super::fake`], whose "kernel files" that module creates.
//! Everything that treats a plain directory as a cgroup is compiled only
//! into the tests (`#[cfg(test)]`), so a library build never creates a file
//! in, or reports as real, a folder that is not a cgroup file system.

use super::ActuateError;
use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Processes of a cgroup (v1 and v2).
pub(crate) const CGROUP_PROCS: &str = "cgroup.procs";

/// How long `remove` waits for a cgroup to become empty/removable. `rmdir`
/// can return EBUSY for a moment after the last process exited (it is still
/// being torn down).
pub(crate) const REMOVE_TIMEOUT: Duration = Duration::from_millis(1000);

/// How long `kill` keeps killing and waits for the processes of a cgroup to exit.
pub(crate) const KILL_TIMEOUT: Duration = Duration::from_millis(2000);

/// `statfs` `f_type` of a cgroup v1 hierarchy (linux/magic.h).
pub(crate) const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
/// `statfs` `f_type` of the cgroup v2 unified hierarchy (linux/magic.h).
pub(crate) const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

pub(crate) type Res<T> = Result<T, ActuateError>;

/// Which cgroup file system a directory is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CgroupFs {
    V1,
    V2,
}

impl CgroupFs {
    pub(crate) fn name(self) -> &'static str {
        match self {
            CgroupFs::V1 => "cgroup (v1)",
            CgroupFs::V2 => "cgroup2",
        }
    }
}

/// `statfs(2)` file-system type of `path`, or `None` when it cannot be read.
fn fs_magic(path: &Path) -> Option<i64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string and `st` a properly sized, zeroed out-parameter.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    #[allow(clippy::unnecessary_cast)]
    (rc == 0).then_some(st.f_type as i64)
}

/// The cgroup file system `path` lives on, if any (fake trees count in tests).
pub(crate) fn cgroupfs(path: &Path) -> Option<CgroupFs> {
    #[cfg(test)]
    if let Some(v) = super::fake::version_of(path) {
        return Some(v);
    }
    match fs_magic(path) {
        Some(CGROUP_SUPER_MAGIC) => Some(CgroupFs::V1),
        Some(CGROUP2_SUPER_MAGIC) => Some(CgroupFs::V2),
        _ => None,
    }
}

/// `Ok` when `path` is on the `expected` cgroup file system, else
/// [`ActuateError::NotCgroupfs`] (or `Io` when it cannot be examined).
pub(crate) fn require_cgroupfs(path: &Path, expected: CgroupFs) -> Res<()> {
    if cgroupfs(path) == Some(expected) {
        return Ok(());
    }
    match fs_magic(path) {
        Some(found) => Err(ActuateError::NotCgroupfs { path: path.to_path_buf(), expected: expected.name(), found }),
        None => {
            Err(ActuateError::io(path, fs::metadata(path).err().unwrap_or_else(|| io::Error::other("statfs failed"))))
        }
    }
}

/// Write a kernel file: `open(O_WRONLY | O_TRUNC)` without `O_CREAT`, one
/// `write(2)` of the whole value. A missing file is an error, never created.
pub(crate) fn write_existing(path: &Path, value: &str) -> Res<()> {
    let result =
        OpenOptions::new().write(true).truncate(true).open(path).and_then(|mut f| f.write_all(value.as_bytes()));
    match result {
        Ok(()) => {
            #[cfg(test)]
            super::fake::after_write(path, value);
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Err(ActuateError::io(
            path,
            io::Error::new(ErrorKind::NotFound, "no such kernel file (is the controller mounted and enabled?)"),
        )),
        Err(e) => Err(ActuateError::io(path, e)),
    }
}

pub(crate) fn read(path: &Path) -> Res<String> {
    fs::read_to_string(path).map_err(|e| ActuateError::io(path, e))
}

/// Parse one unsigned value; `max` (v2 for "no limit") is `u64::MAX`.
pub(crate) fn parse_u64(path: &Path, s: &str) -> Res<u64> {
    let t = s.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    t.parse().map_err(|_| ActuateError::Parse {
        path: path.to_path_buf(),
        content: t.chars().take(80).collect(),
        why: "expected an unsigned integer",
    })
}

pub(crate) fn read_u64(path: &Path) -> Res<u64> {
    parse_u64(path, &read(path)?)
}

/// A flat keyed file (`cpu.stat`, `memory.events`, `memory.oom_control`):
/// one `key value` pair per line.
pub(crate) fn read_keyed(path: &Path) -> Res<HashMap<String, u64>> {
    parse_keyed(path, &read(path)?)
}

pub(crate) fn parse_keyed(path: &Path, text: &str) -> Res<HashMap<String, u64>> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(k), Some(v)) = (it.next(), it.next()) else { continue };
        out.insert(k.to_string(), parse_u64(path, v)?);
    }
    Ok(out)
}

/// Pids listed in `dir/cgroup.procs` (none when the file does not exist).
pub(crate) fn procs(dir: &Path) -> Res<Vec<u32>> {
    let p = dir.join(CGROUP_PROCS);
    match fs::read_to_string(&p) {
        Ok(s) => s.split_whitespace().map(|t| parse_u64(&p, t).map(|v| v as u32)).collect(),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(ActuateError::io(p, e)),
    }
}

/// `cgroup.kill` (cgroup v2, Linux 5.14+): writing `1` kills every process
/// of the cgroup and its descendants at once.
pub(crate) const CGROUP_KILL: &str = "cgroup.kill";

/// Kill (SIGKILL) every process that is a member of the cgroups `dirs`, and
/// wait until none is left. Processes are found by membership, not by
/// parentage or process group, so a child started in a new session dies too.
/// Where `dir/cgroup.kill` exists it is used (atomic, race-free); elsewhere
/// the pids in `cgroup.procs` are signalled over and over until the lists
/// stay empty, so processes forked in the meantime die as well. The calling
/// process is never signalled, should it be a member. Returns how many
/// distinct processes were found; [`ActuateError::Busy`] if some remain
/// after `timeout`.
pub(crate) fn kill_members(dirs: &[PathBuf], timeout: Duration) -> Res<usize> {
    let deadline = Instant::now() + timeout;
    let me = std::process::id();
    let mut seen: Vec<u32> = Vec::new();
    let mut pause = Duration::from_millis(1);
    loop {
        let mut left = 0;
        for d in dirs {
            let all = procs(d)?;
            let includes_me = all.contains(&me);
            let pids: Vec<u32> = all.into_iter().filter(|&p| p != me).collect();
            if pids.is_empty() {
                continue;
            }
            left += pids.len();
            for &p in &pids {
                if !seen.contains(&p) {
                    seen.push(p);
                }
            }
            let kill_file = d.join(CGROUP_KILL);
            if kill_file.is_file() && !includes_me {
                write_existing(&kill_file, "1")?;
            } else {
                signal_members(d, &pids)?;
            }
        }
        if left == 0 {
            return Ok(seen.len());
        }
        if Instant::now() >= deadline {
            let pids: Vec<u32> = dirs.iter().flat_map(|d| procs(d).unwrap_or_default()).collect();
            return Err(ActuateError::Busy {
                path: dirs.first().cloned().unwrap_or_default(),
                why: format!(
                    "{} process(es) still in it after SIGKILL for {timeout:?}: {:?}",
                    pids.len(),
                    &pids[..pids.len().min(10)]
                ),
            });
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// SIGKILL the processes `pids` listed in `dir/cgroup.procs`, without the
/// pid-reuse race: each pid is pinned with a pidfd first, then signalled only
/// if it is still listed (a pidfd keeps naming the same process, so a pid
/// that exited and was reused by an unrelated process is never hit). Kernels
/// without pidfds (before 5.3) get a plain `kill(2)`.
fn signal_members(dir: &Path, pids: &[u32]) -> Res<()> {
    #[cfg(test)]
    if super::fake::version_of(dir).is_some() {
        return super::fake::kill(dir, pids);
    }
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut pinned: Vec<(u32, OwnedFd)> = Vec::new();
    for &pid in pids {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd >= 0 {
            // SAFETY: the kernel just gave us this descriptor; nothing else owns it.
            pinned.push((pid, unsafe { OwnedFd::from_raw_fd(fd as i32) }));
            continue;
        }
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::ESRCH) => {} // already gone
            Some(libc::ENOSYS) => {
                // SAFETY: kill has no memory preconditions; the pid was just listed as a member.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
            _ => return Err(ActuateError::io(dir.join(CGROUP_PROCS), io::Error::last_os_error())),
        }
    }
    let still = procs(dir)?;
    for (pid, fd) in &pinned {
        if still.contains(pid) {
            use std::os::fd::AsRawFd;
            // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
            let rc = unsafe {
                libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), libc::SIGKILL, std::ptr::null::<u8>(), 0)
            };
            if rc < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH) {
                return Err(ActuateError::io(dir.join(CGROUP_PROCS), io::Error::last_os_error()));
            }
        }
    }
    Ok(())
}

/// Sub-directories (child cgroups) of `dir`, symlinks not followed.
pub(crate) fn child_dirs(dir: &Path) -> Res<Vec<PathBuf>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ActuateError::io(dir, e)),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| ActuateError::io(dir, e))?;
        let ft = ent.file_type().map_err(|e| ActuateError::io(ent.path(), e))?;
        if ft.is_dir() {
            out.push(ent.path());
        }
    }
    out.sort();
    Ok(out)
}

fn is_denied(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS))
}

/// `mkdir` that accepts an existing directory. Permission problems become
/// [`ActuateError::NotWritable`] (pointing at the dry-run actuator).
pub(crate) fn mkdir(dir: &Path) -> Res<()> {
    match fs::create_dir(dir) {
        Ok(()) => {
            #[cfg(test)]
            super::fake::populate(dir);
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) if is_denied(&e) => Err(ActuateError::NotWritable { path: dir.to_path_buf(), source: e }),
        Err(e) => Err(ActuateError::io(dir, e)),
    }
}

/// Remove one cgroup directory that has no child cgroups, waiting up to
/// `timeout` for its processes to go away and for `rmdir` to stop returning
/// EBUSY. Processes are never moved or killed here: if some remain after the
/// timeout the result is [`ActuateError::Busy`]. A missing directory is fine.
///
/// This is a plain `rmdir` (the kernel files go with the directory); in the
/// fake trees of the tests the plain files in it are unlinked first.
pub(crate) fn remove_cgroup_dir(dir: &Path, timeout: Duration) -> Res<()> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        if !dir.exists() {
            return Ok(());
        }
        let kids = child_dirs(dir)?;
        if !kids.is_empty() {
            return Err(ActuateError::Busy {
                path: dir.to_path_buf(),
                why: format!("it has {} child cgroup(s)", kids.len()),
            });
        }
        let pids = procs(dir)?;
        let attempt = if pids.is_empty() { rmdir_once(dir) } else { Err(RmErr::Procs(pids)) };
        match attempt {
            Ok(()) => return Ok(()),
            Err(RmErr::Fatal(e)) => return Err(e),
            Err(again) if Instant::now() >= deadline => {
                let why = match again {
                    RmErr::Procs(p) => format!("{} process(es) still in it: {:?}", p.len(), &p[..p.len().min(10)]),
                    RmErr::Busy => "the kernel keeps answering EBUSY to rmdir".to_string(),
                    RmErr::Fatal(_) => unreachable!(),
                };
                return Err(ActuateError::Busy { path: dir.to_path_buf(), why });
            }
            Err(_) => {
                sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}

enum RmErr {
    Procs(Vec<u32>),
    Busy,
    Fatal(ActuateError),
}

fn rmdir_once(dir: &Path) -> Result<(), RmErr> {
    #[cfg(test)]
    super::fake::remove_files(dir).map_err(RmErr::Fatal)?;
    match fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Err(RmErr::Busy),
        Err(e) => Err(RmErr::Fatal(ActuateError::io(dir, e))),
    }
}

/// Best-effort removal of an empty directory (`janus` or a pool): fine if it
/// is missing or still has children (another pool, another actuator).
pub(crate) fn remove_if_empty(dir: &Path) -> Res<bool> {
    if !dir.exists() || !child_dirs(dir)?.is_empty() || !procs(dir)?.is_empty() {
        return Ok(false);
    }
    match rmdir_once(dir) {
        Ok(()) => Ok(true),
        Err(RmErr::Fatal(ActuateError::Io { source, .. }))
            if matches!(source.raw_os_error(), Some(libc::ENOTEMPTY) | Some(libc::EEXIST)) =>
        {
            Ok(false)
        }
        Err(RmErr::Fatal(e)) => Err(e),
        Err(_) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_files_parse() {
        let p = Path::new("cpu.stat");
        let m = parse_keyed(p, "usage_usec 12\nnr_periods 3\n\nthrottled_usec 7\n").unwrap();
        assert_eq!(m["usage_usec"], 12);
        assert_eq!(m["nr_periods"], 3);
        assert_eq!(m["throttled_usec"], 7);
        assert!(parse_keyed(p, "x y\n").is_err());
        assert_eq!(parse_u64(p, "max\n").unwrap(), u64::MAX);
    }

    #[test]
    fn remove_refuses_with_processes_and_children() {
        let t = tempfile::tempdir().unwrap();
        super::super::fake::register_v1(t.path());
        let d = t.path().join("w");
        fs::create_dir(&d).unwrap();
        fs::write(d.join(CGROUP_PROCS), "4242\n").unwrap();
        let e = remove_cgroup_dir(&d, Duration::from_millis(20)).unwrap_err();
        assert!(matches!(e, ActuateError::Busy { .. }), "{e}");
        assert!(e.to_string().contains("4242"), "{e}");
        fs::write(d.join(CGROUP_PROCS), "").unwrap();
        fs::create_dir(d.join("child")).unwrap();
        assert!(matches!(remove_cgroup_dir(&d, Duration::ZERO), Err(ActuateError::Busy { .. })));
        fs::remove_dir(d.join("child")).unwrap();
        remove_cgroup_dir(&d, Duration::ZERO).unwrap();
        assert!(!d.exists());
        remove_cgroup_dir(&d, Duration::ZERO).unwrap();
    }
}
