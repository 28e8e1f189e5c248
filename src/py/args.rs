//! Integer arguments from Python, checked here so that a negative seed or a
//! count too large for its Rust type is a `JanusError` naming the argument,
//! not pyo3's bare `OverflowError` ("can't convert negative int to
//! unsigned") or `TypeError`.

use pyo3::prelude::*;
use pyo3::types::PyBool;

/// The Rust integer types arguments arrive in, with their largest value as
/// a message writes it.
pub(crate) trait IntArg: TryFrom<i128> + Copy {
    const MAX_TEXT: &'static str;
}
impl IntArg for u32 {
    const MAX_TEXT: &'static str = "4294967295";
}
impl IntArg for u64 {
    const MAX_TEXT: &'static str = "2**64 - 1";
}
impl IntArg for usize {
    const MAX_TEXT: &'static str = if usize::BITS == 64 { "2**64 - 1" } else { "2**32 - 1" };
}

/// An integer argument from `min` to `T`'s largest: a Python int or anything
/// with `__index__` (numpy's integers), not a bool; else `error` with a
/// message that starts with `what` (the function and argument) and says
/// which bound it broke.
pub(crate) fn int_arg<T: IntArg>(
    v: &Bound<'_, PyAny>,
    what: &str,
    min: i128,
    error: fn(String) -> PyErr,
) -> PyResult<T> {
    let repr = || v.repr().map_or("?".into(), |r| r.to_string());
    let index = if v.is_instance_of::<PyBool>() { None } else { v.call_method0("__index__").ok() };
    let Some(n) = index else {
        return Err(error(format!("{what} must be an integer, got {}", repr())));
    };
    let too_small = || error(format!("{what} must be at least {min}, got {}", repr()));
    let too_large = || error(format!("{what} must be at most {}, got {}", T::MAX_TEXT, repr()));
    // Past i128 the value is out of range for every type here.
    let Ok(i) = n.extract::<i128>() else {
        return Err(if n.lt(0).unwrap_or(false) { too_small() } else { too_large() });
    };
    if i < min {
        return Err(too_small());
    }
    T::try_from(i).map_err(|_| too_large())
}

/// [`int_arg`] for an optional argument (None: `None`).
pub(crate) fn opt_int_arg<T: IntArg>(
    v: Option<&Bound<'_, PyAny>>,
    what: &str,
    min: i128,
    error: fn(String) -> PyErr,
) -> PyResult<Option<T>> {
    v.filter(|v| !v.is_none()).map(|v| int_arg(v, what, min, error)).transpose()
}
