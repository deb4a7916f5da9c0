//! Counting what came in and what came out: per-format counts, rejects, warnings.

use std::fmt;

use jetlag_event::Source;

/// A dropped optional part of a kept event (an out-of-range latitude, a bad IP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The vendor field at fault.
    pub field: &'static str,
    /// What was dropped and why, lower case.
    pub reason: String,
}

impl Warning {
    pub(crate) fn new(field: &'static str, reason: String) -> Warning {
        Warning { field, reason }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// A rejected record: where it was and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The input's name (`<stdin>` for standard input).
    pub file: String,
    /// 1-based line where the record starts.
    pub line: u64,
    /// Why, lower case, naming the field at fault.
    pub reason: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Counts of one format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records read.
    pub read: u64,
    /// Records turned into sign-ins.
    pub parsed: u64,
    /// Records of this source that are not sign-ins.
    pub skipped: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Optional parts dropped from kept events.
    pub warnings: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.read += other.read;
        self.parsed += other.parsed;
        self.skipped += other.skipped;
        self.rejected += other.rejected;
        self.warnings += other.warnings;
    }
}

/// Everything a run counted. Records whose format could not be told are counted under
/// "unrecognized".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    by_source: [Counts; 7],
    unrecognized: Counts,
    /// The first rejects, in input order (at most [`Stats::KEEP`]).
    pub first_rejects: Vec<Reject>,
    /// The first warnings as `file:line: field: reason` (at most [`Stats::KEEP`]).
    pub first_warnings: Vec<Reject>,
    /// Inputs that could not be opened or read (with the reason).
    pub failed_inputs: Vec<String>,
}

const SOURCES: [Source; 7] = [
    Source::Entra,
    Source::Okta,
    Source::Google,
    Source::Cloudtrail,
    Source::Ocsf,
    Source::Ecs,
    Source::Csv,
];

impl Stats {
    /// How many rejects and warnings are kept in full.
    pub const KEEP: usize = 10;

    /// The counts of one source (`None`: records no format was recognized for).
    pub fn counts_mut(&mut self, source: Option<Source>) -> &mut Counts {
        match source {
            Some(s) => &mut self.by_source[s as usize],
            None => &mut self.unrecognized,
        }
    }

    /// The counts of one source (`None`: unrecognized records).
    pub fn counts(&self, source: Option<Source>) -> Counts {
        match source {
            Some(s) => self.by_source[s as usize],
            None => self.unrecognized,
        }
    }

    /// Every source that saw at least one record, with its counts, then "unrecognized".
    pub fn rows(&self) -> impl Iterator<Item = (&'static str, Counts)> + '_ {
        SOURCES
            .iter()
            .map(|s| (s.as_str(), self.by_source[*s as usize]))
            .chain([("unrecognized", self.unrecognized)])
            .filter(|(_, c)| c.read > 0)
    }

    /// The sum over every format.
    pub fn total(&self) -> Counts {
        let mut t = self.unrecognized;
        for c in &self.by_source {
            t.add(c);
        }
        t
    }

    /// Records a reject (kept in full if among the first [`Stats::KEEP`]).
    pub fn reject(&mut self, source: Option<Source>, reject: impl FnOnce() -> Reject) {
        let c = self.counts_mut(source);
        c.read += 1;
        c.rejected += 1;
        if self.first_rejects.len() < Self::KEEP {
            self.first_rejects.push(reject());
        }
    }

    /// Adds another run's counts (for example one worker's) to these.
    pub fn merge(&mut self, other: Stats) {
        for (mine, theirs) in self.by_source.iter_mut().zip(&other.by_source) {
            mine.add(theirs);
        }
        self.unrecognized.add(&other.unrecognized);
        for r in other.first_rejects {
            if self.first_rejects.len() < Self::KEEP {
                self.first_rejects.push(r);
            }
        }
        for w in other.first_warnings {
            if self.first_warnings.len() < Self::KEEP {
                self.first_warnings.push(w);
            }
        }
        self.failed_inputs.extend(other.failed_inputs);
    }
}
