//! Building a workflow step by step, with every mistake reported where it is made.
//!
//! The Python `janus.Workflow` decorator adds stages, request features and
//! edges one at a time; each call is checked here at once (a duplicate
//! name, an unknown stage, an edge that closes a cycle), so the error is
//! raised at the line that makes the mistake. [`crate::model::Workflow::new`]
//! and the JSON loader go through the same checks: there is one definition
//! of what a valid workflow is.

use super::levels::topological_levels;
use super::{CostModel, Size, Slo, Stage, WorkflowError};
use std::collections::HashSet;

/// Fan-outs above this are refused: the latency model raises a CDF to the
/// power of the fan-out and the replay simulates every instance, both of
/// which stop being meaningful (and fast) long before `u32::MAX`.
pub const MAX_FANOUT: u32 = 4096;
/// Request features per workflow: more would never be profiled densely enough.
pub const MAX_FEATURES: usize = 16;
/// Sizes below 10 millicores are refused by the kernel's CFS quota (1 ms per
/// 100 ms period); refuse them up front.
pub const MIN_CPU_MILLIS: u32 = 10;

/// Names end up in cgroup paths, file names, JSON keys and URLs: keep them tame.
pub(crate) fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > 128 {
        return Err("it is longer than 128 bytes");
    }
    if name == "." {
        return Err("'.' names the current folder in a path");
    }
    if name.contains("..") {
        return Err("it contains '..'");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Err("only ASCII letters, digits, '_', '-' and '.' are allowed");
    }
    Ok(())
}

/// Why a size cannot be an option, if it cannot.
pub fn check_size(s: &Size) -> Result<(), &'static str> {
    if s.cpu_millis < MIN_CPU_MILLIS {
        return Err("cpu_millis must be at least 10 (the kernel's smallest CPU quota)");
    }
    if s.memory_mib == 0 {
        return Err("memory_mib must be at least 1");
    }
    Ok(())
}

/// A workflow under construction. Every method validates what it adds.
#[derive(Debug, Clone)]
pub struct WorkflowBuilder {
    pub(crate) name: String,
    pub(crate) slo: Slo,
    pub(crate) cost_model: CostModel,
    pub(crate) features: Vec<String>,
    pub(crate) stages: Vec<Stage>,
    pub(crate) edges: Vec<(usize, usize)>,
}

impl WorkflowBuilder {
    pub fn new(name: &str, slo: Slo, cost_model: CostModel) -> Result<Self, WorkflowError> {
        check_name(name).map_err(|why| WorkflowError::BadName { name: name.to_string(), why })?;
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
        Ok(WorkflowBuilder { name: wf, slo, cost_model, features: Vec::new(), stages: Vec::new(), edges: Vec::new() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn stage_index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }

    /// Declare a request feature: a number computed from the request (e.g.
    /// payload MiB), known at every stage. Order of declaration is the order
    /// of the feature vector the adapter receives.
    pub fn add_feature(&mut self, name: &str) -> Result<(), WorkflowError> {
        let wf = self.name.clone();
        check_name(name).map_err(|why| WorkflowError::BadFeatureName {
            workflow: wf.clone(),
            name: name.into(),
            why,
        })?;
        if self.features.iter().any(|f| f == name) {
            return Err(WorkflowError::DuplicateFeature { workflow: wf, name: name.into() });
        }
        if self.features.len() >= MAX_FEATURES {
            return Err(WorkflowError::TooManyFeatures { workflow: wf, limit: MAX_FEATURES });
        }
        self.features.push(name.to_string());
        Ok(())
    }

    pub fn add_stage(&mut self, stage: Stage) -> Result<(), WorkflowError> {
        let wf = self.name.clone();
        check_name(&stage.name).map_err(|why| WorkflowError::BadStageName {
            workflow: wf.clone(),
            name: stage.name.clone(),
            why,
        })?;
        if self.stage_index(&stage.name).is_some() {
            return Err(WorkflowError::DuplicateStage { workflow: wf, name: stage.name });
        }
        if stage.options.is_empty() {
            return Err(WorkflowError::NoOptions { workflow: wf, stage: stage.name });
        }
        if stage.fanout == 0 || stage.fanout > MAX_FANOUT {
            return Err(WorkflowError::BadFanout {
                workflow: wf,
                stage: stage.name,
                value: stage.fanout,
                max: MAX_FANOUT,
            });
        }
        let mut seen = HashSet::new();
        for s in &stage.options {
            if let Err(why) = check_size(s) {
                return Err(WorkflowError::BadSize {
                    workflow: wf,
                    stage: stage.name.clone(),
                    size: s.to_string(),
                    why,
                });
            }
            if !seen.insert(*s) {
                return Err(WorkflowError::DuplicateOption {
                    workflow: wf,
                    stage: stage.name.clone(),
                    size: s.to_string(),
                });
            }
        }
        self.stages.push(stage);
        Ok(())
    }

    /// `b` starts after `a` ends. Refuses unknown stages, self-loops and
    /// edges that close a cycle (naming it); a repeated edge is a no-op.
    pub fn add_edge(&mut self, a: &str, b: &str) -> Result<(), WorkflowError> {
        let lookup = |n: &str| {
            self.stage_index(n).ok_or_else(|| WorkflowError::UnknownStage {
                workflow: self.name.clone(),
                from: a.to_string(),
                to: b.to_string(),
                unknown: n.to_string(),
            })
        };
        let (ia, ib) = (lookup(a)?, lookup(b)?);
        if ia == ib {
            return Err(WorkflowError::SelfLoop { workflow: self.name.clone(), from: a.into(), to: b.into() });
        }
        if self.edges.contains(&(ia, ib)) {
            return Ok(());
        }
        self.edges.push((ia, ib));
        if let Err(cycle) = topological_levels(&self.stages, &self.edges) {
            self.edges.pop();
            return Err(WorkflowError::Cycle { workflow: self.name.clone(), cycle });
        }
        Ok(())
    }

    /// The validated workflow (at least one stage).
    pub fn build(&self) -> Result<super::Workflow, WorkflowError> {
        super::Workflow::from_builder(self.clone())
    }
}
