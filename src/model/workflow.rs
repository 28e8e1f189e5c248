//! A workflow: a DAG of stages with an end-to-end SLO.
//!
//! Janus executes a DAG as a sequence of *blocks*: the stages of one block
//! start together and the block ends when its slowest stage ends. Blocks are
//! the DAG's topological levels (longest path from a source). For chains,
//! fan-outs and parallel branches that start and join together
//! (A -> {B, C} -> D) this is exact. For any other DAG it is an
//! approximation that only over-estimates latency (a stage waits for the
//! whole previous level, not only for its own predecessors); the workflow
//! says so in [`Workflow::approximation`].

use super::{CostModel, Size, WorkflowError};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

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
    /// Name of an input feature that predicts this function's run time, if any.
    #[serde(default)]
    pub feature: Option<String>,
}

fn one() -> u32 {
    1
}

/// Stages that start together; the block ends with its slowest stage.
pub type Block = Vec<usize>;

/// The serialized form: what Python hands to Rust and what hint sets embed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WorkflowSpec {
    name: String,
    slo: Slo,
    #[serde(default)]
    cost_model: Option<CostModel>,
    stages: Vec<Stage>,
    #[serde(default)]
    edges: Vec<(String, String)>,
}

/// A validated workflow. Construct it with [`Workflow::new`]; every instance
/// has unique stage names, at least one option per stage, no cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "WorkflowSpec", into = "WorkflowSpec")]
pub struct Workflow {
    name: String,
    slo: Slo,
    cost_model: CostModel,
    stages: Vec<Stage>,
    edges: Vec<(usize, usize)>,
    blocks: Vec<Block>,
    approximation: Option<String>,
}

impl TryFrom<WorkflowSpec> for Workflow {
    type Error = WorkflowError;
    fn try_from(s: WorkflowSpec) -> Result<Self, WorkflowError> {
        Workflow::new(&s.name, s.slo, s.cost_model.unwrap_or_default(), s.stages, &s.edges)
    }
}

impl From<Workflow> for WorkflowSpec {
    fn from(w: Workflow) -> Self {
        let edges = w.edges.iter().map(|&(a, b)| (w.stages[a].name.clone(), w.stages[b].name.clone())).collect();
        WorkflowSpec { name: w.name, slo: w.slo, cost_model: Some(w.cost_model), stages: w.stages, edges }
    }
}

/// Stage names end up in cgroup paths, file names and JSON keys: keep them tame.
pub(crate) fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > 128 {
        return Err("it is longer than 128 bytes");
    }
    if name == "." || name == ".." || name.contains("..") {
        return Err("it contains '..'");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Err("only ASCII letters, digits, '_', '-' and '.' are allowed");
    }
    Ok(())
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
        let wf = name.to_string();
        if !(slo.deadline_ms.is_finite() && slo.deadline_ms > 0.0) {
            return Err(WorkflowError::BadDeadline { workflow: wf, value: slo.deadline_ms });
        }
        if !(slo.percentile > 0.0 && slo.percentile < 1.0) {
            return Err(WorkflowError::BadPercentile { workflow: wf, value: slo.percentile });
        }
        if !cost_model.is_valid() {
            return Err(WorkflowError::BadCostModel { workflow: wf });
        }
        if stages.is_empty() {
            return Err(WorkflowError::Empty { workflow: wf });
        }
        let mut index = HashMap::new();
        for (i, st) in stages.iter().enumerate() {
            check_name(&st.name).map_err(|why| WorkflowError::BadStageName {
                workflow: wf.clone(),
                name: st.name.clone(),
                why,
            })?;
            if index.insert(st.name.as_str(), i).is_some() {
                return Err(WorkflowError::DuplicateStage { workflow: wf, name: st.name.clone() });
            }
            if st.options.is_empty() {
                return Err(WorkflowError::NoOptions { workflow: wf, stage: st.name.clone() });
            }
            if st.fanout == 0 {
                return Err(WorkflowError::ZeroFanout { workflow: wf, stage: st.name.clone() });
            }
            let mut seen = HashSet::new();
            for s in &st.options {
                let bad = |why| WorkflowError::BadSize {
                    workflow: wf.clone(),
                    stage: st.name.clone(),
                    size: s.to_string(),
                    why,
                };
                if s.cpu_millis == 0 {
                    return Err(bad("cpu_millis must be at least 1"));
                }
                if s.memory_mib == 0 {
                    return Err(bad("memory_mib must be at least 1"));
                }
                if !seen.insert(*s) {
                    return Err(WorkflowError::DuplicateOption {
                        workflow: wf,
                        stage: st.name.clone(),
                        size: s.to_string(),
                    });
                }
            }
        }
        let mut idx_edges = Vec::with_capacity(edges.len());
        for (a, b) in edges {
            let lookup = |n: &String| {
                index.get(n.as_str()).copied().ok_or_else(|| WorkflowError::UnknownStage {
                    workflow: wf.clone(),
                    from: a.clone(),
                    to: b.clone(),
                    unknown: n.clone(),
                })
            };
            let (ia, ib) = (lookup(a)?, lookup(b)?);
            if ia == ib {
                return Err(WorkflowError::SelfLoop { workflow: wf, from: a.clone(), to: b.clone() });
            }
            if !idx_edges.contains(&(ia, ib)) {
                idx_edges.push((ia, ib));
            }
        }
        let levels = topological_levels(&stages, &idx_edges)
            .map_err(|cycle| WorkflowError::Cycle { workflow: wf.clone(), cycle })?;
        let depth = levels.iter().copied().max().unwrap_or(0) + 1;
        let mut blocks: Vec<Block> = vec![Vec::new(); depth];
        for (i, &l) in levels.iter().enumerate() {
            blocks[l].push(i);
        }
        let approximation = approximation_note(&stages, &idx_edges, &levels, &blocks);
        Ok(Workflow { name: wf, slo, cost_model, stages, edges: idx_edges, blocks, approximation })
    }

    /// Synthesis and replay enumerate the joint options of each parallel
    /// block; refuse blocks whose product of options is too large. Not part
    /// of `new`, so a workflow can be built up stage by stage before its
    /// edges exist (until then every stage is in one block).
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

    /// A chain `stages[0] -> stages[1] -> ...`.
    pub fn chain(name: &str, slo: Slo, cost_model: CostModel, stages: Vec<Stage>) -> Result<Self, WorkflowError> {
        let edges: Vec<(String, String)> = stages.windows(2).map(|w| (w[0].name.clone(), w[1].name.clone())).collect();
        Workflow::new(name, slo, cost_model, stages, &edges)
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
        let edges: Vec<(String, String)> = WorkflowSpec::from(self.clone()).edges;
        Workflow::new(&self.name, slo, self.cost_model, self.stages.clone(), &edges)
    }
    /// Parse the JSON form (`{"name", "slo": {...}, "stages": [...], "edges": [[a, b], ...]}`).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| format!("at {}: {}", e.path(), e.inner()))
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a workflow always serializes")
    }
}

/// Longest-path level of every stage, or the names along a cycle.
fn topological_levels(stages: &[Stage], edges: &[(usize, usize)]) -> Result<Vec<usize>, String> {
    let n = stages.len();
    let mut indeg = vec![0usize; n];
    let mut succ = vec![Vec::new(); n];
    for &(a, b) in edges {
        indeg[b] += 1;
        succ[a].push(b);
    }
    let mut level = vec![0usize; n];
    let mut queue: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    let mut done = 0;
    while let Some(v) = queue.pop() {
        done += 1;
        for &w in &succ[v] {
            level[w] = level[w].max(level[v] + 1);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                queue.push(w);
            }
        }
    }
    if done == n {
        return Ok(level);
    }
    // Walk backwards from any stage left on the cycle to name it.
    let on_cycle: Vec<usize> = (0..n).filter(|&i| indeg[i] > 0).collect();
    let mut path = vec![on_cycle[0]];
    let mut seen = HashSet::from([on_cycle[0]]);
    loop {
        let v = *path.last().unwrap_or(&on_cycle[0]);
        let next = edges.iter().find(|&&(a, b)| b == v && indeg[a] > 0).map(|&(a, _)| a);
        match next {
            Some(a) if seen.insert(a) => path.push(a),
            Some(a) => {
                let start = path.iter().position(|&x| x == a).unwrap_or(0);
                let mut cyc: Vec<&str> = path[start..].iter().rev().map(|&i| stages[i].name.as_str()).collect();
                cyc.push(&stages[a].name);
                return Err(cyc.join(" -> "));
            }
            None => return Err(path.iter().map(|&i| stages[i].name.as_str()).collect::<Vec<_>>().join(", ")),
        }
    }
}

fn approximation_note(
    stages: &[Stage],
    edges: &[(usize, usize)],
    levels: &[usize],
    blocks: &[Block],
) -> Option<String> {
    let preds: HashSet<(usize, usize)> = edges.iter().copied().collect();
    for (l, block) in blocks.iter().enumerate().skip(1) {
        for &v in block {
            for &u in &blocks[l - 1] {
                if !preds.contains(&(u, v)) {
                    return Some(format!(
                        "not series-parallel in levels: '{}' does not depend on '{}' but Janus runs \
                         the DAG in barrier-synchronised levels, so '{}' waits for the whole previous \
                         level (latency over-estimated, never under-estimated)",
                        stages[v].name, stages[u].name, stages[v].name
                    ));
                }
            }
        }
    }
    if let Some(&(a, b)) = edges.iter().find(|&&(a, b)| levels[b] != levels[a] + 1) {
        return Some(format!(
            "edge {} -> {} skips a level; it is implied by the level barriers",
            stages[a].name, stages[b].name
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(name: &str) -> Stage {
        Stage { name: name.into(), options: vec![Size::new(500, 512), Size::new(1000, 512)], fanout: 1, feature: None }
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
            WorkflowError::Cycle { cycle, .. } => assert!(cycle.contains('b') && cycle.contains('c'), "{cycle}"),
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
