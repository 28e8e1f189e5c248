//! The block schedule: a DAG runs in topological levels (see `workflow.rs`).

use super::{Block, Stage};
use std::collections::HashSet;

/// Longest-path level of every stage, or the names along a cycle.
pub(crate) fn topological_levels(stages: &[Stage], edges: &[(usize, usize)]) -> Result<Vec<usize>, String> {
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
                // path[start..] runs backwards along the edges, and `a` (its
                // first) is a predecessor of its last: reversed, the walk is
                // in edge order and closes on the stage it starts from.
                let mut cyc: Vec<&str> = path[start..].iter().rev().map(|&i| stages[i].name.as_str()).collect();
                cyc.push(cyc[0]);
                return Err(cyc.join(" -> "));
            }
            None => return Err(path.iter().map(|&i| stages[i].name.as_str()).collect::<Vec<_>>().join(", ")),
        }
    }
}

pub(crate) fn approximation_note(
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
