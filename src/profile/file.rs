//! Saving and loading a profile as a JSON file (through [`crate::file_io`]:
//! atomic saves that replace only regular files, bounded reads).

use super::{Profile, ProfileError};
use crate::file_io::{read_document, save_atomic};
use std::path::Path;

impl Profile {
    /// Write as JSON, atomically; a new file honours the umask, an existing
    /// one keeps its mode; anything but a regular file at `path` is refused.
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        Ok(save_atomic(path, self.to_json().as_bytes())?)
    }

    /// Read a profile saved by [`Profile::save`]; errors name the file and
    /// the JSON path of what is wrong.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = read_document(path)?;
        Profile::from_json(&text).map_err(|message| ProfileError::Json { origin: path.display().to_string(), message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_io::FileError;
    use crate::model::Size;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_keeps_mode_and_refuses_special_files() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("p.json");
        let mut prof = Profile::new();
        prof.add("f", Size::new(500, 256), crate::profile::Samples::new(vec![1.0, 2.0])).unwrap();
        prof.save(&p).unwrap();
        assert_eq!(Profile::load(&p).unwrap(), prof);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        prof.save(&p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o644);
        let e = prof.save(t.path()).unwrap_err();
        assert!(matches!(e, ProfileError::File(FileError::NotRegular { kind: "directory", .. })), "{e}");
        let e = Profile::load(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(e, ProfileError::File(FileError::NotRegular { .. })), "{e}");
        std::fs::write(&p, "[{\"function\": 3}]").unwrap();
        let e = Profile::load(&p).unwrap_err();
        assert!(matches!(e, ProfileError::Json { .. }), "{e}");
        assert!(e.to_string().contains("p.json") && e.to_string().contains("function"), "{e}");
    }
}
