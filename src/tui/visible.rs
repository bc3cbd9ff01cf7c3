//! The views table's rows: which MVs the `/` filter shows, in the chosen sort order.

use super::state::{Column, Sort, State};
use crate::catalog::{MatView, MvStatus};

impl State {
    /// Recomputes `visible` from the filter and sort, keeping the selection when it is still
    /// shown and moving it to the first row otherwise.
    pub fn recompute_visible(&mut self) {
        let filter = Filter::new(&self.filter);
        let basis = VisibleBasis {
            generation: self.views_generation,
            len: self.views.len(),
            sort: self.sort,
            filter: self.filter.clone(),
        };
        if self
            .visible_basis
            .as_ref()
            .is_some_and(|before| before.narrows_to(&basis))
        {
            // Same MVs in the same order, fewer of them: sorting again changes nothing.
            let views = &self.views;
            self.visible.retain(|&i| filter.matches(&views[i]));
        } else {
            self.visible = self.sorted_matches(&filter);
            self.name_widths = super::columns::NameWidths::of(&self.views);
        }
        self.visible_basis = Some(basis);
        if self.selected_row().is_none() {
            self.selected = self.visible.first().map(|&i| self.views[i].oid);
        }
    }

    /// Every MV `filter` matches, in the table's sort order.
    fn sorted_matches(&self, filter: &Filter) -> Vec<usize> {
        let mut visible: Vec<usize> = (0..self.views.len())
            .filter(|&i| filter.matches(&self.views[i]))
            .collect();
        let views = &self.views;
        let sort = self.sort;
        // Unscheduled last; waiting for writes after any timed run.
        let next_key = |v: &MatView| {
            use super::schedules::NextRun;
            match self.schedules.next_run(v, self.now) {
                Some(NextRun::Now) => (0, None),
                Some(NextRun::At(t)) => (1, Some(t)),
                Some(NextRun::AfterRunning) => (2, None),
                Some(NextRun::WhenQuiet) => (3, None),
                Some(NextRun::OnChange) => (4, None),
                Some(NextRun::Never) => (5, None),
                None => (6, None),
            }
        };
        visible.sort_by(|&a, &b| {
            let (a, b) = (&views[a], &views[b]);
            let by_name = || (&a.schema, &a.name).cmp(&(&b.schema, &b.name));
            let ord = match sort.column {
                Column::Name => by_name(),
                Column::Size => a.total_bytes.cmp(&b.total_bytes),
                Column::Rows => a.rows_estimate.cmp(&b.rows_estimate),
                Column::LastRefresh => a.last_refresh.cmp(&b.last_refresh),
                Column::AvgRefresh => a
                    .avg_refresh_ms
                    .unwrap_or(-1.0)
                    .total_cmp(&b.avg_refresh_ms.unwrap_or(-1.0)),
                Column::Status => status_rank(a.status).cmp(&status_rank(b.status)),
                Column::Level => a.refresh_level.cmp(&b.refresh_level),
                Column::NextRun => next_key(a).cmp(&next_key(b)),
            };
            let ord = if sort.descending { ord.reverse() } else { ord };
            ord.then_with(by_name)
        });
        visible
    }
}

/// The inputs `visible` was last computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VisibleBasis {
    generation: u64,
    len: usize,
    sort: Sort,
    filter: String,
}

impl VisibleBasis {
    /// True when `next` shows a subset of what `self` showed, in the same order: the same
    /// MVs and sort, and a plain substring filter that contains the one before (a regex
    /// typed one more character can match more).
    fn narrows_to(&self, next: &VisibleBasis) -> bool {
        let plain = |f: &str| matches!(Filter::new(f), Filter::All | Filter::Substring(_));
        self.generation == next.generation
            && self.len == next.len
            && self.sort == next.sort
            && self.sort.column != Column::NextRun
            && plain(&self.filter)
            && plain(&next.filter)
            && next
                .filter
                .to_lowercase()
                .contains(&self.filter.to_lowercase())
    }
}

/// The `/` filter: a case-insensitive substring, or a regular expression when the text
/// has regex syntax in it (`^rpt\.`, `daily$`, `(hourly|daily)`) and compiles. A regex
/// also matches its text as a substring, so a name typed as it is (`top\x`, `a (b)`)
/// always finds itself.
enum Filter {
    All,
    Substring(String),
    Regex(regex_lite::Regex, String),
}

impl Filter {
    fn new(text: &str) -> Filter {
        if text.is_empty() {
            return Filter::All;
        }
        let looks_like_regex = text.contains(['^', '$', '*', '+', '?', '(', '[', '{', '|', '\\']);
        if looks_like_regex
            && let Ok(re) = regex_lite::RegexBuilder::new(text)
                .case_insensitive(true)
                .build()
        {
            return Filter::Regex(re, text.to_lowercase());
        }
        Filter::Substring(text.to_lowercase())
    }

    /// On the name, the schema, and `schema.name`.
    fn matches(&self, v: &MatView) -> bool {
        let contains = |needle: &str| {
            // A needle without a dot cannot span the one in `schema.name`.
            let plain = if needle.contains('.') {
                contains_folded(&format!("{}.{}", v.schema, v.name), needle)
            } else {
                contains_folded(&v.schema, needle) || contains_folded(&v.name, needle)
            };
            plain || contains_folded(&v.qualified_name, needle)
        };
        match self {
            Filter::All => true,
            Filter::Substring(needle) => contains(needle),
            Filter::Regex(re, needle) => {
                re.is_match(&v.name)
                    || re.is_match(&v.schema)
                    || re.is_match(&format!("{}.{}", v.schema, v.name))
                    || contains(needle)
            }
        }
    }
}

/// `haystack.to_lowercase().contains(needle)` for a lowercase `needle`, without
/// allocating for ASCII names (the filter runs over every MV on each key).
fn contains_folded(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

fn status_rank(s: MvStatus) -> u8 {
    match s {
        MvStatus::Failed => 0,
        MvStatus::RefreshingStale => 1,
        MvStatus::Refreshing => 2,
        MvStatus::Stale => 3,
        MvStatus::NeverPopulated => 4,
        MvStatus::Populated | MvStatus::UnknownOnStandby => 5,
        MvStatus::Fresh => 6,
    }
}
