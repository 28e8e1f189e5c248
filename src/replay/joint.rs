//! Joint options of one parallel block: one option index per stage of the block.

use crate::model::Workflow;

/// Every combination of option indices of the block's stages, in
/// lexicographic order (the workflow caps the count at `MAX_JOINT_OPTIONS`).
pub fn joint_options(wf: &Workflow, block: &[usize]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = vec![Vec::with_capacity(block.len())];
    for &s in block {
        let n = wf.stages()[s].options.len();
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..n).map(move |o| {
                    let mut p = prefix.clone();
                    p.push(o);
                    p
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CostModel, Size, Slo, Stage};

    #[test]
    fn product_of_options() {
        let st = |n: &str, k: u32| Stage {
            name: n.into(),
            options: (1..=k).map(|c| Size::new(c * 1000, 512)).collect(),
            fanout: 1,
            feature: None,
        };
        let wf = Workflow::new(
            "p",
            Slo { deadline_ms: 1.0, percentile: 0.5 },
            CostModel::default(),
            vec![st("a", 1), st("b", 2), st("c", 3), st("d", 1)],
            &[("a".into(), "b".into()), ("a".into(), "c".into()), ("b".into(), "d".into()), ("c".into(), "d".into())],
        )
        .unwrap();
        let j = joint_options(&wf, &wf.blocks()[1]);
        assert_eq!(j.len(), 6);
        assert_eq!(j[0], vec![0, 0]);
        assert_eq!(j[5], vec![1, 2]);
    }
}
