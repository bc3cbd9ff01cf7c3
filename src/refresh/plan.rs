//! Refresh plans: the chosen MVs plus, on request, what they read (up) and what reads them
//! (down), in dependency order, each step a set that may run in parallel.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::catalog::MatView;

/// `--cascade up|down|both`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cascade {
    /// Upstream MVs first (what the chosen ones read, through plain views too).
    Up,
    /// Downstream MVs after (what reads the chosen ones).
    Down,
    Both,
}

/// Steps in order; the MVs (oids) of one step do not depend on each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Vec<u32>>,
}

/// `targets` and what the cascade adds, ordered by refresh level (longest upstream chain),
/// which puts every MV after all the MVs it reads.
pub fn plan(views: &[MatView], targets: &[u32], cascade: Option<Cascade>) -> Plan {
    let by_oid: HashMap<u32, &MatView> = views.iter().map(|v| (v.oid, v)).collect();
    let mut downstream: HashMap<u32, Vec<u32>> = HashMap::new();
    for v in views {
        for &up in v.upstream_oids.iter().filter(|&&u| u != v.oid) {
            downstream.entry(up).or_default().push(v.oid);
        }
    }
    let mut chosen: HashSet<u32> = targets.iter().copied().collect();
    let up = matches!(cascade, Some(Cascade::Up | Cascade::Both));
    let down = matches!(cascade, Some(Cascade::Down | Cascade::Both));
    if up {
        walk(targets, &mut chosen, |oid| {
            by_oid
                .get(&oid)
                .map(|v| v.upstream_oids.clone())
                .unwrap_or_default()
        });
    }
    if down {
        walk(targets, &mut chosen, |oid| {
            downstream.get(&oid).cloned().unwrap_or_default()
        });
    }
    let mut levels: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for oid in chosen {
        let level = by_oid.get(&oid).map_or(0, |v| v.refresh_level);
        levels.entry(level).or_default().push(oid);
    }
    let steps = levels
        .into_values()
        .map(|mut step| {
            step.sort_by_key(|oid| by_oid.get(oid).map(|v| v.qualified_name.clone()));
            step
        })
        .collect();
    Plan { steps }
}

fn walk(from: &[u32], seen: &mut HashSet<u32>, next: impl Fn(u32) -> Vec<u32>) {
    let mut stack: Vec<u32> = from.to_vec();
    while let Some(oid) = stack.pop() {
        for n in next(oid) {
            if seen.insert(n) {
                stack.push(n);
            }
        }
    }
}

/// Whether `oid` must be skipped because an MV it reads (in the plan) did not refresh.
pub fn blocked_by(views: &[MatView], oid: u32, failed: &HashSet<u32>) -> Option<u32> {
    views
        .iter()
        .find(|v| v.oid == oid)?
        .upstream_oids
        .iter()
        .copied()
        .find(|up| *up != oid && failed.contains(up))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(oid: u32, level: u32, ups: &[u32]) -> MatView {
        let name = format!("m{oid}");
        let mut v = MatView::named(oid, "s".into(), name.clone(), format!("s.{name}"));
        v.refresh_level = level;
        v.upstream_oids = ups.to_vec();
        v
    }

    // 1 <- 2 <- 3, 1 <- 4, 5 alone
    fn chain() -> Vec<MatView> {
        vec![
            mv(1, 0, &[]),
            mv(2, 1, &[1]),
            mv(3, 2, &[2]),
            mv(4, 1, &[1]),
            mv(5, 0, &[]),
        ]
    }

    #[test]
    fn no_cascade_is_just_the_targets() {
        assert_eq!(plan(&chain(), &[3, 5], None).steps, vec![vec![5], vec![3]]);
    }

    #[test]
    fn up_adds_what_they_read_first() {
        assert_eq!(
            plan(&chain(), &[3], Some(Cascade::Up)).steps,
            vec![vec![1], vec![2], vec![3]]
        );
    }

    #[test]
    fn down_adds_what_reads_them_after() {
        assert_eq!(
            plan(&chain(), &[1], Some(Cascade::Down)).steps,
            vec![vec![1], vec![2, 4], vec![3]]
        );
    }

    #[test]
    fn both_from_the_middle() {
        assert_eq!(
            plan(&chain(), &[2], Some(Cascade::Both)).steps,
            vec![vec![1], vec![2], vec![3]]
        );
    }

    #[test]
    fn dependants_of_a_failure_are_blocked() {
        let failed: HashSet<u32> = [2].into_iter().collect();
        assert_eq!(blocked_by(&chain(), 3, &failed), Some(2));
        assert_eq!(blocked_by(&chain(), 4, &failed), None);
    }
}
