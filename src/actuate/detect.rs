//! Which cgroup version the machine runs, from `/proc/self/mountinfo`.
//!
//! cgroup v2 is used when a `cgroup2` mount lists both `cpu` and `memory` in
//! its `cgroup.controllers` (a pure v2 host). Otherwise the v1 mounts of
//! `cpu`, `cpuacct` and `memory` are used (v1 and "hybrid" hosts, where the
//! `cgroup2` mount at `/sys/fs/cgroup/unified` has no controllers).
//!
//! A mount (or a `base` given by the caller) counts only if `statfs` says it
//! is a cgroup file system of that version: the actuators' constructors check
//! it before reading or creating anything, so a plain directory shaped like a
//! cgroup tree is refused, not reported as real.

use super::fs::{self, CgroupFs, Res};
use super::limits::online_cpus;
use super::v1::{CgroupV1, V1Mounts};
use super::v2::{CgroupV2, CGROUP_CONTROLLERS};
use super::{ActuateError, Actuator};
use std::path::{Path, PathBuf};

pub const MOUNTINFO: &str = "/proc/self/mountinfo";

/// One line of `/proc/self/mountinfo`, the parts detection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_point: PathBuf,
    pub fs_type: String,
    /// Super-block options: for cgroup v1 the controllers (`rw,cpu,cpuacct`).
    pub super_opts: Vec<String>,
}

/// Undo the octal escapes of mountinfo (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && (b'0'..=b'3').contains(&b[i + 1])
            && b[i + 2..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse mountinfo text; malformed lines are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let mount_point = pre.split_whitespace().nth(4)?;
            let mut post = post.split_whitespace();
            let fs_type = post.next()?.to_string();
            let _source = post.next()?;
            let super_opts = post.next().unwrap_or("").split(',').map(str::to_string).collect();
            Some(MountEntry { mount_point: PathBuf::from(unescape(mount_point)), fs_type, super_opts })
        })
        .collect()
}

fn has_controllers(dir: &Path) -> bool {
    fs::read(&dir.join(CGROUP_CONTROLLERS))
        .map(|s| ["cpu", "memory"].iter().all(|c| s.split_whitespace().any(|x| x == *c)))
        .unwrap_or(false)
}

/// Choose and build the actuator for `mounts` (see the module notes).
pub fn detect_from(mounts: &[MountEntry], pool: &str, ncpus: u32) -> Res<Box<dyn Actuator>> {
    if let Some(m) = mounts.iter().find(|m| m.fs_type == "cgroup2" && has_controllers(&m.mount_point)) {
        return Ok(Box::new(CgroupV2::with_root(&m.mount_point, pool, ncpus)?));
    }
    let v1 = |c: &str| {
        mounts
            .iter()
            .find(|m| m.fs_type == "cgroup" && m.super_opts.iter().any(|o| o == c))
            .map(|m| m.mount_point.clone())
    };
    match (v1("cpu"), v1("cpuacct"), v1("memory")) {
        (Some(cpu), acct, Some(memory)) => {
            let cpuacct = acct.unwrap_or_else(|| cpu.clone());
            Ok(Box::new(CgroupV1::with_mounts(V1Mounts { cpu, cpuacct, memory }, pool, ncpus)?))
        }
        _ => Err(ActuateError::NoCgroups {
            why: format!(
                "{MOUNTINFO} shows neither a cgroup2 mount with the cpu and memory controllers \
                 nor cgroup v1 mounts of cpu and memory"
            ),
        }),
    }
}

/// The actuator for this machine: reads `/proc/self/mountinfo`, sizes CPU
/// against the online CPUs, creates `janus/<pool>` (so an unwritable root
/// fails here with [`ActuateError::NotWritable`]).
pub fn detect(pool: &str) -> Result<Box<dyn Actuator>, ActuateError> {
    let text = fs::read(Path::new(MOUNTINFO))?;
    detect_from(&parse_mountinfo(&text), pool, online_cpus())
}

/// The actuator for a cgroup tree at `base`, told apart by its file system:
/// `base` on cgroup2 means v2, `base/cpu` and `base/memory` on cgroup v1 mean
/// v1. Anything else (a plain directory, whatever files it holds) is
/// [`ActuateError::NoCgroups`], and nothing is created in it.
pub fn detect_at(base: impl AsRef<Path>, pool: &str) -> Result<Box<dyn Actuator>, ActuateError> {
    let base = base.as_ref();
    let v1 = |c: &str| fs::cgroupfs(&base.join(c)) == Some(CgroupFs::V1);
    if fs::cgroupfs(base) == Some(CgroupFs::V2) {
        Ok(Box::new(CgroupV2::with_root(base, pool, online_cpus())?))
    } else if v1("cpu") && v1("memory") {
        Ok(Box::new(CgroupV1::with_root(base, pool, online_cpus())?))
    } else {
        Err(ActuateError::NoCgroups {
            why: format!(
                "{} is neither a cgroup2 mount nor a folder holding cgroup v1 mounts cpu/ and memory/ \
                 (checked with statfs, whatever files it holds)",
                base.display()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw
99 31 0:40 / /mnt/with\\040space rw - ext4 /dev/sda1 rw
";

    #[test]
    fn parses_mountinfo() {
        let m = parse_mountinfo(HYBRID);
        assert_eq!(m.len(), 6);
        assert_eq!(m[1].mount_point, PathBuf::from("/sys/fs/cgroup/cpu"));
        assert_eq!(m[1].fs_type, "cgroup");
        assert_eq!(m[1].super_opts, vec!["rw", "cpu"]);
        assert_eq!(m[4].fs_type, "cgroup2");
        assert_eq!(m[5].mount_point, PathBuf::from("/mnt/with space"));
    }

    #[test]
    fn no_cgroups_is_a_clear_error() {
        let e = detect_from(&parse_mountinfo("1 0 0:1 / / rw - ext4 /dev/sda1 rw\n"), "p", 2).err().unwrap();
        assert!(matches!(e, ActuateError::NoCgroups { .. }), "{e}");
        assert!(e.to_string().contains("dry-run"));
    }
}
