//! From a [`Size`] to the numbers written into kernel files, with the checks
//! that keep nonsense out of them.

use super::ActuateError;
use crate::model::Size;

/// CFS period used by Janus, in microseconds (the kernel default, 100 ms).
pub const CPU_PERIOD_US: u64 = 100_000;

/// Bytes in one MiB.
pub const MIB: u64 = 1024 * 1024;

/// What Janus writes for one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CFS quota per [`CPU_PERIOD_US`]: `cpu_millis * 100`.
    pub cpu_quota_us: u64,
    pub cpu_period_us: u64,
    pub memory_bytes: u64,
}

/// A pid that may be moved into a worker cgroup (0 would mean the caller).
pub(crate) fn check_pid(pid: u32) -> Result<(), ActuateError> {
    if pid == 0 {
        return Err(ActuateError::BadPid { pid, why: "pid 0 would move the calling process itself" });
    }
    Ok(())
}

/// Online CPUs of the machine (`sysconf(_SC_NPROCESSORS_ONLN)`, what `nproc
/// --all` would count among online CPUs). Not the affinity mask and not the
/// caller's own cgroup quota: a worker cgroup may use the whole machine.
pub fn online_cpus() -> u32 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n >= 1 {
        n as u32
    } else {
        std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1)
    }
}

/// Check `size` against a machine with `ncpus` online CPUs and compute the
/// kernel values. CPU must be in `MIN_CPU_MILLIS..=ncpus*1000` millicores
/// (the kernel refuses a CFS quota under 1 ms per period), memory at least 1 MiB.
pub fn limits(size: Size, ncpus: u32) -> Result<Limits, ActuateError> {
    let max_millis = u64::from(ncpus) * 1000;
    let millis = u64::from(size.cpu_millis);
    let min = u64::from(crate::model::MIN_CPU_MILLIS);
    if millis < min {
        return Err(ActuateError::BadSize {
            what: "cpu_millis",
            value: millis,
            why: format!("must be at least {min} millicores (the kernel's smallest CPU quota)"),
        });
    }
    if millis > max_millis {
        return Err(ActuateError::BadSize {
            what: "cpu_millis",
            value: millis,
            why: format!("this machine has {ncpus} online CPU(s), so at most {max_millis} millicores"),
        });
    }
    if size.memory_mib == 0 {
        return Err(ActuateError::BadSize { what: "memory_mib", value: 0, why: "must be at least 1 MiB".to_string() });
    }
    Ok(Limits {
        cpu_quota_us: millis * CPU_PERIOD_US / 1000,
        cpu_period_us: CPU_PERIOD_US,
        memory_bytes: u64::from(size.memory_mib) * MIB,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_millis_times_100() {
        let l = limits(Size::new(250, 128), 2).unwrap();
        assert_eq!(l.cpu_quota_us, 25_000);
        assert_eq!(l.cpu_period_us, 100_000);
        assert_eq!(l.memory_bytes, 128 * MIB);
        assert_eq!(limits(Size::new(2000, 1), 2).unwrap().cpu_quota_us, 200_000);
    }

    #[test]
    fn rejects_out_of_range() {
        for s in [Size::new(0, 128), Size::new(2001, 128), Size::new(100, 0)] {
            let e = limits(s, 2).unwrap_err();
            assert!(matches!(e, ActuateError::BadSize { .. }), "{s}: {e}");
        }
        assert!(limits(Size::new(2001, 128), 2).unwrap_err().to_string().contains("2 online CPU"));
    }

    #[test]
    fn machine_has_cpus() {
        assert!(online_cpus() >= 1);
    }
}
