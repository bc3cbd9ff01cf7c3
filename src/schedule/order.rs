//! Dependency order within one due set: upstream MVs first, and each one waits for the MVs
//! it reads that this scheduler is refreshing (in this set or already).

use std::collections::HashSet;

/// A due MV, as ordering needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueMv {
    pub oid: u32,
    /// 0 reads no MV; otherwise one more than the deepest MV it reads.
    pub level: u32,
    /// MVs it reads, directly or through views.
    pub upstream: Vec<u32>,
}

/// Sorts `due` so that an MV comes after every MV it reads (by level, then oid).
pub fn upstream_first(due: &mut [DueMv]) {
    due.sort_by_key(|d| (d.level, d.oid));
}

/// The MVs `mv` must wait for: those it reads that are refreshing here now. A claim lost to
/// another scheduler never enters `running_here`, so nothing waits for a refresh that will
/// not come.
pub fn waits_for(mv: &DueMv, running_here: &HashSet<u32>) -> HashSet<u32> {
    mv.upstream
        .iter()
        .filter(|u| **u != mv.oid && running_here.contains(u))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(oid: u32, level: u32, upstream: &[u32]) -> DueMv {
        DueMv {
            oid,
            level,
            upstream: upstream.to_vec(),
        }
    }

    #[test]
    fn a_chain_due_at_once_runs_upstream_first_each_after_the_one_it_reads() {
        // 30 reads 20 reads 10; 40 reads 10 directly.
        let mut due = vec![
            mv(30, 2, &[20, 10]),
            mv(40, 1, &[10]),
            mv(10, 0, &[]),
            mv(20, 1, &[10]),
        ];
        upstream_first(&mut due);
        let order: Vec<u32> = due.iter().map(|d| d.oid).collect();
        assert_eq!(order, [10, 20, 40, 30]);
        let mut running = HashSet::new();
        let mut waits = Vec::new();
        for d in &due {
            let mut w: Vec<u32> = waits_for(d, &running).into_iter().collect();
            w.sort_unstable();
            waits.push((d.oid, w));
            running.insert(d.oid);
        }
        assert_eq!(
            waits,
            [
                (10, vec![]),
                (20, vec![10]),
                (40, vec![10]),
                (30, vec![10, 20])
            ]
        );
    }

    #[test]
    fn nothing_waits_for_a_claim_another_scheduler_won() {
        let down = mv(20, 1, &[10]);
        // 10 was due too, but another daemon claimed it: it is not running here.
        assert!(waits_for(&down, &HashSet::new()).is_empty());
        // A cycle member does not wait for itself.
        assert!(waits_for(&mv(5, 0, &[5]), &HashSet::from([5])).is_empty());
    }
}
