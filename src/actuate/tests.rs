//! Unit tests of the cgroup actuators against fake v1 and v2 trees: plain
//! directories in a temp dir registered with [`super::fake`], which gives
//! each new cgroup the kernel's files; the tests overwrite the counters the
//! kernel would update.

use super::fake;
use super::*;
use std::fs;
use std::path::{Path, PathBuf};

const MI: u64 = 1024 * 1024;

fn put(p: &Path, s: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, s).unwrap();
}

fn get(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Empty v1 mounts: cpu, cpuacct, memory (and pids, which Janus ignores).
fn fake_v1() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for c in ["cpu", "cpuacct", "memory", "pids"] {
        fs::create_dir(t.path().join(c)).unwrap();
    }
    fake::register_v1(t.path());
    t
}

/// What the v1 kernel shows in a fresh worker cgroup.
fn v1_kernel_files(base: &Path, pool: &str, worker: &str, usage: u64) {
    let w = |c: &str| base.join(c).join("janus").join(pool).join(worker);
    put(
        &w("cpu").join("cpu.stat"),
        "nr_periods 10\nnr_throttled 4\nthrottled_time 3000000\nnr_bursts 0\nburst_time 0\n",
    );
    put(&w("cpuacct").join("cpuacct.usage"), "5500000\n");
    put(&w("memory").join("memory.usage_in_bytes"), &format!("{usage}\n"));
    put(&w("memory").join("memory.max_usage_in_bytes"), &format!("{}\n", usage + 4096));
    put(&w("memory").join("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    put(&w("memory").join("memory.failcnt"), "7\n");
}

fn fake_v2(enabled: &str) -> tempfile::TempDir {
    let t = v2_shaped_dir(enabled);
    fake::register_v2(t.path(), false);
    t
}

/// A plain directory with the files of a v2 root, not registered as fake.
fn v2_shaped_dir(enabled: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    put(&t.path().join("cgroup.controllers"), "cpuset cpu io memory pids\n");
    put(&t.path().join("cgroup.subtree_control"), enabled);
    t
}

fn v2_kernel_files(dir: &Path, current: u64) {
    put(
        &dir.join("cpu.stat"),
        "usage_usec 5500\nuser_usec 5000\nsystem_usec 500\nnr_periods 10\nnr_throttled 4\nthrottled_usec 3000\n",
    );
    put(&dir.join("memory.current"), &format!("{current}\n"));
    put(&dir.join("memory.peak"), &format!("{}\n", current + 4096));
    put(&dir.join("memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n");
}

/// Every directory under `root` (root included), sorted.
fn dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    if root.is_dir() {
        out.push(root.to_path_buf());
        for e in fs::read_dir(root).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                out.extend(dirs(&e.path()));
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------- v1

#[test]
fn v1_create_apply_writes_kernel_files() {
    let t = fake_v1();
    let a = CgroupV1::with_root(t.path(), "pool", 2).unwrap();
    assert_eq!(a.kind(), "cgroup-v1");
    assert!(a.is_real());
    for c in ["cpu", "cpuacct", "memory"] {
        assert!(t.path().join(c).join("janus/pool").is_dir(), "{c}");
    }
    assert!(!t.path().join("pids/janus").exists(), "Janus only uses cpu, cpuacct and memory");
    a.create("w1").unwrap();
    a.create("w1").unwrap(); // idempotent
    v1_kernel_files(t.path(), "pool", "w1", 10 * MI);
    a.apply("w1", Size::new(250, 128)).unwrap();
    let cpu = t.path().join("cpu/janus/pool/w1");
    let mem = t.path().join("memory/janus/pool/w1");
    assert_eq!(get(&cpu.join("cpu.cfs_period_us")), "100000");
    assert_eq!(get(&cpu.join("cpu.cfs_quota_us")), "25000");
    assert_eq!(get(&mem.join("memory.limit_in_bytes")), (128 * MI).to_string());
    assert_eq!(a.applied("w1"), Some(Size::new(250, 128)));
    a.apply("w1", Size::new(2000, 64)).unwrap();
    assert_eq!(get(&cpu.join("cpu.cfs_quota_us")), "200000");
    assert_eq!(get(&mem.join("memory.limit_in_bytes")), (64 * MI).to_string());
    assert_eq!(a.applied("w1"), Some(Size::new(2000, 64)));
    assert_eq!(a.applied("other"), None);
}

#[test]
fn v1_usage_reset_attach() {
    let t = fake_v1();
    let a = CgroupV1::with_root(t.path(), "pool", 2).unwrap();
    a.create("w").unwrap();
    v1_kernel_files(t.path(), "pool", "w", 10 * MI);
    let u = a.usage("w").unwrap();
    assert_eq!(
        u,
        Usage {
            cpu_usec: 5500,
            nr_periods: 10,
            nr_throttled: 4,
            throttled_usec: 3000,
            memory_peak_bytes: 10 * MI + 4096,
            oom_kills: 2
        }
    );
    // Old kernels without the oom_kill line: memory.failcnt.
    put(&t.path().join("memory/janus/pool/w/memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\n");
    assert_eq!(a.usage("w").unwrap().oom_kills, 7);

    assert!(a.reset_peak("w").unwrap());
    assert_eq!(get(&t.path().join("memory/janus/pool/w/memory.max_usage_in_bytes")), "0");

    a.attach("w", 4242).unwrap();
    for c in ["cpu", "cpuacct", "memory"] {
        assert_eq!(get(&t.path().join(c).join("janus/pool/w/cgroup.procs")), "4242", "{c}");
    }
    assert!(matches!(a.attach("w", 0), Err(ActuateError::BadPid { .. })));
    assert!(matches!(a.attach("nope", 1), Err(ActuateError::UnknownWorker { .. })));
    assert!(matches!(a.usage("nope"), Err(ActuateError::UnknownWorker { .. })));
    assert!(matches!(a.apply("nope", Size::new(100, 64)), Err(ActuateError::UnknownWorker { .. })));
}

#[test]
fn v1_rejects_bad_names_without_touching_anything() {
    let t = fake_v1();
    for pool in ["", "..", "a/b", "../../etc"] {
        let e = CgroupV1::with_root(t.path(), pool, 2).unwrap_err();
        assert!(matches!(e, ActuateError::BadName { .. }), "{pool:?}: {e}");
    }
    assert!(!t.path().join("cpu/janus").exists());
    let a = CgroupV1::with_root(t.path(), "p", 2).unwrap();
    let before = dirs(t.path());
    for w in ["", ".", "..", "../x", "x/../../y", "/abs", "a b"] {
        assert!(matches!(a.create(w), Err(ActuateError::BadName { .. })), "{w:?}");
        assert!(matches!(a.apply(w, Size::new(100, 64)), Err(ActuateError::BadName { .. })), "{w:?}");
        assert!(matches!(a.remove(w), Err(ActuateError::BadName { .. })), "{w:?}");
    }
    assert_eq!(dirs(t.path()), before);
}

#[test]
fn v1_refuses_memory_below_usage() {
    let t = fake_v1();
    let a = CgroupV1::with_root(t.path(), "p", 2).unwrap();
    a.create("w").unwrap();
    v1_kernel_files(t.path(), "p", "w", 10 * MI);
    a.apply("w", Size::new(500, 256)).unwrap();
    put(&t.path().join("memory/janus/p/w/memory.usage_in_bytes"), &format!("{}\n", 200 * MI));
    let e = a.apply("w", Size::new(1000, 128)).unwrap_err();
    match &e {
        ActuateError::MemoryBelowUsage { path, usage, limit } => {
            assert_eq!(*usage, 200 * MI);
            assert_eq!(*limit, 128 * MI);
            assert!(path.ends_with("memory/janus/p/w/memory.limit_in_bytes"));
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("OOM"), "{e}");
    // Nothing was written, and the previous size still holds.
    assert_eq!(get(&t.path().join("memory/janus/p/w/memory.limit_in_bytes")), (256 * MI).to_string());
    assert_eq!(get(&t.path().join("cpu/janus/p/w/cpu.cfs_quota_us")), "50000");
    assert_eq!(a.applied("w"), Some(Size::new(500, 256)));
    // Raising is fine.
    a.apply("w", Size::new(1000, 512)).unwrap();
}

#[test]
fn v1_rejects_cpu_out_of_range() {
    let t = fake_v1();
    let a = CgroupV1::with_root(t.path(), "p", 2).unwrap();
    a.create("w").unwrap();
    v1_kernel_files(t.path(), "p", "w", 0);
    for s in [Size::new(0, 64), Size::new(2001, 64), Size::new(100, 0)] {
        let e = a.apply("w", s).unwrap_err();
        assert!(matches!(e, ActuateError::BadSize { .. }), "{s}: {e}");
    }
    // Nothing was written: the kernel's defaults are still there.
    assert_eq!(get(&t.path().join("cpu/janus/p/w/cpu.cfs_quota_us")), "-1\n");
    assert_eq!(get(&t.path().join("memory/janus/p/w/memory.limit_in_bytes")), "9223372036854771712\n");
    a.apply("w", Size::new(2000, 64)).unwrap();
    // A bigger machine allows more.
    let big = CgroupV1::with_root(t.path(), "p2", 8).unwrap();
    big.create("w").unwrap();
    v1_kernel_files(t.path(), "p2", "w", 0);
    big.apply("w", Size::new(8000, 64)).unwrap();
    assert!(big.apply("w", Size::new(8001, 64)).is_err());
}

#[test]
fn v1_remove_waits_for_processes_then_removes() {
    let t = fake_v1();
    let a = CgroupV1::with_root(t.path(), "p", 2).unwrap();
    a.create("w").unwrap();
    v1_kernel_files(t.path(), "p", "w", 0);
    a.apply("w", Size::new(100, 64)).unwrap();
    put(&t.path().join("cpu/janus/p/w/cgroup.procs"), "777\n");
    let e = a.remove("w").unwrap_err();
    assert!(matches!(e, ActuateError::Busy { .. }), "{e}");
    assert!(e.to_string().contains("777") && e.to_string().contains("kill"), "{e}");
    assert_eq!(a.applied("w"), Some(Size::new(100, 64)));
    put(&t.path().join("cpu/janus/p/w/cgroup.procs"), "");
    a.remove("w").unwrap();
    for c in ["cpu", "cpuacct", "memory"] {
        assert!(!t.path().join(c).join("janus/p/w").exists(), "{c}");
        assert!(t.path().join(c).join("janus/p").is_dir(), "{c}");
    }
    assert_eq!(a.applied("w"), None);
    a.remove("w").unwrap(); // already gone: fine
}

#[test]
fn v1_remove_all_cleans_up_and_create_works_again() {
    let t = fake_v1();
    let a = CgroupV1::with_root(t.path(), "p", 2).unwrap();
    let other = CgroupV1::with_root(t.path(), "q", 2).unwrap();
    other.create("keep").unwrap();
    for w in ["a", "b", "c"] {
        a.create(w).unwrap();
        v1_kernel_files(t.path(), "p", w, 0);
        a.apply(w, Size::new(100, 64)).unwrap();
    }
    a.remove_all().unwrap();
    for c in ["cpu", "cpuacct", "memory"] {
        assert!(!t.path().join(c).join("janus/p").exists(), "{c}");
        assert!(t.path().join(c).join("janus/q/keep").is_dir(), "other pools are left alone");
    }
    assert_eq!(a.applied("a"), None);
    other.remove_all().unwrap();
    for c in ["cpu", "cpuacct", "memory"] {
        assert!(!t.path().join(c).join("janus").exists(), "{c}");
    }
    a.create("again").unwrap();
    assert!(t.path().join("memory/janus/p/again").is_dir());
    drop(a);
    assert!(!t.path().join("memory/janus").exists(), "drop removes what it created");
}

#[test]
fn v1_comounted_cpu_cpuacct() {
    let t = tempfile::tempdir().unwrap();
    fake::register_v1(t.path());
    fs::create_dir(t.path().join("cpu,cpuacct")).unwrap();
    fs::create_dir(t.path().join("memory")).unwrap();
    std::os::unix::fs::symlink("cpu,cpuacct", t.path().join("cpu")).unwrap();
    std::os::unix::fs::symlink("cpu,cpuacct", t.path().join("cpuacct")).unwrap();
    let a = CgroupV1::with_root(t.path(), "p", 2).unwrap();
    assert_eq!(a.worker_dirs("w").unwrap().len(), 2);
    a.create("w").unwrap();
    put(&t.path().join("cpu,cpuacct/janus/p/w/cpuacct.usage"), "2000\n");
    put(&t.path().join("cpu,cpuacct/janus/p/w/cpu.stat"), "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n");
    put(&t.path().join("memory/janus/p/w/memory.usage_in_bytes"), "0\n");
    put(&t.path().join("memory/janus/p/w/memory.max_usage_in_bytes"), "0\n");
    put(&t.path().join("memory/janus/p/w/memory.oom_control"), "oom_kill 0\n");
    a.apply("w", Size::new(1500, 32)).unwrap();
    assert_eq!(get(&t.path().join("cpu,cpuacct/janus/p/w/cpu.cfs_quota_us")), "150000");
    assert_eq!(a.usage("w").unwrap().cpu_usec, 2);
    a.remove_all().unwrap();
    assert!(!t.path().join("cpu,cpuacct/janus").exists());
}

#[test]
fn v1_missing_controller_and_not_a_cgroup_fs() {
    let t = tempfile::tempdir().unwrap();
    fake::register_v1(t.path());
    fs::create_dir(t.path().join("cpu")).unwrap();
    let e = CgroupV1::with_root(t.path(), "p", 2).unwrap_err();
    assert!(matches!(e, ActuateError::ControllerUnavailable { controller: "memory", .. }), "{e}");
    assert!(matches!(CgroupV1::with_root(t.path(), "p", 0), Err(ActuateError::BadSize { what: "ncpus", .. })));
    // sysfs is not a cgroup file system: refused before anything is made,
    // and the error names the path and the dry-run way out.
    let sys = Path::new("/sys/kernel");
    if sys.is_dir() {
        let m = V1Mounts { cpu: sys.into(), cpuacct: sys.into(), memory: sys.into() };
        let e = CgroupV1::with_mounts(m, "p", 2).unwrap_err();
        assert!(matches!(e, ActuateError::NotCgroupfs { .. }), "{e}");
        assert_eq!(e.kind(), "not_cgroupfs");
        let s = e.to_string();
        assert!(s.contains("/sys/kernel") && s.contains("dry_run=True"), "{s}");
        assert!(!s.contains("Actuator.dry_run()"), "points to something that does not exist: {s}");
    }
}

// ---------------------------------------------------------------- v2

#[test]
fn v2_create_apply_usage() {
    let t = fake_v2("cpu memory pids\n");
    let a = CgroupV2::with_root(t.path(), "pool", 2).unwrap();
    assert_eq!(a.kind(), "cgroup-v2");
    assert_eq!(get(&t.path().join("janus/cgroup.subtree_control")), "+cpu +memory");
    assert_eq!(get(&t.path().join("janus/pool/cgroup.subtree_control")), "+cpu +memory");
    a.create("w").unwrap();
    let w = t.path().join("janus/pool/w");
    assert_eq!(a.worker_dir("w").unwrap(), w);
    v2_kernel_files(&w, 10 * MI);
    a.apply("w", Size::new(250, 128)).unwrap();
    assert_eq!(get(&w.join("cpu.max")), "25000 100000");
    assert_eq!(get(&w.join("memory.max")), (128 * MI).to_string());
    assert_eq!(a.applied("w"), Some(Size::new(250, 128)));
    assert_eq!(
        a.usage("w").unwrap(),
        Usage {
            cpu_usec: 5500,
            nr_periods: 10,
            nr_throttled: 4,
            throttled_usec: 3000,
            memory_peak_bytes: 10 * MI + 4096,
            oom_kills: 1
        }
    );
    // Kernels before 5.19 have no memory.peak: fall back to memory.current.
    fs::remove_file(w.join("memory.peak")).unwrap();
    assert_eq!(a.usage("w").unwrap().memory_peak_bytes, 10 * MI);
    assert!(!a.reset_peak("w").unwrap(), "no memory.peak: cannot reset");

    a.attach("w", 99).unwrap();
    assert_eq!(get(&w.join("cgroup.procs")), "99");
    assert!(matches!(a.attach("w", 0), Err(ActuateError::BadPid { .. })));
}

#[test]
fn v2_reset_peak_reads_through_the_written_descriptor() {
    let t = fake_v2("cpu memory");
    let a = CgroupV2::with_root(t.path(), "p", 2).unwrap();
    a.create("w").unwrap();
    let w = t.path().join("janus/p/w");
    v2_kernel_files(&w, 10 * MI);
    assert!(a.reset_peak("w").unwrap());
    // The (fake) kernel now answers a lower peak on that descriptor.
    put(&w.join("memory.peak"), "8192\n");
    assert_eq!(a.usage("w").unwrap().memory_peak_bytes, 8192);
    put(&w.join("memory.peak"), "12288\n");
    assert_eq!(a.usage("w").unwrap().memory_peak_bytes, 12288);
}

#[test]
fn v2_refuses_memory_below_usage_and_bad_sizes() {
    let t = fake_v2("cpu memory");
    let a = CgroupV2::with_root(t.path(), "p", 4).unwrap();
    a.create("w").unwrap();
    let w = t.path().join("janus/p/w");
    v2_kernel_files(&w, 300 * MI);
    let e = a.apply("w", Size::new(1000, 256)).unwrap_err();
    assert!(matches!(e, ActuateError::MemoryBelowUsage { usage, limit, .. } if usage == 300 * MI && limit == 256 * MI));
    assert_eq!((get(&w.join("memory.max")), get(&w.join("cpu.max"))), ("max\n".into(), "max 100000\n".into()));
    for s in [Size::new(0, 512), Size::new(4001, 512)] {
        assert!(matches!(a.apply("w", s), Err(ActuateError::BadSize { what: "cpu_millis", .. })), "{s}");
    }
    a.apply("w", Size::new(4000, 512)).unwrap();
    assert_eq!(get(&w.join("cpu.max")), "400000 100000");
}

#[test]
fn v2_needs_controllers_enabled_at_the_base() {
    let t = fake_v2("pids\n");
    let e = CgroupV2::with_root(t.path(), "p", 2).unwrap_err();
    assert!(matches!(e, ActuateError::ControllerUnavailable { controller: "cpu", .. }), "{e}");
    assert!(e.to_string().contains("echo +cpu"), "{e}");
    assert!(!t.path().join("janus").exists(), "nothing created");
    assert_eq!(get(&t.path().join("cgroup.subtree_control")), "pids\n", "base untouched");
}

#[test]
fn v2_remove_all_and_bad_names() {
    let t = fake_v2("cpu memory");
    let a = CgroupV2::with_root(t.path(), "p", 2).unwrap();
    for w in ["a", "b"] {
        a.create(w).unwrap();
        v2_kernel_files(&t.path().join("janus/p").join(w), 0);
        a.apply(w, Size::new(100, 16)).unwrap();
    }
    assert!(a.reset_peak("a").unwrap());
    assert!(matches!(a.create("../../escape"), Err(ActuateError::BadName { .. })));
    assert!(matches!(CgroupV2::with_root(t.path(), "x/y", 2), Err(ActuateError::BadName { .. })));
    put(&t.path().join("janus/p/b/cgroup.procs"), "31337\n");
    let e = a.remove_all().unwrap_err();
    assert!(matches!(e, ActuateError::Busy { .. }), "{e}");
    assert!(!t.path().join("janus/p/a").exists());
    assert!(t.path().join("janus/p/b").exists());
    put(&t.path().join("janus/p/b/cgroup.procs"), "");
    a.remove_all().unwrap();
    assert!(!t.path().join("janus").exists());
    assert_eq!(a.applied("a"), None);
    assert!(t.path().join("cgroup.controllers").exists());
}

// ---------------------------------------------------------------- detection

#[test]
fn detect_at_tells_versions_apart() {
    let v1 = fake_v1();
    assert_eq!(detect_at(v1.path(), "p").unwrap().kind(), "cgroup-v1");
    let v2 = fake_v2("cpu memory");
    assert_eq!(detect_at(v2.path(), "p").unwrap().kind(), "cgroup-v2");
    let none = tempfile::tempdir().unwrap();
    assert!(matches!(detect_at(none.path(), "p"), Err(ActuateError::NoCgroups { .. })));
}

#[test]
fn plain_folders_shaped_like_cgroup_trees_are_refused_and_left_untouched() {
    // v2-shaped: cgroup.controllers and subtree_control with cpu and memory.
    let v2 = v2_shaped_dir("cpu memory\n");
    let before = dirs(v2.path());
    let e = detect_at(v2.path(), "p").err().expect("a plain folder is not a cgroup tree");
    assert!(matches!(e, ActuateError::NoCgroups { .. }), "{e}");
    let e = CgroupV2::with_root(v2.path(), "p", 2).unwrap_err();
    assert!(matches!(e, ActuateError::NotCgroupfs { expected: "cgroup2", .. }), "{e}");
    let mountinfo = format!("29 1 0:26 / {} rw - cgroup2 cgroup2 rw\n", v2.path().display());
    assert!(detect_from(&parse_mountinfo(&mountinfo), "p", 2).is_err(), "mountinfo alone is not enough");
    assert_eq!(dirs(v2.path()), before, "nothing created");
    assert!(!v2.path().join("cpu.max").exists() && !v2.path().join("janus").exists());
    // v1-shaped: cpu/ and memory/ folders.
    let v1 = tempfile::tempdir().unwrap();
    for c in ["cpu", "cpuacct", "memory"] {
        fs::create_dir(v1.path().join(c)).unwrap();
    }
    let before = dirs(v1.path());
    assert!(matches!(detect_at(v1.path(), "p"), Err(ActuateError::NoCgroups { .. })));
    assert!(matches!(CgroupV1::with_root(v1.path(), "p", 2), Err(ActuateError::NotCgroupfs { .. })));
    assert_eq!(dirs(v1.path()), before, "nothing created");
    // gc leaves a plain folder's `janus` alone.
    fs::create_dir_all(v1.path().join("cpu/janus/p/w")).unwrap();
    assert_eq!(gc(v1.path(), JANUS_ROOT).unwrap(), Vec::<PathBuf>::new());
    assert!(v1.path().join("cpu/janus/p/w").is_dir());
}

#[test]
fn kernel_files_are_never_created() {
    let t = fake_v1();
    let a = CgroupV1::with_root(t.path(), "p", 2).unwrap();
    a.create("w").unwrap();
    let quota = t.path().join("cpu/janus/p/w/cpu.cfs_quota_us");
    fs::remove_file(&quota).unwrap(); // a kernel without the file (controller not really there)
    let e = a.apply("w", Size::new(500, 64)).unwrap_err();
    assert!(matches!(&e, ActuateError::Io { path, .. } if path == &quota), "{e}");
    assert!(e.to_string().contains("no such kernel file"), "{e}");
    assert!(!quota.exists(), "the write must not create it");
    assert_eq!(a.applied("w"), None, "half-applied is not applied");
}

// ---------------------------------------------------------------- kill

#[test]
fn v1_kill_by_membership_on_every_hierarchy_then_remove() {
    let t = fake_v1();
    let a = CgroupV1::with_root(t.path(), "p", 2).unwrap();
    a.create("w").unwrap();
    // The worker and a child it started in a new session, both members.
    put(&t.path().join("memory/janus/p/w/cgroup.procs"), "4242\n4243\n");
    put(&t.path().join("cpu/janus/p/w/cgroup.procs"), "4242\n4243\n");
    assert!(matches!(a.remove("w"), Err(ActuateError::Busy { .. })));
    assert_eq!(a.kill("w").unwrap(), 2);
    let mut killed = fake::killed(t.path());
    killed.sort_unstable();
    killed.dedup();
    assert_eq!(killed, vec![4242, 4243]);
    a.remove("w").unwrap();
    assert!(!t.path().join("memory/janus/p/w").exists());
    assert_eq!(a.kill("w").unwrap(), 0, "a removed worker has nothing to kill");
    assert!(matches!(a.kill("../x"), Err(ActuateError::BadName { .. })));
}

#[test]
fn v2_kill_uses_cgroup_kill_where_the_kernel_has_it() {
    for with_kill in [true, false] {
        let t = v2_shaped_dir("cpu memory");
        fake::register_v2(t.path(), with_kill);
        let a = CgroupV2::with_root(t.path(), "p", 2).unwrap();
        a.create("w").unwrap();
        let w = t.path().join("janus/p/w");
        assert_eq!(w.join("cgroup.kill").exists(), with_kill);
        put(&w.join("cgroup.procs"), "77\n78\n");
        assert_eq!(a.kill("w").unwrap(), 2, "cgroup.kill: {with_kill}");
        assert_eq!(get(&w.join("cgroup.procs")), "");
        if with_kill {
            assert_eq!(get(&w.join("cgroup.kill")), "1");
        }
        a.remove_all().unwrap();
        assert!(!t.path().join("janus").exists());
    }
}

#[test]
fn dry_run_kill_has_nothing_to_go_by() {
    let d = DryRun::with_pool("p", 2).unwrap();
    d.create("w").unwrap();
    assert_eq!(d.kill("w").unwrap(), 0);
    assert_eq!(d.ncpus(), 2);
}

#[test]
fn detect_from_mountinfo() {
    let v1 = fake_v1();
    let b = v1.path().display();
    // Hybrid: the unified mount has no controllers, so v1 is used.
    let unified = v1.path().join("unified");
    put(&unified.join("cgroup.controllers"), "\n");
    let text = format!(
        "31 23 0:28 / {b} rw - tmpfs tmpfs rw\n\
         32 31 0:29 / {b}/cpu rw - cgroup cgroup rw,cpu\n\
         33 31 0:30 / {b}/cpuacct rw - cgroup cgroup rw,cpuacct\n\
         35 31 0:32 / {b}/memory rw - cgroup cgroup rw,memory\n\
         41 31 0:38 / {b}/unified rw - cgroup2 cgroup2 rw\n"
    );
    let a = detect_from(&parse_mountinfo(&text), "p", 2).unwrap();
    assert_eq!(a.kind(), "cgroup-v1");
    assert!(v1.path().join("cpuacct/janus/p").is_dir());
    drop(a);
    assert!(!v1.path().join("cpuacct/janus").exists());

    let v2 = fake_v2("cpu memory");
    let text = format!("29 1 0:26 / {} rw - cgroup2 cgroup2 rw,nsdelegate\n", v2.path().display());
    assert_eq!(detect_from(&parse_mountinfo(&text), "p", 2).unwrap().kind(), "cgroup-v2");
}

// ---------------------------------------------------------------- gc

#[test]
fn gc_removes_only_empty_dirs_under_janus() {
    let t = fake_v1();
    let base = t.path();
    // Leftovers of a killed run in every controller.
    for c in ["cpu", "cpuacct", "memory", "pids"] {
        for w in ["w1", "w2"] {
            put(&base.join(c).join("janus/p").join(w).join("cgroup.procs"), "");
        }
        fs::create_dir_all(base.join(c).join("janus/empty_pool")).unwrap();
    }
    // One worker still has a process: it and its parents stay.
    put(&base.join("memory/janus/p/w2/cgroup.procs"), "4242\n");
    // Not Janus's: other cgroups, a similarly named dir, a symlink to a janus dir.
    fs::create_dir_all(base.join("cpu/system.slice/janus")).unwrap();
    fs::create_dir_all(base.join("cpu/janus-other/x")).unwrap();
    fs::create_dir_all(base.join("elsewhere/janus/deep")).unwrap();
    std::os::unix::fs::symlink(base.join("elsewhere"), base.join("link")).unwrap();

    let removed = gc(base, JANUS_ROOT).unwrap();
    for c in ["cpu", "cpuacct", "pids"] {
        assert!(!base.join(c).join("janus").exists(), "{c}");
        assert!(removed.contains(&base.join(c).join("janus/p/w1")));
    }
    assert!(!base.join("memory/janus/p/w1").exists());
    assert!(!base.join("memory/janus/empty_pool").exists());
    assert!(base.join("memory/janus/p/w2").is_dir(), "busy cgroup kept");
    assert!(base.join("cpu/system.slice/janus").is_dir(), "nested janus not under a mount: untouched");
    assert!(base.join("cpu/janus-other/x").is_dir());
    // `elsewhere` is a direct child of base, so elsewhere/janus is a candidate root;
    // the symlink `link` is not followed (the same dir is not visited twice).
    assert!(!base.join("elsewhere/janus").exists());
    assert!(removed.iter().all(|p| p.components().any(|c| c.as_os_str() == "janus")), "{removed:?}");
    assert_eq!(removed.iter().filter(|p| p.ends_with("janus/deep")).count(), 1);
    assert!(matches!(gc(base, ".."), Err(ActuateError::BadName { .. })));

    put(&base.join("memory/janus/p/w2/cgroup.procs"), "");
    gc(base, JANUS_ROOT).unwrap();
    assert!(!base.join("memory/janus").exists());
    assert!(base.join("memory").is_dir() && base.join("cpu/system.slice").is_dir());
}
