//! Saving and loading Janus's own documents (hint sets, profiles): the one
//! place that decides what may be replaced and what may be read.
//!
//! Saving is atomic: the bytes go to a temporary file in the destination's
//! folder, which is flushed to disk, renamed over the destination, and the
//! folder is flushed too, so a crash leaves either the old or the new file,
//! never a half-written one. Only a regular file is ever replaced: a device
//! node, FIFO, socket or directory at the destination is refused (as root,
//! saving to `/dev/null` must not replace `/dev/null`). A symbolic link is
//! followed, and the regular file it points to is replaced (the link stays).
//! A new file gets `0o666` minus the process's umask, like any file a program
//! creates; an existing file keeps its mode (and, where permitted, its owner).
//!
//! Loading reads at most [`MAX_FILE_BYTES`] and only from a regular file, so
//! `/dev/zero` or a FIFO is refused instead of being read forever.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Largest hint set or profile Janus reads (64 MiB). The biggest real ones
/// are a few MiB; the cap keeps a wrong path from exhausting memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// What can go wrong saving or loading a document.
#[derive(Debug, Error)]
pub enum FileError {
    /// Something other than a regular file is at the path.
    #[error("{path}: is a {kind}, not a regular file; refusing to {action} it")]
    NotRegular { path: PathBuf, kind: &'static str, action: &'static str },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{path}: {size} bytes is more than the {limit} bytes Janus reads from one file")]
    TooLarge { path: PathBuf, size: u64, limit: u64 },
    /// The file is not UTF-8 text.
    #[error("{path}: not UTF-8 text ({source})")]
    NotText { path: PathBuf, source: std::string::FromUtf8Error },
    /// Any other I/O error, with the path it happened on.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_at(path: &Path) -> impl Fn(io::Error) -> FileError + '_ {
    move |source| FileError::Io { path: path.to_path_buf(), source }
}

/// A file type's name for messages ("character device", "FIFO", ...).
fn kind_of(ft: fs::FileType) -> &'static str {
    if ft.is_dir() {
        "directory"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

/// The file a save to `path` replaces: `path` itself, or the regular file a
/// symbolic link at `path` points to. `None` when nothing is there yet.
fn save_target(path: &Path) -> Result<(PathBuf, Option<fs::Metadata>), FileError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((path.to_path_buf(), None)),
        Err(e) => Err(io_at(path)(e)),
        Ok(m) if m.file_type().is_symlink() => {
            let target = fs::canonicalize(path).map_err(io_at(path))?;
            let m = fs::metadata(&target).map_err(io_at(&target))?;
            Ok((target, Some(m)))
        }
        Ok(m) => Ok((path.to_path_buf(), Some(m))),
    }
}

/// Write `bytes` to `path` atomically (see the module notes).
pub fn save_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let (target, existing) = save_target(path)?;
    if let Some(m) = &existing {
        if !m.file_type().is_file() {
            return Err(FileError::NotRegular { path: target, kind: kind_of(m.file_type()), action: "replace" });
        }
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // 0o666 at creation: the kernel applies the umask, as for any new file.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(io_at(&target))?;
    if let Some(m) = &existing {
        let f = tmp.as_file();
        f.set_permissions(Permissions::from_mode(m.mode() & 0o7777)).map_err(io_at(tmp.path()))?;
        // Keep the owner when allowed (root replacing another user's file);
        // anyone else may only give a file to themselves, so EPERM is fine.
        let _ = std::os::unix::fs::fchown(f, Some(m.uid()), Some(m.gid()));
    }
    tmp.write_all(bytes).map_err(io_at(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io_at(tmp.path()))?;
    tmp.persist(&target).map_err(|e| io_at(&target)(e.error))?;
    // The rename is durable only once the folder's entry is on disk.
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_at(dir))?;
    Ok(())
}

/// Read a UTF-8 document of at most [`MAX_FILE_BYTES`] from a regular file.
pub fn read_document(path: &Path) -> Result<String, FileError> {
    read_limited(path, MAX_FILE_BYTES)
}

/// Read at most `limit` bytes of text from the regular file at `path`.
pub fn read_limited(path: &Path, limit: u64) -> Result<String, FileError> {
    // O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it.
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(io_at(path))?;
    let m = f.metadata().map_err(io_at(path))?;
    if !m.file_type().is_file() {
        return Err(FileError::NotRegular { path: path.to_path_buf(), kind: kind_of(m.file_type()), action: "read" });
    }
    if m.len() > limit {
        return Err(FileError::TooLarge { path: path.to_path_buf(), size: m.len(), limit });
    }
    // The file may grow while it is read: never take more than the limit.
    let mut buf = Vec::with_capacity(m.len() as usize);
    f.take(limit + 1).read_to_end(&mut buf).map_err(io_at(path))?;
    if buf.len() as u64 > limit {
        return Err(FileError::TooLarge { path: path.to_path_buf(), size: buf.len() as u64, limit });
    }
    String::from_utf8(buf).map_err(|source| FileError::NotText { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn saves_and_replaces_atomically_leaving_no_temp_files() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("h.json");
        save_atomic(&p, b"one").unwrap();
        save_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "two");
        let names: Vec<_> = fs::read_dir(t.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("h.json")]);
        assert_eq!(read_document(&p).unwrap(), "two");
    }

    #[test]
    fn keeps_an_existing_mode_and_honours_the_umask_for_new_files() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("h.json");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, Permissions::from_mode(0o644)).unwrap();
        save_atomic(&p, b"new").unwrap();
        assert_eq!(mode(&p), 0o644);
        fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap();
        save_atomic(&p, b"newer").unwrap();
        assert_eq!(mode(&p), 0o640);
        // A new file: 0o666 minus the umask (read from /proc: setting it to
        // read it would race with the other tests creating files).
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let umask = status.lines().find_map(|l| l.strip_prefix("Umask:")).expect("Umask in /proc/self/status");
        let umask = u32::from_str_radix(umask.trim(), 8).unwrap();
        let q = t.path().join("new.json");
        save_atomic(&q, b"x").unwrap();
        assert_eq!(mode(&q), 0o666 & !umask);
        assert_ne!(mode(&q), 0o600, "not the private mode of a temp file");
    }

    #[test]
    fn refuses_to_replace_anything_but_a_regular_file() {
        let t = tempfile::tempdir().unwrap();
        let fifo = t.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let sock = t.path().join("sock");
        let _l = UnixListener::bind(&sock).unwrap();
        let dir = t.path().join("dir");
        fs::create_dir(&dir).unwrap();
        let mut cases = vec![(fifo.clone(), "FIFO"), (sock.clone(), "socket"), (dir.clone(), "directory")];
        // A device node of our own (a copy of /dev/null, made where root may):
        // a regression then clobbers this copy, never the real /dev/null.
        let dev = t.path().join("null");
        let c = std::ffi::CString::new(dev.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mknod fails cleanly without privileges.
        if unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) } == 0 {
            cases.push((dev.clone(), "character device"));
        }
        for (p, kind) in &cases {
            let e = save_atomic(p, b"x").unwrap_err();
            assert!(matches!(&e, FileError::NotRegular { kind: k, .. } if k == kind), "{}: {e}", p.display());
            assert!(e.to_string().contains(&p.display().to_string()), "{e}");
        }
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        if dev.exists() {
            assert!(fs::metadata(&dev).unwrap().file_type().is_char_device());
        }
        // A link to a FIFO is refused too; a link to a regular file replaces that file.
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        assert!(matches!(save_atomic(&link, b"x"), Err(FileError::NotRegular { .. })));
        let real = t.path().join("real.json");
        fs::write(&real, "old").unwrap();
        let link2 = t.path().join("link2");
        std::os::unix::fs::symlink(&real, &link2).unwrap();
        save_atomic(&link2, b"new").unwrap();
        assert!(fs::symlink_metadata(&link2).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        // A missing folder names the path.
        let e = save_atomic(&t.path().join("no/such/dir/h.json"), b"x").unwrap_err();
        assert!(matches!(e, FileError::Io { .. }) && e.to_string().contains("no/such/dir"), "{e}");
    }

    #[test]
    fn reads_only_regular_files_of_bounded_size() {
        let e = read_document(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(e, FileError::NotRegular { kind: "character device", .. }), "{e}");
        let t = tempfile::tempdir().unwrap();
        let fifo = t.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        assert!(matches!(read_document(&fifo), Err(FileError::NotRegular { kind: "FIFO", .. })));
        assert!(matches!(read_document(t.path()), Err(FileError::NotRegular { kind: "directory", .. })));
        let big = t.path().join("big");
        fs::write(&big, vec![b' '; 101]).unwrap();
        let e = read_limited(&big, 100).unwrap_err();
        assert!(matches!(e, FileError::TooLarge { size: 101, limit: 100, .. }), "{e}");
        assert_eq!(read_limited(&big, 101).unwrap().len(), 101);
        let bin = t.path().join("bin");
        fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(read_document(&bin), Err(FileError::NotText { .. })));
        assert!(matches!(read_document(&t.path().join("missing")), Err(FileError::Io { .. })));
    }
}
