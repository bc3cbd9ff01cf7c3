//! One background request's bookkeeping, kept in the pure state (gitui's `AsyncSingleJob`,
//! without threads): at most one in flight, answers of an older generation dropped, a
//! request made while one is out remembered and sent when it answers.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Ticks come every second give or take a few milliseconds: a tick a hair early must not
/// push a 1 s poll to 2 s.
const TICK_SLACK: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InFlight {
    generation: u64,
    in_flight: bool,
    /// Asked for again while one was out: send it when that one answers.
    again: bool,
    /// When the last one was sent.
    pub last_at: Option<DateTime<Utc>>,
}

impl InFlight {
    /// A new request, unless one is in flight: its generation.
    pub fn start(&mut self, now: DateTime<Utc>) -> Option<u64> {
        if self.in_flight {
            return None;
        }
        self.generation += 1;
        self.in_flight = true;
        self.again = false;
        self.last_at = Some(now);
        Some(self.generation)
    }

    /// As `start`, but a request made while one is in flight is sent after it answers
    /// (see `accept`): newer data is wanted, and it must not race the older read.
    pub fn start_or_queue(&mut self, now: DateTime<Utc>) -> Option<u64> {
        let started = self.start(now);
        if started.is_none() {
            self.again = true;
        }
        started
    }

    /// Whether `start` would send one now: none in flight and `every` passed since the last.
    pub fn due(&self, now: DateTime<Utc>, every: Duration) -> bool {
        !self.in_flight && due(self.last_at, now, every)
    }

    /// An answer came: true when it answers the request in flight (it ends it), false
    /// when it is stale (it is to be dropped).
    pub fn accept(&mut self, generation: u64) -> bool {
        if !self.in_flight || generation != self.generation {
            return false;
        }
        self.in_flight = false;
        true
    }

    /// A new request even while one is out: that one's answer is then stale and dropped.
    pub fn supersede(&mut self, now: DateTime<Utc>) -> u64 {
        self.in_flight = false;
        self.start(now).unwrap_or(self.generation)
    }

    /// A request was made while the last one was out: take it (once).
    pub fn take_queued(&mut self) -> bool {
        std::mem::take(&mut self.again)
    }

    pub fn is_pending(&self) -> bool {
        self.in_flight
    }

    /// The generation of the last request sent.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The next `due` answers yes at once (an action's effect is to be seen now).
    pub fn due_now(&mut self) {
        self.last_at = None;
    }
}

/// Whether `every` passed since `last` (with a tick's slack).
pub fn due(last: Option<DateTime<Utc>>, now: DateTime<Utc>, every: Duration) -> bool {
    last.is_none_or(|at| (now - at).to_std().unwrap_or_default() + TICK_SLACK >= every)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    #[test]
    fn one_at_a_time_and_stale_answers_are_dropped() {
        let mut job = InFlight::default();
        assert_eq!(job.start(t(0)), Some(1));
        assert_eq!(job.start(t(1)), None, "one in flight");
        assert!(!job.accept(0), "stale");
        assert!(job.is_pending());
        assert!(job.accept(1));
        assert!(!job.accept(1), "answered once");
        assert_eq!(job.start(t(2)), Some(2));
        assert_eq!(job.last_at, Some(t(2)));
    }

    #[test]
    fn a_request_while_one_is_out_is_sent_after_it() {
        let mut job = InFlight::default();
        assert_eq!(job.start_or_queue(t(0)), Some(1));
        assert_eq!(job.start_or_queue(t(0)), None);
        assert!(job.accept(1));
        assert!(job.take_queued());
        assert!(!job.take_queued(), "taken once");
        assert_eq!(job.start_or_queue(t(1)), Some(2));
        assert!(job.accept(2));
        assert!(!job.take_queued(), "nothing asked meanwhile");
    }

    #[test]
    fn due_after_the_interval_with_a_ticks_slack() {
        let mut job = InFlight::default();
        assert!(job.due(t(0), Duration::from_secs(2)), "never sent: due");
        job.start(t(0));
        assert!(!job.due(t(5), Duration::from_secs(2)), "in flight");
        job.accept(1);
        assert!(!job.due(t(1), Duration::from_secs(2)));
        let a_hair_early = t(2) - chrono::Duration::milliseconds(50);
        assert!(job.due(a_hair_early, Duration::from_secs(2)));
        job.due_now();
        assert!(job.due(t(0), Duration::from_secs(60)));
    }
}
