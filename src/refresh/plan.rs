//! Refresh plans: the chosen MVs plus, on request, what they read (up) and what reads them
//! (down), in dependency order, each step a set that may run in parallel.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use super::job::JobSpec;
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

/// What carrying out a plan asks for next.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanStep {
    Start(JobSpec),
    /// Not run: `because` (an MV it reads) did not refresh.
    Skip {
        spec: JobSpec,
        because: u32,
    },
}

/// A plan being carried out: one step at a time, the MVs of a step in parallel, and the
/// dependants of an MV that did not refresh skipped. Pure: the caller runs the jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRun {
    steps: VecDeque<Vec<JobSpec>>,
    upstream: HashMap<u32, Vec<u32>>,
    running: HashSet<u32>,
    not_refreshed: HashSet<u32>,
}

impl PlanRun {
    /// `specs` in plan order (see `plan`); `views` give what each MV reads.
    pub fn new(views: &[MatView], plan: &Plan, mut specs: HashMap<u32, JobSpec>) -> PlanRun {
        let steps = plan
            .steps
            .iter()
            .map(|step| step.iter().filter_map(|oid| specs.remove(oid)).collect())
            .collect();
        let upstream = views
            .iter()
            .map(|v| (v.oid, v.upstream_oids.clone()))
            .collect();
        PlanRun {
            steps,
            upstream,
            running: HashSet::new(),
            not_refreshed: HashSet::new(),
        }
    }

    pub fn contains_running(&self, oid: u32) -> bool {
        self.running.contains(&oid)
    }

    pub fn is_done(&self) -> bool {
        self.running.is_empty() && self.steps.is_empty()
    }

    /// The next step's jobs and skips; nothing while a step is still running.
    pub fn advance(&mut self) -> Vec<PlanStep> {
        let mut out = Vec::new();
        while self.running.is_empty() {
            let Some(step) = self.steps.pop_front() else {
                break;
            };
            for spec in step {
                let oid = spec.target.oid;
                let ups = self
                    .upstream
                    .get(&oid)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                match ups
                    .iter()
                    .find(|u| **u != oid && self.not_refreshed.contains(u))
                {
                    Some(&because) => {
                        self.not_refreshed.insert(oid);
                        out.push(PlanStep::Skip { spec, because });
                    }
                    None => {
                        self.running.insert(oid);
                        out.push(PlanStep::Start(spec));
                    }
                }
            }
        }
        out
    }

    /// A job of this plan ended; returns what to do next (the next step once all are done).
    pub fn finished(&mut self, oid: u32, refreshed: bool) -> Vec<PlanStep> {
        if !self.running.remove(&oid) {
            return Vec::new();
        }
        if !refreshed {
            self.not_refreshed.insert(oid);
        }
        self.advance()
    }
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

    fn specs(views: &[MatView], plan: &Plan) -> HashMap<u32, JobSpec> {
        plan.steps
            .iter()
            .flatten()
            .map(|oid| {
                let v = views.iter().find(|v| v.oid == *oid).unwrap();
                let spec = JobSpec {
                    target: crate::refresh::Target::from(v),
                    mode: crate::refresh::Mode {
                        concurrently: false,
                        with_data: true,
                    },
                    source: crate::refresh::Source::Cli,
                    limits: crate::refresh::Limits::default(),
                };
                (*oid, spec)
            })
            .collect()
    }

    fn oids(steps: &[PlanStep]) -> Vec<(u32, bool)> {
        steps
            .iter()
            .map(|s| match s {
                PlanStep::Start(j) => (j.target.oid, true),
                PlanStep::Skip { spec, .. } => (spec.target.oid, false),
            })
            .collect()
    }

    #[test]
    fn a_plan_runs_step_by_step_and_skips_dependants_of_a_failure() {
        let views = chain();
        let p = plan(&views, &[1], Some(Cascade::Down));
        let mut run = PlanRun::new(&views, &p, specs(&views, &p));
        assert_eq!(oids(&run.advance()), [(1, true)]);
        assert!(run.advance().is_empty(), "nothing new while 1 runs");
        assert_eq!(oids(&run.finished(1, true)), [(2, true), (4, true)]);
        assert!(run.finished(4, true).is_empty(), "2 still runs");
        assert_eq!(oids(&run.finished(2, false)), [(3, false)]);
        assert!(run.is_done());
    }
}
