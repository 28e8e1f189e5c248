//! The clairvoyant oracle: knows a run's latency at every size in advance.
//!
//! Per run it computes the cheapest assignment meeting the deadline (if any)
//! and the cheapest assignment overall, both exactly: a Pareto front of
//! (latency, cost) over the blocks of the chain, pruned at the deadline. It
//! needs no time grid, so no rounding: no policy can use less on the same
//! draws. Across runs ([`oracle_select`]), at attainment target `p` it meets
//! the deadline on the `ceil(p * runs)` runs where doing so adds the least
//! cost and runs the others at their cheapest.

use super::outcome::{block_outcome, Outcome};
use super::trace::RunDraw;
use crate::model::Workflow;

/// The oracle's two candidates for one run.
#[derive(Debug, Clone, Copy)]
pub struct OracleRun {
    pub feasible: Option<Outcome>,
    pub cheapest: Outcome,
}

/// Both candidates of one run; `joint[b]` lists the joint options of block `b`.
pub fn oracle_run(wf: &Workflow, joint: &[Vec<Vec<usize>>], draw: &RunDraw) -> OracleRun {
    let deadline = wf.slo().deadline_ms;
    let mut front: Vec<Outcome> = vec![Outcome::default()];
    let mut cheapest = Outcome::default();
    for (b, block) in wf.blocks().iter().enumerate() {
        let opts: Vec<Outcome> = joint[b].iter().map(|j| block_outcome(wf, block, j, draw)).collect();
        let best = opts
            .iter()
            .min_by(|x, y| x.cost.total_cmp(&y.cost).then(x.latency_ms.total_cmp(&y.latency_ms)))
            .expect("a block has at least one option");
        cheapest = cheapest.add(best);
        // A run that can no longer make the deadline still runs its later
        // blocks: their cheapest options count in `cheapest` (stopping here
        // charged a lost run only the blocks up to where it was lost, which
        // made the oracle cheaper than any policy can be).
        if front.is_empty() {
            continue;
        }
        let mut next: Vec<Outcome> = Vec::with_capacity(front.len() * opts.len());
        for f in &front {
            for o in &opts {
                let c = f.add(o);
                if c.latency_ms <= deadline {
                    next.push(c);
                }
            }
        }
        next.sort_by(|x, y| x.latency_ms.total_cmp(&y.latency_ms).then(x.cost.total_cmp(&y.cost)));
        front.clear();
        for c in next {
            if front.last().is_none_or(|l| c.cost < l.cost) {
                front.push(c);
            }
        }
    }
    // The front is sorted by latency with strictly decreasing cost: the last is the cheapest.
    OracleRun { feasible: front.last().copied(), cheapest }
}

/// Pick per run: meet the deadline on the `ceil(p * n)` feasible runs with the
/// least extra cost (ties by run index), the cheapest assignment elsewhere.
pub fn oracle_select(runs: &[OracleRun], percentile: f64) -> Vec<Outcome> {
    let need = ((percentile * runs.len() as f64) - 1e-9).ceil().max(0.0) as usize;
    let mut cand: Vec<(f64, usize)> =
        runs.iter().enumerate().filter_map(|(i, r)| r.feasible.map(|f| (f.cost - r.cheapest.cost, i))).collect();
    cand.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<Outcome> = runs.iter().map(|r| r.cheapest).collect();
    for &(_, i) in cand.iter().take(need) {
        out[i] = runs[i].feasible.expect("candidates are feasible");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CostModel, Size, Slo, Stage};

    #[test]
    fn a_run_lost_early_is_charged_every_blocks_cheapest_option() {
        // Two stages, each 1 or 2 cores; the deadline is lost in the first.
        let opts = vec![Size::new(1000, 1024), Size::new(2000, 1024)];
        let stage = |name: &str| Stage { name: name.into(), options: opts.clone(), fanout: 1 };
        let slo = Slo { deadline_ms: 10.0, percentile: 0.9 };
        let wf = Workflow::chain("t", slo, CostModel { cpu_price: 1.0, mem_price: 0.0 }, vec![stage("a"), stage("b")])
            .unwrap();
        let joint: Vec<Vec<Vec<usize>>> = wf.blocks().iter().map(|b| wf.joint_options(b)).collect();
        // Latencies (ms) at 1 and 2 cores: a 20 and 15 (both past 10), b 4 and 3.
        let lat = vec![vec![20.0, 15.0], vec![4.0, 3.0]];
        let draw = RunDraw { latency: lat.clone(), busy: lat, features: None, key: None };
        let run = oracle_run(&wf, &joint, &draw);
        assert!(run.feasible.is_none());
        // Cheapest per stage: a at 1 core (20 core-ms; 2 cores: 30), b at
        // 1 core (4; 2 cores: 6): 24 core-ms, 0.024 core-seconds in all.
        assert!((run.cheapest.cost - 0.024).abs() < 1e-12, "{:?}", run.cheapest);
        assert!((run.cheapest.latency_ms - 24.0).abs() < 1e-12);
    }

    fn o(latency_ms: f64, cost: f64) -> Outcome {
        Outcome { latency_ms, cost, core_s: 0.0, gib_s: 0.0 }
    }

    #[test]
    fn selection_meets_the_cheapest_share() {
        let runs = vec![
            OracleRun { feasible: Some(o(9.0, 5.0)), cheapest: o(20.0, 1.0) }, // extra 4
            OracleRun { feasible: Some(o(9.0, 2.0)), cheapest: o(20.0, 1.0) }, // extra 1
            OracleRun { feasible: None, cheapest: o(30.0, 1.0) },
            OracleRun { feasible: Some(o(5.0, 1.0)), cheapest: o(5.0, 1.0) }, // extra 0
        ];
        let sel = oracle_select(&runs, 0.5);
        assert_eq!(sel.iter().map(|x| x.cost).collect::<Vec<_>>(), vec![1.0, 2.0, 1.0, 1.0]);
        let sel = oracle_select(&runs, 1.0);
        assert_eq!(sel.iter().map(|x| x.cost).sum::<f64>(), 5.0 + 2.0 + 1.0 + 1.0);
    }
}
