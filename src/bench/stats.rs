//! Summaries of timed runs: median, p95, min, max and the spread, as pure functions.

use serde::Serialize;

/// The figures of one case's runs, in milliseconds. Also the JSON shape of `view_ms`,
/// `mv_ms` and `refresh_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub median: f64,
    pub p95: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
    /// First and third quartiles: the spread that decides whether a verdict is certain.
    pub q1: f64,
    pub q3: f64,
}

impl Summary {
    /// None for no runs (or only NaNs, which a clock never gives).
    pub fn of(samples: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Summary {
            median: quantile(&v, 0.5),
            p95: quantile(&v, 0.95),
            min: v[0],
            max: v[v.len() - 1],
            runs: v.len(),
            q1: quantile(&v, 0.25),
            q3: quantile(&v, 0.75),
        })
    }

    /// Interquartile range relative to the median: 0.1 means the middle half of the runs
    /// lie within 10% of the median's size.
    pub fn relative_iqr(&self) -> f64 {
        if self.median <= 0.0 {
            return 0.0;
        }
        (self.q3 - self.q1) / self.median
    }
}

/// Linear interpolation between closest ranks (PostgreSQL's `percentile_cont`), so that
/// mvtop's figures read like the ledger's. `sorted` must be sorted and non-empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_runs_have_no_summary() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[f64::NAN]), None);
    }

    #[test]
    fn one_run_is_every_figure() {
        let s = Summary::of(&[4.0]).unwrap();
        assert_eq!(
            (s.median, s.p95, s.min, s.max, s.runs),
            (4.0, 4.0, 4.0, 4.0, 1)
        );
        assert_eq!(s.relative_iqr(), 0.0);
    }

    #[test]
    fn figures_match_percentile_cont() {
        // SELECT percentile_cont(ARRAY[0.25, 0.5, 0.75, 0.95]) WITHIN GROUP (ORDER BY x)
        // FROM unnest('{5,1,4,2,3}'::float8[]) x  =>  {2, 3, 4, 4.8}
        let s = Summary::of(&[5.0, 1.0, 4.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 3.0);
        assert_eq!(s.q1, 2.0);
        assert_eq!(s.q3, 4.0);
        assert!((s.p95 - 4.8).abs() < 1e-9, "{}", s.p95);
        assert_eq!((s.min, s.max, s.runs), (1.0, 5.0, 5));
        // An even count takes the mean of the middle two.
        assert_eq!(Summary::of(&[1.0, 2.0, 3.0, 10.0]).unwrap().median, 2.5);
    }

    #[test]
    fn relative_iqr_measures_the_spread() {
        let tight = Summary::of(&[100.0, 101.0, 99.0, 100.0, 102.0]).unwrap();
        assert!(tight.relative_iqr() < 0.05, "{}", tight.relative_iqr());
        let wide = Summary::of(&[50.0, 100.0, 150.0, 100.0, 200.0]).unwrap();
        assert!(wide.relative_iqr() > 0.4, "{}", wide.relative_iqr());
    }
}
