//! The MV dependency graph: refresh levels (longest upstream chain), downstream MVs, cycles.
//! Computed here rather than in SQL, where enumerating paths grows with the graph's density.

use std::collections::HashMap;

/// Per node, derived from its upstream edges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphFacts {
    /// 0 for MVs that read no MV; otherwise 1 + the highest level upstream. Nodes on a cycle
    /// get the level of their acyclic part.
    pub level: u32,
    pub downstream: Vec<u32>,
    pub in_cycle: bool,
}

/// `upstream[i]` lists the oids node `oids[i]` reads (edges to unknown oids are ignored;
/// an edge to itself marks a cycle through views).
pub fn analyse(oids: &[u32], upstream: &[Vec<u32>]) -> Vec<GraphFacts> {
    let index: HashMap<u32, usize> = oids.iter().enumerate().map(|(i, &o)| (o, i)).collect();
    let n = oids.len();
    let mut facts = vec![GraphFacts::default(); n];
    let mut ups: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut downs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, list) in upstream.iter().enumerate() {
        for oid in list {
            match index.get(oid) {
                Some(&j) if j == i => facts[i].in_cycle = true,
                Some(&j) if !ups[i].contains(&j) => {
                    ups[i].push(j);
                    downs[j].push(i);
                }
                Some(_) => {}
                None => {}
            }
        }
    }
    // Kahn's algorithm: what is never released sits on (or behind) a cycle.
    let mut pending: Vec<usize> = ups.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut done = vec![false; n];
    while let Some(i) = ready.pop() {
        done[i] = true;
        for &d in &downs[i] {
            facts[d].level = facts[d].level.max(facts[i].level + 1);
            pending[d] -= 1;
            if pending[d] == 0 {
                ready.push(d);
            }
        }
    }
    for i in (0..n).filter(|&i| !done[i]) {
        facts[i].in_cycle |= reaches(i, i, &ups);
    }
    for (i, f) in facts.iter_mut().enumerate() {
        let mut d: Vec<u32> = downs[i].iter().map(|&j| oids[j]).collect();
        d.sort_unstable();
        f.downstream = d;
    }
    facts
}

/// Whether `target` is reachable from `from` by following upstream edges (non-trivially).
fn reaches(from: usize, target: usize, ups: &[Vec<usize>]) -> bool {
    let mut seen = vec![false; ups.len()];
    let mut stack = ups[from].clone();
    while let Some(i) = stack.pop() {
        if i == target {
            return true;
        }
        if !std::mem::replace(&mut seen[i], true) {
            stack.extend(&ups[i]);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_levels_and_downstream() {
        // 1 <- 2 <- 3, and 4 reads 1 and 3
        let f = analyse(&[1, 2, 3, 4], &[vec![], vec![1], vec![2], vec![1, 3]]);
        assert_eq!(f.iter().map(|x| x.level).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(f[0].downstream, [2, 4]);
        assert_eq!(f[2].downstream, [4]);
        assert!(f.iter().all(|x| !x.in_cycle));
    }

    #[test]
    fn self_edge_is_a_cycle() {
        let f = analyse(&[7], &[vec![7]]);
        assert!(f[0].in_cycle);
        assert_eq!(f[0].level, 0);
        assert!(f[0].downstream.is_empty());
    }

    #[test]
    fn two_node_cycle_is_flagged_and_terminates() {
        let f = analyse(&[1, 2, 3], &[vec![2], vec![1], vec![1]]);
        assert!(f[0].in_cycle && f[1].in_cycle);
        assert!(!f[2].in_cycle, "behind a cycle is not on it");
    }

    #[test]
    fn unknown_upstream_oids_are_ignored() {
        let f = analyse(&[1], &[vec![99]]);
        assert_eq!(f[0], GraphFacts::default());
    }
}
