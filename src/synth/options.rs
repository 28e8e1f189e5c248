//! The knobs of the synthesizer, their defaults and their validation (every
//! bad knob is named).

use super::SynthError;
use crate::hints::Late;

/// Buckets below this make the grid too coarse to mean anything; above it a
/// DP pass gets slow and the histograms large (and it is finer than any timer).
pub const MIN_BUCKETS: usize = 10;
pub const MAX_BUCKETS: usize = 20_000;
/// More input classes than this would leave too few samples per class.
pub const MAX_CLASSES: usize = 64;

/// Which optimisation builds the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Stochastic DP with a Lagrange multiplier on the miss probability (default).
    #[default]
    Stochastic,
    /// Each stage's latency replaced by its per-stage quantile; deterministic DP.
    Percentile,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Stochastic => "stochastic",
            Mode::Percentile => "percentile",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = SynthError;
    fn from_str(s: &str) -> Result<Self, SynthError> {
        match s {
            "stochastic" => Ok(Mode::Stochastic),
            "percentile" => Ok(Mode::Percentile),
            other => Err(SynthError::BadOption {
                name: "mode",
                why: format!("{other:?} is not 'stochastic' or 'percentile'"),
            }),
        }
    }
}

/// Knobs of the synthesizer, with defaults that suit most workflows.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    pub mode: Mode,
    /// Number of time buckets the deadline is cut into (`dt = deadline / buckets`).
    pub buckets: usize,
    /// Ranked alternatives: keep sizes whose expected cost is within this
    /// relative tolerance of the best one (0.05 = 5 %) and meet the risk bound.
    pub tolerance: f64,
    /// Cap on rules per function and table (merging with the least added cost).
    pub max_rules: Option<usize>,
    /// At most this many input classes over the request features (1: none);
    /// `None`: as many as the profile carries (`classes::auto_max`: 8, up to
    /// 16 on a keyed profile of many requests).
    pub max_classes: Option<usize>,
    /// Every class keeps at least this many samples of every (stage, size)
    /// (requests, for a keyed profile).
    pub min_class_samples: usize,
    /// Kernel smoothing of the latency histograms (a multiple of the
    /// bandwidth `grid::bandwidth` picks per (stage, size, class); 0 plans on
    /// the raw samples). Off by default: on held-out requests of two random
    /// families it did not make plans from thin profiles keep the SLO more
    /// often (docs/results.md), and it costs part of the saving.
    pub smoothing: f64,
    /// What a run that can no longer meet its deadline runs at.
    pub late: Late,
    /// A plan with more classes (or any plan over the static one) must be
    /// cheaper by at least this share to be chosen: a saving smaller than
    /// the model's error is not worth the extra tables.
    pub min_gain: f64,
    /// One-sided confidence that the miss probability meets the target
    /// despite the profile's sampling error: plans are held to the largest
    /// miss rate whose Wilson upper bound at this confidence over the
    /// profile's requests is within `1 - percentile`. 0.5 plans on the
    /// profile as it is.
    pub confidence: f64,
    /// Mix per run with the policy just below the target when the chosen
    /// one over-achieves: cheaper at exactly the target on the profile, for
    /// providers that pass run keys. Off by default: it spends the whole
    /// miss allowance on the profile, leaving no margin for drift.
    pub mix: bool,
    /// Check plans from a keyed profile on requests they were not fitted
    /// on: hold each level of classes to the target less the optimism in
    /// its miss rate that shows, and charge it the optimism in its saving
    /// over static (see `crossfit.rs`). Only with a margin (`confidence`
    /// above 0.5) and at least 40 keyed requests.
    pub crossfit: bool,
    /// Plan again with each block's latencies conditioned on the budget a
    /// run reaches it with (a run slow so far is slow ahead; see
    /// `bands.rs`), and keep that plan where it is cheaper. Keyed profiles
    /// with enough requests per class only.
    pub bands: bool,
    /// An unkeyed profile of stages in sequence: hold every plan so that,
    /// were a run's stages slow together, it would miss no more often than
    /// static sizing (or the target, if more; see `lockstep.rs`). Off takes
    /// the stages as independent, for stages known to be. Stochastic mode
    /// only: percentile mode is the baseline, whose plan is not held.
    pub lockstep: bool,
    /// A profile too thin for the percentile (where late-binding plans are
    /// held to a margin static cannot afford): also hold every plan to the
    /// percentile on runs one stage slower than any profiled, counting the
    /// ones it loses and static keeps (see `beyond.rs`). Only with a margin
    /// (`confidence` above 0.5).
    pub beyond: bool,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            mode: Mode::Stochastic,
            buckets: 400,
            tolerance: 0.05,
            max_rules: None,
            max_classes: None,
            min_class_samples: 15,
            smoothing: 0.0,
            late: Late::Static,
            min_gain: 0.005,
            confidence: 0.9,
            mix: false,
            crossfit: true,
            bands: true,
            lockstep: true,
            beyond: true,
        }
    }
}

pub(crate) fn validate(opts: &SynthOptions) -> Result<(), SynthError> {
    let bad = |name: &'static str, why: String| Err(SynthError::BadOption { name, why });
    if !(MIN_BUCKETS..=MAX_BUCKETS).contains(&opts.buckets) {
        return bad("buckets", format!("{} is outside {MIN_BUCKETS}..={MAX_BUCKETS}", opts.buckets));
    }
    if !(opts.tolerance.is_finite() && opts.tolerance >= 0.0) {
        return bad("tolerance", format!("{:?} must be a finite number >= 0", opts.tolerance));
    }
    if opts.max_rules == Some(0) {
        return bad("max_rules", "must be at least 1 (or unset for no cap)".into());
    }
    if let Some(m) = opts.max_classes.filter(|m| !(1..=MAX_CLASSES).contains(m)) {
        return bad("max_classes", format!("{m} is outside 1..={MAX_CLASSES}"));
    }
    if opts.min_class_samples == 0 {
        return bad("min_class_samples", "must be at least 1".into());
    }
    if !(opts.smoothing.is_finite() && (0.0..=10.0).contains(&opts.smoothing)) {
        return bad("smoothing", format!("{:?} must be in [0, 10]", opts.smoothing));
    }
    if !(opts.min_gain.is_finite() && (0.0..1.0).contains(&opts.min_gain)) {
        return bad("min_gain", format!("{:?} must be in [0, 1)", opts.min_gain));
    }
    if !(opts.confidence.is_finite() && (0.5..0.999).contains(&opts.confidence)) {
        return bad("confidence", format!("{:?} must be in [0.5, 0.999)", opts.confidence));
    }
    Ok(())
}
