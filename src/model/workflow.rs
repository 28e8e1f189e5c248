//! A workflow: a DAG of stages with an end-to-end SLO and request features.
//!
//! Janus executes a DAG as a sequence of *blocks*: the stages of one block
//! start together and the block ends when its slowest stage ends. Blocks are
//! the DAG's topological levels (longest path from a source). For chains,
//! fan-outs and parallel branches that start and join together
//! (A -> {B, C} -> D) this is exact. For any other DAG it is an
//! approximation that only over-estimates latency (a stage waits for the
//! whole previous level, not only for its own predecessors); the workflow
//! says so in [`Workflow::approximation`].
//!
//! Request features (e.g. payload MiB) belong to the request, not to a
//! stage: they are declared once, computed from the request when a run
//! starts, recorded on every stage's profile samples and passed to the
//! adapter at every stage.

use super::builder::WorkflowBuilder;
use super::levels::{approximation_note, topological_levels};
use super::{CostModel, Size, WorkflowError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Joint options of one parallel block are the product of its stages'
/// options; past this many the DP would be slow and the hints large.
pub const MAX_JOINT_OPTIONS: usize = 4096;

/// End-to-end service level objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    pub deadline_ms: f64,
    pub percentile: f64,
}

/// One function of the workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub name: String,
    /// Sizes the developer allows for this function.
    pub options: Vec<Size>,
    /// Number of parallel instances (latency: the max of them; cost: the sum).
    #[serde(default = "one")]
    pub fanout: u32,
}

fn one() -> u32 {
    1
}

/// Stages that start together; the block ends with its slowest stage.
pub type Block = Vec<usize>;

/// The serialized form: what hint sets embed and `janus` files describe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    pub name: String,
    pub slo: Slo,
    #[serde(default)]
    pub cost_model: Option<CostModel>,
    /// Names of the request features, in the order of the feature vector.
    #[serde(default)]
    pub features: Vec<String>,
    pub stages: Vec<Stage>,
    #[serde(default)]
    pub edges: Vec<(String, String)>,
}

/// A validated workflow. Construct it with [`Workflow::new`] or a
/// [`WorkflowBuilder`]; every instance has valid unique names, at least one
/// stage and one option per stage, and no cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "WorkflowSpec", into = "WorkflowSpec")]
pub struct Workflow {
    name: String,
    slo: Slo,
    cost_model: CostModel,
    features: Vec<String>,
    stages: Vec<Stage>,
    edges: Vec<(usize, usize)>,
    blocks: Vec<Block>,
    approximation: Option<String>,
}

impl TryFrom<WorkflowSpec> for Workflow {
    type Error = WorkflowError;
    fn try_from(s: WorkflowSpec) -> Result<Self, WorkflowError> {
        Workflow::from_spec(s)
    }
}

impl From<Workflow> for WorkflowSpec {
    fn from(w: Workflow) -> Self {
        w.spec()
    }
}

impl Workflow {
    /// Validate and build a workflow. `edges` name stages: `(from, to)`.
    pub fn new(
        name: &str,
        slo: Slo,
        cost_model: CostModel,
        stages: Vec<Stage>,
        edges: &[(String, String)],
    ) -> Result<Self, WorkflowError> {
        Workflow::from_spec(WorkflowSpec {
            name: name.to_string(),
            slo,
            cost_model: Some(cost_model),
            features: Vec::new(),
            stages,
            edges: edges.to_vec(),
        })
    }

    /// Validate the serialized form (every check of [`WorkflowBuilder`]).
    pub fn from_spec(s: WorkflowSpec) -> Result<Self, WorkflowError> {
        let mut b = WorkflowBuilder::new(&s.name, s.slo, s.cost_model.unwrap_or_default())?;
        for f in &s.features {
            b.add_feature(f)?;
        }
        for st in s.stages {
            b.add_stage(st)?;
        }
        for (x, y) in &s.edges {
            b.add_edge(x, y)?;
        }
        Workflow::from_builder(b)
    }

    pub(crate) fn from_builder(b: WorkflowBuilder) -> Result<Self, WorkflowError> {
        if b.stages.is_empty() {
            return Err(WorkflowError::Empty { workflow: b.name });
        }
        let levels = topological_levels(&b.stages, &b.edges)
            .map_err(|cycle| WorkflowError::Cycle { workflow: b.name.clone(), cycle })?;
        let depth = levels.iter().copied().max().unwrap_or(0) + 1;
        let mut blocks: Vec<Block> = vec![Vec::new(); depth];
        for (i, &l) in levels.iter().enumerate() {
            blocks[l].push(i);
        }
        let approximation = approximation_note(&b.stages, &b.edges, &levels, &blocks);
        Ok(Workflow {
            name: b.name,
            slo: b.slo,
            cost_model: b.cost_model,
            features: b.features,
            stages: b.stages,
            edges: b.edges,
            blocks,
            approximation,
        })
    }

    /// A chain `stages[0] -> stages[1] -> ...`.
    pub fn chain(name: &str, slo: Slo, cost_model: CostModel, stages: Vec<Stage>) -> Result<Self, WorkflowError> {
        let edges: Vec<(String, String)> = stages.windows(2).map(|w| (w[0].name.clone(), w[1].name.clone())).collect();
        Workflow::new(name, slo, cost_model, stages, &edges)
    }

    /// The same workflow with these request features declared (replacing any).
    pub fn with_features(&self, features: &[&str]) -> Result<Self, WorkflowError> {
        let mut s = self.spec();
        s.features = features.iter().map(|f| f.to_string()).collect();
        Workflow::from_spec(s)
    }

    /// Synthesis and replay enumerate the joint options of each parallel
    /// block; refuse blocks whose product of options is too large.
    pub fn check_joint_options(&self) -> Result<(), WorkflowError> {
        let stages = &self.stages;
        for b in &self.blocks {
            let count = b.iter().try_fold(1usize, |acc, &i| acc.checked_mul(stages[i].options.len()));
            match count {
                Some(c) if c <= MAX_JOINT_OPTIONS => {}
                _ => {
                    return Err(WorkflowError::BlockTooLarge {
                        workflow: self.name.clone(),
                        block: b.iter().map(|&i| stages[i].name.as_str()).collect::<Vec<_>>().join(", "),
                        count: count.unwrap_or(usize::MAX),
                        limit: MAX_JOINT_OPTIONS,
                    });
                }
            }
        }
        Ok(())
    }

    /// The mixed-radix layout of the joint options of `block`: each member's
    /// option count (radix) and stride. Joint option `j` runs member `m` at
    /// option `(j / stride[m]) % radix[m]` (last member varies fastest); the
    /// one definition synthesis and replay index joint options by.
    pub fn joint_layout(&self, block: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let radix: Vec<usize> = block.iter().map(|&s| self.stages[s].options.len()).collect();
        let mut stride = vec![1usize; radix.len()];
        for m in (0..radix.len().saturating_sub(1)).rev() {
            stride[m] = stride[m + 1] * radix[m + 1];
        }
        (radix, stride)
    }

    /// Every combination of option indices of the stages of `block`, in
    /// joint-index order (`joint_layout`).
    pub fn joint_options(&self, block: &[usize]) -> Vec<Vec<usize>> {
        let (radix, stride) = self.joint_layout(block);
        let count: usize = radix.iter().product();
        (0..count).map(|j| radix.iter().zip(&stride).map(|(r, s)| (j / s) % r).collect()).collect()
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn slo(&self) -> Slo {
        self.slo
    }
    pub fn cost_model(&self) -> &CostModel {
        &self.cost_model
    }
    /// Names of the request features, in feature-vector order.
    pub fn features(&self) -> &[String] {
        &self.features
    }
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }
    pub fn edges(&self) -> &[(usize, usize)] {
        &self.edges
    }
    /// Blocks in execution order; each lists stage indices.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }
    /// `None` when the block schedule is exact for this DAG, otherwise what is approximated.
    pub fn approximation(&self) -> Option<&str> {
        self.approximation.as_deref()
    }
    pub fn stage_index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }
    /// The same workflow with another SLO (deadline sweeps).
    pub fn with_slo(&self, slo: Slo) -> Result<Self, WorkflowError> {
        let mut s = self.spec();
        s.slo = slo;
        Workflow::from_spec(s)
    }
    /// The serialized form.
    pub fn spec(&self) -> WorkflowSpec {
        let st = &self.stages;
        WorkflowSpec {
            name: self.name.clone(),
            slo: self.slo,
            cost_model: Some(self.cost_model),
            features: self.features.clone(),
            stages: st.clone(),
            edges: self.edges.iter().map(|&(a, b)| (st[a].name.clone(), st[b].name.clone())).collect(),
        }
    }
    /// Parse the JSON form (`{"name", "slo": {...}, "features": [...], "stages": [...], "edges": [[a, b], ...]}`).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| format!("at {}: {}", e.path(), e.inner()))
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a workflow always serializes")
    }
    /// SHA-256 of the canonical JSON form: everything that makes hints valid
    /// for this workflow (stages, options, fan-outs, edges, features, SLO,
    /// prices). An adapter refuses hints whose workflow digest differs.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.to_json().as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(name: &str) -> Stage {
        Stage { name: name.into(), options: vec![Size::new(500, 512), Size::new(1000, 512)], fanout: 1 }
    }
    fn slo() -> Slo {
        Slo { deadline_ms: 1000.0, percentile: 0.95 }
    }
    fn e(a: &str, b: &str) -> (String, String) {
        (a.into(), b.into())
    }

    #[test]
    fn diamond_is_three_exact_blocks() {
        let w = Workflow::new(
            "d",
            slo(),
            CostModel::default(),
            vec![st("a"), st("b"), st("c"), st("d")],
            &[e("a", "b"), e("a", "c"), e("b", "d"), e("c", "d")],
        )
        .unwrap();
        assert_eq!(w.blocks(), &[vec![0], vec![1, 2], vec![3]]);
        assert!(w.approximation().is_none());
    }

    #[test]
    fn unbalanced_branch_is_flagged_as_approximate() {
        let w = Workflow::new(
            "u",
            slo(),
            CostModel::default(),
            vec![st("a"), st("b"), st("c"), st("d"), st("e")],
            &[e("a", "b"), e("b", "c"), e("c", "e"), e("a", "d"), e("d", "e")],
        )
        .unwrap();
        assert_eq!(w.blocks().len(), 4);
        assert!(w.approximation().unwrap().contains("barrier"));
    }

    #[test]
    fn cycle_is_named() {
        let err = Workflow::new(
            "c",
            slo(),
            CostModel::default(),
            vec![st("a"), st("b"), st("c")],
            &[e("a", "b"), e("b", "c"), e("c", "b")],
        )
        .unwrap_err();
        match err {
            // The cycle as it runs: it closes on its first stage, each step an edge.
            WorkflowError::Cycle { cycle, .. } => assert!(cycle == "b -> c -> b" || cycle == "c -> b -> c", "{cycle}"),
            other => panic!("expected a cycle, got {other:?}"),
        }
    }

    #[test]
    fn bad_inputs_are_rejected() {
        let unknown = Workflow::new("x", slo(), CostModel::default(), vec![st("a")], &[e("a", "zz")]);
        assert!(matches!(unknown, Err(WorkflowError::UnknownStage { unknown, .. }) if unknown == "zz"));
        let mut dup = st("a");
        dup.options.push(Size::new(500, 512));
        assert!(matches!(
            Workflow::chain("x", slo(), CostModel::default(), vec![dup]),
            Err(WorkflowError::DuplicateOption { .. })
        ));
        let mut none = st("a");
        none.options.clear();
        assert!(matches!(
            Workflow::chain("x", slo(), CostModel::default(), vec![none]),
            Err(WorkflowError::NoOptions { .. })
        ));
        assert!(matches!(
            Workflow::chain("x", Slo { deadline_ms: -1.0, percentile: 0.9 }, CostModel::default(), vec![st("a")]),
            Err(WorkflowError::BadDeadline { .. })
        ));
        assert!(matches!(
            Workflow::chain("x", slo(), CostModel::default(), vec![st("../etc")]),
            Err(WorkflowError::BadStageName { .. })
        ));
    }

    #[test]
    fn json_round_trip() {
        let w = Workflow::chain("j", slo(), CostModel::memory_only(), vec![st("a"), st("b")]).unwrap();
        let back = Workflow::from_json(&w.to_json()).unwrap();
        assert_eq!(w, back);
        let err = Workflow::from_json(r#"{"name":"j","slo":{"deadline_ms":1,"percentile":0.9},"stages":[{"name":"a","options":[{"cpu_millis":"x"}]}]}"#).unwrap_err();
        assert!(err.contains("stages[0].options[0]"), "{err}");
    }
}
