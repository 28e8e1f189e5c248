//! `decide`: remaining budget -> size, in well under a microsecond.

use super::{AdapterError, Observations};
use crate::hints::HintSet;
use crate::model::Size;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;

/// The size chosen for one invocation and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub size: Size,
    /// Index of the rule that chose it; `None` when the adapter fell back.
    pub rule: Option<usize>,
    /// Deadline minus elapsed time (may be negative when already late).
    pub remaining_ms: f64,
    /// True when the budget was below every rule: the fastest option was
    /// chosen and the deadline is likely to be missed.
    pub best_effort: bool,
    /// False when no ranked size fit the free capacity (the first one was taken anyway).
    pub fits: bool,
    /// The input class used, `None` for the unconditioned table.
    pub class: Option<usize>,
}

/// A hint set with a name index, swapped as one piece.
pub(super) struct Compiled {
    pub(super) hints: HintSet,
    pub(super) index: HashMap<String, usize>,
}

impl Compiled {
    pub(super) fn new(hints: HintSet) -> Self {
        let index = hints.hints.iter().enumerate().map(|(i, h)| (h.function.clone(), i)).collect();
        Compiled { hints, index }
    }
}

/// Evaluates a hint set. `decide` takes no lock and allocates nothing; a
/// re-synthesised hint set is swapped in atomically with [`Adapter::swap`].
pub struct Adapter {
    pub(super) current: ArcSwap<Compiled>,
    pub(super) observations: Observations,
}

impl Adapter {
    pub fn new(hints: HintSet) -> Self {
        Adapter { current: ArcSwap::from_pointee(Compiled::new(hints)), observations: Observations::default() }
    }

    /// The hint set in force now.
    pub fn hints(&self) -> HintSet {
        self.current.load().hints.clone()
    }

    /// Replace the hint set (same workflow) without blocking `decide`.
    pub fn swap(&self, hints: HintSet) -> Result<(), AdapterError> {
        let old = self.current.load().hints.workflow.name().to_string();
        if hints.workflow.name() != old {
            return Err(AdapterError::OtherWorkflow { old, new: hints.workflow.name().to_string() });
        }
        self.current.store(Arc::new(Compiled::new(hints)));
        self.observations.next_epoch();
        Ok(())
    }

    pub fn observations(&self) -> &Observations {
        &self.observations
    }

    /// Pick a size for `function` after `elapsed_ms` of the run, given the
    /// input feature (if the workflow declares one) and the node's free capacity.
    /// Without a run key, a mixed hint set uses its primary tables only.
    pub fn decide(
        &self,
        function: &str,
        elapsed_ms: f64,
        feature: Option<f64>,
        free: Option<Size>,
    ) -> Result<Decision, AdapterError> {
        self.decide_run(function, elapsed_ms, feature, free, None)
    }

    /// [`Adapter::decide`] for the run identified by `run_key` (an activation
    /// or request id: any number that is the same for every function of one
    /// run). Where the hint set mixes two policies per run, the key decides
    /// which one this run follows, the same for all its stages.
    pub fn decide_run(
        &self,
        function: &str,
        elapsed_ms: f64,
        feature: Option<f64>,
        free: Option<Size>,
        run_key: Option<u64>,
    ) -> Result<Decision, AdapterError> {
        if !(elapsed_ms.is_finite() && elapsed_ms >= 0.0) {
            return Err(AdapterError::BadElapsed(elapsed_ms));
        }
        let cur = self.current.load();
        let Some(&i) = cur.index.get(function) else {
            let mut known: Vec<&str> = cur.index.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Err(AdapterError::UnknownFunction { function: function.to_string(), known: known.join(", ") });
        };
        let class = match (feature, &cur.hints.classes) {
            (Some(x), _) if !x.is_finite() => return Err(AdapterError::BadFeature(x)),
            (Some(x), Some(c)) => Some(c.class_of(x)),
            _ => None,
        };
        let hint = &cur.hints.hints[i];
        // The last table is the unconditioned one.
        let t = class.unwrap_or(hint.tables.len() - 1);
        let table = match (run_key, cur.hints.summary[t].mix) {
            (Some(key), Some(share)) if unit_interval(key) < share => &hint.alt_tables[t],
            _ => &hint.tables[t],
        };
        let remaining_ms = cur.hints.workflow.slo().deadline_ms - elapsed_ms;
        // Rules ascend by min_remaining_ms: the last rule at or below the budget applies.
        let k = table.rules.partition_point(|r| r.min_remaining_ms <= remaining_ms);
        if k == 0 {
            let fits = free.is_none_or(|f| hint.fastest.fits_in(&f));
            return Ok(Decision { size: hint.fastest, rule: None, remaining_ms, best_effort: true, fits, class });
        }
        let rule = &table.rules[k - 1];
        let (size, fits) = match free {
            None => (rule.sizes[0], true),
            Some(f) => match rule.sizes.iter().find(|s| s.fits_in(&f)) {
                Some(s) => (*s, true),
                None => (rule.sizes[0], false),
            },
        };
        Ok(Decision { size, rule: Some(k - 1), remaining_ms, best_effort: false, fits, class })
    }

    /// Record the latency observed for one invocation (online profiling).
    pub fn observe(&self, function: &str, size: Size, latency_ms: f64) -> Result<(), AdapterError> {
        self.observe_run(function, size, latency_ms, None).map(|_| ())
    }
}

/// A run key mapped to [0, 1), well spread even for consecutive keys
/// (splitmix64's finaliser), so that a share of runs is a share of keys.
fn unit_interval(key: u64) -> f64 {
    let mut z = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hints::{Hint, Provenance, Rule, RuleTable, TableSummary, SCHEMA_VERSION};
    use crate::model::{CostModel, Slo, Stage, Workflow};

    pub(crate) fn small_hints() -> HintSet {
        let (s1, s2, s4) = (Size::new(1000, 512), Size::new(2000, 512), Size::new(4000, 512));
        let wf = Workflow::chain(
            "w",
            Slo { deadline_ms: 1000.0, percentile: 0.9 },
            CostModel::default(),
            vec![Stage { name: "f".into(), options: vec![s1, s2, s4], fanout: 1, feature: None }],
        )
        .unwrap();
        let rules = vec![
            Rule { min_remaining_ms: 100.0, sizes: vec![s4] },
            Rule { min_remaining_ms: 300.0, sizes: vec![s2, s1] },
            Rule { min_remaining_ms: 600.0, sizes: vec![s1] },
        ];
        HintSet {
            schema_version: SCHEMA_VERSION,
            workflow: wf,
            classes: None,
            hints: vec![Hint {
                function: "f".into(),
                options: vec![s1, s2, s4],
                fastest: s4,
                tables: vec![RuleTable { rules }],
                alt_tables: vec![],
            }],
            summary: vec![TableSummary {
                class: None,
                expected_cost: 1.0,
                miss_probability: 0.05,
                feasible: true,
                source: "dp".into(),
                lambda: None,
                mix: None,
                primary: None,
            }],
            provenance: Provenance {
                profile_digest: "x".into(),
                created_unix_s: 0,
                janus_version: "t".into(),
                synthesis: "hand".into(),
            },
            warnings: vec![],
        }
    }

    #[test]
    fn picks_rule_by_remaining_budget() {
        let a = Adapter::new(small_hints());
        let d = a.decide("f", 200.0, None, None).unwrap(); // 800 left
        assert_eq!((d.size, d.rule, d.best_effort), (Size::new(1000, 512), Some(2), false));
        let d = a.decide("f", 600.0, None, None).unwrap(); // 400 left
        assert_eq!(d.size, Size::new(2000, 512));
        let d = a.decide("f", 950.0, None, None).unwrap(); // 50 left: below every rule
        assert_eq!((d.size, d.rule, d.best_effort), (Size::new(4000, 512), None, true));
        assert!((d.remaining_ms - 50.0).abs() < 1e-12);
    }

    #[test]
    fn ranked_option_that_fits_is_taken() {
        let a = Adapter::new(small_hints());
        let d = a.decide("f", 600.0, None, Some(Size::new(1500, 4096))).unwrap();
        assert_eq!((d.size, d.fits), (Size::new(1000, 512), true));
        let d = a.decide("f", 600.0, None, Some(Size::new(500, 4096))).unwrap();
        assert_eq!((d.size, d.fits), (Size::new(2000, 512), false));
    }

    #[test]
    fn a_run_key_picks_one_policy_of_a_mixture_for_the_whole_run() {
        let mut h = small_hints();
        let s1 = Size::new(1000, 512);
        h.hints[0].alt_tables = vec![RuleTable { rules: vec![Rule { min_remaining_ms: 0.0, sizes: vec![s1] }] }];
        h.summary[0].mix = Some(0.3);
        h.validate("t").unwrap();
        let a = Adapter::new(h);
        // Without a key: the primary tables (400 ms left -> 2000m).
        assert_eq!(a.decide("f", 600.0, None, None).unwrap().size, Size::new(2000, 512));
        let alt = (0..10_000u64).filter(|&k| a.decide_run("f", 600.0, None, None, Some(k)).unwrap().size == s1).count();
        assert!((2_800..3_200).contains(&alt), "{alt} of 10000 runs on the alternative");
        for k in 0..100u64 {
            let first = a.decide_run("f", 600.0, None, None, Some(k)).unwrap().size;
            assert_eq!(first, a.decide_run("f", 600.0, None, None, Some(k)).unwrap().size);
        }
    }

    #[test]
    fn bad_calls_are_errors() {
        let a = Adapter::new(small_hints());
        assert!(matches!(a.decide("nope", 0.0, None, None), Err(AdapterError::UnknownFunction { .. })));
        assert!(matches!(a.decide("f", -1.0, None, None), Err(AdapterError::BadElapsed(_))));
        assert!(matches!(a.decide("f", f64::NAN, None, None), Err(AdapterError::BadElapsed(_))));
        assert!(a.observe("f", Size::new(3, 3), 1.0).is_err());
        assert!(a.observe("f", Size::new(1000, 512), -1.0).is_err());
    }

    #[test]
    fn hint_json_round_trips_and_rejects_nonsense() {
        let h = small_hints();
        let back = HintSet::from_json(&h.to_json(), "t").unwrap();
        assert_eq!(h, back);
        let text = h.to_json();
        assert!(matches!(
            HintSet::from_json(&text[..text.len() / 2], "t"),
            Err(crate::hints::HintError::Truncated { .. })
        ));
        let v2 = text.replace("\"schema_version\": 1", "\"schema_version\": 99");
        assert!(matches!(HintSet::from_json(&v2, "t"), Err(crate::hints::HintError::Version { found: 99, .. })));
        let swapped = text.replace("\"min_remaining_ms\": 300.0", "\"min_remaining_ms\": 30.0");
        let err = HintSet::from_json(&swapped, "t").unwrap_err().to_string();
        assert!(err.contains("hints[0].tables[0].rules[1].min_remaining_ms"), "{err}");
    }
}
