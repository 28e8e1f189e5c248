//! Actuation against the real `/sys/fs/cgroup` (v1 or v2, detected).
//!
//! Needs root and a writable cgroup root; otherwise each test prints why it
//! is skipped and passes. Set `JANUS_REQUIRE_CGROUP=1` (CI as root) to turn
//! a skip into a failure. Everything is created under a unique pool name and
//! removed again, also when an assertion fails.

use janus::actuate::{self, ActuateError, Actuator};
use janus::model::Size;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MI: u64 = 1024 * 1024;

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// The real actuator, or `None` with the reason printed.
fn real_actuator(pool: &str) -> Option<Box<dyn Actuator>> {
    let skip = |why: String| {
        if std::env::var("JANUS_REQUIRE_CGROUP").is_ok_and(|v| v == "1") {
            panic!("JANUS_REQUIRE_CGROUP=1 but: {why}");
        }
        println!("SKIPPED: {why}");
        None
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip("not running as root".into());
    }
    match actuate::detect(pool) {
        Ok(a) => Some(a),
        Err(e @ (ActuateError::NotWritable { .. } | ActuateError::NoCgroups { .. })) => {
            skip(format!("no writable cgroup root: {e}"))
        }
        Err(e @ ActuateError::ControllerUnavailable { .. }) => skip(format!("controllers not available: {e}")),
        Err(e) => panic!("detect failed: {e}"),
    }
}

/// Kills the child and removes the pool even when an assertion panics.
struct Guard {
    actuator: Box<dyn Actuator>,
    child: Option<Child>,
}

impl Guard {
    /// Start `/bin/sh -c script` (which should sleep a little first, so that
    /// it is attached before it does anything), attach it to worker `w`.
    fn spawn_attached(&mut self, script: &str) -> u32 {
        let child = Command::new("/bin/sh").args(["-c", script]).stdin(Stdio::null()).spawn().expect("spawn /bin/sh");
        let pid = child.id();
        self.child = Some(child);
        self.actuator.attach("w", pid).unwrap();
        pid
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
        let _ = self.actuator.remove_all();
    }
}

fn find_file(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(name)).find(|p| p.exists())
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).trim().to_string()
}

#[test]
fn real_cgroup_limits_and_measures_a_busy_child() {
    let pool = unique("it");
    let Some(actuator) = real_actuator(&pool) else { return };
    println!("actuator: {}", actuator.kind());
    assert!(actuator.is_real());
    let mut g = Guard { actuator, child: None };
    let a = &g.actuator;

    a.create("w").unwrap();
    let dirs = a.worker_dirs("w").unwrap();
    assert!(!dirs.is_empty() && dirs.iter().all(|d| d.is_dir()), "{dirs:?}");
    assert!(dirs.iter().all(|d| d.components().any(|c| c.as_os_str() == "janus")));
    let size = Size::new(200, 64);
    a.apply("w", size).unwrap();
    assert_eq!(a.applied("w"), Some(size));

    // The kernel files hold what the size says.
    if let Some(q) = find_file(&dirs, "cpu.cfs_quota_us") {
        assert_eq!(read(&q), "20000");
        assert_eq!(read(&q.with_file_name("cpu.cfs_period_us")), "100000");
        let lim = find_file(&dirs, "memory.limit_in_bytes").expect("memory.limit_in_bytes");
        assert_eq!(read(&lim), (64 * MI).to_string());
    } else {
        let m = find_file(&dirs, "cpu.max").expect("neither cpu.cfs_quota_us nor cpu.max");
        assert_eq!(read(&m), "20000 100000");
        assert_eq!(read(&m.with_file_name("memory.max")), (64 * MI).to_string());
    }

    // A child that waits to be attached, touches ~30 MiB once, then spins.
    let pid =
        g.spawn_attached("sleep 0.3; dd if=/dev/zero of=/dev/null bs=30M count=1 2>/dev/null; while :; do :; done");
    let a = &g.actuator;
    for d in &dirs {
        let procs = read(&d.join("cgroup.procs"));
        assert!(procs.split_whitespace().any(|p| p == pid.to_string()), "{}: {procs}", d.display());
    }

    sleep(Duration::from_millis(700));
    let u1 = a.usage("w").unwrap();
    let t1 = Instant::now();
    sleep(Duration::from_millis(600));
    let u2 = a.usage("w").unwrap();
    let dt = t1.elapsed();
    println!("usage after 0.7 s: {u1:?}\nusage {dt:?} later: {u2:?}");
    assert!(u2.cpu_usec > u1.cpu_usec, "CPU usage must grow: {u1:?} -> {u2:?}");
    // 200 millicores: at most ~0.2 s of CPU per second (generous margin for the
    // period boundary and for the sh/dd start-up before the limits bite).
    let limit_usec = (dt.as_micros() as u64) * 2 / 10;
    assert!(u2.cpu_usec - u1.cpu_usec <= limit_usec * 3 / 2 + 20_000, "not throttled: {u1:?} -> {u2:?}");
    assert!(u2.nr_periods > u1.nr_periods, "{u1:?} -> {u2:?}");
    assert!(u2.nr_throttled > 0, "a busy loop at 200m must be throttled: {u2:?}");
    assert!(u2.memory_peak_bytes >= 20 * MI, "dd's 30 MiB buffer must show in the peak: {u2:?}");
    assert_eq!(u2.oom_kills, 0);

    if a.reset_peak("w").unwrap() {
        let u3 = a.usage("w").unwrap();
        assert!(u3.memory_peak_bytes < 20 * MI, "peak after reset: {u3:?}");
    } else {
        println!("this kernel cannot reset the peak");
    }

    // Lowering memory below what the cgroup uses is refused, not OOM-killed.
    // (Usage is small once dd has exited, so only check that 1 MiB either
    // succeeds or is refused with the dedicated error.)
    match a.apply("w", Size::new(200, 1)) {
        Ok(()) | Err(ActuateError::MemoryBelowUsage { .. }) => {}
        Err(e) => panic!("unexpected: {e}"),
    }
    a.apply("w", size).unwrap();

    // Removing with a live process is refused, the cgroup stays.
    let e = a.remove("w").unwrap_err();
    assert!(matches!(e, ActuateError::Busy { .. }), "{e}");
    assert!(dirs.iter().all(|d| d.is_dir()));

    g.kill();
    let a = &g.actuator;
    a.remove("w").unwrap();
    assert!(dirs.iter().all(|d| !d.exists()), "{dirs:?}");
    a.remove_all().unwrap();
    for d in &dirs {
        let pool_dir = d.parent().unwrap();
        assert!(!pool_dir.exists(), "{} left behind", pool_dir.display());
    }
}

#[test]
fn real_gc_removes_leftovers_of_a_killed_run() {
    let pool = unique("gc");
    let Some(actuator) = real_actuator(&pool) else { return };
    // The mounts in use, from a worker path `<mount>/janus/<pool>/<worker>`.
    let mounts: Vec<PathBuf> =
        actuator.worker_dirs("x").unwrap().iter().map(|d| d.ancestors().nth(3).unwrap().to_path_buf()).collect();
    actuator.remove_all().unwrap();
    drop(actuator);

    // Leftovers of a killed run, under a root of their own: sweeping the shared
    // `janus` root could remove cgroups that a concurrent run just created.
    let root = unique("janus-gc");
    let mut made = Vec::new();
    for m in &mounts {
        for w in ["w1", "w2"] {
            let d = m.join(&root).join("p").join(w);
            std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
            made.push(d);
        }
    }
    // A busy one stays until its process is gone.
    let busy = mounts[0].join(&root).join("busy");
    std::fs::create_dir(&busy).unwrap();
    let mut child = Command::new("/bin/sleep").arg("30").spawn().expect("spawn sleep");
    std::fs::write(busy.join("cgroup.procs"), child.id().to_string()).unwrap();

    let removed = actuate::gc(actuate::CGROUP_BASE, &root).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let removed_later = actuate::gc(actuate::CGROUP_BASE, &root).unwrap();

    for d in &made {
        assert!(!d.exists(), "{} not collected", d.display());
        assert!(removed.contains(d), "{} not reported", d.display());
    }
    assert!(!removed.contains(&busy), "busy cgroup removed");
    assert!(removed_later.contains(&busy), "{removed_later:?}");
    for m in &mounts {
        assert!(!m.join(&root).exists());
    }
    assert!(removed
        .iter()
        .chain(&removed_later)
        .all(|p| p.starts_with(actuate::CGROUP_BASE) && p.components().any(|c| c.as_os_str() == root.as_str())));
}

/// State letter of a process from /proc (None when it is gone).
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().next()?.chars().next()
}

#[test]
fn real_kill_reaches_children_in_a_new_session() {
    let pool = unique("kill");
    let Some(actuator) = real_actuator(&pool) else { return };
    let mut g = Guard { actuator, child: None };
    g.actuator.create("w").unwrap();
    // The child waits to be attached, then starts a grandchild in a session of
    // its own (out of reach of the child's process group) and waits.
    let pid = g.spawn_attached("sleep 0.3; setsid sleep 60 & wait");
    let a = &g.actuator;
    let procs_file = a.worker_dirs("w").unwrap()[0].join("cgroup.procs");
    let deadline = Instant::now() + Duration::from_secs(10);
    let members = loop {
        let m: Vec<u32> = read(&procs_file).split_whitespace().map(|p| p.parse().unwrap()).collect();
        if m.len() >= 2 || Instant::now() > deadline {
            break m;
        }
        sleep(Duration::from_millis(20));
    };
    assert!(members.len() >= 2 && members.contains(&pid), "child and grandchild: {members:?}");
    let grandchild = *members.iter().find(|&&p| p != pid && proc_state(p).is_some()).unwrap();

    let n = a.kill("w").unwrap();
    assert!(n >= 2, "killed {n}");
    assert_eq!(read(&procs_file), "", "nothing left in the cgroup");
    // The grandchild was orphaned and reaped by init, or is a zombie about to be.
    assert!(
        matches!(proc_state(grandchild), None | Some('Z')),
        "grandchild {grandchild}: {:?}",
        proc_state(grandchild)
    );
    a.remove("w").unwrap();
    assert!(!procs_file.exists());
    g.kill(); // reap our own child
}
