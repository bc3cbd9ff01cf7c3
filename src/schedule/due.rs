//! When a schedule is due: a pure function of the schedule, what was observed and the clock.

use chrono::{DateTime, Utc};

use super::changes::Seen;
use super::policy::{Policy, Schedule};

/// What one schedule asks for now.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Claim and run it now. `due` is the instant claimed: the latest fire not after now, so
    /// runs missed while no scheduler ran collapse into one.
    Due { due: DateTime<Utc>, why: String },
    /// Not now; `next` when known (None: waits for writes, or for the running refresh).
    Wait {
        next: Option<DateTime<Utc>>,
        why: &'static str,
    },
}

/// What the scheduler saw of the MV this tick.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observed {
    /// A refresh of it is queued or running (here, or anywhere: its advisory lock is held).
    pub running: bool,
    /// Change-driven schedules only: the write tracker's view.
    pub changes: Option<Seen>,
}

pub fn decide(s: &Schedule, seen: &Observed, now: DateTime<Utc>) -> Decision {
    if seen.running {
        return Decision::Wait {
            next: None,
            why: "refreshing now",
        };
    }
    let base = s.last_due.unwrap_or(s.created_at);
    let due = match &s.policy {
        Policy::Cron(c) => match c.next_after(base) {
            Some(next) if next <= now => c.latest_at_or_before(now).map(|d| (d, "cron")),
            Some(next) => return in_window(s, next, "next cron fire"),
            None => {
                return Decision::Wait {
                    next: None,
                    why: "the cron expression never fires again",
                };
            }
        },
        Policy::Every(every) => {
            let every = chrono::Duration::from_std(*every).unwrap_or(chrono::Duration::MAX);
            let next = base + every;
            if next > now {
                return in_window(s, next, "next interval");
            }
            // Whole intervals elapsed since the base: the latest one is the instant claimed.
            let periods = (now - base).num_milliseconds() / every.num_milliseconds().max(1);
            Some((base + every * periods as i32, "interval"))
        }
        Policy::OnChange { quiet, max_stale } => {
            let Some(c) = seen.changes else {
                return Decision::Wait {
                    next: None,
                    why: "base-table writes not read yet",
                };
            };
            let Some(stale_since) = c.stale_since else {
                return Decision::Wait {
                    next: None,
                    why: "fresh: waits for writes",
                };
            };
            let quiet = chrono::Duration::from_std(*quiet).unwrap_or(chrono::Duration::MAX);
            let max = chrono::Duration::from_std(*max_stale).unwrap_or(chrono::Duration::MAX);
            let quiet_at = c.last_change + quiet;
            let latest = stale_since + max;
            if quiet_at <= now {
                Some((now, "writes quiet"))
            } else if latest <= now {
                Some((now, "max staleness reached"))
            } else {
                return in_window(s, quiet_at.min(latest), "waits for writes to go quiet");
            }
        }
    };
    match due {
        Some((due, why)) => match s.window {
            Some(w) if !w.contains(now) => Decision::Wait {
                next: Some(w.next_open(now)),
                why: "due, outside its window",
            },
            _ => Decision::Due {
                due,
                why: why.to_string(),
            },
        },
        None => Decision::Wait {
            next: None,
            why: "no fire found",
        },
    }
}

/// `next`, moved to the window's opening when it falls outside.
fn in_window(s: &Schedule, next: DateTime<Utc>, why: &'static str) -> Decision {
    let next = match s.window {
        Some(w) => w.next_open(next),
        None => next,
    };
    Decision::Wait {
        next: Some(next),
        why,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;
    use chrono_tz::Tz;

    use super::*;
    use crate::refresh::Concurrently;
    use crate::schedule::cron::CronSpec;
    use crate::schedule::policy::Window;

    fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, h, m, s).unwrap()
    }

    fn schedule(policy: Policy) -> Schedule {
        Schedule {
            mv_schema: "public".into(),
            mv_name: "m".into(),
            policy,
            window: None,
            concurrently: Concurrently::Auto,
            from_naming: false,
            created_at: t(0, 0, 0),
            last_due: None,
            base_writes: None,
        }
    }

    fn idle() -> Observed {
        Observed::default()
    }

    fn due_at(d: Decision) -> DateTime<Utc> {
        match d {
            Decision::Due { due, .. } => due,
            other => panic!("not due: {other:?}"),
        }
    }

    #[test]
    fn cron_is_due_at_its_fire_not_before() {
        let s = schedule(Policy::Cron(Box::new(
            CronSpec::parse("*/15 * * * *", "UTC").unwrap(),
        )));
        assert_eq!(
            decide(&s, &idle(), t(0, 14, 59)),
            Decision::Wait {
                next: Some(t(0, 15, 0)),
                why: "next cron fire"
            }
        );
        assert_eq!(due_at(decide(&s, &idle(), t(0, 15, 0))), t(0, 15, 0));
    }

    #[test]
    fn missed_runs_run_once() {
        let mut s = schedule(Policy::Cron(Box::new(
            CronSpec::parse("*/15 * * * *", "UTC").unwrap(),
        )));
        s.last_due = Some(t(1, 0, 0));
        // Down from 01:00 to 05:07: 16 fires missed, one run claimed for 05:00.
        let due = due_at(decide(&s, &idle(), t(5, 7, 0)));
        assert_eq!(due, t(5, 0, 0));
        s.last_due = Some(due);
        assert!(matches!(
            decide(&s, &idle(), t(5, 7, 1)),
            Decision::Wait { .. }
        ));

        let mut every = schedule(Policy::Every(Duration::from_secs(600)));
        every.last_due = Some(t(1, 0, 0));
        let due = due_at(decide(&every, &idle(), t(3, 25, 0)));
        assert_eq!(due, t(3, 20, 0));
        every.last_due = Some(due);
        assert_eq!(
            decide(&every, &idle(), t(3, 25, 0)),
            Decision::Wait {
                next: Some(t(3, 30, 0)),
                why: "next interval"
            }
        );
    }

    #[test]
    fn no_overlap_a_running_refresh_holds_the_next_run() {
        let mut s = schedule(Policy::Every(Duration::from_secs(60)));
        s.last_due = Some(t(1, 0, 0));
        let running = Observed {
            running: true,
            ..idle()
        };
        // The refresh started at 01:00 outlasts its interval: nothing is claimed meanwhile.
        assert!(matches!(
            decide(&s, &running, t(1, 3, 30)),
            Decision::Wait { next: None, .. }
        ));
        // Once it ended: one run, for the latest interval.
        assert_eq!(due_at(decide(&s, &idle(), t(1, 3, 30))), t(1, 3, 0));
    }

    #[test]
    fn a_new_schedule_waits_for_its_first_fire() {
        let s = schedule(Policy::Every(Duration::from_secs(3600)));
        assert_eq!(
            decide(&s, &idle(), t(0, 30, 0)),
            Decision::Wait {
                next: Some(t(1, 0, 0)),
                why: "next interval"
            }
        );
    }

    #[test]
    fn windows_hold_a_due_run_until_they_open() {
        let mut s = schedule(Policy::Cron(Box::new(
            CronSpec::parse("0 * * * *", "UTC").unwrap(),
        )));
        s.window = Some(Window::parse("01:00-05:00", Tz::UTC).unwrap());
        s.last_due = Some(t(5, 0, 0));
        assert_eq!(
            decide(&s, &idle(), t(12, 0, 30)),
            Decision::Wait {
                next: Some(Utc.with_ymd_and_hms(2026, 3, 11, 1, 0, 0).unwrap()),
                why: "due, outside its window"
            }
        );
        // The window opens: the latest fire runs, once.
        let open = Utc.with_ymd_and_hms(2026, 3, 11, 1, 0, 0).unwrap();
        assert_eq!(due_at(decide(&s, &idle(), open)), open);
        s.last_due = Some(t(4, 0, 0));
        assert_eq!(
            decide(&s, &idle(), t(4, 10, 0)),
            Decision::Wait {
                // 05:00 is the window's (excluded) end: the next run is at the next opening.
                next: Some(Utc.with_ymd_and_hms(2026, 3, 11, 1, 0, 0).unwrap()),
                why: "next cron fire"
            }
        );
    }

    fn changes(last_change: DateTime<Utc>, stale_since: Option<DateTime<Utc>>) -> Observed {
        Observed {
            running: false,
            changes: Some(Seen {
                writes: 1,
                last_change,
                stale_since,
            }),
        }
    }

    #[test]
    fn change_driven_debounces_on_the_quiet_period() {
        let s = schedule(Policy::OnChange {
            quiet: Duration::from_secs(120),
            max_stale: Duration::from_secs(3600),
        });
        // Fresh: nothing to do.
        assert!(matches!(
            decide(&s, &changes(t(1, 0, 0), None), t(2, 0, 0)),
            Decision::Wait { next: None, .. }
        ));
        // Written at 01:00, again at 01:01:30: quiet from 01:03:30 on.
        let seen = changes(t(1, 1, 30), Some(t(1, 0, 0)));
        assert_eq!(
            decide(&s, &seen, t(1, 3, 0)),
            Decision::Wait {
                next: Some(t(1, 3, 30)),
                why: "waits for writes to go quiet"
            }
        );
        assert_eq!(due_at(decide(&s, &seen, t(1, 3, 30))), t(1, 3, 30));
    }

    #[test]
    fn change_driven_runs_at_max_staleness_even_under_constant_writes() {
        let s = schedule(Policy::OnChange {
            quiet: Duration::from_secs(120),
            max_stale: Duration::from_secs(600),
        });
        // Writes never stop (the last one a second ago) but it has been stale for 10 min.
        let seen = changes(t(1, 9, 59), Some(t(1, 0, 0)));
        match decide(&s, &seen, t(1, 10, 0)) {
            Decision::Due { why, .. } => assert_eq!(why, "max staleness reached"),
            other => panic!("{other:?}"),
        }
    }
}
