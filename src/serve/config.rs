//! Settings of `janus serve`, with defaults and checks that name the bad one.

use super::error::ServeError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Re-synthesis in the background when observations drift from the profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ResynthConfig {
    /// Re-synthesise when a function's drift ratio leaves [1/t, t].
    pub threshold: f64,
    /// Sizes with fewer observations in the current windows are not compared.
    pub min_samples: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// Address to listen on: loopback unless the operator says otherwise.
    pub listen: String,
    /// Hint-set files or folders of them.
    pub hints: Vec<PathBuf>,
    /// The data folder: the only place the service writes.
    pub data: PathBuf,
    /// Profiles that hint sets were built from (matched by digest), for drift.
    pub profiles: Vec<PathBuf>,
    /// Latencies kept per (function, size, class).
    pub window: usize,
    /// Compact the observation log past this many bytes.
    pub compact_at: u64,
    /// Largest body of decide/observe requests.
    pub max_body: usize,
    /// Largest body of hint-set and profile uploads.
    pub max_upload: usize,
    /// A client must send its request (headers and body) within this time.
    pub read_timeout: Duration,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// How often drift is checked (metrics, and re-synthesis when enabled).
    pub drift_every: Duration,
    pub resynth: Option<ResynthConfig>,
    /// Worker threads of the async runtime.
    pub threads: usize,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8757";
/// Worker threads at most (`threads`): far above what a machine's cores
/// keep busy, far below an operating system's thread limit.
pub const MAX_THREADS: usize = 1024;

impl ServeConfig {
    pub fn new(hints: Vec<PathBuf>, data: PathBuf) -> Self {
        ServeConfig {
            listen: DEFAULT_LISTEN.into(),
            hints,
            data,
            profiles: Vec::new(),
            window: crate::adapter::DEFAULT_WINDOW,
            compact_at: 64 << 20,
            max_body: 1 << 20,
            max_upload: 32 << 20,
            read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drift_every: Duration::from_secs(10),
            resynth: None,
            threads: 2,
        }
    }

    /// Check every setting; returns the address to bind.
    pub fn validate(&self) -> Result<SocketAddr, ServeError> {
        // Every message reads "serve: NAME must be ..., got VALUE", as the
        // binding's integer checks do, so a command line can name its flag.
        let bad = |name, why: String| Err(ServeError::Config { name, why });
        let addr: SocketAddr = match self.listen.parse() {
            Ok(a) => a,
            Err(e) => {
                return bad("listen", format!("must be HOST:PORT with an IP address, got '{}' ({e})", self.listen))
            }
        };
        if !(1..=1_000_000).contains(&self.window) {
            return bad("window", format!("must be in 1..=1000000, got {}", self.window));
        }
        if self.compact_at < 4096 {
            return bad("compact_at", format!("must be at least 4096 bytes, got {}", self.compact_at));
        }
        for (name, bytes) in [("max_body", self.max_body), ("max_upload", self.max_upload)] {
            if !(256..=(1 << 30)).contains(&bytes) {
                return bad(name, format!("must be in 256 B ..= 1 GiB, got {bytes} bytes"));
            }
        }
        for (name, d) in [("read_timeout", self.read_timeout), ("drift_every", self.drift_every)] {
            if d.is_zero() {
                return bad(name, format!("must be a positive number of seconds, got {:?}", d.as_secs_f64()));
            }
        }
        if self.max_connections == 0 {
            return bad("max_connections", "must be at least 1, got 0".into());
        }
        // Each worker thread is an OS thread with its own stack: a typo such
        // as 100000 would take the machine's thread limit, not serve faster.
        if !(1..=MAX_THREADS).contains(&self.threads) {
            return bad("threads", format!("must be in 1..={MAX_THREADS}, got {}", self.threads));
        }
        if let Some(r) = &self.resynth {
            if !(r.threshold > 1.0 && r.threshold.is_finite()) {
                return bad("threshold", format!("must be a ratio > 1, got {:?}", r.threshold));
            }
            if r.min_samples == 0 {
                return bad("min_samples", "must be at least 1, got 0".into());
            }
        }
        Ok(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_loopback() {
        let c = ServeConfig::new(vec![], "d".into());
        assert!(c.validate().unwrap().ip().is_loopback());
    }

    #[test]
    fn bad_settings_are_named() {
        let c = |f: fn(&mut ServeConfig)| {
            let mut c = ServeConfig::new(vec![], "d".into());
            f(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert!(c(|c| c.listen = "localhost".into()).contains("listen"));
        assert!(c(|c| c.window = 0).contains("window"));
        assert!(c(|c| c.resynth = Some(ResynthConfig { threshold: 0.9, min_samples: 5 })).contains("threshold"));
        // Each limit by its own name, and a thread count a machine can give.
        assert!(c(|c| c.max_upload = 1 << 31)
            .contains("serve: max_upload must be in 256 B ..= 1 GiB, got 2147483648 bytes"));
        assert!(c(|c| c.max_body = 0).contains("serve: max_body must"));
        assert!(c(|c| c.threads = 100_000).contains("serve: threads must be in 1..=1024, got 100000"));
        assert!(c(|c| c.threads = 0).contains("serve: threads must"));
        assert!(c(|c| c.max_connections = 0).contains("serve: max_connections must be at least 1, got 0"));
        let mut most = ServeConfig::new(vec![], "d".into());
        most.threads = MAX_THREADS;
        assert!(most.validate().is_ok());
    }
}
