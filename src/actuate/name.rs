//! Validation of pool and worker names before they become path components.
//!
//! Same rules as the workflow's stage names (`model::workflow::check_name`,
//! which is private to the model): ASCII letters, digits, `_`, `-`, `.`, at
//! most 128 bytes, no `..`. So a name can never contain `/`, never be `.` or
//! `..`, and never leave the Janus root.

use super::ActuateError;

pub(crate) const MAX_NAME_LEN: usize = 128;

fn why_bad(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return Some("it is longer than 128 bytes");
    }
    if name.contains('/') {
        return Some("it contains '/'");
    }
    if name == "." || name.contains("..") {
        return Some("it is '.' or contains '..'");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Some("only ASCII letters, digits, '_', '-' and '.' are allowed");
    }
    None
}

/// `Ok(())` when `name` is safe as one path component under the Janus root.
pub fn check_name(name: &str) -> Result<(), ActuateError> {
    match why_bad(name) {
        None => Ok(()),
        Some(why) => Err(ActuateError::BadName { name: name.to_string(), why }),
    }
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
