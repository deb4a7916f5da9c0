//! Detection: turn a time-ordered stream of enriched sign-ins into alerts.
//!
//! Each detector lives in its own module under `detectors/` and does no I/O: it sees one
//! event at a time through [`Detector::observe`], keeps whatever state it needs, and pushes
//! [`Alert`](jetlag_event::Alert)s.
#![deny(missing_docs)]

mod detector;
pub mod detectors;

pub use detector::{Context, Detector, alert_id};
