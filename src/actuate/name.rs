//! Validation of pool and worker names before they become path components.
//!
//! The same rules as the workflow's stage names (`model::check_name`): ASCII
//! letters, digits, `_`, `-`, `.`, at most 128 bytes, no `..`. So a name can
//! never contain `/`, never be `.` or `..`, and never leave the Janus root.

use super::ActuateError;

/// `Ok(())` when `name` is safe as one path component under the Janus root.
pub fn check_name(name: &str) -> Result<(), ActuateError> {
    crate::model::check_name(name).map_err(|why| ActuateError::BadName { name: name.to_string(), why })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        for n in ["default", "w-1", "pool_a.b", "A9"] {
            check_name(n).unwrap();
        }
    }

    #[test]
    fn rejects_escapes() {
        for n in ["", ".", "..", "a/b", "/abs", "../x", "a..b", "sp ace", "ünï", &"x".repeat(129)] {
            assert!(matches!(check_name(n), Err(ActuateError::BadName { .. })), "{n:?} accepted");
        }
    }
}
