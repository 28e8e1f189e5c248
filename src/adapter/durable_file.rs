//! File operations for a data folder that must survive crashes and must not
//! be redirected: no symlink is ever followed (`O_NOFOLLOW`), replacements
//! are atomic (temporary file, fsync, rename, fsync of the folder).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Open `path` without following a symlink in its last component; a symlink
/// there is refused with `ELOOP` (reported by the callers as such).
pub fn open_nofollow(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    opts.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)
}

/// True when an open error says the path is a symlink we refused to follow.
pub fn is_symlink_refusal(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// Read a whole file without following a symlink (used by `janus serve`'s store).
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
pub fn read_nofollow(path: &Path) -> io::Result<Vec<u8>> {
    let mut f = open_nofollow(path, OpenOptions::new().read(true))?;
    let mut out = Vec::new();
    io::Read::read_to_end(&mut f, &mut out)?;
    Ok(out)
}

/// Make a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replace `dir/name` with `bytes` atomically and durably. The rename
/// replaces a symlink at `dir/name` rather than writing through it.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_are_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("secret");
        std::fs::write(&target, b"outside").unwrap();
        std::os::unix::fs::symlink(&target, d.path().join("link")).unwrap();
        let e = read_nofollow(&d.path().join("link")).unwrap_err();
        assert!(is_symlink_refusal(&e), "{e}");
        let e = open_nofollow(&d.path().join("link"), OpenOptions::new().append(true)).unwrap_err();
        assert!(is_symlink_refusal(&e), "{e}");
        // An atomic write replaces the link itself; the target is untouched.
        write_atomic(d.path(), "link", b"inside").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"outside");
        assert_eq!(read_nofollow(&d.path().join("link")).unwrap(), b"inside");
    }
}
