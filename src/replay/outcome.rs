//! What one policy did in one run.

use super::trace::RunDraw;
use crate::model::Workflow;

/// End-to-end latency and resource use of one execution.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    pub latency_ms: f64,
    /// Cost units of the workflow's cost model.
    pub cost: f64,
    pub core_s: f64,
    pub gib_s: f64,
}

impl Outcome {
    pub fn add(&self, o: &Outcome) -> Outcome {
        Outcome {
            latency_ms: self.latency_ms + o.latency_ms,
            cost: self.cost + o.cost,
            core_s: self.core_s + o.core_s,
            gib_s: self.gib_s + o.gib_s,
        }
    }
}

/// Latency (slowest stage) and resource use (all instances) of one block in
/// one run, when its stages run at option indices `choice`.
pub fn block_outcome(wf: &Workflow, block: &[usize], choice: &[usize], draw: &RunDraw) -> Outcome {
    let cm = wf.cost_model();
    let mut o = Outcome::default();
    for (&s, &j) in block.iter().zip(choice) {
        let size = wf.stages()[s].options[j];
        let busy_s = draw.busy[s][j] / 1000.0;
        o.latency_ms = o.latency_ms.max(draw.latency[s][j]);
        o.cost += cm.rate(&size) * busy_s;
        o.core_s += size.cores() * busy_s;
        o.gib_s += size.gib() * busy_s;
    }
    o
}
