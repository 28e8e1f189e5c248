//! `decide`: remaining budget -> size, in well under a microsecond.

use super::{AdapterError, Observations};
use crate::hints::{Hint, HintSet, RuleTable};
use crate::model::Size;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;

/// The size chosen for one invocation and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub size: Size,
    /// Index of the rule that chose the size (in the table used); `None` when
    /// the run is late (budget below every rule) and got the late fallback.
    pub rule: Option<usize>,
    /// Time left until the deadline when the decision was made (may be negative).
    pub remaining_ms: f64,
    /// True when the run can no longer meet its deadline on the profile: the
    /// hint set's late policy chose the size (see [`crate::hints::Late`]).
    pub late: bool,
    /// False when no ranked size fit the free capacity (the first one was taken anyway).
    pub fits: bool,
    /// The input class used, `None` for the unconditioned table.
    pub class: Option<usize>,
}

/// A hint set with a name index and its rules' edges, swapped as one piece.
pub(super) struct Compiled {
    pub(super) hints: HintSet,
    pub(super) index: HashMap<String, usize>,
    pub(super) digest: String,
    /// `edges[hint]`: the `min_remaining_ms` of every rule of each table,
    /// then of each alternative table, in one contiguous array per table
    /// (a rule lookup reads 8 bytes per rule instead of a whole `Rule`).
    edges: Vec<Vec<Vec<f64>>>,
}

/// A rule table with its edges.
#[derive(Clone, Copy)]
pub(super) struct Table<'h> {
    pub(super) rules: &'h RuleTable,
    edges: &'h [f64],
}

/// Tables with at most this many rules are searched by counting (no
/// dependent loads, vectorised); longer ones by bisection.
const LINEAR_MAX: usize = 32;

impl Table<'_> {
    /// How many rules apply at `remaining_ms` or below (edges ascend strictly).
    #[inline(always)]
    fn count_at_or_below(&self, remaining_ms: f64) -> usize {
        if self.edges.len() <= LINEAR_MAX {
            self.edges.iter().map(|&e| usize::from(e <= remaining_ms)).sum()
        } else {
            self.edges.partition_point(|&e| e <= remaining_ms)
        }
    }
}

impl Compiled {
    pub(super) fn new(hints: HintSet) -> Self {
        let index = hints.hints.iter().enumerate().map(|(i, h)| (h.function.clone(), i)).collect();
        let digest = hints.workflow.digest();
        let edges = hints
            .hints
            .iter()
            .map(|h| {
                h.tables
                    .iter()
                    .chain(&h.alt_tables)
                    .map(|t| t.rules.iter().map(|r| r.min_remaining_ms).collect())
                    .collect()
            })
            .collect();
        Compiled { hints, index, digest, edges }
    }

    pub(super) fn function(&self, function: &str) -> Result<usize, AdapterError> {
        self.index.get(function).copied().ok_or_else(|| {
            let mut known: Vec<&str> = self.index.keys().map(String::as_str).collect();
            known.sort_unstable();
            AdapterError::UnknownFunction { function: function.to_string(), known: known.join(", ") }
        })
    }

    /// The decision for stage `i` of this hint set.
    pub(super) fn decide(&self, i: usize, q: &Query<'_>) -> Result<Decision, AdapterError> {
        check_elapsed(q.elapsed_ms)?;
        let class = self.class_of(q.features)?;
        let hint = &self.hints.hints[i];
        Ok(self.pick(hint, self.table(i, class, q.run_key), q.elapsed_ms, q.free, class))
    }

    /// The input class of a request's features (`None`: unknown, or no classes).
    #[inline]
    pub(super) fn class_of(&self, features: Option<&[f64]>) -> Result<Option<usize>, AdapterError> {
        match (features, &self.hints.classes) {
            (Some(x), Some(c)) => {
                if x.len() != c.features.len() {
                    return Err(AdapterError::FeatureCount { expected: c.features.join(", "), found: x.len() });
                }
                if let Some(&v) = x.iter().find(|v| !v.is_finite()) {
                    return Err(AdapterError::BadFeature(v));
                }
                Ok(Some(c.class_of(x)))
            }
            _ => Ok(None),
        }
    }

    /// Whether the table of `class` is mixed: then a run key picks between two tables.
    #[inline]
    pub(super) fn mixed(&self, hint: &Hint, class: Option<usize>) -> bool {
        self.summary_of(hint, class).mix.is_some()
    }

    fn summary_of(&self, hint: &Hint, class: Option<usize>) -> &crate::hints::TableSummary {
        // The last table is the unconditioned one.
        &self.hints.summary[class.unwrap_or(hint.tables.len() - 1)]
    }

    /// The rule table of hint `i` that a run of `class` with `run_key` follows.
    #[inline]
    pub(super) fn table(&self, i: usize, class: Option<usize>, run_key: Option<u64>) -> Table<'_> {
        let hint = &self.hints.hints[i];
        let t = class.unwrap_or(hint.tables.len() - 1);
        match (run_key, self.summary_of(hint, class).mix) {
            (Some(key), Some(share)) if unit_interval(key) < share => {
                Table { rules: &hint.alt_tables[t], edges: &self.edges[i][hint.tables.len() + t] }
            }
            _ => Table { rules: &hint.tables[t], edges: &self.edges[i][t] },
        }
    }

    /// The decision of `table` after `elapsed_ms` (checked by the caller).
    #[inline(always)]
    pub(super) fn pick(
        &self,
        hint: &Hint,
        table: Table<'_>,
        elapsed_ms: f64,
        free: Option<Size>,
        class: Option<usize>,
    ) -> Decision {
        let remaining_ms = self.hints.workflow.slo().deadline_ms - elapsed_ms;
        // Rules ascend by min_remaining_ms: the last rule at or below the budget applies.
        let k = table.count_at_or_below(remaining_ms);
        if k == 0 {
            let fits = free.is_none_or(|f| hint.fallback.fits_in(&f));
            return Decision { size: hint.fallback, rule: None, remaining_ms, late: true, fits, class };
        }
        let rule = &table.rules.rules[k - 1];
        let (size, fits) = match free {
            None => (rule.sizes[0], true),
            Some(f) => match rule.sizes.iter().find(|s| s.fits_in(&f)) {
                Some(s) => (*s, true),
                None => (rule.sizes[0], false),
            },
        };
        Decision { size, rule: Some(k - 1), remaining_ms, late: false, fits, class }
    }
}

/// Time since the run started: finite and not negative.
#[inline]
pub(super) fn check_elapsed(elapsed_ms: f64) -> Result<(), AdapterError> {
    if elapsed_ms.is_finite() && elapsed_ms >= 0.0 {
        Ok(())
    } else {
        Err(AdapterError::BadElapsed(elapsed_ms))
    }
}

/// What the adapter knows of one invocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<'a> {
    /// Time since the workflow run started.
    pub elapsed_ms: f64,
    /// The request's features in the workflow's declared order; `None` when
    /// unknown (the unconditioned table is used).
    pub features: Option<&'a [f64]>,
    /// Free capacity on the node: the first ranked size that fits is taken.
    pub free: Option<Size>,
    /// Identifies the run (the same for all its functions): see [`super::run_key_of`].
    pub run_key: Option<u64>,
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

    /// Replace the hint set without blocking `decide`. The new hints must be
    /// for the same workflow: same digest (stages, options, edges, features, SLO, prices).
    pub fn swap(&self, hints: HintSet) -> Result<(), AdapterError> {
        let cur = self.current.load();
        let next = Compiled::new(hints);
        if next.digest != cur.digest {
            return Err(AdapterError::OtherWorkflow {
                old: cur.hints.workflow.name().to_string(),
                new: next.hints.workflow.name().to_string(),
            });
        }
        self.current.store(Arc::new(next));
        self.observations.next_epoch();
        Ok(())
    }

    /// The request features the hint set's workflow declares, in order.
    pub fn feature_names(&self) -> Vec<String> {
        self.current.load().hints.workflow.features().to_vec()
    }

    pub fn observations(&self) -> &Observations {
        &self.observations
    }

    /// Index of `function` for [`Adapter::decide_at`] (valid across swaps:
    /// a swapped hint set has the same workflow).
    pub fn function_index(&self, function: &str) -> Result<usize, AdapterError> {
        self.current.load().function(function)
    }

    /// Pick a size for `function`. Without a run key, a mixed hint set uses its primary tables only.
    pub fn decide(&self, function: &str, q: &Query<'_>) -> Result<Decision, AdapterError> {
        let cur = self.current.load();
        cur.decide(cur.function(function)?, q)
    }

    /// [`Adapter::decide`] for a function index from [`Adapter::function_index`].
    pub fn decide_at(&self, index: usize, q: &Query<'_>) -> Result<Decision, AdapterError> {
        let cur = self.current.load();
        if index >= cur.hints.hints.len() {
            return Err(AdapterError::UnknownFunction {
                function: format!("#{index}"),
                known: cur.index.len().to_string(),
            });
        }
        cur.decide(index, q)
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
pub(crate) mod tests {
    use super::*;
    use crate::hints::{
        CandidateSummary, Classifier, Hint, Late, Node, PlanSummary, Provenance, Rule, RuleTable, TableSummary,
        SCHEMA_VERSION,
    };
    use crate::model::{CostModel, Slo, Stage, Workflow};

    fn summary(class: Option<usize>) -> TableSummary {
        TableSummary {
            class,
            weight: 1.0,
            expected_cost: 1.0,
            miss_probability: 0.05,
            feasible: true,
            source: "dp".into(),
            lambda: None,
            mix: None,
            primary: None,
        }
    }

    /// One function `f` with sizes 1000m, 2000m, 4000m; rules 100 -> 4000m,
    /// 300 -> [2000m, 1000m], 600 -> 1000m; late runs get 2000m.
    pub(crate) fn small_hints() -> HintSet {
        let (s1, s2, s4) = (Size::new(1000, 512), Size::new(2000, 512), Size::new(4000, 512));
        let wf = Workflow::chain(
            "w",
            Slo { deadline_ms: 1000.0, percentile: 0.9 },
            CostModel::default(),
            vec![Stage { name: "f".into(), options: vec![s1, s2, s4], fanout: 1 }],
        )
        .unwrap();
        let rules = vec![
            Rule { min_remaining_ms: 100.0, sizes: vec![s4] },
            Rule { min_remaining_ms: 300.0, sizes: vec![s2, s1] },
            Rule { min_remaining_ms: 600.0, sizes: vec![s1] },
        ];
        let plan = PlanSummary {
            expected_cost: 1.0,
            miss_probability: 0.05,
            feasible: true,
            chosen: "unconditioned".into(),
            candidates: vec![CandidateSummary {
                name: "unconditioned".into(),
                expected_cost: 1.0,
                miss_probability: 0.05,
                feasible: true,
            }],
            miss_target: 0.1,
            reason: "hand-written".into(),
        };
        HintSet {
            schema_version: SCHEMA_VERSION,
            provenance: Provenance {
                profile_digest: "x".into(),
                workflow_digest: wf.digest(),
                created_unix_s: 0,
                janus_version: "t".into(),
                synthesis: "hand".into(),
            },
            workflow: wf,
            late: Late::Static,
            classes: None,
            hints: vec![Hint {
                function: "f".into(),
                options: vec![s1, s2, s4],
                fastest: s4,
                fallback: s2,
                tables: vec![RuleTable { rules }],
                alt_tables: vec![],
            }],
            summary: vec![summary(None)],
            plan,
            warnings: vec![],
        }
    }

    /// `small_hints` with a request feature `kb` and two classes split at 10:
    /// small requests always get 1000m.
    pub(crate) fn classed_hints() -> HintSet {
        let mut h = small_hints();
        h.workflow = h.workflow.with_features(&["kb"]).unwrap();
        h.provenance.workflow_digest = h.workflow.digest();
        h.classes = Some(Classifier {
            features: vec!["kb".into()],
            nodes: vec![
                Node::Split { feature: 0, threshold: 10.0, below: 1, above: 2 },
                Node::Leaf { class: 0 },
                Node::Leaf { class: 1 },
            ],
        });
        let small = RuleTable { rules: vec![Rule { min_remaining_ms: 0.0, sizes: vec![Size::new(1000, 512)] }] };
        let all = h.hints[0].tables[0].clone();
        h.hints[0].tables = vec![small, all.clone(), all];
        h.summary = vec![summary(Some(0)), summary(Some(1)), summary(None)];
        h
    }

    fn at(elapsed_ms: f64) -> Query<'static> {
        Query { elapsed_ms, ..Query::default() }
    }

    #[test]
    fn picks_rule_by_remaining_budget_and_late_runs_get_the_fallback() {
        let a = Adapter::new(small_hints());
        let d = a.decide("f", &at(200.0)).unwrap(); // 800 left
        assert_eq!((d.size, d.rule, d.late), (Size::new(1000, 512), Some(2), false));
        let d = a.decide("f", &at(600.0)).unwrap(); // 400 left
        assert_eq!(d.size, Size::new(2000, 512));
        let d = a.decide("f", &at(950.0)).unwrap(); // 50 left: below every rule
        assert_eq!((d.size, d.rule, d.late), (Size::new(2000, 512), None, true));
        assert!((d.remaining_ms - 50.0).abs() < 1e-12);
        let d = a.decide("f", &at(5000.0)).unwrap(); // long past the deadline
        assert_eq!((d.size, d.late), (Size::new(2000, 512), true));
    }

    #[test]
    fn ranked_option_that_fits_is_taken() {
        let a = Adapter::new(small_hints());
        let d = a.decide("f", &Query { free: Some(Size::new(1500, 4096)), ..at(600.0) }).unwrap();
        assert_eq!((d.size, d.fits), (Size::new(1000, 512), true));
        let d = a.decide("f", &Query { free: Some(Size::new(500, 4096)), ..at(600.0) }).unwrap();
        assert_eq!((d.size, d.fits), (Size::new(2000, 512), false));
    }

    #[test]
    fn request_features_pick_the_class_table_at_every_stage() {
        let h = classed_hints();
        h.validate("t").unwrap();
        let a = Adapter::new(h);
        let small = a.decide("f", &Query { features: Some(&[3.0]), ..at(900.0) }).unwrap();
        assert_eq!((small.size, small.class), (Size::new(1000, 512), Some(0)));
        let large = a.decide("f", &Query { features: Some(&[30.0]), ..at(600.0) }).unwrap();
        assert_eq!((large.size, large.class), (Size::new(2000, 512), Some(1)));
        let unknown = a.decide("f", &at(600.0)).unwrap();
        assert_eq!((unknown.size, unknown.class), (Size::new(2000, 512), None));
        assert!(matches!(
            a.decide("f", &Query { features: Some(&[1.0, 2.0]), ..at(0.0) }),
            Err(AdapterError::FeatureCount { found: 2, .. })
        ));
        assert!(matches!(
            a.decide("f", &Query { features: Some(&[f64::NAN]), ..at(0.0) }),
            Err(AdapterError::BadFeature(_))
        ));
    }

    #[test]
    fn a_run_key_picks_one_policy_of_a_mixture_for_the_whole_run() {
        let mut h = small_hints();
        let s1 = Size::new(1000, 512);
        h.hints[0].alt_tables = vec![RuleTable { rules: vec![Rule { min_remaining_ms: 0.0, sizes: vec![s1] }] }];
        h.summary[0].mix = Some(0.3);
        h.summary[0].primary = Some((1.0, 0.05));
        h.validate("t").unwrap();
        let a = Adapter::new(h);
        // Without a key: the primary tables (400 ms left -> 2000m).
        assert_eq!(a.decide("f", &at(600.0)).unwrap().size, Size::new(2000, 512));
        let keyed = |k: u64| a.decide("f", &Query { run_key: Some(k), ..at(600.0) }).unwrap().size;
        let alt = (0..10_000u64).filter(|&k| keyed(k) == s1).count();
        assert!((2_800..3_200).contains(&alt), "{alt} of 10000 runs on the alternative");
        for k in 0..100u64 {
            assert_eq!(keyed(k), keyed(k));
        }
        assert_eq!(crate::adapter::run_key_of("activation-1"), crate::adapter::run_key_of("activation-1"));
        assert_ne!(crate::adapter::run_key_of("activation-1"), crate::adapter::run_key_of("activation-2"));
    }

    #[test]
    fn swap_refuses_another_workflow_and_takes_effect_for_decide_and_batches() {
        let a = Adapter::new(small_hints());
        let mut other = small_hints();
        other.workflow = other.workflow.with_slo(Slo { deadline_ms: 300.0, percentile: 0.9 }).unwrap();
        assert!(matches!(a.swap(other), Err(AdapterError::OtherWorkflow { .. })));
        let mut same = small_hints();
        same.hints[0].tables[0].rules.truncate(1);
        a.swap(same).unwrap();
        assert_eq!(a.decide("f", &at(200.0)).unwrap().size, Size::new(4000, 512));
        let d = a.decide_many("f", &crate::adapter::Batch { elapsed_ms: &[0.0, 100.0, 200.0], ..Default::default() });
        assert_eq!(d.unwrap().cpu_millis, vec![4000; 3]);
    }

    #[test]
    fn bad_calls_are_errors() {
        let a = Adapter::new(small_hints());
        assert!(matches!(a.decide("nope", &at(0.0)), Err(AdapterError::UnknownFunction { .. })));
        assert!(matches!(a.decide("f", &at(-1.0)), Err(AdapterError::BadElapsed(_))));
        assert!(matches!(a.decide("f", &at(f64::NAN)), Err(AdapterError::BadElapsed(_))));
        assert!(a.observe("f", Size::new(3, 3), 1.0).is_err());
        assert!(a.observe("f", Size::new(1000, 512), -1.0).is_err());
    }

    #[test]
    fn hint_json_round_trips_and_rejects_nonsense() {
        let h = classed_hints();
        let back = HintSet::from_json(&h.to_json(), "t").unwrap();
        assert_eq!(h, back);
        let text = h.to_json();
        assert!(matches!(
            HintSet::from_json(&text[..text.len() / 2], "t"),
            Err(crate::hints::HintError::Truncated { .. })
        ));
        let v9 = text.replace("\"schema_version\": 3", "\"schema_version\": 99");
        assert!(matches!(HintSet::from_json(&v9, "t"), Err(crate::hints::HintError::Version { found: 99, .. })));
        // Rules are `[min_remaining_ms, [size indices]]` pairs (schema version 3).
        let swapped = text.replace("300.0,", "30.0,");
        let err = HintSet::from_json(&swapped, "t").unwrap_err().to_string();
        assert!(err.contains("hints[0].tables[1].rules[1].min_remaining_ms"), "{err}");
        let cycle = text.replace("\"below\": 1", "\"below\": 0");
        let err = HintSet::from_json(&cycle, "t").unwrap_err().to_string();
        assert!(err.contains("classes.nodes[0].split.below"), "{err}");
        let bad_class = text.replacen("\"class\": 1", "\"class\": 5", 1);
        assert!(HintSet::from_json(&bad_class, "t").is_err());
        let edited = text.replace("\"deadline_ms\": 1000.0", "\"deadline_ms\": 20.0");
        let err = HintSet::from_json(&edited, "t").unwrap_err().to_string();
        assert!(err.contains("workflow_digest"), "{err}");
        // A size is an index in the function's options (3 of them here).
        let compact = h.to_json_compact();
        assert!(compact.contains("\"fallback\":1,") && compact.contains("[300.0,[1,0]]"), "{compact}");
        let out_of_range = compact.replace("[300.0,[1,0]]", "[300.0,[1,3]]");
        let err = HintSet::from_json(&out_of_range, "t").unwrap_err().to_string();
        assert!(err.contains("hints[0].tables[1].rules[1][1][1]") && err.contains("option 3"), "{err}");
    }
}
