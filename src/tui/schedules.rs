//! The console's side of the schedules: what it read from the ledger, the next run of each
//! MV (decided with the same pure `decide` as the scheduler), the `s` form, and what the
//! background scheduler last said.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use super::keymap::Action;
use super::msg::Effect;
use super::state::{Overlay, Pane, State};
use crate::catalog::{MatView, ServerFacts};
use crate::schedule::advise::{Advice, advise_mv};
use crate::schedule::text::{Edit, parse, to_text};
use crate::schedule::{Schedule, SchedulerEvent};

/// The schedules as the console knows them.
#[derive(Debug, Clone, Default)]
pub struct ScheduleBook {
    pub rows: Vec<Schedule>,
    /// (schema, name) -> index in `rows`.
    by_name: HashMap<(String, String), usize>,
    /// Why schedules could not be read (no ledger, an old one ...).
    pub problem: Option<String>,
    /// The background scheduler runs in this console.
    pub scheduler_on: bool,
    /// The scheduler's last words worth showing (claims, problems).
    pub last_event: Option<String>,
    /// Selected row of the schedules pane (mvtop's rows, then pg_cron's).
    pub selected: usize,
    /// pg_cron's jobs of the shown database.
    pub pg_cron: super::pg_cron::PgCronBook,
    /// The read of `rows` from the ledger.
    pub reads: super::in_flight::InFlight,
}

pub use crate::schedule::NextRun;

impl ScheduleBook {
    pub fn set_rows(&mut self, rows: Vec<Schedule>) {
        self.by_name = rows
            .iter()
            .enumerate()
            .map(|(i, s)| ((s.mv_schema.clone(), s.mv_name.clone()), i))
            .collect();
        self.rows = rows;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
    }

    pub fn of(&self, v: &MatView) -> Option<&Schedule> {
        let i = self.by_name.get(&(v.schema.clone(), v.name.clone()))?;
        self.rows.get(*i)
    }

    /// The next run of `v`, when it has a schedule: mvtop's or pg_cron's, whichever is
    /// sooner.
    pub fn next_run(&self, v: &MatView, now: DateTime<Utc>) -> Option<NextRun> {
        let cron = self.pg_cron.next_run(v.oid).map(NextRun::At);
        let Some(own) = self.own_next_run(v, now) else {
            return cron;
        };
        Some(match (own, cron) {
            (NextRun::At(a), Some(NextRun::At(b))) => NextRun::At(a.min(b)),
            // No instant of its own: pg_cron's is the next run.
            (NextRun::OnChange | NextRun::WhenQuiet | NextRun::Never, Some(c)) => c,
            (own, _) => own,
        })
    }

    /// Rows of the schedules pane: mvtop's, then pg_cron's.
    pub fn len(&self) -> usize {
        self.rows.len() + self.pg_cron.schedules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// mvtop's own schedule's next run: the same judgement `mvtop schedule list` shows.
    pub fn own_next_run(&self, v: &MatView, now: DateTime<Utc>) -> Option<NextRun> {
        Some(crate::schedule::next_run(self.of(v)?, v, now).next)
    }

    /// One line on what the scheduler did, for the message line.
    pub fn heard(&mut self, event: &SchedulerEvent) -> Option<String> {
        let line = match event {
            SchedulerEvent::Claimed { mv, why, .. } => format!("scheduled refresh of {mv} ({why})"),
            SchedulerEvent::Skipped { mv, why } => {
                format!("scheduled refresh of {mv} skipped: {why}")
            }
            SchedulerEvent::Problem(p) => format!("scheduler: {p}"),
            SchedulerEvent::Recovered => "scheduler: working again".into(),
            SchedulerEvent::Standby => {
                "scheduler: the server is a standby: waiting for promotion to run schedules".into()
            }
            SchedulerEvent::Promoted => "scheduler: the server was promoted: schedules run".into(),
            SchedulerEvent::Loaded { problems, .. } if !problems.is_empty() => {
                format!("scheduler: {}", problems.join("; "))
            }
            _ => return None,
        };
        self.last_event = Some(line.clone());
        Some(line)
    }
}

/// The text the `s` form starts with for `v`.
pub fn form_text(book: &ScheduleBook, v: &MatView) -> String {
    book.of(v).map(to_text).unwrap_or_default()
}

/// Checks the form's line as it is typed: None when it would be accepted. A line for pg_cron
/// is checked against the pg_cron the server runs (its syntax, its time zone).
pub fn form_error(
    text: &str,
    default_tz: &str,
    cron: &super::pg_cron::PgCronBook,
) -> Option<String> {
    match parse(text) {
        Ok(Edit::Remove) => None,
        Ok(Edit::Set {
            input,
            engine: crate::pgcron::Engine::PgCron,
            ..
        }) => match &cron.located {
            Some(located) => crate::pgcron::hand_over::schedule_text(&input, located).err(),
            None => Some(
                cron.problem
                    .clone()
                    .unwrap_or_else(|| "pg_cron is not available on this server".into()),
            ),
        },
        Ok(Edit::Set { input, .. }) => input.parse(default_tz).err(),
        Err(e) => Some(e),
    }
}

/// Advice for the detail pane: the same as `mvtop schedule advise` gives.
pub fn advice_for(v: &MatView, facts: Option<&ServerFacts>, now: DateTime<Utc>) -> Advice {
    advise_mv(v, facts.and_then(|f| f.stats_since), now)
}

/// Schedules live in the ledger: read them when there is one.
pub fn wanted(state: &mut State) -> Vec<Effect> {
    match &state.facts {
        Some(f) if f.ledger_installed => read(state),
        _ => Vec::new(),
    }
}

/// Reads the schedules again: now, or after the read in flight (never two at once, so an
/// older answer cannot land after a newer one).
fn read(state: &mut State) -> Vec<Effect> {
    match state.schedules.reads.start_or_queue(state.now) {
        Some(generation) => vec![Effect::FetchSchedules { generation }],
        None => Vec::new(),
    }
}

pub fn arrived(
    state: &mut State,
    generation: u64,
    result: Result<Vec<Schedule>, String>,
) -> Vec<Effect> {
    if !state.schedules.reads.accept(generation) {
        return Vec::new();
    }
    match result {
        Ok(rows) => {
            state.schedules.set_rows(rows);
            state.schedules.problem = None;
        }
        Err(e) => state.schedules.problem = Some(e),
    }
    if state.schedules.reads.take_queued() {
        return read(state);
    }
    Vec::new()
}

pub fn saved(state: &mut State, result: Result<String, String>) -> Vec<Effect> {
    match result {
        Ok(line) => {
            state.message = Some(line);
            // Either engine may have changed: read both again.
            let mut effects = read(state);
            effects.extend(super::pg_cron::wanted(state));
            effects
        }
        Err(e) => {
            state.message = Some(format!("schedule not saved: {e}"));
            Vec::new()
        }
    }
}

pub fn heard(state: &mut State, event: &SchedulerEvent) -> Vec<Effect> {
    let line = state.schedules.heard(event);
    match event {
        // Problems stay in the schedules pane: a console without a ledger is not an error.
        SchedulerEvent::Problem(_) | SchedulerEvent::Recovered => Vec::new(),
        SchedulerEvent::Claimed { .. } => {
            state.message = line;
            read(state)
        }
        _ => {
            if line.is_some() {
                state.message = line;
            }
            Vec::new()
        }
    }
}

/// The schedules pane's keys and `s`; None: not for this pane.
pub fn act(state: &mut State, action: Action) -> Option<Vec<Effect>> {
    match action {
        Action::FocusSchedules => {
            state.pane = Pane::Schedules;
            return Some(Vec::new());
        }
        Action::EditSchedule => return Some(open_form(state, None)),
        Action::ApplyAdvice => {
            let Some(v) = form_target(state) else {
                state.message = Some("select a materialized view first".into());
                return Some(Vec::new());
            };
            let advice = advice_for(v, state.facts.as_ref(), state.now);
            let Some(suggestion) = advice.suggestion else {
                state.message = Some(format!(
                    "no advice for {}: {}",
                    v.qualified_name, advice.why
                ));
                return Some(Vec::new());
            };
            return Some(open_form(state, Some(suggestion.form_text())));
        }
        _ => {}
    }
    if state.pane != Pane::Schedules {
        return None;
    }
    let page = super::layout::page_rows(state);
    let book = &mut state.schedules;
    let last = book.len().saturating_sub(1);
    match action {
        Action::Up => book.selected = book.selected.saturating_sub(1),
        Action::Down => book.selected = (book.selected + 1).min(last),
        Action::PageUp => book.selected = book.selected.saturating_sub(page),
        Action::PageDown => book.selected = (book.selected + page).min(last),
        Action::Top => book.selected = 0,
        Action::Bottom => book.selected = last,
        _ => return None,
    }
    Some(Vec::new())
}

/// The MV `s` is about: the schedules pane's selected row, else the selected MV.
fn form_target(state: &State) -> Option<&MatView> {
    if state.pane == Pane::Schedules {
        let book = &state.schedules;
        let Some(s) = book.rows.get(book.selected) else {
            let c = book
                .pg_cron
                .schedules
                .get(book.selected - book.rows.len())?;
            return state.views.iter().find(|v| v.oid == c.mv_oid);
        };
        return state
            .views
            .iter()
            .find(|v| v.schema == s.mv_schema && v.name == s.mv_name);
    }
    state.selected_view()
}

/// The form for the MV `s` is about, holding `text` (the advice) or its schedule.
fn open_form(state: &mut State, text: Option<String>) -> Vec<Effect> {
    if let Some(why) = &state.schedules.problem {
        state.message = Some(format!("schedules: {why}"));
        return Vec::new();
    }
    if !state.facts.as_ref().is_some_and(|f| f.ledger_installed) {
        state.message =
            Some("schedules live in the refresh ledger: run `mvtop install` first".into());
        return Vec::new();
    }
    let Some(v) = form_target(state) else {
        state.message = Some("select a materialized view first".into());
        return Vec::new();
    };
    let (oid, text) = (
        v.oid,
        text.unwrap_or_else(|| form_text(&state.schedules, v)),
    );
    state.input = tui_input::Input::new(text);
    state.overlay = Overlay::Schedule { oid, error: None };
    Vec::new()
}

/// Keys of the open form: Enter saves a valid line, Esc closes, the rest edits it.
pub fn form_key(state: &mut State, oid: u32, key: KeyEvent) -> Vec<Effect> {
    let tz = "UTC";
    match key.code {
        KeyCode::Esc => {
            state.overlay = Overlay::None;
            Vec::new()
        }
        KeyCode::Enter => {
            let text = state.input.value().to_string();
            if let Some(error) = form_error(&text, tz, &state.schedules.pg_cron) {
                state.overlay = Overlay::Schedule {
                    oid,
                    error: Some(error),
                };
                return Vec::new();
            }
            state.overlay = Overlay::None;
            let Some(v) = state.views.iter().find(|v| v.oid == oid) else {
                state.message = Some("the materialized view is gone".into());
                return Vec::new();
            };
            state.message = Some(format!("saving the schedule of {}…", v.qualified_name));
            vec![Effect::SaveSchedule {
                oid,
                schema: v.schema.clone(),
                name: v.name.clone(),
                text,
            }]
        }
        _ => {
            state.input.handle_event(&Event::Key(key));
            let error = form_error(state.input.value(), tz, &state.schedules.pg_cron);
            state.overlay = Overlay::Schedule { oid, error };
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refresh::Concurrently;
    use crate::schedule::Policy;
    use chrono::TimeZone;

    fn schedule(name: &str, policy: Policy, last_due: Option<DateTime<Utc>>) -> Schedule {
        Schedule {
            mv_schema: "public".into(),
            mv_name: name.into(),
            policy,
            window: None,
            concurrently: Concurrently::Auto,
            from_naming: false,
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            last_due,
            base_writes: None,
        }
    }

    fn mv(name: &str) -> MatView {
        MatView::named(1, "public".into(), name.into(), name.into())
    }

    #[test]
    fn next_runs_per_policy() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut book = ScheduleBook::default();
        book.set_rows(vec![
            schedule(
                "a",
                Policy::Every(std::time::Duration::from_secs(600)),
                Some(t0),
            ),
            schedule(
                "b",
                Policy::OnChange {
                    quiet: std::time::Duration::from_secs(60),
                    max_stale: std::time::Duration::from_secs(600),
                },
                None,
            ),
        ]);
        let now = t0 + chrono::Duration::minutes(6);
        let a = book.next_run(&mv("a"), now).unwrap();
        assert_eq!(a, NextRun::At(t0 + chrono::Duration::minutes(10)));
        assert_eq!(a.short(now), "in 4m");
        assert_eq!(book.next_run(&mv("b"), now), Some(NextRun::OnChange));
        assert_eq!(book.next_run(&mv("c"), now), None);
        let mut running = mv("a");
        running.refreshing_pids = vec![42];
        assert_eq!(book.next_run(&running, now), Some(NextRun::AfterRunning));
    }

    /// The detail pane advises as `mvtop schedule advise` does: the write rate counts, and an
    /// unpopulated MV with a unique index is ready for CONCURRENTLY once populated.
    #[test]
    fn the_console_advises_as_the_cli_does() {
        let mut v = mv("a");
        v.populated = false;
        v.unique_index = Some("a_key".into());
        v.concurrent_ready = false;
        v.avg_refresh_ms = Some(60_000.0);
        v.base_writes = Some(0);
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap();
        let facts = ServerFacts {
            stats_since: Some(now - chrono::Duration::hours(10)),
            ..crate::tui::tests::fixture::facts()
        };
        let a = advice_for(&v, Some(&facts), now);
        assert_eq!(a.suggest.as_deref(), Some("--on-change --quiet 2m"));
        assert!(a.notes[0].contains("populate it once"), "{:?}", a.notes);
    }

    #[test]
    fn the_form_validates_as_it_is_typed() {
        let none = super::super::pg_cron::PgCronBook::default();
        assert_eq!(form_error("every 15m", "UTC", &none), None);
        assert_eq!(form_error("off", "UTC", &none), None);
        assert!(
            form_error("every soon", "UTC", &none)
                .unwrap()
                .contains("--every")
        );
        assert!(
            form_error("cron 99 * * * *", "UTC", &none)
                .unwrap()
                .contains("99")
        );
        assert!(
            form_error("cron 0 3 * * * engine pg_cron", "UTC", &none)
                .unwrap()
                .contains("not available")
        );
    }
}
