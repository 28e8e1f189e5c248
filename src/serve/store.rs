//! The data folder: the only place the service writes.
//!
//! ```text
//! DATA/janus.lock            held (flock) while a service runs on this folder
//! DATA/observations.log      the observation log (see adapter::ObservationLog)
//! DATA/hints/WORKFLOW.json   the hint set in force, its generation and origin
//! DATA/profiles/WORKFLOW.json  the baseline profile for drift checks
//! ```
//!
//! Nothing under it is reached through a symlink: files are opened with
//! `O_NOFOLLOW`, replaced by rename, and the two sub-folders must be real
//! folders.

use super::error::ServeError;
use crate::adapter::durable_file::{is_symlink_refusal, open_nofollow, read_nofollow, write_atomic};
use crate::hints::HintSet;
use crate::model::check_name;
use crate::profile::Profile;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// SHA-256 of a hint set's compact JSON: its identity across restarts.
pub fn hints_digest(h: &HintSet) -> String {
    Sha256::digest(h.to_json_compact().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A hint set in force, as saved in the data folder.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledFile {
    /// One more at every swap of this workflow's hints.
    pub generation: u64,
    /// Digest of the `--hints` file this one derives from (it was loaded
    /// from it, or replaced it through the API or a re-synthesis). When the
    /// `--hints` file changes, it wins at the next start.
    pub base: Option<String>,
    /// "file", "api" or "resynth".
    pub origin: String,
    pub hints: HintSet,
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    generation: u64,
    base: Option<String>,
    origin: String,
    hints: serde_json::Value,
}

pub struct DataDir {
    root: PathBuf,
    hints: PathBuf,
    profiles: PathBuf,
    /// Held for the service's lifetime; the kernel releases it on any exit.
    _lock: File,
}

impl DataDir {
    /// Create (if needed), lock and check the data folder.
    pub fn open(path: &Path) -> Result<DataDir, ServeError> {
        let bad = |why: String| ServeError::DataDir { path: path.to_path_buf(), why };
        std::fs::create_dir_all(path).map_err(|e| bad(format!("cannot create it: {e}")))?;
        let root = path.canonicalize().map_err(|e| bad(e.to_string()))?;
        if !root.is_dir() {
            return Err(bad("not a folder".into()));
        }
        let lock_path = root.join("janus.lock");
        let lock = open_nofollow(&lock_path, OpenOptions::new().read(true).write(true).create(true))
            .map_err(|e| nofollow_error(&lock_path, e))?;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(ServeError::Locked { path: root });
            }
            return Err(ServeError::Io { path: lock_path, source: e });
        }
        let hints = real_subdir(&root, "hints")?;
        let profiles = real_subdir(&root, "profiles")?;
        Ok(DataDir { root, hints, profiles, _lock: lock })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Workflows with a hint set in the data folder.
    pub fn installed_workflows(&self) -> Result<Vec<String>, ServeError> {
        let io = |source| ServeError::Io { path: self.hints.clone(), source };
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.hints).map_err(io)? {
            let e = e.map_err(io)?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(wf) = name.strip_suffix(".json") {
                if check_name(wf).is_ok() {
                    out.push(wf.to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn file(dir: &Path, workflow: &str) -> Result<(PathBuf, String), ServeError> {
        check_name(workflow).map_err(|why| ServeError::BadWorkflowName { workflow: workflow.to_string(), why })?;
        let name = format!("{workflow}.json");
        Ok((dir.join(&name), name))
    }

    pub fn load_installed(&self, workflow: &str) -> Result<Option<InstalledFile>, ServeError> {
        let (path, _) = Self::file(&self.hints, workflow)?;
        let Some(bytes) = read_if_exists(&path)? else { return Ok(None) };
        let origin = path.display().to_string();
        let d: OnDisk = serde_json::from_slice(&bytes)
            .map_err(|e| ServeError::DataDir { path: path.clone(), why: format!("not a saved hint set: {e}") })?;
        let hints = HintSet::from_json(&d.hints.to_string(), &origin)?;
        Ok(Some(InstalledFile { generation: d.generation, base: d.base, origin: d.origin, hints }))
    }

    pub fn save_installed(&self, f: &InstalledFile) -> Result<(), ServeError> {
        let (path, name) = Self::file(&self.hints, f.hints.workflow.name())?;
        let d = OnDisk {
            generation: f.generation,
            base: f.base.clone(),
            origin: f.origin.clone(),
            hints: serde_json::to_value(&f.hints).expect("a hint set always serializes"),
        };
        let bytes = serde_json::to_vec(&d).expect("serializes");
        write_atomic(&self.hints, &name, &bytes).map_err(|source| ServeError::Io { path, source })
    }

    pub fn load_profile(&self, workflow: &str) -> Result<Option<Profile>, ServeError> {
        let (path, _) = Self::file(&self.profiles, workflow)?;
        let Some(bytes) = read_if_exists(&path)? else { return Ok(None) };
        let text = String::from_utf8_lossy(&bytes);
        Profile::from_json(&text).map(Some).map_err(|why| ServeError::Profile { path, why })
    }

    pub fn save_profile(&self, workflow: &str, p: &Profile) -> Result<(), ServeError> {
        let (path, name) = Self::file(&self.profiles, workflow)?;
        write_atomic(&self.profiles, &name, p.to_json().as_bytes()).map_err(|source| ServeError::Io { path, source })
    }
}

fn nofollow_error(path: &Path, e: std::io::Error) -> ServeError {
    if is_symlink_refusal(&e) {
        ServeError::Symlink { path: path.to_path_buf() }
    } else {
        ServeError::Io { path: path.to_path_buf(), source: e }
    }
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, ServeError> {
    match read_nofollow(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(nofollow_error(path, e)),
    }
}

/// `root/name`, created if missing; refused if it is a symlink or a file.
fn real_subdir(root: &Path, name: &str) -> Result<PathBuf, ServeError> {
    let p = root.join(name);
    match p.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => Err(ServeError::Symlink { path: p }),
        Ok(m) if !m.is_dir() => Err(ServeError::DataDir { path: p, why: "exists and is not a folder".into() }),
        Ok(_) => Ok(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(&p).map_err(|source| ServeError::Io { path: p.clone(), source })?;
            Ok(p)
        }
        Err(source) => Err(ServeError::Io { path: p, source }),
    }
}

/// Read the hint sets to serve from `--hints` paths: files, or folders whose
/// `*.json` files are all hint sets. Returns (hints, where from), by workflow.
pub fn read_hint_sources(paths: &[PathBuf]) -> Result<Vec<(HintSet, String)>, ServeError> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let io = |source| ServeError::Io { path: p.clone(), source };
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json") && f.is_file())
                .collect();
            in_dir.sort();
            files.extend(in_dir);
        } else {
            files.push(p.clone());
        }
    }
    let mut out: Vec<(HintSet, String)> = Vec::new();
    for f in files {
        let h = HintSet::load(&f)?;
        let origin = f.display().to_string();
        if let Some((_, first)) = out.iter().find(|(o, _)| o.workflow.name() == h.workflow.name()) {
            return Err(ServeError::DuplicateWorkflow {
                workflow: h.workflow.name().to_string(),
                first: first.clone(),
                second: origin,
            });
        }
        check_name(h.workflow.name())
            .map_err(|why| ServeError::BadWorkflowName { workflow: h.workflow.name().to_string(), why })?;
        out.push((h, origin));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::fixture::classed_hints;

    #[test]
    fn installed_hints_round_trip_and_the_folder_is_locked() {
        let d = tempfile::tempdir().unwrap();
        let dd = DataDir::open(d.path()).unwrap();
        let f = InstalledFile { generation: 3, base: Some("abc".into()), origin: "api".into(), hints: classed_hints() };
        dd.save_installed(&f).unwrap();
        assert_eq!(dd.load_installed("feat").unwrap(), Some(f));
        assert_eq!(dd.installed_workflows().unwrap(), vec!["feat".to_string()]);
        assert!(dd.load_installed("other").unwrap().is_none());
        assert!(matches!(DataDir::open(d.path()), Err(ServeError::Locked { .. })));
        drop(dd);
        DataDir::open(d.path()).expect("the lock goes with the service");
    }

    #[test]
    fn symlinks_inside_the_data_folder_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("hints")).unwrap();
        assert!(matches!(DataDir::open(d.path()), Err(ServeError::Symlink { .. })));
        std::fs::remove_file(d.path().join("hints")).unwrap();
        let dd = DataDir::open(d.path()).unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.json"), d.path().join("hints/feat.json")).unwrap();
        assert!(matches!(dd.load_installed("feat"), Err(ServeError::Symlink { .. })));
        assert!(matches!(dd.load_installed("../x"), Err(ServeError::BadWorkflowName { .. })));
    }
}
