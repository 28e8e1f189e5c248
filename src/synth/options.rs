//! Validation of [`SynthOptions`]: every bad knob is named.

use super::{SynthError, SynthOptions};

/// Buckets below this make the grid too coarse to mean anything; above it a
/// DP pass gets slow and the histograms large (and it is finer than any timer).
pub const MIN_BUCKETS: usize = 10;
pub const MAX_BUCKETS: usize = 20_000;
/// More input classes than this would leave too few samples per class.
pub const MAX_FEATURE_CLASSES: usize = 64;

pub(crate) fn validate(opts: &SynthOptions) -> Result<(), SynthError> {
    let bad = |name: &'static str, why: String| Err(SynthError::BadOption { name, why });
    if !(MIN_BUCKETS..=MAX_BUCKETS).contains(&opts.buckets) {
        return bad("buckets", format!("{} is outside {MIN_BUCKETS}..={MAX_BUCKETS}", opts.buckets));
    }
    if !(opts.tolerance.is_finite() && opts.tolerance >= 0.0) {
        return bad("tolerance", format!("{} must be a finite number >= 0", opts.tolerance));
    }
    if opts.max_rules == Some(0) {
        return bad("max_rules", "must be at least 1 (or unset for no cap)".into());
    }
    if opts.feature_classes > MAX_FEATURE_CLASSES {
        return bad("feature_classes", format!("{} is more than {MAX_FEATURE_CLASSES}", opts.feature_classes));
    }
    if let Some(b) = &opts.boundaries {
        if b.is_empty() {
            return bad("boundaries", "must list at least one boundary (or be unset)".into());
        }
        if b.len() >= MAX_FEATURE_CLASSES {
            return bad("boundaries", format!("{} boundaries make more than {MAX_FEATURE_CLASSES} classes", b.len()));
        }
        if let Some(i) = b.iter().position(|x| !x.is_finite()) {
            return bad("boundaries", format!("boundaries[{i}] = {} is not finite", b[i]));
        }
        if let Some(i) = b.windows(2).position(|w| w[0] >= w[1]) {
            return bad(
                "boundaries",
                format!(
                    "must ascend strictly, but boundaries[{}] = {} >= boundaries[{}] = {}",
                    i,
                    b[i],
                    i + 1,
                    b[i + 1]
                ),
            );
        }
    }
    Ok(())
}
