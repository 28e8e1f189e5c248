//! Small file-system helpers shared by the cgroup actuators: every error
//! carries its path; cgroup directories are removed with a short retry.

use super::ActuateError;
use std::collections::HashMap;
use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Processes of a cgroup (v1 and v2).
pub(crate) const CGROUP_PROCS: &str = "cgroup.procs";

/// How long `remove` waits for a cgroup to become empty/removable. `rmdir`
/// can return EBUSY for a moment after the last process exited (it is still
/// being torn down, or is an unreaped zombie still listed in `cgroup.procs`).
pub(crate) const REMOVE_TIMEOUT: Duration = Duration::from_millis(1000);

const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

pub(crate) type Res<T> = Result<T, ActuateError>;

/// True when `path` lives on a cgroup (v1 or v2) file system. The fake trees
/// of the unit tests live on an ordinary file system, where an "empty" cgroup
/// directory still holds the plain files the test (or Janus) wrote.
pub(crate) fn is_cgroupfs(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: `c` is a valid NUL-terminated string and `st` a properly sized, zeroed out-parameter.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    #[allow(clippy::unnecessary_cast)]
    let t = st.f_type as i64;
    rc == 0 && (t == CGROUP_SUPER_MAGIC || t == CGROUP2_SUPER_MAGIC)
}

/// Write a kernel file (plain `write(2)` of the whole value).
pub(crate) fn write(path: &Path, value: &str) -> Res<()> {
    match fs::write(path, value) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::PermissionDenied && !path.exists() => Err(ActuateError::io(
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
        Ok(()) => Ok(()),
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
/// On a real cgroup file system this is a plain `rmdir` (the kernel files go
/// with the directory). On an ordinary file system (the fake trees of the
/// tests) the plain files in it are unlinked first.
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
    if !is_cgroupfs(dir) {
        let rd = fs::read_dir(dir).map_err(|e| RmErr::Fatal(ActuateError::io(dir, e)))?;
        for ent in rd.flatten() {
            if ent.file_type().map(|t| t.is_file()).unwrap_or(false) {
                fs::remove_file(ent.path()).map_err(|e| RmErr::Fatal(ActuateError::io(ent.path(), e)))?;
            }
        }
    }
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
